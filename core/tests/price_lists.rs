//! Price lists in the store: the budget refuses a list without changing
//! anything, and lists come back from a snapshot and from a journal.

use satchel_core::budget::Budget;
use satchel_core::journal::journal_header;
use satchel_core::model::Account;
use satchel_core::price_lists::{PriceItem, PriceList};
use satchel_core::store::{Store, StoreConfig, WriteError};

fn list(id: &str, prefix: &str, items: usize) -> PriceList {
    PriceList {
        id: id.into(),
        territory_prefix: prefix.into(),
        currency: "SEK".into(),
        items: (0..items)
            .map(|k| PriceItem {
                sku: format!("SKU-{k:05}"),
                name: format!("Produkt nummer {k} i sortimentet"),
                unit_price: 100 * k as i64 + 99,
            })
            .collect(),
        updated_at: 1_790_000_000,
    }
}

fn account(i: u32) -> Account {
    Account {
        id: format!("A{i:06}"),
        name: format!("Kund {i}"),
        territory: "SE-N-01".into(),
        ..Account::default()
    }
}

#[test]
fn a_list_that_does_not_fit_is_refused_and_changes_nothing() {
    let mut store = Store::new(Budget::new(256 << 10));
    for i in 0..200 {
        store.upsert(account(i)).unwrap();
    }
    store.put_price_list(list("pl-se", "SE", 10)).unwrap();
    let _ = store.take_journal();
    let before = (
        store.used_bytes(),
        store.seq(),
        store.price_lists().cloned().collect::<Vec<_>>(),
        store.iter().collect::<Vec<_>>(),
    );
    // Some 10,000 lines: far more than a 256 KiB budget holds.
    let big = list("pl-se-n", "SE-N", 10_000);
    let refused = store.put_price_list(big.clone()).unwrap_err();
    let WriteError::Budget(b) = refused.error else {
        panic!("expected a budget error, got {:?}", refused.error);
    };
    assert!(b.needed > b.available, "{b:?}");
    assert_eq!(refused.value, big, "the list is handed back");
    assert!(store.take_journal().is_empty(), "nothing journaled");
    let after = (
        store.used_bytes(),
        store.seq(),
        store.price_lists().cloned().collect::<Vec<_>>(),
        store.iter().collect::<Vec<_>>(),
    );
    // Making room may compact the hot buffer (fewer bytes), never lose data.
    assert!(after.0 <= before.0);
    assert_eq!(
        (after.1, &after.2, &after.3),
        (before.1, &before.2, &before.3)
    );
    assert_eq!(store.price_list_for("SE-N-01").unwrap().id, "pl-se");
}

#[test]
fn an_empty_id_is_refused() {
    let mut store = Store::new(Budget::new(1 << 20));
    let refused = store.put_price_list(list("", "SE", 1)).unwrap_err();
    assert_eq!(refused.error, WriteError::EmptyId);
    assert_eq!(store.price_lists().count(), 0);
}

#[test]
fn lists_survive_a_snapshot_and_a_journal() {
    let config = StoreConfig::default();
    let budget = Budget::new(4 << 20);
    let mut store = Store::with_config(budget, config);
    store.upsert(account(1)).unwrap();
    store.put_price_list(list("pl-se", "SE", 50)).unwrap();
    store.put_price_list(list("pl-de", "DE", 5)).unwrap();
    let snapshot = store.snapshot();
    let mut journal = journal_header().to_vec();
    journal.extend(store.take_journal());
    // After the snapshot: a replacement, a new list and a removal.
    let mut replaced = list("pl-se", "SE", 3);
    replaced.updated_at += 60;
    store.put_price_list(replaced.clone()).unwrap();
    store.put_price_list(list("pl-se-n", "SE-N", 7)).unwrap();
    assert!(store.remove_price_list("pl-de").unwrap());
    assert!(!store.remove_price_list("pl-de").unwrap());
    let tail = store.take_journal();
    let mut tail_journal = journal_header().to_vec();
    tail_journal.extend(&tail);
    journal.extend(&tail);

    let lists = |s: &Store| s.price_lists().cloned().collect::<Vec<_>>();
    let (from_snapshot, _) = Store::open(Some(&snapshot), None, budget, config).unwrap();
    assert_eq!(
        lists(&from_snapshot),
        vec![list("pl-de", "DE", 5), list("pl-se", "SE", 50)]
    );
    let (both, _) = Store::open(Some(&snapshot), Some(&tail_journal), budget, config).unwrap();
    let (journal_only, report) = Store::open(None, Some(&journal), budget, config).unwrap();
    assert_eq!(report.replayed, 6);
    for s in [&both, &journal_only] {
        assert_eq!(lists(s), lists(&store));
        assert_eq!(s.price_list("pl-se"), Some(&replaced));
        assert_eq!(s.price_list_for("SE-N-03").unwrap().id, "pl-se-n");
        assert_eq!(s.price_list_for("SE-S").unwrap().id, "pl-se");
        assert!(s.price_list_for("DE-BY").is_none());
        assert_eq!(s.used_bytes(), s.stats().bytes.total());
    }
}
