//! Fuzz entry points for satchel-core: each takes arbitrary bytes, drives one
//! decoder (or the store) the way the app does, and panics only when an
//! invariant breaks. A clear error is a pass; a panic, an abort or a
//! timeout is a bug.
//!
//! Owns the entry points and nothing else: `fuzz_targets/*.rs` call them
//! under libFuzzer, and `core/tests/fuzz_regressions.rs` includes this file
//! by path to replay every kept crash input (`fixtures/fuzz-regressions/`)
//! on stable `cargo test`. So this file uses only `satchel_core`,
//! `serde_json` and `std`.
//!
//! | entry | what it drives |
//! |---|---|
//! | [`snapshot_open`] | `Store::open(snapshot)`; a store that opens reads cards like its records and saves and reopens the same |
//! | [`journal_replay`] | `read_journal` and `Store::open(journal)`, alone and on the golden snapshot |
//! | [`seal_open`] | `seal::open` for every kind, `wrap_params`, `unwrap_with_pin` |
//! | [`profile_parse`] | `Profile::from_json`; a profile that parses builds a first request |
//! | [`response_map`] | `mapping::read_item` on every item, and a page through `SyncSession` |
//! | [`store_ops`] | upsert/delete/edit/ack/pin/retain/compact/snapshot/reopen against a model |

#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeMap;

use satchel_core::budget::Budget;
use satchel_core::journal::{journal_header, read_journal};
use satchel_core::model::{Account, Activity, ActivityKind, Card};
use satchel_core::outbox::{Change, Edit, Patch};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::seal::{self, DataKey, Kind};
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::builtin;
use satchel_core::sync::{
    mapping, Action, HttpResponse, Profile, SyncConfig, SyncSession, SyncState,
};
use serde_json::Value;

/// The golden v1 snapshot: the base a fuzzed journal is replayed onto.
pub const GOLDEN_SNAPSHOT: &[u8] = include_bytes!("../../fixtures/golden/snapshot-v1.bin");
/// The golden v1 journal (follows the golden snapshot).
pub const GOLDEN_JOURNAL: &[u8] = include_bytes!("../../fixtures/golden/journal-v1.bin");

/// The key the `seal_open` seeds are sealed under.
pub const SEED_KEY: DataKey = DataKey([0x42; 32]);

/// The README's worked profile: a HubSpot-like API with a field mapping, so
/// that the mapper's transforms (ISO dates, decimals, enums) are fuzzed too.
pub const FIELD_MAPPED_PROFILE: &str = r#"{
  "name": "hubspot-companies",
  "base_path": "/crm/v3/objects/companies",
  "auth": {"style": "bearer"},
  "paging": {"style": "cursor", "items": "/results", "limit_param": "limit", "page_size": 100,
             "next": "/paging/next/after", "cursor_param": "after",
             "params": [["properties", "name,phone,city,hs_lastmodifieddate,amount,lifecyclestage"]]},
  "deletion": {"style": "none"},
  "conflict": {"style": "none"},
  "writes": {"update": "PATCH", "body": "merge_patch"},
  "mapping": {"fields": [
    {"field": "id",           "from": "/id"},
    {"field": "company",      "from": "/properties/name"},
    {"field": "phone",        "from": "/properties/phone"},
    {"field": "address.city", "from": "/properties/city"},
    {"field": "updated_at",   "from": "/updatedAt", "as": "iso8601"},
    {"field": "deal_value",   "from": "/properties/amount", "as": "decimal", "digits": 2},
    {"field": "next_visit",   "from": "/properties/next", "as": "unix_ms"},
    {"field": "tags",         "from": "/properties/tags", "as": "list"},
    {"field": "version",      "from": "/etag", "as": "etag"},
    {"field": "custom.score", "from": "/properties/score", "as": "decimal", "digits": 1},
    {"field": "stage",        "from": "/properties/lifecyclestage", "as": "enum",
     "values": {"lead": "prospect", "opportunity": "negotiation", "customer": "won"}}
  ]},
  "entities": {
    "contacts": {"path": "/crm/v3/objects/contacts",
      "account": "/associations/companies/results/0/id",
      "fields": [{"field": "name", "from": "/properties/fullname"},
                 {"field": "updated_at", "from": "/updatedAt", "as": "iso8601"}]},
    "deals": {"path": "/crm/v3/objects/deals", "account": "/company",
      "fields": [{"field": "value", "from": "/amount", "as": "decimal", "digits": 2},
                 {"field": "close_date", "from": "/closedate", "as": "unix_ms"}]},
    "activities": {"path": "/tasks", "account": "/WhatId",
      "fields": [{"field": "kind", "from": "/type", "as": "enum", "values": {"Call": "call"}},
                 {"field": "at", "from": "/date", "as": "iso8601"}]},
    "price_lists": {"path": "/prices"}
  }
}"#;

