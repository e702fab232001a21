//! Field mapping: a backend's JSON record ↔ Satchel's [`Account`].
//!
//! Owns [`Mapping`] (canonical, or a list of [`FieldMap`]s: canonical field ←
//! JSON pointer, with a value transform), reading a feed item into an
//! [`Item`] (an account or a tombstone) and writing changed fields back into
//! a request body. Also the calendar arithmetic the ISO-8601 transform needs.
//!
//! Invariant: reading never panics on hostile JSON; every failure is an
//! error naming the field and the record, and an item either maps whole or
//! not at all.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::profile::{err, Deletion, DeletionStyle, ProfileError};
use crate::fields::{describe, Fields, Part};
use crate::model::{Account, CustomValue, Geo};
use crate::outbox::Change;

/// How records are spelled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The backend stores Satchel's canonical account JSON as it is.
    #[serde(default)]
    pub canonical: bool,
    /// Otherwise: one entry per canonical field.
    #[serde(default)]
    pub fields: Vec<FieldMap>,
}

/// One canonical field and where the backend keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// Canonical field: `id`, `name`, `company`, `email`, `phone`,
    /// `address.street|city|postcode|country`, `geo.lat_e6`, `geo.lon_e6`,
    /// `territory`, `owner`, `stage`, `deal_value`, `currency`,
    /// `last_contact`, `next_visit`, `updated_at`, `version`, `tags`, or
    /// `custom.<name>`.
    pub field: String,
    /// JSON pointer inside the backend record (`/properties/name`).
    pub from: String,
    /// Value transform (default `text`).
    #[serde(default, rename = "as")]
    pub transform: Transform,
    /// `decimal`: digits after the point kept (money: 2 → minor units).
    #[serde(default)]
    pub digits: u8,
    /// `enum`: backend value → Satchel value.
    #[serde(default)]
    /// Sorted by backend value, each once (read from a JSON object). A
    /// sorted list rather than a map: one B-tree type fewer in the wasm
    /// module. In JSON it is an object.
    #[serde(
        serialize_with = "values_as_object",
        deserialize_with = "values_from_object"
    )]
    pub values: Vec<(String, String)>,
    /// `decimal`: writes send a JSON number (`1234.5`; Salesforce and OData
    /// money) instead of a string (`"1234.50"`; HubSpot properties).
    #[serde(default)]
    pub number: bool,
}

fn values_as_object<S: serde::Serializer>(
    values: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(values.iter().map(|(k, v)| (k, v)))
}

fn values_from_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    BTreeMap::<String, String>::deserialize(d).map(|m| m.into_iter().collect())
}

/// Value transforms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// A string (numbers are written out: HubSpot ids).
    #[default]
    Text,
    /// An integer (or a string holding one).
    Int,
    /// Unix seconds.
    UnixSeconds,
    /// Unix milliseconds → seconds.
    UnixMs,
    /// ISO-8601 date or date-time → seconds.
    Iso8601,
    /// A decimal (number or string) → integer × 10^digits (money in minor units).
    Decimal,
    /// `true`/`false` (or `"true"`/`"false"`).
    Bool,
    /// One of `values` (unknown values are kept as they are).
    Enum,
    /// An ETag (`W/"123"`) → its number.
    Etag,
    /// A list of strings, or one string separated by `;`.
    List,
}

const FIELDS: &[&str] = &[
    "id",
    "name",
    "company",
    "email",
    "phone",
    "address.street",
    "address.city",
    "address.postcode",
    "address.country",
    "geo.lat_e6",
    "geo.lon_e6",
    "territory",
    "owner",
    "stage",
    "deal_value",
    "currency",
    "last_contact",
    "next_visit",
    "updated_at",
    "version",
    "tags",
];

