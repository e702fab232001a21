//! JSON in and out: `json::to_value` gives serde_json's tree, and every
//! hand-written reader (`crate::fields`: accounts, patches, queries, price
//! lists, rules, sync state) agrees with serde's derive, the reference.

use proptest::prelude::*;
use satchel_core::fields::ReadError;
use satchel_core::json::to_value;
use satchel_core::model::Account;
use satchel_core::outbox::{Change, Patch};
use satchel_core::price_lists::{PriceItem, PriceList};
use satchel_core::rules::Rule;
use satchel_core::search::{Query, Window};
use satchel_core::sync::{FeedState, SyncState};
use serde_json::Value;

fn generated() -> Vec<Account> {
    let spec = satchel_fixtures::OrgSpec {
        accounts: 200,
        seed: 7,
        ..satchel_fixtures::OrgSpec::default()
    };
    satchel_fixtures::accounts(&spec).collect()
}

#[test]
fn accounts_read_by_hand_are_what_serde_reads_and_refusals_agree() {
    for a in generated() {
        let tree = serde_json::to_value(&a).unwrap();
        assert_eq!(Account::from_json_value(&tree).unwrap(), a);
    }
    let mut typo = serde_json::to_value(&generated()[0]).unwrap();
    typo["nmae"] = "a typo".into();
    for bad in [typo, serde_json::json!({"id": 7}), serde_json::json!([])] {
        assert!(serde_json::from_value::<Account>(bad.clone()).is_err());
        let e = Account::from_json_value(&bad).unwrap_err();
        assert!(!e.to_string().is_empty(), "{bad}");
    }
}

