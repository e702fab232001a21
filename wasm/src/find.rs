//! Reading what the rep asks for: search hits, insights and an account's
//! trend, as plain JS values.
//!
//! Owns the translation of core's `Hit`s into display-ready objects (a hit
//! on the device resolved to its card, read without inflating the rest of
//! its record; a stub to its id and name) and of
//! core's UTF-8 byte ranges into the UTF-16 indices JS strings use.
//! Invariant: every span is a pair of UTF-16 indices `0 <= a < b <=
//! text.length` on char boundaries, so `text.slice(a, b)` never cuts a
//! surrogate pair.

use satchel_core::insights::{trend, InsightsContext};
use satchel_core::model::ActivityKind;
use satchel_core::search::{match_spans, Hit, HitRef, MatchClass, Query};
use satchel_core::store::Store as CoreStore;
use wasm_bindgen::prelude::*;

use crate::error::Failure;
use crate::{clock, input, num, object, parsed, Store};

/// The UTF-16 index of byte offset `at` of `text` (a char boundary; a
/// position inside a char counts up to that char).
pub fn utf16_index(text: &str, at: usize) -> usize {
    text.char_indices()
        .take_while(|&(i, _)| i < at)
        .map(|(_, c)| c.len_utf16())
        .sum()
}

/// The spans of `query` in `text`, as UTF-16 index pairs.
pub fn utf16_spans(text: &str, query: &str) -> Vec<(usize, usize)> {
    match_spans(text, query)
        .into_iter()
        .map(|(a, b)| (utf16_index(text, a), utf16_index(text, b)))
        .filter(|(a, b)| a < b)
        .collect()
}

fn spans_array(text: &str, query: &str) -> JsValue {
    let out = js_sys::Array::new();
    for (a, b) in utf16_spans(text, query) {
        let pair = js_sys::Array::new();
        pair.push(&num(a as f64));
        pair.push(&num(b as f64));
        out.push(&pair);
    }
    out.into()
}

fn class_name(c: MatchClass) -> &'static str {
    match c {
        MatchClass::Exact => "exact",
        MatchClass::Prefix => "prefix",
        MatchClass::Substring => "substring",
    }
}

/// A query: text alone, or the core `Query` shape as JSON text or object.
fn query(value: &JsValue) -> Result<Query, Failure> {
    if let Some(text) = value.as_string() {
        return Ok(Query::text(&text));
    }
    let json = input::json_text(value, "query")?;
    let tree: serde_json::Value =
        serde_json::from_slice(json.as_bytes()).map_err(Failure::query)?;
    Query::from_json_value(&tree).map_err(Failure::query)
}

fn hit_object(store: &CoreStore, hit: &Hit, text: &str) -> JsValue {
    let (id, name, company, city, on_device) = match &hit.target {
        HitRef::Record(local) => match store.card_local(*local) {
            Some(a) => (a.id, a.name, a.company, a.city, true),
            // Cannot happen between two writes; a hit without its record
            // is shown as a bare stub rather than dropped.
            None => (
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                true,
            ),
        },
        HitRef::Stub { id, name } => (
            id.clone(),
            name.clone(),
            String::new(),
            String::new(),
            false,
        ),
    };
    let spans = object(&[
        ("name", spans_array(&name, text)),
        ("company", spans_array(&company, text)),
    ]);
    object(&[
        ("id", id.into()),
        ("name", name.into()),
        ("company", company.into()),
        ("city", city.into()),
        ("onDevice", on_device.into()),
        ("match", class_name(hit.class).into()),
        ("score", num(hit.score)),
        ("spans", spans),
    ])
}

#[wasm_bindgen]
impl Store {
    /// Finds accounts (and stubs of evicted ones) by what the rep types, in
    /// any language, best first. `query` is the text alone, or `{ text,
    /// territory, owner, stage, tag, next_visit, last_contact, limit }`
    /// (core's `Query`: filters are arrays, windows `{ from, to }` in Unix
    /// seconds, limit 1–1000, 0 = 20). Each hit is `{ id, name, company,
    /// city, onDevice, match, score, spans }`; `spans.name` and
    /// `spans.company` are `[start, end]` UTF-16 indices to highlight.
    #[wasm_bindgen(unchecked_return_type = "SearchHit[]")]
    pub fn search(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | SearchQuery")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let q = self::query(&query)?;
        let hits = self.inner.search(&q).map_err(Failure::from)?;
        let out = js_sys::Array::new();
        for hit in &hits {
            out.push(&hit_object(&self.inner, hit, &q.text));
        }
        Ok(out.into())
    }

    /// The local ids of every account held in full, in storage order (a
    /// `Uint32Array`, 4 bytes an account, outside the store's budget): the
    /// rows of a browsable list, each read with `getLocal` (neighbours share
    /// a block, so reading in order inflates each block once). Read from the
    /// location table, no account decoded: about 1 ms for 20,000. Valid until the
    /// next write (local ids are reused after deletes and evictions).
    #[wasm_bindgen(js_name = localIds)]
    pub fn local_ids(&self) -> Vec<u32> {
        self.inner.local_ids()
    }

