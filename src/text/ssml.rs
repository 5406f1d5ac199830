//! The SSML subset: parses a `<speak>` document (or a fragment, which is wrapped in one) with
//! roxmltree and turns it into the same [`Segment`]s as plain text. Supported: `speak`, `p`, `s`,
//! `break` (time / strength), `say-as` (cardinal, ordinal, digits, characters / spell-out, date,
//! time, telephone — via the normalizer), `sub alias`, `phoneme alphabet="ipa" ph` (→ `[[ ph ]]`)
//! and `prosody rate`. Any other element is ignored with a warning and its text is read. Input is
//! bounded (size and nesting depth, see [`SsmlLimits`]); errors carry a stable code and a line and
//! column. Text that an element already made speakable (say-as, sub, phoneme) is not run through
//! the lexicon or the normalizer again.
use std::collections::BTreeSet;

use roxmltree::{Document, Node, ParsingOptions};

use crate::article::BlockKind;
use crate::text::lexicon::Lexicon;
use crate::text::normalize;
use crate::text::segment::{has_speech, speak, split_sentences, Segment, SegmentOptions};

/// Result of parsing SSML: segments ready for synthesis plus non-fatal warnings (unsupported
/// elements or attribute values), which are also logged with `tracing::warn!`.
#[derive(Debug, Clone, PartialEq)]
pub struct SsmlDocument {
    pub segments: Vec<Segment>,
    pub warnings: Vec<String>,
    /// Silence before the first segment, from `<break>`s that precede any speech.
    pub leading_pause_ms: u32,
}

/// Bounds on untrusted SSML input.
#[derive(Debug, Clone, Copy)]
pub struct SsmlLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting (`<speak>` is depth 1). Values above 256 are treated
    /// as 256: the walk recurses once per level and must stay far from the stack's end.
    pub max_depth: usize,
}

impl Default for SsmlLimits {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024,
            max_depth: 32,
        }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SsmlError {
    #[error("ssml-malformed: line {line}, column {column}: {message}")]
    Malformed {
        line: u32,
        column: u32,
        message: String,
    },
    #[error("ssml-too-deep: line {line}, column {column}: elements nested deeper than {limit}")]
    TooDeep {
        line: u32,
        column: u32,
        limit: usize,
    },
    #[error("ssml-too-large: {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

impl SsmlError {
    /// Stable machine-readable code, for logs and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SsmlError::Malformed { .. } => "ssml-malformed",
            SsmlError::TooDeep { .. } => "ssml-too-deep",
            SsmlError::TooLarge { .. } => "ssml-too-large",
        }
    }
}

/// Parse SSML with the default [`SsmlLimits`].
pub fn parse_ssml(
    input: &str,
    lexicon: &Lexicon,
    opts: &SegmentOptions,
) -> Result<SsmlDocument, SsmlError> {
    parse_ssml_with_limits(input, lexicon, opts, &SsmlLimits::default())
}

const WRAP_OPEN: &str = "<speak>";
const WRAP_CLOSE: &str = "</speak>";
/// Longest single `<break>`; SSML engines commonly cap at 10 s.
const MAX_BREAK_MS: u32 = 10_000;
/// Warnings kept per document (the rest are counted in one final warning).
const MAX_WARNINGS: usize = 50;
/// Placeholder delimiters (Unicode private use) for already-spoken pieces inside a sentence.
const PH_OPEN: char = '\u{E000}';
const PH_CLOSE: char = '\u{E001}';

