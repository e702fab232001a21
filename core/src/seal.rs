//! Encryption at rest: what the device writes (snapshots, journal frames, the
//! outbox inside them) is sealed, so a lost handheld gives away nothing.
//!
//! Owns the sealed-blob format and the key hierarchy:
//! - a random 32-byte **data key** seals every blob with XChaCha20-Poly1305
//!   (RustCrypto), a fresh random 24-byte nonce per blob, and the blob's
//!   header as associated data (so a snapshot cannot pass for a journal);
//! - the data key is **wrapped** by a key derived from the rep's PIN with
//!   Argon2id (memory-hard; parameters stored in the wrap), or handed over by
//!   the backend. Changing the PIN re-wraps the data key, not the data.
//!
//! Core has no randomness of its own: the caller passes the random bytes
//! (nonces, salts, data keys) from the platform's CSPRNG.
//!
//! Invariant: opening either returns exactly the sealed bytes or an error —
//! a wrong key, a wrong PIN or any changed byte is detected, never a partial
//! or garbled result.

use alloc::vec::Vec;
use core::fmt;

use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Magic of a sealed blob.
pub const SEALED_MAGIC: [u8; 4] = *b"SATX";
/// Magic of a wrapped key.
pub const WRAP_MAGIC: [u8; 4] = *b"SATK";
/// Format version of both.
pub const SEAL_VERSION: u8 = 1;
/// Bytes of a nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes before the ciphertext: magic, version, kind, nonce.
pub const SEALED_HEADER_LEN: usize = 4 + 1 + 1 + NONCE_LEN;
/// Bytes of an Argon2 salt.
pub const SALT_LEN: usize = 16;

/// What a sealed blob holds (bound to it: a blob of one kind never opens as
/// another).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A store snapshot.
    Snapshot = 1,
    /// Journal frames.
    Journal = 2,
    /// A secret of the app's (a sync token).
    Secret = 3,
}

/// A 32-byte key.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(pub [u8; 32]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)") // never print key bytes
    }
}

/// Why a blob did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealError {
    /// Not a sealed blob / wrapped key of this version.
    Format(&'static str),
    /// The blob is of another kind than asked for.
    WrongKind,
    /// Wrong key, or a byte was changed: nothing is returned.
    Tampered,
    /// The PIN does not unwrap the key.
    WrongPin,
    /// Argon2 parameters out of range.
    Kdf(&'static str),
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::Format(what) => write!(f, "not a sealed blob: {what}"),
            SealError::WrongKind => f.write_str("sealed blob of another kind"),
            SealError::Tampered => {
                f.write_str("sealed blob does not open: wrong key or changed bytes")
            }
            SealError::WrongPin => f.write_str("wrong PIN"),
            SealError::Kdf(what) => write!(f, "key derivation: {what}"),
        }
    }
}

/// Seals `plain` as `kind` under `key` with `nonce` (24 random bytes, never
/// reused with the same key).
pub fn seal(key: &DataKey, kind: Kind, nonce: &[u8; NONCE_LEN], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEALED_HEADER_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(plain);
    seal_in_place(key, kind, nonce, out)
}

/// [`seal`] of a buffer the caller gives up: the blob is made in that
/// buffer (the plain bytes shifted behind the header, encrypted where they
/// lie), so sealing a snapshot needs no second snapshot-sized buffer unless
/// the allocator cannot grow the buffer by the header and tag in place.
pub fn seal_owned(key: &DataKey, kind: Kind, nonce: &[u8; NONCE_LEN], plain: Vec<u8>) -> Vec<u8> {
    seal_in_place(key, kind, nonce, plain)
}

