//! The built-in vendor profiles (`hubspot`, `salesforce`, `dynamics`)
//! against recorded responses in each vendor's documented shape
//! (`fixtures/recorded/<vendor>/`, sources in its README).
//!
//! Those backends cannot run here, so the real `SyncSession` is driven by a
//! replay: every request it makes must match a recorded exchange of the
//! scenario (method, path and query after percent-decoding, `If-Match` and
//! body where recorded) or the test fails, and every recorded exchange must
//! be used. The answers are the recorded status, headers and body.

use std::path::PathBuf;

use satchel_core::budget::Budget;
use satchel_core::model::{Account, Address, CustomValue};
use satchel_core::outbox::{Change, Patch};
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::sync::profile::builtin;
use satchel_core::sync::{
    Action, Event, HttpRequest, HttpResponse, Report, SyncConfig, SyncError, SyncSession, SyncState,
};
use serde_json::Value;

const TOKEN: &str = "recorded-token";

fn recorded(vendor: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recorded")
        .join(vendor)
}

/// `%XX` → byte; anything else as it is (the recorded URLs are written
/// readable, the session's are encoded: both are decoded to compare).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One scenario of a vendor's `exchanges.json`, being replayed.
struct Replay {
    dir: PathBuf,
    base_url: String,
    exchanges: Vec<Value>,
    used: Vec<bool>,
    /// Every request the session made, in order.
    requests: Vec<HttpRequest>,
    /// Every wait the session asked for, in milliseconds.
    waits: Vec<u64>,
    events: Vec<Event>,
}

impl Replay {
    fn load(vendor: &str, scenario: &str) -> Replay {
        let dir = recorded(vendor);
        let text = std::fs::read_to_string(dir.join("exchanges.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let exchanges = v["scenarios"][scenario]
            .as_array()
            .unwrap_or_else(|| panic!("{vendor}: no scenario {scenario}"))
            .clone();
        Replay {
            dir,
            base_url: v["base_url"].as_str().unwrap().into(),
            used: vec![false; exchanges.len()],
            exchanges,
            requests: Vec::new(),
            waits: Vec::new(),
            events: Vec::new(),
        }
    }

    fn config(&self) -> SyncConfig {
        let ctx = RankContext {
            now: 1_790_200_000,
            me: "rep-0001".into(),
            territories: vec![],
        };
        let mut c = SyncConfig::new(&self.base_url, TOKEN, "tablet-7", ctx);
        c.backoff_ms = 1;
        c
    }

    /// The recorded answer to `req`; panics on a request nobody recorded.
    fn answer(&mut self, req: &HttpRequest) -> HttpResponse {
        let rel = req
            .url
            .strip_prefix(&self.base_url)
            .unwrap_or_else(|| panic!("request off the backend: {}", req.url));
        let rel = decode(rel);
        let found = self.exchanges.iter().enumerate().position(|(i, x)| {
            !self.used[i]
                && x["method"] == req.method.as_str()
                && decode(x["url"].as_str().unwrap()) == rel
        });
        let Some(i) = found else {
            panic!(
                "unrecorded request {} {rel}\nrecorded, unused: {:#?}",
                req.method,
                self.exchanges
                    .iter()
                    .zip(&self.used)
                    .filter(|(_, u)| !**u)
                    .map(|(x, _)| format!("{} {}", x["method"], decode(x["url"].as_str().unwrap())))
                    .collect::<Vec<_>>()
            )
        };
        self.used[i] = true;
        let x = &self.exchanges[i];
        if let Some(tag) = x.get("if_match").and_then(Value::as_str) {
            assert_eq!(header(req, "If-Match"), Some(tag), "If-Match of {rel}");
        }
        if let Some(want) = x.get("request_body") {
            let got: Value = serde_json::from_slice(&req.body).expect("a JSON body");
            assert_eq!(&got, want, "body of {} {rel}", req.method);
            assert_eq!(header(req, "Content-Type"), Some("application/json"));
        }
        let mut headers: Vec<(String, String)> = x
            .get("headers")
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
                    .collect()
            })
            .unwrap_or_default();
        let body = match x.get("body").and_then(Value::as_str) {
            Some(f) => {
                headers.push(("Content-Type".into(), "application/json".into()));
                std::fs::read(self.dir.join(f)).unwrap()
            }
            None => Vec::new(),
        };
        HttpResponse {
            status: x["status"].as_u64().unwrap() as u16,
            headers,
            body,
        }
    }

