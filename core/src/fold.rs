//! Search folding: the one place that decides when two spellings are "the
//! same" for search ("astrom" finds "Åström", "strasse" finds "Straße",
//! "ＡＢＣ" finds "ABC").
//!
//! Owns [`fold_words`]: text → words of folded characters, by compatibility
//! decomposition (NFKD, so the result is the NFKC form with its marks
//! removed), combining marks dropped, full lowercase, and the few letters that
//! decomposition does not take apart (ß → ss, æ → ae, ø → o, ł → l, …).
//! A word is a run of letters and digits; a run of ideographic script (Han,
//! kana, Hangul) is a word of its own, since those languages write no spaces.
//! Everything else (spaces, punctuation, `<`, `&`, control characters) only
//! separates words, so a query of HTML or control characters is just text.
//!
//! Invariant: folding is a pure function of the text; the index and the query
//! go through the same function, so they always agree.

use alloc::string::String;

use crate::fold_table::{LEN, OPS, POOL, RUNS};

/// What kind of run a folded word is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// Letters and digits of alphabetic scripts, written with spaces between words.
    Alphabetic,
    /// Han, kana or Hangul: searched by substring, since words are not spaced.
    Ideographic,
}

/// True for characters of scripts written without spaces between words.
pub fn is_ideographic(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0x20000..=0x3134F // CJK extensions B–G
    )
}

/// Calls `each(c)` with the folded characters of `c` (none for a mark).
///
/// Non-ASCII characters are looked up in [`crate::fold_table`], generated
/// from unicode-normalization's NFKD and std's lowercase by this module's
/// tests, which check every code point against that reference. The table is
/// about a fifth of the library's tables, and the wasm module ships it to
/// every handheld.
fn fold_char(c: char, each: &mut impl FnMut(char)) {
    if c.is_ascii() {
        each(c.to_ascii_lowercase());
        return;
    }
    let code = c as u32;
    if let Some(jamo) = hangul_jamo(code) {
        jamo.into_iter().flatten().for_each(each);
        return;
    }
    // The first run that starts after `code` (a binary search: the table is
    // kept as byte planes, see `fold_table`, so there is no `[u32]` to
    // `partition_point` over).
    let (mut lo, mut hi) = (0, LEN);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry(&RUNS, mid) & RUN_START <= code {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let Some(i) = lo.checked_sub(1) else {
        return each(c);
    };
    let run = entry(&RUNS, i);
    let (start, len) = (run & RUN_START, (run >> 21) + 1);
    if code >= start + len {
        return each(c);
    }
    let op = entry(&OPS, i);
    let payload = op & OP_PAYLOAD;
    match op >> 30 {
        OP_DELETE => {}
        OP_CONST => each(char::from_u32(payload).unwrap_or(c)),
        OP_SHIFT => each(char::from_u32((code + payload).wrapping_sub(SHIFT_BIAS)).unwrap_or(c)),
        _ => {
            let (at, len) = ((payload >> 8) as usize, (payload & 0xff) as usize);
            POOL.get(at..at + len)
                .unwrap_or_default()
                .chars()
                .for_each(each);
        }
    }
}

/// Entry `i` of a table kept as four byte planes, least significant first.
fn entry(planes: &[[u8; LEN]; 4], i: usize) -> u32 {
    u32::from_le_bytes([planes[0][i], planes[1][i], planes[2][i], planes[3][i]])
}

/// Bits of a run entry holding its first code point (the rest: length − 1).
const RUN_START: u32 = 0x1F_FFFF;
/// Bits of an op holding its payload (the top two: its kind).
const OP_PAYLOAD: u32 = (1 << 30) - 1;
/// Every character of the run folds to nothing (combining marks).
const OP_DELETE: u32 = 0;
/// Every character of the run folds to the payload's character.
const OP_CONST: u32 = 1;
/// Each character folds to itself plus `payload − SHIFT_BIAS`.
const OP_SHIFT: u32 = 2;
/// A run of one character folding to `POOL[payload >> 8 ..][.. payload & 0xff]`.
#[cfg(test)]
const OP_POOL: u32 = 3;
/// Added to a shift so that it is never negative.
const SHIFT_BIAS: u32 = 1 << 21;

/// The conjoining jamo a precomposed Hangul syllable decomposes into
/// (Unicode's algorithm, so the table need not list 11,172 syllables).
fn hangul_jamo(code: u32) -> Option<[Option<char>; 3]> {
    const S_BASE: u32 = 0xAC00;
    const T_COUNT: u32 = 28;
    const N_COUNT: u32 = 21 * T_COUNT;
    let s = code.checked_sub(S_BASE).filter(|&s| s < 19 * N_COUNT)?;
    let t = s % T_COUNT;
    Some([
        char::from_u32(0x1100 + s / N_COUNT),
        char::from_u32(0x1161 + (s % N_COUNT) / T_COUNT),
        (t != 0).then(|| char::from_u32(0x11A7 + t)).flatten(),
    ])
}

/// Splits `text` into folded words and calls `word(folded, script, start,
/// end)` for each, where `start..end` is the word's byte range in `text`
/// (for highlighting). `buf` is scratch space, reused between words.
pub fn fold_words(text: &str, buf: &mut String, mut word: impl FnMut(&str, Script, usize, usize)) {
    buf.clear();
    // The open word: its script and where it started in `text`.
    let mut run: Option<(Script, usize)> = None;
    // Where the last character that folded to something ended.
    let mut end = 0;
    for (at, c) in text.char_indices() {
        fold_char(c, &mut |f| {
            let script = if is_ideographic(f) {
                Some(Script::Ideographic)
            } else if f.is_alphanumeric() {
                Some(Script::Alphabetic)
            } else {
                None
            };
            match (run, script) {
                (Some((s, _)), Some(t)) if s == t => buf.push(f),
                (open, next) => {
                    if let Some((s, start)) = open {
                        word(buf, s, start, end);
                        buf.clear();
                    }
                    run = next.map(|t| (t, at));
                    if next.is_some() {
                        buf.push(f);
                    }
                }
            }
        });
        if run.is_some() {
            // A mark folds to nothing and still belongs to the word it is in.
            end = at + c.len_utf8();
        }
    }
    if let Some((s, start)) = run {
        word(buf, s, start, end);
    }
}

/// The folded words of `text`, joined by single spaces (for tests and tools).
pub fn fold(text: &str) -> String {
    let mut out = String::new();
    let mut buf = String::new();
    fold_words(text, &mut buf, |w, _, _, _| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    });
    out
}

