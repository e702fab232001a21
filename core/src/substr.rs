//! Finding and replacing a literal piece of text, byte by byte.
//!
//! Owns [`contains`], [`count`] and [`replace`] for the few literal needles
//! core looks for: `{}`, `{id}` and `{since}` in a profile's templates,
//! `rel="next"` in a Link header, the escapes of a JSON pointer, a folded
//! word inside a folded name. std's `&str` patterns would do the same through
//! its Two-Way searcher, about 2 KB of the wasm module for needles of a few
//! bytes.
//!
//! Invariant: each function gives what its `str` counterpart gives
//! (`str::contains`, `str::matches(..).count()`, `str::replace`) for a
//! non-empty needle; with an empty needle `contains` is true and the others
//! leave the text as it is (0 matches).

use alloc::string::String;

/// Where `needle` (not empty) next starts in `hay` at or after byte `from`.
fn find_from(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (from..=h.len() - n.len()).find(|&i| h[i..].starts_with(n))
}

/// True when `needle` occurs in `hay` (always, for an empty needle).
pub fn contains(hay: &str, needle: &str) -> bool {
    needle.is_empty() || find_from(hay, needle, 0).is_some()
}

/// How many times `needle` occurs in `hay`, not overlapping.
pub fn count(hay: &str, needle: &str) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = find_from(hay, needle, at) {
        n += 1;
        at = i + needle.len();
    }
    n
}

/// `hay` with every (non-overlapping) `needle` replaced by `with`.
pub fn replace(hay: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(hay.len());
    let mut at = 0;
    while let Some(i) = find_from(hay, needle, at) {
        // `i` and `i + needle.len()` are char boundaries: the needle is whole UTF-8.
        out.push_str(&hay[at..i]);
        out.push_str(with);
        at = i + needle.len();
    }
    out.push_str(&hay[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Texts and needles from a small alphabet, so needles often occur,
        /// overlap and touch multi-byte characters.
        #[test]
        fn agrees_with_std(hay in "[ab~01/{}é]{0,12}", needle in "[ab~01/{}é]{1,3}", with in "[x/é]{0,2}") {
            prop_assert_eq!(contains(&hay, &needle), hay.contains(needle.as_str()));
            prop_assert_eq!(count(&hay, &needle), hay.matches(needle.as_str()).count());
            prop_assert_eq!(replace(&hay, &needle, &with), hay.replace(needle.as_str(), &with));
        }
    }

    #[test]
    fn an_empty_needle_is_contained_and_replaces_nothing() {
        assert!(contains("ab", ""));
        assert_eq!(count("ab", ""), 0);
        assert_eq!(replace("ab", "", "x"), "ab");
    }
}
