//! The `satchel` binary as an operator uses it: import, stats, get.

use std::path::PathBuf;
use std::process::{Command, Output};

fn satchel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("satchel-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn line(i: usize) -> String {
    format!(
        r#"{{"id":"0015g00000{i:08}","name":"Åsa Ström {i}","company":"Nordvik Trä AB","email":"asa.strom@nordvik.se","phone":"+46 8 123","address":{{"street":"Storgatan {i}","city":"Umeå","postcode":"903 26","country":"SE"}},"geo":{{"lat_e6":63825847,"lon_e6":20263035}},"territory":"SE-N-03","owner":"rep-0007","stage":"negotiation","deal_value":{},"currency":"SEK","last_contact":1789000000,"next_visit":null,"updated_at":1789900000,"version":3,"tags":["vip"],"custom":{{"segment":{{"enum":"smb"}}}},"activities":[{{"kind":"call","at":1789800000,"by":"rep-0007","text":"Ringde, <b>offert</b> skickad"}}]}}"#,
        i * 1000
    )
}

#[test]
fn import_reports_bad_lines_by_number_and_keeps_the_rest() {
    let dir = temp_dir("bad-lines");
    let input = dir.join("org.ndjson");
    let mut bytes = Vec::new();
    for i in 0..5 {
        bytes.extend_from_slice(line(i).as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(b"{\"id\": \"broken\"\n"); // line 6: not JSON
    bytes.extend_from_slice(b"{\"id\":\"x\",\"name\":\"\xff\xfe\"}\n"); // line 7: invalid UTF-8
    let huge = line(99).replace("Ringde", &"x".repeat(300_000));
    bytes.extend_from_slice(huge.as_bytes()); // line 8: too large
    bytes.push(b'\n');
    bytes.extend_from_slice(line(5).as_bytes()); // line 9: fine
    bytes.push(b'\n');
    std::fs::write(&input, bytes).unwrap();
    let store = dir.join("store.bin");
    let out = satchel(&[
        "import",
        "--budget",
        "8MiB",
        input.to_str().unwrap(),
        "-o",
        store.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("line 6:"), "{stderr}");
    assert!(stderr.contains("line 7: not UTF-8"), "{stderr}");
    assert!(
        stderr.contains("line 8:") && stderr.contains("limit"),
        "{stderr}"
    );
    assert!(stdout.contains("records                    6"), "{stdout}");

    // Every kept record comes back as the same canonical JSON line.
    for i in [0, 3, 5] {
        let out = satchel(&["get", store.to_str().unwrap(), &format!("0015g00000{i:08}")]);
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), line(i));
    }
    let missing = satchel(&["get", store.to_str().unwrap(), "nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn a_small_budget_refuses_what_does_not_fit_and_says_so() {
    let dir = temp_dir("budget");
    let input = dir.join("org.ndjson");
    let text: String = (0..400).map(|i| line(i) + "\n").collect();
    std::fs::write(&input, text).unwrap();
    let store = dir.join("store.bin");
    let out = satchel(&[
        "import",
        "--budget",
        "16KiB",
        input.to_str().unwrap(),
        "-o",
        store.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let refused: u64 = stdout
        .lines()
        .find(|l| l.contains("refused, budget"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(refused > 0 && refused < 400, "{stdout}");
    let stats = satchel(&["stats", store.to_str().unwrap(), "--budget", "16KiB"]);
    assert!(
        stats.status.success(),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    assert!(String::from_utf8_lossy(&stats.stdout)
        .contains(&format!("records         {:>12}", 400 - refused)));
}

#[test]
fn a_damaged_store_is_a_clear_error() {
    let dir = temp_dir("damaged");
    let input = dir.join("org.ndjson");
    std::fs::write(&input, line(1) + "\n").unwrap();
    let store = dir.join("store.bin");
    assert!(satchel(&[
        "import",
        input.to_str().unwrap(),
        "-o",
        store.to_str().unwrap()
    ])
    .status
    .success());
    let mut bytes = std::fs::read(&store).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&store, bytes).unwrap();
    let out = satchel(&["stats", store.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
}

#[test]
fn retain_evicts_to_stubs_and_explain_says_why() {
    let dir = temp_dir("retain");
    let input = dir.join("org.ndjson");
    let text: String = (0..200)
        .map(|i| {
            line(i).replace("rep-0007", if i % 4 == 0 { "rep-0001" } else { "rep-0007" }) + "\n"
        })
        .collect();
    std::fs::write(&input, text).unwrap();
    let store = dir.join("store.bin");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules": [{"name": "mine", "weight": 10, "when": {"owner_is_me": true}}]}"#,
    )
    .unwrap();
    assert!(satchel(&[
        "import",
        input.to_str().unwrap(),
        "-o",
        store.to_str().unwrap()
    ])
    .status
    .success());
    let out = satchel(&[
        "retain",
        store.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--me",
        "rep-0001",
        "--now",
        "1790000000",
        "--target",
        "2KiB",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stubbed"), "{stdout}");
    let explain = |id: &str| {
        satchel(&[
            "explain",
            store.to_str().unwrap(),
            id,
            "--rules",
            rules.to_str().unwrap(),
            "--me",
            "rep-0001",
            "--now",
            "1790000000",
        ])
    };
    let mine = explain("0015g0000000000000");
    let text = String::from_utf8_lossy(&mine.stdout);
    assert!(
        mine.status.success()
            && text.contains("\"state\": \"kept\"")
            && text.contains("owner is me"),
        "{text}"
    );
    let theirs = explain("0015g0000000000001");
    let text = String::from_utf8_lossy(&theirs.stdout);
    assert!(
        text.contains("\"state\": \"stub\"") || text.contains("\"state\": \"absent\""),
        "{text}"
    );
    // A bad rule set is an error naming the rule; the store is untouched.
    std::fs::write(
        &rules,
        r#"{"rules": [{"name": "oops", "weight": 1, "when": {"colour": "red"}}]}"#,
    )
    .unwrap();
    let before = std::fs::read(&store).unwrap();
    let bad = satchel(&[
        "retain",
        store.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--me",
        "rep-0001",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rule `oops`"));
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

#[test]
fn search_finds_folded_text_and_insights_print_json() {
    let dir = temp_dir("search");
    let input = dir.join("org.ndjson");
    let lines: Vec<String> = (0..30).map(line).collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let store = dir.join("store.bin");
    let out = satchel(&[
        "import",
        input.to_str().unwrap(),
        "-o",
        store.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let s = store.to_str().unwrap();
    let out = satchel(&["search", s, "STROM 12", "--json", "--limit", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["name"], "Åsa Ström 12");
    assert_eq!(hits[0]["match"], "exact");
    assert_eq!(
        hits[0]["spans"]["name"],
        serde_json::json!([[5, 11], [12, 14]])
    );
    // Table output brackets the match; a filter that excludes all finds none.
    let out = satchel(&["search", s, "ume"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("| Umeå"));
    let out = satchel(&["search", s, "åsa", "--territory", "DE-BY-01", "--json"]);
    assert!(out.status.success() && out.stdout.is_empty());
    let out = satchel(&["search", s, "x", "--limit", "5000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit 5000"));

    let out = satchel(&["insights", s, "--me", "rep-0007", "--now", "1789900000"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 30);
    assert_eq!(v["pipeline"][0]["stage"], "negotiation");
    assert_eq!(v["pipeline"][0]["accounts"], 30);
    assert_eq!(v["this_week"]["calls"], 30);
}

#[test]
fn sync_refuses_a_damaged_conflicts_ledger_with_what_to_do() {
    let dir = temp_dir("bad-ledger");
    let store = dir.join("store.bin");
    std::fs::write(dir.join("store.bin.conflicts.json"), b"{\"bases\": 7}").unwrap();
    // The ledger is read before any connection: the port is never dialled.
    let out = satchel(&[
        "sync",
        "--base-url",
        "http://127.0.0.1:9",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.bin.conflicts.json: not a conflicts ledger")
            && err.contains("delete it"),
        "{err}"
    );
    assert!(!store.exists(), "nothing written");
}