const NOW: i64 = 1_790_000_000;

fn config() -> StoreConfig {
    StoreConfig {
        block_bytes: 8 * 1024,
        ..StoreConfig::default()
    }
}

/// The records and outbox of a store, for comparing two stores.
fn contents(s: &Store) -> (BTreeMap<String, Account>, Vec<Edit>) {
    (
        s.iter().map(|a| (a.id.clone(), a)).collect(),
        s.outbox().to_vec(),
    )
}

/// A snapshot that opens is a whole store: within its budget, its records'
/// cards (read from part of their block) agree with the records, and it
/// saves and reopens to the same records and outbox.
pub fn snapshot_open(data: &[u8]) {
    let budget = Budget::parse("4MiB").unwrap();
    let Ok((store, _)) = Store::open(Some(data), None, budget, config()) else {
        return;
    };
    assert!(store.used_bytes() <= budget.bytes());
    for a in store.iter() {
        let local = store
            .local_id(&a.id)
            .expect("an iterated record has a local id");
        assert_eq!(store.card_local(local), Some(Card::of(&a)));
    }
    let again = store.snapshot();
    let (reopened, _) = Store::open(Some(&again), None, budget, config())
        .expect("a store that opened saves a snapshot that opens");
    assert_eq!(contents(&reopened), contents(&store));
}

/// A journal is read whole or refused; replay stays in the budget, alone
/// and on top of the golden snapshot.
pub fn journal_replay(data: &[u8]) {
    let budget = Budget::parse("4MiB").unwrap();
    if let Ok(read) = read_journal(data, 0) {
        // Contiguous sequence numbers from 1, as the invariant says.
        for (i, (seq, _)) in read.ops.iter().enumerate() {
            assert_eq!(*seq, i as u64 + 1);
        }
    }
    // Opening the golden snapshot inflates every block: do it only for a
    // journal that reads after the snapshot's last change (open reads it
    // with exactly that `after_seq`, so nothing is skipped that would open).
    static GOLDEN_SEQ: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let golden_seq = *GOLDEN_SEQ.get_or_init(|| {
        let (s, _) = Store::open(Some(GOLDEN_SNAPSHOT), None, budget, config())
            .expect("the golden snapshot opens");
        s.seq()
    });
    let on_golden = read_journal(data, golden_seq).is_ok();
    for base in [None, on_golden.then_some(GOLDEN_SNAPSHOT)] {
        if let Ok((store, _)) = Store::open(base, Some(data), budget, config()) {
            assert!(store.used_bytes() <= budget.bytes());
            let (reopened, _) = Store::open(Some(&store.snapshot()), None, budget, config())
                .expect("a replayed store saves a snapshot that opens");
            assert_eq!(contents(&reopened), contents(&store));
        }
    }
}

/// A sealed blob opens to exactly what was sealed or not at all; a wrapped
/// key with hostile parameters is refused before the KDF allocates.
pub fn seal_open(data: &[u8]) {
    for kind in [Kind::Snapshot, Kind::Journal, Kind::Secret] {
        if let Ok(plain) = seal::open(&SEED_KEY, kind, data) {
            // Only a blob sealed under the key opens: sealing its plain text
            // again with the same nonce gives the same bytes.
            let mut nonce = [0u8; seal::NONCE_LEN];
            nonce.copy_from_slice(&data[6..6 + seal::NONCE_LEN]);
            assert_eq!(seal::seal(&SEED_KEY, kind, &nonce, &plain), data);
        }
    }
    if let Ok(p) = seal::wrap_params(data) {
        assert!(p.memory_kib <= 256 * 1024 && p.passes <= 64 && p.lanes <= 16);
        // Run the KDF only when it is cheap, so the fuzzer stays fast.
        if p.memory_kib <= 64 && p.passes <= 2 && p.lanes <= 2 {
            let _ = seal::unwrap_with_pin(data, b"1234");
        }
    }
}

