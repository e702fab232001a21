//! Satchel's core: a budgeted, compressed store of CRM records for low-memory
//! handhelds.
//!
//! Contract: `no_std` + `alloc`; no I/O, no clock, no randomness of its own.
//! Time and bytes come in through arguments, and the caller does the I/O.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
#![forbid(unsafe_code)]
// A refused write hands the record back by value (as heapless's `push` does):
// the large `Err` is the point, not an accident.
#![allow(clippy::result_large_err)]

extern crate alloc;

pub mod bits;
pub mod block;
pub mod budget;
pub mod cache;
pub mod columns;
pub mod conflicts;
pub mod deflate;
pub mod dictionary;
pub mod fields;
pub mod fold;
mod fold_table;
pub mod format;
pub mod hot;
pub mod index;
pub mod insights;
pub mod journal;
pub mod json;
pub mod model;
pub mod outbox;
pub mod persist;
pub mod plan;
pub mod price_lists;
pub mod record_codec;
pub mod retention;
pub mod rules;
pub mod score;
pub mod seal;
pub mod search;
pub mod snapshot;
pub mod store;
pub mod stubs;
pub mod substr;
pub mod sync;
pub mod termindex;
pub mod terms;
pub mod usage;
pub mod wire;
