//! Reading a profile's JSON objects member by member.
//!
//! Owns [`Fields`], through which every part of a [`super::Profile`] reads
//! itself from the parsed JSON tree. By hand rather than derived: serde's
//! derived readers of the profile's dozen types were about 45 KB of the
//! wasm module's code, these few functions and one call per member are a
//! fraction of that (wasm/README, "Size").
//!
//! Invariant: a reader never accepts what serde's derived reader of the same
//! type refuses, and where both accept they give the same value (checked
//! against the derive in `core/tests/sync_profiles.rs`). It refuses, naming
//! the member's path (`paging.style`): a member not in the type's list, a member of
//! the wrong JSON type, a missing required member and an enum value not
//! listed. `null` is absent only where the field is an `Option`, as with
//! serde.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use super::mapping::describe;
use super::profile::{err, ProfileError};

/// A part of a profile that is a JSON object.
pub(crate) trait Part: Sized {
    /// Its members' names; any other is refused.
    const KEYS: &'static [&'static str];
    /// Reads it from its object.
    fn read(f: Fields<'_>) -> Result<Self, ProfileError>;
}

/// One JSON object being read; `at` is its path in the profile.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// `value` as an object at path `at` (`""`: the profile itself) whose
    /// members are among `known`. An unknown member is refused first, as
    /// it is most often a known one misspelt.
    pub fn of(
        value: &'a Value,
        at: &str,
        known: &'static [&'static str],
    ) -> Result<Self, ProfileError> {
        let Value::Object(map) = value else {
            return Err(err(
                if at.is_empty() { "profile" } else { at },
                format!("expected an object, found {}", describe(value)),
            ));
        };
        let f = Fields {
            map,
            at: at.into(),
            known,
        };
        match map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(f),
            Some(k) => Err(err(
                &f.path(k),
                format!("unknown field; known here: {}", known.join(", ")),
            )),
        }
    }

    /// The path of member `key`.
    pub fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.into()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// Member `key` as it is (`null` included).
    pub fn raw(&self, key: &'static str) -> Option<&'a Value> {
        debug_assert!(
            self.known.contains(&key),
            "`{key}` is not in the known list"
        );
        self.map.get(key)
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> ProfileError {
        err(
            &self.path(key),
            format!("expected {expected}, found {}", describe(found)),
        )
    }

    /// A required string.
    pub fn string(&self, key: &'static str) -> Result<String, ProfileError> {
        match self.raw(key) {
            None => Err(err(&self.path(key), "is required")),
            Some(v) => self.text(key, v),
        }
    }

    /// A string, `default` when absent.
    pub fn string_or(&self, key: &'static str, default: &str) -> Result<String, ProfileError> {
        match self.raw(key) {
            None => Ok(default.into()),
            Some(v) => self.text(key, v),
        }
    }

    /// An optional string (`null`: none).
    pub fn option(&self, key: &'static str) -> Result<Option<String>, ProfileError> {
        match self.raw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.text(key, v).map(Some),
        }
    }

    fn text(&self, key: &str, v: &Value) -> Result<String, ProfileError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A boolean, false when absent.
    pub fn flag(&self, key: &'static str) -> Result<bool, ProfileError> {
        match self.raw(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    /// A whole number in `0..=max`, `default` when absent.
    pub fn number(&self, key: &'static str, default: u64, max: u64) -> Result<u64, ProfileError> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(n) if n <= max => Ok(n),
                _ => Err(self.wrong(key, &format!("a whole number up to {max}"), v)),
            },
        }
    }

    /// One of `options` by name, `default` when absent (`None`: required).
    pub fn choice<T: Copy>(
        &self,
        key: &'static str,
        options: &[(&str, T)],
        default: Option<T>,
    ) -> Result<T, ProfileError> {
        let found = match (self.raw(key), default) {
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(err(&self.path(key), "is required")),
            (Some(v), _) => v,
        };
        let name = self.text(key, found)?;
        options
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, t)| t)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                err(
                    &self.path(key),
                    format!("unknown value {name:?}; one of: {}", names.join(", ")),
                )
            })
    }

    /// `[["name", "value"], …]`, empty when absent.
    pub fn pairs(&self, key: &'static str) -> Result<Vec<(String, String)>, ProfileError> {
        let list = self.list(key)?;
        let mut out = Vec::with_capacity(list.len());
        for pair in list {
            match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(a), Value::String(b)]) => out.push((a.clone(), b.clone())),
                _ => return Err(self.wrong(key, "[name, value] pairs of strings", pair)),
            }
        }
        Ok(out)
    }

    /// A required array of strings.
    pub fn string_list(&self, key: &'static str) -> Result<Vec<String>, ProfileError> {
        let Some(v) = self.raw(key) else {
            return Err(err(&self.path(key), "is required"));
        };
        let Value::Array(list) = v else {
            return Err(self.wrong(key, "an array of strings", v));
        };
        list.iter().map(|s| self.text(key, s)).collect()
    }

    /// An array, empty when absent.
    pub fn list(&self, key: &'static str) -> Result<&'a [Value], ProfileError> {
        match self.raw(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }

    /// `{"key": "value", …}`, empty when absent.
    pub fn strings(&self, key: &'static str) -> Result<BTreeMap<String, String>, ProfileError> {
        let mut out = BTreeMap::new();
        let Some(v) = self.raw(key) else {
            return Ok(out);
        };
        let Value::Object(map) = v else {
            return Err(self.wrong(key, "an object of strings", v));
        };
        for (k, v) in map {
            let Value::String(s) = v else {
                return Err(self.wrong(key, "an object of strings", v));
            };
            out.insert(k.clone(), s.clone());
        }
        Ok(out)
    }

    /// Member `key` as a `T`, refused when absent.
    pub fn required<T: Part>(&self, key: &'static str) -> Result<T, ProfileError> {
        self.part(key, false)?
            .ok_or_else(|| err(&self.path(key), "is required"))
    }

    /// Member `key` as a `T`: `None` when absent, or when `null` and
    /// `null_is_none` (an `Option` field).
    pub fn part<T: Part>(
        &self,
        key: &'static str,
        null_is_none: bool,
    ) -> Result<Option<T>, ProfileError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Null) if null_is_none => Ok(None),
            Some(v) => T::read(Fields::of(v, &self.path(key), T::KEYS)?).map(Some),
        }
    }
}
