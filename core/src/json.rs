//! JSON in and out of typed values, through one serde_json reader and one
//! writer.
//!
//! Owns how the crate (and the wasm bindings) turn JSON text into typed
//! values and typed values into [`Value`] trees. Every serde_json entry point
//! (`from_slice::<T>`, `T::deserialize(&Value)`, `to_value`, `to_vec`) is
//! generic: each one a type goes through is another copy of that type's
//! derived code in the wasm module. So typed reads parse into a [`Value`]
//! first and deserialize from that tree (the deserializer sync's mapping and
//! rule sets use anyway), and a [`Value`] of a typed value is printed and
//! parsed back (the writer `to_vec` every export uses). Routing every typed
//! read this way took 21 KB off the gzipped legacy module; reading an account
//! costs about 6 µs more natively, small beside storing it.
//!
//! Invariant: [`read`] accepts the documents `serde_json::from_slice` accepts
//! for `T` and returns the same value, and one more kind: an object that
//! repeats a member, which counts once, with its last value (as JavaScript's
//! `JSON.parse` reads it; the direct reader refuses it). An error's text
//! has no line and column when the document parses but does not fit `T`.

use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Parses `text` as a `T`.
pub fn read<T: DeserializeOwned>(text: &[u8]) -> Result<T, serde_json::Error> {
    let tree: Value = serde_json::from_slice(text)?;
    T::deserialize(&tree)
}

/// `value` as a JSON tree.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    let text: Vec<u8> = serde_json::to_vec(value)?;
    serde_json::from_slice(&text)
}
