//! The search index's storage: a sorted set of `(key, target)` postings kept
//! in small bit-coded pages, so that a posting costs a few bits.
//!
//! Owns [`TermIndex`]. A key is 8 bytes compared big-endian (a term's first
//! bytes, see [`crate::search`]); a target names a record (its local id, below
//! 2³²) or a stub (2³² and up). Postings are sorted by `(key, target)`; a page
//! holds a run of them, its first posting also in the clear for the binary
//! search, and all of them as a bit string ([`crate::bits`], least significant
//! bit first):
//!
//! ```text
//! page    = W:6  H:1  gamma(runs)  run*  zero bits to a byte
//! run     = [not the first run: key]  counts  [low targets]  high target*
//! key     = shared:3  (len-1):3  gamma(key[shared] - prev[shared])  (len-1) bytes
//! counts  = H ? gamma(lows + 1) gamma(highs + 1) : gamma(lows)
//! low targets = first:W  [lows ≥ 2: k:5  (lows-1) × rice_k(gap - 1)]
//! high target = gamma(t >> 32)  (t & 0xffff_ffff):32
//! ```
//!
//! A run is the postings of one key. `W` is the bit length of the page's
//! largest low target, `H` says whether the page has high targets. A key is
//! written as the number of bytes it shares with the previous key, the length
//! of the rest up to its last non-zero byte, the first differing byte as its
//! increase, and the other bytes as they are. Gaps between a run's low targets
//! are Rice-coded with the parameter that makes the run shortest (the smallest
//! such). This is what made the index small: common words and attribute
//! values have dense runs (a few bits a posting), unique keys (phone numbers)
//! pay one run header and `W` bits.
//!
//! Inserts and removals decode the page, change it and encode it again: a
//! page's bytes are a function of its postings (canonical), which the snapshot
//! reader checks. A removal inside a run never makes a page longer (fewer,
//! merged gaps; the cheapest parameter can only get cheaper). One that drops
//! a whole run writes the next key against an earlier one; that costs more
//! than the dropped run saved only where the next key repeats zero bytes the
//! dropped key ended in and has a non-zero byte after them. So the growth is
//! at most one byte less than the zero bytes the dropped key ends in
//! ([`removal_growth`]; 2 bytes in the case the property test found), and
//! none in a key space whose keys have no zero byte before a non-zero one
//! (words). The caller counts it ([`TermIndex::removal_room`]); a page that
//! a removal takes past the limits is halved, as after an insert. An
//! insert that would grow a page by more than [`MAX_GROWTH_BYTES`] (a far
//! outlier in a dense run) splits the page around the new posting instead,
//! which bounds what an insert can cost ([`TermIndex::insert_cost`]).
//!
//! Invariants: pages are non-empty, sorted, and do not overlap; a page holds
//! at most [`MAX_PAGE_POSTINGS`] postings and at most [`PAGE_BYTES`] plus
//! [`PAGE_SLACK`] bytes; every page buffer is exactly as large as its content,
//! so [`TermIndex::heap_bytes`] is the truth.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::bits::{BitReader, BitWriter};
use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::format::{self, Reader, WireError};

/// A posting: a term key and what it points at.
pub type Posting = (u64, u64);

/// A page is split in two once its encoding grows past this.
pub const PAGE_BYTES: usize = 1152;

/// A page is split in two once it holds more postings than this (it bounds
/// the decoding scratch).
pub const MAX_PAGE_POSTINGS: usize = 1536;

/// How far past [`PAGE_BYTES`] a page may be: a split's halves can each be a
/// few bytes longer than the page was.
pub const PAGE_SLACK: usize = 128;

/// An insert that would grow its page by more than this splits the page
/// around the new posting instead. Covers a new run with a full key.
pub const MAX_GROWTH_BYTES: usize = 32;

/// Most bytes a page's split adds to the content of its parts: the second
/// part's header and its first target in full.
const SPLIT_BYTES: usize = 16;

/// Most bytes of page content one insert can add (page slots are counted
/// apart, by the vectors' growth): a replaced page grows by at most
/// [`MAX_GROWTH_BYTES`]; the parts of a split are each no longer than the
/// page they came from plus a first target and a header, and the new
/// posting's own page is a header and a target. The property test checks it
/// against every insert.
const MAX_INSERT_BYTES: usize = MAX_GROWTH_BYTES + SPLIT_BYTES;

/// Most pages one insert adds (a split around the new posting).
const MAX_NEW_PAGES: usize = 2;

/// Targets from here on are "high" (stubs).
const HIGH: u64 = 1 << 32;

/// Most bytes removing a posting of `key` can add to its page (module doc):
/// the dropped key's run paid for every byte the next key shared with it up
/// to its own last non-zero byte and one more, so only shared zero bytes past
/// those can cost, each at most a byte.
pub fn removal_growth(key: u64) -> usize {
    (key.trailing_zeros() / 8).saturating_sub(1) as usize
}