impl Mapping {
    /// Checks the mapping (what [`super::profile::Profile::check`] calls).
    pub fn check(&self) -> Result<(), ProfileError> {
        if self.canonical {
            if !self.fields.is_empty() {
                return Err(err(
                    "mapping.fields",
                    "give either `canonical: true` or `fields`, not both",
                ));
            }
            return Ok(());
        }
        if !self.fields.iter().any(|f| f.field == "id") {
            return Err(err("mapping.fields", "map the `id` field"));
        }
        for (i, f) in self.fields.iter().enumerate() {
            let at = format!("mapping.fields[{i}]");
            if !(FIELDS.contains(&f.field.as_str())
                || f.field
                    .strip_prefix("custom.")
                    .is_some_and(|n| !n.is_empty()))
            {
                return Err(err(
                    &format!("{at}.field"),
                    format!("unknown canonical field {:?}", f.field),
                ));
            }
            if !(f.from.is_empty() || f.from.starts_with('/')) {
                return Err(err(
                    &format!("{at}.from"),
                    format!("{:?} is not a JSON pointer", f.from),
                ));
            }
            if f.digits > 12 {
                return Err(err(&format!("{at}.digits"), "at most 12"));
            }
            if f.transform == Transform::Enum && f.values.is_empty() {
                return Err(err(&format!("{at}.values"), "required for `as: enum`"));
            }
        }
        Ok(())
    }
}

/// One feed item, mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
// Items live one page at a time, and most are accounts: boxing would add an
// allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A live account.
    Account(Account),
    /// A deleted account.
    Tombstone {
        /// Its id.
        id: String,
    },
}

impl Item {
    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            Item::Account(a) => &a.id,
            Item::Tombstone { id } => id,
        }
    }
}

/// Reads one feed item.
pub fn read_item(m: &Mapping, deletion: &Deletion, item: &Value) -> Result<Item, String> {
    if !item.is_object() {
        return Err(format!("a record is {}, not an object", describe(item)));
    }
    let id_ptr = if m.canonical {
        "/id"
    } else {
        m.fields
            .iter()
            .find(|f| f.field == "id")
            .map_or("/id", |f| f.from.as_str())
    };
    if let Some(id) = tombstone_id(deletion, id_ptr, item)? {
        return Ok(Item::Tombstone { id });
    }
    let a = if m.canonical {
        Account::from_json_value(item).map_err(|e| {
            let id = item.get("id").and_then(Value::as_str).unwrap_or("?");
            format!("record {:?}: {e}", truncate(id))
        })?
    } else {
        read_fields(m, item)?
    };
    if a.id.is_empty() {
        return Err("a record with an empty id".into());
    }
    Ok(Item::Account(a))
}

/// The id of `item` when the deletion style says it is a tombstone; `None`
/// for a live record. `id_ptr` is where a live record keeps its id.
pub(super) fn tombstone_id(
    deletion: &Deletion,
    id_ptr: &str,
    item: &Value,
) -> Result<Option<String>, String> {
    if deletion.style != DeletionStyle::Tombstone {
        return Ok(None);
    }
    let flag = deletion.field.as_deref().unwrap_or("/deleted");
    let deleted = match (crate::json::pointer(item, flag), &deletion.value) {
        (Some(v), Some(want)) => v == want,
        (None, Some(_)) => false,
        (Some(Value::Bool(b)), None) => *b,
        (None | Some(Value::Null), None) => false,
        (Some(v), None) => return Err(format!("`{flag}` is {}, not a boolean", describe(v))),
    };
    if !deleted {
        return Ok(None);
    }
    let ptr = deletion.id.as_deref().unwrap_or(id_ptr);
    match crate::json::pointer(item, ptr) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        _ => Err("a tombstone without an id".into()),
    }
}

pub(super) fn truncate(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn read_fields(m: &Mapping, item: &Value) -> Result<Account, String> {
    let mut a = Account::default();
    for f in &m.fields {
        let v = match crate::json::pointer(item, &f.from) {
            None | Some(Value::Null) => continue,
            Some(v) => v,
        };
        let bad = |what: &str| format!("field `{}` (from `{}`): {what}", f.field, f.from);
        set_field(&mut a, f, v).map_err(|e| bad(&e))?;
    }
    Ok(a)
}

pub(super) fn as_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{} where text was expected", describe(other))),
    }
}

