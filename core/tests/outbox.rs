//! The outbox never loses an edit: refused edits change nothing, and nothing
//! the budget, ranking, eviction, compaction or a reopen does drops an entry
//! or evicts a dirty record; only an acknowledgement removes one.

use std::collections::BTreeMap;

use proptest::prelude::*;
use satchel_core::budget::Budget;
use satchel_core::journal::journal_header;
use satchel_core::model::{Account, Activity, ActivityKind};
use satchel_core::outbox::{Change, EditError, Patch, MAX_CHANGES};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

const NOW: i64 = 1_790_000_000;

fn visit(text: &str) -> Patch {
    Patch {
        set: vec![Change::Stage("won".into())],
        log: vec![Activity {
            kind: ActivityKind::Visit,
            at: NOW,
            by: "rep-0001".into(),
            text: text.into(),
        }],
        delete: false,
    }
}

fn org(n: u64) -> Vec<Account> {
    satchel_fixtures::accounts(&OrgSpec::new(n, 9)).collect()
}

#[test]
fn refused_edits_change_nothing() {
    let accounts = org(50);
    let mut s = Store::new(Budget::parse("2MiB").unwrap());
    s.upsert_batch(accounts.clone()).unwrap();
    let id = accounts[0].id.clone();
    let before = (s.get(&id), s.seq(), s.used_bytes());
    let same = |s: &Store| (s.get(&id), s.seq(), s.used_bytes());
    assert_eq!(
        s.edit("nope", visit("x"), NOW),
        Err(EditError::NotOnDevice { id: "nope".into() })
    );
    assert_eq!(s.edit(&id, Patch::default(), NOW), Err(EditError::Empty));
    let many = Patch {
        set: vec![Change::DealValue(1); MAX_CHANGES + 1],
        ..Patch::default()
    };
    assert!(matches!(
        s.edit(&id, many, NOW),
        Err(EditError::TooManyChanges { .. })
    ));
    let huge = visit(&"ä".repeat(200_000));
    assert!(matches!(
        s.edit(&id, huge, NOW),
        Err(EditError::Rejected(_))
    ));
    assert_eq!(same(&s), before);
    assert!(s.outbox().is_empty() && !s.is_dirty(&id));
}

#[test]
fn an_edit_that_does_not_fit_is_refused_whole() {
    let accounts = org(4000);
    let mut s = Store::new(Budget::parse("256KiB").unwrap());
    for a in &accounts {
        if s.upsert(a.clone()).is_err() {
            break;
        }
    }
    // Fill what is left with edits until one is refused for budget.
    let id = s.iter().next().unwrap().id;
    let mut refused = None;
    for i in 0..10_000 {
        let (record, outbox, journal) = (s.get(&id), s.outbox().len(), s.seq());
        match s.edit(&id, visit(&format!("besök {i} {}", "x".repeat(200))), NOW) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(
                    (s.get(&id), s.outbox().len(), s.seq()),
                    (record, outbox, journal)
                );
                refused = Some(e);
                break;
            }
        }
        assert!(s.used_bytes() <= s.budget().bytes());
    }
    assert!(matches!(refused, Some(EditError::Budget(_))), "{refused:?}");
}

