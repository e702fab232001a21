//! `satchel stats`, `satchel get`, `satchel search` and `satchel insights`:
//! open a snapshot and look inside.

use std::path::Path;
use std::process::ExitCode;

use satchel_core::block::SECTION_NAMES;
use satchel_core::budget::Budget;
use satchel_core::search::{match_spans, HitRef, Query};
use satchel_core::store::{Store, StoreConfig};

fn open(path: &Path, budget: Budget) -> Result<Store, String> {
    crate::files::load(path, budget, StoreConfig::default())
}

pub fn stats(path: &Path, budget: Budget) -> Result<ExitCode, String> {
    let store = open(path, budget)?;
    print_stats(&store);
    Ok(ExitCode::SUCCESS)
}

pub fn print_stats(store: &Store) {
    let s = store.stats();
    let b = s.bytes;
    println!("store");
    println!("  records         {:>12}", s.records);
    println!(
        "  blocks          {:>12}  ({} dead rows)",
        s.blocks, s.dead_rows
    );
    println!("  hot records     {:>12}", s.hot_records);
    println!("  budget          {:>12} bytes", s.budget.bytes());
    println!(
        "  used            {:>12} bytes  ({:.1}% of budget)",
        b.total(),
        100.0 * b.total() as f64 / s.budget.bytes().max(1) as f64
    );
    println!(
        "    blocks        {:>12}  (inflate to {}, ratio {:.2})",
        b.blocks,
        s.raw_block_bytes,
        s.raw_block_bytes as f64 / b.blocks.max(1) as f64
    );
    println!("    hot buffer    {:>12}", b.hot);
    println!(
        "    index         {:>12}  ({:.1} bytes/record)",
        b.index,
        b.index as f64 / s.records.max(1) as f64
    );
    println!(
        "    search        {:>12}  ({:.1} bytes/record)",
        b.search,
        b.search as f64 / s.records.max(1) as f64
    );
    println!("    stubs         {:>12}", b.stubs);
    println!("    cache         {:>12}", b.cache);
    println!("    journal       {:>12}", b.journal);
    println!("    dictionary    {:>12}", b.dictionary);
    println!("    price lists   {:>12}", b.price_lists);
    println!("  block sections (bytes/record: raw -> compressed)");
    let n = s.records.max(1) as f64;
    for (name, (raw, z)) in SECTION_NAMES.iter().zip(store.section_bytes()) {
        println!(
            "    {name:<14}{:>8.1} -> {:>6.1}",
            raw as f64 / n,
            z as f64 / n
        );
    }
}

pub fn get(path: &Path, id: &str, budget: Budget) -> Result<ExitCode, String> {
    let store = open(path, budget)?;
    match store.get(id) {
        Some(a) => {
            println!("{}", serde_json::to_string(&a).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("satchel: no account with id {id:?}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `text` with the parts `query` matched in brackets.
fn highlight(text: &str, query: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (a, b) in match_spans(text, query) {
        out.push_str(&text[at..a]);
        out.push('[');
        out.push_str(&text[a..b]);
        out.push(']');
        at = b;
    }
    out.push_str(&text[at..]);
    out
}

pub fn search(path: &Path, query: &Query, json: bool, budget: Budget) -> Result<ExitCode, String> {
    let store = open(path, budget)?;
    let hits = store.search(query).map_err(|e| e.to_string())?;
    for hit in &hits {
        let class = format!("{:?}", hit.class).to_lowercase();
        match &hit.target {
            HitRef::Record(local) => {
                let Some(a) = store.get_local(*local) else {
                    continue;
                };
                if json {
                    let line = serde_json::json!({
                        "id": a.id, "name": a.name, "company": a.company,
                        "city": a.address.city, "on_device": true,
                        "match": class, "score": hit.score,
                        "spans": {
                            "name": match_spans(&a.name, &query.text),
                            "company": match_spans(&a.company, &query.text),
                        },
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{:<20} {:<9} {:>7}  {} | {} | {}",
                        a.id,
                        class,
                        hit.score,
                        highlight(&a.name, &query.text),
                        highlight(&a.company, &query.text),
                        a.address.city
                    );
                }
            }
            HitRef::Stub { id, name } => {
                if json {
                    let line = serde_json::json!({
                        "id": id, "name": name, "on_device": false,
                        "match": class, "score": hit.score,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{:<20} {:<9} {:>7}  {}  (not on device: fetch when online)",
                        id,
                        class,
                        hit.score,
                        highlight(name, &query.text)
                    );
                }
            }
        }
    }
    if hits.is_empty() && !json {
        eprintln!("satchel: no match");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn insights(
    path: &Path,
    ctx: &satchel_core::insights::InsightsContext,
    budget: Budget,
) -> Result<ExitCode, String> {
    let store = open(path, budget)?;
    let out = store.insights(ctx);
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}
