//! Pronunciation lexicon: parsing, validation errors with positions, matching rules, linear work.
use audioby::text::lexicon::{LexSpan, Lexicon, Pronunciation};

use crate::work::{allocated_by, assert_linear};

fn lex(toml: &str) -> Lexicon {
    Lexicon::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn respelling_and_phonemes() {
    let l =
        lex("[words]\nZelenskyy = { say = \"zeh-LEN-skee\" }\nKyiv = { phonemes = \"kˈiːv\" }\n");
    assert_eq!(l.len(), 2);
    // Respellings are lowercased (espeak-ng spells capital syllables letter by letter).
    assert_eq!(
        l.apply("Zelenskyy visited Kyiv."),
        "zeh-len-skee visited [[ kˈiːv ]]."
    );
}

#[test]
fn shorthand_string_is_a_respelling() {
    let l = lex("[words]\nKeir = \"keer\"\n");
    assert_eq!(
        l.entries()[0].pronunciation,
        Pronunciation::Say("keer".into())
    );
    assert_eq!(l.apply("Keir Starmer"), "keer Starmer");
}

#[test]
fn case_insensitive_by_default_and_case_sensitive_on_request() {
    let l = lex("[words]\nkyiv = \"keev\"\nUS = { say = \"you ess\", case_sensitive = true }\n");
    assert_eq!(l.apply("KYIV kyiv Kyiv"), "keev keev keev");
    assert_eq!(l.apply("US troops told us"), "you ess troops told us");
}

#[test]
fn non_ascii_words_match_in_common_casings() {
    let l = lex("[words]\n\"Šefčovič\" = \"shefchovich\"\n");
    assert_eq!(
        l.apply("Šefčovič ŠEFČOVIČ šefčovič"),
        "shefchovich shefchovich shefchovich"
    );
}

#[test]
fn whole_words_only() {
    let l = lex("[words]\nKyiv = \"keev\"\nput = \"poot\"\n");
    assert_eq!(
        l.apply("Kyivan Kyiv's input put_x put-in (put)"),
        "Kyivan keev's input put_x poot-in (poot)"
    );
}

#[test]
fn longest_match_first_and_phrases() {
    let l = lex("[words]\nAbu = \"ah-boo\"\n\"Abu Dhabi\" = \"ahboo dahbee\"\n\"New  York\" = \"noo york\"\n");
    assert_eq!(
        l.apply("Abu Dhabi and Abu and New York"),
        "ahboo dahbee and ah-boo and noo york"
    );
}

#[test]
fn one_pass_no_reapplication() {
    // The replacement for `a` contains `b`, and `b` has its own entry: it must not fire again.
    let l = lex("[words]\nalpha = \"beta gamma\"\nbeta = \"delta\"\n");
    assert_eq!(l.apply("alpha beta"), "beta gamma delta");
}

#[test]
fn rejected_long_candidate_does_not_hide_shorter_one() {
    // "Abu Dhabis" is not a whole-word match for "Abu Dhabi", but "Abu" still is.
    let l = lex("[words]\nAbu = \"ahboo\"\n\"Abu Dhabi\" = \"x\"\n");
    assert_eq!(l.apply("Abu Dhabis"), "ahboo Dhabis");
}

#[test]
fn case_sensitive_entry_wins_over_insensitive_on_same_span() {
    let l = lex(
        "[words]\npolish = \"pollish\"\nPolish = { say = \"poalish\", case_sensitive = true }\n",
    );
    assert_eq!(l.apply("Polish polish"), "poalish pollish");
}

#[test]
fn spans_reassemble_source() {
    let l = lex("[words]\nKyiv = \"keev\"\n");
    let text = "From Kyiv, with love; Kyiv.";
    let spans = l.spans(text);
    let rebuilt: String = spans
        .iter()
        .map(|s| match s {
            LexSpan::Text(t) => *t,
            LexSpan::Replaced { source, .. } => *source,
        })
        .collect();
    assert_eq!(rebuilt, text);
    assert_eq!(
        spans
            .iter()
            .filter(|s| matches!(s, LexSpan::Replaced { .. }))
            .count(),
        2
    );
}

#[test]
fn empty_lexicon_is_identity() {
    assert_eq!(
        Lexicon::empty().apply("Anything at all."),
        "Anything at all."
    );
    assert!(lex("").is_empty());
    assert!(lex("[words]\n").is_empty());
}

#[test]
fn bad_toml_reports_line_and_column() {
    let e = Lexicon::from_toml_str("[words]\nKyiv = \"keev\"\nPutin = pootin\n").unwrap_err();
    assert_eq!(e.code(), "lexicon-toml");
    let msg = e.to_string();
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("column"), "{msg}");
}

