//! [`SyncSession`]: one sync, push then pull, as a state machine.
//!
//! Owns the order of a sync (the outbox first, oldest edit first, then each
//! feed of the rules' pushdown, then the profile's listing of deleted
//! records if it has one), what a response means (ack, merge — reading the
//! record first when a 412 does not carry it —, conflict, retry, stop), and
//! the resumable [`SyncState`].
//!
//! Invariants:
//! - an outbox edit is acknowledged only after a 2xx for its write; a clash
//!   becomes a [`crate::conflicts::Conflict`] and the edit stays;
//! - a page is applied whole or not at all: it is parsed, mapped and checked
//!   before the store changes (`upsert_batch` is all-or-nothing), and the
//!   feed position moves only after it was applied;
//! - the session holds at most one response body (one page) besides the
//!   store; when the store refuses a page for budget it plans
//!   ([`Store::retain`]) and keeps what makes the cut.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::entities::{read_related, EntityKind, Related};
use super::mapping::{self, FieldMap, Item};
use super::profile::{
    AuthStyle, BodyStyle, ConflictKind, ListStyle, Paging, PagingStyle, Profile, TimeFormat,
};
use crate::budget::BudgetExceeded;
use crate::conflicts::{current_value, Clash, Conflict, Resolution};
use crate::fields::{self, Fields, Part};
use crate::model::{Account, Activity};
use crate::outbox::Edit;
use crate::record_codec;
use crate::rules::{Filter, Pushdown, RankRules};
use crate::score::RankContext;
use crate::store::{Store, WriteError, MAX_RECORD_BYTES};

/// A request for the caller to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `PATCH`, …
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body (empty for none).
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes (the caller stops reading at [`SyncConfig::max_body_bytes`]
    /// + 1; a longer body is refused).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the session needs from its caller.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// `http://127.0.0.1:8787` (no trailing slash).
    pub base_url: String,
    /// The bearer token.
    pub token: String,
    /// The device's id (idempotency keys, the device header).
    pub device: String,
    /// The rules that decide what the device keeps (pushdown, retain);
    /// `None`: pull everything, skip what does not fit.
    pub rules: Option<RankRules>,
    /// Who the rep is and when it is (for the pushdown and for `retain`).
    pub ctx: RankContext,
    /// Share of room for stubs when planning (`retain`'s argument).
    pub stub_share_percent: u8,
    /// Most pages one feed pass may take (a page that never ends is cut here).
    pub max_pages: u32,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
    /// Tries of one request before the session gives up.
    pub max_attempts: u32,
    /// First backoff after a 5xx or a transport error (doubles each try).
    pub backoff_ms: u64,
    /// Longest wait asked for (a `Retry-After` above is cut to it).
    pub max_wait_ms: u64,
    /// Send the outbox.
    pub push: bool,
    /// Pull the feed.
    pub pull: bool,
}

impl SyncConfig {
    /// Defaults for `base_url`, `token` and the rep's context.
    pub fn new(base_url: &str, token: &str, device: &str, ctx: RankContext) -> Self {
        SyncConfig {
            base_url: base_url.trim_end_matches('/').into(),
            token: token.into(),
            device: device.into(),
            rules: None,
            ctx,
            stub_share_percent: 10,
            max_pages: 100_000,
            max_body_bytes: 16 << 20,
            max_attempts: 8,
            backoff_ms: 500,
            max_wait_ms: 300_000,
            push: true,
            pull: true,
        }
    }
}

/// Where one feed stands (one per alternative of the pushdown).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// The feed's filters, as JSON (a feed whose filters change starts over).
    pub key: String,
    /// `keyset`: the position to send (`since`, `after_seq`); `cursor`: the cursor.
    pub params: Vec<(String, String)>,
    /// `next_url`: the next page's URL in a pass under way.
    pub next_url: Option<String>,
    /// `next_url` with `paging.delta_link`: where the next pass starts (the
    /// backend's delta link from the last pass's last page).
    #[serde(default)]
    pub delta_url: Option<String>,
    /// `page`/`offset`: the next page number or offset in a pass under way.
    pub page: u64,
    /// Styles but `keyset`: the next pass asks for records updated at or
    /// after this (Unix seconds).
    pub since: Option<i64>,
    /// The newest update time seen in the pass under way.
    pub pass_max: Option<i64>,
    /// A pass is under way (resume it rather than start one).
    pub in_pass: bool,
    /// At least one pass finished (later passes are deltas).
    pub complete: bool,
}

/// The resumable position of sync (persist it; start the next session from it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The profile it belongs to (another profile starts afresh).
    pub profile: String,
    /// The feeds.
    pub feeds: Vec<FeedState>,
}

impl SyncState {
    /// As JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// From JSON. Members it does not know are ignored (a newer version
    /// may have written more).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let tree: Value =
            serde_json::from_slice(text.as_bytes()).map_err(|e| format!("sync state: {e}"))?;
        fields::read(&tree, "sync state").map_err(|e| format!("sync state: {e}"))
    }
}

// Read by hand (crate::fields, for the wasm module's size); the serde
// derives write the JSON and are the reference the tests hold these to.

impl Part for SyncState {
    const KEYS: &'static [&'static str] = &["profile", "feeds"];
    const OPEN: bool = true;

    fn read(f: &Fields<'_>) -> SyncState {
        SyncState {
            profile: f.string("profile"),
            feeds: f.require("feeds").list_of::<FeedState>("feeds"),
        }
    }
}

impl Part for FeedState {
    const KEYS: &'static [&'static str] = &[
        "key",
        "params",
        "next_url",
        "delta_url",
        "page",
        "since",
        "pass_max",
        "in_pass",
        "complete",
    ];
    const OPEN: bool = true;

    fn read(f: &Fields<'_>) -> FeedState {
        FeedState {
            key: f.string("key"),
            params: f.require("params").pairs("params"),
            next_url: f.option("next_url"),
            delta_url: f.option("delta_url"),
            page: f.require("page").number("page", 0, u64::MAX),
            since: f.opt_int("since"),
            pass_max: f.opt_int("pass_max"),
            in_pass: f.require("in_pass").flag("in_pass"),
            complete: f.require("complete").flag("complete"),
        }
    }
}

/// What to do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send this request; hand the outcome to `handle_response` or
    /// `handle_transport_error`.
    Send(HttpRequest),
    /// Wait this long, then poll again (backoff, `Retry-After`).
    Wait {
        /// Milliseconds.
        millis: u64,
    },
    /// The backend refused the credentials: log in again, start a new session.
    Auth {
        /// 401 or 403.
        status: u16,
        /// The backend's message.
        message: String,
    },
    /// The backend ordered this device wiped (`403 device_wiped`, or the
    /// profile's wipe header): erase the store's files
    /// ([`crate::persist::Durable::erase`]), the sync state and the keys,
    /// then send [`SyncSession::wipe_confirmation`]. Nothing of the
    /// response that carried the order was applied.
    Wipe,
    /// The sync stopped; the store holds every page applied before.
    Failed(SyncError),
    /// Finished.
    Done(Report),
}

/// Why a sync stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncError {
    /// A response that is not what the profile describes (wrong types,
    /// missing fields, invalid JSON or UTF-8, too large). The page was not applied.
    Malformed {
        /// The request's URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The feed's next position did not move, or a pass took more than
    /// [`SyncConfig::max_pages`] pages.
    Endless {
        /// The request's URL.
        url: String,
    },
    /// An HTTP status the session does not retry (400, 404 on a listing, …)
    /// or the tries ran out.
    Http {
        /// Status (0: transport error).
        status: u16,
        /// Detail.
        message: String,
    },
    /// The store could not hold a record the sync must write (a rebased
    /// dirty record).
    Budget(BudgetExceeded),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Malformed { url, detail } => {
                write!(f, "malformed response from {url}: {detail}; the page was not applied")
            }
            SyncError::Endless { url } => write!(
                f,
                "the feed does not advance at {url} (a repeated cursor or too many pages); the backend pages wrongly"
            ),
            SyncError::Http { status, message } => write!(f, "HTTP {status}: {message}"),
            SyncError::Budget(b) => write!(f, "sync: {b}"),
        }
    }
}