/// A profile parses whole or names the field; one that parses is usable:
/// a session built on it asks for a first page without panicking.
pub fn profile_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::from_json(text) else {
        return;
    };
    assert!(profile.check().is_ok());
    // The hand-written reader accepts nothing serde's derive (kept on the
    // types as the reference) refuses of the same tree, and reads what it
    // reads. (The tree keeps the last of a repeated member.)
    let tree: serde_json::Value = serde_json::from_str(text).expect("parsed once already");
    let by_serde: Profile = serde_json::from_value(tree).expect("the derive refuses it");
    assert_eq!(profile, by_serde);
    let mut store = Store::new(Budget::parse("256KiB").unwrap());
    let ctx = RankContext {
        now: NOW,
        me: "rep-0001".into(),
        territories: vec!["SE-N-01".into()],
    };
    let mut session = SyncSession::new(
        profile,
        SyncConfig::new("http://127.0.0.1:9", "t", "d", ctx),
        SyncState::default(),
        &store,
    );
    let _ = session.poll(&mut store);
}

fn response_profile(selector: u8) -> Profile {
    match selector % 3 {
        0 => builtin("reference").unwrap(),
        1 => builtin("json-server").unwrap(),
        _ => Profile::from_json(FIELD_MAPPED_PROFILE).unwrap(),
    }
}

/// A session's settings for the response targets: pull only, two tries.
fn pull_only() -> SyncConfig {
    let ctx = RankContext {
        now: NOW,
        me: "rep-0001".into(),
        territories: vec![],
    };
    let mut cfg = SyncConfig::new("http://127.0.0.1:9", "t", "d", ctx);
    cfg.push = false;
    cfg.max_attempts = 2;
    cfg
}

/// A response body (after a profile selector byte) is mapped item by item,
/// then handed to a session as the answer to its first page request: a page
/// is applied whole or not at all, and the store stays in its budget. With
/// bit 0x40 of the selector the body answers a related feed instead
/// (contacts, deals, activities or price lists, by bits 0x30).
pub fn response_map(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector & 0x40 != 0 {
        return related_map(selector, body);
    }
    let profile = response_profile(selector);
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(items) = v.pointer(&profile.paging.items).and_then(Value::as_array) {
            for it in items {
                let _ = mapping::read_item(&profile.mapping, &profile.deletion, it);
            }
        }
    }
    let budget = Budget::parse("512KiB").unwrap();
    let mut store = Store::with_config(budget, config());
    let cfg = pull_only();
    let mut session = SyncSession::new(profile, cfg, SyncState::default(), &store);
    let Action::Send(_) = session.poll(&mut store) else {
        panic!("a pull-only session starts with a page request");
    };
    let total = if selector & 0x80 != 0 {
        vec![("X-Total-Count".to_string(), "12".to_string())]
    } else {
        Vec::new()
    };
    session.handle_response(
        &mut store,
        HttpResponse {
            status: 200,
            headers: total,
            body: body.to_vec(),
        },
    );
    assert!(store.used_bytes() <= budget.bytes());
    if session.progress().pages == 0 {
        assert!(
            store.is_empty(),
            "a page that was not applied changed the store"
        );
    }
    let _ = session.poll(&mut store);
}

/// The related-feed half of [`response_map`]: the store holds accounts `A1`
/// and `A2`; the accounts feed and the related feeds before the chosen one
/// answer empty pages, the chosen one answers `body`.
fn related_map(selector: u8, body: &[u8]) {
    let (profile, empty) = if selector & 1 == 0 {
        (
            builtin("reference").unwrap(),
            r#"{"items": [], "next": null, "watermark": {"since": 1, "after_seq": 1}}"#,
        )
    } else {
        (
            Profile::from_json(FIELD_MAPPED_PROFILE).unwrap(),
            r#"{"results": []}"#,
        )
    };
    let budget = Budget::parse("512KiB").unwrap();
    let mut store = Store::with_config(budget, config());
    for id in ["A1", "A2"] {
        let a = Account {
            id: id.into(),
            name: format!("Customer {id}"),
            territory: "SE-N-03".into(),
            ..Account::default()
        };
        store.upsert(a).expect("two small accounts fit");
    }
    let cfg = pull_only();
    let related = [
        profile.entities.contacts.is_some(),
        profile.entities.deals.is_some(),
        profile.entities.activities.is_some(),
        profile.entities.price_lists.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let chosen = usize::from((selector >> 4) & 3) % related;
    let mut session = SyncSession::new(profile, cfg, SyncState::default(), &store);
    let answer = |b: &[u8]| HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: b.to_vec(),
    };
    // The accounts feed, then the related feeds before the chosen one.
    for _ in 0..=chosen {
        let Action::Send(_) = session.poll(&mut store) else {
            panic!("the session asks for every feed in turn");
        };
        session.handle_response(&mut store, answer(empty.as_bytes()));
    }
    let Action::Send(_) = session.poll(&mut store) else {
        panic!("the chosen related feed is asked for");
    };
    let seen = |st: &Store| {
        let mut accounts: Vec<Account> = st.iter().collect();
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        let lists: Vec<_> = st.price_lists().cloned().collect();
        (accounts, lists)
    };
    let before = seen(&store);
    let pages = session.progress().pages;
    session.handle_response(&mut store, answer(body));
    assert!(store.used_bytes() <= budget.bytes());
    if session.progress().pages == pages {
        assert!(
            seen(&store) == before,
            "a related page that was not applied changed the store"
        );
    }
    let _ = session.poll(&mut store);
}

