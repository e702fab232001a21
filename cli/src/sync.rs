//! `satchel sync`: the native transport. Pumps a core `SyncSession` with a
//! small blocking HTTP client (ureq) and draws a progress bar on stderr.
//! The store is kept through core's `persist` on the store's files
//! (`files`): every response's changes (a page applied, an edit
//! acknowledged) are committed to `STORE.journal` before the next request,
//! and at the end a checkpoint writes the snapshot, then the conflicts
//! ledger (`STORE.conflicts.json`: outbox bases, open conflicts and the
//! rep's choices, which the snapshot format does not carry) and the sync
//! position (`STORE.sync.json`) beside it, each atomically. On a remote wipe
//! it erases the store's files, the ledger and the sync state, and confirms
//! to the backend. Decides nothing: every choice is the session's.
//!
//! The token is taken from `--token` for the run and never written to disk.
//! With `SATCHEL_PIN` set (see `seal`), the store's files, the ledger and
//! the sync position are sealed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use satchel::transport::send;
use satchel_core::budget::Budget;
use satchel_core::conflicts::LedgerState;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::seal::{DataKey, Kind};
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::{builtin, Profile};
use satchel_core::sync::{Action, SyncConfig, SyncSession, SyncState};

use satchel_core::persist::Durable;

use crate::files::StoreFiles;
use crate::import::write_atomically;

/// What `satchel sync` was asked.
pub struct Args {
    pub profile: String,
    pub base_url: String,
    pub token: String,
    pub store: PathBuf,
    pub budget: Budget,
    pub rules: Option<PathBuf>,
    pub me: String,
    pub territories: Vec<String>,
    pub device: String,
    pub now: Option<i64>,
}

fn load_profile(name: &str) -> Result<Profile, String> {
    if let Some(p) = builtin(name) {
        return Ok(p);
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        format!(
            "{name}: not a built-in profile ({}) and not a readable file: {e}",
            satchel_core::sync::profile::BUILTIN.join(", ")
        )
    })?;
    Profile::from_json(&text).map_err(|e| format!("{name}: {e}"))
}

fn beside(store: &Path, suffix: &str) -> PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn state_path(store: &Path) -> PathBuf {
    beside(store, ".sync.json")
}

fn ledger_path(store: &Path) -> PathBuf {
    beside(store, ".conflicts.json")
}

/// The text of a file kept beside the store (opened when sealed); `None`
/// when there is no such file.
fn read_beside(path: &Path, key: Option<&DataKey>) -> Result<Option<String>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let bytes = match key {
        Some(k) => crate::seal::open_records(k, Kind::Secret, &bytes).map_err(|e| {
            format!(
                "{}: {e} (a wrong key, or the file was changed)",
                path.display()
            )
        })?,
        None => bytes,
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{}: not UTF-8", path.display()))
}

/// Writes a file kept beside the store atomically (sealed when there is a key).
fn write_beside(path: &Path, key: Option<&DataKey>, bytes: &[u8]) -> Result<(), String> {
    match key {
        Some(k) => write_atomically(path, &crate::seal::record(k, Kind::Secret, bytes)?),
        None => write_atomically(path, bytes),
    }
}

