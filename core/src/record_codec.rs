//! The byte form of one [`Account`] outside a block: a hot buffer entry, a
//! snapshot's hot record, a journal `Upsert` frame.
//!
//! Owns "postcard `Account`" in `core/FORMAT.md`: postcard of the account's
//! version 1 fields, then — only when the account has contacts or deals —
//! postcard of `(contacts, deals)`. Postcard is positional, so a field that
//! older writers never wrote cannot be made optional inside the struct; it has
//! to follow it. That keeps every version 1 record (which never has the tail)
//! readable, and an account without contacts and deals encodes to the same
//! bytes as before.
//!
//! Invariant: [`decode`] accepts exactly what [`encode`] produces (the tail is
//! present if and only if one of the lists is non-empty) and never panics;
//! every context that holds these bytes knows their length.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::model::{Account, Activity, Address, Contact, CustomValue, Deal, Geo};
use crate::wire::Wire;

/// The version 1 fields, borrowed: same order and types as `Account` had, so
/// the same postcard bytes.
#[derive(Serialize)]
struct Head<'a> {
    id: &'a str,
    name: &'a str,
    company: &'a str,
    email: &'a str,
    phone: &'a str,
    address: &'a Address,
    geo: &'a Option<Geo>,
    territory: &'a str,
    owner: &'a str,
    stage: &'a str,
    deal_value: i64,
    currency: &'a str,
    last_contact: Option<i64>,
    next_visit: Option<i64>,
    updated_at: i64,
    version: u64,
    tags: &'a [String],
    custom: &'a BTreeMap<String, CustomValue>,
    activities: &'a [Activity],
}

/// Why bytes are not an encoded account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAnAccount;

/// Appends the account's bytes to `out`.
pub fn encode_into(a: &Account, out: &mut Vec<u8>) {
    let head = Head {
        id: &a.id,
        name: &a.name,
        company: &a.company,
        email: &a.email,
        phone: &a.phone,
        address: &a.address,
        geo: &a.geo,
        territory: &a.territory,
        owner: &a.owner,
        stage: &a.stage,
        deal_value: a.deal_value,
        currency: &a.currency,
        last_contact: a.last_contact,
        next_visit: a.next_visit,
        updated_at: a.updated_at,
        version: a.version,
        tags: &a.tags,
        custom: &a.custom,
        activities: &a.activities,
    };
    // Serializing plain data into a Vec cannot fail.
    let mut bytes = postcard::to_extend(&head, core::mem::take(out)).unwrap_or_default();
    if !a.contacts.is_empty() || !a.deals.is_empty() {
        bytes = postcard::to_extend(&(&a.contacts, &a.deals), bytes).unwrap_or_default();
    }
    *out = bytes;
}

/// The account's bytes.
pub fn encode(a: &Account) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(a, &mut out);
    out
}

/// Reads what [`encode`] wrote: all of `bytes`, nothing more. By hand
/// through [`Wire`] (the derived reader was the largest postcard code of
/// the wasm module), in the head's field order, then the optional tail.
pub fn decode(bytes: &[u8]) -> Result<Account, NotAnAccount> {
    let mut w = Wire::new(bytes);
    let mut a = Account::read_wire_head(&mut w);
    if w.failed() {
        return Err(NotAnAccount);
    }
    if !w.rest().is_empty() {
        a.contacts = w.seq(Contact::read_wire);
        a.deals = w.seq(Deal::read_wire);
        // An empty tail is never written: one encoding per account.
        if w.failed() || !w.rest().is_empty() || (a.contacts.is_empty() && a.deals.is_empty()) {
            return Err(NotAnAccount);
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_only_when_there_are_contacts_or_deals() {
        let mut a = Account {
            id: "A1".into(),
            name: "Åsa".into(),
            ..Account::default()
        };
        let plain = encode(&a);
        assert_eq!(decode(&plain), Ok(a.clone()));
        a.deals.push(Deal {
            id: "D1".into(),
            title: "Pumps".into(),
            value: 1_200_000,
            close_date: Some(7),
            ..Deal::default()
        });
        let with = encode(&a);
        assert_eq!(&with[..plain.len()], &plain[..]);
        assert_eq!(decode(&with), Ok(a.clone()));
        // An empty tail is not the canonical form of anything.
        let mut empty_tail = plain.clone();
        empty_tail.extend_from_slice(&[0, 0]);
        assert_eq!(decode(&empty_tail), Err(NotAnAccount));
        let mut trailing = with.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(NotAnAccount));
    }
}
