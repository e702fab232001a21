//! Search over the budgeted store: multilingual folding, substring search in
//! Chinese, phone numbers, filters, ranking, stubs, and agreement with a
//! brute-force reference over generated accounts.

use std::collections::BTreeSet;

use satchel_core::budget::Budget;
use satchel_core::fold::fold;
use satchel_core::model::{Account, Card};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::search::{
    match_spans, HitRef, MatchClass, Query, SearchError, Window, MAX_LIMIT,
};
use satchel_core::store::{Store, StoreConfig};
use satchel_fixtures::OrgSpec;

fn account(id: &str, name: &str, company: &str) -> Account {
    Account {
        id: id.into(),
        name: name.into(),
        company: company.into(),
        ..Default::default()
    }
}

fn ids(store: &Store, q: &Query) -> Vec<String> {
    store
        .search(q)
        .unwrap()
        .into_iter()
        .map(|h| match h.target {
            HitRef::Record(l) => store.get_local(l).unwrap().id,
            HitRef::Stub { id, .. } => format!("stub:{id}"),
        })
        .collect()
}

fn find(store: &Store, text: &str) -> Vec<String> {
    let mut v = ids(store, &Query::text(text));
    v.sort();
    v
}

fn multilingual() -> Store {
    let mut s = Store::new(Budget::parse("4MiB").unwrap());
    let mut phone = account("SE1", "Åsa Åström", "Ström & Åberg AB");
    phone.phone = "08-123 45 67".into();
    phone.email = "asa.strom@stromaberg.se".into();
    phone.address.city = "Göteborg".into();
    for a in [
        phone,
        account("DE1", "Jürgen Müller", "Müller & Söhne GmbH"),
        account("DE2", "Anja Groß", "Straße der Einheit KG"),
        account("ZH1", "王伟", "深圳华强电子有限公司"),
        account("ZH2", "李娜", "北京华为技术"),
        account("EN1", "Mary O'Brien", "O'Brien & Sons <Ltd>"),
        account("EN2", "<script>alert(1)</script>", "Evil Corp"),
        account("SE2", "ÅSA LINDQVIST", "Lindqvist Bygg"),
    ] {
        s.upsert(a).unwrap();
    }
    s
}

#[test]
fn folding_finds_names_in_every_spelling() {
    let s = multilingual();
    assert_eq!(find(&s, "astrom"), ["SE1"]);
    assert_eq!(find(&s, "ÅSTRÖM"), ["SE1"]);
    assert_eq!(find(&s, "åsa"), ["SE1", "SE2"]);
    assert_eq!(find(&s, "as"), ["SE1", "SE2"]);
    assert_eq!(find(&s, "muller"), ["DE1"]);
    assert_eq!(find(&s, "Müller Söh"), ["DE1"]);
    assert_eq!(find(&s, "strasse"), ["DE2"]);
    assert_eq!(find(&s, "STRASSE"), ["DE2"]);
    assert_eq!(find(&s, "gross"), ["DE2"]);
    assert_eq!(find(&s, "goteborg"), ["SE1"]);
    assert_eq!(find(&s, "asa.str"), ["SE1"]); // the e-mail, as typed from its start
    assert_eq!(find(&s, "stromaberg"), Vec::<String>::new()); // its domain is not indexed
    assert_eq!(find(&s, "obrien"), Vec::<String>::new()); // "O'Brien" is two words
    assert_eq!(find(&s, "o brien"), ["EN1"]);
    assert_eq!(find(&s, "zzz"), Vec::<String>::new());
}

#[test]
fn chinese_is_found_by_any_substring() {
    let s = multilingual();
    assert_eq!(find(&s, "深圳"), ["ZH1"]);
    assert_eq!(find(&s, "华强"), ["ZH1"]);
    assert_eq!(find(&s, "电子有限"), ["ZH1"]); // longer than a key: checked
    assert_eq!(find(&s, "华"), ["ZH1", "ZH2"]);
    assert_eq!(find(&s, "王伟"), ["ZH1"]);
    assert_eq!(find(&s, "强华"), Vec::<String>::new());
    let hits = s.search(&Query::text("华强")).unwrap();
    assert_eq!(hits[0].class, MatchClass::Substring);
    let hits = s.search(&Query::text("深圳")).unwrap();
    assert_eq!(hits[0].class, MatchClass::Prefix);
}

#[test]
fn phone_numbers_match_by_digits_in_any_format() {
    let s = multilingual();
    assert_eq!(find(&s, "+46 8 123"), ["SE1"]);
    assert_eq!(find(&s, "08-12345"), ["SE1"]);
    assert_eq!(find(&s, "0812345 67"), ["SE1"]);
    assert_eq!(find(&s, "08-999"), Vec::<String>::new());
    let hits = s.search(&Query::text("+46 8 123 45 67")).unwrap();
    assert_eq!(hits[0].class, MatchClass::Exact);
}

