//! Sync for JS: a `SyncSession` class over core's sans-IO
//! [`satchel_core::sync::SyncSession`], the `sync()` loop that pumps it with
//! the caller's `fetch`, and the store's conflicts (`conflicts`,
//! `resolveConflict`) and remote wipe (`erase`).
//!
//! Owns the translation of the session's inputs and outputs: options into a
//! [`Profile`] and [`SyncConfig`], each [`Action`] into a plain JS object,
//! fetch's status, headers and body into an [`HttpResponse`]. Every decision
//! (what to send, retry, merge, conflict, when to stop) is core's; the I/O
//! loop is JavaScript (`js/sync.js`) because awaiting `fetch` and timers from
//! Rust would need wasm-bindgen-futures and a Rust copy of what the JS does
//! in forty lines, in a module whose legacy build is size-guarded.
//!
//! Invariants: no JS value makes a method panic (every argument is checked
//! in [`input`]); a terminal action carries a `SatchelError` built in
//! [`crate::error`], so the loop never invents an error of its own; after
//! `cancel()` the session only answers "aborted", and its `state()` is the
//! position of the last page applied (resumable).

use satchel_core::conflicts::{LedgerState, Resolution};
use satchel_core::score::RankContext;
use satchel_core::sync::profile::{builtin, Profile, BUILTIN};
use satchel_core::sync::{
    Action, Event, HttpResponse, SyncConfig, SyncSession as CoreSession, SyncState,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Failure;
use crate::{clock, input, num, object, parsed, Store};

#[wasm_bindgen(module = "/js/sync.js")]
extern "C" {
    /// The I/O loop (see `js/sync.js`).
    #[wasm_bindgen(js_name = drive)]
    fn drive(store: &JsValue, session: &JsValue, options: &JsValue) -> js_sys::Promise;
}

/// Largest response body a session accepts by default (a page of the
/// reference backend is ~0.5 MiB; the store's module is capped at 64 MiB).
const DEFAULT_MAX_BODY: usize = 8 << 20;

/// One sync of a store with a backend: push the outbox, then pull the feed.
/// Drive it with `sync(store, session, { fetch })`, or by hand: `poll`,
/// do what it says, hand the outcome back.
#[wasm_bindgen]
pub struct SyncSession {
    inner: CoreSession,
    max_body: usize,
    aborted: bool,
}

fn profile(value: &JsValue) -> Result<Profile, Failure> {
    if let Some(name) = value.as_string() {
        if !name.trim_start().starts_with('{') {
            return builtin(&name).ok_or_else(|| {
                Failure::argument(format_args!(
                    "`options.profile`: {name:?} is not a built-in profile ({}); pass a profile object or its JSON",
                    BUILTIN.join(", ")
                ))
            });
        }
    }
    let text = input::json_text(value, "options.profile")?;
    Ok(Profile::from_json(&text)?)
}

fn opt_number(options: &JsValue, key: &str, max: f64) -> Result<Option<f64>, Failure> {
    input::opt_count(options, key, "options", max)
}

fn config(store: &Store, options: &JsValue) -> Result<(SyncConfig, usize), Failure> {
    let field = |k: &str| input::field(options, k, "options");
    let base = input::text(&field("baseUrl")?, "options.baseUrl")?;
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Failure::argument(
            "`options.baseUrl` must be an http:// or https:// URL",
        ));
    }
    let token = field("token")?;
    let token = if input::absent(&token) {
        String::new()
    } else {
        input::text(&token, "options.token")?
    };
    let device = input::text(&field("device")?, "options.device")?;
    if device.is_empty() || device.len() > 255 {
        return Err(Failure::argument("`options.device` must be 1 to 255 bytes"));
    }
    // The rank context: given here, else the store's (`setContext`).
    let ctx = field("context")?;
    let ctx = if input::absent(&ctx) {
        let d = store.device.as_ref().ok_or_else(|| {
            Failure::not_configured(
                "no rank context: pass options.context or call store.setContext({ me }) first",
            )
        })?;
        RankContext {
            now: d.now.unwrap_or_else(clock),
            me: d.me.clone(),
            territories: d.territories.clone(),
        }
    } else {
        let me = input::text(&input::field(&ctx, "me", "context")?, "context.me")?;
        let territories = input::strings(
            &input::field(&ctx, "territories", "context")?,
            "context.territories",
        )?;
        let now = input::seconds_or(&input::field(&ctx, "now", "context")?, "context.now", clock)?;
        RankContext {
            now,
            me,
            territories,
        }
    };
    let mut c = SyncConfig::new(&base, &token, &device, ctx);
    // The rules decide the pushdown (which feeds) and what a full store
    // keeps. `rules: null` pulls every record and skips what does not fit.
    let rules = field("rules")?;
    c.rules = if rules.is_undefined() {
        store.rules.clone()
    } else if rules.is_null() {
        None
    } else {
        let text = input::json_text(&rules, "options.rules")?;
        Some(satchel_core::rules::RankRules::from_json(&text)?)
    };
    if let Some(b) = input::flag(options, "push", "options")? {
        c.push = b;
    }
    if let Some(b) = input::flag(options, "pull", "options")? {
        c.pull = b;
    }
    if let Some(n) = opt_number(options, "maxPages", 1e9)? {
        c.max_pages = (n as u32).max(1);
    }
    if let Some(n) = opt_number(options, "maxAttempts", 1000.0)? {
        c.max_attempts = (n as u32).max(1);
    }
    if let Some(n) = opt_number(options, "backoffMs", 3_600_000.0)? {
        c.backoff_ms = n as u64;
    }
    if let Some(n) = opt_number(options, "maxWaitMs", 3_600_000.0)? {
        c.max_wait_ms = n as u64;
    }
    if let Some(n) = opt_number(options, "stubSharePercent", 100.0)? {
        c.stub_share_percent = n as u8;
    }
    let max_body = opt_number(options, "maxBodyBytes", (32u32 << 20) as f64)?
        .map_or(DEFAULT_MAX_BODY, |n| (n as usize).max(1024));
    c.max_body_bytes = max_body;
    Ok((c, max_body))
}

