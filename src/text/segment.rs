//! Sentence segmentation and the `Segment` type handed to the engine. Block text is split into
//! sentences by `sentencex` (Wikimedia's rule-based segmenter, which knows English abbreviations,
//! initials, decimals, ellipses and closing quotes), followed by a small fix-up pass for title
//! abbreviations it still splits on ("Gen. Milley", "approx. 5") and the "said no. Then" case it
//! merges. Sentences longer than `max_chars` are cut at clause boundaries, then before
//! conjunctions, then at any space — always at whitespace, so no word is cut — and only a single
//! word longer than `max_chars` is cut at char boundaries. Every step is linear in the input and
//! keeps every non-whitespace character: the concatenated segments hold exactly the input's words.
//! Each sentence then becomes a [`Segment`]: `source` is the original sentence (for highlighting),
//! `spoken` is the lexicon applied and the remaining text normalized.
use serde::{Deserialize, Serialize};

use crate::article::{Block, BlockKind};
use crate::text::lexicon::{LexSpan, Lexicon};
use crate::text::normalize;

/// One unit of synthesis: one sentence (or clause of a long sentence), ready to speak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Normalized, speakable text (may contain `[[ phonemes ]]` spans).
    pub spoken: String,
    /// The original text this segment came from, for highlighting.
    pub source: String,
    /// Index of the block (paragraph, heading…) in the article. In SSML input, the index of the
    /// `<p>` (or implicit paragraph); blocks are paragraphs, so no separate paragraph index exists.
    pub block: usize,
    pub kind: BlockKind,
    /// Silence after this segment, in milliseconds.
    pub pause_after_ms: u32,
    /// Speaking-rate multiplier from SSML `prosody rate` (1.0 = normal).
    pub rate: f32,
}

/// How text is cut into segments and how long the pauses between them are. Also the `[text]`
/// config section, deserialized directly (`max_chars` is `max_segment_chars` there).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentOptions {
    /// A sentence longer than this (in chars) is split at clause boundaries, never mid-word.
    /// The default, 200, holds most news sentences whole and bounds inference memory, which
    /// grows with segment length.
    #[serde(
        rename = "max_segment_chars",
        deserialize_with = "configured_max_chars"
    )]
    pub max_chars: usize,
    pub sentence_pause_ms: u32,
    pub paragraph_pause_ms: u32,
    pub heading_pause_ms: u32,
    /// Total silence an SSML document may ask for with `<break>`s, in milliseconds; breaks
    /// past it are cut (with a warning). Silence costs no inference but memory and bytes: a
    /// thousand 10 s breaks were a 463 MB WAV held in memory.
    pub max_ssml_silence_ms: u32,
}

/// A configured `max_segment_chars` is held to 40..=10,000, the range audioby.toml documents
/// (code that builds `SegmentOptions` itself, such as tests, may go lower).
fn configured_max_chars<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(usize::deserialize(d)?.clamp(40, 10_000))
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            max_chars: 200,
            sentence_pause_ms: 250,
            paragraph_pause_ms: 600,
            heading_pause_ms: 800,
            max_ssml_silence_ms: 60_000,
        }
    }
}

impl SegmentOptions {
    /// Pause after the last segment of a block of this kind.
    pub fn block_end_pause(&self, kind: BlockKind) -> u32 {
        match kind {
            BlockKind::Title | BlockKind::Heading => self.heading_pause_ms,
            BlockKind::Paragraph | BlockKind::ListItem | BlockKind::Quote => {
                self.paragraph_pause_ms
            }
        }
    }
}

/// Split one block's plain text (no markup) into trimmed sentences of at most `max_chars` chars
/// (a `max_chars` of 0 is treated as 1). Only a single whitespace-free word longer than
/// `max_chars` is cut inside, at char boundaries, so that the synthesizer's input stays bounded;
/// concatenating the pieces of such a word gives it back. Whitespace-only input gives no sentences.
pub fn split_sentences(text: &str, max_chars: usize) -> Vec<String> {
    let max = max_chars.max(1);
    let mut out = Vec::new();
    for sentence in sentence_pieces(text) {
        split_long(sentence, max, &mut out);
    }
    out
}

/// Sentences of `text` as trimmed, non-empty slices covering every non-whitespace char.
fn sentence_pieces(text: &str) -> Vec<&str> {
    // Cut points from sentencex, validated so that a misbehaving boundary can never lose text:
    // we slice the input ourselves between increasing char-boundary offsets.
    let mut cuts: Vec<usize> = Vec::new();
    let mut last = 0usize;
    for b in sentencex::get_sentence_boundaries("en", text) {
        let end = b.end_byte;
        if end > last && end < text.len() && text.is_char_boundary(end) {
            cuts.push(end);
            last = end;
        }
    }
    let mut raw: Vec<&str> = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0usize;
    for &c in cuts.iter().chain(std::iter::once(&text.len())) {
        if let Some(p) = text.get(start..c) {
            let p = p.trim();
            if !p.is_empty() {
                raw.push(p);
            }
        }
        start = c;
    }
    let raw = split_said_no(raw);
    merge_abbreviations(text, raw)
}

