//! Reading JS arguments: every value that crosses into the module is checked
//! here, before core sees it.
//!
//! Owns the translation of loosely typed JS values (strings, numbers, plain
//! objects, `Uint8Array`s) into core types. Invariant: a value of the wrong
//! type or range becomes an `INVALID_ARGUMENT` (or `INVALID_RECORD`,
//! `INVALID_BUDGET`) [`Failure`] that names the parameter; nothing here
//! panics on any JS value.

use satchel_core::budget::Budget;
use satchel_core::model::Account;
use satchel_core::price_lists::PriceList;
use satchel_core::store::StoreConfig;
use satchel_core::usage::Use;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Failure;

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A string argument.
pub fn text(value: &JsValue, what: &str) -> Result<String, Failure> {
    value
        .as_string()
        .ok_or_else(|| Failure::argument(format_args!("`{what}` must be a string")))
}

/// A string, or a plain object/array that `JSON.stringify` turns into one.
pub fn json_text(value: &JsValue, what: &str) -> Result<String, Failure> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if !value.is_object() {
        return Err(Failure::argument(format_args!(
            "`{what}` must be a JSON string or an object"
        )));
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            Failure::argument(format_args!(
                "`{what}` cannot be turned into JSON (a BigInt, a cycle or a function?)"
            ))
        })
}

/// An account: canonical JSON text, or an object of the same shape.
pub fn account(value: &JsValue) -> Result<Account, Failure> {
    parse_account(&json_text(value, "record")?)
}

/// Parses canonical JSON of one account (unknown fields are refused).
pub fn parse_account(text: &str) -> Result<Account, Failure> {
    // Parsed into a tree, then read by core's hand-written account reader
    // (see README, "Size").
    let tree: serde_json::Value =
        serde_json::from_slice(text.as_bytes()).map_err(Failure::record)?;
    Account::from_json_value(&tree).map_err(Failure::record)
}

/// A price list: canonical JSON text or an object of the same shape.
pub fn price_list(value: &JsValue) -> Result<PriceList, Failure> {
    let text = json_text(value, "list")?;
    let tree: serde_json::Value =
        serde_json::from_slice(text.as_bytes()).map_err(Failure::record)?;
    PriceList::from_json_value(&tree).map_err(Failure::record)
}

/// A whole number in `0..=max`.
pub fn count(value: &JsValue, what: &str, max: f64) -> Result<f64, Failure> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(n),
        // `max` printed as an integer: formatting an f64 would bring
        // float formatting (14 KB) into the module.
        _ => Err(Failure::argument(format_args!(
            "`{what}` must be a whole number from 0 to {}",
            max as u64
        ))),
    }
}

/// A Unix time in seconds (any safe integer, negative too).
pub fn seconds(value: &JsValue, what: &str) -> Result<i64, Failure> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE => Ok(n as i64),
        _ => Err(Failure::argument(format_args!(
            "`{what}` must be Unix seconds, a whole number"
        ))),
    }
}

include!(concat!(env!("OUT_DIR"), "/max_memory.rs"));

/// The largest budget a store may be opened with: 5/8 of the module's
/// memory cap, 40 MiB of the default 64. The rest is what is not the store:
/// static data and stack, transient buffers while a block is compressed or
/// a plan runs, the allocator's slack, each chunk being ingested. Measured
/// (`npm run test:million`): a 40 MiB store fed a million accounts peaked at
/// 52.2 MB of module memory; a 56 MiB one ran out at the cap and trapped,
/// which kills the module. A larger budget is refused, not trapped on.
pub const MAX_BUDGET: u64 = MAX_MEMORY / 8 * 5;

/// A budget: bytes as a number, or a size like `"40MiB"`.
pub fn budget(value: &JsValue) -> Result<Budget, Failure> {
    if let Some(s) = value.as_string() {
        return Ok(Budget::parse(&s)?);
    }
    let n = count(value, "budget", usize::MAX as f64).map_err(|_| {
        Failure::argument("`budget` must be bytes (a whole number) or a size like \"40MiB\"")
    })?;
    Ok(Budget::new(n as usize))
}

/// A `Uint8Array` (a Node `Buffer` is one) copied into the module.
pub fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>, Failure> {
    value
        .dyn_ref::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| Failure::argument(format_args!("`{what}` must be a Uint8Array")))
}

/// `undefined` or `null`.
pub fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// Property `key` of an options object; `undefined` when `options` is absent.
pub fn field(options: &JsValue, key: &str, what: &str) -> Result<JsValue, Failure> {
    if absent(options) {
        return Ok(JsValue::UNDEFINED);
    }
    if !options.is_object() {
        return Err(Failure::argument(format_args!(
            "`{what}` must be an object"
        )));
    }
    js_sys::Reflect::get(options, &JsValue::from_str(key))
        .map_err(|_| Failure::argument(format_args!("`{what}.{key}` cannot be read")))
}