/// Things worth telling the app (drained with [`SyncSession::poll_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An outbox edit reached the backend and was acknowledged.
    Pushed {
        /// Outbox seq.
        seq: u64,
    },
    /// An edit met a newer version with other fields changed; merged and resent.
    Merged {
        /// Outbox seq.
        seq: u64,
    },
    /// An edit clashed; see [`Store::conflicts`].
    Conflict {
        /// Outbox seq.
        seq: u64,
    },
    /// The backend refused an edit (kept in the outbox).
    EditRefused {
        /// Outbox seq.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A request failed and will be retried.
    Retry {
        /// Why.
        reason: String,
    },
}

/// For a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Outbox edits handled.
    pub edits_done: u64,
    /// Outbox edits at the start.
    pub edits_expected: u64,
    /// Feed records handled (applied, deleted or skipped).
    pub records_done: u64,
    /// Feed records expected, when the backend says.
    pub records_expected: Option<u64>,
    /// Response bytes received.
    pub bytes_done: u64,
    /// Pages applied.
    pub pages: u64,
}

/// What a sync did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Edits acknowledged.
    pub pushed: u64,
    /// Edits merged field-wise before being acknowledged.
    pub merged: u64,
    /// Conflicts raised.
    pub conflicts: u64,
    /// Records written from the feed.
    pub upserted: u64,
    /// Records deleted by tombstones.
    pub deleted: u64,
    /// Records skipped: they failed a filter on the device or did not make
    /// the cut of the budget.
    pub skipped: u64,
    /// Times the store was planned (`retain`) to make room.
    pub retained: u64,
    /// Contacts, deals and price lists written (a contact or deal onto its
    /// account).
    pub related_upserted: u64,
    /// Contacts, deals and price lists deleted by tombstones.
    pub related_deleted: u64,
    /// Contacts and deals whose account is not on the device, and related
    /// records that did not fit the budget.
    pub related_skipped: u64,
    /// Requests retried.
    pub retries: u64,
}

#[derive(Clone, Debug)]
enum Kind {
    Write {
        seq: u64,
        if_match: Option<u64>,
        create: bool,
    },
    Page {
        feed: usize,
    },
    /// A 412 without the record in its body: read the record, then merge.
    Refetch {
        seq: u64,
        if_match: Option<u64>,
    },
}

#[derive(Clone, Debug)]
struct InFlight {
    req: HttpRequest,
    kind: Kind,
    attempts: u32,
}

/// What a feed lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FeedKind {
    /// Accounts, under one alternative of the pushdown.
    Accounts,
    /// The profile's listing of deleted accounts (`deletion.params`).
    Deletions,
    /// A feed beside the accounts (`entities`).
    Related(EntityKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Push,
    Pull(usize),
    Done,
}

/// One sync (see the module doc of [`crate::sync`] for the calling order).
pub struct SyncSession {
    profile: Profile,
    config: SyncConfig,
    state: SyncState,
    /// Per feed: the pushdown's filters (empty for all but accounts feeds).
    filters: Vec<Vec<Filter>>,
    /// Per feed: what it lists. Accounts feeds come first, then the
    /// deletions listing, then the related feeds in [`EntityKind::ALL`] order.
    kinds: Vec<FeedKind>,
    /// Per related feed kind (by [`EntityKind::ALL`] index): where each
    /// canonical field is read from.
    related_fields: [Vec<FieldMap>; 4],
    phase: Phase,
    inflight: Option<InFlight>,
    wait: Option<u64>,
    finished: Option<Action>,
    // A sync touches a few edits: these small sets and maps are sorted
    // `Vec`s (`sorted_*` below), not B-trees, each B-tree type being a few
    // KB of the wasm module.
    /// Outbox edits this session is done with (sent, or held back), sorted.
    handled: Vec<u64>,
    /// Ids whose later edits must wait (an earlier one is in conflict), sorted.
    blocked: Vec<String>,
    /// If-Match to use per edit after a merge: (seq, version), by seq.
    rebased: Vec<(u64, u64)>,
    /// Merges per edit: (seq, count), by seq.
    merges: Vec<(u64, u64)>,
    pass_pages: u32,
    last_page_sig: Option<(String, String, usize)>,
    progress: Progress,
    report: Report,
    events: VecDeque<Event>,
}

/// The pushdown as feeds: alternatives that another one subsumes are dropped
/// (a record passing `owner=me & stage=x` passes `owner=me`), alternatives
/// that can match nothing too; none means one unfiltered feed.
pub fn feeds_for(rules: Option<&RankRules>, ctx: &RankContext) -> Vec<Vec<Filter>> {
    let alts = match rules.map(|r| r.pushdown(&ctx.me, &ctx.territories, ctx.now)) {
        None | Some(Pushdown::Everything) => return alloc::vec![Vec::new()],
        Some(Pushdown::AnyOf(a)) => a,
    };
    let empty = |f: &Filter| match f {
        Filter::OwnerIn(v) | Filter::TerritoryIn(v) | Filter::StageIn(v) => v.is_empty(),
        _ => false,
    };
    let alts: Vec<Vec<Filter>> = alts.into_iter().filter(|a| !a.iter().any(empty)).collect();
    if alts.is_empty() || alts.iter().any(Vec::is_empty) {
        return alloc::vec![Vec::new()];
    }
    let mut out: Vec<Vec<Filter>> = Vec::new();
    for (i, a) in alts.iter().enumerate() {
        let subsumed = alts.iter().enumerate().any(|(j, b)| {
            j != i && b.iter().all(|f| a.contains(f)) && (b.len() < a.len() || j < i)
        });
        if !subsumed {
            out.push(a.clone());
        }
    }
    out
}

/// True when `a` passes every filter.
pub fn passes(filters: &[Filter], a: &Account) -> bool {
    filters.iter().all(|f| match f {
        Filter::OwnerIn(v) => v.contains(&a.owner),
        Filter::TerritoryIn(v) => v.contains(&a.territory),
        Filter::StageIn(v) => v.contains(&a.stage),
        Filter::DealValueAbove(n) => a.deal_value > *n,
        Filter::NextVisitBetween(from, to) => a.next_visit.is_some_and(|t| t >= *from && t <= *to),
        Filter::LastContactSince(t) => a.last_contact.is_some_and(|x| x >= *t),
        Filter::HasTag(t) => a.tags.contains(t),
    })
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        // `$` is left as it is: OData's system options (`$filter`) are
        // spelled so in every example, and it is legal in a query.
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'$') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query(params: &[(String, String)]) -> String {
    let mut q = String::new();
    for (k, v) in params {
        q.push(if q.is_empty() { '?' } else { '&' });
        q.push_str(&encode_component(k));
        q.push('=');
        q.push_str(&encode_component(v));
    }
    q
}

fn time_param(t: i64, f: TimeFormat) -> String {
    match f {
        TimeFormat::UnixSeconds => t.to_string(),
        TimeFormat::UnixMs => t.saturating_mul(1000).to_string(),
        TimeFormat::Iso8601 => mapping::format_iso8601(t),
    }
}

/// The `rel="next"` URL of a `Link` header.
fn link_next(h: &str) -> Option<String> {
    h.split(',').find_map(|part| {
        let (url, rest) = part.split_once(';')?;
        crate::substr::contains(rest, "rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .into()
        })
    })
}

/// The `error` member of a JSON error body (`{"error": "device_wiped", …}`).
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("error")?
        .as_str()
        .map(String::from)
}

