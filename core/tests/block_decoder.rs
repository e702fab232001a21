//! The block decoder on hostile input: mutated payloads and random compressed
//! bytes never panic, and whatever decodes can be read row by row. A card
//! (the first sections only) agrees with the row's account.

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use satchel_core::block::{self, BlockView};
use satchel_core::dictionary::Dictionary;
use satchel_core::model::{Account, Card};

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

#[test]
fn a_card_is_its_accounts_who_and_where_from_the_first_sections_alone() {
    let rows = sample_rows();
    let raw = raw_block();
    let dictionary = Dictionary::train(&[block::encode_raw(&[(9, &rows[3])])]);
    for dict in [None, Some(&dictionary)] {
        let z = block::compress(&raw, dict);
        let part = block::decompress_card_sections(&z, raw.bytes.len() as u32, dict).unwrap();
        // Only the card's sections were inflated, and they are the payload's.
        assert!(
            part.bytes.len() < raw.bytes.len() / 2,
            "{} of {}",
            part.bytes.len(),
            raw.bytes.len()
        );
        for k in 0..block::MAX_SECTIONS {
            let wanted = block::CARD_SECTIONS & (1 << k) != 0;
            let want: &[u8] = if wanted { raw.section(k) } else { &[] };
            assert_eq!(part.section(k), want, "section {k}");
        }
        for (i, a) in rows.iter().enumerate() {
            assert_eq!(
                block::card_of_sections(&part, i).unwrap(),
                Card::of(a),
                "row {i}"
            );
            assert_eq!(
                block::card_of_sections(&raw, i).unwrap(),
                Card::of(a),
                "row {i}"
            );
        }
        assert!(block::card_of_sections(&part, rows.len()).is_err());
    }
    // Every cut short of the card's sections is refused, not misread.
    let part =
        block::decompress_card_sections(&block::compress(&raw, None), raw.bytes.len() as u32, None)
            .unwrap();
    for cut in 0..part.cuts[3] {
        let mut short = block::RawBlock {
            bytes: part.bytes[..cut].to_vec(),
            cuts: part.cuts,
            sections: part.sections,
        };
        short.cuts.iter_mut().for_each(|c| *c = (*c).min(cut));
        assert!(block::card_of_sections(&short, 0).is_err(), "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_payloads_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        thread_local!(static RAW: block::RawBlock = raw_block());
        let (mut bytes, cuts, sections) = RAW.with(|r| (r.bytes.clone(), r.cuts, r.sections));
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let as_sections = block::RawBlock { bytes: bytes.clone(), cuts, sections };
        for i in 0..16 {
            let _ = block::card_of_sections(&as_sections, i);
        }
        if let Ok(view) = BlockView::decode(&bytes) {
            for i in 0..view.rows() {
                let a = view.account(i);
                prop_assert_eq!(a.id.as_str(), view.id(i));
                // What the whole view accepts, the card reads alike.
                // (Its cuts are the unmutated ones: it may refuse, not misread.)
                if let Ok(card) = block::card_of_sections(&as_sections, i) {
                    prop_assert_eq!(card, Card::of(&a));
                }
            }
        }
    }

    #[test]
    fn random_compressed_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), raw_len in 0u32..100_000) {
        let _ = block::decompress(&bytes, raw_len, None);
        if let Ok(part) = block::decompress_card_sections(&bytes, raw_len, None) {
            let _ = block::card_of_sections(&part, 0);
        }
    }
}
