//! `cargo xtask bench [--quick]`: the scaling study in one command.
//!
//! Runs every benchmark of `satchel-benches` at several sizes (each size in
//! its own process, so one run's memory does not weigh on the next), the
//! Node bench of the wasm package beside sql.js (`wasm/scripts/bench.mjs`)
//! at the sizes a 64 MiB module can hold, collects their samples (JSON lines
//! in `target/bench/<mode>/samples.jsonl`) and draws the plots:
//!
//! - full (default): the sizes of `FULL`; the plots go to `benches/plots/`,
//!   the `scaling` section and every benchmark's own section (from its
//!   largest size) to `benches/RESULTS.md`. Under an hour on the 2-core
//!   development machine.
//! - `--quick`: the sizes of `QUICK` (a few thousand accounts), everything
//!   into `target/bench/quick/` (`RESULTS.md` and `plots/`); committed files
//!   are left alone. Part of `cargo xtask test`, so the plotting cannot rot.
//!
//! Every child runs under a time limit and is killed past it. A failing or
//! late child fails the study, but only at the end: the other sizes still
//! run and the plots are drawn from what was measured, so one bad run does
//! not cost the whole study.

use std::path::Path;
use std::process::{exit, Command};
use std::time::{Duration, Instant};

use crate::{cargo, root, step};

/// One benchmark's sweep: the subcommand, its sizes (ascending), the
/// arguments of every run, and the extra arguments of the largest run (the
/// one that also writes the benchmark's own section of RESULTS.md).
struct Sweep {
    command: &'static str,
    sizes: &'static [u64],
    args: &'static [&'static str],
    largest: &'static [&'static str],
}

/// Sizes where they make sense on this machine (see benches/RESULTS.md,
/// "Scaling"): get, ingest and bytes to 500k (a 1M run holds the org
/// several times over in memory; gzip and zstd compress at most 50k
/// records, zstd -19 runs at a few MB/s and has converged per record); search to 500k (SQLite's FTS5 build and
/// its 100 ms queries dominate beyond); the planner, capacity and sync to
/// 1M (the org a device is planned from).
const FULL: &[Sweep] = &[
    Sweep {
        command: "capacity",
        sizes: &[10_000, 100_000, 500_000, 1_000_000],
        args: &["--budget", "64MiB"],
        largest: &[],
    },
    Sweep {
        command: "plan",
        sizes: &[10_000, 100_000, 500_000, 1_000_000],
        args: &[],
        largest: &[],
    },
    Sweep {
        command: "density",
        sizes: &[10_000, 100_000, 500_000],
        args: &["--lookups", "20000", "--compress-at-most", "50000"],
        largest: &[],
    },
    Sweep {
        command: "seal",
        sizes: &[10_000, 100_000, 500_000],
        args: &[],
        largest: &[],
    },
    Sweep {
        command: "search",
        sizes: &[10_000, 100_000, 500_000],
        args: &["--queries", "1000"],
        largest: &[],
    },
    Sweep {
        command: "sync",
        sizes: &[10_000, 100_000, 1_000_000],
        args: &[],
        // The 1M backend file is filled once and reused (benches/data/ is
        // not committed); 16 MiB shows the budget binding.
        largest: &[
            "--budget",
            "16MiB,64MiB",
            "--db",
            "benches/data/sync-1m-seed1.sqlite",
        ],
    },
];

const QUICK: &[Sweep] = &[
    Sweep {
        command: "capacity",
        sizes: &[2_000, 5_000],
        args: &["--budget", "64MiB"],
        largest: &[],
    },
    Sweep {
        command: "plan",
        sizes: &[2_000, 5_000],
        args: &[],
        largest: &[],
    },
    Sweep {
        command: "density",
        sizes: &[2_000, 5_000],
        args: &["--lookups", "2000"],
        largest: &[],
    },
    Sweep {
        command: "seal",
        sizes: &[2_000, 5_000],
        args: &[],
        largest: &[],
    },
    Sweep {
        command: "search",
        sizes: &[2_000, 5_000],
        args: &["--queries", "200"],
        largest: &[],
    },
    Sweep {
        command: "sync",
        sizes: &[2_000, 5_000],
        args: &[],
        largest: &[],
    },
];