/// Bytes read front to back; zeros once they run out.
struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn more(&self) -> bool {
        self.at < self.data.len()
    }
    fn text(&mut self, max: usize) -> String {
        let n = usize::from(self.byte()) % (max + 1);
        (0..n)
            .map(|_| match self.byte() {
                b @ b'a'..=b'z' => b as char,
                0xc0..=0xcf => 'ö',
                0xd0..=0xdf => '华',
                b => char::from(b'a' + b % 26),
            })
            .collect()
    }
    fn id(&mut self) -> String {
        format!("acc-{:02}", self.byte() % 24)
    }
}

fn account(input: &mut Input<'_>) -> Account {
    let id = input.id();
    let big = usize::from(input.byte()) * 24;
    let activities = (0..input.byte() % 4)
        .map(|i| Activity {
            kind: ActivityKind::ALL[usize::from(i) % 6],
            at: NOW - i64::from(i) * 86_400,
            by: "rep-0001".into(),
            text: "x".repeat(big / 4),
        })
        .collect();
    Account {
        name: input.text(12),
        company: input.text(12),
        owner: if input.byte() & 1 == 0 {
            "rep-0001".into()
        } else {
            "rep-0002".into()
        },
        stage: ["prospect", "negotiation", "won"][usize::from(input.byte() % 3)].into(),
        deal_value: i64::from(input.byte()) * 1000,
        next_visit: Some(NOW + i64::from(input.byte()) * 3600),
        updated_at: NOW,
        version: u64::from(input.byte()),
        tags: vec![input.text(6)],
        activities,
        id,
        ..Account::default()
    }
}

fn patch(input: &mut Input<'_>) -> Patch {
    let mut p = Patch::default();
    match input.byte() % 5 {
        0 => p.set.push(Change::Phone(input.text(16))),
        1 => p.set.push(Change::Stage("won".into())),
        2 => p.set.push(Change::DealValue(i64::from(input.byte()) * 7)),
        3 => p.log.push(Activity {
            kind: ActivityKind::Visit,
            at: NOW,
            by: "rep-0001".into(),
            text: "y".repeat(usize::from(input.byte()) * 8),
        }),
        _ => p.delete = true,
    }
    p
}

/// The app's durable copy: the last snapshot and the journal after it.
struct Durable {
    snapshot: Option<Vec<u8>>,
    journal: Vec<u8>,
}