/// `[[name, value], …]` from an array of pairs, a `Headers` (any iterable of
/// pairs) or a plain object.
fn headers(value: &JsValue) -> Result<Vec<(String, String)>, Failure> {
    let bad = || {
        Failure::argument(
            "`headers` must be [[name, value], …], a Headers object or a plain object",
        )
    };
    if input::absent(value) {
        return Ok(Vec::new());
    }
    let pairs: js_sys::Array = match js_sys::try_iter(value).map_err(|_| bad())? {
        Some(it) => {
            let a = js_sys::Array::new();
            for item in it {
                a.push(&item.map_err(|_| bad())?);
            }
            a
        }
        None if value.is_object() => js_sys::Object::entries(value.unchecked_ref()),
        None => return Err(bad()),
    };
    let mut out = Vec::with_capacity(pairs.length() as usize);
    for p in pairs.iter() {
        let p = p.dyn_into::<js_sys::Array>().map_err(|_| bad())?;
        let k = p.get(0).as_string().ok_or_else(bad)?;
        let v = p.get(1).as_string().ok_or_else(bad)?;
        out.push((k, v));
    }
    Ok(out)
}

fn report_object(r: &satchel_core::sync::Report) -> JsValue {
    let n = |v: u64| num(v as f64);
    object(&[
        ("pushed", n(r.pushed)),
        ("merged", n(r.merged)),
        ("conflicts", n(r.conflicts)),
        ("upserted", n(r.upserted)),
        ("deleted", n(r.deleted)),
        ("skipped", n(r.skipped)),
        ("retained", n(r.retained)),
        ("retries", n(r.retries)),
        ("relatedUpserted", n(r.related_upserted)),
        ("relatedDeleted", n(r.related_deleted)),
        ("relatedSkipped", n(r.related_skipped)),
    ])
}

