//! Pronunciation lexicon: a deployment-level TOML file (format in docs/LEXICON.md) that maps
//! words and phrases to a respelling or to Piper phonemes (`[[ ... ]]`). This module parses and
//! validates that file and applies it to sentences: whole-word, longest match first, in one pass
//! (replaced text is never matched again). Matching uses one Aho-Corasick automaton built at load
//! time, so cost is linear in the text regardless of how many entries there are. The only I/O is
//! the thin `Lexicon::load` wrapper.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use toml::Spanned;

/// Errors from loading a lexicon. Every variant carries a stable code (see [`LexiconError::code`])
/// and, where the problem is in the file, a 1-based line and column.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LexiconError {
    #[error("lexicon-toml: invalid TOML at line {line}, column {column}: {message}")]
    Toml {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("lexicon-empty-key: empty word at line {line}, column {column}")]
    EmptyKey { line: usize, column: usize },
    #[error("lexicon-invalid-entry: entry {word:?} at line {line}, column {column}: {message}")]
    InvalidEntry {
        word: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("lexicon-duplicate: {word:?} at line {line}, column {column} duplicates another entry (words are compared case-insensitively unless case_sensitive = true)")]
    Duplicate {
        word: String,
        line: usize,
        column: usize,
    },
    #[error("lexicon-io: cannot read {path}: {message}")]
    Io { path: String, message: String },
}

impl LexiconError {
    /// Stable machine-readable code, for logs and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            LexiconError::Toml { .. } => "lexicon-toml",
            LexiconError::EmptyKey { .. } => "lexicon-empty-key",
            LexiconError::InvalidEntry { .. } => "lexicon-invalid-entry",
            LexiconError::Duplicate { .. } => "lexicon-duplicate",
            LexiconError::Io { .. } => "lexicon-io",
        }
    }
}

/// How an entry is to be pronounced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pronunciation {
    /// A respelling in ordinary letters, read by the voice's own phonemizer (espeak-ng).
    Say(String),
    /// Phonemes in Piper's (espeak-ng IPA) form; emitted as `[[ phonemes ]]`.
    Phonemes(String),
}

/// One validated lexicon entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The word or phrase, with inner whitespace collapsed to single spaces.
    pub word: String,
    pub pronunciation: Pronunciation,
    /// When false (the default) the entry matches any letter case.
    pub case_sensitive: bool,
    /// What replaces a match in the spoken text.
    spoken: String,
}

/// A piece of a sentence after lexicon matching: either untouched text (still to be normalized)
/// or a lexicon replacement (final, must not be normalized again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexSpan<'a> {
    Text(&'a str),
    Replaced { source: &'a str, spoken: &'a str },
}

/// A loaded pronunciation lexicon. Cheap to share (`Arc<Lexicon>`); immutable after load.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: Vec<Entry>,
    /// None when there are no entries.
    automaton: Option<AhoCorasick>,
    /// Automaton pattern id → index into `entries` (a case-insensitive entry with non-ASCII
    /// letters has several patterns: the automaton folds ASCII case only).
    pattern_entry: Vec<usize>,
}

/// Upper bound on the byte length of one lexicon key; longer keys are almost certainly a mistake.
const MAX_KEY_BYTES: usize = 256;

