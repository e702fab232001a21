//! Latency samples and their percentiles; a tiny seeded RNG for picking keys.

use std::time::{Duration, Instant};

/// Runs `f` once per key and returns the sorted latencies.
pub fn latencies<K>(keys: &[K], mut f: impl FnMut(&K)) -> Vec<Duration> {
    let mut out: Vec<Duration> = keys
        .iter()
        .map(|k| {
            let t = Instant::now();
            f(k);
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

/// The `p`-th percentile (0..=100) of sorted samples, in microseconds.
pub fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// SplitMix64: picks benchmark keys reproducibly.
pub struct KeyPicker(u64);

impl KeyPicker {
    pub fn new(seed: u64) -> Self {
        KeyPicker(seed)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}
