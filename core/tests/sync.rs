//! Sync against the reference backend over real HTTP on 127.0.0.1: full
//! pull, delta, tombstones, push exactly once, idempotent replay, two devices
//! editing one account, hostile pages, wipe, and a seeded fault-injection
//! run (drops, 5xx, 429, lost responses, truncated, malformed and endless
//! pages, process restarts between any two steps).

use std::io::Read;
use std::time::Duration;

use satchel_core::budget::Budget;
use satchel_core::conflicts::{LedgerState, Resolution};
use satchel_core::model::{Account, Activity, ActivityKind, Contact, Deal};
use satchel_core::outbox::{Change, Patch};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::builtin;
use satchel_core::sync::{
    Action, HttpRequest, HttpResponse, SyncConfig, SyncError, SyncSession, SyncState,
};
use satchel_fixtures::serve::{
    serve, Clock, FaultConfig, Malformed, ServeConfig, Server, Switch, DEFAULT_TOKEN,
};
use serde_json::Value;

const T0: i64 = 1_800_000_000;

fn start(accounts: u64, seed: u64) -> Server {
    let mut c = ServeConfig::new(accounts, seed);
    c.clock = Clock::manual(T0);
    c.workers = 2;
    serve(c).expect("server starts")
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// The transport: what the CLI does, in a few lines.
fn send(agent: &ureq::Agent, req: &HttpRequest) -> Result<HttpResponse, String> {
    let mut r = agent.request(&req.method, &req.url);
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    let resp = match r.send_bytes(&req.body) {
        Ok(resp) => resp,
        Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(32 << 20)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn ctx() -> RankContext {
    RankContext {
        now: T0,
        me: "rep-0001".into(),
        territories: vec![],
    }
}

fn config(server: &Server, device: &str) -> SyncConfig {
    let mut c = SyncConfig::new(&server.url(), DEFAULT_TOKEN, device, ctx());
    c.backoff_ms = 1;
    c
}

/// Pumps a session to its end; waits are virtual (not slept).
fn run(store: &mut Store, state: SyncState, config: SyncConfig) -> (Action, SyncState) {
    let agent = agent();
    let mut s = SyncSession::new(builtin("reference").unwrap(), config, state, store);
    loop {
        match s.poll(store) {
            Action::Send(req) => match send(&agent, &req) {
                Ok(resp) => s.handle_response(store, resp),
                Err(e) => s.handle_transport_error(&e),
            },
            Action::Wait { .. } => {}
            other => return (other, s.state().clone()),
        }
    }
}

fn store(budget: &str) -> Store {
    Store::with_config(
        Budget::parse(budget).unwrap(),
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    )
}

/// Raw admin-side calls (server token, no faults on /v1/admin).
fn api(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    if_match: Option<u64>,
) -> Value {
    let mut r = agent()
        .request(method, &format!("{}{path}", server.url()))
        .set("Authorization", &format!("Bearer {DEFAULT_TOKEN}"));
    if let Some(v) = if_match {
        r = r.set("If-Match", &format!("\"{v}\""));
    }
    let resp = match body {
        Some(b) => r.send_json(b),
        None => r.call(),
    };
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    resp.into_json().unwrap_or(Value::Null)
}

/// Every live record of one of the server's feeds (`/v1/accounts`,
/// `/v1/contacts`, …), unfiltered; faults must be off.
fn server_feed(server: &Server, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut q = format!("{path}?limit=1000&include_deleted=false");
    loop {
        let page = api(server, "GET", &q, None, None);
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match &page["next"] {
            Value::Null => break,
            n => {
                q = format!(
                    "{path}?limit=1000&include_deleted=false&since={}&after_seq={}",
                    n["since"], n["after_seq"]
                )
            }
        }
    }
    out
}

/// Every live account on the server with its contacts and deals attached,
/// as a device that holds the whole org keeps it (faults must be off).
fn server_accounts(server: &Server) -> Vec<Account> {
    let mut out: Vec<Account> = server_feed(server, "/v1/accounts")
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    out.sort_by(|a: &Account, b| a.id.cmp(&b.id));
    let at = |out: &mut Vec<Account>, v: &Value| -> Option<usize> {
        out.binary_search_by(|a| a.id.as_str().cmp(v["account_id"].as_str().unwrap()))
            .ok()
    };
    for c in server_feed(server, "/v1/contacts") {
        if let Some(i) = at(&mut out, &c) {
            out[i].contacts.push(Contact {
                id: c["id"].as_str().unwrap().into(),
                name: c["name"].as_str().unwrap().into(),
                role: c["role"].as_str().unwrap().into(),
                email: c["email"].as_str().unwrap().into(),
                phone: c["phone"].as_str().unwrap().into(),
            });
        }
    }
    for d in server_feed(server, "/v1/deals") {
        if let Some(i) = at(&mut out, &d) {
            out[i].deals.push(Deal {
                id: d["id"].as_str().unwrap().into(),
                title: d["title"].as_str().unwrap().into(),
                stage: d["stage"].as_str().unwrap().into(),
                value: d["value"].as_i64().unwrap(),
                currency: d["currency"].as_str().unwrap().into(),
                close_date: d["close_date"].as_i64(),
            });
        }
    }
    out
}

fn device_accounts(store: &Store) -> Vec<Account> {
    let mut v: Vec<Account> = store.iter().collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// An account without its contacts and deals, as the backend's account
/// endpoint returns it.
fn bare(mut a: Account) -> Account {
    a.contacts.clear();
    a.deals.clear();
    a
}

fn done(a: &Action) {
    assert!(matches!(a, Action::Done(_)), "sync did not finish: {a:?}");
}

#[test]
fn full_pull_delta_tombstones_and_push_exactly_once() {
    let server = start(300, 5);
    let mut st = store("16MiB");
    let (a, state) = run(&mut st, SyncState::default(), config(&server, "d1"));
    done(&a);
    assert_eq!(
        device_accounts(&st),
        server_accounts(&server),
        "full pull = the org"
    );

    // Server-side writes: a change and a delete; the delta brings both.
    let ids: Vec<String> = device_accounts(&st).iter().map(|a| a.id.clone()).collect();
    server.clock().advance(60);
    api(
        &server,
        "PATCH",
        &format!("/v1/accounts/{}", ids[0]),
        Some(serde_json::json!({"stage": "won"})),
        None,
    );
    api(
        &server,
        "DELETE",
        &format!("/v1/accounts/{}", ids[1]),
        None,
        None,
    );
    let (a, state) = run(&mut st, state, config(&server, "d1"));
    done(&a);
    assert_eq!(st.get(&ids[0]).unwrap().stage, "won");
    assert!(st.get(&ids[1]).is_none(), "tombstone deletes");
    assert_eq!(device_accounts(&st), server_accounts(&server));

    // An edit is pushed once, acknowledged, and the device takes the server's version.
    let before = st.get(&ids[2]).unwrap();
    let note = Activity {
        kind: ActivityKind::Note,
        at: T0,
        by: "rep-0001".into(),
        text: "push once".into(),
    };
    st.edit(
        &ids[2],
        Patch {
            set: vec![Change::Phone("+46 8 1".into())],
            log: vec![note],
            delete: false,
        },
        T0,
    )
    .unwrap();
    let (a, _) = run(&mut st, state, config(&server, "d1"));
    done(&a);
    assert!(st.outbox().is_empty());
    let on_server: Account = serde_json::from_value(api(
        &server,
        "GET",
        &format!("/v1/accounts/{}", ids[2]),
        None,
        None,
    ))
    .unwrap();
    assert_eq!(on_server.phone, "+46 8 1");
    assert_eq!(
        on_server.version,
        before.version + 1,
        "applied exactly once"
    );
    assert_eq!(
        on_server
            .activities
            .iter()
            .filter(|x| x.text == "push once")
            .count(),
        1
    );
    assert_eq!(bare(st.get(&ids[2]).unwrap()), on_server);
    assert_eq!(
        device_accounts(&st),
        server_accounts(&server),
        "contacts and deals stay on their accounts through the push"
    );
    server.shutdown();
}

#[test]
fn related_feeds_follow_the_accounts_onto_the_device() {
    let server = start(300, 11);
    let org = server_accounts(&server);
    let mine = |org: &[Account]| -> Vec<Account> {
        org.iter()
            .filter(|a| a.owner == "rep-0001")
            .cloned()
            .collect()
    };
    let related = |a: &Account| (a.contacts.len() + a.deals.len()) as u64;
    let lists = server_feed(&server, "/v1/price_lists");
    let all_related: u64 = server_feed(&server, "/v1/contacts").len() as u64
        + server_feed(&server, "/v1/deals").len() as u64;

    // Rules that keep only the rep's own accounts: the backend filters the
    // accounts feed; contacts and deals of other accounts are skipped.
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "mine", "weight": 100, "when": {"owner_is_me": true}}]}"#,
    )
    .unwrap();
    let mut c = config(&server, "d1");
    c.rules = Some(rules);
    let mut st = store("16MiB");
    let (a, state) = run(&mut st, SyncState::default(), c.clone());
    let Action::Done(r) = a else { panic!("{a:?}") };
    let want = mine(&org);
    let kept_related: u64 = want.iter().map(related).sum();
    assert!(kept_related > 0, "the seed gives the rep contacts or deals");
    assert_eq!(
        device_accounts(&st),
        want,
        "each account with its contacts and deals"
    );
    assert_eq!(
        r.related_upserted,
        kept_related + lists.len() as u64,
        "{r:?}"
    );
    assert_eq!(r.related_skipped, all_related - kept_related, "{r:?}");
    let ids: Vec<&str> = st.price_lists().map(|l| l.id.as_str()).collect();
    let mut want_ids: Vec<&str> = lists.iter().map(|l| l["id"].as_str().unwrap()).collect();
    want_ids.sort();
    assert_eq!(ids, want_ids);
    let t = &want[0].territory;
    let picked = st.price_list_for(t).unwrap();
    assert!(t.starts_with(&picked.territory_prefix) && !picked.territory_prefix.is_empty());

    // The backend changes one of the rep's accounts that has contacts: the
    // delta brings the account, which keeps its contacts and deals.
    let with = want.iter().find(|a| !a.contacts.is_empty()).unwrap();
    server.clock().advance(60);
    api(
        &server,
        "PATCH",
        &format!("/v1/accounts/{}", with.id),
        Some(serde_json::json!({"stage": "won"})),
        None,
    );
    let (a, _) = run(&mut st, state.clone(), c.clone());
    let Action::Done(r) = a else { panic!("{a:?}") };
    assert_eq!((r.upserted, r.related_upserted), (1, 0), "{r:?}");
    let now = st.get(&with.id).unwrap();
    assert_eq!(now.stage, "won");
    assert_eq!((&now.contacts, &now.deals), (&with.contacts, &with.deals));

    // The rules change to keep everything: the accounts start over, and so
    // do the contacts and deals, so the accounts that arrive get theirs.
    c.rules = None;
    let (a, _) = run(&mut st, state, c);
    done(&a);
    assert_eq!(device_accounts(&st), server_accounts(&server));
    server.shutdown();
}

