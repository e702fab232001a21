//! Search: find records (and stubs of evicted ones) by what a rep types,
//! filtered by territory, owner, stage, tag and date windows, ranked exact >
//! prefix > substring and then by retention score.
//!
//! Owns [`SearchIndex`] (the postings of every record and stub, plus each
//! record's last planned score, all counted in the store's budget), the query
//! types ([`Query`], [`Hit`]) and the evaluation. Terms are described in
//! [`crate::terms`], folding in [`crate::fold`].
//!
//! A query's words must all match (a word matches a record when it starts a
//! word of the name, company, city or e-mail's local part — or, for ideographic text,
//! appears anywhere inside a run); a query that looks like a phone number also
//! matches national numbers that start with its digits. Filters narrow; with no
//! text the query lists records by score. Stubs carry only a name, so they are
//! found by text and never pass a filter.
//!
//! Search reads only the index, never a record, so its cost does not depend
//! on the blocks: a word is compared on its first 8 folded bytes, a phone
//! number on its first 14 digits, and ideographic text of more than three
//! characters by its overlapping 3-character pieces (see [`crate::terms`]).
//!
//! Invariant: the index holds exactly the terms of the live records and stubs
//! ([`crate::terms::record_terms`], [`crate::terms::stub_terms`]); a query is
//! read-only and costs memory only for the length of one call.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::fields::{self, Fields, Part, ReadError};
use crate::fold::{fold_words, phone_digits, Script};
use crate::model::Account;
use crate::termindex::{Posting, TermIndex};
use crate::terms::{
    self, attr, day, ideo_key, phone_key, prefix_range, prefix_range_bits, stub_target, word_key,
    IDEO, IDEO_KEY_CHARS, INNER, STUB,
};

/// Most hits one query may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Longest query text, in bytes.
pub const MAX_QUERY_BYTES: usize = 1024;
/// Most words of a query that are used; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 8;

/// How well a hit matched; the order is the ranking order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchClass {
    /// Every query word is a whole word of the record (or its whole number).
    Exact,
    /// Every query word starts a word of the record (or its number).
    Prefix,
    /// Some query word was found inside an ideographic run.
    Substring,
}

impl MatchClass {
    /// The class of rank `r` (`class as u64`); past the last, the last.
    fn from_rank(r: u64) -> MatchClass {
        match r {
            0 => MatchClass::Exact,
            1 => MatchClass::Prefix,
            _ => MatchClass::Substring,
        }
    }
}

/// A date window, inclusive, matched by whole UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// First second of the window (its UTC day counts in full).
    pub from: i64,
    /// Last second of the window (its UTC day counts in full).
    pub to: i64,
}

/// What a rep asks for. Empty filter lists do not filter; several values in
/// one list mean any of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Query {
    /// What was typed (any text; markup and control characters are just text).
    pub text: String,
    /// Territories to keep.
    pub territory: Vec<String>,
    /// Owners to keep.
    pub owner: Vec<String>,
    /// Stages to keep.
    pub stage: Vec<String>,
    /// Tags to keep (a record with any of them).
    pub tag: Vec<String>,
    /// Next visit within this window.
    pub next_visit: Option<Window>,
    /// Last contact within this window.
    pub last_contact: Option<Window>,
    /// Most hits wanted (1 to [`MAX_LIMIT`]; 0 means 20).
    pub limit: usize,
}

impl Query {
    /// Reads a query from its JSON, parsed (`{"text": "acme", "stage":
    /// ["won"], "limit": 20}`, every member optional). Refuses, naming the
    /// member's path, what serde's derive refuses.
    pub fn from_json_value(tree: &Value) -> Result<Query, ReadError> {
        fields::read(tree, "query")
    }

    /// A query for `text` with no filters and the default limit.
    pub fn text(text: &str) -> Query {
        Query {
            text: text.into(),
            ..Query::default()
        }
    }

    fn has_filters(&self) -> bool {
        !(self.territory.is_empty()
            && self.owner.is_empty()
            && self.stage.is_empty()
            && self.tag.is_empty()
            && self.next_visit.is_none()
            && self.last_contact.is_none())
    }
}

/// What a hit is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HitRef {
    /// A record on the device, by local id (valid until the next write; read
    /// it with [`crate::store::Store::get_local`]).
    Record(u32),
    /// An evicted record: not on the device, fetch it when online.
    Stub {
        /// Backend id.
        id: String,
        /// Display name.
        name: String,
    },
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The record or stub.
    pub target: HitRef,
    /// How it matched.
    pub class: MatchClass,
    /// Its score at the last plan (to 3 significant digits; 0 before any).
    pub score: u32,
}

impl Hit {
    /// True when the record is on the device (not a stub).
    pub fn on_device(&self) -> bool {
        matches!(self.target, HitRef::Record(_))
    }
}

