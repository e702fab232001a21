//! `cargo xtask test`'s fuzz smoke: every cargo-fuzz target in `fuzz/` for
//! about ten seconds from its seed corpus, when a nightly toolchain is
//! installed (cargo-fuzz is installed when missing). Without nightly the
//! step is skipped and says so: the stable check of fuzzing is
//! `core/tests/fuzz_regressions.rs`, which replays every kept crash input.

use std::process::Command;

use crate::{root, step};

/// The targets, as in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 6] = [
    "snapshot_open",
    "journal_replay",
    "seal_open",
    "profile_parse",
    "response_map",
    "store_ops",
];

fn nightly() -> bool {
    Command::new("cargo")
        .args(["+nightly", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn smoke(seconds: u32) {
    if !nightly() {
        println!("\n==> fuzz smoke: skipped (no nightly toolchain; `rustup toolchain install nightly` to run it)");
        return;
    }
    let has_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        let mut install = Command::new("cargo");
        install.args(["install", "cargo-fuzz"]);
        step("install cargo-fuzz", install);
    }
    let dir = root().join("fuzz");
    let mut build = Command::new("cargo");
    build
        .current_dir(&dir)
        .args(["+nightly", "fuzz", "build", "-s", "none", "-a"]);
    step("build the fuzz targets (nightly)", build);
    for t in TARGETS {
        let mut run = Command::new("cargo");
        // A scratch corpus: the smoke run must not grow the checked-in one.
        let scratch = root().join("target/fuzz-smoke").join(t);
        let _ = std::fs::create_dir_all(&scratch);
        run.current_dir(&dir)
            .args(["+nightly", "fuzz", "run", t, "-s", "none", "-a"])
            .arg(&scratch)
            .arg(format!("corpus/{t}"))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=1024",
            ]);
        step(&format!("fuzz {t} for {seconds} s"), run);
    }
}