/// Titles and abbreviations that (in news prose) are followed by a name or a number, never by
/// the end of a sentence. Lowercase, without the dot.
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "messrs", "dr", "prof", "gen", "sen", "rep", "gov", "pres", "lt", "col",
    "capt", "cpt", "sgt", "cmdr", "adm", "maj", "brig", "cpl", "pvt", "rev", "hon", "atty", "supt",
    "det", "insp", "amb", "sec", "treas", "fr", "sr", "st", "mt", "ft", "approx", "vs", "cf",
    "viz", "e.g", "i.e",
];
/// Abbreviations that do not end a sentence when a number follows ("No. 1", "Nov. 25").
const BEFORE_NUMBER: &[&str] = &[
    "no", "nos", "fig", "figs", "vol", "p", "pp", "art", "sec", "ch", "para", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ca", "approx", "rt", "hwy",
    "ext",
];

/// The last whitespace-separated token of `s`, lowercased, with trailing closing punctuation
/// removed but its final dot kept as a flag.
fn last_token_abbrev(s: &str) -> Option<String> {
    let tok = s.split_whitespace().next_back()?;
    let tok = tok.trim_start_matches(['(', '[', '"', '\'', '“', '‘']);
    let body = tok.strip_suffix('.')?;
    if body.is_empty() || body.chars().count() > 8 {
        return None;
    }
    Some(body.to_lowercase())
}

fn is_initial(abbr: &str, original_piece: &str) -> bool {
    // A single uppercase letter before the dot: "J." in "J. R. R. Tolkien".
    let tok = original_piece.split_whitespace().next_back().unwrap_or("");
    let mut chars = tok.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_uppercase())
        && abbr.chars().count() == 1
}

/// Re-join pieces that sentencex split after an abbreviation that cannot end a sentence.
/// Pieces are slices of `text`, in order, so a merge is a wider slice of `text`.
fn merge_abbreviations<'a>(text: &'a str, pieces: Vec<&'a str>) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let Some(prev) = out.last().copied() {
            if should_merge(prev, piece) {
                if let Some(joined) = join_slices(text, prev, piece) {
                    if let Some(slot) = out.last_mut() {
                        *slot = joined;
                    }
                    continue;
                }
            }
        }
        out.push(piece);
    }
    out
}

fn should_merge(prev: &str, next: &str) -> bool {
    let Some(abbr) = last_token_abbrev(prev) else {
        return false;
    };
    let next_first = next.chars().next();
    if NEVER_FINAL.contains(&abbr.as_str()) {
        return true;
    }
    if BEFORE_NUMBER.contains(&abbr.as_str()) && next_first.is_some_and(|c| c.is_ascii_digit()) {
        return true;
    }
    // An initial followed by a capitalised word ("J. Tolkien"), but not a one-letter sentence
    // like "Plan B." followed by a new sentence: accept only when the piece is initials so far
    // or the next word is short enough to be another initial or a surname.
    if is_initial(&abbr, prev) {
        let next_tok = next.split_whitespace().next().unwrap_or("");
        let initial_like = {
            let mut c = next_tok.chars();
            matches!((c.next(), c.next(), c.next()), (Some(a), Some('.'), None) if a.is_uppercase())
        };
        return initial_like || prev.split_whitespace().count() == 1;
    }
    false
}

/// The slice of `text` spanning from the start of `a` to the end of `b` (both slices of `text`).
fn join_slices<'a>(text: &'a str, a: &'a str, b: &'a str) -> Option<&'a str> {
    let base = text.as_ptr() as usize;
    let start = (a.as_ptr() as usize).checked_sub(base)?;
    let end = (b.as_ptr() as usize)
        .checked_sub(base)?
        .checked_add(b.len())?;
    if start <= end {
        text.get(start..end)
    } else {
        None
    }
}

