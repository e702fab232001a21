//! `satchel_core::json`: its typed reads and trees agree with serde_json's
//! direct entry points on generated accounts and refuse what they refuse.

use satchel_core::json::{read, to_value};
use satchel_core::model::Account;

fn generated() -> Vec<Account> {
    let spec = satchel_fixtures::OrgSpec {
        accounts: 200,
        seed: 7,
        ..satchel_fixtures::OrgSpec::default()
    };
    satchel_fixtures::accounts(&spec).collect()
}

#[test]
fn read_gives_what_serde_json_gives() {
    for a in generated() {
        let text = serde_json::to_vec(&a).unwrap();
        let direct: Account = serde_json::from_slice(&text).unwrap();
        assert_eq!(read::<Account>(&text).unwrap(), direct);
        assert_eq!(direct, a);
    }
}

#[test]
fn read_refuses_what_serde_json_refuses() {
    let mut typo = serde_json::to_string(&generated()[0]).unwrap();
    typo.insert_str(1, r#""nmae":"a typo","#);
    for bad in [typo.as_str(), r#"{"id":7}"#, r#"{"id":"a-1""#, "[]", ""] {
        assert!(serde_json::from_slice::<Account>(bad.as_bytes()).is_err());
        let e = read::<Account>(bad.as_bytes()).unwrap_err();
        assert!(!e.to_string().is_empty(), "{bad}");
    }
}

#[test]
fn a_repeated_member_counts_once_with_its_last_value() {
    let mut text = serde_json::to_string(&generated()[0]).unwrap();
    text.insert_str(1, r#""name":"first","#);
    text.insert_str(text.len() - 1, r#","name":"last""#);
    assert!(serde_json::from_str::<Account>(&text).is_err());
    assert_eq!(read::<Account>(text.as_bytes()).unwrap().name, "last");
}

#[test]
fn to_value_gives_what_serde_json_gives() {
    for a in generated() {
        assert_eq!(to_value(&a).unwrap(), serde_json::to_value(&a).unwrap());
    }
}
