//! Shared test data: random accounts that stress the codec (Unicode, empty and
//! odd fields, repeated ids so that upserts replace).
#![allow(dead_code)]

use proptest::prelude::*;
use satchel_core::model::{
    Account, Activity, ActivityKind, Address, Contact, CustomValue, Deal, Geo,
};

/// Text that mixes ASCII, Nordic/German diacritics, CJK, HTML and controls.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z ]{0,12}",
        1 => "[åäöÅÄÖüßé深圳华强电子 <>&\"'\\x00-\\x1f]{0,10}",
        1 => Just(String::new()),
    ]
}

/// A small pool of ids so that random operations hit existing records.
pub fn id() -> impl Strategy<Value = String> {
    (0u32..40).prop_map(|i| format!("0015g{:08}", i * 7919 % 1000))
}

pub fn activity() -> impl Strategy<Value = Activity> {
    (0u8..6, any::<i64>(), "rep-[0-9]{2}", text()).prop_map(|(k, at, by, text)| Activity {
        kind: ActivityKind::from_code(k).unwrap(),
        at,
        by,
        text,
    })
}

pub fn custom() -> impl Strategy<Value = CustomValue> {
    prop_oneof![
        text().prop_map(CustomValue::Text),
        any::<i64>().prop_map(CustomValue::Int),
        (any::<i64>(), 0u8..6).prop_map(|(value, scale)| CustomValue::Decimal { value, scale }),
        (any::<i64>(), "[A-Z]{3}")
            .prop_map(|(minor, currency)| CustomValue::Money { minor, currency }),
        any::<i64>().prop_map(CustomValue::Date),
        any::<bool>().prop_map(CustomValue::Bool),
        "(smb|mid|enterprise)".prop_map(CustomValue::Enum),
    ]
}

pub fn contact() -> impl Strategy<Value = Contact> {
    (
        "c-[0-9]{1,4}",
        text(),
        "(buyer|CFO|)",
        text(),
        "[0-9 +-]{0,12}",
    )
        .prop_map(|(id, name, role, email, phone)| Contact {
            id,
            name,
            role,
            email,
            phone,
        })
}

pub fn deal() -> impl Strategy<Value = Deal> {
    (
        "d-[0-9]{1,4}",
        text(),
        "(qualified|proposal|won)",
        any::<i64>(),
        "(SEK|EUR)",
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(id, title, stage, value, currency, close_date)| Deal {
            id,
            title,
            stage,
            value,
            currency,
            close_date,
        })
}

/// Mostly none, so that blocks with and without the related section occur.
fn some_of<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(item, 1..4),
    ]
}

pub fn account() -> impl Strategy<Value = Account> {
    let who = (id(), text(), text(), text(), "[0-9 +-]{0,12}");
    let address = (
        text(),
        "(Stockholm|Berlin|深圳|London)",
        "[0-9]{5}",
        "(SE|DE|CN|GB)",
    );
    let sales = (
        proptest::option::of((any::<i32>(), any::<i32>())),
        "(SE-N-0[1-3]|DE-BY-01)",
        "rep-[0-9]{2}",
        "(lead|won|lost)",
        any::<i64>(),
        "(SEK|EUR)",
    );
    let times = (
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i64>()),
        any::<i64>(),
        any::<u64>(),
    );
    let lists = (
        proptest::collection::vec("(vip|key-account|reseller)", 0..3),
        proptest::collection::btree_map("(segment|employees|rating)", custom(), 0..3),
        proptest::collection::vec(activity(), 0..4),
        some_of(contact()),
        some_of(deal()),
    );
    (who, address, sales, times, lists).prop_map(
        |(
            (id, name, company, email, phone),
            (street, city, postcode, country),
            (geo, territory, owner, stage, deal_value, currency),
            (last_contact, next_visit, updated_at, version),
            (tags, custom, activities, contacts, deals),
        )| Account {
            id,
            name,
            company,
            email,
            phone,
            address: Address {
                street,
                city,
                postcode,
                country,
            },
            geo: geo.map(|(lat_e6, lon_e6)| Geo { lat_e6, lon_e6 }),
            territory,
            owner,
            stage,
            deal_value,
            currency,
            last_contact,
            next_visit,
            updated_at,
            version,
            tags,
            custom,
            activities,
            contacts,
            deals,
        },
    )
}

/// One change made to a JSON document: a member removed, replaced by a
/// value of another kind, or an unknown member added (its path then ends
/// in `/unknown_member`), at any depth.
pub struct Variant {
    pub tree: serde_json::Value,
    pub replaced_with: Option<serde_json::Value>,
    pub path: String,
}

/// Every variant of `v` with one change at or under it.
pub fn json_variants(v: &serde_json::Value) -> Vec<Variant> {
    let mut out = Vec::new();
    variants_at(v, "", &mut out);
    out
}

fn variants_at(v: &serde_json::Value, at: &str, out: &mut Vec<Variant>) {
    use serde_json::{json, Value};
    let replacements = [
        Value::Null,
        json!(7),
        json!(-1),
        json!(2.5),
        json!(1u64 << 63),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
        json!([["a", "b"]]),
        json!(["a"]),
    ];
    let mut wrap = |tree: Value, replaced_with: Option<Value>, path: String| {
        out.push(Variant {
            tree,
            replaced_with,
            path,
        })
    };
    match v {
        Value::Object(map) => {
            let mut extra = map.clone();
            extra.insert("unknown_member".into(), json!(1));
            wrap(Value::Object(extra), None, format!("{at}/unknown_member"));
            for (k, child) in map {
                let here = format!("{at}/{k}");
                let mut gone = map.clone();
                gone.remove(k);
                wrap(Value::Object(gone), None, here.clone());
                for r in &replacements {
                    let mut m = map.clone();
                    m.insert(k.clone(), r.clone());
                    wrap(Value::Object(m), Some(r.clone()), here.clone());
                }
                for d in json_variants(child) {
                    let mut m = map.clone();
                    m.insert(k.clone(), d.tree);
                    wrap(
                        Value::Object(m),
                        d.replaced_with,
                        format!("{here}{}", d.path),
                    );
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                for d in json_variants(child) {
                    let mut a = items.clone();
                    a[i] = d.tree;
                    wrap(
                        Value::Array(a),
                        d.replaced_with,
                        format!("{at}/{i}{}", d.path),
                    );
                }
            }
        }
        _ => {}
    }
}
