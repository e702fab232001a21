//! `satchel retain` and `satchel explain`: apply a rule set to a stored
//! snapshot, or ask why a record is (not) on the device.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use satchel_core::budget::Budget;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};

/// Who the device belongs to, from the command line (shared by `retain`
/// and `explain`).
#[derive(clap::Args)]
pub struct DeviceArgs {
    /// The rule set (JSON).
    #[arg(long)]
    rules: PathBuf,
    /// The rep whose device this is.
    #[arg(long)]
    me: String,
    /// The rep's territories, comma-separated.
    #[arg(long, value_delimiter = ',')]
    territories: Vec<String>,
    /// "Now" as Unix seconds (default: the clock).
    #[arg(long)]
    now: Option<i64>,
}

fn load(
    path: &Path,
    budget: Budget,
    device: &DeviceArgs,
) -> Result<(Store, RankRules, RankContext), String> {
    let store = crate::files::load(
        path,
        budget,
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    )?;
    let text = std::fs::read_to_string(&device.rules)
        .map_err(|e| format!("{}: {e}", device.rules.display()))?;
    let rules =
        RankRules::from_json(&text).map_err(|e| format!("{}: {e}", device.rules.display()))?;
    let now = device.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let ctx = RankContext {
        now,
        me: device.me.clone(),
        territories: device.territories.clone(),
    };
    Ok((store, rules, ctx))
}

pub fn retain(
    path: &Path,
    budget: Budget,
    device: &DeviceArgs,
    target: Option<Budget>,
    stub_share: u8,
) -> Result<ExitCode, String> {
    let (mut store, rules, ctx) = load(path, budget, device)?;
    let summary = store
        .retain(&rules, &ctx, stub_share, target.map(|t| t.bytes()))
        .map_err(|e| e.to_string())?;
    crate::files::save(path, &store, false)?;
    println!(
        "kept {} ({} pinned or edited), stubbed {}, dropped {}; lowest kept score {}",
        summary.kept,
        summary.forced,
        summary.stubbed,
        summary.dropped,
        summary
            .lowest_kept_score
            .map_or("-".into(), |s| s.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

pub fn explain(
    path: &Path,
    budget: Budget,
    device: &DeviceArgs,
    id: &str,
) -> Result<ExitCode, String> {
    let (store, rules, ctx) = load(path, budget, device)?;
    let e = store.explain(id, &rules, &ctx);
    println!(
        "{}",
        serde_json::to_string_pretty(&e).map_err(|e| e.to_string())?
    );
    Ok(if e.state == "absent" {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
