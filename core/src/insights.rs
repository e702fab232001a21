//! Insights: the rep's numbers, computed on the device from the records it
//! holds, as plain data the app can chart — visits and calls this week vs
//! last, overdue follow-ups, pipeline by stage, an account's activity by
//! month.
//!
//! Owns [`Insights`] and [`MonthTrend`] and the calendar arithmetic behind
//! them (weeks start on Monday, months are calendar months, both in the rep's
//! UTC offset). Computed in one streaming pass: memory is bounded by the
//! number of (stage, currency) pairs (at most [`MAX_STAGES`]) and the overdue
//! list's limit, not by the number of records.
//!
//! Invariant: a pure function of the records and the context; records the
//! device evicted are not counted (the result says how many were read).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::model::{Account, ActivityKind};

/// The stage that totals the pairs past [`MAX_STAGES`].
const OTHER_STAGE: &str = "(other)";

/// Most (stage, currency) pairs the pipeline keeps apart; the rest are
/// summed under stage `"(other)"`.
pub const MAX_STAGES: usize = 64;

const DAY: i64 = 86_400;

/// Whose numbers, when, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsightsContext {
    /// Now (Unix seconds).
    pub now: i64,
    /// The rep (owner id; activities are counted when `by` is this).
    pub me: String,
    /// The rep's offset from UTC in seconds (weeks and months are local).
    #[serde(default)]
    pub utc_offset_seconds: i32,
    /// Most overdue follow-ups listed (the total is always counted).
    #[serde(default = "default_overdue_limit")]
    pub overdue_limit: usize,
}

fn default_overdue_limit() -> usize {
    50
}

/// Activities of one week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekCounts {
    /// On-site visits.
    pub visits: u32,
    /// Phone calls.
    pub calls: u32,
    /// Meetings.
    pub meetings: u32,
}

/// An account whose planned visit has passed without a visit logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    /// Backend id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The planned visit (Unix seconds).
    pub next_visit: i64,
    /// Whole days since then.
    pub days_overdue: u32,
}

/// Open value of one stage in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTotal {
    /// Pipeline stage.
    pub stage: String,
    /// ISO-4217 currency code.
    pub currency: String,
    /// Accounts in the stage.
    pub accounts: u32,
    /// Sum of their deal values, in minor units (saturating).
    pub value_minor: i64,
}

/// The rep's numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insights {
    /// Records read (those on the device).
    pub records: u32,
    /// Start of this week (Monday 00:00 local, as Unix seconds).
    pub week_start: i64,
    /// The rep's activities since `week_start`, up to now.
    pub this_week: WeekCounts,
    /// The rep's activities in the 7 days before `week_start`.
    pub last_week: WeekCounts,
    /// The rep's accounts with a planned visit in the past and no visit
    /// logged since it, most overdue first (at most `overdue_limit`).
    pub overdue: Vec<Overdue>,
    /// How many such accounts there are.
    pub overdue_total: u32,
    /// The rep's accounts by stage and currency, by stage then currency.
    pub pipeline: Vec<StageTotal>,
    /// The rep's best-scored accounts at the last plan (filled by
    /// [`crate::store::Store::insights`], which knows the scores).
    pub top: Vec<TopAccount>,
}

/// One of the rep's top accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopAccount {
    /// Backend id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Score at the last plan.
    pub score: u32,
}

/// One calendar month of an account's activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTrend {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Activities of each kind, in [`ActivityKind::ALL`] order.
    pub by_kind: [u32; 6],
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i32, u8, u8) {
    // Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = if m <= 2 { y + 1 } else { y };
    (y.clamp(i32::MIN as i64, i32::MAX as i64) as i32, m, d)
}

/// Start of the local week (Monday 00:00) containing `t`, as Unix seconds.
pub fn week_start(t: i64, utc_offset_seconds: i32) -> i64 {
    let local = t.saturating_add(i64::from(utc_offset_seconds));
    let days = local.div_euclid(DAY);
    // 1970-01-01 was a Thursday: Monday-based weekday is (days + 3) % 7.
    let monday = days - (days + 3).rem_euclid(7);
    monday
        .saturating_mul(DAY)
        .saturating_sub(i64::from(utc_offset_seconds))
}