fn seal_in_place(key: &DataKey, kind: Kind, nonce: &[u8; NONCE_LEN], mut buf: Vec<u8>) -> Vec<u8> {
    let len = buf.len();
    buf.reserve_exact(SEALED_HEADER_LEN + TAG_LEN);
    buf.resize(len + SEALED_HEADER_LEN, 0);
    buf.copy_within(0..len, SEALED_HEADER_LEN);
    buf[..4].copy_from_slice(&SEALED_MAGIC);
    buf[4] = SEAL_VERSION;
    buf[5] = kind as u8;
    buf[6..SEALED_HEADER_LEN].copy_from_slice(nonce);
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let (header, body) = buf.split_at_mut(SEALED_HEADER_LEN);
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(nonce), header, body)
        // Encryption fails only for messages over 256 GiB.
        .unwrap_or_default();
    buf.extend_from_slice(&tag);
    buf
}

/// Opens a blob sealed as `kind` under `key`.
pub fn open(key: &DataKey, kind: Kind, blob: &[u8]) -> Result<Vec<u8>, SealError> {
    if blob.len() < SEALED_HEADER_LEN + TAG_LEN {
        return Err(SealError::Format("too short"));
    }
    if blob[..4] != SEALED_MAGIC {
        return Err(SealError::Format("magic"));
    }
    if blob[4] != SEAL_VERSION {
        return Err(SealError::Format("version"));
    }
    if blob[5] != kind as u8 {
        return Err(SealError::WrongKind);
    }
    let (header, body) = blob.split_at(SEALED_HEADER_LEN);
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    cipher
        .decrypt(
            XNonce::from_slice(&header[6..]),
            Payload {
                msg: body,
                aad: header,
            },
        )
        .map_err(|_| SealError::Tampered)
}

/// Argon2id cost: memory in KiB, passes, lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl KdfParams {
    /// Tuned for a 64 MB handheld: 16 MiB, 3 passes, 1 lane (see
    /// `benches/RESULTS.md` for the unlock time this costs).
    pub const HANDHELD: KdfParams = KdfParams {
        memory_kib: 16 * 1024,
        passes: 3,
        lanes: 1,
    };
}

/// Bytes of a wrapped key: magic, version, params (3 × u32), salt, nonce,
/// the sealed 32-byte key and its tag.
pub const WRAP_LEN: usize = 4 + 1 + 12 + SALT_LEN + NONCE_LEN + 32 + TAG_LEN;