fn scalar_params(v: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
    let Value::Object(m) = v else {
        return Err(format!("`{what}` is not an object"));
    };
    let mut out = Vec::new();
    for (k, v) in m {
        if k == "href" {
            continue;
        }
        let s = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) if s.len() <= 1024 => s.clone(),
            _ => return Err(format!("`{what}.{k}` is not a number or a short string")),
        };
        out.push((k.clone(), s));
    }
    Ok(out)
}

impl SyncSession {
    /// A session for `profile`, resuming from `state` (use
    /// `SyncState::default()` for a first sync). The outbox is read from the
    /// store as the session goes.
    pub fn new(profile: Profile, config: SyncConfig, state: SyncState, store: &Store) -> Self {
        let mut filters = feeds_for(config.rules.as_ref(), &config.ctx);
        let mut kinds = alloc::vec![FeedKind::Accounts; filters.len()];
        if !profile.deletion.params.is_empty() {
            // The deletions listing: unfiltered (a deleted record is
            // deleted whatever the rules say), after the accounts.
            filters.push(Vec::new());
            kinds.push(FeedKind::Deletions);
        }
        let mut related_fields: [Vec<FieldMap>; 4] = Default::default();
        for (n, kind) in EntityKind::ALL.into_iter().enumerate() {
            if let Some(feed) = profile.entities.feed(kind) {
                filters.push(Vec::new());
                kinds.push(FeedKind::Related(kind));
                related_fields[n] = feed.field_maps(kind);
            }
        }
        let old = if state.profile == profile.name {
            state.feeds
        } else {
            Vec::new()
        };
        let feeds: Vec<FeedState> = filters
            .iter()
            .zip(&kinds)
            .map(|(f, kind)| {
                let key = match kind {
                    FeedKind::Accounts => serde_json::to_string(f).unwrap_or_default(),
                    FeedKind::Deletions => "deletions".into(),
                    FeedKind::Related(k) => k.name().into(),
                };
                old.iter()
                    .find(|s| s.key == key)
                    .cloned()
                    .unwrap_or(FeedState {
                        key,
                        ..FeedState::default()
                    })
            })
            .collect();
        // Accounts that arrive in a first pass (a first sync, or rules that
        // changed) may have contacts and deals the related feeds' positions
        // are already past: those feeds start over too.
        let accounts_start_over = feeds
            .iter()
            .zip(&kinds)
            .any(|(f, k)| *k == FeedKind::Accounts && !f.complete);
        let feeds = feeds
            .into_iter()
            .zip(&kinds)
            .map(|(f, k)| match k {
                FeedKind::Related(kind) if accounts_start_over && kind.per_account() => FeedState {
                    key: f.key,
                    ..FeedState::default()
                },
                _ => f,
            })
            .collect();
        let progress = Progress {
            edits_expected: if config.push {
                store.outbox().len() as u64
            } else {
                0
            },
            ..Progress::default()
        };
        let phase = if config.push {
            Phase::Push
        } else if config.pull {
            Phase::Pull(0)
        } else {
            Phase::Done
        };
        SyncSession {
            state: SyncState {
                profile: profile.name.clone(),
                feeds,
            },
            profile,
            config,
            filters,
            kinds,
            related_fields,
            phase,
            inflight: None,
            wait: None,
            finished: None,
            handled: Vec::new(),
            blocked: Vec::new(),
            rebased: Vec::new(),
            merges: Vec::new(),
            pass_pages: 0,
            last_page_sig: None,
            progress,
            report: Report::default(),
            events: VecDeque::new(),
        }
    }

    /// After [`Action::Wipe`], once the store, its journal, the sync state
    /// and the keys are erased: the request that tells the backend so, for
    /// profiles that speak the reference protocol's wipe (they name a
    /// `wipe_header`; the confirmation is `POST /v1/device/wiped`, which
    /// clears the flag and revokes the device's tokens). `None` otherwise.
    pub fn wipe_confirmation(&self) -> Option<HttpRequest> {
        if self.finished != Some(Action::Wipe) || self.profile.wipe_header.is_none() {
            return None;
        }
        Some(HttpRequest {
            method: "POST".into(),
            url: format!("{}/v1/device/wiped", self.config.base_url),
            headers: self.headers(None),
            body: Vec::new(),
        })
    }

    /// The resumable position (persist after the store).
    pub fn state(&self) -> &SyncState {
        &self.state
    }

    /// Progress so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// What was done so far.
    pub fn report(&self) -> Report {
        self.report
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What to do next.
    pub fn poll(&mut self, store: &mut Store) -> Action {
        loop {
            if let Some(a) = &self.finished {
                return a.clone();
            }
            if let Some(ms) = self.wait.take() {
                return Action::Wait { millis: ms };
            }
            if let Some(f) = &self.inflight {
                return Action::Send(f.req.clone());
            }
            match self.phase {
                Phase::Push => {
                    if !self.next_write(store) {
                        self.phase = if self.config.pull {
                            Phase::Pull(0)
                        } else {
                            Phase::Done
                        };
                    }
                }
                Phase::Pull(i) if i < self.filters.len() => {
                    let req = self.page_request(i);
                    self.inflight = Some(InFlight {
                        req,
                        kind: Kind::Page { feed: i },
                        attempts: 0,
                    });
                }
                Phase::Pull(_) | Phase::Done => {
                    self.phase = Phase::Done;
                    self.finished = Some(Action::Done(self.report));
                }
            }
        }
    }

    /// The request in flight failed without a response (connection refused,
    /// reset, cut short): it is retried with backoff.
    pub fn handle_transport_error(&mut self, error: &str) {
        self.retry(0, error, None);
    }

    fn retry(&mut self, status: u16, reason: &str, after_ms: Option<u64>) {
        let Some(f) = self.inflight.as_mut() else {
            return;
        };
        f.attempts += 1;
        if f.attempts >= self.config.max_attempts {
            self.finished = Some(Action::Failed(SyncError::Http {
                status,
                message: format!("{reason} ({} tries of {})", f.attempts, f.req.url),
            }));
            return;
        }
        let backoff = self
            .config
            .backoff_ms
            .saturating_mul(1 << (f.attempts - 1).min(16));
        self.wait = Some(after_ms.unwrap_or(backoff).min(self.config.max_wait_ms));
        self.report.retries += 1;
        self.events.push_back(Event::Retry {
            reason: reason.into(),
        });
    }

    /// Hands the response to the request in flight to the session.
    pub fn handle_response(&mut self, store: &mut Store, resp: HttpResponse) {
        let Some(f) = self.inflight.clone() else {
            return;
        };
        self.progress.bytes_done += resp.body.len() as u64;
        if let Some(h) = &self.profile.wipe_header {
            if resp.header(h) == Some("1") {
                self.finished = Some(Action::Wipe);
                return;
            }
        }
        let throttled = self.profile.throttled.as_ref().is_some_and(|t| {
            resp.status >= 400
                && serde_json::from_slice::<Value>(&resp.body)
                    .ok()
                    .and_then(|v| {
                        crate::json::pointer(&v, &t.code)
                            .and_then(Value::as_str)
                            .map(String::from)
                    })
                    .is_some_and(|c| t.values.contains(&c))
        });
        if throttled {
            // A vendor's rate limit under another status (Salesforce: 403
            // REQUEST_LIMIT_EXCEEDED): not an auth failure; back off, and
            // stop with the vendor's message when the tries run out.
            let reason = format!(
                "HTTP {} (rate limited): {}",
                resp.status,
                self.error_message(&resp.body)
            );
            self.retry(resp.status, &reason, None);
            return;
        }
        match resp.status {
            // The reference protocol's wipe order (BACKEND.md): also when
            // the profile names no wipe header.
            403 if error_code(&resp.body).as_deref() == Some("device_wiped") => {
                self.finished = Some(Action::Wipe);
                return;
            }
            401 | 403 => {
                self.finished = Some(Action::Auth {
                    status: resp.status,
                    message: self.error_message(&resp.body),
                });
                return;
            }
            429 | 408 | 500..=599 => {
                let after = resp
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| s.saturating_mul(1000));
                self.retry(resp.status, &format!("HTTP {}", resp.status), after);
                return;
            }
            _ => {}
        }
        if resp.body.len() > self.config.max_body_bytes {
            self.malformed(
                &f,
                format!("body of {} bytes is over the limit", resp.body.len()),
            );
            return;
        }
        self.inflight = None;
        match f.kind {
            Kind::Page { feed } => {
                if resp.status != 200 {
                    self.finished = Some(Action::Failed(SyncError::Http {
                        status: resp.status,
                        message: self.error_message(&resp.body),
                    }));
                    return;
                }
                if let Err(e) = self.apply_page(store, feed, &f.req.url, &resp) {
                    self.inflight = Some(f.clone());
                    match e {
                        PageError::Malformed(d) => self.malformed(&f, d),
                        PageError::Endless => {
                            self.inflight = None;
                            self.finished = Some(Action::Failed(SyncError::Endless {
                                url: f.req.url.clone(),
                            }))
                        }
                    }
                }
            }
            Kind::Write {
                seq,
                if_match,
                create,
            } => self.write_done(store, &f, seq, if_match, create, &resp),
            Kind::Refetch { seq, if_match } => self.refetch_done(store, seq, if_match, &resp),
        }
    }