struct Page {
    first: Posting,
    /// All postings of the page, bit-coded (module doc).
    bits: Box<[u8]>,
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
    /// A page's postings while it changes, emptied (not freed: its capacity
    /// is counted) after use.
    decoded: Vec<Posting>,
    /// Encoding scratch, likewise.
    scratch: Vec<u8>,
}

/// The shortest Rice parameter for `gaps` (each ≥ 1), the smallest if
/// several: the cost is convex in `k`, so a walk from an estimate finds it.
fn best_rice(gaps: impl Iterator<Item = u64> + Clone) -> u32 {
    let (n, sum) = gaps
        .clone()
        .fold((0u64, 0u64), |(n, s), g| (n + 1, s.saturating_add(g - 1)));
    let cost =
        |k: u32| -> u64 { gaps.clone().map(|g| (g - 1) >> k).sum::<u64>() + n * u64::from(k) };
    let mean = sum / n.max(1);
    let mut k = if mean == 0 {
        0
    } else {
        63 - mean.leading_zeros()
    }
    .min(31);
    let mut c = cost(k);
    while k > 0 {
        let down = cost(k - 1);
        if down > c {
            break;
        }
        k -= 1;
        c = down;
    }
    while k < 31 {
        let up = cost(k + 1);
        if up >= c {
            break;
        }
        k += 1;
        c = up;
    }
    k
}

/// Encodes `postings` (sorted, non-empty) into `out` (cleared first),
/// within `out`'s capacity: false when the encoding is longer (`out` then
/// holds a cut prefix). The callers' scratch is budgeted, so a page that
/// would encode longer than it (a far outlier in a dense run) is found
/// without growing it.
fn encode(postings: &[Posting], out: &mut Vec<u8>) -> bool {
    out.clear();
    let width = postings
        .iter()
        .filter(|p| p.1 < HIGH)
        .map(|p| 64 - p.1.leading_zeros())
        .max()
        .unwrap_or(0);
    let high = postings.iter().any(|p| p.1 >= HIGH);
    let runs = 1 + postings.windows(2).filter(|w| w[0].0 != w[1].0).count();
    let mut w = BitWriter::new(out);
    w.put(u64::from(width), 6);
    w.put(u64::from(high), 1);
    w.gamma(runs as u64);
    let mut prev_key = None;
    let mut rest = postings;
    while let Some(&(key, _)) = rest.first() {
        let len = rest.iter().take_while(|p| p.0 == key).count();
        let (run, after) = rest.split_at(len);
        rest = after;
        if let Some(prev) = prev_key {
            put_key(&mut w, prev, key);
        }
        prev_key = Some(key);
        let lows = run.iter().take_while(|p| p.1 < HIGH).count();
        let (low, highs) = run.split_at(lows);
        if high {
            w.gamma(lows as u64 + 1);
            w.gamma(highs.len() as u64 + 1);
        } else {
            w.gamma(lows as u64);
        }
        if let Some(&(_, t0)) = low.first() {
            w.put(t0, width);
            if lows >= 2 {
                let gaps = low.windows(2).map(|g| g[1].1 - g[0].1);
                let k = best_rice(gaps.clone());
                w.put(u64::from(k), 5);
                for g in gaps {
                    w.rice(g - 1, k);
                }
            }
        }
        for &(_, t) in highs {
            w.gamma(t >> 32);
            w.put(t, 32);
        }
    }
    w.finish()
}

/// Writes `key`, which follows `prev` (module doc).
fn put_key(w: &mut BitWriter<'_>, prev: u64, key: u64) {
    let shared = ((key ^ prev).leading_zeros() / 8) as usize;
    let used = 8 - (key.trailing_zeros() / 8) as usize;
    let (kb, pb) = (key.to_be_bytes(), prev.to_be_bytes());
    w.put(shared as u64, 3);
    w.put((used - shared - 1) as u64, 3);
    w.gamma(u64::from(kb[shared] - pb[shared]));
    for &b in &kb[shared + 1..used] {
        w.put(u64::from(b), 8);
    }
}

/// Reads a key written by [`put_key`] after `prev`.
fn get_key(r: &mut BitReader<'_>, prev: u64) -> Option<u64> {
    let shared = r.get(3)? as usize;
    let len = r.get(3)? as usize + 1;
    if shared + len > 8 {
        return None;
    }
    let mut kb = prev.to_be_bytes();
    let up = r.gamma()?;
    kb[shared] = u8::try_from(u64::from(kb[shared]) + up).ok()?;
    for b in &mut kb[shared + 1..shared + len] {
        *b = r.get(8)? as u8;
    }
    kb[shared + len..].fill(0);
    Some(u64::from_be_bytes(kb))
}