/// sentencex reads "no." as the abbreviation of "number" even in "He said no. Then he left."
/// Split after a lowercase "no." followed by a capitalised word that is not a number.
fn split_said_no(pieces: Vec<&str>) -> Vec<&str> {
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let mut rest = piece;
        loop {
            let mut cut = None;
            let mut search_from = 0usize;
            while let Some(i) = rest.get(search_from..).and_then(|r| r.find(" no. ")) {
                let at = search_from + i;
                let after = rest.get(at + 5..).unwrap_or("");
                let after = after.trim_start_matches(['"', '“', '\'', '‘']);
                if after.chars().next().is_some_and(|c| c.is_uppercase()) {
                    cut = Some(at + 4);
                    break;
                }
                search_from = at + 5;
            }
            match cut.and_then(|c| Some((rest.get(..c)?, rest.get(c..)?))) {
                Some((head, tail)) => {
                    out.push(head.trim());
                    rest = tail.trim();
                }
                None => {
                    if !rest.is_empty() {
                        out.push(rest);
                    }
                    break;
                }
            }
        }
    }
    out
}

const CONJUNCTIONS: &[&str] = &[
    "and", "but", "or", "nor", "so", "yet", "because", "while", "although", "though", "whereas",
    "which", "who", "where", "when", "if", "unless", "until", "after", "before", "since",
];

/// Cut one trimmed sentence into pieces of at most `max` chars. Amortized linear: a clause or
/// conjunction cut is taken only at or beyond a third of the window, a space cut leaves a next
/// word that the following window consumes in full, and a hard cut consumes a full window.
fn split_long(sentence: &str, max: usize, out: &mut Vec<String>) {
    let mut rest = sentence.trim();
    while !rest.is_empty() {
        // Byte index just past the first `max` chars, or None when `rest` fits.
        let Some((limit, next_char)) = rest.char_indices().nth(max) else {
            out.push(rest.to_string());
            return;
        };
        let min_chars = max / 3;
        let mut last_clause: Option<usize> = None;
        let mut last_conj: Option<usize> = None;
        let mut last_space: Option<usize> = None;
        let mut prev: Option<char> = None;
        let mut prev2: Option<char> = None;
        for (count, (i, c)) in rest.char_indices().enumerate() {
            if i > limit {
                break;
            }
            let at_ws = if i == limit {
                next_char.is_whitespace()
            } else {
                c.is_whitespace()
            };
            if at_ws && !prev.is_some_and(char::is_whitespace) && i > 0 {
                last_space = Some(i);
                if count >= min_chars {
                    let clause = match prev {
                        Some(';' | ':' | ',' | '—' | '–') => true,
                        Some('-') => prev2.is_some_and(char::is_whitespace),
                        _ => false,
                    };
                    if clause {
                        last_clause = Some(i);
                    }
                    if starts_with_conjunction(rest.get(i..).unwrap_or("")) {
                        last_conj = Some(i);
                    }
                }
            }
            prev2 = prev;
            prev = Some(c);
        }
        let cut = last_clause.or(last_conj).or(last_space).unwrap_or(limit);
        let (head, tail) = match (rest.get(..cut), rest.get(cut..)) {
            (Some(h), Some(t)) => (h, t),
            _ => (rest, ""),
        };
        let head = head.trim_end();
        if !head.is_empty() {
            out.push(head.to_string());
        }
        rest = tail.trim_start();
    }
}

fn starts_with_conjunction(s: &str) -> bool {
    let word = s.trim_start();
    let end = word
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(word.len());
    if end == 0 || end > 8 {
        return false;
    }
    let w = word.get(..end).unwrap_or("");
    // The conjunction must itself be followed by whitespace (a whole word, not "Andrew").
    let followed_by_space = word
        .get(end..)
        .and_then(|r| r.chars().next())
        .is_some_and(char::is_whitespace);
    followed_by_space && CONJUNCTIONS.iter().any(|c| c.eq_ignore_ascii_case(w))
}

