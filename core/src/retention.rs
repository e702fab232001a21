//! The store acting on a plan: pinned records, usage signals, eviction to
//! stubs and `explain(id)`.
//!
//! Owns the device-side retention state of a [`Store`] and the call that
//! applies a [`Planner`]'s verdicts to it ([`Store::retain`]). Rules and the
//! rank context are the caller's (the app or the sync that fetched them), so
//! a rule set that fails to parse never replaces the one in force.
//!
//! Invariants: a pinned record is never evicted; an evicted record leaves a
//! stub when the budget has room for it; the budget holds after every call.
//! Pins and stubs are in the snapshot and the journal (pin, unpin, stub ops;
//! evictions are deletes); the usage sketch is a soft signal and starts
//! afresh after a reload.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::budget::BudgetExceeded;
use crate::journal::JournalOpRef;
use crate::model::Account;
use crate::plan::{self, Decision, PlanConfig, PlanSummary, Planner};
use crate::rules::RankRules;
use crate::score::{self, Candidate, RankContext, RuleVerdict};
use crate::store::Store;
use crate::stubs::Stub;
use crate::usage::{UsageSketch, Use};

/// Evictions a retain journals and unindexes together: the index pages they
/// share change once (as an import's batches of 128 write them).
const EVICTION_BATCH: usize = 128;

/// Counters a row of the usage sketch: 4 rows × 4096 × 2 bytes = 32 KiB.
const USAGE_WIDTH: usize = 4096;
/// Half-life of usage counts: a week.
const USAGE_HALF_LIFE: i64 = 7 * crate::rules::DAY;

/// Why a record is (or is not) on the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The backend id.
    pub id: String,
    /// `"kept"` (held in full), `"stub"` (evicted, stub kept) or `"absent"`.
    pub state: &'static str,
    /// Score now (for a stub: the score it had when evicted).
    pub score: u32,
    /// Pinned by the rep (never evicted).
    pub pinned: bool,
    /// Each rule's verdict (empty for a stub: its fields are not on the device).
    pub rules: Vec<RuleVerdict>,
    /// The lowest score the last plan kept in full, if a plan ran.
    pub cutoff: Option<u32>,
}

impl Store {
    /// Pins the record `id` so that no plan evicts it; `Ok(false)` when the
    /// store does not hold it.
    pub fn pin(&mut self, id: &str) -> Result<bool, BudgetExceeded> {
        let Some(local) = self.local_id(id) else {
            return Ok(false);
        };
        if self.is_pinned_local(local) {
            return Ok(true);
        }
        // Room for the flag first, then the journal: a failure changes nothing.
        self.reserve_pin(local)?;
        self.journal_op(&JournalOpRef::Pin(id))?;
        self.set_pinned(local, true)?;
        Ok(true)
    }

    /// Unpins `id`; true when it was pinned (and the change was journaled).
    pub fn unpin(&mut self, id: &str) -> bool {
        match self.local_id(id) {
            // An unpin the journal cannot hold is refused: it would come back
            // pinned after a restart.
            Some(local) if self.is_pinned_local(local) => {
                if self.journal_op(&JournalOpRef::Unpin(id)).is_err() {
                    return false;
                }
                // Clearing a bit never needs room.
                let _ = self.set_pinned(local, false);
                true
            }
            _ => false,
        }
    }

    /// True when `id` is held and pinned.
    pub fn is_pinned(&self, id: &str) -> bool {
        self.local_id(id).is_some_and(|l| self.is_pinned_local(l))
    }

    /// Counts a use of `id` (opened, found, edited) at `now`, for the `used`
    /// rule condition. The first call allocates the 32 KiB usage sketch.
    pub fn record_use(&mut self, id: &str, what: Use, now: i64) -> Result<(), BudgetExceeded> {
        if self.usage().is_none() {
            let sketch = UsageSketch::new(USAGE_WIDTH, USAGE_HALF_LIFE);
            let needed = sketch.heap_bytes();
            let available = self.budget().bytes().saturating_sub(self.used_bytes());
            if needed > available {
                return Err(BudgetExceeded { needed, available });
            }
            self.set_usage(sketch);
        }
        if let Some(u) = self.usage_mut() {
            u.record(id, what, now);
        }
        Ok(())
    }

    /// The stub of an evicted record.
    pub fn stub(&self, id: &str) -> Option<Stub> {
        self.stub_table().get(id)
    }

