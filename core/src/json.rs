//! Typed values as JSON trees, through the one serde_json writer, and JSON
//! pointers into them.
//!
//! Owns [`to_value`] and [`pointer`]. serde_json's entry points are generic: each one a type
//! goes through is another copy of that type's derived code in the wasm
//! module. `serde_json::to_value` would be a second serializer beside the
//! `to_vec` every export uses, so a tree of a typed value is printed and
//! parsed back instead. (Reading goes the other way through
//! [`crate::fields`]: documents parse into a `Value`, read by hand.)
//!
//! Invariant: [`to_value`] gives what `serde_json::to_value` gives, and
//! [`pointer`] what `serde_json::Value::pointer` finds.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;
use serde_json::Value;

use crate::substr;

/// `value` as a JSON tree.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    let text: Vec<u8> = serde_json::to_vec(value)?;
    serde_json::from_slice(&text)
}

/// The value at JSON pointer `ptr` (RFC 6901) inside `root`, as
/// `serde_json::Value::pointer` finds it: `""` is the whole value, any other
/// pointer starts with `/`, `~1` stands for `/` and `~0` for `~`, and an
/// array index is decimal without a sign or a leading zero. (Ours: serde_json's
/// brings std's `&str` searcher into the wasm module, see [`crate::substr`].)
pub fn pointer<'a>(root: &'a Value, ptr: &str) -> Option<&'a Value> {
    if ptr.is_empty() {
        return Some(root);
    }
    let rest = ptr.strip_prefix('/')?;
    rest.split('/').try_fold(root, |at, token| {
        let token = unescape(token);
        match at {
            Value::Object(m) => m.get(&token),
            Value::Array(list) => array_index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

/// A pointer's reference token with `~1` and `~0` undone, in that order
/// (so `~01` is `~1`, not `/`).
pub fn unescape(token: &str) -> String {
    substr::replace(&substr::replace(token, "~1", "/"), "~0", "~")
}

fn array_index(s: &str) -> Option<usize> {
    if s.starts_with('+') || (s.starts_with('0') && s.len() != 1) {
        return None;
    }
    s.parse().ok()
}
