//! Blocks: many accounts laid out column by column, postcard-encoded, then
//! compressed with raw deflate (miniz_oxide).
//!
//! Owns the block payload format (`core/FORMAT.md`, "Block payload"). Columns
//! beat deflate over rows because values that repeat (territory, owner, stage,
//! country, tags) become one-byte codes and similar strings sit side by side.
//!
//! Invariant: [`BlockView::decode`] either rejects the bytes with a
//! [`BlockError`] or returns a view whose every row can be read without panic;
//! the rows it reads are exactly the rows [`encode`] was given.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::Serialize;

use crate::columns::{starts, Dict, DictBuilder, Text, TextBuilder};
use crate::deflate;
use crate::dictionary::Dictionary;
use crate::format;
use crate::model::{
    Account, Activity, ActivityKind, Address, Card, Contact as ContactPerson, CustomValue, Deal,
    Geo,
};
use crate::wire::Wire;

/// Most rows one block may hold (row numbers must fit in a location).
pub const MAX_ROWS: usize = 4096;

/// Why a block's bytes were rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockError {
    /// The deflate stream is corrupt or inflates to more than announced.
    Inflate,
    /// The inflated size differs from the size recorded beside the block.
    RawLength {
        /// Recorded size.
        expected: u32,
        /// Actual size.
        got: u32,
    },
    /// The payload is not valid postcard for the block layout.
    Decode,
    /// A column disagrees with the row count or another column; names the column.
    Inconsistent(&'static str),
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Inflate => f.write_str("block: deflate stream is corrupt"),
            BlockError::RawLength { expected, got } => {
                write!(f, "block: inflated to {got} bytes, expected {expected}")
            }
            BlockError::Decode => f.write_str("block: payload does not decode"),
            BlockError::Inconsistent(c) => write!(f, "block: column `{c}` is inconsistent"),
        }
    }
}

/// A custom value with its strings borrowed from the payload.
#[derive(Debug, Serialize)]
enum CustomRef<'a> {
    Text(&'a str),
    Int(i64),
    Decimal { value: i64, scale: u8 },
    Money { minor: i64, currency: &'a str },
    Date(i64),
    Bool(bool),
    Enum(&'a str),
}

impl<'a> CustomRef<'a> {
    fn of(v: &'a CustomValue) -> Self {
        match v {
            CustomValue::Text(s) => CustomRef::Text(s),
            CustomValue::Int(i) => CustomRef::Int(*i),
            CustomValue::Decimal { value, scale } => CustomRef::Decimal {
                value: *value,
                scale: *scale,
            },
            CustomValue::Money { minor, currency } => CustomRef::Money {
                minor: *minor,
                currency,
            },
            CustomValue::Date(d) => CustomRef::Date(*d),
            CustomValue::Bool(b) => CustomRef::Bool(*b),
            CustomValue::Enum(s) => CustomRef::Enum(s),
        }
    }

    fn to_owned(&self) -> CustomValue {
        match *self {
            CustomRef::Text(s) => CustomValue::Text(s.into()),
            CustomRef::Int(i) => CustomValue::Int(i),
            CustomRef::Decimal { value, scale } => CustomValue::Decimal { value, scale },
            CustomRef::Money { minor, currency } => CustomValue::Money {
                minor,
                currency: currency.into(),
            },
            CustomRef::Date(d) => CustomValue::Date(d),
            CustomRef::Bool(b) => CustomValue::Bool(b),
            CustomRef::Enum(s) => CustomValue::Enum(s.into()),
        }
    }
}

/// Number of sections every block payload is cut into; each is deflated on
/// its own, with its own dictionary (see [`crate::dictionary`]).
pub const SECTIONS: usize = 8;

/// The optional ninth section, [`Related`]: present only in a block where
/// some row has contacts or deals, so that a block without them has the
/// version 1 layout, and a version 1 block reads as one without them.
pub const RELATED: usize = 8;

/// Most sections a block payload has.
pub const MAX_SECTIONS: usize = SECTIONS + 1;

/// The dictionary section the related section is primed with: it has none
/// of its own (the dictionary format predates it), and it opens with
/// people's names, like the names section.
pub const RELATED_DICTIONARY: usize = 1;

/// The sections' names, in order (for statistics).
pub const SECTION_NAMES: [&str; MAX_SECTIONS] = [
    "keys",
    "names",
    "contact",
    "address",
    "sales",
    "custom",
    "activity_meta",
    "activity_text",
    "related",
];

// The sections are read by hand through `Wire` (written by postcard): the
// derived readers' early return at every column was most of the decoder's
// code in the wasm module. Each reader lists its struct's fields in their
// order, which is the format; `core/tests/block_decoder.rs` and the golden
// blobs hold them to what postcard writes.

fn text<'a>(w: &mut Wire<'a>) -> Text<'a> {
    Text {
        lens: w.seq(Wire::u32),
        joined: w.str(),
    }
}

fn dict<'a>(w: &mut Wire<'a>) -> Dict<'a> {
    Dict {
        values: w.seq(Wire::str),
        codes: w.seq(Wire::u32),
    }
}

fn times(w: &mut Wire<'_>) -> Vec<Option<i64>> {
    w.seq(|w| w.option(Wire::i64))
}

fn read_keys<'a>(w: &mut Wire<'a>) -> Keys<'a> {
    Keys {
        rows: w.u32(),
        local_id_deltas: w.seq(Wire::i32),
        id_shared: w.seq(Wire::u32),
        id_rest: text(w),
    }
}

