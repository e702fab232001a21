//! `cargo xtask web`: the rep's app (`web/`) built and tested in a real
//! browser.
//!
//! Installs what is missing (Debian's `chromium` and `fonts-noto-cjk` with
//! apt-get — we are root on these machines; npm devDependencies
//! `playwright-core` and `acorn`), builds the wasm packages unless the caller
//! just did, builds `web/dist`, and runs `web/tests/` with Node's test runner:
//! ES2017 syntax of every shipped script, and the browser tests against the
//! reference backend on loopback.
//!
//! `cargo xtask demo` (see `demo`) serves the same build with a backend.

use std::path::PathBuf;
use std::process::{exit, Child, Command, Stdio};

use crate::{cargo, root, step, wasm};

/// The reference backend binary (release).
pub fn fixtures_bin() -> PathBuf {
    root().join("target/release/satchel-fixtures")
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Debian's Chromium and a CJK font (Chinese names must not be boxes).
fn browser() {
    let chromium = std::path::Path::new("/usr/bin/chromium").exists();
    let fonts = have("dpkg", &["-s", "fonts-noto-cjk"]);
    if chromium && fonts {
        println!("\n==> chromium, fonts-noto-cjk: already installed");
        return;
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    step("apt-get update", update);
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "chromium", "fonts-noto-cjk"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    step("apt-get install chromium fonts-noto-cjk", install);
}

/// Builds what the app needs: the wasm packages (unless `wasm_built`), the
/// backend binary, `npm ci` in web/ and `web/dist`.
pub fn build(wasm_built: bool) {
    let web = root().join("web");
    let pkgs = ["pkg-web", "pkg-legacy"].iter().all(|p| {
        root()
            .join("wasm")
            .join(p)
            .join("satchel_wasm_bg.wasm")
            .exists()
    });
    if !wasm_built || !pkgs {
        wasm::build();
    }
    let mut fixtures = cargo();
    fixtures.args(["build", "--release", "-q", "-p", "satchel-fixtures"]);
    step("build the reference backend (release)", fixtures);
    let mut npm = Command::new("npm");
    npm.current_dir(&web)
        .args(["ci", "--no-audit", "--no-fund"]);
    step("npm ci in web/ (playwright-core, acorn, terser)", npm);
    let mut dist = Command::new("node");
    dist.current_dir(&web).arg("tools/build.mjs");
    step("build web/dist", dist);
}

/// `cargo xtask web`: build, then the app's tests in Chromium.
pub fn run(wasm_built: bool) {
    browser();
    build(wasm_built);
    let mut tests = Command::new("node");
    tests
        .current_dir(root().join("web"))
        .args(["--test", "tests/"])
        .env("SATCHEL_FIXTURES_BIN", fixtures_bin());
    step(
        "web tests (ES2017 syntax; Chromium: installable, offline, legacy, 500k-row list, sync resume and conflicts across reloads, PIN lock and sealed IndexedDB, kills between IndexedDB writes, first-load bytes, hostile data, screenshots)",
        tests,
    );
}

fn spawn(name: &str, mut cmd: Command) -> Child {
    cmd.spawn().unwrap_or_else(|e| {
        eprintln!("xtask: cannot start {name}: {e}");
        exit(1)
    })
}

/// `cargo xtask demo`: the reference backend with a generated org on
/// 127.0.0.1:8787 and the app on http://127.0.0.1:8080, until Ctrl-C.
pub fn demo(accounts: &str) {
    build(false);
    // The org is generated around today, so "this week" and the trends have data.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1_790_000_000)
        .to_string();
    let mut backend = Command::new(fixtures_bin());
    backend.args([
        "serve",
        "--accounts",
        accounts,
        "--seed",
        "1",
        "--now",
        &now,
        "--port",
        "8787",
    ]);
    let mut backend = spawn("the reference backend", backend);
    let mut server = Command::new("node");
    server
        .current_dir(root().join("web"))
        .args(["tools/serve.mjs", "--port", "8080"]);
    let mut server = spawn("the app's static server", server);
    std::thread::sleep(std::time::Duration::from_secs(2));
    println!(
        "\n  Satchel demo: open http://127.0.0.1:8080/\n  \
         backend: http://127.0.0.1:8787 ({accounts} generated accounts, seed 1, around today)\n  \
         demo login: rep-0003 / satchel (any rep-0001 … works)\n  \
         legacy build: http://127.0.0.1:8080/?legacy=1\n  Ctrl-C stops both.\n"
    );
    let status = server.wait();
    let _ = backend.kill();
    let _ = backend.wait();
    if !matches!(status, Ok(s) if s.success()) {
        exit(1);
    }
}
