//! Sentence segmentation: abbreviations, long-sentence splitting, word preservation, linear time.
use audioby::article::{Block, BlockKind};
use audioby::text::lexicon::Lexicon;
use audioby::text::segment::{paragraphs, segment_blocks, segment_text, split_sentences};
use audioby::text::SegmentOptions;
use proptest::prelude::*;

use crate::work::assert_linear;

fn split(text: &str) -> Vec<String> {
    split_sentences(text, 300)
}

#[test]
fn abbreviations_and_boundaries() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Mr. Smith went to Washington. He met Mrs. Jones.",
            &["Mr. Smith went to Washington.", "He met Mrs. Jones."],
        ),
        (
            "U.S. officials said the deal was close. Russia disagreed.",
            &[
                "U.S. officials said the deal was close.",
                "Russia disagreed.",
            ],
        ),
        (
            "The meeting is on Nov. 25 in Geneva. It will be long.",
            &["The meeting is on Nov. 25 in Geneva.", "It will be long."],
        ),
        (
            "Bring fruit, e.g. apples and pears. Then leave.",
            &["Bring fruit, e.g. apples and pears.", "Then leave."],
        ),
        (
            "Growth was 3.5 percent last year. It slowed.",
            &["Growth was 3.5 percent last year.", "It slowed."],
        ),
        (
            "J. R. R. Tolkien wrote books. He died in 1973.",
            &["J. R. R. Tolkien wrote books.", "He died in 1973."],
        ),
        (
            "He paused... Then he spoke again.",
            &["He paused...", "Then he spoke again."],
        ),
        (
            "He said \"no.\" Then he left.",
            &["He said \"no.\"", "Then he left."],
        ),
        (
            "She said “it is over.” Nobody answered.",
            &["She said “it is over.”", "Nobody answered."],
        ),
        (
            "Gen. Mark Milley spoke. Sen. Warren replied.",
            &["Gen. Mark Milley spoke.", "Sen. Warren replied."],
        ),
        (
            "The firm, Acme Inc., rose. Shares jumped.",
            &["The firm, Acme Inc., rose.", "Shares jumped."],
        ),
        (
            "Is it true? Yes! It is.",
            &["Is it true?", "Yes!", "It is."],
        ),
        (
            "Prices rose 2.5% vs. last year. Analysts cheered.",
            &["Prices rose 2.5% vs. last year.", "Analysts cheered."],
        ),
        (
            "He lives at 10 Downing St. in London. It is big.",
            &["He lives at 10 Downing St. in London.", "It is big."],
        ),
        (
            "The U.K. and the E.U. met. They agreed.",
            &["The U.K. and the E.U. met.", "They agreed."],
        ),
        (
            "I saw him at 3 a.m. The police came.",
            &["I saw him at 3 a.m.", "The police came."],
        ),
        (
            "Pres. Trump said no. Gov. Newsom agreed.",
            &["Pres. Trump said no.", "Gov. Newsom agreed."],
        ),
        (
            "Lt. Col. John Smith arrived. Capt. Jones left.",
            &["Lt. Col. John Smith arrived.", "Capt. Jones left."],
        ),
        (
            "Call me at approx. 5 o'clock. Thanks.",
            &["Call me at approx. 5 o'clock.", "Thanks."],
        ),
        (
            "See Fig. 3 for details. It is clear.",
            &["See Fig. 3 for details.", "It is clear."],
        ),
        (
            "It cost $4.99. That was cheap.",
            &["It cost $4.99.", "That was cheap."],
        ),
        (
            "Visit example.com today. It is free.",
            &["Visit example.com today.", "It is free."],
        ),
        (
            "The No. 1 seed lost. Fans wept.",
            &["The No. 1 seed lost.", "Fans wept."],
        ),
        (
            "Jan. 6 was chaotic. Feb. 2 was calm.",
            &["Jan. 6 was chaotic.", "Feb. 2 was calm."],
        ),
        (
            "St. Louis is in Missouri. It is hot.",
            &["St. Louis is in Missouri.", "It is hot."],
        ),
        (
            "Dr. Ruth Westheimer spoke. Prof. Lee listened.",
            &["Dr. Ruth Westheimer spoke.", "Prof. Lee listened."],
        ),
        (
            "He said no. Then he left.",
            &["He said no.", "Then he left."],
        ),
        (
            "The vote was 52 vs. 48. It passed.",
            &["The vote was 52 vs. 48.", "It passed."],
        ),
    ];
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = split(input);
        let exp: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        if got != exp {
            failures.push(format!("{input:?}\n   got {got:?}\n  want {exp:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn long_sentence_splits_at_clause_boundaries() {
    let s = "The minister, who had flown in overnight from Brussels, said the talks were difficult; \
             negotiators had worked through the night on the security guarantees, the troop cap and \
             the question of territory, but no agreement had been reached by the morning deadline.";
    let parts = split_sentences(s, 100);
    assert!(parts.len() >= 3, "{parts:?}");
    for p in &parts {
        assert!(p.chars().count() <= 100, "{p:?} is over the limit");
    }
    // Every cut but the last falls after a clause mark or before a conjunction.
    for w in parts.windows(2) {
        let ends_clause = w[0].ends_with([',', ';', ':']);
        let next_conj = ["but", "and", "or", "which", "who"]
            .iter()
            .any(|c| w[1].starts_with(&format!("{c} ")));
        assert!(
            ends_clause || next_conj,
            "cut between {:?} and {:?}",
            w[0],
            w[1]
        );
    }
    assert_eq!(words(&parts.join(" ")), words(s));
}

#[test]
fn long_sentence_without_punctuation_splits_at_spaces_never_mid_word() {
    let s =
        "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november \
             oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu";
    for max in [8, 9, 12, 20, 33] {
        let parts = split_sentences(s, max);
        for p in &parts {
            assert!(p.chars().count() <= max, "{p:?} over {max}");
        }
        assert_eq!(words(&parts.join(" ")), words(s), "max {max}");
    }
}

#[test]
fn a_word_longer_than_max_is_cut_at_char_boundaries_without_loss() {
    let word = "ž".repeat(25) + "abc";
    let parts = split_sentences(&format!("go {word} now"), 10);
    assert_eq!(parts.first().map(String::as_str), Some("go"));
    assert_eq!(parts.last().map(String::as_str), Some("now"));
    let middle: String = parts[1..parts.len() - 1].concat();
    assert_eq!(middle, word);
    assert!(parts.iter().all(|p| p.chars().count() <= 10));
}

#[test]
fn max_zero_does_not_hang_or_lose_text() {
    let parts = split_sentences("ab cd", 0);
    assert_eq!(parts.concat(), "abcd");
}

#[test]
fn empty_and_whitespace_give_no_sentences() {
    assert!(split("").is_empty());
    assert!(split("  \n\t ").is_empty());
}

fn big_text(bytes: usize, with_spaces: bool) -> String {
    let words = ["alpha ", "beta ", "gamma ", "delta "];
    let mut s = String::with_capacity(bytes + 8);
    let mut i = 0;
    while s.len() < bytes {
        if with_spaces {
            s.push_str(words[i % 4]);
        } else {
            s.push('x');
        }
        i += 1;
    }
    s
}

#[test]
fn one_megabyte_paragraph_without_punctuation_is_linear() {
    let half = big_text(500_000, true);
    let text = big_text(1_000_000, true);
    // Quadratic behaviour would take minutes here; linear takes milliseconds.
    let (_, parts) = assert_linear(
        "split_sentences, 1 MB of words",
        half.as_str(),
        text.as_str(),
        |t| split_sentences(t, 300),
    );
    assert!(parts.iter().all(|p| p.chars().count() <= 300));
    assert_eq!(
        parts.iter().map(|p| words(p).len()).sum::<usize>(),
        words(&text).len()
    );
}

#[test]
fn one_megabyte_single_word_is_linear_and_lossless() {
    let half = big_text(500_000, false);
    let text = big_text(1_000_000, false);
    let (_, parts) = assert_linear(
        "split_sentences, one 1 MB word",
        half.as_str(),
        text.as_str(),
        |t| split_sentences(t, 300),
    );
    assert_eq!(parts.concat(), text);
}

/// The bad-input case at full size: a 10 MB paragraph with no punctuation goes
/// through segmentation and normalization in linear work (5 MB then 10 MB; about 3 s in a
/// debug build) and every word reaches a segment.
#[test]
fn ten_megabyte_paragraph_without_punctuation() {
    let half = big_text(5_000_000, true);
    let text = big_text(10_000_000, true);
    let opts = SegmentOptions::default();
    let (_, segs) = assert_linear(
        "segment_text, 10 MB paragraph",
        half.as_str(),
        text.as_str(),
        |t| segment_text(t, &Lexicon::empty(), &opts),
    );
    eprintln!("10 MB, {} segments", segs.len());
    assert!(segs
        .iter()
        .all(|s| s.source.chars().count() <= opts.max_chars));
    let spoken_words: usize = segs.iter().map(|s| words(&s.source).len()).sum();
    assert_eq!(spoken_words, words(&text).len());
}

#[test]
fn segments_carry_blocks_kinds_and_pauses() {
    let blocks = vec![
        Block::new(BlockKind::Title, "Peace Talks Advance"),
        Block::new(BlockKind::Paragraph, "Talks went on. Both sides spoke."),
        Block::new(BlockKind::Heading, "What comes next"),
        Block::new(BlockKind::ListItem, "A ceasefire"),
    ];
    let opts = SegmentOptions::default();
    let segs = segment_blocks(&blocks, &Lexicon::empty(), &opts);
    let summary: Vec<(usize, BlockKind, u32, &str)> = segs
        .iter()
        .map(|s| (s.block, s.kind, s.pause_after_ms, s.source.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                0,
                BlockKind::Title,
                opts.heading_pause_ms,
                "Peace Talks Advance"
            ),
            (
                1,
                BlockKind::Paragraph,
                opts.sentence_pause_ms,
                "Talks went on."
            ),
            (
                1,
                BlockKind::Paragraph,
                opts.paragraph_pause_ms,
                "Both sides spoke."
            ),
            (
                2,
                BlockKind::Heading,
                opts.heading_pause_ms,
                "What comes next"
            ),
            (
                3,
                BlockKind::ListItem,
                opts.paragraph_pause_ms,
                "A ceasefire"
            ),
        ]
    );
    assert!(segs.iter().all(|s| s.rate == 1.0 && !s.spoken.is_empty()));
}

#[test]
fn lexicon_applies_and_phonemes_survive_normalization() {
    let lex = Lexicon::from_toml_str(
        "[words]\nZelenskyy = { phonemes = \"zɛlˈɛnski\" }\nKyiv = { say = \"keev\" }\n",
    )
    .unwrap();
    let segs = segment_text(
        "Zelenskyy flew to Kyiv on Nov. 25.",
        &lex,
        &SegmentOptions::default(),
    );
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].source, "Zelenskyy flew to Kyiv on Nov. 25.");
    assert!(
        segs[0].spoken.contains("[[ zɛlˈɛnski ]]"),
        "{:?}",
        segs[0].spoken
    );
    assert!(segs[0].spoken.contains("keev"), "{:?}", segs[0].spoken);
    assert!(!segs[0].spoken.contains("Zelenskyy"));
}

