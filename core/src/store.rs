//! The budgeted store: accounts kept compressed inside a hard byte ceiling.
//!
//! Owns [`Store`]: the id index, the location table (local id → where the
//! record sits), the hot buffer, the compressed blocks, the inflated-block
//! cache and the pending journal. Writes land in the hot buffer; once it holds
//! a block's worth they are compacted into a block.
//!
//! Invariants, after every public call:
//! - `used_bytes() <= budget`, and `used_bytes()` is the sum of the heap
//!   capacities the store holds (checked against a counting allocator);
//! - a call that returns an error changed no record;
//! - every live local id has exactly one location, and its record's backend id
//!   maps back to it through the index.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use crate::block::{self, BlockError, BlockView, MAX_ROWS};
use crate::budget::{grow_to, growth_bytes, vec_bytes, Budget, BudgetExceeded};
use crate::cache::BlockCache;
use crate::dictionary::{Dictionary, TRAINING_BLOCKS};
use crate::hot::HotBuffer;
use crate::index::{tag_of, IdIndex};
use crate::journal::{self, JournalOpRef};
use crate::model::{Account, Card};
use crate::outbox::{Edit, EditError, Outbox, Patch, MAX_CHANGES};
use crate::record_codec;
use crate::search::{self, Hit, Query, SearchError, SearchIndex};
use crate::stubs::StubTable;
use crate::terms;
use crate::usage::UsageSketch;

/// Bytes writes leave free (at most an eighth of the budget) so that a full
/// store can still run the planner (`Store::retain`), whose histograms take
/// about 40 KiB.
pub const PLAN_RESERVE: usize = 48 * 1024;

/// Longest backend id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 512;
/// Largest record accepted, encoded, in bytes.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// Tuning of a store. The defaults suit a 64 MB handheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// Uncompressed bytes gathered in the hot buffer before they become a
    /// block. Larger blocks compress better and read slower.
    pub block_bytes: usize,
    /// Inflated blocks kept for reads.
    pub cache_blocks: usize,
    /// Keep a journal of changes for the caller to persist.
    pub journal: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            block_bytes: 128 * 1024,
            cache_blocks: 4,
            journal: true,
        }
    }
}

/// Why a write was refused. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// Not enough room under the budget.
    Budget(BudgetExceeded),
    /// The record has an empty backend id.
    EmptyId,
    /// The backend id is longer than [`MAX_ID_BYTES`].
    IdTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The record encodes to more than [`MAX_RECORD_BYTES`].
    RecordTooLarge {
        /// Its encoded size in bytes.
        len: usize,
    },
    /// The store holds as many records as local ids can number.
    Full,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Budget(e) => e.fmt(f),
            WriteError::EmptyId => f.write_str("record has an empty id"),
            WriteError::IdTooLong { len } => {
                write!(f, "record id is {len} bytes, the limit is {MAX_ID_BYTES}")
            }
            WriteError::RecordTooLarge { len } => write!(
                f,
                "record encodes to {len} bytes, the limit is {MAX_RECORD_BYTES}; trim its notes or activities"
            ),
            WriteError::Full => f.write_str("store is full: no local ids left"),
        }
    }
}

impl From<BudgetExceeded> for WriteError {
    fn from(e: BudgetExceeded) -> Self {
        WriteError::Budget(e)
    }
}

/// A refused write hands its value back, with the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejected<T> {
    /// What was not written.
    pub value: T,
    /// Why.
    pub error: WriteError,
}

/// What an accepted upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    /// A new record, with its local id.
    Inserted(u32),
    /// An existing record was replaced; its local id is unchanged.
    Updated(u32),
}

/// What an accepted batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// New records.
    pub inserted: usize,
    /// Replaced records.
    pub updated: usize,
}

/// Bytes held, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BytesByKind {
    /// Compressed blocks and the block table.
    pub blocks: usize,
    /// The hot buffer.
    pub hot: usize,
    /// Id index, location table and free list.
    pub index: usize,
    /// Inflated-block cache.
    pub cache: usize,
    /// Journal frames not yet taken by the caller.
    pub journal: usize,
    /// The trained deflate dictionary.
    pub dictionary: usize,
    /// Stubs of evicted records.
    pub stubs: usize,
    /// Pinned flags and the usage sketch.
    pub retention: usize,
    /// The search index and the records' last scores.
    pub search: usize,
    /// The outbox of the rep's pending edits.
    pub outbox: usize,
    /// Regional price lists.
    pub price_lists: usize,
}

impl BytesByKind {
    /// Sum of all kinds.
    pub fn total(&self) -> usize {
        self.blocks
            + self.hot
            + self.index
            + self.cache
            + self.journal
            + self.dictionary
            + self.stubs
            + self.retention
            + self.search
            + self.outbox
            + self.price_lists
    }
}

/// A summary of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Live records.
    pub records: usize,
    /// Compressed blocks.
    pub blocks: usize,
    /// Rows in blocks that were since replaced or deleted.
    pub dead_rows: usize,
    /// Live records in the hot buffer.
    pub hot_records: usize,
    /// Bytes held, by kind.
    pub bytes: BytesByKind,
    /// The ceiling.
    pub budget: Budget,
    /// Uncompressed payload bytes of all blocks (for the compression ratio).
    pub raw_block_bytes: usize,
}

/// Where a record sits, packed in a `u32`.
///
/// `NONE` for a free local id; top bit set: hot-buffer entry; otherwise block
/// number (19 bits) and row (12 bits, [`MAX_ROWS`] = 4096).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    None,
    Hot(u32),
    Block { block: u32, row: u32 },
}

const LOC_NONE: u32 = u32::MAX;
const LOC_HOT: u32 = 1 << 31;
const ROW_BITS: u32 = 12;
/// Most blocks a store may have (block numbers must fit in a location).
pub(crate) const MAX_BLOCKS: usize = 1 << 19;
const _: () = assert!(MAX_ROWS == 1 << ROW_BITS);

impl Loc {
    pub(crate) fn pack(self) -> u32 {
        match self {
            Loc::None => LOC_NONE,
            Loc::Hot(i) => LOC_HOT | i,
            Loc::Block { block, row } => (block << ROW_BITS) | row,
        }
    }

    pub(crate) fn unpack(v: u32) -> Loc {
        if v == LOC_NONE {
            Loc::None
        } else if v & LOC_HOT != 0 {
            Loc::Hot(v & !LOC_HOT)
        } else {
            Loc::Block {
                block: v >> ROW_BITS,
                row: v & ((1 << ROW_BITS) - 1),
            }
        }
    }
}

/// A compressed block and what the store knows about it.
pub(crate) struct Block {
    pub(crate) bytes: Box<[u8]>,
    pub(crate) raw_len: u32,
    pub(crate) rows: u16,
    pub(crate) live: u16,
    /// Compressed with the store's dictionary.
    pub(crate) uses_dictionary: bool,
    serial: u64,
}

/// The budgeted store.
///
/// # Examples
/// ```
/// use satchel_core::{budget::Budget, model::Account, store::Store};
/// let mut store = Store::new(Budget::parse("1MiB").unwrap());
/// let mut a = Account::default();
/// a.id = "0015g00000A1".into();
/// a.name = "Åsa Ström".into();
/// store.upsert(a.clone()).unwrap();
/// assert_eq!(store.get("0015g00000A1"), Some(a));
/// assert!(store.used_bytes() <= store.budget().bytes());
/// ```
pub struct Store {
    budget: Budget,
    config: StoreConfig,
    index: IdIndex,
    locs: Vec<u32>,
    free_locals: Vec<u32>,
    hot: HotBuffer,
    blocks: Vec<Option<Block>>,
    block_bytes: usize,
    raw_block_bytes: usize,
    dead_rows: usize,
    /// `dead_rows` after the last automatic rewrite.
    dead_rows_at_rewrite: usize,
    live: usize,
    next_serial: u64,
    cache: RefCell<BlockCache>,
    journal: Vec<u8>,
    seq: u64,
    dictionary: Option<Dictionary>,
    /// Block count when training last failed for want of budget.
    training_failed_at: usize,
    /// Stubs of evicted records.
    stubs: StubTable,
    /// One bit per local id: pinned by the rep.
    pinned: Vec<u64>,
    /// Decayed use counts, once the app reports uses.
    usage: Option<UsageSketch>,
    /// The lowest score the last plan kept.
    last_cutoff: Option<u32>,
    /// Postings of every record and stub (see [`crate::search`]).
    search: SearchIndex,
    /// The rep's edits not yet acknowledged by the backend.
    outbox: Outbox,
    /// Bases of outbox edits and sync conflicts (see [`crate::conflicts`]).
    ledger: crate::conflicts::Ledger,
    /// Regional price lists (see [`crate::price_lists`]).
    pub(crate) price_lists: crate::price_lists::PriceLists,
}

