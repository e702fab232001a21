//! Snapshots: a whole store as one checksummed blob, and opening a store from
//! a snapshot plus its journal.
//!
//! Owns the snapshot body layout (`core/FORMAT.md`, "Snapshot"). Compressed
//! blocks are already the on-disk form, so saving copies them as they are;
//! opening inflates each block once to check it and rebuild the id index.
//!
//! Invariant: [`open`] returns a complete store or an error, never a store with
//! part of the data: every byte is covered by the CRC, every block is decoded
//! and checked, and budget overruns are reported, not truncated.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::block::{self, BlockError, BlockView, MAX_ROWS};
use crate::budget::{Budget, BudgetExceeded};
use crate::dictionary::Dictionary;
use crate::format::{self, BlobType, Reader, WireError, HEADER_LEN, TRAILER_LEN};
use crate::journal::{self, JournalError, JournalOp};
use crate::price_lists::PriceList;
use crate::store::{Block, InstallError, Loc, Store, StoreConfig, WriteError, MAX_BLOCKS};
use crate::wire::Wire;

/// A journal replays under the budget plus this share of it (1/8): room for
/// a replay's other layout, given back before the store is returned.
const REPLAY_SLACK_DIVISOR: usize = 8;

/// Why a store could not be opened. Nothing was loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The snapshot's header, checksum or layout is wrong.
    Snapshot(WireError),
    /// A block inside the snapshot does not decode.
    Block {
        /// Block number.
        block: usize,
        /// What is wrong with it.
        error: BlockError,
    },
    /// The snapshot contradicts itself (duplicate ids, bad liveness bits).
    Inconsistent(&'static str),
    /// The journal is damaged or does not follow the snapshot.
    Journal(JournalError),
    /// The contents do not fit in the budget given to `open`.
    Budget(BudgetExceeded),
    /// A journaled record is refused by this build's limits.
    Rejected(WriteError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Snapshot(e) => write!(f, "snapshot: {e}"),
            OpenError::Block { block, error } => write!(f, "snapshot: block {block}: {error}"),
            OpenError::Inconsistent(what) => write!(f, "snapshot: inconsistent {what}"),
            OpenError::Journal(e) => e.fmt(f),
            OpenError::Budget(e) => write!(f, "store does not fit: {e}"),
            OpenError::Rejected(e) => write!(f, "journal: {e}"),
        }
    }
}

impl From<InstallError> for OpenError {
    fn from(e: InstallError) -> Self {
        match e {
            InstallError::Budget(b) => OpenError::Budget(b),
            InstallError::Corrupt(what) => OpenError::Inconsistent(what),
        }
    }
}

/// What opening found besides the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Journal ops replayed on top of the snapshot.
    pub replayed: usize,
    /// Bytes of a torn last journal frame that were skipped (a write a crash
    /// interrupted before it was confirmed).
    pub torn_tail_bytes: usize,
}