    /// Pumps a session over the recording to its end.
    fn run(
        &mut self,
        store: &mut Store,
        state: SyncState,
        config: SyncConfig,
        profile: &str,
    ) -> (Action, SyncState) {
        let mut s = SyncSession::new(builtin(profile).unwrap(), config, state, store);
        for _ in 0..1000 {
            let a = s.poll(store);
            while let Some(e) = s.poll_event() {
                self.events.push(e);
            }
            match a {
                Action::Send(req) => {
                    let resp = self.answer(&req);
                    self.requests.push(req);
                    s.handle_response(store, resp);
                }
                Action::Wait { millis } => self.waits.push(millis),
                other => return (other, s.state().clone()),
            }
        }
        panic!("the session did not stop in 1000 steps");
    }

    /// Every recorded exchange was asked for, and every request was
    /// authenticated as the vendor wants.
    fn finish(&self) {
        let unused: Vec<_> = self
            .exchanges
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !**u)
            .map(|(x, _)| x["url"].clone())
            .collect();
        assert!(
            unused.is_empty(),
            "recorded but never requested: {unused:?}"
        );
        for r in &self.requests {
            assert_eq!(
                header(r, "Authorization"),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{}",
                r.url
            );
        }
    }
}

fn store() -> Store {
    Store::with_config(
        Budget::parse("4MiB").unwrap(),
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    )
}

fn done(a: &Action) -> Report {
    match a {
        Action::Done(r) => *r,
        other => panic!("sync did not finish: {other:?}"),
    }
}

fn ids(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store.iter().map(|a| a.id).collect();
    v.sort();
    v
}

fn phone_edit(store: &mut Store, id: &str, phone: &str) -> u64 {
    store
        .edit(
            id,
            Patch {
                set: vec![Change::Phone(phone.into())],
                log: vec![],
                delete: false,
            },
            1_790_200_000,
        )
        .unwrap()
}

fn customs(pairs: &[(&str, CustomValue)]) -> std::collections::BTreeMap<String, CustomValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

// ---- HubSpot -----------------------------------------------------------------

fn hubspot_first_sync(store: &mut Store) -> (Replay, SyncState) {
    let mut r = Replay::load("hubspot", "first");
    let (a, state) = r.run(store, SyncState::default(), r.config(), "hubspot");
    let report = done(&a);
    r.finish();
    assert_eq!(report.upserted, 5);
    (r, state)
}

#[test]
fn hubspot_pages_by_after_cursor_to_the_end_through_a_429() {
    let mut st = store();
    let (r, state) = hubspot_first_sync(&mut st);
    assert_eq!(
        ids(&st),
        [
            "18439213990",
            "18439214021",
            "18439214022",
            "18439214023",
            "18439214024"
        ]
    );
    assert_eq!(
        st.get("18439214021").unwrap(),
        Account {
            id: "18439214021".into(),
            company: "Nordkap Maskin AB".into(),
            phone: "+46 8 412 55 00".into(),
            address: Address {
                street: "Drottninggatan 53".into(),
                city: "Stockholm".into(),
                postcode: "111 21".into(),
                country: "Sweden".into(),
            },
            owner: "71234501".into(),
            stage: "won".into(),
            updated_at: 1_789_999_500,
            custom: customs(&[
                (
                    "annual_revenue",
                    CustomValue::Decimal {
                        value: 1_250_000_000,
                        scale: 2
                    }
                ),
                ("domain", CustomValue::Text("nordkapmaskin.se".into())),
                ("industry", CustomValue::Text("MACHINERY".into())),
            ]),
            ..Account::default()
        }
    );
    // `null` properties are absent, not empty values.
    let b = st.get("18439214022").unwrap();
    assert_eq!(b.stage, "negotiation");
    assert!(!b.custom.contains_key("industry"));
    assert_eq!(
        b.custom["annual_revenue"],
        CustomValue::Decimal {
            value: 84_000_050,
            scale: 2
        }
    );
    assert_eq!(st.get("18439214024").unwrap().owner, "");
    // The 429 was waited out (HubSpot sends no Retry-After: the backoff).
    assert_eq!(r.waits, [1]);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::Retry { reason } if reason.contains("429"))));
    // The request shape: the cursor goes back as `after`, after the
    // properties list; the first page has none.
    assert!(!r.requests[0].url.contains("after="));
    assert!(r.requests[1]
        .url
        .ends_with("&archived=false&after=18439214023"));
    assert!(r.requests[3].url.ends_with("&after=18439214024"));
    // Then the archived companies: the same listing with `archived=true`.
    assert!(r.requests[4].url.ends_with("&archived=true"));
    // The newest `updatedAt` seen is kept; the list endpoint has no
    // "modified since" filter, so the next sync is a full pass again.
    assert_eq!(
        state.feeds.len(),
        2,
        "the companies, then the archived ones"
    );
    let f = &state.feeds[0];
    assert!(f.complete && !f.in_pass);
    assert_eq!(f.since, Some(1_790_064_600));
    assert!(f.params.is_empty(), "no cursor left over: {f:?}");
}

