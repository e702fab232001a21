//! `satchel`: the native command-line tool over satchel-core.
//!
//! A thin driver: it reads files, parses NDJSON and prints; every decision
//! about what is kept and how lives in core.

mod files;
mod import;
mod inspect;
mod rank;
mod seal;
mod sync;

use satchel::retention;

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
    /// Push the outbox to a CRM and pull its changes into a store snapshot
    /// (created if missing); the position is kept in STORE.sync.json.
    Sync {
        /// A built-in profile (reference, json-server, hubspot, salesforce,
        /// dynamics, dynamics-changes) or a profile JSON file.
        #[arg(long, default_value = "reference")]
        profile: String,
        /// The backend (http://127.0.0.1:8787).
        #[arg(long)]
        base_url: String,
        /// Bearer token.
        #[arg(long, default_value = "")]
        token: String,
        /// The snapshot to sync.
        #[arg(long)]
        store: PathBuf,
        /// The store's memory budget.
        #[arg(long, default_value = "64MiB", value_parser = parse_budget)]
        budget: Budget,
        /// The rule set (JSON): its pushdown filters the pull, it plans when full.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The rep whose device this is.
        #[arg(long, default_value = "")]
        me: String,
        /// The rep's territories, comma-separated.
        #[arg(long, value_delimiter = ',')]
        territories: Vec<String>,
        /// This device's id (idempotency keys, wipe).
        #[arg(long, default_value = "satchel-cli")]
        device: String,
        /// "Now" as Unix seconds (default: the clock).
        #[arg(long)]
        now: Option<i64>,
    },
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
    /// Replay a rep's access trace: how often each retention policy had the
    /// record on the device.
    RetentionSim {
        /// The org, canonical NDJSON.
        #[arg(long)]
        accounts: PathBuf,
        /// The access trace, NDJSON `{t, rep, op, id}`.
        #[arg(long)]
        trace: PathBuf,
        /// The rule set (JSON).
        #[arg(long)]
        rules: PathBuf,
        /// The rep whose device this is.
        #[arg(long)]
        me: String,
        /// The rep's territories, comma-separated (default: where they own the most).
        #[arg(long, value_delimiter = ',')]
        territories: Vec<String>,
        /// Bytes (64MiB) or a share of the whole org (10%).
        #[arg(long, default_value = "10%")]
        budget: retention::SimBudget,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Apply a rule set to a store: keep the best, evict the rest to stubs.
    Retain {
        /// The snapshot (rewritten in place).
        store: PathBuf,
        #[command(flatten)]
        device: rank::DeviceArgs,
        /// Bytes the records and stubs may take (default: the whole budget).
        #[arg(long, value_parser = parse_budget)]
        target: Option<Budget>,
        /// Percent of the room stubs may take.
        #[arg(long, default_value_t = 20)]
        stub_share: u8,
        /// Budget to open the store with.
        #[arg(long, default_value = "64MiB", value_parser = parse_budget)]
        budget: Budget,
    },
    /// Why a record is (or is not) on the device, rule by rule, as JSON.
    Explain {
        /// The snapshot.
        store: PathBuf,
        /// The record's backend id.
        id: String,
        #[command(flatten)]
        device: rank::DeviceArgs,
        /// Budget to open the store with.
        #[arg(long, default_value = "1GiB", value_parser = parse_budget)]
        budget: Budget,
    },
    /// Search a store: text (any language, folded) plus filters, best first.
    Search {
        /// The snapshot.
        store: PathBuf,
        /// What a rep would type ("åst", "strasse", "华强", "08-123 45").
        text: String,
        /// Keep only these territories (repeat or comma-separate).
        #[arg(long, value_delimiter = ',')]
        territory: Vec<String>,
        /// Keep only these owners.
        #[arg(long, value_delimiter = ',')]
        owner: Vec<String>,
        /// Keep only these stages.
        #[arg(long, value_delimiter = ',')]
        stage: Vec<String>,
        /// Keep only records with one of these tags.
        #[arg(long, value_delimiter = ',')]
        tag: Vec<String>,
        /// Most hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per hit instead of a table.
        #[arg(long)]
        json: bool,
        /// Budget to open the store with.
        #[arg(long, default_value = "1GiB", value_parser = parse_budget)]
        budget: Budget,
    },
    /// A rep's numbers from a store, as JSON: this week vs last, overdue
    /// follow-ups, pipeline by stage, top accounts.
    Insights {
        /// The snapshot.
        store: PathBuf,
        /// The rep (owner id).
        #[arg(long)]
        me: String,
        /// Now, Unix seconds (default: the clock).
        #[arg(long)]
        now: Option<i64>,
        /// The rep's offset from UTC in seconds.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        utc_offset: i32,
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
        Command::Sync {
            profile,
            base_url,
            token,
            store,
            budget,
            rules,
            me,
            territories,
            device,
            now,
        } => sync::run(sync::Args {
            profile,
            base_url,
            token,
            store,
            budget,
            rules,
            me,
            territories,
            device,
            now,
        }),
        Command::Import {
            budget,
            block_bytes,
            input,
            output,
        } => import::run(budget, block_bytes, &input, &output),
        Command::Stats { store, budget } => inspect::stats(&store, budget),
        Command::Retain {
            store,
            device,
            target,
            stub_share,
            budget,
        } => rank::retain(&store, budget, &device, target, stub_share),
        Command::Explain {
            store,
            id,
            device,
            budget,
        } => rank::explain(&store, budget, &device, &id),
        Command::RetentionSim {
            accounts,
            trace,
            rules,
            me,
            territories,
            budget,
            json,
        } => retention::run(retention::Args {
            accounts: &accounts,
            trace: &trace,
            rules: &rules,
            me: &me,
            territories,
            budget,
            json,
        }),
        Command::Get { store, id, budget } => inspect::get(&store, &id, budget),
        Command::Insights {
            store,
            me,
            now,
            utc_offset,
            budget,
        } => {
            let now = now.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            });
            let ctx = satchel_core::insights::InsightsContext {
                now,
                me,
                utc_offset_seconds: utc_offset,
                overdue_limit: 20,
            };
            inspect::insights(&store, &ctx, budget)
        }
        Command::Search {
            store,
            text,
            territory,
            owner,
            stage,
            tag,
            limit,
            json,
            budget,
        } => {
            let query = satchel_core::search::Query {
                text,
                territory,
                owner,
                stage,
                tag,
                limit,
                ..Default::default()
            };
            inspect::search(&store, &query, json, budget)
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("satchel: {message}");
            ExitCode::FAILURE
        }
    }
}