impl Store {
    /// An empty store under `budget`, with default tuning.
    pub fn new(budget: Budget) -> Self {
        Self::with_config(budget, StoreConfig::default())
    }

    /// An empty store under `budget`.
    pub fn with_config(budget: Budget, config: StoreConfig) -> Self {
        Store {
            budget,
            config,
            index: IdIndex::default(),
            locs: Vec::new(),
            free_locals: Vec::new(),
            hot: HotBuffer::default(),
            blocks: Vec::new(),
            block_bytes: 0,
            raw_block_bytes: 0,
            dead_rows: 0,
            dead_rows_at_rewrite: 0,
            live: 0,
            next_serial: 0,
            cache: RefCell::new(BlockCache::default()),
            journal: Vec::new(),
            seq: 0,
            dictionary: None,
            training_failed_at: 0,
            stubs: StubTable::default(),
            pinned: Vec::new(),
            usage: None,
            last_cutoff: None,
            search: SearchIndex::default(),
            outbox: Outbox::default(),
            ledger: crate::conflicts::Ledger::default(),
            price_lists: crate::price_lists::PriceLists::default(),
        }
    }

    /// The ceiling.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The tuning.
    pub fn config(&self) -> StoreConfig {
        self.config
    }

    /// Number of live records.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Sequence number of the last change (0 for none).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Heap bytes held by the store: the truth, from capacities.
    pub fn used_bytes(&self) -> usize {
        self.bytes_by_kind().total()
    }

    fn bytes_by_kind(&self) -> BytesByKind {
        BytesByKind {
            blocks: vec_bytes(&self.blocks) + self.block_bytes,
            hot: self.hot.heap_bytes(),
            index: self.index.heap_bytes() + vec_bytes(&self.locs) + vec_bytes(&self.free_locals),
            cache: self.cache.borrow().heap_bytes(),
            journal: vec_bytes(&self.journal),
            dictionary: self.dictionary.as_ref().map_or(0, Dictionary::heap_bytes),
            stubs: self.stubs.heap_bytes(),
            retention: vec_bytes(&self.pinned)
                + self.usage.as_ref().map_or(0, UsageSketch::heap_bytes),
            search: self.search.heap_bytes(),
            outbox: self.outbox.heap_bytes() + self.ledger.heap_bytes(),
            price_lists: self.price_lists.heap_bytes(),
        }
    }

    /// A summary: records, blocks, bytes by kind.
    pub fn stats(&self) -> Stats {
        let hot_records = self
            .hot
            .entries()
            .iter()
            .enumerate()
            .filter(|(i, e)| self.loc(e.local) == Loc::Hot(*i as u32))
            .count();
        Stats {
            records: self.live,
            blocks: self.blocks.iter().flatten().count(),
            dead_rows: self.dead_rows,
            hot_records,
            bytes: self.bytes_by_kind(),
            budget: self.budget,
            raw_block_bytes: self.raw_block_bytes,
        }
    }

    /// Raw and compressed bytes of each block section, summed over all blocks:
    /// where the bytes go (see `core/FORMAT.md`, "Block payload").
    pub fn section_bytes(&self) -> [(usize, usize); block::MAX_SECTIONS] {
        let mut out = [(0, 0); block::MAX_SECTIONS];
        for b in self.blocks.iter().flatten() {
            let mut r = crate::format::Reader::new(&b.bytes);
            for o in &mut out {
                let (Ok(raw), Ok(z)) = (r.varint(), r.bytes()) else {
                    break;
                };
                o.0 += raw as usize;
                o.1 += z.len();
            }
        }
        out
    }

    fn available(&self) -> usize {
        self.budget.bytes().saturating_sub(self.used_bytes())
    }

    fn loc(&self, local: u32) -> Loc {
        self.locs
            .get(local as usize)
            .map_or(Loc::None, |&v| Loc::unpack(v))
    }

    // ---- reads -------------------------------------------------------------

    /// The record with backend id `id`.
    pub fn get(&self, id: &str) -> Option<Account> {
        let mut found = None;
        self.index.find(tag_of(id), |local| {
            found = self.account_if_id(local, id);
            found.is_some()
        });
        found
    }

    /// The local id of backend id `id`.
    pub fn local_id(&self, id: &str) -> Option<u32> {
        self.index
            .find(tag_of(id), |local| self.id_matches(local, id))
    }

    /// The local id of every record held in full, in storage order: block
    /// by block, row by row, then the hot buffer. A browsable list reads
    /// them with [`Store::card_local`] or [`Store::get_local`], a block at a
    /// time. Reads only the location table, so no record is decoded
    /// ([`Store::iter`] inflates every block). Valid until the next write.
    pub fn local_ids(&self) -> Vec<u32> {
        // Each block's first slot; the hot buffer's entries come last.
        let mut starts = Vec::with_capacity(self.blocks.len());
        let mut slots = 0usize;
        for b in &self.blocks {
            starts.push(slots);
            slots += b.as_ref().map_or(0, |b| usize::from(b.rows));
        }
        let hot_start = slots;
        slots += self.hot.entries().len();
        let mut order = alloc::vec![LOC_NONE; slots];
        for (local, &v) in self.locs.iter().enumerate() {
            let slot = match Loc::unpack(v) {
                Loc::None => continue,
                Loc::Hot(i) => Some(hot_start + i as usize),
                Loc::Block { block, row } => starts.get(block as usize).map(|s| s + row as usize),
            };
            // A location is always inside its block or the hot buffer.
            if let Some(at) = slot.and_then(|s| order.get_mut(s)) {
                *at = local as u32;
            }
        }
        order.retain(|&l| l != LOC_NONE);
        order
    }

    /// The record with local id `local`.
    pub fn get_local(&self, local: u32) -> Option<Account> {
        match self.loc(local) {
            Loc::None => None,
            Loc::Hot(i) => self.hot_account(i),
            Loc::Block { block, row } => self.with_view(block, |v| v.account(row as usize)),
        }
    }

    /// What a search hit or list row shows of the record with local id
    /// `local`. Inflates only the block's keys, names and address when the
    /// block is not cached (and does not cache it): about a third of
    /// [`Store::get_local`]'s cost on generated accounts.
    pub fn card_local(&self, local: u32) -> Option<Card> {
        match self.loc(local) {
            Loc::None => None,
            Loc::Hot(i) => self.hot_account(i).as_ref().map(Card::of),
            Loc::Block { block, row } => {
                let b = self.blocks.get(block as usize)?.as_ref()?;
                if self.cache.borrow().contains(b.serial) {
                    // Nothing to inflate: decoding the cached payload is
                    // cheap next to inflating even part of it.
                    return self.get_local(local).as_ref().map(Card::of);
                }
                let part =
                    block::decompress_card_sections(&b.bytes, b.raw_len, self.dictionary_of(b))
                        .ok()?;
                block::card_of_sections(&part, row as usize).ok()
            }
        }
    }

    /// True when a record with backend id `id` is held.
    pub fn contains(&self, id: &str) -> bool {
        self.local_id(id).is_some()
    }

    fn hot_account(&self, i: u32) -> Option<Account> {
        let e = self.hot.entry(i)?;
        record_codec::decode(self.hot.bytes(e)).ok()
    }

    fn account_if_id(&self, local: u32, id: &str) -> Option<Account> {
        match self.loc(local) {
            Loc::None => None,
            Loc::Hot(i) => self.hot_account(i).filter(|a| a.id == id),
            Loc::Block { block, row } => self
                .with_view(block, |v| {
                    (v.id(row as usize) == id).then(|| v.account(row as usize))
                })
                .flatten(),
        }
    }

    fn id_matches(&self, local: u32, id: &str) -> bool {
        match self.loc(local) {
            Loc::None => false,
            Loc::Hot(i) => self
                .hot
                .entry(i)
                .and_then(|e| hot_id(self.hot.bytes(e)))
                .is_some_and(|h| h == id),
            Loc::Block { block, row } => self
                .with_view(block, |v| v.id(row as usize) == id)
                .unwrap_or(false),
        }
    }

