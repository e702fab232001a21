//! Index terms: the 8-byte keys a record or a stub is found by.
//!
//! Owns the key layout of the search index, in disjoint spaces told apart by
//! the first byte:
//!
//! | first byte | space | rest of the key |
//! |---|---|---|
//! | `0x01` | inside an ideographic run ([`INNER`]) | the run from its 2nd, 3rd, … character: first 7 bytes of UTF-16BE (3½ characters) |
//! | `0x02` | phone number ([`PHONE`]) | national number, 14 digits as nibbles `digit + 1` |
//! | `0x03` | attribute equality ([`ATTR`]) | field byte, 48-bit hash of the exact value |
//! | `0x04` | day of a date ([`DAY`]) | field byte, UTC day + 2³¹ as 4 bytes big-endian, 2 zero bytes |
//! | `0x05` | ideographic run ([`IDEO`]) | the run's first 7 bytes of UTF-16BE (3½ characters) |
//! | `0x30`… | word ([`word_key`]) | a folded word's first 8 bytes |
//!
//! Keys are zero-padded and compared big-endian, so the keys of the words
//! starting with `q` form one range: `q` padded with zeros up to `q` padded
//! with `0xff` bytes. Folded words are letters and digits, never below `0x30`,
//! so word keys never meet the other spaces. Ideographs take 3 bytes in UTF-8
//! but 2 in UTF-16, so their keys use UTF-16 to hold 3 characters.
//!
//! A key holds only the start of a term: words that agree on their first 8
//! bytes (3 ideographs, 14 digits) share a key. Search compares what keys
//! hold and nothing more (it never reads a record), so a longer query matches
//! on its first 8 bytes, and a longer ideographic query on each of its
//! 3-character pieces.
//!
//! Invariant: the terms of a value depend on nothing but the value, so the
//! postings written for a record are exactly the ones removed with it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::fold::{fold_words, phone_digits, Script};
use crate::index::tag_of;
use crate::model::Account;

/// Key space of the inside of ideographic runs (substring search).
pub const INNER: u8 = 0x01;
/// Key space of phone numbers.
pub const PHONE: u8 = 0x02;
/// Key space of attribute values (territory, owner, stage, tag).
pub const ATTR: u8 = 0x03;
/// Key space of dates by day (next visit, last contact).
pub const DAY: u8 = 0x04;
/// Key space of ideographic runs (from their first character).
pub const IDEO: u8 = 0x05;

/// Characters of ideographic text a key holds in full.
pub const IDEO_KEY_CHARS: usize = 3;

/// Attribute field codes within [`ATTR`].
pub mod attr {
    /// Sales territory.
    pub const TERRITORY: u8 = 1;
    /// Owner (rep id).
    pub const OWNER: u8 = 2;
    /// Pipeline stage.
    pub const STAGE: u8 = 3;
    /// Tag.
    pub const TAG: u8 = 4;
}

/// Date field codes within [`DAY`].
pub mod day {
    /// Next planned visit.
    pub const NEXT_VISIT: u8 = 1;
    /// Last contact.
    pub const LAST_CONTACT: u8 = 2;
}

/// Targets at or above this are stubs: `STUB | tag_of(id)`.
pub const STUB: u64 = 1 << 32;

/// Most postings one record adds; words past it are not indexed.
pub const MAX_TERMS: usize = 96;

/// Longest ideographic run whose inside is indexed, in characters.
const MAX_INNER_CHARS: usize = 24;

/// Seconds per day.
const DAY_SECONDS: i64 = 86_400;

/// The target of `id`'s stub.
pub fn stub_target(id: &str) -> u64 {
    STUB | u64::from(tag_of(id))
}

