//! Crash consistency: the device's storage loses power after any write.
//!
//! The store is kept the way the CLI keeps it (`persist::Durable`: snapshot
//! file + journal appends, tmp-and-rename replacements) on a medium that
//! models a flash file system: every `write`, `append`, `rename` and
//! `remove` is numbered, and at a seeded one the power goes. That write is
//! lost, torn at a random byte (a rename or a remove is atomic: lost or
//! kept), or kept but never reported as done; every call after fails. The
//! device then boots: `Durable::open` on what the medium kept.
//!
//! A run boots the device several times, doing random work between cuts:
//! upserts and batches, deletes, the rep's edits (outbox), acks, `retain`
//! evicting records, compaction, checkpoints, and sync sessions applying a
//! pulled page and pushing an edit (the real `SyncSession`, answered in
//! process). After each boot:
//! - the store opens (a failed open is counted);
//! - every edit that was confirmed to the rep (its commit returned) and not
//!   acknowledged is in the outbox, byte for byte (a missing one is *lost*);
//!   nothing is in the outbox that was never queued;
//! - every record is as the last confirmed state has it, or as the step that
//!   was cut left it (each record whole: old or new).
//!
//! Two control runs show the harness fails when the medium breaks the
//! protocol's assumptions: a rename that is not atomic gives failed opens,
//! and an fsync that lies (an append reported durable before it is) loses
//! confirmed edits.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::OnceLock;

use satchel_core::budget::Budget;
use satchel_core::model::{Account, Activity, ActivityKind};
use satchel_core::outbox::{Change, Edit, Patch};
use satchel_core::persist::{Durable, Medium, MediumError, PersistError};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::builtin;
use satchel_core::sync::{Action, HttpResponse, SyncConfig, SyncSession, SyncState};
use satchel_fixtures::OrgSpec;

const NOW: i64 = 1_790_000_000;
const RUNS: u64 = 1_000;
const BOOTS: usize = 3;

/// xorshift64*: the runs are reproducible from their seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CutMode {
    Lose,
    Tear,
    Keep,
}

/// How the medium breaks the protocol's assumptions (for the control runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    /// `rename` copies into place, so a cut can tear the target.
    RenameNotAtomic,
    /// `append` returns before the bytes are durable: a cut loses the last
    /// append even though it was reported done.
    LyingFsync,
}

type Files = Rc<RefCell<BTreeMap<String, Vec<u8>>>>;

/// A medium whose power goes at write number `cut_at`.
struct PowerCutMedium {
    files: Files,
    writes: u64,
    cut_at: u64,
    mode: CutMode,
    rng: Rng,
    off: bool,
    flaw: Flaw,
    /// `LyingFsync`: the last append, reported done but not yet durable.
    unsynced: Option<(String, usize)>,
}

fn power_off() -> MediumError {
    MediumError("power cut".into())
}

impl PowerCutMedium {
    /// Counts a write; `Some(mode)` when the power goes during this one.
    fn tick(&mut self) -> Result<Option<CutMode>, MediumError> {
        if self.off {
            return Err(power_off());
        }
        self.writes += 1;
        if self.writes == self.cut_at {
            self.off = true;
            if let Some((name, len)) = self.unsynced.take() {
                // The lie comes out: the reported append never reached flash.
                if let Some(f) = self.files.borrow_mut().get_mut(&name) {
                    f.truncate(len);
                }
            }
            return Ok(Some(self.mode));
        }
        self.unsynced = None;
        Ok(None)
    }

    fn torn<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[..self.rng.below(bytes.len() as u64) as usize]
    }
}

