//! `satchel-wasm`: Satchel's core store in the browser and in Node.
//!
//! A thin translation layer over `satchel-core`: each method checks its JS
//! arguments ([`input`]), calls core, and turns the answer into plain JS
//! values; every failure becomes a `SatchelError` with a stable `code`
//! ([`error`]). The binding adds what core leaves to its caller: the clock
//! (`Date.now()` when no `now` is given), the rule set and rank context in
//! force (core takes them as arguments), the NDJSON stream reader
//! ([`lines`], [`ingest`]), and the I/O loop that pumps core's sans-IO sync
//! session over the caller's `fetch` ([`sync`], `js/sync.js`).
//!
//! Invariants: no JS value passed to any method can make the module panic or
//! trap; a call that throws changed nothing (as in core); the store's
//! `usedBytes <= budget` after every call, and the module's linear memory is
//! capped at link time (64 MiB by default, see `build.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod find;
mod ingest;
pub mod input;
pub mod lines;
mod outbox;
pub mod seal;
pub mod sync;

use satchel_core::model::Account;
use satchel_core::plan::PlanSummary;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::snapshot::OpenReport;
use satchel_core::store::{Stats, Store as CoreStore, Upserted};
use wasm_bindgen::prelude::*;

use error::Failure;
use ingest::{Ingest, IngestSettings};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("types.d.ts");

/// The rank context as the integrator set it; `now` absent = the clock.
#[derive(Clone, Debug)]
struct Device {
    me: String,
    territories: Vec<String>,
    now: Option<i64>,
}

/// Unix seconds from the JS clock.
fn clock() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

/// A plain JS object from key/value pairs.
fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn num(n: impl Into<f64>) -> JsValue {
    JsValue::from_f64(n.into())
}

