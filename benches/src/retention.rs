//! Retention: replay generated reps' weeks (several seeds, several reps) with
//! `satchel retention-sim`'s own code, at a budget of a share of the org.

use std::fmt::Write;

use satchel::retention::{self, Event, Op, SimBudget};
use satchel_core::model::Account;
use satchel_core::rules::RankRules;
use satchel_fixtures::{OrgSpec, TraceOp, TraceSpec};

fn op(o: TraceOp) -> Op {
    match o {
        TraceOp::Open => Op::Open,
        TraceOp::Search => Op::Search,
        TraceOp::Edit => Op::Edit,
        TraceOp::Visit => Op::Visit,
        TraceOp::Sync => Op::Sync,
    }
}

pub fn run(n: u64, seeds: &[u64], reps: usize, percent: f64, rules_path: &str) -> String {
    let rules = RankRules::from_json(&std::fs::read_to_string(rules_path).expect("rules file"))
        .expect("rules");
    let mut md = String::new();
    let _ = writeln!(md, "{n} accounts per org, budget {percent}% of the org, rules `{rules_path}`, 28 days per trace.\n");
    let _ = writeln!(md, "| seed | rep | accesses | cold one-offs | Satchel | LRU | LFU | briefcase | oracle | Satchel / oracle | Satchel − LRU |");
    let _ = writeln!(
        md,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut sums = [0f64; 5];
    let mut runs = 0;
    let mut cold_sum = 0.0;
    for &seed in seeds {
        let spec = OrgSpec {
            accounts: n,
            seed,
            ..OrgSpec::default()
        };
        eprintln!("seed {seed}: generating {n} accounts");
        let accounts: Vec<Account> = satchel_fixtures::accounts(&spec).collect();
        let all_reps = satchel_fixtures::reps(&spec);
        // Reps spread over the org's hiring order: early, middle, late.
        let picks: Vec<_> = (0..reps)
            .map(|k| &all_reps[(k * all_reps.len()) / reps.max(1)])
            .collect();
        for rep in picks {
            let trace = satchel_fixtures::trace(
                &spec,
                &TraceSpec {
                    rep: rep.id.clone(),
                    days: 28,
                    seed,
                },
            );
            let events: Vec<Event> = trace
                .into_iter()
                .map(|e| Event {
                    t: e.t,
                    rep: e.rep,
                    op: op(e.op),
                    id: e.id,
                })
                .collect();
            let report = retention::simulate(
                &accounts,
                &events,
                &rules,
                &rep.id,
                &rep.territories,
                SimBudget::Percent(percent),
            );
            let rate: Vec<f64> = report.policies.iter().map(|p| 100.0 * p.hit_rate).collect();
            let accesses = report.policies[0].hits + report.policies[0].misses;
            let _ = writeln!(
                md,
                "| {seed} | {} | {accesses} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.2} | {:+.1} |",
                rep.id,
                100.0 * report.cold_share,
                rate[0],
                rate[1],
                rate[2],
                rate[3],
                rate[4],
                rate[0] / rate[4].max(1e-9),
                rate[0] - rate[1]
            );
            for (s, r) in sums.iter_mut().zip(&rate) {
                *s += r;
            }
            cold_sum += 100.0 * report.cold_share;
            runs += 1;
        }
    }
    let m: Vec<f64> = sums.iter().map(|s| s / runs.max(1) as f64).collect();
    let _ = writeln!(
        md,
        "| **mean** | | | {:.1}% | **{:.1}%** | {:.1}% | {:.1}% | {:.1}% | {:.1}% | **{:.2}** | **{:+.1}** |",
        cold_sum / runs.max(1) as f64,
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[0] / m[4].max(1e-9),
        m[0] - m[1]
    );
    md
}
