//! Reading postcard by hand.
//!
//! Owns [`Wire`], a cursor over postcard bytes with one call per value:
//! varints (zigzag for signed), raw `u8`, `bool`, borrowed `str`, `Option`,
//! sequences. The block decoder reads its columns through it instead of
//! serde's derived readers, whose early return at every field (and the drop
//! of every field read before it) was most of the decoder's code in the wasm
//! module (wasm/README, "Size"). Writing stays with postcard and the derives.
//!
//! A `Wire` does not stop at an error: it marks itself failed, stops
//! consuming, and hands back placeholders; the caller asks [`Wire::failed`]
//! once at the end. That keeps the readers straight-line code.
//!
//! Invariant: on bytes postcard's deserializer accepts for a type, reading
//! the type's fields in order with a `Wire` consumes the same bytes and gives
//! the same values; on bytes it refuses, the `Wire` ends failed (postcard's
//! rules: varints no longer than the type allows and no bits past it, bools
//! 0 or 1, option tags 0 or 1, strings UTF-8, no reading past the end). It
//! never panics and never reserves more elements than bytes remain.

use alloc::vec::Vec;

/// A cursor over postcard bytes.
pub struct Wire<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Wire<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Wire {
            bytes,
            at: 0,
            failed: false,
        }
    }

    /// `read` over `bytes`, or `None` if it failed; bytes after what it
    /// read are ignored, as postcard's `from_bytes` ignores them.
    pub fn decode<T>(bytes: &'a [u8], read: impl FnOnce(&mut Wire<'a>) -> T) -> Option<T> {
        let mut w = Wire::new(bytes);
        let value = read(&mut w);
        (!w.failed).then_some(value)
    }

    /// Something did not decode.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The bytes not read yet (none once failed).
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    /// Marks the read failed and stops consuming.
    pub fn fail(&mut self) {
        self.failed = true;
        self.at = self.bytes.len();
    }

    /// A raw byte (postcard's `u8`).
    pub fn byte(&mut self) -> u8 {
        match self.bytes.get(self.at) {
            Some(&b) => {
                self.at += 1;
                b
            }
            None => {
                self.fail();
                0
            }
        }
    }

    /// A varint of at most `max_bytes` bytes whose last byte is at most
    /// `last_max` (the bits the type has left), as postcard reads it.
    fn varint(&mut self, max_bytes: usize, last_max: u8) -> u64 {
        let mut out = 0u64;
        for i in 0..max_bytes {
            let b = self.byte();
            if self.failed {
                return 0;
            }
            out |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if i == max_bytes - 1 && b > last_max {
                    break;
                }
                return out;
            }
        }
        self.fail();
        0
    }

    /// A `u32`.
    pub fn u32(&mut self) -> u32 {
        self.varint(5, 0x0F) as u32
    }

    /// A `u64`.
    pub fn u64(&mut self) -> u64 {
        self.varint(10, 0x01)
    }

    /// An `i32` (zigzag).
    pub fn i32(&mut self) -> i32 {
        let v = self.u32();
        ((v >> 1) as i32) ^ -((v & 1) as i32)
    }

    /// An `i64` (zigzag).
    pub fn i64(&mut self) -> i64 {
        let v = self.u64();
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    }

    /// A length (postcard's `usize`: as wide as the target's).
    pub fn length(&mut self) -> usize {
        #[cfg(target_pointer_width = "64")]
        let n = self.u64();
        #[cfg(not(target_pointer_width = "64"))]
        let n = u64::from(self.u32());
        n as usize
    }

    /// A `bool`: 0 or 1.
    pub fn bool(&mut self) -> bool {
        match self.byte() {
            0 => false,
            1 => true,
            _ => {
                self.fail();
                false
            }
        }
    }

    /// A `&str` borrowed from the bytes.
    pub fn str(&mut self) -> &'a str {
        let n = self.length();
        let Some(bytes) = self.bytes.get(self.at..).and_then(|rest| rest.get(..n)) else {
            self.fail();
            return "";
        };
        match core::str::from_utf8(bytes) {
            Ok(s) => {
                self.at += n;
                s
            }
            Err(_) => {
                self.fail();
                ""
            }
        }
    }

    /// A `String`.
    pub fn string(&mut self) -> alloc::string::String {
        self.str().into()
    }

    /// A `Vec<u8>` or `&[u8]`: its length, then the bytes, borrowed.
    pub fn bytes(&mut self) -> &'a [u8] {
        let n = self.length();
        match self.bytes.get(self.at..).and_then(|rest| rest.get(..n)) {
            Some(b) => {
                self.at += n;
                b
            }
            None => {
                self.fail();
                &[]
            }
        }
    }

    /// An `Option<T>`: tag 0 (none) or 1 (then `T`).
    pub fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> T) -> Option<T> {
        match self.byte() {
            0 => None,
            1 => Some(read(self)),
            _ => {
                self.fail();
                None
            }
        }
    }

    /// A sequence: its length, then each element.
    pub fn seq<T>(&mut self, mut read: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = self.length();
        // Every element takes at least one byte: a length past what is
        // left fails below without reserving for it.
        let mut out = Vec::with_capacity(n.min(self.bytes.len() - self.at));
        for _ in 0..n {
            if self.failed {
                break;
            }
            out.push(read(self));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        a: u32,
        b: u64,
        c: i32,
        d: i64,
        e: u8,
        f: bool,
        g: String,
        h: Option<i64>,
        i: Vec<u32>,
    }

    fn read(bytes: &[u8]) -> Option<(Sample, usize)> {
        let mut w = Wire::new(bytes);
        let s = Sample {
            a: w.u32(),
            b: w.u64(),
            c: w.i32(),
            d: w.i64(),
            e: w.byte(),
            f: w.bool(),
            g: w.str().into(),
            h: w.option(Wire::i64),
            i: w.seq(Wire::u32),
        };
        (!w.failed()).then(|| (s, bytes.len() - w.rest().len()))
    }

    proptest::proptest! {
        /// What postcard writes, the wire reads back, to the byte.
        #[test]
        fn reads_what_postcard_writes(
            a: u32, b: u64, c: i32, d: i64, e: u8, f: bool,
            g in ".{0,8}", h: Option<i64>, i in proptest::collection::vec(proptest::prelude::any::<u32>(), 0..4),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
        ) {
            let s = Sample { a, b, c, d, e, f, g, h, i };
            let mut bytes = postcard::to_allocvec(&s).unwrap();
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            proptest::prop_assert_eq!(read(&bytes), Some((s, len)));
        }

        /// On any bytes, the wire and postcard agree on accepting them, on
        /// the value and on where it ends.
        #[test]
        fn agrees_with_postcard_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
            let theirs = postcard::take_from_bytes::<Sample>(&bytes)
                .ok()
                .map(|(s, rest)| (s, bytes.len() - rest.len()));
            proptest::prop_assert_eq!(read(&bytes), theirs);
        }
    }

    #[test]
    fn bad_varints_bools_and_options_fail() {
        for bytes in [
            &[0xFF, 0xFF, 0xFF, 0xFF, 0x10][..], // u32 past 32 bits
            &[0x80, 0x80],                       // cut short
            &[],
        ] {
            let mut w = Wire::new(bytes);
            w.u32();
            assert!(w.failed(), "{bytes:?}");
        }
        let mut w = Wire::new(&[2]);
        w.bool();
        assert!(w.failed());
        let mut w = Wire::new(&[2]);
        w.option(Wire::u32);
        assert!(w.failed());
        let mut w = Wire::new(&[0xFF, 0xFF, 0xFF, 0x0F]); // a huge length, no bytes
        assert!(w.seq(Wire::u32).len() <= 1);
        assert!(w.failed());
    }
}
