//! Rule sets: what makes a record worth keeping on the device, as data.
//!
//! Owns [`RankRules`] (parsed from JSON and checked), its conditions and the
//! pushdown hint ([`RankRules::pushdown`]) that tells a backend which records
//! could matter at all. Scoring lives in [`crate::score`], the keep/evict
//! decision in [`crate::plan`].
//!
//! Invariant: a `RankRules` value is valid: at most [`MAX_RULES`] rules with
//! unique names, every rule has at least one condition, weights and quotas in
//! range. A rule set that fails [`RankRules::from_json`] is never half-applied:
//! the caller keeps the previous one.
//!
//! The JSON format (documented in the README, examples in `fixtures/rules/`):
//!
//! ```json
//! {"rules": [
//!   {"name": "visit soon", "weight": 60, "when": {"next_visit_within_days": 14}, "half_life_days": 7},
//!   {"name": "mine", "weight": 30, "when": {"owner_is_me": true}},
//!   {"name": "vip", "weight": 10, "when": {"tag": "vip"}, "quota": 500}
//! ]}
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::fields::{self, Fields, Part};

/// Most rules a set may hold (a fixed capacity: scoring walks them per record).
pub const MAX_RULES: usize = 32;
/// Largest weight of one rule.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// A validated rule set.
///
/// # Examples
/// ```
/// use satchel_core::rules::RankRules;
/// let rules = RankRules::from_json(r#"{"rules": [
///     {"name": "mine", "weight": 30, "when": {"owner_is_me": true}}
/// ]}"#).unwrap();
/// assert_eq!(rules.rules().len(), 1);
/// let err = RankRules::from_json(r#"{"rules": [{"name": "x", "weight": 1, "when": {"colour": "red"}}]}"#).unwrap_err();
/// assert!(err.to_string().contains("rule `x`"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RankRules {
    rules: heapless::Vec<Rule, MAX_RULES>,
}

/// One rule: when its conditions all hold, a record earns its weight (scaled
/// by a decay where the rule has a half-life).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, shown by `explain`.
    pub name: String,
    /// Points earned when the conditions hold (0 to 1,000,000).
    pub weight: u32,
    /// Conditions, all of which must hold.
    pub when: When,
    /// Halves the points for every this many days of distance (next visit
    /// ahead, last contact behind, usage age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_days: Option<u32>,
    /// At most this many records earn this rule's points (the best by the
    /// rest of their score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u32>,
}

/// The conditions of a rule. Absent conditions do not constrain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The record's owner is (or is not) the device's rep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_is_me: Option<bool>,
    /// The record's territory is (or is not) one of the rep's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory_is_mine: Option<bool>,
    /// The stage is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_in: Option<Vec<String>>,
    /// The deal value (minor units) is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_value_above: Option<i64>,
    /// The next visit is between now and this many days ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_visit_within_days: Option<u32>,
    /// The last contact was within this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_contact_within_days: Option<u32>,
    /// The record has this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The rep pinned the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    /// The rep used the record on this device (opens, edits, searches that
    /// led to it), with the rule's half-life as the usage decay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<bool>,
}

impl When {
    fn is_empty(&self) -> bool {
        *self == When::default()
    }
}

/// A rule set that cannot be used; names the rule and says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError {
    /// The rule's name, or its position when it has none.
    pub rule: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "rule `{r}`: {}", self.problem),
            None => write!(f, "rule set: {}", self.problem),
        }
    }
}

fn err(rule: Option<&str>, problem: impl ToString) -> RulesError {
    RulesError {
        rule: rule.map(String::from),
        problem: problem.to_string(),
    }
}