fn pin_key(pin: &[u8], salt: &[u8], p: KdfParams) -> Result<DataKey, SealError> {
    let params = argon2::Params::new(p.memory_kib, p.passes, p.lanes, Some(32))
        .map_err(|_| SealError::Kdf("parameters out of range"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(pin, salt, &mut key)
        .map_err(|_| SealError::Kdf("derivation failed"))?;
    Ok(DataKey(key))
}

/// Wraps `data_key` under the rep's `pin` (with a random `salt` and `nonce`).
pub fn wrap_with_pin(
    data_key: &DataKey,
    pin: &[u8],
    params: KdfParams,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let kek = pin_key(pin, salt, params)?;
    let mut out = Vec::with_capacity(WRAP_LEN);
    out.extend_from_slice(&WRAP_MAGIC);
    out.push(SEAL_VERSION);
    for v in [params.memory_kib, params.passes, params.lanes] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(salt);
    out.extend_from_slice(nonce);
    let head_len = out.len();
    let cipher = XChaCha20Poly1305::new((&kek.0).into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &data_key.0,
                aad: &out[..head_len],
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The Argon2 parameters a wrapped key was made with.
pub fn wrap_params(wrapped: &[u8]) -> Result<KdfParams, SealError> {
    if wrapped.len() != WRAP_LEN {
        return Err(SealError::Format("wrapped key length"));
    }
    if wrapped[..4] != WRAP_MAGIC || wrapped[4] != SEAL_VERSION {
        return Err(SealError::Format("wrapped key magic or version"));
    }
    let u = |at: usize| {
        u32::from_le_bytes([
            wrapped[at],
            wrapped[at + 1],
            wrapped[at + 2],
            wrapped[at + 3],
        ])
    };
    let params = KdfParams {
        memory_kib: u(5),
        passes: u(9),
        lanes: u(13),
    };
    // A hostile wrap must not make the device allocate gigabytes.
    if params.memory_kib > 256 * 1024 || params.passes > 64 || params.lanes > 16 {
        return Err(SealError::Kdf("parameters out of range"));
    }
    Ok(params)
}

/// Unwraps the data key with the rep's `pin`.
pub fn unwrap_with_pin(wrapped: &[u8], pin: &[u8]) -> Result<DataKey, SealError> {
    let params = wrap_params(wrapped)?;
    let head_len = 4 + 1 + 12;
    let salt = &wrapped[head_len..head_len + SALT_LEN];
    let nonce = &wrapped[head_len + SALT_LEN..head_len + SALT_LEN + NONCE_LEN];
    let body_at = head_len + SALT_LEN + NONCE_LEN;
    let kek = pin_key(pin, salt, params)?;
    let cipher = XChaCha20Poly1305::new((&kek.0).into());
    let key = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &wrapped[body_at..],
                aad: &wrapped[..body_at],
            },
        )
        .map_err(|_| SealError::WrongPin)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&key);
    Ok(DataKey(out))
}

/// A new PIN for the same data key: the data stays as sealed.
pub fn change_pin(
    wrapped: &[u8],
    old_pin: &[u8],
    new_pin: &[u8],
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let params = wrap_params(wrapped)?;
    let key = unwrap_with_pin(wrapped, old_pin)?;
    wrap_with_pin(&key, new_pin, params, salt, nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };

    #[test]
    fn a_sealed_blob_opens_only_with_its_key_kind_and_bytes() {
        let key = DataKey([7; 32]);
        let blob = seal(
            &key,
            Kind::Snapshot,
            &[1; NONCE_LEN],
            "Åsa Ström, 08-123 45 67".as_bytes(),
        );
        assert_eq!(
            open(&key, Kind::Snapshot, &blob).unwrap(),
            "Åsa Ström, 08-123 45 67".as_bytes()
        );
        assert_eq!(
            open(&DataKey([8; 32]), Kind::Snapshot, &blob),
            Err(SealError::Tampered)
        );
        assert_eq!(open(&key, Kind::Journal, &blob), Err(SealError::WrongKind));
        for i in 0..blob.len() {
            for bit in [1u8, 0x80] {
                let mut bad = blob.clone();
                bad[i] ^= bit;
                assert!(open(&key, Kind::Snapshot, &bad).is_err(), "byte {i}");
            }
        }
        for n in 0..blob.len() {
            assert!(
                open(&key, Kind::Snapshot, &blob[..n]).is_err(),
                "cut at {n}"
            );
        }
    }

    #[test]
    fn the_pin_wraps_the_key_and_changing_it_keeps_the_data() {
        let key = DataKey([42; 32]);
        let wrapped = wrap_with_pin(&key, b"1234", FAST, &[3; SALT_LEN], &[4; NONCE_LEN]).unwrap();
        assert_eq!(wrapped.len(), WRAP_LEN);
        assert_eq!(unwrap_with_pin(&wrapped, b"1234").unwrap(), key);
        assert_eq!(unwrap_with_pin(&wrapped, b"1235"), Err(SealError::WrongPin));
        let rewrapped =
            change_pin(&wrapped, b"1234", b"9876", &[5; SALT_LEN], &[6; NONCE_LEN]).unwrap();
        assert_eq!(unwrap_with_pin(&rewrapped, b"9876").unwrap(), key);
        assert_eq!(
            unwrap_with_pin(&rewrapped, b"1234"),
            Err(SealError::WrongPin)
        );
        assert_eq!(
            change_pin(&wrapped, b"0000", b"9876", &[5; SALT_LEN], &[6; NONCE_LEN]),
            Err(SealError::WrongPin)
        );
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x10;
            assert!(unwrap_with_pin(&bad, b"1234").is_err(), "byte {i}");
        }
    }

    #[test]
    fn hostile_kdf_parameters_are_refused_before_allocating() {
        let key = DataKey([1; 32]);
        let mut wrapped = wrap_with_pin(&key, b"1", FAST, &[0; SALT_LEN], &[0; NONCE_LEN]).unwrap();
        wrapped[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            unwrap_with_pin(&wrapped, b"1"),
            Err(SealError::Kdf(_))
        ));
    }
}