fn event_object(e: Event) -> JsValue {
    let seq = |s: u64| ("seq", num(s as f64));
    match e {
        Event::Pushed { seq: s } => object(&[("kind", "pushed".into()), seq(s)]),
        Event::Merged { seq: s } => object(&[("kind", "merged".into()), seq(s)]),
        Event::Conflict { seq: s } => object(&[("kind", "conflict".into()), seq(s)]),
        Event::EditRefused { seq: s, reason } => object(&[
            ("kind", "editRefused".into()),
            seq(s),
            ("reason", reason.into()),
        ]),
        Event::Retry { reason } => object(&[("kind", "retry".into()), ("reason", reason.into())]),
    }
}

#[wasm_bindgen]
impl SyncSession {
    /// A session for `store` with `options`: `{ profile, baseUrl, token?,
    /// device, context?, rules?, state?, push?, pull?, maxPages?,
    /// maxAttempts?, backoffMs?, maxWaitMs?, maxBodyBytes?,
    /// stubSharePercent? }`. `profile` is a built-in name (`"reference"`,
    /// `"json-server"`), a profile object or its JSON (`INVALID_PROFILE`
    /// names the field); `state` is what `state()` returned last time (null:
    /// first sync); `context` defaults to the store's `setContext`, `rules`
    /// to its `setRules` (`null`: pull everything).
    #[wasm_bindgen(constructor)]
    pub fn new(
        store: &Store,
        #[wasm_bindgen(unchecked_param_type = "SyncOptions")] options: JsValue,
    ) -> Result<SyncSession, JsValue> {
        if !options.is_object() {
            return Err(Failure::argument(
                "`options` must be an object like { profile: \"reference\", baseUrl, token, device }",
            )
            .into());
        }
        let profile = profile(&input::field(&options, "profile", "options")?)?;
        let (config, max_body) = config(store, &options)?;
        let state = input::field(&options, "state", "options")?;
        let state = if input::absent(&state) {
            SyncState::default()
        } else {
            let text = input::text(&state, "options.state")?;
            SyncState::from_json(&text).map_err(Failure::sync_state)?
        };
        Ok(SyncSession {
            inner: CoreSession::new(profile, config, state, &store.inner),
            max_body,
            aborted: false,
        })
    }

    /// What to do next, as a plain object: `{ kind: "send", method, url,
    /// headers: [[name, value]], body: Uint8Array | null }`, `{ kind:
    /// "wait", ms }`, `{ kind: "done", report }`, or a stop that carries the
    /// `SatchelError` to throw: `{ kind: "auth", status, message, error }`,
    /// `{ kind: "wipe", error }`, `{ kind: "failed", error }`.
    #[wasm_bindgen(unchecked_return_type = "SyncAction")]
    pub fn poll(&mut self, store: &mut Store) -> JsValue {
        if self.aborted {
            return object(&[
                ("kind", "failed".into()),
                ("error", Failure::aborted().into()),
            ]);
        }
        match self.inner.poll(&mut store.inner) {
            Action::Send(req) => {
                let headers = js_sys::Array::new();
                for (k, v) in &req.headers {
                    let pair = js_sys::Array::of2(&k.into(), &v.into());
                    headers.push(&pair);
                }
                let body = if req.body.is_empty() {
                    JsValue::NULL
                } else {
                    js_sys::Uint8Array::from(req.body.as_slice()).into()
                };
                object(&[
                    ("kind", "send".into()),
                    ("method", req.method.into()),
                    ("url", req.url.into()),
                    ("headers", headers.into()),
                    ("body", body),
                ])
            }
            Action::Wait { millis } => {
                object(&[("kind", "wait".into()), ("ms", num(millis as f64))])
            }
            Action::Auth { status, message } => object(&[
                ("kind", "auth".into()),
                ("status", num(status)),
                ("message", message.as_str().into()),
                ("error", Failure::auth(status, &message).into()),
            ]),
            Action::Wipe => object(&[("kind", "wipe".into()), ("error", Failure::wipe().into())]),
            Action::Failed(e) => object(&[
                ("kind", "failed".into()),
                ("error", Failure::from(e).into()),
            ]),
            Action::Done(r) => object(&[("kind", "done".into()), ("report", report_object(&r))]),
        }
    }