/// Parse SSML. A document whose first markup is not `<speak>` (or an XML declaration) is taken as
/// a fragment and wrapped in `<speak>…</speak>`, so plain text and `Hello <break/> world` work;
/// text must still be XML-escaped (`&amp;`).
pub fn parse_ssml_with_limits(
    input: &str,
    lexicon: &Lexicon,
    opts: &SegmentOptions,
    limits: &SsmlLimits,
) -> Result<SsmlDocument, SsmlError> {
    if input.len() > limits.max_bytes {
        return Err(SsmlError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    let head = input.trim_start();
    let is_document = head.starts_with("<?xml") || {
        head.strip_prefix("<speak")
            .and_then(|r| r.chars().next())
            .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace())
    };
    let wrapped;
    let (text, wrap_offset) = if is_document {
        (input, 0u32)
    } else {
        wrapped = format!("{WRAP_OPEN}{input}{WRAP_CLOSE}");
        (wrapped.as_str(), WRAP_OPEN.len() as u32)
    };
    // Positions are reported in the caller's input: undo the wrapper's shift on line 1.
    let fix = |row: u32, col: u32| -> (u32, u32) {
        if row == 1 {
            (row, col.saturating_sub(wrap_offset).max(1))
        } else {
            (row, col)
        }
    };
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| {
        let p = e.pos();
        let (line, column) = fix(p.row, p.col);
        // roxmltree's message ends with its own " at row:col", which counts the wrapper.
        let full = e.to_string();
        let message = match full.rfind(" at ") {
            Some(i)
                if full
                    .get(i + 4..)
                    .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit() || c == ':')) =>
            {
                full.get(..i).unwrap_or(&full).to_string()
            }
            _ => full,
        };
        SsmlError::Malformed {
            line,
            column,
            message,
        }
    })?;

    let mut b = Builder::new(lexicon, opts);
    let root = doc.root_element();
    if root.tag_name().name() != "speak" {
        b.warn(format!(
            "root element is <{}>, not <speak>; read as if it were <speak>",
            root.tag_name().name()
        ));
    }
    let ctx = Ctx {
        doc: &doc,
        limits,
        fix: &fix,
    };
    b.walk_children(root, 1, &ctx)?;
    b.flush(Boundary::Paragraph);
    b.raise_last(opts.paragraph_pause_ms);
    Ok(b.finish())
}

struct Ctx<'a, 'input, F: Fn(u32, u32) -> (u32, u32)> {
    doc: &'a Document<'input>,
    limits: &'a SsmlLimits,
    fix: &'a F,
}

#[derive(Clone, Copy, PartialEq)]
enum Boundary {
    /// A cut with no pause of its own (a `<break>` adds its time; a rate change).
    Cut,
    Sentence,
    Paragraph,
}

enum Piece {
    /// Text still to go through the lexicon and the normalizer.
    Raw(String),
    /// Text an element already made speakable; `source` is what the reader sees.
    Spoken { source: String, spoken: String },
}

struct Builder<'l> {
    lexicon: &'l Lexicon,
    opts: &'l SegmentOptions,
    segments: Vec<Segment>,
    warnings: Vec<String>,
    dropped_warnings: usize,
    warned_tags: BTreeSet<String>,
    leading_pause_ms: u32,
    /// Silence the `<break>`s asked for so far, against `opts.max_ssml_silence_ms`.
    break_ms: u32,
    silence_capped: bool,
    buf: Vec<Piece>,
    rate: f32,
    block: usize,
    block_has_content: bool,
}

impl<'l> Builder<'l> {
    fn new(lexicon: &'l Lexicon, opts: &'l SegmentOptions) -> Self {
        Self {
            lexicon,
            opts,
            segments: Vec::new(),
            warnings: Vec::new(),
            dropped_warnings: 0,
            warned_tags: BTreeSet::new(),
            leading_pause_ms: 0,
            break_ms: 0,
            silence_capped: false,
            buf: Vec::new(),
            rate: 1.0,
            block: 0,
            block_has_content: false,
        }
    }

    fn finish(mut self) -> SsmlDocument {
        if self.dropped_warnings > 0 {
            self.warnings
                .push(format!("{} more warnings not shown", self.dropped_warnings));
        }
        SsmlDocument {
            segments: self.segments,
            warnings: self.warnings,
            leading_pause_ms: self.leading_pause_ms,
        }
    }

