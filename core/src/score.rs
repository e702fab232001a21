//! Scoring: how many points a record earns under a rule set, and why.
//!
//! Owns [`RankContext`] (who and when the device is), [`Candidate`] (a record
//! plus what only the device knows: pinned, pending edits, usage) and the
//! arithmetic: integer points, decays in 16.16 fixed point, so a score is the
//! same on every machine and in wasm.
//!
//! Invariant: [`score`] and [`explain`] agree: the explanation's total is the
//! score (quotas aside, which the planner applies).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::model::Account;
use crate::rules::{RankRules, Rule, DAY};

/// Who the device belongs to, and when it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RankContext {
    /// Now (Unix seconds).
    pub now: i64,
    /// The rep's owner id.
    pub me: String,
    /// The rep's territories.
    pub territories: Vec<String>,
}

/// A record as the ranker sees it.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The record.
    pub account: &'a Account,
    /// The rep pinned it.
    pub pinned: bool,
    /// It has local edits not yet acknowledged by the backend.
    pub dirty: bool,
    /// Decayed use count on this device.
    pub usage: u16,
}

/// 1.0 in 16.16 fixed point.
const ONE: u64 = 1 << 16;

/// `a × b` where `b` is 16.16 fixed point.
fn mul_q16(a: u64, b: u64) -> u64 {
    (a * b) >> 16
}

/// `2^-t` for `t` = 0, 1/16, …, 1 in 16.16 fixed point (rounded).
const EXP2_NEG: [u64; 17] = [
    65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341, 44376, 42495, 40693, 38968,
    37316, 35734, 34219, 32768,
];

/// `0.5^(distance / half_life)` in 16.16 fixed point; 1.0 without a half-life.
fn decay(distance: i64, half_life_days: Option<u32>) -> u64 {
    let Some(h) = half_life_days else { return ONE };
    let h = i128::from(h) * i128::from(DAY);
    let x = (i128::from(distance.max(0)) * i128::from(ONE as i64) / h) as u64; // halvings, 16.16
    let (whole, frac) = (x >> 16, x & 0xFFFF);
    if whole >= 48 {
        return 0;
    }
    let i = (frac >> 12) as usize; // sixteenths
    let rem = frac & 0xFFF;
    let (a, b) = (EXP2_NEG[i], EXP2_NEG[i + 1]);
    let f = a - (((a - b) * rem) >> 12);
    f >> whole
}

/// How one rule judged one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleVerdict {
    /// The rule's name.
    pub rule: String,
    /// Points earned (0 when a condition failed).
    pub points: u32,
    /// Why: the failing condition, or what earned the points.
    pub why: String,
}

/// Text only when explaining: scoring a million records must not format.
fn said(explain: bool, text: impl FnOnce() -> String) -> String {
    if explain {
        text()
    } else {
        String::new()
    }
}

/// A span of seconds shown in days to one decimal ("2.5"), rounded half away
/// from zero. Integer arithmetic: float formatting would add about 13 KB to
/// the wasm module for four messages.
struct Days(i64);

impl core::fmt::Display for Days {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // In u64, whole days and the rounded tenths of the rest (which may
        // carry into the days): formatting an i128 is more code than this.
        let (secs, day) = (self.0.unsigned_abs(), DAY as u64);
        let tenths = secs / day * 10 + (secs % day * 10 + day / 2) / day;
        let sign = if self.0 < 0 && tenths != 0 { "-" } else { "" };
        write!(f, "{sign}{}.{}", tenths / 10, tenths % 10)
    }
}

fn days(secs: i64) -> Days {
    Days(secs)
}

