//! The bytes every persisted blob starts with, and the varints inside.
//!
//! Owns the blob header (magic, type, version, body length) and the wire
//! helpers shared by the snapshot and the journal. Offsets and sizes live here
//! and nowhere else; `core/FORMAT.md` is the normative spec and a test checks
//! this module against its tables.
//!
//! Invariant: a reader never reads past the slice it was given; every failure
//! is a [`WireError`], never a panic.

use alloc::vec::Vec;
use core::fmt;

/// First four bytes of every Satchel blob.
pub const MAGIC: [u8; 4] = *b"STCH";
/// Current format version: what this build writes.
pub const VERSION: u8 = 2;
/// Oldest format version this build reads (FORMAT.md, "Version history").
pub const OLDEST_VERSION: u8 = 1;
/// Size of the blob header.
pub const HEADER_LEN: usize = 16;
/// Offset of the magic.
pub const OFFSET_MAGIC: usize = 0;
/// Offset of the blob type byte.
pub const OFFSET_TYPE: usize = 4;
/// Offset of the format version byte.
pub const OFFSET_VERSION: usize = 5;
/// Offset of the two reserved bytes (zero).
pub const OFFSET_RESERVED: usize = 6;
/// Offset of the body length (u64, little-endian).
pub const OFFSET_BODY_LEN: usize = 8;
/// Size of the CRC-32 trailer of a snapshot.
pub const TRAILER_LEN: usize = 4;
/// Size of a journal frame's header.
pub const FRAME_HEADER_LEN: usize = 20;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BlobType {
    /// A whole store.
    Snapshot = 1,
    /// Changes since a snapshot.
    Journal = 2,
}

/// Why bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The blob does not start with `STCH`: not a Satchel blob.
    BadMagic,
    /// A Satchel blob of another type than expected.
    WrongType {
        /// Type expected.
        expected: u8,
        /// Type found.
        got: u8,
    },
    /// Written by a format version this build cannot read.
    Version {
        /// Version this build reads.
        expected: u8,
        /// Version found.
        got: u8,
    },
    /// The bytes end early: the blob is truncated.
    Truncated,
    /// The checksum does not match: the bytes were damaged.
    Checksum {
        /// Checksum recorded in the blob.
        expected: u32,
        /// Checksum of the bytes present.
        got: u32,
    },
    /// A field holds a value the format does not allow; names the field.
    Invalid(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadMagic => f.write_str("not a Satchel blob (bad magic)"),
            WireError::WrongType { expected, got } => {
                write!(f, "wrong blob type {got}, expected {expected}")
            }
            WireError::Version { expected, got } => write!(
                f,
                "format version {got} is not readable by this build (reads {expected}); upgrade Satchel"
            ),
            WireError::Truncated => f.write_str("blob is truncated"),
            WireError::Checksum { expected, got } => write!(
                f,
                "checksum mismatch (recorded {expected:#010x}, computed {got:#010x}): the blob is damaged"
            ),
            WireError::Invalid(what) => write!(f, "invalid value in field `{what}`"),
        }
    }
}

/// Writes a blob header with the given body length.
pub fn put_header(out: &mut Vec<u8>, ty: BlobType, body_len: u64) {
    out.extend_from_slice(&MAGIC);
    out.push(ty as u8);
    out.push(VERSION);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&body_len.to_le_bytes());
}

