//! Adapter profiles: how one HTTP CRM pages, filters, deletes, guards writes
//! and spells an account, as data (JSON).
//!
//! Owns [`Profile`], its parts, [`Profile::from_json`] (which checks the
//! whole profile and names the offending field) and the built-in profiles
//! ([`builtin`]). The format is documented in the README ("Adapter
//! profiles"); the field mapping lives in [`super::mapping`].
//!
//! Invariant: a `Profile` returned by [`Profile::from_json`] or [`builtin`]
//! is complete for its styles: every pointer or parameter its paging,
//! deletion and conflict styles need is present, so the session never meets
//! a half-specified profile.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::entities::Entities;
use super::mapping::Mapping;
use crate::fields::{self, Fields, Part};

/// A backend, described.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name (shown in errors and stored with the sync state).
    pub name: String,
    /// Path of the accounts collection under the base URL (`/v1/accounts`).
    pub base_path: String,
    /// How requests authenticate.
    #[serde(default)]
    pub auth: Auth,
    /// Header naming the device (idempotency scope, wipe flag), if any.
    #[serde(default)]
    pub device_header: Option<String>,
    /// Response header that, when `1`, orders the device wiped.
    #[serde(default)]
    pub wipe_header: Option<String>,
    /// Header carrying an idempotency key on writes, if the backend honours one.
    #[serde(default)]
    pub idempotency_header: Option<String>,
    /// Headers every request sends (OData's `OData-Version: 4.0`, its page
    /// size as `Prefer: odata.maxpagesize=200`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Pointer to the human message in an error body (default `/message`;
    /// Salesforce `/0/message`, OData `/error/message`), shown with 401/403
    /// and refused edits.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Error bodies that mean "rate limited" whatever their status
    /// (Salesforce answers an exhausted API limit with 403
    /// `REQUEST_LIMIT_EXCEEDED`): retried with backoff like a 429, never
    /// taken for an auth failure.
    #[serde(default)]
    pub throttled: Option<Throttled>,
    /// How the change feed pages.
    pub paging: Paging,
    /// Query parameters the backend filters by (absent: filtered on the device).
    #[serde(default)]
    pub filters: Filters,
    /// Where deletions come from.
    #[serde(default)]
    pub deletion: Deletion,
    /// How writes are guarded against lost updates.
    #[serde(default)]
    pub conflict: ConflictStyle,
    /// Methods and body shape of writes.
    #[serde(default)]
    pub writes: Writes,
    /// Backend JSON ↔ account.
    pub mapping: Mapping,
    /// Feeds beside the accounts (contacts, deals, price lists), each
    /// optional.
    #[serde(default)]
    pub entities: Entities,
}

/// A rate limit recognised by the error code in the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttled {
    /// Pointer to the error code (`/0/errorCode`).
    pub code: String,
    /// The codes that mean "rate limited".
    pub values: Vec<String>,
}

/// How requests authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// `bearer` (`Authorization: Bearer <token>`) or `none`.
    pub style: AuthStyle,
}

/// Authentication styles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthStyle {
    /// `Authorization: Bearer <token>`.
    #[default]
    Bearer,
    /// No credentials.
    None,
}

/// Paging styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagingStyle {
    /// The response names the next position as an object whose members are
    /// query parameters (`next`), and where the next delta starts
    /// (`watermark`). The reference backend.
    Keyset,
    /// The response holds an opaque cursor (`cursor`) sent back in
    /// `cursor_param` (HubSpot's `paging.next.after`).
    Cursor,
    /// The response holds the next page's URL (`next`; absent: the `Link`
    /// header's `rel="next"`). OData `@odata.nextLink`, Salesforce
    /// `nextRecordsUrl`.
    NextUrl,
    /// Page numbers in `page_param`, from `first_page` (json-server `_page`).
    Page,
    /// Record offsets in `offset_param`.
    Offset,
}