impl Medium for PowerCutMedium {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, MediumError> {
        if self.off {
            return Err(power_off());
        }
        Ok(self.files.borrow().get(name).cloned())
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError> {
        let kept: &[u8] = match self.tick()? {
            None => {
                self.files.borrow_mut().insert(name.into(), bytes.to_vec());
                return Ok(());
            }
            Some(CutMode::Lose) => return Err(power_off()),
            Some(CutMode::Tear) => self.torn(bytes),
            Some(CutMode::Keep) => bytes,
        };
        self.files.borrow_mut().insert(name.into(), kept.to_vec());
        Err(power_off())
    }

    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError> {
        let cut = self.tick()?;
        let before = self.files.borrow().get(name).map_or(0, Vec::len);
        let kept: &[u8] = match cut {
            None => bytes,
            Some(CutMode::Lose) => return Err(power_off()),
            Some(CutMode::Tear) => self.torn(bytes),
            Some(CutMode::Keep) => bytes,
        };
        self.files
            .borrow_mut()
            .entry(name.into())
            .or_default()
            .extend_from_slice(kept);
        if cut.is_some() {
            return Err(power_off());
        }
        if self.flaw == Flaw::LyingFsync {
            self.unsynced = Some((name.into(), before));
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), MediumError> {
        let cut = self.tick()?;
        let done = match cut {
            None | Some(CutMode::Keep) => true,
            Some(CutMode::Lose) => false,
            // Atomic: a torn rename happened or did not.
            Some(CutMode::Tear) if self.flaw != Flaw::RenameNotAtomic => self.rng.below(2) == 0,
            Some(CutMode::Tear) => {
                // Copied into place, cut halfway.
                let bytes = self.files.borrow().get(from).cloned().unwrap_or_default();
                let kept = self.torn(&bytes).to_vec();
                self.files.borrow_mut().insert(to.into(), kept);
                return Err(power_off());
            }
        };
        if done {
            let mut files = self.files.borrow_mut();
            if let Some(bytes) = files.remove(from) {
                files.insert(to.into(), bytes);
            }
        }
        match cut {
            None => Ok(()),
            Some(_) => Err(power_off()),
        }
    }

    fn remove(&mut self, name: &str) -> Result<(), MediumError> {
        let cut = self.tick()?;
        if cut != Some(CutMode::Lose) {
            self.files.borrow_mut().remove(name);
        }
        match cut {
            None => Ok(()),
            Some(_) => Err(power_off()),
        }
    }
}

/// What the rep can see: records and the outbox.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    records: BTreeMap<String, Account>,
    outbox: Vec<Edit>,
}

fn seen(s: &Store) -> Seen {
    Seen {
        records: s.iter().map(|a| (a.id.clone(), a)).collect(),
        outbox: s.outbox().to_vec(),
    }
}

#[derive(Debug, Default)]
struct Figures {
    runs: u64,
    boots: u64,
    cuts: u64,
    cuts_by_mode: [u64; 3],
    cuts_in_recovery: u64,
    steps: u64,
    confirmed_edits: u64,
    lost_edits: u64,
    phantom_edits: u64,
    torn_records: u64,
    failed_opens: u64,
    torn_tails_cut: u64,
}

fn pool() -> &'static [Account] {
    static POOL: OnceLock<Vec<Account>> = OnceLock::new();
    POOL.get_or_init(|| satchel_fixtures::accounts(&OrgSpec::new(300, 7)).collect())
}

fn rules() -> &'static RankRules {
    static RULES: OnceLock<RankRules> = OnceLock::new();
    RULES.get_or_init(|| {
        RankRules::from_json(
            r#"{"rules": [{"name": "mine", "weight": 100, "when": {"owner_is_me": true}},
                          {"name": "big", "weight": 10, "when": {"deal_value_above": 100000}}]}"#,
        )
        .unwrap()
    })
}

fn ctx() -> RankContext {
    RankContext {
        now: NOW,
        me: pool()[0].owner.clone(),
        territories: vec![],
    }
}

/// A pool account, changed a little so that an upsert is a real change.
fn fresh(rng: &mut Rng) -> Account {
    let mut a = pool()[rng.below(pool().len() as u64) as usize].clone();
    a.version += 1 + rng.below(5);
    a.updated_at = NOW + rng.below(86_400) as i64;
    a.deal_value = rng.below(1_000_000) as i64;
    a
}

fn pick_id(rng: &mut Rng, s: &Seen) -> Option<String> {
    let n = s.records.len() as u64;
    (n > 0).then(|| s.records.keys().nth(rng.below(n) as usize).unwrap().clone())
}

fn patch(rng: &mut Rng) -> Patch {
    let mut p = Patch::default();
    match rng.below(6) {
        0 => p
            .set
            .push(Change::Phone(format!("+46 8 {}", rng.below(1_000_000)))),
        1 => p.set.push(Change::Stage("won".into())),
        2 => p.set.push(Change::DealValue(rng.below(900_000) as i64)),
        3 | 4 => p.log.push(Activity {
            kind: ActivityKind::Visit,
            at: NOW,
            by: "rep-0001".into(),
            text: "besök, offert skickad ".repeat(1 + rng.below(8) as usize),
        }),
        _ => p.delete = true,
    }
    p
}