/// Why a query was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchError {
    /// The limit is above [`MAX_LIMIT`].
    LimitTooLarge {
        /// The limit asked for.
        limit: usize,
    },
    /// The text is longer than [`MAX_QUERY_BYTES`].
    QueryTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The store's search index did not fit in the budget when the store was
    /// opened; [`crate::store::Store::retain`] frees room and rebuilds it.
    IndexUnavailable,
    /// A window ends before it starts.
    EmptyWindow {
        /// `next_visit` or `last_contact`.
        field: &'static str,
    },
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::LimitTooLarge { limit } => {
                write!(f, "limit {limit} is above the maximum of {MAX_LIMIT}")
            }
            SearchError::QueryTooLong { len } => write!(
                f,
                "query of {len} bytes is longer than the maximum of {MAX_QUERY_BYTES}"
            ),
            SearchError::IndexUnavailable => f.write_str(
                "the search index did not fit in the budget at open; plan (retain) to rebuild it",
            ),
            SearchError::EmptyWindow { field } => {
                write!(f, "{field} window ends before it starts")
            }
        }
    }
}

/// A score squeezed into 16 bits, keeping order (11 significant bits).
pub fn quantize(score: u32) -> u16 {
    if score < 1 << 11 {
        return score as u16;
    }
    let e = 31 - score.leading_zeros(); // 11..=31
    let mantissa = (score >> (e - 11)) & 0x7ff;
    (((e - 10) << 11) | mantissa) as u16
}

/// The smallest score that [`quantize`]s to `q`.
pub fn dequantize(q: u16) -> u32 {
    let q = u32::from(q);
    if q < 1 << 11 {
        return q;
    }
    let e = (q >> 11) + 10;
    (1 << e) | ((q & 0x7ff) << (e - 11))
}

/// Snapshot flag of an index kept in the page encoding of format version 1
/// (byte-coded pages): read past, and the index rebuilt on open.
const INDEX_KEPT_V1: u8 = 1;
/// Snapshot flag of an index kept in [`TermIndex`]'s bit-coded pages.
const INDEX_KEPT: u8 = 2;

/// Reads past a version-1 index (scores, then pages of first key, first
/// target and a byte string), checking only its framing.
fn skip_v1_index(r: &mut crate::format::Reader<'_>) -> Result<(), crate::format::WireError> {
    use crate::format::WireError;
    let n = r.varint_max(u64::from(u32::MAX), "score count")? as usize;
    r.take(n.checked_mul(2).ok_or(WireError::Invalid("score count"))?)?;
    let pages = r.varint_max(u64::from(u32::MAX), "page count")?;
    for _ in 0..pages {
        r.take(8)?;
        r.varint()?;
        r.bytes()?;
    }
    Ok(())
}

/// The postings of every record and stub, and each record's last score.
#[derive(Default)]
pub struct SearchIndex {
    terms: TermIndex,
    /// Quantized score of each local id at the last plan (cells, so that a
    /// plan can set them while it reads the store).
    ranks: Vec<Cell<u16>>,
    /// False when the index did not fit at open: then it holds nothing,
    /// writes do not maintain it and searches are refused until a rebuild.
    disabled: bool,
    /// Term scratch (its capacity is counted).
    scratch: Vec<u64>,
}