    /// Runs `f` on block `block`'s decoded rows, through the cache.
    fn with_view<R>(&self, block: u32, f: impl FnOnce(&BlockView<'_>) -> R) -> Option<R> {
        self.with_view_cached(block, true, f)
    }

    /// The record at `local`, read without growing the cache (for writes,
    /// whose room was counted before and must not be taken by the cache).
    fn record_for_write(&self, local: u32) -> Option<Account> {
        match self.loc(local) {
            Loc::None => None,
            Loc::Hot(i) => self.hot_account(i),
            Loc::Block { block, row } => {
                self.with_view_cached(block, false, |v| v.account(row as usize))
            }
        }
    }

    fn with_view_cached<R>(
        &self,
        block: u32,
        keep: bool,
        f: impl FnOnce(&BlockView<'_>) -> R,
    ) -> Option<R> {
        let b = self.blocks.get(block as usize)?.as_ref()?;
        let mut cache = self.cache.borrow_mut();
        if let Some(raw) = cache.get(b.serial) {
            return BlockView::decode(raw).ok().map(|v| f(&v));
        }
        let mut raw = block::decompress(&b.bytes, b.raw_len, self.dictionary_of(b))
            .ok()?
            .bytes;
        raw.shrink_to_fit();
        let result = BlockView::decode(&raw).ok().map(|v| f(&v));
        if !keep {
            return result;
        }
        // Keep it only if it fits in what the budget has left.
        let cost = cache.insert_cost(vec_bytes(&raw), self.config.cache_blocks);
        drop(cache);
        if cost <= self.available() as isize {
            self.cache
                .borrow_mut()
                .insert(b.serial, raw, self.config.cache_blocks);
        }
        result
    }

    fn dictionary_of(&self, b: &Block) -> Option<&Dictionary> {
        if b.uses_dictionary {
            self.dictionary.as_ref()
        } else {
            None
        }
    }

    /// Every live record, block by block, then the hot buffer.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.iter_locals(),
        }
    }