/// Computes the rep's insights from `accounts` in one pass.
pub fn compute(accounts: impl Iterator<Item = Account>, ctx: &InsightsContext) -> Insights {
    let this_start = week_start(ctx.now, ctx.utc_offset_seconds);
    let last_start = this_start.saturating_sub(7 * DAY);
    let mut out = Insights {
        week_start: this_start,
        ..Insights::default()
    };
    for a in accounts {
        out.records = out.records.saturating_add(1);
        for act in a.activities.iter().filter(|x| x.by == ctx.me) {
            let week = if act.at >= this_start && act.at <= ctx.now {
                &mut out.this_week
            } else if act.at >= last_start && act.at < this_start {
                &mut out.last_week
            } else {
                continue;
            };
            match act.kind {
                ActivityKind::Visit => week.visits += 1,
                ActivityKind::Call => week.calls += 1,
                ActivityKind::Meeting => week.meetings += 1,
                _ => {}
            }
        }
        if a.owner != ctx.me {
            continue;
        }
        add_to_pipeline(&mut out.pipeline, &a);
        if let Some(due) = a.next_visit.filter(|&t| t < ctx.now) {
            let visited = a
                .activities
                .iter()
                .any(|x| x.kind == ActivityKind::Visit && x.at >= due);
            if !visited {
                out.overdue_total += 1;
                note_overdue(&mut out.overdue, &a, due, ctx);
            }
        }
    }
    out
}

/// Adds `a` to its (stage, currency) total. The pipeline stays sorted by
/// (stage, currency) as it grows, so it needs no sort of its own (each
/// sort is another copy of std's sort in the wasm module).
fn add_to_pipeline(pipeline: &mut Vec<StageTotal>, a: &Account) {
    let i = match stage_slot(pipeline, &a.stage, &a.currency) {
        Ok(i) => i,
        Err(i) if pipeline.len() < MAX_STAGES - 1 => {
            pipeline.insert(i, stage_total(&a.stage, &a.currency));
            i
        }
        Err(_) => match stage_slot(pipeline, OTHER_STAGE, "") {
            Ok(i) => i,
            Err(i) => {
                pipeline.insert(i, stage_total(OTHER_STAGE, ""));
                i
            }
        },
    };
    let s = &mut pipeline[i];
    s.accounts += 1;
    s.value_minor = s.value_minor.saturating_add(a.deal_value);
}

/// Where (stage, currency) is or would go in the sorted pipeline.
fn stage_slot(pipeline: &[StageTotal], stage: &str, currency: &str) -> Result<usize, usize> {
    pipeline.binary_search_by(|s| (s.stage.as_str(), s.currency.as_str()).cmp(&(stage, currency)))
}

fn stage_total(stage: &str, currency: &str) -> StageTotal {
    StageTotal {
        stage: stage.into(),
        currency: currency.into(),
        accounts: 0,
        value_minor: 0,
    }
}

/// Keeps the `overdue_limit` most overdue, most overdue first (ties by id).
fn note_overdue(list: &mut Vec<Overdue>, a: &Account, due: i64, ctx: &InsightsContext) {
    let entry = Overdue {
        id: a.id.clone(),
        name: a.display_name().into(),
        next_visit: due,
        days_overdue: (ctx.now.saturating_sub(due) / DAY).clamp(0, i64::from(u32::MAX)) as u32,
    };
    let key = |o: &Overdue| (o.next_visit, o.id.clone());
    let at = list.partition_point(|o| key(o) < key(&entry));
    if at < ctx.overdue_limit {
        list.insert(at, entry);
        list.truncate(ctx.overdue_limit);
    }
}

/// An account's activities per calendar month, for the `months` months up to
/// and including the one of `now` (oldest first).
pub fn trend(a: &Account, months: u16, now: i64, utc_offset_seconds: i32) -> Vec<MonthTrend> {
    let month_of = |t: i64| {
        let (y, m, _) = civil_from_days(
            t.saturating_add(i64::from(utc_offset_seconds))
                .div_euclid(DAY),
        );
        i64::from(y) * 12 + i64::from(m) - 1
    };
    let last = month_of(now);
    let first = last - i64::from(months) + 1;
    let mut out: Vec<MonthTrend> = (first..=last)
        .map(|n| MonthTrend {
            year: n.div_euclid(12) as i32,
            month: (n.rem_euclid(12) + 1) as u8,
            by_kind: [0; 6],
        })
        .collect();
    for act in &a.activities {
        let n = month_of(act.at);
        if (first..=last).contains(&n) {
            let kind = ActivityKind::ALL
                .iter()
                .position(|&k| k == act.kind)
                .unwrap_or(0);
            out[(n - first) as usize].by_kind[kind] += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2026-11-23 is a Monday.
        let monday = 20_780 * DAY;
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
        assert_eq!(week_start(monday + 5 * DAY + 3600, 0), monday);
        assert_eq!(week_start(monday, 0), monday);
        assert_eq!(week_start(monday - 1, 0), monday - 7 * DAY);
        // In UTC+2, Monday starts two hours earlier.
        assert_eq!(week_start(monday + 3600, 7200), monday - 7200);
        // Hostile times saturate instead of overflowing.
        let _ = week_start(i64::MAX, i32::MAX);
        let _ = week_start(i64::MIN, i32::MIN);
        let _ = civil_from_days(i64::MAX / DAY);
    }
}