/// How the change feed pages, and where a delta starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// The paging style.
    pub style: PagingStyle,
    /// JSON pointer to the array of records (`""`: the body is the array).
    #[serde(default)]
    pub items: String,
    /// Page-size parameter.
    #[serde(default)]
    pub limit_param: Option<String>,
    /// Records a page (the engine's choice; 1..=1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// `keyset`: pointer to the next position (`null` on the last page);
    /// `next_url`: pointer to the next URL (absent: the `Link` header);
    /// `cursor`: pointer to the next cursor (absent or `null`: last page).
    #[serde(default)]
    pub next: Option<String>,
    /// `keyset`: pointer to the position the next delta starts from.
    #[serde(default)]
    pub watermark: Option<String>,
    /// `cursor`: the parameter the cursor goes back in.
    #[serde(default)]
    pub cursor_param: Option<String>,
    /// `page`: the page-number parameter.
    #[serde(default)]
    pub page_param: Option<String>,
    /// `page`: the first page's number (json-server: 1).
    #[serde(default = "one")]
    pub first_page: u64,
    /// `offset`: the offset parameter.
    #[serde(default)]
    pub offset_param: Option<String>,
    /// Styles other than `keyset`: the parameter that asks for records
    /// updated at or after a time (json-server `updated_at_gte`); the delta
    /// re-reads that second (idempotent), which is the tie-break.
    #[serde(default)]
    pub since_param: Option<String>,
    /// How `since_param`'s value is written: `unix_seconds` (default),
    /// `unix_ms` or `iso8601`.
    #[serde(default)]
    pub since_format: TimeFormat,
    /// Styles but `keyset`, for backends whose "updated since" lives inside
    /// a query language (SOQL `WHERE`, OData `$filter`): `{since}` in a
    /// value of `params` becomes this text with `{}` replaced by the time
    /// (in `since_format`), or nothing before the first pass completes; a
    /// parameter left empty is not sent.
    #[serde(default)]
    pub since_template: Option<String>,
    /// Parameters every listing sends (sort order: the delta needs the feed
    /// ascending by update time).
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Parameters only the first sync sends (`include_deleted=false`).
    #[serde(default)]
    pub first_sync_params: Vec<(String, String)>,
    /// Header holding the total number of records (`X-Total-Count`), for progress.
    #[serde(default)]
    pub total_header: Option<String>,
    /// Pointer to the total number of records, for progress.
    #[serde(default)]
    pub total: Option<String>,
    /// `next_url`: pointer, on a pass's last page, to the URL the next pass
    /// starts from (OData change tracking's `@odata.deltaLink`): the
    /// backend's own watermark, used instead of building a listing.
    #[serde(default)]
    pub delta_link: Option<String>,
}

fn default_page_size() -> u32 {
    200
}
fn one() -> u64 {
    1
}

/// How a time is written in a query parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Unix seconds.
    #[default]
    UnixSeconds,
    /// Unix milliseconds.
    UnixMs,
    /// `2026-09-21T14:05:00Z`.
    Iso8601,
}

/// Query parameters for the rules' pushdown filters. A filter without a
/// parameter is applied on the device only (every filter is re-checked on
/// the device anyway, so a parameter may filter more loosely, e.g. `>=` for `>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Owner is one of the values.
    #[serde(default)]
    pub owner: Option<String>,
    /// Territory is one of the values.
    #[serde(default)]
    pub territory: Option<String>,
    /// Stage is one of the values.
    #[serde(default)]
    pub stage: Option<String>,
    /// Has the tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Deal value above (or at least) n.
    #[serde(default)]
    pub deal_value_above: Option<String>,
    /// Next visit from (inclusive).
    #[serde(default)]
    pub next_visit_from: Option<String>,
    /// Next visit to (inclusive).
    #[serde(default)]
    pub next_visit_to: Option<String>,
    /// Last contact at or after.
    #[serde(default)]
    pub last_contact_since: Option<String>,
    /// How several values of one filter are sent.
    #[serde(default)]
    pub lists: ListStyle,
}

/// How a filter with several values is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStyle {
    /// `owner=a,b`.
    #[default]
    Comma,
    /// `owner=a&owner=b`.
    Repeat,
}

/// Where deletions come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    /// `tombstone` (a record in the feed with `field` true) or `none`.
    pub style: DeletionStyle,
    /// `tombstone`: pointer to the deleted flag inside a record.
    #[serde(default)]
    pub field: Option<String>,
    /// `tombstone`: the value of `field` that means deleted (default `true`;
    /// OData's `$deletedEntity` rows: `"reason": "deleted"`).
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// `tombstone`: pointer to a deleted record's id when it is not where
    /// the mapping reads a live record's (`$deletedEntity`: `/id`).
    #[serde(default)]
    pub id: Option<String>,
    /// A listing of deleted records the backend keeps apart from the live
    /// ones (HubSpot's `archived=true`): these parameters replace the
    /// listing's own of the same name (or are added), and every record that
    /// listing returns is a tombstone. Read after the feeds, as a feed of
    /// its own (position kept under the key `deletions`).
    #[serde(default)]
    pub params: Vec<(String, String)>,
}

/// Deletion sources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStyle {
    /// The backend does not report deletions (records deleted there stay on
    /// the device until evicted).
    #[default]
    None,
    /// Deleted records appear in the feed with a flag.
    Tombstone,
}

