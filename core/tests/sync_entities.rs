//! The related feeds (contacts, deals, price lists) of a profile's
//! `entities` section, driven by hand-written answers in a vendor-like
//! shape: mapped fields and transforms, attaching to the account on the
//! device, tombstones, what is skipped and why, hostile items, and the
//! profile's checks. The same feeds over real HTTP against the reference
//! backend are in `sync.rs`.

use satchel_core::budget::Budget;
use satchel_core::model::{Account, ActivityKind, Contact};
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig, MAX_RECORD_BYTES};
use satchel_core::sync::profile::Profile;
use satchel_core::sync::{
    Action, HttpRequest, HttpResponse, Report, SyncConfig, SyncError, SyncSession, SyncState,
};
use serde_json::{json, Value};

/// A HubSpot-like backend: contacts name their company through an
/// association, amounts are decimal strings, dates ISO-8601.
const PROFILE: &str = r#"{
  "name": "vendor-like",
  "base_path": "/accounts",
  "auth": {"style": "none"},
  "paging": {"style": "next_url", "items": "/results", "next": "/next"},
  "deletion": {"style": "tombstone", "field": "/archived"},
  "mapping": {"canonical": true},
  "entities": {
    "contacts": {"path": "/contacts", "account": "/associations/companies/results/0/id",
      "fields": [{"field": "name", "from": "/properties/fullname"},
                 {"field": "email", "from": "/properties/email"},
                 {"field": "role", "from": "/properties/jobtitle"},
                 {"field": "updated_at", "from": "/updatedAt", "as": "iso8601"}]},
    "deals": {"path": "/deals", "account": "/company",
      "fields": [{"field": "title", "from": "/dealname"},
                 {"field": "value", "from": "/amount", "as": "decimal", "digits": 2},
                 {"field": "close_date", "from": "/closedate", "as": "iso8601"},
                 {"field": "stage", "from": "/dealstage", "as": "enum",
                  "values": {"closedwon": "won"}}]},
    "activities": {"path": "/tasks", "account": "/WhatId",
      "fields": [{"field": "kind", "from": "/TaskSubtype", "as": "enum",
                  "values": {"Call": "call", "Email": "email", "Task": "task"}},
                 {"field": "at", "from": "/ActivityDate", "as": "iso8601"},
                 {"field": "by", "from": "/OwnerId"},
                 {"field": "text", "from": "/Subject"}]},
    "price_lists": {"path": "/prices"}
  }
}"#;

fn profile() -> Profile {
    Profile::from_json(PROFILE).unwrap()
}

fn account(id: &str) -> Value {
    serde_json::to_value(Account {
        id: id.into(),
        name: format!("Customer {id}"),
        owner: "rep-1".into(),
        territory: "SE-N-03".into(),
        updated_at: 100,
        version: 1,
        ..Account::default()
    })
    .unwrap()
}

fn contact(id: &str, company: &str, name: &str) -> Value {
    json!({"id": id, "properties": {"fullname": name, "email": format!("{id}@example.com"),
           "jobtitle": "buyer"},
           "updatedAt": "2026-11-02T10:00:00Z",
           "associations": {"companies": {"results": [{"id": company, "type": "contact_to_company"}]}}})
}

/// The backend's pages, by path; each answered whole (no next page).
struct Backend {
    accounts: Vec<Value>,
    contacts: Vec<Value>,
    deals: Vec<Value>,
    tasks: Vec<Value>,
    prices: Vec<Value>,
    requests: Vec<String>,
}

impl Backend {
    fn answer(&mut self, req: &HttpRequest) -> HttpResponse {
        let path = req
            .url
            .trim_start_matches("http://crm.test")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        self.requests.push(path.clone());
        let items = match path.as_str() {
            "/accounts" => &self.accounts,
            "/contacts" => &self.contacts,
            "/deals" => &self.deals,
            "/tasks" => &self.tasks,
            "/prices" => &self.prices,
            _ => {
                return HttpResponse {
                    status: 404,
                    ..HttpResponse::default()
                }
            }
        };
        HttpResponse {
            status: 200,
            headers: vec![],
            body: serde_json::to_vec(&json!({"results": items})).unwrap(),
        }
    }
}

fn store() -> Store {
    Store::with_config(
        Budget::new(4 << 20),
        StoreConfig {
            journal: false,
            ..StoreConfig::default()
        },
    )
}

fn sync(store: &mut Store, state: SyncState, backend: &mut Backend) -> (Action, SyncState) {
    let ctx = RankContext {
        now: 1_800_000_000,
        me: "rep-1".into(),
        territories: vec![],
    };
    let mut config = SyncConfig::new("http://crm.test", "t", "dev", ctx);
    config.backoff_ms = 1;
    config.max_attempts = 2;
    let mut s = SyncSession::new(profile(), config, state, store);
    for _ in 0..100 {
        match s.poll(store) {
            Action::Send(req) => {
                let resp = backend.answer(&req);
                s.handle_response(store, resp);
            }
            Action::Wait { .. } => {}
            other => return (other, s.state().clone()),
        }
    }
    panic!("the session did not finish");
}

