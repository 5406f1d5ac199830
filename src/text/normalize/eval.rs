//! Scoring the normalizer against its golden corpora (issue 17): the `input<TAB>expected`
//! files of tests/text/golden, read into cases with their line and class, and exact match per
//! class. Used by the golden test (`tests/text/normalize_golden.rs`) and by
//! `examples/normalize_eval.rs`, so both read the files the same way.
use std::collections::BTreeMap;

/// One hand-written case: `line` is 1-based, `class` the last `# class:` line above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenCase {
    pub line: usize,
    pub class: String,
    pub input: String,
    pub expected: String,
}

/// `input<TAB>expected` lines grouped under `# class: NAME` lines. Other lines starting with
/// `#` are comments unless they hold a TAB: a hashtag case (`#MeToo<TAB>hashtag Me Too`) also
/// starts with `#`, and a comment never holds a TAB. `file` names the file in errors.
pub fn parse_golden(text: &str, file: &str) -> Result<Vec<GoldenCase>, String> {
    let mut class = String::new();
    let mut out = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        if let Some(c) = raw.strip_prefix("# class:") {
            class = c.trim().to_string();
            continue;
        }
        if raw.trim().is_empty() || (raw.starts_with('#') && !raw.contains('\t')) {
            continue;
        }
        let (input, expected) = raw
            .split_once('\t')
            .ok_or_else(|| format!("{file}:{line}: no TAB between input and expected"))?;
        if class.is_empty() {
            return Err(format!("{file}:{line}: case before any '# class:' line"));
        }
        out.push(GoldenCase {
            line,
            class: class.clone(),
            input: input.into(),
            expected: expected.into(),
        });
    }
    Ok(out)
}

/// A case whose output differs from its expectation.
#[derive(Debug, Clone)]
pub struct Miss<'a> {
    pub case: &'a GoldenCase,
    pub got: String,
}

/// Exact-match counts per class (sorted by name) and the misses, in file order.
#[derive(Debug, Clone, Default)]
pub struct Score<'a> {
    /// class → (passed, total)
    pub classes: BTreeMap<&'a str, (usize, usize)>,
    pub misses: Vec<Miss<'a>>,
}

impl<'a> Score<'a> {
    /// Runs `normalize` over every case.
    pub fn of(cases: &'a [GoldenCase], normalize: impl Fn(&str) -> String) -> Self {
        let mut s = Score::default();
        for c in cases {
            let got = normalize(&c.input);
            let e = s.classes.entry(c.class.as_str()).or_default();
            e.1 += 1;
            if got == c.expected {
                e.0 += 1;
            } else {
                s.misses.push(Miss { case: c, got });
            }
        }
        s
    }

    /// (passed, total) over all classes.
    pub fn overall(&self) -> (usize, usize) {
        self.classes
            .values()
            .fold((0, 0), |(p, t), (cp, ct)| (p + cp, t + ct))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtag_lines_are_cases_and_comments_are_not() {
        let text = "# header\n# class: web\n#MeToo\thashtag Me Too\n# note\na\tb\n";
        let cases = parse_golden(text, "t.tsv").unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].input, "#MeToo");
        assert_eq!((cases[1].line, cases[1].class.as_str()), (5, "web"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_golden("# class: x\nno tab\n", "t").is_err());
        assert!(parse_golden("a\tb\n", "t").is_err());
    }

    #[test]
    fn score_counts_per_class() {
        let cases = parse_golden("# class: a\nx\tx\ny\tz\n# class: b\nq\tq\n", "t").unwrap();
        let s = Score::of(&cases, |s| s.to_string());
        assert_eq!(s.classes["a"], (1, 2));
        assert_eq!(s.overall(), (2, 3));
        assert_eq!(s.misses.len(), 1);
        assert_eq!(s.misses[0].got, "y");
    }
}