impl SearchIndex {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.terms.heap_bytes() + vec_bytes(&self.ranks) + vec_bytes(&self.scratch)
    }

    /// Number of postings.
    pub fn postings(&self) -> usize {
        self.terms.len()
    }

    /// Bytes indexing a record with `terms` terms at `local` may add, at most.
    pub(crate) fn add_cost(&self, terms: usize, local_bound: usize) -> usize {
        if self.disabled {
            return 0;
        }
        self.terms.insert_cost(terms)
            + growth_bytes(
                &self.ranks,
                (local_bound + 1).saturating_sub(self.ranks.len()),
            )
            + growth_bytes(&self.scratch, terms::MAX_TERMS)
    }

    /// Indexes record `a` at `local`.
    pub(crate) fn add_record(&mut self, local: u32, a: &Account) {
        if self.disabled {
            return;
        }
        grow_to(&mut self.scratch, terms::MAX_TERMS);
        terms::record_terms(a, &mut self.scratch);
        let keys = core::mem::take(&mut self.scratch);
        self.add_record_terms(local, &keys);
        self.scratch = keys;
        self.scratch.clear();
    }

    /// Indexes a record at `local` whose terms ([`terms::record_terms`]) the
    /// caller already has.
    pub(crate) fn add_record_terms(&mut self, local: u32, keys: &[u64]) {
        if self.disabled {
            return;
        }
        let need = (local as usize + 1).saturating_sub(self.ranks.len());
        if need > 0 {
            grow_to(&mut self.ranks, need);
            self.ranks.resize(local as usize + 1, Cell::new(0));
        }
        let rank = self.rank(local);
        for &k in keys {
            self.terms.insert_marked((k, u64::from(local)), rank);
        }
    }

    /// Indexes several records at once, each a distinct `local` with its
    /// terms: one page encoding per page touched rather than per posting
    /// ([`TermIndex::insert_batch`]), which was most of an import's time.
    pub(crate) fn add_records_terms(&mut self, records: &[(u32, &[u64])]) {
        if self.disabled {
            return;
        }
        let Some(top) = records.iter().map(|r| r.0 as usize).max() else {
            return;
        };
        let need = (top + 1).saturating_sub(self.ranks.len());
        if need > 0 {
            grow_to(&mut self.ranks, need);
            self.ranks.resize(top + 1, Cell::new(0));
        }
        let mut postings: Vec<Posting> = records
            .iter()
            .flat_map(|&(local, keys)| keys.iter().map(move |&k| (k, u64::from(local))))
            .collect();
        let ranks = &self.ranks;
        self.terms.insert_batch(&mut postings, |(_, t)| {
            ranks.get(t as usize).map_or(0, Cell::get)
        });
    }

    /// Most bytes forgetting `records` can add: a removal can lengthen its
    /// page a little (see [`crate::termindex`]).
    pub(crate) fn records_removal_room<'a>(
        &self,
        records: impl Iterator<Item = &'a Account>,
    ) -> usize {
        if self.disabled {
            return 0;
        }
        let mut keys = Vec::new();
        let mut one = Vec::new();
        for a in records {
            terms::record_terms(a, &mut one);
            keys.append(&mut one);
        }
        self.removal_room(&keys)
    }

    /// Forgets records (each at its local, indexed with these fields)
    /// together: each index page changes once ([`TermIndex::remove_batch`]).
    pub(crate) fn remove_records(&mut self, records: &[(u32, &Account)]) {
        if self.disabled {
            return;
        }
        let mut postings = Vec::new();
        for &(local, a) in records {
            terms::record_terms(a, &mut self.scratch);
            postings.extend(self.scratch.iter().map(|&k| (k, u64::from(local))));
            if let Some(r) = self.ranks.get(local as usize) {
                r.set(0);
            }
        }
        self.scratch.clear();
        self.terms.remove_batch(&mut postings);
    }

    /// Most bytes forgetting a stub named `name` can add.
    pub(crate) fn stub_removal_room(&self, name: &str) -> usize {
        if self.disabled {
            return 0;
        }
        let mut keys = Vec::new();
        terms::stub_terms(name, &mut keys);
        self.removal_room(&keys)
    }

    fn removal_room(&self, keys: &[u64]) -> usize {
        self.terms.removal_room(
            keys.iter()
                .map(|&k| (k, terms::removal_growth(k)))
                .filter(|&(_, g)| g > 0),
        )
    }

    /// Forgets record `a` at `local` (it was indexed with these fields).
    pub(crate) fn remove_record(&mut self, local: u32, a: &Account) {
        if self.disabled {
            return;
        }
        terms::record_terms(a, &mut self.scratch);
        for &k in &self.scratch {
            self.terms.remove((k, u64::from(local)));
        }
        self.scratch.clear();
        if let Some(r) = self.ranks.get(local as usize) {
            r.set(0);
        }
    }

    /// Number of terms a stub named `name` has.
    pub(crate) fn stub_terms(&self, name: &str) -> usize {
        let mut t = Vec::new();
        terms::stub_terms(name, &mut t);
        t.len()
    }

    /// Indexes the stub of `id` named `name`, scored `score`.
    pub(crate) fn add_stub(&mut self, id: &str, name: &str, score: u32) {
        if self.disabled {
            return;
        }
        grow_to(&mut self.scratch, terms::MAX_TERMS);
        terms::stub_terms(name, &mut self.scratch);
        let target = stub_target(id);
        for &k in &self.scratch {
            self.terms.insert_marked((k, target), quantize(score));
        }
        self.scratch.clear();
    }

    /// Forgets the stub of `id` named `name`. Another stub whose id has the
    /// same tag may share a posting; it is put back from `others`.
    pub(crate) fn remove_stub(
        &mut self,
        id: &str,
        name: &str,
        others: impl Iterator<Item = (String, u32)>,
    ) {
        if self.disabled {
            return;
        }
        terms::stub_terms(name, &mut self.scratch);
        let target = stub_target(id);
        for &k in &self.scratch {
            self.terms.remove((k, target));
        }
        self.scratch.clear();
        for (other, score) in others {
            // Re-adding never grows past what the removal freed.
            terms::stub_terms(&other, &mut self.scratch);
            for &k in &self.scratch {
                self.terms.insert_marked((k, target), quantize(score));
            }
            self.scratch.clear();
        }
    }

    /// Writes the index for a snapshot: a flag (0: not kept, rebuild on
    /// open), then the scores (count, 2 bytes each, little-endian) and the
    /// pages ([`TermIndex::encode_into`]).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        if self.disabled {
            out.push(0);
            return;
        }
        out.push(INDEX_KEPT);
        crate::format::put_varint(out, self.ranks.len() as u64);
        for r in &self.ranks {
            out.extend_from_slice(&r.get().to_le_bytes());
        }
        self.terms.encode_into(out);
    }

    /// Reads what [`SearchIndex::encode_into`] wrote; `None` for "not kept".
    pub(crate) fn decode(
        r: &mut crate::format::Reader<'_>,
    ) -> Result<Option<SearchIndex>, crate::format::WireError> {
        use crate::format::WireError;
        match r.take(1)?[0] {
            0 => return Ok(None),
            INDEX_KEPT_V1 => {
                skip_v1_index(r)?;
                return Ok(None);
            }
            INDEX_KEPT => {}
            _ => return Err(WireError::Invalid("search index flag")),
        }
        let n = r.varint_max(u64::from(u32::MAX), "score count")? as usize;
        let bytes = r.take(n.checked_mul(2).ok_or(WireError::Invalid("score count"))?)?;
        let mut ranks = Vec::new();
        ranks.reserve_exact(n);
        ranks.extend(
            bytes
                .chunks_exact(2)
                .map(|b| Cell::new(u16::from_le_bytes([b[0], b[1]]))),
        );
        let terms = TermIndex::decode(r)?;
        // Removing a record reads its terms into the scratch, which must
        // not need room then: the buffer is held from here on, as the live
        // index holds it after its first insert.
        let mut scratch = Vec::new();
        scratch.reserve_exact(terms::MAX_TERMS);
        Ok(Some(SearchIndex {
            terms,
            ranks,
            scratch,
            disabled: false,
        }))
    }

    /// Records `score` as `local`'s rank.
    pub(crate) fn set_score(&self, local: u32, score: u32) {
        if let Some(r) = self.ranks.get(local as usize) {
            r.set(quantize(score));
        }
    }

    fn rank(&self, local: u32) -> u16 {
        self.ranks.get(local as usize).map_or(0, Cell::get)
    }

    /// Recomputes each page's mark (the best rank in it), after scores
    /// changed; `stub_rank` gives a stub target's rank by its tag.
    pub(crate) fn refresh_marks(&mut self, stub_rank: impl Fn(u32) -> u16) {
        let ranks = &self.ranks;
        self.terms.refresh_marks(|(_, t)| {
            if t >= STUB {
                stub_rank(t as u32)
            } else {
                ranks.get(t as usize).map_or(0, Cell::get)
            }
        });
    }

    /// True when the index is maintained and searchable.
    pub fn is_enabled(&self) -> bool {
        !self.disabled
    }

    /// Frees the index and stops maintaining it (it did not fit).
    pub(crate) fn disable(&mut self) {
        *self = SearchIndex {
            disabled: true,
            ..SearchIndex::default()
        };
    }

    /// The sorted, unique targets with a key in `lo..=hi`.
    fn targets_in(&self, lo: u64, hi: u64, out: &mut Vec<u64>) {
        self.terms.scan(lo, hi, |(_, t)| {
            out.push(t);
            true
        });
        out.sort_unstable();
        out.dedup();
    }

    /// Calls `each` with every posting whose key lies in `lo..=hi`.
    pub(crate) fn scan(&self, lo: u64, hi: u64, each: impl FnMut((u64, u64)) -> bool) {
        self.terms.scan(lo, hi, each);
    }
}