fn report(a: &Action) -> Report {
    match a {
        Action::Done(r) => *r,
        other => panic!("sync did not finish: {other:?}"),
    }
}

fn backend() -> Backend {
    Backend {
        accounts: vec![account("A1"), account("A2")],
        contacts: vec![
            contact("c1", "A1", "Åsa Öberg"),
            contact("c2", "A1", "<img src=x onerror=alert(1)>"),
            contact("c9", "A9", "Not here"),
        ],
        deals: vec![json!({"id": "d1", "company": "A2", "dealname": "Pumps",
                           "amount": "1234.5", "closedate": "2026-12-01",
                           "dealstage": "closedwon"})],
        tasks: vec![
            json!({"WhatId": "A1", "TaskSubtype": "Call", "ActivityDate": "2026-11-03",
                   "OwnerId": "rep-1", "Subject": "Called about pumps"}),
            json!({"WhatId": "A1", "TaskSubtype": "Email", "ActivityDate": "2026-11-01",
                   "OwnerId": "rep-1", "Subject": "Sent prices"}),
        ],
        prices: vec![
            json!({"id": "PL-SE", "territory_prefix": "SE", "currency": "SEK",
                   "items": [{"sku": "P-1", "name": "Pump", "unit_price": 129900}]}),
            json!({"id": "PL-SE-N", "territory_prefix": "SE-N", "currency": "SEK",
                   "items": [{"sku": "P-1", "name": "Pump", "unit_price": 124900}]}),
        ],
        requests: vec![],
    }
}

#[test]
fn related_records_are_mapped_and_kept_on_their_account() {
    let mut b = backend();
    let mut st = store();
    let (a, state) = sync(&mut st, SyncState::default(), &mut b);
    let r = report(&a);
    assert_eq!(
        b.requests,
        ["/accounts", "/contacts", "/deals", "/tasks", "/prices"],
        "accounts first, then the related feeds in order"
    );
    assert_eq!(r.upserted, 2);
    assert_eq!(r.related_upserted, 2 + 1 + 2 + 2, "{r:?}");
    assert_eq!(r.related_skipped, 1, "c9's account is not on the device");
    let a1 = st.get("A1").unwrap();
    assert_eq!(
        a1.contacts,
        vec![
            Contact {
                id: "c1".into(),
                name: "Åsa Öberg".into(),
                role: "buyer".into(),
                email: "c1@example.com".into(),
                phone: String::new(),
            },
            Contact {
                id: "c2".into(),
                name: "<img src=x onerror=alert(1)>".into(),
                role: "buyer".into(),
                email: "c2@example.com".into(),
                phone: String::new(),
            },
        ]
    );
    let d = &st.get("A2").unwrap().deals[0];
    assert_eq!(
        (d.title.as_str(), d.value, d.stage.as_str()),
        ("Pumps", 123_450, "won")
    );
    assert_eq!(d.close_date, Some(1_796_083_200), "2026-12-01T00:00:00Z");
    assert_eq!(st.price_list_for("SE-N-03").unwrap().id, "PL-SE-N");
    assert_eq!(
        st.price_list_for("SE-S-01").unwrap().items[0].unit_price,
        129_900
    );
    let texts: Vec<&str> = a1.activities.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(texts, ["Sent prices", "Called about pumps"], "oldest first");
    assert_eq!(a1.activities[1].kind, ActivityKind::Call);
    let keys: Vec<&str> = state.feeds.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys[1..],
        ["contacts", "deals", "activities", "price_lists"]
    );
    assert!(state.feeds.iter().all(|f| f.complete));
}

#[test]
fn updates_replace_tombstones_remove_and_accounts_keep_their_contacts() {
    let mut b = backend();
    let mut st = store();
    let (_, state) = sync(&mut st, SyncState::default(), &mut b);

    // The account changes on the backend (which sends no contacts with it),
    // c1 is renamed, c2 is archived, d1 is archived, a price list goes.
    let mut renamed = account("A1");
    renamed["name"] = json!("Renamed");
    renamed["updated_at"] = json!(200);
    renamed["version"] = json!(2);
    b.accounts = vec![renamed];
    b.contacts = vec![
        contact("c1", "A1", "Åsa Berg"),
        json!({"id": "c2", "archived": true,
               "associations": {"companies": {"results": [{"id": "A1"}]}}}),
    ];
    b.deals = vec![json!({"id": "d1", "company": "A2", "archived": true})];
    b.prices = vec![json!({"id": "PL-SE-N", "archived": true})];
    // The tasks feed sends one it sent before, and a new one.
    b.tasks = vec![
        b.tasks[0].clone(),
        json!({"WhatId": "A1", "TaskSubtype": "Task", "ActivityDate": "2026-11-02",
               "OwnerId": "rep-1", "Subject": "Quote"}),
    ];
    let (a, _) = sync(&mut st, state, &mut b);
    let r = report(&a);
    assert_eq!(
        (r.related_upserted, r.related_deleted, r.related_skipped),
        (2, 3, 0),
        "{r:?}"
    );
    let a1 = st.get("A1").unwrap();
    assert_eq!(a1.name, "Renamed");
    let names: Vec<&str> = a1.contacts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Åsa Berg"], "replaced by id, the archived one gone");
    let texts: Vec<&str> = a1.activities.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Sent prices", "Quote", "Called about pumps"],
        "kept through the account's update, none twice"
    );
    assert!(st.get("A2").unwrap().deals.is_empty());
    assert_eq!(st.price_list_for("SE-N-03").unwrap().id, "PL-SE");
}

