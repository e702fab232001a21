//! Writes the seed corpora (`fuzz/corpus/<target>/seed-*`) from the golden
//! blobs in `fixtures/golden`, the built-in profiles and small generated
//! stores, pages and sealed blobs. Run from `fuzz/`: `cargo run --example seeds`.

use std::path::Path;

use satchel_core::budget::Budget;
use satchel_core::journal::journal_header;
use satchel_core::outbox::{Change, Patch};
use satchel_core::seal::{self, KdfParams, Kind, NONCE_LEN, SALT_LEN};
use satchel_core::store::Store;
use satchel_core::sync::profile::{JSON_SERVER, REFERENCE};
use satchel_fuzz::{
    sample_accounts, FIELD_MAPPED_PROFILE, GOLDEN_JOURNAL, GOLDEN_SNAPSHOT, SEED_KEY,
};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn main() {
    let accounts = sample_accounts(12);
    let mut store = Store::new(Budget::parse("1MiB").unwrap());
    for a in &accounts {
        store.upsert(a.clone()).unwrap();
    }
    let snapshot = store.snapshot();
    let _ = store.take_journal();
    store
        .edit(
            &accounts[2].id,
            Patch {
                set: vec![Change::Phone("+46 8 123".into())],
                ..Patch::default()
            },
            1_790_000_000,
        )
        .unwrap();
    store.delete(&accounts[3].id).unwrap();
    let mut journal = journal_header().to_vec();
    journal.extend(store.take_journal());

    put("snapshot_open", "golden", GOLDEN_SNAPSHOT);
    put("snapshot_open", "generated", &snapshot);
    put("journal_replay", "golden", GOLDEN_JOURNAL);
    put("journal_replay", "generated", &journal);

    put(
        "seal_open",
        "snapshot",
        &seal::seal(&SEED_KEY, Kind::Snapshot, &[1; NONCE_LEN], &snapshot),
    );
    put(
        "seal_open",
        "journal",
        &seal::seal(&SEED_KEY, Kind::Journal, &[2; NONCE_LEN], &journal),
    );
    put(
        "seal_open",
        "secret",
        &seal::seal(&SEED_KEY, Kind::Secret, &[3; NONCE_LEN], b"token"),
    );
    let tiny = KdfParams {
        memory_kib: 8,
        passes: 1,
        lanes: 1,
    };
    put(
        "seal_open",
        "wrapped",
        &seal::wrap_with_pin(&SEED_KEY, b"1234", tiny, &[4; SALT_LEN], &[5; NONCE_LEN]).unwrap(),
    );

    put("profile_parse", "reference", REFERENCE.as_bytes());
    put("profile_parse", "json-server", JSON_SERVER.as_bytes());
    put(
        "profile_parse",
        "field-mapped",
        FIELD_MAPPED_PROFILE.as_bytes(),
    );

    let items: Vec<serde_json::Value> = accounts
        .iter()
        .take(4)
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    let mut tomb = serde_json::json!({"id": accounts[5].id, "deleted": true, "updated_at": 1_790_000_100, "version": 9});
    let reference = serde_json::json!({
        "items": [items[0], items[1], tomb.take()],
        "next": {"since": 1_790_000_000, "after_seq": 37, "href": "/v1/accounts?since=1790000000&after_seq=37"},
        "watermark": {"since": 1_790_000_000, "after_seq": 37}
    });
    let mut page = vec![0u8];
    page.extend(serde_json::to_vec(&reference).unwrap());
    put("response_map", "reference", &page);
    let mut page = vec![1u8];
    page.extend(serde_json::to_vec(&items).unwrap());
    put("response_map", "json-server", &page);
    let hub = serde_json::json!({
        "results": [{"id": "512", "etag": "W/\"12\"", "properties": {"name": "Acme AB", "phone": "+46 8 1",
                     "amount": "1234.5", "lifecyclestage": "customer", "city": "Umeå",
                     "next": 1790000000000i64, "tags": "a;b", "score": "4.5"},
                     "updatedAt": "2026-09-21T14:05:00Z"}],
        "paging": {"next": {"after": "512"}}
    });
    let mut page = vec![2u8];
    page.extend(serde_json::to_vec(&hub).unwrap());
    put("response_map", "field-mapped", &page);
    // Related feeds (selector bit 0x40; 0x30: which feed; bit 0: the profile).
    let keyset = |items: serde_json::Value| serde_json::json!({"items": items, "next": null, "watermark": {"since": 2, "after_seq": 2}});
    let related = [
        (
            "related-contacts",
            0x40u8,
            keyset(serde_json::json!([
            {"id": "A1-C0", "account_id": "A1", "name": "Åsa", "role": "buyer", "email": "a@x.se",
             "phone": "+46", "updated_at": 1, "version": 1},
            {"id": "A2-C9", "account_id": "A2", "deleted": true, "updated_at": 1, "version": 2}])),
        ),
        (
            "related-deals",
            0x50,
            keyset(serde_json::json!([
            {"id": "A2-D0", "account_id": "A2", "title": "Pumps", "stage": "won", "value": 129900,
             "currency": "SEK", "close_date": 1790000000, "updated_at": 1, "version": 1}])),
        ),
        (
            "related-prices",
            0x60,
            keyset(serde_json::json!([
            {"id": "PL-SE", "territory_prefix": "SE", "currency": "SEK",
             "items": [{"sku": "P-1", "name": "Pump", "unit_price": 129900}], "updated_at": 1}])),
        ),
        (
            "related-hub-contacts",
            0x41,
            serde_json::json!({"results": [
            {"id": "9", "properties": {"fullname": "Bo"}, "updatedAt": "2026-09-21T14:05:00Z",
             "associations": {"companies": {"results": [{"id": "A1"}]}}}]}),
        ),
        (
            "related-hub-tasks",
            0x61,
            serde_json::json!({"results": [
            {"WhatId": "A1", "type": "Call", "date": "2026-09-21", "by": "rep-1", "text": "hi"}]}),
        ),
    ];
    for (name, selector, body) in related {
        let mut page = vec![selector];
        page.extend(serde_json::to_vec(&body).unwrap());
        put("response_map", name, &page);
    }

    for (i, len) in [16usize, 64, 200, 600].into_iter().enumerate() {
        let ops: Vec<u8> = (0..len).map(|k| ((k * 37 + i * 11) % 251) as u8).collect();
        put("store_ops", &format!("mix{i}"), &ops);
    }
}
