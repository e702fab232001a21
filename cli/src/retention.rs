//! `satchel retention-sim`: replays a rep's access trace against an org and
//! measures how often each retention policy had the record on the device.
//!
//! At every `sync` line (or daily at 06:00 UTC when the trace has none) each
//! policy decides what the device holds, knowing only the past and the
//! records' fields; the accesses until the next sync are offline: a hit if
//! the record is held in full, a miss otherwise. Policies: Satchel's planner
//! under a rule set (with the device's usage sketch), LRU, LFU, a static
//! "briefcase" (my accounts by next visit) and an oracle that knows the next
//! period's accesses (the upper bound).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use satchel_core::model::Account;
use satchel_core::plan::{self, Decision, PlanConfig, Planner};
use satchel_core::rules::{RankRules, DAY};
use satchel_core::score::{Candidate, RankContext};
use satchel_core::usage::{UsageSketch, Use};
use serde::{Deserialize, Serialize};

use crate::parse_line;

/// One line of an access trace (the format `satchel-fixtures trace` writes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When (Unix seconds).
    pub t: i64,
    /// Whose device.
    pub rep: String,
    /// What happened.
    pub op: Op,
    /// Which account (none for `sync`).
    #[serde(default)]
    pub id: Option<String>,
}

/// What the rep did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Opened a record.
    Open,
    /// Searched and found it.
    Search,
    /// Edited it.
    Edit,
    /// Visited the customer.
    Visit,
    /// The device synced.
    Sync,
}

/// Budget: bytes, or a percentage of the whole org's cost.
#[derive(Clone, Copy, Debug)]
pub enum SimBudget {
    /// A number of bytes.
    Bytes(usize),
    /// A share of what the whole org would take.
    Percent(f64),
}

impl std::str::FromStr for SimBudget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(p) = s.strip_suffix('%') {
            return p
                .trim()
                .parse()
                .map(SimBudget::Percent)
                .map_err(|_| format!("not a percentage: {s}"));
        }
        satchel_core::budget::Budget::parse(s)
            .map(|b| SimBudget::Bytes(b.bytes()))
            .map_err(|e| e.to_string())
    }
}

/// The command's arguments.
pub struct Args<'a> {
    /// Org NDJSON.
    pub accounts: &'a Path,
    /// Trace NDJSON.
    pub trace: &'a Path,
    /// Rule set JSON.
    pub rules: &'a Path,
    /// The rep.
    pub me: &'a str,
    /// The rep's territories (derived from their accounts when empty).
    pub territories: Vec<String>,
    /// The budget.
    pub budget: SimBudget,
    /// JSON output.
    pub json: bool,
}

/// One policy's result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// The policy's name.
    pub policy: &'static str,
    /// Accesses to records held in full.
    pub hits: u64,
    /// Accesses to records not held.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_rate: f64,
    /// Mean bytes held at a sync.
    pub mean_bytes: u64,
}

/// A whole replay.
#[derive(Clone, Debug, Serialize)]
pub struct SimReport {
    /// Accounts in the org.
    pub accounts: usize,
    /// Trace events.
    pub events: usize,
    /// Offline periods (syncs).
    pub periods: usize,
    /// The budget in bytes.
    pub budget_bytes: usize,
    /// What the whole org would take.
    pub org_bytes: usize,
    /// One result per policy, Satchel first, the oracle last.
    pub policies: Vec<Outcome>,
    /// Share of accesses no policy that knows only the past and the fields
    /// can foresee: first accesses, in any earlier period, to an account that
    /// is neither the rep's nor in the rep's territories.
    pub cold_share: f64,
}

