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
use serde_json::Value;

use crate::fields::{self, Fields, Part, ReadError};
use crate::wire::Wire;

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
    /// Reads an account from its canonical JSON, parsed. Refuses, naming
    /// the member's path, what serde's derive refuses (unknown and missing
    /// members, wrong types, numbers out of range).
    pub fn from_json_value(tree: &Value) -> Result<Account, ReadError> {
        fields::read(tree, "account")
    }

    /// The name a list shows: the person, or the company when there is none.
    pub fn display_name(&self) -> &str {
        shown_name(&self.name, &self.company)
    }
}

/// The person's name, or the company's when there is none.
fn shown_name<'a>(name: &'a str, company: &'a str) -> &'a str {
    if name.is_empty() {
        company
    } else {
        name
    }
}

/// What a search hit or a list row shows of an account: who and where. A
/// store reads it without inflating the rest of the record
/// ([`crate::store::Store::card_local`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Card {
    /// Backend id.
    pub id: String,
    /// The contact person's name.
    pub name: String,
    /// The customer's company.
    pub company: String,
    /// The address's city.
    pub city: String,
}

impl Card {
    /// The card of a whole record.
    pub fn of(a: &Account) -> Card {
        Card {
            id: a.id.clone(),
            name: a.name.clone(),
            company: a.company.clone(),
            city: a.address.city.clone(),
        }
    }

    /// The name a list shows: the person, or the company when there is none
    /// (as [`Account::display_name`]).
    pub fn display_name(&self) -> &str {
        shown_name(&self.name, &self.company)
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

// Reading canonical JSON by hand (crate::fields: the derived readers were
// the largest JSON code of the wasm module). The serde derives above stay:
// they write the JSON, and tests hold these readers to them.

/// `i64` in full, for the members that take any whole number.
const ANY: (i64, i64) = (i64::MIN, i64::MAX);

impl Part for Account {
    const KEYS: &'static [&'static str] = &[
        "id",
        "name",
        "company",
        "email",
        "phone",
        "address",
        "geo",
        "territory",
        "owner",
        "stage",
        "deal_value",
        "currency",
        "last_contact",
        "next_visit",
        "updated_at",
        "version",
        "tags",
        "custom",
        "activities",
        "contacts",
        "deals",
    ];

    fn read(f: &Fields<'_>) -> Account {
        Account {
            id: f.string("id"),
            name: f.string("name"),
            company: f.string("company"),
            email: f.string_or("email", ""),
            phone: f.string_or("phone", ""),
            address: f.part::<Address>("address", false).unwrap_or_default(),
            geo: f.part::<Geo>("geo", true),
            territory: f.string_or("territory", ""),
            owner: f.string_or("owner", ""),
            stage: f.string_or("stage", ""),
            deal_value: f.int("deal_value", Some(0), ANY.0, ANY.1),
            currency: f.string_or("currency", ""),
            last_contact: f.opt_int("last_contact"),
            next_visit: f.opt_int("next_visit"),
            updated_at: f.int("updated_at", Some(0), ANY.0, ANY.1),
            version: f.number("version", 0, u64::MAX),
            tags: f.string_list("tags", false),
            custom: f.map_of::<CustomValue>("custom"),
            activities: f.list_of::<Activity>("activities"),
            contacts: f.list_of::<Contact>("contacts"),
            deals: f.list_of::<Deal>("deals"),
        }
    }
}

impl Part for Contact {
    const KEYS: &'static [&'static str] = &["id", "name", "role", "email", "phone"];

    fn read(f: &Fields<'_>) -> Contact {
        Contact {
            id: f.string("id"),
            name: f.string("name"),
            role: f.string_or("role", ""),
            email: f.string_or("email", ""),
            phone: f.string_or("phone", ""),
        }
    }
}

impl Part for Deal {
    const KEYS: &'static [&'static str] =
        &["id", "title", "stage", "value", "currency", "close_date"];

    fn read(f: &Fields<'_>) -> Deal {
        Deal {
            id: f.string("id"),
            title: f.string("title"),
            stage: f.string_or("stage", ""),
            value: f.int("value", Some(0), ANY.0, ANY.1),
            currency: f.string_or("currency", ""),
            close_date: f.opt_int("close_date"),
        }
    }
}

impl Part for Address {
    const KEYS: &'static [&'static str] = &["street", "city", "postcode", "country"];

    fn read(f: &Fields<'_>) -> Address {
        Address {
            street: f.string_or("street", ""),
            city: f.string_or("city", ""),
            postcode: f.string_or("postcode", ""),
            country: f.string_or("country", ""),
        }
    }
}

impl Part for Geo {
    const KEYS: &'static [&'static str] = &["lat_e6", "lon_e6"];

    fn read(f: &Fields<'_>) -> Geo {
        let (min, max) = (i64::from(i32::MIN), i64::from(i32::MAX));
        Geo {
            lat_e6: f.int("lat_e6", None, min, max) as i32,
            lon_e6: f.int("lon_e6", None, min, max) as i32,
        }
    }
}

