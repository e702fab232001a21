//! The store's deflate dictionary: samples of its own data that prime every
//! block's compression.
//!
//! Owns [`Dictionary`]: one byte string per block section, each at most
//! 32 KiB (deflate's reach). Trained once from the store's first blocks — the
//! same way zstd trains dictionaries for small records — and then frozen,
//! because every block compressed with it needs the same bytes to inflate.
//! Blocks written before training are recompressed with it in the same step.
//!
//! Invariant: a dictionary never changes after a block uses it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::block::{RawBlock, SECTIONS};
use crate::deflate::MAX_DICTIONARY;
use crate::format::{self, Reader, WireError};

/// Blocks a dictionary is trained from.
pub const TRAINING_BLOCKS: usize = 12;

/// One preset dictionary per block section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dictionary {
    sections: [Box<[u8]>; SECTIONS],
}

impl Dictionary {
    /// Trains a dictionary from sample blocks: each section gets an even share
    /// of its 32 KiB from every sample, taken as chunks spread evenly over the
    /// sample's section. A section holds several columns one after another, so
    /// spreading the chunks gives every column its place in the dictionary.
    pub fn train(samples: &[RawBlock]) -> Dictionary {
        let share = MAX_DICTIONARY / samples.len().max(1);
        let sections = core::array::from_fn(|k| {
            let mut bytes = Vec::new();
            for s in samples {
                take_spread(s.section(k), share, &mut bytes);
            }
            bytes.into_boxed_slice()
        });
        Dictionary { sections }
    }

    /// The dictionary of section `k`.
    pub fn section(&self, k: usize) -> &[u8] {
        &self.sections[k]
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.sections.iter().map(|s| s.len()).sum()
    }

    /// Appends the dictionary as [`SECTIONS`] byte strings.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for s in &self.sections {
            format::put_bytes(out, s);
        }
    }

    /// Reads what [`Dictionary::encode`] wrote.
    pub fn decode(r: &mut Reader<'_>) -> Result<Dictionary, WireError> {
        let mut sections: [Box<[u8]>; SECTIONS] = Default::default();
        for s in &mut sections {
            let bytes = r.bytes()?;
            if bytes.len() > MAX_DICTIONARY {
                return Err(WireError::Invalid("dictionary"));
            }
            *s = Box::from(bytes);
        }
        Ok(Dictionary { sections })
    }
}

/// Bytes per chunk when a sample is larger than its share.
const CHUNK: usize = 256;

/// Appends `share` bytes of `section`: all of it if it is smaller, otherwise
/// chunks of [`CHUNK`] bytes at evenly spaced offsets.
fn take_spread(section: &[u8], share: usize, out: &mut Vec<u8>) {
    if section.len() <= share {
        out.extend_from_slice(section);
        return;
    }
    let chunks = (share / CHUNK).max(1);
    let stride =
        (section.len() - CHUNK.min(section.len())) / chunks.max(2).saturating_sub(1).max(1);
    for c in 0..chunks {
        let start = (c * stride).min(section.len().saturating_sub(CHUNK));
        out.extend_from_slice(&section[start..(start + CHUNK).min(section.len())]);
    }
}