/// One account per id: a step writes each record at most once, so that
/// "old or new" is the whole set of states a record may recover to.
fn distinct(accounts: Vec<Account>) -> Vec<Account> {
    let mut seen = BTreeSet::new();
    accounts
        .into_iter()
        .filter(|a| seen.insert(a.id.clone()))
        .collect()
}

/// A sync session answered in process: pull one page (accounts and a
/// tombstone), or push the oldest edit and get a 200.
fn sync_step(store: &mut Store, rng: &mut Rng, push: bool) {
    let mut cfg = SyncConfig::new("http://device.invalid", "t", "d", ctx());
    cfg.push = push;
    cfg.pull = !push;
    cfg.max_attempts = 1;
    let mut session = SyncSession::new(
        builtin("reference").unwrap(),
        cfg,
        SyncState::default(),
        store,
    );
    // Push: one edit (the session would push them all, and two edits of
    // one record would write it twice in a step). Pull: the page, then done.
    for _ in 0..(if push { 1 } else { 2 }) {
        let req = match session.poll(store) {
            Action::Send(req) => req,
            _ => return,
        };
        let body = if push {
            let id = req.url.rsplit('/').next().unwrap_or_default().to_string();
            match store.get(&id) {
                Some(mut a) => {
                    a.version += 1;
                    serde_json::to_vec(&a).unwrap()
                }
                None => br#"{}"#.to_vec(),
            }
        } else {
            let mut items: Vec<serde_json::Value> =
                distinct((0..1 + rng.below(6)).map(|_| fresh(rng)).collect())
                    .iter()
                    .map(|a| serde_json::to_value(a).unwrap())
                    .collect();
            let tomb = store.iter().nth(rng.below(store.len() as u64 + 1) as usize);
            if let Some(a) = tomb.filter(|a| !items.iter().any(|i| i["id"] == a.id.as_str())) {
                items.push(serde_json::json!({"id": a.id, "deleted": true,
                    "updated_at": NOW + 90_000, "version": a.version + 1}));
            }
            serde_json::to_vec(&serde_json::json!({"items": items, "next": null,
                "watermark": {"since": NOW + 90_000, "after_seq": 1}}))
            .unwrap()
        };
        session.handle_response(
            store,
            HttpResponse {
                status: 200,
                headers: vec![],
                body,
            },
        );
    }
}

/// One step of the app's work, then what it does to make it durable
/// (a commit, or a checkpoint). `Err` when the power went.
fn step(
    d: &mut Durable<PowerCutMedium>,
    rng: &mut Rng,
    now_seen: &Seen,
) -> Result<(), PersistError> {
    let store = d.store_mut();
    match rng.below(100) {
        0..=14 => {
            let _ = store.upsert(fresh(rng));
        }
        15..=24 => {
            let batch = distinct((0..2 + rng.below(10)).map(|_| fresh(rng)).collect());
            let _ = store.upsert_batch(batch);
        }
        25..=49 => {
            if let Some(id) = pick_id(rng, now_seen) {
                let _ = store.edit(&id, patch(rng), NOW);
            }
        }
        50..=59 => {
            if let Some(seq) = store.outbox().first().map(|e| e.seq) {
                let _ = store.ack(seq);
            }
        }
        60..=64 => {
            let target = store.used_bytes() / 2;
            let _ = store.retain(rules(), &ctx(), 20, Some(target));
        }
        65..=68 => {
            store.compact();
        }
        69..=73 => {
            if let Some(id) = pick_id(rng, now_seen) {
                let _ = store.delete(&id);
            }
        }
        74..=83 => return d.checkpoint().map(drop),
        84..=91 => sync_step(store, rng, false),
        _ => sync_step(store, rng, true),
    }
    d.commit().map(drop)
}

