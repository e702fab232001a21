//! Raw deflate (RFC 1951) through miniz_oxide, with an optional preset
//! dictionary.
//!
//! Owns the two calls every block goes through. A preset dictionary is bytes
//! that both sides pretend came just before the data, so the first matches can
//! point into it: small blocks of similar records then compress nearly as well
//! as one big stream. miniz_oxide has no `setDictionary`, so compression feeds
//! the dictionary first, sync-flushes (which ends the deflate block on a byte
//! boundary) and keeps only what follows; decompression places the dictionary
//! in front of the output window and inflates after it.
//!
//! Invariant: [`inflate`] never writes more than `raw_len` bytes and fails
//! unless the stream ends exactly there.

#[cfg(not(feature = "stored-blocks"))]
use alloc::vec;
use alloc::vec::Vec;

#[cfg(not(feature = "stored-blocks"))]
use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Deflate level: 9 is miniz's best ratio; blocks are written once, read often.
#[cfg(not(feature = "stored-blocks"))]
const LEVEL: i32 = 9;
/// Level used to feed the dictionary, whose output is thrown away.
#[cfg(not(feature = "stored-blocks"))]
const PRIMING_LEVEL: u8 = 2;
/// Negative window bits ask for raw deflate (no zlib header).
#[cfg(not(feature = "stored-blocks"))]
const RAW_WINDOW_BITS: i32 = -15;
/// Longest useful dictionary: deflate cannot reach further back.
pub const MAX_DICTIONARY: usize = 32 * 1024;

/// Compresses `data` as a raw deflate stream primed with `dictionary`
/// (whose last [`MAX_DICTIONARY`] bytes are used).
pub fn deflate(data: &[u8], dictionary: &[u8]) -> Vec<u8> {
    Deflater::new().deflate(data, dictionary)
}

/// A compressor kept for several streams (a block's sections): miniz's
/// compressor holds ~300 KiB of tables, and allocating and zeroing a fresh
/// one per stream was a fifth of the store fuzzer's time. Each stream starts
/// from a reset, so the output is what a fresh compressor gives.
#[cfg(not(feature = "stored-blocks"))]
pub struct Deflater(CompressorOxide);

/// With `stored-blocks` (the store fuzzer only, `fuzz/`, whose subject is
/// the store's operations against a model) blocks are written uncompressed,
/// as stored deflate blocks that [`inflate`] checks the same way. The writer
/// is our own: even at level 0 miniz resets its ~300 KiB of hash tables per
/// stream, a quarter of that fuzzer's profile.
#[cfg(feature = "stored-blocks")]
pub struct Deflater;

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(not(feature = "stored-blocks"))]
impl Deflater {
    /// A compressor for raw deflate at the store's level.
    pub fn new() -> Self {
        Deflater(CompressorOxide::new(create_comp_flags_from_zip_params(
            LEVEL,
            RAW_WINDOW_BITS,
            0,
        )))
    }

    /// [`deflate`] with this compressor.
    pub fn deflate(&mut self, data: &[u8], dictionary: &[u8]) -> Vec<u8> {
        let c = &mut self.0;
        c.reset();
        c.set_compression_level_raw(LEVEL as u8);
        deflate_with(c, data, dictionary)
    }
}

#[cfg(feature = "stored-blocks")]
impl Deflater {
    /// A stored-block writer.
    pub fn new() -> Self {
        Deflater
    }

