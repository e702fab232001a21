//! `satchel import`: NDJSON lines into a budgeted store, then a snapshot file.
//!
//! Every line is handled on its own: a line that does not parse is reported
//! with its number and skipped, a record the budget refuses is counted, and
//! everything else is kept. The snapshot is written to a temporary file and
//! renamed, then an empty journal beside it (`files::save`; a journal left
//! by another store at that path is removed first), so a crash never leaves
//! half a store behind.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use satchel_core::budget::Budget;
use satchel_core::model::Account;
use satchel_core::store::{Store, StoreConfig, Upserted, WriteError};

use crate::inspect::print_stats;
use satchel::parse_line;

/// Records written in one `upsert_batch`.
const BATCH: usize = 128;
/// Bad lines reported one by one; past this only the count goes on.
const MAX_REPORTED_BAD_LINES: usize = 20;

#[derive(Default)]
struct Tally {
    lines: u64,
    inserted: u64,
    updated: u64,
    refused_budget: u64,
    refused_invalid: u64,
    bad: u64,
    input_bytes: u64,
}

pub fn run(
    budget: Budget,
    block_bytes: Option<usize>,
    input: &Path,
    output: &Path,
) -> Result<ExitCode, String> {
    let reader: Box<dyn Read> = if input.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(input).map_err(|e| format!("{}: {e}", input.display()))?)
    };
    let mut config = StoreConfig {
        journal: false,
        ..StoreConfig::default()
    };
    if let Some(b) = block_bytes {
        config.block_bytes = b;
    }
    let mut store = Store::with_config(budget, config);
    let started = Instant::now();
    let tally = ingest(BufReader::with_capacity(1 << 20, reader), &mut store)?;
    store.compact();
    let elapsed = started.elapsed();
    let snapshot_len = crate::files::save(output, &store, true)?;

    println!("imported {}", input.display());
    println!("  lines           {:>12}", tally.lines);
    println!(
        "  kept            {:>12}  ({} new, {} updated)",
        tally.inserted + tally.updated,
        tally.inserted,
        tally.updated
    );
    println!("  refused, budget {:>12}", tally.refused_budget);
    println!("  refused, limits {:>12}", tally.refused_invalid);
    println!("  bad lines       {:>12}", tally.bad);
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "  time            {:>12.2} s  ({:.0} records/s)",
        secs,
        tally.lines as f64 / secs
    );
    println!(
        "  input           {:>12} bytes  ({:.1} bytes/record)",
        tally.input_bytes,
        per(tally.input_bytes, tally.lines)
    );
    println!(
        "  snapshot        {:>12} bytes  ({:.1} bytes/record kept) -> {}",
        snapshot_len,
        per(snapshot_len as u64, store.len() as u64),
        output.display()
    );
    print_stats(&store);
    Ok(ExitCode::SUCCESS)
}

fn per(bytes: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        bytes as f64 / n as f64
    }
}

fn ingest(mut reader: impl BufRead, store: &mut Store) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let mut line = Vec::new();
    let mut pending = Vec::with_capacity(BATCH);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading input: {e}"))?;
        if n == 0 {
            break;
        }
        tally.lines += 1;
        tally.input_bytes += n as u64;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            tally.lines -= 1; // blank lines are not records
            continue;
        }
        let account = match parse_line(text) {
            Ok(a) => a,
            Err(e) => {
                tally.bad += 1;
                if tally.bad as usize <= MAX_REPORTED_BAD_LINES {
                    eprintln!("line {}: {e}; line skipped", tally.lines);
                } else if tally.bad as usize == MAX_REPORTED_BAD_LINES + 1 {
                    eprintln!("(further bad lines are counted, not shown)");
                }
                continue;
            }
        };
        pending.push((tally.lines, account));
        if pending.len() >= BATCH {
            write_pending(store, &mut pending, &mut tally);
        }
    }
    write_pending(store, &mut pending, &mut tally);
    Ok(tally)
}

/// Writes the pending records in one `upsert_batch` (the store indexes a
/// batch with one page encoding per index page touched), or one by one when
/// the batch is refused, so that each refusal is told against its line.
fn write_pending(store: &mut Store, pending: &mut Vec<(u64, Account)>, tally: &mut Tally) {
    if pending.len() > 1 {
        let (lines, accounts): (Vec<u64>, Vec<Account>) = pending.drain(..).unzip();
        match store.upsert_batch(accounts) {
            Ok(done) => {
                tally.inserted += done.inserted as u64;
                tally.updated += done.updated as u64;
            }
            Err(r) => pending.extend(lines.into_iter().zip(r.value)),
        }
    }
    for (line, account) in pending.drain(..) {
        match store.upsert(account) {
            Ok(Upserted::Inserted(_)) => tally.inserted += 1,
            Ok(Upserted::Updated(_)) => tally.updated += 1,
            Err(r) => match r.error {
                WriteError::Budget(_) => tally.refused_budget += 1,
                e => {
                    tally.refused_invalid += 1;
                    eprintln!(
                        "line {line}: {e}; record {:?} skipped",
                        truncate(&r.value.id)
                    );
                }
            },
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Writes `bytes` to `path` via a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let err = |e: io::Error| format!("{}: {e}", path.display());
    let mut f = File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
