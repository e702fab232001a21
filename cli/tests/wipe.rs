//! Remote wipe end to end, over real HTTP against the reference backend:
//! a device logs in and syncs (its files appear, the token is in none of
//! them), the admin flags it, the next `satchel sync` meets
//! `403 device_wiped`, erases the store, its journal and the sync state,
//! says so, and confirms: the flag is cleared and the device's token is
//! revoked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use satchel_fixtures::serve::{serve, ServeConfig, Server, DEFAULT_TOKEN};

fn satchel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("satchel-wipe-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// Status and body of a call; `token` is sent as the bearer.
fn call(server: &Server, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut r = agent()
        .request(method, &format!("{}{path}", server.url()))
        .set("Authorization", &format!("Bearer {token}"));
    if method == "GET" {
        r = r.set("X-Satchel-Device", "tablet-17");
    }
    let resp = match r.send_string(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    (resp.status(), resp.into_string().unwrap())
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_wiped_device_erases_its_store_and_confirms() {
    let mut config = ServeConfig::new(300, 5);
    config.workers = 2;
    let server = serve(config).expect("server starts");
    let dir = temp_dir("e2e");
    let store = dir.join("store.bin");

    let (status, body) = call(
        &server,
        "POST",
        "/v1/login",
        "",
        r#"{"user": "rep-0001", "password": "satchel", "device": "tablet-17"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let login: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = login["token"].as_str().unwrap().to_string();

    let sync = || {
        satchel(&[
            "sync",
            "--base-url",
            &server.url(),
            "--token",
            &token,
            "--store",
            store.to_str().unwrap(),
            "--device",
            "tablet-17",
            "--budget",
            "8MiB",
        ])
    };
    let out = sync();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files_in(&dir),
        [
            "store.bin",
            "store.bin.conflicts.json",
            "store.bin.journal",
            "store.bin.sync.json"
        ]
    );
    for name in files_in(&dir) {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is written in clear in {name}"
        );
    }

    let (status, body) = call(
        &server,
        "POST",
        "/v1/admin/devices/tablet-17/wipe",
        DEFAULT_TOKEN,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let out = sync();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("remote wipe"), "{stdout}");
    assert!(
        stdout.contains("confirmed to the backend"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(files_in(&dir), Vec::<String>::new(), "{stdout}");

    // The confirmation reached the backend: the flag is cleared and the
    // device's token is revoked.
    let (status, body) = call(&server, "GET", "/v1/device", DEFAULT_TOKEN, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""wipe":false"#), "{body}");
    let (status, _) = call(&server, "GET", "/v1/accounts?limit=1", &token, "");
    assert_eq!(status, 401);
    server.shutdown();
}