fn size(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// Parses JSON that this crate just wrote with serde_json (cannot fail).
fn parsed(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap_or(JsValue::UNDEFINED)
}

fn account_json(a: &Account) -> String {
    // Serializing a model value to JSON has no failure path (string keys,
    // integers only).
    serde_json::to_string(a).unwrap_or_default()
}

fn summary_object(s: &PlanSummary) -> JsValue {
    object(&[
        ("kept", num(s.kept as f64)),
        ("stubbed", num(s.stubbed as f64)),
        ("dropped", num(s.dropped as f64)),
        ("keptBytes", num(s.kept_bytes as f64)),
        ("stubBytes", num(s.stub_bytes as f64)),
        ("forced", num(s.forced as f64)),
        ("cutoffScore", num(s.cutoff_score)),
        (
            "lowestKeptScore",
            s.lowest_kept_score.map_or(JsValue::NULL, num),
        ),
        ("forcedOverBudget", num(s.forced_over_budget as f64)),
    ])
}

fn stats_object(s: &Stats, stubs: usize, used: usize) -> JsValue {
    let b = &s.bytes;
    object(&[
        ("records", size(s.records)),
        ("stubs", size(stubs)),
        ("blocks", size(s.blocks)),
        ("deadRows", size(s.dead_rows)),
        ("hotRecords", size(s.hot_records)),
        ("budget", size(s.budget.bytes())),
        ("usedBytes", size(used)),
        ("rawBlockBytes", size(s.raw_block_bytes)),
        (
            "bytes",
            object(&[
                ("blocks", size(b.blocks)),
                ("hot", size(b.hot)),
                ("index", size(b.index)),
                ("cache", size(b.cache)),
                ("journal", size(b.journal)),
                ("dictionary", size(b.dictionary)),
                ("stubs", size(b.stubs)),
                ("retention", size(b.retention)),
                ("search", size(b.search)),
                ("outbox", size(b.outbox)),
                ("priceLists", size(b.price_lists)),
            ]),
        ),
    ])
}

/// A budgeted, compressed store of accounts.
#[wasm_bindgen]
pub struct Store {
    inner: CoreStore,
    rules: Option<RankRules>,
    device: Option<Device>,
    ingest: Ingest,
    opened: Option<OpenReport>,
}

impl Store {
    fn wrap(inner: CoreStore, opened: Option<OpenReport>) -> Store {
        Store {
            inner,
            rules: None,
            device: None,
            ingest: Ingest::default(),
            opened,
        }
    }

    /// The rule set and context in force, with `now` resolved.
    fn ranking(&self) -> Result<(&RankRules, RankContext), Failure> {
        let rules = self
            .rules
            .as_ref()
            .ok_or_else(|| Failure::not_configured("no rule set: call setRules(rules) first"))?;
        let d = self.device.as_ref().ok_or_else(|| {
            Failure::not_configured("no rank context: call setContext({ me, territories }) first")
        })?;
        Ok((
            rules,
            RankContext {
                now: d.now.unwrap_or_else(clock),
                me: d.me.clone(),
                territories: d.territories.clone(),
            },
        ))
    }

    fn id(value: &JsValue) -> Result<String, Failure> {
        input::text(value, "id")
    }
}

#[wasm_bindgen]
impl Store {
    /// Opens an empty store that will never hold more than `options.budget`
    /// bytes: at most 40 MiB in the module's 64 MiB memory cap (the rest is
    /// for stack and transient buffers; see the README); a larger budget is
    /// an `INVALID_ARGUMENT` error.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "StoreOptions")] options: JsValue,
    ) -> Result<Store, JsValue> {
        let (budget, config) = input::store_options(&options)?;
        Ok(Store::wrap(CoreStore::with_config(budget, config), None))
    }

    /// Opens a store from a snapshot (from `snapshot()`) and/or a journal
    /// (`journalHeader()` followed by what `takeJournal()` returned), either
    /// may be `null`. A damaged snapshot or journal throws
    /// `SNAPSHOT_CORRUPT` / `JOURNAL_CORRUPT`; nothing is half-loaded. A torn
    /// last journal frame (a crash mid-write) is skipped and reported in
    /// `loadReport`.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | null")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | null")] journal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "StoreOptions")] options: JsValue,
    ) -> Result<Store, JsValue> {
        let (budget, config) = input::store_options(&options)?;
        let snapshot = (!input::absent(&snapshot))
            .then(|| input::bytes(&snapshot, "snapshot"))
            .transpose()?;
        let journal = (!input::absent(&journal))
            .then(|| input::bytes(&journal, "journal"))
            .transpose()?;
        let (inner, report) =
            CoreStore::open(snapshot.as_deref(), journal.as_deref(), budget, config)
                .map_err(Failure::from)?;
        Ok(Store::wrap(inner, Some(report)))
    }

    /// What `Store.load` found besides the records: `{ replayed,
    /// tornTailBytes }`; `undefined` for a store made with `new Store`.
    #[wasm_bindgen(getter, js_name = loadReport, unchecked_return_type = "LoadReport | undefined")]
    pub fn load_report(&self) -> JsValue {
        self.opened.map_or(JsValue::UNDEFINED, |r| {
            object(&[
                ("replayed", size(r.replayed)),
                ("tornTailBytes", size(r.torn_tail_bytes)),
            ])
        })
    }

    /// Inserts or replaces one account (by `id`). `record` is canonical JSON
    /// text or an object of the same shape. Returns `"inserted"` or
    /// `"updated"`; a refusal throws (`BUDGET_EXCEEDED`, `INVALID_RECORD`,
    /// …) and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "\"inserted\" | \"updated\"")]
    pub fn upsert(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Account")] record: JsValue,
    ) -> Result<JsValue, JsValue> {
        let account = input::account(&record)?;
        match self.inner.upsert(account) {
            Ok(Upserted::Inserted(_)) => Ok("inserted".into()),
            Ok(Upserted::Updated(_)) => Ok("updated".into()),
            Err(r) => Err(Failure::from(r.error).into()),
        }
    }

    /// Inserts or replaces all accounts, or none: one bad record or a budget
    /// refusal throws and leaves the store as it was. Returns
    /// `{ inserted, updated }`.
    #[wasm_bindgen(js_name = upsertBatch, unchecked_return_type = "BatchReport")]
    pub fn upsert_batch(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Array<string | Account>")] records: JsValue,
    ) -> Result<JsValue, JsValue> {
        let Some(array) = records.dyn_ref::<js_sys::Array>() else {
            return Err(Failure::argument("`records` must be an array").into());
        };
        let mut accounts = Vec::with_capacity(array.length() as usize);
        for (i, v) in array.iter().enumerate() {
            let a = input::account(&v).map_err(|mut f| {
                f.message = format!("records[{i}]: {}", f.message);
                f
            })?;
            accounts.push(a);
        }
        let report = self
            .inner
            .upsert_batch(accounts)
            .map_err(|r| Failure::from(r.error))?;
        Ok(object(&[
            ("inserted", size(report.inserted)),
            ("updated", size(report.updated)),
        ]))
    }

    /// The account with backend id `id` as an object, or `undefined` (also
    /// for an evicted one: see `stub(id)`).
    #[wasm_bindgen(unchecked_return_type = "Account | undefined")]
    pub fn get(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = Store::id(&id)?;
        Ok(self
            .inner
            .get(&id)
            .map_or(JsValue::UNDEFINED, |a| parsed(&account_json(&a))))
    }

    /// The account as canonical JSON text (exact for integers beyond 2^53),
    /// or `undefined`.
    #[wasm_bindgen(js_name = getJson, unchecked_return_type = "string | undefined")]
    pub fn get_json(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = Store::id(&id)?;
        Ok(self
            .inner
            .get(&id)
            .map_or(JsValue::UNDEFINED, |a| account_json(&a).into()))
    }

    /// Adds or replaces a regional price list (by `id`): canonical JSON
    /// text or an object `{ id, territory_prefix, currency, items: [{ sku,
    /// name, unit_price }], updated_at }`. A refusal throws
    /// (`BUDGET_EXCEEDED`, `INVALID_RECORD`, `EMPTY_ID`, …) and changes
    /// nothing.
    ///
    /// @example
    /// store.putPriceList({ id: "PL-SE", territory_prefix: "SE", currency: "SEK",
    ///   items: [{ sku: "P-1000", name: "Pump", unit_price: 499000 }], updated_at: 0 });
    #[wasm_bindgen(js_name = putPriceList)]
    pub fn put_price_list(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | PriceList")] list: JsValue,
    ) -> Result<(), JsValue> {
        let list = input::price_list(&list)?;
        self.inner
            .put_price_list(list)
            .map_err(|r| Failure::from(r.error).into())
    }

    /// The price list for `territory`: the one whose `territory_prefix` is
    /// the longest `-`-separated prefix of it (`SE-N` before `SE` for
    /// `SE-N-03`), or `undefined`.
    ///
    /// @example
    /// store.priceListFor("SE-N-03")?.items.forEach((i) => console.log(i.sku, i.unit_price));
    #[wasm_bindgen(js_name = priceListFor, unchecked_return_type = "PriceList | undefined")]
    pub fn price_list_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] territory: JsValue,
    ) -> Result<JsValue, JsValue> {
        let territory = territory
            .as_string()
            .ok_or_else(|| Failure::argument("`territory` must be a string"))?;
        Ok(self
            .inner
            .price_list_for(&territory)
            .map_or(JsValue::UNDEFINED, |l| {
                parsed(&serde_json::to_string(l).unwrap_or_default())
            }))
    }

    /// True when the store holds the account in full.
    pub fn contains(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self.inner.contains(&Store::id(&id)?))
    }

    /// Deletes the account (and its stub); `false` when there was neither.
    pub fn delete(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        let id = Store::id(&id)?;
        Ok(self.inner.delete(&id).map_err(Failure::from)?)
    }

    /// Accounts held in full.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// Bytes the store holds now; never above `budget`.
    #[wasm_bindgen(getter, js_name = usedBytes)]
    pub fn used_bytes(&self) -> usize {
        self.inner.used_bytes()
    }

    /// The byte ceiling.
    #[wasm_bindgen(getter)]
    pub fn budget(&self) -> usize {
        self.inner.budget().bytes()
    }

    /// Records, stubs, blocks and bytes by kind.
    #[wasm_bindgen(unchecked_return_type = "Stats")]
    pub fn stats(&self) -> JsValue {
        stats_object(
            &self.inner.stats(),
            self.inner.stubs().count(),
            self.inner.used_bytes(),
        )
    }

    /// Moves the hot buffer into compressed blocks and rewrites mostly-dead
    /// blocks; returns the bytes freed. `snapshot()` is smallest after it.
    pub fn compact(&mut self) -> usize {
        self.inner.compact()
    }

    /// The whole store as one checksummed blob, for `Store.load`. Write it
    /// under a new key, then flip a pointer to it.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }

    /// Journal frames written since the last call (empty when the store was
    /// opened with `journal: false`); append them to a journal that starts
    /// with `Store.journalHeader()`.
    #[wasm_bindgen(js_name = takeJournal)]
    pub fn take_journal(&mut self) -> Vec<u8> {
        self.inner.take_journal()
    }

    /// The bytes a journal starts with.
    #[wasm_bindgen(js_name = journalHeader)]
    pub fn journal_header() -> Vec<u8> {
        satchel_core::journal::journal_header().to_vec()
    }

    /// Sets the rule set that `retain`, `explain` and `ingestNdjson` rank
    /// by (JSON text or an object). A bad rule set throws `INVALID_RULES`
    /// naming the rule, and the rule set in force stays.
    #[wasm_bindgen(js_name = setRules)]
    pub fn set_rules(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | RuleSet")] rules: JsValue,
    ) -> Result<(), JsValue> {
        let text = input::json_text(&rules, "rules")?;
        self.rules = Some(RankRules::from_json(&text).map_err(Failure::from)?);
        Ok(())
    }

    /// The rule set in force as JSON text, or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "string | undefined")]
    pub fn rules(&self) -> JsValue {
        self.rules
            .as_ref()
            .map_or(JsValue::UNDEFINED, |r| r.to_json().into())
    }

    /// Sets who the device belongs to: `{ me, territories?, now? }`. Without
    /// `now` every call ranks at the clock's time.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "RankContextInit")] context: JsValue,
    ) -> Result<(), JsValue> {
        if !context.is_object() {
            return Err(
                Failure::argument("`context` must be an object like { me: \"rep-0003\" }").into(),
            );
        }
        let me = input::text(&input::field(&context, "me", "context")?, "context.me")?;
        let territories = input::strings(
            &input::field(&context, "territories", "context")?,
            "context.territories",
        )?;
        let now = input::field(&context, "now", "context")?;
        let now = (!input::absent(&now))
            .then(|| input::seconds(&now, "context.now"))
            .transpose()?;
        self.device = Some(Device {
            me,
            territories,
            now,
        });
        Ok(())
    }

    /// Plans under the rules in force and evicts what the plan does not keep
    /// (to a stub when there is room); pinned accounts always stay.
    /// `options.stubSharePercent` (default 20) caps the room stubs may take;
    /// `options.targetBytes` plans for less than the whole budget (to make
    /// room before a sync). Returns the plan's summary.
    #[wasm_bindgen(unchecked_return_type = "PlanSummary")]
    pub fn retain(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "RetainOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let share = input::opt_count(&options, "stubSharePercent", "options", 100.0)?
            .map_or(20, |n| n as u8);
        let target = input::opt_count(&options, "targetBytes", "options", usize::MAX as f64)?
            .map(|n| n as usize);
        let (rules, ctx) = self.ranking()?;
        let rules = rules.clone();
        let summary = self
            .inner
            .retain(&rules, &ctx, share, target)
            .map_err(Failure::from)?;
        Ok(summary_object(&summary))
    }

    /// Why the account is on the device or not, rule by rule:
    /// `{ id, state: "kept" | "stub" | "absent", score, pinned, rules, cutoff }`.
    #[wasm_bindgen(unchecked_return_type = "Explanation")]
    pub fn explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = Store::id(&id)?;
        let (rules, ctx) = self.ranking()?;
        let e = self.inner.explain(&id, rules, &ctx);
        Ok(parsed(&serde_json::to_string(&e).unwrap_or_default()))
    }

    /// The stub `{ id, name, score }` left by an evicted account, or
    /// `undefined`.
    #[wasm_bindgen(unchecked_return_type = "Stub | undefined")]
    pub fn stub(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = Store::id(&id)?;
        Ok(self.inner.stub(&id).map_or(JsValue::UNDEFINED, |s| {
            object(&[
                ("id", s.id.into()),
                ("name", s.name.into()),
                ("score", num(s.score)),
            ])
        }))
    }

    /// Pins the account so that no plan evicts it; `false` when the store
    /// does not hold it.
    pub fn pin(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        let id = Store::id(&id)?;
        Ok(self.inner.pin(&id).map_err(Failure::from)?)
    }

    /// Unpins the account; `true` when it was pinned.
    pub fn unpin(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self.inner.unpin(&Store::id(&id)?))
    }

    /// True when the account is held and pinned.
    #[wasm_bindgen(js_name = isPinned)]
    pub fn is_pinned(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self.inner.is_pinned(&Store::id(&id)?))
    }

    /// Counts a use of the account (`"open"`, `"search"` or `"edit"`) at
    /// `now` (Unix seconds; default the clock), for the `used` rule
    /// condition.
    #[wasm_bindgen(js_name = recordUse)]
    pub fn record_use(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(js_name = "use", unchecked_param_type = "UseKind")] what: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] now: JsValue,
    ) -> Result<(), JsValue> {
        let id = Store::id(&id)?;
        let what = input::use_kind(&what)?;
        let now = if input::absent(&now) {
            clock()
        } else {
            input::seconds(&now, "now")?
        };
        Ok(self
            .inner
            .record_use(&id, what, now)
            .map_err(Failure::from)?)
    }

    /// Feeds a chunk of a canonical NDJSON stream (bytes or text; lines may
    /// be cut anywhere between chunks). Each line is upserted; a bad line is
    /// counted (the first few are reported with their line numbers) and
    /// skipped. When the budget refuses a record and rules and a context are
    /// set, the store runs `retain` to `retainPercent` of its record bytes
    /// and tries again, so a stream of any length keeps the top-ranked
    /// accounts. Returns the running totals; call `finishIngest()` at the
    /// end of the stream.
    #[wasm_bindgen(js_name = ingestNdjson, unchecked_return_type = "IngestReport")]
    pub fn ingest_ndjson(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] chunk: JsValue,
        #[wasm_bindgen(unchecked_param_type = "IngestOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let settings = IngestSettings::read(&options)?;
        let bytes = match chunk.as_string() {
            Some(s) => s.into_bytes(),
            None => input::bytes(&chunk, "chunk")
                .map_err(|_| Failure::argument("`chunk` must be a Uint8Array or a string"))?,
        };
        let ranking = self.ranking().ok().map(|(r, c)| (r.clone(), c));
        self.ingest
            .feed(&mut self.inner, &bytes, settings, ranking.as_ref());
        Ok(self.ingest.report())
    }

    /// Ends the NDJSON stream: a last line without a newline is ingested,
    /// and the final totals are returned (the next `ingestNdjson` starts a
    /// new stream with fresh totals).
    #[wasm_bindgen(js_name = finishIngest, unchecked_return_type = "IngestReport")]
    pub fn finish_ingest(&mut self) -> JsValue {
        let ranking = self.ranking().ok().map(|(r, c)| (r.clone(), c));
        self.ingest.finish(&mut self.inner, ranking.as_ref());
        let report = self.ingest.report();
        self.ingest = Ingest::default();
        report
    }
}

/// Bytes of linear memory the module has now (it only grows, up to the
/// link-time maximum).
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) * 65536) as f64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

/// The package's version (the crate's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