/// How writes are guarded against lost updates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictStyle {
    /// `if_match`, `version_field` or `none` (last write wins).
    pub style: ConflictKind,
    /// `version_field`: pointer of the version inside the write body.
    #[serde(default)]
    pub field: Option<String>,
    /// Pointer, in a 409/412 body, to the record as stored (`/current`).
    /// Absent with `if_match`: a 412 body does not hold it (OData), so the
    /// session reads the record (`GET` on the item) and merges with that.
    #[serde(default)]
    pub current: Option<String>,
    /// `if_match`: how the version is written in the header, `{}` standing
    /// for it (default `"{}"`; OData's weak ETags: `W/"{}"`).
    #[serde(default)]
    pub if_match: Option<String>,
}

/// Optimistic-concurrency styles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// No guard: the last write wins.
    #[default]
    None,
    /// `If-Match: "<version>"`; a mismatch is 412.
    IfMatch,
    /// The version is sent inside the body; a mismatch is 409 or 412.
    VersionField,
}

/// Methods and body shape of writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writes {
    /// Method that changes fields (`PATCH` or `PUT`).
    #[serde(default = "patch")]
    pub update: String,
    /// Method that deletes (`DELETE`); absent: deletes cannot be sent.
    #[serde(default = "delete")]
    pub delete: Option<String>,
    /// Method that creates, at the collection path (`POST`).
    #[serde(default = "post")]
    pub create: String,
    /// Path of one record, `{id}` standing for its id (default
    /// `<base_path>/{id}`): Salesforce writes to `…/sobjects/Account/{id}`
    /// while it lists through `…/queryAll`; OData keys are `accounts({id})`.
    #[serde(default)]
    pub item_path: Option<String>,
    /// `merge_patch` (only the changed fields, nested objects merged),
    /// `shallow` (changed top-level members whole: `address` as a whole) or
    /// `full` (the whole record).
    #[serde(default)]
    pub body: BodyStyle,
}

fn patch() -> String {
    "PATCH".into()
}
fn delete() -> Option<String> {
    Some("DELETE".into())
}
fn post() -> String {
    "POST".into()
}

impl Default for Writes {
    fn default() -> Self {
        Writes {
            update: patch(),
            delete: delete(),
            create: post(),
            item_path: None,
            body: BodyStyle::default(),
        }
    }
}

/// Write body shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyStyle {
    /// RFC 7396 merge patch of the changed fields.
    #[default]
    MergePatch,
    /// Changed top-level members, whole.
    Shallow,
    /// The whole record.
    Full,
}

impl Throttled {}

impl Auth {}

impl Filters {}

impl Deletion {}

impl ConflictStyle {}

impl Writes {}

impl Paging {
    /// Checks the paging of a feed; `at` is where it sits in the profile
    /// (`paging`, `entities.contacts.paging`), for the error.
    pub(crate) fn check(&self, at: &str) -> Result<(), ProfileError> {
        let pg = self;
        pointer_ok(&format!("{at}.items"), &pg.items)?;
        if !(1..=1000).contains(&pg.page_size) {
            return Err(err(&format!("{at}.page_size"), "must be 1..=1000"));
        }
        for (f, v) in [
            (format!("{at}.next"), &pg.next),
            (format!("{at}.watermark"), &pg.watermark),
            (format!("{at}.total"), &pg.total),
            (format!("{at}.delta_link"), &pg.delta_link),
        ] {
            if let Some(v) = v {
                pointer_ok(&f, v)?;
            }
        }
        match pg.style {
            PagingStyle::Keyset => {
                need(&format!("{at}.next"), &pg.next, "keyset")?;
                need(&format!("{at}.watermark"), &pg.watermark, "keyset")?;
            }
            PagingStyle::Cursor => {
                need(&format!("{at}.next"), &pg.next, "cursor")?;
                need(&format!("{at}.cursor_param"), &pg.cursor_param, "cursor")?;
            }
            PagingStyle::NextUrl => {}
            PagingStyle::Page => {
                need(&format!("{at}.page_param"), &pg.page_param, "page")?;
                need(&format!("{at}.limit_param"), &pg.limit_param, "page")?;
            }
            PagingStyle::Offset => {
                need(&format!("{at}.offset_param"), &pg.offset_param, "offset")?;
                need(&format!("{at}.limit_param"), &pg.limit_param, "offset")?;
            }
        }
        if pg.delta_link.is_some() && pg.style != PagingStyle::NextUrl {
            return Err(err(
                &format!("{at}.delta_link"),
                "only paging style `next_url` follows a delta link",
            ));
        }
        if let Some(t) = &pg.since_template {
            if pg.style == PagingStyle::Keyset {
                return Err(err(
                    &format!("{at}.since_template"),
                    "not used by paging style `keyset` (the feed's watermark is the delta)",
                ));
            }
            if crate::substr::count(t, "{}") != 1 {
                return Err(err(
                    &format!("{at}.since_template"),
                    format!("{t:?} must hold `{{}}` once, where the time goes"),
                ));
            }
            if !pg
                .params
                .iter()
                .any(|(_, v)| crate::substr::contains(v, "{since}"))
            {
                return Err(err(
                    &format!("{at}.since_template"),
                    format!("no value of `{at}.params` holds `{{since}}`"),
                ));
            }
        }
        Ok(())
    }
}

