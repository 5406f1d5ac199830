//! `audioby lexicon check` (issue 17): what each lexicon entry changes in what the voice
//! hears. For every entry, espeak-ng's phonemes of the word as written and of its
//! replacement; an entry whose two strings are equal changes nothing and is flagged.
use crate::text::Lexicon;

use super::phonemize::phonemize;
use super::TtsError;

/// One entry's effect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntryCheck {
    pub word: String,
    /// espeak-ng's phonemes for the word without the lexicon.
    pub without: String,
    /// The phonemes the voice gets with the entry (respelling phonemized, or the entry's own).
    pub with: String,
}

impl EntryCheck {
    /// True when the entry makes no difference to what is spoken.
    pub fn unchanged(&self) -> bool {
        squash(&self.without) == squash(&self.with)
    }
}

/// Phoneme strings compared without spacing differences (espeak-ng and a hand-written entry
/// may split words differently).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Checks every entry of `lexicon` with the espeak-ng voice `espeak_voice` (e.g. "en-us").
pub fn check_lexicon(lexicon: &Lexicon, espeak_voice: &str) -> Result<Vec<EntryCheck>, TtsError> {
    lexicon
        .entries()
        .iter()
        .map(|e| {
            Ok(EntryCheck {
                word: e.word.clone(),
                without: phonemize(&e.word, espeak_voice)?,
                with: phonemize(&lexicon.apply(&e.word), espeak_voice)?,
            })
        })
        .collect()
}
