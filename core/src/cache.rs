//! A small cache of inflated blocks, so reads near each other inflate once.
//!
//! Owns [`BlockCache`]: at most `slots` inflated payloads, least recently used
//! first out. Entries are keyed by a block's serial number, which is never
//! reused, so a rewritten or freed block can never be served stale.
//!
//! Invariant: the cache is opportunistic. The store only inserts when the
//! payload fits in what the budget has left, and drops entries before any
//! write that needs the room.

use alloc::vec::Vec;

use crate::budget::vec_bytes;

struct Entry {
    serial: u64,
    raw: Vec<u8>,
}

/// Inflated blocks, most recently used last.
#[derive(Default)]
pub struct BlockCache {
    entries: Vec<Entry>,
}

impl BlockCache {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.entries)
            + self
                .entries
                .iter()
                .map(|e| vec_bytes(&e.raw))
                .sum::<usize>()
    }

    /// The payload of block `serial`, marked as just used.
    pub fn get(&mut self, serial: u64) -> Option<&[u8]> {
        let i = self.entries.iter().position(|e| e.serial == serial)?;
        let e = self.entries.remove(i);
        self.entries.push(e);
        self.entries.last().map(|e| e.raw.as_slice())
    }

    /// Whether block `serial`'s payload is held (its use is not marked).
    pub fn contains(&self, serial: u64) -> bool {
        self.entries.iter().any(|e| e.serial == serial)
    }

    /// Bytes that inserting a payload of `raw_len` would add when `slots`
    /// entries are allowed (the entry it pushes out is subtracted).
    pub fn insert_cost(&self, raw_len: usize, slots: usize) -> isize {
        let table = if self.entries.capacity() < slots {
            (slots - self.entries.capacity()) * core::mem::size_of::<Entry>()
        } else {
            0
        };
        let out = if self.entries.len() >= slots {
            self.entries.first().map_or(0, |e| vec_bytes(&e.raw))
        } else {
            0
        };
        (table + raw_len) as isize - out as isize
    }

    /// Keeps `raw` as block `serial`'s payload, pushing out the oldest entry
    /// when `slots` are taken.
    pub fn insert(&mut self, serial: u64, raw: Vec<u8>, slots: usize) {
        if slots == 0 {
            return;
        }
        if self.entries.capacity() < slots {
            self.entries.reserve_exact(slots - self.entries.len());
        }
        if self.entries.len() >= slots {
            self.entries.remove(0);
        }
        self.entries.push(Entry { serial, raw });
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.entries = Vec::new();
    }
}
