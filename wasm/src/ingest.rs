//! Streaming NDJSON into a store that is smaller than the stream.
//!
//! Owns the running totals of one stream and the policy that calls core's
//! `retain` when the budget refuses a record. Records are written
//! [`BATCH`] at a time with `upsert_batch` (about twice the rate in wasm:
//! the search index is updated a page at a time), and one by one when a batch is
//! refused; every complete line of a chunk is written before `feed`
//! returns. Invariants: every line is
//! counted exactly once (kept, refused or bad); a bad line never stops the
//! stream; retain runs at most once per refused record, and stops being
//! tried once it can free nothing (all pinned), so a stream costs at most one
//! plan per refused record and usually one per ~`100 - retainPercent` % of
//! the store.

use satchel_core::model::Account;
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, Upserted, WriteError};
use wasm_bindgen::JsValue;

use crate::error::Failure;
use crate::input;
use crate::lines::{Line, LineSplitter, MAX_LINE_BYTES};

/// Records written in one `upsert_batch`: the store indexes a batch with
/// one page encoding per index page touched instead of one per term.
const BATCH: usize = 128;
/// Bad lines reported one by one; past this only the count goes on.
const MAX_REPORTED: usize = 20;
/// The smallest share of record bytes a retain may plan for before ingest
/// gives up making room (stops planning, refuses the rest).
const MIN_RETAIN_PERCENT: u32 = 20;

/// Per-call settings (`IngestOptions`).
#[derive(Clone, Copy, Debug)]
pub struct IngestSettings {
    /// Room stubs may take in a plan, percent.
    pub stub_share: u8,
    /// A retain plans for this share of the record bytes held, percent.
    pub retain_percent: u32,
}

impl IngestSettings {
    /// Reads `{ stubSharePercent?, retainPercent? }`.
    pub fn read(options: &JsValue) -> Result<Self, Failure> {
        let stub_share = input::opt_count(options, "stubSharePercent", "options", 100.0)?
            .map_or(20, |n| n as u8);
        let retain_percent =
            input::opt_count(options, "retainPercent", "options", 99.0)?.map_or(90, |n| n as u32);
        if retain_percent < MIN_RETAIN_PERCENT {
            return Err(Failure::argument(format_args!(
                "`options.retainPercent` must be from {MIN_RETAIN_PERCENT} to 99"
            )));
        }
        Ok(IngestSettings {
            stub_share,
            retain_percent,
        })
    }
}

/// Totals of one stream.
#[derive(Debug, Default)]
pub struct Ingest {
    splitter: LineSplitter,
    lines: u64,
    inserted: u64,
    updated: u64,
    refused_budget: u64,
    refused_invalid: u64,
    bad: u64,
    retains: u64,
    evicted: u64,
    /// Highest plan cut-off seen: every record scoring above it that was
    /// offered is still held.
    cutoff: Option<u32>,
    /// Percent of record bytes the next retain plans for (lowered when a
    /// retain frees nothing).
    retain_percent: Option<u32>,
    /// Retain freed nothing even at the lowest share: stop trying.
    exhausted: bool,
    errors: Vec<(u64, &'static str, String)>,
    /// Parsed records not yet written: written together ([`BATCH`]) at the
    /// latest when a chunk ends.
    pending: Vec<Account>,
    /// The line number of each pending record.
    pending_lines: Vec<u64>,
    /// Records the next batch may hold: halved (to 2) when the budget
    /// refuses a batch (a batch is checked for its worst case, a fair share
    /// of a small budget), doubled up to [`BATCH`] when one fits; 0 before
    /// the first, which may hold [`BATCH`].
    batch_len: usize,
}

impl Ingest {
    /// Feeds a chunk.
    pub fn feed(
        &mut self,
        store: &mut Store,
        chunk: &[u8],
        settings: IngestSettings,
        ranking: Option<&(RankRules, RankContext)>,
    ) {
        let mut splitter = core::mem::take(&mut self.splitter);
        splitter.feed(chunk, |line| {
            self.line(line);
            if self.pending.len() >= self.batch_cap() {
                self.flush(store, settings, ranking);
            }
        });
        self.splitter = splitter;
        self.flush(store, settings, ranking);
    }

    /// Ends the stream (a last line without a newline).
    pub fn finish(&mut self, store: &mut Store, ranking: Option<&(RankRules, RankContext)>) {
        let settings = IngestSettings {
            stub_share: 20,
            retain_percent: self.retain_percent.unwrap_or(90),
        };
        let mut splitter = core::mem::take(&mut self.splitter);
        splitter.finish(|line| self.line(line));
        self.flush(store, settings, ranking);
    }

    fn bad_line(&mut self, failure: Failure) {
        self.bad += 1;
        self.note(failure);
    }

    fn note(&mut self, failure: Failure) {
        self.note_at(self.lines, failure);
    }

