//! Column primitives of the block format: text runs, dictionaries, counted lists.
//!
//! Owns how one column of a block is laid out before compression. Every column
//! is plain serde data that postcard encodes (varints, zigzag for signed, UTF-8
//! strings), chosen so that deflate sees long runs of similar bytes: string
//! lengths apart from string bytes, repeated values replaced by small codes.
//!
//! Invariant: a column that [`Text::offsets`], [`Dict::check`] or [`starts`]
//! accepts can be indexed by any row below its row count without panicking.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::block::BlockError;

/// A text column: every row's byte length, then all rows' bytes joined.
#[derive(Debug, Default, Serialize)]
pub struct Text<'a> {
    /// Byte length of each row.
    pub lens: Vec<u32>,
    /// All rows, joined without separators.
    #[serde(borrow)]
    pub joined: &'a str,
}

/// Builds a [`Text`] column (owned side of the encoder).
#[derive(Default)]
pub struct TextBuilder {
    lens: Vec<u32>,
    joined: String,
}

impl TextBuilder {
    /// Appends one row.
    pub fn push(&mut self, s: &str) {
        self.lens.push(s.len() as u32);
        self.joined.push_str(s);
    }

    /// The column, borrowing the builder's bytes.
    pub fn column(&self) -> Text<'_> {
        Text {
            lens: self.lens.clone(),
            joined: &self.joined,
        }
    }
}

impl<'a> Text<'a> {
    /// Start offsets of every row plus the end, after checking that lengths add
    /// up to the joined bytes and that every cut falls on a char boundary.
    pub fn offsets(&self, rows: usize, what: &'static str) -> Result<Vec<u32>, BlockError> {
        if self.lens.len() != rows {
            return Err(BlockError::Inconsistent(what));
        }
        let mut offsets = Vec::with_capacity(rows + 1);
        let mut at: u64 = 0;
        offsets.push(0);
        for &len in &self.lens {
            at += u64::from(len);
            if at > self.joined.len() as u64 || !self.joined.is_char_boundary(at as usize) {
                return Err(BlockError::Inconsistent(what));
            }
            offsets.push(at as u32);
        }
        if at != self.joined.len() as u64 {
            return Err(BlockError::Inconsistent(what));
        }
        Ok(offsets)
    }

    /// Row `i`, given the offsets from [`Text::offsets`].
    pub fn get(&self, offsets: &[u32], i: usize) -> &'a str {
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        // Checked by `offsets`: in range and on char boundaries.
        &self.joined[start..end]
    }
}

/// A dictionary column: distinct values once, then a small code per row.
#[derive(Debug, Default, Serialize)]
pub struct Dict<'a> {
    /// Distinct values in first-seen order.
    #[serde(borrow)]
    pub values: Vec<&'a str>,
    /// One code per row: an index into `values`.
    pub codes: Vec<u32>,
}

/// Builds a [`Dict`] column.
#[derive(Default)]
pub struct DictBuilder<'a> {
    values: Vec<&'a str>,
    lookup: BTreeMap<&'a str, u32>,
    codes: Vec<u32>,
}

impl<'a> DictBuilder<'a> {
    /// Appends one row.
    pub fn push(&mut self, s: &'a str) {
        let next = self.values.len() as u32;
        let code = *self.lookup.entry(s).or_insert_with(|| next);
        if code == next {
            self.values.push(s);
        }
        self.codes.push(code);
    }

    /// The finished column.
    pub fn finish(self) -> Dict<'a> {
        Dict {
            values: self.values,
            codes: self.codes,
        }
    }
}

impl<'a> Dict<'a> {
    /// Checks that there are `rows` codes and each names a value.
    pub fn check(&self, rows: usize, what: &'static str) -> Result<(), BlockError> {
        let n = self.values.len() as u32;
        if self.codes.len() != rows || self.codes.iter().any(|&c| c >= n) {
            return Err(BlockError::Inconsistent(what));
        }
        Ok(())
    }

    /// Row `i` (checked by [`Dict::check`]).
    pub fn get(&self, i: usize) -> &'a str {
        self.values[self.codes[i] as usize]
    }
}

/// Start index of each row's items in a flattened list, plus the end, from the
/// per-row counts; `items` is the flattened list's length, which must match.
pub fn starts(
    counts: &[u32],
    rows: usize,
    items: usize,
    what: &'static str,
) -> Result<Vec<u32>, BlockError> {
    if counts.len() != rows {
        return Err(BlockError::Inconsistent(what));
    }
    let mut out = Vec::with_capacity(rows + 1);
    let mut at: u64 = 0;
    out.push(0);
    for &c in counts {
        at += u64::from(c);
        if at > items as u64 {
            return Err(BlockError::Inconsistent(what));
        }
        out.push(at as u32);
    }
    if at != items as u64 {
        return Err(BlockError::Inconsistent(what));
    }
    Ok(out)
}