/// Checks a recovered store against what was confirmed and what was in flight.
fn check(f: &mut Figures, got: &Seen, confirmed: &Seen, inflight: Option<&Seen>, ctx: &str) {
    for e in &confirmed.outbox {
        let acked_in_flight = inflight.is_some_and(|s| !s.outbox.contains(e));
        if !got.outbox.contains(e) && !acked_in_flight {
            f.lost_edits += 1;
            eprintln!("{ctx}: lost confirmed edit {} on {}", e.seq, e.id);
        }
    }
    for e in &got.outbox {
        if !confirmed.outbox.contains(e) && !inflight.is_some_and(|s| s.outbox.contains(e)) {
            f.phantom_edits += 1;
            eprintln!("{ctx}: edit {} was never queued", e.seq);
        }
    }
    let ids: BTreeSet<&String> = got
        .records
        .keys()
        .chain(confirmed.records.keys())
        .chain(inflight.iter().flat_map(|s| s.records.keys()))
        .collect();
    for id in ids {
        let now = got.records.get(id);
        let ok =
            now == confirmed.records.get(id) || inflight.is_some_and(|s| now == s.records.get(id));
        if !ok {
            f.torn_records += 1;
            eprintln!("{ctx}: record {id} is neither the confirmed nor the new version");
            if std::env::var("CRASH_DEBUG").is_ok() {
                eprintln!("  got       {:?}", now);
                eprintln!("  confirmed {:?}", confirmed.records.get(id));
                eprintln!("  inflight  {:?}", inflight.map(|s| s.records.get(id)));
            }
        }
    }
}

fn run(seed: u64, flaw: Flaw, f: &mut Figures) {
    let mut rng = Rng::new(seed);
    let budget = Budget::new([40 << 10, 96 << 10, 256 << 10][rng.below(3) as usize]);
    let config = StoreConfig {
        block_bytes: 8 * 1024,
        ..StoreConfig::default()
    };
    let files: Files = Rc::default();
    let mut confirmed = Seen::default();
    let mut inflight: Option<Seen> = None;
    let mut ever_confirmed: BTreeSet<u64> = BTreeSet::new();
    f.runs += 1;
    for boot in 0..BOOTS {
        f.boots += 1;
        let mode = [CutMode::Lose, CutMode::Tear, CutMode::Keep][rng.below(3) as usize];
        let medium = PowerCutMedium {
            files: files.clone(),
            writes: 0,
            cut_at: 1 + rng.below(40),
            mode,
            rng: Rng::new(rng.next()),
            off: false,
            flaw,
            unsynced: None,
        };
        let ctx = format!("seed {seed} boot {boot}");
        let mut d = match Durable::open(medium, budget, config) {
            Ok((d, report)) => {
                f.torn_tails_cut += u64::from(report.torn_tail_bytes > 0);
                d
            }
            Err(PersistError::Medium(_)) => {
                // The power went again while recovering.
                f.cuts += 1;
                f.cuts_in_recovery += 1;
                f.cuts_by_mode[mode as usize] += 1;
                continue;
            }
            Err(e) => {
                f.failed_opens += 1;
                eprintln!("{ctx}: the store does not open: {e}");
                return;
            }
        };
        let got = seen(d.store());
        check(f, &got, &confirmed, inflight.as_ref(), &ctx);
        // What the device holds now is durable: the new baseline.
        confirmed = got;
        inflight = None;
        for _ in 0..40 {
            f.steps += 1;
            if step(&mut d, &mut rng, &confirmed).is_err() {
                f.cuts += 1;
                f.cuts_by_mode[mode as usize] += 1;
                inflight = Some(seen(d.store()));
                break;
            }
            confirmed = seen(d.store());
            for e in &confirmed.outbox {
                if ever_confirmed.insert(e.seq) {
                    f.confirmed_edits += 1;
                }
            }
        }
        // A boot that did all its steps without a cut ends with the power
        // pulled after its last write: nothing is in flight.
    }
    // The last boot's work is checked by one more open.
    match Durable::open(
        PowerCutMedium {
            files,
            writes: 0,
            cut_at: 0,
            mode: CutMode::Lose,
            rng: Rng::new(seed),
            off: false,
            flaw: Flaw::None,
            unsynced: None,
        },
        budget,
        config,
    ) {
        Ok((d, _)) => check(
            f,
            &seen(d.store()),
            &confirmed,
            inflight.as_ref(),
            &format!("seed {seed} final"),
        ),
        Err(e) => {
            f.failed_opens += 1;
            eprintln!("seed {seed} final: the store does not open: {e}");
        }
    }
}

