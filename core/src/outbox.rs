//! The outbox: the rep's offline edits, in order, until the backend has them.
//!
//! Owns [`Edit`] (what the rep changed on one account: fields set, activities
//! logged, or the account deleted, against the version they saw),
//! [`Patch::apply`], and [`Outbox`], the ordered list of edits not yet
//! acknowledged by a sync, counted in the store's budget.
//!
//! Invariant: an edit leaves the outbox only through [`Outbox::ack`] (the
//! backend confirmed it). Nothing the budget, ranking or eviction does removes
//! one, and a record with an edit in the outbox is "dirty": the planner always
//! keeps it. An edit that does not fit is refused before anything changes.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::fields::{self, Fields, Part, ReadError};
use crate::model::{Activity, CustomValue};
use crate::wire::Wire;

/// Most changes in one edit.
pub const MAX_CHANGES: usize = 64;

/// A field the rep can change, with its new value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Contact person's name.
    Name(String),
    /// Company name.
    Company(String),
    /// E-mail address.
    Email(String),
    /// Phone number.
    Phone(String),
    /// Street and number.
    Street(String),
    /// City.
    City(String),
    /// Postcode.
    Postcode(String),
    /// Pipeline stage.
    Stage(String),
    /// Deal value in minor units.
    DealValue(i64),
    /// Next planned visit (Unix seconds), or none.
    NextVisit(Option<i64>),
    /// Last contact (Unix seconds), or none.
    LastContact(Option<i64>),
    /// The whole tag list.
    Tags(Vec<String>),
    /// A custom field set (or removed, with `None`).
    Custom {
        /// Field name.
        name: String,
        /// New value.
        value: Option<CustomValue>,
    },
}

impl Change {
    /// The field's name, as in the canonical JSON (custom fields as
    /// `custom.<name>`); two changes clash when their names are equal.
    pub fn field(&self) -> String {
        let name = match self {
            Change::Name(_) => "name",
            Change::Company(_) => "company",
            Change::Email(_) => "email",
            Change::Phone(_) => "phone",
            Change::Street(_) => "address.street",
            Change::City(_) => "address.city",
            Change::Postcode(_) => "address.postcode",
            Change::Stage(_) => "stage",
            Change::DealValue(_) => "deal_value",
            Change::NextVisit(_) => "next_visit",
            Change::LastContact(_) => "last_contact",
            Change::Tags(_) => "tags",
            Change::Custom { name, .. } => return alloc::format!("custom.{name}"),
        };
        name.into()
    }
}

/// What the rep did to one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Patch {
    /// Fields set, in order (a later change of the same field wins).
    pub set: Vec<Change>,
    /// Activities logged (appended to the account's).
    pub log: Vec<Activity>,
    /// The account was deleted.
    pub delete: bool,
}

impl Patch {
    /// Reads a patch from its JSON, parsed (`{"set": [{"name": "…"}],
    /// "log": [activity…], "delete": false}`, every member optional).
    /// Refuses, naming the member's path, what serde's derive refuses.
    pub fn from_json_value(tree: &Value) -> Result<Patch, ReadError> {
        fields::read(tree, "patch")
    }

    /// Applies the changes and logged activities to `a`.
    pub fn apply(&self, a: &mut crate::model::Account) {
        for c in &self.set {
            match c.clone() {
                Change::Name(v) => a.name = v,
                Change::Company(v) => a.company = v,
                Change::Email(v) => a.email = v,
                Change::Phone(v) => a.phone = v,
                Change::Street(v) => a.address.street = v,
                Change::City(v) => a.address.city = v,
                Change::Postcode(v) => a.address.postcode = v,
                Change::Stage(v) => a.stage = v,
                Change::DealValue(v) => a.deal_value = v,
                Change::NextVisit(v) => a.next_visit = v,
                Change::LastContact(v) => a.last_contact = v,
                Change::Tags(v) => a.tags = v,
                Change::Custom { name, value } => match value {
                    Some(v) => {
                        a.custom.insert(name, v);
                    }
                    None => {
                        a.custom.remove(&name);
                    }
                },
            }
        }
        a.activities.extend(self.log.iter().cloned());
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.log.is_empty() && !self.delete
    }
}

