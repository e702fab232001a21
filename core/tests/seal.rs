//! A sealed store: snapshot and journal sealed under a PIN-wrapped data key
//! open to exactly the store they came from; any flipped byte, a wrong PIN
//! or a swapped blob is a clear error and nothing loads.

use satchel_core::budget::Budget;
use satchel_core::journal::journal_header;
use satchel_core::outbox::{Change, Patch};
use satchel_core::seal::{self, DataKey, KdfParams, Kind, SealError, NONCE_LEN, SALT_LEN};
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

const FAST: KdfParams = KdfParams {
    memory_kib: 256,
    passes: 1,
    lanes: 1,
};

#[test]
fn a_sealed_store_round_trips_and_every_flipped_byte_is_caught() {
    let config = StoreConfig::default();
    let mut store = Store::with_config(Budget::parse("2MiB").unwrap(), config);
    let accounts: Vec<_> = satchel_fixtures::accounts(&OrgSpec::new(40, 2)).collect();
    store.upsert_batch(accounts.clone()).unwrap();
    let snapshot = store.snapshot();
    let _ = store.take_journal();
    let patch = Patch {
        set: vec![Change::Phone("+46 8 123 45 67".into())],
        ..Patch::default()
    };
    store.edit(&accounts[3].id, patch, 1_790_000_000).unwrap();
    let mut journal = journal_header().to_vec();
    journal.extend(store.take_journal());

    // The device: a random data key, wrapped under the rep's PIN.
    let key = DataKey([0x5a; 32]);
    let wrapped =
        seal::wrap_with_pin(&key, b"2468", FAST, &[9; SALT_LEN], &[1; NONCE_LEN]).unwrap();
    let sealed_snapshot = seal::seal(&key, Kind::Snapshot, &[2; NONCE_LEN], &snapshot);
    let sealed_journal = seal::seal(&key, Kind::Journal, &[3; NONCE_LEN], &journal);
    assert!(!sealed_snapshot
        .windows(accounts[0].name.len())
        .any(|w| w == accounts[0].name.as_bytes()));

    // Unlock and open.
    let key = seal::unwrap_with_pin(&wrapped, b"2468").unwrap();
    let snap = seal::open(&key, Kind::Snapshot, &sealed_snapshot).unwrap();
    let jour = seal::open(&key, Kind::Journal, &sealed_journal).unwrap();
    let (reopened, _) = Store::open(Some(&snap), Some(&jour), store.budget(), config).unwrap();
    assert_eq!(reopened.get(&accounts[3].id), store.get(&accounts[3].id));
    assert_eq!(reopened.outbox(), store.outbox());

    assert_eq!(
        seal::unwrap_with_pin(&wrapped, b"2469"),
        Err(SealError::WrongPin)
    );
    assert_eq!(
        seal::open(&key, Kind::Snapshot, &sealed_journal),
        Err(SealError::WrongKind)
    );
    for i in 0..sealed_snapshot.len() {
        let mut bad = sealed_snapshot.clone();
        bad[i] ^= 1 << (i % 8);
        assert!(
            seal::open(&key, Kind::Snapshot, &bad).is_err(),
            "byte {i} of {}",
            bad.len()
        );
    }
    for i in 0..sealed_journal.len() {
        let mut bad = sealed_journal.clone();
        bad[i] ^= 0xff;
        assert!(
            seal::open(&key, Kind::Journal, &bad).is_err(),
            "journal byte {i}"
        );
    }
}

/// Exhaustive tamper check over a small sealed store: every byte of the
/// sealed snapshot flipped (one bit, the top bit, all bits) and every
/// truncation is refused with the error that names what is wrong, and the
/// store is never opened from a blob that fails.
#[test]
fn every_flipped_byte_of_a_sealed_store_is_a_clear_error() {
    let config = StoreConfig::default();
    let mut store = Store::with_config(Budget::parse("1MiB").unwrap(), config);
    let accounts: Vec<_> = satchel_fixtures::accounts(&OrgSpec::new(6, 4)).collect();
    store.upsert_batch(accounts.clone()).unwrap();
    store
        .edit(
            &accounts[1].id,
            Patch {
                set: vec![Change::Stage("won".into())],
                ..Patch::default()
            },
            1_790_000_000,
        )
        .unwrap();
    let key = DataKey([0x17; 32]);
    let sealed = seal::seal(&key, Kind::Snapshot, &[0x2c; NONCE_LEN], &store.snapshot());
    assert!(Store::open(
        Some(&seal::open(&key, Kind::Snapshot, &sealed).unwrap()),
        None,
        store.budget(),
        config
    )
    .is_ok());
    let mut checked = 0;
    for i in 0..sealed.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = sealed.clone();
            bad[i] ^= mask;
            let err = seal::open(&key, Kind::Snapshot, &bad).expect_err("a changed byte opens");
            let want = match i {
                0..=3 => SealError::Format("magic"),
                4 => SealError::Format("version"),
                5 => SealError::WrongKind,
                _ => SealError::Tampered,
            };
            assert_eq!(err, want, "byte {i} ^ {mask:#04x}");
            assert!(err.to_string().contains("sealed blob"), "{err}");
            checked += 1;
        }
    }
    for n in 0..sealed.len() {
        let err = seal::open(&key, Kind::Snapshot, &sealed[..n]).expect_err("a cut blob opens");
        assert!(
            matches!(err, SealError::Format("too short") | SealError::Tampered),
            "cut at {n}: {err:?}"
        );
    }
    assert_eq!(checked, sealed.len() * 3);
    assert_eq!(
        SealError::Tampered.to_string(),
        "sealed blob does not open: wrong key or changed bytes"
    );
}
