//! Regional price lists (issue 6): what a rep may quote, per territory.
//!
//! Owns [`PriceList`], the store's set of them ([`PriceLists`]) and the rule
//! that picks one for a territory: the list whose `territory_prefix` is the
//! longest `-`-separated prefix of the territory (`SE-N` covers `SE-N` and
//! `SE-N-03`, not `SE-NO`; the empty prefix covers every territory), the
//! latest `updated_at` among equals, then the smallest id.
//!
//! Invariant: the lists are held sorted by id, at most one per id, each
//! shrunk to its contents, so [`PriceLists::heap_bytes`] is exactly the heap
//! they hold and what a put will add is known before it is made. The store
//! counts them in its budget, journals every change (`PriceList`,
//! `RemovePriceList` frames) and keeps them in the snapshot
//! (`core/FORMAT.md`).

use alloc::string::String;
use alloc::vec::Vec;
use core::mem::size_of;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::fields::{self, Fields, Part, ReadError};
use crate::journal::JournalOpRef;
use crate::store::{Rejected, Store, WriteError, MAX_ID_BYTES};
use crate::wire::Wire;

/// Largest price list, postcard-encoded: a region's catalogue of a few
/// thousand lines, not a whole product database.
pub const MAX_PRICE_LIST_BYTES: usize = 1 << 20;

/// One line of a price list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceItem {
    /// Stock-keeping unit, the product's code.
    pub sku: String,
    /// Product name as quoted.
    pub name: String,
    /// Price of one unit, in minor units of the list's currency.
    pub unit_price: i64,
}

/// The prices that hold in the territories under one prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    /// Backend id of the list.
    pub id: String,
    /// The territories it covers: `SE` covers `SE`, `SE-N`, `SE-N-03`.
    #[serde(default)]
    pub territory_prefix: String,
    /// ISO-4217 currency code of every price.
    #[serde(default)]
    pub currency: String,
    /// The lines.
    #[serde(default)]
    pub items: Vec<PriceItem>,
    /// Last change on the backend (Unix seconds).
    #[serde(default)]
    pub updated_at: i64,
}

impl PriceList {
    /// Reads a price list from its JSON, parsed. Refuses, naming the
    /// member's path, what serde's derive refuses.
    pub fn from_json_value(tree: &Value) -> Result<PriceList, ReadError> {
        fields::read(tree, "price list")
    }

    /// Whether the list covers `territory`: its prefix is the whole
    /// territory or ends where one of its `-`-separated parts does.
    pub fn covers(&self, territory: &str) -> bool {
        let p = &self.territory_prefix;
        p.is_empty()
            || territory
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    }

    /// Heap bytes the list holds.
    fn heap_bytes(&self) -> usize {
        self.id.capacity()
            + self.territory_prefix.capacity()
            + self.currency.capacity()
            + vec_bytes(&self.items)
            + self
                .items
                .iter()
                .map(|i| i.sku.capacity() + i.name.capacity())
                .sum::<usize>()
    }

    /// Heap bytes the list will hold once shrunk (see [`shrink`]).
    fn shrunk_bytes(&self) -> usize {
        self.id.len()
            + self.territory_prefix.len()
            + self.currency.len()
            + self.items.len() * size_of::<PriceItem>()
            + self
                .items
                .iter()
                .map(|i| i.sku.len() + i.name.len())
                .sum::<usize>()
    }
}

/// Gives back spare capacity, so that the bytes held are the contents'.
fn shrink(list: &mut PriceList) {
    list.id.shrink_to_fit();
    list.territory_prefix.shrink_to_fit();
    list.currency.shrink_to_fit();
    list.items.shrink_to_fit();
    for i in &mut list.items {
        i.sku.shrink_to_fit();
        i.name.shrink_to_fit();
    }
}

/// The store's price lists, sorted by id.
#[derive(Debug, Default)]
pub struct PriceLists {
    lists: Vec<PriceList>,
}