/// A profile that cannot be used; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError {
    /// The field, as a path (`paging.next`), or `profile` for JSON errors.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "profile field `{}`: {}", self.field, self.message)
    }
}

pub(crate) fn err(field: &str, message: impl Into<String>) -> ProfileError {
    ProfileError {
        field: field.into(),
        message: message.into(),
    }
}

pub(crate) fn pointer_ok(field: &str, p: &str) -> Result<(), ProfileError> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(err(
            field,
            format!(
                "{p:?} is not a JSON pointer; start it with `/` (or use \"\" for the whole value)"
            ),
        ))
    }
}

fn need<'a>(field: &str, v: &'a Option<String>, style: &str) -> Result<&'a str, ProfileError> {
    v.as_deref()
        .ok_or_else(|| err(field, format!("required for paging style `{style}`")))
}

impl Profile {
    /// Parses and checks a profile.
    ///
    /// ```
    /// use satchel_core::sync::profile::Profile;
    /// let e = Profile::from_json(r#"{"name":"x","base_path":"/a","paging":{"style":"keyset"},
    ///     "mapping":{"canonical":true}}"#).unwrap_err();
    /// assert_eq!(e.field, "paging.next");
    /// ```
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        let tree: serde_json::Value =
            serde_json::from_slice(text.as_bytes()).map_err(|e| err("profile", e.to_string()))?;
        let p: Profile = fields::read(&tree, "profile").map_err(|e| err(&e.path, e.message))?;
        p.check()?;
        Ok(p)
    }

    /// Checks a profile built in code (what [`Profile::from_json`] checks).
    pub fn check(&self) -> Result<(), ProfileError> {
        if self.name.is_empty() {
            return Err(err("name", "must not be empty"));
        }
        if !self.base_path.starts_with('/') {
            return Err(err("base_path", "must start with `/`"));
        }
        self.paging.check("paging")?;
        if let Some(v) = &self.deletion.id {
            pointer_ok("deletion.id", v)?;
        }
        if self.deletion.style == DeletionStyle::Tombstone {
            let f =
                self.deletion.field.as_deref().ok_or_else(|| {
                    err("deletion.field", "required for deletion style `tombstone`")
                })?;
            pointer_ok("deletion.field", f)?;
        }
        if self.conflict.style == ConflictKind::VersionField {
            let f = self.conflict.field.as_deref().ok_or_else(|| {
                err(
                    "conflict.field",
                    "required for conflict style `version_field`",
                )
            })?;
            pointer_ok("conflict.field", f)?;
        }
        if let Some(c) = &self.conflict.current {
            pointer_ok("conflict.current", c)?;
        }
        if let Some(f) = &self.conflict.if_match {
            if crate::substr::count(f, "{}") != 1 {
                return Err(err(
                    "conflict.if_match",
                    format!("{f:?} must hold `{{}}` once, where the version goes"),
                ));
            }
        }
        if let Some(e) = &self.error_message {
            pointer_ok("error_message", e)?;
        }
        if let Some(t) = &self.throttled {
            if t.code.is_empty() {
                return Err(err("throttled.code", "a JSON pointer to the error code"));
            }
            pointer_ok("throttled.code", &t.code)?;
            if t.values.is_empty() {
                return Err(err("throttled.values", "name at least one code"));
            }
        }
        if let Some(p) = &self.writes.item_path {
            if !p.starts_with('/') || crate::substr::count(p, "{id}") != 1 {
                return Err(err(
                    "writes.item_path",
                    format!("{p:?} must start with `/` and hold `{{id}}` once"),
                ));
            }
        }
        for (i, (k, _)) in self.headers.iter().enumerate() {
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(err(
                    &format!("headers[{i}]"),
                    format!("{k:?} is not a header name"),
                ));
            }
        }
        for (f, m) in [
            ("writes.update", &self.writes.update),
            ("writes.create", &self.writes.create),
        ] {
            if !matches!(m.as_str(), "PATCH" | "PUT" | "POST") {
                return Err(err(f, format!("{m:?}: use PATCH, PUT or POST")));
            }
        }
        self.mapping.check()?;
        self.entities.check()
    }
}

/// The built-in profiles, by name: `reference`, `json-server`, `hubspot`,
/// `salesforce`, `dynamics`.
pub fn builtin(name: &str) -> Option<Profile> {
    let text = match name {
        "reference" => REFERENCE,
        "json-server" => JSON_SERVER,
        "hubspot" => HUBSPOT,
        "salesforce" => SALESFORCE,
        "dynamics" => DYNAMICS,
        "dynamics-changes" => DYNAMICS_CHANGES,
        _ => return None,
    };
    Some(Profile::from_json(text).expect("built-in profiles are valid"))
}

