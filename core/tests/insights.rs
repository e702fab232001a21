//! Insights agree with a straightforward reference computed over the NDJSON
//! lines themselves, for generated orgs, reps, times and UTC offsets.

use std::collections::BTreeMap;

use proptest::prelude::*;
use satchel_core::budget::Budget;
use satchel_core::insights::{trend, InsightsContext};
use satchel_core::model::{Account, ActivityKind};
use satchel_core::store::Store;
use satchel_fixtures::OrgSpec;

const DAY: i64 = 86_400;

/// Days in `month` of `year`, the schoolbook way.
fn month_days(year: i64, month: u32) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month) of a day count since 1970, by walking the calendar.
fn naive_month(mut days: i64) -> (i64, u32) {
    let (mut y, mut m) = (1970i64, 1u32);
    while days < 0 {
        m = if m == 1 { 12 } else { m - 1 };
        if m == 12 {
            y -= 1;
        }
        days += month_days(y, m);
    }
    while days >= month_days(y, m) {
        days -= month_days(y, m);
        m = if m == 12 { 1 } else { m + 1 };
        if m == 1 {
            y += 1;
        }
    }
    (y, m)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn insights_match_a_reference(
        seed in 0u64..1000,
        n in 50u64..400,
        rep_pick in 0usize..1000,
        shift_days in -60i64..60,
        offset_hours in -11i32..14,
    ) {
        let spec = OrgSpec::new(n, seed);
        let lines: Vec<String> = satchel_fixtures::accounts(&spec)
            .map(|a| serde_json::to_string(&a).unwrap())
            .collect();
        let accounts: Vec<Account> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let me = accounts[rep_pick % accounts.len()].owner.clone();
        let now = spec.now + shift_days * DAY;
        let offset = offset_hours * 3600;
        let ctx = InsightsContext { now, me: me.clone(), utc_offset_seconds: offset, overdue_limit: 5 };
        let mut store = Store::new(Budget::parse("16MiB").unwrap());
        store.upsert_batch(accounts.clone()).unwrap();
        let got = store.insights(&ctx);

        // Reference: local midnight of the Monday of this week.
        let local_day = (now + i64::from(offset)).div_euclid(DAY);
        let weekday = (local_day + 3).rem_euclid(7); // 1970-01-01 was a Thursday
        let this_start = (local_day - weekday) * DAY - i64::from(offset);
        let last_start = this_start - 7 * DAY;
        prop_assert_eq!(got.week_start, this_start);
        let count = |kind: ActivityKind, from: i64, to: i64| -> u32 {
            accounts.iter().flat_map(|a| &a.activities)
                .filter(|x| x.by == me && x.kind == kind && x.at >= from && x.at < to)
                .count() as u32
        };
        prop_assert_eq!(got.this_week.visits, count(ActivityKind::Visit, this_start, now + 1));
        prop_assert_eq!(got.this_week.calls, count(ActivityKind::Call, this_start, now + 1));
        prop_assert_eq!(got.last_week.visits, count(ActivityKind::Visit, last_start, this_start));
        prop_assert_eq!(got.last_week.calls, count(ActivityKind::Call, last_start, this_start));
        prop_assert_eq!(got.last_week.meetings, count(ActivityKind::Meeting, last_start, this_start));

        let mut overdue: Vec<(i64, String)> = accounts.iter()
            .filter(|a| a.owner == me)
            .filter_map(|a| {
                let due = a.next_visit?;
                let visited = a.activities.iter().any(|x| x.kind == ActivityKind::Visit && x.at >= due);
                (due < now && !visited).then(|| (due, a.id.clone()))
            })
            .collect();
        overdue.sort();
        prop_assert_eq!(got.overdue_total as usize, overdue.len());
        let listed: Vec<(i64, String)> = got.overdue.iter().map(|o| (o.next_visit, o.id.clone())).collect();
        prop_assert_eq!(listed, overdue.into_iter().take(5).collect::<Vec<_>>());

        let mut pipeline: BTreeMap<(String, String), (u32, i64)> = BTreeMap::new();
        for a in accounts.iter().filter(|a| a.owner == me) {
            let e = pipeline.entry((a.stage.clone(), a.currency.clone())).or_default();
            e.0 += 1;
            e.1 += a.deal_value;
        }
        let got_pipeline: BTreeMap<(String, String), (u32, i64)> = got.pipeline.iter()
            .map(|s| ((s.stage.clone(), s.currency.clone()), (s.accounts, s.value_minor)))
            .collect();
        prop_assert_eq!(got_pipeline, pipeline);
        prop_assert_eq!(got.records as usize, accounts.len());

        // An account's activity by month.
        let a = &accounts[seed as usize % accounts.len()];
        let months = trend(a, 12, now, offset);
        prop_assert_eq!(months.len(), 12);
        let (ny, nm) = naive_month((now + i64::from(offset)).div_euclid(DAY));
        prop_assert_eq!((i64::from(months[11].year), u32::from(months[11].month)), (ny, nm));
        for m in &months {
            for (k, kind) in ActivityKind::ALL.iter().enumerate() {
                let want = a.activities.iter().filter(|x| {
                    x.kind == *kind
                        && naive_month((x.at + i64::from(offset)).div_euclid(DAY))
                            == (i64::from(m.year), u32::from(m.month))
                }).count() as u32;
                prop_assert_eq!(m.by_kind[k], want);
            }
        }
    }
}

#[test]
fn top_accounts_follow_the_last_plan() {
    let accounts: Vec<Account> = satchel_fixtures::accounts(&OrgSpec::new(300, 4)).collect();
    let me = accounts[0].owner.clone();
    let mut store = Store::new(Budget::parse("16MiB").unwrap());
    store.upsert_batch(accounts.clone()).unwrap();
    let rules = satchel_core::rules::RankRules::from_json(
        r#"{"rules": [{"name": "big", "weight": 10, "when": {"deal_value_above": 100000}}]}"#,
    )
    .unwrap();
    let rank = satchel_core::score::RankContext {
        now: OrgSpec::new(1, 1).now,
        me: me.clone(),
        territories: vec![],
    };
    store.retain(&rules, &rank, 0, None).unwrap();
    let ctx = InsightsContext {
        now: rank.now,
        me: me.clone(),
        utc_offset_seconds: 0,
        overdue_limit: 5,
    };
    let got = store.insights(&ctx);
    assert!(!got.top.is_empty());
    let mine: Vec<&Account> = accounts.iter().filter(|a| a.owner == me).collect();
    assert_eq!(got.top.len(), mine.len().min(10));
    let best = mine.iter().filter(|a| a.deal_value > 100_000).count();
    for (i, t) in got.top.iter().enumerate() {
        let a = mine.iter().find(|a| a.id == t.id).expect("one of mine");
        assert_eq!(a.deal_value > 100_000, i < best, "{i}: {t:?}");
    }
}
