//! The id index: backend id → local id, in 8 bytes a slot.
//!
//! Owns [`IdIndex`], an open-addressing table with linear probing and
//! backward-shift deletion. A slot holds a 32-bit tag of the id's hash and the
//! local id; the id itself stays compressed in its block, so a tag match is
//! confirmed by the caller (`is_match`) before it counts. The home slot is
//! derived from the tag alone, which lets the table grow without the ids.
//!
//! Invariant: every live local id appears in exactly one slot, reachable from
//! its tag's home slot without crossing an empty slot; load ≤ 4/5.

use alloc::vec::Vec;

use crate::budget::vec_bytes;

const EMPTY: u64 = u64::MAX;

/// Backend id → local id.
#[derive(Default)]
pub struct IdIndex {
    slots: Vec<u64>,
    len: usize,
}

/// A portable 64-bit hash of a backend id: the same on every target.
///
/// FNV-1a, then a SplitMix64 finaliser to mix the bits. Not `usize`-based: on
/// 32-bit targets (wasm32, thumbv7em) a pointer-sized hash's high half is
/// zero, which once gave every id the same tag there and made every lookup
/// scan the whole table.
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The 32-bit tag of a backend id.
pub fn tag_of(id: &str) -> u32 {
    (id_hash(id) >> 32) as u32
}

fn pack(tag: u32, local: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(local)
}

fn home(tag: u32, cap: usize) -> usize {
    ((u64::from(tag) * cap as u64) >> 32) as usize
}

impl IdIndex {
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no id is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.slots)
    }

    /// Slots the table needs to hold `len` ids (0 when it needs no change).
    fn capacity_for(&self, len: usize) -> usize {
        let cap = self.slots.len();
        if len * 5 <= cap * 4 {
            cap
        } else {
            // Grow to load 3/5: amortised rehashing, about 13 bytes an id.
            (len * 5 / 3).max(16)
        }
    }

    /// Bytes that inserting `extra` ids would add.
    pub fn growth_bytes(&self, extra: usize) -> usize {
        let target = self.capacity_for(self.len + extra);
        (target - self.slots.len()) * 8
    }

    /// Makes room for `extra` more ids.
    pub fn reserve(&mut self, extra: usize) {
        let target = self.capacity_for(self.len + extra);
        if target == self.slots.len() {
            return;
        }
        let mut slots = Vec::new();
        slots.reserve_exact(target);
        slots.resize(target, EMPTY);
        let old = core::mem::replace(&mut self.slots, slots);
        for s in old.into_iter().filter(|&s| s != EMPTY) {
            self.place(s);
        }
    }

    fn place(&mut self, slot: u64) {
        let cap = self.slots.len();
        let mut i = home((slot >> 32) as u32, cap);
        while self.slots[i] != EMPTY {
            i = if i + 1 == cap { 0 } else { i + 1 };
        }
        self.slots[i] = slot;
    }

    /// The local id whose tag matches and for which `is_match` says yes.
    pub fn find(&self, tag: u32, mut is_match: impl FnMut(u32) -> bool) -> Option<u32> {
        self.position(tag, &mut is_match)
            .map(|i| self.slots[i] as u32)
    }

    fn position(&self, tag: u32, is_match: &mut impl FnMut(u32) -> bool) -> Option<usize> {
        let cap = self.slots.len();
        if cap == 0 {
            return None;
        }
        let mut i = home(tag, cap);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if (s >> 32) as u32 == tag && is_match(s as u32) {
                return Some(i);
            }
            i = if i + 1 == cap { 0 } else { i + 1 };
        }
    }

    /// Adds an id known to be absent. Call [`IdIndex::reserve`] first.
    pub fn insert(&mut self, tag: u32, local: u32) {
        self.reserve(1);
        self.place(pack(tag, local));
        self.len += 1;
    }

    /// Removes the entry `(tag, local)`; false when it was not there.
    pub fn remove(&mut self, tag: u32, local: u32) -> bool {
        let Some(mut hole) = self.position(tag, &mut |l| l == local) else {
            return false;
        };
        let cap = self.slots.len();
        self.slots[hole] = EMPTY;
        self.len -= 1;
        // Backward shift: pull later entries of the run into the hole when their
        // home slot is not between the hole and where they sit.
        let mut i = hole;
        loop {
            i = if i + 1 == cap { 0 } else { i + 1 };
            let s = self.slots[i];
            if s == EMPTY {
                return true;
            }
            let h = home((s >> 32) as u32, cap);
            let dist_now = (i + cap - h) % cap;
            let dist_hole = (i + cap - hole) % cap;
            if dist_now >= dist_hole {
                self.slots[hole] = s;
                self.slots[i] = EMPTY;
                hole = i;
            }
        }
    }
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn tags_are_portable_and_spread() {
        // A fixed value: `usize` arithmetic would give another on 32-bit
        // targets (the bug this guards against).
        assert_eq!(id_hash("0015g00000A1"), ID_HASH_OF_A1);
        let tags: alloc::collections::BTreeSet<u32> = (0..10_000)
            .map(|i| tag_of(&alloc::format!("0015g{i:013}")))
            .collect();
        assert!(tags.len() > 9_980, "{}", tags.len());
        let top: alloc::collections::BTreeSet<u32> = tags.iter().map(|t| t >> 28).collect();
        assert_eq!(top.len(), 16, "home slots come from the high bits");
    }

    // Computed independently (Python, arbitrary-precision integers).
    const ID_HASH_OF_A1: u64 = 1_844_313_403_850_431_909;
}
