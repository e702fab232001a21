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

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::columns::{starts, Dict, DictBuilder, Text, TextBuilder};
use crate::model::{Account, Activity, ActivityKind, Address, CustomValue, Geo};

/// Most rows one block may hold (row numbers must fit in a location).
pub const MAX_ROWS: usize = 4096;

/// Deflate level used for blocks: 9 is the best ratio miniz offers, and blocks
/// are compressed once but read many times.
const DEFLATE_LEVEL: u8 = 9;

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
#[derive(Debug, Serialize, Deserialize)]
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

/// The block payload before compression. Field order is the format.
#[derive(Debug, Serialize, Deserialize)]
struct Columns<'a> {
    rows: u32,
    /// Local ids, each as the wrapping difference to the previous one.
    local_id_deltas: Vec<i32>,
    /// Backend ids front-coded: bytes shared with the previous id, then the rest.
    id_shared: Vec<u32>,
    #[serde(borrow)]
    id_rest: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    company: Text<'a>,
    #[serde(borrow)]
    email: Text<'a>,
    #[serde(borrow)]
    phone: Text<'a>,
    #[serde(borrow)]
    street: Text<'a>,
    #[serde(borrow)]
    city: Dict<'a>,
    #[serde(borrow)]
    postcode: Text<'a>,
    #[serde(borrow)]
    country: Dict<'a>,
    geo: Vec<Option<(i32, i32)>>,
    #[serde(borrow)]
    territory: Dict<'a>,
    #[serde(borrow)]
    owner: Dict<'a>,
    #[serde(borrow)]
    stage: Dict<'a>,
    deal_value: Vec<i64>,
    #[serde(borrow)]
    currency: Dict<'a>,
    /// Times are distances from `time_base`, the block's first `updated_at`.
    time_base: i64,
    updated_at: Vec<i64>,
    last_contact: Vec<Option<i64>>,
    next_visit: Vec<Option<i64>>,
    version: Vec<u64>,
    tag_counts: Vec<u32>,
    #[serde(borrow)]
    tags: Dict<'a>,
    custom_counts: Vec<u32>,
    #[serde(borrow)]
    custom_keys: Dict<'a>,
    #[serde(borrow)]
    custom_values: Vec<CustomRef<'a>>,
    activity_counts: Vec<u32>,
    activity_kind: Vec<u8>,
    /// Each activity's time as the distance back from its account's `updated_at`.
    activity_age: Vec<i64>,
    #[serde(borrow)]
    activity_by: Dict<'a>,
    #[serde(borrow)]
    activity_text: Text<'a>,
}

/// Lays out `rows` (local id, account) as an uncompressed block payload.
///
/// # Panics
/// Never for valid input; `rows.len()` must be at most [`MAX_ROWS`] (a debug
/// assertion: the store never builds larger blocks).
pub fn encode_raw(rows: &[(u32, &Account)]) -> Vec<u8> {
    debug_assert!(rows.len() <= MAX_ROWS);
    let n = rows.len();
    let mut id_rest = TextBuilder::default();
    let mut id_shared = Vec::with_capacity(n);
    let mut text: [TextBuilder; 6] = Default::default();
    let [name, company, email, phone, street, postcode] = &mut text;
    let mut activity_text = TextBuilder::default();
    let (mut city, mut country, mut territory, mut owner, mut stage, mut currency) =
        Default::default();
    let (mut tags, mut custom_keys, mut activity_by) = (
        DictBuilder::default(),
        DictBuilder::default(),
        DictBuilder::default(),
    );
    let time_base = rows.first().map_or(0, |(_, a)| a.updated_at);
    let mut c = ColumnsOwned::with_capacity(n);
    let mut prev_local = 0u32;
    let mut prev_id: &str = "";
    for &(local, a) in rows {
        c.local_id_deltas
            .push(local.wrapping_sub(prev_local) as i32);
        prev_local = local;
        let shared = shared_prefix(prev_id, &a.id);
        id_shared.push(shared as u32);
        id_rest.push(&a.id[shared..]);
        prev_id = &a.id;
        name.push(&a.name);
        company.push(&a.company);
        email.push(&a.email);
        phone.push(&a.phone);
        street.push(&a.address.street);
        DictBuilder::push(&mut city, &a.address.city);
        postcode.push(&a.address.postcode);
        DictBuilder::push(&mut country, &a.address.country);
        c.geo.push(a.geo.map(|g| (g.lat_e6, g.lon_e6)));
        DictBuilder::push(&mut territory, &a.territory);
        DictBuilder::push(&mut owner, &a.owner);
        DictBuilder::push(&mut stage, &a.stage);
        c.deal_value.push(a.deal_value);
        DictBuilder::push(&mut currency, &a.currency);
        c.updated_at.push(a.updated_at.wrapping_sub(time_base));
        c.last_contact
            .push(a.last_contact.map(|t| t.wrapping_sub(time_base)));
        c.next_visit
            .push(a.next_visit.map(|t| t.wrapping_sub(time_base)));
        c.version.push(a.version);
        c.tag_counts.push(a.tags.len() as u32);
        for t in &a.tags {
            tags.push(t);
        }
        c.custom_counts.push(a.custom.len() as u32);
        for (k, v) in &a.custom {
            custom_keys.push(k);
            c.custom_values.push(CustomRef::of(v));
        }
        c.activity_counts.push(a.activities.len() as u32);
        for act in &a.activities {
            c.activity_kind.push(act.kind.code());
            c.activity_age.push(a.updated_at.wrapping_sub(act.at));
            activity_by.push(&act.by);
            activity_text.push(&act.text);
        }
    }
    let columns = Columns {
        rows: n as u32,
        local_id_deltas: c.local_id_deltas,
        id_shared,
        id_rest: id_rest.column(),
        name: name.column(),
        company: company.column(),
        email: email.column(),
        phone: phone.column(),
        street: street.column(),
        city: DictBuilder::finish(city),
        postcode: postcode.column(),
        country: DictBuilder::finish(country),
        geo: c.geo,
        territory: DictBuilder::finish(territory),
        owner: DictBuilder::finish(owner),
        stage: DictBuilder::finish(stage),
        deal_value: c.deal_value,
        currency: DictBuilder::finish(currency),
        time_base,
        updated_at: c.updated_at,
        last_contact: c.last_contact,
        next_visit: c.next_visit,
        version: c.version,
        tag_counts: c.tag_counts,
        tags: tags.finish(),
        custom_counts: c.custom_counts,
        custom_keys: custom_keys.finish(),
        custom_values: c.custom_values,
        activity_counts: c.activity_counts,
        activity_kind: c.activity_kind,
        activity_age: c.activity_age,
        activity_by: activity_by.finish(),
        activity_text: activity_text.column(),
    };
    // Serializing plain vectors and strings into a Vec cannot fail.
    postcard::to_allocvec(&columns).unwrap_or_default()
}

