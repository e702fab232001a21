//! Adapter profiles without a network: the README's worked example maps a
//! page and writes an edit back; bad profiles name the field; built-ins load.

mod common;

use satchel_core::model::Account;
use satchel_core::outbox::Change;
use satchel_core::sync::mapping::{mapped_update, read_item, Item};
use satchel_core::sync::profile::{builtin, Profile, BUILTIN};

/// The profile of the README's "Adapter profiles" worked example, verbatim.
const HUBSPOT_LIKE: &str = r#"{
  "name": "hubspot-companies",
  "base_path": "/crm/v3/objects/companies",
  "auth": {"style": "bearer"},
  "paging": {"style": "cursor", "items": "/results", "limit_param": "limit", "page_size": 100,
             "next": "/paging/next/after", "cursor_param": "after",
             "params": [["properties", "name,phone,city,hs_lastmodifieddate,amount,lifecyclestage"]]},
  "deletion": {"style": "none"},
  "conflict": {"style": "none"},
  "writes": {"update": "PATCH", "body": "merge_patch"},
  "mapping": {"fields": [
    {"field": "id",           "from": "/id"},
    {"field": "company",      "from": "/properties/name"},
    {"field": "phone",        "from": "/properties/phone"},
    {"field": "address.city", "from": "/properties/city"},
    {"field": "updated_at",   "from": "/updatedAt", "as": "iso8601"},
    {"field": "deal_value",   "from": "/properties/amount", "as": "decimal", "digits": 2},
    {"field": "stage",        "from": "/properties/lifecyclestage", "as": "enum",
     "values": {"lead": "prospect", "opportunity": "negotiation", "customer": "won"}}
  ]}
}"#;

#[test]
fn readme_worked_example_maps_both_ways() {
    let p = Profile::from_json(HUBSPOT_LIKE).unwrap();
    let page: serde_json::Value = serde_json::from_str(
        r#"{"results": [{"id": "512", "properties": {"name": "Acme AB", "amount": "1234.5",
            "lifecyclestage": "customer"}, "updatedAt": "2026-09-21T14:05:00Z"}],
            "paging": {"next": {"after": "512"}}}"#,
    )
    .unwrap();
    let item = read_item(&p.mapping, &p.deletion, &page["results"][0]).unwrap();
    let Item::Account(a) = item else { panic!() };
    assert_eq!(
        a,
        Account {
            id: "512".into(),
            company: "Acme AB".into(),
            deal_value: 123_450,
            stage: "won".into(),
            updated_at: 1_789_999_500,
            ..Account::default()
        }
    );
    let body = mapped_update(&p.mapping, &[Change::Stage("won".into())]).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"properties": {"lifecyclestage": "customer"}})
    );
    // A field the mapping does not know cannot be sent, and says so.
    let e = mapped_update(&p.mapping, &[Change::Email("x".into())]).unwrap_err();
    assert!(e.contains("`email`"), "{e}");
}

#[test]
fn bad_profiles_name_the_field() {
    let cases = [
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"page","limit_param":"l"},"mapping":{"canonical":true}}"#,
            "paging.page_param",
        ),
        (
            r#"{"name":"x","base_path":"a","paging":{"style":"next_url"},"mapping":{"canonical":true}}"#,
            "base_path",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url","items":"results"},"mapping":{"canonical":true}}"#,
            "paging.items",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"deletion":{"style":"tombstone"},"mapping":{"canonical":true}}"#,
            "deletion.field",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"mapping":{"fields":[{"field":"id","from":"/id"},{"field":"colour","from":"/c"}]}}"#,
            "mapping.fields[1].field",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"mapping":{"fields":[{"field":"id","from":"/id"},{"field":"stage","from":"/s","as":"enum"}]}}"#,
            "mapping.fields[1].values",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url","page_size":0},"mapping":{"canonical":true}}"#,
            "paging.page_size",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url","since_template":"t >= {}"},"mapping":{"canonical":true}}"#,
            "paging.since_template",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url","since_template":"t >= ","params":[["q","{since}"]]},"mapping":{"canonical":true}}"#,
            "paging.since_template",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"conflict":{"style":"if_match","if_match":"W/"},"mapping":{"canonical":true}}"#,
            "conflict.if_match",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"writes":{"item_path":"/a/id"},"mapping":{"canonical":true}}"#,
            "writes.item_path",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"headers":[["Bad Header","1"]],"mapping":{"canonical":true}}"#,
            "headers[0]",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"error_message":"message","mapping":{"canonical":true}}"#,
            "error_message",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"page","page_param":"p","limit_param":"l","delta_link":"/d"},"mapping":{"canonical":true}}"#,
            "paging.delta_link",
        ),
        (
            r#"{"name":"x","base_path":"/a","paging":{"style":"next_url"},"deletion":{"style":"tombstone","field":"/r","id":"id"},"mapping":{"canonical":true}}"#,
            "deletion.id",
        ),
    ];
    for (json, field) in cases {
        let e = Profile::from_json(json).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.to_string().contains(field));
    }
    let e = Profile::from_json(r#"{"name":"x","colour":1}"#).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn builtins_load() {
    for name in BUILTIN {
        assert_eq!(builtin(name).unwrap().name, name);
    }
    assert!(builtin("nope").is_none());
}

/// Every built-in profile, and every variant of each made by removing a
/// member, replacing it with a value of another JSON type or adding an
/// unknown one: the hand-written reader behind `Profile::from_json` accepts
/// none that serde's derived reader (kept on the types as the reference)
/// refuses, and where both accept they read the same profile. Serde alone
/// accepts an object written as an array (`"filters": []`); that is the one
/// difference allowed.
#[test]
fn the_profile_reader_agrees_with_the_serde_derive() {
    use satchel_core::sync::profile::{
        DYNAMICS, DYNAMICS_CHANGES, HUBSPOT, JSON_SERVER, REFERENCE, SALESFORCE,
    };
    use serde_json::Value;

    fn by_serde(text: &str) -> Option<Profile> {
        let tree: Value = serde_json::from_str(text).ok()?;
        let p: Profile = serde_json::from_value(tree).ok()?;
        p.check().ok()?;
        Some(p)
    }
    let mut checked = 0;
    let mut accepted = 0;
    for text in [
        REFERENCE,
        JSON_SERVER,
        HUBSPOT,
        SALESFORCE,
        DYNAMICS,
        DYNAMICS_CHANGES,
        HUBSPOT_LIKE,
    ] {
        assert_eq!(Profile::from_json(text).ok(), by_serde(text), "{text}");
        assert!(by_serde(text).is_some());
        let tree: Value = serde_json::from_str(text).unwrap();
        for common::Variant {
            tree: variant,
            replaced_with,
            ..
        } in common::json_variants(&tree)
        {
            let text = variant.to_string();
            let ours = Profile::from_json(&text);
            let theirs = by_serde(&text);
            match (&ours, &theirs) {
                (Ok(a), Some(b)) => {
                    assert_eq!(a, b, "{text}");
                    accepted += 1;
                }
                (Ok(_), None) => panic!("accepted what serde refuses: {text}"),
                (Err(e), Some(_)) => assert!(
                    replaced_with.is_some_and(|r| r.is_array()),
                    "refused what serde accepts ({e}): {text}"
                ),
                (Err(e), None) => assert!(!e.field.is_empty() && !e.message.is_empty()),
            }
            checked += 1;
        }
    }
    // The variants reach both outcomes many times over.
    assert!(checked > 2000, "{checked}");
    assert!(
        accepted > 200 && checked - accepted > 1000,
        "{accepted} of {checked}"
    );
}