#[test]
fn markup_and_control_characters_are_just_text() {
    let s = multilingual();
    assert_eq!(find(&s, "<script>"), ["EN2"]);
    assert_eq!(find(&s, "<Ltd>"), ["EN1"]);
    assert_eq!(find(&s, "&"), find(&s, "")); // nothing to look for: lists all
    assert_eq!(find(&s, "\u{0}\u{7}").len(), 8);
    assert_eq!(find(&s, "\u{1b}[31m"), Vec::<String>::new()); // "31m" is text
    let too_long = "a".repeat(5000);
    assert_eq!(
        s.search(&Query::text(&too_long)),
        Err(SearchError::QueryTooLong { len: 5000 })
    );
    let q = Query {
        limit: MAX_LIMIT + 1,
        ..Query::text("a")
    };
    assert!(matches!(
        s.search(&q),
        Err(SearchError::LimitTooLarge { .. })
    ));
}

#[test]
fn highlights_point_at_the_matched_text() {
    let name = "Ström & Åberg AB";
    let spans: Vec<&str> = match_spans(name, "abe STRO")
        .into_iter()
        .map(|(a, b)| &name[a..b])
        .collect();
    assert_eq!(spans, ["Strö", "Åbe"]);
}

#[test]
fn exact_beats_prefix_then_score_decides() {
    let mut s = Store::new(Budget::parse("1MiB").unwrap());
    s.upsert(account("A", "Anna Berg", "")).unwrap();
    s.upsert(account("B", "Annabel Lee", "")).unwrap();
    s.upsert(account("C", "Anna Lind", "")).unwrap();
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "lind", "weight": 500, "when": {"tag": "key"}}]}"#,
    )
    .unwrap();
    let mut c = account("C", "Anna Lind", "");
    c.tags = vec!["key".into()];
    s.upsert(c).unwrap();
    let ctx = RankContext {
        now: 1_790_000_000,
        me: "rep".into(),
        territories: vec![],
    };
    s.retain(&rules, &ctx, 10, None).unwrap();
    // Exact "anna" first (C outscores A), then the prefix match.
    assert_eq!(ids(&s, &Query::text("anna")), ["C", "A", "B"]);
    let q = Query {
        limit: 1,
        ..Query::text("ann")
    };
    assert_eq!(ids(&s, &q), ["C"]);
}

#[test]
fn updates_and_deletes_keep_the_index_true() {
    let mut s = multilingual();
    s.upsert(account("SE1", "Åsa Berglund", "Berglund AB"))
        .unwrap();
    assert_eq!(find(&s, "strom"), Vec::<String>::new());
    assert_eq!(find(&s, "berglund"), ["SE1"]);
    s.delete("DE1").unwrap();
    assert_eq!(find(&s, "muller"), Vec::<String>::new());
    s.compact();
    assert_eq!(find(&s, "berglund"), ["SE1"]);
    // Reopened from a snapshot, the index is rebuilt and agrees.
    let snap = s.snapshot();
    let (r, _) = Store::open(Some(&snap), None, s.budget(), s.config()).unwrap();
    for q in ["berglund", "华强", "as", "+46 8 1", "script"] {
        assert_eq!(find(&r, q), find(&s, q), "{q}");
    }
}

fn generated(n: u64, seed: u64) -> Vec<Account> {
    satchel_fixtures::accounts(&OrgSpec::new(n, seed)).collect()
}

/// The ids that match `q` by the documented rule, read straight off the
/// fields: every query word starts a word of the name, company, city or
/// e-mail's local part, compared on its first 8 folded bytes; ideographic query text
/// matches where each of its 3-character pieces starts or sits inside a run.
fn reference(accounts: &[Account], q: &str) -> BTreeSet<String> {
    let words: Vec<String> = fold(q).split(' ').map(String::from).collect();
    let ideographic = |w: &str| w.chars().any(satchel_core::fold::is_ideographic);
    accounts
        .iter()
        .filter(|a| {
            let local_part = a.email.split('@').next().unwrap();
            let text = [&a.name, &a.company, &a.address.city, local_part]
                .map(fold)
                .join(" ");
            let record_words: Vec<&str> = text.split(' ').collect();
            words.iter().all(|w| {
                if ideographic(w) {
                    let chars: Vec<char> = w.chars().collect();
                    chars.windows(3.min(chars.len())).all(|piece| {
                        let piece: String = piece.iter().collect();
                        record_words
                            .iter()
                            .any(|r| ideographic(r) && r.contains(piece.as_str()))
                    })
                } else {
                    let head = &w.as_bytes()[..w.len().min(8)];
                    record_words.iter().any(|r| r.as_bytes().starts_with(head))
                }
            })
        })
        .map(|a| a.id.clone())
        .collect()
}

