//! `ArticleId`: the publisher's ID, validated once at the edge. It never becomes a file path
//! (storage keys are hashes), but it is still restricted to a safe alphabet.
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArticleId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid article ID: use 1 to 128 characters from A-Z a-z 0-9 . _ : -")]
pub struct InvalidArticleId;

impl ArticleId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<ArticleId, InvalidArticleId> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
            && s != "."
            && s != "..";
        if ok {
            Ok(ArticleId(s.to_string()))
        } else {
            Err(InvalidArticleId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ArticleId {
    type Error = InvalidArticleId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ArticleId::parse(&s)
    }
}

impl From<ArticleId> for String {
    fn from(id: ArticleId) -> String {
        id.0
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_publisher_ids() {
        for ok in [
            "seed",
            "2026-11-25:ukraine-talks",
            "A.b_c-1",
            &"x".repeat(128),
        ] {
            assert!(ArticleId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_paths_and_junk() {
        for bad in [
            "",
            "..",
            ".",
            "../etc/passwd",
            "a/b",
            "%2e%2e%2f",
            "a b",
            "é",
            &"x".repeat(129),
            "a\0b",
        ] {
            assert!(ArticleId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