/// Calling codes of the E.164 plan that are one or two digits long; all others
/// are three. The plan is prefix-free, so this decides the length.
const SHORT_CALLING_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// The national significant number of a phone number as typed: its digits,
/// without the international prefix and calling code (`+46 …`, `0046 …`), the
/// `(0)` some write after it, or the national trunk `0`. So `08-123 45 67` and
/// `+46 8 123 45 67` both give `81234567`. Labels and punctuation are ignored.
/// Returns the digits written to `out` (cleared first); at most 32 are kept.
pub fn phone_digits(text: &str, out: &mut String) {
    out.clear();
    let international = text.trim_start().starts_with('+');
    for c in text.chars().filter(char::is_ascii_digit) {
        if out.len() < 32 {
            out.push(c);
        }
    }
    let mut skip = 0;
    if international || out.starts_with("00") {
        if !international {
            skip = 2;
        }
        let rest = &out[skip..];
        let code = SHORT_CALLING_CODES
            .iter()
            .find(|c| rest.starts_with(**c))
            .map_or(3, |c| c.len());
        skip += code.min(rest.len());
        // "+44 (0)20 …": the bracketed trunk zero is not dialled from abroad.
        if crate::substr::contains(text, "(0)") && out[skip..].starts_with('0') {
            skip += 1;
        }
    } else if out.starts_with('0') {
        skip = 1;
    }
    out.drain(..skip);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// What the table stands for: compatibility decomposition, marks
    /// dropped, full lowercase, and the letters decomposition leaves whole.
    fn reference_fold_char(c: char, each: &mut impl FnMut(char)) {
        use unicode_normalization::char::{decompose_compatible, is_combining_mark};
        /// Letters that compatibility decomposition leaves whole but a reader
        /// treats as their base letters.
        fn special(c: char) -> Option<&'static str> {
            Some(match c {
                'ß' | 'ẞ' => "ss",
                'æ' | 'Æ' => "ae",
                'œ' | 'Œ' => "oe",
                'ø' | 'Ø' => "o",
                'đ' | 'Đ' | 'ð' | 'Ð' => "d",
                'ł' | 'Ł' => "l",
                'þ' | 'Þ' => "th",
                'ı' => "i",
                'ħ' | 'Ħ' => "h",
                'ŧ' | 'Ŧ' => "t",
                'ŋ' | 'Ŋ' => "n",
                'ς' => "σ",
                _ => return None,
            })
        }
        if c.is_ascii() {
            each(c.to_ascii_lowercase());
            return;
        }
        decompose_compatible(c, |d| {
            if is_combining_mark(d) {
                return;
            }
            if let Some(s) = special(d) {
                s.chars().for_each(&mut *each);
                return;
            }
            for l in d.to_lowercase() {
                if is_combining_mark(l) {
                    continue; // 'İ' lowercases to "i\u{307}"
                }
                match special(l) {
                    Some(s) => s.chars().for_each(&mut *each),
                    None => each(l),
                }
            }
        });
    }

    fn folded(c: char, f: fn(char, &mut dyn FnMut(char))) -> Vec<char> {
        let mut out = Vec::new();
        f(c, &mut |x| out.push(x));
        out
    }

    fn all_chars() -> impl Iterator<Item = char> {
        (0..=0x10FFFFu32).filter_map(char::from_u32)
    }

    #[test]
    fn the_table_folds_every_code_point_as_the_reference_does() {
        let mut differ = 0;
        for c in all_chars() {
            let got = folded(c, |c, e| fold_char(c, &mut |x| e(x)));
            let want = folded(c, |c, e| reference_fold_char(c, &mut |x| e(x)));
            if got != want {
                differ += 1;
                assert!(differ < 10, "U+{:04X}: {got:?} != {want:?}", c as u32);
            }
        }
        assert_eq!(
            differ, 0,
            "regenerate: SATCHEL_BLESS=1 cargo test -p satchel-core --lib fold"
        );
    }

    /// Writes `fold_table.rs` from the reference when `SATCHEL_BLESS=1`.
    #[test]
    fn generate_the_table() {
        if std::env::var_os("SATCHEL_BLESS").is_none() {
            return;
        }
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        let mut pool = String::new();
        for c in all_chars().filter(|&c| !c.is_ascii() && hangul_jamo(c as u32).is_none()) {
            let code = c as u32;
            let f = folded(c, |c, e| reference_fold_char(c, &mut |x| e(x)));
            if f == [c] {
                continue;
            }
            // Extend the last run when this character continues it.
            if let Some(last) = runs.last_mut() {
                let (start, len, op) = *last;
                let next = start + len == code && len < 2048;
                let kind = op >> 30;
                let fits = match (kind, f.as_slice()) {
                    (OP_DELETE, []) => true,
                    (OP_CONST, [x]) => *x as u32 == op & OP_PAYLOAD,
                    (OP_SHIFT, [x]) => {
                        (code + (op & OP_PAYLOAD)).wrapping_sub(SHIFT_BIAS) == *x as u32
                    }
                    _ => false,
                };
                // A one-character run of a single letter can still become
                // a shift (its op was written as a constant).
                let becomes_shift = kind == OP_CONST
                    && len == 1
                    && matches!(f.as_slice(), [x] if (*x as u32).wrapping_sub(code)
                        == (op & OP_PAYLOAD).wrapping_sub(start));
                if next && fits {
                    last.1 += 1;
                    continue;
                }
                if next && becomes_shift {
                    let d = (op & OP_PAYLOAD) + SHIFT_BIAS - start;
                    *last = (start, 2, OP_SHIFT << 30 | d);
                    continue;
                }
            }
            let op = match f.as_slice() {
                [] => OP_DELETE << 30,
                [x] => OP_CONST << 30 | *x as u32,
                many => {
                    let s: String = many.iter().collect();
                    let at = pool.find(s.as_str()).unwrap_or_else(|| {
                        pool.push_str(&s);
                        pool.len() - s.len()
                    });
                    assert!(s.len() < 256 && at < 1 << 22);
                    OP_POOL << 30 | (at as u32) << 8 | s.len() as u32
                }
            };
            runs.push((code, 1, op));
        }
        let mut src = String::from(
            "//! Generated by `SATCHEL_BLESS=1 cargo test -p satchel-core --lib fold` from\n\
             //! unicode-normalization's NFKD and std's lowercase (see `fold.rs`); do not edit.\n\
             //!\n\
             //! Runs of non-ASCII code points that do not fold to themselves, sorted.\n\
             //! Run `i` is the first code point | (length − 1) << 21, and its op what\n\
             //! its characters fold to; both are `u32`s stored as four byte planes, least\n\
             //! significant first (`RUNS[k][i]` is byte `k` of run `i`): gzip packs planes\n\
             //! of similar bytes far tighter than interleaved words (the `.wasm` download).\n\n",
        );
        // Byte planes, not `[u32]`: 15.8 KB gzip as words, 10.1 KB as planes.
        let planes = |name: &str, values: &[u32], src: &mut String| {
            src.push_str(&alloc::format!(
                "#[rustfmt::skip]\npub(crate) static {name}: [[u8; LEN]; 4] = [\n"
            ));
            for k in 0..4 {
                src.push_str("    [\n");
                for line in values.chunks(16) {
                    src.push_str("       ");
                    for v in line {
                        src.push_str(&alloc::format!(" 0x{:02x},", (v >> (8 * k)) & 0xff));
                    }
                    src.push('\n');
                }
                src.push_str("    ],\n");
            }
            src.push_str("];\n\n");
        };
        let words: Vec<u32> = runs.iter().map(|r| r.0 | (r.1 - 1) << 21).collect();
        let ops: Vec<u32> = runs.iter().map(|r| r.2).collect();
        src.push_str(&alloc::format!(
            "pub(crate) const LEN: usize = {};\n\n",
            runs.len()
        ));
        planes("RUNS", &words, &mut src);
        planes("OPS", &ops, &mut src);
        src.push_str(&alloc::format!(
            "pub(crate) static POOL: &str = {pool:?};\n"
        ));
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/fold_table.rs");
        std::fs::write(path, src).unwrap();
    }

    #[test]
    fn folds_diacritics_case_and_compatibility_forms() {
        assert_eq!(fold("Åström"), "astrom");
        assert_eq!(fold("Müller & Söhne"), "muller sohne");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("STRASSE"), "strasse");
        assert_eq!(fold("Ｍüｌｌｅｒ"), "muller");
        assert_eq!(fold("ﬁsk"), "fisk");
        assert_eq!(fold("Øresund Lødingen Łódź"), "oresund lodingen lodz");
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("François"), "francois");
    }

    #[test]
    fn ideographic_runs_are_words_of_their_own() {
        let mut words = Vec::new();
        let mut buf = String::new();
        fold_words("深圳华强电子 Co.,Ltd", &mut buf, |w, s, a, b| {
            words.push((String::from(w), s, a, b))
        });
        assert_eq!(words[0].0, "深圳华强电子");
        assert_eq!(words[0].1, Script::Ideographic);
        assert_eq!((words[0].2, words[0].3), (0, 18));
        assert_eq!(words[1].0, "co");
        assert_eq!(words[2].0, "ltd");
        assert_eq!(fold("华强abc电子"), "华强 abc 电子");
    }

    #[test]
    fn markup_and_control_characters_only_separate_words() {
        assert_eq!(
            fold("<b>O'Brien</b> &amp;\u{0}\u{7}Sons"),
            "b o brien b amp sons"
        );
        assert_eq!(fold("<>&\"'\u{1b}"), "");
    }

    #[test]
    fn word_ranges_point_into_the_original_text() {
        let text = "Åsa  Ström";
        let mut buf = String::new();
        let mut ranges = Vec::new();
        fold_words(text, &mut buf, |_, _, a, b| ranges.push(&text[a..b]));
        assert_eq!(ranges, ["Åsa", "Ström"]);
    }

    #[test]
    fn phone_numbers_reduce_to_the_national_number() {
        let mut d = String::new();
        for (typed, want) in [
            ("08-123 45 67", "81234567"),
            ("+46 8 123 45 67", "81234567"),
            ("0046 8 123 45 67", "81234567"),
            ("+44 (0)20 7946 0958", "2079460958"),
            ("020 7946 0958", "2079460958"),
            ("(415) 555-0134", "4155550134"),
            ("+1 415 555 0134", "4155550134"),
            ("Tel: 0755-8888 1234", "75588881234"),
            ("+86 755 8888 1234", "75588881234"),
            ("+353 1 234 5678", "12345678"),
        ] {
            phone_digits(typed, &mut d);
            assert_eq!(d, want, "{typed}");
        }
    }
}
