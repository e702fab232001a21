//! Search: prefix and substring search latency (top 20) and index bytes per
//! record, Satchel beside SQLite FTS5 (unicode61 with diacritics removed for
//! prefixes, trigram for substrings) on the same accounts and queries.

use std::fmt::Write;
use std::time::Duration;

use rusqlite::Connection;
use satchel_core::budget::Budget;
use satchel_core::fold::{fold, is_ideographic};
use satchel_core::model::Account;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::search::Query;
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

use crate::density::machine;
use crate::samples::Samples;
use crate::timing::{latencies, percentile_us, KeyPicker};

/// What a rep types: the first 2 to 4 letters of a word of a name, company or
/// city, as written (diacritics, capitals); a tenth are two such words.
fn prefix_queries(accounts: &[Account], n: usize, picker: &mut KeyPicker) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let a = &accounts[picker.below(accounts.len())];
        let field = [&a.name, &a.company, &a.address.city][picker.below(3)];
        let words: Vec<&str> = field
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && !w.chars().any(is_ideographic))
            .collect();
        if words.is_empty() {
            continue;
        }
        let word = words[picker.below(words.len())];
        let mut q: String = word.chars().take(2 + picker.below(3)).collect();
        if out.len() % 10 == 9 {
            let city: String = a.address.city.chars().take(3).collect();
            q = format!("{q} {city}");
        }
        out.push(q);
    }
    out
}

/// Two or three characters from inside a Chinese company name.
fn substring_queries(accounts: &[Account], n: usize, picker: &mut KeyPicker) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n * 1000 {
        if out.len() == n {
            break;
        }
        let a = &accounts[picker.below(accounts.len())];
        let chars: Vec<char> = a.company.chars().collect();
        if chars.len() < 5
            || !chars
                .iter()
                .all(|&c| is_ideographic(c) || !c.is_alphanumeric())
        {
            continue;
        }
        let len = 2 + picker.below(2);
        let at = 1 + picker.below(chars.len() - len);
        let q: String = chars[at..at + len].iter().collect();
        if q.chars().all(is_ideographic) {
            out.push(q);
        }
    }
    out
}