fn read_names<'a>(w: &mut Wire<'a>) -> Names<'a> {
    Names {
        name: text(w),
        company: text(w),
    }
}

fn read_place<'a>(w: &mut Wire<'a>) -> Place<'a> {
    Place {
        street: text(w),
        city: dict(w),
        postcode: text(w),
        country: dict(w),
        geo: w.seq(|w| w.option(|w| (w.i32(), w.i32()))),
    }
}

impl<'a> Columns<'a> {
    fn read(w: &mut Wire<'a>) -> Self {
        Columns {
            keys: read_keys(w),
            names: read_names(w),
            contact: Contact {
                email: text(w),
                phone: text(w),
            },
            address: read_place(w),
            sales: Sales {
                territory: dict(w),
                owner: dict(w),
                stage: dict(w),
                deal_zeros: w.seq(Wire::byte),
                deal_mantissa: w.seq(Wire::i64),
                currency: dict(w),
                time_base: w.i64(),
                updated_at: w.seq(Wire::i64),
                last_contact: times(w),
                next_visit: times(w),
                version: w.seq(Wire::u64),
                tag_counts: w.seq(Wire::u32),
                tags: dict(w),
            },
            custom: Custom {
                custom_counts: w.seq(Wire::u32),
                custom_keys: dict(w),
                custom_values: w.seq(CustomRef::read),
            },
            activity_meta: ActivityMeta {
                activity_counts: w.seq(Wire::u32),
                activity_kind: w.seq(Wire::byte),
                activity_gap: w.seq(Wire::i64),
                activity_by_owner: w.seq(Wire::bool),
                activity_by: dict(w),
            },
            activity_text: ActivityText {
                activity_text: text(w),
            },
        }
    }
}

impl<'a> Related<'a> {
    fn read(w: &mut Wire<'a>) -> Self {
        Related {
            contact_counts: w.seq(Wire::u32),
            contact_name: text(w),
            contact_id: text(w),
            contact_role: dict(w),
            contact_email: text(w),
            contact_phone: text(w),
            deal_counts: w.seq(Wire::u32),
            deal_id: text(w),
            deal_title: text(w),
            deal_stage: dict(w),
            deal_zeros: w.seq(Wire::byte),
            deal_mantissa: w.seq(Wire::i64),
            deal_currency: dict(w),
            deal_close: times(w),
        }
    }
}

impl<'a> CustomRef<'a> {
    /// Postcard's enum: the variant's index, then its fields.
    fn read(w: &mut Wire<'a>) -> Self {
        match w.u32() {
            0 => CustomRef::Text(w.str()),
            1 => CustomRef::Int(w.i64()),
            2 => CustomRef::Decimal {
                value: w.i64(),
                scale: w.byte(),
            },
            3 => CustomRef::Money {
                minor: w.i64(),
                currency: w.str(),
            },
            4 => CustomRef::Date(w.i64()),
            5 => CustomRef::Bool(w.bool()),
            6 => CustomRef::Enum(w.str()),
            _ => {
                w.fail();
                CustomRef::Bool(false)
            }
        }
    }
}

/// The block payload before compression: eight sections, each a postcard
/// struct, concatenated. Field order is the format (`core/FORMAT.md`).
#[derive(Debug, Serialize)]
struct Columns<'a> {
    #[serde(borrow)]
    keys: Keys<'a>,
    #[serde(borrow)]
    names: Names<'a>,
    #[serde(borrow)]
    contact: Contact<'a>,
    #[serde(borrow)]
    address: Place<'a>,
    #[serde(borrow)]
    sales: Sales<'a>,
    #[serde(borrow)]
    custom: Custom<'a>,
    #[serde(borrow)]
    activity_meta: ActivityMeta<'a>,
    #[serde(borrow)]
    activity_text: ActivityText<'a>,
}

/// Section 0: which records these are.
#[derive(Debug, Serialize)]
struct Keys<'a> {
    rows: u32,
    /// Local ids, each as the wrapping difference to the previous one.
    local_id_deltas: Vec<i32>,
    /// Backend ids front-coded: bytes shared with the previous id, then the rest.
    id_shared: Vec<u32>,
    #[serde(borrow)]
    id_rest: Text<'a>,
}

/// Section 1: who.
#[derive(Debug, Serialize)]
struct Names<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    company: Text<'a>,
}

/// Section 2: how to reach them.
#[derive(Debug, Serialize)]
struct Contact<'a> {
    #[serde(borrow)]
    email: Text<'a>,
    #[serde(borrow)]
    phone: Text<'a>,
}

/// Section 3: where.
#[derive(Debug, Serialize)]
struct Place<'a> {
    #[serde(borrow)]
    street: Text<'a>,
    #[serde(borrow)]
    city: Dict<'a>,
    #[serde(borrow)]
    postcode: Text<'a>,
    #[serde(borrow)]
    country: Dict<'a>,
    geo: Vec<Option<(i32, i32)>>,
}