/// Judges one rule: `Ok((points, why))` when every condition holds, otherwise
/// `Err(the first failing condition)`. The texts are empty unless `explain`.
fn judge(
    rule: &Rule,
    c: &Candidate<'_>,
    ctx: &RankContext,
    explain: bool,
) -> Result<(u32, String), String> {
    let w = &rule.when;
    let a = c.account;
    let mut factor = ONE;
    let mut why: Vec<String> = Vec::new();
    let mut note = |text: &dyn Fn() -> String| {
        if explain {
            why.push(text());
        }
    };
    if let Some(want) = w.owner_is_me {
        if (a.owner == ctx.me) != want {
            return Err(said(explain, || format!("owner is {:?}", a.owner)));
        }
        note(&|| {
            String::from(if want {
                "owner is me"
            } else {
                "owner is not me"
            })
        });
    }
    if let Some(want) = w.territory_is_mine {
        if ctx.territories.contains(&a.territory) != want {
            return Err(said(explain, || format!("territory is {:?}", a.territory)));
        }
        note(&|| format!("territory {}", a.territory));
    }
    if let Some(stages) = &w.stage_in {
        if !stages.contains(&a.stage) {
            return Err(said(explain, || format!("stage is {:?}", a.stage)));
        }
        note(&|| format!("stage {}", a.stage));
    }
    if let Some(min) = w.deal_value_above {
        if a.deal_value <= min {
            return Err(said(explain, || {
                format!("deal value {} is not above {min}", a.deal_value)
            }));
        }
        note(&|| format!("deal value {}", a.deal_value));
    }
    if let Some(within) = w.next_visit_within_days {
        match a.next_visit.map(|t| t.saturating_sub(ctx.now)) {
            Some(d) if (0..=i64::from(within) * DAY).contains(&d) => {
                factor = mul_q16(factor, decay(d, rule.half_life_days));
                note(&|| format!("visit in {} days", days(d)));
            }
            Some(d) => {
                return Err(said(explain, || {
                    format!("next visit is {} days away", days(d))
                }))
            }
            None => return Err(said(explain, || String::from("no visit planned"))),
        }
    }
    if let Some(within) = w.last_contact_within_days {
        match a.last_contact.map(|t| ctx.now.saturating_sub(t)) {
            Some(d) if (0..=i64::from(within) * DAY).contains(&d) => {
                factor = mul_q16(factor, decay(d, rule.half_life_days));
                note(&|| format!("contacted {} days ago", days(d)));
            }
            Some(d) => {
                return Err(said(explain, || {
                    format!("last contact {} days ago", days(d))
                }))
            }
            None => return Err(said(explain, || String::from("never contacted"))),
        }
    }
    if let Some(tag) = &w.tag {
        if !a.tags.contains(tag) {
            return Err(said(explain, || format!("no tag {tag:?}")));
        }
        note(&|| format!("tag {tag}"));
    }
    if let Some(want) = w.pinned {
        if c.pinned != want {
            return Err(said(explain, || {
                String::from(if c.pinned { "pinned" } else { "not pinned" })
            }));
        }
        note(&|| String::from(if want { "pinned" } else { "not pinned" }));
    }
    if let Some(want) = w.used {
        if (c.usage > 0) != want {
            let text = if c.usage > 0 {
                "used on this device"
            } else {
                "not used on this device"
            };
            return Err(said(explain, || String::from(text)));
        }
        if want {
            // Saturating in the sketch's units (16 a use): one fresh use earns
            // half, three earn three quarters, and an old use fades.
            let u = u64::from(c.usage);
            factor = mul_q16(factor, u * ONE / (u + 16));
            note(&|| format!("used (decayed count {})", c.usage));
        }
    }
    let points = mul_q16(u64::from(rule.weight), factor) as u32;
    Ok((points, why.join(", ")))
}

/// Points per rule (before quotas), in rule order.
pub fn rule_points(
    rules: &RankRules,
    c: &Candidate<'_>,
    ctx: &RankContext,
) -> heapless::Vec<u32, { crate::rules::MAX_RULES }> {
    rules
        .rules()
        .iter()
        .map(|r| judge(r, c, ctx, false).map_or(0, |(p, _)| p))
        .collect()
}

/// The record's score: the sum of its rules' points (before quotas).
pub fn score(rules: &RankRules, c: &Candidate<'_>, ctx: &RankContext) -> u32 {
    rule_points(rules, c, ctx)
        .iter()
        .fold(0u32, |s, &p| s.saturating_add(p))
}

/// Every rule's verdict on the record.
pub fn explain(rules: &RankRules, c: &Candidate<'_>, ctx: &RankContext) -> Vec<RuleVerdict> {
    rules
        .rules()
        .iter()
        .map(|r| match judge(r, c, ctx, true) {
            Ok((points, why)) => RuleVerdict {
                rule: r.name.clone(),
                points,
                why,
            },
            Err(why) => RuleVerdict {
                rule: r.name.clone(),
                points: 0,
                why: format!("no: {why}"),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_show_one_decimal_like_float_formatting() {
        for secs in [
            0,
            1,
            DAY / 20,
            DAY / 2,
            DAY,
            3 * DAY + DAY / 4,
            -DAY / 2,
            -3 * DAY / 100,
            i64::MAX,
            i64::MIN,
        ] {
            let float = secs as f64 / DAY as f64;
            let want = format!("{:.1}", float);
            let got = format!("{}", Days(secs));
            // Float formatting rounds a tie to even and can print "-0.0";
            // away from those it must agree to the digit.
            let off = (float * 10.0).fract().abs();
            if (off - 0.5).abs() > 1e-9 && want != "-0.0" {
                assert_eq!(got, want, "{secs}");
            }
        }
        assert_eq!(Days(DAY / 20).to_string(), "0.1");
        assert_eq!(Days(-DAY / 2).to_string(), "-0.5");
        assert_eq!(Days(-1).to_string(), "0.0");
    }

    #[test]
    fn decay_halves_per_half_life() {
        assert_eq!(decay(0, Some(7)), ONE);
        assert_eq!(decay(7 * DAY, Some(7)), ONE / 2);
        assert_eq!(decay(14 * DAY, Some(7)), ONE / 4);
        let mid = decay(7 * DAY / 2, Some(7)); // 2^-0.5 ≈ 0.7071
        assert!((46300..=46400).contains(&mid), "{mid}");
        assert_eq!(decay(1000 * DAY, Some(1)), 0);
        assert_eq!(decay(12345, None), ONE);
        // Monotonic.
        let mut last = ONE + 1;
        for d in (0..30 * DAY).step_by(3600) {
            let f = decay(d, Some(5));
            assert!(f <= last);
            last = f;
        }
    }
}