/// An FTS5 MATCH expression: every folded word as a prefix, ANDed.
fn fts_prefix(q: &str) -> String {
    fold(q)
        .split(' ')
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

pub fn run(n: u64, seed: u64, queries: usize, rules_path: &str, out: &mut Samples) -> String {
    let spec = OrgSpec {
        accounts: n,
        seed,
        ..OrgSpec::default()
    };
    eprintln!("generating {n} accounts (seed {seed})");
    let accounts: Vec<Account> = satchel_fixtures::accounts(&spec).collect();
    let mut picker = KeyPicker::new(seed ^ 0x5ea4c4);
    let prefixes = prefix_queries(&accounts, queries, &mut picker);
    let substrings = substring_queries(&accounts, queries / 4, &mut picker);

    eprintln!("satchel: ingest and plan (scores rank the hits)");
    let config = StoreConfig {
        journal: false,
        ..StoreConfig::default()
    };
    let mut store = Store::with_config(Budget::new(usize::MAX), config);
    store.upsert_batch(accounts.clone()).unwrap();
    store.compact();
    let rules = RankRules::from_json(&std::fs::read_to_string(rules_path).unwrap()).unwrap();
    let ctx = RankContext {
        now: spec.now,
        me: accounts[0].owner.clone(),
        territories: vec![accounts[0].territory.clone()],
    };
    store.retain(&rules, &ctx, 0, None).unwrap();
    store.clear_cache();
    let stats = store.stats();
    let index_per_record = stats.bytes.search as f64 / n as f64;
    // One untimed pass first, for both systems: the figures are warm-cache.
    for q in prefixes.iter().chain(&substrings) {
        let _ = store.search(&Query::text(q));
    }
    let mut satchel_hits = 0usize;
    let mut satchel = |qs: &[String]| -> Vec<Duration> {
        latencies(qs, |q| {
            let hits = store.search(&Query::text(q)).unwrap();
            satchel_hits += usize::from(!hits.is_empty());
        })
    };
    let satchel_prefix = satchel(&prefixes);
    let satchel_substring = satchel(&substrings);

    eprintln!("sqlite fts5: build");
    let dir = std::env::temp_dir().join(format!("satchel-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("fts.sqlite");
    let _ = std::fs::remove_file(&db_path);
    let mut conn = Connection::open(&db_path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE VIRTUAL TABLE words USING fts5(name, company, city, email, phone,
           content='', tokenize = 'unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE grams USING fts5(name, company, tokenize = 'trigram');",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut w = tx
            .prepare(
                "INSERT INTO words(rowid, name, company, city, email, phone) VALUES (?,?,?,?,?,?)",
            )
            .unwrap();
        let mut g = tx
            .prepare("INSERT INTO grams(rowid, name, company) VALUES (?,?,?)")
            .unwrap();
        for (i, a) in accounts.iter().enumerate() {
            w.execute(rusqlite::params![
                i as i64,
                a.name,
                a.company,
                a.address.city,
                a.email,
                a.phone
            ])
            .unwrap();
            g.execute(rusqlite::params![i as i64, a.name, a.company])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch(
        "INSERT INTO words(words) VALUES('optimize'); INSERT INTO grams(grams) VALUES('optimize');",
    )
    .unwrap();
    let table_bytes = |name: &str| -> f64 {
        let bytes: i64 = conn
            .query_row(
                &format!("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE '{name}%'"),
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        bytes as f64 / n as f64
    };
    let words_per_record = table_bytes("words");
    let grams_per_record = table_bytes("grams");
    eprintln!("sqlite fts5: query");
    let mut sqlite_hits = 0usize;
    let sqlite_prefix = {
        let mut st = conn
            .prepare("SELECT rowid FROM words WHERE words MATCH ? ORDER BY rank LIMIT 20")
            .unwrap();
        for q in &prefixes {
            let _ = st
                .query_map([fts_prefix(q)], |r| r.get::<_, i64>(0))
                .map(|rows| rows.count());
        }
        latencies(&prefixes, |q| {
            let rows: Vec<i64> = st
                .query_map([fts_prefix(q)], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            sqlite_hits += usize::from(!rows.is_empty());
        })
    };
    let sqlite_substring = {
        let mut st = conn
            .prepare("SELECT rowid FROM grams WHERE company LIKE ? LIMIT 20")
            .unwrap();
        for q in &substrings {
            let _ = st
                .query_map([format!("%{q}%")], |r| r.get::<_, i64>(0))
                .map(|rows| rows.count());
        }
        latencies(&substrings, |q| {
            let rows: Vec<i64> = st
                .query_map([format!("%{q}%")], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            sqlite_hits += usize::from(!rows.is_empty());
        })
    };
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    // Every query comes from a record, so each system must find something.
    let total = prefixes.len() + substrings.len();
    assert_eq!(satchel_hits, total, "satchel missed queries");
    assert_eq!(sqlite_hits, total, "sqlite missed queries");

    let p = |d: &[Duration], q: f64| percentile_us(d, q);
    for (figure, system, d) in [
        ("prefix", "Satchel", &satchel_prefix),
        ("prefix", "SQLite", &sqlite_prefix),
        ("substring", "Satchel", &satchel_substring),
        ("substring", "SQLite", &sqlite_substring),
    ] {
        out.push(figure, system, "p50", n, p(d, 50.0));
        out.push(figure, system, "p99", n, p(d, 99.0));
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "{n} accounts on the device, seed {seed}, {}; {} prefix queries (2–4 letters of a \
         name, company or city word as typed, a tenth with a second word) and {} substring \
         queries (2–3 characters from inside a Chinese company name); top 20 each, after one untimed pass over all queries (warm caches).\n",
        machine(),
        prefixes.len(),
        substrings.len()
    );
    let _ = writeln!(
        md,
        "| system | index bytes/record | prefix p50 µs | prefix p99 µs | substring p50 µs | substring p99 µs |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| **Satchel** (one index for words, phones, substrings and filters) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        index_per_record,
        p(&satchel_prefix, 50.0),
        p(&satchel_prefix, 99.0),
        p(&satchel_substring, 50.0),
        p(&satchel_substring, 99.0)
    );
    let _ = writeln!(
        md,
        "| SQLite FTS5 (unicode61 for prefixes, contentless + trigram for substrings, with its text) | {:.1} + {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        words_per_record,
        grams_per_record,
        p(&sqlite_prefix, 50.0),
        p(&sqlite_prefix, 99.0),
        p(&sqlite_substring, 50.0),
        p(&sqlite_substring, 99.0)
    );
    let _ = writeln!(
        md,
        "\nSatchel ÷ SQLite, prefix p99: {:.3} (goal ≤ 0.5); Satchel prefix p99 {:.2} ms (goal ≤ 2 ms); \
         index {:.1} bytes/record (goal ≤ 24). Satchel's figure includes the filter postings \
         (territory, owner, stage, tags, next visit, last contact) and the scores; SQLite's \
         tables index the text only. SQLite ranks by bm25, Satchel by match class then \
         retention score. FTS5's trigram index needs 3 characters, so 2-character \
         substrings scan its text (LIKE); a LIKE needs the text, so that table keeps it.",
        p(&satchel_prefix, 99.0) / p(&sqlite_prefix, 99.0),
        p(&satchel_prefix, 99.0) / 1e3,
        index_per_record
    );
    md
}
