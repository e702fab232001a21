//! The records Satchel keeps: [`Account`] and what hangs off it.
//!
//! Owns the canonical shape of a customer record, the one the NDJSON import
//! format, the store and (later) the adapter profiles agree on. Field order here
//! is the canonical JSON field order. Times are Unix seconds; money is an integer
//! in minor units (cents, öre) beside an ISO-4217 currency code; geo is in
//! microdegrees so that a record encodes to the same bytes on every machine.
//!
//! Invariant: a model value is plain data. Validation of sizes happens in the
//! store ([`crate::store`]), not here, so any decoded value can be represented.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// One customer account, as a field rep sees it.
///
/// # Examples
/// ```
/// use satchel_core::model::Account;
/// let mut a = Account::default();
/// a.id = "0015g00000A1".into();
/// a.name = "Åsa Ström".into();
/// assert_eq!(a.display_name(), "Åsa Ström");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Backend id, exactly as the backend spells it (Salesforce 18 chars, HubSpot
    /// numbers, UUIDs). The store's key.
    pub id: String,
    /// The contact person's name.
    pub name: String,
    /// The customer's company name.
    pub company: String,
    /// E-mail address (not validated: backends hold all sorts).
    #[serde(default)]
    pub email: String,
    /// Phone number as entered.
    #[serde(default)]
    pub phone: String,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// Position, when known.
    #[serde(default)]
    pub geo: Option<Geo>,
    /// Sales territory code (e.g. `SE-N-03`).
    #[serde(default)]
    pub territory: String,
    /// Owner (rep) id.
    #[serde(default)]
    pub owner: String,
    /// Pipeline stage (e.g. `prospect`, `negotiation`, `won`).
    #[serde(default)]
    pub stage: String,
    /// Open deal value in minor units of `currency`.
    #[serde(default)]
    pub deal_value: i64,
    /// ISO-4217 currency code of `deal_value`.
    #[serde(default)]
    pub currency: String,
    /// Last contact with the customer (Unix seconds).
    #[serde(default)]
    pub last_contact: Option<i64>,
    /// Next planned visit (Unix seconds).
    #[serde(default)]
    pub next_visit: Option<i64>,
    /// Last change on the backend (Unix seconds).
    #[serde(default)]
    pub updated_at: i64,
    /// Backend version counter (optimistic concurrency).
    #[serde(default)]
    pub version: u64,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Typed custom fields; the schema comes from the backend, not from code.
    #[serde(default)]
    pub custom: BTreeMap<String, CustomValue>,
    /// Recent activities, newest last.
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// People at the customer (issue 6). Left out of the JSON when empty, so
    /// an account without any reads and writes as it did before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// Deals in the customer's pipeline (issue 6). Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deals: Vec<Deal>,
}

impl Account {
    /// The name a list shows: the person, or the company when there is none.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.company
        } else {
            &self.name
        }
    }
}

/// A person at the customer's company.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Backend id of the contact.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Role or title (e.g. `buyer`, `CFO`).
    #[serde(default)]
    pub role: String,
    /// E-mail address (not validated).
    #[serde(default)]
    pub email: String,
    /// Phone number as entered.
    #[serde(default)]
    pub phone: String,
}

/// A deal: one sale in the customer's pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deal {
    /// Backend id of the deal.
    pub id: String,
    /// What is being sold.
    pub title: String,
    /// Pipeline stage (e.g. `qualified`, `proposal`, `won`).
    #[serde(default)]
    pub stage: String,
    /// Value in minor units of `currency`.
    #[serde(default)]
    pub value: i64,
    /// ISO-4217 currency code of `value`.
    #[serde(default)]
    pub currency: String,
    /// Expected (or actual) close date, Unix seconds.
    #[serde(default)]
    pub close_date: Option<i64>,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    #[serde(default)]
    pub street: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Postcode.
    #[serde(default)]
    pub postcode: String,
    /// ISO-3166 alpha-2 country code.
    #[serde(default)]
    pub country: String,
}

/// A position in microdegrees (1e-6°), so that it encodes exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geo {
    /// Latitude × 1,000,000.
    pub lat_e6: i32,
    /// Longitude × 1,000,000.
    pub lon_e6: i32,
}

/// A typed custom field value.
///
/// In JSON it is externally tagged: `{"int": 42}`, `{"money": {"minor": 1999, "currency": "EUR"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomValue {
    /// Free text.
    Text(String),
    /// Whole number.
    Int(i64),
    /// Decimal as a scaled integer: `value / 10^scale`.
    Decimal {
        /// The scaled value.
        value: i64,
        /// Number of decimal places.
        scale: u8,
    },
    /// Money in minor units.
    Money {
        /// Amount in minor units.
        minor: i64,
        /// ISO-4217 code.
        currency: String,
    },
    /// A date as Unix seconds.
    Date(i64),
    /// Yes or no.
    Bool(bool),
    /// One value of a backend-defined enumeration.
    Enum(String),
}

/// Something that happened with the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// What kind of activity.
    pub kind: ActivityKind,
    /// When (Unix seconds).
    pub at: i64,
    /// Who (rep id).
    #[serde(default)]
    pub by: String,
    /// Note text.
    #[serde(default)]
    pub text: String,
}

/// The kinds of activity a rep logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A phone call.
    Call,
    /// A meeting.
    Meeting,
    /// An on-site visit.
    Visit,
    /// A note.
    Note,
    /// A task.
    Task,
    /// An e-mail.
    Email,
}

impl ActivityKind {
    /// All kinds, in code order (the code is the index).
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Call,
        ActivityKind::Meeting,
        ActivityKind::Visit,
        ActivityKind::Note,
        ActivityKind::Task,
        ActivityKind::Email,
    ];

    /// The kind's one-byte code in the block format.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Its name in canonical JSON (`call`, `meeting`, …).
    pub fn name(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Visit => "visit",
            ActivityKind::Note => "note",
            ActivityKind::Task => "task",
            ActivityKind::Email => "email",
        }
    }

    /// The kind for a code, if the code is known.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}