impl RankRules {
    /// Parses and checks a rule set.
    pub fn from_json(text: &str) -> Result<RankRules, RulesError> {
        let doc: serde_json::Value =
            // from_slice like every JSON read in core: one serde_json reader
            // type in the wasm module.
            serde_json::from_slice(text.as_bytes()).map_err(|e| err(None, format!("not JSON: {e}")))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| err(None, "expected an object with a `rules` list"))?;
        if let Some(k) = obj.keys().find(|k| k.as_str() != "rules") {
            return Err(err(
                None,
                format!("unknown field `{k}` (only `rules` is allowed)"),
            ));
        }
        let list = obj
            .get("rules")
            .and_then(|r| r.as_array())
            .ok_or_else(|| err(None, "expected a `rules` list"))?;
        let mut rules = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            // Name the rule in errors even when the rest of it is wrong.
            let label = v
                .get("name")
                .and_then(|n| n.as_str())
                .map_or_else(|| format!("#{}", i + 1), String::from);
            // From the borrowed value: the `&Value` deserializer that sync's
            // mapping uses too, no clone.
            let rule: Rule = fields::read(v, "rule").map_err(|e| err(Some(&label), e))?;
            rules.push(rule);
        }
        RankRules::new(rules)
    }

    /// Checks a list of rules.
    pub fn new(list: Vec<Rule>) -> Result<RankRules, RulesError> {
        if list.len() > MAX_RULES {
            return Err(err(
                None,
                format!("{} rules, at most {MAX_RULES} are allowed", list.len()),
            ));
        }
        let mut rules = heapless::Vec::new();
        for rule in list {
            let name = Some(rule.name.as_str());
            if rule.name.is_empty() {
                return Err(err(None, "a rule has an empty name"));
            }
            if rules.iter().any(|r: &Rule| r.name == rule.name) {
                return Err(err(name, "the name is used twice"));
            }
            if rule.weight > MAX_WEIGHT {
                return Err(err(
                    name,
                    format!("weight {} is above {MAX_WEIGHT}", rule.weight),
                ));
            }
            if rule.when.is_empty() {
                return Err(err(name, "`when` has no condition"));
            }
            if rule.half_life_days == Some(0) {
                return Err(err(name, "`half_life_days` must be at least 1"));
            }
            if rule.quota == Some(0) {
                return Err(err(
                    name,
                    "`quota` must be at least 1 (remove the rule to disable it)",
                ));
            }
            if matches!(&rule.when.stage_in, Some(s) if s.is_empty()) {
                return Err(err(name, "`stage_in` is empty"));
            }
            // Capacity was checked above.
            let _ = rules.push(rule);
        }
        Ok(RankRules { rules })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule set as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.rules())
            .map_or_else(|_| String::new(), |r| format!("{{\"rules\":{r}}}"))
    }

    /// What a backend could filter on: a record that matches none of these
    /// alternatives earns no points, so a sync may skip it when the device is
    /// short of room. Rules on pinned or used records are skipped (those
    /// records are already on the device); a rule a backend cannot express
    /// makes the hint [`Pushdown::Everything`].
    pub fn pushdown(&self, me: &str, territories: &[String], now: i64) -> Pushdown {
        let mut any = Vec::new();
        for rule in self.rules() {
            let w = &rule.when;
            if w.pinned.is_some() || w.used.is_some() {
                continue;
            }
            let mut all = Vec::new();
            if let Some(t) = &w.tag {
                all.push(Filter::HasTag(t.clone()));
            }
            match w.owner_is_me {
                Some(true) => all.push(Filter::OwnerIn(alloc::vec![me.into()])),
                Some(false) => return Pushdown::Everything,
                None => {}
            }
            match w.territory_is_mine {
                Some(true) => all.push(Filter::TerritoryIn(territories.to_vec())),
                Some(false) => return Pushdown::Everything,
                None => {}
            }
            if let Some(s) = &w.stage_in {
                all.push(Filter::StageIn(s.clone()));
            }
            if let Some(v) = w.deal_value_above {
                all.push(Filter::DealValueAbove(v));
            }
            if let Some(d) = w.next_visit_within_days {
                all.push(Filter::NextVisitBetween(
                    now,
                    now.saturating_add(i64::from(d) * DAY),
                ));
            }
            if let Some(d) = w.last_contact_within_days {
                all.push(Filter::LastContactSince(
                    now.saturating_sub(i64::from(d) * DAY),
                ));
            }
            any.push(all);
        }
        Pushdown::AnyOf(any)
    }
}

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// A backend-neutral description of the records worth fetching.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pushdown {
    /// Every record may matter: no filter.
    Everything,
    /// A record matters if it passes every filter of at least one list.
    AnyOf(Vec<Vec<Filter>>),
}

/// One filter a backend could apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Owner is one of these.
    OwnerIn(Vec<String>),
    /// Territory is one of these.
    TerritoryIn(Vec<String>),
    /// Stage is one of these.
    StageIn(Vec<String>),
    /// Deal value above this (minor units).
    DealValueAbove(i64),
    /// Next visit in `[from, to]` (Unix seconds).
    NextVisitBetween(i64, i64),
    /// Last contact at or after this (Unix seconds).
    LastContactSince(i64),
    /// Has this tag.
    HasTag(String),
}

// Rules are read by hand (crate::fields, for the wasm module's size); the
// serde derives write them and are the reference the tests hold these to.

impl Part for Rule {
    const KEYS: &'static [&'static str] = &["name", "weight", "when", "half_life_days", "quota"];

    fn read(f: &Fields<'_>) -> Rule {
        let u32_max = u64::from(u32::MAX);
        let opt_u32 = |key| f.given(key).then(|| f.number(key, 0, u32_max) as u32);
        Rule {
            name: f.string("name"),
            weight: f.require("weight").number("weight", 0, u32_max) as u32,
            when: f.required::<When>("when"),
            half_life_days: opt_u32("half_life_days"),
            quota: opt_u32("quota"),
        }
    }
}

impl Part for When {
    const KEYS: &'static [&'static str] = &[
        "owner_is_me",
        "territory_is_mine",
        "stage_in",
        "deal_value_above",
        "next_visit_within_days",
        "last_contact_within_days",
        "tag",
        "pinned",
        "used",
    ];

    fn read(f: &Fields<'_>) -> When {
        let u32_max = u64::from(u32::MAX);
        let opt_flag = |key| f.given(key).then(|| f.flag(key));
        let opt_u32 = |key| f.given(key).then(|| f.number(key, 0, u32_max) as u32);
        When {
            owner_is_me: opt_flag("owner_is_me"),
            territory_is_mine: opt_flag("territory_is_mine"),
            stage_in: f.given("stage_in").then(|| f.string_list("stage_in", true)),
            deal_value_above: f.opt_int("deal_value_above"),
            next_visit_within_days: opt_u32("next_visit_within_days"),
            last_contact_within_days: opt_u32("last_contact_within_days"),
            tag: f.option("tag"),
            pinned: opt_flag("pinned"),
            used: opt_flag("used"),
        }
    }
}
