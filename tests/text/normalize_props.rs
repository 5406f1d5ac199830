//! Property tests for English text normalization: never panics, deterministic, emits only
//! speakable characters (digits only inside `[[ ... ]]` phoneme spans, which pass through
//! unchanged), and stays linear on very long lines.
use audioby::text::normalize::normalize;
use proptest::prelude::*;
use std::time::Instant;

use crate::work::assert_linear;

const PUNCT: &str = " .,;:?!'\"-()";

/// Checks the speakable-output contract; returns the offending character on failure.
fn unspeakable(out: &str) -> Option<char> {
    let mut rest = out;
    loop {
        let (plain, next) = match rest.find("[[") {
            Some(a) => match rest[a + 2..].find("]]") {
                Some(b) => (&rest[..a], Some(&rest[a + 2 + b + 2..])),
                None => (rest, None),
            },
            None => (rest, None),
        };
        if let Some(c) = plain
            .chars()
            .find(|&c| !((c.is_alphabetic() && !c.is_numeric()) || PUNCT.contains(c)))
        {
            return Some(c);
        }
        match next {
            Some(n) => rest = n,
            None => return None,
        }
    }
}

/// Realistic-looking noisy news text: fragments full of numbers, symbols and abbreviations.
fn newsy() -> impl Strategy<Value = String> {
    let frag = prop_oneof![
        Just("$1.2bn".to_string()),
        Just("600,000-soldier".to_string()),
        Just("3:30 p.m.".to_string()),
        Just("Nov. 25, 2026".to_string()),
        Just("(555) 123-4567".to_string()),
        Just("+1".to_string()),
        Just("World War II".to_string()),
        Just("Dr.".to_string()),
        Just("St.".to_string()),
        Just("U.S.".to_string()),
        Just("NATO's".to_string()),
        Just("#tag".to_string()),
        Just("@handle".to_string()),
        Just("https://x.io/a?b=c".to_string()),
        Just("½".to_string()),
        Just("https://".to_string()),
        Just("www.".to_string()),
        Just("€".to_string()),
        Just("é".to_string()),
        Just("–".to_string()),
        Just("—".to_string()),
        Just("“".to_string()),
        Just("’".to_string()),
        Just("[[ h @ l o 1 ]]".to_string()),
        Just("[[".to_string()),
        Just("]]".to_string()),
        Just("5%".to_string()),
        Just("-".to_string()),
        Just("1/2".to_string()),
        Just("°C".to_string()),
        // Standalone shapes of issue 17's second batch.
        Just("6'2\"".to_string()),
        Just("0900 GMT".to_string()),
        Just("1-800-FLOWERS".to_string()),
        Just("+44 (0)20 7946".to_string()),
        Just("June 28–July 2,".to_string()),
        Just("Mon.–Fri.".to_string()),
        Just("10 a.m.-2 p.m.".to_string()),
        Just("E. 14th St.".to_string()),
        Just("P.O. Box".to_string()),
        Just("12 in.".to_string()),
        "[0-9]{1,40}",
        "[0-9,.:/x%$£€-]{1,12}",
        "[A-Za-z]{1,8}",
        "[IVXLCDM]{1,6}",
        "\\PC{0,6}",
    ];
    let sep = prop_oneof![Just(" "), Just(""), Just("-"), Just("/"), Just(".")];
    prop::collection::vec((frag, sep), 0..25).prop_map(|v| {
        v.into_iter()
            .map(|(f, s)| format!("{f}{s}"))
            .collect::<String>()
    })
}

proptest! {
    // 512 cases by default; PROPTEST_CASES raises it for a longer fuzzing run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn arbitrary_unicode_is_safe_and_deterministic(s in "\\PC{0,200}") {
        let a = normalize(&s);
        let b = normalize(&s);
        prop_assert_eq!(&a, &b);
        prop_assert!(unspeakable(&a).is_none(), "unspeakable {:?} in {:?} (input {:?})", unspeakable(&a), a, s);
    }

    #[test]
    fn any_chars_including_controls(s in ".{0,120}") {
        let a = normalize(&s);
        prop_assert!(unspeakable(&a).is_none(), "unspeakable {:?} in {:?}", unspeakable(&a), a);
    }

    #[test]
    fn newsy_text_is_speakable(s in newsy()) {
        let a = normalize(&s);
        prop_assert_eq!(&a, &normalize(&s));
        prop_assert!(unspeakable(&a).is_none(), "unspeakable {:?} in {:?} (input {:?})", unspeakable(&a), a, s);
    }

    #[test]
    fn phoneme_spans_pass_through(before in "[a-z0-9 ]{0,20}", span in "[a-zA-Z0-9ˈəɪ @.]{0,20}", after in "[a-z0-9 ]{0,20}") {
        let s = format!("{before} [[{span}]] {after}");
        let out = normalize(&s);
        let want = format!("[[{span}]]");
        prop_assert!(out.contains(&want), "span {:?} not preserved in {:?}", want, out);
    }
}

#[test]
fn huge_numbers_do_not_panic_and_are_read_digit_by_digit() {
    let n = "7".repeat(10_000);
    let out = normalize(&n);
    assert!(unspeakable(&out).is_none());
    assert_eq!(out.matches("seven").count(), 10_000);
    let grouped = std::iter::repeat_n("123", 2_000)
        .collect::<Vec<_>>()
        .join(",");
    let out = normalize(&grouped);
    assert!(unspeakable(&out).is_none());
    assert!(!out.is_empty());
}

#[test]
fn very_long_line_without_punctuation_is_linear() {
    // 1 MB in debug builds (10 MB takes too long unoptimized); a quadratic pass would take minutes.
    let unit = "the quick brown fox jumps over the lazy dog and NATO said US ";
    let mut s = String::with_capacity(1 << 20);
    while s.len() < (1 << 20) {
        s.push_str(unit);
    }
    // Doubling the input should roughly double the work, not quadruple it.
    let s2 = s.repeat(2);
    let (out, out2) = assert_linear("normalize, 1 MB line", s.as_str(), s2.as_str(), normalize);
    assert!(out.len() >= s.len() / 2);
    assert!(out2.len() > out.len());
    // One single 1 MB token with no spaces at all.
    let blob: String = "ab1".repeat(350_000);
    let out = normalize(&blob);
    assert!(unspeakable(&out).is_none());
}

#[test]
fn empty_and_blank_lines_give_empty_output() {
    for s in ["", " ", "\t \u{00A0}\u{200B}", "\u{FEFF}"] {
        assert_eq!(normalize(s), "", "{s:?}");
    }
}

#[test]
fn ten_megabyte_paragraph_without_punctuation_completes() {
    // The bad-input case at full size: one 10 MB line of words, numbers and acronyms
    // with no punctuation at all. It must finish (linear time) with speakable output.
    let unit = "the 600000 soldiers and NATO said US 3m fund 1990s ";
    let s = unit.repeat(10 * 1024 * 1024 / unit.len());
    let t = Instant::now();
    let out = normalize(&s);
    eprintln!("10 MB line normalized in {:?}", t.elapsed());
    assert!(unspeakable(&out).is_none());
    assert_eq!(out.matches("Nato").count(), s.matches("NATO").count());
}
