//! `cargo xtask wasm [--million]`: the npm packages of `wasm/`.
//!
//! Installs what is missing (the wasm target, wasm-pack, wasm-bindgen-cli at
//! the version Cargo.lock pins, the npm devDependencies binaryen and wabt),
//! builds three packages, optimizes them with binaryen's wasm-opt, validates
//! the legacy one as WebAssembly MVP, prints sizes and runs the Node tests:
//!
//! | dir | target | wasm |
//! |---|---|---|
//! | `wasm/pkg-web` | ES module (browsers, bundlers) | default features |
//! | `wasm/pkg-node` | CommonJS for Node | default features |
//! | `wasm/pkg-legacy` | ES module (browsers, bundlers) | MVP only |
//!
//! The legacy build compiles with `-C target-cpu=mvp` into its own target
//! dir (so neither build invalidates the other), and wasm-opt lowers what the
//! precompiled std still carries (bulk memory, sign extension, saturating
//! float conversions). `strip = true` in the `wasm-release` profile matters:
//! see shared/DESIGN.md, build notes.

use std::process::{exit, Command};

use crate::{root, step};

/// Pinned so that every machine builds with the same packer.
const WASM_PACK_VERSION: &str = "0.15.1";

/// wasm-opt flags of the modern builds: the features rustc's wasm32 target
/// emits by default.
const MODERN_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-mutable-globals",
];

/// wasm-opt flags of the legacy build: read what std carries, lower it away.
const LEGACY_LOWERING: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-multivalue",
    "--llvm-memory-copy-fill-lowering",
    "--signext-lowering",
    "--llvm-nontrapping-fptoint-lowering",
];

/// wasm-opt's size passes for every build. `--merge-similar-functions`
/// (not part of `-Oz`) folds functions that differ only in constants into
/// one with a parameter: -3.0 KB raw, -0.7 KB gzip on the legacy module.
/// Tried and not kept: `--converge` (nothing beyond this), `-O4 -Oz` and
/// `--gufa` (larger), `--ignore-implicit-traps` (-0.1 KB, not worth the
/// assumption).
const WASM_OPT_SIZE: &[&str] = &["--merge-similar-functions", "-Oz"];

/// wasm-opt's speed passes for the Node package, which nobody downloads
/// over a bad link: with rustc's opt-level 3 (see [`Package::speed`]).
const WASM_OPT_SPEED: &[&str] = &["-O3"];

/// wasm-validate with every post-MVP feature off.
pub const MVP_ONLY: &[&str] = &[
    "--disable-mutable-globals",
    "--disable-saturating-float-to-int",
    "--disable-sign-extension",
    "--disable-simd",
    "--disable-multi-value",
    "--disable-bulk-memory",
    "--disable-reference-types",
];

struct Package {
    dir: &'static str,
    target: &'static str,
    legacy: bool,
    /// Compiled for speed (opt-level 3, wasm-opt -O3) rather than size.
    /// The Node package: measured with `wasm/scripts/bench.mjs` on 20,000
    /// accounts, ingest 3,114 -> 6,412 accounts/s, get p50 459 -> 235 µs,
    /// prefix search p50 2,507 -> 1,245 µs, for 604 -> 924 KB raw.
    speed: bool,
}

const PACKAGES: &[Package] = &[
    Package {
        dir: "pkg-web",
        target: "web",
        legacy: false,
        speed: false,
    },
    Package {
        dir: "pkg-node",
        target: "nodejs",
        legacy: false,
        speed: true,
    },
    Package {
        dir: "pkg-legacy",
        target: "web",
        legacy: true,
        speed: false,
    },
];

pub fn run(million: bool) {
    build();
    tests(million);
}