#[test]
fn hostile_related_pages_fail_clearly_and_change_nothing() {
    let no_account = json!({"id": "c5", "properties": {"fullname": "x"}});
    let wrong_type = json!({"id": "c6", "properties": {"fullname": {"a": 1}},
                            "associations": {"companies": {"results": [{"id": "A1"}]}}});
    let bad_lines = json!({"id": "PL-X", "items": "free"});
    let odd_kind = json!({"WhatId": "A1", "TaskSubtype": "Fax", "ActivityDate": "2026-11-03"});
    let huge_list = json!({"id": "PL-H", "items": (0..40_000)
        .map(|i| json!({"sku": format!("SKU-{i:08}"), "name": "x".repeat(20), "unit_price": i}))
        .collect::<Vec<_>>()});
    for (feed, item, want) in [
        ("contacts", no_account, "no account id"),
        ("contacts", wrong_type, "field `name`"),
        ("prices", bad_lines, "a list of lines was expected"),
        ("tasks", odd_kind, "\"Fax\" is not call"),
        ("prices", huge_list, "price list \"PL-H\""),
    ] {
        let mut b = backend();
        let mut st = store();
        let (_, state) = sync(&mut st, SyncState::default(), &mut b);
        let accounts = |st: &Store| {
            let mut v: Vec<Account> = st.iter().collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v
        };
        let before = accounts(&st);
        let lists_before = st.price_lists().count();
        match feed {
            "contacts" => b.contacts = vec![contact("c7", "A2", "Fine"), item],
            "tasks" => b.tasks = vec![item],
            _ => b.prices = vec![item],
        }
        let (a, after) = sync(&mut st, state.clone(), &mut b);
        let Action::Failed(SyncError::Malformed { detail, .. }) = &a else {
            panic!("{feed}: {a:?}");
        };
        assert!(detail.contains(want), "{feed}: {detail}");
        assert_eq!(accounts(&st), before, "{feed}: the page was not applied");
        assert_eq!(st.price_lists().count(), lists_before);
        let i = after
            .feeds
            .iter()
            .position(|f| f.key == "contacts")
            .unwrap();
        assert_eq!(after.feeds[i..], state.feeds[i..], "{feed}: position kept");
    }
}

#[test]
fn a_contact_that_would_make_its_account_too_large_is_skipped() {
    let mut b = backend();
    b.contacts = vec![
        contact("big", "A1", &"x".repeat(MAX_RECORD_BYTES)),
        contact("ok", "A1", "Fine"),
    ];
    let mut st = store();
    let (a, _) = sync(&mut st, SyncState::default(), &mut b);
    let r = report(&a);
    assert_eq!(
        (r.related_skipped, st.get("A1").unwrap().contacts.len()),
        (1, 1),
        "{r:?}"
    );
    assert_eq!(st.get("A1").unwrap().contacts[0].id, "ok");
}

#[test]
fn related_feeds_are_checked_with_the_profile() {
    let with = |entities: Value| {
        let mut p: Value = serde_json::from_str(PROFILE).unwrap();
        p["entities"] = entities;
        Profile::from_json(&p.to_string())
            .map(|_| ())
            .map_err(|e| e.field)
    };
    assert_eq!(
        with(json!({"contacts": {"path": "/c"}})),
        Err("entities.contacts.account".into())
    );
    assert_eq!(
        with(json!({"deals": {"path": "/d", "account": "/a",
                              "fields": [{"field": "amount", "from": "/x"}]}})),
        Err("entities.deals.fields[0].field".into())
    );
    assert_eq!(
        with(json!({"price_lists": {"path": "/p", "account": "/a"}})),
        Err("entities.price_lists.account".into())
    );
    assert_eq!(
        with(json!({"price_lists": {"path": "p"}})),
        Err("entities.price_lists.path".into())
    );
    assert_eq!(
        with(json!({"contacts": {"path": "/c", "account": "/a",
                                 "paging": {"style": "cursor", "items": "/r"}}})),
        Err("entities.contacts.paging.next".into())
    );
    assert_eq!(
        with(json!({"videos": {"path": "/v"}})).unwrap_err(),
        "entities.videos"
    );
    assert_eq!(with(json!({})), Ok(()));
}