impl PriceLists {
    /// Heap bytes held (exactly: see the module invariant).
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.lists) + self.lists.iter().map(PriceList::heap_bytes).sum::<usize>()
    }

    /// Bytes that [`PriceLists::put`] of `list` would add before it frees the
    /// list it replaces (an upper bound of what the put adds).
    pub fn put_cost(&self, list: &PriceList) -> usize {
        let slot = if self.position(&list.id).is_ok() {
            0
        } else {
            growth_bytes(&self.lists, 1)
        };
        slot + list.shrunk_bytes()
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.lists.binary_search_by(|l| l.id.as_str().cmp(id))
    }

    /// Adds or replaces the list with `list.id`.
    pub fn put(&mut self, mut list: PriceList) {
        shrink(&mut list);
        match self.position(&list.id) {
            Ok(at) => self.lists[at] = list,
            Err(at) => {
                grow_to(&mut self.lists, 1);
                self.lists.insert(at, list);
            }
        }
    }

    /// Removes the list with `id`.
    pub fn remove(&mut self, id: &str) -> Option<PriceList> {
        let at = self.position(id).ok()?;
        Some(self.lists.remove(at))
    }

    /// The list with `id`.
    pub fn get(&self, id: &str) -> Option<&PriceList> {
        self.lists.get(self.position(id).ok()?)
    }

    /// The list for `territory` (see the module doc for the rule).
    pub fn for_territory(&self, territory: &str) -> Option<&PriceList> {
        // Ties by id go to the first, as `lists` is sorted by id.
        self.lists.iter().filter(|l| l.covers(territory)).fold(
            None,
            |best: Option<&PriceList>, l| match best {
                Some(b)
                    if (b.territory_prefix.len(), b.updated_at)
                        >= (l.territory_prefix.len(), l.updated_at) =>
                {
                    Some(b)
                }
                _ => Some(l),
            },
        )
    }

    /// Every list, by id.
    pub fn iter(&self) -> impl Iterator<Item = &PriceList> {
        self.lists.iter()
    }

    /// Number of lists.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Drops every list and its memory.
    pub fn clear(&mut self) {
        self.lists = Vec::new();
    }
}

/// Checks a list's id and size; returns its encoded length.
pub(crate) fn check(list: &PriceList) -> Result<usize, WriteError> {
    if list.id.is_empty() {
        return Err(WriteError::EmptyId);
    }
    if list.id.len() > MAX_ID_BYTES {
        return Err(WriteError::IdTooLong { len: list.id.len() });
    }
    let len = postcard::to_allocvec(list).map_or(usize::MAX, |v| v.len());
    if len > MAX_PRICE_LIST_BYTES {
        return Err(WriteError::RecordTooLarge { len });
    }
    Ok(len)
}

impl Store {
    /// Adds or replaces a price list (by id), journaled and counted in the
    /// budget. A list that does not fit is handed back with
    /// [`WriteError::Budget`], and nothing changes.
    ///
    /// # Examples
    /// ```
    /// use satchel_core::budget::Budget;
    /// use satchel_core::price_lists::PriceList;
    /// use satchel_core::store::Store;
    /// let mut store = Store::new(Budget::new(1 << 20));
    /// let se = PriceList { id: "pl-se".into(), territory_prefix: "SE".into(), ..PriceList::default() };
    /// store.put_price_list(se).unwrap();
    /// assert_eq!(store.price_list_for("SE-N-03").unwrap().id, "pl-se");
    /// assert!(store.price_list_for("DE-BY").is_none());
    /// ```
    pub fn put_price_list(&mut self, list: PriceList) -> Result<(), Rejected<PriceList>> {
        if let Err(error) = check(&list) {
            return Err(Rejected { value: list, error });
        }
        let needed =
            self.price_lists.put_cost(&list) + self.journal_growth(&JournalOpRef::PriceList(&list));
        if let Err(error) = self.make_room(needed) {
            return Err(Rejected { value: list, error });
        }
        if let Err(b) = self.journal_op(&JournalOpRef::PriceList(&list)) {
            return Err(Rejected {
                value: list,
                error: WriteError::Budget(b),
            });
        }
        self.price_lists.put(list);
        Ok(())
    }