/// Installs what is missing, builds, optimizes, validates and measures the
/// three packages (no tests).
pub fn build() {
    let wasm = root().join("wasm");
    let mut target = Command::new("rustup");
    target.args(["target", "add", "wasm32-unknown-unknown"]);
    step("install the wasm target", target);
    install_if_missing(
        "wasm-pack",
        WASM_PACK_VERSION,
        &["wasm-pack", "--version", WASM_PACK_VERSION, "--locked"],
    );
    let bindgen = locked_version("wasm-bindgen");
    // Not --locked: its lock file names a webpki-roots release the registry
    // no longer serves.
    install_if_missing(
        "wasm-bindgen",
        &bindgen,
        &["wasm-bindgen-cli", "--version", &bindgen],
    );
    let mut npm = Command::new("npm");
    npm.current_dir(&wasm)
        .args(["ci", "--no-audit", "--no-fund"]);
    step("npm ci in wasm/ (binaryen, wabt)", npm);

    let bin = wasm.join("node_modules/.bin");
    for p in PACKAGES {
        let mut build = Command::new("wasm-pack");
        build.current_dir(&wasm).args([
            "build",
            "--target",
            p.target,
            "--out-dir",
            p.dir,
            "--profile",
            "wasm-release",
            "--no-opt",
        ]);
        if p.legacy {
            build
                .env("RUSTFLAGS", "-C target-cpu=mvp")
                .env("CARGO_TARGET_DIR", root().join("target/wasm-legacy"));
        }
        if p.speed {
            build
                .env("CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL", "3")
                .env("CARGO_TARGET_DIR", root().join("target/wasm-speed"));
        }
        step(
            &format!("wasm-pack build {} (--target {})", p.dir, p.target),
            build,
        );
        let file = wasm.join(p.dir).join("satchel_wasm_bg.wasm");
        let mut opt = Command::new(bin.join("wasm-opt"));
        opt.arg(&file)
            .arg("-o")
            .arg(&file)
            .args(if p.legacy {
                LEGACY_LOWERING
            } else {
                MODERN_FEATURES
            })
            .args(if p.speed {
                WASM_OPT_SPEED
            } else {
                WASM_OPT_SIZE
            });
        step(&format!("wasm-opt {}", p.dir), opt);
        if p.target == "nodejs" {
            commonjs_snippets(&wasm.join(p.dir));
        }
        // Build output must not be committed (wasm-pack writes its own
        // .gitignore too; this keeps `npm pack` of the package clean).
        let _ = std::fs::remove_file(wasm.join(p.dir).join(".gitignore"));
    }
    let legacy = wasm.join("pkg-legacy/satchel_wasm_bg.wasm");
    let mut validate = Command::new(bin.join("wasm-validate"));
    validate.args(MVP_ONLY).arg(&legacy);
    step(
        "wasm-validate pkg-legacy with every post-MVP feature disabled",
        validate,
    );
    let mut sizes = Command::new("node");
    sizes.current_dir(&wasm).arg("scripts/sizes.mjs");
    step(
        "sizes (legacy gzip: target 150 KB, guard in wasm/scripts/sizes.mjs)",
        sizes,
    );
}

/// The CommonJS build `require`s wasm-bindgen's JS snippets (`js/sync.js`,
/// the sync loop), which are ES modules: their one `export { … };` line
/// becomes `module.exports = { … };`. The snippet keeps its exports on that
/// one line for this; anything else fails the build.
fn commonjs_snippets(pkg: &std::path::Path) {
    let mut files = Vec::new();
    let mut dirs = vec![pkg.join("snippets")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "js") {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let exports: Vec<&str> = text.lines().filter(|l| l.starts_with("export ")).collect();
        let [line] = exports.as_slice() else {
            eprintln!(
                "xtask: {}: want exactly one `export {{ … }};` line, found {}",
                f.display(),
                exports.len()
            );
            exit(1)
        };
        let Some(names) = line
            .strip_prefix("export {")
            .and_then(|r| r.strip_suffix("};"))
        else {
            eprintln!("xtask: {}: `{line}` is not `export {{ … }};`", f.display());
            exit(1)
        };
        let cjs = text.replace(line, &format!("module.exports = {{{names}}};"));
        if let Err(e) = std::fs::write(&f, cjs) {
            eprintln!("xtask: {}: {e}", f.display());
            exit(1)
        }
        println!("    {}: export -> module.exports", f.display());
    }
}

/// The Node tests of the built packages (`million`: also the 1M-account run).
fn tests(million: bool) {
    let wasm = root().join("wasm");
    // tests/sync.test.mjs talks to the real reference backend over loopback.
    let mut fixtures = crate::cargo();
    fixtures.args(["build", "--release", "-q", "-p", "satchel-fixtures"]);
    step("build the reference backend (release)", fixtures);
    // tests/*.test.mjs and tests/scale/ (20,000 accounts streamed into a
    // 1 MB store, ranked: about 25 s since ingest writes batches).
    let mut files: Vec<String> = std::fs::read_dir(wasm.join("tests"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".test.mjs"))
                .map(|n| format!("tests/{n}"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.push("tests/scale/ingest-ranked.test.mjs".into());
    let mut tests = Command::new("node");
    tests
        .current_dir(&wasm)
        .arg("--test")
        .args(&files)
        .env("SATCHEL_FIXTURES_BIN", crate::web::fixtures_bin());
    step("Node tests of the packages", tests);
    if million {
        let mut m = Command::new("node");
        m.current_dir(&wasm).arg("scripts/million.mjs");
        step("1,000,000 accounts into the wasm store capped at 64 MiB", m);
    }
}

/// The version of `crate` that Cargo.lock pins.
fn locked_version(krate: &str) -> String {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap_or_else(|e| {
        eprintln!("xtask: Cargo.lock: {e}");
        exit(1)
    });
    let needle = format!("name = \"{krate}\"\nversion = \"");
    let Some(at) = lock.find(&needle) else {
        eprintln!("xtask: {krate} is not in Cargo.lock");
        exit(1)
    };
    let rest = &lock[at + needle.len()..];
    rest[..rest.find('"').unwrap_or(0)].to_string()
}

/// `cargo install` `args` unless `tool --version` already says `version`.
fn install_if_missing(tool: &str, version: &str, args: &[&str]) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if let Some(v) = found {
        if v.split_whitespace().any(|w| w == version) {
            println!("\n==> {tool} {version}: already installed");
            return;
        }
    }
    let mut install = crate::cargo();
    install.arg("install").args(args);
    step(&format!("cargo install {tool} {version}"), install);
}