/// Section 4: the sales picture.
#[derive(Debug, Serialize)]
struct Sales<'a> {
    #[serde(borrow)]
    territory: Dict<'a>,
    #[serde(borrow)]
    owner: Dict<'a>,
    #[serde(borrow)]
    stage: Dict<'a>,
    /// Deal values split as `mantissa × 10^zeros`: pipeline amounts are mostly
    /// round, so the mantissas are small varints and the zeros compress away.
    deal_zeros: Vec<u8>,
    deal_mantissa: Vec<i64>,
    #[serde(borrow)]
    currency: Dict<'a>,
    /// The first row's `updated_at`; other times are distances from it.
    time_base: i64,
    updated_at: Vec<i64>,
    /// Distance back from the row's own `updated_at` (often 0).
    last_contact: Vec<Option<i64>>,
    next_visit: Vec<Option<i64>>,
    version: Vec<u64>,
    tag_counts: Vec<u32>,
    #[serde(borrow)]
    tags: Dict<'a>,
}

/// Section 5: typed custom fields, flattened.
#[derive(Debug, Serialize)]
struct Custom<'a> {
    custom_counts: Vec<u32>,
    #[serde(borrow)]
    custom_keys: Dict<'a>,
    #[serde(borrow)]
    custom_values: Vec<CustomRef<'a>>,
}

/// Section 6: activities without their text, flattened.
#[derive(Debug, Serialize)]
struct ActivityMeta<'a> {
    activity_counts: Vec<u32>,
    activity_kind: Vec<u8>,
    /// Each activity's time as the distance back from the next activity of the
    /// same row (from the row's `updated_at` for the last one).
    activity_gap: Vec<i64>,
    /// Whether each activity was logged by the row's owner (the usual case).
    activity_by_owner: Vec<bool>,
    /// Who logged the others, flattened over them only.
    #[serde(borrow)]
    activity_by: Dict<'a>,
}

/// Section 7: activity notes, flattened.
#[derive(Debug, Serialize)]
struct ActivityText<'a> {
    #[serde(borrow)]
    activity_text: Text<'a>,
}

/// Section 8, only in blocks where a row has contacts or deals: both,
/// flattened (issue 6).
#[derive(Debug, Serialize)]
struct Related<'a> {
    contact_counts: Vec<u32>,
    #[serde(borrow)]
    contact_name: Text<'a>,
    #[serde(borrow)]
    contact_id: Text<'a>,
    #[serde(borrow)]
    contact_role: Dict<'a>,
    #[serde(borrow)]
    contact_email: Text<'a>,
    #[serde(borrow)]
    contact_phone: Text<'a>,
    deal_counts: Vec<u32>,
    #[serde(borrow)]
    deal_id: Text<'a>,
    #[serde(borrow)]
    deal_title: Text<'a>,
    #[serde(borrow)]
    deal_stage: Dict<'a>,
    /// As the account's deal value: `mantissa × 10^zeros`.
    deal_zeros: Vec<u8>,
    deal_mantissa: Vec<i64>,
    #[serde(borrow)]
    deal_currency: Dict<'a>,
    /// Close date minus the row's `updated_at` (wrapping): close dates sit
    /// near the record's last change, so these are short varints.
    deal_close: Vec<Option<i64>>,
}

/// A block payload before compression, with the end offset of each section.
pub struct RawBlock {
    /// The payload.
    pub bytes: Vec<u8>,
    /// `cuts[k]` is where section `k` ends (`k < sections`).
    pub cuts: [usize; MAX_SECTIONS],
    /// [`SECTIONS`], or [`MAX_SECTIONS`] with the related section.
    pub sections: usize,
}

impl RawBlock {
    /// Section `k`'s bytes (empty for `k >= sections`).
    pub fn section(&self, k: usize) -> &[u8] {
        if k >= self.sections {
            return &[];
        }
        let start = if k == 0 { 0 } else { self.cuts[k - 1] };
        &self.bytes[start..self.cuts[k]]
    }
}