/// One pending edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Position in the outbox (increasing; also the idempotency key's tail).
    pub seq: u64,
    /// The account's backend id.
    pub id: String,
    /// The version the rep edited (for optimistic concurrency).
    pub base_version: u64,
    /// When the rep made it (Unix seconds).
    pub at: i64,
    /// What changed.
    pub patch: Patch,
}

/// Why an edit was refused (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    /// No account with this id is on the device (a stub must be fetched first).
    NotOnDevice {
        /// The id.
        id: String,
    },
    /// The patch changes nothing.
    Empty,
    /// More than [`MAX_CHANGES`] changes.
    TooManyChanges {
        /// How many.
        count: usize,
    },
    /// The edited record is refused by the store (too large, …).
    Rejected(crate::store::WriteError),
    /// The edit does not fit in the budget; free room (retain) and retry.
    Budget(crate::budget::BudgetExceeded),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NotOnDevice { id } => {
                write!(f, "account {id:?} is not on the device; fetch it first")
            }
            EditError::Empty => f.write_str("the edit changes nothing"),
            EditError::TooManyChanges { count } => {
                write!(f, "{count} changes in one edit; at most {MAX_CHANGES}")
            }
            EditError::Rejected(e) => write!(f, "edited record refused: {e}"),
            EditError::Budget(b) => write!(f, "no room for the edit: {b}"),
        }
    }
}

/// The ordered pending edits.
#[derive(Default)]
pub struct Outbox {
    edits: Vec<Edit>,
    /// Heap bytes of the edits' contents (strings, lists), by their capacities.
    content_bytes: usize,
    next_seq: u64,
}

/// Heap bytes a change's strings and lists hold (by their capacities).
pub(crate) fn change_heap_bytes(c: &Change) -> usize {
    match c {
        Change::Name(s)
        | Change::Company(s)
        | Change::Email(s)
        | Change::Phone(s)
        | Change::Street(s)
        | Change::City(s)
        | Change::Postcode(s)
        | Change::Stage(s) => s.capacity(),
        Change::Tags(t) => vec_bytes(t) + t.iter().map(String::capacity).sum::<usize>(),
        Change::Custom { name, value } => {
            name.capacity()
                + match value {
                    Some(CustomValue::Text(s) | CustomValue::Enum(s)) => s.capacity(),
                    Some(CustomValue::Money { currency, .. }) => currency.capacity(),
                    _ => 0,
                }
        }
        _ => 0,
    }
}

/// Heap bytes an edit's contents hold (estimated from lengths; the edits are
/// built with exact capacities by postcard, so this is what they hold).
fn content_bytes(e: &Edit) -> usize {
    let text: usize = e.id.capacity()
        + e.patch.set.capacity() * core::mem::size_of::<Change>()
        + e.patch.log.capacity() * core::mem::size_of::<Activity>();
    let inner: usize = e.patch.set.iter().map(change_heap_bytes).sum::<usize>()
        + e.patch
            .log
            .iter()
            .map(|a| a.by.capacity() + a.text.capacity())
            .sum::<usize>();
    text + inner
}

impl Outbox {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.edits) + self.content_bytes
    }

    /// Bytes adding `e` would add.
    pub fn push_cost(&self, e: &Edit) -> usize {
        growth_bytes(&self.edits, 1) + content_bytes(e)
    }

    /// The sequence number the next edit gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends `e` (room checked with [`Outbox::push_cost`]).
    pub(crate) fn push(&mut self, e: Edit) {
        self.next_seq = self.next_seq.max(e.seq + 1);
        self.content_bytes += content_bytes(&e);
        grow_to(&mut self.edits, 1);
        self.edits.push(e);
    }

    /// Takes back the edit just pushed (its write failed).
    pub(crate) fn pop_last(&mut self, next_seq: u64) {
        if let Some(e) = self.edits.pop() {
            self.content_bytes -= content_bytes(&e);
        }
        self.next_seq = next_seq;
    }

    /// Removes the edit `seq` once the backend has it; true if it was there.
    pub(crate) fn ack(&mut self, seq: u64) -> Option<Edit> {
        let i = self.edits.iter().position(|e| e.seq == seq)?;
        let e = self.edits.remove(i);
        self.content_bytes -= content_bytes(&e);
        Some(e)
    }

    /// The pending edits, oldest first.
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// Number of pending edits.
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// True when `id` has a pending edit.
    pub fn has(&self, id: &str) -> bool {
        self.edits.iter().any(|e| e.id == id)
    }
}