    pub(crate) fn iter_locals(&self) -> LocalIter<'_> {
        LocalIter {
            store: self,
            next_block: 0,
            pending: Vec::new(),
            next_hot: 0,
        }
    }

    // ---- writes ------------------------------------------------------------

    /// Inserts or replaces a record (keyed by its backend id).
    ///
    /// On refusal the record is handed back and nothing changed.
    pub fn upsert(&mut self, account: Account) -> Result<Upserted, Rejected<Account>> {
        let encoded = match self.check_record(&account) {
            Ok(e) => e,
            Err(error) => {
                return Err(Rejected {
                    value: account,
                    error,
                })
            }
        };
        let existing = self.local_id(&account.id);
        let old = existing.and_then(|l| self.record_for_write(l));
        let lens = [encoded.len()];
        // Computed once: the cost check and the index both need them.
        let keys = record_keys(&account);
        let terms = keys.len();
        let new = usize::from(existing.is_none());
        let replaced = self.replaced_room(&account.id, existing, old.as_ref());
        if let Err(error) = self.make_write_room(&lens, new, terms, replaced) {
            return Err(Rejected {
                value: account,
                error,
            });
        }
        self.reserve_write(&lens, new);
        let (local, outcome) = self.write_record(&account, &encoded, existing, old);
        self.search.add_record_terms(local, &keys);
        self.maintain();
        Ok(outcome)
    }

    /// Inserts or replaces all records, or none of them.
    ///
    /// The whole batch is checked against the budget first; on refusal every
    /// record is handed back and nothing changed. Faster than one `upsert`
    /// per record: when the ids are distinct the search index takes the
    /// batch's terms a page at a time (an import runs about three times as
    /// fast), and blocks come out as large as record by record.
    pub fn upsert_batch(
        &mut self,
        accounts: Vec<Account>,
    ) -> Result<BatchReport, Rejected<Vec<Account>>> {
        let mut encoded = Vec::with_capacity(accounts.len());
        // id -> position: the map type of a column dictionary's lookup, so
        // no B-tree type of its own in the wasm module.
        let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
        for (n, a) in accounts.iter().enumerate() {
            match self.check_record(a) {
                Ok(e) => encoded.push(e),
                Err(error) => {
                    drop(ids);
                    return Err(Rejected {
                        value: accounts,
                        error,
                    });
                }
            }
            ids.insert(&a.id, n as u32);
        }
        let new = ids.keys().filter(|id| !self.contains(id)).count();
        // Distinct ids are indexed together at the end. A repeated id's second
        // write unindexes the first version, so that must be indexed by then.
        let index_together = ids.len() == accounts.len();
        drop(ids);
        let lens: Vec<usize> = encoded.iter().map(Vec::len).collect();
        let keys: Vec<Vec<u64>> = accounts.iter().map(record_keys).collect();
        let terms = keys.iter().map(Vec::len).sum();
        let replaced = self.batch_replaced_room(&accounts);

        if let Err(error) = self.make_write_room(&lens, new, terms, replaced) {
            return Err(Rejected {
                value: accounts,
                error,
            });
        }
        self.reserve_write(&lens, new);
        let mut report = BatchReport::default();
        let mut written = Vec::with_capacity(if index_together { accounts.len() } else { 0 });
        let mut rest: usize = lens.iter().sum();
        for (n, ((a, e), k)) in accounts.iter().zip(&encoded).zip(&keys).enumerate() {
            // Blocks of `block_bytes`, as record by record.
            self.flush_full_hot_within_batch(rest, lens.len() - n);
            rest -= e.len();
            let (local, outcome) = self.write_record(a, e, self.local_id(&a.id), None);
            match outcome {
                Upserted::Inserted(_) => report.inserted += 1,
                Upserted::Updated(_) => report.updated += 1,
            }
            if index_together {
                written.push((local, &k[..]));
            } else {
                self.search.add_record_terms(local, k);
            }
        }
        self.search.add_records_terms(&written);
        drop(written);
        drop(encoded);
        self.maintain();
        Ok(report)
    }

    /// Deletes the record with backend id `id` (and its stub, if it was
    /// evicted); `Ok(false)` when there is neither.
    ///
    /// Fails, changing nothing, only when the journal frame for the delete
    /// does not fit, or the few bytes forgetting its search terms may take
    /// (see [`crate::termindex`]).
    pub fn delete(&mut self, id: &str) -> Result<bool, BudgetExceeded> {
        let local = self.local_id(id);
        if local.is_none() && !self.stubs.contains(id) {
            return Ok(false);
        }
        let old = local.and_then(|l| self.record_for_write(l));
        let room = self.replaced_room(id, local, old.as_ref());
        self.journal_removal(&JournalOpRef::Delete(id), room)?;
        match local {
            Some(l) => self.remove_local_as(id, l, old.as_ref()),
            None => self.drop_stub(id),
        }
        Ok(true)
    }

    /// Most bytes the search index may grow by when what is stored under
    /// `id` goes: its record at `local` (`old`, as read) or else its stub.
    fn replaced_room(&self, id: &str, local: Option<u32>, old: Option<&Account>) -> usize {
        match (local, old) {
            (Some(_), Some(a)) => self.search.records_removal_room(core::iter::once(a)),
            (Some(_), None) => 0,
            (None, _) => self.stub_removal_room(id),
        }
    }

    /// [`Store::replaced_room`] of a batch: the stored version of each id
    /// (read here, once more than the write reads it) or its stub, and the
    /// batch's own earlier version of a repeated id.
    fn batch_replaced_room(&self, accounts: &[Account]) -> usize {
        let mut seen: BTreeMap<&str, u32> = BTreeMap::new(); // id -> position
        let mut room = 0;
        for (n, a) in accounts.iter().enumerate() {
            room += if seen.insert(&a.id, n as u32).is_some() {
                // A repeat (rare): the version before it in the batch.
                accounts[..n]
                    .iter()
                    .rfind(|e| e.id == a.id)
                    .map_or(0, |e| self.search.records_removal_room(core::iter::once(e)))
            } else {
                let local = self.local_id(&a.id);
                let old = local.and_then(|l| self.record_for_write(l));
                self.replaced_room(&a.id, local, old.as_ref())
            };
        }
        room
    }

    /// Most bytes forgetting the stub of `id` (if there is one) may add.
    fn stub_removal_room(&self, id: &str) -> usize {
        self.stubs
            .get(id)
            .map_or(0, |s| self.search.stub_removal_room(&s.name))
    }

    /// Bytes that journaling `op` would add (0 when not journaling).
    pub(crate) fn journal_growth(&self, op: &JournalOpRef<'_>) -> usize {
        if !self.config.journal {
            return 0;
        }
        growth_bytes(
            &self.journal,
            journal::frame_len(journal::encode_op(op).len()),
        )
    }

    /// Appends `op` to the journal (when journaling) and counts the change.
    /// Fails, changing nothing, when the frame does not fit.
    pub(crate) fn journal_op(&mut self, op: &JournalOpRef<'_>) -> Result<(), BudgetExceeded> {
        if !self.config.journal {
            self.seq += 1;
            return Ok(());
        }
        let payload = journal::encode_op(op);
        let len = journal::frame_len(payload.len());
        let needed = growth_bytes(&self.journal, len);
        self.make_room(needed).map_err(|e| match e {
            WriteError::Budget(b) => b,
            _ => BudgetExceeded {
                needed,
                available: self.writable(),
            },
        })?;
        self.seq += 1;
        grow_to(&mut self.journal, len);
        journal::put_frame(&mut self.journal, self.seq, &payload);
        Ok(())
    }

    /// [`Store::journal_op`] for a removal whose search terms may take
    /// `room` bytes (see [`crate::termindex`]). Those may come out of the
    /// planner's reserve: a full store must be able to delete and evict,
    /// which is how it makes room. Fails, changing nothing, when either
    /// does not fit.
    fn journal_removal(
        &mut self,
        op: &JournalOpRef<'_>,
        room: usize,
    ) -> Result<(), BudgetExceeded> {
        let needed = self.journal_growth(op) + room;
        if needed > self.room_for(needed) {
            return Err(BudgetExceeded {
                needed,
                available: self.available(),
            });
        }
        self.journal_op(op)
    }

    /// Compacts: moves the hot buffer into blocks and rewrites blocks that are
    /// mostly dead rows. Frees memory; returns the bytes freed.
    pub fn compact(&mut self) -> usize {
        let before = self.used_bytes();
        self.cache.borrow_mut().clear();
        self.flush_hot();
        self.rewrite_sparse_blocks();
        self.flush_hot();
        before.saturating_sub(self.used_bytes())
    }

    /// Takes the journal frames written since the last call, for the caller to
    /// append to durable storage (after [`journal::journal_header`]).
    pub fn take_journal(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.journal)
    }

    /// Compacts as far as it goes: the cache dropped, every block with a
    /// dead row rewritten, the hot buffer in blocks. For a replay that ended
    /// over the budget (see `snapshot::open`).
    pub(crate) fn compact_fully(&mut self) {
        self.cache.borrow_mut().clear();
        self.flush_hot();
        self.rewrite_blocks(|live, rows| live < rows);
        self.flush_hot();
    }

    /// Replaces the ceiling (only while a journal is replayed).
    pub(crate) fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// Drops the inflated-block cache (frees its bytes).
    pub fn clear_cache(&mut self) {
        self.cache.borrow_mut().clear();
    }

    fn check_record(&self, a: &Account) -> Result<Vec<u8>, WriteError> {
        if a.id.is_empty() {
            return Err(WriteError::EmptyId);
        }
        if a.id.len() > MAX_ID_BYTES {
            return Err(WriteError::IdTooLong { len: a.id.len() });
        }
        let encoded = record_codec::encode(a);
        if encoded.len() > MAX_RECORD_BYTES {
            return Err(WriteError::RecordTooLarge { len: encoded.len() });
        }
        Ok(encoded)
    }

    /// Bytes that writing records of `lens` encoded bytes, `new` of them new,
    /// would add (before any compaction).
    fn write_cost(&self, lens: &[usize], new: usize, terms: usize) -> Result<usize, WriteError> {
        let total: usize = lens.iter().sum();
        let fresh_locals = new.saturating_sub(self.free_locals.len());
        if self.locs.len() + fresh_locals > MAX_LOCALS {
            return Err(WriteError::Full);
        }
        Ok(self.hot.growth_bytes_many(total, lens.len())
            + self.search.add_cost(terms, self.locs.len() + fresh_locals)
            + growth_bytes(&self.locs, fresh_locals)
            + self.index.growth_bytes(new)
            + growth_bytes(&self.journal, self.journal_bytes(lens)))
    }

    /// Makes room for writing records of `lens` encoded bytes (`new` of
    /// them new, with `terms` search terms) and `replaced` bytes for
    /// forgetting what they replace. Changes no record.
    fn make_write_room(
        &mut self,
        lens: &[usize],
        new: usize,
        terms: usize,
        replaced: usize,
    ) -> Result<(), WriteError> {
        // Twice: room may have come from compacting the hot buffer, which
        // changes what the write costs.
        for _ in 0..2 {
            let n = self.write_cost(lens, new, terms)?;
            self.make_room(n + replaced)?;
        }
        Ok(())
    }

    /// Makes the room [`Store::write_cost`] counted, all at once, so that the
    /// writes that follow grow nothing further.
    fn reserve_write(&mut self, lens: &[usize], new: usize) {
        let total: usize = lens.iter().sum();
        let fresh_locals = new.saturating_sub(self.free_locals.len());
        self.hot.reserve_many(total, lens.len());
        grow_to(&mut self.locs, fresh_locals);
        self.index.reserve(new);
        let journal_bytes = self.journal_bytes(lens);
        grow_to(&mut self.journal, journal_bytes);
    }

    fn journal_bytes(&self, lens: &[usize]) -> usize {
        if self.config.journal {
            lens.iter().map(|&l| journal::frame_len(1 + l)).sum()
        } else {
            0
        }
    }

    /// Makes `needed` bytes available: drops the cache, then compacts the hot
    /// buffer if that helps. Changes no record.
    pub(crate) fn make_room(&mut self, needed: usize) -> Result<(), WriteError> {
        if needed <= self.writable() {
            return Ok(());
        }
        self.cache.borrow_mut().clear();
        if needed > self.writable() && !self.hot.is_empty() {
            self.flush_hot();
        }
        // Stubs are hints: they go before a write is refused (lowest scores
        // first; not journaled, so a replay may bring back those that fit),
        // but not for a write that would be refused even without them: a
        // refused write changes nothing.
        if needed > self.writable()
            && !self.stubs.is_empty()
            && needed <= self.writable() + self.stubs.heap_bytes()
        {
            self.shed_stubs(needed - self.writable());
        }
        if needed > self.writable() {
            return Err(WriteError::Budget(BudgetExceeded {
                needed,
                available: self.writable(),
            }));
        }
        Ok(())
    }

    /// Drops the lowest-scoring stubs until about `bytes` are freed, and
    /// their postings.
    pub(crate) fn shed_stubs(&mut self, bytes: usize) {
        let search = &self.search;
        let shed = self
            .stubs
            .shed(bytes, |name| search.stub_removal_room(name));
        for (id, name) in shed {
            let others = self.stubs.with_tag(crate::index::tag_of(&id));
            self.search
                .remove_stub(&id, &name, others.into_iter().map(|s| (s.1, s.2)));
        }
    }

    /// Room for writes: what the budget has left less the planning reserve,
    /// so that a full store can still plan what to evict (see
    /// [`PLAN_RESERVE`]).
    fn writable(&self) -> usize {
        let reserve = PLAN_RESERVE.min(self.budget.bytes() / 8);
        self.available().saturating_sub(reserve)
    }

    /// Writes a checked record, whose room was made by
    /// [`Store::reserve_write`], but for the search index: the caller brings
    /// that up to date with the record's terms at the local returned. `old`
    /// is the stored version at `existing` if the caller has read it.
    fn write_record(
        &mut self,
        a: &Account,
        encoded: &[u8],
        existing: Option<u32>,
        old: Option<Account>,
    ) -> (u32, Upserted) {
        self.seq += 1;
        if self.config.journal {
            journal::put_frame(&mut self.journal, self.seq, &upsert_payload(encoded));
        }
        let (local, outcome) = match existing {
            Some(local) => {
                if let Some(old) = old.or_else(|| self.record_for_write(local)) {
                    self.search.remove_record(local, &old);
                }
                self.mark_dead(local);
                (local, Upserted::Updated(local))
            }
            None => {
                let local = self.free_locals.pop().unwrap_or_else(|| {
                    self.locs.push(LOC_NONE);
                    (self.locs.len() - 1) as u32
                });
                self.index.insert(tag_of(&a.id), local);
                self.live += 1;
                // Back on the device in full: the stub has served.
                self.drop_stub(&a.id);
                (local, Upserted::Inserted(local))
            }
        };
        let hot_index = self.hot.push(local, encoded);
        self.locs[local as usize] = Loc::Hot(hot_index).pack();
        (local, outcome)
    }

    /// Forgets where `local`'s current version sits (it is being replaced).
    fn mark_dead(&mut self, local: u32) {
        if let Loc::Block { block, .. } = self.loc(local) {
            self.dead_rows += 1;
            let free = match self.blocks.get_mut(block as usize).and_then(Option::as_mut) {
                Some(b) => {
                    b.live = b.live.saturating_sub(1);
                    b.live == 0
                }
                None => false,
            };
            if free {
                self.free_block(block);
            }
        }
    }

    fn free_block(&mut self, block: u32) {
        if let Some(b) = self.blocks.get_mut(block as usize).and_then(Option::take) {
            self.block_bytes -= b.bytes.len();
            self.raw_block_bytes -= b.raw_len as usize;
            self.dead_rows -= usize::from(b.rows - b.live);
        }
    }

    /// Evicts `local`, whose stored record `a` the caller has just read: a
    /// [`Store::delete`] that does not look the id up or read it again.
    pub(crate) fn delete_read(&mut self, local: u32, a: &Account) -> Result<(), BudgetExceeded> {
        let room = self.search.records_removal_room(core::iter::once(a));
        self.journal_removal(&JournalOpRef::Delete(&a.id), room)?;
        self.remove_local_as(&a.id, local, Some(a));
        Ok(())
    }

    /// [`Store::delete_read`] of several records together, or of none: their
    /// deletes journaled, then their terms forgotten a page at a time
    /// ([`crate::search::SearchIndex::remove_records`]; one by one, removals
    /// were most of an eviction). Fails, changing no record, when the frames
    /// (within what writes may use) or those and the room the terms may take
    /// (within the whole budget, see [`Store::journal_removal`]) do not fit.
    pub(crate) fn delete_read_batch(
        &mut self,
        records: &[(u32, &Account)],
    ) -> Result<(), BudgetExceeded> {
        let frames: usize = if self.config.journal {
            records
                .iter()
                .map(|(_, a)| {
                    journal::frame_len(journal::encode_op(&JournalOpRef::Delete(&a.id)).len())
                })
                .sum()
        } else {
            0
        };
        let frame_growth = growth_bytes(&self.journal, frames);
        self.make_room(frame_growth).map_err(|e| match e {
            WriteError::Budget(b) => b,
            _ => BudgetExceeded {
                needed: frame_growth,
                available: self.writable(),
            },
        })?;
        let needed = frame_growth
            + self
                .search
                .records_removal_room(records.iter().map(|r| r.1));
        if needed > self.room_for(needed) {
            return Err(BudgetExceeded {
                needed,
                available: self.available(),
            });
        }
        grow_to(&mut self.journal, frames);
        for &(local, a) in records {
            // The frames' room is held: this cannot be refused.
            self.journal_op(&JournalOpRef::Delete(&a.id))?;
            self.remove_local_as(&a.id, local, None);
        }
        self.search.remove_records(records);
        Ok(())
    }

    /// Reads `local`'s record through `held`, a block inflated by an earlier
    /// call (known by its serial), inflating its own block only when `held`
    /// is another. For a pass that reads the records of each block in turn
    /// and writes between reads (eviction): the cache then has no room, and
    /// each read inflated the whole block (twice an evicted record).
    pub(crate) fn read_through(
        &self,
        local: u32,
        held: &mut Option<(u64, Vec<u8>)>,
    ) -> Option<Account> {
        let (block, row) = match self.loc(local) {
            Loc::None => return None,
            Loc::Hot(i) => return self.hot_account(i),
            Loc::Block { block, row } => (block, row),
        };
        let b = self.blocks.get(block as usize)?.as_ref()?;
        if held.as_ref().map(|h| h.0) != Some(b.serial) {
            let raw = block::decompress(&b.bytes, b.raw_len, self.dictionary_of(b))
                .ok()?
                .bytes;
            *held = Some((b.serial, raw));
        }
        let raw = &held.as_ref()?.1;
        BlockView::decode(raw).ok().map(|v| v.account(row as usize))
    }

    /// Forgets `local`, whose record as stored is `old` (`None`: unreadable,
    /// or its terms are the caller's to forget); room for its terms was made.
    fn remove_local_as(&mut self, id: &str, local: u32, old: Option<&Account>) {
        if let Some(old) = old {
            self.search.remove_record(local, old);
        }
        if let Some(w) = self.pinned.get_mut(local as usize / 64) {
            *w &= !(1u64 << (local % 64));
        }
        self.mark_dead(local);
        self.locs[local as usize] = LOC_NONE;
        self.index.remove(tag_of(id), local);
        // The free list never needs more room than the location table has.
        if self.free_locals.capacity() == self.free_locals.len() {
            let target = crate::budget::target_capacity(
                self.free_locals.capacity(),
                self.free_locals.len() + 1,
            );
            let cost = (target - self.free_locals.capacity()) * 4;
            let fits = cost <= self.room_for(cost);
            if !fits {
                // Keep the local id unused rather than break the budget.
                self.live -= 1;
                return;
            }
            grow_to(&mut self.free_locals, 1);
        }
        self.free_locals.push(local);
        self.live -= 1;
    }

    /// Compacts the hot buffer into blocks when it holds a block's worth, and
    /// rewrites blocks when dead rows pile up.
    fn maintain(&mut self) {
        if self.hot.arena_len() >= self.config.block_bytes || self.hot.len() >= MAX_ROWS {
            self.flush_hot();
        }
        // Rewrite when dead rows pile up, but not again until another 1024
        // have died: a rewrite the budget cannot afford must not repeat per call.
        if self.dead_rows > 1024
            && self.dead_rows * 2 > self.live
            && self.dead_rows >= self.dead_rows_at_rewrite + 1024
        {
            self.rewrite_sparse_blocks();
            self.flush_hot();
            self.dead_rows_at_rewrite = self.dead_rows;
        }
    }

    /// Moves the hot buffer's live records into new blocks. Best effort: if the
    /// blocks would not fit the budget, nothing changes.
    fn flush_hot(&mut self) {
        if self.move_hot_to_blocks(self.budget.bytes()) {
            self.train_dictionary();
        }
    }

    /// Inside a batch, before writing the rest (`rest` bytes in `n` records,
    /// room reserved in the hot buffer): flushes a full hot buffer as
    /// [`Store::maintain`] would, but only when the blocks and a hot buffer
    /// reserved again for the rest take no more than is held now, so that the
    /// room the batch was checked for still holds. The dictionary waits for
    /// the next flush.
    fn flush_full_hot_within_batch(&mut self, rest: usize, n: usize) {
        if self.hot.arena_len() < self.config.block_bytes && self.hot.len() < MAX_ROWS {
            return;
        }
        let regrow = HotBuffer::default().growth_bytes_many(rest, n);
        let ceiling = self.used_bytes().saturating_sub(regrow);
        if self.move_hot_to_blocks(ceiling) {
            self.hot.reserve_many(rest, n);
        }
    }

    /// [`Store::flush_hot`] without training: true when the records moved,
    /// which is only when the store then holds at most `ceiling` bytes.
    fn move_hot_to_blocks(&mut self, ceiling: usize) -> bool {
        if self.hot.is_empty() {
            return false;
        }
        let live: Vec<(u32, u32)> = self
            .hot
            .entries()
            .iter()
            .enumerate()
            .filter(|(i, e)| self.loc(e.local) == Loc::Hot(*i as u32))
            .map(|(i, e)| (i as u32, e.local))
            .collect();
        // Group live entries into blocks of about `block_bytes` raw bytes.
        let mut new_blocks: Vec<(Block, Vec<u32>)> = Vec::new();
        let mut start = 0;
        while start < live.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < live.len()
                && end - start < MAX_ROWS
                && (end == start || bytes < self.config.block_bytes)
            {
                if let Some(e) = self.hot.entry(live[end].0) {
                    bytes += self.hot.bytes(e).len();
                }
                end += 1;
            }
            let accounts: Vec<(u32, Account)> = live[start..end]
                .iter()
                .filter_map(|&(i, local)| self.hot_account(i).map(|a| (local, a)))
                .collect();
            let rows: Vec<(u32, &Account)> = accounts.iter().map(|(l, a)| (*l, a)).collect();
            let raw = block::encode_raw(&rows);
            let compressed = block::compress(&raw, self.dictionary.as_ref()).into_boxed_slice();
            let locals = accounts.iter().map(|(l, _)| *l).collect();
            new_blocks.push((
                Block {
                    bytes: compressed,
                    raw_len: raw.bytes.len() as u32,
                    rows: rows.len() as u16,
                    live: rows.len() as u16,
                    uses_dictionary: self.dictionary.is_some(),
                    serial: 0,
                },
                locals,
            ));
            start = end;
        }
        drop(live);
        // Would the result fit? The hot buffer's bytes come back.
        let free_slots = self.blocks.iter().filter(|b| b.is_none()).count();
        let added: usize = new_blocks.iter().map(|(b, _)| b.bytes.len()).sum();
        let table = growth_bytes(&self.blocks, new_blocks.len().saturating_sub(free_slots));
        let after = self.used_bytes() - self.hot.heap_bytes() + added + table;
        let slots_ok =
            self.blocks.len() + new_blocks.len().saturating_sub(free_slots) <= MAX_BLOCKS;
        if after > ceiling || !slots_ok {
            return false;
        }
        grow_to(
            &mut self.blocks,
            new_blocks.len().saturating_sub(free_slots),
        );
        for (mut b, locals) in new_blocks {
            b.serial = self.next_serial;
            self.next_serial += 1;
            self.block_bytes += b.bytes.len();
            self.raw_block_bytes += b.raw_len as usize;
            let slot = match self.blocks.iter().position(Option::is_none) {
                Some(s) => s,
                None => {
                    self.blocks.push(None);
                    self.blocks.len() - 1
                }
            };
            for (row, &local) in locals.iter().enumerate() {
                self.locs[local as usize] = Loc::Block {
                    block: slot as u32,
                    row: row as u32,
                }
                .pack();
            }
            self.blocks[slot] = Some(b);
        }
        self.hot.clear();
        true
    }

    /// Once the store has enough blocks, trains its dictionary from them and
    /// recompresses them with it. Best effort: skipped when the result would
    /// not fit the budget (and retried only after as many blocks again).
    fn train_dictionary(&mut self) {
        let count = self.blocks.iter().flatten().count();
        if self.dictionary.is_some()
            || count < TRAINING_BLOCKS
            || count < self.training_failed_at + TRAINING_BLOCKS
        {
            return;
        }
        let raws: Vec<(usize, block::RawBlock)> = self
            .blocks
            .iter()
            .enumerate()
            .filter_map(|(i, b)| Some((i, b.as_ref()?)))
            .filter_map(|(i, b)| Some((i, block::decompress(&b.bytes, b.raw_len, None).ok()?)))
            .collect();
        let samples: Vec<block::RawBlock> = raws
            .iter()
            .rev()
            .take(TRAINING_BLOCKS)
            .map(|(_, r)| block::RawBlock {
                bytes: r.bytes.clone(),
                cuts: r.cuts,
                sections: r.sections,
            })
            .collect();
        let dictionary = Dictionary::train(&samples);
        drop(samples);
        let recompressed: Vec<(usize, Box<[u8]>)> = raws
            .iter()
            .map(|(i, r)| (*i, block::compress(r, Some(&dictionary)).into_boxed_slice()))
            .collect();
        drop(raws);
        let old: usize = recompressed
            .iter()
            .map(|(i, _)| self.blocks[*i].as_ref().map_or(0, |b| b.bytes.len()))
            .sum();
        let new: usize = recompressed.iter().map(|(_, z)| z.len()).sum();
        let after = self.used_bytes() - old + new + dictionary.heap_bytes();
        // Worth it only if it fits, and the dictionary is a small part of the budget.
        if after > self.budget.bytes() || dictionary.heap_bytes() > self.budget.bytes() / 16 {
            self.training_failed_at = count;
            return;
        }
        for (i, z) in recompressed {
            if let Some(b) = self.blocks[i].as_mut() {
                self.block_bytes = self.block_bytes - b.bytes.len() + z.len();
                b.bytes = z;
                b.uses_dictionary = true;
            }
        }
        self.dictionary = Some(dictionary);
    }

    /// Moves the live rows of blocks that are at least half dead back into the
    /// hot buffer, block by block while the budget allows, and frees them.
    fn rewrite_sparse_blocks(&mut self) {
        self.rewrite_blocks(|live, rows| live * 2 <= rows);
    }

    /// Rewrites the blocks for which `worth(live rows, rows)` holds: their
    /// live rows go back to the hot buffer (then into new blocks), where
    /// the budget has room for them.
    fn rewrite_blocks(&mut self, worth: impl Fn(usize, usize) -> bool) {
        for block in 0..self.blocks.len() as u32 {
            let rewrite = self.blocks[block as usize]
                .as_ref()
                .is_some_and(|b| worth(usize::from(b.live), usize::from(b.rows)));
            if !rewrite {
                continue;
            }
            let rows: Vec<(u32, Vec<u8>)> = self
                .with_view(block, |v| {
                    (0..v.rows())
                        .filter(|&r| {
                            self.loc(v.local_id(r))
                                == Loc::Block {
                                    block,
                                    row: r as u32,
                                }
                        })
                        .map(|r| (v.local_id(r), record_codec::encode(&v.account(r))))
                        .collect()
                })
                .unwrap_or_default();
            let lens: Vec<usize> = rows.iter().map(|(_, e)| e.len()).collect();
            let needed = self.hot.growth_bytes_many(lens.iter().sum(), lens.len());
            if needed > self.available() {
                self.cache.borrow_mut().clear();
                if needed > self.available() {
                    continue;
                }
            }
            self.hot.reserve_many(lens.iter().sum(), lens.len());
            for (local, encoded) in &rows {
                let i = self.hot.push(*local, encoded);
                self.locs[*local as usize] = Loc::Hot(i).pack();
            }
            self.free_block(block);
            self.cache.borrow_mut().clear();
            if self.hot.arena_len() >= self.config.block_bytes {
                self.flush_hot();
            }
        }
    }
}

