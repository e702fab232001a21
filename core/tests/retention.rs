//! The store acting on a plan: pinned records stay, evicted ones leave stubs
//! that search can find, the budget holds, and `explain` says why.

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use satchel_core::budget::Budget;
use satchel_core::model::Account;
use satchel_core::rules::{RankRules, DAY};
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::usage::Use;

const NOW: i64 = 1_790_000_000;

fn rules() -> RankRules {
    RankRules::from_json(
        r#"{"rules": [
        {"name": "pinned", "weight": 100000, "when": {"pinned": true}},
        {"name": "mine", "weight": 400, "when": {"owner_is_me": true}},
        {"name": "used", "weight": 500, "when": {"used": true}},
        {"name": "visit soon", "weight": 300, "when": {"next_visit_within_days": 14}, "half_life_days": 7}
    ]}"#,
    )
    .unwrap()
}

fn ctx() -> RankContext {
    RankContext {
        now: NOW,
        me: "rep-01".into(),
        territories: vec![],
    }
}

fn accounts(n: usize, seed: u64) -> Vec<Account> {
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        proptest::test_runner::Config::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &[seed as u8; 32],
        ),
    );
    let strategy = common::account();
    (0..n)
        .map(|i| {
            let mut a = strategy.new_tree(&mut runner).unwrap().current();
            a.id = format!("ACC-{i:05}");
            a.owner = if i % 5 == 0 {
                "rep-01".into()
            } else {
                format!("rep-{:02}", 2 + i % 7)
            };
            a.next_visit = (i % 3 == 0).then_some(NOW + (i as i64 % 20) * DAY);
            a
        })
        .collect()
}

fn store_with(n: usize, budget: usize) -> Store {
    let config = StoreConfig {
        block_bytes: 4096,
        cache_blocks: 2,
        journal: false,
    };
    let mut store = Store::with_config(Budget::new(budget), config);
    for a in accounts(n, 7) {
        store.upsert(a).unwrap();
    }
    store
}

