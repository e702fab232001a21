//! Every input the fuzzers ever crashed on (`fixtures/fuzz-regressions/
//! <target>/`), and the seed corpora (`fuzz/corpus/<target>/seed-*`),
//! replayed through the fuzz targets' own entry points on stable Rust: a
//! fixed bug stays fixed without nightly or cargo-fuzz.
//!
//! The entry points are `fuzz/src/lib.rs`, included here by path, so this
//! test runs exactly what the fuzzer ran. Each panics when an invariant
//! breaks (a clear error is a pass).

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod entries;

use std::path::Path;

/// A fuzz target's entry point.
type Entry = fn(&[u8]);

const TARGETS: [(&str, Entry); 6] = [
    ("snapshot_open", entries::snapshot_open),
    ("journal_replay", entries::journal_replay),
    ("seal_open", entries::seal_open),
    ("profile_parse", entries::profile_parse),
    ("response_map", entries::response_map),
    ("store_ops", entries::store_ops),
];

fn entry(target: &str) -> Entry {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("{target}: no fuzz target of that name"))
        .1
}

/// Replays the files of `dir/<target>/` whose names start with `prefix`;
/// returns how many.
fn replay(dir: &Path, prefix: &str) -> usize {
    let Ok(targets) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for t in targets {
        let t = t.unwrap();
        if !t.file_type().unwrap().is_dir() {
            continue;
        }
        let name = t.file_name().to_string_lossy().into_owned();
        let run = entry(&name);
        let mut files: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(prefix))
            })
            .collect();
        files.sort();
        for f in files {
            eprintln!("{}", f.display());
            run(&std::fs::read(&f).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn kept_fuzz_crashes_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crashes = replay(&root.join("fixtures/fuzz-regressions"), "");
    let seeds = replay(&root.join("fuzz/corpus"), "seed-");
    println!("replayed {crashes} kept crash inputs and {seeds} seeds");
    assert!(seeds >= TARGETS.len(), "the seed corpora are missing");
}