/// The journal payload of an upsert: the op's variant tag, then the record
/// exactly as postcard encodes it (so the record is encoded once).
fn upsert_payload(encoded: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + encoded.len());
    p.push(0); // JournalOpRef::Upsert
    p.extend_from_slice(encoded);
    p
}

/// The backend id at the front of a postcard-encoded account (its first field).
fn hot_id(bytes: &[u8]) -> Option<&str> {
    let mut r = crate::format::Reader::new(bytes);
    let s = r.bytes().ok()?;
    core::str::from_utf8(s).ok()
}

/// Iterator over every live record; see [`Store::iter`].
pub struct Iter<'a> {
    inner: LocalIter<'a>,
}

impl Iterator for Iter<'_> {
    type Item = Account;

    fn next(&mut self) -> Option<Account> {
        self.inner.next().map(|(_, a)| a)
    }
}

/// Every live record with its local id.
pub(crate) struct LocalIter<'a> {
    store: &'a Store,
    next_block: usize,
    pending: Vec<(u32, Account)>,
    next_hot: usize,
}

impl Iterator for LocalIter<'_> {
    type Item = (u32, Account);

    fn next(&mut self) -> Option<(u32, Account)> {
        loop {
            if let Some(a) = self.pending.pop() {
                return Some(a);
            }
            let s = self.store;
            if self.next_block < s.blocks.len() {
                let block = self.next_block as u32;
                self.next_block += 1;
                let Some(b) = s.blocks[block as usize].as_ref() else {
                    continue;
                };
                // Inflate outside the cache: a scan must not evict hot reads.
                let Ok(raw) = block::decompress(&b.bytes, b.raw_len, s.dictionary_of(b)) else {
                    continue;
                };
                if let Ok(v) = BlockView::decode(&raw.bytes) {
                    self.pending = (0..v.rows())
                        .rev()
                        .filter(|&r| {
                            s.loc(v.local_id(r))
                                == Loc::Block {
                                    block,
                                    row: r as u32,
                                }
                        })
                        .map(|r| (v.local_id(r), v.account(r)))
                        .collect();
                }
                continue;
            }
            while self.next_hot < s.hot.len() {
                let i = self.next_hot as u32;
                self.next_hot += 1;
                let live = s
                    .hot
                    .entry(i)
                    .is_some_and(|e| s.loc(e.local) == Loc::Hot(i));
                if live {
                    if let (Some(a), Some(e)) = (s.hot_account(i), s.hot.entry(i)) {
                        return Some((e.local, a));
                    }
                }
            }
            return None;
        }
    }
}

