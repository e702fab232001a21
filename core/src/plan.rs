//! The planner: which records stay on the device in full, which leave a stub,
//! which go, inside a byte budget.
//!
//! Owns [`Planner`]. It streams: the caller shows it every record once per
//! pass ([`Planner::observe`]), then once more to hear the verdict
//! ([`Planner::decide`]). Between passes it keeps only histograms of bytes by
//! score (a few hundred KiB, reported by [`Planner::heap_bytes`] so the caller
//! can count them in its budget), so planning a million records needs no
//! list of a million scores. Records are kept by score, highest first; a
//! record's stub (id, name, score) is worth keeping for search when the full
//! record is not; stubs take what room full records leave, up to a share.
//!
//! Invariants: pinned records and records with pending edits are always kept;
//! apart from those, kept bytes + stub bytes never exceed the budget; the same
//! records in the same order give the same plan.

use alloc::vec;
use alloc::vec::Vec;
use serde::Serialize;

use crate::rules::RankRules;
use crate::score::{rule_points, Candidate, RankContext};

/// Scores below this get a bucket each; above, buckets are logarithmic with
/// 64 steps per doubling (scores within about 1.5% share a bucket; ties go
/// by arrival order). Small, because a full store must still find room for
/// the planner: 2,432 buckets, about 39 KiB of histograms.
const EXACT: u32 = 1024;
const STEPS_LOG2: u32 = 6;
const BUCKETS: usize = EXACT as usize + 22 * (1 << STEPS_LOG2);

/// A score's histogram bucket; monotonic in the score.
fn bucket(score: u32) -> usize {
    if score < EXACT {
        return score as usize;
    }
    let log = 31 - score.leading_zeros(); // ≥ 10
    let mantissa = (score >> (log - STEPS_LOG2)) & ((1 << STEPS_LOG2) - 1);
    EXACT as usize + ((log - 10) << STEPS_LOG2) as usize + mantissa as usize
}

/// The lowest score that falls in bucket `b`.
fn bucket_floor(b: usize) -> u32 {
    if b < EXACT as usize {
        return b as u32;
    }
    let log = 10 + ((b - EXACT as usize) >> STEPS_LOG2) as u32;
    let mantissa = ((b - EXACT as usize) & ((1 << STEPS_LOG2) - 1)) as u32;
    (1u32 << log) | (mantissa << (log - STEPS_LOG2))
}

/// Where bytes-by-bucket run out of `room`, scanning buckets below `top` from
/// the highest: `(cut bucket, bytes allowed in it, bytes used at most)`.
/// Buckets above the cut fit whole; in the cut bucket, records are admitted
/// while the allowance lasts. When everything fits, the cut is bucket 0 with
/// its whole size allowed. With no bucket below `top`, the cut is `top` with
/// nothing allowed.
fn place_cut(bytes: &[u64], top: usize, mut room: u64) -> (usize, u64, u64) {
    let mut used = 0;
    for b in (0..top).rev() {
        if bytes[b] > room {
            return (b, room, used + room);
        }
        room -= bytes[b];
        used += bytes[b];
    }
    match top {
        0 => (0, 0, used),
        _ => (0, bytes[0], used),
    }
}

/// Block payloads inflate about this much (×10), measured on generated orgs
/// (`benches/RESULTS.md`): the compressed size of a record is about its
/// encoded size × 10 / 32.
pub const ESTIMATED_RATIO_X10: usize = 32;

/// Bytes the store needs to keep `account` in full: its share of a block at
/// the measured ratio plus its index entry (location, id slot).
pub fn record_cost(encoded_len: usize) -> usize {
    encoded_len * 10 / ESTIMATED_RATIO_X10 + 16 + SEARCH_BYTES_PER_RECORD
}

/// What a record's search postings and rank take, on average (measured by
/// `satchel-benches search`).
pub const SEARCH_BYTES_PER_RECORD: usize = 22;

/// What a stub's search postings take, on average.
pub const SEARCH_BYTES_PER_STUB: usize = 10;

/// Bytes a stub takes: backend id, display name, score and its slot.
pub fn stub_cost(id: &str, display_name: &str) -> usize {
    id.len() + display_name.len() + 12 + SEARCH_BYTES_PER_STUB
}

/// The verdict on one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Kept in full.
    Keep,
    /// Evicted; a stub stays so search still finds it.
    Stub,
    /// Evicted without a stub: not even that fits.
    Drop,
}

/// How to plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanConfig {
    /// Bytes for full records and stubs together.
    pub budget: usize,
    /// Most of the budget stubs may take, in percent.
    pub stub_share_percent: u8,
}