/// Names of the built-in profiles.
pub const BUILTIN: [&str; 6] = [
    "reference",
    "json-server",
    "hubspot",
    "salesforce",
    "dynamics",
    "dynamics-changes",
];

/// The reference backend (`fixtures/BACKEND.md`).
pub const REFERENCE: &str = r#"{
  "name": "reference",
  "base_path": "/v1/accounts",
  "auth": {"style": "bearer"},
  "device_header": "X-Satchel-Device",
  "wipe_header": "X-Satchel-Wipe",
  "idempotency_header": "Idempotency-Key",
  "paging": {"style": "keyset", "items": "/items", "limit_param": "limit", "page_size": 500,
             "next": "/next", "watermark": "/watermark",
             "first_sync_params": [["include_deleted", "false"]]},
  "filters": {"owner": "owner", "territory": "territory", "stage": "stage", "tag": "tag",
              "deal_value_above": "deal_value_above", "next_visit_from": "next_visit_from",
              "next_visit_to": "next_visit_to", "last_contact_since": "last_contact_since",
              "lists": "comma"},
  "deletion": {"style": "tombstone", "field": "/deleted"},
  "conflict": {"style": "if_match", "current": "/current"},
  "writes": {"update": "PATCH", "delete": "DELETE", "create": "POST", "body": "merge_patch"},
  "mapping": {"canonical": true},
  "entities": {"contacts": {"path": "/v1/contacts", "account": "/account_id"},
               "deals": {"path": "/v1/deals", "account": "/account_id"},
               "price_lists": {"path": "/v1/price_lists"}}
}"#;

/// npm `json-server` 0.17 serving `{"accounts": [canonical accounts]}`.
pub const JSON_SERVER: &str = r#"{
  "name": "json-server",
  "base_path": "/accounts",
  "auth": {"style": "none"},
  "paging": {"style": "page", "items": "", "page_param": "_page", "limit_param": "_limit",
             "page_size": 200, "since_param": "updated_at_gte",
             "params": [["_sort", "updated_at,id"], ["_order", "asc,asc"]],
             "total_header": "X-Total-Count"},
  "filters": {"owner": "owner", "territory": "territory", "stage": "stage",
              "deal_value_above": "deal_value_gte", "next_visit_from": "next_visit_gte",
              "next_visit_to": "next_visit_lte", "last_contact_since": "last_contact_gte",
              "lists": "repeat"},
  "deletion": {"style": "none"},
  "conflict": {"style": "none"},
  "writes": {"update": "PATCH", "delete": "DELETE", "create": "POST", "body": "shallow"},
  "mapping": {"canonical": true}
}"#;

/// HubSpot CRM v3 companies (`GET /crm/v3/objects/companies`): `after`
/// cursor from `paging.next.after`, properties as strings. Archived
/// companies are listed only with `archived=true`, read after the live ones
/// as the deletions feed. The list endpoint has no "modified since" filter,
/// so every sync is a full pass (HubSpot's search endpoint has one but is
/// capped at 10,000 results a query). No optimistic concurrency: the last
/// write wins.
pub const HUBSPOT: &str = r#"{
  "name": "hubspot",
  "base_path": "/crm/v3/objects/companies",
  "auth": {"style": "bearer"},
  "error_message": "/message",
  "paging": {"style": "cursor", "items": "/results", "limit_param": "limit", "page_size": 100,
             "next": "/paging/next/after", "cursor_param": "after",
             "params": [["properties", "name,domain,phone,address,city,zip,country,industry,annualrevenue,lifecyclestage,hubspot_owner_id,hs_lastmodifieddate"],
                        ["archived", "false"]]},
  "deletion": {"style": "tombstone", "field": "/archived", "params": [["archived", "true"]]},
  "conflict": {"style": "none"},
  "writes": {"update": "PATCH", "delete": "DELETE", "body": "merge_patch"},
  "mapping": {"fields": [
    {"field": "id",               "from": "/id"},
    {"field": "company",          "from": "/properties/name"},
    {"field": "phone",            "from": "/properties/phone"},
    {"field": "address.street",   "from": "/properties/address"},
    {"field": "address.city",     "from": "/properties/city"},
    {"field": "address.postcode", "from": "/properties/zip"},
    {"field": "address.country",  "from": "/properties/country"},
    {"field": "owner",            "from": "/properties/hubspot_owner_id"},
    {"field": "stage",            "from": "/properties/lifecyclestage", "as": "enum",
     "values": {"lead": "prospect", "opportunity": "negotiation", "customer": "won"}},
    {"field": "updated_at",       "from": "/updatedAt", "as": "iso8601"},
    {"field": "custom.domain",    "from": "/properties/domain"},
    {"field": "custom.industry",  "from": "/properties/industry"},
    {"field": "custom.annual_revenue", "from": "/properties/annualrevenue", "as": "decimal", "digits": 2}
  ]}
}"#;

