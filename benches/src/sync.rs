//! Sync: a first sync of an org from the reference backend into a store
//! capped at a budget, under a rep's rule set (pushdown filters the feeds,
//! `retain` plans when the store is full).
//!
//! The backend runs in a child process (this binary's hidden `sync-backend`
//! command), so the peak memory read from `/proc/self/status` (`VmHWM`) is
//! the device side only; the child's own peak is read from its
//! `/proc/<pid>/status` before it is stopped. The child is killed when the
//! run ends or panics (`Backend::drop`). The budget is checked after every
//! page: the run panics if `used_bytes()` ever exceeds it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use satchel::transport::send;
use satchel_core::budget::Budget;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::builtin;
use satchel_core::sync::{Action, SyncConfig, SyncSession, SyncState};
use satchel_fixtures::serve::{serve, ServeConfig, DEFAULT_TOKEN};
use satchel_fixtures::OrgSpec;

use crate::samples::Samples;

/// The child side: serves the org on a free port of 127.0.0.1, prints its
/// URL on stdout, and stops when its stdin closes (its parent is gone).
pub fn backend(accounts: u64, seed: u64, db: Option<PathBuf>) {
    let mut c = ServeConfig::new(accounts, seed);
    c.db = db;
    c.workers = 2;
    let server = serve(c).unwrap_or_else(|e| {
        eprintln!("sync-backend: {e}");
        std::process::exit(1)
    });
    let f = server.fill_report();
    println!(
        "{} {} {:.2}",
        server.url(),
        f.reused,
        f.elapsed.as_secs_f64()
    );
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    server.shutdown();
}

/// The backend child process; killed and reaped when dropped.
struct Backend {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    url: String,
    fill: String,
}

