//! Typed values as JSON trees, through the one serde_json writer.
//!
//! Owns [`to_value`]. serde_json's entry points are generic: each one a type
//! goes through is another copy of that type's derived code in the wasm
//! module. `serde_json::to_value` would be a second serializer beside the
//! `to_vec` every export uses, so a tree of a typed value is printed and
//! parsed back instead. (Reading goes the other way through
//! [`crate::fields`]: documents parse into a `Value`, read by hand.)
//!
//! Invariant: [`to_value`] gives what `serde_json::to_value` gives.

use alloc::vec::Vec;
use serde::Serialize;
use serde_json::Value;

/// `value` as a JSON tree.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    let text: Vec<u8> = serde_json::to_vec(value)?;
    serde_json::from_slice(&text)
}