/// Lays out `rows` (local id, account) as an uncompressed block payload.
///
/// `rows.len()` must be at most [`MAX_ROWS`] (the store never builds larger
/// blocks; checked in debug builds).
pub fn encode_raw(rows: &[(u32, &Account)]) -> RawBlock {
    debug_assert!(rows.len() <= MAX_ROWS);
    let n = rows.len();
    let mut b = Builders::default();
    let time_base = rows.first().map_or(0, |(_, a)| a.updated_at);
    let mut prev_local = 0u32;
    let mut prev_id: &str = "";
    for &(local, a) in rows {
        b.local_id_deltas
            .push(local.wrapping_sub(prev_local) as i32);
        prev_local = local;
        let shared = shared_prefix(prev_id, &a.id);
        b.id_shared.push(shared as u32);
        b.id_rest.push(&a.id[shared..]);
        prev_id = &a.id;
        b.name.push(&a.name);
        b.company.push(&a.company);
        b.email.push(&a.email);
        b.phone.push(&a.phone);
        b.street.push(&a.address.street);
        b.city.push(&a.address.city);
        b.postcode.push(&a.address.postcode);
        b.country.push(&a.address.country);
        b.geo.push(a.geo.map(|g| (g.lat_e6, g.lon_e6)));
        b.territory.push(&a.territory);
        b.owner.push(&a.owner);
        b.stage.push(&a.stage);
        b.deal_value.push(a.deal_value);
        b.currency.push(&a.currency);
        b.updated_at.push(a.updated_at.wrapping_sub(time_base));
        b.last_contact
            .push(a.last_contact.map(|t| a.updated_at.wrapping_sub(t)));
        b.next_visit
            .push(a.next_visit.map(|t| t.wrapping_sub(time_base)));
        b.version.push(a.version);
        b.tag_counts.push(a.tags.len() as u32);
        for t in &a.tags {
            b.tags.push(t);
        }
        b.custom_counts.push(a.custom.len() as u32);
        for (k, v) in &a.custom {
            b.custom_keys.push(k);
            b.custom_values.push(CustomRef::of(v));
        }
        b.activity_counts.push(a.activities.len() as u32);
        let mut next = a.updated_at;
        let first_gap = b.activity_gap.len();
        for act in a.activities.iter().rev() {
            b.activity_gap.push(next.wrapping_sub(act.at));
            next = act.at;
        }
        b.activity_gap[first_gap..].reverse();
        for act in &a.activities {
            b.activity_kind.push(act.kind.code());
            b.activity_by_owner.push(act.by == a.owner);
            if act.by != a.owner {
                b.activity_by.push(&act.by);
            }
            b.activity_text.push(&act.text);
        }
        b.contact_counts.push(a.contacts.len() as u32);
        for c in &a.contacts {
            b.contact_id.push(&c.id);
            b.contact_name.push(&c.name);
            b.contact_role.push(&c.role);
            b.contact_email.push(&c.email);
            b.contact_phone.push(&c.phone);
        }
        b.deal_counts.push(a.deals.len() as u32);
        for d in &a.deals {
            b.deal_id.push(&d.id);
            b.deal_title.push(&d.title);
            b.deal_stage.push(&d.stage);
            b.deal_values.push(d.value);
            b.deal_currency.push(&d.currency);
            b.deal_close
                .push(d.close_date.map(|t| t.wrapping_sub(a.updated_at)));
        }
    }
    let related = rows
        .iter()
        .any(|(_, a)| !a.contacts.is_empty() || !a.deals.is_empty());
    let mut out = RawBlock {
        bytes: Vec::new(),
        cuts: [0; MAX_SECTIONS],
        sections: if related { MAX_SECTIONS } else { SECTIONS },
    };
    let mut put = |k: usize, section: &dyn erased::Section| {
        section.append_to(&mut out.bytes);
        out.cuts[k] = out.bytes.len();
    };
    put(
        0,
        &Keys {
            rows: n as u32,
            local_id_deltas: b.local_id_deltas,
            id_shared: b.id_shared,
            id_rest: b.id_rest.column(),
        },
    );
    put(
        1,
        &Names {
            name: b.name.column(),
            company: b.company.column(),
        },
    );
    put(
        2,
        &Contact {
            email: b.email.column(),
            phone: b.phone.column(),
        },
    );
    put(
        3,
        &Place {
            street: b.street.column(),
            city: b.city.finish(),
            postcode: b.postcode.column(),
            country: b.country.finish(),
            geo: b.geo,
        },
    );
    put(
        4,
        &Sales {
            territory: b.territory.finish(),
            owner: b.owner.finish(),
            stage: b.stage.finish(),
            deal_zeros: zeros(&b.deal_value),
            deal_mantissa: mantissas(&b.deal_value),
            currency: b.currency.finish(),
            time_base,
            updated_at: b.updated_at,
            last_contact: b.last_contact,
            next_visit: b.next_visit,
            version: b.version,
            tag_counts: b.tag_counts,
            tags: b.tags.finish(),
        },
    );
    put(
        5,
        &Custom {
            custom_counts: b.custom_counts,
            custom_keys: b.custom_keys.finish(),
            custom_values: b.custom_values,
        },
    );
    put(
        6,
        &ActivityMeta {
            activity_counts: b.activity_counts,
            activity_kind: b.activity_kind,
            activity_gap: b.activity_gap,
            activity_by_owner: b.activity_by_owner,
            activity_by: b.activity_by.finish(),
        },
    );
    put(
        7,
        &ActivityText {
            activity_text: b.activity_text.column(),
        },
    );
    if related {
        put(
            RELATED,
            &Related {
                contact_counts: b.contact_counts,
                contact_name: b.contact_name.column(),
                contact_id: b.contact_id.column(),
                contact_role: b.contact_role.finish(),
                contact_email: b.contact_email.column(),
                contact_phone: b.contact_phone.column(),
                deal_counts: b.deal_counts,
                deal_id: b.deal_id.column(),
                deal_title: b.deal_title.column(),
                deal_stage: b.deal_stage.finish(),
                deal_zeros: zeros(&b.deal_values),
                deal_mantissa: mantissas(&b.deal_values),
                deal_currency: b.deal_currency.finish(),
                deal_close: b.deal_close,
            },
        );
    }
    out
}

fn zeros(values: &[i64]) -> Vec<u8> {
    values.iter().map(|&v| trailing_zeros(v)).collect()
}

fn mantissas(values: &[i64]) -> Vec<i64> {
    values
        .iter()
        .map(|&v| v / 10i64.pow(u32::from(trailing_zeros(v))))
        .collect()
}

/// Whether every `mantissa × 10^zeros` is representable.
fn money_ok(zeros: &[u8], mantissas: &[i64]) -> bool {
    zeros.len() == mantissas.len()
        && zeros
            .iter()
            .zip(mantissas)
            .all(|(&z, m)| z <= 18 && m.checked_mul(10i64.pow(u32::from(z))).is_some())
}

/// Serializing sections one at a time (to know where each ends) without a
/// generic closure per type.
mod erased {
    use alloc::vec::Vec;

    pub trait Section {
        fn append_to(&self, out: &mut Vec<u8>);
    }

