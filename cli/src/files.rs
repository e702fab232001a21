//! A store's files on disk: the CLI's [`Medium`] for core's `persist`.
//!
//! Owns the names: the snapshot is `STORE` itself, the journal
//! `STORE.journal`, the sync position `STORE.sync.json`, and replacements
//! are written to `STORE.snapshot.tmp` / `STORE.journal.tmp` first. Every
//! call is durable when it returns: files are fsynced, and so is the
//! directory after a rename or a removal (else a power cut can undo it).
//!
//! With a data key (`seal`: the PIN in `SATCHEL_PIN`), every file is
//! written as sealed records and read back through them; the medium's
//! callers (core's `persist`) see the plain bytes either way.
//!
//! Removal overwrites a file with zeros before unlinking it (a remote wipe
//! should not leave the records in free blocks). This is best effort: a
//! journaling or copy-on-write file system, or a flash translation layer,
//! may still hold older copies; the threat model in the README says so.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use satchel_core::budget::Budget;
use satchel_core::persist::{Medium, MediumError, SNAPSHOT};
use satchel_core::seal::DataKey;
use satchel_core::store::{Store, StoreConfig};

use crate::seal;

/// The files of the store at `base`.
pub struct StoreFiles {
    base: PathBuf,
    /// Seals every file when set.
    key: Option<DataKey>,
}

impl StoreFiles {
    /// The files of the store whose snapshot is `base`, in clear.
    pub fn new(base: &Path) -> Self {
        StoreFiles {
            base: base.into(),
            key: None,
        }
    }

    /// The files of the store at `base`, sealed under `key` when given.
    pub fn with_key(base: &Path, key: Option<DataKey>) -> Self {
        StoreFiles {
            base: base.into(),
            key,
        }
    }

    /// The store at `base` as the environment opens it (see `seal::store_key`).
    pub fn open(base: &Path, create: bool) -> Result<Self, String> {
        Ok(Self::with_key(base, seal::store_key(base, create)?))
    }

    /// The data key the files are sealed with, if any.
    pub fn key(&self) -> Option<&DataKey> {
        self.key.as_ref()
    }

    /// `bytes` as file `name` holds them: sealed as one record, or as they are.
    fn encode(&self, name: &str, bytes: &[u8]) -> Result<Vec<u8>, MediumError> {
        match &self.key {
            Some(k) => seal::record(k, seal::kind_of(name), bytes).map_err(MediumError),
            None => Ok(bytes.to_vec()),
        }
    }

    /// Where the medium's file `name` lives.
    pub fn path(&self, name: &str) -> PathBuf {
        if name == SNAPSHOT {
            return self.base.clone();
        }
        let mut s = self.base.as_os_str().to_owned();
        s.push(".");
        s.push(name);
        PathBuf::from(s)
    }

    fn err(&self, name: &str, e: io::Error) -> MediumError {
        MediumError(format!("{}: {e}", self.path(name).display()))
    }

    fn sync_dir(&self, name: &str) -> Result<(), MediumError> {
        let dir = match self.base.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // Directories cannot be opened for syncing everywhere (Windows):
        // the rename itself is still atomic there.
        match File::open(dir) {
            Ok(d) => d.sync_all().or_else(|e| match e.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput => Ok(()),
                _ => Err(self.err(name, e)),
            }),
            Err(_) => Ok(()),
        }
    }
}

impl Medium for StoreFiles {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, MediumError> {
        match fs::read(self.path(name)) {
            Ok(b) => match &self.key {
                Some(k) => seal::open_records(k, seal::kind_of(name), &b)
                    .map(Some)
                    .map_err(|e| {
                        MediumError(format!(
                            "{}: {e} (a wrong key, or the file was changed)",
                            self.path(name).display()
                        ))
                    }),
                None => Ok(Some(b)),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(name, e)),
        }
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError> {
        let bytes = self.encode(name, bytes)?;
        let mut f = File::create(self.path(name)).map_err(|e| self.err(name, e))?;
        f.write_all(&bytes).map_err(|e| self.err(name, e))?;
        f.sync_all().map_err(|e| self.err(name, e))
    }

    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<(), MediumError> {
        let bytes = self.encode(name, bytes)?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .map_err(|e| self.err(name, e))?;
        f.write_all(&bytes).map_err(|e| self.err(name, e))?;
        f.sync_data().map_err(|e| self.err(name, e))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), MediumError> {
        fs::rename(self.path(from), self.path(to)).map_err(|e| self.err(to, e))?;
        self.sync_dir(to)
    }

    fn remove(&mut self, name: &str) -> Result<(), MediumError> {
        let path = self.path(name);
        match OpenOptions::new().write(true).open(&path) {
            Ok(mut f) => {
                let len = f.metadata().map_err(|e| self.err(name, e))?.len();
                let zeros = vec![0u8; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    f.write_all(&zeros[..n]).map_err(|e| self.err(name, e))?;
                    left -= n as u64;
                }
                f.sync_all().map_err(|e| self.err(name, e))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.err(name, e)),
        }
        fs::remove_file(&path).map_err(|e| self.err(name, e))?;
        self.sync_dir(name)
    }
}

/// Opens the store at `path` to read it: the snapshot (which must exist)
/// and the journal after it, if any. Writes nothing.
pub fn load(path: &Path, budget: Budget, config: StoreConfig) -> Result<Store, String> {
    let mut files = StoreFiles::open(path, false)?;
    let snapshot = files
        .read(SNAPSHOT)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{}: no such file", path.display()))?;
    let journal = files
        .read(satchel_core::persist::JOURNAL)
        .map_err(|e| e.to_string())?;
    let (store, _) = Store::open(Some(&snapshot), journal.as_deref(), budget, config)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(store)
}

/// Writes `store` as the store at `path` (snapshot, then an empty journal).
/// `fresh`: the store does not come from these files (an import), so a
/// journal left there is removed first: its frames belong to another store.
/// Returns the snapshot's size.
pub fn save(path: &Path, store: &Store, fresh: bool) -> Result<usize, String> {
    let mut files = StoreFiles::open(path, fresh)?;
    if fresh {
        files
            .remove(satchel_core::persist::JOURNAL)
            .map_err(|e| e.to_string())?;
    }
    satchel_core::persist::write_checkpoint(&mut files, store).map_err(|e| e.to_string())
}
