//! A store filled to the last byte keeps its budget through deletes whose
//! search-index pages get longer.
//!
//! Removing the only posting of a key can lengthen its index page: the next
//! key is then written against an earlier one and may repeat zero bytes the
//! removed key ended in (see `termindex`). Dates near 1970 make such keys
//! (day keys end in zero bytes, and days -1, 0 and 1 share zeros). Before
//! the store counted this, deleting the middle one from a store with no byte
//! to spare took it over its budget.

use satchel_core::budget::Budget;
use satchel_core::model::Account;
use satchel_core::store::{Store, StoreConfig};

const DAY: i64 = 86_400;

fn config() -> StoreConfig {
    // Small blocks, so that reading records fills the cache a block at a time.
    StoreConfig {
        block_bytes: 128,
        cache_blocks: 8,
        journal: false,
    }
}

fn dated(id: &str, day: i64) -> Account {
    Account {
        id: id.into(),
        next_visit: Some(day * DAY),
        ..Account::default()
    }
}

/// A store holding records dated days -1, 0 and 1 (and a few others), and
/// its snapshot.
fn seeded() -> Vec<u8> {
    let mut store = Store::with_config(Budget::new(1 << 20), config());
    for (id, day) in [("a", -1), ("b", 0), ("c", 1), ("d", 256), ("e", -256)] {
        store.upsert(dated(id, day)).unwrap();
    }
    for n in 0..8 {
        store.upsert(dated(&format!("p{n}"), 20_000 + n)).unwrap();
    }
    store.compact();
    store.snapshot()
}

#[test]
fn a_delete_that_lengthens_an_index_page_stays_within_a_full_budget() {
    let bytes = seeded();
    let open = |budget: usize| {
        Store::open(Some(&bytes), None, Budget::new(budget), config())
            .unwrap()
            .0
    };

    // The removal does lengthen the index: measured on a roomy copy.
    let mut roomy = open(1 << 20);
    let before = roomy.stats().bytes.search;
    assert!(roomy.delete("b").unwrap());
    assert!(
        roomy.stats().bytes.search > before,
        "the case no longer lengthens a page: {} -> {}",
        before,
        roomy.stats().bytes.search
    );

    // The same store under budgets that reads (the blocks they cache) fill
    // to the last byte. The delete is refused (the planner's reserve is not
    // for writes) or done by dropping the cache; never over the budget.
    let held = open(1 << 20).used_bytes();
    let ids = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "a", "c"];
    let (mut full_stores, mut deleted) = (0, 0);
    for budget in held..held + 4 * 1024 {
        let mut store = open(budget);
        // A delete first, so that the free list of local ids has room (else
        // the next delete's growing it would drop the cache).
        if store.delete("p7").is_err() {
            continue;
        }
        for id in ids {
            if store.used_bytes() == budget {
                break;
            }
            store.get(id);
        }
        if store.used_bytes() != budget || store.stats().bytes.search == 0 {
            continue;
        }
        full_stores += 1;
        match store.delete("b") {
            Ok(existed) => {
                assert!(existed);
                assert!(store.get("b").is_none());
                deleted += 1;
            }
            Err(_) => assert!(store.get("b").is_some(), "a refused delete changes nothing"),
        }
        assert!(
            store.used_bytes() <= budget,
            "{} > {budget}",
            store.used_bytes()
        );
    }
    assert!(deleted > 0, "{full_stores} full stores, no delete done");
}
