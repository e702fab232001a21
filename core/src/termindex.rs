//! The search index's storage: a sorted set of `(key, target)` postings kept
//! front-coded in small pages, so that a posting costs a byte or two.
//!
//! Owns [`TermIndex`]. A key is 8 bytes compared big-endian (a term's first
//! bytes, see [`crate::search`]); a target names a record (its local id) or a
//! stub. Postings are sorted by `(key, target)`; a page holds a run of them,
//! its first posting in the clear and the rest as deltas: a posting with the
//! previous key is `varint(target delta)` (never starting with a zero byte),
//! one with a new key is a zero byte, a byte `shared << 4 | suffix length`,
//! the key's suffix bytes (trailing zero bytes are not written) and
//! `varint(target)`.
//!
//! Invariants: pages are non-empty, sorted, and do not overlap; a page's
//! bytes never exceed [`PAGE_BYTES`] plus one posting; every page buffer is
//! exactly as large as its content, so [`TermIndex::heap_bytes`] is the truth.

use alloc::vec::Vec;

use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::format::{self, Reader, WireError};

/// A posting: a term key and what it points at.
pub type Posting = (u64, u64);

/// A page is split in two once its encoding grows past this.
pub const PAGE_BYTES: usize = 768;

/// Largest encoding of one posting: the new-key mark, the prefix byte, 8 key
/// bytes and a 10-byte varint.
pub const MAX_POSTING_BYTES: usize = 20;

struct Page {
    first: Posting,
    /// The postings after `first`, delta-encoded.
    rest: Vec<u8>,
}

/// A sorted, compressed set of postings.
#[derive(Default)]
pub struct TermIndex {
    pages: Vec<Page>,
    /// Per page, an upper bound of its postings' marks (a caller's value per
    /// posting, e.g. a rank): a scan may skip a page whose mark says nothing
    /// in it can matter. Kept an upper bound by every insert and split.
    marks: Vec<u16>,
    postings: usize,
    /// Encoding scratch, emptied (not freed: its capacity is counted) after use.
    scratch: Vec<u8>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b < 0x80 {
            break;
        }
    }
    v
}

/// Appends `p`, which follows `prev`, to `out`.
fn put_posting(out: &mut Vec<u8>, prev: Posting, p: Posting) {
    if p.0 == prev.0 {
        // Targets strictly increase within a key: the delta is never 0.
        put_varint(out, p.1 - prev.1);
        return;
    }
    out.push(NEW_KEY);
    let shared = ((p.0 ^ prev.0).leading_zeros() / 8) as usize;
    let key = p.0.to_be_bytes();
    let used = 8 - (p.0.trailing_zeros() / 8) as usize;
    let suffix = &key[shared.min(used)..used];
    out.push((shared as u8) << 4 | suffix.len() as u8);
    out.extend_from_slice(suffix);
    put_varint(out, p.1);
}

/// Marks a posting with a new key (a same-key delta's varint never starts
/// with a zero byte).
const NEW_KEY: u8 = 0;

/// Walks the postings of one page in order.
struct PageIter<'a> {
    bytes: &'a [u8],
    at: usize,
    prev: Option<Posting>,
    first: Posting,
}

impl Iterator for PageIter<'_> {
    type Item = Posting;
    fn next(&mut self) -> Option<Posting> {
        let Some(prev) = self.prev else {
            self.prev = Some(self.first);
            return Some(self.first);
        };
        if self.at >= self.bytes.len() {
            return None;
        }
        let b = self.bytes[self.at];
        let p = if b != NEW_KEY && b < 0x80 {
            // Same key, one-byte delta: the common case.
            self.at += 1;
            (prev.0, prev.1.wrapping_add(u64::from(b)))
        } else if b != NEW_KEY {
            let delta = get_varint(self.bytes, &mut self.at);
            (prev.0, prev.1.wrapping_add(delta))
        } else {
            let b = *self.bytes.get(self.at + 1)?;
            self.at += 2;
            let (shared, len) = ((b >> 4) as usize, (b & 15) as usize);
            let mut key = prev.0.to_be_bytes();
            let end = (shared + len).min(8);
            key[end..].fill(0);
            for (i, slot) in key[shared.min(end)..end].iter_mut().enumerate() {
                *slot = *self.bytes.get(self.at + i)?;
            }
            self.at += len;
            (
                u64::from_be_bytes(key),
                get_varint(self.bytes, &mut self.at),
            )
        };
        self.prev = Some(p);
        Some(p)
    }
}