/// One query word and the key ranges it matches.
struct Word {
    folded: String,
    script: Script,
}

/// A key range and the class of a posting found in it.
#[derive(Clone, Copy)]
struct Range {
    lo: u64,
    hi: u64,
    /// The key of an exact match (the word itself), when the key can tell.
    exact: Option<u64>,
    /// Class of the other postings in the range.
    class: MatchClass,
}

/// Ranges of which a record must have a posting in at least one.
type Piece = heapless::Vec<Range, 2>;

/// What a query word asks of a record: a posting in each piece. An
/// alphabetic word is one piece (its first 8 bytes); an ideographic word is
/// its 3-character pieces, each found at the start of a run or inside one.
fn word_pieces(w: &Word) -> Vec<Piece> {
    if w.script == Script::Alphabetic {
        let len = w.folded.len();
        let key = word_key(&w.folded);
        let (lo, hi) = prefix_range(key, len);
        let mut piece = Piece::new();
        let _ = piece.push(Range {
            lo,
            hi,
            exact: (len < 8).then_some(key),
            class: MatchClass::Prefix,
        });
        return alloc::vec![piece];
    }
    let chars: Vec<(usize, char)> = w.folded.char_indices().collect();
    let windows = chars.len().saturating_sub(IDEO_KEY_CHARS) + 1;
    (0..windows)
        .map(|i| {
            let start = chars[i].0;
            let end = chars
                .get(i + IDEO_KEY_CHARS)
                .map_or(w.folded.len(), |c| c.0);
            let text = &w.folded[start..end];
            let mut piece = Piece::new();
            for (space, class) in [(IDEO, MatchClass::Prefix), (INNER, MatchClass::Substring)] {
                let (key, len) = ideo_key(space, text);
                let (lo, hi) = prefix_range(key, 1 + len);
                let whole = chars.len() <= IDEO_KEY_CHARS && space == IDEO && len < 7;
                let _ = piece.push(Range {
                    lo,
                    hi,
                    exact: whole.then_some(key),
                    class,
                });
            }
            piece
        })
        .collect()
}