impl Part for Activity {
    const KEYS: &'static [&'static str] = &["kind", "at", "by", "text"];

    fn read(f: &Fields<'_>) -> Activity {
        Activity {
            kind: f.choice("kind", &ActivityKind::ALL.map(|k| (k.name(), k)), None),
            at: f.int("at", None, ANY.0, ANY.1),
            by: f.string_or("by", ""),
            text: f.string_or("text", ""),
        }
    }
}

/// A decimal custom value's members (`{"value": 1234, "scale": 2}`).
struct Scaled(i64, u8);

impl Part for Scaled {
    const KEYS: &'static [&'static str] = &["value", "scale"];

    fn read(f: &Fields<'_>) -> Scaled {
        Scaled(
            f.int("value", None, ANY.0, ANY.1),
            f.int("scale", None, 0, u8::MAX.into()) as u8,
        )
    }
}

/// A money custom value's members (`{"minor": 1999, "currency": "EUR"}`).
struct Minor(i64, String);

impl Part for Minor {
    const KEYS: &'static [&'static str] = &["minor", "currency"];

    fn read(f: &Fields<'_>) -> Minor {
        Minor(f.int("minor", None, ANY.0, ANY.1), f.string("currency"))
    }
}

/// Externally tagged: an object with exactly one member, the kind.
impl Part for CustomValue {
    const KEYS: &'static [&'static str] =
        &["text", "int", "decimal", "money", "date", "bool", "enum"];

    fn read(f: &Fields<'_>) -> CustomValue {
        let Some(key) = f.only_member() else {
            return CustomValue::Bool(false);
        };
        let any = |key| f.int(key, None, ANY.0, ANY.1);
        match key {
            "text" => CustomValue::Text(f.string(key)),
            "int" => CustomValue::Int(any(key)),
            "decimal" => {
                let Scaled(value, scale) = f.required(key);
                CustomValue::Decimal { value, scale }
            }
            "money" => {
                let Minor(minor, currency) = f.required(key);
                CustomValue::Money { minor, currency }
            }
            "date" => CustomValue::Date(any(key)),
            "bool" => CustomValue::Bool(f.flag(key)),
            _ => CustomValue::Enum(f.string(key)),
        }
    }
}

// Reading postcard by hand (crate::wire), in each struct's field order,
// which is what postcard and serde's derive write; the derives above stay
// for writing, and tests hold these readers to them.

impl Account {
    /// The fields through `activities` (record_codec's head); no contacts
    /// or deals.
    pub(crate) fn read_wire_head(w: &mut Wire<'_>) -> Account {
        Account {
            id: w.string(),
            name: w.string(),
            company: w.string(),
            email: w.string(),
            phone: w.string(),
            address: Address {
                street: w.string(),
                city: w.string(),
                postcode: w.string(),
                country: w.string(),
            },
            geo: w.option(|w| Geo {
                lat_e6: w.i32(),
                lon_e6: w.i32(),
            }),
            territory: w.string(),
            owner: w.string(),
            stage: w.string(),
            deal_value: w.i64(),
            currency: w.string(),
            last_contact: w.option(Wire::i64),
            next_visit: w.option(Wire::i64),
            updated_at: w.i64(),
            version: w.u64(),
            tags: w.seq(Wire::string),
            custom: read_wire_custom(w),
            activities: w.seq(Activity::read_wire),
            contacts: Vec::new(),
            deals: Vec::new(),
        }
    }
}

/// A map: its length, then each name and value.
fn read_wire_custom(w: &mut Wire<'_>) -> BTreeMap<String, CustomValue> {
    let mut out = BTreeMap::new();
    for _ in 0..w.length() {
        if w.failed() {
            break;
        }
        let name = w.string();
        let value = CustomValue::read_wire(w);
        out.insert(name, value);
    }
    out
}

impl CustomValue {
    /// The variant's index, then its fields.
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> CustomValue {
        match w.u32() {
            0 => CustomValue::Text(w.string()),
            1 => CustomValue::Int(w.i64()),
            2 => CustomValue::Decimal {
                value: w.i64(),
                scale: w.byte(),
            },
            3 => CustomValue::Money {
                minor: w.i64(),
                currency: w.string(),
            },
            4 => CustomValue::Date(w.i64()),
            5 => CustomValue::Bool(w.bool()),
            6 => CustomValue::Enum(w.string()),
            _ => {
                w.fail();
                CustomValue::Bool(false)
            }
        }
    }
}

impl Activity {
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> Activity {
        let code = w.u32();
        let kind = u8::try_from(code)
            .ok()
            .and_then(ActivityKind::from_code)
            .unwrap_or_else(|| {
                w.fail();
                ActivityKind::Note
            });
        Activity {
            kind,
            at: w.i64(),
            by: w.string(),
            text: w.string(),
        }
    }
}

impl Contact {
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> Contact {
        Contact {
            id: w.string(),
            name: w.string(),
            role: w.string(),
            email: w.string(),
            phone: w.string(),
        }
    }
}

impl Deal {
    pub(crate) fn read_wire(w: &mut Wire<'_>) -> Deal {
        Deal {
            id: w.string(),
            title: w.string(),
            stage: w.string(),
            value: w.i64(),
            currency: w.string(),
            close_date: w.option(Wire::i64),
        }
    }
}