/// An optional boolean property.
pub fn flag(options: &JsValue, key: &str, what: &str) -> Result<Option<bool>, Failure> {
    let v = field(options, key, what)?;
    if absent(&v) {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| Failure::argument(format_args!("`{what}.{key}` must be true or false")))
}

/// An optional whole-number property in `0..=max`.
pub fn opt_count(
    options: &JsValue,
    key: &str,
    what: &str,
    max: f64,
) -> Result<Option<f64>, Failure> {
    let v = field(options, key, what)?;
    if absent(&v) {
        return Ok(None);
    }
    count(&v, &format!("{what}.{key}"), max).map(Some)
}

/// The package's block size when `blockBytes` is not given: 32 KiB, a
/// quarter of core's default. Every read outside the cached blocks inflates
/// one block, and in wasm a 128 KiB block took about 0.4 ms (30k accounts,
/// Node): 32 KiB blocks read about 2.6× faster (p99 9× lower) for about 8 %
/// more bytes per record in blocks. An app reads records one by one (a list
/// row, a card, search hits); the native default keeps the density.
pub const DEFAULT_BLOCK_BYTES: usize = 32 * 1024;

/// `StoreOptions`: `{ budget, blockBytes?, cacheBlocks?, journal? }`.
pub fn store_options(options: &JsValue) -> Result<(Budget, StoreConfig), Failure> {
    if !options.is_object() {
        return Err(Failure::argument(
            "`options` must be an object like { budget: \"40MiB\" }",
        ));
    }
    let b = field(options, "budget", "options")?;
    if absent(&b) {
        return Err(Failure::argument(
            "`options.budget` is required (bytes or \"40MiB\")",
        ));
    }
    let budget = budget(&b)?;
    if budget.bytes() as u64 > MAX_BUDGET {
        return Err(Failure::argument(format_args!(
            "`options.budget` is {} bytes; a store in this module may have at most {MAX_BUDGET} \
             ({} MiB: the rest of its {} MiB memory cap is for what is not the store, and \
             a module that reaches its cap traps)",
            budget.bytes(),
            MAX_BUDGET >> 20,
            MAX_MEMORY >> 20
        )));
    }
    let mut config = StoreConfig {
        block_bytes: DEFAULT_BLOCK_BYTES,
        ..StoreConfig::default()
    };
    // Same bounds as core's block format: rows and bytes must stay sane.
    if let Some(n) = opt_count(options, "blockBytes", "options", (16u32 << 20) as f64)? {
        if n < 1024.0 {
            return Err(Failure::argument(
                "`options.blockBytes` must be at least 1024",
            ));
        }
        config.block_bytes = n as usize;
    }
    if let Some(n) = opt_count(options, "cacheBlocks", "options", 1024.0)? {
        config.cache_blocks = n as usize;
    }
    if let Some(j) = flag(options, "journal", "options")? {
        config.journal = j;
    }
    Ok((budget, config))
}

/// A use: `"open"`, `"search"` or `"edit"`.
pub fn use_kind(value: &JsValue) -> Result<Use, Failure> {
    match value.as_string().as_deref() {
        Some("open") => Ok(Use::Open),
        Some("search") => Ok(Use::Search),
        Some("edit") => Ok(Use::Edit),
        _ => Err(Failure::argument(
            "`use` must be \"open\", \"search\" or \"edit\"",
        )),
    }
}

/// An array of strings (territories).
pub fn strings(value: &JsValue, what: &str) -> Result<Vec<String>, Failure> {
    if absent(value) {
        return Ok(Vec::new());
    }
    let Some(array) = value.dyn_ref::<js_sys::Array>() else {
        return Err(Failure::argument(format_args!(
            "`{what}` must be an array of strings"
        )));
    };
    array
        .iter()
        .map(|v| text(&v, what))
        .collect::<Result<Vec<_>, _>>()
}

/// Exactly `N` bytes (a key, a nonce, a salt) from a `Uint8Array`.
pub fn fixed<const N: usize>(value: &JsValue, what: &str) -> Result<[u8; N], Failure> {
    let v = bytes(value, what)?;
    v.as_slice().try_into().map_err(|_| {
        Failure::argument(format_args!(
            "`{what}` must be {N} bytes (crypto.getRandomValues(new Uint8Array({N}))), got {}",
            v.len()
        ))
    })
}

/// Unix seconds, or the clock's time when absent.
pub fn seconds_or(
    value: &JsValue,
    what: &str,
    clock: impl FnOnce() -> i64,
) -> Result<i64, Failure> {
    if absent(value) {
        Ok(clock())
    } else {
        seconds(value, what)
    }
}