fn phone_range(digits: &str) -> Range {
    let n = digits.len().min(14);
    let key = phone_key(digits);
    let (lo, hi) = prefix_range_bits(key, 8 + 4 * n as u32);
    Range {
        lo,
        hi,
        exact: (digits.len() < 14).then_some(key),
        class: MatchClass::Prefix,
    }
}

/// True when `text` reads as a phone number: at least three digits and
/// nothing but digits, spaces and `+-()./`.
fn looks_like_phone(text: &str) -> bool {
    text.chars().filter(char::is_ascii_digit).count() >= 3
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-()./".contains(c))
}

/// The best `limit` candidates, by (class, score desc, target).
struct TopN {
    limit: usize,
    /// Sorted best first: (class, !rank, target).
    best: Vec<(MatchClass, u16, u64)>,
}

impl TopN {
    fn new(limit: usize) -> Self {
        TopN {
            limit,
            best: Vec::with_capacity(limit + 1),
        }
    }

    /// True when no candidate of `class` with a rank of at most `rank` can
    /// enter any more.
    fn cannot_take(&self, class: MatchClass, rank: u16) -> bool {
        if self.best.len() < self.limit {
            return false;
        }
        match self.best.last() {
            Some(&(worst_class, not_worst_rank, _)) => {
                class > worst_class || (class == worst_class && rank < !not_worst_rank)
            }
            None => false,
        }
    }

    fn offer(&mut self, class: MatchClass, rank: u16, target: u64) {
        let entry = (class, !rank, target);
        if self.best.len() == self.limit && self.best.last().is_some_and(|w| entry >= *w) {
            return;
        }
        if let Some(i) = self.best.iter().position(|e| e.2 == target) {
            if entry >= self.best[i] {
                return;
            }
            self.best.remove(i);
        }
        let at = self.best.partition_point(|e| *e < entry);
        self.best.insert(at, entry);
        self.best.truncate(self.limit);
    }
}

/// What a search reads from the store.
pub(crate) trait Source {
    /// The search index.
    fn search_index(&self) -> &SearchIndex;
    /// True when `local` is a live record.
    fn is_live(&self, local: u32) -> bool;
    /// Number of local ids.
    fn locals(&self) -> usize;
    /// The stubs whose id has `tag`: (id, name, score).
    fn stubs_with_tag(&self, tag: u32) -> Vec<(String, String, u32)>;
}

