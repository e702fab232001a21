//! Reading JSON objects member by member into typed values.
//!
//! Owns [`Fields`], [`Part`] and [`read`], through which adapter profiles
//! (every part of a [`crate::sync::Profile`]) and canonical accounts
//! ([`crate::model::Account`] and its parts) read themselves from a parsed
//! JSON tree. By hand rather than derived: serde's derived readers of these
//! types were the largest part of the wasm module's JSON code; these few
//! functions and one call per member are a fraction of it (wasm/README,
//! "Size"). The serde derives stay on the types (postcard and JSON writing
//! use them) and are the reference the readers are tested against.
//!
//! Readers do not stop at an error: the first one is kept (in the cell all
//! of a document's `Fields` share) and the reader goes on with a placeholder
//! value, so a part's fields are read straight into its struct with no
//! early return per member, whose drop paths were most of the code.
//!
//! Invariant: a reader never accepts what serde's derived reader of the same
//! type refuses, and where both accept they give the same value (checked
//! against the derive in `core/tests/sync_profiles.rs` and
//! `core/tests/json.rs`). It refuses, naming the member's path
//! (`paging.style`, `activities[2].kind`): a member not in the type's list,
//! a member of the wrong JSON type or out of range, a missing required
//! member and an enum value not listed. `null` is absent only where the
//! field is an `Option`, as with serde.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use serde_json::{Map, Value};

use core::fmt;

/// Why a document was refused: the member's path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The member, as a path (`address.city`), or the document's name.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.message)
    }
}

fn err(path: &str, message: impl Into<String>) -> ReadError {
    ReadError {
        path: path.into(),
        message: message.into(),
    }
}

/// A JSON value's kind, for errors.
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A part of a document that is a JSON object.
pub trait Part: Sized {
    /// Its members' names; any other is refused, unless `OPEN`.
    const KEYS: &'static [&'static str];
    /// Members not in `KEYS` are ignored rather than refused (state that a
    /// newer version may have written more of, as serde ignores them).
    const OPEN: bool = false;
    /// Reads it from its object. Errors go to `f` and a placeholder is
    /// read in their place; [`read`] returns the first.
    fn read(f: &Fields<'_>) -> Self;
}

/// `tree` as a `T` (a whole document, called `name` in errors about
/// itself), or the first error met reading it.
pub fn read<T: Part>(tree: &Value, name: &str) -> Result<T, ReadError> {
    let error = RefCell::new(None);
    let none = Map::new();
    let root = Fields {
        map: &none,
        at: String::new(),
        known: &[],
        error: &error,
    };
    let value = root.nested::<T>(tree, String::new(), name);
    match error.into_inner() {
        None => Ok(value),
        Some(e) => Err(e),
    }
}

/// One JSON object being read; `at` is its path in the profile.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
    known: &'static [&'static str],
    error: &'a RefCell<Option<ReadError>>,
}

impl<'a> Fields<'a> {
    /// `value`, at path `at`, read as a `T`. Not an object: an error, and
    /// `T` read from an empty one. An unknown member is refused before any
    /// other, as it is most often a known one misspelt.
    pub fn nested<T: Part>(&self, value: &Value, at: String, name: &str) -> T {
        let none = Map::new();
        T::read(&self.child(value, at, name, T::KEYS, T::OPEN, &none))
    }

