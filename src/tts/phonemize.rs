//! Text → Piper phonemes with espeak-ng. espeak-ng keeps global state and is not thread-safe
//! (two threads calling it at once fail with "Failed to set voice"), so every call goes
//! through one process-wide lock; phonemizing is cheap next to inference. Spans written as
//! `[[ phonemes ]]` (lexicon and SSML `<phoneme>`) are passed through as-is.
use std::sync::Mutex;

use super::TtsError;

static ESPEAK: Mutex<()> = Mutex::new(());

/// Phonemize one segment. Returns an empty string when nothing is speakable.
pub fn phonemize(text: &str, espeak_voice: &str) -> Result<String, TtsError> {
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    while !rest.is_empty() {
        let (plain, raw, tail) = match rest.find("[[") {
            Some(start) => match rest[start + 2..].find("]]") {
                Some(len) => (
                    &rest[..start],
                    Some(&rest[start + 2..start + 2 + len]),
                    &rest[start + 2 + len + 2..],
                ),
                None => (rest, None, ""),
            },
            None => (rest, None, ""),
        };
        push_spaced(&mut out, &espeak(plain, espeak_voice)?);
        if let Some(raw) = raw {
            push_spaced(&mut out, raw.trim());
        }
        rest = tail;
    }
    Ok(out)
}

fn push_spaced(out: &mut String, piece: &str) {
    if piece.is_empty() {
        return;
    }
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(piece);
}

fn espeak(text: &str, voice: &str) -> Result<String, TtsError> {
    if !text.chars().any(|c| c.is_alphanumeric()) {
        return Ok(String::new());
    }
    // A poisoned lock only means another phonemization panicked; espeak's state is reset per call.
    let _guard = ESPEAK.lock().unwrap_or_else(|p| p.into_inner());
    let parts = espeak_rs::text_to_phonemes(text, voice, None)
        .map_err(|e| TtsError::Phonemize(e.to_string()))?;
    Ok(parts.join(" ").trim().to_string())
}