    /// The account with local id `local` (from `localIds`), or `undefined`.
    #[wasm_bindgen(js_name = getLocal, unchecked_return_type = "Account | undefined")]
    pub fn get_local(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] local: JsValue,
    ) -> Result<JsValue, JsValue> {
        let local = input::count(&local, "local", u32::MAX as f64)? as u32;
        Ok(self
            .inner
            .get_local(local)
            .map_or(JsValue::UNDEFINED, |a| parsed(&crate::account_json(&a))))
    }

    /// The rep's numbers from the accounts on the device: `{ records,
    /// week_start, this_week, last_week, overdue, overdue_total, pipeline,
    /// top }` (core's `Insights`). `ctx`: `{ me?, now?, utcOffsetSeconds?,
    /// overdueLimit? }`; `me` defaults to `setContext`'s, `now` to the clock.
    #[wasm_bindgen(unchecked_return_type = "Insights")]
    pub fn insights(
        &self,
        #[wasm_bindgen(unchecked_param_type = "InsightsOptions | undefined")] ctx: JsValue,
    ) -> Result<JsValue, JsValue> {
        let me = input::field(&ctx, "me", "ctx")?;
        let me = if input::absent(&me) {
            self.device.as_ref().map(|d| d.me.clone()).ok_or_else(|| {
                Failure::not_configured("no rep: pass { me } or call setContext({ me }) first")
            })?
        } else {
            input::text(&me, "ctx.me")?
        };
        let now = input::field(&ctx, "now", "ctx")?;
        let now = input::seconds_or(&now, "ctx.now", || {
            self.device
                .as_ref()
                .and_then(|d| d.now)
                .unwrap_or_else(clock)
        })?;
        let offset = utc_offset(&input::field(&ctx, "utcOffsetSeconds", "ctx")?)?;
        let limit =
            input::opt_count(&ctx, "overdueLimit", "ctx", 1000.0)?.map_or(20, |n| n as usize);
        let k = self.inner.insights(&InsightsContext {
            now,
            me,
            utc_offset_seconds: offset,
            overdue_limit: limit,
        });
        Ok(parsed(&serde_json::to_string(&k).unwrap_or_default()))
    }

    /// The account's activities per calendar month, for the `months` (1–120)
    /// months up to the one of `now` (default the clock), oldest first:
    /// `[{ year, month, counts: { call, meeting, visit, note, task, email } }]`;
    /// `undefined` when the account is not on the device.
    #[wasm_bindgen(unchecked_return_type = "MonthTrend[] | undefined")]
    pub fn trend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] months: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] now: JsValue,
        #[wasm_bindgen(
            js_name = "utcOffsetSeconds",
            unchecked_param_type = "number | undefined"
        )]
        utc_offset_seconds: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = Store::id(&id)?;
        let months = input::count(&months, "months", 120.0)?;
        if months < 1.0 {
            return Err(Failure::argument("`months` must be from 1 to 120").into());
        }
        let now = input::seconds_or(&now, "now", clock)?;
        let offset = utc_offset(&utc_offset_seconds)?;
        let Some(a) = self.inner.get(&id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let out = js_sys::Array::new();
        for m in trend(&a, months as u16, now, offset) {
            let counts: Vec<(&str, JsValue)> = ActivityKind::ALL
                .iter()
                .zip(m.by_kind)
                .map(|(k, n)| (k.name(), num(n)))
                .collect();
            out.push(&object(&[
                ("year", num(m.year)),
                ("month", num(m.month)),
                ("counts", object(&counts)),
            ]));
        }
        Ok(out.into())
    }
}

/// A UTC offset in seconds (±18 h); absent = 0.
fn utc_offset(value: &JsValue) -> Result<i32, Failure> {
    if input::absent(value) {
        return Ok(0);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() <= 18.0 * 3600.0 => Ok(n as i32),
        _ => Err(Failure::argument(
            "`utcOffsetSeconds` must be whole seconds within ±18 hours (e.g. -new Date().getTimezoneOffset() * 60)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_utf16_indices() {
        let name = "Åsa Ström";
        let spans = utf16_spans(name, "stro");
        assert_eq!(spans, [(4, 8)]);
        let u: Vec<u16> = name.encode_utf16().collect();
        assert_eq!(String::from_utf16(&u[4..8]).unwrap(), "Strö");
        // Outside the BMP: an emoji is two UTF-16 units, four bytes.
        let s = "😀 深圳鼎新";
        let spans = utf16_spans(s, "鼎新");
        let u: Vec<u16> = s.encode_utf16().collect();
        assert_eq!(spans.len(), 1);
        let (a, b) = spans[0];
        assert_eq!(String::from_utf16(&u[a..b]).unwrap(), "鼎新");
        assert_eq!(utf16_index("ab", 99), 2);
    }
}
