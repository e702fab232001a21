//! The journal: every change since the last snapshot, as checksummed frames.
//!
//! Owns the journal blob (`core/FORMAT.md`, "Journal"): a header, then frames
//! of a 20-byte header and a payload, each payload a postcard
//! [`JournalOp`]. The store appends frames as it changes; the caller drains them
//! with `Store::take_journal` and appends them to durable storage after
//! [`journal_header`]. A frame is `[payload len u32][seq u64][payload crc32]
//! [header crc32]`, then the payload; the header checksum lets a reader tell a
//! damaged length (corruption) from a frame cut short by a crash (torn tail). Sequence numbers tie frames to a snapshot: a snapshot
//! records the last sequence it contains, and replay starts right after it.
//!
//! Invariant: [`read_journal`] returns either every complete, checksummed frame
//! in order with contiguous sequence numbers, or an error. Only the last frame
//! may be torn (cut short or damaged by a crash during its append); it was
//! never confirmed, so it is reported and skipped.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::format::{self, BlobType, WireError, FRAME_HEADER_LEN, HEADER_LEN};
use crate::model::Account;
use crate::outbox::Edit;
use crate::price_lists::PriceList;
use crate::record_codec;
use crate::wire::Wire;

/// One change, as written.
#[derive(Debug, Serialize)]
pub enum JournalOpRef<'a> {
    /// A record was inserted or replaced.
    Upsert(&'a Account),
    /// A record was deleted (or evicted) by backend id.
    Delete(&'a str),
    /// The rep pinned a record.
    Pin(&'a str),
    /// The rep unpinned a record.
    Unpin(&'a str),
    /// An evicted record left a stub.
    Stub {
        /// Backend id.
        id: &'a str,
        /// Display name.
        name: &'a str,
        /// Score at eviction.
        score: u32,
    },
    /// The rep's edit entered the outbox (the record's new state follows
    /// in its own `Upsert` or `Delete` frame).
    Edit(&'a Edit),
    /// The backend acknowledged the outbox edit with this sequence number.
    Ack(u64),
    /// A price list was added or replaced (by id).
    PriceList(&'a PriceList),
    /// The price list with this id was removed.
    RemovePriceList(&'a str),
}

/// One change, as read back.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub enum JournalOp {
    /// A record was inserted or replaced.
    Upsert(Box<Account>),
    /// A record was deleted (or evicted) by backend id.
    Delete(String),
    /// The rep pinned a record.
    Pin(String),
    /// The rep unpinned a record.
    Unpin(String),
    /// An evicted record left a stub.
    Stub {
        /// Backend id.
        id: String,
        /// Display name.
        name: String,
        /// Score at eviction.
        score: u32,
    },
    /// The rep's edit entered the outbox.
    Edit(Box<Edit>),
    /// The backend acknowledged an outbox edit.
    Ack(u64),
    /// A price list was added or replaced.
    PriceList(Box<PriceList>),
    /// A price list was removed.
    RemovePriceList(String),
}

/// The 16 bytes a journal blob starts with. The body length is 0: frames run
/// to the end of the blob and carry their own checksums.
pub fn journal_header() -> [u8; HEADER_LEN] {
    let mut v = Vec::with_capacity(HEADER_LEN);
    format::put_header(&mut v, BlobType::Journal, 0);
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&v);
    h
}

/// Appends one frame for `op` with sequence number `seq`.
pub fn put_frame(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&format::crc32(payload).to_le_bytes());
    let header_crc = format::crc32(&out[start..start + 16]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Bytes a frame with a payload of `payload_len` takes.
pub fn frame_len(payload_len: usize) -> usize {
    FRAME_HEADER_LEN + payload_len
}

/// Encodes an op as a frame payload.
pub fn encode_op(op: &JournalOpRef<'_>) -> Vec<u8> {
    match op {
        // The account's own byte form (`record_codec`): postcard of the
        // derived `Account` would not read back version 1 frames.
        JournalOpRef::Upsert(a) => {
            let mut out = alloc::vec![UPSERT];
            record_codec::encode_into(a, &mut out);
            out
        }
        // Serializing into a Vec cannot fail.
        _ => postcard::to_allocvec(op).unwrap_or_default(),
    }
}

/// Variant 0, `Upsert`, as postcard writes the enum's index.
const UPSERT: u8 = 0;

/// Reads a frame payload.
fn decode_op(payload: &[u8]) -> Option<JournalOp> {
    match payload.split_first() {
        Some((&UPSERT, account)) => Some(JournalOp::Upsert(Box::new(
            record_codec::decode(account).ok()?,
        ))),
        _ => {
            // By hand (crate::wire): the variant's index, then its fields;
            // bytes after them are ignored, as postcard's `from_bytes` does.
            let mut w = Wire::new(payload);
            let op = match w.u32() {
                1 => JournalOp::Delete(w.string()),
                2 => JournalOp::Pin(w.string()),
                3 => JournalOp::Unpin(w.string()),
                4 => JournalOp::Stub {
                    id: w.string(),
                    name: w.string(),
                    score: w.u32(),
                },
                5 => JournalOp::Edit(Box::new(Edit::read_wire(&mut w))),
                6 => JournalOp::Ack(w.u64()),
                7 => JournalOp::PriceList(Box::new(PriceList::read_wire(&mut w))),
                8 => JournalOp::RemovePriceList(w.string()),
                _ => return None,
            };
            (!w.failed()).then_some(op)
        }
    }
}

/// Why a journal was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JournalError {
    /// The header is wrong.
    Header(WireError),
    /// A frame before the last one is damaged: the journal cannot be trusted
    /// past `offset`. Restore from the previous snapshot and journal or resync.
    Corrupt {
        /// Byte offset of the damaged frame.
        offset: usize,
    },
    /// A frame's payload is not a journal op (checksum fine: a writer bug).
    Decode {
        /// Byte offset of the frame.
        offset: usize,
    },
    /// Sequence numbers skip: frames are missing between the snapshot and here.
    Gap {
        /// Sequence number expected.
        expected: u64,
        /// Sequence number found.
        got: u64,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Header(e) => write!(f, "journal: {e}"),
            JournalError::Corrupt { offset } => {
                write!(
                    f,
                    "journal: frame at byte {offset} is damaged; restore a backup or resync"
                )
            }
            JournalError::Decode { offset } => {
                write!(f, "journal: frame at byte {offset} does not decode")
            }
            JournalError::Gap { expected, got } => {
                write!(
                    f,
                    "journal: expected change #{expected}, found #{got}; changes are missing"
                )
            }
        }
    }
}

/// A journal read back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JournalRead {
    /// The ops after `after_seq`, in order, with their sequence numbers.
    pub ops: Vec<(u64, JournalOp)>,
    /// Bytes of a torn last frame that were skipped (0 when none).
    pub torn_tail_bytes: usize,
}

/// Reads a journal blob, keeping the ops with sequence numbers above `after_seq`.
pub fn read_journal(blob: &[u8], after_seq: u64) -> Result<JournalRead, JournalError> {
    format::check_header(blob, BlobType::Journal).map_err(JournalError::Header)?;
    let mut at = HEADER_LEN;
    let mut out = JournalRead::default();
    let mut expected = after_seq.wrapping_add(1);
    while at < blob.len() {
        let rest = &blob[at..];
        // A header cut short can only be the append a crash interrupted.
        let Some(h) = rest.get(..FRAME_HEADER_LEN) else {
            out.torn_tail_bytes = rest.len();
            return Ok(out);
        };
        if format::crc32(&h[..16]) != format::u32_le(&h[16..20]) {
            return Err(JournalError::Corrupt { offset: at });
        }
        let (len, seq, crc) = (
            format::u32_le(&h[0..4]) as usize,
            format::u64_le(&h[4..12]),
            format::u32_le(&h[12..16]),
        );
        let end = FRAME_HEADER_LEN.saturating_add(len);
        let payload = match rest.get(FRAME_HEADER_LEN..end) {
            Some(p) if format::crc32(p) == crc => p,
            // The header is sound, the payload is short or damaged: torn only
            // if it is the last frame, corrupt otherwise.
            _ if end >= rest.len() => {
                out.torn_tail_bytes = rest.len();
                return Ok(out);
            }
            _ => return Err(JournalError::Corrupt { offset: at }),
        };
        let offset = at;
        at += end;
        if seq <= after_seq {
            continue;
        }
        if seq != expected {
            return Err(JournalError::Gap { expected, got: seq });
        }
        expected = seq.wrapping_add(1);
        let op = decode_op(payload).ok_or(JournalError::Decode { offset })?;
        out.ops.push((seq, op));
    }
    Ok(out)
}
