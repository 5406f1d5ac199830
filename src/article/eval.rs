//! Scoring extraction against hand-written expected text (issue 17): bag-of-words token
//! precision, recall and F1, the measure of the public extraction benchmarks, pooled over a
//! set of pages. Used by the development-set test (`tests/text/extract_dev.rs`) and by
//! `examples/extract_eval.rs` (`make bench`).
use std::collections::HashMap;
use std::path::Path;

/// Lowercased alphanumeric tokens with their counts.
pub fn tokens(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for t in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        *m.entry(t.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// Token counts of one comparison; they add up over pages (micro-averaging), so that a long
/// page weighs more than a short one, as in the published benchmark figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Tokens both in the extraction and in the expected text (multiset intersection).
    pub common: usize,
    pub got: usize,
    pub expected: usize,
}

impl TokenCounts {
    pub fn compare(got: &str, expected: &str) -> Self {
        let (g, e) = (tokens(got), tokens(expected));
        let common = g
            .iter()
            .map(|(k, v)| (*v).min(e.get(k).copied().unwrap_or(0)))
            .sum();
        Self {
            common,
            got: g.values().sum(),
            expected: e.values().sum(),
        }
    }

    pub fn add(&mut self, other: TokenCounts) {
        self.common += other.common;
        self.got += other.got;
        self.expected += other.expected;
    }

    /// Share of extracted tokens that belong to the article (1.0 for an empty extraction
    /// would reward refusing, so an empty extraction scores 0).
    pub fn precision(&self) -> f64 {
        ratio(self.common, self.got)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.common, self.expected)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// One page of a development set: `NAME.html` and `NAME.expected.txt` side by side.
#[derive(Debug, Clone)]
pub struct DevPage {
    pub name: String,
    pub html: String,
    pub expected: String,
}

/// Every `*.html` in `dir` that has a `*.expected.txt` beside it, sorted by name.
pub fn load_dev_set(dir: &Path) -> std::io::Result<Vec<DevPage>> {
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".html"))
        else {
            continue;
        };
        let expected_path = dir.join(format!("{name}.expected.txt"));
        if !expected_path.exists() {
            continue;
        }
        pages.push(DevPage {
            name: name.to_string(),
            html: std::fs::read_to_string(&path)?,
            expected: std::fs::read_to_string(expected_path)?,
        });
    }
    pages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_a_multiset_intersection() {
        let c = TokenCounts::compare("the cat, the dog", "The cat sat");
        assert_eq!(
            c,
            TokenCounts {
                common: 2,
                got: 4,
                expected: 3
            }
        );
        assert!((c.precision() - 0.5).abs() < 1e-9);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn empty_extraction_scores_zero() {
        let c = TokenCounts::compare("", "some words");
        assert_eq!(c.f1(), 0.0);
        assert_eq!(c.precision(), 0.0);
    }
}