#[test]
fn words_around_replacements_stay_apart_and_attached_as_written() {
    let lex =
        Lexicon::from_toml_str("[words]\nPutin = \"pootin\"\nZelenskyy = \"zelensky\"\n").unwrap();
    let spoken = |t: &str| {
        segment_text(t, &lex, &SegmentOptions::default())[0]
            .spoken
            .clone()
    };
    let s = spoken("The Trump-Putin meeting.");
    assert!(
        s.contains("Trump") && s.contains("pootin") && !s.contains("Trumppootin"),
        "{s}"
    );
    assert_eq!(spoken("Zelenskyy's plan."), "zelensky's plan.");
    assert_eq!(spoken("Zelenskyy, who spoke."), "zelensky, who spoke.");
}

#[test]
fn phoneme_brackets_in_article_text_are_not_phonemes() {
    let segs = segment_text(
        "Say [[ hˈɛloʊ ]] now.",
        &Lexicon::empty(),
        &SegmentOptions::default(),
    );
    assert!(!segs[0].spoken.contains("[["), "{:?}", segs[0].spoken);
}

#[test]
fn punctuation_only_sentence_joins_a_neighbour() {
    let blocks = vec![Block::new(BlockKind::Paragraph, "... — Hello there.")];
    let segs = segment_blocks(&blocks, &Lexicon::empty(), &SegmentOptions::default());
    assert_eq!(segs.len(), 1);
    assert_eq!(words(&segs[0].source), words("... — Hello there."));
}