/// Checks a blob header; returns the body length.
pub fn check_header(bytes: &[u8], ty: BlobType) -> Result<u64, WireError> {
    let h = bytes.get(..HEADER_LEN).ok_or(WireError::Truncated)?;
    if h[OFFSET_MAGIC..OFFSET_MAGIC + 4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if h[OFFSET_TYPE] != ty as u8 {
        return Err(WireError::WrongType {
            expected: ty as u8,
            got: h[OFFSET_TYPE],
        });
    }
    if !(OLDEST_VERSION..=VERSION).contains(&h[OFFSET_VERSION]) {
        return Err(WireError::Version {
            expected: VERSION,
            got: h[OFFSET_VERSION],
        });
    }
    if h[OFFSET_RESERVED..OFFSET_RESERVED + 2] != [0, 0] {
        return Err(WireError::Invalid("reserved"));
    }
    Ok(u64_le(&h[OFFSET_BODY_LEN..OFFSET_BODY_LEN + 8]))
}

/// A little-endian u64 from exactly 8 bytes.
pub fn u64_le(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A little-endian u32 from exactly 4 bytes.
pub fn u32_le(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

/// CRC-32 (IEEE) of `bytes`. Native builds use crc32fast (SIMD where the CPU
/// has it); the wasm module uses [`crc32_compact`], because crc32fast's
/// 16 KiB of tables are 15 KB more for every handheld to download.
#[cfg(not(target_arch = "wasm32"))]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize()
}

/// CRC-32 (IEEE) of `bytes` (see the native version).
#[cfg(target_arch = "wasm32")]
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32_compact(bytes)
}

/// CRC-32 (IEEE): the same values as crc32fast (a test compares them).
/// Slice-by-4 at about half crc32fast's portable speed, over 4 KiB of
/// tables built on the stack at each call (a few thousand shifts) rather
/// than shipped: stored, they were 3.6 KB of the gzipped wasm module. Below
/// [`CRC_TABLE_AT`] bytes (a journal frame's header, a small edit) bit by
/// bit, which costs less than building the tables.
pub fn crc32_compact(bytes: &[u8]) -> u32 {
    if bytes.len() < CRC_TABLE_AT {
        return !bytes.iter().fold(!0u32, |crc, &b| {
            (0..8).fold(crc ^ u32::from(b), |c, _| {
                if c & 1 != 0 {
                    CRC_POLY ^ c >> 1
                } else {
                    c >> 1
                }
            })
        });
    }
    let t = &crc_tables();
    let mut crc = !0u32;
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        crc ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        crc = t[3][(crc & 0xff) as usize]
            ^ t[2][(crc >> 8 & 0xff) as usize]
            ^ t[1][(crc >> 16 & 0xff) as usize]
            ^ t[0][(crc >> 24) as usize];
    }
    for &b in words.remainder() {
        crc = crc >> 8 ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    !crc
}

/// Inputs at least this long are checked through tables (8 shifts a byte
/// bit by bit; about 3,000 to build the tables).
const CRC_TABLE_AT: usize = 384;

/// The reflected IEEE polynomial.
const CRC_POLY: u32 = 0xEDB8_8320;

/// Table 0 is the reflected IEEE polynomial's byte table; table `s`
/// advances a byte's remainder through `s` more zero bytes.
fn crc_tables() -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                CRC_POLY ^ c >> 1
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 4 {
            let prev = t[s - 1][i];
            t[s][i] = prev >> 8 ^ t[0][(prev & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

/// Appends `v` as a postcard varint (LEB128, 7 bits a byte, low first).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A cursor over a byte slice that refuses to read past its end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// True when every byte was read.
    pub fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Reads a postcard varint of at most 10 bytes.
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self.bytes.get(self.at).ok_or(WireError::Truncated)?;
            self.at += 1;
            if i == 9 && b > 1 {
                return Err(WireError::Invalid("varint"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::Invalid("varint"))
    }

    /// Reads a varint that must fit in `max`.
    pub fn varint_max(&mut self, max: u64, what: &'static str) -> Result<u64, WireError> {
        let v = self.varint()?;
        if v > max {
            return Err(WireError::Invalid(what));
        }
        Ok(v)
    }

    /// Reads `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.at.checked_add(n).ok_or(WireError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(WireError::Truncated)?;
        self.at = end;
        Ok(s)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| WireError::Truncated)?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32_compact_gives_the_check_value() {
        assert_eq!(crc32_compact(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_compact(b""), 0);
    }

    proptest! {
        #[test]
        fn crc32_compact_agrees_with_crc32fast(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            prop_assert_eq!(crc32_compact(&bytes), crc32fast::hash(&bytes));
        }
    }
}
