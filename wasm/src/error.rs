//! Every error the package throws, made in one place.
//!
//! Owns the mapping from core errors (and bad JS arguments) to JS `Error`s.
//! Invariant: every thrown value is an `Error` named `SatchelError` whose
//! `code` is one of [`CODES`], a stable string integrators may branch on;
//! the message is for people and may change. Evidence rides along as extra
//! properties (`needed`/`available` for budget refusals, `rule` for rule sets,
//! `line` for NDJSON). Nothing else in the crate builds a JS error.

use core::fmt::Display;

use satchel_core::budget::{BudgetExceeded, BudgetParseError};
use satchel_core::conflicts::ConflictError;
use satchel_core::outbox::EditError;
use satchel_core::rules::RulesError;
use satchel_core::seal::SealError;
use satchel_core::search::SearchError;
use satchel_core::snapshot::OpenError;
use satchel_core::store::WriteError;
use satchel_core::sync::profile::ProfileError;
use satchel_core::sync::SyncError;
use wasm_bindgen::prelude::*;

/// The stable codes, documented in the package README and in the `.d.ts`.
pub const CODES: &[&str] = &[
    "INVALID_ARGUMENT",
    "INVALID_BUDGET",
    "INVALID_RECORD",
    "INVALID_RULES",
    "NOT_CONFIGURED",
    "BUDGET_EXCEEDED",
    "EMPTY_ID",
    "ID_TOO_LONG",
    "RECORD_TOO_LARGE",
    "STORE_FULL",
    "SNAPSHOT_CORRUPT",
    "JOURNAL_CORRUPT",
    "WRITE_REFUSED",
    "INVALID_QUERY",
    "SEARCH_UNAVAILABLE",
    "INVALID_EDIT",
    "NOT_ON_DEVICE",
    "SEAL_INVALID",
    "SEAL_TAMPERED",
    "WRONG_PIN",
    "INVALID_PROFILE",
    "INVALID_SYNC_STATE",
    "AUTH_REQUIRED",
    "WIPE_REQUIRED",
    "SYNC_MALFORMED",
    "SYNC_ENDLESS",
    "SYNC_HTTP",
    "SYNC_FAILED",
    "SYNC_ABORTED",
    "NO_SUCH_CONFLICT",
];

/// A failure on its way to JS: a code from [`CODES`], a message, evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// One of [`CODES`].
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Extra numeric or text properties set on the `Error`.
    pub evidence: Vec<(&'static str, Evidence)>,
}

/// A property value on a thrown error.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A number (byte counts, line numbers).
    Number(f64),
    /// A name.
    Text(String),
}

impl Failure {
    fn new(code: &'static str, message: impl Display) -> Self {
        Failure::text(code, &message)
    }