#[test]
fn retain_keeps_the_best_and_pinned_and_leaves_stubs() {
    let mut store = store_with(600, 8 << 20);
    let full = store.used_bytes();
    assert_eq!(store.len(), 600);
    // A record nobody would keep, pinned.
    assert!(store.pin("ACC-00007").unwrap());
    assert!(!store.pin("NOPE").unwrap());
    store.record_use("ACC-00011", Use::Edit, NOW - DAY).unwrap();
    // Make room: plan the records into a third of what they take.
    let mut small = store;
    let summary = small.retain(&rules(), &ctx(), 20, Some(full / 3)).unwrap();
    assert!(small.used_bytes() <= small.budget().bytes());
    assert!(summary.stubbed > 0 && summary.kept > 0, "{summary:?}");
    assert_eq!(small.len() as u64, summary.kept, "{summary:?}");
    assert!(small.contains("ACC-00007"), "pinned stays");
    assert!(small.contains("ACC-00011"), "used lately stays");
    for a in accounts(600, 7) {
        let mine = a.owner == "rep-01";
        if mine {
            assert!(small.contains(&a.id), "{} is mine and scores highest", a.id);
        }
        let held = small.contains(&a.id);
        let stub = small.stub(&a.id);
        assert!(!(held && stub.is_some()), "never both");
        if let Some(s) = stub {
            assert_eq!(
                s.name,
                a.display_name()
                    .chars()
                    .take(120)
                    .collect::<String>()
                    .get(..s.name.len())
                    .unwrap_or(&s.name)
            );
        }
    }
    // Explain says why.
    let kept = small.explain("ACC-00000", &rules(), &ctx());
    assert_eq!(kept.state, "kept");
    assert!(kept
        .rules
        .iter()
        .any(|r| r.rule == "mine" && r.points == 400));
    assert!(kept.cutoff.is_some());
    let gone = small.stubs().next().unwrap();
    let e = small.explain(&gone.id, &rules(), &ctx());
    assert_eq!((e.state, e.score), ("stub", gone.score));
    assert!(e.score <= kept.cutoff.unwrap());
    // A stubbed record that comes back in full loses its stub; deleting a
    // stub removes it.
    let back = accounts(600, 7)
        .into_iter()
        .find(|a| a.id == gone.id)
        .unwrap();
    small.clear_cache();
    let _ = small.upsert(back);
    assert!(small.stub(&gone.id).is_none());
    let other = small.stubs().next().unwrap();
    assert!(small.delete(&other.id).unwrap());
    assert!(small.stub(&other.id).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the target and pins, pinned records stay and the budget holds.
    #[test]
    fn pinned_records_survive_any_plan(pins in proptest::collection::vec(0usize..200, 0..20), share in 0usize..90, stub_share in 0u8..50) {
        let mut store = store_with(200, 4 << 20);
        let full = store.used_bytes();
        let mut pinned = Vec::new();
        for p in pins {
            let id = format!("ACC-{p:05}");
            if store.pin(&id).unwrap() {
                pinned.push(id);
            }
        }
        let before = store.len();
        let summary = store.retain(&rules(), &ctx(), stub_share, Some(full * share / 100)).unwrap();
        prop_assert!(store.used_bytes() <= store.budget().bytes());
        for id in &pinned {
            prop_assert!(store.contains(id), "{} was pinned", id);
        }
        prop_assert_eq!(summary.kept + summary.stubbed + summary.dropped, before as u64);
        prop_assert_eq!(store.len() as u64, summary.kept);
        prop_assert_eq!(store.stubs().count() as u64, summary.stubbed);
    }
}

/// A store filled up to its write limit can still plan: the planning
/// reserve holds the planner's histograms.
#[test]
fn a_full_store_can_still_plan() {
    let config = StoreConfig {
        block_bytes: 4096,
        cache_blocks: 2,
        journal: false,
    };
    let mut store = Store::with_config(Budget::new(400 * 1024), config);
    let mut refused = 0;
    for a in accounts(3000, 9) {
        refused += usize::from(store.upsert(a).is_err());
    }
    assert!(refused > 0, "the store is full");
    let summary = store.retain(&rules(), &ctx(), 10, None).unwrap();
    assert!(store.used_bytes() <= store.budget().bytes());
    assert_eq!(store.len() as u64, summary.kept);
}

/// Pins and stubs survive a restart, from a snapshot and from the journal.
#[test]
fn pins_and_stubs_survive_a_restart() {
    let config = StoreConfig {
        block_bytes: 4096,
        cache_blocks: 2,
        journal: true,
    };
    let mut store = Store::with_config(Budget::new(8 << 20), config);
    let mut journal = satchel_core::journal::journal_header().to_vec();
    for a in accounts(300, 3) {
        store.upsert(a).unwrap();
    }
    let snapshot = store.snapshot();
    journal.extend(store.take_journal());
    assert!(store.pin("ACC-00013").unwrap());
    assert!(store.pin("ACC-00014").unwrap());
    assert!(store.unpin("ACC-00014"));
    let full = store.used_bytes();
    store.retain(&rules(), &ctx(), 30, Some(full / 4)).unwrap();
    journal.extend(store.take_journal());
    let stubs = |s: &Store| {
        let mut v: Vec<_> = s.stubs().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    assert!(!stubs(&store).is_empty());
    let ids = |s: &Store| {
        let mut v: Vec<String> = s.iter().map(|a| a.id).collect();
        v.sort();
        v
    };
    // From the old snapshot and the journal since.
    let (replayed, _) = Store::open(
        Some(&snapshot),
        Some(&journal),
        Budget::new(8 << 20),
        config,
    )
    .unwrap();
    // From a new snapshot.
    let (reloaded, _) =
        Store::open(Some(&store.snapshot()), None, Budget::new(8 << 20), config).unwrap();
    for s in [&replayed, &reloaded] {
        assert_eq!(ids(s), ids(&store));
        assert_eq!(stubs(s), stubs(&store));
        assert!(s.is_pinned("ACC-00013"));
        assert!(!s.is_pinned("ACC-00014"));
        assert_eq!(s.seq(), store.seq());
    }
}

/// Stubs are the first to go: a write that needs room sheds the
/// lowest-scoring stubs rather than being refused.
#[test]
fn stubs_go_before_a_write_is_refused() {
    let config = StoreConfig {
        block_bytes: 4096,
        cache_blocks: 2,
        journal: false,
    };
    let mut store = Store::with_config(Budget::new(400 * 1024), config);
    let all = accounts(3000, 5);
    let mut refused = Vec::new();
    for a in all {
        if let Err(r) = store.upsert(a) {
            refused.push(r.value);
        }
    }
    assert!(!refused.is_empty());
    let full = store.used_bytes();
    store.retain(&rules(), &ctx(), 50, Some(full / 2)).unwrap();
    let stubs_before = store.stubs().count();
    assert!(stubs_before > 0);
    // Fill again until even the stubs cannot make room.
    let mut written = 0;
    for a in refused {
        if store.upsert(a).is_ok() {
            written += 1;
        }
        assert!(store.used_bytes() <= store.budget().bytes());
    }
    let stubs_after = store.stubs().count();
    assert!(
        written > 0 && stubs_after < stubs_before,
        "{written} written, stubs {stubs_before} -> {stubs_after}"
    );
}