/// A parsed tree keeps the last of a repeated member (as `JSON.parse`
/// does); serde_json's streaming reader refuses the document.
#[test]
fn a_repeated_member_counts_once_with_its_last_value() {
    let mut text = serde_json::to_string(&generated()[0]).unwrap();
    text.insert_str(1, r#""name":"first","#);
    text.insert_str(text.len() - 1, r#","name":"last""#);
    assert!(serde_json::from_str::<Account>(&text).is_err());
    let tree: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(Account::from_json_value(&tree).unwrap().name, "last");
}

#[test]
fn to_value_gives_what_serde_json_gives() {
    for a in generated() {
        assert_eq!(to_value(&a).unwrap(), serde_json::to_value(&a).unwrap());
    }
}

mod common;

/// How a reader's result compares with serde's derive on every variant of
/// `tree`: accepted by both (and equal), refused by both. Panics where the
/// reader accepts what the derive refuses, reads it differently, or refuses
/// what the derive accepts outside the allowed differences: an object
/// written as an array, and an unknown member inside an externally tagged
/// variant's object (`decimal`, `money`, `custom`), which serde ignores
/// there as those enums do not deny unknown fields.
fn against_the_derive<T>(
    tree: &Value,
    ours: impl Fn(&Value) -> Result<T, ReadError>,
) -> (usize, usize)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let (mut accepted, mut refused) = (0, 0);
    for v in common::json_variants(tree) {
        let theirs: Result<T, _> = serde_json::from_value(v.tree.clone());
        match (ours(&v.tree), &theirs) {
            (Ok(x), Ok(y)) => {
                assert_eq!(&x, y, "{}", v.tree);
                accepted += 1;
            }
            (Ok(_), Err(e)) => panic!(
                "accepted what serde refuses ({e}) at {}: {}",
                v.path, v.tree
            ),
            (Err(e), Ok(_)) => {
                let array = v.replaced_with.as_ref().is_some_and(Value::is_array);
                let in_variant = ["/decimal/", "/money/", "/custom/unknown_member"]
                    .iter()
                    .any(|p| v.path.contains(p));
                assert!(
                    array || in_variant,
                    "refused what serde accepts ({e}) at {}: {}",
                    v.path,
                    v.tree
                );
            }
            (Err(e), Err(_)) => {
                assert!(!e.path.is_empty() && !e.message.is_empty());
                refused += 1;
            }
        }
    }
    (accepted, refused)
}

/// The hand-written account reader (`Account::from_json_value`) against
/// serde's derive, the reference, on random accounts (every custom value
/// kind, contacts, deals, activities) and every variant of each made by
/// removing a member, giving it a value of another kind or adding an
/// unknown one: it accepts nothing the derive refuses and reads what the
/// derive reads. Allowed differences, where only serde accepts: an object
/// written as an array, and an unknown member inside a custom `decimal` or
/// `money` (serde ignores it there, as the enum does not deny unknown
/// fields; see `against_the_derive`).
fn check_against_the_derive(a: &Account) -> (usize, usize) {
    let tree = serde_json::to_value(a).unwrap();
    assert_eq!(&Account::from_json_value(&tree).unwrap(), a);
    against_the_derive(&tree, Account::from_json_value)
}

#[test]
fn the_account_reader_agrees_with_the_serde_derive_on_generated_accounts() {
    let (mut accepted, mut refused) = (0, 0);
    for a in generated().iter().take(40) {
        let (x, y) = check_against_the_derive(a);
        accepted += x;
        refused += y;
    }
    // The variants reach both outcomes many times over.
    assert!(
        accepted > 1000 && refused > 1000,
        "{accepted} accepted, {refused} refused"
    );
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        common::text().prop_map(Change::Name),
        common::text().prop_map(Change::Company),
        common::text().prop_map(Change::Email),
        common::text().prop_map(Change::Phone),
        common::text().prop_map(Change::Street),
        common::text().prop_map(Change::City),
        common::text().prop_map(Change::Postcode),
        common::text().prop_map(Change::Stage),
        any::<i64>().prop_map(Change::DealValue),
        proptest::option::of(any::<i64>()).prop_map(Change::NextVisit),
        proptest::option::of(any::<i64>()).prop_map(Change::LastContact),
        proptest::collection::vec(common::text(), 0..3).prop_map(Change::Tags),
        (common::text(), proptest::option::of(common::custom()))
            .prop_map(|(name, value)| Change::Custom { name, value }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn the_account_reader_agrees_with_the_serde_derive_on_random_accounts(a in common::account()) {
        check_against_the_derive(&a);
    }

    /// The hand-written patch reader (`Patch::from_json_value`) against
    /// serde's derive, as the account reader above.
    #[test]
    fn the_patch_reader_agrees_with_the_serde_derive(
        set in proptest::collection::vec(change(), 0..6),
        log in proptest::collection::vec(common::activity(), 0..3),
        delete in any::<bool>(),
    ) {
        let p = Patch { set, log, delete };
        let tree = serde_json::to_value(&p).unwrap();
        prop_assert_eq!(&Patch::from_json_value(&tree).unwrap(), &p);
        against_the_derive(&tree, Patch::from_json_value);
    }

    /// The hand-written sync state reader (`SyncState::from_json`) against
    /// serde's derive on random states and their variants. Both ignore
    /// members they do not know.
    #[test]
    fn the_sync_state_reader_agrees_with_the_serde_derive(
        profile in common::text(),
        feeds in proptest::collection::vec(feed_state(), 0..3),
    ) {
        let state = SyncState { profile, feeds };
        let tree = serde_json::to_value(&state).unwrap();
        let ours = |v: &Value| SyncState::from_json(&v.to_string()).map_err(|message| ReadError {
            path: "sync state".into(),
            message,
        });
        prop_assert_eq!(&ours(&tree).unwrap(), &state);
        let (accepted, _) = against_the_derive(&tree, ours);
        prop_assert!(accepted > 0);
    }
}

fn window() -> impl Strategy<Value = Window> {
    (any::<i64>(), any::<i64>()).prop_map(|(from, to)| Window { from, to })
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(common::text(), 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The hand-written query reader against serde's derive.
    #[test]
    fn the_query_reader_agrees_with_the_serde_derive(
        text in common::text(),
        lists in (strings(), strings(), strings(), strings()),
        windows in (proptest::option::of(window()), proptest::option::of(window())),
        limit in 0usize..1000,
    ) {
        let (territory, owner, stage, tag) = lists;
        let q = Query { text, territory, owner, stage, tag, next_visit: windows.0, last_contact: windows.1, limit };
        let tree = serde_json::to_value(&q).unwrap();
        prop_assert_eq!(&Query::from_json_value(&tree).unwrap(), &q);
        against_the_derive(&tree, Query::from_json_value);
    }

    /// The hand-written price list reader against serde's derive.
    #[test]
    fn the_price_list_reader_agrees_with_the_serde_derive(
        id in common::text(),
        territory_prefix in common::text(),
        currency in common::text(),
        items in proptest::collection::vec((common::text(), common::text(), any::<i64>()), 0..3),
        updated_at in any::<i64>(),
    ) {
        let items = items.into_iter().map(|(sku, name, unit_price)| PriceItem { sku, name, unit_price }).collect();
        let list = PriceList { id, territory_prefix, currency, items, updated_at };
        let tree = serde_json::to_value(&list).unwrap();
        prop_assert_eq!(&PriceList::from_json_value(&tree).unwrap(), &list);
        against_the_derive(&tree, PriceList::from_json_value);
    }
}

fn feed_state() -> impl Strategy<Value = FeedState> {
    (
        common::text(),
        proptest::collection::vec((common::text(), common::text()), 0..3),
        proptest::option::of(common::text()),
        proptest::option::of(common::text()),
        any::<u64>(),
        (
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i64>()),
        ),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(key, params, next_url, delta_url, page, (since, pass_max), (in_pass, complete))| {
                FeedState {
                    key,
                    params,
                    next_url,
                    delta_url,
                    page,
                    since,
                    pass_max,
                    in_pass,
                    complete,
                }
            },
        )
}

/// The hand-written rule reader against serde's derive, on every rule of
/// the shipped rule sets plus one with every condition, and their variants.
#[test]
fn the_rule_reader_agrees_with_the_serde_derive() {
    let ours = |v: &Value| satchel_core::fields::read::<Rule>(v, "rule");
    let mut rules: Vec<Value> = vec![serde_json::json!({
        "name": "all", "weight": 5, "half_life_days": 7, "quota": 3,
        "when": {"owner_is_me": true, "territory_is_mine": false, "stage_in": ["won", "lost"],
                 "deal_value_above": -5, "next_visit_within_days": 3,
                 "last_contact_within_days": 9, "tag": "vip", "pinned": true, "used": false}
    })];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/rules");
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let set: Value = serde_json::from_str(&text).unwrap();
        rules.extend(set["rules"].as_array().unwrap().iter().cloned());
    }
    assert!(rules.len() > 5);
    let (mut accepted, mut refused) = (0, 0);
    for rule in &rules {
        let derived: Rule = serde_json::from_value(rule.clone()).unwrap();
        assert_eq!(ours(rule).unwrap(), derived);
        let (a, r) = against_the_derive(rule, ours);
        accepted += a;
        refused += r;
    }
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

/// Keys and tokens from a small alphabet: escapes (`~0`, `~1`, a lone `~`),
/// indices with signs and leading zeros, keys that hold `/` and `~`.
fn pointer_token() -> impl Strategy<Value = String> {
    "(~0|~1|~|0|1|2|01|\\+1|a|/|é){0,3}"
}

/// A small tree whose keys are such tokens, unescaped or not.
fn pointer_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<i32>().prop_map(Value::from)];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("(~|0|1|a|/|é){0,3}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn json_pointers_find_what_serde_json_finds(
        tree in pointer_tree(),
        tokens in proptest::collection::vec(pointer_token(), 0..4),
        slash in any::<bool>(),
    ) {
        let ptr: String = tokens.iter().map(|t| format!("/{t}")).collect();
        // Also a pointer without its leading slash (refused by both).
        let ptr = if slash { ptr } else { ptr.trim_start_matches('/').to_string() };
        prop_assert_eq!(satchel_core::json::pointer(&tree, &ptr), tree.pointer(&ptr), "{}", ptr);
    }
}

#[test]
fn json_pointers_reach_escaped_keys_and_refuse_signed_indices() {
    let v: Value = serde_json::json!({"a/b": {"~": [10, 20]}, "": 1, "~1": 2, "/": 3});
    for ptr in [
        "/a~1b/~0/1",
        "/a~1b/~0/01",
        "/a~1b/~0/+1",
        "/",
        "",
        "a",
        "/a~1b/~0/2",
        "/~01",
        "/~1",
    ] {
        assert_eq!(
            satchel_core::json::pointer(&v, ptr),
            v.pointer(ptr),
            "{ptr}"
        );
    }
    assert_eq!(
        satchel_core::json::pointer(&v, "/a~1b/~0/1"),
        Some(&Value::from(20))
    );
    // `~01` is the key `~1`: `~1` is undone first.
    assert_eq!(
        satchel_core::json::pointer(&v, "/~01"),
        Some(&Value::from(2))
    );
}
