//! Encryption at rest for what the app persists: thin over core's `seal`.
//!
//! Core has no randomness: every nonce, salt and data key comes from the
//! caller (`crypto.getRandomValues` in a browser, `crypto.getRandomValues`
//! or `randomFillSync` in Node). Owns the reading of keys, nonces, salts,
//! kinds and KDF parameters from JS. Invariant: a wrong key, a wrong PIN or
//! any changed byte throws (`SEAL_TAMPERED`, `WRONG_PIN`, `SEAL_INVALID`);
//! nothing partial is ever returned.

use satchel_core::seal::{self, DataKey, KdfParams, Kind, NONCE_LEN, SALT_LEN};
use satchel_core::store::Store as CoreStore;
use wasm_bindgen::prelude::*;

use crate::error::Failure;
use crate::{input, Store};

fn kind(value: &JsValue) -> Result<Kind, Failure> {
    match value.as_string().as_deref() {
        Some("snapshot") => Ok(Kind::Snapshot),
        Some("journal") => Ok(Kind::Journal),
        Some("secret") => Ok(Kind::Secret),
        _ => Err(Failure::argument(
            "`kind` must be \"snapshot\", \"journal\" or \"secret\"",
        )),
    }
}

fn key(value: &JsValue) -> Result<DataKey, Failure> {
    input::fixed::<32>(value, "key").map(DataKey)
}

fn pin(value: &JsValue, what: &str) -> Result<Vec<u8>, Failure> {
    let p = input::text(value, what)?;
    if p.is_empty() {
        return Err(Failure::argument(format_args!(
            "`{what}` must not be empty"
        )));
    }
    Ok(p.into_bytes())
}

fn params(value: &JsValue) -> Result<KdfParams, Failure> {
    let d = KdfParams::HANDHELD;
    let get = |k: &str, max: f64, default: u32| {
        input::opt_count(value, k, "params", max).map(|v| v.map_or(default, |n| n as u32))
    };
    Ok(KdfParams {
        memory_kib: get("memoryKib", (256 * 1024) as f64, d.memory_kib)?,
        passes: get("passes", 64.0, d.passes)?,
        lanes: get("lanes", 16.0, d.lanes)?,
    })
}

/// Seals `plain` as `kind` (`"snapshot"`, `"journal"`, `"secret"`) under a
/// 32-byte data key with a fresh 24-byte random nonce (never reuse one with
/// the same key). The blob opens only as the same kind.
#[wasm_bindgen(js_name = sealBlob)]
pub fn seal_blob(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SealKind")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] plain: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let key = self::key(&key)?;
    let kind = self::kind(&kind)?;
    let nonce = input::fixed::<NONCE_LEN>(&nonce, "nonce")?;
    let plain = input::bytes(&plain, "plain")?;
    Ok(seal::seal(&key, kind, &nonce, &plain))
}

/// Opens a blob sealed as `kind` under `key`: the exact bytes, or a throw.
#[wasm_bindgen(js_name = openBlob)]
pub fn open_blob(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SealKind")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] blob: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let key = self::key(&key)?;
    let kind = self::kind(&kind)?;
    let blob = input::bytes(&blob, "blob")?;
    Ok(seal::open(&key, kind, &blob).map_err(Failure::from)?)
}

/// Wraps a 32-byte data key under the rep's PIN (Argon2id with a 16-byte
/// random salt, then XChaCha20-Poly1305 with a 24-byte random nonce).
/// `params` (`{ memoryKib, passes, lanes }`) default to the handheld
/// setting (16 MiB, 3 passes, 1 lane) and are stored in the wrap.
#[wasm_bindgen(js_name = wrapKey)]
pub fn wrap_key(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] pin: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] salt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "KdfParams | undefined")] params: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let key = self::key(&key)?;
    let pin = self::pin(&pin, "pin")?;
    let salt = input::fixed::<SALT_LEN>(&salt, "salt")?;
    let nonce = input::fixed::<NONCE_LEN>(&nonce, "nonce")?;
    let params = self::params(&params)?;
    Ok(seal::wrap_with_pin(&key, &pin, params, &salt, &nonce).map_err(Failure::from)?)
}

/// The data key inside a wrap, with the rep's PIN (`WRONG_PIN` otherwise).
#[wasm_bindgen(js_name = unwrapKey)]
pub fn unwrap_key(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] wrapped: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] pin: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let wrapped = input::bytes(&wrapped, "wrapped")?;
    let pin = self::pin(&pin, "pin")?;
    let key = seal::unwrap_with_pin(&wrapped, &pin).map_err(Failure::from)?;
    Ok(key.0.to_vec())
}

/// Re-wraps the same data key under a new PIN (the sealed data stays as it is).
#[wasm_bindgen(js_name = changePin)]
pub fn change_pin(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] wrapped: JsValue,
    #[wasm_bindgen(js_name = "oldPin", unchecked_param_type = "string")] old_pin: JsValue,
    #[wasm_bindgen(js_name = "newPin", unchecked_param_type = "string")] new_pin: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] salt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let wrapped = input::bytes(&wrapped, "wrapped")?;
    let old = self::pin(&old_pin, "oldPin")?;
    let new = self::pin(&new_pin, "newPin")?;
    let salt = input::fixed::<SALT_LEN>(&salt, "salt")?;
    let nonce = input::fixed::<NONCE_LEN>(&nonce, "nonce")?;
    Ok(seal::change_pin(&wrapped, &old, &new, &salt, &nonce).map_err(Failure::from)?)
}

#[wasm_bindgen]
impl Store {
    /// `snapshot()` sealed under `key` with `nonce` (24 random bytes).
    #[wasm_bindgen(js_name = sealSnapshot)]
    pub fn seal_snapshot(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let key = self::key(&key)?;
        let nonce = input::fixed::<NONCE_LEN>(&nonce, "nonce")?;
        // Sealed in the snapshot's own buffer: a full store has no room
        // in the 64 MiB module for a second sealed copy beside it.
        Ok(seal::seal_owned(
            &key,
            Kind::Snapshot,
            &nonce,
            self.inner.snapshot(),
        ))
    }

    /// `Store.load` of a sealed snapshot and/or sealed journal (from
    /// `sealSnapshot` / `sealBlob(key, "journal", …)`); a wrong key or a
    /// changed byte throws `SEAL_TAMPERED` before anything is loaded.
    #[wasm_bindgen(js_name = openSnapshot)]
    pub fn open_snapshot(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | null")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | null")] journal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "StoreOptions")] options: JsValue,
    ) -> Result<Store, JsValue> {
        let (budget, config) = input::store_options(&options)?;
        let key = self::key(&key)?;
        let open = |v: &JsValue, kind: Kind, what: &str| -> Result<Option<Vec<u8>>, Failure> {
            if input::absent(v) {
                return Ok(None);
            }
            Ok(Some(seal::open(&key, kind, &input::bytes(v, what)?)?))
        };
        let snapshot = open(&snapshot, Kind::Snapshot, "snapshot")?;
        let journal = open(&journal, Kind::Journal, "journal")?;
        let (inner, report) =
            CoreStore::open(snapshot.as_deref(), journal.as_deref(), budget, config)
                .map_err(Failure::from)?;
        Ok(Store::wrap(inner, Some(report)))
    }
}
