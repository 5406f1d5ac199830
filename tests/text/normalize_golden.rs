//! Golden corpus for English text normalization: every case in tests/golden/normalize.tsv
//! must normalize to its hand-written expectation. All failures are reported together with
//! their line numbers; the corpus must also keep its size and per-class coverage.
use audioby::text::normalize::normalize;
use std::collections::BTreeMap;

const CORPUS: &str = include_str!("golden/normalize.tsv");

/// Coverage classes required by the issue; each needs at least MIN_PER_CLASS cases.
const CLASSES: [&str; 15] = [
    "numbers",
    "years",
    "fractions",
    "money",
    "percent",
    "times",
    "dates",
    "measures",
    "phone",
    "roman",
    "abbreviations",
    "acronyms",
    "web",
    "symbols",
    "punctuation",
];
const MIN_PER_CLASS: usize = 15;
const MIN_TOTAL: usize = 400;

struct Case {
    line: usize,
    class: String,
    input: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    parse(CORPUS, "normalize.tsv")
}

/// `input<TAB>expected` lines grouped under `# class: NAME` lines; `file` names errors.
fn parse(corpus: &str, file: &str) -> Vec<Case> {
    let mut class = String::new();
    let mut out = Vec::new();
    for (k, raw) in corpus.lines().enumerate() {
        let line = k + 1;
        if let Some(c) = raw.strip_prefix("# class:") {
            class = c.trim().to_string();
            continue;
        }
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let (input, expected) = raw
            .split_once('\t')
            .unwrap_or_else(|| panic!("{file}:{line}: no TAB between input and expected"));
        assert!(
            !class.is_empty(),
            "{file}:{line}: case before any '# class:' line"
        );
        out.push(Case {
            line,
            class: class.clone(),
            input: input.into(),
            expected: expected.into(),
        });
    }
    out
}

#[test]
fn golden_corpus_matches() {
    check_all(&cases(), "normalize.tsv");
}

fn check_all(cases: &[Case], file: &str) {
    let mut failures = Vec::new();
    for c in cases {
        let got = normalize(&c.input);
        if got != c.expected {
            failures.push(format!(
                "{file}:{} [{}]\n   input: {}\n  expect: {}\n     got: {}",
                c.line, c.class, c.input, c.expected, got
            ));
        }
    }
    let passed = cases.len() - failures.len();
    eprintln!("{file}: {passed}/{} cases pass", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_corpus_coverage() {
    let cases = cases();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *counts.entry(c.class.as_str()).or_default() += 1;
    }
    for class in counts.keys() {
        assert!(
            CLASSES.contains(class),
            "unknown class {class:?} in normalize.tsv"
        );
    }
    for class in CLASSES {
        let n = counts.get(class).copied().unwrap_or(0);
        assert!(
            n >= MIN_PER_CLASS,
            "class {class} has {n} cases, needs at least {MIN_PER_CLASS}"
        );
    }
    assert!(
        cases.len() >= MIN_TOTAL,
        "corpus has {} cases, needs at least {MIN_TOTAL}",
        cases.len()
    );
}

#[test]
fn golden_expectations_are_speakable() {
    // The expectations themselves must obey the output contract, or the corpus is wrong.
    for c in cases().into_iter().chain(standalone()) {
        for ch in c.expected.chars() {
            assert!(
                audioby::text::normalize::allowed_char(ch),
                "normalize.tsv:{}: expectation contains unspeakable {ch:?}",
                c.line
            );
        }
    }
}

/// Standalone items (issue 17): a phone number, URL, address, time, range, measure,
/// abbreviation or date on its own, as in a table cell, a caption or a headline fragment.
const STANDALONE: &str = include_str!("golden/standalone.tsv");
const STANDALONE_CLASSES: [&str; 8] = [
    "phone",
    "web",
    "address",
    "times",
    "ranges",
    "measures",
    "abbreviations",
    "dates",
];

fn standalone() -> Vec<Case> {
    parse(STANDALONE, "standalone.tsv")
}

#[test]
fn standalone_items_match() {
    check_all(&standalone(), "standalone.tsv");
}

#[test]
fn standalone_coverage() {
    let cases = standalone();
    assert!(cases.len() >= 300, "{} standalone cases", cases.len());
    for class in STANDALONE_CLASSES {
        let n = cases.iter().filter(|c| c.class == class).count();
        assert!(n >= 15, "standalone class {class} has {n} cases");
    }
    assert!(cases
        .iter()
        .all(|c| STANDALONE_CLASSES.contains(&c.class.as_str())));
}
