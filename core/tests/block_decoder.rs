//! The block decoder on hostile input: mutated payloads and random compressed
//! bytes never panic, and whatever decodes can be read row by row.

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use satchel_core::block::{self, BlockView};
use satchel_core::dictionary::Dictionary;
use satchel_core::model::Account;

fn sample_rows() -> Vec<Account> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = common::account();
    (0..12)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn raw_block() -> block::RawBlock {
    let rows = sample_rows();
    let refs: Vec<(u32, &Account)> = rows
        .iter()
        .enumerate()
        .map(|(i, a)| (i as u32, a))
        .collect();
    block::encode_raw(&refs)
}

#[test]
fn a_block_round_trips_with_and_without_dictionary() {
    let rows = sample_rows();
    let raw = raw_block();
    let dictionary = Dictionary::train(&[block::encode_raw(&[(9, &rows[3])])]);
    for dict in [None, Some(&dictionary)] {
        let z = block::compress(&raw, dict);
        let back = block::decompress(&z, raw.bytes.len() as u32, dict).unwrap();
        assert_eq!(back.bytes, raw.bytes);
        let view = BlockView::decode(&back.bytes).unwrap();
        for (i, a) in rows.iter().enumerate() {
            assert_eq!(&view.account(i), a);
        }
    }
    // A block compressed with a dictionary does not inflate without it.
    let z = block::compress(&raw, Some(&dictionary));
    let without = block::decompress(&z, raw.bytes.len() as u32, None);
    assert!(without.map(|r| r.bytes != raw.bytes).unwrap_or(true));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_payloads_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        thread_local!(static RAW: Vec<u8> = raw_block().bytes);
        let mut bytes = RAW.with(Clone::clone);
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let Ok(view) = BlockView::decode(&bytes) {
            for i in 0..view.rows() {
                let a = view.account(i);
                prop_assert_eq!(a.id.as_str(), view.id(i));
            }
        }
    }

    #[test]
    fn random_compressed_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), raw_len in 0u32..100_000) {
        let _ = block::decompress(&bytes, raw_len, None);
    }
}