/// The numeric columns, gathered while encoding.
struct ColumnsOwned<'a> {
    local_id_deltas: Vec<i32>,
    geo: Vec<Option<(i32, i32)>>,
    deal_value: Vec<i64>,
    updated_at: Vec<i64>,
    last_contact: Vec<Option<i64>>,
    next_visit: Vec<Option<i64>>,
    version: Vec<u64>,
    tag_counts: Vec<u32>,
    custom_counts: Vec<u32>,
    custom_values: Vec<CustomRef<'a>>,
    activity_counts: Vec<u32>,
    activity_kind: Vec<u8>,
    activity_age: Vec<i64>,
}

impl ColumnsOwned<'_> {
    fn with_capacity(n: usize) -> Self {
        ColumnsOwned {
            local_id_deltas: Vec::with_capacity(n),
            geo: Vec::with_capacity(n),
            deal_value: Vec::with_capacity(n),
            updated_at: Vec::with_capacity(n),
            last_contact: Vec::with_capacity(n),
            next_visit: Vec::with_capacity(n),
            version: Vec::with_capacity(n),
            tag_counts: Vec::with_capacity(n),
            custom_counts: Vec::with_capacity(n),
            custom_values: Vec::new(),
            activity_counts: Vec::with_capacity(n),
            activity_kind: Vec::new(),
            activity_age: Vec::new(),
        }
    }
}

/// Bytes `b` shares with `a` from the start, cut back to a char boundary.
fn shared_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Compresses a raw payload (raw deflate, no zlib header).
pub fn compress(raw: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(raw, DEFLATE_LEVEL)
}

/// Inflates a block whose raw length is known; never allocates more than that.
pub fn decompress(compressed: &[u8], raw_len: u32) -> Result<Vec<u8>, BlockError> {
    let out = miniz_oxide::inflate::decompress_to_vec_with_limit(compressed, raw_len as usize)
        .map_err(|_| BlockError::Inflate)?;
    if out.len() != raw_len as usize {
        return Err(BlockError::RawLength {
            expected: raw_len,
            got: out.len() as u32,
        });
    }
    Ok(out)
}