#[test]
fn edits_survive_snapshot_journal_and_torn_tails() {
    let accounts = org(200);
    let config = StoreConfig::default();
    let mut s = Store::with_config(Budget::parse("4MiB").unwrap(), config);
    s.upsert_batch(accounts.clone()).unwrap();
    let snap = s.snapshot();
    let mut journal = journal_header().to_vec();
    journal.extend(s.take_journal());
    let a = s.edit(&accounts[1].id, visit("one"), NOW).unwrap();
    let b = s
        .edit(
            &accounts[2].id,
            Patch {
                delete: true,
                ..Patch::default()
            },
            NOW,
        )
        .unwrap();
    let c = s.edit(&accounts[1].id, visit("two"), NOW + 60).unwrap();
    assert!(s.ack(a).unwrap().is_some());
    assert_eq!(s.ack(a).unwrap(), None);
    journal.extend(s.take_journal());
    let (r, _) = Store::open(Some(&snap), Some(&journal), s.budget(), config).unwrap();
    assert_eq!(r.outbox(), s.outbox());
    assert_eq!(r.outbox().iter().map(|e| e.seq).collect::<Vec<_>>(), [b, c]);
    assert_eq!(r.get(&accounts[1].id), s.get(&accounts[1].id));
    assert!(r.get(&accounts[2].id).is_none() && r.is_dirty(&accounts[2].id));
    // A new edit after reopening does not reuse a sequence number.
    let mut r = r;
    let d = r.edit(&accounts[3].id, visit("three"), NOW).unwrap();
    assert!(d > c);
    // Cut the journal inside the last frame (the Upsert after the last Edit):
    // the edit is still in the outbox.
    let mut torn = journal_header().to_vec();
    let mut s2 = Store::with_config(Budget::parse("4MiB").unwrap(), config);
    s2.upsert_batch(accounts[..10].to_vec()).unwrap();
    let snap2 = s2.snapshot();
    let _ = s2.take_journal();
    s2.edit(&accounts[5].id, visit("cut"), NOW).unwrap();
    let frames = s2.take_journal();
    torn.extend(&frames[..frames.len() - 3]);
    let (r2, report) = Store::open(Some(&snap2), Some(&torn), s2.budget(), config).unwrap();
    assert!(report.torn_tail_bytes > 0);
    assert_eq!(r2.outbox(), s2.outbox());
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(usize),
    Edit(usize, bool),
    Ack(usize),
    Retain(u8),
    DeleteOther(usize),
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..150).prop_map(Op::Upsert),
        3 => (0usize..150, prop::bool::weighted(0.1)).prop_map(|(i, d)| Op::Edit(i, d)),
        1 => (0usize..8).prop_map(Op::Ack),
        1 => (5u8..60).prop_map(Op::Retain),
        1 => (0usize..150).prop_map(Op::DeleteOther),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn nothing_but_an_ack_drops_an_edit(ops in prop::collection::vec(op(), 1..120)) {
        let accounts = org(150);
        let rules = RankRules::from_json(
            r#"{"rules": [{"name": "won", "weight": 10, "when": {"stage_in": ["won"]}}]}"#,
        ).unwrap();
        let ctx = RankContext { now: NOW, me: "rep-0001".into(), territories: vec![] };
        let config = StoreConfig::default();
        let budget = Budget::parse("192KiB").unwrap();
        let mut s = Store::with_config(budget, config);
        let mut snap = s.snapshot();
        let mut journal = journal_header().to_vec();
        // The model: every confirmed, unacknowledged edit by seq.
        let mut pending: BTreeMap<u64, String> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Upsert(i) => { let _ = s.upsert(accounts[i].clone()); }
                Op::Edit(i, delete) => {
                    let id = &accounts[i].id;
                    let patch = if delete { Patch { delete: true, ..Patch::default() } } else { visit("besök") };
                    if let Ok(seq) = s.edit(id, patch, NOW) {
                        pending.insert(seq, id.clone());
                    }
                }
                Op::Ack(k) => {
                    if let Some(&seq) = pending.keys().nth(k) {
                        if s.ack(seq).is_ok() {
                            pending.remove(&seq);
                        }
                    }
                }
                Op::Retain(percent) => {
                    let target = s.used_bytes() * percent as usize / 100;
                    let dirty_before: Vec<String> = pending.values()
                        .filter(|id| s.get(id).is_some()).cloned().collect();
                    let _ = s.retain(&rules, &ctx, 20, Some(target));
                    for id in dirty_before {
                        prop_assert!(s.get(&id).is_some(), "dirty {} evicted", id);
                    }
                }
                Op::DeleteOther(i) => {
                    let id = &accounts[i].id;
                    if !pending.values().any(|p| p == id) {
                        let _ = s.delete(id);
                    }
                }
                Op::Compact => { s.compact(); }
                Op::Reopen => {
                    journal.extend(s.take_journal());
                    let (r, _) = Store::open(Some(&snap), Some(&journal), budget, config).unwrap();
                    s = r;
                    snap = s.snapshot();
                    journal = journal_header().to_vec();
                }
            }
            let got: BTreeMap<u64, String> = s.outbox().iter().map(|e| (e.seq, e.id.clone())).collect();
            prop_assert_eq!(&got, &pending);
            prop_assert!(s.used_bytes() <= s.budget().bytes());
        }
    }
}