    impl<T: serde::Serialize> Section for T {
        fn append_to(&self, out: &mut Vec<u8>) {
            // Serializing vectors and strings into a Vec cannot fail.
            let bytes = postcard::to_extend(self, core::mem::take(out)).unwrap_or_default();
            *out = bytes;
        }
    }
}

/// Everything gathered while encoding, column by column.
#[derive(Default)]
struct Builders<'a> {
    local_id_deltas: Vec<i32>,
    id_shared: Vec<u32>,
    id_rest: TextBuilder,
    name: TextBuilder,
    company: TextBuilder,
    email: TextBuilder,
    phone: TextBuilder,
    street: TextBuilder,
    city: DictBuilder<'a>,
    postcode: TextBuilder,
    country: DictBuilder<'a>,
    geo: Vec<Option<(i32, i32)>>,
    territory: DictBuilder<'a>,
    owner: DictBuilder<'a>,
    stage: DictBuilder<'a>,
    deal_value: Vec<i64>,
    currency: DictBuilder<'a>,
    updated_at: Vec<i64>,
    last_contact: Vec<Option<i64>>,
    next_visit: Vec<Option<i64>>,
    version: Vec<u64>,
    tag_counts: Vec<u32>,
    tags: DictBuilder<'a>,
    custom_counts: Vec<u32>,
    custom_keys: DictBuilder<'a>,
    custom_values: Vec<CustomRef<'a>>,
    activity_counts: Vec<u32>,
    activity_kind: Vec<u8>,
    activity_gap: Vec<i64>,
    activity_by_owner: Vec<bool>,
    activity_by: DictBuilder<'a>,
    activity_text: TextBuilder,
    contact_counts: Vec<u32>,
    contact_id: TextBuilder,
    contact_name: TextBuilder,
    contact_role: DictBuilder<'a>,
    contact_email: TextBuilder,
    contact_phone: TextBuilder,
    deal_counts: Vec<u32>,
    deal_id: TextBuilder,
    deal_title: TextBuilder,
    deal_stage: DictBuilder<'a>,
    deal_values: Vec<i64>,
    deal_currency: DictBuilder<'a>,
    deal_close: Vec<Option<i64>>,
}

/// Decimal zeros at the end of `v` (0 for 0), at most 18.
fn trailing_zeros(v: i64) -> u8 {
    let mut k = 0u8;
    while v != 0 && k < 18 && v % 10i64.pow(u32::from(k) + 1) == 0 {
        k += 1;
    }
    k
}

/// Bytes `b` shares with `a` from the start, cut back to a char boundary.
fn shared_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// The dictionary bytes section `k` is primed with.
fn primer(dictionary: Option<&Dictionary>, k: usize) -> &[u8] {
    let k = if k == RELATED { RELATED_DICTIONARY } else { k };
    dictionary.map_or(&[][..], |d| d.section(k))
}

/// Compresses a raw payload: each section deflated on its own, primed with its
/// dictionary section (`&[]` for none). Layout: per section, raw length
/// (varint), compressed length (varint), compressed bytes.
pub fn compress(raw: &RawBlock, dictionary: Option<&Dictionary>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut deflater = deflate::Deflater::new();
    for k in 0..raw.sections {
        let section = raw.section(k);
        let z = deflater.deflate(section, primer(dictionary, k));
        format::put_varint(&mut out, section.len() as u64);
        format::put_bytes(&mut out, &z);
    }
    out
}

/// Inflates a block of `raw_len` bytes; never allocates more than that (plus
/// one section of scratch).
pub fn decompress(
    compressed: &[u8],
    raw_len: u32,
    dictionary: Option<&Dictionary>,
) -> Result<RawBlock, BlockError> {
    inflate_sections(compressed, raw_len, dictionary, ALL_SECTIONS)
}

/// Every section, as a mask for [`inflate_sections`].
const ALL_SECTIONS: u16 = (1 << MAX_SECTIONS) - 1;

/// Inflates only the sections a [`Card`] is read from ([`CARD_SECTIONS`]:
/// keys, names, address); every other section is left empty. About a
/// third of the time of [`decompress`] on generated accounts, whose
/// activity text dominates. Read it with [`card_of_sections`].
pub fn decompress_card_sections(
    compressed: &[u8],
    raw_len: u32,
    dictionary: Option<&Dictionary>,
) -> Result<RawBlock, BlockError> {
    inflate_sections(compressed, raw_len, dictionary, CARD_SECTIONS)
}

