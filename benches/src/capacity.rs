//! Capacity: stream generated accounts into a store capped at a budget, the way
//! a first sync would, and report how many it keeps. Checks the budget after
//! every call.

use std::fmt::Write;
use std::time::Instant;

use satchel_core::budget::Budget;
use satchel_core::store::{Store, StoreConfig, WriteError};
use satchel_fixtures::OrgSpec;

use crate::samples::Samples;

pub fn run(n: u64, seed: u64, budget: Budget, out: &mut Samples) -> String {
    let spec = OrgSpec {
        accounts: n,
        seed,
        ..OrgSpec::default()
    };
    let mut store = Store::with_config(
        budget,
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    );
    let (mut kept, mut refused, mut peak) = (0u64, 0u64, 0usize);
    let t = Instant::now();
    for a in satchel_fixtures::accounts(&spec) {
        match store.upsert(a) {
            Ok(_) => kept += 1,
            Err(r) => {
                assert!(matches!(r.error, WriteError::Budget(_)), "{}", r.error);
                refused += 1;
            }
        }
        peak = peak.max(store.used_bytes());
        assert!(
            store.used_bytes() <= budget.bytes(),
            "budget broken: {} > {}",
            store.used_bytes(),
            budget.bytes()
        );
    }
    store.compact();
    let secs = t.elapsed().as_secs_f64();
    let s = store.stats();
    let stat = format!("{} MiB budget", budget.bytes() >> 20);
    out.push("capacity", "Satchel", &stat, n, peak as f64 / 1_048_576.0);
    out.push("kept", "Satchel", &stat, n, kept as f64);
    out.push("kept", "all offered", "", n, n as f64);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| accounts offered | budget | kept | refused | peak used | bytes/record kept | time |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| {n} | {} MiB | **{kept}** | {refused} | {} bytes ({:.2}% of budget) | {:.1} | {secs:.1} s |",
        budget.bytes() >> 20,
        peak,
        100.0 * peak as f64 / budget.bytes() as f64,
        s.bytes.total() as f64 / s.records.max(1) as f64,
    );
    let _ = writeln!(
        md,
        "\nThe budget was checked after every one of the {n} calls and never exceeded. \
         This run does not rank: the store keeps what arrives first and refuses the rest \
         (the planning and retention sections show the ranked choice). Writes leave the \
         48 KiB planning reserve free."
    );
    md
}
