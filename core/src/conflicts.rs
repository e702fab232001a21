//! Sync conflicts: what the backend had when an outbox edit clashed with it,
//! until the rep chooses a side.
//!
//! Owns [`Ledger`], held by the [`Store`] and counted in its budget:
//! - the *bases* of outbox edits: for every field an edit sets, the value the
//!   record had on the device before the edit. A push that meets a newer
//!   server version (412) compares the server's value of each field with its
//!   base: a field the server did not change merges, a field both sides
//!   changed clashes. Without bases (an edit restored from a snapshot or a
//!   journal) every field whose server value differs from the rep's counts as
//!   changed by the server: more conflicts, never a lost change.
//! - the open [`Conflict`]s, which the app lists ([`Store::conflicts`]) and
//!   resolves ([`Store::resolve_conflict`]).
//!
//! Invariant: a conflict never removes its edit from the outbox. The edit
//! stays (the record stays dirty, never evicted) until the backend confirms
//! the resolved version, or the rep chooses the server's side, which acks it.
//!
//! The snapshot format does not carry the ledger. The app keeps it beside
//! the snapshot as a [`LedgerState`] ([`Store::ledger_state`], restored with
//! [`Store::restore_ledger`]; the CLI writes `STORE.conflicts.json`), so the
//! rep's choices and the bases survive a restart. A ledger that is lost or
//! older than the snapshot is still safe: entries of acknowledged edits are
//! dropped on restore, and a missing entry only means the next push meets
//! the same 412 and raises the conflict again (more conflicts, never a lost
//! change).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::budget::{grow_to, growth_bytes, vec_bytes, BudgetExceeded};
use crate::model::{Account, CustomValue};
use crate::outbox::change_heap_bytes as change_bytes;
use crate::outbox::{Change, Edit};
use crate::record_codec;
use crate::store::Store;
use crate::wire::Wire;

/// The value `account` has for the field `c` sets, as a change of that field.
pub fn current_value(c: &Change, a: &Account) -> Change {
    match c {
        Change::Name(_) => Change::Name(a.name.clone()),
        Change::Company(_) => Change::Company(a.company.clone()),
        Change::Email(_) => Change::Email(a.email.clone()),
        Change::Phone(_) => Change::Phone(a.phone.clone()),
        Change::Street(_) => Change::Street(a.address.street.clone()),
        Change::City(_) => Change::City(a.address.city.clone()),
        Change::Postcode(_) => Change::Postcode(a.address.postcode.clone()),
        Change::Stage(_) => Change::Stage(a.stage.clone()),
        Change::DealValue(_) => Change::DealValue(a.deal_value),
        Change::NextVisit(_) => Change::NextVisit(a.next_visit),
        Change::LastContact(_) => Change::LastContact(a.last_contact),
        Change::Tags(_) => Change::Tags(a.tags.clone()),
        Change::Custom { name, .. } => Change::Custom {
            name: name.clone(),
            value: a.custom.get(name).cloned(),
        },
    }
}

/// Heap bytes a change's contents hold.
fn changes_bytes(v: &Vec<Change>) -> usize {
    vec_bytes(v) + v.iter().map(change_bytes).sum::<usize>()
}

/// One field both sides changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clash {
    /// What the rep set (the field is [`Change::field`]).
    pub local: Change,
    /// What the backend has now.
    pub server: Change,
}

/// An outbox edit the backend could not take as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The outbox edit's sequence number.
    pub seq: u64,
    /// The account's backend id.
    pub id: String,
    /// The version the backend has now (the one a resolution writes against).
    pub server_version: u64,
    /// The backend deleted the account while the rep edited it.
    pub server_deleted: bool,
    /// Fields both sides changed, with both values (empty when the edit is a
    /// delete of a record the server changed, or the server deleted it).
    pub clashes: Vec<Clash>,
    /// The backend's record, kept when the conflict is about the record as a
    /// whole (the rep deleted it, the server changed it), so choosing the
    /// server's side can restore it.
    pub server_record: Option<Account>,
    /// The rep's choice, once made (the next sync carries it out).
    pub resolution: Option<Resolution>,
}

/// Which side wins a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The rep's values: the next sync writes the edit over the server's
    /// version (re-creates the account if the server deleted it).
    Local,
    /// The server's values: the clashing fields take the server's values on
    /// the device; the rest of the edit (other fields, logged activities) is
    /// still pushed, or, if nothing is left, the edit is acknowledged.
    Server,
}