/// Arbitrary operations against a model: after every one the store is in
/// its budget, holds exactly the model's records and outbox, and reopening
/// from the durable copy (snapshot + journal) gives the same store. Nothing
/// confirmed is lost: a record's only way out is a delete, an eviction of a
/// clean record by `retain`, or an edit that deletes it; an outbox edit's only
/// way out is its ack.
pub fn store_ops(data: &[u8]) {
    let mut input = Input { data, at: 0 };
    let budget = Budget::new([24 * 1024, 96 * 1024, 512 * 1024][usize::from(input.byte() % 3)]);
    let mut store = Store::with_config(budget, config());
    let mut records: BTreeMap<String, Account> = BTreeMap::new();
    let mut outbox: Vec<Edit> = Vec::new();
    let mut durable = Durable {
        snapshot: None,
        journal: journal_header().to_vec(),
    };
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "mine", "weight": 100, "when": {"owner_is_me": true}},
                      {"name": "won", "weight": 10, "when": {"stage_in": ["won"]}}]}"#,
    )
    .unwrap();
    let ctx = RankContext {
        now: NOW,
        me: "rep-0001".into(),
        territories: vec![],
    };
    let mut ops = 0;
    while input.more() && ops < 32 {
        ops += 1;
        let op = input.byte() % 10;
        let mut touched = None;
        // Whether the op may have moved many records (retain, compact, a
        // reopen): then the whole store is checked against the model.
        let mut moved_many = matches!(op, 6 | 8);
        match op {
            0..=2 => {
                let a = account(&mut input);
                touched = Some(a.id.clone());
                if store.upsert(a.clone()).is_ok() {
                    records.insert(a.id.clone(), a);
                }
            }
            3 => {
                let id = input.id();
                touched = Some(id.clone());
                if store.delete(&id) == Ok(true) {
                    records.remove(&id);
                }
            }
            4 => {
                let id = input.id();
                let p = patch(&mut input);
                touched = Some(id.clone());
                if let Ok(seq) = store.edit(&id, p, NOW) {
                    let e = store.outbox().last().expect("an edit is queued").clone();
                    assert_eq!(e.seq, seq);
                    outbox.push(e);
                    match store.get(&id) {
                        Some(a) => records.insert(id, a),
                        None => records.remove(&id),
                    };
                }
            }
            5 if !outbox.is_empty() => {
                let i = usize::from(input.byte()) % outbox.len();
                let seq = outbox[i].seq;
                if let Ok(Some(e)) = store.ack(seq) {
                    assert_eq!(e, outbox.remove(i));
                }
            }
            6 => {
                let target = match input.byte() % 3 {
                    0 => None,
                    n => Some(budget.bytes() / (usize::from(n) * 4)),
                };
                if store.retain(&rules, &ctx, 20, target).is_ok() {
                    records.retain(|id, _| {
                        let kept = store.contains(id);
                        assert!(
                            kept || !outbox.iter().any(|e| &e.id == id),
                            "retain evicted {id}, which has a pending edit"
                        );
                        kept
                    });
                }
            }
            7 => {
                let id = input.id();
                let _ = store.pin(&id);
            }
            8 => {
                store.compact();
            }
            _ => {
                if input.byte() & 1 == 0 {
                    durable.snapshot = Some(store.snapshot());
                    let _ = store.take_journal();
                    durable.journal = journal_header().to_vec();
                } else {
                    durable.journal.extend(store.take_journal());
                    let (reopened, report) = Store::open(
                        durable.snapshot.as_deref(),
                        Some(&durable.journal),
                        budget,
                        config(),
                    )
                    .expect("a store reopens from its own snapshot and journal");
                    assert_eq!(report.torn_tail_bytes, 0);
                    // Checked whole against the model below (not against
                    // the old store as well: one inflation of every block
                    // instead of three, and the model is the reference).
                    store = reopened;
                    moved_many = true;
                }
            }
        }
        // What the app does after every change: append it to the journal.
        durable.journal.extend(store.take_journal());
        assert!(
            store.used_bytes() <= budget.bytes(),
            "used {} of {}",
            store.used_bytes(),
            budget.bytes()
        );
        assert_eq!(
            store.outbox(),
            &outbox[..],
            "the outbox is what was confirmed"
        );
        assert_eq!(store.len(), records.len());
        // The whole store after the operations that move many records (and
        // at the end); the one record touched after the others (inflating
        // every block after every step would halve the executions).
        if moved_many || !input.more() || ops == 32 {
            let held: BTreeMap<String, Account> = store.iter().map(|a| (a.id.clone(), a)).collect();
            assert_eq!(held, records, "the store holds exactly the model's records");
        } else if let Some(id) = touched {
            assert_eq!(store.get(&id).as_ref(), records.get(&id), "record {id}");
        }
    }
}

/// Accounts for seed inputs (`src/seeds.rs`): canonical, with activities.
pub fn sample_accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| {
            let bytes: Vec<u8> = (0..64).map(|k| (i * 31 + k * 7) as u8).collect();
            account(&mut Input {
                data: &bytes,
                at: 0,
            })
        })
        .map(|mut a| {
            a.id = format!("0015g{:013}", a.id.len() * 1000 + a.deal_value as usize);
            a
        })
        .collect()
}