// Reading a patch's JSON by hand (crate::fields, for the wasm module's
// size); the serde derives stay for postcard and as the reference the
// tests hold these readers to.

impl Part for Patch {
    const KEYS: &'static [&'static str] = &["set", "log", "delete"];

    fn read(f: &Fields<'_>) -> Patch {
        Patch {
            set: f.list_of::<Change>("set"),
            log: f.list_of::<Activity>("log"),
            delete: f.flag("delete"),
        }
    }
}

/// Externally tagged: an object with exactly one member, the field.
impl Part for Change {
    const KEYS: &'static [&'static str] = &[
        "name",
        "company",
        "email",
        "phone",
        "street",
        "city",
        "postcode",
        "stage",
        "deal_value",
        "next_visit",
        "last_contact",
        "tags",
        "custom",
    ];

    fn read(f: &Fields<'_>) -> Change {
        let Some(key) = f.only_member() else {
            return Change::Tags(Vec::new());
        };
        let text = || f.string(key);
        match key {
            "name" => Change::Name(text()),
            "company" => Change::Company(text()),
            "email" => Change::Email(text()),
            "phone" => Change::Phone(text()),
            "street" => Change::Street(text()),
            "city" => Change::City(text()),
            "postcode" => Change::Postcode(text()),
            "stage" => Change::Stage(text()),
            "deal_value" => Change::DealValue(f.int(key, None, i64::MIN, i64::MAX)),
            "next_visit" => Change::NextVisit(f.opt_int(key)),
            "last_contact" => Change::LastContact(f.opt_int(key)),
            "tags" => Change::Tags(f.string_list(key, true)),
            _ => {
                let CustomSet(name, value) = f.required("custom");
                Change::Custom { name, value }
            }
        }
    }
}

/// A custom field change's members (`{"name": "tier", "value": {"int": 3}}`).
struct CustomSet(String, Option<CustomValue>);

impl Part for CustomSet {
    const KEYS: &'static [&'static str] = &["name", "value"];

    fn read(f: &Fields<'_>) -> CustomSet {
        CustomSet(f.string("name"), f.part::<CustomValue>("value", true))
    }
}

// Read from postcard by hand (crate::wire), in field order; the derives
// write it.

impl Edit {
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> Edit {
        Edit {
            seq: w.u64(),
            id: w.string(),
            base_version: w.u64(),
            at: w.i64(),
            patch: Patch {
                set: w.seq(Change::read_wire),
                log: w.seq(Activity::read_wire),
                delete: w.bool(),
            },
        }
    }
}

impl Change {
    /// The variant's index, then its fields.
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> Change {
        match w.u32() {
            0 => Change::Name(w.string()),
            1 => Change::Company(w.string()),
            2 => Change::Email(w.string()),
            3 => Change::Phone(w.string()),
            4 => Change::Street(w.string()),
            5 => Change::City(w.string()),
            6 => Change::Postcode(w.string()),
            7 => Change::Stage(w.string()),
            8 => Change::DealValue(w.i64()),
            9 => Change::NextVisit(w.option(Wire::i64)),
            10 => Change::LastContact(w.option(Wire::i64)),
            11 => Change::Tags(w.seq(Wire::string)),
            12 => Change::Custom {
                name: w.string(),
                value: w.option(CustomValue::read_wire),
            },
            _ => {
                w.fail();
                Change::Tags(Vec::new())
            }
        }
    }
}