    /// The one body behind [`Failure::new`]: a `dyn` message, so the
    /// formatting is not copied for every message type (module size).
    #[inline(never)]
    fn text(code: &'static str, message: &dyn Display) -> Self {
        debug_assert!(CODES.contains(&code));
        Failure {
            code,
            message: message.to_string(),
            evidence: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, value: Evidence) -> Self {
        self.evidence.push((key, value));
        self
    }

    /// A JS argument of the wrong type or out of range; `what` names it.
    pub fn argument(what: impl Display) -> Self {
        Failure::new("INVALID_ARGUMENT", what)
    }

    /// A record that is not canonical JSON of an account.
    pub fn record(problem: impl Display) -> Self {
        Failure::new(
            "INVALID_RECORD",
            format_args!("not a canonical account: {problem}"),
        )
    }

    /// The store lacks the rules or context a call needs.
    pub fn not_configured(what: &str) -> Self {
        Failure::new("NOT_CONFIGURED", what)
    }

    /// A search query that is not a query (wrong shape, unknown field).
    pub fn query(problem: impl Display) -> Self {
        Failure::new(
            "INVALID_QUERY",
            format_args!("not a search query: {problem}"),
        )
    }

    /// An edit (patch) that is not a patch (wrong shape, unknown field).
    pub fn edit(problem: impl Display) -> Self {
        Failure::new("INVALID_EDIT", format_args!("not an edit: {problem}"))
    }

    /// A saved sync state that does not parse (not what `state()` wrote).
    pub fn sync_state(problem: impl Display) -> Self {
        Failure::new(
            "INVALID_SYNC_STATE",
            format_args!("{problem}; pass null to start afresh (the next sync re-reads the feed)"),
        )
    }

    /// The backend refused the credentials (401/403): log in again and start
    /// a new session; what was applied so far stays.
    pub fn auth(status: u16, message: &str) -> Self {
        Failure::new(
            "AUTH_REQUIRED",
            format_args!(
                "HTTP {status}: {}; log in again and start a new session (pages applied so far are kept)",
                if message.is_empty() { "credentials refused" } else { message }
            ),
        )
        .with("status", Evidence::Number(f64::from(status)))
    }

    /// The backend ordered this device wiped.
    pub fn wipe() -> Self {
        Failure::new(
            "WIPE_REQUIRED",
            "the backend ordered this device wiped: erase the store (store.erase()) and its saved copies, then confirm to the backend",
        )
    }

    /// The caller stopped the sync (an `AbortSignal`) between two requests.
    pub fn aborted() -> Self {
        Failure::new(
            "SYNC_ABORTED",
            "sync stopped on request; save the store and state(), and a new session resumes from there",
        )
    }

    /// Prefixes the message with where it happened (an NDJSON line number).
    pub fn at_line(mut self, line: u64) -> Self {
        self.message = format!("line {line}: {}", self.message);
        self.with("line", Evidence::Number(line as f64))
    }

    /// The JS `Error` thrown for this failure.
    pub fn into_js(self) -> JsValue {
        let e = js_sys::Error::new(&self.message);
        e.set_name("SatchelError");
        let obj: &JsValue = e.as_ref();
        // Reflect::set on a fresh Error cannot fail; a failure would only
        // drop evidence, never the error itself.
        let _ = js_sys::Reflect::set(obj, &"code".into(), &self.code.into());
        for (k, v) in self.evidence {
            let v = match v {
                Evidence::Number(n) => JsValue::from_f64(n),
                Evidence::Text(t) => JsValue::from_str(&t),
            };
            let _ = js_sys::Reflect::set(obj, &k.into(), &v);
        }
        e.into()
    }
}

impl From<Failure> for JsValue {
    fn from(f: Failure) -> JsValue {
        f.into_js()
    }
}

impl From<BudgetExceeded> for Failure {
    fn from(e: BudgetExceeded) -> Self {
        Failure::new("BUDGET_EXCEEDED", e)
            .with("needed", Evidence::Number(e.needed as f64))
            .with("available", Evidence::Number(e.available as f64))
    }
}

impl From<BudgetParseError> for Failure {
    fn from(e: BudgetParseError) -> Self {
        Failure::new("INVALID_BUDGET", e)
    }
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Budget(b) => b.into(),
            WriteError::EmptyId => Failure::new("EMPTY_ID", e),
            WriteError::IdTooLong { .. } => Failure::new("ID_TOO_LONG", e),
            WriteError::RecordTooLarge { .. } => Failure::new("RECORD_TOO_LARGE", e),
            WriteError::Full => Failure::new("STORE_FULL", e),
            // A refusal added to core later: still an error with a code.
            _ => Failure::new("WRITE_REFUSED", e),
        }
    }
}

impl From<OpenError> for Failure {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Budget(b) => Failure::from(b),
            OpenError::Rejected(w) => Failure::from(w),
            OpenError::Journal(_) => Failure::new("JOURNAL_CORRUPT", e),
            // Snapshot header/checksum, a block, an inconsistency, or
            // anything core adds: the snapshot cannot be trusted.
            _ => Failure::new("SNAPSHOT_CORRUPT", e),
        }
    }
}

impl From<RulesError> for Failure {
    fn from(e: RulesError) -> Self {
        let f = Failure::new("INVALID_RULES", &e);
        match e.rule {
            Some(r) => f.with("rule", Evidence::Text(r)),
            None => f,
        }
    }
}

impl From<SearchError> for Failure {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::IndexUnavailable => Failure::new("SEARCH_UNAVAILABLE", e),
            // Limit, query length, empty window, or a refusal core adds.
            _ => Failure::new("INVALID_QUERY", e),
        }
    }
}

impl From<EditError> for Failure {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotOnDevice { ref id } => {
                let id = id.clone();
                Failure::new("NOT_ON_DEVICE", e).with("id", Evidence::Text(id))
            }
            EditError::Budget(b) => b.into(),
            EditError::Rejected(w) => w.into(),
            // Empty, too many changes, or a refusal core adds.
            _ => Failure::new("INVALID_EDIT", e),
        }
    }
}