    /// The human message of an error body, where the profile says it is.
    fn error_message(&self, body: &[u8]) -> String {
        let ptr = self.profile.error_message.as_deref().unwrap_or("/message");
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                crate::json::pointer(&v, ptr)
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .unwrap_or_default()
    }

    /// A malformed page is retried (it may be a cut-short body) and then
    /// fails the sync.
    fn malformed(&mut self, f: &InFlight, detail: String) {
        self.inflight = Some(f.clone());
        let last = f.attempts + 1 >= self.config.max_attempts;
        if last {
            self.inflight = None;
            self.finished = Some(Action::Failed(SyncError::Malformed {
                url: f.req.url.clone(),
                detail,
            }));
        } else {
            self.retry(200, &format!("malformed response: {detail}"), None);
        }
    }

    fn headers(&self, idem: Option<String>) -> Vec<(String, String)> {
        let mut h = Vec::new();
        if self.profile.auth.style == AuthStyle::Bearer {
            h.push((
                "Authorization".into(),
                format!("Bearer {}", self.config.token),
            ));
        }
        if let Some(d) = &self.profile.device_header {
            h.push((d.clone(), self.config.device.clone()));
        }
        h.push(("Accept".into(), "application/json".into()));
        h.extend(self.profile.headers.iter().cloned());
        if let (Some(k), Some(v)) = (&self.profile.idempotency_header, idem) {
            h.push((k.clone(), v));
        }
        h
    }

    // ---- pull ----------------------------------------------------------------

    /// The path and paging of feed `i`.
    fn source(&self, i: usize) -> (&str, &Paging) {
        match self.kinds[i] {
            FeedKind::Related(kind) => {
                let feed = self.profile.entities.feed(kind);
                (
                    feed.map_or("", |f| f.path.as_str()),
                    feed.and_then(|f| f.paging.as_ref())
                        .unwrap_or(&self.profile.paging),
                )
            }
            _ => (&self.profile.base_path, &self.profile.paging),
        }
    }

    fn page_request(&mut self, i: usize) -> HttpRequest {
        let (path, pg) = self.source(i);
        let feed = &self.state.feeds[i];
        let base = format!("{}{path}", self.config.base_url);
        let absolute = |u: &String| {
            if u.starts_with("http://") || u.starts_with("https://") {
                u.clone()
            } else {
                format!("{}{}", self.config.base_url, u)
            }
        };
        let url = match (&pg.style, &feed.next_url, &feed.delta_url) {
            (PagingStyle::NextUrl, Some(u), _) if feed.in_pass => absolute(u),
            (PagingStyle::NextUrl, _, Some(u)) if !feed.in_pass => absolute(u),
            _ => {
                let mut p: Vec<(String, String)> = Vec::new();
                if let Some(l) = &pg.limit_param {
                    p.push((l.clone(), pg.page_size.to_string()));
                }
                p.extend(pg.params.iter().cloned());
                if self.kinds[i] == FeedKind::Deletions {
                    for (k, v) in &self.profile.deletion.params {
                        match p.iter_mut().find(|(pk, _)| pk == k) {
                            Some(slot) => slot.1 = v.clone(),
                            None => p.push((k.clone(), v.clone())),
                        }
                    }
                }
                self.push_filters(&mut p, i);
                if !feed.complete {
                    p.extend(pg.first_sync_params.iter().cloned());
                }
                if pg.style != PagingStyle::Keyset {
                    if let (Some(sp), Some(t)) = (&pg.since_param, feed.since) {
                        p.push((sp.clone(), time_param(t, pg.since_format)));
                    }
                    if let Some(tpl) = &pg.since_template {
                        let clause = feed.since.map_or_else(String::new, |t| {
                            crate::substr::replace(tpl, "{}", &time_param(t, pg.since_format))
                        });
                        for (_, v) in p.iter_mut() {
                            *v = crate::substr::replace(v, "{since}", &clause);
                        }
                        p.retain(|(_, v)| !v.is_empty());
                    }
                }
                match pg.style {
                    PagingStyle::Keyset => p.extend(feed.params.iter().cloned()),
                    PagingStyle::Cursor if feed.in_pass => p.extend(feed.params.iter().cloned()),
                    PagingStyle::Page => p.push((
                        pg.page_param.clone().unwrap_or_default(),
                        (if feed.in_pass {
                            feed.page
                        } else {
                            pg.first_page
                        })
                        .to_string(),
                    )),
                    PagingStyle::Offset => p.push((
                        pg.offset_param.clone().unwrap_or_default(),
                        (if feed.in_pass { feed.page } else { 0 }).to_string(),
                    )),
                    _ => {}
                }
                format!("{base}{}", query(&p))
            }
        };
        HttpRequest {
            method: "GET".into(),
            url,
            headers: self.headers(None),
            body: Vec::new(),
        }
    }

    fn push_filters(&self, p: &mut Vec<(String, String)>, i: usize) {
        let fl = &self.profile.filters;
        let mut list = |name: &Option<String>, v: &[String]| {
            if let Some(n) = name {
                match fl.lists {
                    ListStyle::Comma => p.push((n.clone(), v.join(","))),
                    ListStyle::Repeat => p.extend(v.iter().map(|x| (n.clone(), x.clone()))),
                }
            }
        };
        for f in &self.filters[i] {
            match f {
                Filter::OwnerIn(v) => list(&fl.owner, v),
                Filter::TerritoryIn(v) => list(&fl.territory, v),
                Filter::StageIn(v) => list(&fl.stage, v),
                Filter::HasTag(t) => list(&fl.tag, core::slice::from_ref(t)),
                Filter::DealValueAbove(n) => list(&fl.deal_value_above, &[n.to_string()]),
                Filter::NextVisitBetween(a, b) => {
                    list(&fl.next_visit_from, &[a.to_string()]);
                    list(&fl.next_visit_to, &[b.to_string()]);
                }
                Filter::LastContactSince(t) => list(&fl.last_contact_since, &[t.to_string()]),
            }
        }
    }

