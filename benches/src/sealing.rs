//! Encryption at rest: how long unlocking takes (Argon2id at the handheld
//! parameters) and how fast a snapshot seals and opens, beside the time to
//! open the same snapshot unsealed.

use std::fmt::Write;
use std::time::Instant;

use satchel_core::budget::Budget;
use satchel_core::seal::{self, DataKey, KdfParams, Kind, NONCE_LEN, SALT_LEN};
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

use crate::density::machine;
use crate::peers;
use crate::samples::Samples;

pub fn run(n: u64, seed: u64, out: &mut Samples) -> String {
    let p = KdfParams::HANDHELD;
    let key = DataKey([0x42; 32]);
    let wrapped = seal::wrap_with_pin(&key, b"2468", p, &[7; SALT_LEN], &[8; NONCE_LEN]).unwrap();
    let mut unlock = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let k = seal::unwrap_with_pin(&wrapped, b"2468").unwrap();
        unlock.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(k, key);
    }
    unlock.sort_by(f64::total_cmp);

    eprintln!("snapshot of {n} accounts");
    let accounts: Vec<_> = satchel_fixtures::accounts(&OrgSpec::new(n, seed)).collect();
    let config = StoreConfig {
        journal: false,
        ..StoreConfig::default()
    };
    let mut store = Store::with_config(Budget::new(usize::MAX), config);
    store.upsert_batch(accounts.clone()).unwrap();
    store.compact();
    let t = Instant::now();
    let snapshot = store.snapshot();
    let save_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(store);
    out.push("snapshot", "Satchel", "save", n, save_ms);
    for (system, (save, load)) in [
        (
            "NDJSON + gzip",
            peers::ndjson_round_trip(&accounts, peers::Codec::Gzip),
        ),
        (
            "NDJSON + zstd",
            peers::ndjson_round_trip(&accounts, peers::Codec::Zstd),
        ),
    ] {
        out.push("snapshot", system, "save", n, save * 1e3);
        out.push("snapshot", system, "load", n, load * 1e3);
    }
    drop(accounts);
    let t = Instant::now();
    let sealed = seal::seal(&key, Kind::Snapshot, &[9; NONCE_LEN], &snapshot);
    let seal_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let opened = seal::open(&key, Kind::Snapshot, &sealed).unwrap();
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(opened, snapshot);
    let t = Instant::now();
    let (store, _) = Store::open(Some(&opened), None, Budget::new(usize::MAX), config).unwrap();
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(store.len() as u64, n);
    out.push("snapshot", "Satchel", "load", n, load_ms);
    let mb = snapshot.len() as f64 / 1e6;

    let mut md = String::new();
    let _ = writeln!(
        md,
        "{}; Argon2id {} KiB, {} passes, {} lane; XChaCha20-Poly1305.\n",
        machine(),
        p.memory_kib,
        p.passes,
        p.lanes
    );
    let _ = writeln!(md, "| step | time |");
    let _ = writeln!(md, "|---|---:|");
    let _ = writeln!(
        md,
        "| unlock: PIN → data key (median of 5) | {:.0} ms |",
        unlock[2]
    );
    let _ = writeln!(
        md,
        "| seal a {n}-account snapshot ({mb:.1} MB) | {seal_ms:.0} ms ({:.0} MB/s) |",
        mb / seal_ms * 1e3
    );
    let _ = writeln!(
        md,
        "| open (decrypt and verify) it | {open_ms:.0} ms ({:.0} MB/s) |",
        mb / open_ms * 1e3
    );
    let _ = writeln!(md, "| then load the store from it | {load_ms:.0} ms |");
    let _ = writeln!(
        md,
        "| (write the unsealed snapshot from the store) | {save_ms:.0} ms |"
    );
    let _ = writeln!(
        md,
        "\nA handheld's CPU is several times slower than this machine's; the KDF cost is \
         the knob (`KdfParams`, stored in the wrapped key, so it can change per device)."
    );
    md
}
