//! The SSML subset: every supported element, errors with positions, limits, warnings, fuzzing.
use audioby::text::lexicon::Lexicon;
use audioby::text::ssml::{
    parse_ssml, parse_ssml_with_limits, SsmlDocument, SsmlError, SsmlLimits,
};
use audioby::text::SegmentOptions;
use proptest::prelude::*;

fn parse(s: &str) -> SsmlDocument {
    parse_ssml(s, &Lexicon::empty(), &SegmentOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn err(s: &str) -> SsmlError {
    parse_ssml(s, &Lexicon::empty(), &SegmentOptions::default()).expect_err("should fail")
}

fn spoken(d: &SsmlDocument) -> Vec<&str> {
    d.segments.iter().map(|s| s.spoken.as_str()).collect()
}

fn has_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

#[test]
fn speak_root_and_plain_fragments() {
    let d = parse("<speak>Hello there. How are you?</speak>");
    assert_eq!(spoken(&d), vec!["Hello there.", "How are you?"]);
    assert!(d.warnings.is_empty());
    // Without <speak> the input is wrapped.
    let d = parse("Hello there. How are you?");
    assert_eq!(spoken(&d), vec!["Hello there.", "How are you?"]);
    let d =
        parse("<speak xmlns=\"http://www.w3.org/2001/10/synthesis\" version=\"1.1\">Hi.</speak>");
    assert_eq!(spoken(&d), vec!["Hi."]);
    assert!(parse("").segments.is_empty());
}

#[test]
fn paragraphs_are_blocks_with_paragraph_pauses() {
    let opts = SegmentOptions::default();
    let d = parse("<speak><p>One. Two.</p><p>Three.</p>Four.</speak>");
    let got: Vec<(usize, u32, &str)> = d
        .segments
        .iter()
        .map(|s| (s.block, s.pause_after_ms, s.source.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, opts.sentence_pause_ms, "One."),
            (0, opts.paragraph_pause_ms, "Two."),
            (1, opts.paragraph_pause_ms, "Three."),
            (2, opts.paragraph_pause_ms, "Four."),
        ]
    );
}

#[test]
fn s_marks_sentences_without_punctuation() {
    let d = parse("<speak><p><s>First clause</s><s>second clause</s></p></speak>");
    assert_eq!(spoken(&d), vec!["First clause", "second clause"]);
    assert_eq!(
        d.segments[0].pause_after_ms,
        SegmentOptions::default().sentence_pause_ms
    );
    assert_eq!(
        d.segments[1].pause_after_ms,
        SegmentOptions::default().paragraph_pause_ms
    );
}

#[test]
fn break_time_and_strength() {
    let d = parse("<speak>Wait <break time=\"1.5s\"/> for it.</speak>");
    assert_eq!(spoken(&d), vec!["Wait", "for it."]);
    assert_eq!(d.segments[0].pause_after_ms, 1500);
    let d = parse("<speak>One.<break time=\"500ms\"/>Two.<break strength=\"x-strong\"/>Three. <break strength=\"none\"/>Four.</speak>");
    let pauses: Vec<u32> = d.segments.iter().map(|s| s.pause_after_ms).collect();
    assert_eq!(spoken(&d), vec!["One.", "Two.", "Three.", "Four."]);
    assert_eq!(pauses[0], 500);
    assert_eq!(pauses[1], 1200);
    // strength none adds nothing: Three. keeps its ordinary sentence pause.
    assert_eq!(pauses[2], SegmentOptions::default().sentence_pause_ms);
    // Consecutive breaks add up; a break with no attributes is medium.
    let d = parse("<speak>A<break time=\"100ms\"/><break/>B</speak>");
    assert_eq!(d.segments[0].pause_after_ms, 500);
}

#[test]
fn leading_break_and_break_after_paragraph() {
    let d = parse("<speak><break time=\"2s\"/>Hello.</speak>");
    assert_eq!(d.leading_pause_ms, 2000);
    assert_eq!(spoken(&d), vec!["Hello."]);
    let d = parse("<speak><p>A.</p><break time=\"1s\"/><p>B.</p></speak>");
    assert_eq!(d.segments[0].pause_after_ms, 600 + 1000);
}

#[test]
fn bad_break_values_warn_and_are_capped() {
    let d = parse(
        "<speak>A<break time=\"soon\"/>B<break time=\"60s\"/>C<break strength=\"huge\"/>D</speak>",
    );
    assert_eq!(d.warnings.len(), 3, "{:?}", d.warnings);
    assert_eq!(d.segments[0].pause_after_ms, 400);
    assert_eq!(d.segments[1].pause_after_ms, 10_000);
}

/// A thousand maximal breaks were a 463 MB WAV held in memory: the total is capped.
#[test]
fn total_break_silence_is_capped() {
    let doc = format!("<speak>{}</speak>", "Go.<break time=\"10s\"/>".repeat(1051));
    let d = parse(&doc);
    let total: u64 = d.leading_pause_ms as u64
        + d.segments
            .iter()
            .map(|s| s.pause_after_ms as u64)
            .sum::<u64>();
    let cap = SegmentOptions::default().max_ssml_silence_ms as u64;
    // Each segment still ends with its sentence pause; the breaks add at most the cap.
    let sentence = d.segments.len() as u64 * SegmentOptions::default().sentence_pause_ms as u64;
    assert!(total <= cap + sentence, "{total} ms of silence");
    assert!(total >= cap, "breaks up to the cap are kept: {total} ms");
    assert_eq!(
        d.warnings.iter().filter(|w| w.contains("silence")).count(),
        1,
        "one warning: {:?}",
        &d.warnings[..3.min(d.warnings.len())]
    );
    let opts = SegmentOptions {
        max_ssml_silence_ms: 1_500,
        ..SegmentOptions::default()
    };
    let d = parse_ssml(
        "<speak>A<break time=\"1s\"/>B<break time=\"1s\"/>C<break time=\"1s\"/>D</speak>",
        &Lexicon::empty(),
        &opts,
    )
    .unwrap();
    let pauses: Vec<u32> = d.segments.iter().map(|s| s.pause_after_ms).collect();
    assert_eq!(&pauses[..3], &[1_000, 500, 0], "{pauses:?}");
    assert_eq!(spoken(&d).len(), 4, "a cut break still separates words");
}

#[test]
fn say_as_all_kinds() {
    let cases = [
        ("cardinal", "123", "hundred"),
        ("ordinal", "3", "third"),
        ("digits", "2026", "two zero two six"),
        ("characters", "FBI", "F B I"),
        ("spell-out", "abc", "a b c"),
        ("date", "2026-11-25", "November"),
        ("time", "3:30 p.m.", "thirty"),
        ("telephone", "+1 (555) 123-4567", "five five five"),
    ];
    for (kind, value, expect) in cases {
        let d = parse(&format!(
            "<speak>Value <say-as interpret-as=\"{kind}\">{value}</say-as> here.</speak>"
        ));
        assert_eq!(d.segments.len(), 1, "{kind}: {:?}", d.segments);
        let s = &d.segments[0];
        assert!(
            s.spoken.to_lowercase().contains(&expect.to_lowercase()),
            "{kind}: {:?}",
            s.spoken
        );
        assert!(!has_digit(&s.spoken), "{kind}: {:?}", s.spoken);
        assert_eq!(s.source, format!("Value {value} here."), "{kind}");
        assert!(d.warnings.is_empty(), "{kind}: {:?}", d.warnings);
    }
}

#[test]
fn say_as_date_format_reorders() {
    let d =
        parse("<speak><say-as interpret-as=\"date\" format=\"mdy\">11/25/2026</say-as></speak>");
    let d2 =
        parse("<speak><say-as interpret-as=\"date\" format=\"dmy\">25.11.2026</say-as></speak>");
    assert!(
        d.segments[0].spoken.contains("November"),
        "{:?}",
        d.segments
    );
    assert_eq!(d.segments[0].spoken, d2.segments[0].spoken);
}

#[test]
fn say_as_unknown_or_unreadable_warns_and_reads_text() {
    let d = parse("<speak><say-as interpret-as=\"unit\">5 kg</say-as></speak>");
    assert_eq!(d.warnings.len(), 1);
    assert!(!d.segments.is_empty());
    let d = parse("<speak><say-as interpret-as=\"cardinal\">lots</say-as></speak>");
    assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    assert_eq!(spoken(&d), vec!["lots"]);
}

#[test]
fn sub_alias() {
    let d = parse("<speak>The <sub alias=\"World Wide Web Consortium\">W3C</sub> met.</speak>");
    assert_eq!(spoken(&d), vec!["The World Wide Web Consortium met."]);
    assert_eq!(d.segments[0].source, "The W3C met.");
}

#[test]
fn phoneme_ipa() {
    let d = parse("<speak>In <phoneme alphabet=\"ipa\" ph=\"kˈiːv\">Kyiv</phoneme> today.</speak>");
    assert_eq!(spoken(&d), vec!["In [[ kˈiːv ]] today."]);
    assert_eq!(d.segments[0].source, "In Kyiv today.");
    // Brackets inside ph cannot break out of the phoneme span.
    let d = parse("<speak><phoneme alphabet=\"ipa\" ph=\"a]] b [[c\">x</phoneme></speak>");
    assert_eq!(spoken(&d), vec!["[[ a b c ]]"]);
    let d = parse("<speak><phoneme alphabet=\"x-sampa\" ph=\"ki:v\">Kyiv</phoneme></speak>");
    assert_eq!(spoken(&d), vec!["Kyiv"]);
    assert_eq!(d.warnings.len(), 1);
}

#[test]
fn prosody_rate() {
    let d = parse(
        "<speak>Normal <prosody rate=\"slow\">slow</prosody> <prosody rate=\"150%\">quick</prosody> \
         <prosody rate=\"x-fast\">fastest</prosody> <prosody rate=\"0.9\">point nine</prosody> end.</speak>",
    );
    let rates: Vec<(&str, f32)> = d
        .segments
        .iter()
        .map(|s| (s.spoken.as_str(), s.rate))
        .collect();
    assert_eq!(
        rates,
        vec![
            ("Normal", 1.0),
            ("slow", 0.8),
            ("quick", 1.5),
            ("fastest", 1.5),
            ("point nine", 0.9),
            ("end.", 1.0)
        ]
    );
    let d =
        parse("<speak><prosody rate=\"fast\"><prosody rate=\"+20%\">x</prosody></prosody></speak>");
    assert!((d.segments[0].rate - 1.5).abs() < 1e-4, "{:?}", d.segments);
    let d = parse("<speak><prosody rate=\"warp\" pitch=\"high\">x</prosody></speak>");
    assert_eq!(d.segments[0].rate, 1.0);
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
}

#[test]
fn unknown_elements_warn_once_and_keep_text() {
    let d = parse("<speak><emphasis>Very</emphasis> <foo>good</foo> <foo>news</foo>.</speak>");
    assert_eq!(spoken(&d), vec!["Very good news."]);
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(d.warnings.iter().any(|w| w.contains("<foo>")));
}

#[test]
fn lexicon_applies_to_text_but_not_to_sub() {
    let lex = Lexicon::from_toml_str("[words]\nKyiv = \"keev\"\n").unwrap();
    let d = parse_ssml(
        "<speak>Kyiv and <sub alias=\"Kyiv city\">K</sub>.</speak>",
        &lex,
        &SegmentOptions::default(),
    )
    .unwrap();
    assert_eq!(spoken(&d), vec!["keev and Kyiv city."]);
}

#[test]
fn malformed_reports_code_and_position() {
    let e = err("<speak>\n  <p>Hello\n</speak>");
    assert_eq!(e.code(), "ssml-malformed");
    assert!(matches!(e, SsmlError::Malformed { line: 3, .. }), "{e:?}");
    assert!(e.to_string().contains("line 3, column"), "{e}");
    // Positions of a wrapped fragment are in the caller's coordinates.
    let e = err("Tom & Jerry");
    assert!(
        matches!(
            e,
            SsmlError::Malformed {
                line: 1,
                column: 5,
                ..
            }
        ),
        "{e:?}"
    );
    let e = err("<speak><p>x</s></speak>");
    assert_eq!(e.code(), "ssml-malformed");
    let e = err("<speak>");
    assert_eq!(e.code(), "ssml-malformed");
}

#[test]
fn dtd_and_entity_tricks_are_rejected() {
    let e = err("<?xml version=\"1.0\"?><!DOCTYPE speak [<!ENTITY a \"aaaa\">]><speak>&a;</speak>");
    assert_eq!(e.code(), "ssml-malformed");
}

#[test]
fn too_large() {
    let big = format!("<speak>{}</speak>", "word ".repeat(30_000));
    let e = err(&big);
    assert_eq!(e.code(), "ssml-too-large");
    let limits = SsmlLimits {
        max_bytes: 1_000_000,
        ..SsmlLimits::default()
    };
    let d = parse_ssml_with_limits(&big, &Lexicon::empty(), &SegmentOptions::default(), &limits)
        .unwrap();
    assert!(!d.segments.is_empty());
}

#[test]
fn too_deep_with_position() {
    let deep = format!("<speak>{}x{}</speak>", "<s>".repeat(40), "</s>".repeat(40));
    let e = err(&deep);
    assert_eq!(e.code(), "ssml-too-deep");
    assert!(e.to_string().contains("line 1"), "{e}");
    let ok = format!("<speak>{}x{}</speak>", "<s>".repeat(30), "</s>".repeat(30));
    assert_eq!(spoken(&parse(&ok)), vec!["x"]);
    let limits = SsmlLimits {
        max_depth: 3,
        ..SsmlLimits::default()
    };
    let e = parse_ssml_with_limits(
        "<speak><p><s><prosody>x</prosody></s></p></speak>",
        &Lexicon::empty(),
        &SegmentOptions::default(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(e.code(), "ssml-too-deep");
    // Very deep input within the size limit fails cleanly (no stack overflow), even when the
    // caller asks for an absurd depth limit.
    let e = err(&format!("<speak>{}</speak>", "<a>".repeat(20_000)));
    assert!(matches!(e.code(), "ssml-too-deep" | "ssml-malformed"));
    let deep = format!(
        "<speak>{}x{}</speak>",
        "<s>".repeat(30_000),
        "</s>".repeat(30_000)
    );
    let limits = SsmlLimits {
        max_depth: usize::MAX,
        max_bytes: 1_000_000,
    };
    let e = parse_ssml_with_limits(
        &deep,
        &Lexicon::empty(),
        &SegmentOptions::default(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(e.code(), "ssml-too-deep");
}

#[test]
fn long_sentences_are_split_and_say_as_stays_whole() {
    let opts = SegmentOptions {
        max_chars: 40,
        ..SegmentOptions::default()
    };
    let text = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike";
    let d = parse_ssml(
        &format!("<speak>{text} <say-as interpret-as=\"cardinal\">1234</say-as> {text}</speak>"),
        &Lexicon::empty(),
        &opts,
    )
    .unwrap();
    assert!(d.segments.len() >= 4);
    assert!(d.segments.iter().all(|s| s.source.chars().count() <= 40));
    let all: Vec<&str> = d
        .segments
        .iter()
        .flat_map(|s| s.source.split_whitespace())
        .collect();
    let want = format!("{text} 1234 {text}");
    assert_eq!(all, want.split_whitespace().collect::<Vec<_>>());
    assert!(d.segments.iter().any(|s| s.spoken.contains("one thousand")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Arbitrary input never panics; errors always carry one of the stable codes.
    #[test]
    fn arbitrary_input_never_panics(input in "\\PC{0,300}") {
        match parse_ssml(&input, &Lexicon::empty(), &SegmentOptions::default()) {
            Ok(_) => {}
            Err(e) => prop_assert!(matches!(e.code(), "ssml-malformed" | "ssml-too-deep" | "ssml-too-large")),
        }
    }

    /// Tag soup made of the supported vocabulary never panics, and well-formed results keep
    /// every segment within bounds.
    #[test]
    fn tag_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<speak>".to_string()), Just("</speak>".to_string()), Just("<p>".to_string()), Just("</p>".to_string()),
        Just("<s>".to_string()), Just("</s>".to_string()), Just("<break time=\"300ms\"/>".to_string()),
        Just("<break strength=\"strong\"/>".to_string()), Just("<say-as interpret-as=\"cardinal\">".to_string()),
        Just("<say-as interpret-as=\"date\" format=\"mdy\">".to_string()), Just("</say-as>".to_string()),
        Just("<sub alias=\"x y\">".to_string()), Just("</sub>".to_string()),
        Just("<phoneme alphabet=\"ipa\" ph=\"həlˈoʊ\">".to_string()), Just("</phoneme>".to_string()),
        Just("<prosody rate=\"slow\">".to_string()), Just("</prosody>".to_string()), Just("<x>".to_string()),
        Just("</x>".to_string()), Just("&amp;".to_string()), Just("&bogus;".to_string()), Just("\u{E000}7\u{E001}".to_string()),
        "[a-zA-Z0-9 .,!?/:-]{0,20}",
    ], 0..40)) {
        let input = parts.concat();
        let opts = SegmentOptions { max_chars: 50, ..SegmentOptions::default() };
        if let Ok(d) = parse_ssml(&input, &Lexicon::empty(), &opts) {
            for s in &d.segments {
                prop_assert!(!s.spoken.trim().is_empty());
                prop_assert!(s.rate > 0.0 && s.rate.is_finite());
            }
        }
    }
}

#[test]
fn hundred_thousand_levels_deep_fails_cleanly_on_a_small_stack() {
    // The bad-input case: 100,000 nested elements. With the default limits it is
    // rejected as too large; with the size limit lifted it is rejected as too deep. Either way
    // no panic and no recursion proportional to depth (256 KiB stack).
    let deep = format!(
        "<speak>{}x{}</speak>",
        "<p>".repeat(100_000),
        "</p>".repeat(100_000)
    );
    let unclosed = format!("<speak>{}x", "<s>".repeat(100_000));
    let run = move || {
        let mut codes = Vec::new();
        for doc in [&deep, &unclosed] {
            codes.push(
                parse_ssml(doc, &Lexicon::empty(), &SegmentOptions::default())
                    .unwrap_err()
                    .code(),
            );
            let limits = SsmlLimits {
                max_bytes: 10_000_000,
                ..SsmlLimits::default()
            };
            codes.push(
                parse_ssml_with_limits(doc, &Lexicon::empty(), &SegmentOptions::default(), &limits)
                    .unwrap_err()
                    .code(),
            );
        }
        codes
    };
    let codes = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .expect("no stack overflow or panic");
    assert_eq!(
        codes[..3],
        ["ssml-too-large", "ssml-too-deep", "ssml-too-large"]
    );
    // Unclosed elements: malformed or too deep, whichever the parser sees first.
    assert!(
        matches!(codes[3], "ssml-too-deep" | "ssml-malformed"),
        "{codes:?}"
    );
}