impl Lexicon {
    /// A lexicon with no entries: `apply` returns its input unchanged.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Read and parse a lexicon file. The only I/O in the text layer.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LexiconError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| LexiconError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// Parse and validate a lexicon from TOML text (format in docs/LEXICON.md).
    pub fn from_toml_str(input: &str) -> Result<Self, LexiconError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            words: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
        }
        let file: File = toml::from_str(input).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(input, s.start)).unwrap_or((1, 1));
            LexiconError::Toml {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;

        // Sort by position in the file so errors name the first offending line.
        let mut raw: Vec<(Spanned<String>, Spanned<toml::Value>)> =
            file.words.into_iter().collect();
        raw.sort_by_key(|(k, _)| k.span().start);

        let mut entries = Vec::with_capacity(raw.len());
        let mut seen: HashMap<(bool, String), ()> = HashMap::new();
        for (key, value) in raw {
            let (line, column) = line_col(input, key.span().start);
            let word = collapse_ws(key.get_ref());
            if word.is_empty() {
                return Err(LexiconError::EmptyKey { line, column });
            }
            let invalid = |message: &str| LexiconError::InvalidEntry {
                word: word.clone(),
                line,
                column,
                message: message.to_string(),
            };
            if word.len() > MAX_KEY_BYTES {
                return Err(invalid("word or phrase is longer than 256 bytes"));
            }
            let (pronunciation, case_sensitive) =
                parse_value(value.get_ref()).map_err(|m| invalid(&m))?;
            let dedup_key = if case_sensitive {
                word.clone()
            } else {
                word.to_lowercase()
            };
            if seen.insert((case_sensitive, dedup_key), ()).is_some() {
                return Err(LexiconError::Duplicate { word, line, column });
            }
            let spoken = match &pronunciation {
                Pronunciation::Say(s) => s.clone(),
                Pronunciation::Phonemes(p) => format!("[[ {p} ]]"),
            };
            entries.push(Entry {
                word,
                pronunciation,
                case_sensitive,
                spoken,
            });
        }
        Ok(Self::from_entries(entries))
    }

    fn from_entries(entries: Vec<Entry>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_entry = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let mut variants = vec![e.word.clone()];
            if !e.case_sensitive && !e.word.is_ascii() {
                // The automaton folds ASCII case only; cover the usual casings of non-ASCII words.
                variants.push(e.word.to_lowercase());
                variants.push(e.word.to_uppercase());
                variants.push(titlecase(&e.word));
                variants.sort();
                variants.dedup();
            }
            for v in variants {
                patterns.push(v);
                pattern_entry.push(i);
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            // Standard semantics + overlapping search: we choose leftmost-longest ourselves after
            // the whole-word and case checks, so a rejected long candidate never hides a valid
            // shorter one.
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
        };
        Self {
            entries,
            automaton,
            pattern_entry,
        }
    }

    /// Split `text` into untouched text and lexicon replacements. Concatenating the `source` of
    /// replacements and the text spans gives back `text` exactly.
    pub fn spans<'a>(&'a self, text: &'a str) -> Vec<LexSpan<'a>> {
        let Some(ac) = &self.automaton else {
            return if text.is_empty() {
                Vec::new()
            } else {
                vec![LexSpan::Text(text)]
            };
        };
        // (start, end, entry) of every valid candidate.
        let mut cands: Vec<(usize, usize, usize)> = Vec::new();
        for m in ac.find_overlapping_iter(text) {
            let Some(&ei) = self.pattern_entry.get(m.pattern().as_usize()) else {
                continue;
            };
            let Some(entry) = self.entries.get(ei) else {
                continue;
            };
            let (s, e) = (m.start(), m.end());
            let Some(found) = text.get(s..e) else {
                continue;
            };
            if !whole_word(text, s, e, &entry.word) {
                continue;
            }
            let case_ok = if entry.case_sensitive {
                found == entry.word
            } else {
                found.to_lowercase() == entry.word.to_lowercase()
            };
            if case_ok {
                cands.push((s, e, ei));
            }
        }
        // Leftmost first; at one start the longest; on a tie a case-sensitive entry wins.
        cands.sort_by(|a, b| {
            a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| {
                let cs = |i: usize| {
                    self.entries
                        .get(i)
                        .map(|e| e.case_sensitive)
                        .unwrap_or(false)
                };
                cs(b.2).cmp(&cs(a.2))
            })
        });
        let mut out = Vec::new();
        let mut pos = 0usize;
        for (s, e, ei) in cands {
            if s < pos {
                continue;
            }
            let (Some(before), Some(source), Some(entry)) =
                (text.get(pos..s), text.get(s..e), self.entries.get(ei))
            else {
                continue;
            };
            if !before.is_empty() {
                out.push(LexSpan::Text(before));
            }
            out.push(LexSpan::Replaced {
                source,
                spoken: &entry.spoken,
            });
            pos = e;
        }
        if let Some(rest) = text.get(pos..) {
            if !rest.is_empty() {
                out.push(LexSpan::Text(rest));
            }
        }
        out
    }

    /// Replace every lexicon match in `text` by its pronunciation (respelling, or `[[ phonemes ]]`).
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for span in self.spans(text) {
            match span {
                LexSpan::Text(t) => out.push_str(t),
                LexSpan::Replaced { spoken, .. } => out.push_str(spoken),
            }
        }
        out
    }
}