impl Page {
    fn iter(&self) -> PageIter<'_> {
        PageIter {
            bytes: &self.rest,
            at: 0,
            prev: None,
            first: self.first,
        }
    }
}

/// Where `p` sits in a page that starts before it.
struct Spot {
    /// The posting before `p`.
    prev: Posting,
    /// Offset in `rest` where `p`'s encoding starts (or would).
    start: usize,
    /// True when `p` is in the page.
    found: bool,
    /// The posting after `p` and the end of its encoding.
    next: Option<(Posting, usize)>,
}

fn locate(page: &Page, p: Posting) -> Spot {
    // A hand-rolled walk (this is the hot loop of every insert and removal):
    // one byte decides the kind of posting, most deltas are one byte.
    let bytes = &page.rest[..];
    let mut prev = page.first;
    let mut start = 0;
    let mut at = 0;
    let next_of = |mut at: usize, prev: Posting| -> Option<(Posting, usize)> {
        let mut it = PageIter {
            bytes,
            at,
            prev: Some(prev),
            first: prev,
        };
        let n = it.next()?;
        at = it.at;
        Some((n, at))
    };
    while at < bytes.len() {
        let q = if bytes[at] != NEW_KEY && bytes[at] < 0x80 {
            // Same key, one-byte delta.
            at += 1;
            (prev.0, prev.1.wrapping_add(u64::from(bytes[at - 1])))
        } else {
            match next_of(at, prev) {
                Some((q, end)) => {
                    at = end;
                    q
                }
                None => break,
            }
        };
        if q >= p {
            let found = q == p;
            let next = if found { next_of(at, q) } else { Some((q, at)) };
            return Spot {
                prev,
                start,
                found,
                next,
            };
        }
        prev = q;
        start = at;
    }
    Spot {
        prev,
        start,
        found: false,
        next: None,
    }
}

/// A buffer holding exactly `bytes`.
fn exact_copy(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len());
    v.extend_from_slice(bytes);
    v
}

/// Encodes `postings` (sorted, non-empty) as a page whose buffer is exactly
/// its content, using `scratch`.
fn encode(postings: &[Posting], scratch: &mut Vec<u8>) -> Page {
    scratch.clear();
    for w in postings.windows(2) {
        put_posting(scratch, w[0], w[1]);
    }
    let rest = exact_copy(scratch);
    scratch.clear();
    Page {
        first: postings[0],
        rest,
    }
}

