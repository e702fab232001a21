//! `satchel`: the native command-line tool over satchel-core.
//!
//! A thin driver: it reads files, parses NDJSON and prints; every decision
//! about what is kept and how lives in core.

mod import;
mod inspect;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use satchel_core::budget::Budget;

/// Satchel: an offline CRM store for low-memory handhelds.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import canonical NDJSON accounts into a budgeted store snapshot.
    Import {
        /// The store's memory budget (e.g. 64MiB).
        #[arg(long, default_value = "64MiB", value_parser = parse_budget)]
        budget: Budget,
        /// Uncompressed bytes per block (larger compresses better, reads slower).
        #[arg(long)]
        block_bytes: Option<usize>,
        /// NDJSON file, one account a line ("-" for standard input).
        input: PathBuf,
        /// Where to write the snapshot.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print a store's statistics.
    Stats {
        /// The snapshot.
        store: PathBuf,
        /// Budget to open the store with.
        #[arg(long, default_value = "1GiB", value_parser = parse_budget)]
        budget: Budget,
    },
    /// Print one account as canonical JSON.
    Get {
        /// The snapshot.
        store: PathBuf,
        /// The account's backend id.
        id: String,
        /// Budget to open the store with.
        #[arg(long, default_value = "1GiB", value_parser = parse_budget)]
        budget: Budget,
    },
}

fn parse_budget(s: &str) -> Result<Budget, String> {
    Budget::parse(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import {
            budget,
            block_bytes,
            input,
            output,
        } => import::run(budget, block_bytes, &input, &output),
        Command::Stats { store, budget } => inspect::stats(&store, budget),
        Command::Get { store, id, budget } => inspect::get(&store, &id, budget),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("satchel: {message}");
            ExitCode::FAILURE
        }
    }
}