#[test]
fn duplicate_toml_key_is_a_toml_error() {
    let e = Lexicon::from_toml_str("[words]\nKyiv = \"a\"\nKyiv = \"b\"\n").unwrap_err();
    assert_eq!(e.code(), "lexicon-toml");
    assert!(e.to_string().contains("line 3"), "{e}");
}

#[test]
fn case_insensitive_duplicates_are_rejected() {
    let e = Lexicon::from_toml_str("[words]\nKyiv = \"a\"\nkyiv = \"b\"\n").unwrap_err();
    assert_eq!(e.code(), "lexicon-duplicate");
    assert!(e.to_string().contains("line 3"), "{e}");
}

#[test]
fn empty_key_is_rejected_with_position() {
    let e = Lexicon::from_toml_str("[words]\n\"  \" = \"x\"\n").unwrap_err();
    assert_eq!(e.code(), "lexicon-empty-key");
    assert!(e.to_string().contains("line 2, column 1"), "{e}");
}

#[test]
fn invalid_entries_are_rejected() {
    let bad = [
        ("[words]\nKyiv = {}\n", "missing"),
        (
            "[words]\nKyiv = { say = \"a\", phonemes = \"b\" }\n",
            "not both",
        ),
        ("[words]\nKyiv = { say = \"\" }\n", "empty"),
        ("[words]\nKyiv = { say = \"[[ x ]]\" }\n", "[["),
        ("[words]\nKyiv = { phonemes = \"[[kiv]]\" }\n", "brackets"),
        ("[words]\nKyiv = { sey = \"keev\" }\n", "unknown field"),
        (
            "[words]\nKyiv = { say = \"keev\", case_sensitive = \"yes\" }\n",
            "true or false",
        ),
        ("[words]\nKyiv = 3\n", "must be a string"),
    ];
    for (input, needle) in bad {
        let e = Lexicon::from_toml_str(input).unwrap_err();
        assert_eq!(e.code(), "lexicon-invalid-entry", "{input}");
        let msg = e.to_string();
        assert!(
            msg.contains(needle) && msg.contains("line 2"),
            "{input}: {msg}"
        );
    }
}

#[test]
fn unknown_top_level_key_is_rejected() {
    let e = Lexicon::from_toml_str("[wrds]\nKyiv = \"keev\"\n").unwrap_err();
    assert_eq!(e.code(), "lexicon-toml");
}

#[test]
fn load_reports_io_errors() {
    let e = Lexicon::load("/nonexistent/lexicon.toml").unwrap_err();
    assert_eq!(e.code(), "lexicon-io");
}

#[test]
fn starter_lexicon_parses() {
    let l = Lexicon::load(concat!(env!("CARGO_MANIFEST_DIR"), "/lexicon.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(l.len() >= 15);
    assert_eq!(l.apply("Zelenskyy"), "zelensky");
}

#[test]
fn five_hundred_entries_on_ten_thousand_words_is_linear_in_the_text() {
    let mut toml = String::from("[words]\n");
    for i in 0..500 {
        toml.push_str(&format!(
            "name{i} = \"respelling {i}\"\n\"first{i} last{i}\" = {{ phonemes = \"fˈɜːst{i}\" }}\n"
        ));
    }
    let l = lex(&toml);
    assert_eq!(l.len(), 1000);
    let words = [
        "the",
        "talks",
        "name17",
        "first3",
        "last3",
        "in",
        "Kyiv",
        "name499",
        "continued",
        "today",
    ];
    let text: String = (0..10_000)
        .map(|i| words[i % words.len()])
        .collect::<Vec<_>>()
        .join(" ");
    let twice = format!("{text} {text}");
    // Work grows with the text, not with text × entries: twice the text allocates about
    // twice as much, and the full lexicon allocates no more than one holding only the
    // three entries the text uses (which finds the same matches). Its speed: `make bench`.
    let (out, _) = assert_linear("apply, 1000 entries", text.as_str(), twice.as_str(), |t| {
        l.apply(t)
    });
    assert_eq!(out.matches("respelling 17").count(), 1000);
    assert_eq!(out.matches("[[ fˈɜːst3 ]]").count(), 1000);
    assert_eq!(out.matches("respelling 499").count(), 1000);
    let few = lex("[words]\nname17 = \"respelling 17\"\nname499 = \"respelling 499\"\n\"first3 last3\" = { phonemes = \"fˈɜːst3\" }\n");
    let (few_out, few_bytes) = allocated_by(|| few.apply(&text));
    let (full_out, full_bytes) = allocated_by(|| l.apply(&text));
    assert_eq!(few_out, full_out);
    eprintln!("10,000 words: {full_bytes} B allocated with 1000 entries, {few_bytes} B with 3");
    assert!(
        full_bytes < few_bytes * 2,
        "1000 entries allocated {full_bytes} B vs {few_bytes} B with 3: work grows with entries"
    );
}