    fn warn(&mut self, message: String) {
        tracing::warn!(target: "audioby::ssml", "{message}");
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn walk_children<F: Fn(u32, u32) -> (u32, u32)>(
        &mut self,
        node: Node,
        depth: usize,
        ctx: &Ctx<'_, '_, F>,
    ) -> Result<(), SsmlError> {
        for child in node.children() {
            if child.is_text() {
                if let Some(t) = child.text() {
                    self.buf.push(Piece::Raw(t.to_string()));
                }
            } else if child.is_element() {
                self.element(child, depth + 1, ctx)?;
            }
        }
        Ok(())
    }

    fn element<F: Fn(u32, u32) -> (u32, u32)>(
        &mut self,
        node: Node,
        depth: usize,
        ctx: &Ctx<'_, '_, F>,
    ) -> Result<(), SsmlError> {
        let max_depth = ctx.limits.max_depth.min(256);
        if depth > max_depth {
            let p = ctx.doc.text_pos_at(node.range().start);
            let (line, column) = (ctx.fix)(p.row, p.col);
            return Err(SsmlError::TooDeep {
                line,
                column,
                limit: max_depth,
            });
        }
        let name = node.tag_name().name();
        match name {
            "speak" => self.walk_children(node, depth, ctx)?,
            "p" | "paragraph" => {
                self.paragraph_boundary();
                self.walk_children(node, depth, ctx)?;
                self.paragraph_boundary();
            }
            "s" | "sentence" => {
                self.flush(Boundary::Sentence);
                self.raise_last(self.opts.sentence_pause_ms);
                self.walk_children(node, depth, ctx)?;
                self.flush(Boundary::Sentence);
                self.raise_last(self.opts.sentence_pause_ms);
            }
            "break" => self.brk(node),
            "say-as" => self.say_as(node, depth, ctx)?,
            "sub" => {
                let source = text_content(node);
                match node
                    .attribute("alias")
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                {
                    Some(alias) => self.spoken(source, normalize::normalize(alias)),
                    None => {
                        self.warn("<sub> without alias: its text is read".into());
                        self.buf.push(Piece::Raw(source));
                    }
                }
            }
            "phoneme" => self.phoneme(node),
            "prosody" => self.prosody(node, depth, ctx)?,
            "mark" => {}
            other => {
                if self.warned_tags.insert(other.to_string()) {
                    self.warn(format!(
                        "unsupported element <{other}> ignored; its text is read"
                    ));
                }
                self.walk_children(node, depth, ctx)?;
            }
        }
        Ok(())
    }

    fn paragraph_boundary(&mut self) {
        self.flush(Boundary::Paragraph);
        self.raise_last(self.opts.paragraph_pause_ms);
        if self.block_has_content {
            self.block += 1;
            self.block_has_content = false;
        }
    }

    /// Raise the pause after the last segment to at least `ms` (a boundary right after it).
    fn raise_last(&mut self, ms: u32) {
        if let Some(last) = self.segments.last_mut() {
            last.pause_after_ms = last.pause_after_ms.max(ms);
        }
    }

    fn brk(&mut self, node: Node) {
        let ms = match (node.attribute("time"), node.attribute("strength")) {
            (Some(t), _) => match parse_time_ms(t) {
                Some(ms) => ms,
                None => {
                    self.warn(format!("<break time=\"{t}\">: not a duration like 500ms or 1.5s; using a medium break"));
                    400
                }
            },
            (None, Some(s)) => match strength_ms(s) {
                Some(ms) => ms,
                None => {
                    self.warn(format!(
                        "<break strength=\"{s}\">: unknown strength; using medium"
                    ));
                    400
                }
            },
            (None, None) => 400,
        };
        let ms = if ms > MAX_BREAK_MS {
            self.warn(format!("<break> of {ms} ms capped at {MAX_BREAK_MS} ms"));
            MAX_BREAK_MS
        } else {
            ms
        };
        if ms == 0 {
            return;
        }
        self.flush(Boundary::Cut);
        let room = self.opts.max_ssml_silence_ms.saturating_sub(self.break_ms);
        let ms = if ms > room {
            if !self.silence_capped {
                self.silence_capped = true;
                self.warn(format!(
                    "<break>s add up to more than {} ms of silence; the rest are cut",
                    self.opts.max_ssml_silence_ms
                ));
            }
            room
        } else {
            ms
        };
        self.break_ms += ms;
        match self.segments.last_mut() {
            Some(last) => last.pause_after_ms = last.pause_after_ms.saturating_add(ms),
            None => self.leading_pause_ms = self.leading_pause_ms.saturating_add(ms),
        }
    }

    fn say_as<F: Fn(u32, u32) -> (u32, u32)>(
        &mut self,
        node: Node,
        depth: usize,
        ctx: &Ctx<'_, '_, F>,
    ) -> Result<(), SsmlError> {
        let text = text_content(node);
        let value = text.trim();
        let interpret = node
            .attribute("interpret-as")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let result: Option<String> = match interpret.as_str() {
            "cardinal" | "number" => normalize::cardinal(value),
            "ordinal" => normalize::ordinal(value),
            "digits" => Some(normalize::digits(value)),
            "characters" | "spell-out" | "letters" => Some(normalize::characters(value)),
            "date" => {
                let iso = node.attribute("format").and_then(|f| date_to_iso(value, f));
                iso.as_deref()
                    .and_then(normalize::date)
                    .or_else(|| normalize::date(value))
            }
            "time" => normalize::time(value),
            "telephone" | "phone" => normalize::telephone(value),
            other => {
                self.warn(format!(
                    "<say-as interpret-as=\"{other}\"> is not supported; its text is read"
                ));
                return self.walk_children(node, depth, ctx);
            }
        };
        match result.filter(|s| !s.trim().is_empty()) {
            Some(spoken) => self.spoken(text, spoken),
            None => {
                if !value.is_empty() {
                    self.warn(format!("<say-as interpret-as=\"{interpret}\">: cannot read {value:?} that way; read as text"));
                }
                self.buf.push(Piece::Raw(text));
            }
        }
        Ok(())
    }

    fn phoneme(&mut self, node: Node) {
        let source = text_content(node);
        let alphabet = node.attribute("alphabet").unwrap_or("ipa").trim();
        let ph: String = node
            .attribute("ph")
            .unwrap_or("")
            .chars()
            .filter(|c| !matches!(*c, '[' | ']' | PH_OPEN | PH_CLOSE))
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !alphabet.eq_ignore_ascii_case("ipa") {
            self.warn(format!(
                "<phoneme alphabet=\"{alphabet}\"> is not supported (only ipa); its text is read"
            ));
            self.buf.push(Piece::Raw(source));
        } else if ph.is_empty() {
            self.warn("<phoneme> without ph: its text is read".into());
            self.buf.push(Piece::Raw(source));
        } else {
            self.spoken(source, format!("[[ {ph} ]]"));
        }
    }

    fn prosody<F: Fn(u32, u32) -> (u32, u32)>(
        &mut self,
        node: Node,
        depth: usize,
        ctx: &Ctx<'_, '_, F>,
    ) -> Result<(), SsmlError> {
        for a in node.attributes() {
            if a.name() != "rate" {
                self.warn(format!(
                    "<prosody {}=…> is not supported; ignored",
                    a.name()
                ));
            }
        }
        let new_rate = match node.attribute("rate") {
            None => self.rate,
            Some(r) => {
                match parse_rate(r, self.rate) {
                    Some(x) => x,
                    None => {
                        self.warn(format!("<prosody rate=\"{r}\">: not a rate (x-slow…x-fast, 80%, or 1.2); ignored"));
                        self.rate
                    }
                }
            }
        };
        if (new_rate - self.rate).abs() < f32::EPSILON {
            return self.walk_children(node, depth, ctx);
        }
        self.flush(Boundary::Cut);
        let saved = self.rate;
        self.rate = new_rate;
        let r = self.walk_children(node, depth, ctx);
        self.flush(Boundary::Cut);
        self.rate = saved;
        r
    }

    fn spoken(&mut self, source: String, spoken: String) {
        let spoken = spoken.replace([PH_OPEN, PH_CLOSE], " ");
        self.buf.push(Piece::Spoken { source, spoken });
    }

    /// Turn the buffered pieces into segments. The last new segment gets the boundary's pause
    /// (0 for a cut), the others the sentence pause.
    fn flush(&mut self, boundary: Boundary) {
        if self.buf.is_empty() {
            return;
        }
        let pieces = std::mem::take(&mut self.buf);
        // Join into one text with placeholders for already-spoken pieces, so sentence splitting
        // sees the whole run (a say-as inside a sentence does not end it).
        let mut text = String::new();
        let mut spoken_pieces: Vec<(String, String)> = Vec::new();
        for p in pieces {
            match p {
                Piece::Raw(t) => text.extend(t.chars().map(|c| {
                    if c == PH_OPEN || c == PH_CLOSE {
                        ' '
                    } else {
                        c
                    }
                })),
                Piece::Spoken { source, spoken } => {
                    text.push(PH_OPEN);
                    text.push_str(&spoken_pieces.len().to_string());
                    text.push(PH_CLOSE);
                    spoken_pieces.push((source, spoken));
                }
            }
        }
        // A placeholder is at most ~10 chars; keep the cut length above that so it stays whole.
        let max = self.opts.max_chars.max(32);
        let mut new: Vec<Segment> = Vec::new();
        let mut carry = String::new();
        for sentence in split_sentences(&text, max) {
            let (source, spoken) = self.render(&sentence, &spoken_pieces);
            if !has_speech(&spoken) {
                match new.last_mut() {
                    Some(last) => {
                        if !source.trim().is_empty() {
                            last.source.push(' ');
                            last.source.push_str(source.trim());
                        }
                    }
                    None => {
                        carry.push_str(source.trim());
                        carry.push(' ');
                    }
                }
                continue;
            }
            let source = format!("{carry}{}", source.trim());
            carry.clear();
            new.push(Segment {
                spoken,
                source,
                block: self.block,
                kind: BlockKind::Paragraph,
                pause_after_ms: self.opts.sentence_pause_ms,
                rate: self.rate,
            });
        }
        if let Some(last) = new.last_mut() {
            last.pause_after_ms = match boundary {
                Boundary::Cut => 0,
                Boundary::Sentence => self.opts.sentence_pause_ms,
                Boundary::Paragraph => self.opts.paragraph_pause_ms,
            };
        }
        if !new.is_empty() {
            self.block_has_content = true;
        }
        self.segments.extend(new);
    }

    /// Source and spoken text of one sentence that may contain placeholders.
    fn render(&self, sentence: &str, spoken_pieces: &[(String, String)]) -> (String, String) {
        let mut source = String::new();
        let mut spoken = String::new();
        let mut rest = sentence;
        while !rest.is_empty() {
            let (raw, after) = match rest.find(PH_OPEN) {
                Some(i) => (
                    rest.get(..i).unwrap_or(""),
                    rest.get(i + PH_OPEN.len_utf8()..),
                ),
                None => (rest, None),
            };
            if !raw.is_empty() {
                source.push_str(raw);
                if raw.starts_with(char::is_whitespace) {
                    spoken.push(' ');
                }
                spoken.push_str(&speak(raw, self.lexicon));
                if raw.ends_with(char::is_whitespace) {
                    spoken.push(' ');
                }
            }
            let Some(after) = after else { break };
            let close = after.find(PH_CLOSE);
            let piece = close
                .and_then(|c| after.get(..c))
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|i| spoken_pieces.get(i));
            match (piece, close) {
                (Some((src, sp)), Some(c)) => {
                    source.push_str(src);
                    spoken.push_str(sp);
                    rest = after.get(c + PH_CLOSE.len_utf8()..).unwrap_or("");
                }
                // A damaged placeholder (cannot happen with max ≥ 32) is dropped, not spoken.
                _ => rest = after,
            }
        }
        let spoken = spoken.split_whitespace().collect::<Vec<_>>().join(" ");
        let source = source.split_whitespace().collect::<Vec<_>>().join(" ");
        (source, spoken)
    }
}