    /// The response to the request `poll` asked for: status, headers (pairs,
    /// a `Headers` or an object) and body (`Uint8Array`, a string, or null).
    /// A body over `maxBodyBytes` is refused by the session (pass at most
    /// `maxBodyBytes + 1` bytes).
    #[wasm_bindgen(js_name = handleResponse)]
    pub fn handle_response(
        &mut self,
        store: &mut Store,
        #[wasm_bindgen(unchecked_param_type = "number")] status: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "Array<[string, string]> | Headers | Record<string, string>"
        )]
        headers: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string | null")] body: JsValue,
    ) -> Result<(), JsValue> {
        let status = input::count(&status, "status", 999.0)? as u16;
        let headers = self::headers(&headers)?;
        let body = if input::absent(&body) {
            Vec::new()
        } else if let Some(s) = body.as_string() {
            s.into_bytes()
        } else {
            input::bytes(&body, "body")?
        };
        if !self.aborted {
            self.inner.handle_response(
                &mut store.inner,
                HttpResponse {
                    status,
                    headers,
                    body,
                },
            );
        }
        Ok(())
    }

    /// The request failed without a response (network down, connection
    /// reset, body cut short): the session retries it with backoff.
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] message: JsValue,
    ) {
        let m = message
            .as_string()
            .unwrap_or_else(|| "transport error".into());
        if !self.aborted {
            self.inner.handle_transport_error(&m);
        }
    }

    /// Stops the session (every later `poll` answers `failed` with
    /// `SYNC_ABORTED`) and returns that error, for the loop to throw.
    /// `state()` stays the position of the last page applied.
    pub fn cancel(&mut self) -> JsValue {
        self.aborted = true;
        Failure::aborted().into()
    }

    /// `{ editsDone, editsExpected, recordsDone, recordsExpected | null,
    /// bytesDone, pages }`: records expected only when the backend says.
    #[wasm_bindgen(unchecked_return_type = "SyncProgress")]
    pub fn progress(&self) -> JsValue {
        let p = self.inner.progress();
        let n = |v: u64| num(v as f64);
        object(&[
            ("editsDone", n(p.edits_done)),
            ("editsExpected", n(p.edits_expected)),
            ("recordsDone", n(p.records_done)),
            (
                "recordsExpected",
                p.records_expected.map_or(JsValue::NULL, n),
            ),
            ("bytesDone", n(p.bytes_done)),
            ("pages", n(p.pages)),
        ])
    }

    /// What the sync did so far: `{ pushed, merged, conflicts, upserted,
    /// deleted, skipped, retained, retries, relatedUpserted, relatedDeleted,
    /// relatedSkipped }`.
    #[wasm_bindgen(unchecked_return_type = "SyncReport")]
    pub fn report(&self) -> JsValue {
        report_object(&self.inner.report())
    }

    /// The resumable position as JSON text: save it after the store's
    /// snapshot, pass it as `options.state` next time.
    pub fn state(&self) -> String {
        self.inner.state().to_json()
    }

    /// The next event (`{ kind: "pushed" | "merged" | "conflict", seq }`,
    /// `{ kind: "editRefused", seq, reason }`, `{ kind: "retry", reason }`),
    /// or `undefined`.
    #[wasm_bindgen(js_name = pollEvent, unchecked_return_type = "SyncEvent | undefined")]
    pub fn poll_event(&mut self) -> JsValue {
        self.inner
            .poll_event()
            .map_or(JsValue::UNDEFINED, event_object)
    }

    /// Largest response body the session accepts (bytes).
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> usize {
        self.max_body
    }
}

/// Runs `session` to its end over `options.fetch` (default: the global
/// `fetch`): sends each request, honours waits with timers, calls
/// `options.onProgress(progress, session)` after each response (it may
/// return a promise: save there) and `options.onEvent(event)` for each
/// event. Resolves with the report; rejects with a `SatchelError`
/// (`AUTH_REQUIRED`, `WIPE_REQUIRED`, `SYNC_*`, `SYNC_ABORTED` when
/// `options.signal` aborts: checked between requests, the state stays
/// resumable).
#[wasm_bindgen(unchecked_return_type = "Promise<SyncReport>")]
pub fn sync(
    #[wasm_bindgen(unchecked_param_type = "Store")] store: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SyncSession")] session: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SyncDriveOptions | undefined")] options: JsValue,
) -> js_sys::Promise {
    match fetch_given(&options) {
        Ok(()) => drive(&store, &session, &options),
        Err(f) => js_sys::Promise::reject(&f.into()),
    }
}

