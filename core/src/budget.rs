//! The hard byte ceiling on everything a store owns, and the arithmetic that
//! keeps it honest.
//!
//! Owns [`Budget`], [`BudgetExceeded`] and the growth policy of every
//! budgeted vector. The store reads each vector's `capacity()` to report
//! `used_bytes()`, so the figure is the heap it holds, not an estimate; the
//! growth policy lives here so that a pre-check ("how many bytes would this
//! call add?") and the growth itself use the same numbers.
//!
//! Invariant: [`grow_to`] leaves a vector with exactly [`target_capacity`]
//! elements of capacity whenever it had to grow.

use alloc::vec::Vec;
use core::fmt;

/// A hard ceiling in bytes.
///
/// # Examples
/// ```
/// use satchel_core::budget::Budget;
/// assert_eq!(Budget::parse("64MiB").unwrap().bytes(), 64 * 1024 * 1024);
/// assert_eq!(Budget::parse("1.5 KB").unwrap().bytes(), 1500);
/// assert!(Budget::parse("lots").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Budget(usize);

impl Budget {
    /// A budget of `bytes` bytes.
    pub const fn new(bytes: usize) -> Self {
        Budget(bytes)
    }

    /// The ceiling in bytes.
    pub const fn bytes(self) -> usize {
        self.0
    }

    /// Parses `64MiB`, `64 MB`, `500KiB`, `1.5GB` or a plain number of bytes.
    pub fn parse(text: &str) -> Result<Self, BudgetParseError> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = (t[..split].trim(), t[split..].trim());
        let scale: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "kib" => 1 << 10,
            "mb" | "m" => 1_000_000,
            "mib" => 1 << 20,
            "gb" | "g" => 1_000_000_000,
            "gib" => 1 << 30,
            _ => return Err(BudgetParseError),
        };
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(BudgetParseError);
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| BudgetParseError)?
        };
        let mut bytes = whole.checked_mul(scale).ok_or(BudgetParseError)?;
        // Fractions: up to 9 digits are exact enough for a byte count.
        if !frac.is_empty() {
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BudgetParseError);
            }
            let f: u64 = frac.parse().map_err(|_| BudgetParseError)?;
            let denom = 10u64.pow(frac.len() as u32);
            bytes = bytes
                .checked_add((u128::from(f) * u128::from(scale) / u128::from(denom)) as u64)
                .ok_or(BudgetParseError)?;
        }
        usize::try_from(bytes)
            .map(Budget)
            .map_err(|_| BudgetParseError)
    }
}

/// A budget string that is not a size (`64MiB`, `500 KB`, `1048576`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetParseError;

impl fmt::Display for BudgetParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a size: write it like 64MiB, 500KB or 1048576")
    }
}

/// An operation needed more bytes than the budget has left; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetExceeded {
    /// Bytes the operation would have added.
    pub needed: usize,
    /// Bytes left under the ceiling.
    pub available: usize,
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget exceeded: needs {} more bytes, {} available; raise the budget or evict records",
            self.needed, self.available
        )
    }
}

/// Heap bytes a vector holds.
pub fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * core::mem::size_of::<T>()
}

/// The capacity a vector grows to when it must hold `needed` elements.
///
/// Grows by a quarter rather than doubling: on a 64 MB device the slack of a
/// doubled index is memory the rep's records could have used.
pub fn target_capacity(capacity: usize, needed: usize) -> usize {
    if needed <= capacity {
        capacity
    } else {
        needed.max(capacity + capacity / 4).max(8)
    }
}

/// Bytes that making room for `extra` more elements would add.
pub fn growth_bytes<T>(v: &Vec<T>, extra: usize) -> usize {
    let target = target_capacity(v.capacity(), v.len() + extra);
    (target - v.capacity()) * core::mem::size_of::<T>()
}

/// Makes room for `extra` more elements by the policy of [`target_capacity`].
pub fn grow_to<T>(v: &mut Vec<T>, extra: usize) {
    let target = target_capacity(v.capacity(), v.len() + extra);
    if target > v.capacity() {
        v.reserve_exact(target - v.len());
    }
}