/// The sections of a block that bit `k` of `wanted` names, inflated (the
/// others empty, their bytes passed over); all of them, checked against
/// `raw_len` and the end of `compressed`, when `wanted` is [`ALL_SECTIONS`].
fn inflate_sections(
    compressed: &[u8],
    raw_len: u32,
    dictionary: Option<&Dictionary>,
    wanted: u16,
) -> Result<RawBlock, BlockError> {
    let whole = wanted == ALL_SECTIONS;
    // A part grows as needed (each section reserves its own length).
    let mut out = Vec::with_capacity(if whole { raw_len as usize } else { 0 });
    let mut cuts = [0usize; MAX_SECTIONS];
    let mut sections = 0;
    let mut scratch = Vec::new();
    let mut r = format::Reader::new(compressed);
    for (k, cut) in cuts.iter_mut().enumerate() {
        // The related section is the only optional one.
        if k == RELATED && r.is_done() {
            break;
        }
        let len = r.varint().map_err(|_| BlockError::Inflate)?;
        let remaining = u64::from(raw_len) - out.len() as u64;
        if len > remaining {
            return Err(BlockError::RawLength {
                expected: raw_len,
                got: (out.len() as u64 + len).min(u64::from(u32::MAX)) as u32,
            });
        }
        let z = r.bytes().map_err(|_| BlockError::Inflate)?;
        if wanted & (1 << k) != 0 {
            deflate::inflate(
                z,
                primer(dictionary, k),
                len as usize,
                &mut scratch,
                &mut out,
            )
            .map_err(|_| BlockError::Inflate)?;
        }
        *cut = out.len();
        sections = k + 1;
    }
    if !whole {
        return Ok(RawBlock {
            bytes: out,
            cuts,
            sections,
        });
    }
    if !r.is_done() {
        return Err(BlockError::Inflate);
    }
    if out.len() != raw_len as usize {
        return Err(BlockError::RawLength {
            expected: raw_len,
            got: out.len() as u32,
        });
    }
    Ok(RawBlock {
        bytes: out,
        cuts,
        sections,
    })
}

/// A decoded, validated block payload: random access to its rows.
pub struct BlockView<'a> {
    c: Columns<'a>,
    related: Option<RelatedView<'a>>,
    ids: Vec<String>,
    local_ids: Vec<u32>,
    text_offsets: [Vec<u32>; 7],
    tag_starts: Vec<u32>,
    custom_starts: Vec<u32>,
    activity_starts: Vec<u32>,
    by_index: Vec<u32>,
}

/// The related section, checked, with where each row's entries start.
struct RelatedView<'a> {
    r: Related<'a>,
    contact_starts: Vec<u32>,
    deal_starts: Vec<u32>,
    /// Offsets of contact id, name, email, phone; deal id, title.
    text_offsets: [Vec<u32>; 6],
}

impl<'a> RelatedView<'a> {
    fn check(r: Related<'a>, n: usize) -> Result<Self, BlockError> {
        let contacts = r.contact_role.codes.len();
        let contact_starts = starts(&r.contact_counts, n, contacts, "contact_counts")?;
        r.contact_role.check(contacts, "contact_role")?;
        let deals = r.deal_stage.codes.len();
        let deal_starts = starts(&r.deal_counts, n, deals, "deal_counts")?;
        r.deal_stage.check(deals, "deal_stage")?;
        r.deal_currency.check(deals, "deal_currency")?;
        if r.deal_mantissa.len() != deals || !money_ok(&r.deal_zeros, &r.deal_mantissa) {
            return Err(BlockError::Inconsistent("deal_mantissa"));
        }
        if r.deal_close.len() != deals {
            return Err(BlockError::Inconsistent("deal_close"));
        }
        let text_offsets = [
            r.contact_id.offsets(contacts, "contact_id")?,
            r.contact_name.offsets(contacts, "contact_name")?,
            r.contact_email.offsets(contacts, "contact_email")?,
            r.contact_phone.offsets(contacts, "contact_phone")?,
            r.deal_id.offsets(deals, "deal_id")?,
            r.deal_title.offsets(deals, "deal_title")?,
        ];
        Ok(RelatedView {
            r,
            contact_starts,
            deal_starts,
            text_offsets,
        })
    }

    fn contacts(&self, i: usize) -> Vec<ContactPerson> {
        let (r, o) = (&self.r, &self.text_offsets);
        (self.contact_starts[i] as usize..self.contact_starts[i + 1] as usize)
            .map(|j| ContactPerson {
                id: r.contact_id.get(&o[0], j).into(),
                name: r.contact_name.get(&o[1], j).into(),
                role: r.contact_role.get(j).into(),
                email: r.contact_email.get(&o[2], j).into(),
                phone: r.contact_phone.get(&o[3], j).into(),
            })
            .collect()
    }

    fn deals(&self, i: usize, updated_at: i64) -> Vec<Deal> {
        let (r, o) = (&self.r, &self.text_offsets);
        (self.deal_starts[i] as usize..self.deal_starts[i + 1] as usize)
            .map(|j| Deal {
                id: r.deal_id.get(&o[4], j).into(),
                title: r.deal_title.get(&o[5], j).into(),
                stage: r.deal_stage.get(j).into(),
                // Checked in `check`: no overflow.
                value: r.deal_mantissa[j] * 10i64.pow(u32::from(r.deal_zeros[j])),
                currency: r.deal_currency.get(j).into(),
                close_date: r.deal_close[j].map(|d| updated_at.wrapping_add(d)),
            })
            .collect()
    }
}

const NAME: usize = 0;
const COMPANY: usize = 1;
const EMAIL: usize = 2;
const PHONE: usize = 3;
const STREET: usize = 4;
const POSTCODE: usize = 5;
const ACTIVITY_TEXT: usize = 6;