/// Speakable text for one sentence: lexicon replacements kept as they are, the text between
/// them normalized. Whitespace at each junction is kept as in the source, so "Zelenskyy's"
/// stays one word.
pub fn speak(source: &str, lexicon: &Lexicon) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    for span in lexicon.spans(source) {
        match span {
            LexSpan::Replaced { spoken, .. } => out.push_str(spoken),
            LexSpan::Text(t) => {
                let inner = t.trim();
                if t.starts_with(char::is_whitespace) {
                    out.push(' ');
                }
                if !inner.is_empty() {
                    // Article text must not smuggle in phoneme spans: only the lexicon and SSML
                    // produce `[[ ... ]]`.
                    let defused;
                    let inner = if inner.contains("[[") || inner.contains("]]") {
                        defused = inner.replace("[[", "[ [").replace("]]", "] ]");
                        defused.as_str()
                    } else {
                        inner
                    };
                    let n = normalize::normalize(inner);
                    let n = n.trim();
                    // Where the fragment touches a replacement without a space and the normalizer
                    // dropped the touching mark ("Trump-Putin" → "Trump" + "pootin"), keep the two
                    // words apart.
                    let first_kept = inner.chars().next().is_some_and(|c| n.starts_with(c));
                    if !first_kept
                        && !t.starts_with(char::is_whitespace)
                        && !out.is_empty()
                        && !out.ends_with(' ')
                    {
                        out.push(' ');
                    }
                    // Keep a clause mark right after a replacement ("Zelenskyy, who"): normalizing
                    // the fragment alone drops a leading comma, and with it the pause.
                    if let Some(mark) = inner
                        .chars()
                        .next()
                        .filter(|c| matches!(c, ',' | ';' | ':'))
                    {
                        if !n.starts_with(mark) && !out.trim_end().is_empty() {
                            let trimmed = out.trim_end().len();
                            out.truncate(trimmed);
                            out.push(mark);
                            out.push(' ');
                        }
                    }
                    out.push_str(n);
                    let last_kept = inner.chars().next_back().is_some_and(|c| n.ends_with(c));
                    if t.ends_with(char::is_whitespace) || !last_kept {
                        out.push(' ');
                    }
                }
            }
        }
    }
    collapse_ws(&out)
}

/// Whether spoken text has anything to say: a letter or digit, or a phoneme span. Text of
/// punctuation alone ("...", "—") would make the voice produce noise or nothing.
pub fn has_speech(spoken: &str) -> bool {
    spoken.contains("[[") || spoken.chars().any(char::is_alphanumeric)
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Turn article blocks into segments. `block` is the index into `blocks` (so a player can seek to
/// a paragraph even when earlier blocks had nothing to say). A sentence that speaks as nothing
/// (only punctuation, say) is not a segment of its own: its source joins the previous segment of
/// the block (or the next one), so highlighting still covers every word.
pub fn segment_blocks(blocks: &[Block], lexicon: &Lexicon, opts: &SegmentOptions) -> Vec<Segment> {
    let mut out = Vec::new();
    for (bi, block) in blocks.iter().enumerate() {
        let mut segs: Vec<Segment> = Vec::new();
        let mut carry = String::new();
        for sentence in split_sentences(&block.text, opts.max_chars) {
            let spoken = speak(&sentence, lexicon);
            if !has_speech(&spoken) {
                match segs.last_mut() {
                    Some(last) => {
                        last.source.push(' ');
                        last.source.push_str(&sentence);
                    }
                    None => {
                        if !carry.is_empty() {
                            carry.push(' ');
                        }
                        carry.push_str(&sentence);
                    }
                }
                continue;
            }
            let source = if carry.is_empty() {
                sentence
            } else {
                let mut s = std::mem::take(&mut carry);
                s.push(' ');
                s.push_str(&sentence);
                s
            };
            segs.push(Segment {
                spoken,
                source,
                block: bi,
                kind: block.kind,
                pause_after_ms: opts.sentence_pause_ms,
                rate: 1.0,
            });
        }
        if let Some(last) = segs.last_mut() {
            last.pause_after_ms = opts.block_end_pause(block.kind);
        }
        out.extend(segs);
    }
    out
}

/// Split plain text into paragraph blocks. With blank lines present, blank lines separate
/// paragraphs and single newlines inside one are hard wraps; without any, every non-empty line
/// is a paragraph.
pub fn paragraphs(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let has_blank = {
        let mut seen_text = false;
        let mut blank_between = false;
        let mut pending_blank = false;
        for l in &lines {
            if l.trim().is_empty() {
                pending_blank = seen_text;
            } else {
                if pending_blank {
                    blank_between = true;
                }
                seen_text = true;
            }
        }
        blank_between
    };
    let mut blocks = Vec::new();
    if has_blank {
        let mut cur = String::new();
        for l in lines {
            if l.trim().is_empty() {
                if !cur.is_empty() {
                    blocks.push(Block::new(BlockKind::Paragraph, std::mem::take(&mut cur)));
                }
            } else {
                if !cur.is_empty() {
                    cur.push(' ');
                }
                cur.push_str(&collapse_ws(l));
            }
        }
        if !cur.is_empty() {
            blocks.push(Block::new(BlockKind::Paragraph, cur));
        }
    } else {
        for l in lines {
            let l = collapse_ws(l);
            if !l.is_empty() {
                blocks.push(Block::new(BlockKind::Paragraph, l));
            }
        }
    }
    blocks
}

/// Segment plain text: paragraphs as in [`paragraphs`], each a `Paragraph` block.
pub fn segment_text(text: &str, lexicon: &Lexicon, opts: &SegmentOptions) -> Vec<Segment> {
    segment_blocks(&paragraphs(text), lexicon, opts)
}