#[test]
fn lost_response_is_replayed_not_reapplied() {
    let server = start(50, 6);
    let mut st = store("4MiB");
    let (a, state) = run(&mut st, SyncState::default(), config(&server, "d1"));
    done(&a);
    let id = device_accounts(&st)[3].id.clone();
    let v0 = st.get(&id).unwrap().version;
    let log = Activity {
        kind: ActivityKind::Call,
        at: T0,
        by: "rep-0001".into(),
        text: "once".into(),
    };
    st.edit(
        &id,
        Patch {
            set: vec![],
            log: vec![log],
            delete: false,
        },
        T0,
    )
    .unwrap();
    server.set_faults(FaultConfig {
        lost_response: Switch {
            rate: 1.0,
            burst: 1,
            limit: Some(1),
        },
        ..FaultConfig::default()
    });
    let (a, _) = run(&mut st, state, config(&server, "d1"));
    done(&a);
    server.set_faults(FaultConfig::default());
    let on_server: Account = serde_json::from_value(api(
        &server,
        "GET",
        &format!("/v1/accounts/{id}"),
        None,
        None,
    ))
    .unwrap();
    assert_eq!(on_server.version, v0 + 1);
    assert_eq!(
        on_server
            .activities
            .iter()
            .filter(|x| x.text == "once")
            .count(),
        1
    );
    let stats = api(&server, "GET", "/v1/admin/stats", None, None);
    assert_eq!(stats["faults"]["lost_response"], 1, "{stats}");
    assert!(st.outbox().is_empty());
    server.shutdown();
}