impl TermIndex {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.pages)
            + vec_bytes(&self.marks)
            + self.pages.iter().map(|p| vec_bytes(&p.rest)).sum::<usize>()
            + vec_bytes(&self.scratch)
    }

    /// Number of postings.
    pub fn len(&self) -> usize {
        self.postings
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.postings == 0
    }

    /// Most bytes inserting `n` postings can add (a page split adds a page
    /// slot; the encoding scratch may grow to a page).
    pub fn insert_cost(&self, n: usize) -> usize {
        n * MAX_POSTING_BYTES
            + growth_bytes(&self.pages, n)
            + growth_bytes(&self.marks, n)
            + (PAGE_BYTES + 2 * MAX_POSTING_BYTES).saturating_sub(self.scratch.capacity())
    }

    /// The page that holds (or would hold) `p`.
    fn page_of(&self, p: Posting) -> usize {
        self.pages
            .partition_point(|pg| pg.first <= p)
            .saturating_sub(1)
    }

    /// Adds `p`; true if it was not there. Room must have been checked with
    /// [`TermIndex::insert_cost`].
    pub fn insert(&mut self, p: Posting) -> bool {
        self.insert_marked(p, 0)
    }

    /// Adds `p`, whose mark is `mark`; true if it was not there.
    pub fn insert_marked(&mut self, p: Posting, mark: u16) -> bool {
        if self.pages.is_empty() {
            grow_to(&mut self.pages, 1);
            grow_to(&mut self.marks, 1);
            self.pages.push(encode(&[p], &mut self.scratch));
            self.marks.push(mark);
            self.postings += 1;
            return true;
        }
        let i = self.page_of(p);
        self.marks[i] = self.marks[i].max(mark);
        let page = &self.pages[i];
        grow_to(&mut self.scratch, PAGE_BYTES + 2 * MAX_POSTING_BYTES);
        self.scratch.clear();
        if p == page.first {
            return false;
        }
        let first = if p < page.first {
            // Only the first page can start after `p`.
            put_posting(&mut self.scratch, p, page.first);
            self.scratch.extend_from_slice(&page.rest);
            p
        } else {
            let spot = locate(page, p);
            if spot.found {
                return false;
            }
            self.scratch.extend_from_slice(&page.rest[..spot.start]);
            put_posting(&mut self.scratch, spot.prev, p);
            if let Some((next, next_end)) = spot.next {
                put_posting(&mut self.scratch, p, next);
                self.scratch.extend_from_slice(&page.rest[next_end..]);
            }
            page.first
        };
        self.postings += 1;
        if self.scratch.len() <= PAGE_BYTES {
            self.pages[i] = Page {
                first,
                rest: exact_copy(&self.scratch),
            };
            self.scratch.clear();
            return true;
        }
        // Split: rare, so decoding the page is fine.
        let all: Vec<Posting> = PageIter {
            bytes: &self.scratch,
            at: 0,
            prev: None,
            first,
        }
        .collect();
        let half = all.len() / 2;
        let left = encode(&all[..half], &mut self.scratch);
        let right = encode(&all[half..], &mut self.scratch);
        grow_to(&mut self.pages, 1);
        grow_to(&mut self.marks, 1);
        self.pages[i] = left;
        self.pages.insert(i + 1, right);
        self.marks.insert(i + 1, self.marks[i]);
        true
    }

    /// Removes `p`; true if it was there. Never needs room.
    pub fn remove(&mut self, p: Posting) -> bool {
        if self.pages.is_empty() {
            return false;
        }
        let i = self.page_of(p);
        let page = &self.pages[i];
        self.scratch.clear();
        let first = if p == page.first {
            let mut it = page.iter();
            it.next();
            let Some(second) = it.next() else {
                self.pages.remove(i);
                self.marks.remove(i);
                self.postings -= 1;
                return true;
            };
            self.scratch.extend_from_slice(&page.rest[it.at..]);
            second
        } else {
            let spot = locate(page, p);
            if !spot.found {
                return false;
            }
            self.scratch.extend_from_slice(&page.rest[..spot.start]);
            if let Some((next, next_end)) = spot.next {
                put_posting(&mut self.scratch, spot.prev, next);
                self.scratch.extend_from_slice(&page.rest[next_end..]);
            }
            page.first
        };
        self.postings -= 1;
        self.pages[i] = Page {
            first,
            rest: exact_copy(&self.scratch),
        };
        self.scratch.clear();
        true
    }

    /// Calls `each` with every posting whose key lies in `lo..=hi`, in order;
    /// stops early when `each` returns false.
    pub fn scan(&self, lo: u64, hi: u64, mut each: impl FnMut(Posting) -> bool) {
        if lo > hi || self.pages.is_empty() {
            return;
        }
        let start = self.page_of((lo, 0));
        for page in &self.pages[start..] {
            if page.first.0 > hi {
                return;
            }
            for p in page.iter() {
                if p.0 > hi {
                    return;
                }
                if p.0 >= lo && !each(p) {
                    return;
                }
            }
        }
    }

    /// Like [`TermIndex::scan`], but first asks `skip(first key, mark)` of
    /// every page and passes over the pages it says to (their postings cannot
    /// matter to the caller).
    pub fn scan_skipping(
        &self,
        lo: u64,
        hi: u64,
        mut skip: impl FnMut(u64, u16) -> bool,
        mut each: impl FnMut(Posting) -> bool,
    ) {
        if lo > hi || self.pages.is_empty() {
            return;
        }
        let start = self.page_of((lo, 0));
        for (page, &mark) in self.pages[start..].iter().zip(&self.marks[start..]) {
            if page.first.0 > hi {
                return;
            }
            if skip(page.first.0, mark) {
                continue;
            }
            for p in page.iter() {
                if p.0 > hi {
                    return;
                }
                if p.0 >= lo && !each(p) {
                    return;
                }
            }
        }
    }

    /// Sets every page's mark to the largest `mark_of` of its postings.
    pub fn refresh_marks(&mut self, mut mark_of: impl FnMut(Posting) -> u16) {
        for (page, mark) in self.pages.iter().zip(self.marks.iter_mut()) {
            *mark = page.iter().map(&mut mark_of).max().unwrap_or(0);
        }
    }

    /// Drops every posting and frees the pages.
    pub fn clear(&mut self) {
        *self = TermIndex::default();
    }

    /// Number of pages (for statistics).
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// Writes the pages as they are: count, then per page its first key
    /// (8 bytes, big-endian), first target (varint) and encoded rest.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        format::put_varint(out, self.pages.len() as u64);
        for p in &self.pages {
            out.extend_from_slice(&p.first.0.to_be_bytes());
            format::put_varint(out, p.first.1);
            format::put_bytes(out, &p.rest);
        }
    }

    /// Reads pages written by [`TermIndex::encode_into`], checking that every
    /// page decodes to strictly increasing postings that follow the previous
    /// page's, and that no page is larger than this code writes.
    pub fn decode(r: &mut Reader<'_>) -> Result<TermIndex, WireError> {
        let count = r.varint_max(u64::from(u32::MAX), "page count")? as usize;
        let mut ix = TermIndex::default();
        let mut last: Option<Posting> = None;
        for _ in 0..count {
            let key = u64::from_be_bytes(
                r.take(8)?
                    .try_into()
                    .map_err(|_| WireError::Invalid("page key"))?,
            );
            let target = r.varint()?;
            let rest = r.bytes()?;
            if rest.len() > PAGE_BYTES + 2 * MAX_POSTING_BYTES {
                return Err(WireError::Invalid("page size"));
            }
            let page = Page {
                first: (key, target),
                rest: exact_copy(rest),
            };
            let postings: Vec<Posting> = page.iter().collect();
            for &p in &postings {
                if last.is_some_and(|l| l >= p) {
                    return Err(WireError::Invalid("postings out of order"));
                }
                last = Some(p);
            }
            // Only the bytes this code would write: inserts splice pages in
            // place and rely on it.
            if encode(&postings, &mut ix.scratch).rest != page.rest {
                return Err(WireError::Invalid("page not in canonical form"));
            }
            ix.postings += postings.len();
            grow_to(&mut ix.pages, 1);
            grow_to(&mut ix.marks, 1);
            // Unknown until the owner refreshes them: as high as can be.
            ix.marks.push(u16::MAX);
            ix.pages.push(page);
        }
        ix.pages.shrink_to_fit();
        ix.marks.shrink_to_fit();
        ix.scratch = Vec::new();
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    fn all(ix: &TermIndex) -> Vec<Posting> {
        let mut v = Vec::new();
        ix.scan(0, u64::MAX, |p| {
            v.push(p);
            true
        });
        v
    }

    proptest! {
        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec(
            (any::<bool>(), 0u64..64, 0u64..4, any::<u8>(), 0u64..300), 0..2000)) {
            let mut ix = TermIndex::default();
            let mut model = BTreeSet::new();
            for (insert, hi, mid, lo, target) in ops {
                // Keys that share prefixes, differ in the middle and end in zeros.
                let key = hi << 56 | mid << 40 | u64::from(lo) << 8;
                let p = (key, target);
                if insert {
                    prop_assert_eq!(ix.insert(p), model.insert(p));
                } else {
                    prop_assert_eq!(ix.remove(p), model.remove(&p));
                }
            }
            prop_assert_eq!(all(&ix), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(ix.len(), model.len());
            let (lo, hi) = (5u64 << 56, 9u64 << 56 | 0xff);
            let mut got = Vec::new();
            ix.scan(lo, hi, |p| { got.push(p); true });
            let want: Vec<_> = model.iter().copied().filter(|p| p.0 >= lo && p.0 <= hi).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn large_targets_and_full_keys_round_trip() {
        let mut ix = TermIndex::default();
        let ps = [
            (u64::MAX, u64::MAX >> 1),
            (0x0102_0304_0506_0708, 1 << 40),
            (0x0102_0304_0506_0709, 3),
            (1, 0),
        ];
        for p in ps {
            assert!(ix.insert(p));
        }
        let mut want = ps.to_vec();
        want.sort();
        assert_eq!(all(&ix), want);
    }
}
