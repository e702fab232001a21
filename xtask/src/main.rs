//! `cargo xtask`: the project's two front-door commands.
//!
//! - `cargo xtask demo [--accounts N]`: the rep's app on http://127.0.0.1:8080
//!   with the reference backend on 127.0.0.1:8787 (20,000 generated accounts);
//!   `cargo xtask demo --cli`: generates an org, imports it into a 64 MiB store
//!   and prints what was kept (the first demo).
//! - `cargo xtask test`: everything CI runs, installing what it needs first
//!   (with a nightly toolchain, a ~10 s smoke run of every fuzz target).
//! - `cargo xtask wasm [--million]`: builds the npm packages (web, node,
//!   legacy MVP), validates and measures them, runs their Node tests
//!   (`--million`: also streams a 1,000,000-account org into the wasm store).
//! - `cargo xtask bench [--quick]`: the scaling study: every benchmark at
//!   several sizes beside its peers, SVG plots and `benches/RESULTS.md`
//!   (`--quick`: small sizes into `target/bench/quick/`; part of `test`).
//! - `cargo xtask web`: builds the app (`web/`) and runs its tests in Debian's
//!   Chromium (installed with apt-get when missing) against the reference
//!   backend; part of `cargo xtask test`.
//!
//! `demo` only calls cargo; `test` also runs `npm ci` in
//! `fixtures/json-server` (json-server 0.17 for the end-to-end sync test);
//! `wasm` also needs Node and npm (CI machines have them) and installs
//! wasm-pack, wasm-bindgen-cli and the npm devDependencies (binaryen, wabt)
//! when missing.

mod bench;
mod fuzz;
mod wasm;
mod web;

use std::path::{Path, PathBuf};
use std::process::{exit, Command};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    match args.first().map(String::as_str) {
        Some("demo") if args.iter().any(|a| a == "--cli") => demo(),
        Some("demo") => {
            web::demo(&flag_value(&args, "--accounts").unwrap_or_else(|| "20000".into()))
        }
        Some("test") => test(quick),
        Some("wasm") => wasm::run(args.iter().any(|a| a == "--million")),
        Some("bench") => bench::run(quick),
        Some("web") => web::run(false),
        _ => {
            eprintln!("usage: cargo xtask demo [--accounts N | --cli] | cargo xtask test [--quick] | cargo xtask bench [--quick] | cargo xtask wasm [--million] | cargo xtask web");
            exit(2);
        }
    }
}

/// The value after `name` in `args`.
fn flag_value(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a step, prints its name and time, stops everything if it fails.
pub(crate) fn step(name: &str, mut cmd: Command) {
    println!("\n==> {name}");
    let t = Instant::now();
    let status = cmd.status().unwrap_or_else(|e| {
        eprintln!("xtask: cannot start {name}: {e}");
        exit(1)
    });
    println!(
        "<== {name}: {} in {:.0} s",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    );
    if !status.success() {
        exit(status.code().unwrap_or(1));
    }
}

/// Runs `satchel-benches` (release) with `args` as a step.
fn bench(name: &str, args: &[&str]) {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-q", "-p", "satchel-benches", "--"])
        .args(args);
    step(name, cmd);
}

fn demo() {
    let dir = root().join("target/demo");
    std::fs::create_dir_all(&dir).unwrap();
    let org = dir.join("org.ndjson");
    let store = dir.join("store.bin");
    let mut gen = cargo();
    gen.args([
        "run",
        "--release",
        "-q",
        "-p",
        "satchel-fixtures",
        "--",
        "generate",
        "--accounts",
        "300000",
        "--seed",
        "1",
        "-o",
    ])
    .arg(&org);
    step("generate an org of 300,000 accounts (seed 1)", gen);
    let mut import = cargo();
    import
        .args([
            "run",
            "--release",
            "-q",
            "-p",
            "satchel",
            "--",
            "import",
            "--budget",
            "64MiB",
        ])
        .arg(&org)
        .arg("-o")
        .arg(&store);
    step("import it into a store capped at 64 MiB", import);
    let mut get = cargo();
    get.args(["run", "--release", "-q", "-p", "satchel", "--", "get"])
        .arg(&store)
        .arg(first_id(&org));
    step("read one account back", get);
    println!(
        "\nstore: {}\ntry:   cargo run --release -p satchel -- stats {}",
        store.display(),
        store.display()
    );
}

fn first_id(org: &Path) -> String {
    let text = std::fs::read_to_string(org).unwrap_or_default();
    let line = text.lines().next().unwrap_or("{}");
    let start = line.find("\"id\":\"").map(|i| i + 6).unwrap_or(0);
    line[start..].split('"').next().unwrap_or("").to_string()
}

fn test(quick: bool) {
    let mut targets = Command::new("rustup");
    targets.args([
        "target",
        "add",
        "thumbv7em-none-eabihf",
        "wasm32-unknown-unknown",
    ]);
    step("install the no_std and wasm targets", targets);
    let mut components = Command::new("rustup");
    components.args(["component", "add", "clippy", "rustfmt"]);
    step("install clippy and rustfmt", components);
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step("formatting (cargo fmt --check)", fmt);
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step("lints (clippy, warnings are errors)", clippy);
    // json-server 0.17 for the end-to-end sync test (cli/tests/json_server.rs),
    // which fails rather than skips when told it is required.
    let mut npm = Command::new("npm");
    npm.current_dir(root().join("fixtures/json-server"))
        .args(["ci", "--no-audit", "--no-fund"]);
    step("npm ci in fixtures/json-server (json-server 0.17)", npm);
    let mut tests = cargo();
    tests
        .args(["test", "--workspace"])
        .env("SATCHEL_REQUIRE_JSON_SERVER", "1");
    step("unit, property and integration tests", tests);
    // The fuzz build stores blocks uncompressed (core's `stored-blocks`), so
    // the kept store_ops inputs reach the sizes they crashed at only there.
    let mut kept = cargo();
    kept.args([
        "test",
        "-p",
        "satchel-core",
        "--features",
        "stored-blocks",
        "--test",
        "fuzz_regressions",
    ]);
    step("kept fuzz inputs, as the fuzz build runs them", kept);
    for target in ["thumbv7em-none-eabihf", "wasm32-unknown-unknown"] {
        let mut build = cargo();
        build.args([
            "build",
            "-p",
            "satchel-core",
            "--no-default-features",
            "--target",
            target,
        ]);
        step(&format!("core builds no_std for {target}"), build);
    }
    let capacity = if quick { "100000" } else { "1000000" };
    bench(
        &format!("{capacity} accounts into a 64 MiB budget"),
        &["capacity", "--accounts", capacity, "--budget", "64MiB"],
    );
    bench(
        "retention replay smoke (5,000 accounts, 2 reps)",
        &[
            "retention",
            "--accounts",
            "5000",
            "--seeds",
            "1",
            "--reps",
            "2",
        ],
    );
    fuzz::smoke(if quick { 3 } else { 10 });
    wasm::run(false);
    // Every other benchmark at two small sizes, with the wasm package and
    // sql.js, through the plots: the scaling study's code cannot rot.
    bench::run(true);
    web::run(true);
    println!("\nall checks passed");
}