/// All descendant text of an element, in document order.
fn text_content(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// "500ms", "1.5s", "2 s" → milliseconds. Rejects negatives, NaN and absurd values.
fn parse_time_ms(t: &str) -> Option<u32> {
    let t = t.trim().to_ascii_lowercase();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let ms = (v * scale).round();
    Some(if ms > u32::MAX as f64 {
        u32::MAX
    } else {
        ms as u32
    })
}

fn strength_ms(s: &str) -> Option<u32> {
    Some(match s.trim() {
        "none" => 0,
        "x-weak" => 100,
        "weak" => 200,
        "medium" => 400,
        "strong" => 700,
        "x-strong" => 1200,
        _ => return None,
    })
}

/// Keywords are absolute; "80%" is a fraction of the normal rate; "+10%" / "-10%" change the
/// current rate; a bare number is a multiplier. Clamped to 0.25–4.
fn parse_rate(r: &str, current: f32) -> Option<f32> {
    let r = r.trim();
    let v = match r {
        "x-slow" => 0.6,
        "slow" => 0.8,
        "medium" | "default" => 1.0,
        "fast" => 1.25,
        "x-fast" => 1.5,
        _ => {
            if let Some(p) = r.strip_suffix('%') {
                let x: f32 = p.trim().parse().ok()?;
                if p.trim_start().starts_with(['+', '-']) {
                    current * (1.0 + x / 100.0)
                } else {
                    x / 100.0
                }
            } else {
                r.parse::<f32>().ok()?
            }
        }
    };
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    Some(v.clamp(0.25, 4.0))
}

/// Reorder a numeric date such as "11/25/2026" with format "mdy" into ISO "2026-11-25", which the
/// normalizer's `date` reads. None when the format or the value does not fit.
fn date_to_iso(value: &str, format: &str) -> Option<String> {
    let parts: Vec<&str> = value
        .split(['/', '-', '.', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let format = format.trim().to_ascii_lowercase();
    if parts.len() != format.len() || format.len() != 3 {
        return None;
    }
    let mut y = None;
    let mut m = None;
    let mut d = None;
    for (f, p) in format.chars().zip(parts) {
        let n: u32 = p.parse().ok()?;
        match f {
            'y' => y = Some(n),
            'm' => m = Some(n),
            'd' => d = Some(n),
            _ => return None,
        }
    }
    let (y, m, d) = (y?, m?, d?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if y < 100 { 2000 + y } else { y };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}
