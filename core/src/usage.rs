//! Usage signals from the device: how often the rep opened, edited or found a
//! record, with decay, in a fixed amount of memory.
//!
//! Owns [`UsageSketch`], a count-min sketch (4 rows of saturating 16-bit
//! counters) aged TinyLFU-style: every half-life that passes halves every
//! counter. It over-counts (never under-counts) and forgets slowly, which is
//! what a retention signal wants: a record the rep keeps coming back to stays.
//!
//! Invariant: the sketch's memory is fixed at creation ([`UsageSketch::heap_bytes`]).

use alloc::vec;
use alloc::vec::Vec;

const ROWS: usize = 4;

/// What the rep did with a record; an edit says more than a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Opened the record.
    Open,
    /// Found it by a search.
    Search,
    /// Changed it.
    Edit,
}

impl Use {
    /// Counts are scaled by 16 so that one use survives several halvings
    /// (a single open is remembered for about five half-lives).
    fn weight(self) -> u16 {
        match self {
            Use::Open | Use::Search => 16,
            Use::Edit => 48,
        }
    }
}

/// Decayed use counts per backend id, approximately.
#[derive(Clone, Debug)]
pub struct UsageSketch {
    counters: Vec<u16>,
    width: usize,
    half_life: i64,
    aged_at: Option<i64>,
}

impl UsageSketch {
    /// A sketch of `width` counters a row (rounded up to a power of two) whose
    /// counts halve every `half_life_secs`.
    pub fn new(width: usize, half_life_secs: i64) -> Self {
        let width = width.max(64).next_power_of_two();
        UsageSketch {
            counters: vec![0; width * ROWS],
            width,
            half_life: half_life_secs.max(1),
            aged_at: None,
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.counters.capacity() * 2
    }

    fn slots(&self, id: &str) -> [usize; ROWS] {
        let h = crate::index::id_hash(id);
        let (h1, h2) = (h as u32 as usize, ((h >> 32) as usize) | 1);
        core::array::from_fn(|r| {
            r * self.width + (h1.wrapping_add(r.wrapping_mul(h2)) & (self.width - 1))
        })
    }

    /// Halves every counter once per half-life elapsed since the last aging.
    pub fn age_to(&mut self, now: i64) {
        let Some(at) = self.aged_at else {
            self.aged_at = Some(now);
            return;
        };
        let halvings = (now - at) / self.half_life;
        if halvings <= 0 {
            return;
        }
        let shift = halvings.min(16) as u32;
        for c in &mut self.counters {
            *c = c.checked_shr(shift).unwrap_or(0);
        }
        self.aged_at = Some(at + halvings * self.half_life);
    }

    /// Counts one use of record `id` at time `now`.
    pub fn record(&mut self, id: &str, what: Use, now: i64) {
        self.age_to(now);
        for s in self.slots(id) {
            self.counters[s] = self.counters[s].saturating_add(what.weight());
        }
    }

    /// The (over-)estimated decayed count of `id`.
    pub fn estimate(&self, id: &str) -> u16 {
        self.slots(id)
            .iter()
            .map(|&s| self.counters[s])
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_decay_and_never_undercount() {
        let mut s = UsageSketch::new(1024, 100);
        for i in 0..500u32 {
            s.record(&alloc::format!("noise-{i}"), Use::Open, 0);
        }
        for _ in 0..8 {
            s.record("A1", Use::Edit, 0);
        }
        let before = s.estimate("A1");
        assert!(before >= 8 * 48, "never under-counts: {before}");
        assert!(s.estimate("never-seen") <= 32, "500 others barely touch it");
        s.age_to(250); // two half-lives
        let after = s.estimate("A1");
        assert!((96..=before / 4).contains(&after), "{before} -> {after}");
        s.age_to(100_000);
        assert_eq!(s.estimate("A1"), 0);
        assert_eq!(s.heap_bytes(), 1024 * 4 * 2);
    }
}
