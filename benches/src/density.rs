//! Density and speed: bytes per record for NDJSON, gzip -9, zstd -19, SQLite
//! and a Satchel snapshot; ingest rate and get-by-id latency beside SQLite's.

use std::fmt::Write;
use std::time::Instant;

use satchel_core::block::SECTION_NAMES;
use satchel_core::budget::Budget;
use satchel_core::model::Account;
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

use crate::peers::{self, Sqlite};
use crate::samples::Samples;
use crate::timing::{latencies, percentile_us, KeyPicker};

/// `compress_at_most`: gzip -9 and zstd -19 see the first this many records
/// of the NDJSON (0: all). zstd -19 runs at a few MB/s, so past ~100k
/// records it would dominate the run; per record it has converged by then
/// (its window is 8 MiB).
pub fn run(n: u64, seed: u64, lookups: usize, compress_at_most: u64, out: &mut Samples) -> String {
    let spec = OrgSpec {
        accounts: n,
        seed,
        ..OrgSpec::default()
    };
    eprintln!("generating {n} accounts (seed {seed})");
    let accounts: Vec<Account> = satchel_fixtures::accounts(&spec).collect();
    let mut ndjson = Vec::new();
    let sampled = if compress_at_most == 0 {
        n
    } else {
        compress_at_most.min(n)
    };
    let mut sample_len = 0;
    for (i, a) in accounts.iter().enumerate() {
        serde_json::to_writer(&mut ndjson, a).unwrap();
        ndjson.push(b'\n');
        if i as u64 + 1 == sampled {
            sample_len = ndjson.len();
        }
    }
    let per = |bytes: usize| bytes as f64 / n as f64;
    let mut picker = KeyPicker::new(seed ^ 0x5eed);
    let keys: Vec<usize> = (0..lookups).map(|_| picker.below(accounts.len())).collect();

    eprintln!("gzip -9, zstd -19");
    // Scaled to the whole org when only a prefix was compressed.
    let scale = |bytes: usize| (bytes as f64 * n as f64 / sampled as f64).round() as usize;
    let gzip = scale(peers::gzip9(&ndjson[..sample_len]));
    let zstd = scale(peers::zstd19(&ndjson[..sample_len]));

    eprintln!("sqlite");
    let dir = std::env::temp_dir().join(format!("satchel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("accounts.sqlite");
    let mut db = Sqlite::create(&db_path).unwrap();
    let t = Instant::now();
    db.insert_all(&accounts).unwrap();
    let sqlite_secs = t.elapsed().as_secs_f64();
    let sqlite_ingest = n as f64 / sqlite_secs;
    let sqlite_bytes = std::fs::metadata(&db_path).unwrap().len() as usize;
    let sqlite_get = latencies(&keys, |&i| {
        let got = db.get(&accounts[i].id).unwrap();
        assert_eq!(got.as_ref(), Some(&accounts[i]), "sqlite read back");
    });

    eprintln!("satchel");
    let config = StoreConfig {
        journal: false,
        ..StoreConfig::default()
    };
    let mut store = Store::with_config(Budget::new(usize::MAX), config);
    let copies = accounts.clone();
    let t = Instant::now();
    for a in copies {
        store.upsert(a).unwrap();
    }
    store.compact();
    let satchel_secs = t.elapsed().as_secs_f64();
    let satchel_ingest = n as f64 / satchel_secs;
    let snapshot = store.snapshot();
    let satchel_get = latencies(&keys, |&i| {
        let got = store.get(&accounts[i].id);
        assert_eq!(got.as_ref(), Some(&accounts[i]), "satchel read back");
    });
    let t = Instant::now();
    let (reopened, _) =
        Store::open(Some(&snapshot), None, Budget::new(usize::MAX), config).unwrap();
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(reopened.len(), accounts.len());
    let stats = store.stats();
    let _ = std::fs::remove_dir_all(&dir);

    for (system, bytes) in [
        ("NDJSON", ndjson.len()),
        ("NDJSON + gzip", gzip),
        ("NDJSON + zstd", zstd),
        ("SQLite", sqlite_bytes),
        ("Satchel", snapshot.len()),
    ] {
        out.push("bytes", system, "", n, per(bytes));
    }
    out.push("ingest", "Satchel", "", n, satchel_secs);
    out.push("ingest", "SQLite", "", n, sqlite_secs);
    for (system, get) in [("Satchel", &satchel_get), ("SQLite", &sqlite_get)] {
        out.push("get", system, "p50", n, percentile_us(get, 50.0));
        out.push("get", system, "p99", n, percentile_us(get, 99.0));
    }
    out.push(
        "capacity",
        "Satchel",
        "no budget",
        n,
        stats.bytes.total() as f64 / 1_048_576.0,
    );
    out.push(
        "capacity",
        "SQLite",
        "no budget",
        n,
        sqlite_bytes as f64 / 1_048_576.0,
    );

    let mut md = String::new();
    let _ = writeln!(
        md,
        "{} accounts, seed {seed}, {}; {lookups} random get-by-id lookups{}.\n",
        n,
        machine(),
        if sampled < n {
            format!(
                "; gzip -9 and zstd -19 compress the first {sampled} records (scaled per record)"
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "| system | bytes/record | × zstd -19 | ingest records/s | get p50 µs | get p99 µs |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    let row = |md: &mut String, name: &str, bytes: usize, rest: &str| {
        let _ = writeln!(
            md,
            "| {name} | {:.1} | {:.2} | {rest} |",
            per(bytes),
            bytes as f64 / zstd as f64
        );
    };
    row(&mut md, "NDJSON", ndjson.len(), "– | – | –");
    row(&mut md, "NDJSON, gzip -9", gzip, "– | – | –");
    row(&mut md, "NDJSON, zstd -19", zstd, "– | – | –");
    let speed = |ingest: f64, get: &[std::time::Duration]| {
        format!(
            "{:.0} | {:.1} | {:.1}",
            ingest,
            percentile_us(get, 50.0),
            percentile_us(get, 99.0)
        )
    };
    row(
        &mut md,
        "SQLite file (rusqlite, indexed by id)",
        sqlite_bytes,
        &speed(sqlite_ingest, &sqlite_get),
    );
    row(
        &mut md,
        "**Satchel snapshot**",
        snapshot.len(),
        &speed(satchel_ingest, &satchel_get),
    );
    let search = store.search_snapshot_len();
    let records = snapshot.len() - search;
    let _ = writeln!(
        md,
        "\nThe snapshot carries the search index ({:.1} bytes/record; NDJSON, zstd and this \
         SQLite table have none): the records alone take {:.1} bytes/record. \
         Records alone / zstd -19 = **{:.2}** (goal ≤ 1.25); whole snapshot / zstd -19 = {:.2}; \
         whole snapshot / SQLite = **{:.2}** (goal ≤ 0.5). \
         Store in memory: {} blocks, {:.1} bytes/record of blocks, {:.1} bytes/record of id index; \
         block payloads inflate {:.1}×; opening the snapshot took {open_ms:.0} ms.",
        per(search),
        per(records),
        records as f64 / zstd as f64,
        snapshot.len() as f64 / zstd as f64,
        snapshot.len() as f64 / sqlite_bytes as f64,
        stats.blocks,
        per(stats.bytes.blocks),
        per(stats.bytes.index),
        stats.raw_block_bytes as f64 / stats.bytes.blocks as f64,
    );
    let _ = writeln!(md, "\nWhere Satchel's block bytes go (per record):\n");
    let _ = writeln!(md, "| section | raw | compressed |");
    let _ = writeln!(md, "|---|---:|---:|");
    for (name, (raw, z)) in SECTION_NAMES.iter().zip(store.section_bytes()) {
        let _ = writeln!(md, "| {name} | {:.1} | {:.1} |", per(raw), per(z));
    }
    let _ = writeln!(
        md,
        "\nIngest is from parsed records (no JSON parsing) in one call each, compaction included; \
         SQLite ingests in one transaction with journal and sync off. A get returns the whole \
         record as a model value on both sides (SQLite parses its JSON columns)."
    );
    md
}

/// The CPU this ran on, for the record.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}
