//! Sealed store files, over real HTTP against the reference backend: with
//! `SATCHEL_PIN` in the environment, `satchel sync` writes the store, its
//! journal, the ledger and the sync state as sealed records (nothing in
//! clear: the token, customer names, the sync state's JSON), plus the
//! wrapped key. The right PIN reads it back exactly as a store synced in
//! clear; a wrong PIN, a missing PIN, a PIN for a store in clear and a
//! changed byte are clear errors with a failing exit status that change no
//! file. A remote wipe erases the wrapped key with the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use satchel_fixtures::serve::{serve, ServeConfig, DEFAULT_TOKEN};

const PIN: &str = "4711-seal";

/// Runs the CLI with `pin` as SATCHEL_PIN (or without it).
fn satchel(pin: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_satchel"));
    c.args(args).env_remove("SATCHEL_PIN");
    if let Some(p) = pin {
        c.env("SATCHEL_PIN", p);
    }
    c.output().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("satchel-seal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file in `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The file as sealed records: each a length and a blob starting `SATX`.
fn records(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    let mut n = 0;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        assert_eq!(&rest[4..8], b"SATX", "record {n} is not a sealed blob");
        rest = &rest[4 + len..];
        n += 1;
    }
    n
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_sealed_store_holds_nothing_in_clear_and_opens_only_with_its_pin() {
    let mut config = ServeConfig::new(400, 7);
    config.workers = 2;
    let server = serve(config).expect("server starts");
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let json = |r: ureq::Response| -> serde_json::Value {
        serde_json::from_str(&r.into_string().unwrap()).unwrap()
    };
    let login = json(
        agent
            .post(&format!("{}/v1/login", server.url()))
            .send_string(r#"{"user": "rep-0001", "password": "satchel", "device": "tablet-seal"}"#)
            .unwrap(),
    );
    let token = login["token"].as_str().unwrap().to_string();
    let page = json(
        agent
            .get(&format!("{}/v1/accounts?limit=100", server.url()))
            .set("Authorization", &format!("Bearer {DEFAULT_TOKEN}"))
            .call()
            .unwrap(),
    );
    let accounts = page["items"].as_array().unwrap();
    let names: Vec<&str> = accounts
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let id = accounts[3]["id"].as_str().unwrap().to_string();

    let sealed_dir = temp_dir("sealed");
    let clear_dir = temp_dir("clear");
    let sealed = sealed_dir.join("store.bin");
    let clear = clear_dir.join("store.bin");
    let url = server.url();
    let sync = |pin: Option<&str>, store: &Path| {
        satchel(
            pin,
            &[
                "sync",
                "--base-url",
                &url,
                "--token",
                &token,
                "--store",
                store.to_str().unwrap(),
                "--device",
                "tablet-seal",
                "--budget",
                "8MiB",
            ],
        )
    };
    let s = sealed.to_str().unwrap();
    let c = clear.to_str().unwrap();

    let out = sync(Some(PIN), &sealed);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sync(None, &clear);
    assert!(out.status.success(), "{}", stderr(&out));

    // Sealed: every file but the wrapped key is sealed records, and none
    // holds the token, a name, the device or the sync state's JSON. The
    // same scan finds the sync state in clear in the store synced without
    // a PIN (so the scan can fail).
    let on_disk = files(&sealed_dir);
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        [
            "store.bin",
            "store.bin.conflicts.json",
            "store.bin.journal",
            "store.bin.key",
            "store.bin.sync.json"
        ]
    );
    assert!(contains(
        &files(&clear_dir)["store.bin.sync.json"],
        "\"feeds\""
    ));
    for (name, bytes) in &on_disk {
        if name != "store.bin.key" {
            assert!(records(bytes) >= 1, "{name}");
        }
        for secret in [
            token.as_str(),
            "tablet-seal",
            "rep-0001",
            "\"feeds\"",
            "\"bases\"",
        ] {
            assert!(!contains(bytes, secret), "{secret} in clear in {name}");
        }
        for n in names.iter().filter(|n| n.len() >= 6) {
            assert!(!contains(bytes, n), "the name {n} in clear in {name}");
        }
    }

    // The right PIN reads what a store synced in clear reads.
    let (a, b) = (
        satchel(Some(PIN), &["stats", s]),
        satchel(None, &["stats", c]),
    );
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    let (a, b) = (
        satchel(Some(PIN), &["get", s, &id]),
        satchel(None, &["get", c, &id]),
    );
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(stdout(&a).contains(&id));
    assert_eq!(stdout(&a), stdout(&b));

    // A wrong PIN, no PIN, a PIN for a store in clear: clear errors, a
    // failing status, no file changed (none created).
    let wrong = satchel(Some("0000"), &["stats", s]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("wrong PIN in SATCHEL_PIN"),
        "{}",
        stderr(&wrong)
    );
    let wrong = sync(Some("0000"), &sealed);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("wrong PIN"), "{}", stderr(&wrong));
    let none = satchel(None, &["get", s, &id]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("is sealed") && stderr(&none).contains("SATCHEL_PIN"),
        "{}",
        stderr(&none)
    );
    assert_eq!(
        files(&sealed_dir),
        on_disk,
        "a refused open changed the files"
    );
    let clear_before = files(&clear_dir);
    let pin_for_clear = satchel(Some(PIN), &["stats", c]);
    assert_eq!(pin_for_clear.status.code(), Some(1));
    assert!(
        stderr(&pin_for_clear).contains("is not sealed"),
        "{}",
        stderr(&pin_for_clear)
    );
    assert_eq!(files(&clear_dir), clear_before);

    // A changed byte anywhere in the snapshot: an error, never a partial load.
    let snapshot = &on_disk["store.bin"];
    for at in [6, snapshot.len() / 2, snapshot.len() - 1] {
        let mut bad = snapshot.clone();
        bad[at] ^= 0x20;
        std::fs::write(&sealed, &bad).unwrap();
        let out = satchel(Some(PIN), &["stats", s]);
        assert_eq!(out.status.code(), Some(1), "byte {at}");
        assert!(
            stderr(&out).contains("tampered") || stderr(&out).contains("changed"),
            "byte {at}: {}",
            stderr(&out)
        );
    }
    std::fs::write(&sealed, snapshot).unwrap();

    // Round trip: a second sync with the PIN picks up where the first stopped.
    let out = sync(Some(PIN), &sealed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));
    let again = satchel(Some(PIN), &["stats", s]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("records"));

    // A remote wipe erases the sealed files and the wrapped key with them.
    let flagged = agent
        .post(&format!(
            "{}/v1/admin/devices/tablet-seal/wipe",
            server.url()
        ))
        .set("Authorization", &format!("Bearer {DEFAULT_TOKEN}"))
        .send_string("")
        .unwrap();
    assert_eq!(flagged.status(), 200);
    let out = sync(Some(PIN), &sealed);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stdout(&out).contains("the key"), "{}", stdout(&out));
    assert!(
        files(&sealed_dir).is_empty(),
        "{:?}",
        files(&sealed_dir).keys()
    );
    server.shutdown();
}