/// What a plan came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Records kept in full (pinned and edited ones included).
    pub kept: u64,
    /// Records evicted to stubs.
    pub stubbed: u64,
    /// Records dropped entirely.
    pub dropped: u64,
    /// Bytes of the records kept.
    pub kept_bytes: u64,
    /// Bytes of the stubs.
    pub stub_bytes: u64,
    /// Pinned or edited records, kept whatever their score.
    pub forced: u64,
    /// Records scoring below this are never kept in full (those at or just
    /// above it may go either way, by arrival order, as room allows).
    pub cutoff_score: u32,
    /// The lowest score actually kept in full, pinned and edited records aside
    /// (`None` until one is).
    pub lowest_kept_score: Option<u32>,
    /// The forced records alone exceed the budget by this many bytes.
    pub forced_over_budget: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Quotas,
    Scores,
    Decide,
}

/// One quota rule's threshold: records with more points earn them; at the
/// threshold only the first `at_threshold` do.
#[derive(Clone, Copy, Default)]
struct QuotaCut {
    bucket: usize,
    at_threshold: u64,
}

/// Streams records through two or three passes to a keep / stub / drop plan.
pub struct Planner<'r> {
    rules: &'r RankRules,
    ctx: &'r RankContext,
    config: PlanConfig,
    phase: Phase,
    passes: usize,
    /// Per quota rule (by rule index): counts by points bucket, then the cut.
    quota_counts: Vec<(usize, Vec<u32>)>,
    quota_cuts: Vec<(usize, QuotaCut, u64)>,
    full_bytes: Vec<u64>,
    stub_bytes: Vec<u64>,
    forced_bytes: u64,
    full_cut: usize,
    full_left_at_cut: u64,
    stub_cut: usize,
    stub_left_at_cut: u64,
    stub_reserved_at_full_cut: u64,
    summary: PlanSummary,
}