/// Internal access for retention (`crate::retention`).
impl Store {
    pub(crate) fn is_pinned_local(&self, local: u32) -> bool {
        self.pinned
            .get(local as usize / 64)
            .is_some_and(|w| w & (1 << (local % 64)) != 0)
    }

    /// Makes room for `local`'s pinned flag without setting it.
    pub(crate) fn reserve_pin(&mut self, local: u32) -> Result<(), BudgetExceeded> {
        let word = local as usize / 64;
        if word < self.pinned.len() {
            return Ok(());
        }
        let needed = growth_bytes(&self.pinned, word + 1 - self.pinned.len());
        let available = self.room_for(needed);
        if needed > available {
            return Err(BudgetExceeded { needed, available });
        }
        let extra = word + 1 - self.pinned.len();
        grow_to(&mut self.pinned, extra);
        self.pinned.resize(word + 1, 0);
        Ok(())
    }

    pub(crate) fn set_pinned(&mut self, local: u32, on: bool) -> Result<(), BudgetExceeded> {
        let word = local as usize / 64;
        if word >= self.pinned.len() {
            if !on {
                return Ok(());
            }
            self.reserve_pin(local)?;
        }
        if on {
            self.pinned[word] |= 1 << (local % 64);
        } else {
            self.pinned[word] &= !(1 << (local % 64));
        }
        Ok(())
    }

    pub(crate) fn usage(&self) -> Option<&UsageSketch> {
        self.usage.as_ref()
    }

    pub(crate) fn usage_mut(&mut self) -> Option<&mut UsageSketch> {
        self.usage.as_mut()
    }

    pub(crate) fn set_usage(&mut self, sketch: UsageSketch) {
        self.usage = Some(sketch);
    }

    pub(crate) fn stub_table(&self) -> &StubTable {
        &self.stubs
    }

    /// Adds a stub if the budget has room; false otherwise.
    pub(crate) fn add_stub(&mut self, id: &str, name: &str, score: u32) -> bool {
        let cost = self.stubs.insert_cost(id, name)
            + self.search.add_cost(self.search.stub_terms(name), 0)
            + self.stub_removal_room(id);
        if cost > self.room_for(cost) {
            return false;
        }
        self.drop_stub(id);
        self.stubs.insert(id, name, score);
        self.search.add_stub(id, name, score);
        true
    }

