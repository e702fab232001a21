//! Bit-level writing and reading: fixed-width fields, unary, Elias-gamma and
//! Rice codes, least significant bit first.
//!
//! Owns [`BitWriter`] and [`BitReader`], used by the search index's page codec
//! ([`crate::termindex`]), where a posting costs a few bits rather than a few
//! bytes.
//!
//! Invariants: a writer's output is its bits in order, padded with zero bits
//! to a whole byte, and it never grows its vector past the capacity it was
//! given (the vector is budgeted scratch: bytes beyond are dropped and
//! [`BitWriter::finish`] says so); a reader never reads past its end (every
//! read that would returns `None`) and never panics, whatever the bytes.

use alloc::vec::Vec;

/// Writes bits into a byte vector, least significant bit first.
pub struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    bits: u32,
    /// A byte did not fit in `out`'s capacity.
    cut: bool,
}

impl<'a> BitWriter<'a> {
    /// A writer appending to `out`, within `out`'s capacity.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            bits: 0,
            cut: false,
        }
    }

    fn push(&mut self, byte: u8) {
        if self.out.len() < self.out.capacity() {
            self.out.push(byte);
        } else {
            self.cut = true;
        }
    }

    /// Writes the low `n` bits of `v` (`n` ≤ 64).
    pub fn put(&mut self, v: u64, n: u32) {
        if n > 32 {
            self.put(v & 0xffff_ffff, 32);
            self.put(v >> 32, n - 32);
            return;
        }
        if n == 0 {
            return;
        }
        let v = v & ((1u64 << n) - 1);
        self.acc |= v << self.bits;
        self.bits += n;
        while self.bits >= 8 {
            self.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// Writes `q` one bits, then a zero bit.
    pub fn unary(&mut self, mut q: u64) {
        while q >= 32 {
            if self.cut {
                // Nothing more fits: a far outlier's unary need not be spun out.
                return;
            }
            self.put(0xffff_ffff, 32);
            q -= 32;
        }
        self.put((1u64 << q) - 1, q as u32 + 1);
    }

    /// Writes `x` ≥ 1 as an Elias-gamma code: the number of bits after the
    /// leading one in unary, then those bits.
    pub fn gamma(&mut self, x: u64) {
        debug_assert!(x >= 1);
        let n = 63 - x.leading_zeros();
        self.unary(u64::from(n));
        self.put(x, n);
    }

    /// Writes `x` as a Rice code with parameter `k`: `x >> k` in unary, then
    /// the low `k` bits.
    pub fn rice(&mut self, x: u64, k: u32) {
        self.unary(x >> k);
        self.put(x, k);
    }

    /// Pads to a whole byte with zero bits; false when the output did not
    /// fit in the vector's capacity (what is there is then a cut prefix).
    pub fn finish(mut self) -> bool {
        if self.bits > 0 {
            self.push(self.acc as u8);
            self.bits = 0;
        }
        !self.cut
    }
}

/// Bits a gamma code of `x` ≥ 1 takes.
pub fn gamma_bits(x: u64) -> u64 {
    u64::from(2 * (63 - x.leading_zeros()) + 1)
}

/// Reads bits written by [`BitWriter`].
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over all bits of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            pos: 0,
            end: bytes.len() * 8,
        }
    }

    /// Bits not yet read.
    pub fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// The next 57 or more bits (zeros past the end), without consuming them.
    #[inline]
    fn peek(&self) -> u64 {
        let at = self.pos / 8;
        let mut w = [0u8; 8];
        if let Some(b) = self.bytes.get(at..at + 8) {
            w.copy_from_slice(b);
        } else if let Some(b) = self.bytes.get(at..) {
            w[..b.len()].copy_from_slice(b);
        }
        u64::from_le_bytes(w) >> (self.pos % 8)
    }

    /// Reads `n` ≤ 64 bits.
    #[inline]
    pub fn get(&mut self, n: u32) -> Option<u64> {
        if n > 56 {
            let lo = self.get(32)?;
            let hi = self.get(n - 32)?;
            return Some(lo | hi << 32);
        }
        if self.pos + n as usize > self.end {
            return None;
        }
        let v = if n == 0 {
            0
        } else {
            self.peek() & ((1u64 << n) - 1)
        };
        self.pos += n as usize;
        Some(v)
    }

    /// Reads a unary number (one bits up to a zero bit); `None` past the end
    /// or above `max`.
    #[inline]
    pub fn unary(&mut self, max: u64) -> Option<u64> {
        let mut q = 0u64;
        loop {
            let ones = u64::from((!self.peek()).trailing_zeros());
            if ones <= 56 {
                q += ones;
                self.pos += ones as usize + 1;
                if self.pos > self.end || q > max {
                    return None;
                }
                return Some(q);
            }
            q += 56;
            self.pos += 56;
            if self.pos > self.end || q > max {
                return None;
            }
        }
    }

    /// Reads an Elias-gamma code (a value ≥ 1).
    #[inline]
    pub fn gamma(&mut self) -> Option<u64> {
        let n = self.unary(63)? as u32;
        Some(1u64 << n | self.get(n)?)
    }

    /// Reads a Rice code with parameter `k` ≤ 63 whose value fits `max`.
    #[inline]
    pub fn rice(&mut self, k: u32, max: u64) -> Option<u64> {
        let q = self.unary(max >> k)?;
        let x = q << k | self.get(k)?;
        (x <= max).then_some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Field {
        Fixed(u64, u32),
        Unary(u64),
        Gamma(u64),
        Rice(u64, u32),
    }

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![
            (any::<u64>(), 0u32..=64)
                .prop_map(|(v, n)| Field::Fixed(if n == 64 { v } else { v & ((1 << n) - 1) }, n)),
            (0u64..300).prop_map(Field::Unary),
            (1u64..=u64::MAX).prop_map(Field::Gamma),
            (0u64..1 << 20, 0u32..20).prop_map(|(x, k)| Field::Rice(x, k)),
        ]
    }

    proptest! {
        #[test]
        fn what_is_written_is_read_back(fields in proptest::collection::vec(field(), 0..200)) {
            let bits: u64 = fields.iter().map(|f| match *f {
                Field::Fixed(_, n) => u64::from(n),
                Field::Unary(q) => q + 1,
                Field::Gamma(x) => gamma_bits(x),
                Field::Rice(x, k) => (x >> k) + 1 + u64::from(k),
            }).sum();
            let mut out = Vec::with_capacity(bits.div_ceil(8) as usize);
            let mut w = BitWriter::new(&mut out);
            for f in &fields {
                match *f {
                    Field::Fixed(v, n) => w.put(v, n),
                    Field::Unary(q) => w.unary(q),
                    Field::Gamma(x) => w.gamma(x),
                    Field::Rice(x, k) => w.rice(x, k),
                }
            }
            prop_assert!(w.finish());
            let mut r = BitReader::new(&out);
            for f in &fields {
                match *f {
                    Field::Fixed(v, n) => prop_assert_eq!(r.get(n), Some(v)),
                    Field::Unary(q) => prop_assert_eq!(r.unary(u64::MAX), Some(q)),
                    Field::Gamma(x) => prop_assert_eq!(r.gamma(), Some(x)),
                    Field::Rice(x, k) => prop_assert_eq!(r.rice(k, u64::MAX), Some(x)),
                }
            }
            prop_assert!(r.remaining() < 8);
        }

        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), ops in proptest::collection::vec(0u8..4, 0..64)) {
            let mut r = BitReader::new(&bytes);
            for op in ops {
                let before = r.remaining();
                let got = match op {
                    0 => r.get(13).is_some(),
                    1 => r.unary(1000).is_some(),
                    2 => r.gamma().is_some(),
                    _ => r.rice(5, 1 << 30).is_some(),
                };
                prop_assert!(r.remaining() <= before);
                if !got { break; }
            }
        }
    }

    #[test]
    fn a_writer_never_grows_its_vector() {
        let mut out = Vec::with_capacity(4);
        let cap = out.capacity();
        let mut w = BitWriter::new(&mut out);
        w.put(u64::MAX, 64);
        w.unary(1 << 20);
        assert!(
            !w.finish(),
            "64 bits and a long unary do not fit in {cap} bytes"
        );
        assert_eq!((out.len(), out.capacity()), (cap, cap));
        let mut out = Vec::with_capacity(16);
        let mut w = BitWriter::new(&mut out);
        w.put(0x1234, 16);
        assert!(w.finish());
        assert_eq!(out, [0x34, 0x12]);
    }

    #[test]
    fn a_read_past_the_end_is_none() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.unary(100), None);
        let mut r = BitReader::new(&[0x01]);
        assert_eq!(r.get(9), None);
        assert_eq!(r.get(8), Some(1));
        assert_eq!(gamma_bits(1), 1);
        assert_eq!(gamma_bits(5), 5);
    }
}