    fn note_at(&mut self, line: u64, failure: Failure) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push((line, failure.code, failure.message));
        }
    }

    /// Counts a line and parses it into the pending batch.
    fn line(&mut self, line: Line<'_>) {
        self.lines += 1;
        let text = match line {
            Line::TooLong => {
                return self.bad_line(Failure::record(format_args!(
                    "line longer than {MAX_LINE_BYTES} bytes"
                )))
            }
            Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {
                self.lines -= 1; // blank lines are not records
                return;
            }
            Line::Text(t) => t,
        };
        let account = match core::str::from_utf8(text) {
            Ok(s) => match input::parse_account(s) {
                Ok(a) => a,
                Err(f) => return self.bad_line(f),
            },
            Err(e) => {
                return self.bad_line(Failure::record(format_args!(
                    "not UTF-8 (byte {})",
                    e.valid_up_to()
                )))
            }
        };
        self.pending.push(account);
        self.pending_lines.push(self.lines);
    }

    /// Writes the pending records: all at once when they fit, else one by
    /// one, so that each refusal is counted against its own line and makes
    /// room at most once.
    fn flush(
        &mut self,
        store: &mut Store,
        settings: IngestSettings,
        ranking: Option<&(RankRules, RankContext)>,
    ) {
        let mut accounts = core::mem::take(&mut self.pending);
        let lines = core::mem::take(&mut self.pending_lines);
        if accounts.len() > 1 {
            match store.upsert_batch(accounts) {
                Ok(done) => {
                    self.inserted += done.inserted as u64;
                    self.updated += done.updated as u64;
                    self.batch_len = (self.batch_cap() * 2).min(BATCH);
                    accounts = Vec::new();
                }
                Err(r) => {
                    if matches!(r.error, WriteError::Budget(_)) {
                        self.batch_len = (self.batch_cap() / 2).max(2);
                    }
                    accounts = r.value;
                }
            }
        }
        for (account, &line) in accounts.into_iter().zip(&lines) {
            self.upsert(store, line, account, settings, ranking);
        }
        self.pending_lines = lines;
        self.pending_lines.clear();
    }

    fn batch_cap(&self) -> usize {
        if self.batch_len == 0 {
            BATCH
        } else {
            self.batch_len
        }
    }

    /// Writes one record, making room once when the budget refuses it.
    fn upsert(
        &mut self,
        store: &mut Store,
        line: u64,
        mut account: Account,
        settings: IngestSettings,
        ranking: Option<&(RankRules, RankContext)>,
    ) {
        let mut retried = false;
        loop {
            match store.upsert(account) {
                Ok(Upserted::Inserted(_)) => self.inserted += 1,
                Ok(Upserted::Updated(_)) => self.updated += 1,
                Err(r) if matches!(r.error, WriteError::Budget(_)) => {
                    if !retried && self.make_room(store, settings, ranking) {
                        retried = true;
                        account = r.value;
                        continue;
                    }
                    self.refused_budget += 1;
                }
                Err(r) => {
                    self.refused_invalid += 1;
                    self.note_at(line, Failure::from(r.error));
                }
            }
            return;
        }
    }

    /// Runs one retain; true when it evicted something (worth a retry).
    fn make_room(
        &mut self,
        store: &mut Store,
        settings: IngestSettings,
        ranking: Option<&(RankRules, RankContext)>,
    ) -> bool {
        let Some((rules, ctx)) = ranking else {
            return false;
        };
        if self.exhausted {
            return false;
        }
        let percent = *self.retain_percent.get_or_insert(settings.retain_percent);
        let b = store.stats().bytes;
        let records = b.blocks + b.hot + b.index;
        let target = records / 100 * percent as usize;
        self.retains += 1;
        let summary = match store.retain(rules, ctx, settings.stub_share, Some(target)) {
            Ok(s) => s,
            Err(e) => {
                self.exhausted = true;
                self.note(Failure::from(e));
                return false;
            }
        };
        let evicted = summary.stubbed + summary.dropped;
        self.evicted += evicted;
        self.cutoff = self.cutoff.max(Some(summary.cutoff_score));
        if evicted == 0 {
            // The estimate kept everything: plan for less next time.
            let lower = percent * 3 / 4;
            if lower < MIN_RETAIN_PERCENT {
                self.exhausted = true;
            } else {
                self.retain_percent = Some(lower);
            }
        }
        evicted > 0
    }

    /// The running totals as an `IngestReport` object.
    pub fn report(&self) -> JsValue {
        let errors = js_sys::Array::new();
        for (line, code, message) in &self.errors {
            errors.push(&crate::object(&[
                ("line", JsValue::from_f64(*line as f64)),
                ("code", JsValue::from_str(code)),
                ("message", JsValue::from_str(message)),
            ]));
        }
        let n = |v: u64| JsValue::from_f64(v as f64);
        crate::object(&[
            ("lines", n(self.lines)),
            ("inserted", n(self.inserted)),
            ("updated", n(self.updated)),
            ("refusedBudget", n(self.refused_budget)),
            ("refusedInvalid", n(self.refused_invalid)),
            ("badLines", n(self.bad)),
            ("retains", n(self.retains)),
            ("evicted", n(self.evicted)),
            (
                "cutoff",
                self.cutoff
                    .map_or(JsValue::NULL, |c| JsValue::from_f64(c.into())),
            ),
            ("pendingBytes", n(self.splitter.pending() as u64)),
            ("errors", errors.into()),
        ])
    }
}