impl Backend {
    fn start(accounts: u64, seed: u64, db: Option<&Path>) -> Backend {
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "sync-backend",
            "--accounts",
            &accounts.to_string(),
            "--seed",
            &seed.to_string(),
        ]);
        if let Some(db) = db {
            cmd.arg("--db").arg(db);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the backend child starts");
        // Filling a million accounts takes ~30 s; the line comes after. Read
        // it on a thread so a backend that hangs fails the run in bounded time.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            out.read_line(&mut line).unwrap_or(0);
            let _ = tx.send(line);
            out
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(900)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the backend printed no URL in 15 minutes");
        };
        let out = reader.join().expect("the reader thread");
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap_or_default().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            panic!("the backend did not start (printed {line:?})");
        }
        let fill = match (parts.next(), parts.next()) {
            (Some("true"), _) => "reused".into(),
            (_, Some(secs)) => format!("filled in {secs} s"),
            _ => String::new(),
        };
        Backend {
            child,
            _stdout: out,
            url,
            fill,
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmHWM` (peak resident set) of a process, in bytes.
fn vm_hwm(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

/// One first sync into a fresh store capped at `budget`.
struct Row {
    budget: Budget,
    received: u64,
    pages: u64,
    bytes: u64,
    secs: f64,
    in_transport: f64,
    in_session: f64,
    kept: usize,
    stubs: usize,
    planned: u64,
    skipped: u64,
    peak: usize,
    responses: u64,
    feeds: usize,
    device_hwm: u64,
}

fn sync_once(url: &str, budget: Budget, rules: &RankRules, ctx: RankContext) -> Row {
    let mut cfg = SyncConfig::new(url, DEFAULT_TOKEN, "bench-device", ctx);
    cfg.rules = Some(rules.clone());
    let mut store = Store::with_config(
        budget,
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    );
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build();
    let mut session = SyncSession::new(
        builtin("reference").unwrap(),
        cfg,
        SyncState::default(),
        &store,
    );
    let feeds = session.state().feeds.len();
    let (mut peak, mut responses) = (0usize, 0u64);
    // Where the time goes: waiting for the backend vs the device's work
    // (parse, map, filter, write into the store, plan).
    let (mut in_transport, mut in_session) = (Duration::ZERO, Duration::ZERO);
    let t = Instant::now();
    let report = loop {
        match session.poll(&mut store) {
            Action::Send(req) => {
                let t0 = Instant::now();
                let got = send(&agent, &req, 32 << 20);
                let t1 = Instant::now();
                match got {
                    Ok(resp) => session.handle_response(&mut store, resp),
                    Err(e) => session.handle_transport_error(&e),
                }
                in_transport += t1 - t0;
                in_session += t1.elapsed();
                responses += 1;
                // The invariant under measurement: after every page.
                let used = store.used_bytes();
                assert!(
                    used <= budget.bytes(),
                    "budget broken after response {responses}: {used} > {}",
                    budget.bytes()
                );
                peak = peak.max(used);
            }
            Action::Wait { millis } => std::thread::sleep(Duration::from_millis(millis)),
            Action::Done(r) => break r,
            other => panic!("sync stopped: {other:?}"),
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let p = session.progress();
    Row {
        budget,
        received: p.records_done,
        pages: p.pages,
        bytes: p.bytes_done,
        secs,
        in_transport: in_transport.as_secs_f64(),
        in_session: in_session.as_secs_f64(),
        kept: store.len(),
        stubs: store.stubs().count(),
        planned: report.retained,
        skipped: report.skipped,
        peak,
        responses,
        feeds,
        device_hwm: vm_hwm("self").unwrap_or(0),
    }
}

/// Syncs the org once per budget (smallest first, so each row's VmHWM,
/// the process's peak so far, is that run's own peak as long as a larger
/// budget does not use less memory), against one backend child.
pub fn run(
    n: u64,
    seed: u64,
    budgets: &[Budget],
    rules_path: &str,
    me: &str,
    db: Option<PathBuf>,
    out: &mut Samples,
) -> String {
    let text = std::fs::read_to_string(rules_path).unwrap_or_else(|e| panic!("{rules_path}: {e}"));
    let rules = RankRules::from_json(&text).unwrap_or_else(|e| panic!("{rules_path}: {e}"));
    let spec = OrgSpec::new(n, seed);
    let territories = satchel_fixtures::reps(&spec)
        .into_iter()
        .find(|r| r.id == me)
        .map(|r| r.territories)
        .unwrap_or_default();
    let mut budgets = budgets.to_vec();
    budgets.sort_by_key(|b| b.bytes());
    let before = vm_hwm("self").unwrap_or(0);
    let backend = Backend::start(n, seed, db.as_deref());
    let ctx = RankContext {
        now: spec.now,
        me: me.into(),
        territories: territories.clone(),
    };
    let rows: Vec<Row> = budgets
        .iter()
        .map(|b| sync_once(&backend.url, *b, &rules, ctx.clone()))
        .collect();
    let backend_hwm = vm_hwm(&backend.child.id().to_string()).unwrap_or(0);
    let fill = backend.fill.clone();
    drop(backend);
    for r in &rows {
        let stat = format!("{} MiB budget", r.budget.bytes() >> 20);
        out.push("sync", "Satchel", &stat, n, r.secs);
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Org of {n} accounts (seed {seed}), rep `{me}` (territories {}), rules `{rules_path}`, \
         reference backend in a child process over 127.0.0.1 ({fill}, peak {:.1} MiB \
         resident); {} feed(s) from the rules' pushdown. One first sync per budget, \
         each into a fresh store.\n",
        territories.join(", "),
        mib(backend_hwm),
        rows.first().map_or(0, |r| r.feeds),
    );
    let _ = writeln!(
        md,
        "| budget | records received | pages | wall time | of which backend + HTTP | of which device | records/s | MB/s | accounts kept | stubs | planned | skipped | peak used | device VmHWM |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} MiB | {} | {} | {:.1} s | {:.1} s | {:.1} s | {:.0} | {:.1} | **{}** | {} | {} | {} | {:.1} MiB ({:.1}%) | {:.1} MiB |",
            r.budget.bytes() >> 20,
            r.received,
            r.pages,
            r.secs,
            r.in_transport,
            r.in_session,
            r.received as f64 / r.secs,
            r.bytes as f64 / 1e6 / r.secs,
            r.kept,
            r.stubs,
            r.planned,
            r.skipped,
            mib(r.peak as u64),
            100.0 * r.peak as f64 / r.budget.bytes() as f64,
            mib(r.device_hwm),
        );
    }
    let responses: u64 = rows.iter().map(|r| r.responses).sum();
    let _ = writeln!(
        md,
        "\nRecords received count a record once per feed that carries it (the feeds \
         overlap); accounts kept are distinct. Planned: times the store was full and \
         `retain` made room; skipped: records that did not make the cut. \
         `used_bytes()` was checked after each of the {responses} responses and never \
         exceeded the budget. Device VmHWM is this process's peak resident set (it was \
         {:.1} MiB before the first sync); the backend's SQLite and page cache are in the \
         child's figure.",
        mib(before)
    );
    md
}