/// Replays one run to investigate it: `CRASH_SEED=810 CRASH_DEBUG=1 cargo
/// test -p satchel-core --test crash one_seed -- --ignored --nocapture`.
#[test]
#[ignore]
fn one_seed() {
    let seed = std::env::var("CRASH_SEED").unwrap().parse().unwrap();
    let mut f = Figures::default();
    run(seed, Flaw::None, &mut f);
    println!("{f:?}");
}

fn campaign(seeds: std::ops::Range<u64>, flaw: Flaw) -> Figures {
    let mut f = Figures::default();
    for seed in seeds {
        run(seed, flaw, &mut f);
    }
    f
}

#[test]
fn every_confirmed_edit_survives_a_power_cut_at_any_write() {
    let f = campaign(0..RUNS, Flaw::None);
    println!(
        "crash: {} runs, {} boots, {} steps, {} cuts (lost {}, torn {}, kept {}; {} during recovery), \
         {} torn journal tails cut off, {} confirmed edits, lost {}, phantom {}, torn records {}, failed opens {}",
        f.runs,
        f.boots,
        f.steps,
        f.cuts,
        f.cuts_by_mode[0],
        f.cuts_by_mode[1],
        f.cuts_by_mode[2],
        f.cuts_in_recovery,
        f.torn_tails_cut,
        f.confirmed_edits,
        f.lost_edits,
        f.phantom_edits,
        f.torn_records,
        f.failed_opens
    );
    assert_eq!(f.runs, RUNS);
    // The workload must reach what it claims to test.
    assert!(f.cuts >= RUNS * 2, "{f:?}");
    assert!(f.cuts_by_mode.iter().all(|&n| n >= RUNS / 2), "{f:?}");
    assert!(f.confirmed_edits >= RUNS * 5, "{f:?}");
    assert!(f.torn_tails_cut > 0, "{f:?}");
    assert_eq!(f.failed_opens, 0, "{f:?}");
    assert_eq!(f.lost_edits, 0, "{f:?}");
    assert_eq!(f.phantom_edits, 0, "{f:?}");
    assert_eq!(f.torn_records, 0, "{f:?}");
}

#[test]
fn the_harness_catches_a_rename_that_is_not_atomic() {
    let f = campaign(10_000..10_200, Flaw::RenameNotAtomic);
    println!(
        "control, rename not atomic: {} failed opens in {} runs",
        f.failed_opens, f.runs
    );
    assert!(f.failed_opens > 0, "{f:?}");
}

#[test]
fn the_harness_catches_an_fsync_that_lies() {
    let f = campaign(20_000..20_200, Flaw::LyingFsync);
    println!(
        "control, lying fsync: {} confirmed edits lost in {} runs",
        f.lost_edits, f.runs
    );
    assert!(f.lost_edits + f.torn_records > 0, "{f:?}");
}

/// A remote wipe cut at any of its removals leaves files that open (the
/// old store or nothing); the next sync meets the wipe order again.
#[test]
fn a_wipe_cut_halfway_leaves_a_store_that_opens() {
    let budget = Budget::new(256 << 10);
    let config = StoreConfig::default();
    let mut cuts = 0;
    for cut_at in 1..=4 {
        for mode in [CutMode::Lose, CutMode::Keep] {
            let files: Files = Rc::default();
            let medium = |cut_at, mode| PowerCutMedium {
                files: files.clone(),
                writes: 0,
                cut_at,
                mode,
                rng: Rng::new(cut_at),
                off: false,
                flaw: Flaw::None,
                unsynced: None,
            };
            let (mut d, _) = Durable::open(medium(0, mode), budget, config).unwrap();
            d.store_mut().upsert_batch(pool()[..20].to_vec()).unwrap();
            d.checkpoint().unwrap();
            let id = pool()[3].id.clone();
            d.store_mut()
                .edit(&id, patch(&mut Rng::new(1)), NOW)
                .unwrap();
            d.commit().unwrap();
            let (d, _) = Durable::open(medium(cut_at, mode), budget, config).unwrap();
            let held = d.store().len();
            // open wrote nothing (no torn tail): the cut falls on the
            // `cut_at`-th removal of erase.
            if d.erase().is_err() {
                cuts += 1;
            }
            let (d, _) = Durable::open(medium(0, mode), budget, config)
                .expect("a store cut halfway through its wipe opens");
            let n = d.store().len();
            assert!(n == 0 || n == held, "cut at {cut_at} {mode:?}: {n} records");
        }
    }
    assert_eq!(cuts, 8);
}