    fn apply_page(
        &mut self,
        store: &mut Store,
        i: usize,
        url: &str,
        resp: &HttpResponse,
    ) -> Result<(), PageError> {
        let m = |s: String| PageError::Malformed(s);
        let body: Value =
            serde_json::from_slice(&resp.body).map_err(|e| m(format!("not JSON: {e}")))?;
        let pg = self.source(i).1.clone();
        let items = crate::json::pointer(&body, &pg.items)
            .and_then(Value::as_array)
            .ok_or_else(|| m(format!("no array of records at `{}`", pg.items)))?;
        let mapped = self.map_items(i, items).map_err(m)?;
        if let Some(t) = pg
            .total_header
            .as_deref()
            .and_then(|h| resp.header(h))
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| {
                pg.total
                    .as_deref()
                    .and_then(|p| crate::json::pointer(&body, p))
                    .and_then(Value::as_u64)
            })
        {
            self.progress.records_expected = Some(t);
        }
        // Where the feed goes next, decided before anything is applied.
        let feed = self.state.feeds[i].clone();
        let mut next = feed.clone();
        next.in_pass = true;
        let last;
        match pg.style {
            PagingStyle::Keyset => {
                let n = crate::json::pointer(&body, pg.next.as_deref().unwrap_or("/next"))
                    .ok_or_else(|| m("no `next`".into()))?;
                let w =
                    crate::json::pointer(&body, pg.watermark.as_deref().unwrap_or("/watermark"))
                        .ok_or_else(|| m("no `watermark`".into()))?;
                let w = scalar_params(w, "watermark").map_err(m)?;
                if n.is_null() {
                    last = true;
                    next.params = w;
                } else {
                    let p = scalar_params(n, "next").map_err(m)?;
                    if p == feed.params || p.is_empty() {
                        return Err(PageError::Endless);
                    }
                    last = false;
                    next.params = p;
                }
            }
            PagingStyle::Cursor => {
                let c = pg
                    .next
                    .as_deref()
                    .and_then(|p| crate::json::pointer(&body, p));
                match c {
                    None | Some(Value::Null) => last = true,
                    Some(Value::String(s)) if !s.is_empty() && s.len() <= 4096 => {
                        let p =
                            alloc::vec![(pg.cursor_param.clone().unwrap_or_default(), s.clone())];
                        if feed.in_pass && p == feed.params {
                            return Err(PageError::Endless);
                        }
                        next.params = p;
                        last = false;
                    }
                    Some(v) => return Err(m(format!("cursor is {v}, not a string"))),
                }
            }
            PagingStyle::NextUrl => {
                let u = match pg.next.as_deref() {
                    Some(p) => match crate::json::pointer(&body, p) {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => return Err(m("the next URL is not a string".into())),
                    },
                    None => resp.header("Link").and_then(link_next),
                };
                match u {
                    None => {
                        last = true;
                        if let Some(p) = pg.delta_link.as_deref() {
                            // The backend's watermark; a pass without one
                            // keeps the old (the next pass re-reads from it).
                            match crate::json::pointer(&body, p) {
                                None | Some(Value::Null) => {}
                                Some(Value::String(d)) if !d.is_empty() => {
                                    next.delta_url = Some(d.clone())
                                }
                                Some(_) => return Err(m("the delta link is not a string".into())),
                            }
                        }
                    }
                    Some(u) => {
                        if feed.next_url.as_deref() == Some(u.as_str()) || u == url {
                            return Err(PageError::Endless);
                        }
                        next.next_url = Some(u);
                        last = false;
                    }
                }
            }
            PagingStyle::Page | PagingStyle::Offset => {
                let start = if feed.in_pass {
                    feed.page
                } else if pg.style == PagingStyle::Page {
                    pg.first_page
                } else {
                    0
                };
                last = (mapped.len() as u64) < u64::from(pg.page_size);
                next.page = if pg.style == PagingStyle::Page {
                    start + 1
                } else {
                    start + mapped.len() as u64
                };
            }
        }
        if pg.style != PagingStyle::Keyset && !last {
            // Page and offset styles cannot see a repeated cursor: a page
            // identical to the one before stands for it.
            let sig = (
                mapped.key_at(0),
                mapped.key_at(mapped.len().wrapping_sub(1)),
                mapped.len(),
            );
            if self.last_page_sig.as_ref() == Some(&sig) {
                return Err(PageError::Endless);
            }
            self.last_page_sig = Some(sig);
        }
        self.pass_pages += 1;
        if self.pass_pages > self.config.max_pages {
            return Err(PageError::Endless);
        }
        self.progress.records_done += mapped.len() as u64;
        let pass_max = match mapped {
            Mapped::Accounts(items) => self.apply_accounts(store, i, items)?,
            Mapped::Related(kind, items) => self.apply_related(store, kind, items)?,
        };
        let pass_max = latest(next.pass_max, pass_max);
        self.progress.pages += 1;
        next.pass_max = pass_max;
        if last {
            next.in_pass = false;
            next.complete = true;
            next.next_url = None;
            next.page = 0;
            if pg.style != PagingStyle::Keyset {
                next.since = latest(feed.since, pass_max);
                next.params.clear();
            }
            next.pass_max = None;
            self.pass_pages = 0;
            self.last_page_sig = None;
            self.phase = Phase::Pull(i + 1);
        }
        self.state.feeds[i] = next;
        Ok(())
    }

    /// Maps a page's items as feed `i` lists them.
    fn map_items(&self, i: usize, items: &[Value]) -> Result<Mapped, String> {
        let deletion = &self.profile.deletion;
        if let FeedKind::Related(kind) = self.kinds[i] {
            let fields = &self.related_fields[kind as usize];
            let account = self
                .profile
                .entities
                .feed(kind)
                .and_then(|f| f.account.as_deref());
            let mapped = items
                .iter()
                .enumerate()
                .map(|(n, it)| {
                    read_related(kind, fields, account, deletion, it)
                        .map_err(|e| format!("{} record {n}: {e}", kind.name()))
                })
                .collect::<Result<_, _>>()?;
            return Ok(Mapped::Related(kind, mapped));
        }
        let mut mapped = Vec::with_capacity(items.len());
        for (n, it) in items.iter().enumerate() {
            let item = mapping::read_item(&self.profile.mapping, deletion, it)
                .map_err(|e| format!("record {n}: {e}"))?;
            mapped.push(if self.kinds[i] == FeedKind::Deletions {
                // Everything the deletions listing returns is deleted.
                Item::Tombstone {
                    id: item.id().into(),
                }
            } else {
                item
            });
        }
        Ok(Mapped::Accounts(mapped))
    }

    /// Applies a page of accounts from feed `i`; returns its newest update time.
    fn apply_accounts(
        &mut self,
        store: &mut Store,
        i: usize,
        mapped: Vec<Item>,
    ) -> Result<Option<i64>, PageError> {
        let filters = self.filters[i].clone();
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        let mut pass_max: Option<i64> = None;
        for it in mapped {
            match it {
                Item::Account(a) => {
                    pass_max = Some(pass_max.map_or(a.updated_at, |x| x.max(a.updated_at)));
                    // Re-checked on the device: the backend may filter more
                    // loosely than the rules, or not at all. A record already
                    // here is refreshed even if it left the filter.
                    if !passes(&filters, &a) && !store.contains(&a.id) {
                        self.report.skipped += 1;
                        continue;
                    }
                    let a = if store.is_dirty(&a.id) {
                        match rebased_local(store, a) {
                            Some(r) => r,
                            None => continue,
                        }
                    } else {
                        a
                    };
                    upserts.push(self.keep_related(store, a));
                }
                Item::Tombstone { id } => {
                    // A dirty record's deletion is the push's business (410).
                    if !store.is_dirty(&id) {
                        deletes.push(id);
                    }
                }
            }
        }
        let (written, skipped) = self.store_batch(store, upserts)?;
        self.report.upserted += written;
        self.report.skipped += skipped.len() as u64;
        for id in deletes {
            if store.delete(&id).unwrap_or(false) {
                self.report.deleted += 1;
            }
        }
        Ok(pass_max)
    }

    /// An account from the backend (a feed page, a write's answer, a
    /// clash's current version) keeps the contacts and deals the device
    /// holds for it when those come from feeds of their own: the backend's
    /// account does not carry them.
    fn keep_related(&self, store: &Store, mut a: Account) -> Account {
        let entities = &self.profile.entities;
        let contacts = entities.contacts.is_some() && a.contacts.is_empty();
        let deals = entities.deals.is_some() && a.deals.is_empty();
        let activities = entities.activities.is_some();
        if contacts || deals || activities {
            if let Some(old) = store.get(&a.id) {
                if contacts {
                    a.contacts = old.contacts;
                }
                if deals {
                    a.deals = old.deals;
                }
                if activities {
                    // The account may carry some (the rep's pending logs)
                    // and the device others (from the feed): keep both.
                    for x in old.activities {
                        if !a.activities.contains(&x) {
                            attach_activity(&mut a, x);
                        }
                    }
                }
            }
        }
        a
    }

    /// Applies a page of a related feed; returns its newest update time.
    fn apply_related(
        &mut self,
        store: &mut Store,
        kind: EntityKind,
        items: Vec<(Related, Option<i64>)>,
    ) -> Result<Option<i64>, PageError> {
        let pass_max = items.iter().filter_map(|(_, t)| *t).max();
        if kind == EntityKind::PriceLists {
            self.apply_price_lists(store, items.into_iter().map(|(r, _)| r).collect())?;
            return Ok(pass_max);
        }
        // The page's records gathered per account, each account read once
        // and written once (with how many records it gained). A page holds
        // at most 1,000 records: a vector searched from the back (records of
        // one account tend to come together) is enough.
        let mut accounts: Vec<(Account, u64)> = Vec::new();
        for (item, _) in items {
            let account_id = match &item {
                Related::Contact { account, .. }
                | Related::Deal { account, .. }
                | Related::Activity { account, .. } => account.clone(),
                Related::Gone {
                    account: Some(account),
                    ..
                } => account.clone(),
                // A deletion that does not name its account: the account's
                // own deletion takes its contacts and deals along.
                Related::Gone { account: None, .. } | Related::PriceList(_) => continue,
            };
            let live = !matches!(item, Related::Gone { .. });
            let at = match accounts.iter().rposition(|(a, _)| a.id == account_id) {
                Some(at) => at,
                None => match store.get(&account_id) {
                    Some(a) => {
                        accounts.push((a, 0));
                        accounts.len() - 1
                    }
                    None => {
                        self.report.related_skipped += u64::from(live);
                        continue;
                    }
                },
            };
            let (account, added) = &mut accounts[at];
            match item {
                Related::Contact { contact, .. } => {
                    if attach(account, contact, |a| &mut a.contacts, |c| &c.id) {
                        *added += 1;
                    } else {
                        self.report.related_skipped += 1;
                    }
                }
                Related::Deal { deal, .. } => {
                    if attach(account, deal, |a| &mut a.deals, |d| &d.id) {
                        *added += 1;
                    } else {
                        self.report.related_skipped += 1;
                    }
                }
                Related::Activity { activity, .. } => {
                    if account.activities.contains(&activity) {
                        // Already here: the rep logged it, or an earlier pass.
                    } else if attach_activity(account, activity) {
                        *added += 1;
                    } else {
                        self.report.related_skipped += 1;
                    }
                }
                Related::Gone { id, .. } => {
                    let before = account.contacts.len() + account.deals.len();
                    match kind {
                        EntityKind::Contacts => account.contacts.retain(|c| c.id != id),
                        EntityKind::Deals => account.deals.retain(|d| d.id != id),
                        // No id to match: an activity stays until its
                        // account is deleted.
                        EntityKind::Activities | EntityKind::PriceLists => {}
                    }
                    let removed = before - account.contacts.len() - account.deals.len();
                    self.report.related_deleted += removed as u64;
                }
                Related::PriceList(_) => {}
            }
        }
        let added: Vec<(String, u64)> = accounts.iter().map(|(a, n)| (a.id.clone(), *n)).collect();
        let upserts = accounts.into_iter().map(|(a, _)| a).collect();
        let (_, skipped) = self.store_batch(store, upserts)?;
        let lost: u64 = added
            .iter()
            .filter(|(id, _)| skipped.contains(id))
            .map(|(_, n)| n)
            .sum();
        let total: u64 = added.iter().map(|(_, n)| n).sum();
        self.report.related_upserted += total - lost;
        self.report.related_skipped += lost;
        Ok(pass_max)
    }

    /// Applies a page of price lists: every list is checked before any is
    /// written, so a hostile one leaves the store as it was.
    fn apply_price_lists(
        &mut self,
        store: &mut Store,
        items: Vec<Related>,
    ) -> Result<(), PageError> {
        for item in &items {
            if let Related::PriceList(l) = item {
                crate::price_lists::check(l).map_err(|e| {
                    PageError::Malformed(format!("price list {:?}: {e}", mapping::truncate(&l.id)))
                })?;
            }
        }
        for item in items {
            match item {
                Related::PriceList(l) => match store.put_price_list(l) {
                    Ok(()) => self.report.related_upserted += 1,
                    Err(_) => self.report.related_skipped += 1,
                },
                Related::Gone { id, .. } => {
                    if store.remove_price_list(&id).unwrap_or(false) {
                        self.report.related_deleted += 1;
                    }
                }
                Related::Contact { .. } | Related::Deal { .. } | Related::Activity { .. } => {}
            }
        }
        Ok(())
    }

    /// Writes a page's records; when the budget refuses, plans and keeps
    /// what makes the cut. Returns how many were written and the ids of
    /// those that did not fit.
    fn store_batch(
        &mut self,
        store: &mut Store,
        upserts: Vec<Account>,
    ) -> Result<(u64, Vec<String>), PageError> {
        if upserts.is_empty() {
            return Ok((0, Vec::new()));
        }
        let n = upserts.len() as u64;
        let rejected = match store.upsert_batch(upserts) {
            Ok(_) => return Ok((n, Vec::new())),
            Err(r) => r,
        };
        let upserts = match rejected.error {
            WriteError::Budget(_) => rejected.value,
            other => {
                return Err(PageError::Malformed(format!(
                    "a record is refused by the store: {other}"
                )))
            }
        };
        if let Some(rules) = &self.config.rules {
            // Plan down to ⅞ of the budget so the next pages have room
            // before the next (whole-store) plan.
            let target = store.budget().bytes() / 8 * 7;
            if store
                .retain(
                    rules,
                    &self.config.ctx,
                    self.config.stub_share_percent,
                    Some(target),
                )
                .is_ok()
            {
                self.report.retained += 1;
            }
        }
        let mut written = 0;
        let mut skipped = Vec::new();
        for a in upserts {
            match store.upsert(a) {
                Ok(_) => written += 1,
                Err(r) => match r.error {
                    WriteError::Budget(_) => skipped.push(r.value.id),
                    other => {
                        return Err(PageError::Malformed(format!(
                            "record {:?} refused by the store: {other}",
                            r.value.id
                        )))
                    }
                },
            }
        }
        Ok((written, skipped))
    }

    // ---- push ----------------------------------------------------------------

    /// Queues the next write; false when the outbox has nothing more for
    /// this session.
    fn next_write(&mut self, store: &mut Store) -> bool {
        loop {
            let Some(e) = store
                .outbox()
                .iter()
                .find(|e| !sorted_has(&self.handled, &e.seq))
                .cloned()
            else {
                return false;
            };
            if sorted_has(&self.blocked, &e.id) {
                sorted_add(&mut self.handled, e.seq);
                continue;
            }
            let conflict = store.ledger().conflict(e.seq).cloned();
            if let Some(c) = &conflict {
                if c.resolution.is_none() {
                    self.hold(&e);
                    continue;
                }
            }
            let Some(send) = store.edit_to_send(&e) else {
                // Resolved for the server with nothing left: the rep chose.
                let _ = store.ack(e.seq);
                sorted_add(&mut self.handled, e.seq);
                self.progress.edits_done += 1;
                continue;
            };
            let resolved_local = conflict
                .as_ref()
                .filter(|c| c.resolution == Some(Resolution::Local));
            let if_match = sorted_get(&self.rebased, e.seq)
                .or(resolved_local.map(|c| c.server_version))
                .or(conflict.as_ref().map(|c| c.server_version))
                .unwrap_or(e.base_version);
            let create = resolved_local.is_some_and(|c| c.server_deleted);
            match self.write_request(store, &send, if_match, create) {
                Ok(req) => {
                    self.inflight = Some(InFlight {
                        req,
                        kind: Kind::Write {
                            seq: e.seq,
                            if_match: Some(if_match),
                            create,
                        },
                        attempts: 0,
                    });
                    return true;
                }
                Err(reason) => {
                    self.events
                        .push_back(Event::EditRefused { seq: e.seq, reason });
                    self.hold(&e);
                }
            }
        }
    }

    /// Holds an edit (and the later ones of its record) back this session.
    fn hold(&mut self, e: &Edit) {
        sorted_add(&mut self.handled, e.seq);
        sorted_add(&mut self.blocked, e.id.clone());
        self.progress.edits_done += 1;
    }

    fn write_request(
        &self,
        store: &Store,
        e: &Edit,
        if_match: u64,
        create: bool,
    ) -> Result<HttpRequest, String> {
        let p = &self.profile;
        let item_url = self.item_url(&e.id);
        let key = format!(
            "satchel-{}-{}-{}{}",
            self.config.device,
            e.seq,
            if_match,
            if create { "-c" } else { "" }
        );
        let mut headers = self.headers(Some(key));
        let guard = p.conflict.style == ConflictKind::IfMatch;
        if guard && !create {
            let tag = p.conflict.if_match.as_deref().unwrap_or("\"{}\"");
            headers.push((
                "If-Match".into(),
                crate::substr::replace(tag, "{}", &if_match.to_string()),
            ));
        }
        let local = store.get(&e.id);
        let (method, url, body) = if create {
            let a = local.ok_or("the record is no longer on the device")?;
            if !p.mapping.canonical {
                return Err("re-creating a record needs the canonical mapping".into());
            }
            let body = serde_json::to_vec(&a).map_err(|e| e.to_string())?;
            (
                p.writes.create.clone(),
                format!("{}{}", self.config.base_url, p.base_path),
                body,
            )
        } else if e.patch.delete {
            let m = p
                .writes
                .delete
                .clone()
                .ok_or("the profile cannot delete (writes.delete)")?;
            (m, item_url, Vec::new())
        } else {
            let local = local.ok_or("the record is no longer on the device")?;
            let mut body = if p.mapping.canonical {
                match p.writes.body {
                    BodyStyle::Full => match crate::json::to_value(&local) {
                        Ok(Value::Object(m)) => m,
                        _ => Map::new(),
                    },
                    style => mapping::canonical_update(
                        &e.patch.set,
                        &local,
                        style == BodyStyle::MergePatch,
                    ),
                }
            } else {
                match mapping::mapped_update(&p.mapping, &e.patch.set)? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                }
            };
            if !e.patch.log.is_empty() {
                if !p.mapping.canonical {
                    return Err(
                        "the profile maps no activities; logged activities cannot be sent".into(),
                    );
                }
                // Merge patches replace arrays: send the server's list (the
                // local one less the logs of later pending edits) plus ours.
                let later: usize = store
                    .outbox()
                    .iter()
                    .filter(|x| x.id == e.id && x.seq > e.seq)
                    .map(|x| x.patch.log.len())
                    .sum();
                let keep = local.activities.len().saturating_sub(later);
                body.insert(
                    "activities".into(),
                    crate::json::to_value(&local.activities[..keep]).unwrap_or(Value::Null),
                );
            }
            let mut body = Value::Object(body);
            if p.conflict.style == ConflictKind::VersionField {
                if let Some(ptr) = &p.conflict.field {
                    let key = ptr.trim_start_matches('/');
                    if let Value::Object(m) = &mut body {
                        m.insert(key.into(), Value::from(if_match));
                    }
                }
            }
            let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
            (p.writes.update.clone(), item_url, bytes)
        };
        if !body.is_empty() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Ok(HttpRequest {
            method,
            url,
            headers,
            body,
        })
    }

    /// The URL of one record.
    fn item_url(&self, id: &str) -> String {
        let p = &self.profile;
        let id = encode_component(id);
        match &p.writes.item_path {
            Some(t) => format!(
                "{}{}",
                self.config.base_url,
                crate::substr::replace(t, "{id}", &id)
            ),
            None => format!("{}{}/{id}", self.config.base_url, p.base_path),
        }
    }

    /// The record read after a 412 whose body did not hold it.
    fn refetch_done(
        &mut self,
        store: &mut Store,
        seq: u64,
        if_match: Option<u64>,
        resp: &HttpResponse,
    ) {
        let Some(e) = store.outbox().iter().find(|e| e.seq == seq).cloned() else {
            return;
        };
        let body: Option<Value> = serde_json::from_slice(&resp.body).ok();
        let current = body.as_ref().and_then(|v| {
            match mapping::read_item(&self.profile.mapping, &self.profile.deletion, v) {
                Ok(Item::Account(a)) => Some(a),
                _ => None,
            }
        });
        match (resp.status, current) {
            (200, Some(current)) => self.merge(store, &e, current, if_match),
            (404 | 410, _) if e.patch.delete => {
                let _ = store.ack(seq);
                sorted_add(&mut self.handled, seq);
                self.progress.edits_done += 1;
                self.report.pushed += 1;
            }
            (404 | 410, _) => self.raise(
                store,
                &e,
                Conflict {
                    seq,
                    id: e.id.clone(),
                    server_version: e.base_version,
                    server_deleted: true,
                    clashes: Vec::new(),
                    server_record: None,
                    resolution: None,
                },
            ),
            (status, _) => {
                self.events.push_back(Event::EditRefused {
                    seq,
                    reason: format!(
                        "HTTP {status} reading the record after a 412: {}",
                        self.error_message(&resp.body)
                    ),
                });
                self.hold(&e);
            }
        }
    }

    fn write_done(
        &mut self,
        store: &mut Store,
        f: &InFlight,
        seq: u64,
        if_match: Option<u64>,
        create: bool,
        resp: &HttpResponse,
    ) {
        let Some(e) = store.outbox().iter().find(|e| e.seq == seq).cloned() else {
            return;
        };
        let read = |v: &Value| -> Option<Account> {
            match mapping::read_item(&self.profile.mapping, &self.profile.deletion, v) {
                Ok(Item::Account(a)) => Some(a),
                _ => None,
            }
        };
        let body: Option<Value> = serde_json::from_slice(&resp.body).ok();
        match resp.status {
            200..=299 => {
                if store.ack(seq).is_err() {
                    self.finished = Some(Action::Failed(SyncError::Budget(BudgetExceeded {
                        needed: 0,
                        available: 0,
                    })));
                    return;
                }
                sorted_add(&mut self.handled, seq);
                self.progress.edits_done += 1;
                self.report.pushed += 1;
                self.events.push_back(Event::Pushed { seq });
                if let Some(server) = body.as_ref().and_then(read) {
                    if let Some(r) = rebased_local(store, server) {
                        let r = self.keep_related(store, r);
                        let _ = store.upsert(r);
                    }
                }
            }
            404 | 410 if e.patch.delete => {
                // Gone already: what the rep wanted.
                let _ = store.ack(seq);
                sorted_add(&mut self.handled, seq);
                self.progress.edits_done += 1;
                self.report.pushed += 1;
            }
            404 | 410 if !create => {
                let version = body
                    .as_ref()
                    .and_then(|b| b.get("version"))
                    .and_then(Value::as_u64)
                    .unwrap_or(e.base_version);
                self.raise(
                    store,
                    &e,
                    Conflict {
                        seq,
                        id: e.id.clone(),
                        server_version: version,
                        server_deleted: true,
                        clashes: Vec::new(),
                        server_record: None,
                        resolution: None,
                    },
                );
            }
            409 | 412 if self.profile.conflict.current.is_none() => {
                // The body does not carry the record (OData): read it.
                self.inflight = Some(InFlight {
                    req: HttpRequest {
                        method: "GET".into(),
                        url: self.item_url(&e.id),
                        headers: self.headers(None),
                        body: Vec::new(),
                    },
                    kind: Kind::Refetch { seq, if_match },
                    attempts: 0,
                });
            }
            409 | 412 => {
                let current = body.as_ref().and_then(|b| {
                    let p = self
                        .profile
                        .conflict
                        .current
                        .as_deref()
                        .unwrap_or("/current");
                    crate::json::pointer(b, p)
                });
                let Some(current) = current.and_then(read) else {
                    self.inflight = Some(f.clone());
                    self.malformed(f, format!("{} without the current record", resp.status));
                    return;
                };
                self.merge(store, &e, current, if_match);
            }
            status => {
                let reason = format!("HTTP {status}: {}", self.error_message(&resp.body));
                self.events.push_back(Event::EditRefused { seq, reason });
                self.hold(&e);
            }
        }
    }

    fn raise(&mut self, store: &mut Store, e: &Edit, c: Conflict) {
        if let Err(b) = store.record_conflict(c) {
            self.finished = Some(Action::Failed(SyncError::Budget(b)));
            return;
        }
        self.report.conflicts += 1;
        self.events.push_back(Event::Conflict { seq: e.seq });
        self.hold(e);
    }

    /// A newer version met the edit: merge field-wise or raise a conflict.
    fn merge(&mut self, store: &mut Store, e: &Edit, current: Account, sent: Option<u64>) {
        let n = sorted_slot(&mut self.merges, e.seq);
        *n += 1;
        let looping = *n > 4 || sent == Some(current.version);
        let mut clashes = Vec::new();
        if !e.patch.delete {
            let send = store.edit_to_send(e).unwrap_or_else(|| e.clone());
            let bases = store.ledger().base(e.seq).map(<[_]>::to_vec);
            for ch in &send.patch.set {
                let server = current_value(ch, &current);
                if &server == ch {
                    continue;
                }
                let base = bases
                    .as_ref()
                    .and_then(|b| b.iter().find(|x| x.field() == ch.field()).cloned());
                if base.as_ref() == Some(&server) {
                    continue; // only the rep changed it
                }
                clashes.push(Clash {
                    local: ch.clone(),
                    server,
                });
            }
        }
        let resolved_local = store
            .ledger()
            .conflict(e.seq)
            .is_some_and(|c| c.resolution == Some(Resolution::Local));
        let version = current.version;
        if (clashes.is_empty() && !e.patch.delete) || resolved_local {
            if looping {
                self.events.push_back(Event::EditRefused {
                    seq: e.seq,
                    reason: "the backend keeps refusing the merged version".into(),
                });
                self.hold(e);
                return;
            }
            if let Some(r) = rebased_local(store, current) {
                let r = self.keep_related(store, r);
                if let Err(x) = store.upsert(r) {
                    if let WriteError::Budget(b) = x.error {
                        self.finished = Some(Action::Failed(SyncError::Budget(b)));
                        return;
                    }
                }
            }
            *sorted_slot(&mut self.rebased, e.seq) = version;
            if resolved_local {
                if let Some(mut c) = store.ledger().conflict(e.seq).cloned() {
                    c.server_version = version;
                    let _ = store.record_conflict(c);
                }
            } else {
                self.report.merged += 1;
                self.events.push_back(Event::Merged { seq: e.seq });
            }
            return; // next_write sends it again with the new version
        }
        let server_record = e.patch.delete.then(|| current.clone());
        if let Some(r) = rebased_local(store, current) {
            let r = self.keep_related(store, r);
            let _ = store.upsert(r);
        }
        self.raise(
            store,
            e,
            Conflict {
                seq: e.seq,
                id: e.id.clone(),
                server_version: version,
                server_deleted: false,
                clashes,
                server_record,
                resolution: None,
            },
        );
    }
}