/// Encodes the whole store as a snapshot blob.
///
/// Dead rows of blocks are kept (with a liveness bitmap), so call
/// [`Store::compact`] first for the smallest snapshot.
pub fn save(store: &Store) -> Vec<u8> {
    let (blocks, hot, locs, dictionary) = store.parts();
    let mut body = Vec::new();
    format::put_varint(&mut body, store.seq());
    format::put_varint(&mut body, locs.len() as u64);
    match dictionary {
        Some(d) => {
            body.push(1);
            d.encode(&mut body);
        }
        None => body.push(0),
    }
    let live_blocks: Vec<(u32, &Block)> = blocks
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.as_ref().map(|b| (i as u32, b)))
        .collect();
    format::put_varint(&mut body, live_blocks.len() as u64);
    // Liveness comes from the location table: no block needs inflating.
    let mut bitmaps: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            b.as_ref().map_or(
                Vec::new(),
                |b| alloc::vec![0u8; usize::from(b.rows).div_ceil(8)],
            )
        })
        .collect();
    for &l in locs {
        if let Loc::Block { block, row } = Loc::unpack(l) {
            if let Some(bits) = bitmaps.get_mut(block as usize) {
                if let Some(byte) = bits.get_mut(row as usize / 8) {
                    *byte |= 1 << (row % 8);
                }
            }
        }
    }
    for (i, b) in &live_blocks {
        format::put_varint(&mut body, u64::from(b.rows));
        format::put_varint(&mut body, u64::from(b.raw_len));
        body.push(u8::from(b.uses_dictionary));
        body.extend_from_slice(&bitmaps[*i as usize]);
        format::put_bytes(&mut body, &b.bytes);
    }
    let live_hot: Vec<_> = hot
        .entries()
        .iter()
        .enumerate()
        .filter(|(i, e)| locs.get(e.local as usize) == Some(&Loc::Hot(*i as u32).pack()))
        .collect();
    format::put_varint(&mut body, live_hot.len() as u64);
    for (_, e) in live_hot {
        format::put_varint(&mut body, u64::from(e.local));
        format::put_bytes(&mut body, hot.bytes(*e));
    }
    // Retention: pinned local ids (ascending, as deltas), then stubs.
    let pinned: Vec<u32> = (0..locs.len() as u32)
        .filter(|&l| store.is_pinned_local(l))
        .collect();
    format::put_varint(&mut body, pinned.len() as u64);
    let mut prev = 0u32;
    for l in pinned {
        format::put_varint(&mut body, u64::from(l - prev));
        prev = l;
    }
    format::put_varint(&mut body, store.stub_table().len() as u64);
    for stub in store.stubs() {
        format::put_bytes(&mut body, stub.id.as_bytes());
        format::put_bytes(&mut body, stub.name.as_bytes());
        format::put_varint(&mut body, u64::from(stub.score));
    }
    // The outbox: pending edits, oldest first, each a postcard `Edit`.
    format::put_varint(&mut body, store.outbox().len() as u64);
    for e in store.outbox() {
        format::put_bytes(&mut body, &postcard::to_allocvec(e).unwrap_or_default());
    }
    // The search index as it is in memory, so that opening need not rebuild it.
    store.search_index().encode_into(&mut body);
    // Price lists (version 2 on), by id, each a postcard `PriceList`.
    format::put_varint(&mut body, store.price_lists().count() as u64);
    for list in store.price_lists() {
        format::put_bytes(&mut body, &postcard::to_allocvec(list).unwrap_or_default());
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    format::put_header(&mut out, BlobType::Snapshot, body.len() as u64);
    out.extend_from_slice(&body);
    let crc = format::crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Opens a store from a snapshot (or from nothing) and a journal (or nothing).
///
/// Checks everything before it returns: header, checksum, every block, every
/// journal frame. A torn last journal frame is skipped and reported.
pub fn open(
    snapshot: Option<&[u8]>,
    journal_blob: Option<&[u8]>,
    budget: Budget,
    config: StoreConfig,
) -> Result<(Store, OpenReport), OpenError> {
    let mut store = Store::with_config(budget, config);
    // Loading and replaying are not new changes: journal none of them.
    store.set_journaling(false);
    if let Some(bytes) = snapshot {
        // Records first, then their search index: an index that no longer
        // fits must not keep a snapshot from opening.
        store.disable_search_index();
        load_into(&mut store, bytes)?;
        store.rebuild_search_index();
    }
    let mut report = OpenReport::default();
    // A replay compacts at other moments than the live store did and starts
    // from the snapshot's layout (blocks with other dead rows, another hot
    // buffer), so midway it can need more room than the live store had at
    // the same change. It runs under the budget plus a slack; at the end the
    // store is compacted as far as it goes and must fit the budget itself.
    store.set_budget(Budget::new(
        budget
            .bytes()
            .saturating_add(budget.bytes() / REPLAY_SLACK_DIVISOR),
    ));
    if let Some(blob) = journal_blob {
        let read = journal::read_journal(blob, store.seq()).map_err(OpenError::Journal)?;
        report.torn_tail_bytes = read.torn_tail_bytes;
        for (seq, op) in read.ops {
            replay_op(&mut store, op)?;
            store.set_seq(seq);
            report.replayed += 1;
        }
    }
    store.set_budget(budget);
    if store.used_bytes() > budget.bytes() {
        store.compact_fully();
    }
    // An index the replay dropped comes back when it fits (else searches
    // are refused until a rebuild, as after a snapshot whose index did not).
    store.rebuild_search_index();
    if store.used_bytes() > budget.bytes() {
        return Err(OpenError::Budget(BudgetExceeded {
            needed: store.used_bytes(),
            available: budget.bytes(),
        }));
    }
    store.set_journaling(config.journal);
    Ok((store, report))
}

/// Applies one journaled change during a replay. Every change fit the live
/// store, but a replay starts from the snapshot's layout, compacts at other
/// moments and may hold a search index the live store had dropped (one that
/// did not fit when it reopened), so a change the budget refuses is tried
/// again after each way of making room: compacting the blocks fully, then
/// dropping the search index (derived data, rebuilt at the end if it fits).
fn replay_op(store: &mut Store, op: JournalOp) -> Result<(), OpenError> {
    let open_error = |e: WriteError| match e {
        WriteError::Budget(b) => OpenError::Budget(b),
        e => OpenError::Rejected(e),
    };
    let mut op = op;
    let mut attempt = 0;
    loop {
        let refused = match op {
            JournalOp::Upsert(a) => match store.upsert(*a) {
                Ok(_) => return Ok(()),
                Err(r) => {
                    op = JournalOp::Upsert(Box::new(r.value));
                    r.error
                }
            },
            JournalOp::PriceList(list) => match store.put_price_list(*list) {
                Ok(()) => return Ok(()),
                Err(r) => {
                    op = JournalOp::PriceList(Box::new(r.value));
                    r.error
                }
            },
            JournalOp::Delete(ref id) => match store.delete(id) {
                Ok(_) => return Ok(()),
                Err(b) => WriteError::Budget(b),
            },
            JournalOp::Pin(ref id) => match store.pin(id) {
                Ok(_) => return Ok(()),
                Err(b) => WriteError::Budget(b),
            },
            JournalOp::Edit(ref e) => match store.restore_edit((**e).clone()) {
                Ok(()) => return Ok(()),
                Err(b) => WriteError::Budget(b),
            },
            JournalOp::RemovePriceList(ref id) => match store.remove_price_list(id) {
                Ok(_) => return Ok(()),
                Err(b) => WriteError::Budget(b),
            },
            JournalOp::Unpin(id) => {
                store.unpin(&id);
                return Ok(());
            }
            JournalOp::Ack(seq) => {
                store.restore_ack(seq);
                return Ok(());
            }
            JournalOp::Stub { id, name, score } => {
                // A stub that no longer fits is a lost hint, not lost data.
                let _ = store.add_stub(&id, &name, score);
                return Ok(());
            }
        };
        let made_room = matches!(refused, WriteError::Budget(_))
            && match attempt {
                0 => {
                    store.compact_fully();
                    true
                }
                1 if store.search_index_enabled() => {
                    store.disable_search_index();
                    true
                }
                _ => false,
            };
        if !made_room {
            return Err(open_error(refused));
        }
        attempt += 1;
    }
}

fn load_into(store: &mut Store, bytes: &[u8]) -> Result<(), OpenError> {
    let body_len = format::check_header(bytes, BlobType::Snapshot).map_err(OpenError::Snapshot)?;
    let expected_len = (HEADER_LEN as u64)
        .checked_add(body_len)
        .and_then(|n| n.checked_add(TRAILER_LEN as u64))
        .ok_or(OpenError::Snapshot(WireError::Invalid("body length")))?;
    if (bytes.len() as u64) < expected_len {
        return Err(OpenError::Snapshot(WireError::Truncated));
    }
    if bytes.len() as u64 > expected_len {
        return Err(OpenError::Snapshot(WireError::Invalid("trailing bytes")));
    }
    let crc_at = bytes.len() - TRAILER_LEN;
    let (expected, got) = (
        format::u32_le(&bytes[crc_at..]),
        format::crc32(&bytes[..crc_at]),
    );
    if expected != got {
        return Err(OpenError::Snapshot(WireError::Checksum { expected, got }));
    }
    let mut r = Reader::new(&bytes[HEADER_LEN..crc_at]);
    let w = |e| OpenError::Snapshot(e);
    let seq = r.varint().map_err(w)?;
    let _local_count = r
        .varint_max(u64::from(u32::MAX), "local count")
        .map_err(w)?;
    match r.take(1).map_err(w)?[0] {
        0 => {}
        1 => store.install_dictionary(Dictionary::decode(&mut r).map_err(w)?)?,
        _ => return Err(OpenError::Snapshot(WireError::Invalid("dictionary flag"))),
    }
    let blocks = r.varint_max(MAX_BLOCKS as u64, "block count").map_err(w)? as usize;
    for block in 0..blocks {
        let rows = r.varint_max(MAX_ROWS as u64, "rows").map_err(w)? as usize;
        let raw_len = r.varint_max(u64::from(u32::MAX), "raw length").map_err(w)? as u32;
        let uses_dictionary = match r.take(1).map_err(w)?[0] {
            0 => false,
            1 if store.dictionary().is_some() => true,
            _ => return Err(OpenError::Snapshot(WireError::Invalid("block flags"))),
        };
        let bitmap = r.take(rows.div_ceil(8)).map_err(w)?;
        let compressed = r.bytes().map_err(w)?;
        let dictionary = if uses_dictionary {
            store.dictionary()
        } else {
            None
        };
        let raw = block::decompress(compressed, raw_len, dictionary)
            .map_err(|error| OpenError::Block { block, error })?;
        let view =
            BlockView::decode(&raw.bytes).map_err(|error| OpenError::Block { block, error })?;
        if view.rows() != rows || rows == 0 {
            return Err(OpenError::Inconsistent("block row count"));
        }
        if rows % 8 != 0 && bitmap[rows / 8] >> (rows % 8) != 0 {
            return Err(OpenError::Inconsistent("liveness bitmap"));
        }
        let live: Vec<(u32, u32, &str)> = (0..rows)
            .filter(|r| bitmap[r / 8] & (1 << (r % 8)) != 0)
            .map(|r| (r as u32, view.local_id(r), view.id(r)))
            .collect();
        if live.is_empty() {
            return Err(OpenError::Inconsistent("block without live rows"));
        }
        store.install_block(
            Box::from(compressed),
            raw_len,
            rows as u16,
            uses_dictionary,
            &live,
        )?;
    }
    let hot = r
        .varint_max(u64::from(u32::MAX >> 1), "hot count")
        .map_err(w)?;
    for _ in 0..hot {
        let local = r
            .varint_max(u64::from(u32::MAX - 1), "local id")
            .map_err(w)? as u32;
        let encoded = r.bytes().map_err(w)?;
        store.install_hot(local, encoded)?;
    }
    store.finish_install()?;
    let pins = r
        .varint_max(u64::from(u32::MAX), "pinned count")
        .map_err(w)?;
    let mut local = 0u64;
    for k in 0..pins {
        let delta = r.varint_max(u64::from(u32::MAX), "pinned id").map_err(w)?;
        if k > 0 && delta == 0 {
            return Err(OpenError::Inconsistent("pinned ids repeat"));
        }
        local += delta;
        let live = u32::try_from(local)
            .ok()
            .filter(|&l| store.get_local(l).is_some());
        let l = live.ok_or(OpenError::Inconsistent("pinned id of no record"))?;
        store.set_pinned(l, true).map_err(OpenError::Budget)?;
    }
    let stubs = r.varint_max(u64::from(u32::MAX), "stub count").map_err(w)?;
    for _ in 0..stubs {
        let id = core::str::from_utf8(r.bytes().map_err(w)?)
            .map_err(|_| OpenError::Inconsistent("stub id"))?;
        let name = core::str::from_utf8(r.bytes().map_err(w)?)
            .map_err(|_| OpenError::Inconsistent("stub name"))?;
        let score = r.varint_max(u64::from(u32::MAX), "stub score").map_err(w)? as u32;
        if id.is_empty()
            || id.len() > crate::store::MAX_ID_BYTES
            || store.contains(id)
            || store.stub(id).is_some()
        {
            return Err(OpenError::Inconsistent("stub id"));
        }
        if !store.add_stub(id, name, score) {
            return Err(OpenError::Budget(BudgetExceeded {
                needed: id.len() + name.len(),
                available: 0,
            }));
        }
    }
    let edits = r
        .varint_max(u64::from(u32::MAX), "outbox count")
        .map_err(w)?;
    let mut last_seq = None;
    for _ in 0..edits {
        let e = Wire::decode(r.bytes().map_err(w)?, crate::outbox::Edit::read_wire)
            .ok_or(OpenError::Inconsistent("outbox edit"))?;
        let changes = e.patch.set.len() + e.patch.log.len();
        if e.id.is_empty()
            || e.id.len() > crate::store::MAX_ID_BYTES
            || changes > crate::outbox::MAX_CHANGES
            || last_seq.is_some_and(|s| e.seq <= s)
        {
            return Err(OpenError::Inconsistent("outbox edit"));
        }
        last_seq = Some(e.seq);
        store.restore_edit(e).map_err(OpenError::Budget)?;
    }
    let search = crate::search::SearchIndex::decode(&mut r).map_err(w)?;
    // Version 1 ends with the search index; it had no price lists.
    if bytes[format::OFFSET_VERSION] >= 2 {
        let lists = r
            .varint_max(u64::from(u32::MAX), "price list count")
            .map_err(w)?;
        let mut last: Option<String> = None;
        for _ in 0..lists {
            let list = Wire::decode(r.bytes().map_err(w)?, PriceList::read_wire)
                .ok_or(OpenError::Inconsistent("price list"))?;
            if last.as_deref().is_some_and(|l| l >= list.id.as_str()) {
                return Err(OpenError::Inconsistent("price lists not in id order"));
            }
            last = Some(list.id.clone());
            // Before the search index, which may be left out when it no
            // longer fits; a price list may not.
            store.put_price_list(list).map_err(|r| match r.error {
                WriteError::Budget(b) => OpenError::Budget(b),
                _ => OpenError::Inconsistent("price list"),
            })?;
        }
    }
    if !r.is_done() {
        return Err(OpenError::Snapshot(WireError::Invalid("trailing bytes")));
    }
    if let Some(ix) = search {
        store.install_search_index(ix);
    }
    store.set_seq(seq);
    Ok(())
}

impl Store {
    /// Encodes the whole store as a snapshot blob; see [`save`].
    pub fn snapshot(&self) -> Vec<u8> {
        save(self)
    }

    /// Opens a store from a snapshot and journal; see [`open`].
    pub fn open(
        snapshot: Option<&[u8]>,
        journal_blob: Option<&[u8]>,
        budget: Budget,
        config: StoreConfig,
    ) -> Result<(Store, OpenReport), OpenError> {
        open(snapshot, journal_blob, budget, config)
    }
}
