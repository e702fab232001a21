//! Keeping a store on a device: a snapshot file and a journal file on a
//! [`Medium`], written in an order that survives a power cut at any write.
//!
//! Owns the write protocol (`core/FORMAT.md` gives the blobs):
//! - **commit** ([`Durable::commit`]): the store's pending journal frames are
//!   appended to `journal`. A change is *confirmed* once this returns.
//! - **checkpoint** ([`Durable::checkpoint`]): the whole store is written to
//!   `snapshot.tmp` and renamed over `snapshot`; then a journal holding only
//!   its header is written to `journal.tmp` and renamed over `journal`. A cut
//!   between the two renames leaves a journal whose frames the snapshot
//!   already holds: replay skips frames up to the snapshot's sequence number.
//! - **open** ([`Durable::open`]): snapshot + journal through
//!   [`Store::open`]; a torn last frame (an append the cut interrupted, never
//!   confirmed) is cut off the file with the same tmp-and-rename, before
//!   anything is appended after it, so it never ends up mid-journal.
//! - **erase** ([`Durable::erase`]): every file removed (remote wipe).
//!
//! The medium is the only I/O: the CLI's is a directory of files (fsync on
//! every call), tests use in-memory and power-cutting ones
//! (`core/tests/crash.rs`). What the protocol assumes of it: `append` and
//! `write` may leave any prefix when cut; `rename` and `remove` are atomic;
//! a call that returned is durable, and calls are durable in order.
//!
//! Invariant: after a cut at any write, [`Durable::open`] on what the medium
//! kept succeeds and the store holds every change whose commit (or
//! checkpoint) returned; changes after it are there whole or not at all,
//! record by record.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::budget::Budget;
use crate::journal::journal_header;
use crate::snapshot::{OpenError, OpenReport};
use crate::store::{Store, StoreConfig};

/// The snapshot's file name on a medium.
pub const SNAPSHOT: &str = "snapshot";
/// The journal's file name on a medium.
pub const JOURNAL: &str = "journal";
/// Where a new snapshot is written before its rename.
pub const SNAPSHOT_TMP: &str = "snapshot.tmp";
/// Where a new journal is written before its rename.
pub const JOURNAL_TMP: &str = "journal.tmp";

/// A medium's failure (an I/O error, or the power going).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediumError(pub String);

impl fmt::Display for MediumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the files live: the few primitive writes the protocol needs.
/// Every call that returns `Ok` is durable (fsynced) before it returns.
pub trait Medium {
    /// A whole file, or `None` when there is none.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, MediumError>;
    /// Creates or truncates `name` and writes `bytes`. Not atomic: a cut may
    /// leave any prefix (only `*.tmp` files are written this way).
    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError>;
    /// Appends `bytes` to `name` (created if missing). A cut may leave any
    /// prefix of `bytes` appended.
    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError>;
    /// Replaces `to` with `from`, atomically.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), MediumError>;
    /// Removes `name` if it exists.
    fn remove(&mut self, name: &str) -> Result<(), MediumError>;
}

/// Why persisting failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersistError {
    /// The medium failed; the last commit that returned is what is durable.
    /// The next commit writes a checkpoint (an append after a failed one
    /// could follow a torn frame).
    Medium(MediumError),
    /// The files are there but do not open (damage beyond a torn tail).
    Open(OpenError),
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Medium(e) => write!(f, "storage: {e}"),
            PersistError::Open(e) => e.fmt(f),
        }
    }
}

impl From<MediumError> for PersistError {
    fn from(e: MediumError) -> Self {
        PersistError::Medium(e)
    }
}

