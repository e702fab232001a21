//! Sealing a store's files at rest, with the rep's PIN from the environment.
//!
//! Owns the key file and the framing of sealed files. With `SATCHEL_PIN`
//! set (never a command-line argument: arguments show in `ps` and shell
//! history), a store's data key lives in `STORE.key`, wrapped under the PIN
//! by core's `seal` (Argon2id, then XChaCha20-Poly1305); `STORE`, its
//! journal, `STORE.conflicts.json` and `STORE.sync.json` are sealed under
//! that key. Without `SATCHEL_PIN` and without `STORE.key`, every file is
//! in clear, as before.
//!
//! A sealed file is a sequence of records, each a 4-byte little-endian
//! length and one sealed blob (of kind snapshot, journal or secret, by
//! file): a write is one record, a journal append adds one. Reading opens
//! every record; an incomplete last record, or a journal's last record that
//! does not open, is a torn append (never confirmed) and is left out, as
//! core leaves out a torn journal frame. Any other record that does not
//! open is an error, and nothing is returned.
//!
//! Invariant: a wrong PIN, a missing PIN for a sealed store, or a PIN for a
//! store in clear is a clear error before anything is read or written.

use std::path::{Path, PathBuf};

use satchel_core::persist::{JOURNAL, JOURNAL_TMP};
use satchel_core::seal::{self, DataKey, KdfParams, Kind, NONCE_LEN, SALT_LEN};

/// The environment variable that holds the PIN.
pub const PIN_ENV: &str = "SATCHEL_PIN";

/// Bytes of a record's length prefix.
const LEN: usize = 4;

/// Where the wrapped data key of the store at `base` lives.
pub fn key_path(base: &Path) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(b)
}

fn pin() -> Option<Vec<u8>> {
    std::env::var_os(PIN_ENV)
        .filter(|p| !p.is_empty())
        .map(|p| p.into_encoded_bytes())
}

/// The data key of the store at `base`: `None` for a store in clear (no PIN
/// in the environment, no key file). `create`: the store is being written
/// afresh (an import, or a first sync), so with a PIN and no key file a new
/// key is made and its wrap saved.
pub fn store_key(base: &Path, create: bool) -> Result<Option<DataKey>, String> {
    let kp = key_path(base);
    let wrapped = match std::fs::read(&kp) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", kp.display())),
    };
    match (pin(), wrapped) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(format!(
            "{} is sealed ({} holds its key): set {PIN_ENV} to its PIN",
            base.display(),
            kp.display()
        )),
        (Some(pin), Some(w)) => seal::unwrap_with_pin(&w, &pin)
            .map(Some)
            .map_err(|e| match e {
                seal::SealError::WrongPin => format!(
                    "wrong PIN in {PIN_ENV} for {}; nothing was read or changed",
                    base.display()
                ),
                e => format!("{}: {e}", kp.display()),
            }),
        (Some(pin), None) => {
            if !create && base.exists() {
                return Err(format!(
                    "{} is not sealed (there is no {}): unset {PIN_ENV} to use it in clear, or import it again with {PIN_ENV} set",
                    base.display(),
                    kp.display()
                ));
            }
            let key = DataKey(random::<32>()?);
            let wrap = seal::wrap_with_pin(
                &key,
                &pin,
                KdfParams::HANDHELD,
                &random::<SALT_LEN>()?,
                &random::<NONCE_LEN>()?,
            )
            .map_err(|e| format!("wrapping the key: {e}"))?;
            crate::import::write_atomically(&kp, &wrap)?;
            Ok(Some(key))
        }
    }
}

/// What a file of the store medium holds, by its name.
pub fn kind_of(name: &str) -> Kind {
    match name {
        JOURNAL | JOURNAL_TMP => Kind::Journal,
        n if n.starts_with("snapshot") => Kind::Snapshot,
        _ => Kind::Secret,
    }
}

/// One record: `bytes` sealed as `kind`, with its length in front.
pub fn record(key: &DataKey, kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let blob = seal::seal(key, kind, &random::<NONCE_LEN>()?, bytes);
    let len = u32::try_from(blob.len()).map_err(|_| "a record over 4 GiB".to_string())?;
    let mut out = Vec::with_capacity(LEN + blob.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&blob);
    Ok(out)
}

/// The plain bytes of a sealed file (see the module doc for a torn tail).
pub fn open_records(key: &DataKey, kind: Kind, file: &[u8]) -> Result<Vec<u8>, seal::SealError> {
    let mut out = Vec::new();
    let mut rest = file;
    while !rest.is_empty() {
        if rest.len() < LEN {
            break; // a torn length
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(blob) = rest.get(LEN..LEN + len) else {
            break; // a torn record
        };
        let last = rest.len() == LEN + len;
        match seal::open(key, kind, blob) {
            Ok(plain) => out.extend_from_slice(&plain),
            Err(_) if last && kind == Kind::Journal && !out.is_empty() => break,
            Err(e) => return Err(e),
        }
        rest = &rest[LEN + len..];
    }
    Ok(out)
}