/// Runs `q` against `src`.
pub(crate) fn run(src: &impl Source, q: &Query) -> Result<Vec<Hit>, SearchError> {
    if q.limit > MAX_LIMIT {
        return Err(SearchError::LimitTooLarge { limit: q.limit });
    }
    if q.text.len() > MAX_QUERY_BYTES {
        return Err(SearchError::QueryTooLong { len: q.text.len() });
    }
    for (field, w) in [
        ("next_visit", q.next_visit),
        ("last_contact", q.last_contact),
    ] {
        if w.is_some_and(|w| w.to < w.from) {
            return Err(SearchError::EmptyWindow { field });
        }
    }
    let limit = if q.limit == 0 { 20 } else { q.limit };
    let ix = src.search_index();
    if !ix.is_enabled() {
        return Err(SearchError::IndexUnavailable);
    }
    let allowed = q.has_filters().then(|| filter_targets(ix, q));
    let passes = |t: u64| {
        allowed
            .as_ref()
            .map_or(true, |a| a.binary_search(&t).is_ok())
    };

    let mut words: Vec<Word> = Vec::new();
    let mut buf = String::new();
    fold_words(&q.text, &mut buf, |w, script, _, _| {
        if words.len() < MAX_QUERY_WORDS {
            words.push(Word {
                folded: w.into(),
                script,
            });
        }
    });
    let mut phone = String::new();
    if looks_like_phone(&q.text) {
        phone_digits(&q.text, &mut phone);
    }

    let mut top = TopN::new(limit);
    let rank_of = |t: u64| -> u16 {
        if t >= STUB {
            src.stubs_with_tag(t as u32)
                .first()
                .map_or(0, |s| quantize(s.2))
        } else {
            ix.rank(t as u32)
        }
    };
    if words.is_empty() && phone.is_empty() {
        // No text: list by score.
        match &allowed {
            Some(a) => a
                .iter()
                .for_each(|&t| top.offer(MatchClass::Exact, ix.rank(t as u32), t)),
            None => (0..src.locals() as u32)
                .filter(|&l| src.is_live(l))
                .for_each(|l| top.offer(MatchClass::Exact, ix.rank(l), u64::from(l))),
        }
        return Ok(resolve(src, top, &[]));
    }

    let pieces: Vec<Vec<Piece>> = words.iter().map(word_pieces).collect();
    if pieces.len() == 1 && pieces[0].len() == 1 && phone.is_empty() {
        // One piece: stream its postings into the top N, passing over pages
        // whose best rank cannot enter it (past the exact matches, which sit
        // first in the range).
        let top = core::cell::RefCell::new(top);
        for r in &pieces[0][0] {
            ix.terms.scan_skipping(
                r.lo,
                r.hi,
                |first_key, mark| {
                    // A page that starts at or before the exact key may hold
                    // exact matches: judge it by the best class.
                    let best_class = match r.exact {
                        Some(e) if first_key <= e => MatchClass::Exact,
                        _ => r.class,
                    };
                    top.borrow().cannot_take(best_class, mark)
                },
                |(k, t)| {
                    if passes(t) {
                        top.borrow_mut().offer(class_of(r, k), rank_of(t), t);
                    }
                    true
                },
            );
        }
        return Ok(resolve(src, top.into_inner(), &words));
    }

    // Every piece of every word must match; a word's class is its first
    // piece's, the query's the weakest word's.
    let mut records: Option<Levels> = None;
    let mut stubs: Option<Vec<(u64, MatchClass)>> = None;
    let mut found = Levels::new(src.locals());
    'words: for word in &pieces {
        for (i, piece) in word.iter().enumerate() {
            let mut found_stubs = Vec::new();
            found.clear();
            for r in piece {
                ix.scan(r.lo, r.hi, |(k, t)| {
                    // Only a word's first piece says how well it matched.
                    let class = if i == 0 {
                        class_of(r, k)
                    } else {
                        MatchClass::Exact
                    };
                    if t < STUB {
                        found.add(t as usize, class);
                    } else {
                        found_stubs.push((t, class));
                    }
                    true
                });
            }
            best_per_target(&mut found_stubs);
            match &mut records {
                None => records = Some(found.clone()),
                Some(so_far) => so_far.keep_weaker(&found),
            }
            stubs = Some(match stubs {
                None => found_stubs,
                Some(prev) => intersect(&prev, &found_stubs),
            });
            if records.as_ref().is_some_and(Levels::is_empty)
                && stubs.as_ref().is_some_and(Vec::is_empty)
            {
                break 'words;
            }
        }
    }
    let mut records = records.unwrap_or_else(|| Levels::new(src.locals()));
    let mut stubs = stubs.unwrap_or_default();
    if !phone.is_empty() {
        let r = phone_range(&phone);
        found.clear();
        let mut phone_stubs = Vec::new();
        ix.scan(r.lo, r.hi, |(k, t)| {
            if t < STUB {
                found.add(t as usize, class_of(&r, k));
            } else {
                phone_stubs.push((t, class_of(&r, k)));
            }
            true
        });
        records.keep_better(&found);
        stubs.extend(phone_stubs);
        best_per_target(&mut stubs);
    }
    for (t, class) in records.iter().chain(stubs) {
        if passes(t) {
            top.offer(class, rank_of(t), t);
        }
    }
    Ok(resolve(src, top, &words))
}

/// How well each local matched, as one bit set per class: `at_least[c]`
/// holds the locals whose match is class `c` or better. The weaker of two
/// matches is then a bitwise AND and the better an OR: a multi-word query
/// over 500,000 records costs 3 × 62.5 KiB and no sorting.
#[derive(Clone)]
struct Levels {
    /// Indexed by `MatchClass as usize` (Exact 0, Prefix 1, Substring 2).
    at_least: [Vec<u64>; 3],
}

impl Levels {
    fn new(locals: usize) -> Self {
        let words = locals.div_ceil(64);
        Levels {
            at_least: [
                alloc::vec![0; words],
                alloc::vec![0; words],
                alloc::vec![0; words],
            ],
        }
    }

    fn clear(&mut self) {
        self.at_least.iter_mut().for_each(|set| set.fill(0));
    }