impl<'a> BlockView<'a> {
    /// Decodes and checks a raw (inflated) payload.
    pub fn decode(raw: &'a [u8]) -> Result<Self, BlockError> {
        let mut w = Wire::new(raw);
        let c = Columns::read(&mut w);
        if w.failed() {
            return Err(BlockError::Decode);
        }
        let rest = w.rest();
        let n = c.keys.rows as usize;
        if n > MAX_ROWS {
            return Err(BlockError::Inconsistent("rows"));
        }
        // Bytes after the eight sections can only be the related section.
        let related = if rest.is_empty() {
            None
        } else {
            let r = Related::read(&mut w);
            if w.failed() {
                return Err(BlockError::Decode);
            }
            if !w.rest().is_empty() {
                return Err(BlockError::Inconsistent("trailing bytes"));
            }
            Some(RelatedView::check(r, n)?)
        };
        let s = &c.sales;
        let fixed = [
            (c.keys.local_id_deltas.len(), "local_id_deltas"),
            (c.keys.id_shared.len(), "id_shared"),
            (c.address.geo.len(), "geo"),
            (s.deal_mantissa.len(), "deal_mantissa"),
            (s.updated_at.len(), "updated_at"),
            (s.last_contact.len(), "last_contact"),
            (s.next_visit.len(), "next_visit"),
            (s.version.len(), "version"),
        ];
        if let Some((_, what)) = fixed.iter().find(|(len, _)| *len != n) {
            return Err(BlockError::Inconsistent(what));
        }
        for (d, what) in [
            (&c.address.city, "city"),
            (&c.address.country, "country"),
            (&s.territory, "territory"),
            (&s.owner, "owner"),
            (&s.stage, "stage"),
            (&s.currency, "currency"),
        ] {
            d.check(n, what)?;
        }
        let tag_starts = starts(&s.tag_counts, n, s.tags.codes.len(), "tag_counts")?;
        s.tags.check(s.tags.codes.len(), "tags")?;
        let cu = &c.custom;
        let custom_starts = starts(
            &cu.custom_counts,
            n,
            cu.custom_values.len(),
            "custom_counts",
        )?;
        cu.custom_keys
            .check(cu.custom_values.len(), "custom_keys")?;
        let m = &c.activity_meta;
        let acts = m.activity_kind.len();
        let activity_starts = starts(&m.activity_counts, n, acts, "activity_counts")?;
        if m.activity_gap.len() != acts
            || m.activity_kind
                .iter()
                .any(|&k| ActivityKind::from_code(k).is_none())
        {
            return Err(BlockError::Inconsistent("activity_kind"));
        }
        if m.activity_by_owner.len() != acts {
            return Err(BlockError::Inconsistent("activity_by_owner"));
        }
        // Where each activity's author sits in `activity_by` (others only).
        let mut by_index = Vec::with_capacity(acts);
        let mut others = 0u32;
        for &own in &m.activity_by_owner {
            by_index.push(others);
            others += u32::from(!own);
        }
        m.activity_by.check(others as usize, "activity_by")?;
        if s.deal_zeros.len() != n || !money_ok(&s.deal_zeros, &s.deal_mantissa) {
            return Err(BlockError::Inconsistent("deal_mantissa"));
        }
        let text_offsets = [
            c.names.name.offsets(n, "name")?,
            c.names.company.offsets(n, "company")?,
            c.contact.email.offsets(n, "email")?,
            c.contact.phone.offsets(n, "phone")?,
            c.address.street.offsets(n, "street")?,
            c.address.postcode.offsets(n, "postcode")?,
            c.activity_text
                .activity_text
                .offsets(acts, "activity_text")?,
        ];
        let ids = rebuild_ids(&c.keys, n)?;
        let mut local_ids = Vec::with_capacity(n);
        let mut prev = 0u32;
        for &d in &c.keys.local_id_deltas {
            prev = prev.wrapping_add(d as u32);
            local_ids.push(prev);
        }
        Ok(BlockView {
            c,
            related,
            ids,
            local_ids,
            text_offsets,
            tag_starts,
            custom_starts,
            activity_starts,
            by_index,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.c.keys.rows as usize
    }

    /// Backend id of row `i`.
    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// Local id of row `i`.
    pub fn local_id(&self, i: usize) -> u32 {
        self.local_ids[i]
    }

    /// The account in row `i` (`i < rows()`).
    pub fn account(&self, i: usize) -> Account {
        let c = &self.c;
        let s = &c.sales;
        let text = |col: usize, t: &Text<'a>| String::from(t.get(&self.text_offsets[col], i));
        let updated_at = s.time_base.wrapping_add(s.updated_at[i]);
        let tags = (self.tag_starts[i]..self.tag_starts[i + 1])
            .map(|j| s.tags.get(j as usize).into())
            .collect();
        let cu = &c.custom;
        // Inserted one by one, not collected: collecting into a map sorts
        // first, another copy of std's sort in the wasm module.
        let mut custom = BTreeMap::new();
        for j in self.custom_starts[i]..self.custom_starts[i + 1] {
            custom.insert(
                cu.custom_keys.get(j as usize).into(),
                cu.custom_values[j as usize].to_owned(),
            );
        }
        let m = &c.activity_meta;
        let (first, end) = (
            self.activity_starts[i] as usize,
            self.activity_starts[i + 1] as usize,
        );
        let mut activities: Vec<Activity> = Vec::with_capacity(end - first);
        let owner = s.owner.get(i);
        let mut next = updated_at;
        for j in (first..end).rev() {
            let at = next.wrapping_sub(m.activity_gap[j]);
            next = at;
            activities.push(Activity {
                // Checked in `decode`.
                kind: ActivityKind::from_code(m.activity_kind[j]).unwrap_or(ActivityKind::Note),
                at,
                by: if m.activity_by_owner[j] {
                    owner.into()
                } else {
                    m.activity_by.get(self.by_index[j] as usize).into()
                },
                text: c
                    .activity_text
                    .activity_text
                    .get(&self.text_offsets[ACTIVITY_TEXT], j)
                    .into(),
            });
        }
        activities.reverse();
        Account {
            id: self.ids[i].clone(),
            name: text(NAME, &c.names.name),
            company: text(COMPANY, &c.names.company),
            email: text(EMAIL, &c.contact.email),
            phone: text(PHONE, &c.contact.phone),
            address: Address {
                street: text(STREET, &c.address.street),
                city: c.address.city.get(i).into(),
                postcode: text(POSTCODE, &c.address.postcode),
                country: c.address.country.get(i).into(),
            },
            geo: c.address.geo[i].map(|(lat_e6, lon_e6)| Geo { lat_e6, lon_e6 }),
            territory: s.territory.get(i).into(),
            owner: owner.into(),
            stage: s.stage.get(i).into(),
            deal_value: s.deal_mantissa[i] * 10i64.pow(u32::from(s.deal_zeros[i])),
            currency: s.currency.get(i).into(),
            last_contact: s.last_contact[i].map(|d| updated_at.wrapping_sub(d)),
            next_visit: s.next_visit[i].map(|d| s.time_base.wrapping_add(d)),
            updated_at,
            version: s.version[i],
            tags,
            custom,
            activities,
            contacts: self
                .related
                .as_ref()
                .map_or_else(Vec::new, |r| r.contacts(i)),
            deals: self
                .related
                .as_ref()
                .map_or_else(Vec::new, |r| r.deals(i, updated_at)),
        }
    }

    /// Whether the payload has the related section (contacts and deals).
    pub fn has_related(&self) -> bool {
        self.related.is_some()
    }
}

/// The sections a [`Card`] is read from: keys, names and address.
pub const CARD_SECTIONS: u16 = 1 << 0 | 1 << 1 | 1 << 3;

/// Row `row`'s card from what [`decompress_card_sections`] inflated (or a
/// whole payload with its cuts). Checks only what it reads: on any bytes it
/// returns an error or, for a payload [`BlockView::decode`] accepts, the
/// row's account's fields; it never panics.
pub fn card_of_sections(raw: &RawBlock, row: usize) -> Result<Card, BlockError> {
    let part = |from: usize, to: usize| raw.bytes.get(from..to).unwrap_or(&[]);
    // Keys and names are adjacent.
    let mut w = Wire::new(part(0, raw.cuts[1]));
    let (keys, names) = (read_keys(&mut w), read_names(&mut w));
    let mut at = Wire::new(part(raw.cuts[2], raw.cuts[3]));
    let place = read_place(&mut at);
    if w.failed() || !w.rest().is_empty() || at.failed() || !at.rest().is_empty() {
        return Err(BlockError::Decode);
    }
    card_from(&keys, &names, &place, row)
}

fn card_from(
    keys: &Keys<'_>,
    names: &Names<'_>,
    place: &Place<'_>,
    row: usize,
) -> Result<Card, BlockError> {
    let n = keys.rows as usize;
    if n > MAX_ROWS || keys.id_shared.len() != n {
        return Err(BlockError::Inconsistent("rows"));
    }
    if row >= n {
        return Err(BlockError::Inconsistent("row"));
    }
    place.city.check(n, "city")?;
    let name = names.name.offsets(n, "name")?;
    let company = names.company.offsets(n, "company")?;
    let mut ids = rebuild_ids(keys, n)?;
    ids.truncate(row + 1);
    Ok(Card {
        id: ids.pop().unwrap_or_default(),
        name: names.name.get(&name, row).into(),
        company: names.company.get(&company, row).into(),
        city: place.city.get(row).into(),
    })
}

/// Undoes the front coding of backend ids.
fn rebuild_ids(k: &Keys<'_>, n: usize) -> Result<Vec<String>, BlockError> {
    let offsets = k.id_rest.offsets(n, "id_rest")?;
    let mut ids: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let shared = k.id_shared[i] as usize;
        let prev = if i == 0 { "" } else { ids[i - 1].as_str() };
        let head = prev
            .get(..shared)
            .ok_or(BlockError::Inconsistent("id_shared"))?;
        let mut id = String::with_capacity(shared + (offsets[i + 1] - offsets[i]) as usize);
        id.push_str(head);
        id.push_str(k.id_rest.get(&offsets, i));
        ids.push(id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_concatenate_to_the_whole_struct() {
        let mut a = Account {
            id: "A1".into(),
            name: "Åsa".into(),
            updated_at: 100,
            ..Account::default()
        };
        a.activities.push(Activity {
            kind: ActivityKind::Visit,
            at: 40,
            by: "rep-1".into(),
            text: "hej".into(),
        });
        a.activities.push(Activity {
            kind: ActivityKind::Call,
            at: 90,
            by: "rep-1".into(),
            text: "då".into(),
        });
        let b = Account {
            id: "A2".into(),
            last_contact: Some(70),
            ..a.clone()
        };
        let raw = encode_raw(&[(0, &a), (7, &b)]);
        let view = BlockView::decode(&raw.bytes).unwrap();
        let whole = postcard::to_allocvec(&view.c).unwrap();
        assert_eq!(
            whole, raw.bytes,
            "section-by-section bytes equal postcard of Columns"
        );
        assert_eq!(raw.cuts[SECTIONS - 1], raw.bytes.len());
        assert_eq!(view.account(0), a);
        assert_eq!(view.account(1), b);
        assert_eq!((view.local_id(0), view.local_id(1)), (0, 7));
    }
}