#[test]
fn agrees_with_a_brute_force_reference_on_generated_accounts() {
    let accounts = generated(3000, 11);
    let mut s = Store::with_config(Budget::parse("8MiB").unwrap(), StoreConfig::default());
    for a in &accounts {
        s.upsert(a.clone()).unwrap();
    }
    let mut checked = 0;
    for (i, a) in accounts.iter().enumerate().step_by(37) {
        // A prefix of some word of the record, of 1 to 12 characters, typed
        // as written (with diacritics, mixed case) — and a two-word query.
        let field = [&a.name, &a.company, &a.address.city][i % 3];
        let word = field.split_whitespace().nth(i % 2).unwrap_or(field);
        let cut: String = word.chars().take(1 + i % 12).collect();
        let two = format!(
            "{cut} {}",
            a.address.city.chars().take(2).collect::<String>()
        );
        for q in [cut, two] {
            let want = reference(&accounts, &q);
            if want.len() > MAX_LIMIT || fold(&q).is_empty() {
                continue;
            }
            let query = Query {
                limit: MAX_LIMIT,
                ..Query::text(&q)
            };
            let got: BTreeSet<String> = ids(&s, &query).into_iter().collect();
            assert_eq!(got, want, "query {q:?}");
            assert!(
                got.contains(&a.id) || q.contains(' '),
                "{q:?} misses its own record"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn a_hits_card_is_its_records_who_and_where_from_a_cold_or_a_cached_block() {
    let accounts = generated(3000, 12);
    for (cache_blocks, read_first) in [(0, false), (4, false), (4, true)] {
        let config = StoreConfig {
            cache_blocks,
            ..StoreConfig::default()
        };
        let mut s = Store::with_config(Budget::parse("8MiB").unwrap(), config);
        for a in &accounts {
            s.upsert(a.clone()).unwrap();
        }
        // Most records sit in blocks, the newest in the hot buffer: both are read.
        let stats = s.stats();
        assert!(stats.blocks > 10 && stats.hot_records > 0, "{stats:?}");
        for a in &accounts {
            let local = s.local_id(&a.id).unwrap();
            if read_first {
                // The whole record first: its block is then in the cache.
                assert_eq!(s.get_local(local).as_ref(), Some(a));
            }
            assert_eq!(s.card_local(local), Some(Card::of(a)), "{}", a.id);
        }
    }
}

#[test]
fn local_ids_are_every_record_held_once_block_by_block() {
    let accounts = generated(3000, 13);
    let mut s = Store::with_config(Budget::parse("8MiB").unwrap(), StoreConfig::default());
    for a in &accounts {
        s.upsert(a.clone()).unwrap();
    }
    // Dead rows in blocks, freed local ids, updated records in the hot buffer.
    for a in accounts.iter().step_by(7) {
        s.delete(&a.id).unwrap();
    }
    for a in accounts.iter().skip(3).step_by(11) {
        let mut b = a.clone();
        b.stage = "won".into();
        s.upsert(b).unwrap();
    }
    let stats = s.stats();
    assert!(
        stats.blocks > 5 && stats.dead_rows > 0 && stats.hot_records > 0,
        "{stats:?}"
    );
    // Exactly `iter`'s records in `iter`'s order (block by block, row by
    // row, then the hot buffer), read without decoding one.
    let by_iter: Vec<u32> = s.iter().map(|a| s.local_id(&a.id).unwrap()).collect();
    assert_eq!(by_iter.len(), s.len());
    assert_eq!(s.local_ids(), by_iter);
}

#[test]
fn filters_agree_with_the_fields() {
    let accounts = generated(2000, 5);
    let mut s = Store::new(Budget::parse("12MiB").unwrap());
    s.upsert_batch(accounts.clone()).unwrap();
    let territory = accounts[0].territory.clone();
    let stage = accounts[1].stage.clone();
    let now = OrgSpec::new(1, 1).now;
    let day = 86_400;
    let window = Window {
        from: now.div_euclid(day) * day,
        to: (now.div_euclid(day) + 30) * day - 1,
    };
    let q = Query {
        territory: vec![territory.clone()],
        stage: vec![stage.clone(), "won".into()],
        next_visit: Some(window),
        limit: MAX_LIMIT,
        ..Query::default()
    };
    let want: BTreeSet<String> = accounts
        .iter()
        .filter(|a| {
            a.territory == territory
                && (a.stage == stage || a.stage == "won")
                && a.next_visit
                    .is_some_and(|t| window.from <= t && t <= window.to)
        })
        .map(|a| a.id.clone())
        .collect();
    assert!(!want.is_empty());
    let got: BTreeSet<String> = ids(&s, &q).into_iter().collect();
    assert_eq!(got, want);
    // Text and filters together.
    let name = accounts
        .iter()
        .find(|a| want.contains(&a.id))
        .unwrap()
        .name
        .clone();
    let first = name.split_whitespace().next().unwrap().to_string();
    let got: BTreeSet<String> = ids(
        &s,
        &Query {
            text: first.clone(),
            ..q.clone()
        },
    )
    .into_iter()
    .collect();
    let want_text: BTreeSet<String> = reference(&accounts, &first)
        .intersection(&want)
        .cloned()
        .collect();
    assert_eq!(got, want_text);
    let bad = Query {
        last_contact: Some(Window { from: 10, to: 5 }),
        ..Query::default()
    };
    assert!(matches!(
        s.search(&bad),
        Err(SearchError::EmptyWindow { .. })
    ));
}

#[test]
fn evicted_records_are_found_as_stubs() {
    let accounts = generated(3000, 3);
    let mut s = Store::new(Budget::parse("12MiB").unwrap());
    s.upsert_batch(accounts.clone()).unwrap();
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "mine", "weight": 100, "when": {"owner_is_me": true}}]}"#,
    )
    .unwrap();
    let ctx = RankContext {
        now: OrgSpec::new(1, 1).now,
        me: accounts[0].owner.clone(),
        territories: vec![],
    };
    let plan = s.retain(&rules, &ctx, 20, Some(150 * 1024)).unwrap();
    let stub = s
        .stubs()
        .next()
        .unwrap_or_else(|| panic!("no stub: {plan:?} {}", s.len()));
    let first = stub.name.split_whitespace().next().unwrap().to_string();
    let hits = s
        .search(&Query {
            limit: MAX_LIMIT,
            ..Query::text(&stub.name)
        })
        .unwrap();
    assert!(
        hits.iter().any(|h| h.target
            == HitRef::Stub {
                id: stub.id.clone(),
                name: stub.name.clone()
            }
            && !h.on_device()),
        "{first}"
    );
    assert!(s.used_bytes() <= s.budget().bytes());
    // A stub never passes a filter: it carries no fields.
    let filtered = s
        .search(&Query {
            owner: vec![accounts[0].owner.clone()],
            limit: MAX_LIMIT,
            ..Query::text(&stub.name)
        })
        .unwrap();
    assert!(filtered.iter().all(|h| h.on_device()));
}