    /// Every stub.
    pub fn stubs(&self) -> impl Iterator<Item = Stub> + '_ {
        self.stub_table().iter()
    }

    fn candidate<'a>(&self, local: u32, account: &'a Account) -> Candidate<'a> {
        Candidate {
            account,
            pinned: self.is_pinned_local(local),
            dirty: self.is_dirty(&account.id),
            usage: self.usage().map_or(0, |u| u.estimate(&account.id)),
        }
    }

    /// Plans under `rules` and acts on it: records the plan does not keep are
    /// evicted (a stub stays when there is room), pinned ones always stay.
    /// The plan's budget is what the store may spend on records and stubs:
    /// `target` bytes (to make room before a sync), or by default the store's
    /// budget less everything else it holds and the planner's own working
    /// memory (a store keeps [`crate::store::PLAN_RESERVE`] free for it).
    pub fn retain(
        &mut self,
        rules: &RankRules,
        ctx: &RankContext,
        stub_share_percent: u8,
        target: Option<usize>,
    ) -> Result<PlanSummary, BudgetExceeded> {
        let other = self.used_bytes() - self.record_bytes();
        let mut planner_budget = self.budget().bytes().saturating_sub(other);
        let probe = Planner::new(
            rules,
            ctx,
            PlanConfig {
                budget: 0,
                stub_share_percent,
            },
        );
        let working = probe.heap_bytes();
        drop(probe);
        if working > self.budget().bytes().saturating_sub(self.used_bytes()) {
            // The planner's histograms must fit beside the store: make room
            // from the cache first, then from the stubs (the plan decides
            // again which stubs stay).
            self.clear_cache();
            let short =
                working.saturating_sub(self.budget().bytes().saturating_sub(self.used_bytes()));
            if short > 0 {
                self.shed_stubs(short);
            }
            let available = self.budget().bytes().saturating_sub(self.used_bytes());
            if working > available {
                return Err(BudgetExceeded {
                    needed: working,
                    available,
                });
            }
        }
        planner_budget = planner_budget.saturating_sub(working);
        if let Some(t) = target {
            planner_budget = planner_budget.min(t);
        }
        let mut planner = Planner::new(
            rules,
            ctx,
            PlanConfig {
                budget: planner_budget,
                stub_share_percent,
            },
        );
        let cost = |a: &Account| plan::record_cost(crate::record_codec::encode(a).len());
        let stub_cost = |a: &Account| plan::stub_cost(&a.id, a.display_name());
        for _ in 0..planner.passes() {
            for (local, a) in self.iter_locals() {
                planner.observe(&self.candidate(local, &a), cost(&a), stub_cost(&a));
            }
            planner.end_pass();
        }
        let mut evict: Vec<(u32, u32, Decision)> = Vec::new();
        for (local, a) in self.iter_locals() {
            let c = self.candidate(local, &a);
            let d = planner.decide(&c, cost(&a), stub_cost(&a));
            let s = score::score(rules, &c, ctx);
            if d == Decision::Keep {
                // Search ranks by the last plan's scores.
                self.set_search_score(local, s);
            } else {
                evict.push((local, s, d));
            }
        }
        let mut summary = planner.summary();
        drop(planner);
        // In block order (as read above): each block inflated once. Evicted
        // a batch at a time (the search index forgets a batch a page at a
        // time), one by one if the batch does not fit.
        let mut held = None;
        for chunk in evict.chunks(EVICTION_BATCH) {
            let read: Vec<(u32, u32, Decision, Account)> = chunk
                .iter()
                .filter_map(|&(local, score, d)| {
                    Some((local, score, d, self.read_through(local, &mut held)?))
                })
                .collect();
            let records: Vec<(u32, &Account)> = read.iter().map(|r| (r.0, &r.3)).collect();
            let batched = self.delete_read_batch(&records).is_ok();
            drop(records);
            for (local, score, decision, a) in read {
                // Evictions are journaled as deletes: a replay must not bring
                // back what the device dropped.
                if !batched && self.delete_read(local, &a).is_err() {
                    // No room for the journal frame: the record stays.
                    match decision {
                        Decision::Stub => summary.stubbed -= 1,
                        _ => summary.dropped -= 1,
                    }
                    summary.kept += 1;
                    continue;
                }
                // The stub, then its journal frame; without room for the frame
                // the stub goes again (a replay must see what the store has).
                let stubbed = decision == Decision::Stub
                    && self.add_stub(&a.id, a.display_name(), score)
                    && {
                        let op = JournalOpRef::Stub {
                            id: &a.id,
                            name: a.display_name(),
                            score,
                        };
                        let journaled = self.journal_op(&op).is_ok();
                        if !journaled {
                            // Taking back postings just added leaves their
                            // pages as they were (canonical), unless adding
                            // split one.
                            self.remove_stub(&a.id);
                        }
                        journaled
                    };
                if decision == Decision::Stub && !stubbed {
                    summary.stubbed -= 1;
                    summary.dropped += 1;
                }
            }
        }
        self.compact();
        // An index dropped at open comes back once the plan made room.
        self.rebuild_search_index();
        self.refresh_search_marks();
        self.set_last_cutoff(summary.lowest_kept_score);
        Ok(summary)
    }

    /// Why `id` is on the device or not, rule by rule, with the last plan's
    /// cut-off.
    pub fn explain(&self, id: &str, rules: &RankRules, ctx: &RankContext) -> Explanation {
        let cutoff = self.last_cutoff();
        if let Some(local) = self.local_id(id) {
            if let Some(a) = self.get_local(local) {
                let c = self.candidate(local, &a);
                return Explanation {
                    id: id.into(),
                    state: "kept",
                    score: score::score(rules, &c, ctx),
                    pinned: c.pinned,
                    rules: score::explain(rules, &c, ctx),
                    cutoff,
                };
            }
        }
        match self.stub(id) {
            Some(s) => Explanation {
                id: id.into(),
                state: "stub",
                score: s.score,
                pinned: false,
                rules: Vec::new(),
                cutoff,
            },
            None => Explanation {
                id: id.into(),
                state: "absent",
                score: 0,
                pinned: false,
                rules: Vec::new(),
                cutoff,
            },
        }
    }
}