/// Salesforce REST (API v59.0) Accounts through SOQL on `queryAll` (which
/// also returns deleted rows, `IsDeleted: true`): the delta is
/// `WHERE SystemModstamp >= <newest seen>`, ordered by it; pages follow the
/// relative `nextRecordsUrl`; writes go to `sobjects/Account/{id}`. No
/// optimistic concurrency: the last write wins.
pub const SALESFORCE: &str = r#"{
  "name": "salesforce",
  "base_path": "/services/data/v59.0/queryAll",
  "auth": {"style": "bearer"},
  "headers": [["Sforce-Query-Options", "batchSize=200"]],
  "error_message": "/0/message",
  "throttled": {"code": "/0/errorCode", "values": ["REQUEST_LIMIT_EXCEEDED"]},
  "paging": {"style": "next_url", "items": "/records", "next": "/nextRecordsUrl", "page_size": 200,
             "total": "/totalSize", "since_format": "iso8601",
             "since_template": " WHERE SystemModstamp >= {}",
             "params": [["q", "SELECT Id, Name, Phone, BillingStreet, BillingCity, BillingPostalCode, BillingCountry, OwnerId, Type, Industry, AnnualRevenue, IsDeleted, SystemModstamp FROM Account{since} ORDER BY SystemModstamp ASC"]]},
  "deletion": {"style": "tombstone", "field": "/IsDeleted"},
  "conflict": {"style": "none"},
  "writes": {"update": "PATCH", "delete": "DELETE", "body": "merge_patch",
             "item_path": "/services/data/v59.0/sobjects/Account/{id}"},
  "mapping": {"fields": [
    {"field": "id",               "from": "/Id"},
    {"field": "company",          "from": "/Name"},
    {"field": "phone",            "from": "/Phone"},
    {"field": "address.street",   "from": "/BillingStreet"},
    {"field": "address.city",     "from": "/BillingCity"},
    {"field": "address.postcode", "from": "/BillingPostalCode"},
    {"field": "address.country",  "from": "/BillingCountry"},
    {"field": "owner",            "from": "/OwnerId"},
    {"field": "stage",            "from": "/Type", "as": "enum",
     "values": {"Prospect": "prospect", "Customer - Direct": "won"}},
    {"field": "updated_at",       "from": "/SystemModstamp", "as": "iso8601"},
    {"field": "custom.industry",  "from": "/Industry"},
    {"field": "custom.annual_revenue", "from": "/AnnualRevenue", "as": "decimal", "digits": 2, "number": true}
  ]}
}"#;

/// Microsoft Dynamics 365 / Dataverse Web API (OData v4) accounts: page size
/// in `Prefer: odata.maxpagesize`, pages by the absolute `@odata.nextLink`,
/// the delta as `$filter=modifiedon ge <newest seen>`, writes to
/// `accounts({id})` with `If-Match: W/"<version>"` from `@odata.etag`. A 412
/// body holds no record, so the session reads it before merging. Deletions
/// need change tracking (`odata.track-changes`), which this profile does not
/// use: records deleted in Dynamics stay on the device until evicted.
pub const DYNAMICS: &str = r#"{
  "name": "dynamics",
  "base_path": "/api/data/v9.2/accounts",
  "auth": {"style": "bearer"},
  "headers": [["OData-MaxVersion", "4.0"], ["OData-Version", "4.0"],
              ["Prefer", "odata.maxpagesize=200"]],
  "error_message": "/error/message",
  "paging": {"style": "next_url", "items": "/value", "next": "/@odata.nextLink", "page_size": 200,
             "since_format": "iso8601", "since_template": "modifiedon ge {}",
             "params": [["$select", "name,telephone1,emailaddress1,address1_line1,address1_city,address1_postalcode,address1_country,revenue,_ownerid_value,modifiedon"],
                        ["$filter", "{since}"],
                        ["$orderby", "modifiedon asc"]]},
  "deletion": {"style": "none"},
  "conflict": {"style": "if_match", "if_match": "W/\"{}\""},
  "writes": {"update": "PATCH", "delete": "DELETE", "body": "merge_patch",
             "item_path": "/api/data/v9.2/accounts({id})"},
  "mapping": {"fields": [
    {"field": "id",               "from": "/accountid"},
    {"field": "company",          "from": "/name"},
    {"field": "phone",            "from": "/telephone1"},
    {"field": "email",            "from": "/emailaddress1"},
    {"field": "address.street",   "from": "/address1_line1"},
    {"field": "address.city",     "from": "/address1_city"},
    {"field": "address.postcode", "from": "/address1_postalcode"},
    {"field": "address.country",  "from": "/address1_country"},
    {"field": "owner",            "from": "/_ownerid_value"},
    {"field": "updated_at",       "from": "/modifiedon", "as": "iso8601"},
    {"field": "version",          "from": "/@odata.etag", "as": "etag"},
    {"field": "custom.annual_revenue", "from": "/revenue", "as": "decimal", "digits": 2, "number": true}
  ]}
}"#;