#[test]
fn a_short_list_is_the_head_of_the_long_one_after_a_plan() {
    // Pages whose best score cannot enter the top N are skipped; that must
    // never change which hits come first.
    let accounts = generated(20_000, 21);
    let mut s = Store::new(Budget::parse("64MiB").unwrap());
    s.upsert_batch(accounts.clone()).unwrap();
    let rules = RankRules::from_json(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/rules/field-rep.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let ctx = RankContext {
        now: OrgSpec::new(1, 1).now,
        me: accounts[7].owner.clone(),
        territories: vec![accounts[7].territory.clone()],
    };
    s.retain(&rules, &ctx, 0, None).unwrap();
    let mut compared = 0;
    for q in [
        "a", "an", "s", "ma", "st", "ab", "j", "华", "北京", "li", "m",
    ] {
        // The word twice takes the path that gathers every candidate first
        // (no skipping) and must rank the same.
        let twice = format!("{q} {q}");
        for limit in [1, 5, 20, 300] {
            let short = s
                .search(&Query {
                    limit,
                    ..Query::text(q)
                })
                .unwrap();
            let long = s
                .search(&Query {
                    limit,
                    ..Query::text(&twice)
                })
                .unwrap();
            let want = &long[..];
            assert_eq!(
                short.iter().map(|h| (h.class, h.score)).collect::<Vec<_>>(),
                want.iter().map(|h| (h.class, h.score)).collect::<Vec<_>>(),
                "{q} top {limit}"
            );
            assert_eq!(short, want, "{q} top {limit}");
            compared += 1;
        }
    }
    assert_eq!(compared, 44);
    assert!(s
        .search(&Query::text("a"))
        .unwrap()
        .iter()
        .any(|h| h.score > 0));
}

#[test]
fn deleting_from_a_reopened_store_needs_no_room() {
    // A reopened store's index comes from the snapshot: removing a record
    // must not grow it (the buffers removal uses are held from the load),
    // or a delete at a full budget would break the ceiling.
    let store = multilingual();
    let (mut reopened, _) = Store::open(
        Some(&store.snapshot()),
        None,
        store.budget(),
        StoreConfig::default(),
    )
    .unwrap();
    let before = reopened.stats().bytes.search;
    for id in ["SE1", "DE1", "ZH1", "EN2"] {
        assert_eq!(reopened.delete(id), Ok(true));
        let now = reopened.stats().bytes.search;
        assert!(
            now <= before,
            "deleting {id} grew the index: {before} -> {now}"
        );
    }
    assert!(find(&reopened, "müller").is_empty());
}