/// Writes `store` as the snapshot on `medium` and empties the journal, in
/// the order that survives a cut anywhere (see the module doc). For a store
/// opened with its journal (its snapshot then holds every frame); returns
/// the snapshot's size.
pub fn write_checkpoint<M: Medium>(medium: &mut M, store: &Store) -> Result<usize, MediumError> {
    let bytes = store.snapshot();
    medium.write(SNAPSHOT_TMP, &bytes)?;
    medium.rename(SNAPSHOT_TMP, SNAPSHOT)?;
    medium.write(JOURNAL_TMP, &journal_header())?;
    medium.rename(JOURNAL_TMP, JOURNAL)?;
    Ok(bytes.len())
}

/// A store and the medium it is kept on.
pub struct Durable<M: Medium> {
    medium: M,
    store: Store,
    /// The journal file may end in a torn or unknown frame: the next commit
    /// writes a checkpoint instead of appending.
    needs_checkpoint: bool,
}

impl<M: Medium> Durable<M> {
    /// Opens the store kept on `medium` (an empty one when there are no
    /// files), and leaves the journal ready for appends.
    pub fn open(
        mut medium: M,
        budget: Budget,
        config: StoreConfig,
    ) -> Result<(Self, OpenReport), PersistError> {
        let snapshot = medium.read(SNAPSHOT)?;
        let journal = medium.read(JOURNAL)?;
        let (store, report) = Store::open(snapshot.as_deref(), journal.as_deref(), budget, config)
            .map_err(PersistError::Open)?;
        let mut d = Durable {
            medium,
            store,
            needs_checkpoint: false,
        };
        match journal {
            // The torn tail goes before anything is appended after it.
            Some(j) if report.torn_tail_bytes > 0 => {
                d.replace(JOURNAL_TMP, JOURNAL, &j[..j.len() - report.torn_tail_bytes])?;
            }
            Some(_) => {}
            None => d.replace(JOURNAL_TMP, JOURNAL, &journal_header())?,
        }
        Ok((d, report))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, to change; [`Durable::commit`] after each change the rep
    /// is told about.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The medium.
    pub fn medium_mut(&mut self) -> &mut M {
        &mut self.medium
    }

    /// Makes every change so far durable: appends the store's pending journal
    /// frames (or writes a checkpoint after an earlier failure). Returns the
    /// bytes written. On error nothing after the last successful commit is
    /// known to be durable.
    pub fn commit(&mut self) -> Result<usize, PersistError> {
        if self.needs_checkpoint {
            return self.checkpoint();
        }
        let frames = self.store.take_journal();
        if frames.is_empty() {
            return Ok(0);
        }
        self.medium.append(JOURNAL, &frames).map_err(|e| {
            self.needs_checkpoint = true;
            PersistError::Medium(e)
        })?;
        Ok(frames.len())
    }

    /// Writes the whole store as the new snapshot and empties the journal.
    /// Returns the snapshot's size.
    pub fn checkpoint(&mut self) -> Result<usize, PersistError> {
        // The snapshot holds every pending frame's change.
        drop(self.store.take_journal());
        self.needs_checkpoint = true;
        let n = write_checkpoint(&mut self.medium, &self.store)?;
        self.needs_checkpoint = false;
        Ok(n)
    }

    /// Removes every file of the store from the medium (a remote wipe) and
    /// hands the medium back; the store in memory is dropped.
    pub fn erase(mut self) -> Result<M, PersistError> {
        // The journal before the snapshot: a wipe cut halfway leaves a store
        // that still opens (a journal alone would not, its frames follow a
        // snapshot), and the backend repeats the order at the next sync.
        for name in [JOURNAL_TMP, JOURNAL, SNAPSHOT_TMP, SNAPSHOT] {
            self.medium.remove(name)?;
        }
        Ok(self.medium)
    }

    fn replace(&mut self, tmp: &str, name: &str, bytes: &[u8]) -> Result<(), PersistError> {
        let r = self
            .medium
            .write(tmp, bytes)
            .and_then(|()| self.medium.rename(tmp, name));
        r.map_err(|e| {
            self.needs_checkpoint = true;
            PersistError::Medium(e)
        })
    }
}