    pub(crate) fn remove_stub(&mut self, id: &str) {
        self.drop_stub(id);
    }

    /// Removes the stub of `id` and its postings.
    fn drop_stub(&mut self, id: &str) {
        let Some(stub) = self.stubs.get(id) else {
            return;
        };
        self.stubs.remove(id);
        let others = self.stubs.with_tag(crate::index::tag_of(id));
        self.search
            .remove_stub(id, &stub.name, others.into_iter().map(|s| (s.1, s.2)));
    }

    // ---- the rep's edits ---------------------------------------------------

    /// Applies the rep's edit to account `id` on the device and queues it in
    /// the outbox for the next sync; returns its outbox sequence number.
    ///
    /// All or nothing: on error no record, outbox entry or journal frame
    /// changed. A record with a pending edit is never evicted.
    ///
    /// ```
    /// use satchel_core::{budget::Budget, model::Account, store::Store};
    /// use satchel_core::outbox::{Change, Patch};
    /// let mut store = Store::new(Budget::parse("1MiB").unwrap());
    /// store.upsert(Account { id: "A1".into(), ..Default::default() }).unwrap();
    /// let patch = Patch { set: vec![Change::Phone("+46 8 123 45 67".into())], ..Patch::default() };
    /// let seq = store.edit("A1", patch, 1_790_000_000).unwrap();
    /// assert_eq!(store.get("A1").unwrap().phone, "+46 8 123 45 67");
    /// assert_eq!(store.outbox()[0].seq, seq);
    /// ```
    pub fn edit(&mut self, id: &str, patch: Patch, at: i64) -> Result<u64, EditError> {
        if patch.is_empty() {
            return Err(EditError::Empty);
        }
        let count = patch.set.len() + patch.log.len();
        if count > MAX_CHANGES {
            return Err(EditError::TooManyChanges { count });
        }
        let current = self
            .get(id)
            .ok_or_else(|| EditError::NotOnDevice { id: id.into() })?;
        let next_seq = self.outbox.next_seq();
        // What the edited fields held before: sync tells a field the server
        // changed from one only the rep changed by comparing with these.
        let mut base = Vec::with_capacity(patch.set.len());
        base.extend(
            patch
                .set
                .iter()
                .map(|c| crate::conflicts::current_value(c, &current)),
        );
        let e = Edit {
            seq: next_seq,
            id: id.into(),
            base_version: current.version,
            at,
            patch,
        };
        let updated = if e.patch.delete {
            None
        } else {
            let mut a = current;
            e.patch.apply(&mut a);
            self.check_record(&a).map_err(EditError::Rejected)?;
            Some(a)
        };
        let frame = if self.config.journal {
            journal::frame_len(journal::encode_op(&JournalOpRef::Edit(&e)).len())
        } else {
            0
        };
        let needed = self.outbox.push_cost(&e)
            + growth_bytes(&self.journal, frame)
            + self.ledger.base_cost(&base);
        self.make_room(needed).map_err(|err| match err {
            WriteError::Budget(b) => EditError::Budget(b),
            other => EditError::Rejected(other),
        })?;
        // The outbox entry first, then the record: a journal cut between the
        // two frames still has the edit (sync sends it; the record follows).
        let (journal_len, seq_before) = (self.journal.len(), self.seq);
        self.journal_op(&JournalOpRef::Edit(&e))
            .map_err(EditError::Budget)?;
        self.outbox.push(e);
        let written = match updated {
            Some(a) => self.upsert(a).map(drop).map_err(|r| match r.error {
                WriteError::Budget(b) => EditError::Budget(b),
                other => EditError::Rejected(other),
            }),
            None => self.delete(id).map(drop).map_err(EditError::Budget),
        };
        if let Err(err) = written {
            self.outbox.pop_last(next_seq);
            self.journal.truncate(journal_len);
            self.seq = seq_before;
            return Err(err);
        }
        // Room was reserved with the edit; the record write cannot have used
        // it (make_room covered `needed` before, the upsert reserved its own).
        let cost = self.ledger.base_cost(&base);
        if cost <= self.room_for(cost) {
            self.ledger.push_base(next_seq, base);
        }
        Ok(next_seq)
    }

    /// The pending edits, oldest first.
    pub fn outbox(&self) -> &[Edit] {
        self.outbox.edits()
    }

    /// True when `id` has an edit waiting for sync (it is never evicted).
    pub fn is_dirty(&self, id: &str) -> bool {
        self.outbox.has(id)
    }

    /// Drops outbox edit `seq` once the backend has confirmed it; returns it.
    /// `Ok(None)` when there is no such edit. Fails, changing nothing, only
    /// when the journal frame does not fit.
    pub fn ack(&mut self, seq: u64) -> Result<Option<Edit>, BudgetExceeded> {
        if !self.outbox.edits().iter().any(|e| e.seq == seq) {
            return Ok(None);
        }
        self.journal_op(&JournalOpRef::Ack(seq))?;
        self.ledger.forget(seq);
        Ok(self.outbox.ack(seq))
    }

    pub(crate) fn ledger(&self) -> &crate::conflicts::Ledger {
        &self.ledger
    }

    pub(crate) fn ledger_mut(&mut self) -> &mut crate::conflicts::Ledger {
        &mut self.ledger
    }

    /// Bytes left under the ceiling once the cache has made way for
    /// `needed`: the cache only holds what the budget has left, so it goes
    /// before anything the rep, a replay or the backend asked for is refused.
    pub(crate) fn room_for(&mut self, needed: usize) -> usize {
        if needed > self.available() {
            self.clear_cache();
        }
        self.available()
    }

    /// Puts an edit read back from a snapshot or journal into the outbox.
    pub(crate) fn restore_edit(&mut self, e: Edit) -> Result<(), BudgetExceeded> {
        let needed = self.outbox.push_cost(&e);
        // Reads during a replay fill the cache with what the budget has
        // left: the edit comes first.
        if needed > self.available() {
            self.clear_cache();
        }
        if needed > self.available() {
            self.compact();
        }
        if needed > self.available() {
            return Err(BudgetExceeded {
                needed,
                available: self.available(),
            });
        }
        self.outbox.push(e);
        Ok(())
    }

    /// Drops an acknowledged edit while replaying the journal.
    pub(crate) fn restore_ack(&mut self, seq: u64) {
        self.ledger.forget(seq);
        self.outbox.ack(seq);
    }

    // ---- search ------------------------------------------------------------

    /// Finds records and stubs by text and filters; see [`crate::search`].
    ///
    /// ```
    /// use satchel_core::{budget::Budget, model::Account, search::{HitRef, Query}, store::Store};
    /// let mut store = Store::new(Budget::parse("1MiB").unwrap());
    /// let mut a = Account::default();
    /// a.id = "A1".into();
    /// a.name = "Åsa Ström".into();
    /// store.upsert(a).unwrap();
    /// let hits = store.search(&Query::text("stro")).unwrap(); // finds "Ström"
    /// let HitRef::Record(local) = hits[0].target else { panic!() };
    /// assert_eq!(store.get_local(local).unwrap().id, "A1");
    /// ```
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, SearchError> {
        search::run(self, query)
    }

    /// The rep's numbers from the records on the device (one pass over them),
    /// with their 10 best-scored accounts; see [`crate::insights`].
    pub fn insights(&self, ctx: &crate::insights::InsightsContext) -> crate::insights::Insights {
        let mut out = crate::insights::compute(self.iter(), ctx);
        let best = Query {
            owner: alloc::vec![ctx.me.clone()],
            limit: 10,
            ..Query::default()
        };
        for hit in self.search(&best).unwrap_or_default() {
            if let search::HitRef::Record(local) = hit.target {
                if let Some(a) = self.card_local(local) {
                    out.top.push(crate::insights::TopAccount {
                        name: a.display_name().into(),
                        id: a.id,
                        score: hit.score,
                    });
                }
            }
        }
        out
    }

    /// Records `score` as the rank of `local` in search results.
    pub(crate) fn set_search_score(&self, local: u32, score: u32) {
        self.search.set_score(local, score);
    }

    /// The search index, for a snapshot.
    pub(crate) fn search_index(&self) -> &SearchIndex {
        &self.search
    }

    /// Bytes the search index takes in a snapshot (for density figures).
    pub fn search_snapshot_len(&self) -> usize {
        let mut v = Vec::new();
        self.search.encode_into(&mut v);
        v.len()
    }

    /// Installs a search index read from a snapshot, if it fits; otherwise
    /// leaves the index dropped (a rebuild is tried by the caller).
    pub(crate) fn install_search_index(&mut self, ix: SearchIndex) -> bool {
        if ix.heap_bytes() > self.writable() {
            return false;
        }
        self.search = ix;
        self.refresh_search_marks();
        true
    }