/// Why a resolution was refused (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictError {
    /// No open conflict has this outbox sequence number.
    NoSuchConflict {
        /// The sequence number asked for.
        seq: u64,
    },
    /// The budget has no room for the change; free room and retry.
    Budget(BudgetExceeded),
}

impl fmt::Display for ConflictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictError::NoSuchConflict { seq } => {
                write!(
                    f,
                    "no open conflict for outbox edit {seq}; list them with conflicts()"
                )
            }
            ConflictError::Budget(b) => write!(f, "resolving the conflict: {b}"),
        }
    }
}

/// The ledger as data, to keep beside a snapshot (JSON through serde).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerState {
    /// Each outbox edit's base: `(seq, the edited fields' values before it)`.
    pub bases: Vec<(u64, Vec<Change>)>,
    /// The open conflicts, with the rep's choices.
    pub conflicts: Vec<Conflict>,
}

/// Bases of outbox edits and open conflicts (see the module doc).
#[derive(Default)]
pub struct Ledger {
    bases: Vec<(u64, Vec<Change>)>,
    conflicts: Vec<Conflict>,
    /// Heap bytes of the contents of `bases` and `conflicts` (by capacities).
    content_bytes: usize,
}

fn conflict_bytes(c: &Conflict) -> usize {
    c.id.capacity()
        + vec_bytes(&c.clashes)
        + c.clashes
            .iter()
            .map(|x| change_bytes(&x.local) + change_bytes(&x.server))
            .sum::<usize>()
        + c.server_record.as_ref().map_or(0, account_bytes)
}

/// Heap bytes of an account's contents, estimated from lengths (a decoded
/// account holds exact capacities). Used only for the rare whole-record
/// conflict.
fn account_bytes(a: &Account) -> usize {
    let s = |x: &String| x.capacity();
    s(&a.id)
        + s(&a.name)
        + s(&a.company)
        + s(&a.email)
        + s(&a.phone)
        + s(&a.address.street)
        + s(&a.address.city)
        + s(&a.address.postcode)
        + s(&a.address.country)
        + s(&a.territory)
        + s(&a.owner)
        + s(&a.stage)
        + s(&a.currency)
        + vec_bytes(&a.tags)
        + a.tags.iter().map(s).sum::<usize>()
        + vec_bytes(&a.activities)
        + a.activities
            .iter()
            .map(|x| s(&x.by) + s(&x.text))
            .sum::<usize>()
        // BTreeMap nodes: an estimate (entries × (key + value + overhead)).
        + a.custom.len() * 96
        + a.custom
            .iter()
            .map(|(k, v)| {
                s(k) + match v {
                    CustomValue::Text(t) | CustomValue::Enum(t) => t.capacity(),
                    CustomValue::Money { currency, .. } => currency.capacity(),
                    _ => 0,
                }
            })
            .sum::<usize>()
}

impl Ledger {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.bases) + vec_bytes(&self.conflicts) + self.content_bytes
    }

    /// Bytes recording `base` would add.
    pub(crate) fn base_cost(&self, base: &Vec<Change>) -> usize {
        growth_bytes(&self.bases, 1) + changes_bytes(base)
    }

    pub(crate) fn push_base(&mut self, seq: u64, base: Vec<Change>) {
        self.content_bytes += changes_bytes(&base);
        grow_to(&mut self.bases, 1);
        self.bases.push((seq, base));
    }

    /// The base of edit `seq`, if the device recorded one.
    pub fn base(&self, seq: u64) -> Option<&[Change]> {
        self.bases
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, b)| b.as_slice())
    }

    /// Forgets everything about edit `seq` (it was acknowledged).
    pub(crate) fn forget(&mut self, seq: u64) {
        if let Some(i) = self.bases.iter().position(|(s, _)| *s == seq) {
            let (_, b) = self.bases.remove(i);
            self.content_bytes -= changes_bytes(&b);
        }
        if let Some(i) = self.conflicts.iter().position(|c| c.seq == seq) {
            let c = self.conflicts.remove(i);
            self.content_bytes -= conflict_bytes(&c);
        }
    }

    /// The open conflicts, by outbox order.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// The conflict of edit `seq`.
    pub fn conflict(&self, seq: u64) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.seq == seq)
    }
}

/// Conflicts on the store (the ledger is a field of [`Store`]).
impl Store {
    /// The open conflicts, by outbox order. Each one's edit is still in the
    /// outbox; resolve it with [`Store::resolve_conflict`].
    pub fn conflicts(&self) -> &[Conflict] {
        self.ledger().conflicts()
    }

