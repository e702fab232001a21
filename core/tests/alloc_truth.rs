//! `used_bytes()` is the truth: a counting global allocator tracks every heap
//! byte this test's thread holds, and at each checkpoint (when the test holds
//! nothing but the store) the two figures must be equal.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use satchel_core::budget::Budget;
use satchel_core::model::{Account, Activity, ActivityKind, CustomValue};
use satchel_core::outbox::{Change, Patch};
use satchel_core::price_lists::{PriceItem, PriceList};
use satchel_core::rules::RankRules;
use satchel_core::score::RankContext;
use satchel_core::store::{Store, StoreConfig};
use satchel_core::usage::Use;

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}

fn tracked() -> bool {
    TRACKED.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if tracked() {
            HELD.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            HELD.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if tracked() {
            HELD.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A deterministic, varied account; `n` picks the id so that some repeat.
fn account(n: u64) -> Account {
    let mut a = Account {
        id: format!("0015g{:08}", n % 700),
        name: format!("Åsa Ström {n}"),
        company: format!("Nordvik Trä {} AB", n % 37),
        email: format!("asa.strom{n}@nordvik.se"),
        territory: format!("SE-N-0{}", n % 4),
        owner: format!("rep-{:04}", n % 9),
        stage: ["lead", "won", "negotiation"][(n % 3) as usize].into(),
        deal_value: (n * 7919 % 100_000) as i64,
        currency: "SEK".into(),
        updated_at: 1_790_000_000 - (n * 3_600) as i64,
        version: n % 17,
        ..Account::default()
    };
    a.address.city = "深圳".into();
    a.tags = (0..n % 3).map(|t| format!("tag-{t}")).collect();
    if n % 4 == 0 {
        a.custom
            .insert("employees".into(), CustomValue::Int(n as i64));
    }
    for k in 0..(n % 5) {
        a.activities.push(Activity {
            kind: ActivityKind::Call,
            at: a.updated_at - 86_400 * k as i64,
            by: a.owner.clone(),
            text: format!("Ringde om offert nr {k}, återkommer på fredag."),
        });
    }
    a
}

fn held() -> isize {
    HELD.load(Ordering::SeqCst)
}

/// `step` is only formatted on failure: a string alive here would count.
fn check(store: &Store, base: isize, step: impl Fn() -> String) {
    let heap = held() - base;
    assert_eq!(
        heap,
        store.used_bytes() as isize,
        "heap vs used_bytes after {}",
        step()
    );
    assert!(
        store.used_bytes() <= store.budget().bytes(),
        "budget after {}",
        step()
    );
}

/// Runs the operations; returns whether the store trained a dictionary.
fn exercise(budget: usize, config: StoreConfig) -> bool {
    // Made before tracking starts and dropped after it ends: only the
    // store's heap is measured.
    let rules = RankRules::from_json(
        r#"{"rules": [{"name": "mine", "weight": 10, "when": {"owner_is_me": true}},
                      {"name": "used", "weight": 20, "when": {"used": true}}]}"#,
    )
    .unwrap();
    let ctx = RankContext {
        now: 1_790_000_000,
        me: "rep-0003".into(),
        territories: vec![],
    };
    TRACKED.with(|t| t.set(true));
    let base = held();
    let mut store = Store::with_config(Budget::new(budget), config);
    check(&store, base, || "new".into());
    let mut refused = 0;
    let mut edited = 0;
    let mut trained = false;

    for n in 0..3_000u64 {
        match n % 10 {
            0..=6 => refused += usize::from(store.upsert(account(n)).is_err()),
            7 => {
                let batch = (0..5).map(|k| account(n * 13 + k)).collect();
                refused += usize::from(store.upsert_batch(batch).is_err());
            }
            8 => {
                let _ = store.delete(&format!("0015g{:08}", (n * 31) % 700));
            }
            _ => {
                drop(store.get(&format!("0015g{:08}", (n * 17) % 700)));
                if n % 200 == 9 {
                    store.compact();
                }
                if n % 50 == 19 {
                    let _ = store.pin(&format!("0015g{:08}", (n * 7) % 700));
                    let _ = store.record_use(
                        &format!("0015g{:08}", (n * 3) % 700),
                        Use::Open,
                        1_790_000_000 + n as i64,
                    );
                }
                if n % 50 == 29 {
                    let patch = Patch {
                        set: vec![
                            Change::Stage("won".into()),
                            Change::Tags(vec!["vip".into(), "nord".into()]),
                        ],
                        log: vec![Activity {
                            kind: ActivityKind::Visit,
                            at: 1_790_000_000 + n as i64,
                            by: "rep-0003".into(),
                            text: "Besök, offert lämnad".into(),
                        }],
                        delete: n % 300 == 29,
                    };
                    let id = format!("0015g{:08}", (n - 9) % 700);
                    edited += usize::from(store.edit(&id, patch, 0).is_ok());
                    drop(id);
                }
                if n % 100 == 79 {
                    if let Some(seq) = store.outbox().first().map(|e| e.seq) {
                        let _ = store.ack(seq);
                    }
                }
                if n % 100 == 39 {
                    let list = PriceList {
                        id: format!("pl-{}", n % 3),
                        territory_prefix: "SE-N".into(),
                        currency: "SEK".into(),
                        items: (0..n % 7)
                            .map(|k| PriceItem {
                                sku: format!("SKU-{k}"),
                                name: "Pump, rostfri".into(),
                                unit_price: 1999,
                            })
                            .collect(),
                        updated_at: n as i64,
                    };
                    let _ = store.put_price_list(list);
                }
                if n % 300 == 89 {
                    let _ = store.remove_price_list(&format!("pl-{}", n % 3));
                }
                if n % 700 == 349 {
                    let target = store.used_bytes() / 2;
                    let _ = store.retain(&rules, &ctx, 20, Some(target));
                }
            }
        }
        check(&store, base, || format!("op {n}"));
        trained |= store.stats().bytes.dictionary > 0;
        if n % 500 == 499 {
            let snap = store.snapshot();
            let journal = store.take_journal();
            drop(journal);
            drop(store);
            let (reopened, _) =
                Store::open(Some(&snap), None, Budget::new(budget), config).unwrap();
            drop(snap);
            store = reopened;
            check(&store, base, || "reopen".into());
        }
    }
    drop(store);
    assert_eq!(held(), base, "dropping the store frees everything");
    TRACKED.with(|t| t.set(false));
    drop((rules, ctx));
    eprintln!(
        "budget {budget}: {refused} writes refused, {edited} edits, dictionary trained: {trained}"
    );
    assert!(edited > 0 || budget < 64 * 1024, "no edit was exercised");
    trained
}

#[test]
fn used_bytes_is_the_heap() {
    // Tight: many refusals, compactions forced by the budget.
    exercise(
        48 * 1024,
        StoreConfig {
            block_bytes: 8 * 1024,
            cache_blocks: 2,
            journal: true,
        },
    );
    // Roomy: everything fits; journal grows until taken at snapshots.
    exercise(4 << 20, StoreConfig::default());
    // No journal, tiny blocks: a dictionary gets trained, and counted.
    let trained = exercise(
        256 * 1024,
        StoreConfig {
            block_bytes: 1024,
            cache_blocks: 8,
            journal: false,
        },
    );
    assert!(trained, "this run must exercise dictionary training");
}