enum PageError {
    Malformed(String),
    Endless,
}

/// The server's record with the rep's pending edits of it applied on top
/// (what the device shows until they are pushed); `None` when the rep
/// deleted it.
/// The later of two times, either of which may be unknown.
fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A page's items, mapped.
enum Mapped {
    Accounts(Vec<Item>),
    Related(EntityKind, Vec<(Related, Option<i64>)>),
}

impl Mapped {
    fn len(&self) -> usize {
        match self {
            Mapped::Accounts(v) => v.len(),
            Mapped::Related(_, v) => v.len(),
        }
    }

    /// What tells item `n` apart (its id; an activity's account, time and
    /// text); empty past the end.
    fn key_at(&self, n: usize) -> String {
        match self {
            Mapped::Accounts(v) => v.get(n).map_or("", Item::id).into(),
            Mapped::Related(_, v) => match v.get(n) {
                Some((Related::Activity { account, activity }, _)) => {
                    format!("{account}/{}/{}", activity.at, activity.text)
                }
                Some((r, _)) => r.id().into(),
                None => String::new(),
            },
        }
    }
}

/// Puts `record` on `account` (replacing the one with its id), unless that
/// makes the account larger than a record may be; false then, and the
/// account is as it was.
fn attach<T>(
    account: &mut Account,
    record: T,
    list: impl Fn(&mut Account) -> &mut Vec<T>,
    id: impl Fn(&T) -> &str,
) -> bool {
    let at = list(account).iter().position(|x| id(x) == id(&record));
    let old = match at {
        Some(n) => Some(core::mem::replace(&mut list(account)[n], record)),
        None => {
            list(account).push(record);
            None
        }
    };
    if record_codec::encode(account).len() <= MAX_RECORD_BYTES {
        return true;
    }
    match (at, old) {
        (Some(n), Some(o)) => list(account)[n] = o,
        _ => {
            list(account).pop();
        }
    }
    false
}