    /// Records (or replaces) the conflict of an outbox edit. Called by sync.
    pub fn record_conflict(&mut self, conflict: Conflict) -> Result<(), BudgetExceeded> {
        let old = self
            .ledger()
            .conflict(conflict.seq)
            .map_or(0, conflict_bytes);
        let slot = usize::from(self.ledger().conflict(conflict.seq).is_none());
        let needed = (conflict_bytes(&conflict) + growth_bytes(&self.ledger().conflicts, slot))
            .saturating_sub(old);
        let available = self.room_for(needed);
        if needed > available {
            return Err(BudgetExceeded { needed, available });
        }
        let l = self.ledger_mut();
        if let Some(i) = l.conflicts.iter().position(|c| c.seq == conflict.seq) {
            let c = core::mem::replace(&mut l.conflicts[i], conflict);
            l.content_bytes -= conflict_bytes(&c);
            l.content_bytes += conflict_bytes(&l.conflicts[i]);
        } else {
            l.content_bytes += conflict_bytes(&conflict);
            grow_to(&mut l.conflicts, 1);
            l.conflicts.push(conflict);
        }
        Ok(())
    }

    /// The rep's choice for the conflict of outbox edit `seq`.
    ///
    /// Choosing [`Resolution::Server`] puts the server's values of the
    /// clashing fields (or the server's record) on the device now; the next
    /// sync pushes what is left of the edit. Choosing [`Resolution::Local`]
    /// changes nothing on the device; the next sync writes the edit over the
    /// server's version. Either way the edit leaves the outbox only when the
    /// backend confirmed (or nothing of it is left to send).
    pub fn resolve_conflict(&mut self, seq: u64, side: Resolution) -> Result<(), ConflictError> {
        let Some(c) = self.ledger().conflict(seq).cloned() else {
            return Err(ConflictError::NoSuchConflict { seq });
        };
        if side == Resolution::Server {
            if let Some(rec) = c.server_record.clone() {
                self.upsert(rec).map_err(|r| match r.error {
                    crate::store::WriteError::Budget(b) => ConflictError::Budget(b),
                    _ => ConflictError::NoSuchConflict { seq },
                })?;
            } else if c.server_deleted {
                self.delete(&c.id).map_err(ConflictError::Budget)?;
            } else if let Some(mut a) = self.get(&c.id) {
                for clash in &c.clashes {
                    crate::outbox::Patch {
                        set: alloc::vec![clash.server.clone()],
                        ..Default::default()
                    }
                    .apply(&mut a);
                }
                self.upsert(a).map_err(|r| match r.error {
                    crate::store::WriteError::Budget(b) => ConflictError::Budget(b),
                    _ => ConflictError::NoSuchConflict { seq },
                })?;
            }
        }
        let l = self.ledger_mut();
        if let Some(x) = l.conflicts.iter_mut().find(|x| x.seq == seq) {
            x.resolution = Some(side);
        }
        Ok(())
    }

    /// The ledger as data (see [`LedgerState`]): save it beside the snapshot.
    pub fn ledger_state(&self) -> LedgerState {
        LedgerState {
            bases: self.ledger().bases.clone(),
            conflicts: self.ledger().conflicts.clone(),
        }
    }

    /// Puts a saved ledger back into a store opened from the snapshot it was
    /// saved with (or a later one). Entries whose edit is no longer in the
    /// outbox (acknowledged since), or is about another record, are dropped;
    /// entries the store already has are kept as they are. Returns how many
    /// were dropped. All or nothing: `Err` (no room) changes nothing.
    pub fn restore_ledger(&mut self, saved: LedgerState) -> Result<usize, BudgetExceeded> {
        let in_outbox = |seq: u64| {
            self.outbox()
                .iter()
                .find(|e| e.seq == seq)
                .map(|e| e.id.clone())
        };
        let total = saved.bases.len() + saved.conflicts.len();
        let bases: Vec<(u64, Vec<Change>)> = saved
            .bases
            .into_iter()
            .filter(|(seq, _)| in_outbox(*seq).is_some() && self.ledger().base(*seq).is_none())
            .collect();
        let conflicts: Vec<Conflict> = saved
            .conflicts
            .into_iter()
            .filter(|c| {
                in_outbox(c.seq).as_deref() == Some(c.id.as_str())
                    && self.ledger().conflict(c.seq).is_none()
            })
            .collect();
        let l = self.ledger();
        let needed = growth_bytes(&l.bases, bases.len())
            + bases.iter().map(|(_, b)| changes_bytes(b)).sum::<usize>()
            + growth_bytes(&l.conflicts, conflicts.len())
            + conflicts.iter().map(conflict_bytes).sum::<usize>();
        let available = self.room_for(needed);
        if needed > available {
            return Err(BudgetExceeded { needed, available });
        }
        let dropped = total - bases.len() - conflicts.len();
        let l = self.ledger_mut();
        grow_to(&mut l.bases, bases.len());
        grow_to(&mut l.conflicts, conflicts.len());
        for (seq, b) in bases {
            l.content_bytes += changes_bytes(&b);
            l.bases.push((seq, b));
        }
        for c in conflicts {
            l.content_bytes += conflict_bytes(&c);
            // Kept in seq order, each after its equals: inserted in place
            // rather than sorted (a ledger holds a few; each sort is
            // another copy of std's sort in the wasm module).
            let at = l.conflicts.partition_point(|x| x.seq <= c.seq);
            l.conflicts.insert(at, c);
        }
        Ok(dropped)
    }