#[test]
fn plain_text_paragraphs() {
    let p = paragraphs("One line.\nSecond line.\n\n");
    assert_eq!(p.len(), 2);
    let p = paragraphs("Hard wrapped\nparagraph one.\n\nParagraph\ntwo.");
    assert_eq!(
        p.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(),
        vec!["Hard wrapped paragraph one.", "Paragraph two."]
    );
    let segs = segment_text(
        "First para. Two sentences.\n\nSecond para.",
        &Lexicon::empty(),
        &SegmentOptions::default(),
    );
    assert_eq!(
        segs.iter().map(|s| s.block).collect::<Vec<_>>(),
        vec![0, 0, 1]
    );
}

#[test]
fn seed_article_segments_plausibly() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/player/seed-article.txt"
    ))
    .expect("seed article (committed copy)");
    let lex = Lexicon::load(concat!(env!("CARGO_MANIFEST_DIR"), "/lexicon.toml"))
        .expect("starter lexicon");
    let opts = SegmentOptions::default();
    let segs = segment_text(&text, &lex, &opts);
    // 13 lines, ~2,900 characters, roughly two dozen sentences.
    assert!((20..=45).contains(&segs.len()), "{} segments", segs.len());
    assert!(segs
        .iter()
        .all(|s| s.source.chars().count() <= opts.max_chars));
    let src_words: Vec<&str> = segs
        .iter()
        .flat_map(|s| s.source.split_whitespace())
        .collect();
    assert_eq!(src_words, words(&text));
    let all_spoken: String = segs
        .iter()
        .map(|s| s.spoken.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for name in ["Zelenskyy", "Kyiv", "Lavrov", "Sergey", "Keir", "Driscoll"] {
        assert!(
            !all_spoken.contains(name),
            "{name} not replaced by the lexicon: {all_spoken}"
        );
    }
}