/// `options.fetch` is a function, or absent with a global `fetch`.
fn fetch_given(options: &JsValue) -> Result<(), Failure> {
    let f = input::field(options, "fetch", "options")?;
    let global = || js_sys::Reflect::get(&js_sys::global(), &"fetch".into());
    let ok = if input::absent(&f) {
        global().is_ok_and(|g| g.is_function())
    } else {
        f.is_function()
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::argument(
            "`options.fetch` must be a function (there is no global fetch here)",
        ))
    }
}

fn resolution(value: &JsValue) -> Result<Resolution, Failure> {
    match value.as_string().as_deref() {
        Some("local") => Ok(Resolution::Local),
        Some("server") => Ok(Resolution::Server),
        _ => Err(Failure::argument(
            "`side` must be \"local\" (the rep's values) or \"server\" (the backend's)",
        )),
    }
}

#[wasm_bindgen]
impl Store {
    /// Open sync conflicts, by outbox order: `[{ seq, id, server_version,
    /// server_deleted, clashes: [{ local, server }], server_record,
    /// resolution }]`; each clash holds both values of one field as changes
    /// (`{ phone: "…" }`). Kept across a reload with `ledgerState` /
    /// `restoreLedger`; without them the next sync raises them again.
    #[wasm_bindgen(unchecked_return_type = "Conflict[]")]
    pub fn conflicts(&self) -> JsValue {
        parsed(&serde_json::to_string(self.inner.conflicts()).unwrap_or_default())
    }

    /// The rep's choice for the conflict of outbox edit `seq`: `"local"`
    /// (the next sync writes the rep's values over the backend's version) or
    /// `"server"` (the backend's values go on the device now; the rest of
    /// the edit is still pushed). `NO_SUCH_CONFLICT` when none is open.
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] seq: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"local\" | \"server\"")] side: JsValue,
    ) -> Result<(), JsValue> {
        let seq = input::count(&seq, "seq", 9_007_199_254_740_991.0)? as u64;
        let side = resolution(&side)?;
        Ok(self
            .inner
            .resolve_conflict(seq, side)
            .map_err(Failure::from)?)
    }

    /// The conflicts ledger (each outbox edit's base, the open conflicts
    /// with the rep's choices) as opaque bytes (core's
    /// `LedgerState::to_postcard`; binary, since a JSON parser of it would add ~8 KB gzip
    /// to the legacy `.wasm`). Not in the snapshot: keep it beside each
    /// snapshot (sealed as a secret) and give it back with `restoreLedger`
    /// after a reload, or the conflicts return only with the next sync.
    #[wasm_bindgen(js_name = ledgerState)]
    pub fn ledger_state(&self) -> Vec<u8> {
        self.inner.ledger_state().to_postcard()
    }

    /// Puts a ledger saved with `ledgerState` back, into a store opened from
    /// the snapshot it was saved with (or a later one). Entries of edits no
    /// longer in the outbox are dropped (an old ledger cannot resurrect an
    /// acknowledged edit's conflict); returns how many. All or nothing:
    /// `INVALID_ARGUMENT` (not a saved ledger) or `BUDGET_EXCEEDED` change
    /// nothing.
    #[wasm_bindgen(js_name = restoreLedger)]
    pub fn restore_ledger(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] saved: JsValue,
    ) -> Result<u32, JsValue> {
        let bytes = input::bytes(&saved, "saved")?;
        let state = LedgerState::from_postcard(&bytes).ok_or_else(|| {
            Failure::argument(
                "`saved` is not a ledger from ledgerState(); pass nothing to go on without it",
            )
        })?;
        let dropped = self.inner.restore_ledger(state).map_err(Failure::from)?;
        Ok(dropped as u32)
    }

    /// Erases everything (records, stubs, pins, outbox, conflicts): what a
    /// remote wipe (`WIPE_REQUIRED`) asks. Budget and settings stay.
    pub fn erase(&mut self) {
        self.inner.erase();
    }
}
