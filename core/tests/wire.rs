//! The hand-written postcard readers (`core::wire`) against postcard and
//! serde's derive, the reference: on what postcard writes they read the
//! same values, and on damaged bytes (truncated, a byte changed) they refuse
//! exactly what the derive refuses and read what it reads.

mod common;

use proptest::prelude::*;
use satchel_core::conflicts::{Clash, Conflict, LedgerState, Resolution};
use satchel_core::model::{Account, Activity, Address, Contact, CustomValue, Deal, Geo};
use satchel_core::outbox::Change;
use satchel_core::record_codec;
use serde::Deserialize;
use std::collections::BTreeMap;

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        common::text().prop_map(Change::Name),
        common::text().prop_map(Change::Street),
        any::<i64>().prop_map(Change::DealValue),
        proptest::option::of(any::<i64>()).prop_map(Change::NextVisit),
        proptest::collection::vec(common::text(), 0..3).prop_map(Change::Tags),
        (common::text(), proptest::option::of(common::custom()))
            .prop_map(|(name, value)| Change::Custom { name, value }),
    ]
}

fn conflict() -> impl Strategy<Value = Conflict> {
    (
        (any::<u64>(), common::id(), any::<u64>(), any::<bool>()),
        proptest::collection::vec((change(), change()), 0..3),
        proptest::option::of(common::account()),
        proptest::option::of(prop_oneof![
            Just(Resolution::Local),
            Just(Resolution::Server)
        ]),
    )
        .prop_map(
            |((seq, id, server_version, server_deleted), clashes, server_record, resolution)| {
                Conflict {
                    seq,
                    id,
                    server_version,
                    server_deleted,
                    clashes: clashes
                        .into_iter()
                        .map(|(local, server)| Clash { local, server })
                        .collect(),
                    server_record,
                    resolution,
                }
            },
        )
}

/// Damaged copies of `bytes`: cut at every length, and one byte changed at
/// each of a few places.
fn damaged(bytes: &[u8], flips: &[(usize, u8)]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
    for &(at, x) in flips {
        if !bytes.is_empty() {
            let mut b = bytes.to_vec();
            b[at % bytes.len()] ^= x.max(1);
            out.push(b);
        }
    }
    out
}

/// The account bytes' reader as it was, derived: the reference for
/// `record_codec::decode`.
#[derive(Deserialize)]
struct Head {
    id: String,
    name: String,
    company: String,
    email: String,
    phone: String,
    address: Address,
    geo: Option<Geo>,
    territory: String,
    owner: String,
    stage: String,
    deal_value: i64,
    currency: String,
    last_contact: Option<i64>,
    next_visit: Option<i64>,
    updated_at: i64,
    version: u64,
    tags: Vec<String>,
    custom: BTreeMap<String, CustomValue>,
    activities: Vec<Activity>,
}

fn derived_decode(bytes: &[u8]) -> Option<Account> {
    let (h, rest): (Head, _) = postcard::take_from_bytes(bytes).ok()?;
    let (contacts, deals): (Vec<Contact>, Vec<Deal>) = if rest.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (related, rest): ((Vec<Contact>, Vec<Deal>), _) =
            postcard::take_from_bytes(rest).ok()?;
        if !rest.is_empty() || (related.0.is_empty() && related.1.is_empty()) {
            return None;
        }
        related
    };
    Some(Account {
        id: h.id,
        name: h.name,
        company: h.company,
        email: h.email,
        phone: h.phone,
        address: h.address,
        geo: h.geo,
        territory: h.territory,
        owner: h.owner,
        stage: h.stage,
        deal_value: h.deal_value,
        currency: h.currency,
        last_contact: h.last_contact,
        next_visit: h.next_visit,
        updated_at: h.updated_at,
        version: h.version,
        tags: h.tags,
        custom: h.custom,
        activities: h.activities,
        contacts,
        deals,
    })
}

/// `to_postcard`'s layout, read by serde's derive: the reference for
/// `LedgerState::from_postcard`.
#[derive(Deserialize)]
struct DerivedConflict {
    seq: u64,
    id: String,
    server_version: u64,
    server_deleted: bool,
    clashes: Vec<Clash>,
    server_record: Option<Vec<u8>>,
    resolution: Option<Resolution>,
}

#[derive(Deserialize)]
struct DerivedLedger {
    bases: Vec<(u64, Vec<Change>)>,
    conflicts: Vec<DerivedConflict>,
}

fn derived_ledger(bytes: &[u8]) -> Option<LedgerState> {
    let d: DerivedLedger = postcard::from_bytes(bytes).ok()?;
    let mut conflicts = Vec::new();
    for c in d.conflicts {
        let server_record = match c.server_record {
            None => None,
            Some(b) => Some(record_codec::decode(&b).ok()?),
        };
        conflicts.push(Conflict {
            seq: c.seq,
            id: c.id,
            server_version: c.server_version,
            server_deleted: c.server_deleted,
            clashes: c.clashes,
            server_record,
            resolution: c.resolution,
        });
    }
    Some(LedgerState {
        bases: d.bases,
        conflicts,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_ledger_state_reads_back_and_as_the_derive_reads_it(
        bases in proptest::collection::vec((any::<u64>(), proptest::collection::vec(change(), 0..3)), 0..3),
        conflicts in proptest::collection::vec(conflict(), 0..3),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let state = LedgerState { bases, conflicts };
        let bytes = state.to_postcard();
        prop_assert_eq!(LedgerState::from_postcard(&bytes), Some(state));
        for b in damaged(&bytes, &flips) {
            prop_assert_eq!(LedgerState::from_postcard(&b), derived_ledger(&b));
        }
    }

    #[test]
    fn account_bytes_read_as_the_derived_reader_read_them(
        a in common::account(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let bytes = record_codec::encode(&a);
        prop_assert_eq!(record_codec::decode(&bytes).ok(), Some(a));
        for b in damaged(&bytes, &flips) {
            prop_assert_eq!(record_codec::decode(&b).ok(), derived_decode(&b));
        }
    }
}

/// A conflict that keeps the server's record (the rep deleted what the
/// server changed) survives a reload: the derived form of the state wrote
/// the account without its empty contacts and deals and could not be read
/// back (postcard said "unexpected end"); `to_postcard` writes it whole.
#[test]
fn a_ledger_holding_a_server_record_reopens() {
    let record = Account {
        id: "A1".into(),
        name: "x".into(),
        ..Account::default()
    };
    let state = LedgerState {
        bases: vec![],
        conflicts: vec![Conflict {
            seq: 1,
            id: "A1".into(),
            server_version: 2,
            server_deleted: false,
            clashes: vec![],
            server_record: Some(record),
            resolution: Some(Resolution::Server),
        }],
    };
    let derived = postcard::to_allocvec(&state).unwrap();
    assert!(postcard::from_bytes::<LedgerState>(&derived).is_err());
    assert_eq!(
        LedgerState::from_postcard(&state.to_postcard()),
        Some(state)
    );
}
