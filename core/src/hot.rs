//! The hot buffer: fresh writes, postcard-encoded and uncompressed, until they
//! are compacted into a block.
//!
//! Owns [`HotBuffer`]: one byte arena plus an entry per write. A record written
//! twice leaves its first entry behind as garbage; the store knows which entry
//! is live (its location table points at it) and drops the rest at compaction.
//!
//! Invariant: every entry's byte range lies inside the arena.

use alloc::vec::Vec;

use crate::budget::{grow_to, growth_bytes, vec_bytes};

/// One write in the arena.
#[derive(Clone, Copy, Debug)]
pub struct HotEntry {
    /// Local id of the record.
    pub local: u32,
    start: u32,
    len: u32,
}

/// Fresh writes, uncompressed.
#[derive(Default)]
pub struct HotBuffer {
    arena: Vec<u8>,
    entries: Vec<HotEntry>,
}

impl HotBuffer {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.arena) + vec_bytes(&self.entries)
    }

    /// Bytes of records written (live or not).
    pub fn arena_len(&self) -> usize {
        self.arena.len()
    }

    /// Number of entries (live or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was written since the last compaction.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes that appending an encoded record of `len` bytes would add.
    pub fn growth_bytes(&self, len: usize) -> usize {
        self.growth_bytes_many(len, 1)
    }

    /// Bytes that appending `n` encoded records of `total` bytes would add,
    /// when room for all of them is made at once with [`HotBuffer::reserve_many`].
    pub fn growth_bytes_many(&self, total: usize, n: usize) -> usize {
        growth_bytes(&self.arena, total) + growth_bytes(&self.entries, n)
    }

    /// Makes room for `n` records of `total` bytes.
    pub fn reserve_many(&mut self, total: usize, n: usize) {
        grow_to(&mut self.arena, total);
        grow_to(&mut self.entries, n);
    }

    /// Appends an encoded record; returns its entry index.
    pub fn push(&mut self, local: u32, encoded: &[u8]) -> u32 {
        grow_to(&mut self.arena, encoded.len());
        grow_to(&mut self.entries, 1);
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(encoded);
        self.entries.push(HotEntry {
            local,
            start,
            len: encoded.len() as u32,
        });
        (self.entries.len() - 1) as u32
    }

    /// Entry `i`.
    pub fn entry(&self, i: u32) -> Option<HotEntry> {
        self.entries.get(i as usize).copied()
    }

    /// The encoded bytes of an entry.
    pub fn bytes(&self, e: HotEntry) -> &[u8] {
        &self.arena[e.start as usize..(e.start + e.len) as usize]
    }

    /// All entries in write order.
    pub fn entries(&self) -> &[HotEntry] {
        &self.entries
    }

    /// Forgets every write and gives the memory back.
    pub fn clear(&mut self) {
        self.arena = Vec::new();
        self.entries = Vec::new();
    }
}