pub fn run(args: Args<'_>) -> Result<ExitCode, String> {
    let accounts = read_accounts(args.accounts)?;
    let events = read_trace(args.trace)?;
    let rules_text = std::fs::read_to_string(args.rules)
        .map_err(|e| format!("{}: {e}", args.rules.display()))?;
    let rules =
        RankRules::from_json(&rules_text).map_err(|e| format!("{}: {e}", args.rules.display()))?;
    let territories = if args.territories.is_empty() {
        home_territories(&accounts, args.me)
    } else {
        args.territories
    };
    let report = simulate(
        &accounts,
        &events,
        &rules,
        args.me,
        &territories,
        args.budget,
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{} accounts ({} bytes in full), {} trace events in {} offline periods, rep {} ({}), budget {} bytes ({:.1}% of the org)\n",
            report.accounts,
            report.org_bytes,
            report.events,
            report.periods,
            args.me,
            territories.join(", "),
            report.budget_bytes,
            100.0 * report.budget_bytes as f64 / report.org_bytes.max(1) as f64
        );
        println!("| policy | hit rate | hits | misses | mean bytes held |");
        println!("|---|---:|---:|---:|---:|");
        for o in &report.policies {
            println!(
                "| {} | {:.1}% | {} | {} | {} |",
                o.policy,
                100.0 * o.hit_rate,
                o.hits,
                o.misses,
                o.mean_bytes
            );
        }
        println!(
            "\n{:.1}% of accesses were cold one-offs (first look at an account outside the rep's book and territories).",
            100.0 * report.cold_share
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Replays `events` (sorted by time) against every policy.
pub fn simulate(
    accounts: &[Account],
    events: &[Event],
    rules: &RankRules,
    me: &str,
    territories: &[String],
    budget: SimBudget,
) -> SimReport {
    let costs: Vec<usize> = accounts
        .iter()
        .map(|a| plan::record_cost(satchel_core::record_codec::encode(a).len()))
        .collect();
    let total: usize = costs.iter().sum();
    let budget = match budget {
        SimBudget::Bytes(b) => b,
        SimBudget::Percent(p) => (total as f64 * p / 100.0) as usize,
    };
    let index: HashMap<&str, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let ctx = RankContext {
        now: 0,
        me: me.into(),
        territories: territories.to_vec(),
    };
    let periods = periods(events);
    let mut policies: Vec<Box<dyn Policy + '_>> = vec![
        Box::new(Satchel {
            rules,
            ctx,
            usage: UsageSketch::new(16_384, 7 * DAY),
        }),
        Box::new(History::default()),
        Box::new(History {
            by_frequency: true,
            ..History::default()
        }),
        Box::new(Briefcase { me: me.into() }),
        Box::new(Oracle),
    ];
    let mut outcomes: Vec<Outcome> = policies
        .iter()
        .map(|p| Outcome {
            policy: p.name(),
            ..Outcome::default()
        })
        .collect();
    let mut held_sum = vec![0u64; policies.len()];
    let (mut cold, mut seen_before) = (0u64, std::collections::HashSet::new());
    for (start, end, at) in &periods {
        let window: Vec<(i64, Op, usize)> = events[*start..*end]
            .iter()
            .filter(|e| e.op != Op::Sync)
            .filter_map(|e| Some((e.t, e.op, *index.get(e.id.as_deref()?)?)))
            .collect();
        for &(_, _, i) in &window {
            let a = &accounts[i];
            if a.owner != me && !territories.contains(&a.territory) && !seen_before.contains(&i) {
                cold += 1;
            }
        }
        seen_before.extend(window.iter().map(|w| w.2));
        for (k, policy) in policies.iter_mut().enumerate() {
            let held = policy.plan(accounts, &costs, budget, *at, &window);
            held_sum[k] += held.iter().map(|&i| costs[i] as u64).sum::<u64>();
            for &(t, op, i) in &window {
                if held.contains(&i) {
                    outcomes[k].hits += 1;
                } else {
                    outcomes[k].misses += 1;
                }
                policy.saw(&accounts[i], i, op, t);
            }
        }
    }
    for (o, h) in outcomes.iter_mut().zip(&held_sum) {
        let n = o.hits + o.misses;
        o.hit_rate = if n == 0 {
            0.0
        } else {
            o.hits as f64 / n as f64
        };
        o.mean_bytes = h / periods.len().max(1) as u64;
    }
    let accesses = outcomes.first().map_or(0, |o| o.hits + o.misses);
    SimReport {
        accounts: accounts.len(),
        events: events.len(),
        periods: periods.len(),
        budget_bytes: budget,
        org_bytes: total,
        policies: outcomes,
        cold_share: cold as f64 / accesses.max(1) as f64,
    }
}

/// Reads an org's NDJSON.
pub fn read_accounts(path: &Path) -> Result<Vec<Account>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push(parse_line(&line).map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?);
    }
    Ok(out)
}