#[test]
fn hubspot_archived_company_is_deleted_and_an_edit_is_a_properties_patch() {
    let mut st = store();
    let (_, state) = hubspot_first_sync(&mut st);
    // The next sync: a full pass (Old Mill no longer listed), then the
    // archived listing names it.
    let mut r = Replay::load("hubspot", "second");
    let (a, _) = r.run(&mut st, state, r.config(), "hubspot");
    let report = done(&a);
    r.finish();
    assert_eq!(report.deleted, 1);
    assert!(!st.contains("18439213990"));
    assert_eq!(st.len(), 4);

    phone_edit(&mut st, "18439214021", "+46 8 412 55 99");
    let mut r = Replay::load("hubspot", "push");
    let mut c = r.config();
    c.pull = false;
    let (a, _) = r.run(&mut st, SyncState::default(), c, "hubspot");
    assert_eq!(done(&a).pushed, 1);
    r.finish();
    assert!(st.outbox().is_empty());
    // HubSpot has no optimistic concurrency: nothing to match.
    assert_eq!(header(&r.requests[0], "If-Match"), None);
}

#[test]
fn hubspot_expired_token_stops_for_auth_with_the_vendor_message() {
    let mut st = store();
    let mut r = Replay::load("hubspot", "expired");
    let (a, _) = r.run(&mut st, SyncState::default(), r.config(), "hubspot");
    r.finish();
    match a {
        Action::Auth { status, message } => {
            assert_eq!(status, 401);
            assert!(
                message.starts_with("Authentication credentials not found"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st.len(), 0);
}

// ---- Salesforce ----------------------------------------------------------------

#[test]
fn salesforce_soql_pages_then_delta_by_systemmodstamp_with_a_deletion() {
    let mut st = store();
    let mut r = Replay::load("salesforce", "first");
    let (a, state) = r.run(&mut st, SyncState::default(), r.config(), "salesforce");
    assert_eq!(done(&a).upserted, 3);
    r.finish();
    for req in &r.requests {
        assert_eq!(header(req, "Sforce-Query-Options"), Some("batchSize=200"));
    }
    // The second page is the relative `nextRecordsUrl`, on the instance.
    assert_eq!(
        r.requests[1].url,
        "https://satchel-demo.my.salesforce.com/services/data/v59.0/query/01gRO00000bVlDqYAK-2"
    );
    assert_eq!(
        st.get("001RO00000Kx1aBYAR").unwrap(),
        Account {
            id: "001RO00000Kx1aBYAR".into(),
            company: "Edge Communications".into(),
            phone: "(512) 757-6000".into(),
            address: Address {
                street: "312 Constitution Place".into(),
                city: "Austin".into(),
                postcode: "78767".into(),
                country: "USA".into(),
            },
            owner: "005RO000001bQzJYAU".into(),
            stage: "won".into(),
            updated_at: 1_789_999_500,
            custom: customs(&[
                (
                    "annual_revenue",
                    CustomValue::Decimal {
                        value: 13_900_000_000,
                        scale: 2
                    }
                ),
                ("industry", CustomValue::Text("Electronics".into())),
            ]),
            ..Account::default()
        }
    );
    assert_eq!(st.get("001RO00000Kx1aCYAR").unwrap().stage, "prospect");
    // `+0000` offsets parse; the watermark is the newest SystemModstamp.
    assert_eq!(state.feeds[0].since, Some(1_790_065_800));

    // The delta: `WHERE SystemModstamp >= <watermark>` inside the SOQL; a
    // deleted row (queryAll's IsDeleted) deletes, a changed one updates.
    let mut r = Replay::load("salesforce", "delta");
    let (a, state) = r.run(&mut st, state, r.config(), "salesforce");
    let report = done(&a);
    r.finish();
    assert_eq!(report.deleted, 1);
    assert_eq!(ids(&st), ["001RO00000Kx1aBYAR", "001RO00000Kx1aDYAR"]);
    assert_eq!(
        st.get("001RO00000Kx1aBYAR").unwrap().custom["annual_revenue"],
        CustomValue::Decimal {
            value: 14_250_000_000,
            scale: 2
        }
    );
    assert_eq!(state.feeds[0].since, Some(1_790_162_142));
}

#[test]
fn salesforce_edit_patches_the_sobject_and_expired_session_stops() {
    let mut st = store();
    let mut r = Replay::load("salesforce", "first");
    let (a, _) = r.run(&mut st, SyncState::default(), r.config(), "salesforce");
    done(&a);
    phone_edit(&mut st, "001RO00000Kx1aBYAR", "(512) 757-6001");
    let mut r = Replay::load("salesforce", "push");
    let mut c = r.config();
    c.pull = false;
    let (a, _) = r.run(&mut st, SyncState::default(), c, "salesforce");
    assert_eq!(done(&a).pushed, 1, "204 No Content acknowledges");
    r.finish();
    assert!(st.outbox().is_empty());

    let mut r = Replay::load("salesforce", "expired");
    let (a, _) = r.run(&mut store(), SyncState::default(), r.config(), "salesforce");
    r.finish();
    assert_eq!(
        a,
        Action::Auth {
            status: 401,
            message: "Session expired or invalid".into()
        }
    );
}

// ---- Dynamics 365 (OData) ---------------------------------------------------------

#[test]
fn dynamics_pages_by_nextlink_then_delta_by_modifiedon_through_a_429() {
    let mut st = store();
    let mut r = Replay::load("dynamics", "first");
    let (a, state) = r.run(&mut st, SyncState::default(), r.config(), "dynamics");
    assert_eq!(done(&a).upserted, 3);
    r.finish();
    for req in &r.requests {
        assert_eq!(header(req, "OData-Version"), Some("4.0"));
        assert_eq!(header(req, "Prefer"), Some("odata.maxpagesize=200"));
    }
    // The first request has no $filter (nothing seen yet); the second is
    // the absolute @odata.nextLink as it was given.
    assert!(!r.requests[0].url.contains("filter"));
    assert!(r.requests[1]
        .url
        .contains("$skiptoken=%3Ccookie%20pagenumber"));
    assert_eq!(
        st.get("a1b2c3d4-5e6f-ef11-a670-000d3a4b2c11").unwrap(),
        Account {
            id: "a1b2c3d4-5e6f-ef11-a670-000d3a4b2c11".into(),
            company: "Fourth Coffee (sample)".into(),
            phone: "+46 8 555 01 00".into(),
            email: "someone1@example.com".into(),
            address: Address {
                street: "Sveavägen 44".into(),
                city: "Stockholm".into(),
                postcode: "111 34".into(),
                country: "Sweden".into(),
            },
            owner: "f1e2d3c4-0000-ef11-a670-000d3a4b2c99".into(),
            updated_at: 1_789_999_500,
            version: 5_001_201,
            custom: customs(&[(
                "annual_revenue",
                CustomValue::Decimal {
                    value: 7_500_000,
                    scale: 2
                }
            )]),
            ..Account::default()
        }
    );
    assert_eq!(state.feeds[0].since, Some(1_790_067_600));

    let mut r = Replay::load("dynamics", "delta");
    let (a, state) = r.run(&mut st, state, r.config(), "dynamics");
    done(&a);
    r.finish();
    assert_eq!(r.waits, [5_000], "Retry-After: 5 is obeyed");
    let b = st.get("b3a1c0d2-5e6f-ef11-a670-000d3a4b2c11").unwrap();
    assert_eq!((b.phone.as_str(), b.version), ("555-0199", 5_001_502));
    assert_eq!(state.feeds[0].since, Some(1_790_147_529));
}

#[test]
fn dynamics_change_tracking_follows_the_delta_link_and_deletes_deleted_entities() {
    let mut st = store();
    let mut r = Replay::load("dynamics-changes", "first");
    let (a, state) = r.run(
        &mut st,
        SyncState::default(),
        r.config(),
        "dynamics-changes",
    );
    assert_eq!(done(&a).upserted, 3);
    r.finish();
    for req in &r.requests {
        assert_eq!(
            header(req, "Prefer"),
            Some("odata.track-changes,odata.maxpagesize=200")
        );
    }
    // The last page's @odata.deltaLink is the watermark.
    let f = &state.feeds[0];
    assert!(f.complete && !f.in_pass);
    assert!(
        f.delta_url
            .as_deref()
            .is_some_and(|u| u.contains("$deltatoken=919042")),
        "{f:?}"
    );

    // The next sync asks for the delta link, nothing else: a changed row
    // updates, a $deletedEntity row deletes, and the new link is kept.
    let mut r = Replay::load("dynamics-changes", "delta");
    let (a, state) = r.run(&mut st, state, r.config(), "dynamics-changes");
    let report = done(&a);
    r.finish();
    assert_eq!((report.upserted, report.deleted), (1, 1));
    assert!(!st.contains("c7d8e9f0-5e6f-ef11-a670-000d3a4b2c11"));
    assert_eq!(
        st.get("b3a1c0d2-5e6f-ef11-a670-000d3a4b2c11")
            .unwrap()
            .phone,
        "555-0199"
    );
    assert!(state.feeds[0]
        .delta_url
        .as_deref()
        .is_some_and(|u| u.contains("$deltatoken=919058")));
}

#[test]
fn dynamics_412_reads_the_record_merges_and_resends_with_its_etag() {
    let mut st = store();
    let mut r = Replay::load("dynamics", "first");
    let (a, _) = r.run(&mut st, SyncState::default(), r.config(), "dynamics");
    done(&a);
    let id = "a1b2c3d4-5e6f-ef11-a670-000d3a4b2c11";
    phone_edit(&mut st, id, "+46 8 555 01 99");
    let mut r = Replay::load("dynamics", "push");
    let mut c = r.config();
    c.pull = false;
    let (a, _) = r.run(&mut st, SyncState::default(), c, "dynamics");
    let report = done(&a);
    r.finish();
    assert_eq!((report.pushed, report.merged, report.conflicts), (1, 1, 0));
    assert!(st.outbox().is_empty());
    // Someone else moved the city; the rep's phone went on top.
    let a = st.get(id).unwrap();
    assert_eq!(
        (a.address.city.as_str(), a.phone.as_str()),
        ("Solna", "+46 8 555 01 99")
    );
    assert_eq!(
        r.requests
            .iter()
            .map(|q| q.method.as_str())
            .collect::<Vec<_>>(),
        ["PATCH", "GET", "PATCH"]
    );
}

#[test]
fn a_vendor_page_of_the_wrong_shape_is_refused_whole() {
    // A Dynamics page whose `modifiedon` is not a date: nothing applied, the
    // error names the field and the source pointer.
    let mut st = store();
    let r = Replay::load("dynamics", "first");
    let mut page: Value =
        serde_json::from_slice(&std::fs::read(r.dir.join("accounts-page-2.json")).unwrap())
            .unwrap();
    page["value"][0]["modifiedon"] = Value::from("yesterday");
    let mut c = r.config();
    c.max_attempts = 2;
    let mut s = SyncSession::new(builtin("dynamics").unwrap(), c, SyncState::default(), &st);
    let outcome = loop {
        match s.poll(&mut st) {
            Action::Send(_) => s.handle_response(
                &mut st,
                HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: serde_json::to_vec(&page).unwrap(),
                },
            ),
            Action::Wait { .. } => {}
            other => break other,
        }
    };
    match outcome {
        Action::Failed(SyncError::Malformed { detail, .. }) => {
            assert!(
                detail.contains("updated_at") && detail.contains("/modifiedon"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st.len(), 0);
}

#[test]
fn salesforce_api_limit_403_is_retried_not_taken_for_auth() {
    // Salesforce answers an exhausted API limit with 403
    // REQUEST_LIMIT_EXCEEDED: backed off and retried, then the sync stops
    // with the vendor's message, never "log in again".
    let mut r = Replay::load("salesforce", "limit");
    let mut c = r.config();
    c.max_attempts = 3;
    let (a, _) = r.run(&mut store(), SyncState::default(), c, "salesforce");
    r.finish();
    assert_eq!(r.waits, [1, 2], "two backoffs between three tries");
    match a {
        Action::Failed(SyncError::Http { status, message }) => {
            assert_eq!(status, 403);
            assert!(
                message.contains("TotalRequests Limit exceeded."),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}