/// Puts the saved ledger back; a missing file is an empty ledger.
fn restore_ledger(store: &mut Store, path: &Path, key: Option<&DataKey>) -> Result<(), String> {
    let Some(text) = read_beside(path, key)? else {
        return Ok(());
    };
    let fix = "delete it to go on without (open conflicts are raised again on the next push)";
    let saved: LedgerState = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a conflicts ledger ({e}); {fix}", path.display()))?;
    store
        .restore_ledger(saved)
        .map_err(|e| format!("{}: {e}; {fix}", path.display()))?;
    Ok(())
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let profile = load_profile(&a.profile)?;
    let files = StoreFiles::open(&a.store, false)?;
    let key = files.key().cloned();
    let (mut durable, _) = Durable::open(files, a.budget, StoreConfig::default())
        .map_err(|e| format!("{}: {e}", a.store.display()))?;
    let lp = ledger_path(&a.store);
    restore_ledger(durable.store_mut(), &lp, key.as_ref())?;
    let sp = state_path(&a.store);
    let state = match read_beside(&sp, key.as_ref())? {
        Some(t) => SyncState::from_json(&t).map_err(|e| format!("{}: {e}", sp.display()))?,
        None => SyncState::default(),
    };
    let rules = match &a.rules {
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(RankRules::from_json(&t).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let now = a.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let ctx = RankContext {
        now,
        me: a.me.clone(),
        territories: a.territories.clone(),
    };
    let mut cfg = SyncConfig::new(&a.base_url, &a.token, &a.device, ctx);
    cfg.rules = rules;
    let max = cfg.max_body_bytes;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build();
    let started = std::time::Instant::now();
    let mut session = SyncSession::new(profile, cfg, state, durable.store());
    let outcome = loop {
        let store = durable.store_mut();
        match session.poll(store) {
            Action::Send(req) => match send(&agent, &req, max) {
                Ok(resp) => session.handle_response(store, resp),
                Err(e) => session.handle_transport_error(&e),
            },
            Action::Wait { millis } => std::thread::sleep(Duration::from_millis(millis)),
            other => break other,
        }
        // What this response changed is durable before the next request.
        durable
            .commit()
            .map_err(|e| format!("{}: {e}", a.store.display()))?;
        while let Some(ev) = session.poll_event() {
            if let satchel_core::sync::Event::Conflict { seq } = ev {
                eprintln!("\rconflict on outbox edit {seq} (see the store's conflicts)");
            }
        }
        draw(&session, durable.store());
    };
    eprintln!();
    if outcome == Action::Wipe {
        return wipe(durable, &sp, &lp, &session, &agent, max);
    }
    // The store first, then the position: a crash between the two re-reads
    // pages (harmless), never skips them.
    durable.store_mut().compact();
    durable
        .checkpoint()
        .map_err(|e| format!("{}: {e}", a.store.display()))?;
    let ledger = serde_json::to_vec(&durable.store().ledger_state()).map_err(|e| e.to_string())?;
    write_beside(&lp, key.as_ref(), &ledger)?;
    write_beside(&sp, key.as_ref(), session.state().to_json().as_bytes())?;
    let secs = started.elapsed().as_secs_f64();
    let store = durable.store();
    match outcome {
        Action::Done(r) => {
            println!(
                "synced in {secs:.1} s: pushed {} (merged {}), conflicts {}, upserted {}, deleted {}, skipped {}, planned {} times; contacts, deals and price lists: {} written, {} deleted, {} skipped; {} records, {} of {} bytes",
                r.pushed, r.merged, r.conflicts, r.upserted, r.deleted, r.skipped, r.retained,
                r.related_upserted, r.related_deleted, r.related_skipped,
                store.len(), store.used_bytes(), store.budget().bytes()
            );
            Ok(ExitCode::SUCCESS)
        }
        Action::Auth { status, message } => Err(format!(
            "HTTP {status}: {message}; log in again and pass the new --token (pages applied so far are saved)"
        )),
        Action::Failed(e) => Err(format!("{e} (pages applied so far are saved; run sync again to resume)")),
        Action::Send(_) | Action::Wait { .. } | Action::Wipe => {
            unreachable!("the loop only breaks on an end, and a wipe returned above")
        }
    }
}

/// Exit status of a sync that ended in a remote wipe (the store is gone).
pub const WIPED: u8 = 3;

/// The backend ordered this device wiped: nothing more is written; the
/// store's files, the ledger, the sync state and the wrapped key (if
/// sealed) are erased (this CLI keeps no token on disk), then the backend
/// is told.
fn wipe(
    durable: Durable<StoreFiles>,
    state_file: &Path,
    ledger_file: &Path,
    session: &SyncSession,
    agent: &ureq::Agent,
    max: usize,
) -> Result<ExitCode, String> {
    let files = durable
        .erase()
        .map_err(|e| format!("remote wipe: erasing the store failed: {e}"))?;
    // The wrapped key goes too (without it the sealed bytes are noise even
    // where zero-filling did not reach).
    let key_file = crate::seal::key_path(&files.path(satchel_core::persist::SNAPSHOT));
    for file in [state_file, ledger_file, key_file.as_path()] {
        let mut beside = StoreFiles::new(file);
        satchel_core::persist::Medium::remove(&mut beside, satchel_core::persist::SNAPSHOT)
            .map_err(|e| format!("remote wipe: {e}"))?;
    }
    println!(
        "remote wipe: the backend ordered this device wiped; erased {}, {}, {}, {} and the key ({})",
        files.path(satchel_core::persist::SNAPSHOT).display(),
        files.path(satchel_core::persist::JOURNAL).display(),
        ledger_file.display(),
        state_file.display(),
        key_file.display()
    );
    match session.wipe_confirmation() {
        Some(req) => match send(agent, &req, max) {
            Ok(r) if (200..300).contains(&r.status) => {
                println!("remote wipe: confirmed to the backend; this device's tokens are revoked")
            }
            Ok(r) => eprintln!(
                "satchel: remote wipe: the backend refused the confirmation (HTTP {}); the next sync confirms again",
                r.status
            ),
            Err(e) => eprintln!(
                "satchel: remote wipe: could not confirm ({e}); the next sync confirms again"
            ),
        },
        None => println!("remote wipe: this profile has no confirmation endpoint"),
    }
    Ok(ExitCode::from(WIPED))
}

fn draw(s: &SyncSession, store: &Store) {
    let p = s.progress();
    let done = p.records_done;
    let bar = match p.records_expected {
        Some(t) if t > 0 => {
            let filled = ((done.min(t) * 30) / t) as usize;
            format!(
                "[{}{}] {done}/{t}",
                "#".repeat(filled),
                ".".repeat(30 - filled)
            )
        }
        _ => format!("{done} records"),
    };
    eprint!(
        "\rpush {}/{}  pull {bar}  {:.1} MiB received  store {:.1}/{:.1} MiB ",
        p.edits_done,
        p.edits_expected,
        p.bytes_done as f64 / 1048576.0,
        store.used_bytes() as f64 / 1048576.0,
        store.budget().bytes() as f64 / 1048576.0
    );
    let _ = std::io::stderr().flush();
}