    /// `data` as stored deflate blocks (RFC 1951, 3.2.4): per block a
    /// header byte (BFINAL, BTYPE 00), LEN and its complement, the bytes.
    /// Stored blocks never point back, so the dictionary plays no part.
    pub fn deflate(&mut self, data: &[u8], _dictionary: &[u8]) -> Vec<u8> {
        const MAX_STORED: usize = 0xFFFF;
        let blocks = data.len().div_ceil(MAX_STORED).max(1);
        let mut out = Vec::with_capacity(data.len() + 5 * blocks);
        for i in 0..blocks {
            let chunk = &data[i * MAX_STORED..((i + 1) * MAX_STORED).min(data.len())];
            let len = chunk.len() as u16;
            out.push(u8::from(i + 1 == blocks));
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        out
    }
}

#[cfg(not(feature = "stored-blocks"))]
fn deflate_with(c: &mut CompressorOxide, data: &[u8], dictionary: &[u8]) -> Vec<u8> {
    let dictionary = &dictionary[dictionary.len().saturating_sub(MAX_DICTIONARY)..];
    if !dictionary.is_empty() {
        // Compress the dictionary and throw the bytes away: only the window
        // it leaves behind matters. A low level is enough for that (every
        // position still enters the hash chains) and several times faster.
        c.set_compression_level_raw(PRIMING_LEVEL);
        let mut sink = vec![0u8; dictionary.len() + dictionary.len() / 8 + 64];
        run(c, dictionary, &mut sink, TDEFLFlush::Sync);
        c.set_compression_level_raw(LEVEL as u8);
    }
    let mut out = vec![0u8; data.len() / 2 + 64];
    let written = run(c, data, &mut out, TDEFLFlush::Finish);
    out.truncate(written);
    out
}

#[cfg(not(feature = "stored-blocks"))]
/// Feeds all of `input` with `flush`, growing `out` as needed; returns the
/// bytes written.
fn run(c: &mut CompressorOxide, mut input: &[u8], out: &mut Vec<u8>, flush: TDEFLFlush) -> usize {
    let mut at = 0;
    loop {
        let (status, read, written) = compress(c, input, &mut out[at..], flush);
        at += written;
        input = &input[read.min(input.len())..];
        let done = match flush {
            TDEFLFlush::Finish => status == TDEFLStatus::Done,
            _ => input.is_empty() && out.len() - at > 16,
        };
        if done || status == TDEFLStatus::BadParam {
            return at;
        }
        if out.len() - at < 64 {
            let grow = out.len().max(64);
            out.resize(out.len() + grow, 0);
        }
    }
}

/// Why a stream did not inflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateError;

/// Inflates a raw deflate stream that was primed with `dictionary` and must
/// give exactly `raw_len` bytes, appended to `out`. `scratch` is reused
/// between calls to avoid an allocation per stream.
pub fn inflate(
    compressed: &[u8],
    dictionary: &[u8],
    raw_len: usize,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), InflateError> {
    let dictionary = &dictionary[dictionary.len().saturating_sub(MAX_DICTIONARY)..];
    let start = dictionary.len();
    scratch.clear();
    scratch.extend_from_slice(dictionary);
    scratch.resize(start + raw_len, 0);
    let mut d = DecompressorOxide::new();
    let (status, read, written) = decompress(
        &mut d,
        compressed,
        scratch,
        start,
        inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
    );
    if status != TINFLStatus::Done || read != compressed.len() || written != raw_len {
        return Err(InflateError);
    }
    out.extend_from_slice(&scratch[start..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_dictionary() {
        let dict = b"Ringde kunden om offerten, skickar prislista och bokar besok".repeat(20);
        let data = b"Ringde kunden om offerten igen, bokar besok pa fredag".repeat(3);
        for d in [&dict[..], &[][..]] {
            let c = deflate(&data, d);
            let (mut scratch, mut out) = (Vec::new(), Vec::new());
            inflate(&c, d, data.len(), &mut scratch, &mut out).unwrap();
            assert_eq!(out, data);
            // A wrong length or a missing dictionary is an error, not garbage.
            assert!(inflate(&c, d, data.len() - 1, &mut scratch, &mut Vec::new()).is_err());
        }
        // Stored blocks (the fuzz build) neither shrink nor point back.
        if cfg!(not(feature = "stored-blocks")) {
            let with = deflate(&data, &dict).len();
            let without = deflate(&data, &[]).len();
            assert!(
                with * 4 < without * 3,
                "dictionary helps: {with} vs {without}"
            );
            let c = deflate(&data, &dict);
            let mut out = Vec::new();
            assert!(
                inflate(&c, &[], data.len(), &mut Vec::new(), &mut out).is_err() || out != data
            );
        }
    }

    #[test]
    fn a_reused_deflater_gives_what_a_fresh_one_gives() {
        // Streams of different sizes and dictionaries through one Deflater,
        // in an order where each follows a different one: the bytes must be
        // exactly a fresh compressor's (the block format depends on it).
        let dict = b"Storgatan 12, 903 26 Umea; Nordvik Tra AB; offert skickad".repeat(40);
        let inputs: [&[u8]; 5] = [
            &b"Ringde kunden om offerten igen, bokar besok pa fredag".repeat(30),
            b"",
            &b"x".repeat(70_000),
            &(0..50_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect::<Vec<u8>>(),
            b"Storgatan 14",
        ];
        let mut reused = Deflater::new();
        for round in 0..2 {
            for (i, data) in inputs.iter().enumerate() {
                let d: &[u8] = if (i + round) % 2 == 0 { &dict } else { &[] };
                assert_eq!(
                    reused.deflate(data, d),
                    deflate(data, d),
                    "input {i}, round {round}"
                );
            }
        }
    }

    #[test]
    fn empty_and_multi_block_inputs_round_trip() {
        // 140,000 bytes take three stored blocks in the fuzz build.
        let long: Vec<u8> = (0..140_000u32).map(|i| (i % 251) as u8).collect();
        for data in [&[][..], &long[..]] {
            let c = deflate(data, &[]);
            let mut out = Vec::new();
            inflate(&c, &[], data.len(), &mut Vec::new(), &mut out).unwrap();
            assert_eq!(out, data);
        }
    }
}