#[test]
fn two_devices_merge_disjoint_fields_and_surface_the_clash() {
    let server = start(30, 7);
    let (mut a, mut b) = (store("4MiB"), store("4MiB"));
    let (x, sa) = run(&mut a, SyncState::default(), config(&server, "A"));
    done(&x);
    let (x, sb) = run(&mut b, SyncState::default(), config(&server, "B"));
    done(&x);
    let id = device_accounts(&a)[0].id.clone();
    let note = Activity {
        kind: ActivityKind::Note,
        at: T0,
        by: "rep-0001".into(),
        text: "A's note".into(),
    };
    a.edit(
        &id,
        Patch {
            set: vec![Change::Phone("A-phone".into())],
            log: vec![note],
            delete: false,
        },
        T0,
    )
    .unwrap();
    b.edit(
        &id,
        Patch {
            set: vec![Change::Stage("won".into())],
            ..Patch::default()
        },
        T0,
    )
    .unwrap();
    let clash = b
        .edit(
            &id,
            Patch {
                set: vec![Change::Phone("B-phone".into())],
                ..Patch::default()
            },
            T0,
        )
        .unwrap();
    server.clock().advance(10);
    let (x, sa) = run(&mut a, sa, config(&server, "A"));
    done(&x);
    server.clock().advance(10);
    let (x, sb) = run(&mut b, sb, config(&server, "B"));
    let Action::Done(report) = x else {
        panic!("{x:?}")
    };
    assert_eq!((report.merged, report.conflicts), (1, 1), "{report:?}");

    let get = || -> Account {
        serde_json::from_value(api(
            &server,
            "GET",
            &format!("/v1/accounts/{id}"),
            None,
            None,
        ))
        .unwrap()
    };
    let s = get();
    assert_eq!(s.stage, "won", "B's disjoint field merged");
    assert_eq!(s.phone, "A-phone", "the clash is not overwritten");
    assert_eq!(
        s.activities.iter().filter(|x| x.text == "A's note").count(),
        1
    );
    let c = &b.conflicts()[0];
    assert_eq!(c.seq, clash);
    assert_eq!(c.clashes[0].local, Change::Phone("B-phone".into()));
    assert_eq!(c.clashes[0].server, Change::Phone("A-phone".into()));
    assert_eq!(
        b.get(&id).unwrap().phone,
        "B-phone",
        "the rep's value stays until resolved"
    );
    assert!(b.is_dirty(&id));

    // The rep keeps their value: it is written over the server's.
    b.resolve_conflict(clash, Resolution::Local).unwrap();
    let (x, _) = run(&mut b, sb, config(&server, "B"));
    done(&x);
    assert!(b.outbox().is_empty() && b.conflicts().is_empty());
    let s = get();
    assert_eq!((s.phone.as_str(), s.stage.as_str()), ("B-phone", "won"));
    assert_eq!(
        s.activities.iter().filter(|x| x.text == "A's note").count(),
        1,
        "nothing typed is lost"
    );
    let (x, _) = run(&mut a, sa, config(&server, "A"));
    done(&x);
    // The backend's account does not carry contacts and deals (their own
    // feeds do); the devices keep theirs.
    assert_eq!(bare(a.get(&id).unwrap()), s);
    assert_eq!(bare(b.get(&id).unwrap()), s);

    // The other choice: the server's value wins, the edit is dropped by the rep.
    let seq = a
        .edit(
            &id,
            Patch {
                set: vec![Change::Email("a@x".into())],
                ..Patch::default()
            },
            T0,
        )
        .unwrap();
    api(
        &server,
        "PATCH",
        &format!("/v1/accounts/{id}"),
        Some(serde_json::json!({"email": "srv@x"})),
        None,
    );
    let (x, _) = run(&mut a, SyncState::default(), config(&server, "A"));
    done(&x);
    assert_eq!(a.conflicts().len(), 1);
    a.resolve_conflict(seq, Resolution::Server).unwrap();
    assert_eq!(a.get(&id).unwrap().email, "srv@x");
    let (x, _) = run(&mut a, SyncState::default(), config(&server, "A"));
    done(&x);
    assert!(a.outbox().is_empty() && a.conflicts().is_empty());
    assert_eq!(get().email, "srv@x");
    server.shutdown();
}