    fn child<'b>(
        &'b self,
        value: &'b Value,
        at: String,
        name: &str,
        known: &'static [&'static str],
        open: bool,
        none: &'b Map<String, Value>,
    ) -> Fields<'b> {
        let map = match value {
            Value::Object(map) => map,
            other => {
                self.fail(
                    if at.is_empty() { name } else { &at },
                    format!("expected an object, found {}", describe(other)),
                );
                none
            }
        };
        let f = Fields {
            map,
            at,
            known,
            error: self.error,
        };
        let unknown = map.keys().find(|k| !known.contains(&k.as_str()));
        if let Some(k) = unknown.filter(|_| !open) {
            f.fail(
                &f.path(k),
                format!("unknown field; known here: {}", known.join(", ")),
            );
        }
        f
    }

    /// Keeps `message` about `field` unless an earlier error was kept.
    fn fail(&self, field: &str, message: impl Into<String>) {
        let mut first = self.error.borrow_mut();
        if first.is_none() {
            *first = Some(err(field, message));
        }
    }

    /// Refuses member `key`, saying what was expected and what was found
    /// (a number, boolean or short string shown as written).
    fn wrong(&self, key: &str, expected: &str, found: &Value) {
        let shown = match found {
            Value::Number(_) | Value::Bool(_) => format!(" {found}"),
            Value::String(s) if s.len() <= 40 => format!(" {found}"),
            _ => String::new(),
        };
        self.fail(
            &self.path(key),
            format!("expected {expected}, found {}{shown}", describe(found)),
        );
    }

    fn missing(&self, key: &str) {
        self.fail(&self.path(key), "is required");
    }

    /// The path of member `key`.
    pub fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.into()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// Refuses member `key` as missing when it is absent; for members
    /// serde requires although their reader has a default
    /// (`f.require("page").number("page", 0, u64::MAX)`).
    pub fn require(&self, key: &'static str) -> &Self {
        if self.raw(key).is_none() {
            self.missing(key);
        }
        self
    }

    /// Member `key` is present and not `null` (an `Option` member given).
    pub fn given(&self, key: &'static str) -> bool {
        !matches!(self.raw(key), None | Some(Value::Null))
    }

    /// Member `key` as it is (`null` included).
    pub fn raw(&self, key: &'static str) -> Option<&'a Value> {
        debug_assert!(
            self.known.contains(&key),
            "`{key}` is not in the known list"
        );
        self.map.get(key)
    }

    /// A required string.
    pub fn string(&self, key: &'static str) -> String {
        match self.raw(key) {
            None => {
                self.missing(key);
                String::new()
            }
            Some(v) => self.text(key, v),
        }
    }

    /// A string, `default` when absent.
    pub fn string_or(&self, key: &'static str, default: &str) -> String {
        match self.raw(key) {
            None => default.into(),
            Some(v) => self.text(key, v),
        }
    }

    /// An optional string (`null`: none).
    pub fn option(&self, key: &'static str) -> Option<String> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(self.text(key, v)),
        }
    }

    fn text(&self, key: &str, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => {
                self.wrong(key, "a string", other);
                String::new()
            }
        }
    }

    /// A boolean, false when absent.
    pub fn flag(&self, key: &'static str) -> bool {
        match self.raw(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.wrong(key, "true or false", other);
                false
            }
        }
    }

    /// A whole number in `0..=max`, `default` when absent.
    pub fn number(&self, key: &'static str, default: u64, max: u64) -> u64 {
        match self.raw(key) {
            None => default,
            Some(v) => match v.as_u64() {
                Some(n) if n <= max => n,
                _ => {
                    self.wrong(key, &format!("a whole number up to {max}"), v);
                    default
                }
            },
        }
    }

    /// A whole number in `min..=max`, `default` when absent (`None`:
    /// required).
    pub fn int(&self, key: &'static str, default: Option<i64>, min: i64, max: i64) -> i64 {
        match self.raw(key) {
            None => {
                if default.is_none() {
                    self.missing(key);
                }
                default.unwrap_or(0)
            }
            Some(v) => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => n,
                _ => {
                    self.wrong(key, &format!("a whole number in {min}..={max}"), v);
                    default.unwrap_or(0)
                }
            },
        }
    }

    /// An optional whole number (`null`: none).
    pub fn opt_int(&self, key: &'static str) -> Option<i64> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.int(key, Some(0), i64::MIN, i64::MAX)),
        }
    }

    /// The object's one member, as its name in the known list (an
    /// externally tagged enum: `{"int": 3}`); refused unless it has
    /// exactly one known member.
    pub fn only_member(&self) -> Option<&'static str> {
        let mut keys = self.map.keys();
        let only = match (keys.next(), keys.next()) {
            (Some(k), None) => self.known.iter().copied().find(|n| *n == k.as_str()),
            _ => None,
        };
        if only.is_none() {
            self.refuse(&format!(
                "expected one member, one of: {}",
                self.known.join(", ")
            ));
        }
        only
    }

    /// Refuses the object itself with `message`.
    pub fn refuse(&self, message: &str) {
        self.fail(&self.at, message);
    }

    /// One of `options` by name, `default` when absent (`None`: required).
    pub fn choice<T: Copy>(
        &self,
        key: &'static str,
        options: &[(&str, T)],
        default: Option<T>,
    ) -> T {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let at = self.pick(key, &names, default.is_some());
        match (at, default) {
            (None, Some(d)) => d,
            (i, _) => options[i.unwrap_or(0)].1,
        }
    }

    /// Which of `names` member `key` is; `None` when absent (refused unless
    /// `optional`) or refused.
    fn pick(&self, key: &'static str, names: &[&str], optional: bool) -> Option<usize> {
        let Some(v) = self.raw(key) else {
            if !optional {
                self.missing(key);
            }
            return None;
        };
        let name = self.text(key, v);
        let at = names.iter().position(|n| *n == name);
        if at.is_none() && v.is_string() {
            self.fail(
                &self.path(key),
                format!("unknown value {name:?}; one of: {}", names.join(", ")),
            );
        }
        at
    }

    /// `[["name", "value"], …]`, empty when absent.
    pub fn pairs(&self, key: &'static str) -> Vec<(String, String)> {
        let list = self.list(key);
        let mut out = Vec::with_capacity(list.len());
        for pair in list {
            match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(a), Value::String(b)]) => out.push((a.clone(), b.clone())),
                _ => self.wrong(key, "[name, value] pairs of strings", pair),
            }
        }
        out
    }

    /// An array of strings; when absent, refused if `required`, else empty.
    pub fn string_list(&self, key: &'static str, required: bool) -> Vec<String> {
        match self.raw(key) {
            None => {
                if required {
                    self.missing(key);
                }
                Vec::new()
            }
            Some(Value::Array(list)) => list.iter().map(|s| self.text(key, s)).collect(),
            Some(other) => {
                self.wrong(key, "an array of strings", other);
                Vec::new()
            }
        }
    }

    /// An array, empty when absent.
    pub fn list(&self, key: &'static str) -> &'a [Value] {
        match self.raw(key) {
            None => &[],
            Some(Value::Array(a)) => a,
            Some(other) => {
                self.wrong(key, "an array", other);
                &[]
            }
        }
    }

    /// Array `key` of `T`s, empty when absent.
    pub fn list_of<T: Part>(&self, key: &'static str) -> Vec<T> {
        let at = self.path(key);
        self.list(key)
            .iter()
            .enumerate()
            .map(|(i, item)| self.nested(item, format!("{at}[{i}]"), ""))
            .collect()
    }

    /// Object `key` of `T`s by name, empty when absent.
    pub fn map_of<T: Part>(&self, key: &'static str) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        match self.raw(key) {
            None => {}
            Some(Value::Object(map)) => {
                let at = self.path(key);
                for (name, v) in map {
                    let value = self.nested(v, format!("{at}.{name}"), "");
                    out.insert(name.clone(), value);
                }
            }
            Some(other) => self.wrong(key, "an object", other),
        }
        out
    }

    /// `{"key": "value", …}` as (key, value) pairs sorted by key (a
    /// parsed object's order), empty when absent.
    pub fn strings(&self, key: &'static str) -> Vec<(String, String)> {
        match self.raw(key) {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), self.text(key, v)))
                .collect(),
            Some(other) => {
                self.wrong(key, "an object of strings", other);
                Vec::new()
            }
        }
    }

    /// Member `key` as a `T`, refused when absent (and read from an empty
    /// object then).
    pub fn required<T: Part>(&self, key: &'static str) -> T {
        let absent = Value::Null;
        let v = self.raw(key).unwrap_or_else(|| {
            self.missing(key);
            &absent
        });
        self.nested(v, self.path(key), "")
    }

    /// Member `key` as a `T`: `None` when absent, or when `null` and
    /// `null_is_none` (an `Option` field).
    pub fn part<T: Part>(&self, key: &'static str, null_is_none: bool) -> Option<T> {
        match self.raw(key) {
            None => None,
            Some(Value::Null) if null_is_none => None,
            Some(v) => Some(self.nested(v, self.path(key), "")),
        }
    }
}