/// The Node bench's sizes: every one must fit the package's 40 MiB budget
/// (about 160k accounts); sql.js is measured at the same sizes even past
/// 64 MiB, which the capacity plot shows against the ceiling.
const WASM_FULL: &[u64] = &[10_000, 50_000, 100_000];
const WASM_QUICK: &[u64] = &[2_000, 5_000];
/// The full run's largest Node run also offers this many accounts to both
/// systems inside 64 MiB (the wasm section's capacity line).
const WASM_CAPACITY: u64 = 250_000;

/// A child's time limit: generous for the 1M runs, bounded all the same.
const CHILD_LIMIT: Duration = Duration::from_secs(20 * 60);

pub fn run(quick: bool) {
    let mut failed: Vec<String> = Vec::new();
    let started = Instant::now();
    let mode = if quick { "quick" } else { "full" };
    // Paths relative to the workspace root, where every child but Node's
    // runs: they appear in the "Generated by" lines of RESULTS.md.
    let dir = Path::new("target/bench").join(mode);
    let samples = dir.join("samples.jsonl");
    let (results, plots) = if quick {
        (dir.join("RESULTS.md"), dir.join("plots"))
    } else {
        (
            Path::new("benches/RESULTS.md").to_path_buf(),
            Path::new("benches/plots").to_path_buf(),
        )
    };
    let up = Path::new("..");
    std::fs::create_dir_all(root().join(&dir)).unwrap_or_else(|e| fail(&dir, e));
    // The sync sweep's reused backend file lives here (not committed).
    let data = root().join("benches/data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| fail(&data, e));
    for stale in [&samples, &dir.join("RESULTS.md")] {
        let _ = std::fs::remove_file(root().join(stale));
    }

    // Two builds: the Node bench's generator runs `cargo run -p
    // satchel-fixtures` alone, whose features differ from the workspace's.
    for krate in ["satchel-benches", "satchel-fixtures"] {
        let mut build = cargo();
        build.args(["build", "--release", "-q", "-p", krate]);
        step(&format!("build {krate} (release)"), build);
    }
    let exe = root().join("target/release/satchel-benches");
    // The npm packages first: a build failure stops the study before the
    // long runs rather than after them.
    let wasm = root().join("wasm");
    if !quick || !wasm.join("pkg-node/satchel_wasm.js").exists() {
        crate::wasm::build();
    }
    if !quick {
        let mut sizes = Command::new("node");
        sizes
            .current_dir(&wasm)
            .args(["scripts/sizes.mjs", "--results"])
            .arg(up.join(&results));
        timed("wasm package sizes", sizes, &mut failed);
    }
    // Every run, smallest org first across benchmarks: a study stopped
    // early still has every figure at the small sizes.
    let mut runs: Vec<(u64, String, Command)> = Vec::new();
    for sweep in if quick { QUICK } else { FULL } {
        for (i, n) in sweep.sizes.iter().enumerate() {
            let mut cmd = Command::new(&exe);
            cmd.current_dir(root())
                .arg(sweep.command)
                .args(["--accounts", &n.to_string()])
                .args(sweep.args)
                .arg("--jsonl")
                .arg(&samples);
            if i + 1 == sweep.sizes.len() {
                cmd.args(sweep.largest).arg("--results").arg(&results);
            }
            runs.push((*n, format!("{} at {n} accounts", sweep.command), cmd));
        }
    }
    if !quick {
        let mut retention = Command::new(&exe);
        retention
            .current_dir(root())
            .args(["retention", "--accounts", "200000", "--results"])
            .arg(&results);
        let name = "retention replay (200,000 accounts, 3 seeds, 3 reps)";
        runs.push((200_000, name.into(), retention));
    }
    let sizes = if quick { WASM_QUICK } else { WASM_FULL };
    for (i, n) in sizes.iter().enumerate() {
        let largest = i + 1 == sizes.len() && !quick;
        let capacity = if largest { WASM_CAPACITY } else { *n };
        let mut node = Command::new("node");
        node.current_dir(&wasm)
            .arg("scripts/bench.mjs")
            .args(["--accounts", &n.to_string()])
            .args(["--capacity", &capacity.to_string()])
            .args(["--queries", if quick { "200" } else { "1000" }])
            .arg("--jsonl")
            .arg(up.join(&samples));
        if largest {
            node.arg("--results").arg(up.join(&results));
        }
        let name = format!("wasm package beside sql.js at {n} accounts");
        runs.push((*n, name, node));
    }
    runs.sort_by_key(|r| r.0);
    for (_, name, cmd) in runs {
        timed(&name, cmd, &mut failed);
    }

    let mut plot = Command::new(&exe);
    plot.current_dir(root())
        .arg("plot")
        .arg("--samples")
        .arg(&samples)
        .arg("--svg-dir")
        .arg(&plots)
        .args(["--link-prefix", "plots/"])
        .args([
            "--command",
            if quick {
                "cargo xtask bench --quick"
            } else {
                "cargo xtask bench"
            },
        ])
        .args([
            "--minutes",
            &format!("{:.0}", started.elapsed().as_secs_f64() / 60.0),
        ])
        // The load the measurements ran under, not the plotting's.
        .args(["--load", &load_average()])
        .arg("--results")
        .arg(&results);
    timed("plots and tables", plot, &mut failed);
    if !failed.is_empty() {
        eprintln!("\nxtask bench: these runs failed (their points are missing):");
        for f in &failed {
            eprintln!("  {f}");
        }
        exit(1);
    }
    check_outputs(
        &root().join(&results),
        &root().join(&plots),
        &root().join(&samples),
    );
    println!(
        "\nscaling study ({mode}): {} and {}",
        results.display(),
        plots.display()
    );
}

/// The study's own check: every system was measured, every figure's plot
/// was drawn and is linked.
fn check_outputs(results: &Path, plots: &Path, samples: &Path) {
    let measured = std::fs::read_to_string(samples).unwrap_or_else(|e| fail(samples, e));
    let mut missing: Vec<&str> = [
        "Satchel",
        "SQLite",
        "Satchel (wasm)",
        "sql.js (wasm)",
        "NDJSON + gzip",
        "NDJSON + zstd",
    ]
    .into_iter()
    .filter(|system| !measured.contains(&format!("\"system\":\"{system}\"")))
    .collect();
    if !missing.is_empty() {
        eprintln!("xtask bench: no samples of {missing:?}");
        exit(1);
    }
    let text = std::fs::read_to_string(results).unwrap_or_else(|e| fail(results, e));
    for fig in [
        "capacity",
        "kept",
        "ingest",
        "bytes",
        "get",
        "prefix",
        "substring",
        "plan",
        "snapshot",
        "sync",
    ] {
        let svg = plots.join(format!("{fig}.svg"));
        let linked = text.contains(&format!("(plots/{fig}.svg)"));
        if !svg.exists() || !linked {
            missing.push(fig);
        }
    }
    if !missing.is_empty() {
        eprintln!("xtask bench: no plot or no link for {missing:?}");
        exit(1);
    }
}

/// `step`, with a time limit (the child is killed past it); a failure is
/// noted in `failed` and the study goes on.
fn timed(name: &str, mut cmd: Command, failed: &mut Vec<String>) {
    println!("\n==> {name}");
    let t = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: cannot start {name}: {e}");
            failed.push(format!("{name}: {e}"));
            return;
        }
    };
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break Ok(()),
            Ok(Some(status)) => break Err(status.to_string()),
            Ok(None) if t.elapsed() > CHILD_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("stopped after {CHILD_LIMIT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(e.to_string());
            }
        }
    };
    let secs = t.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => println!("<== {name}: ok in {secs:.0} s"),
        Err(e) => {
            println!("<== {name}: FAILED ({e}) after {secs:.0} s");
            failed.push(format!("{name}: {e}"));
        }
    }
}

/// The load average over 1, 5 and 15 minutes, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

fn fail(path: &Path, e: std::io::Error) -> ! {
    eprintln!("xtask bench: {}: {e}", path.display());
    exit(1)
}