/// Snapshot, then a fresh store opened from it (a restart), optionally with
/// the ledger saved beside it (as JSON, the way the CLI keeps it).
fn restart(st: &Store, ledger: Option<&str>) -> Store {
    let (mut out, _) = Store::open(
        Some(&st.snapshot()),
        None,
        st.budget(),
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    if let Some(json) = ledger {
        let saved: LedgerState = serde_json::from_str(json).unwrap();
        assert_eq!(
            out.restore_ledger(saved).unwrap(),
            0,
            "nothing stale to drop"
        );
    }
    out
}

#[test]
fn a_resolved_conflict_survives_a_restart_with_its_ledger() {
    let server = start(30, 12);
    let (mut a, mut b) = (store("4MiB"), store("4MiB"));
    let (x, sa) = run(&mut a, SyncState::default(), config(&server, "A"));
    done(&x);
    let (x, sb) = run(&mut b, SyncState::default(), config(&server, "B"));
    done(&x);
    let id = device_accounts(&a)[0].id.clone();
    let phone = |p: &str| Patch {
        set: vec![Change::Phone(p.into())],
        ..Patch::default()
    };
    a.edit(&id, phone("A-phone"), T0).unwrap();
    let clash = b.edit(&id, phone("B-phone"), T0).unwrap();
    server.clock().advance(10);
    done(&run(&mut a, sa, config(&server, "A")).0);
    server.clock().advance(10);
    let (x, sb) = run(&mut b, sb, config(&server, "B"));
    done(&x);
    assert_eq!(b.conflicts().len(), 1);
    b.resolve_conflict(clash, Resolution::Local).unwrap();
    let ledger = serde_json::to_string(&b.ledger_state()).unwrap();

    // Without the ledger the rep's choice is gone: the push meets the same
    // 412 and asks again (safe, but the rep chose already).
    let mut forgot = restart(&b, None);
    let (x, _) = run(&mut forgot, sb.clone(), config(&server, "B"));
    let Action::Done(r) = x else { panic!("{x:?}") };
    assert_eq!((r.pushed, r.conflicts), (0, 1));

    // With it, the choice is carried out: the rep's value is written.
    let mut b = restart(&b, Some(&ledger));
    assert_eq!(b.conflicts()[0].resolution, Some(Resolution::Local));
    let (x, _) = run(&mut b, sb, config(&server, "B"));
    let Action::Done(r) = x else { panic!("{x:?}") };
    assert_eq!((r.pushed, r.conflicts), (1, 0), "{r:?}");
    assert!(b.conflicts().is_empty() && b.outbox().is_empty());
    let s: Account = serde_json::from_value(api(
        &server,
        "GET",
        &format!("/v1/accounts/{id}"),
        None,
        None,
    ))
    .unwrap();
    assert_eq!(s.phone, "B-phone");

    // A saved ledger older than the store: entries of acknowledged edits are dropped.
    let saved: LedgerState = serde_json::from_str(&ledger).unwrap();
    assert_eq!(
        b.restore_ledger(saved).unwrap(),
        2,
        "one base, one conflict"
    );
    assert!(b.conflicts().is_empty());
}

#[test]
fn hostile_pages_fail_clearly_and_leave_the_store_alone() {
    let server = start(40, 8);
    for (kind, expect) in [
        (Malformed::InvalidJson, "not JSON"),
        (Malformed::WrongTypes, "record"),
        (Malformed::InvalidUtf8, "not JSON"),
    ] {
        let mut st = store("4MiB");
        server.set_faults(FaultConfig {
            malformed: Switch {
                rate: 1.0,
                burst: 1,
                limit: None,
            },
            malformed_kinds: vec![kind],
            ..FaultConfig::default()
        });
        let (a, state) = run(&mut st, SyncState::default(), config(&server, "d"));
        let Action::Failed(SyncError::Malformed { detail, .. }) = &a else {
            panic!("{a:?}")
        };
        assert!(detail.contains(expect), "{kind:?}: {detail}");
        assert!(st.is_empty(), "nothing applied");
        assert!(!state.feeds[0].complete && state.feeds[0].params.is_empty());
    }
    server.set_faults(FaultConfig {
        endless: Switch {
            rate: 1.0,
            burst: 1,
            limit: None,
        },
        ..FaultConfig::default()
    });
    let mut st = store("4MiB");
    let mut c = config(&server, "d");
    c.rules = None;
    let (a, _) = run(&mut st, SyncState::default(), c);
    assert!(
        matches!(a, Action::Failed(SyncError::Endless { .. })),
        "{a:?}"
    );
    server.set_faults(FaultConfig::default());

    // Auth and wipe stop the session.
    let mut c = config(&server, "d");
    c.token = "nope".into();
    let (a, _) = run(&mut st, SyncState::default(), c);
    assert!(matches!(a, Action::Auth { status: 401, .. }), "{a:?}");
    api(&server, "POST", "/v1/admin/devices/d/wipe", None, None);
    let (a, _) = run(&mut st, SyncState::default(), config(&server, "d"));
    assert_eq!(a, Action::Wipe);
    st.erase();
    assert!(st.is_empty());
    server.shutdown();
}

/// `403 device_wiped` is a wipe even for a profile that names no wipe
/// header, distinct from an auth failure; the confirmation the session
/// builds clears the backend's flag.
#[test]
fn device_wiped_is_a_distinct_outcome_and_is_confirmed() {
    let server = start(50, 4);
    let text =
        satchel_core::sync::profile::REFERENCE.replace(r#""wipe_header": "X-Satchel-Wipe","#, "");
    let profile = satchel_core::sync::Profile::from_json(&text).unwrap();
    assert!(profile.wipe_header.is_none());
    api(&server, "POST", "/v1/admin/devices/w/wipe", None, None);
    let mut st = store("4MiB");
    let agent = agent();
    let mut s = SyncSession::new(profile, config(&server, "w"), SyncState::default(), &st);
    let outcome = loop {
        match s.poll(&mut st) {
            Action::Send(req) => match send(&agent, &req) {
                Ok(resp) => s.handle_response(&mut st, resp),
                Err(e) => s.handle_transport_error(&e),
            },
            Action::Wait { .. } => {}
            other => break other,
        }
    };
    assert_eq!(outcome, Action::Wipe);
    assert!(st.is_empty(), "nothing of the refused response was applied");
    // This profile has no wipe header: it does not speak the reference
    // wipe, so there is nothing to confirm.
    assert_eq!(s.wipe_confirmation(), None);

    // The reference profile confirms, and the flag is cleared.
    let mut s = SyncSession::new(
        builtin("reference").unwrap(),
        config(&server, "w"),
        SyncState::default(),
        &st,
    );
    assert!(s.wipe_confirmation().is_none(), "no wipe yet");
    let outcome = loop {
        match s.poll(&mut st) {
            Action::Send(req) => s.handle_response(&mut st, send(&agent, &req).unwrap()),
            other => break other,
        }
    };
    assert_eq!(outcome, Action::Wipe);
    let confirm = s
        .wipe_confirmation()
        .expect("the reference profile confirms");
    assert_eq!(confirm.method, "POST");
    assert!(confirm.url.ends_with("/v1/device/wiped"), "{}", confirm.url);
    assert_eq!(send(&agent, &confirm).unwrap().status, 200);
    let (a, _) = run(&mut st, SyncState::default(), config(&server, "w"));
    assert!(matches!(a, Action::Done(_)), "{a:?}");
    server.shutdown();
}

#[test]
fn budget_too_small_plans_and_keeps_the_best() {
    let server = start(400, 9);
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "mine", "weight": 100, "when": {"owner_is_me": true}},
                      {"name": "big", "weight": 10, "when": {"deal_value_above": 0}}]}"#,
    )
    .unwrap();
    let mut st = store("160KiB");
    let mut c = config(&server, "d");
    c.rules = Some(rules);
    let (a, _) = run(&mut st, SyncState::default(), c);
    let Action::Done(r) = a else { panic!("{a:?}") };
    assert!(st.used_bytes() <= st.budget().bytes());
    assert!(
        r.retained > 0 && r.skipped + (r.upserted - st.len() as u64) > 0,
        "{r:?}"
    );
    let mine = server_accounts(&server)
        .into_iter()
        .filter(|a| a.owner == "rep-0001")
        .count();
    let kept_mine = st.iter().filter(|a| a.owner == "rep-0001").count();
    assert_eq!(kept_mine, mine, "the rep's own accounts make the cut");
    server.shutdown();
}