/// Dynamics 365 / Dataverse with change tracking (enable "Track changes" on
/// the table): `Prefer: odata.track-changes`, and the last page's
/// `@odata.deltaLink` is where the next sync starts. Deleted rows come as
/// `$deletedEntity` items (`{"id", "reason": "deleted"}`). Change tracking
/// allows no `$filter` or `$orderby`, so there is no "modified since" of our
/// own: the delta link is the watermark. Writes as in `dynamics`.
pub const DYNAMICS_CHANGES: &str = r#"{
  "name": "dynamics-changes",
  "base_path": "/api/data/v9.2/accounts",
  "auth": {"style": "bearer"},
  "headers": [["OData-MaxVersion", "4.0"], ["OData-Version", "4.0"],
              ["Prefer", "odata.track-changes,odata.maxpagesize=200"]],
  "error_message": "/error/message",
  "paging": {"style": "next_url", "items": "/value", "next": "/@odata.nextLink",
             "delta_link": "/@odata.deltaLink", "page_size": 200,
             "params": [["$select", "name,telephone1,emailaddress1,address1_line1,address1_city,address1_postalcode,address1_country,revenue,_ownerid_value,modifiedon"]]},
  "deletion": {"style": "tombstone", "field": "/reason", "value": "deleted", "id": "/id"},
  "conflict": {"style": "if_match", "if_match": "W/\"{}\""},
  "writes": {"update": "PATCH", "delete": "DELETE", "body": "merge_patch",
             "item_path": "/api/data/v9.2/accounts({id})"},
  "mapping": {"fields": [
    {"field": "id",               "from": "/accountid"},
    {"field": "company",          "from": "/name"},
    {"field": "phone",            "from": "/telephone1"},
    {"field": "email",            "from": "/emailaddress1"},
    {"field": "address.street",   "from": "/address1_line1"},
    {"field": "address.city",     "from": "/address1_city"},
    {"field": "address.postcode", "from": "/address1_postalcode"},
    {"field": "address.country",  "from": "/address1_country"},
    {"field": "owner",            "from": "/_ownerid_value"},
    {"field": "updated_at",       "from": "/modifiedon", "as": "iso8601"},
    {"field": "version",          "from": "/@odata.etag", "as": "etag"},
    {"field": "custom.annual_revenue", "from": "/revenue", "as": "decimal", "digits": 2, "number": true}
  ]}
}"#;

impl Part for Throttled {
    const KEYS: &'static [&'static str] = &["code", "values"];

    fn read(f: &Fields<'_>) -> Throttled {
        Throttled {
            code: f.string("code"),
            values: f.string_list("values", true),
        }
    }
}

impl Part for Auth {
    const KEYS: &'static [&'static str] = &["style"];

    fn read(f: &Fields<'_>) -> Auth {
        let styles = [("bearer", AuthStyle::Bearer), ("none", AuthStyle::None)];
        Auth {
            style: f.choice("style", &styles, None),
        }
    }
}

impl Part for Filters {
    const KEYS: &'static [&'static str] = &[
        "owner",
        "territory",
        "stage",
        "tag",
        "deal_value_above",
        "next_visit_from",
        "next_visit_to",
        "last_contact_since",
        "lists",
    ];

    fn read(f: &Fields<'_>) -> Filters {
        let lists = [("comma", ListStyle::Comma), ("repeat", ListStyle::Repeat)];
        Filters {
            owner: f.option("owner"),
            territory: f.option("territory"),
            stage: f.option("stage"),
            tag: f.option("tag"),
            deal_value_above: f.option("deal_value_above"),
            next_visit_from: f.option("next_visit_from"),
            next_visit_to: f.option("next_visit_to"),
            last_contact_since: f.option("last_contact_since"),
            lists: f.choice("lists", &lists, Some(ListStyle::default())),
        }
    }
}

impl Part for Deletion {
    const KEYS: &'static [&'static str] = &["style", "field", "value", "id", "params"];

    fn read(f: &Fields<'_>) -> Deletion {
        let styles = [
            ("none", DeletionStyle::None),
            ("tombstone", DeletionStyle::Tombstone),
        ];
        Deletion {
            style: f.choice("style", &styles, None),
            field: f.option("field"),
            value: f.raw("value").filter(|v| !v.is_null()).cloned(),
            id: f.option("id"),
            params: f.pairs("params"),
        }
    }
}