fn arb_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z]{1,10}",
        "[A-Z][a-z]{0,6}[.,;:!?]",
        "[A-Z]\\.",
        "(Mr|Dr|Gen|No|Nov|U\\.S|e\\.g|approx|vs)\\.",
        "[0-9]{1,4}(\\.[0-9]{1,2})?%?",
        "\"[a-z]{1,6}\\.\"",
        "(\\.\\.\\.|—|–|-|…|;)",
        "[a-zà-ÿ]{1,8}",
        "[A-Za-z]{1,5}['’]s",
    ]
}

fn alnum_words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every word of the input (a token with a letter or digit in it) reaches exactly one
    /// segment's `source`, in order, and no segment exceeds `max_chars`.
    #[test]
    fn every_word_reaches_exactly_one_segment(
        blocks in proptest::collection::vec(
            (prop_oneof![Just(BlockKind::Title), Just(BlockKind::Heading), Just(BlockKind::Paragraph),
                         Just(BlockKind::ListItem), Just(BlockKind::Quote)],
             proptest::collection::vec(arb_word(), 0..60)),
            0..8),
        max in 12usize..200,
    ) {
        let blocks: Vec<Block> = blocks.into_iter().map(|(k, ws)| Block::new(k, ws.join(" "))).collect();
        let opts = SegmentOptions { max_chars: max, ..SegmentOptions::default() };
        let segs = segment_blocks(&blocks, &Lexicon::empty(), &opts);
        let want: Vec<String> = blocks.iter().flat_map(|b| alnum_words(&b.text)).collect();
        let got: Vec<String> = segs.iter().flat_map(|s| alnum_words(&s.source)).collect();
        prop_assert_eq!(got, want);
        for s in &segs {
            prop_assert!(!s.spoken.trim().is_empty());
            prop_assert!(s.block < blocks.len());
            prop_assert_eq!(s.kind, blocks[s.block].kind);
        }
        // Block indices never go backwards.
        prop_assert!(segs.windows(2).all(|w| w[0].block <= w[1].block));
    }

    /// split_sentences keeps every non-whitespace char, in order, for arbitrary text.
    #[test]
    fn split_sentences_is_lossless_on_arbitrary_text(text in "\\PC{0,400}", max in 1usize..120) {
        let parts = split_sentences(&text, max);
        let a: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
        let b: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assert_eq!(a, b);
        for p in &parts {
            prop_assert!(p.chars().count() <= max);
            prop_assert!(!p.is_empty());
        }
    }
}