/// A tiny deterministic generator (xorshift) for the fault runs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pumps with faults and process restarts; returns once a session is Done.
fn run_with_restarts(
    store: &mut Store,
    mut state: SyncState,
    cfg: &SyncConfig,
    rng: &mut Rng,
) -> SyncState {
    let agent = agent();
    for _ in 0..200 {
        let mut s = SyncSession::new(
            builtin("reference").unwrap(),
            cfg.clone(),
            state.clone(),
            store,
        );
        loop {
            // "Process restart": drop the session between any two steps;
            // the next one starts from the persisted state.
            if rng.below(12) == 0 {
                state = s.state().clone();
                break;
            }
            match s.poll(store) {
                Action::Send(req) => match send(&agent, &req) {
                    Ok(resp) => s.handle_response(store, resp),
                    Err(e) => s.handle_transport_error(&e),
                },
                Action::Wait { .. } => {}
                Action::Done(_) => return s.state().clone(),
                Action::Failed(_) => {
                    state = s.state().clone();
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    panic!("no convergence after 200 sessions");
}

#[test]
fn seeded_faults_converge_with_every_edit_applied_once() {
    let runs: u64 = std::env::var("SATCHEL_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sw = |rate: f64| Switch {
        rate,
        burst: 1,
        limit: None,
    };
    let mut injected = std::collections::BTreeMap::<String, u64>::new();
    for run_no in 0..runs {
        let server = start(12, run_no);
        let mut rng = Rng(run_no.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let faults = FaultConfig {
            seed: run_no,
            drop: sw(0.05),
            status_500: sw(0.05),
            status_429: sw(0.05),
            retry_after_s: 1,
            lost_response: sw(0.15),
            truncate: sw(0.05),
            malformed: sw(0.05),
            endless: sw(0.03),
            ..FaultConfig::default()
        };
        let mut cfg = config(&server, "dev");
        cfg.max_attempts = 4;
        let mut c2 = cfg.clone();
        c2.ctx.me = "rep-0002".into();
        let mut st = store("2MiB");
        server.set_faults(faults.clone());
        let state = run_with_restarts(&mut st, SyncState::default(), &cfg, &mut rng);

        // The rep edits a few accounts; the server changes others.
        let ids: Vec<String> = device_accounts(&st).iter().map(|a| a.id.clone()).collect();
        let mut expect = Vec::new();
        for k in 0..(2 + rng.below(3)) {
            let id = ids[rng.below(6) as usize].clone();
            let text = format!("run {run_no} edit {k}");
            let log = Activity {
                kind: ActivityKind::Visit,
                at: T0,
                by: "rep-0001".into(),
                text: text.clone(),
            };
            st.edit(
                &id,
                Patch {
                    set: vec![Change::Postcode(text.clone())],
                    log: vec![log],
                    delete: false,
                },
                T0,
            )
            .unwrap();
            expect.push((id, text));
        }
        server.set_faults(FaultConfig::default());
        server.clock().advance(5);
        api(
            &server,
            "PATCH",
            &format!("/v1/accounts/{}", ids[8]),
            Some(serde_json::json!({"stage": "won"})),
            None,
        );
        api(
            &server,
            "DELETE",
            &format!("/v1/accounts/{}", ids[9]),
            None,
            None,
        );
        server.set_faults(faults);
        let state = run_with_restarts(&mut st, state, &cfg, &mut rng);
        server.set_faults(FaultConfig::default());
        let _ = run_with_restarts(&mut st, state, &cfg, &mut Rng(1));

        assert!(st.outbox().is_empty(), "run {run_no}: outbox not drained");
        assert!(
            st.conflicts().is_empty(),
            "run {run_no}: {:?}",
            st.conflicts()
        );
        let on_server = server_accounts(&server);
        assert_eq!(
            device_accounts(&st),
            on_server,
            "run {run_no}: device and backend differ"
        );
        for (id, text) in &expect {
            let a = on_server.iter().find(|a| &a.id == id).unwrap();
            let n = a.activities.iter().filter(|x| &x.text == text).count();
            assert_eq!(n, 1, "run {run_no}: {text:?} applied {n} times");
        }
        let last = expect
            .iter()
            .rev()
            .find(|(id, _)| id == &expect[0].0)
            .unwrap();
        let a = on_server.iter().find(|a| a.id == last.0).unwrap();
        assert_eq!(
            a.address.postcode, last.1,
            "run {run_no}: the last edit wins"
        );
        let stats = api(&server, "GET", "/v1/admin/stats", None, None);
        for (k, v) in stats["faults"].as_object().unwrap() {
            *injected.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
        }
        server.shutdown();
    }
    println!("fault injection: {runs} seeded runs converged, every edit applied exactly once; faults injected: {injected:?}");
    for kind in [
        "drop",
        "status_500",
        "status_429",
        "lost_response",
        "truncate",
        "malformed",
        "endless",
    ] {
        let n: u64 = injected
            .iter()
            .filter(|(k, _)| k.starts_with(kind))
            .map(|(_, v)| v)
            .sum();
        assert!(n > 0, "no {kind} fault was injected: {injected:?}");
    }
}
