//! `satchel-benches`: Satchel measured beside its peers on the same seeded data,
//! in the same run. Prints tables and, with `--results`, rewrites the matching
//! section of `benches/RESULTS.md` so that no figure there is typed by hand.
//!
//! Correctness is the tests' job; this crate only measures (it does check that
//! what it reads back is what it wrote, so a fast wrong answer cannot win).

mod capacity;
mod density;
mod growth;
mod peers;
mod planning;
mod plot;
mod results;
mod retention;
mod samples;
mod sealing;
mod search;
mod svg;
mod sync;
mod timing;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use satchel_core::budget::Budget;

#[derive(Parser)]
#[command(about = "Satchel vs SQLite, JSON+gzip and zstd on the same generated data")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Rewrite this results file's section for the run (e.g. benches/RESULTS.md).
    #[arg(long, global = true)]
    results: Option<PathBuf>,
    /// Append the run's measurements to this file as JSON lines (for `plot`).
    #[arg(long, global = true)]
    jsonl: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Bytes per record, ingest rate and get-by-id latency.
    Density {
        #[arg(long, default_value_t = 200_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Get-by-id lookups to time.
        #[arg(long, default_value_t = 20_000)]
        lookups: usize,
        /// gzip and zstd compress at most this many records (0: all).
        #[arg(long, default_value_t = 0)]
        compress_at_most: u64,
    },
    /// Stream accounts into a store capped at a budget; report how many it keeps.
    Capacity {
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "64MiB", value_parser = |s: &str| Budget::parse(s).map_err(|e| e.to_string()))]
        budget: Budget,
    },
    /// Replay generated traces: hit rate of Satchel's planner vs LRU, LFU,
    /// briefcase and an oracle.
    Retention {
        #[arg(long, default_value_t = 20_000)]
        accounts: u64,
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Budget as a percentage of the org.
        #[arg(long, default_value_t = 10.0)]
        percent: f64,
        #[arg(long, default_value = "fixtures/rules/field-rep.json")]
        rules: String,
    },
    /// Prefix and substring search latency and index size, Satchel vs SQLite FTS5.
    Search {
        #[arg(long, default_value_t = 500_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Prefix queries to time (a quarter as many substring queries).
        #[arg(long, default_value_t = 4000)]
        queries: usize,
        #[arg(long, default_value = "fixtures/rules/field-rep.json")]
        rules: String,
    },
    /// Unlock time (Argon2id) and snapshot seal/open speed.
    Seal {
        #[arg(long, default_value_t = 200_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// A first sync from the reference backend (a child process) into a
    /// budgeted store under a rep's rules: time, rate, what is kept, memory.
    Sync {
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Budgets, comma-separated: one first sync each.
        #[arg(long, value_delimiter = ',', default_value = "64MiB", value_parser = |s: &str| Budget::parse(s).map_err(|e| e.to_string()))]
        budget: Vec<Budget>,
        #[arg(long, default_value = "fixtures/rules/field-rep.json")]
        rules: String,
        /// The rep whose device syncs.
        #[arg(long, default_value = "rep-0003")]
        me: String,
        /// The backend's SQLite file (reused when filled from the same org;
        /// default: in memory, filled anew).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Draw the scaling plots (SVG) and write their tables from the samples
    /// of `--jsonl` runs; with `--results`, as that file's `scaling` section.
    Plot {
        /// Sample files (JSON lines); missing files are skipped with a note.
        #[arg(long, value_delimiter = ',', required = true)]
        samples: Vec<PathBuf>,
        /// Where the SVG files go.
        #[arg(long)]
        svg_dir: PathBuf,
        /// How the results file links to `svg_dir` (e.g. `plots/`).
        #[arg(long, default_value = "plots/")]
        link_prefix: String,
        /// The command that ran the whole study, for the record.
        #[arg(long, default_value = "cargo xtask bench")]
        command: String,
        /// How long the study's measurements took, in minutes.
        #[arg(long)]
        minutes: Option<f64>,
        /// The load average (1, 5, 15 min) when the last measurement ended
        /// (default: now, from /proc/loadavg).
        #[arg(long)]
        load: Option<String>,
    },
    /// The backend child of `sync` (not for direct use).
    #[command(hide = true)]
    SyncBackend {
        #[arg(long)]
        accounts: u64,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Plan which of an org's accounts a device keeps, and how fast.
    Plan {
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "64MiB", value_parser = |s: &str| Budget::parse(s).map_err(|e| e.to_string()))]
        budget: Budget,
        #[arg(long, default_value = "fixtures/rules/field-rep.json")]
        rules: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let command_line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let mut out = samples::Samples::default();
    let (section, markdown) = match cli.command {
        Command::Density {
            accounts,
            seed,
            lookups,
            compress_at_most,
        } => (
            "density",
            density::run(accounts, seed, lookups, compress_at_most, &mut out),
        ),
        Command::Retention {
            accounts,
            seeds,
            reps,
            percent,
            rules,
        } => (
            "retention",
            retention::run(accounts, &seeds, reps, percent, &rules),
        ),
        Command::Plan {
            accounts,
            seed,
            budget,
            rules,
        } => (
            "plan",
            planning::run(accounts, seed, budget, &rules, &mut out),
        ),
        Command::Search {
            accounts,
            seed,
            queries,
            rules,
        } => (
            "search",
            search::run(accounts, seed, queries, &rules, &mut out),
        ),
        Command::Seal { accounts, seed } => ("seal", sealing::run(accounts, seed, &mut out)),
        Command::Sync {
            accounts,
            seed,
            budget,
            rules,
            me,
            db,
        } => (
            "sync",
            sync::run(accounts, seed, &budget, &rules, &me, db, &mut out),
        ),
        Command::SyncBackend { accounts, seed, db } => {
            sync::backend(accounts, seed, db);
            return;
        }
        Command::Capacity {
            accounts,
            seed,
            budget,
        } => ("capacity", capacity::run(accounts, seed, budget, &mut out)),
        Command::Plot {
            samples,
            svg_dir,
            link_prefix,
            command,
            minutes,
            load,
        } => {
            let markdown = draw(&samples, &svg_dir, &link_prefix, &command, minutes, load);
            // The study's own command, not this step's, heads the section.
            finish("scaling", &markdown, &command, cli.results.as_deref());
            return;
        }
    };
    if let Some(path) = &cli.jsonl {
        if let Err(e) = out.append_to(path) {
            eprintln!("satchel-benches: {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    let command = format!("cargo run --release -p satchel-benches -- {command_line}");
    finish(section, &markdown, &command, cli.results.as_deref());
}

/// Prints a section and, with `--results`, writes it into that file.
fn finish(section: &str, markdown: &str, command: &str, results: Option<&std::path::Path>) {
    println!("{markdown}");
    if let Some(path) = results {
        if let Err(e) = results::write_section(path, section, command, markdown) {
            eprintln!("satchel-benches: {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote section `{section}` of {}", path.display());
    }
}

/// The `plot` command: samples in, SVGs and the section's markdown out.
fn draw(
    files: &[PathBuf],
    svg_dir: &std::path::Path,
    link_prefix: &str,
    command: &str,
    minutes: Option<f64>,
    load: Option<String>,
) -> String {
    let mut all = Vec::new();
    for f in files {
        if !f.exists() {
            eprintln!(
                "satchel-benches plot: {} does not exist; skipped",
                f.display()
            );
            continue;
        }
        match samples::read(f) {
            Ok(s) => all.extend(s),
            Err(e) => {
                eprintln!("satchel-benches plot: {e}");
                std::process::exit(1);
            }
        }
    }
    let run = plot::RunInfo {
        command,
        machine: density::machine(),
        load: load.unwrap_or_else(load_average),
        minutes,
    };
    plot::write(&all, svg_dir, link_prefix, &run).unwrap_or_else(|e| {
        eprintln!("satchel-benches plot: {}: {e}", svg_dir.display());
        std::process::exit(1)
    })
}

/// The load average over 1, 5 and 15 minutes, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}
