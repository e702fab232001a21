//! `core/FORMAT.md` is normative: its tables must match the constants in
//! `format.rs` and the field order of the block payload, and the golden blobs
//! in `fixtures/golden/` (`-v1`: format version 1, `-v2`: the current one)
//! must keep loading.
//!
//! To re-create the golden blobs after a deliberate format change (with a new
//! version number): `SATCHEL_BLESS=1 cargo test -p satchel-core --test format_spec`.

use std::path::PathBuf;

use satchel_core::budget::Budget;
use satchel_core::format;
use satchel_core::journal::journal_header;
use satchel_core::model::{Account, Activity, ActivityKind, Contact, CustomValue, Deal, Geo};
use satchel_core::price_lists::{PriceItem, PriceList};
use satchel_core::store::{Store, StoreConfig};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn spec() -> String {
    std::fs::read_to_string(repo("core/FORMAT.md")).unwrap()
}

/// Rows of the first table after the heading `## {section}`.
fn table(section: &str) -> Vec<Vec<String>> {
    let doc = spec();
    let start = doc
        .find(&format!("## {section}\n"))
        .unwrap_or_else(|| panic!("no section {section}"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // heading and rule
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// (offset, size) of `field` in a table with offset | size | field columns.
fn field(rows: &[Vec<String>], name: &str) -> (usize, usize) {
    let row = rows
        .iter()
        .find(|r| r[2] == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    (row[0].parse().unwrap(), row[1].parse().unwrap_or(0))
}

#[test]
fn header_table_matches_the_code() {
    let rows = table("Blob header");
    assert_eq!(
        field(&rows, "magic"),
        (format::OFFSET_MAGIC, format::MAGIC.len())
    );
    assert_eq!(field(&rows, "type"), (format::OFFSET_TYPE, 1));
    assert_eq!(field(&rows, "version"), (format::OFFSET_VERSION, 1));
    assert_eq!(field(&rows, "reserved"), (format::OFFSET_RESERVED, 2));
    assert_eq!(field(&rows, "body length"), (format::OFFSET_BODY_LEN, 8));
    let end = rows
        .iter()
        .map(|r| r[0].parse::<usize>().unwrap() + r[1].parse::<usize>().unwrap())
        .max();
    assert_eq!(end, Some(format::HEADER_LEN));
    assert!(spec().contains(&format!(
        "| 5 | 1 | version | format version, `{}` |",
        format::VERSION
    )));
    assert!(spec().contains("the ASCII bytes `STCH`") && format::MAGIC == *b"STCH");
    assert_eq!(format::BlobType::Snapshot as u8, 1);
    assert_eq!(format::BlobType::Journal as u8, 2);
}

#[test]
fn journal_frame_table_matches_the_code() {
    let rows = table("Journal (type 2)");
    assert_eq!(field(&rows, "payload").0, format::FRAME_HEADER_LEN);
    let header = journal_header();
    assert_eq!(&header[..4], b"STCH");
    assert_eq!(header[format::OFFSET_TYPE], 2);
    assert_eq!(header.len(), format::HEADER_LEN);
}

/// Field names of `struct {name}<'a>` in block.rs, in order.
fn struct_fields(source: &str, name: &str) -> Vec<(String, String)> {
    let start = source
        .find(&format!("struct {name}<'a> {{"))
        .unwrap_or_else(|| panic!("no struct {name}"));
    let end = start + source[start..].find("\n}").unwrap();
    source[start..end]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with("#[") && l.contains(':'))
        .map(|l| {
            let (field, ty) = l.split_once(':').unwrap();
            (
                field.to_string(),
                ty.trim().trim_end_matches(',').to_string(),
            )
        })
        .collect()
}

#[test]
fn block_column_table_matches_the_struct() {
    let source = std::fs::read_to_string(repo("core/src/block.rs")).unwrap();
    let mut columns = Vec::new();
    for (section, ty) in struct_fields(&source, "Columns") {
        let ty = ty.split('<').next().unwrap();
        for (column, _) in struct_fields(&source, ty) {
            columns.push(vec![section.clone(), column]);
        }
    }
    let documented: Vec<Vec<String>> = table("Block payload")
        .into_iter()
        .map(|r| r[1..3].to_vec())
        .collect();
    // The optional ninth section follows the eight.
    for (column, _) in struct_fields(&source, "Related") {
        columns.push(vec!["related".to_string(), column]);
    }
    assert_eq!(documented, columns);
    assert_eq!(
        struct_fields(&source, "Columns").len(),
        satchel_core::block::SECTIONS
    );
    assert_eq!(
        satchel_core::block::SECTION_NAMES[satchel_core::block::RELATED],
        "related"
    );
}

/// A deterministic store that uses every column, every custom type, the hot
/// buffer, dead rows and Unicode; with `related`, contacts and deals on some
/// accounts (blocks with and without the related section). Version 1 had
/// none, so its blobs are compared with the store without them.
fn golden_store(related: bool) -> Store {
    let config = StoreConfig {
        block_bytes: 1024,
        cache_blocks: 1,
        journal: true,
    };
    let mut store = Store::with_config(Budget::new(1 << 20), config);
    let customs = [
        CustomValue::Text("Lieferung über Hamburg".into()),
        CustomValue::Int(-42),
        CustomValue::Decimal {
            value: 45,
            scale: 1,
        },
        CustomValue::Money {
            minor: 1_000_000,
            currency: "SEK".into(),
        },
        CustomValue::Date(1_790_000_000),
        CustomValue::Bool(true),
        CustomValue::Enum("enterprise".into()),
    ];
    let names = ["Åsa Ström", "Jürgen Weiß", "王伟", "Mary O'Brien <Ltd>"];
    for i in 0..24u32 {
        let mut a = Account {
            id: format!("0015g00000{i:08}"),
            name: names[i as usize % 4].into(),
            company: format!("Nordvik {i} AB"),
            email: format!("k{i}@nordvik.se"),
            phone: "+46 8 123 45 67".into(),
            geo: (i % 3 != 0).then_some(Geo {
                lat_e6: 59_329_323 + i as i32,
                lon_e6: 18_068_581,
            }),
            territory: format!("SE-N-0{}", i % 3),
            owner: format!("rep-{:04}", i % 5),
            stage: ["lead", "won"][i as usize % 2].into(),
            deal_value: i64::from(i) * 10_000,
            currency: "SEK".into(),
            last_contact: (i % 2 == 0).then_some(1_789_000_000),
            next_visit: (i % 4 == 0).then_some(1_790_500_000),
            updated_at: 1_789_900_000 + i64::from(i),
            version: u64::from(i),
            tags: (0..i % 3).map(|t| format!("tag-{t}")).collect(),
            ..Account::default()
        };
        a.address.city = ["Stockholm", "深圳"][i as usize % 2].into();
        a.address.country = ["SE", "CN"][i as usize % 2].into();
        a.address.postcode = "111 22".into();
        a.address.street = "Drottninggatan 1".into();
        a.custom
            .insert(format!("field{}", i % 7), customs[i as usize % 7].clone());
        a.activities.push(Activity {
            kind: ActivityKind::from_code((i % 6) as u8).unwrap(),
            at: 1_789_800_000,
            by: "rep-0001".into(),
            text: "Besök bokat, 深圳 kontor".into(),
        });
        // Blocks hold about five of these: records 5 to 9 have neither.
        if related && i % 3 == 1 && !(5..10).contains(&i) {
            a.contacts.push(Contact {
                id: format!("003{i:05}"),
                name: names[(i as usize + 1) % 4].into(),
                role: ["Inköpare", "CFO"][i as usize % 2].into(),
                email: format!("inkop{i}@nordvik.se"),
                phone: "+46 70 123 45 67".into(),
            });
        }
        if related && i % 4 == 1 && !(5..10).contains(&i) {
            a.deals.push(Deal {
                id: format!("006{i:05}"),
                title: "Pumpar, 深圳 order".into(),
                stage: "proposal".into(),
                value: 12_500_000,
                currency: "SEK".into(),
                close_date: (i % 8 == 1).then_some(1_792_000_000),
            });
        }
        store.upsert(a).unwrap();
    }
    store.delete("0015g0000000000003").unwrap();
    assert!(store.pin("0015g0000000000005").unwrap());
    // Evict a few to stubs.
    let rules = satchel_core::rules::RankRules::from_json(
        r#"{"rules": [{"name": "won", "weight": 10, "when": {"stage_in": ["won"]}}]}"#,
    )
    .unwrap();
    let ctx = satchel_core::score::RankContext {
        now: 1_790_000_000,
        me: "rep-0001".into(),
        territories: vec![],
    };
    let target = 1200; // estimated bytes: about half the records
    let summary = store.retain(&rules, &ctx, 30, Some(target)).unwrap();
    assert!(summary.stubbed > 0, "{summary:?}");
    // Two edits in the outbox, one acknowledged since.
    let kept = store.iter().next().expect("a kept record").id;
    let patch = |change| satchel_core::outbox::Patch {
        set: vec![change],
        log: vec![Activity {
            kind: ActivityKind::Visit,
            at: 1_790_000_100,
            by: "rep-0001".into(),
            text: "Besök: ny offert".into(),
        }],
        delete: false,
    };
    let first = store
        .edit(
            &kept,
            patch(satchel_core::outbox::Change::Stage("won".into())),
            1_790_000_100,
        )
        .unwrap();
    store
        .edit(
            &kept,
            patch(satchel_core::outbox::Change::Custom {
                name: "segment".into(),
                value: Some(CustomValue::Enum("smb".into())),
            }),
            1_790_000_200,
        )
        .unwrap();
    assert!(store.ack(first).unwrap().is_some());
    if related {
        // Two price lists kept, one put and removed: four frames.
        for (id, prefix) in [("pl-se", "SE"), ("pl-se-n", "SE-N"), ("pl-old", "DE")] {
            let items = (0..3)
                .map(|k| PriceItem {
                    sku: format!("P-{k:03}"),
                    name: ["Pump", "Ventil 深圳", "Filter"][k].into(),
                    unit_price: 1999 * (k as i64 + 1),
                })
                .collect();
            store
                .put_price_list(PriceList {
                    id: id.into(),
                    territory_prefix: prefix.into(),
                    currency: "SEK".into(),
                    items,
                    updated_at: 1_790_000_300,
                })
                .unwrap();
        }
        assert!(store.remove_price_list("pl-old").unwrap());
    }
    store
}

#[test]
fn golden_blobs_load_and_encode_the_same() {
    let mut store = golden_store(true);
    assert!(store.iter().any(|a| !a.contacts.is_empty()));
    assert!(store.iter().any(|a| !a.deals.is_empty()));
    // Some of them reached a block (not only the hot buffer).
    assert!(
        store.section_bytes()[satchel_core::block::RELATED].0 > 0,
        "{:?} {}",
        store.section_bytes(),
        store.len()
    );
    let snapshot = store.snapshot();
    let mut journal = journal_header().to_vec();
    journal.extend(store.take_journal());
    let (snap_path, journal_path) = (
        repo(&format!(
            "fixtures/golden/snapshot-v{}.bin",
            format::VERSION
        )),
        repo(&format!("fixtures/golden/journal-v{}.bin", format::VERSION)),
    );
    if std::env::var_os("SATCHEL_BLESS").is_some() {
        std::fs::write(&snap_path, &snapshot).unwrap();
        std::fs::write(&journal_path, &journal).unwrap();
    }
    let golden_snapshot =
        std::fs::read(&snap_path).expect("golden snapshot (SATCHEL_BLESS=1 writes it)");
    let golden_journal = std::fs::read(&journal_path).expect("golden journal");
    let config = store.config();
    let all = |s: &Store| {
        let mut v: Vec<Account> = s.iter().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let stubs = |s: &Store| {
        let mut v: Vec<_> = s.stubs().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let (from_snapshot, _) =
        Store::open(Some(&golden_snapshot), None, Budget::new(1 << 20), config).unwrap();
    assert_eq!(all(&from_snapshot), all(&store));
    assert_eq!(stubs(&from_snapshot), stubs(&store));
    assert!(from_snapshot.is_pinned("0015g0000000000005"));
    let (from_journal, report) =
        Store::open(None, Some(&golden_journal), Budget::new(1 << 20), config).unwrap();
    // 24 upserts, a delete, a pin, then an eviction and a stub per stubbed
    // record, then two edits (an Edit and an Upsert each) and an Ack.
    assert_eq!(
        report.replayed as u64,
        26 + 2 * stubs(&store).len() as u64
            + (24 - 1 - store.len() - stubs(&store).len()) as u64
            + 5
            + 4
    );
    for reopened in [&from_snapshot, &from_journal] {
        let lists: Vec<_> = reopened.price_lists().collect();
        assert_eq!(lists, store.price_lists().collect::<Vec<_>>());
        assert_eq!(lists.len(), 2);
        assert_eq!(reopened.price_list_for("SE-N-01").unwrap().id, "pl-se-n");
    }
    assert_eq!(all(&from_journal), all(&store));
    assert_eq!(stubs(&from_journal), stubs(&store));
    assert!(from_journal.is_pinned("0015g0000000000005"));
    for reopened in [&from_snapshot, &from_journal] {
        assert_eq!(reopened.outbox(), store.outbox());
        assert_eq!(reopened.outbox().len(), 1);
    }
    // The writer still produces the current version's bytes exactly.
    assert_eq!(
        snapshot, golden_snapshot,
        "snapshot bytes changed: bump the format version"
    );
    assert_eq!(
        journal, golden_journal,
        "journal bytes changed: bump the format version"
    );
}

/// Version 1 blobs (byte-coded search pages) still load: the records, stubs,
/// pins and outbox come back, and search works on an index rebuilt at open.
#[test]
fn version_1_blobs_still_load() {
    let store = golden_store(false);
    let config = store.config();
    let snapshot = std::fs::read(repo("fixtures/golden/snapshot-v1.bin")).unwrap();
    let journal = std::fs::read(repo("fixtures/golden/journal-v1.bin")).unwrap();
    assert_eq!(snapshot[format::OFFSET_VERSION], 1);
    let sorted = |s: &Store| {
        let mut v: Vec<Account> = s.iter().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let (from_snapshot, _) =
        Store::open(Some(&snapshot), None, Budget::new(1 << 20), config).unwrap();
    let (from_journal, _) =
        Store::open(None, Some(&journal), Budget::new(1 << 20), config).unwrap();
    for old in [&from_snapshot, &from_journal] {
        assert_eq!(sorted(old), sorted(&store));
        assert_eq!(old.outbox(), store.outbox());
        assert!(old.is_pinned("0015g0000000000005"));
    }
    let name = sorted(&store)[0].name.clone();
    let word = name.split_whitespace().next().unwrap().to_string();
    let query = |s: &Store| {
        let q = satchel_core::search::Query {
            limit: 50,
            ..satchel_core::search::Query::text(&word)
        };
        let mut ids: Vec<String> = s
            .search(&q)
            .unwrap()
            .into_iter()
            .map(|h| match h.target {
                satchel_core::search::HitRef::Record(l) => s.get_local(l).unwrap().id,
                satchel_core::search::HitRef::Stub { id, .. } => id,
            })
            .collect();
        ids.sort();
        ids
    };
    assert!(!query(&store).is_empty());
    assert_eq!(query(&from_snapshot), query(&store));
}

#[test]
fn search_page_limits_match_the_code() {
    use satchel_core::termindex::{MAX_PAGE_POSTINGS, PAGE_BYTES, PAGE_SLACK};
    let doc = spec();
    assert!(doc.contains(&format!("byte string, ≤ {} bytes", PAGE_BYTES + PAGE_SLACK)));
    assert!(doc.contains(&format!("at most {MAX_PAGE_POSTINGS} postings")));
    assert!(doc.contains("page    = W:6  H:1  gamma(runs)"));
}