#[test]
fn import_with_a_pin_seals_and_reads_back() {
    let dir = temp_dir("import");
    let input = dir.join("in.ndjson");
    let store = dir.join("store.bin");
    let mut ndjson = String::new();
    for i in 0..50 {
        ndjson.push_str(&format!(
            r#"{{"id":"acc-{i}","name":"Sealed Customer Nr{i:03}","company":"Nordvik Trä AB","email":"asa.strom@nordvik.se","phone":"+46 8 123","address":{{"street":"Storgatan {i}","city":"Umeå","postcode":"903 26","country":"SE"}},"geo":{{"lat_e6":63825847,"lon_e6":20263035}},"territory":"SE-N-03","owner":"rep-0007","stage":"negotiation","deal_value":1000,"currency":"SEK","last_contact":1789000000,"next_visit":null,"updated_at":1789900000,"version":3,"tags":["vip"],"custom":{{}},"activities":[]}}"#
        ));
        ndjson.push('\n');
    }
    std::fs::write(&input, ndjson).unwrap();
    let (i, s) = (input.to_str().unwrap(), store.to_str().unwrap());
    let out = satchel(Some(PIN), &["import", i, "--output", s]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (name, bytes) in files(&dir) {
        if name.starts_with("store.bin") && name != "store.bin.key" {
            assert!(records(&bytes) >= 1, "{name}");
            assert!(!contains(&bytes, "Sealed Customer"), "{name}");
        }
    }
    let got = satchel(Some(PIN), &["get", s, "acc-7"]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(
        stdout(&got).contains("Sealed Customer Nr007"),
        "{}",
        stdout(&got)
    );
    // Importing again over it without the PIN is refused: the key file says sealed.
    let out = satchel(None, &["import", i, "--output", s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is sealed"), "{}", stderr(&out));
}