impl Part for ConflictStyle {
    const KEYS: &'static [&'static str] = &["style", "field", "current", "if_match"];

    fn read(f: &Fields<'_>) -> ConflictStyle {
        let kinds = [
            ("none", ConflictKind::None),
            ("if_match", ConflictKind::IfMatch),
            ("version_field", ConflictKind::VersionField),
        ];
        ConflictStyle {
            style: f.choice("style", &kinds, None),
            field: f.option("field"),
            current: f.option("current"),
            if_match: f.option("if_match"),
        }
    }
}

impl Part for Writes {
    const KEYS: &'static [&'static str] = &["update", "delete", "create", "item_path", "body"];

    fn read(f: &Fields<'_>) -> Writes {
        let bodies = [
            ("merge_patch", BodyStyle::MergePatch),
            ("shallow", BodyStyle::Shallow),
            ("full", BodyStyle::Full),
        ];
        Writes {
            update: f.string_or("update", "PATCH"),
            // Absent: `DELETE`; `null`: deletes cannot be sent.
            delete: match f.raw("delete") {
                None => delete(),
                Some(serde_json::Value::Null) => None,
                Some(_) => f.option("delete"),
            },
            create: f.string_or("create", "POST"),
            item_path: f.option("item_path"),
            body: f.choice("body", &bodies, Some(BodyStyle::default())),
        }
    }
}

impl Part for Paging {
    const KEYS: &'static [&'static str] = &[
        "style",
        "items",
        "limit_param",
        "page_size",
        "next",
        "watermark",
        "cursor_param",
        "page_param",
        "first_page",
        "offset_param",
        "since_param",
        "since_format",
        "since_template",
        "params",
        "first_sync_params",
        "total_header",
        "total",
        "delta_link",
    ];

    fn read(f: &Fields<'_>) -> Paging {
        let styles = [
            ("keyset", PagingStyle::Keyset),
            ("cursor", PagingStyle::Cursor),
            ("next_url", PagingStyle::NextUrl),
            ("page", PagingStyle::Page),
            ("offset", PagingStyle::Offset),
        ];
        let formats = [
            ("unix_seconds", TimeFormat::UnixSeconds),
            ("unix_ms", TimeFormat::UnixMs),
            ("iso8601", TimeFormat::Iso8601),
        ];
        Paging {
            style: f.choice("style", &styles, None),
            items: f.string_or("items", ""),
            limit_param: f.option("limit_param"),
            page_size: f.number(
                "page_size",
                u64::from(default_page_size()),
                u64::from(u32::MAX),
            ) as u32,
            next: f.option("next"),
            watermark: f.option("watermark"),
            cursor_param: f.option("cursor_param"),
            page_param: f.option("page_param"),
            first_page: f.number("first_page", one(), u64::MAX),
            offset_param: f.option("offset_param"),
            since_param: f.option("since_param"),
            since_format: f.choice("since_format", &formats, Some(TimeFormat::default())),
            since_template: f.option("since_template"),
            params: f.pairs("params"),
            first_sync_params: f.pairs("first_sync_params"),
            total_header: f.option("total_header"),
            total: f.option("total"),
            delta_link: f.option("delta_link"),
        }
    }
}

impl Part for Profile {
    const KEYS: &'static [&'static str] = &[
        "name",
        "base_path",
        "auth",
        "device_header",
        "wipe_header",
        "idempotency_header",
        "headers",
        "error_message",
        "throttled",
        "paging",
        "filters",
        "deletion",
        "conflict",
        "writes",
        "mapping",
        "entities",
    ];

    fn read(f: &Fields<'_>) -> Profile {
        Profile {
            name: f.string("name"),
            base_path: f.string("base_path"),
            auth: f.part::<Auth>("auth", false).unwrap_or_default(),
            device_header: f.option("device_header"),
            wipe_header: f.option("wipe_header"),
            idempotency_header: f.option("idempotency_header"),
            headers: f.pairs("headers"),
            error_message: f.option("error_message"),
            throttled: f.part::<Throttled>("throttled", true),
            paging: f.required::<Paging>("paging"),
            filters: f.part::<Filters>("filters", false).unwrap_or_default(),
            deletion: f.part::<Deletion>("deletion", false).unwrap_or_default(),
            conflict: f
                .part::<ConflictStyle>("conflict", false)
                .unwrap_or_default(),
            writes: f.part::<Writes>("writes", false).unwrap_or_default(),
            mapping: f.required::<Mapping>("mapping"),
            entities: f.part::<Entities>("entities", false).unwrap_or_default(),
        }
    }
}