    /// Records that `local` matched with `class` (keeping its best class).
    fn add(&mut self, local: usize, class: MatchClass) {
        let (word, bit) = (local / 64, 1u64 << (local % 64));
        for set in &mut self.at_least[class as usize..] {
            if let Some(w) = set.get_mut(word) {
                *w |= bit;
            }
        }
    }

    /// Keeps the weaker class of each local (absent in either: absent).
    fn keep_weaker(&mut self, other: &Levels) {
        for (mine, theirs) in self.at_least.iter_mut().zip(&other.at_least) {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m &= t);
        }
    }

    /// Keeps the better class of each local (present in either: present).
    fn keep_better(&mut self, other: &Levels) {
        for (mine, theirs) in self.at_least.iter_mut().zip(&other.at_least) {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m |= t);
        }
    }

    fn is_empty(&self) -> bool {
        self.at_least[MatchClass::Substring as usize]
            .iter()
            .all(|&w| w == 0)
    }

    /// The matched locals, ascending, with their class.
    fn iter(&self) -> impl Iterator<Item = (u64, MatchClass)> + '_ {
        let [exact, prefix, any] = &self.at_least;
        any.iter().enumerate().flat_map(move |(i, &word)| {
            let mut rest = word;
            core::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let mask = 1u64 << bit;
                let class = if exact[i] & mask != 0 {
                    MatchClass::Exact
                } else if prefix[i] & mask != 0 {
                    MatchClass::Prefix
                } else {
                    MatchClass::Substring
                };
                Some(((i * 64 + bit) as u64, class))
            })
        })
    }
}

/// Sorts `found` by target and keeps each target's best class.
fn best_per_target(found: &mut Vec<(u64, MatchClass)>) {
    // Sorted as (target, class rank) pairs of u64, the type the term index
    // sorts: one copy of std's sort in the wasm module, not two.
    let mut pairs: Vec<(u64, u64)> = found.iter().map(|&(t, c)| (t, c as u64)).collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|e| e.0); // sorted by class within a target: the best stays
    found.clear();
    found.extend(
        pairs
            .into_iter()
            .map(|(t, c)| (t, MatchClass::from_rank(c))),
    );
}

fn class_of(r: &Range, key: u64) -> MatchClass {
    if Some(key) == r.exact {
        MatchClass::Exact
    } else {
        r.class
    }
}

/// Targets in both; the class of the weaker match.
fn intersect(a: &[(u64, MatchClass)], b: &[(u64, MatchClass)]) -> Vec<(u64, MatchClass)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            core::cmp::Ordering::Less => i += 1,
            core::cmp::Ordering::Greater => j += 1,
            core::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1.max(b[j].1)));
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The sorted targets that pass every filter of `q`.
fn filter_targets(ix: &SearchIndex, q: &Query) -> Vec<u64> {
    let mut sets: Vec<Vec<u64>> = Vec::new();
    for (field, values) in [
        (attr::TERRITORY, &q.territory),
        (attr::OWNER, &q.owner),
        (attr::STAGE, &q.stage),
        (attr::TAG, &q.tag),
    ] {
        if values.is_empty() {
            continue;
        }
        let mut set = Vec::new();
        for v in values {
            let k = terms::attr_key(field, v);
            ix.terms.scan(k, k, |(_, t)| {
                set.push(t);
                true
            });
        }
        set.sort_unstable();
        set.dedup();
        sets.push(set);
    }
    for (field, window) in [
        (day::NEXT_VISIT, q.next_visit),
        (day::LAST_CONTACT, q.last_contact),
    ] {
        if let Some(w) = window {
            let mut set = Vec::new();
            ix.targets_in(
                terms::day_key(field, w.from),
                terms::day_key(field, w.to),
                &mut set,
            );
            sets.push(set);
        }
    }
    // The smallest set first: every later pass keeps a part of it.
    if let Some(smallest) = (0..sets.len()).min_by_key(|&i| sets[i].len()) {
        sets.swap(0, smallest);
    }
    let mut iter = sets.into_iter();
    let mut out = iter.next().unwrap_or_default();
    for set in iter {
        out.retain(|t| set.binary_search(t).is_ok());
    }
    out
}

/// Turns the best targets into hits; stubs whose id shares a tag are told
/// apart by their names.
fn resolve(src: &impl Source, top: TopN, words: &[Word]) -> Vec<Hit> {
    let mut hits = Vec::with_capacity(top.best.len());
    for (class, not_rank, t) in top.best {
        if t < STUB {
            hits.push(Hit {
                target: HitRef::Record(t as u32),
                class,
                score: dequantize(!not_rank),
            });
            continue;
        }
        for (id, name, score) in src.stubs_with_tag(t as u32) {
            // Stubs carry no phone: a phone-only query cannot have found one.
            let fits = !words.is_empty() && words.iter().all(|w| check_text(&name, w).is_some());
            if fits && hits.len() < top.limit {
                hits.push(Hit {
                    target: HitRef::Stub { id, name },
                    class,
                    score,
                });
            }
        }
    }
    hits
}