impl<'r> Planner<'r> {
    /// A planner for one plan.
    pub fn new(rules: &'r RankRules, ctx: &'r RankContext, config: PlanConfig) -> Self {
        let quota_counts: Vec<(usize, Vec<u32>)> = rules
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.quota.is_some())
            .map(|(i, _)| (i, vec![0u32; BUCKETS]))
            .collect();
        let phase = if quota_counts.is_empty() {
            Phase::Scores
        } else {
            Phase::Quotas
        };
        let passes = if quota_counts.is_empty() { 1 } else { 2 };
        Planner {
            rules,
            ctx,
            config,
            phase,
            passes,
            quota_counts,
            quota_cuts: Vec::new(),
            full_bytes: vec![0; BUCKETS],
            stub_bytes: vec![0; BUCKETS],
            forced_bytes: 0,
            full_cut: 0,
            full_left_at_cut: 0,
            stub_cut: 0,
            stub_left_at_cut: 0,
            stub_reserved_at_full_cut: 0,
            summary: PlanSummary::default(),
        }
    }

    /// Heap bytes the planner holds (count them in the budget that plans).
    pub fn heap_bytes(&self) -> usize {
        let q: usize = self
            .quota_counts
            .iter()
            .map(|(_, v)| v.capacity() * 4)
            .sum();
        q + (self.full_bytes.capacity() + self.stub_bytes.capacity()) * 8
    }

    /// How many times the caller must show every record before deciding
    /// (2 with quota rules, else 1).
    pub fn passes(&self) -> usize {
        self.passes
    }

    /// The score after quotas. At a quota's threshold, the first records to
    /// come earn the rule; the score pass and the deciding pass see records in
    /// the same order, so they agree.
    fn final_score(&mut self, c: &Candidate<'_>) -> u32 {
        let points = rule_points(self.rules, c, self.ctx);
        let mut total = 0u32;
        for (i, &p) in points.iter().enumerate() {
            let earned = match self.quota_cuts.iter_mut().find(|(r, _, _)| *r == i) {
                Some((_, cut, seen)) if p > 0 => {
                    let b = bucket(p);
                    if b > cut.bucket {
                        p
                    } else if b == cut.bucket && *seen < cut.at_threshold {
                        *seen += 1;
                        p
                    } else {
                        0
                    }
                }
                _ => p,
            };
            total = total.saturating_add(earned);
        }
        total
    }

    /// Shows one record in the current pass. `cost` is what keeping it takes,
    /// `stub_cost` what its stub takes.
    pub fn observe(&mut self, c: &Candidate<'_>, cost: usize, stub_cost: usize) {
        match self.phase {
            Phase::Quotas => {
                if c.pinned || c.dirty {
                    return; // kept anyway: they take no quota
                }
                let points = rule_points(self.rules, c, self.ctx);
                for (rule, counts) in &mut self.quota_counts {
                    let p = points[*rule];
                    if p > 0 {
                        counts[bucket(p)] += 1;
                    }
                }
            }
            Phase::Scores => {
                if c.pinned || c.dirty {
                    self.forced_bytes += cost as u64;
                    return;
                }
                let s = self.final_score(c);
                let b = bucket(s);
                self.full_bytes[b] += cost as u64;
                self.stub_bytes[b] += stub_cost as u64;
            }
            Phase::Decide => {}
        }
    }

    /// Ends a pass. After the last one, [`Planner::decide`] may be called.
    pub fn end_pass(&mut self) {
        match self.phase {
            Phase::Quotas => {
                for (rule, counts) in &self.quota_counts {
                    let quota = u64::from(self.rules.rules()[*rule].quota.unwrap_or(u32::MAX));
                    let mut taken = 0u64;
                    let mut cut = QuotaCut {
                        bucket: 0,
                        at_threshold: 0,
                    };
                    for b in (0..BUCKETS).rev() {
                        let n = u64::from(counts[b]);
                        if taken + n >= quota {
                            cut = QuotaCut {
                                bucket: b,
                                at_threshold: quota - taken,
                            };
                            break;
                        }
                        taken += n;
                        cut = QuotaCut {
                            bucket: b,
                            at_threshold: n,
                        };
                    }
                    self.quota_cuts.push((*rule, cut, 0));
                }
                self.quota_counts = Vec::new();
                self.phase = Phase::Scores;
            }
            Phase::Scores => {
                self.cut();
                for q in &mut self.quota_cuts {
                    q.2 = 0; // the deciding pass counts admissions again
                }
                self.phase = Phase::Decide;
            }
            Phase::Decide => {}
        }
    }

    /// Places the two cuts: full records from the top while they fit in the
    /// budget less the room reserved for stubs, then stubs from the top of
    /// what is left.
    fn cut(&mut self) {
        let budget = self.config.budget as u64;
        self.summary.forced_over_budget = self.forced_bytes.saturating_sub(budget);
        let room = budget.saturating_sub(self.forced_bytes);
        let all_stubs: u64 = self.stub_bytes.iter().sum();
        let stub_share =
            (budget * u64::from(self.config.stub_share_percent.min(100)) / 100).min(all_stubs);
        let (full_cut, full_allowance, full_used) =
            place_cut(&self.full_bytes, BUCKETS, room.saturating_sub(stub_share));
        self.full_cut = full_cut;
        self.full_left_at_cut = full_allowance;
        self.summary.cutoff_score = bucket_floor(full_cut);
        // Stubs take the rest of the room, best scores first, starting with
        // the records of the cut bucket that do not make it in full.
        let mut stub_room = room.saturating_sub(full_used);
        self.stub_reserved_at_full_cut = self.stub_bytes[full_cut].min(stub_room);
        stub_room -= self.stub_reserved_at_full_cut;
        let (stub_cut, stub_allowance, _) = place_cut(&self.stub_bytes, full_cut, stub_room);
        self.stub_cut = stub_cut;
        self.stub_left_at_cut = stub_allowance;
    }

    /// The verdict on one record (call in the same order as the last pass).
    pub fn decide(&mut self, c: &Candidate<'_>, cost: usize, stub_cost: usize) -> Decision {
        let (cost, stub_cost) = (cost as u64, stub_cost as u64);
        let decision = if c.pinned || c.dirty {
            self.summary.forced += 1;
            Decision::Keep
        } else {
            let s = self.final_score(c);
            let b = bucket(s);
            let keep = b > self.full_cut || (b == self.full_cut && cost <= self.full_left_at_cut);
            if keep {
                self.summary.lowest_kept_score =
                    Some(self.summary.lowest_kept_score.map_or(s, |l| l.min(s)));
            }
            if b > self.full_cut {
                Decision::Keep
            } else if b == self.full_cut && cost <= self.full_left_at_cut {
                self.full_left_at_cut -= cost;
                Decision::Keep
            } else if b == self.full_cut && stub_cost <= self.stub_reserved_at_full_cut {
                self.stub_reserved_at_full_cut -= stub_cost;
                Decision::Stub
            } else if b < self.full_cut && b > self.stub_cut {
                Decision::Stub
            } else if b < self.full_cut && b == self.stub_cut && stub_cost <= self.stub_left_at_cut
            {
                self.stub_left_at_cut -= stub_cost;
                Decision::Stub
            } else {
                Decision::Drop
            }
        };
        match decision {
            Decision::Keep => {
                self.summary.kept += 1;
                self.summary.kept_bytes += cost;
            }
            Decision::Stub => {
                self.summary.stubbed += 1;
                self.summary.stub_bytes += stub_cost;
            }
            Decision::Drop => self.summary.dropped += 1,
        }
        decision
    }

    /// What the plan came to so far (complete after every record was decided).
    pub fn summary(&self) -> PlanSummary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_floors_round_trip() {
        let mut last = 0;
        for s in (0..5_000_000u32)
            .step_by(97)
            .chain([u32::MAX - 1, u32::MAX])
        {
            let b = bucket(s);
            assert!(b >= last && b < BUCKETS, "score {s}");
            assert!(bucket_floor(b) <= s);
            assert_eq!(bucket(bucket_floor(b)), b);
            last = b;
        }
    }
}