/// Reads a trace file, sorted by time.
pub fn read_trace(path: &Path) -> Result<Vec<Event>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_trace(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses trace NDJSON, sorted by time; an error names its line.
pub fn parse_trace(text: &str) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let e: Event = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        if (e.op == Op::Sync) != e.id.is_none() {
            return Err(format!(
                "line {}: `sync` has no id, every other op has one",
                n + 1
            ));
        }
        events.push(e);
    }
    events.sort_by_key(|e| e.t);
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        // Periods are days when the trace has no sync: keep that bounded.
        if last.t.saturating_sub(first.t) > MAX_TRACE_DAYS * DAY {
            return Err(format!(
                "the trace spans more than {MAX_TRACE_DAYS} days ({} to {})",
                first.t, last.t
            ));
        }
    }
    Ok(events)
}

/// Longest time a trace may span.
pub const MAX_TRACE_DAYS: i64 = 3660;

/// The trace cut into offline periods: `(first event, end, sync time)`. A
/// period starts at a `sync`; without any, at 06:00 UTC every day.
pub fn periods(events: &[Event]) -> Vec<(usize, usize, i64)> {
    let has_sync = events.iter().any(|e| e.op == Op::Sync);
    let starts: Vec<(usize, i64)> = if has_sync {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.op == Op::Sync)
            .map(|(i, e)| (i, e.t))
            .collect()
    } else {
        let mut out = Vec::new();
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Vec::new();
        };
        let mut day = (first.t.div_euclid(DAY) * DAY).saturating_add(6 * 3600);
        if day > first.t {
            day -= DAY;
        }
        // Bounded: a parsed trace spans at most MAX_TRACE_DAYS.
        for _ in 0..=MAX_TRACE_DAYS + 1 {
            if day > last.t {
                break;
            }
            out.push((events.partition_point(|e| e.t < day), day));
            day = day.saturating_add(DAY);
        }
        out
    };
    let mut out: Vec<(usize, usize, i64)> = Vec::new();
    if let Some(&(first, t)) = starts.first() {
        if first > 0 {
            out.push((0, first, events[0].t.min(t))); // before the first sync: the device starts from a first sync too
        }
    }
    for (k, &(start, t)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(events.len(), |s| s.0);
        out.push((start, end, t));
    }
    out
}

/// The rep's territories as their own accounts show them: the three where
/// they own the most, and any other holding a tenth of their book.
pub fn home_territories(accounts: &[Account], me: &str) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mine = accounts.iter().filter(|a| a.owner == me);
    let n = mine.clone().count();
    for a in mine {
        *count.entry(a.territory.as_str()).or_default() += 1;
    }
    let mut out: Vec<String> = count
        .into_iter()
        .filter(|(_, c)| c * 10 >= n)
        .map(|(t, _)| t.to_string())
        .collect();
    out.sort();
    out
}

/// A retention policy: what the device holds after a sync at `at`.
trait Policy {
    fn name(&self) -> &'static str;
    /// The records held in full until the next sync. `next` is the coming
    /// period's accesses, which only the oracle may look at.
    fn plan(
        &mut self,
        accounts: &[Account],
        costs: &[usize],
        budget: usize,
        at: i64,
        next: &[(i64, Op, usize)],
    ) -> HashSet<usize>;
    /// An access, after the plan (hit or miss alike).
    fn saw(&mut self, account: &Account, index: usize, op: Op, t: i64);
}

/// The order in which a cache that knows nothing yet fills up: records as a
/// first sync happens to deliver them, modelled as the order of a hash of the
/// id (neither the org's order, which favours its first reps, nor a ranking).
fn arrival_order(accounts: &[Account]) -> impl Iterator<Item = usize> {
    let mut order: Vec<(u64, usize)> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                satchel_core::index::tag_of(&a.id) as u64 ^ ((i as u64) << 32),
                i,
            )
        })
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, i)| i)
}

/// Fills `budget` greedily in the given order.
fn fill(order: impl Iterator<Item = usize>, costs: &[usize], budget: usize) -> HashSet<usize> {
    let mut used = 0;
    let mut held = HashSet::new();
    for i in order {
        if used + costs[i] <= budget && held.insert(i) {
            used += costs[i];
        }
    }
    held
}

struct Satchel<'r> {
    // (the rank context's `now` is set at each plan)
    rules: &'r RankRules,
    ctx: RankContext,
    usage: UsageSketch,
}