/// Puts `activity` among the account's, which are kept oldest first,
/// unless that makes the account larger than a record may be (false then,
/// and the account is as it was).
fn attach_activity(account: &mut Account, activity: Activity) -> bool {
    let at = account.activities.partition_point(|x| x.at <= activity.at);
    account.activities.insert(at, activity);
    if record_codec::encode(account).len() <= MAX_RECORD_BYTES {
        return true;
    }
    account.activities.remove(at);
    false
}

/// `x` is in the sorted `set`.
fn sorted_has<T: Ord>(set: &[T], x: &T) -> bool {
    set.binary_search(x).is_ok()
}

/// Adds `x` to the sorted `set` (once).
fn sorted_add<T: Ord>(set: &mut Vec<T>, x: T) {
    if let Err(at) = set.binary_search(&x) {
        set.insert(at, x);
    }
}

/// The value of `key` in `map`, sorted by key.
fn sorted_get(map: &[(u64, u64)], key: u64) -> Option<u64> {
    map.binary_search_by_key(&key, |e| e.0)
        .ok()
        .map(|i| map[i].1)
}

/// The value of `key` in `map`, sorted by key, added as 0 when missing.
fn sorted_slot(map: &mut Vec<(u64, u64)>, key: u64) -> &mut u64 {
    let at = match map.binary_search_by_key(&key, |e| e.0) {
        Ok(at) => at,
        Err(at) => {
            map.insert(at, (key, 0));
            at
        }
    };
    &mut map[at].1
}

fn rebased_local(store: &Store, server: Account) -> Option<Account> {
    let mut a = server;
    let id = a.id.clone();
    for e in store.outbox().iter().filter(|e| e.id == id) {
        if e.patch.delete {
            return None;
        }
        if let Some(s) = store.edit_to_send(e) {
            s.patch.apply(&mut a);
        }
    }
    Some(a)
}