fn parse_value(v: &toml::Value) -> Result<(Pronunciation, bool), String> {
    match v {
        toml::Value::String(s) => Ok((Pronunciation::Say(check_say(s)?), false)),
        toml::Value::Table(t) => {
            let mut say = None;
            let mut phonemes = None;
            let mut case_sensitive = false;
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("say", toml::Value::String(s)) => say = Some(check_say(s)?),
                    ("phonemes", toml::Value::String(s)) => phonemes = Some(check_phonemes(s)?),
                    ("case_sensitive", toml::Value::Boolean(b)) => case_sensitive = *b,
                    ("say" | "phonemes", _) => return Err(format!("`{k}` must be a string")),
                    ("case_sensitive", _) => {
                        return Err("`case_sensitive` must be true or false".into())
                    }
                    _ => {
                        return Err(format!(
                            "unknown field `{k}` (expected say, phonemes, case_sensitive)"
                        ))
                    }
                }
            }
            match (say, phonemes) {
                (Some(s), None) => Ok((Pronunciation::Say(s), case_sensitive)),
                (None, Some(p)) => Ok((Pronunciation::Phonemes(p), case_sensitive)),
                (Some(_), Some(_)) => Err("give either `say` or `phonemes`, not both".into()),
                (None, None) => Err("missing `say` or `phonemes`".into()),
            }
        }
        _ => Err(
            "value must be a string (a respelling) or a table { say = … } / { phonemes = … }"
                .into(),
        ),
    }
}

/// Respellings are lowercased: espeak-ng (Piper's phonemizer) spells an all-capital syllable
/// letter by letter ("zeh-LEN-skee" would be read "zeh L E N skee").
fn check_say(s: &str) -> Result<String, String> {
    let s = collapse_ws(s).to_lowercase();
    if s.is_empty() {
        return Err("`say` is empty".into());
    }
    if s.contains("[[") || s.contains("]]") {
        return Err("`say` must not contain [[ or ]] (use `phonemes` for phonemes)".into());
    }
    Ok(s)
}

fn check_phonemes(s: &str) -> Result<String, String> {
    let s = collapse_ws(s);
    if s.is_empty() {
        return Err("`phonemes` is empty".into());
    }
    if s.contains('[') || s.contains(']') {
        return Err("`phonemes` must not contain brackets; write the bare phonemes".into());
    }
    Ok(s)
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn titlecase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = c.is_whitespace() || c == '-';
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A match is whole-word when no word character touches it on a side where the key itself
/// begins/ends with a word character ("C++" may be followed by anything).
fn whole_word(text: &str, start: usize, end: usize, key: &str) -> bool {
    let key_starts_word = key.chars().next().is_some_and(is_word_char);
    let key_ends_word = key.chars().next_back().is_some_and(is_word_char);
    let before_ok = !key_starts_word
        || text
            .get(..start)
            .and_then(|b| b.chars().next_back())
            .is_none_or(|c| !is_word_char(c));
    let after_ok = !key_ends_word
        || text
            .get(end..)
            .and_then(|a| a.chars().next())
            .is_none_or(|c| !is_word_char(c));
    before_ok && after_ok
}

/// 1-based (line, column in chars) of byte offset `pos` in `input`.
pub(crate) fn line_col(input: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(input.len());
    while pos > 0 && !input.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = input.get(..pos).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before
        .get(line_start..)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}