/// How `w` matches the words of `text`, if it does.
fn check_text(text: &str, w: &Word) -> Option<MatchClass> {
    let mut best: Option<MatchClass> = None;
    let mut buf = String::new();
    fold_words(text, &mut buf, |f, script, _, _| {
        let class = if f == w.folded {
            Some(MatchClass::Exact)
        } else if f.starts_with(w.folded.as_str()) {
            Some(MatchClass::Prefix)
        } else if script == Script::Ideographic && crate::substr::contains(f, &w.folded) {
            Some(MatchClass::Substring)
        } else {
            None
        };
        if let Some(c) = class {
            best = Some(best.map_or(c, |b| b.min(c)));
        }
    });
    best
}

/// The byte ranges of `text` that `query` matched, for highlighting: the
/// matched start of each word, or the matched piece of an ideographic run.
///
/// ```
/// use satchel_core::search::match_spans;
/// let name = "Åsa Ström";
/// let spans = match_spans(name, "str");
/// assert_eq!(spans.iter().map(|&(a, b)| &name[a..b]).collect::<Vec<_>>(), ["Str"]);
/// ```
pub fn match_spans(text: &str, query: &str) -> Vec<(usize, usize)> {
    let mut words: Vec<String> = Vec::new();
    let mut buf = String::new();
    fold_words(query, &mut buf, |w, _, _, _| words.push(w.into()));
    let mut spans = Vec::new();
    fold_words(text, &mut buf, |f, script, start, end| {
        for w in &words {
            let at = if f.starts_with(w.as_str()) {
                Some(0)
            } else if script == Script::Ideographic {
                f.find(w.as_str())
            } else {
                None
            };
            if let Some(at) = at {
                let span = (
                    original_offset(&text[start..end], at) + start,
                    original_offset(&text[start..end], at + w.len()) + start,
                );
                spans.push(span);
                break;
            }
        }
    });
    spans
}

/// The byte offset in `word` (original text) where `folded_at` bytes of its
/// folded form have been produced.
fn original_offset(word: &str, folded_at: usize) -> usize {
    let mut produced = 0;
    let mut tmp = [0u8; 4];
    for (i, c) in word.char_indices() {
        if produced >= folded_at {
            return i;
        }
        produced += crate::fold::fold(c.encode_utf8(&mut tmp)).len();
    }
    word.len()
}

// Queries are read by hand (crate::fields, for the wasm module's size); the
// serde derives are the reference the tests hold these to.

impl Part for Query {
    const KEYS: &'static [&'static str] = &[
        "text",
        "territory",
        "owner",
        "stage",
        "tag",
        "next_visit",
        "last_contact",
        "limit",
    ];

    fn read(f: &Fields<'_>) -> Query {
        Query {
            text: f.string_or("text", ""),
            territory: f.string_list("territory", false),
            owner: f.string_list("owner", false),
            stage: f.string_list("stage", false),
            tag: f.string_list("tag", false),
            next_visit: f.part::<Window>("next_visit", true),
            last_contact: f.part::<Window>("last_contact", true),
            limit: f.number("limit", 0, usize::MAX as u64) as usize,
        }
    }
}

impl Part for Window {
    const KEYS: &'static [&'static str] = &["from", "to"];

    fn read(f: &Fields<'_>) -> Window {
        Window {
            from: f.int("from", None, i64::MIN, i64::MAX),
            to: f.int("to", None, i64::MIN, i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_scores_keep_their_order() {
        for s in (0..32)
            .map(|e| 1u32 << e)
            .chain([3, 2047, 2048, 2049, 1_000_000, u32::MAX])
        {
            let q = quantize(s);
            assert!(dequantize(q) <= s, "{s}");
            assert!(s - dequantize(q) <= s / 1024, "{s}");
        }
        let mut last = 0;
        for s in (0..100_000u32).map(|i| i * 42_000) {
            let q = quantize(s);
            assert!(q >= last);
            last = q;
        }
    }

    #[test]
    fn spans_map_folded_matches_back_to_the_text() {
        let t = "Müller & Söhne, STRASSE 5";
        let got: Vec<&str> = match_spans(t, "sohn mull")
            .iter()
            .map(|&(a, b)| &t[a..b])
            .collect();
        assert_eq!(got, ["Müll", "Söhn"]);
        let z = "深圳华强电子";
        let got: Vec<&str> = match_spans(z, "华强")
            .iter()
            .map(|&(a, b)| &z[a..b])
            .collect();
        assert_eq!(got, ["华强"]);
        let s = "Straße";
        let got: Vec<&str> = match_spans(s, "strass")
            .iter()
            .map(|&(a, b)| &s[a..b])
            .collect();
        assert_eq!(got, ["Straß"]);
    }
}