pub(super) fn as_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a whole number")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a whole number")),
        other => Err(format!("{} where a number was expected", describe(other))),
    }
}

/// `"1234.5"` with 2 digits → 123450 (extra digits are cut, not rounded).
pub fn parse_decimal(s: &str, digits: u8) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let mut fb = frac.bytes();
    for _ in 0..digits {
        let d = fb.next().map_or(0, |b| i64::from(b - b'0'));
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

/// `x / 10^digits` as a JSON number, when it prints back as the same
/// decimal: `x` and `10^digits` are exact doubles (|x| ≤ 2^53, digits ≤ 22),
/// so their quotient is the double nearest the decimal, which is what
/// parsing its text gives. Computed rather than parsed: float parsing's
/// tables were 10 KB of the wasm module. Otherwise `None` (sent as text).
fn decimal_number(x: i64, digits: u8) -> Option<serde_json::Number> {
    const EXACT: i64 = 1 << 53;
    if !(-EXACT..=EXACT).contains(&x) || digits > 22 {
        return None;
    }
    let scale = (0..digits).fold(1.0f64, |p, _| p * 10.0);
    serde_json::Number::from_f64(x as f64 / scale)
}

/// 123450 with 2 digits → `"1234.50"`.
pub fn format_decimal(v: i64, digits: u8) -> String {
    if digits == 0 {
        return v.to_string();
    }
    let (sign, u) = if v < 0 {
        ("-", v.unsigned_abs())
    } else {
        ("", v as u64)
    };
    // Past 19 digits 10^digits overflows a u64 (a profile may ask for up
    // to 255): every value is then all fraction.
    let (whole, frac) = match 10u64.checked_pow(u32::from(digits)) {
        Some(p) => (u / p, u % p),
        None => (0, u),
    };
    format!("{sign}{whole}.{frac:0width$}", width = usize::from(digits))
}

pub(super) fn transform_int(f: &FieldMap, v: &Value) -> Result<i64, String> {
    match f.transform {
        Transform::UnixSeconds | Transform::Int => as_int(v),
        Transform::UnixMs => Ok(as_int(v)?.div_euclid(1000)),
        Transform::Iso8601 => {
            let s = as_text(v)?;
            parse_iso8601(&s).ok_or_else(|| format!("{:?} is not an ISO-8601 date", truncate(&s)))
        }
        Transform::Decimal => {
            let s = as_text(v)?;
            parse_decimal(&s, f.digits)
                .ok_or_else(|| format!("{:?} is not a decimal", truncate(&s)))
        }
        Transform::Etag => {
            let s = as_text(v)?;
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            digits
                .parse()
                .map_err(|_| format!("{:?} is not a numeric ETag", truncate(&s)))
        }
        _ => as_int(v),
    }
}

pub(super) fn transform_text(f: &FieldMap, v: &Value) -> Result<String, String> {
    let s = as_text(v)?;
    Ok(match f.transform {
        Transform::Enum => f
            .values
            .binary_search_by(|(theirs, _)| theirs.as_str().cmp(&s))
            .map_or(s, |i| f.values[i].1.clone()),
        _ => s,
    })
}

fn set_field(a: &mut Account, f: &FieldMap, v: &Value) -> Result<(), String> {
    let t = |a: &mut String| -> Result<(), String> {
        *a = transform_text(f, v)?;
        Ok(())
    };
    match f.field.as_str() {
        "id" => t(&mut a.id)?,
        "name" => t(&mut a.name)?,
        "company" => t(&mut a.company)?,
        "email" => t(&mut a.email)?,
        "phone" => t(&mut a.phone)?,
        "address.street" => t(&mut a.address.street)?,
        "address.city" => t(&mut a.address.city)?,
        "address.postcode" => t(&mut a.address.postcode)?,
        "address.country" => t(&mut a.address.country)?,
        "territory" => t(&mut a.territory)?,
        "owner" => t(&mut a.owner)?,
        "stage" => t(&mut a.stage)?,
        "currency" => t(&mut a.currency)?,
        "geo.lat_e6" | "geo.lon_e6" => {
            let n = i32::try_from(transform_int(f, v)?).map_err(|_| "out of range".to_string())?;
            let g = a.geo.get_or_insert(Geo::default());
            if f.field == "geo.lat_e6" {
                g.lat_e6 = n;
            } else {
                g.lon_e6 = n;
            }
        }
        "deal_value" => a.deal_value = transform_int(f, v)?,
        "last_contact" => a.last_contact = Some(transform_int(f, v)?),
        "next_visit" => a.next_visit = Some(transform_int(f, v)?),
        "updated_at" => a.updated_at = transform_int(f, v)?,
        "version" => {
            a.version =
                u64::try_from(transform_int(f, v)?).map_err(|_| "negative version".to_string())?
        }
        "tags" => {
            a.tags = match v {
                Value::Array(xs) => xs.iter().map(as_text).collect::<Result<_, _>>()?,
                Value::String(s) => s
                    .split(';')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect(),
                other => return Err(format!("{} where a list was expected", describe(other))),
            }
        }
        custom => {
            let name = custom.strip_prefix("custom.").unwrap_or(custom);
            let value = match f.transform {
                Transform::Text | Transform::List => CustomValue::Text(as_text(v)?),
                Transform::Enum => CustomValue::Enum(transform_text(f, v)?),
                Transform::Int | Transform::Etag => CustomValue::Int(transform_int(f, v)?),
                Transform::UnixSeconds | Transform::UnixMs | Transform::Iso8601 => {
                    CustomValue::Date(transform_int(f, v)?)
                }
                Transform::Decimal => CustomValue::Decimal {
                    value: transform_int(f, v)?,
                    scale: f.digits,
                },
                Transform::Bool => CustomValue::Bool(match v {
                    Value::Bool(b) => *b,
                    Value::String(s) if s == "true" => true,
                    Value::String(s) if s == "false" => false,
                    other => {
                        return Err(format!("{} where a boolean was expected", describe(other)))
                    }
                }),
            };
            a.custom.insert(name.into(), value);
        }
    }
    Ok(())
}

// ---- writing ---------------------------------------------------------------

/// A change's value as canonical JSON: `(top-level member, nested member, value)`.
fn canonical_value(c: &Change) -> (String, Option<String>, Value) {
    let s = |x: &String| Value::String(x.clone());
    let opt = |x: &Option<i64>| x.map_or(Value::Null, Value::from);
    match c {
        Change::Name(x) => ("name".into(), None, s(x)),
        Change::Company(x) => ("company".into(), None, s(x)),
        Change::Email(x) => ("email".into(), None, s(x)),
        Change::Phone(x) => ("phone".into(), None, s(x)),
        Change::Street(x) => ("address".into(), Some("street".into()), s(x)),
        Change::City(x) => ("address".into(), Some("city".into()), s(x)),
        Change::Postcode(x) => ("address".into(), Some("postcode".into()), s(x)),
        Change::Stage(x) => ("stage".into(), None, s(x)),
        Change::DealValue(x) => ("deal_value".into(), None, Value::from(*x)),
        Change::NextVisit(x) => ("next_visit".into(), None, opt(x)),
        Change::LastContact(x) => ("last_contact".into(), None, opt(x)),
        Change::Tags(x) => ("tags".into(), None, Value::from(x.clone())),
        Change::Custom { name, value } => (
            "custom".into(),
            Some(name.clone()),
            value
                .as_ref()
                .and_then(|v| crate::json::to_value(v).ok())
                .unwrap_or(Value::Null),
        ),
    }
}

/// The body of an update for the canonical mapping: `merge` = RFC 7396 (only
/// the changed members, nested objects merged); otherwise changed top-level
/// members whole, from `local` (json-server merges one level only).
pub fn canonical_update(changes: &[Change], local: &Account, merge: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let whole = crate::json::to_value(local).unwrap_or(Value::Null);
    for c in changes {
        let (top, inner, v) = canonical_value(c);
        if !merge {
            let cur = whole.get(&top).cloned().unwrap_or(Value::Null);
            out.insert(top, cur);
            continue;
        }
        match inner {
            None => {
                out.insert(top, v);
            }
            Some(k) => {
                let slot = out.entry(top).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = slot {
                    m.insert(k, v);
                }
            }
        }
    }
    out
}

/// Writes `v` at pointer `ptr` inside `root`, creating objects on the way.
fn put(root: &mut Value, ptr: &str, v: Value) {
    let mut cur = root;
    let parts: Vec<String> = ptr.split('/').skip(1).map(crate::json::unescape).collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        if i + 1 == parts.len() {
            m.insert(p.clone(), v);
            return;
        }
        cur = m
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn reverse(f: &FieldMap, c: &Change) -> Value {
    let (_, _, v) = canonical_value(c);
    let int = match &v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    let custom_int = match c {
        Change::Custom {
            value: Some(CustomValue::Int(x) | CustomValue::Date(x)),
            ..
        } => Some(*x),
        Change::Custom {
            value: Some(CustomValue::Decimal { value, .. }),
            ..
        } => Some(*value),
        _ => None,
    };
    let int = int.or(custom_int);
    match (f.transform, int) {
        (Transform::UnixMs, Some(x)) => Value::from(x.saturating_mul(1000)),
        (Transform::Iso8601, Some(x)) => Value::String(format_iso8601(x)),
        (Transform::Decimal, Some(x)) if f.number => decimal_number(x, f.digits)
            .map_or_else(|| Value::String(format_decimal(x, f.digits)), Value::Number),
        (Transform::Decimal, Some(x)) => Value::String(format_decimal(x, f.digits)),
        (Transform::Enum, _) => match c {
            Change::Stage(s)
            | Change::Custom {
                value: Some(CustomValue::Enum(s)),
                ..
            } => f.values.iter().find(|(_, ours)| ours == s).map_or_else(
                || Value::String(s.clone()),
                |(theirs, _)| Value::String(theirs.clone()),
            ),
            _ => v,
        },
        (Transform::List, _) => match c {
            Change::Tags(t) => Value::String(t.join(";")),
            _ => v,
        },
        (_, _) => match c {
            Change::Custom {
                value: Some(cv), ..
            } => match cv {
                CustomValue::Text(s) | CustomValue::Enum(s) => Value::String(s.clone()),
                CustomValue::Int(x) | CustomValue::Date(x) => Value::from(*x),
                CustomValue::Bool(b) => Value::Bool(*b),
                CustomValue::Decimal { value, scale } => {
                    Value::String(format_decimal(*value, *scale))
                }
                CustomValue::Money { minor, .. } => Value::from(*minor),
            },
            _ => v,
        },
    }
}

/// The body of an update for a field mapping; `Err` names a field the
/// mapping cannot write.
pub fn mapped_update(m: &Mapping, changes: &[Change]) -> Result<Value, String> {
    let mut root = Value::Object(Map::new());
    for c in changes {
        let field = c.field();
        let f = m
            .fields
            .iter()
            .find(|f| f.field == field)
            .ok_or_else(|| format!("the profile maps no `{field}`; the edit cannot be sent"))?;
        put(&mut root, &f.from, reverse(f, c));
    }
    Ok(root)
}

// ---- calendar ----------------------------------------------------------------

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-09-21`, `2026-09-21T14:05:00Z`, `…T14:05:00.123+02:00` (or `+0200`) → Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut t = days_from_civil(y, mo, d) * 86_400;
    if b.len() == 10 {
        return Some(t);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    t += h * 3600 + mi * 60 + se;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        None | Some(b'Z' | b'z') if i + 1 >= b.len() => Some(t),
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            Some(if sign == b'+' { t - off } else { t + off })
        }
        // `+0000` (no colon): Salesforce writes its date-times so.
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 5 => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 3..i + 5)? * 60;
            Some(if sign == b'+' { t - off } else { t + off })
        }
        _ => None,
    }
}

/// Unix seconds → `2026-09-21T14:05:00Z`.
pub fn format_iso8601(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

impl Part for FieldMap {
    const KEYS: &'static [&'static str] = &["field", "from", "as", "digits", "values", "number"];

    fn read(f: &Fields<'_>) -> FieldMap {
        let transforms = [
            ("text", Transform::Text),
            ("int", Transform::Int),
            ("unix_seconds", Transform::UnixSeconds),
            ("unix_ms", Transform::UnixMs),
            ("iso8601", Transform::Iso8601),
            ("decimal", Transform::Decimal),
            ("bool", Transform::Bool),
            ("enum", Transform::Enum),
            ("etag", Transform::Etag),
            ("list", Transform::List),
        ];
        FieldMap {
            field: f.string("field"),
            from: f.string("from"),
            transform: f.choice("as", &transforms, Some(Transform::default())),
            digits: f.number("digits", 0, u64::from(u8::MAX)) as u8,
            values: f.strings("values"),
            number: f.flag("number"),
        }
    }
}

impl Part for Mapping {
    const KEYS: &'static [&'static str] = &["canonical", "fields"];

    fn read(f: &Fields<'_>) -> Mapping {
        Mapping {
            canonical: f.flag("canonical"),
            fields: f.list_of::<FieldMap>("fields"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The computed number is the one parsing the decimal's text gives
        /// (what the mapping did before), wherever it is computed.
        #[test]
        fn a_decimal_number_is_what_its_text_parses_to(
            x in -(1i64 << 53)..=(1i64 << 53),
            digits in 0u8..=22,
        ) {
            let parsed = format_decimal(x, digits).parse::<f64>().unwrap();
            let computed = decimal_number(x, digits).unwrap();
            proptest::prop_assert_eq!(computed.as_f64(), Some(parsed));
        }
    }

    #[test]
    fn decimals_of_many_digits_are_all_fraction() {
        assert_eq!(format_decimal(-5, 21), "-0.000000000000000000005");
        assert_eq!(format_decimal(i64::MIN, 20), "-0.09223372036854775808");
        assert_eq!(format_decimal(123_450, 2), "1234.50");
    }

    #[test]
    fn a_decimal_past_exact_doubles_goes_as_text() {
        assert_eq!(decimal_number((1 << 53) + 1, 2), None);
        assert_eq!(decimal_number(5, 23), None);
        assert_eq!(decimal_number(123_450, 2).unwrap().to_string(), "1234.5");
    }

    #[test]
    fn iso_round_trip() {
        for t in [0, 1_790_000_000, 951_782_400, -86_400] {
            assert_eq!(parse_iso8601(&format_iso8601(t)), Some(t));
        }
        assert_eq!(
            parse_iso8601("2026-09-21T14:05:00.5+02:00"),
            parse_iso8601("2026-09-21T12:05:00Z")
        );
        assert_eq!(
            parse_iso8601("2026-09-21T14:05:00.000+0000"),
            parse_iso8601("2026-09-21T14:05:00Z")
        );
        assert_eq!(parse_iso8601("2026-09-21T14:05:00+000"), None);
        assert_eq!(parse_iso8601("2026-13-01"), None);
        assert_eq!(parse_iso8601("2026-01-01T00:00:00Zjunk"), None);
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("1234.5", 2), Some(123_450));
        assert_eq!(parse_decimal("-0.019", 2), Some(-1));
        assert_eq!(parse_decimal("1e5", 2), None);
        assert_eq!(format_decimal(123_450, 2), "1234.50");
        assert_eq!(format_decimal(-5, 2), "-0.05");
    }
}