impl From<SealError> for Failure {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Tampered => Failure::new("SEAL_TAMPERED", e),
            SealError::WrongPin => Failure::new("WRONG_PIN", e),
            // Not a sealed blob, another kind, KDF parameters out of range.
            _ => Failure::new("SEAL_INVALID", e),
        }
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        let field = e.field.clone();
        Failure::new("INVALID_PROFILE", e).with("field", Evidence::Text(field))
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        let resume = "; what was applied so far is kept, sync again to resume";
        match e {
            SyncError::Malformed { ref url, .. } => {
                let url = url.clone();
                Failure::new("SYNC_MALFORMED", format_args!("{e}{resume}"))
                    .with("url", Evidence::Text(url))
            }
            SyncError::Endless { ref url } => {
                let url = url.clone();
                Failure::new("SYNC_ENDLESS", e).with("url", Evidence::Text(url))
            }
            SyncError::Http { status, .. } => {
                Failure::new("SYNC_HTTP", format_args!("{e}{resume}"))
                    .with("status", Evidence::Number(f64::from(status)))
            }
            SyncError::Budget(b) => b.into(),
            // A reason core adds later: still a sync failure with a code.
            _ => Failure::new("SYNC_FAILED", format_args!("{e}{resume}")),
        }
    }
}

impl From<ConflictError> for Failure {
    fn from(e: ConflictError) -> Self {
        match e {
            ConflictError::NoSuchConflict { seq } => {
                Failure::new("NO_SUCH_CONFLICT", e).with("seq", Evidence::Number(seq as f64))
            }
            ConflictError::Budget(b) => b.into(),
            _ => Failure::new("NO_SUCH_CONFLICT", e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_get_their_codes() {
        let b = BudgetExceeded {
            needed: 10,
            available: 3,
        };
        let f = Failure::from(WriteError::Budget(b));
        assert_eq!(f.code, "BUDGET_EXCEEDED");
        assert_eq!(f.evidence[0], ("needed", Evidence::Number(10.0)));
        assert_eq!(Failure::from(WriteError::EmptyId).code, "EMPTY_ID");
        assert_eq!(
            Failure::from(WriteError::IdTooLong { len: 600 }).code,
            "ID_TOO_LONG"
        );
        assert_eq!(
            Failure::from(OpenError::Inconsistent("index")).code,
            "SNAPSHOT_CORRUPT"
        );
        assert_eq!(Failure::from(OpenError::Budget(b)).code, "BUDGET_EXCEEDED");
        let r = Failure::from(
            satchel_core::rules::RankRules::from_json(r#"{"rules":[{"name":"x"}]}"#).unwrap_err(),
        );
        assert_eq!(r.code, "INVALID_RULES");
        assert_eq!(
            Failure::from(SearchError::IndexUnavailable).code,
            "SEARCH_UNAVAILABLE"
        );
        assert_eq!(
            Failure::from(SearchError::LimitTooLarge { limit: 5000 }).code,
            "INVALID_QUERY"
        );
        let f = Failure::from(EditError::NotOnDevice { id: "A1".into() });
        assert_eq!(f.code, "NOT_ON_DEVICE");
        assert_eq!(f.evidence[0], ("id", Evidence::Text("A1".into())));
        assert_eq!(Failure::from(EditError::Empty).code, "INVALID_EDIT");
        assert_eq!(Failure::from(EditError::Budget(b)).code, "BUDGET_EXCEEDED");
        assert_eq!(Failure::from(SealError::Tampered).code, "SEAL_TAMPERED");
        assert_eq!(Failure::from(SealError::WrongPin).code, "WRONG_PIN");
        assert_eq!(Failure::from(SealError::WrongKind).code, "SEAL_INVALID");
        let p = satchel_core::sync::Profile::from_json("{}").unwrap_err();
        assert_eq!(Failure::from(p).code, "INVALID_PROFILE");
        let h = Failure::from(SyncError::Http {
            status: 400,
            message: "bad".into(),
        });
        assert_eq!(h.code, "SYNC_HTTP");
        assert_eq!(h.evidence[0], ("status", Evidence::Number(400.0)));
        assert_eq!(
            Failure::from(SyncError::Endless { url: "u".into() }).code,
            "SYNC_ENDLESS"
        );
        assert_eq!(Failure::from(SyncError::Budget(b)).code, "BUDGET_EXCEEDED");
        assert_eq!(Failure::auth(401, "").code, "AUTH_REQUIRED");
        assert_eq!(
            Failure::from(ConflictError::NoSuchConflict { seq: 3 }).code,
            "NO_SUCH_CONFLICT"
        );
    }

    #[test]
    fn every_code_is_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        for code in CODES {
            assert!(
                readme.contains(&format!("`{code}`")),
                "{code} missing from wasm/README.md"
            );
        }
        let ts = include_str!("types.d.ts");
        for code in CODES {
            assert!(
                ts.contains(&format!("\"{code}\"")),
                "{code} missing from SatchelErrorCode"
            );
        }
    }
}