    /// Erases everything: records, stubs, pins, outbox, conflicts (a remote
    /// wipe). Budget and configuration stay.
    pub fn erase(&mut self) {
        *self = Store::with_config(self.budget(), self.config());
    }

    /// The edit as a sync must send it now: a conflict resolved for the server
    /// drops its clashing fields. `None` when nothing is left to send.
    pub fn edit_to_send(&self, e: &Edit) -> Option<Edit> {
        let c = self.ledger().conflict(e.seq);
        match c.and_then(|c| c.resolution) {
            Some(Resolution::Server) => {
                let c = c?;
                if e.patch.delete || c.server_deleted {
                    return None;
                }
                let mut out = e.clone();
                out.patch
                    .set
                    .retain(|ch| !c.clashes.iter().any(|x| x.local.field() == ch.field()));
                (!out.patch.is_empty()).then_some(out)
            }
            _ => Some(e.clone()),
        }
    }
}

impl LedgerState {
    /// The state as bytes for [`LedgerState::from_postcard`]: postcard of
    /// its fields, with each kept server record as its
    /// [`crate::record_codec`] bytes. Not the derived form: that writes an
    /// account without its empty contacts and deals (they are skipped for
    /// JSON), which a positional format cannot read back, so a ledger
    /// holding a server record did not reopen.
    pub fn to_postcard(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct ConflictBytes<'a> {
            seq: u64,
            id: &'a str,
            server_version: u64,
            server_deleted: bool,
            clashes: &'a [Clash],
            server_record: Option<Vec<u8>>,
            resolution: Option<Resolution>,
        }
        #[derive(Serialize)]
        struct StateBytes<'a> {
            bases: &'a [(u64, Vec<Change>)],
            conflicts: Vec<ConflictBytes<'a>>,
        }
        let state = StateBytes {
            bases: &self.bases,
            conflicts: self
                .conflicts
                .iter()
                .map(|c| ConflictBytes {
                    seq: c.seq,
                    id: &c.id,
                    server_version: c.server_version,
                    server_deleted: c.server_deleted,
                    clashes: &c.clashes,
                    server_record: c.server_record.as_ref().map(record_codec::encode),
                    resolution: c.resolution,
                })
                .collect(),
        };
        // Serializing plain data into a Vec cannot fail.
        postcard::to_allocvec(&state).unwrap_or_default()
    }

    /// Reads what [`LedgerState::to_postcard`] wrote (bytes after it are
    /// ignored, as `postcard::from_bytes` does), by hand through [`Wire`]
    /// in field order. `None`: the bytes are not a ledger state.
    pub fn from_postcard(bytes: &[u8]) -> Option<LedgerState> {
        Wire::decode(bytes, |w| LedgerState {
            bases: w.seq(|w| (w.u64(), w.seq(Change::read_wire))),
            conflicts: w.seq(|w| Conflict {
                seq: w.u64(),
                id: w.string(),
                server_version: w.u64(),
                server_deleted: w.bool(),
                clashes: w.seq(|w| Clash {
                    local: Change::read_wire(w),
                    server: Change::read_wire(w),
                }),
                server_record: w.option(|w| {
                    record_codec::decode(w.bytes()).unwrap_or_else(|_| {
                        w.fail();
                        Account::default()
                    })
                }),
                resolution: w.option(|w| match w.u32() {
                    0 => Resolution::Local,
                    1 => Resolution::Server,
                    _ => {
                        w.fail();
                        Resolution::Local
                    }
                }),
            }),
        })
    }
}