/// `prefix` then as much of `bytes` as fits in 8 bytes, as a key.
fn pack(prefix: &[u8], bytes: &[u8]) -> u64 {
    let mut key = [0u8; 8];
    key[..prefix.len()].copy_from_slice(prefix);
    let n = bytes.len().min(8 - prefix.len());
    key[prefix.len()..prefix.len() + n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(key)
}

/// The key of a folded word (its first 8 bytes).
pub fn word_key(folded: &str) -> u64 {
    pack(&[], folded.as_bytes())
}

/// The key of ideographic text `text` in `space` ([`IDEO`] or [`INNER`]),
/// and how many of its bytes hold `text` (up to 7).
pub fn ideo_key(space: u8, text: &str) -> (u64, usize) {
    let mut bytes = [0u8; 8];
    let mut n = 0;
    for unit in text.encode_utf16() {
        for b in unit.to_be_bytes() {
            if n < 7 {
                bytes[n] = b;
                n += 1;
            }
        }
    }
    (pack(&[space], &bytes[..n]), n)
}

/// Digits as nibbles `digit + 1` (so that a shorter number sorts first).
pub fn phone_key(digits: &str) -> u64 {
    let mut key = [0u8; 8];
    key[0] = PHONE;
    for (i, d) in digits.bytes().take(14).enumerate() {
        let nibble = d.wrapping_sub(b'0') + 1;
        key[1 + i / 2] |= if i % 2 == 0 { nibble << 4 } else { nibble };
    }
    u64::from_be_bytes(key)
}

/// The key of attribute `field` having exactly `value`.
pub fn attr_key(field: u8, value: &str) -> u64 {
    // FNV-1a, 64 bits, cut to 48: stable across machines and versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in value.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    u64::from(ATTR) << 56 | u64::from(field) << 48 | (h & 0xffff_ffff_ffff)
}

/// The key of date `field` falling on the UTC day of `t`.
pub fn day_key(field: u8, t: i64) -> u64 {
    let day = t
        .div_euclid(DAY_SECONDS)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    let biased = (day - i64::from(i32::MIN)) as u64;
    u64::from(DAY) << 56 | u64::from(field) << 48 | biased << 16
}

/// The smallest and largest key of a prefix `lo` of `len` bytes.
pub fn prefix_range(lo: u64, len: usize) -> (u64, u64) {
    prefix_range_bits(lo, 8 * len.min(8) as u32)
}

/// The smallest and largest key that agree with `lo` on its first `bits` bits.
pub fn prefix_range_bits(lo: u64, bits: u32) -> (u64, u64) {
    let tail_bits = 64 - bits.min(64);
    let tail = if tail_bits == 64 {
        u64::MAX
    } else {
        (1u64 << tail_bits) - 1
    };
    (lo & !tail, lo | tail)
}

/// Calls `each(key)` for the words of `text`: the word's key, and for an
/// ideographic run also the keys of its inside.
fn text_terms(text: &str, buf: &mut String, each: &mut impl FnMut(u64)) {
    fold_words(text, buf, |w, script, _, _| {
        if script == Script::Alphabetic {
            each(word_key(w));
            return;
        }
        each(ideo_key(IDEO, w).0);
        for (n, (at, _)) in w.char_indices().enumerate().skip(1) {
            if n >= MAX_INNER_CHARS {
                break;
            }
            each(ideo_key(INNER, &w[at..]).0);
        }
    });
}

/// The keys of a record, sorted and without repeats (at most [`MAX_TERMS`]).
pub fn record_terms(a: &Account, out: &mut Vec<u64>) {
    out.clear();
    let mut buf = String::new();
    let mut push = |k: u64| {
        if out.len() < MAX_TERMS {
            out.push(k)
        }
    };
    // Attributes and dates first, so that a flood of words cannot crowd out
    // what filters need.
    for (field, value) in [
        (attr::TERRITORY, &a.territory),
        (attr::OWNER, &a.owner),
        (attr::STAGE, &a.stage),
    ] {
        if !value.is_empty() {
            push(attr_key(field, value));
        }
    }
    for tag in a.tags.iter().take(8) {
        push(attr_key(attr::TAG, tag));
    }
    if let Some(t) = a.next_visit {
        push(day_key(day::NEXT_VISIT, t));
    }
    if let Some(t) = a.last_contact {
        push(day_key(day::LAST_CONTACT, t));
    }
    phone_digits(&a.phone, &mut buf);
    if !buf.is_empty() {
        push(phone_key(&buf));
    }
    // An e-mail address is typed from its start: its local part is indexed,
    // the domain (a near-unique slug per company) is not.
    let local_part = a.email.split('@').next().unwrap_or("");
    for text in [&a.name, &a.company, &a.address.city, local_part] {
        text_terms(text, &mut buf, &mut push);
    }
    out.sort_unstable();
    out.dedup();
}

/// Most bytes removing a posting of `key` can add to its index page
/// ([`crate::termindex::removal_growth`]): none for words and phone numbers,
/// whose keys never have a zero byte before a non-zero one, which that
/// growth needs in the next key of the same space.
pub fn removal_growth(key: u64) -> usize {
    let space = (key >> 56) as u8;
    if space == PHONE || space >= b'0' {
        0
    } else {
        crate::termindex::removal_growth(key)
    }
}

/// The keys of a stub: the words of its name.
pub fn stub_terms(name: &str, out: &mut Vec<u64>) {
    out.clear();
    let mut buf = String::new();
    text_terms(name, &mut buf, &mut |k| {
        if out.len() < MAX_TERMS {
            out.push(k)
        }
    });
    out.sort_unstable();
    out.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_keys_of_a_prefix_form_one_range() {
        let (lo, hi) = prefix_range(word_key("as"), 2);
        for w in ["as", "asa", "astrom", "aszzzzzzzzz"] {
            let k = word_key(w);
            assert!(lo <= k && k <= hi, "{w}");
        }
        for w in ["ar", "at", "a", "b"] {
            let k = word_key(w);
            assert!(!(lo <= k && k <= hi), "{w}");
        }
    }

    #[test]
    fn spaces_do_not_meet() {
        let word_lo = word_key("0");
        for k in [
            ideo_key(INNER, "华强").0,
            ideo_key(IDEO, "深圳华强").0,
            phone_key("81234567"),
            attr_key(attr::TAG, "vip"),
            day_key(day::NEXT_VISIT, -5_000_000_000),
        ] {
            assert!(k < word_lo);
        }
        assert!(day_key(day::NEXT_VISIT, 0) < day_key(day::NEXT_VISIT, 86_400));
        assert!(day_key(day::NEXT_VISIT, -1) < day_key(day::NEXT_VISIT, 0));
        assert_eq!(
            day_key(day::NEXT_VISIT, 10),
            day_key(day::NEXT_VISIT, 86_399)
        );
    }

    #[test]
    fn phone_prefixes_are_key_prefixes() {
        let full = phone_key("81234567");
        let (lo, hi) = prefix_range_bits(phone_key("812"), 8 + 3 * 4);
        assert!(lo <= full && full <= hi);
        let other = phone_key("81334567");
        assert!(!(lo <= other && other <= hi));
        assert!(phone_key("8") < phone_key("80"));
    }

    #[test]
    fn a_record_yields_sorted_unique_terms() {
        let a = Account {
            name: "Anna Svensson".into(),
            email: "anna.svensson@acme.se".into(),
            company: "深圳华强".into(),
            ..Default::default()
        };
        let mut t = Vec::new();
        record_terms(&a, &mut t);
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        assert!(t.contains(&word_key("anna")));
        assert!(t.contains(&ideo_key(INNER, "华强").0));
        assert!(t.contains(&ideo_key(INNER, "强").0));
        assert!(t.contains(&ideo_key(IDEO, "深圳华强").0));
        assert_eq!(ideo_key(IDEO, "深圳华强"), ideo_key(IDEO, "深圳华强电子"));
        assert_ne!(ideo_key(IDEO, "深圳华"), ideo_key(IDEO, "深圳华强"));
    }
}