impl Policy for Satchel<'_> {
    fn name(&self) -> &'static str {
        "Satchel planner"
    }

    fn plan(
        &mut self,
        accounts: &[Account],
        costs: &[usize],
        budget: usize,
        at: i64,
        _: &[(i64, Op, usize)],
    ) -> HashSet<usize> {
        self.ctx.now = at;
        self.usage.age_to(at);
        let ctx = self.ctx.clone();
        // Stubs are not hits: plan full records only.
        let mut p = Planner::new(
            self.rules,
            &ctx,
            PlanConfig {
                budget,
                stub_share_percent: 0,
            },
        );
        let usage = &self.usage;
        let cand = |a| Candidate {
            account: a,
            pinned: false,
            dirty: false,
            usage: usage.estimate(&a.id),
        };
        for _ in 0..p.passes() {
            for (a, &c) in accounts.iter().zip(costs) {
                p.observe(&cand(a), c, 0);
            }
            p.end_pass();
        }
        accounts
            .iter()
            .zip(costs)
            .enumerate()
            .filter(|(_, (a, c))| p.decide(&cand(a), **c, 0) == Decision::Keep)
            .map(|(i, _)| i)
            .collect()
    }

    fn saw(&mut self, account: &Account, _: usize, op: Op, t: i64) {
        let what = match op {
            Op::Edit | Op::Visit => Use::Edit,
            Op::Search => Use::Search,
            _ => Use::Open,
        };
        self.usage.record(&account.id, what, t);
    }
}

/// The classic caches: hold what was accessed most recently (LRU) or most
/// often (LFU), then whatever a first sync happened to bring.
#[derive(Default)]
struct History {
    by_frequency: bool,
    /// Per record: (accesses, last access time).
    seen: HashMap<usize, (u64, i64)>,
}

impl Policy for History {
    fn name(&self) -> &'static str {
        if self.by_frequency {
            "LFU"
        } else {
            "LRU"
        }
    }

    fn plan(
        &mut self,
        accounts: &[Account],
        costs: &[usize],
        budget: usize,
        _: i64,
        _: &[(i64, Op, usize)],
    ) -> HashSet<usize> {
        let key = |&(count, last): &(u64, i64)| {
            if self.by_frequency {
                (count as i64, last)
            } else {
                (last, count as i64)
            }
        };
        let mut order: Vec<((i64, i64), usize)> =
            self.seen.iter().map(|(&i, c)| (key(c), i)).collect();
        order.sort_by(|a, b| b.cmp(a));
        fill(
            order
                .into_iter()
                .map(|(_, i)| i)
                .chain(arrival_order(accounts)),
            costs,
            budget,
        )
    }

    fn saw(&mut self, _: &Account, i: usize, _: Op, t: i64) {
        let e = self.seen.entry(i).or_default();
        e.0 += 1;
        e.1 = t;
    }
}

/// The classic static briefcase: my accounts, soonest next visit first.
struct Briefcase {
    me: String,
}

impl Policy for Briefcase {
    fn name(&self) -> &'static str {
        "briefcase (mine by next visit)"
    }

    fn plan(
        &mut self,
        accounts: &[Account],
        costs: &[usize],
        budget: usize,
        at: i64,
        _: &[(i64, Op, usize)],
    ) -> HashSet<usize> {
        let mut mine: Vec<(i64, usize)> = accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.owner == self.me)
            .map(|(i, a)| (a.next_visit.filter(|&t| t >= at).unwrap_or(i64::MAX), i))
            .collect();
        mine.sort();
        fill(mine.into_iter().map(|(_, i)| i), costs, budget)
    }

    fn saw(&mut self, _: &Account, _: usize, _: Op, _: i64) {}
}

/// Knows the coming period's accesses: the upper bound.
struct Oracle;

impl Policy for Oracle {
    fn name(&self) -> &'static str {
        "oracle (knows the next period)"
    }

    fn plan(
        &mut self,
        _: &[Account],
        costs: &[usize],
        budget: usize,
        _: i64,
        next: &[(i64, Op, usize)],
    ) -> HashSet<usize> {
        let mut count: HashMap<usize, u64> = HashMap::new();
        for &(_, _, i) in next {
            *count.entry(i).or_default() += 1;
        }
        // Most accesses per byte first.
        let mut order: Vec<(usize, u64)> = count.into_iter().collect();
        order.sort_by(|a, b| {
            (b.1 * costs[a.0] as u64)
                .cmp(&(a.1 * costs[b.0] as u64))
                .then(a.0.cmp(&b.0))
        });
        fill(order.into_iter().map(|(i, _)| i), costs, budget)
    }

    fn saw(&mut self, _: &Account, _: usize, _: Op, _: i64) {}
}