/// A decoded, validated block payload: random access to its rows.
pub struct BlockView<'a> {
    c: Columns<'a>,
    ids: Vec<String>,
    local_ids: Vec<u32>,
    text_offsets: [Vec<u32>; 7],
    tag_starts: Vec<u32>,
    custom_starts: Vec<u32>,
    activity_starts: Vec<u32>,
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
        let (c, rest): (Columns<'a>, _) =
            postcard::take_from_bytes(raw).map_err(|_| BlockError::Decode)?;
        if !rest.is_empty() {
            return Err(BlockError::Inconsistent("trailing bytes"));
        }
        let n = c.rows as usize;
        if n > MAX_ROWS {
            return Err(BlockError::Inconsistent("rows"));
        }
        let fixed = [
            (c.local_id_deltas.len(), "local_id_deltas"),
            (c.id_shared.len(), "id_shared"),
            (c.geo.len(), "geo"),
            (c.deal_value.len(), "deal_value"),
            (c.updated_at.len(), "updated_at"),
            (c.last_contact.len(), "last_contact"),
            (c.next_visit.len(), "next_visit"),
            (c.version.len(), "version"),
        ];
        if let Some((_, what)) = fixed.iter().find(|(len, _)| *len != n) {
            return Err(BlockError::Inconsistent(what));
        }
        for (d, what) in [
            (&c.city, "city"),
            (&c.country, "country"),
            (&c.territory, "territory"),
            (&c.owner, "owner"),
            (&c.stage, "stage"),
            (&c.currency, "currency"),
        ] {
            d.check(n, what)?;
        }
        let text_offsets = [
            c.name.offsets(n, "name")?,
            c.company.offsets(n, "company")?,
            c.email.offsets(n, "email")?,
            c.phone.offsets(n, "phone")?,
            c.street.offsets(n, "street")?,
            c.postcode.offsets(n, "postcode")?,
            Vec::new(),
        ];
        let tag_starts = starts(&c.tag_counts, n, c.tags.codes.len(), "tag_counts")?;
        c.tags.check(c.tags.codes.len(), "tags")?;
        let custom_starts = starts(&c.custom_counts, n, c.custom_values.len(), "custom_counts")?;
        c.custom_keys.check(c.custom_values.len(), "custom_keys")?;
        let acts = c.activity_kind.len();
        let activity_starts = starts(&c.activity_counts, n, acts, "activity_counts")?;
        if c.activity_age.len() != acts
            || c.activity_kind
                .iter()
                .any(|&k| ActivityKind::from_code(k).is_none())
        {
            return Err(BlockError::Inconsistent("activity_kind"));
        }
        c.activity_by.check(acts, "activity_by")?;
        let mut text_offsets = text_offsets;
        text_offsets[ACTIVITY_TEXT] = c.activity_text.offsets(acts, "activity_text")?;
        let ids = rebuild_ids(&c, n)?;
        let mut local_ids = Vec::with_capacity(n);
        let mut prev = 0u32;
        for &d in &c.local_id_deltas {
            prev = prev.wrapping_add(d as u32);
            local_ids.push(prev);
        }
        Ok(BlockView {
            c,
            ids,
            local_ids,
            text_offsets,
            tag_starts,
            custom_starts,
            activity_starts,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.c.rows as usize
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
        let text = |col: usize, t: &Text<'a>| String::from(t.get(&self.text_offsets[col], i));
        let base = c.time_base;
        let updated_at = base.wrapping_add(c.updated_at[i]);
        let tags = (self.tag_starts[i]..self.tag_starts[i + 1])
            .map(|j| c.tags.get(j as usize).into())
            .collect();
        let custom = (self.custom_starts[i]..self.custom_starts[i + 1])
            .map(|j| {
                (
                    c.custom_keys.get(j as usize).into(),
                    c.custom_values[j as usize].to_owned(),
                )
            })
            .collect();
        let activities = (self.activity_starts[i]..self.activity_starts[i + 1])
            .map(|j| {
                let j = j as usize;
                Activity {
                    // Checked in `decode`.
                    kind: ActivityKind::from_code(c.activity_kind[j]).unwrap_or(ActivityKind::Note),
                    at: updated_at.wrapping_sub(c.activity_age[j]),
                    by: c.activity_by.get(j).into(),
                    text: c
                        .activity_text
                        .get(&self.text_offsets[ACTIVITY_TEXT], j)
                        .into(),
                }
            })
            .collect();
        Account {
            id: self.ids[i].clone(),
            name: text(NAME, &c.name),
            company: text(COMPANY, &c.company),
            email: text(EMAIL, &c.email),
            phone: text(PHONE, &c.phone),
            address: Address {
                street: text(STREET, &c.street),
                city: c.city.get(i).into(),
                postcode: text(POSTCODE, &c.postcode),
                country: c.country.get(i).into(),
            },
            geo: c.geo[i].map(|(lat_e6, lon_e6)| Geo { lat_e6, lon_e6 }),
            territory: c.territory.get(i).into(),
            owner: c.owner.get(i).into(),
            stage: c.stage.get(i).into(),
            deal_value: c.deal_value[i],
            currency: c.currency.get(i).into(),
            last_contact: c.last_contact[i].map(|d| base.wrapping_add(d)),
            next_visit: c.next_visit[i].map(|d| base.wrapping_add(d)),
            updated_at,
            version: c.version[i],
            tags,
            custom,
            activities,
        }
    }
}

/// Undoes the front coding of backend ids.
fn rebuild_ids(c: &Columns<'_>, n: usize) -> Result<Vec<String>, BlockError> {
    let offsets = c.id_rest.offsets(n, "id_rest")?;
    let mut ids: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let shared = c.id_shared[i] as usize;
        let prev = if i == 0 { "" } else { ids[i - 1].as_str() };
        let head = prev
            .get(..shared)
            .ok_or(BlockError::Inconsistent("id_shared"))?;
        let mut id = String::with_capacity(shared + (offsets[i + 1] - offsets[i]) as usize);
        id.push_str(head);
        id.push_str(c.id_rest.get(&offsets, i));
        ids.push(id);
    }
    Ok(ids)
}