    /// Recomputes the search index's page marks after scores changed.
    pub(crate) fn refresh_search_marks(&mut self) {
        let stubs = &self.stubs;
        self.search.refresh_marks(|tag| {
            stubs
                .with_tag(tag)
                .iter()
                .map(|s| search::quantize(s.2))
                .max()
                .unwrap_or(0)
        });
    }

    /// Drops the search index and stops maintaining it until
    /// [`Store::rebuild_search_index`] (used while a snapshot loads).
    /// True while the search index is maintained (see
    /// [`Store::rebuild_search_index`]).
    pub(crate) fn search_index_enabled(&self) -> bool {
        self.search.is_enabled()
    }

    pub(crate) fn disable_search_index(&mut self) {
        self.search.disable();
    }

    /// Builds the search index of a store whose index was dropped (at open,
    /// or because it did not fit), if it fits beside the planning reserve;
    /// otherwise leaves it dropped, so that a snapshot that fitted when it
    /// was saved always opens. True when the index is in place.
    pub(crate) fn rebuild_search_index(&mut self) -> bool {
        if self.search.is_enabled() {
            return true;
        }
        // Built aside, so that the records can be read meanwhile; what it
        // holds is not yet in `used_bytes`, so count it here.
        let mut ix = SearchIndex::default();
        let room = self.writable();
        let mut fits = true;
        for (local, a) in self.iter_locals() {
            let cost = ix.add_cost(count_terms(&a), local as usize + 1);
            if ix.heap_bytes() + cost > room {
                fits = false;
                break;
            }
            ix.add_record(local, &a);
        }
        for stub in self.stubs.iter() {
            let cost = ix.add_cost(ix.stub_terms(&stub.name), 0);
            if !fits || ix.heap_bytes() + cost > room {
                fits = false;
                break;
            }
            ix.add_stub(&stub.id, &stub.name, stub.score);
        }
        if fits {
            self.search = ix;
        }
        fits
    }

    /// Bytes that records take: blocks, hot buffer, indexes.
    pub(crate) fn record_bytes(&self) -> usize {
        let b = self.bytes_by_kind();
        b.blocks + b.hot + b.index + b.search
    }

    pub(crate) fn last_cutoff(&self) -> Option<u32> {
        self.last_cutoff
    }

    pub(crate) fn set_last_cutoff(&mut self, cutoff: Option<u32>) {
        self.last_cutoff = cutoff;
    }
}

/// Internal access for the snapshot codec.
impl Store {
    pub(crate) fn parts(&self) -> (&[Option<Block>], &HotBuffer, &[u32], Option<&Dictionary>) {
        (
            &self.blocks,
            &self.hot,
            &self.locs,
            self.dictionary.as_ref(),
        )
    }

    /// Installs the dictionary read from a snapshot (before any block).
    pub(crate) fn install_dictionary(
        &mut self,
        dictionary: Dictionary,
    ) -> Result<(), InstallError> {
        let needed = dictionary.heap_bytes();
        if needed > self.available() {
            return Err(InstallError::Budget(BudgetExceeded {
                needed,
                available: self.available(),
            }));
        }
        self.dictionary = Some(dictionary);
        Ok(())
    }

    /// The dictionary, if trained.
    pub(crate) fn dictionary(&self) -> Option<&Dictionary> {
        self.dictionary.as_ref()
    }

    pub(crate) fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    pub(crate) fn set_journaling(&mut self, on: bool) {
        self.config.journal = on;
    }

    /// Installs a block read from a snapshot; `live_rows` are (row, local, id).
    pub(crate) fn install_block(
        &mut self,
        bytes: Box<[u8]>,
        raw_len: u32,
        rows: u16,
        uses_dictionary: bool,
        live_rows: &[(u32, u32, &str)],
    ) -> Result<(), InstallError> {
        let block = self.blocks.len() as u32;
        if self.blocks.len() >= MAX_BLOCKS {
            return Err(InstallError::Corrupt("block count"));
        }
        let needed = growth_bytes(&self.blocks, 1)
            + bytes.len()
            + self.install_cost(live_rows.len(), live_rows.iter().map(|r| r.1));
        if needed > self.available() {
            return Err(InstallError::Budget(BudgetExceeded {
                needed,
                available: self.available(),
            }));
        }
        // The index cannot see this block's ids until it is installed, so
        // duplicates within the block are caught here.
        // Inserted one by one, not collected: collecting sorts first, and
        // each sort is another copy of std's sort in the wasm module.
        let mut distinct: BTreeMap<&str, u32> = BTreeMap::new(); // id -> row
        for r in live_rows {
            if distinct.insert(r.2, r.0).is_some() {
                return Err(InstallError::Corrupt("duplicate record id"));
            }
        }
        for &(row, local, id) in live_rows {
            self.claim_local(local, id, Loc::Block { block, row })?;
        }
        grow_to(&mut self.blocks, 1);
        self.block_bytes += bytes.len();
        self.raw_block_bytes += raw_len as usize;
        self.dead_rows += usize::from(rows) - live_rows.len();
        self.blocks.push(Some(Block {
            bytes,
            raw_len,
            rows,
            live: live_rows.len() as u16,
            uses_dictionary,
            serial: self.next_serial,
        }));
        self.next_serial += 1;
        Ok(())
    }

    /// Installs a hot record read from a snapshot.
    pub(crate) fn install_hot(&mut self, local: u32, encoded: &[u8]) -> Result<(), InstallError> {
        let account =
            record_codec::decode(encoded).map_err(|_| InstallError::Corrupt("hot record"))?;
        if self.check_record(&account).is_err() {
            return Err(InstallError::Corrupt("hot record"));
        }
        let needed =
            self.hot.growth_bytes(encoded.len()) + self.install_cost(1, core::iter::once(local));
        if needed > self.available() {
            return Err(InstallError::Budget(BudgetExceeded {
                needed,
                available: self.available(),
            }));
        }
        let i = self.hot.push(local, encoded);
        self.claim_local(local, &account.id, Loc::Hot(i))
    }

    fn install_cost(&self, n: usize, locals: impl Iterator<Item = u32>) -> usize {
        let max_local = locals.max().map_or(0, |l| l as usize + 1);
        let extra = max_local.saturating_sub(self.locs.len());
        growth_bytes(&self.locs, extra) + self.index.growth_bytes(n)
    }

    fn claim_local(&mut self, local: u32, id: &str, loc: Loc) -> Result<(), InstallError> {
        if local == LOC_NONE || local as usize >= MAX_LOCALS {
            return Err(InstallError::Corrupt("local id"));
        }
        if self.loc(local) != Loc::None {
            return Err(InstallError::Corrupt("duplicate local id"));
        }
        if self.contains(id) {
            return Err(InstallError::Corrupt("duplicate record id"));
        }
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            return Err(InstallError::Corrupt("record id"));
        }
        let need = local as usize + 1;
        if need > self.locs.len() {
            let extra = need - self.locs.len();
            grow_to(&mut self.locs, extra);
            self.locs.resize(need, LOC_NONE);
        }
        self.locs[local as usize] = loc.pack();
        self.index.insert(tag_of(id), local);
        self.live += 1;
        Ok(())
    }

    /// After installing everything: the gaps in local ids become the free list.
    pub(crate) fn finish_install(&mut self) -> Result<(), InstallError> {
        let gaps = self.locs.iter().filter(|&&l| l == LOC_NONE).count();
        let needed = growth_bytes(&self.free_locals, gaps);
        if needed > self.available() {
            return Err(InstallError::Budget(BudgetExceeded {
                needed,
                available: self.available(),
            }));
        }
        grow_to(&mut self.free_locals, gaps);
        // Reuse the lowest ids first (popped from the end).
        for (i, _) in self
            .locs
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, &l)| l == LOC_NONE)
        {
            self.free_locals.push(i as u32);
        }
        Ok(())
    }
}

/// Most local ids a store hands out (a location packs the rest).
pub(crate) const MAX_LOCALS: usize = (u32::MAX - 1) as usize;

/// Why a snapshot part could not be installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InstallError {
    Budget(BudgetExceeded),
    Corrupt(&'static str),
}

impl From<BlockError> for InstallError {
    fn from(_: BlockError) -> Self {
        InstallError::Corrupt("block")
    }
}

/// Number of search terms `a` has.
fn count_terms(a: &Account) -> usize {
    record_keys(a).len()
}

/// The search terms of `a`.
fn record_keys(a: &Account) -> Vec<u64> {
    let mut t = Vec::new();
    terms::record_terms(a, &mut t);
    t
}

impl search::Source for Store {
    fn search_index(&self) -> &SearchIndex {
        &self.search
    }

    fn is_live(&self, local: u32) -> bool {
        self.loc(local) != Loc::None
    }

    fn locals(&self) -> usize {
        self.locs.len()
    }

    fn stubs_with_tag(&self, tag: u32) -> Vec<(String, String, u32)> {
        self.stubs.with_tag(tag)
    }
}
