//! The store against a `BTreeMap` model: random upserts, batches, deletes,
//! compactions and snapshot round trips under several budgets. After every
//! call the budget holds, and the contents (and what a search by territory
//! finds) are exactly what the model says was accepted.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use satchel_core::budget::Budget;
use satchel_core::journal::journal_header;
use satchel_core::model::Account;
use satchel_core::search::{HitRef, Query, MAX_LIMIT};
use satchel_core::store::{Store, StoreConfig, WriteError};

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test data, built once per case
enum Op {
    Upsert(Account),
    Batch(Vec<Account>),
    Delete(String),
    Compact,
    Reopen,
    ReplayJournal,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => common::account().prop_map(Op::Upsert),
        2 => proptest::collection::vec(common::account(), 0..8).prop_map(Op::Batch),
        4 => common::id().prop_map(Op::Delete),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::ReplayJournal),
    ]
}

fn config() -> StoreConfig {
    // Small blocks so that compaction and block rewrites happen often.
    StoreConfig {
        block_bytes: 1500,
        cache_blocks: 2,
        journal: true,
    }
}

fn check(store: &Store, model: &BTreeMap<String, Account>) {
    assert!(
        store.used_bytes() <= store.budget().bytes(),
        "{} > {}",
        store.used_bytes(),
        store.budget().bytes()
    );
    assert_eq!(store.len(), model.len());
    for (id, a) in model {
        assert_eq!(store.get(id).as_ref(), Some(a), "get {id}");
    }
    let mut seen: Vec<Account> = store.iter().collect();
    seen.sort_by(|a, b| a.id.cmp(&b.id));
    let want: Vec<Account> = model.values().cloned().collect();
    assert_eq!(seen, want);
    // The search index holds exactly the records: a territory filter (read
    // from the index's attribute postings) finds every one and no other.
    // (An index that did not fit at open refuses searches: skipped.)
    for territory in ["SE-N-01", "SE-N-02", "SE-N-03", "DE-BY-01"] {
        let q = Query {
            territory: vec![territory.into()],
            limit: MAX_LIMIT,
            ..Query::default()
        };
        let Ok(hits) = store.search(&q) else { continue };
        let mut found: Vec<String> = hits
            .iter()
            .filter_map(|h| match h.target {
                HitRef::Record(local) => store.get_local(local).map(|a| a.id),
                HitRef::Stub { .. } => None,
            })
            .collect();
        found.sort();
        let want: Vec<&String> = model
            .values()
            .filter(|a| a.territory == territory)
            .map(|a| &a.id)
            .collect();
        assert_eq!(
            found.iter().collect::<Vec<_>>(),
            want,
            "territory {territory}"
        );
    }
}

fn run(budget: usize, ops: Vec<Op>) {
    let mut store = Store::with_config(Budget::new(budget), config());
    let mut model: BTreeMap<String, Account> = BTreeMap::new();
    // What a persistence layer would hold: the last snapshot and journal since.
    let mut snapshot: Option<Vec<u8>> = None;
    let mut journal = journal_header().to_vec();
    for op in ops {
        match op {
            Op::Upsert(a) => match store.upsert(a.clone()) {
                Ok(_) => {
                    model.insert(a.id.clone(), a);
                }
                Err(r) => {
                    assert_eq!(r.value, a, "a refused record is handed back");
                    assert!(matches!(r.error, WriteError::Budget(_)), "{:?}", r.error);
                }
            },
            Op::Batch(batch) => match store.upsert_batch(batch.clone()) {
                Ok(_) => {
                    for a in batch {
                        model.insert(a.id.clone(), a);
                    }
                }
                Err(r) => assert_eq!(r.value, batch),
            },
            Op::Delete(id) => {
                if let Ok(existed) = store.delete(&id) {
                    assert_eq!(existed, model.remove(&id).is_some());
                }
            }
            Op::Compact => {
                store.compact();
            }
            Op::Reopen => {
                journal.extend(store.take_journal());
                let bytes = store.snapshot();
                let (reopened, report) =
                    Store::open(Some(&bytes), None, Budget::new(budget), config()).unwrap();
                assert_eq!(report.replayed, 0);
                store = reopened;
                snapshot = Some(bytes);
            }
            Op::ReplayJournal => {
                // A restart: the last snapshot plus every frame since.
                journal.extend(store.take_journal());
                let (reopened, _) = Store::open(
                    snapshot.as_deref(),
                    Some(&journal),
                    Budget::new(budget),
                    config(),
                )
                .unwrap();
                assert_eq!(reopened.seq(), store.seq());
                store = reopened;
            }
        }
        check(&store, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tiny_budget(ops in proptest::collection::vec(op(), 1..60)) {
        run(6 * 1024, ops);
    }

    #[test]
    fn small_budget(ops in proptest::collection::vec(op(), 1..80)) {
        run(40 * 1024, ops);
    }

    #[test]
    fn roomy_budget(ops in proptest::collection::vec(op(), 1..80)) {
        run(4 * 1024 * 1024, ops);
    }
}