    /// Removes the price list with `id`; `Ok(false)` when there is none.
    /// Fails only when the journal frame does not fit.
    pub fn remove_price_list(&mut self, id: &str) -> Result<bool, crate::budget::BudgetExceeded> {
        if self.price_lists.get(id).is_none() {
            return Ok(false);
        }
        self.journal_op(&JournalOpRef::RemovePriceList(id))?;
        self.price_lists.remove(id);
        Ok(true)
    }

    /// The price list for `territory`: the one whose prefix is the longest
    /// `-`-separated prefix of it (see [`crate::price_lists`]).
    pub fn price_list_for(&self, territory: &str) -> Option<&PriceList> {
        self.price_lists.for_territory(territory)
    }

    /// The price list with backend id `id`.
    pub fn price_list(&self, id: &str) -> Option<&PriceList> {
        self.price_lists.get(id)
    }

    /// Every price list, by id.
    pub fn price_lists(&self) -> impl Iterator<Item = &PriceList> {
        self.price_lists.iter()
    }
}

// Price lists are read by hand (crate::fields, for the wasm module's size);
// the serde derives write them (and postcard) and are the reference the
// tests hold these to.

impl Part for PriceList {
    const KEYS: &'static [&'static str] =
        &["id", "territory_prefix", "currency", "items", "updated_at"];

    fn read(f: &Fields<'_>) -> PriceList {
        PriceList {
            id: f.string("id"),
            territory_prefix: f.string_or("territory_prefix", ""),
            currency: f.string_or("currency", ""),
            items: f.list_of::<PriceItem>("items"),
            updated_at: f.int("updated_at", Some(0), i64::MIN, i64::MAX),
        }
    }
}

impl Part for PriceItem {
    const KEYS: &'static [&'static str] = &["sku", "name", "unit_price"];

    fn read(f: &Fields<'_>) -> PriceItem {
        PriceItem {
            sku: f.string("sku"),
            name: f.string("name"),
            unit_price: f.int("unit_price", None, i64::MIN, i64::MAX),
        }
    }
}

impl PriceList {
    /// Read from postcard by hand (crate::wire), in field order.
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> PriceList {
        PriceList {
            id: w.string(),
            territory_prefix: w.string(),
            currency: w.string(),
            items: w.seq(|w| PriceItem {
                sku: w.string(),
                name: w.string(),
                unit_price: w.i64(),
            }),
            updated_at: w.i64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(id: &str, prefix: &str, updated_at: i64) -> PriceList {
        PriceList {
            id: id.into(),
            territory_prefix: prefix.into(),
            updated_at,
            ..PriceList::default()
        }
    }

    #[test]
    fn the_longest_dash_separated_prefix_wins() {
        let mut p = PriceLists::default();
        for l in [
            list("all", "", 0),
            list("se", "SE", 0),
            list("se-n", "SE-N", 0),
            list("se-n-new", "SE-N", 5),
        ] {
            p.put(l);
        }
        fn pick<'a>(p: &'a PriceLists, t: &str) -> Option<&'a str> {
            p.for_territory(t).map(|l| l.id.as_str())
        }
        assert_eq!(pick(&p, "SE-N-03"), Some("se-n-new"));
        assert_eq!(pick(&p, "SE-N"), Some("se-n-new"));
        assert_eq!(
            pick(&p, "SE-NO-1"),
            Some("se"),
            "SE-N is not a prefix of SE-NO"
        );
        assert_eq!(pick(&p, "SE"), Some("se"));
        assert_eq!(pick(&p, "DE-BY-01"), Some("all"));
        p.remove("all");
        assert_eq!(pick(&p, "DE-BY-01"), None);
    }

    #[test]
    fn heap_bytes_are_the_contents_after_a_put() {
        let mut p = PriceLists::default();
        let mut l = list("se", "SE", 0);
        l.items.reserve(100);
        l.items.push(PriceItem {
            sku: "P-100".into(),
            name: "Pump".into(),
            unit_price: 1999,
        });
        let cost = p.put_cost(&l);
        p.put(l);
        assert_eq!(p.heap_bytes(), cost);
    }
}