/// Calls `each` with the postings of the page starting with key `first_key`
/// coded in `bits`, in order, until it returns false. `Some(true)` when every
/// posting was passed, `Some(false)` when `each` stopped, `None` when the bits
/// are malformed (never for a page this module wrote).
fn walk(bits: &[u8], first_key: u64, mut each: impl FnMut(Posting) -> bool) -> Option<bool> {
    let mut r = BitReader::new(bits);
    let width = r.get(6)? as u32;
    if width > 32 {
        return None;
    }
    let high = r.get(1)? == 1;
    let runs = r.gamma()?;
    let mut key = first_key;
    for run in 0..runs {
        if run > 0 {
            key = get_key(&mut r, key)?;
        }
        let (lows, highs) = if high {
            (r.gamma()? - 1, r.gamma()? - 1)
        } else {
            (r.gamma()?, 0)
        };
        // Every posting after a run's first costs a bit or more.
        if lows.saturating_add(highs) > r.remaining() as u64 + 1 {
            return None;
        }
        if lows > 0 {
            let mut t = r.get(width)?;
            if !each((key, t)) {
                return Some(false);
            }
            if lows >= 2 {
                let k = r.get(5)? as u32;
                for _ in 1..lows {
                    t = t.checked_add(r.rice(k, HIGH)? + 1)?;
                    if !each((key, t)) {
                        return Some(false);
                    }
                }
            }
        }
        for _ in 0..highs {
            let hi = r.gamma()?;
            let t = hi.checked_mul(HIGH)? | r.get(32)?;
            if !each((key, t)) {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// Decodes a page this module wrote into `out` (cleared first).
fn decode_page(page: &Page, out: &mut Vec<Posting>) {
    out.clear();
    walk(&page.bits, page.first.0, |p| {
        out.push(p);
        true
    });
}

/// Capacity of the decode buffer for an index of `postings`: a page plus the
/// posting being inserted. No page holds more than the index does, so a small
/// store does not pay for a full page's buffer (25 KB) up front; it grows in
/// powers of two to keep reallocations few.
fn decoded_capacity(postings: usize) -> usize {
    postings.max(16).next_power_of_two().min(MAX_PAGE_POSTINGS) + 1
}

/// Grows the (empty) decode buffer to [`decoded_capacity`] of `postings`.
fn hold_decoded(decoded: &mut Vec<Posting>, postings: usize) {
    let target = decoded_capacity(postings);
    if target > decoded.capacity() {
        decoded.reserve_exact(target - decoded.len());
    }
}

/// Merges `new` (sorted, unique) into `all` (sorted, unique) within `all`'s
/// capacity, leaving out what `all` already holds; returns how many were
/// added. From the back, so that nothing is moved twice.
fn merge_in_place(all: &mut Vec<Posting>, new: &[Posting]) -> usize {
    let old = all.len();
    let added = new
        .iter()
        .filter(|p| all[..old].binary_search(p).is_err())
        .count();
    all.resize(old + added, (0, 0));
    let (mut i, mut j, mut k) = (old, new.len(), old + added);
    while j > 0 {
        let n = new[j - 1];
        if i > 0 && all[i - 1] >= n {
            if all[i - 1] == n {
                j -= 1; // already there
            } else {
                k -= 1;
                all[k] = all[i - 1];
                i -= 1;
            }
        } else {
            k -= 1;
            all[k] = n;
            j -= 1;
        }
    }
    added
}

/// A page of `postings` (sorted, non-empty), encoded through `scratch`,
/// which the caller has checked it fits.
fn page_of_postings(postings: &[Posting], scratch: &mut Vec<u8>) -> Page {
    let fits = encode(postings, scratch);
    debug_assert!(fits, "a page's postings were checked to fit the scratch");
    let page = Page {
        first: postings[0],
        bits: Box::from(&scratch[..]),
    };
    scratch.clear();
    page
}

impl TermIndex {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.pages)
            + vec_bytes(&self.marks)
            + self.pages.iter().map(|p| p.bits.len()).sum::<usize>()
            + vec_bytes(&self.decoded)
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

    /// Most bytes inserting `n` postings can add (module doc), with the
    /// scratch buffers grown to a page.
    pub fn insert_cost(&self, n: usize) -> usize {
        n * MAX_INSERT_BYTES
            + growth_bytes(&self.pages, MAX_NEW_PAGES * n)
            + growth_bytes(&self.marks, MAX_NEW_PAGES * n)
            + decoded_capacity(self.postings + n).saturating_sub(self.decoded.capacity())
                * core::mem::size_of::<Posting>()
            + (PAGE_BYTES + PAGE_SLACK + MAX_GROWTH_BYTES).saturating_sub(self.scratch.capacity())
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
        hold_decoded(&mut self.decoded, self.postings + 1);
        grow_to(
            &mut self.scratch,
            PAGE_BYTES + PAGE_SLACK + MAX_GROWTH_BYTES,
        );
        if self.pages.is_empty() {
            grow_to(&mut self.pages, 1);
            grow_to(&mut self.marks, 1);
            let page = page_of_postings(&[p], &mut self.scratch);
            self.pages.push(page);
            self.marks.push(mark);
            self.postings += 1;
            return true;
        }
        let i = self.page_of(p);
        if self.pages[i].first == p {
            return false;
        }
        let mut all = core::mem::take(&mut self.decoded);
        decode_page(&self.pages[i], &mut all);
        let at = match all.binary_search(&p) {
            Ok(_) => {
                all.clear();
                self.decoded = all;
                return false;
            }
            Err(at) => at,
        };
        all.insert(at, p);
        self.postings += 1;
        self.marks[i] = self.marks[i].max(mark);
        let fits = encode(&all, &mut self.scratch);
        let old = self.pages[i].bits.len();
        if !fits || self.scratch.len() > old + MAX_GROWTH_BYTES {
            // A far outlier in a dense run (or a wider page): the parts
            // around `p` are no longer than the page was.
            let parts = [&all[..at], &all[at..=at], &all[at + 1..]];
            self.replace(i, &parts);
        } else {
            self.put_encoded(i, &all);
        }
        self.scratch.clear();
        all.clear();
        self.decoded = all;
        true
    }

    /// Adds every posting of `batch` (sorted and deduplicated here), each
    /// marked `mark_of(posting)`; returns how many were not there. Room must
    /// have been checked with [`TermIndex::insert_cost`] of `batch.len()`.
    ///
    /// Costs one decode and encode per page touched instead of one per
    /// posting: a page's new postings are merged in one go when that grows it
    /// by at most [`MAX_GROWTH_BYTES`] a new posting (halving it when it then
    /// passes the page limits, which adds less than the 16 bytes a posting
    /// [`MAX_INSERT_BYTES`] leaves beside that). Otherwise they go in one by
    /// one, so a batch never costs more room than the same inserts would.
    pub fn insert_batch(
        &mut self,
        batch: &mut Vec<Posting>,
        mark_of: impl Fn(Posting) -> u16,
    ) -> usize {
        batch.sort_unstable();
        batch.dedup();
        let before = self.postings;
        hold_decoded(&mut self.decoded, self.postings + batch.len());
        // From the last page down, so that a page split while merging never
        // moves the pages still to come.
        let mut end = batch.len();
        while end > 0 {
            let last = batch[end - 1];
            if self.pages.is_empty() {
                self.insert_marked(last, mark_of(last));
                end -= 1;
                continue;
            }
            let i = self.page_of(last);
            let first = self.pages[i].first;
            let start = if i == 0 {
                0
            } else {
                batch[..end].partition_point(|&q| q < first)
            };
            self.merge_into_page(i, &batch[start..end], &mark_of);
            end = start;
        }
        self.postings - before
    }

    /// Adds `group` (sorted, all of them within page `i`'s range) to page
    /// `i` as [`TermIndex::insert_batch`] says.
    fn merge_into_page(&mut self, i: usize, group: &[Posting], mark_of: &impl Fn(Posting) -> u16) {
        grow_to(
            &mut self.scratch,
            PAGE_BYTES + PAGE_SLACK + MAX_GROWTH_BYTES,
        );
        let mut all = core::mem::take(&mut self.decoded);
        decode_page(&self.pages[i], &mut all);
        let old_len = all.len();
        // Within the decode buffer's capacity (no growth), or one by one.
        let merged = group.len() > 1 && old_len + group.len() <= all.capacity() && {
            let added = merge_in_place(&mut all, group);
            let fits = encode(&all, &mut self.scratch);
            if added == 0 {
                true
            } else if !fits
                || self.scratch.len() > self.pages[i].bits.len() + added * MAX_GROWTH_BYTES
            {
                false
            } else {
                self.postings += added;
                let mark = group.iter().map(|&p| mark_of(p)).max().unwrap_or(0);
                self.marks[i] = self.marks[i].max(mark);
                self.put_encoded(i, &all);
                true
            }
        };
        self.scratch.clear();
        all.clear();
        self.decoded = all;
        if !merged {
            for &p in group {
                self.insert_marked(p, mark_of(p));
            }
        }
    }

    /// Makes `all`, page `i`'s postings less some removed, page `i`: gone
    /// when empty, halved when the removal took it past the limits (module
    /// doc).
    fn put_after_removal(&mut self, i: usize, all: &[Posting]) {
        if all.is_empty() {
            self.pages.remove(i);
            self.marks.remove(i);
        } else if encode(all, &mut self.scratch) && self.scratch.len() <= PAGE_BYTES + PAGE_SLACK {
            self.pages[i] = Page {
                first: all[0],
                bits: Box::from(&self.scratch[..]),
            };
        } else {
            self.scratch.clear();
            self.replace(i, &[all]);
        }
        self.scratch.clear();
    }

    /// Makes `all`, just encoded into the scratch, page `i`: halved when it
    /// passes the page limits.
    fn put_encoded(&mut self, i: usize, all: &[Posting]) {
        if self.scratch.len() > PAGE_BYTES || all.len() > MAX_PAGE_POSTINGS {
            let half = all.len() / 2;
            self.replace(i, &[&all[..half], &all[half..]]);
        } else {
            self.pages[i] = Page {
                first: all[0],
                bits: Box::from(&self.scratch[..]),
            };
        }
    }

    /// Replaces page `i` by pages of the non-empty `parts`, which inherit its
    /// mark; a part beyond the page limits is halved until it is within.
    fn replace(&mut self, i: usize, parts: &[&[Posting]]) {
        let mark = self.marks[i];
        let mut at = i;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            at = self.put_pages(at, part, mark, at == i);
        }
    }

    /// Puts pages of `part` at `at` (over the page there when `over`), split
    /// into halves while a page would break the limits; the slot after them.
    fn put_pages(&mut self, at: usize, part: &[Posting], mark: u16, over: bool) -> usize {
        let fits = encode(part, &mut self.scratch);
        if part.len() > 1
            && (!fits
                || self.scratch.len() > PAGE_BYTES + PAGE_SLACK
                || part.len() > MAX_PAGE_POSTINGS)
        {
            let (left, right) = part.split_at(part.len() / 2);
            let next = self.put_pages(at, left, mark, over);
            return self.put_pages(next, right, mark, false);
        }
        let page = page_of_postings(part, &mut self.scratch);
        if over {
            self.pages[at] = page;
        } else {
            grow_to(&mut self.pages, 1);
            grow_to(&mut self.marks, 1);
            self.pages.insert(at, page);
            self.marks.insert(at, mark);
        }
        at + 1
    }

    /// Most bytes removing postings can add, given for each the growth the
    /// caller cannot rule out (`(key, bytes)`, at most [`removal_growth`] of
    /// the key): those bytes, and a split for each page they could take past
    /// the limits (any page that may hold the key).
    pub fn removal_room(&self, growths: impl Iterator<Item = (u64, usize)> + Clone) -> usize {
        let total: usize = growths.clone().map(|(_, g)| g).sum();
        if total == 0 || self.pages.is_empty() {
            return 0;
        }
        let splits = growths
            .filter(|&(key, g)| {
                let pages = self.page_of((key, 0))..=self.page_of((key, u64::MAX));
                g > 0
                    && self.pages[pages]
                        .iter()
                        .any(|page| page.bits.len() + total > PAGE_BYTES + PAGE_SLACK)
            })
            .count();
        total
            + splits * SPLIT_BYTES
            + growth_bytes(&self.pages, splits)
            + growth_bytes(&self.marks, splits)
    }

    /// Removes `p`; true if it was there. Room must have been checked with
    /// [`TermIndex::removal_room`].
    pub fn remove(&mut self, p: Posting) -> bool {
        if self.pages.is_empty() {
            return false;
        }
        let i = self.page_of(p);
        let mut all = core::mem::take(&mut self.decoded);
        decode_page(&self.pages[i], &mut all);
        let found = match all.binary_search(&p) {
            Ok(at) => {
                all.remove(at);
                self.postings -= 1;
                self.put_after_removal(i, &all);
                true
            }
            Err(_) => false,
        };
        all.clear();
        self.decoded = all;
        found
    }

    /// Removes every posting of `postings` that is there (sorted here) and
    /// returns how many were. Each page changes once, from the last: the
    /// same pages as one removal after another (a page's bytes are a
    /// function of its postings), for one decode and encode a page instead
    /// of one a posting. Room must have been checked with
    /// [`TermIndex::removal_room`] of all their keys.
    pub fn remove_batch(&mut self, postings: &mut [Posting]) -> usize {
        postings.sort_unstable();
        let mut removed = 0;
        let mut end = postings.len();
        while end > 0 && !self.pages.is_empty() {
            let i = self.page_of(postings[end - 1]);
            let first = self.pages[i].first;
            let start = if i == 0 {
                0
            } else {
                postings[..end].partition_point(|&p| p < first)
            };
            let group = &postings[start..end];
            end = start;
            let mut all = core::mem::take(&mut self.decoded);
            decode_page(&self.pages[i], &mut all);
            let before = all.len();
            all.retain(|p| group.binary_search(p).is_err());
            let gone = before - all.len();
            if gone > 0 {
                removed += gone;
                self.postings -= gone;
                self.put_after_removal(i, &all);
            }
            all.clear();
            self.decoded = all;
        }
        removed
    }

    /// Calls `each` with every posting whose key lies in `lo..=hi`, in order;
    /// stops early when `each` returns false.
    pub fn scan(&self, lo: u64, hi: u64, each: impl FnMut(Posting) -> bool) {
        self.scan_skipping(lo, hi, |_, _| false, each);
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
            let mut done = false;
            walk(&page.bits, page.first.0, |p| {
                if p.0 > hi || (p.0 >= lo && !each(p)) {
                    done = true;
                    return false;
                }
                true
            });
            if done {
                return;
            }
        }
    }

    /// Sets every page's mark to the largest `mark_of` of its postings.
    pub fn refresh_marks(&mut self, mut mark_of: impl FnMut(Posting) -> u16) {
        for (page, mark) in self.pages.iter().zip(self.marks.iter_mut()) {
            let mut best = 0;
            walk(&page.bits, page.first.0, |p| {
                best = best.max(mark_of(p));
                true
            });
            *mark = best;
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
    /// (8 bytes, big-endian), first target (varint) and bits (byte string).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        format::put_varint(out, self.pages.len() as u64);
        for p in &self.pages {
            out.extend_from_slice(&p.first.0.to_be_bytes());
            format::put_varint(out, p.first.1);
            format::put_bytes(out, &p.bits);
        }
    }

    /// Reads pages written by [`TermIndex::encode_into`], checking that every
    /// page decodes to strictly increasing postings that follow the previous
    /// page's and start with its first posting, within the page limits, and
    /// that each page is in canonical form.
    pub fn decode(r: &mut Reader<'_>) -> Result<TermIndex, WireError> {
        let count = r.varint_max(u64::from(u32::MAX), "page count")? as usize;
        let mut ix = TermIndex {
            // Held from here on (removal must never need room); a canonical
            // page fits it.
            scratch: Vec::with_capacity(PAGE_BYTES + PAGE_SLACK + MAX_GROWTH_BYTES),
            ..TermIndex::default()
        };
        let mut last: Option<Posting> = None;
        let mut postings = Vec::new();
        for _ in 0..count {
            let key = u64::from_be_bytes(
                r.take(8)?
                    .try_into()
                    .map_err(|_| WireError::Invalid("page key"))?,
            );
            let target = r.varint()?;
            let bits = r.bytes()?;
            if bits.len() > PAGE_BYTES + PAGE_SLACK {
                return Err(WireError::Invalid("page size"));
            }
            postings.clear();
            let complete = walk(bits, key, |p| {
                postings.push(p);
                postings.len() <= MAX_PAGE_POSTINGS
            });
            match complete {
                None => return Err(WireError::Invalid("page bits")),
                Some(false) => return Err(WireError::Invalid("page postings")),
                Some(true) => {}
            }
            if postings.first() != Some(&(key, target)) {
                return Err(WireError::Invalid("page first posting"));
            }
            for &p in &postings {
                if last.is_some_and(|l| l >= p) {
                    return Err(WireError::Invalid("postings out of order"));
                }
                last = Some(p);
            }
            // Only the bytes this code would write: page sizes bound what
            // an insert costs, and equal sets must have equal pages.
            if !encode(&postings, &mut ix.scratch) || ix.scratch[..] != bits[..] {
                return Err(WireError::Invalid("page not in canonical form"));
            }
            ix.postings += postings.len();
            grow_to(&mut ix.pages, 1);
            grow_to(&mut ix.marks, 1);
            // Unknown until the owner refreshes them: as high as can be.
            ix.marks.push(u16::MAX);
            ix.pages.push(Page {
                first: (key, target),
                bits: Box::from(bits),
            });
        }
        ix.pages.shrink_to_fit();
        ix.marks.shrink_to_fit();
        // Removal must never need room: its buffers are held from here on.
        ix.scratch.clear();
        hold_decoded(&mut ix.decoded, ix.postings);
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec;
    use proptest::prelude::*;

    fn all(ix: &TermIndex) -> Vec<Posting> {
        let mut v = Vec::new();
        ix.scan(0, u64::MAX, |p| {
            v.push(p);
            true
        });
        v
    }

    /// Keys that share prefixes, differ in the middle and end in zeros;
    /// targets that are dense, far apart, or stubs.
    fn posting() -> impl Strategy<Value = Posting> {
        (
            0u64..64,
            0u64..4,
            any::<u8>(),
            prop_oneof![
                0u64..300,
                0u64..1 << 20,
                (1u64..3).prop_map(|h| h << 32 | 7)
            ],
        )
            .prop_map(|(hi, mid, lo, t)| (hi << 56 | mid << 40 | u64::from(lo) << 8, t))
    }

    fn reload(ix: &TermIndex) -> TermIndex {
        let mut out = Vec::new();
        ix.encode_into(&mut out);
        let mut r = Reader::new(&out);
        let back = TermIndex::decode(&mut r).expect("own pages load");
        assert!(r.is_done());
        back
    }

    proptest! {
        // Each case runs thousands of page re-encodings (slow in debug builds).
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec((any::<bool>(), posting()), 0..3000)) {
            let mut ix = TermIndex::default();
            let mut model = BTreeSet::new();
            for (insert, p) in ops {
                let before = ix.heap_bytes();
                if insert {
                    let cost = ix.insert_cost(1);
                    prop_assert_eq!(ix.insert(p), model.insert(p));
                    prop_assert!(ix.heap_bytes() <= before + cost,
                        "insert grew {} bytes, cost said {}", ix.heap_bytes() - before, cost);
                } else {
                    let room = ix.removal_room(core::iter::once((p.0, removal_growth(p.0))));
                    prop_assert_eq!(ix.remove(p), model.remove(&p));
                    prop_assert!(ix.heap_bytes() <= before + room,
                        "a removal grew the index {} bytes, room said {}", ix.heap_bytes() - before, room);
                }
            }
            prop_assert_eq!(all(&ix), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(ix.len(), model.len());
            let (lo, hi) = (5u64 << 56, 9u64 << 56 | 0xff);
            let mut got = Vec::new();
            ix.scan(lo, hi, |p| { got.push(p); true });
            let want: Vec<_> = model.iter().copied().filter(|p| p.0 >= lo && p.0 <= hi).collect();
            prop_assert_eq!(got, want);
            let back = reload(&ix);
            prop_assert_eq!(all(&back), all(&ix));
        }

        #[test]
        fn batches_behave_like_the_same_inserts(
            batches in proptest::collection::vec((proptest::collection::vec(posting(), 0..600), proptest::collection::vec(posting(), 0..40)), 1..8),
        ) {
            let mut ix = TermIndex::default();
            let mut model = BTreeSet::new();
            let mark_of = |p: Posting| (p.1 % 1000) as u16;
            for (batch, removals) in batches {
                let before = ix.heap_bytes();
                let cost = ix.insert_cost(batch.len());
                let new = batch.iter().filter(|&&p| !model.contains(&p)).collect::<BTreeSet<_>>().len();
                model.extend(batch.iter().copied());
                let mut batch = batch;
                prop_assert_eq!(ix.insert_batch(&mut batch, mark_of), new);
                prop_assert!(ix.heap_bytes() <= before + cost,
                    "a batch grew {} bytes, cost said {}", ix.heap_bytes() - before, cost);
                for p in removals {
                    prop_assert_eq!(ix.remove(p), model.remove(&p));
                }
            }
            prop_assert_eq!(all(&ix), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(ix.len(), model.len());
            // Every page's mark is still an upper bound of its postings'.
            for (page, &mark) in ix.pages.iter().zip(&ix.marks) {
                walk(&page.bits, page.first.0, |p| {
                    assert!(mark_of(p) <= mark, "{p:?} marked {} above its page's {mark}", mark_of(p));
                    true
                });
            }
            // Canonical pages within the limits (the reader checks both).
            prop_assert_eq!(all(&reload(&ix)), all(&ix));
        }

        #[test]
        fn removal_from_a_loaded_index_stays_within_its_room(ps in proptest::collection::vec(posting(), 1..2000), pick in any::<prop::sample::Index>()) {
            let mut ix = TermIndex::default();
            for &p in &ps {
                ix.insert(p);
            }
            let mut back = reload(&ix);
            let before = back.heap_bytes();
            let p = ps[pick.index(ps.len())];
            let room = back.removal_room(core::iter::once((p.0, removal_growth(p.0))));
            prop_assert!(back.remove(p));
            // Within its room (a loaded index holds its decoding buffers,
            // so only the page itself can grow).
            prop_assert!(back.heap_bytes() <= before + room,
                "removal grew {} bytes, room said {}", back.heap_bytes() - before, room);
        }

        #[test]
        fn a_batch_removal_is_the_same_removals_one_by_one(
            ps in proptest::collection::vec(posting(), 1..2000),
            gone in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..300),
            others in proptest::collection::vec(posting(), 0..20),
        ) {
            let mut one_by_one = TermIndex::default();
            for &p in &ps {
                one_by_one.insert(p);
            }
            let mut batched = reload(&one_by_one);
            // Postings that are there (some twice) and some that may not be.
            let mut batch: Vec<Posting> = gone
                .iter()
                .flat_map(|(at, twice)| {
                    let p = ps[at.index(ps.len())];
                    core::iter::repeat(p).take(if *twice { 2 } else { 1 })
                })
                .chain(others.iter().copied())
                .collect();
            let before = batched.heap_bytes();
            let room = batched.removal_room(batch.iter().map(|p| (p.0, removal_growth(p.0))));
            let mut removed = 0;
            for &p in &batch {
                if one_by_one.remove(p) {
                    removed += 1;
                }
            }
            prop_assert_eq!(batched.remove_batch(&mut batch), removed);
            prop_assert_eq!(all(&batched), all(&one_by_one));
            prop_assert_eq!(batched.len(), one_by_one.len());
            prop_assert!(batched.heap_bytes() <= before + room,
                "a batch removal grew {} bytes, room said {}", batched.heap_bytes() - before, room);
            prop_assert_eq!(all(&reload(&batched)), all(&batched));
        }

        #[test]
        fn removal_never_grows_a_page_of_keys_without_inner_zeros(
            ps in proptest::collection::vec((proptest::collection::vec(0x61u8..0x64, 1..9), 0u64..1 << 20), 1..800),
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..40),
        ) {
            // Word-like keys: non-zero bytes, then zeros; many share prefixes.
            let ps: Vec<Posting> = ps.into_iter().map(|(bytes, t)| {
                let mut k = [0u8; 8];
                k[..bytes.len()].copy_from_slice(&bytes);
                (u64::from_be_bytes(k), t)
            }).collect();
            let mut ix = TermIndex::default();
            for &p in &ps {
                ix.insert(p);
            }
            for pick in picks {
                let p = ps[pick.index(ps.len())];
                let before = ix.heap_bytes();
                ix.remove(p);
                prop_assert!(ix.heap_bytes() <= before,
                    "removing {:016x} grew the index {} bytes", p.0, ix.heap_bytes() - before);
            }
        }

        #[test]
        fn hostile_pages_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut r = Reader::new(&bytes);
            if let Ok(ix) = TermIndex::decode(&mut r) {
                // Whatever loads is a valid sorted set.
                let v = all(&ix);
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
                prop_assert_eq!(v.len(), ix.len());
            }
        }

        #[test]
        fn a_flipped_bit_in_a_page_is_refused_or_harmless(ps in proptest::collection::vec(posting(), 1..500), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut ix = TermIndex::default();
            for &p in &ps {
                ix.insert(p);
            }
            let mut out = Vec::new();
            ix.encode_into(&mut out);
            let i = at.index(out.len());
            out[i] ^= 1 << bit;
            if let Ok(back) = TermIndex::decode(&mut Reader::new(&out)) {
                let v = all(&back);
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }

    #[test]
    fn a_dense_run_costs_a_few_bits_a_posting() {
        let mut ix = TermIndex::default();
        let key = 0x6162_0000_0000_0000;
        for t in (0..100_000u64).step_by(3) {
            ix.insert((key, t));
        }
        let bits = ix.pages.iter().map(|p| p.bits.len()).sum::<usize>() * 8;
        // Gaps of 3 cost 3 bits with k = 1.
        assert!(bits < 4 * ix.len(), "{bits} bits for {} postings", ix.len());
        // Unique keys with random-looking targets pay about a key and W bits.
        let mut ix = TermIndex::default();
        for i in 0..20_000u64 {
            let key = 0x0200_0000_0000_0000 | (i * 7919 % 20_000) << 20;
            ix.insert((key, i * 104_729 % 200_000));
        }
        let bytes = ix.pages.iter().map(|p| p.bits.len()).sum::<usize>();
        assert!(
            bytes < 7 * ix.len(),
            "{bytes} bytes for {} postings",
            ix.len()
        );
    }

    #[test]
    fn large_targets_and_full_keys_round_trip() {
        let mut ix = TermIndex::default();
        let ps = [
            (u64::MAX, u64::MAX >> 1),
            (0x0102_0304_0506_0708, 1 << 40),
            (0x0102_0304_0506_0709, 3),
            (0x0102_0304_0506_0709, u32::MAX.into()),
            (0x0102_0304_0506_0709, 5 << 32),
            (1, 0),
        ];
        for p in ps {
            assert!(ix.insert(p));
        }
        let mut want = ps.to_vec();
        want.sort();
        assert_eq!(all(&ix), want);
        assert_eq!(all(&reload(&ix)), want);
    }

    #[test]
    fn the_best_rice_parameter_is_the_cheapest() {
        for gaps in [
            vec![1u64; 50],
            vec![3, 5, 2, 8, 1],
            vec![1000, 2000, 1500],
            vec![1, 1, 1, 900_000],
        ] {
            let k = best_rice(gaps.iter().copied());
            let cost = |k: u32| {
                gaps.iter()
                    .map(|g| ((g - 1) >> k) + 1 + u64::from(k))
                    .sum::<u64>()
            };
            let best = (0..32).map(cost).min().unwrap();
            assert_eq!(cost(k), best, "{gaps:?}");
            assert!((0..k).all(|j| cost(j) > best), "smallest of the best");
        }
    }

    /// A far outlier in a long dense run re-encodes its page far longer
    /// (the run's Rice parameter jumps): found within the budgeted scratch,
    /// and split around, not written into a grown buffer.
    #[test]
    fn a_far_outlier_in_a_full_dense_run_stays_within_its_cost() {
        let mut ix = TermIndex::default();
        let key = 0x6162_6300_0000_0000;
        for n in 0..3000u64 {
            ix.insert((key, n * 1024));
        }
        for t in [1u64 << 31, (1 << 31) + 5, 3_000_000_000, 123_457] {
            let before = ix.heap_bytes();
            let cost = ix.insert_cost(1);
            ix.insert((key, t));
            assert!(
                ix.heap_bytes() <= before + cost,
                "insert of {t} grew {} bytes, cost said {cost}; scratch {}",
                ix.heap_bytes() - before,
                ix.scratch.capacity()
            );
        }
        let postings = all(&ix);
        assert_eq!(postings.len(), 3004);
        assert_eq!(all(&reload(&ix)), postings, "its pages are canonical");
    }

    /// The same in a batch: two far outliers merged into a short dense run
    /// would stretch every gap's Rice code; they go in one by one instead.
    #[test]
    fn far_outliers_in_a_batch_stay_within_their_cost() {
        let mut ix = TermIndex::default();
        let key = 0x6162_6300_0000_0000;
        ix.insert_batch(&mut (0..200u64).map(|n| (key, n)).collect(), |_| 0);
        let before = ix.heap_bytes();
        let cost = ix.insert_cost(2);
        let mut outliers = vec![(key, 1u64 << 31), (key, (1 << 31) + 7)];
        assert_eq!(ix.insert_batch(&mut outliers, |_| 0), 2);
        assert!(
            ix.heap_bytes() <= before + cost,
            "the batch grew {} bytes, cost said {cost}",
            ix.heap_bytes() - before
        );
        assert_eq!(all(&reload(&ix)).len(), 202);
    }
}
