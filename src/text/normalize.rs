//! English text normalization for TTS: turns one line of news prose into speakable words —
//! numbers, years, money, percentages, ranges, dates, times, measures, phone numbers, Roman
//! numerals, abbreviations, acronyms, web addresses, symbols and typographic punctuation. A
//! hand-written whitespace tokenizer feeds context rules that look at most two tokens either
//! side, and every rule is bounded, so a line is processed in linear time. `[[ ... ]]` phoneme
//! spans pass through untouched; everything else comes out as letters, spaces, apostrophes and
//! basic punctuation (`. , ; : ? ! ' " - ( )`) only. Deterministic, no I/O, never panics.

mod address;
pub mod eval;
mod numbers;
mod ranges;
mod tables;

use numbers::{
    decade_words, digit_words, fraction_words, int_words, num_words, ordinal_of, parse_num,
    pluralize_last, small, two_digit, year_words, Num,
};
use tables::AbbrKind;

/// Normalize one line of text into speakable words. `[[ ... ]]` phoneme spans pass through
/// untouched (digits are allowed only there).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4 + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let Some(a) = rest.find("[[") else {
            push_piece(&mut out, &normalize_plain(rest));
            break;
        };
        let after = &rest[a + 2..];
        let Some(b) = after.find("]]") else {
            push_piece(&mut out, &normalize_plain(rest));
            break;
        };
        push_piece(&mut out, &normalize_plain(&rest[..a]));
        let span = &rest[a..a + 2 + b + 2];
        if !out.is_empty() && !out.ends_with([' ', '(', '"']) {
            out.push(' ');
        }
        out.push_str(span);
        rest = &after[b + 2..];
    }
    out.trim().to_string()
}

/// "1,234" / "-3.5" → words. None when `s` is not a number.
pub fn cardinal(s: &str) -> Option<String> {
    parse_num(s.trim()).map(|n| num_words(&n))
}

/// "3" / "3rd" → "third".
pub fn ordinal(s: &str) -> Option<String> {
    let s = s.trim();
    let digits = ordinal_digits(s).or_else(|| {
        parse_num(s)
            .filter(|n| n.is_plain_int() && !n.int.is_empty())
            .map(|n| n.int)
    })?;
    Some(ordinal_of(&digits))
}

/// "2026" → "two zero two six". Letters are kept one by one; other characters are dropped.
pub fn digits(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            parts.push(numbers::digit_word(c).to_string());
        } else if c.is_alphabetic() && !c.is_numeric() {
            parts.push(c.to_string());
        }
    }
    parts.join(" ")
}

/// "FBI" → "F B I" (letters spelled one by one, upper case; digits as words).
pub fn characters(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            parts.push(numbers::digit_word(c).to_string());
        } else if c.is_alphabetic() && !c.is_numeric() {
            parts.push(c.to_uppercase().collect());
        }
    }
    parts.join(" ")
}

/// A date such as "2026-11-25", "Nov. 25, 2026", "25 November 2026" → words.
pub fn date(s: &str) -> Option<String> {
    whole_match(s, |cx| match_date(cx, 0))
}

/// "3:30 p.m." / "15:45" → words.
pub fn time(s: &str) -> Option<String> {
    whole_match(s, |cx| {
        match_time(cx, 0).or_else(|| {
            let t = cx.tok(0);
            time_core(t.core).map(|w| Match::plain(w, 1))
        })
    })
}

/// "+1 (555) 123-4567" → digits read in groups.
pub fn telephone(s: &str) -> Option<String> {
    whole_match(s, |cx| match_phone(cx, 0))
}

fn whole_match(s: &str, f: impl Fn(&Cx) -> Option<Match>) -> Option<String> {
    let pre = prepass(s);
    let cx = Cx::new(&pre);
    if cx.toks.is_empty() {
        return None;
    }
    let m = f(&cx)?;
    (m.used == cx.toks.len()).then(|| sanitize(&m.words))
}

// ---------------------------------------------------------------------------------------------
// Line-level plumbing

fn push_piece(out: &mut String, piece: &str) {
    let piece = piece.trim();
    if piece.is_empty() {
        return;
    }
    if !out.is_empty() && !piece.starts_with(['.', ',', ';', ':', '?', '!', ')']) {
        out.push(' ');
    }
    out.push_str(piece);
}

fn normalize_plain(text: &str) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    let pre = prepass(text);
    let cx = Cx::new(&pre);
    let mut out = Out::default();
    let mut i = 0;
    while i < cx.toks.len() {
        i += step(&cx, i, &mut out).max(1);
    }
    sanitize(&out.s)
}

/// Typographic clean-up before tokenizing: curly quotes and apostrophes to straight ones, em
/// dashes to a free-standing pause token, ellipsis to three periods, vulgar fractions to
/// "n/d", odd spaces to plain spaces, invisible characters dropped.
fn prepass(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    let mut prev = ' ';
    while let Some((at, c)) = chars.next() {
        match c {
            // SI / French digit grouping: "1 234 567" with thin or no-break spaces.
            '\u{2009}' | '\u{202F}' | '\u{00A0}'
                if prev.is_ascii_digit() && digit_group_follows(&text[at + c.len_utf8()..]) => {}
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
                s.push('\'')
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => s.push('"'),
            '\u{2014}' | '\u{2015}' => s.push_str(" \u{2014} "),
            '-' if chars.peek().is_some_and(|&(_, n)| n == '-') => {
                while chars.peek().is_some_and(|&(_, n)| n == '-') {
                    chars.next();
                }
                s.push_str(" \u{2014} ");
            }
            '\u{2010}' | '\u{2011}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => s.push('-'),
            '\u{2012}' => s.push('\u{2013}'),
            '\u{2026}' => s.push_str("..."),
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
            '½' | '¼' | '¾' | '⅓' | '⅔' | '⅛' | '⅜' | '⅝' | '⅞' | '⅕' | '⅖' | '⅗' | '⅘' | '⅙'
            | '⅚' => {
                let f = match c {
                    '½' => "1/2",
                    '¼' => "1/4",
                    '¾' => "3/4",
                    '⅓' => "1/3",
                    '⅔' => "2/3",
                    '⅛' => "1/8",
                    '⅜' => "3/8",
                    '⅝' => "5/8",
                    '⅞' => "7/8",
                    '⅕' => "1/5",
                    '⅖' => "2/5",
                    '⅗' => "3/5",
                    '⅘' => "4/5",
                    '⅙' => "1/6",
                    _ => "5/6",
                };
                if prev.is_ascii_digit() {
                    s.push(' ');
                }
                s.push_str(f);
            }
            c if c.is_whitespace() || c.is_control() => s.push(' '),
            c => s.push(c),
        }
        prev = c;
    }
    // Editorial elisions "[...]" read as a plain ellipsis.
    if s.contains("[...]") {
        s = s.replace("[...]", "...");
    }
    if s.contains("'") && s.contains('"') {
        s = feet_inches(&s);
    }
    s
}

/// Heights written with primes, `6'2"` (after the prepass turned ′ ″ into ' "), become "6 ft
/// 2 in" for the unit rules: one or two digits of feet, then up to eleven inches, with no
/// letter or digit around the pair.
fn feet_inches(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let mut last = 0;
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\'' && k > 0 && b[k - 1].is_ascii_digit() {
            let fs = (k.saturating_sub(2)..k)
                .find(|&a| b[a..k].iter().all(u8::is_ascii_digit))
                .unwrap_or(k);
            let ie = (k + 1..b.len().min(k + 3))
                .take_while(|&e| b[e].is_ascii_digit())
                .last()
                .map_or(k + 1, |e| e + 1);
            let clean_before = fs == 0 || !b[fs - 1].is_ascii_alphanumeric();
            let clean_after = b.get(ie + 1).is_none_or(|c| !c.is_ascii_alphanumeric());
            let inches = std::str::from_utf8(&b[k + 1..ie])
                .ok()
                .and_then(|x| x.parse::<u32>().ok());
            if ie > k + 1
                && b.get(ie) == Some(&b'"')
                && clean_before
                && clean_after
                && inches.is_some_and(|v| v < 12)
            {
                out.push_str(&s[last..fs]);
                out.push_str(&s[fs..k]);
                out.push_str(" ft ");
                out.push_str(&s[k + 1..ie]);
                out.push_str(" in");
                last = ie + 1;
                k = ie + 1;
                continue;
            }
        }
        k += 1;
    }
    out.push_str(&s[last..]);
    out
}

/// Exactly three ASCII digits, then no further digit.
fn digit_group_follows(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && b[..3].iter().all(u8::is_ascii_digit)
        && !b.get(3).is_some_and(u8::is_ascii_digit)
}

/// The last line of defence for the speakable-output invariant: ASCII digits become words,
/// any other character outside the allowed set becomes a space; spacing around punctuation
/// is tidied.
fn sanitize(s: &str) -> String {
    let mut t = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_digit() {
            t.push(' ');
            t.push_str(numbers::digit_word(c));
            t.push(' ');
        } else if allowed_char(c) {
            t.push(c);
        } else {
            t.push(' ');
        }
    }
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            ' ' => {
                if !out.is_empty() && !out.ends_with([' ', '(']) {
                    out.push(' ');
                }
            }
            ',' | '.' | ';' | ':' | '?' | '!' | ')' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                if matches!(c, ',' | ';' | ':')
                    && (out.is_empty() || out.ends_with([',', ';', ':']))
                {
                    continue;
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Characters allowed in normalized output outside phoneme spans.
pub fn allowed_char(c: char) -> bool {
    (c.is_alphabetic() && !c.is_numeric())
        || matches!(
            c,
            ' ' | '.' | ',' | ';' | ':' | '?' | '!' | '\'' | '"' | '-' | '(' | ')'
        )
}

// ---------------------------------------------------------------------------------------------
// Tokens and output

#[derive(Clone, Copy, Debug, Default)]
struct Tok<'a> {
    pre: &'a str,
    core: &'a str,
    post: &'a str,
}

fn is_lead(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '"' | '\'' | '¿' | '¡' | '*')
}
fn is_trail(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '?' | '!' | ')' | ']' | '}' | '"' | '\'' | '*'
    )
}

fn split_tok(raw: &str) -> Tok<'_> {
    let mut start = 0;
    for (i, c) in raw.char_indices() {
        if !is_lead(c) {
            break;
        }
        if c == '\'' && raw[i + 1..].starts_with(|d: char| d.is_ascii_digit()) {
            break;
        }
        start = i + c.len_utf8();
    }
    let rest = &raw[start..];
    let mut end = rest.len();
    for (i, c) in rest.char_indices().rev() {
        if !is_trail(c) {
            break;
        }
        // "401(k)", "501(c)(3)": a bracket opened inside the token after a letter or digit
        // closes there, and belongs to the token.
        if c == ')' {
            if let Some(open) = rest[..i].rfind('(') {
                let inside = &rest[open + 1..i];
                let before = rest[..open].chars().last();
                if open > 0
                    && before.is_some_and(|b| b.is_ascii_alphanumeric() || b == ')')
                    && !inside.is_empty()
                    && inside.chars().all(|ch| ch.is_ascii_alphanumeric())
                {
                    break;
                }
            }
        }
        end = i;
    }
    Tok {
        pre: &raw[..start],
        core: &rest[..end],
        post: &rest[end..],
    }
}

struct Cx<'a> {
    toks: Vec<Tok<'a>>,
    headline: bool,
}

impl<'a> Cx<'a> {
    fn new(s: &'a str) -> Self {
        let toks: Vec<Tok> = s
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(split_tok)
            .collect();
        let mut words = 0usize;
        let mut caps = 0usize;
        for t in &toks {
            let letters = t.core.chars().filter(|c| c.is_alphabetic()).count();
            if letters >= 2 {
                words += 1;
                if !t.core.chars().any(|c| c.is_lowercase()) {
                    caps += 1;
                }
            }
        }
        let headline = caps >= 3 && caps * 10 >= words * 7;
        Cx { toks, headline }
    }
    fn tok(&self, i: usize) -> Tok<'a> {
        self.toks.get(i).copied().unwrap_or_default()
    }
    fn core(&self, i: usize) -> &'a str {
        self.tok(i).core
    }
    fn prev(&self, i: usize) -> Tok<'a> {
        if i == 0 {
            Tok::default()
        } else {
            self.tok(i - 1)
        }
    }
    /// Whether an abbreviation period on token `i` should also stand as a sentence end.
    fn sentence_end_after(&self, i: usize) -> bool {
        let Some(n) = self.toks.get(i + 1) else {
            return true;
        };
        if n.pre.contains('"') {
            return true;
        }
        let c = n.core;
        c.starts_with(|ch: char| ch.is_uppercase()) && tables::sentence_starter(&c.to_lowercase())
    }
    /// "a $20,000 prize", "the 100m final", "€3m fund": an amount right before a noun is an
    /// adjective, so its unit is read singular. The noun is recognised after an indefinite
    /// article (any word but a function word), after another determiner (a word that does not
    /// look like a verb or plural), or from a list of typical heads. `last` is the amount's
    /// last token.
    fn adjectival(&self, i: usize, last: usize) -> bool {
        const NOT_NOUN: &[&str] = &[
            "of",
            "in",
            "on",
            "a",
            "an",
            "the",
            "per",
            "each",
            "for",
            "to",
            "from",
            "and",
            "or",
            "at",
            "by",
            "with",
            "than",
            "more",
            "less",
            "was",
            "is",
            "were",
            "are",
            "that",
            "into",
            "over",
            "under",
            "after",
            "before",
            "since",
            "until",
            "between",
            "via",
            "as",
            "plus",
            "but",
            "so",
            "if",
            "when",
            "while",
            "because",
            "though",
            "although",
            "last",
            "next",
            "this",
            "these",
            "those",
            "its",
            "his",
            "her",
            "their",
            "our",
            "apiece",
            "worth",
            "extra",
            "total",
            "overall",
            "already",
            "too",
            "also",
            "just",
            "only",
            "now",
            "then",
            "there",
            "here",
            "back",
            "ago",
            "earlier",
            "later",
            "yesterday",
            "today",
            "tomorrow",
            "tonight",
            "yet",
            "still",
            "not",
            "no",
            "never",
            "went",
            "came",
            "paid",
            "spent",
            "made",
            "took",
            "gave",
            "left",
            "won",
            "lost",
            "will",
            "would",
            "could",
            "should",
            "may",
            "might",
            "must",
            "can",
            "has",
            "had",
            "have",
            "be",
            "been",
            "being",
            "up",
            "down",
            "off",
            "out",
            "away",
            "more",
            "most",
            "instead",
            "including",
            "against",
            "toward",
            "towards",
            "above",
            "below",
            "across",
            "through",
            "within",
            "without",
            "around",
            "among",
            "beyond",
            "during",
            "except",
            "like",
            "near",
            "onto",
            "past",
            "upon",
            "versus",
            "vs",
            "whereas",
            "which",
            "who",
            "whom",
            "whose",
            "where",
            "why",
            "how",
            "what",
            "either",
            "neither",
            "nor",
            "both",
            "all",
            "any",
            "some",
            "such",
            "own",
            "other",
            "another",
            "much",
            "many",
            "few",
            "less",
            "least",
            "very",
            "again",
            "annually",
            "monthly",
            "weekly",
            "daily",
            "yearly",
            "each",
            "every",
            "per",
        ];
        const DETERMINER: &[&str] = &[
            "the", "this", "that", "its", "his", "her", "their", "our", "your", "my", "whose",
            "another", "every", "each", "The", "This", "That", "Its", "His", "Her", "Their", "Our",
            "Your", "My", "Another", "Every", "Each",
        ];
        let p = self.prev(i);
        let n = self.tok(last + 1);
        // In an all-caps headline the words are compared in lower case ("$1.2BN DEAL").
        let lower;
        let w = if self.headline {
            lower = n.core.to_lowercase();
            lower.as_str()
        } else {
            n.core
        };
        let noun_like = self.tok(last).post.is_empty()
            && n.pre.is_empty()
            && w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !NOT_NOUN.contains(&w);
        if !noun_like {
            return false;
        }
        let after_article = p.post.is_empty() && matches!(p.core, "a" | "an" | "A" | "An");
        let after_determiner = p.post.is_empty()
            && DETERMINER.contains(&p.core)
            && !w.ends_with("ed")
            && !w.ends_with("ly")
            && !w.ends_with("ing")
            && (!w.ends_with('s') || w.ends_with("ss"));
        after_article || after_determiner || tables::compound_head(w)
    }
    fn near(&self, i: usize) -> Near<'a> {
        let p = self.prev(i);
        let n = self.tok(i + 1);
        Near {
            prev: p.core,
            post: self.tok(i).post,
            next: n.core,
            headline: self.headline,
            compound: self.adjectival(i, i),
        }
    }
}

/// What happened to the first '.' of the last consumed token's trailing punctuation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Period {
    /// Not consumed: emit the trailing punctuation as is.
    Kept,
    /// Consumed as an abbreviation period; re-emitted only at a sentence end.
    Abbrev,
    /// Consumed by a title ("Dr."): never re-emitted.
    Title,
}

struct Match {
    words: String,
    used: usize,
    period: Period,
    /// The first token's opening bracket belongs to the match ("(555) 123-4567").
    drop_pre: bool,
}

impl Match {
    fn plain(words: String, used: usize) -> Self {
        Match {
            words,
            used,
            period: Period::Kept,
            drop_pre: false,
        }
    }
    fn with(words: String, used: usize, period: Period) -> Self {
        Match {
            words,
            used,
            period,
            drop_pre: false,
        }
    }
}

#[derive(Default)]
struct Out {
    s: String,
    glue: bool,
}

impl Out {
    fn space(&mut self) {
        if !self.s.is_empty() && !self.glue && !self.s.ends_with(' ') {
            self.s.push(' ');
        }
    }
    fn word(&mut self, w: &str) {
        let w = w.trim();
        if w.is_empty() {
            return;
        }
        self.space();
        self.s.push_str(w);
        self.glue = false;
    }
    fn open(&mut self, pre: &str) {
        for c in pre.chars() {
            let m = match c {
                '"' => '"',
                '\'' => '\'',
                '(' | '[' | '{' => '(',
                _ => continue,
            };
            self.space();
            self.s.push(m);
            self.glue = true;
        }
    }
    fn close(&mut self, post: &str) {
        for c in post.chars() {
            let m = match c {
                ')' | ']' | '}' => ')',
                '.' | ',' | ';' | ':' | '?' | '!' | '"' | '\'' => c,
                _ => continue,
            };
            while self.s.ends_with(' ') {
                self.s.pop();
            }
            if matches!(m, ',' | ';' | ':') && self.s.ends_with([',', ';', ':']) {
                continue;
            }
            self.s.push(m);
            self.glue = false;
        }
    }
    fn pause(&mut self) {
        while self.s.ends_with(' ') {
            self.s.pop();
        }
        if self.s.is_empty() || self.s.ends_with([',', ';', ':', '.', '?', '!', '(', '"']) {
            return;
        }
        self.s.push(',');
        self.glue = false;
    }
}

// ---------------------------------------------------------------------------------------------
// The token loop

fn step(cx: &Cx, i: usize, out: &mut Out) -> usize {
    let t = cx.tok(i);
    if t.core.is_empty() {
        out.open(t.pre);
        out.close(t.post);
        return 1;
    }
    // Free-standing dashes and symbols that depend on both neighbours.
    match t.core {
        "\u{2014}" | "\u{2013}" | "-" => {
            out.open(t.pre);
            // "5-10", and between times: "7:30 p.m. – 9 p.m.", "noon - 2 p.m.".
            let (before, after) = (cx.core(i.wrapping_sub(1)), cx.core(i + 1));
            let timeish = |s: &str| ampm(s).is_some() || noon_or_midnight(s).is_some();
            if (starts_numeric(before) || timeish(before))
                && (starts_numeric(after) || timeish(before) && noon_or_midnight(after).is_some())
                && t.core != "\u{2014}"
            {
                out.word("to");
            } else {
                out.pause();
            }
            out.close(t.post);
            return 1;
        }
        "x" | "×" | "X"
            if i > 0 && ends_numeric(cx.core(i - 1)) && starts_numeric(cx.core(i + 1)) =>
        {
            out.open(t.pre);
            out.word("by");
            out.close(t.post);
            return 1;
        }
        "|" | "•" | "·" | "/" | "\\" => {
            out.pause();
            out.close(t.post);
            return 1;
        }
        _ => {}
    }
    let m = match_phone(cx, i)
        .or_else(|| match_number_list(cx, i))
        .or_else(|| address::match_address(cx, i))
        .or_else(|| address::match_numbered_street(cx, i))
        .or_else(|| address::match_unit(cx, i))
        .or_else(|| address::match_floor(cx, i))
        .or_else(|| address::match_state_zip(cx, i))
        .or_else(|| address::match_postcode(cx, i))
        .or_else(|| address::match_trailing_compass(cx, i))
        .or_else(|| ranges::match_cross_month_range(cx, i))
        .or_else(|| ranges::match_day_range(cx, i))
        .or_else(|| ranges::match_unit_range(cx, i))
        .or_else(|| match_date(cx, i))
        .or_else(|| match_time(cx, i))
        .or_else(|| match_abbrev(cx, i))
        .or_else(|| match_number_ext(cx, i))
        .or_else(|| match_roman(cx, i));
    let m = match m {
        Some(m) => m,
        None => Match::plain(core_words(t.core, cx.near(i)), 1),
    };
    let used = m.used.max(1);
    let last = cx.tok(i + used - 1);
    if m.drop_pre {
        out.open(t.pre.strip_suffix('(').unwrap_or(t.pre));
    } else {
        out.open(t.pre);
    }
    out.word(&m.words);
    let mut post = last.post;
    if m.period != Period::Kept {
        if let Some(rest) = post.strip_prefix('.') {
            let keep = m.period == Period::Abbrev
                && cx.sentence_end_after(i + used - 1)
                && !rest.starts_with(['.', ',', ';', ':', '?', '!']);
            if !keep {
                post = rest;
            }
        }
    }
    out.close(post);
    used
}

fn starts_numeric(s: &str) -> bool {
    let s = s.strip_prefix(['$', '£', '€', '¥', '-', '+']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
}
fn ends_numeric(s: &str) -> bool {
    s.ends_with(|c: char| c.is_ascii_digit())
}
fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
fn is_capitalized(s: &str) -> bool {
    s.starts_with(|c: char| c.is_uppercase())
}
fn small_value(s: &str) -> Option<u32> {
    if all_digits(s) && s.len() <= 9 {
        s.parse().ok()
    } else {
        None
    }
}
fn cap_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
fn title_case(up: &str) -> String {
    let lower = up.to_lowercase();
    cap_first(&lower)
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

/// Digit groups read one by one and separated by pauses; a vanity word ("1-800-FLOWERS") is
/// read as a word, and consecutive vanity words ("GOT-JUNK") run together without a pause.
fn phone_words(plus: bool, groups: &[&str]) -> String {
    let mut s = String::new();
    if plus {
        s.push_str("plus ");
    }
    let mut prev_word = false;
    for g in groups.iter().filter(|g| !g.is_empty()) {
        let word = !all_digits(g);
        if !s.is_empty() && s != "plus " {
            s.push_str(if word && prev_word { " " } else { ", " });
        }
        if word && tables::spelled_acronym(g) {
            // "1-800-CALL-FBI": an initialism among the words is spelled.
            s.push_str(&spell(g));
        } else if word {
            s.push_str(&g.to_ascii_lowercase());
        } else {
            s.push_str(&digit_words(g));
        }
        prev_word = word;
    }
    s
}

/// A vanity number's groups after any trunk "1": a three-digit area code (or `area` digits
/// already read, as in "(800) 555-HELP"), then digit groups and at least one capitalised
/// word, ten keypad characters in all, the length of a North American number.
fn vanity_groups(body: &str, area: usize) -> Option<Vec<&str>> {
    let groups: Vec<&str> = body.split('-').collect();
    let rest = match groups.as_slice() {
        ["1", rest @ ..] if area == 0 => rest,
        _ => &groups[..],
    };
    let first_word = rest.iter().position(|g| !all_digits(g))?;
    let digits_ok = rest[..first_word].iter().all(|g| g.len() <= 4)
        && (area > 0 || rest.first().is_some_and(|g| g.len() == 3))
        && first_word >= 1;
    let words_ok = rest[first_word..]
        .iter()
        .all(|g| (2..=7).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_uppercase()));
    let keys = area + rest.iter().map(|g| g.len()).sum::<usize>();
    (digits_ok && words_ok && keys == 10).then_some(groups)
}

/// Groups of a single-token phone number such as "555-123-4567" or "1-800-555-0199".
fn phone_single(core: &str) -> Option<(bool, Vec<&str>)> {
    let (plus, body) = match core.strip_prefix('+') {
        Some(b) => (true, b),
        None => (false, core),
    };
    if !plus {
        if let Some(g) = vanity_groups(body, 0) {
            return Some((false, g));
        }
    }
    let sep = if body.contains('-') {
        '-'
    } else if body.contains('.') {
        '.'
    } else {
        return None;
    };
    let groups: Vec<&str> = body.split(sep).collect();
    if !groups.iter().all(|g| all_digits(g) && g.len() <= 4) {
        return None;
    }
    let n = groups.len();
    let last = groups.last().map_or(0, |g| g.len());
    let ok = if plus {
        n >= 3
    } else {
        (n == 2 && groups[0].len() == 3 && last == 4 && sep == '-')
            || (n >= 3 && last == 4 && groups.iter().skip(1).all(|g| g.len() >= 3))
    };
    ok.then_some((plus, groups))
}

/// A phone number, then an extension if one follows ("ext. 89", "ext 12", "x204"): a
/// newsreader reads the extension's digits one by one, like the number.
fn match_phone(cx: &Cx, i: usize) -> Option<Match> {
    let mut m = match_phone_number(cx, i)?;
    let last = cx.tok(i + m.used - 1);
    if !last.post.is_empty() && last.post != "," {
        return Some(m);
    }
    let next = cx.tok(i + m.used);
    let lower = next.core.to_ascii_lowercase();
    let (digits, used) = if let Some(d) = lower.strip_prefix('x').filter(|d| all_digits(d)) {
        (d.to_string(), 1)
    } else if matches!(lower.as_str(), "ext" | "x" | "extension")
        && (next.post.is_empty() || next.post == ".")
    {
        let d = cx.tok(i + m.used + 1).core;
        if !all_digits(d) {
            return Some(m);
        }
        (d.to_string(), 2)
    } else {
        return Some(m);
    };
    if digits.is_empty() || digits.len() > 6 {
        return Some(m);
    }
    m.words = format!("{}, extension {}", m.words, digit_words(&digits));
    m.used += used;
    Some(m)
}

fn match_phone_number(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let core = t.core;
    // (555) 123-4567
    if t.pre.ends_with('(') && t.post == ")" && all_digits(core) && core.len() == 3 {
        let n = cx.tok(i + 1);
        let g = phone_single(n.core)
            .filter(|(plus, _)| !plus)
            .map(|(_, g)| g)
            .or_else(|| vanity_groups(n.core, 3));
        if let Some(g) = g {
            let mut groups = vec![core];
            groups.extend(g);
            let mut m = Match::plain(phone_words(false, &groups), 2);
            m.drop_pre = true;
            return Some(m);
        }
    }
    if let Some((plus, groups)) = phone_single(core) {
        return Some(Match::plain(phone_words(plus, &groups), 1));
    }
    // "TTY: 711", "Hotline: 988": a service number as the whole value of a phone label.
    if service_number(core) && i > 0 && i + 1 == cx.toks.len() && t.pre.is_empty() {
        let p = cx.prev(i);
        let label = p.core.to_ascii_lowercase();
        if p.post == ":" && tables::phone_label(&label) {
            return Some(Match::plain(digit_words(core), 1));
        }
    }
    // 1 (800) 555-0100: a trunk prefix before an area code in brackets.
    if core == "1" && t.post.is_empty() {
        let (a, b) = (cx.tok(i + 1), cx.tok(i + 2));
        if a.pre.ends_with('(') && a.post == ")" && all_digits(a.core) && a.core.len() == 3 {
            if let Some((false, g)) = phone_single(b.core) {
                let mut groups = vec!["1", a.core];
                groups.extend(g);
                return Some(Match::plain(phone_words(false, &groups), 3));
            }
        }
    }
    // 1 800 555 0100: a North American number in spaced groups after the trunk "1".
    if core == "1" && t.post.is_empty() {
        let g: Vec<Tok> = (1..=3).map(|k| cx.tok(i + k)).collect();
        let lens_ok = g.iter().map(|t| t.core.len()).eq([3, 3, 4]);
        let clean = g.iter().all(|t| t.pre.is_empty()) && g[..2].iter().all(|t| t.post.is_empty());
        if lens_ok && clean && g.iter().all(|t| all_digits(t.core)) {
            let groups = [core, g[0].core, g[1].core, g[2].core];
            return Some(Match::plain(phone_words(false, &groups), 4));
        }
    }
    // +1 555 123 4567, +44 (0)20 7946 0958, 0800 123 456, 00 44 20 7946 0999, (020) 7946 0123
    // "00" is the international prefix dialled instead of "+"; a national lead may stand in
    // brackets.
    // A two-digit lead with the trunk zero:
    // - 03 9555 0123: two groups of four, ten digits in all (the Australian shape);
    // - 01 45 67 89 10: four pairs (the French shape). When every pair is zero-padded
    //   ("01 02 03 04 05") it is a list of numbers, as in a lottery draw, not a phone number
    //   (see `match_number_list`).
    if core.len() == 2 && core.starts_with('0') && core != "00" && all_digits(core) {
        let (a, b) = (cx.tok(i + 1), cx.tok(i + 2));
        let four = |t: &Tok| t.pre.is_empty() && t.core.len() == 4 && all_digits(t.core);
        if t.post.is_empty() && four(&a) && a.post.is_empty() && four(&b) {
            return Some(Match::plain(phone_words(false, &[core, a.core, b.core]), 3));
        }
        let g: Vec<Tok> = (0..=4).map(|k| cx.tok(i + k)).collect();
        let pairs = g.iter().all(|t| t.core.len() == 2 && all_digits(t.core));
        let clean = g.iter().all(|t| t.pre.is_empty()) && g[..4].iter().all(|t| t.post.is_empty());
        let padded_list = g.iter().all(|t| t.core.starts_with('0'));
        if pairs && clean && !padded_list {
            let groups: Vec<&str> = g.iter().map(|t| t.core).collect();
            return Some(Match::plain(phone_words(false, &groups), 5));
        }
    }
    // 212 555 0100 and 555 0123: North American groups written with spaces. Without the area
    // code the last group must start with a zero (no count is written "0123") or stand alone
    // on its line, so that two numbers in prose are not read as a phone number.
    if core.len() == 3 && all_digits(core) && !core.starts_with(['0', '1']) && t.post.is_empty() {
        let (a, b) = (cx.tok(i + 1), cx.tok(i + 2));
        let digits =
            |t: &Tok, n: usize| t.pre.is_empty() && t.core.len() == n && all_digits(t.core);
        if digits(&a, 3) && a.post.is_empty() && digits(&b, 4) {
            return Some(Match::plain(phone_words(false, &[core, a.core, b.core]), 3));
        }
        let alone = i == 0 && cx.toks.len() == 2;
        if digits(&a, 4) && (a.core.starts_with('0') || alone) {
            return Some(Match::plain(phone_words(false, &[core, a.core]), 2));
        }
    }
    let intl = core.starts_with('+') || core == "00";
    let bracketed = t.pre.ends_with('(') && t.post == ")";
    let lead_ok = match core.strip_prefix('+') {
        Some(cc) => all_digits(cc) && cc.len() <= 3,
        None if bracketed => {
            all_digits(core)
                && (core.starts_with('0') && (2..=5).contains(&core.len()) || core.len() == 3)
        }
        None => {
            all_digits(core)
                && core.starts_with('0')
                && ((3..=5).contains(&core.len()) || core == "00")
        }
    };
    if !lead_ok || !(t.post.is_empty() || bracketed) {
        return None;
    }
    // 07700 900123: a national lead and one long group, ten or eleven digits in all.
    let n = cx.tok(i + 1);
    if !intl
        && !bracketed
        && n.pre.is_empty()
        && all_digits(n.core)
        && (6..=7).contains(&n.core.len())
        && (10..=11).contains(&(core.len() + n.core.len()))
    {
        return Some(Match::plain(phone_words(false, &[core, n.core]), 2));
    }
    let mut groups: Vec<&str> = vec![core.trim_start_matches('+')];
    let mut j = i + 1;
    while let Some(n) = cx.toks.get(j) {
        let mut c = n.core;
        // The trunk zero written after a country code, "+44 (0)20" or "+44 (0) 20", is not
        // dialled from abroad, and a newsreader leaves it out.
        if intl && j == i + 1 && n.pre.ends_with('(') {
            if c == "0" && n.post == ")" {
                j += 1;
                continue;
            }
            if let Some(r) = c.strip_prefix("0)").filter(|r| all_digits(r)) {
                c = r;
            }
        }
        // After a country code, national groups run up to six digits ("+49 30 901820").
        let max = if intl { 6 } else { 4 };
        // After an area code, a subscriber number may run to eight digits ("+49 89 1234567").
        let long_last = intl && groups.len() >= 2 && (7..=8).contains(&c.len());
        let g: Vec<&str> = if all_digits(c) && (c.len() <= max || long_last) {
            vec![c]
        } else if let Some((false, g)) = phone_single(c) {
            g
        } else if intl
            && c.contains(['-', '.'])
            && c.split(['-', '.']).all(|g| all_digits(g) && g.len() <= 5)
        {
            // "+7 495 555-01-23", "+64 9-555 0123", "+55 21 98765-4321": hyphenated groups
            // after a country code.
            c.split(['-', '.']).collect()
        } else if n.pre.ends_with('(') && n.post.starts_with(')') && all_digits(c) && c.len() <= 4 {
            vec![c]
        } else {
            break;
        };
        if c.len() < 2 && g.len() == 1 && !intl {
            break;
        }
        groups.extend(g);
        j += 1;
        if !n.post.is_empty() && !n.post.starts_with(')') || groups.len() > 6 {
            break;
        }
        if n.post.starts_with(')') && n.post.len() > 1 {
            break;
        }
    }
    // At least two groups after the lead, or (after a country code) one long run of digits.
    let extra = groups.len() - 1;
    let long_tail = groups.iter().skip(1).map(|g| g.len()).sum::<usize>() >= 7;
    if extra < 2 && !(intl && extra >= 1 && long_tail) {
        return None;
    }
    let mut m = Match::plain(phone_words(core.starts_with('+'), &groups), j - i);
    m.drop_pre = bracketed;
    Some(m)
}

/// "01 02 03 04 05": three or more zero-padded two-digit numbers in a row are a list (a
/// lottery draw, bib numbers), each read as its number with a pause between.
fn match_number_list(cx: &Cx, i: usize) -> Option<Match> {
    let padded = |t: &Tok| {
        t.pre.is_empty() && t.core.len() == 2 && t.core.starts_with('0') && all_digits(t.core)
    };
    // Bounded like every rule: a longer run continues as a new list.
    let mut j = i;
    while j < cx.toks.len() && j - i < 12 && padded(&cx.tok(j)) {
        j += 1;
        if !cx.tok(j - 1).post.is_empty() {
            break;
        }
    }
    if j - i < 3 || cx.core(i) == "00" {
        return None;
    }
    let words: Vec<String> = (i..j).map(|k| int_words(cx.core(k))).collect();
    Some(Match::plain(words.join(", "), j - i))
}

// ---------------------------------------------------------------------------------------------
// Dates

/// Day-of-month value from "25" or "25th".
fn day_of(core: &str) -> Option<u32> {
    let d = ordinal_digits(core).unwrap_or_else(|| core.to_string());
    let v = small_value(&d)?;
    (1..=31).contains(&v).then_some(v)
}

fn year_of(core: &str) -> Option<u32> {
    if core.len() == 4 && all_digits(core) {
        let v: u32 = core.parse().ok()?;
        return (1000..=2099).contains(&v).then_some(v);
    }
    None
}

/// A month token: full name (any post), or an abbreviation stem (period consumed if present).
fn month_tok(t: Tok, headline: bool) -> Option<(&'static str, bool)> {
    let (name, _) = tables::month(t.core)?;
    let is_full = t.core.len() > 3 && t.core.eq_ignore_ascii_case(name);
    if !is_full && !t.core.starts_with(|c: char| c.is_uppercase()) {
        return None;
    }
    if t.core.chars().all(|c| c.is_ascii_uppercase()) && !headline && t.core.len() <= 3 {
        return None;
    }
    let abbr_period = !is_full && t.post.starts_with('.');
    Some((name, abbr_period))
}

fn match_date(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    // ISO 2026-11-25 and numeric 11/25/2026 or 25/11/2026.
    if let Some(w) = numeric_date(t.core) {
        return Some(Match::plain(w, 1));
    }
    // Weekday abbreviation before a date: "Tue., Nov. 25".
    // Month first: "Nov. 25, 2026", "November 25", "Nov. 2026".
    if let Some((name, abbr_period)) = month_tok(t, cx.headline) {
        if abbr_period && t.post.len() > 1 {
            return None;
        }
        if !abbr_period && !t.post.is_empty() {
            return None;
        }
        let d = cx.tok(i + 1);
        if let Some(day) = day_of(d.core) {
            if year_of(d.core).is_none() {
                let mut w = format!("{name} {}", ordinal_of(&day.to_string()));
                let y = cx.tok(i + 2);
                if d.post == "," {
                    if let Some(yv) = year_of(y.core) {
                        w.push_str(", ");
                        w.push_str(&year_words(yv));
                        return Some(Match::plain(w, 3));
                    }
                }
                return Some(Match::plain(w, 2));
            }
        }
        if let Some(yv) = year_of(d.core) {
            return Some(Match::plain(format!("{name} {}", year_words(yv)), 2));
        }
        return None;
    }
    // Day first: "25 November 2026", "the 25th of November" stays with the plain rules.
    if let Some(day) = day_of(t.core) {
        if !t.post.is_empty() {
            return None;
        }
        let m = cx.tok(i + 1);
        let (name, abbr_period) = month_tok(m, cx.headline)?;
        let mut w = String::new();
        if !cx.core(i.wrapping_sub(1)).eq_ignore_ascii_case("the") || i == 0 {
            w.push_str("the ");
        }
        w.push_str(&format!("{} of {name}", ordinal_of(&day.to_string())));
        let mpost_ok = if abbr_period {
            m.post == "."
        } else {
            m.post.is_empty()
        };
        if mpost_ok {
            if let Some(yv) = year_of(cx.core(i + 2)) {
                w.push_str(", ");
                w.push_str(&year_words(yv));
                return Some(Match::plain(w, 3));
            }
        }
        let period = if abbr_period {
            Period::Abbrev
        } else {
            Period::Kept
        };
        return Some(Match::with(w, 2, period));
    }
    None
}

fn numeric_date(core: &str) -> Option<String> {
    let (sep, parts): (char, Vec<&str>) = if core.contains('-') {
        ('-', core.split('-').collect())
    } else if core.contains('/') {
        ('/', core.split('/').collect())
    } else if core.contains('.') {
        // European "25.11.2026" is always day first.
        let parts: Vec<&str> = core.split('.').collect();
        // "2026.04.01": the year first, then a zero-padded month and day, as in ISO dates.
        if let [y, mo, d] = parts.as_slice() {
            if y.len() == 4 && mo.len() == 2 && d.len() == 2 && all_digits(mo) && all_digits(d) {
                let (y, mo, d) = (year_of(y)?, small_value(mo)?, small_value(d)?);
                let month = tables::month_name(mo)?;
                return (1..=31)
                    .contains(&d)
                    .then(|| format!("{month} {}, {}", ordinal_of(&d.to_string()), year_words(y)));
            }
        }
        if parts.len() != 3
            || !parts.iter().all(|p| all_digits(p))
            || parts[0].len() > 2
            || parts[1].len() > 2
            || parts[2].len() != 4
        {
            return None;
        }
        let (d, mo, y) = (
            small_value(parts[0])?,
            small_value(parts[1])?,
            year_of(parts[2])?,
        );
        let month = tables::month_name(mo)?;
        return (1..=31).contains(&d).then(|| {
            format!(
                "the {} of {month}, {}",
                ordinal_of(&d.to_string()),
                year_words(y)
            )
        });
    } else {
        return None;
    };
    if parts.len() != 3 || !parts.iter().all(|p| all_digits(p)) {
        return None;
    }
    // "2026/05/20": year first, then month and day, as in ISO dates.
    if sep == '/' && parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2 {
        let (y, mo, d) = (
            year_of(parts[0])?,
            small_value(parts[1])?,
            small_value(parts[2])?,
        );
        let month = tables::month_name(mo)?;
        return (1..=31)
            .contains(&d)
            .then(|| format!("{month} {}, {}", ordinal_of(&d.to_string()), year_words(y)));
    }
    // "30-06-2025" / "06-30-2025": a dashed date with the year last is read only when the
    // order is certain, one of the first two numbers being over twelve.
    if sep == '-' && parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 {
        let (a, b, y) = (
            small_value(parts[0])?,
            small_value(parts[1])?,
            year_of(parts[2])?,
        );
        let (d, mo, day_first) = match (a > 12, b > 12) {
            (true, false) => (a, b, true),
            (false, true) => (b, a, false),
            _ => return None,
        };
        let month = tables::month_name(mo)?;
        if !(1..=31).contains(&d) {
            return None;
        }
        let dw = ordinal_of(&d.to_string());
        return Some(if day_first {
            format!("the {dw} of {month}, {}", year_words(y))
        } else {
            format!("{month} {dw}, {}", year_words(y))
        });
    }
    // "1/15/26": a two-digit year, read as it is written ("twenty-six", "oh five").
    if sep == '/' && parts[2].len() == 2 && parts[0].len() <= 2 && parts[1].len() <= 2 {
        let (a, b, yy) = (
            small_value(parts[0])?,
            small_value(parts[1])?,
            small_value(parts[2])?,
        );
        let (d, mo, day_first) = if a > 12 { (a, b, true) } else { (b, a, false) };
        let month = tables::month_name(mo)?;
        if !(1..=31).contains(&d) || a == 0 || b == 0 {
            return None;
        }
        let yw = if yy < 10 {
            format!("oh {}", small(yy as u64))
        } else {
            two_digit(yy)
        };
        let dw = ordinal_of(&d.to_string());
        return Some(if day_first {
            format!("the {dw} of {month}, {yw}")
        } else {
            format!("{month} {dw}, {yw}")
        });
    }
    let (y, mo, d) = if sep == '-' {
        if parts[0].len() != 4 || parts[1].len() > 2 || parts[2].len() > 2 {
            return None;
        }
        (
            year_of(parts[0])?,
            small_value(parts[1])?,
            small_value(parts[2])?,
        )
    } else {
        if parts[2].len() != 4 || parts[0].len() > 2 || parts[1].len() > 2 {
            return None;
        }
        let a = small_value(parts[0])?;
        let b = small_value(parts[1])?;
        let y = year_of(parts[2])?;
        if a > 12 {
            (y, b, a)
        } else {
            (y, a, b)
        }
    };
    let month = tables::month_name(mo)?;
    if !(1..=31).contains(&d) {
        return None;
    }
    let day_first = sep == '/' && small_value(parts[0]).is_some_and(|a| a > 12);
    Some(if day_first {
        format!(
            "the {} of {month}, {}",
            ordinal_of(&d.to_string()),
            year_words(y)
        )
    } else {
        format!("{month} {}, {}", ordinal_of(&d.to_string()), year_words(y))
    })
}

// ---------------------------------------------------------------------------------------------
// Times

fn ampm(core: &str) -> Option<&'static str> {
    match core.to_ascii_lowercase().as_str() {
        "a.m" | "am" => Some("A M"),
        "p.m" | "pm" => Some("P M"),
        _ => None,
    }
}

/// "3:30" → "three thirty", "15:00" → "fifteen hundred", "3:05" → "three oh five".
fn clock_words(h: &str, m: &str, with_ampm: bool) -> Option<String> {
    if !all_digits(h) || h.len() > 2 || !all_digits(m) || m.len() != 2 {
        return None;
    }
    let hv = small_value(h)?;
    let mv = small_value(m)?;
    if hv > 24 || mv > 59 || (with_ampm && (hv > 12 || hv == 0)) {
        return None;
    }
    let hw = if hv == 0 {
        "zero".to_string()
    } else if h.len() == 2 && h.starts_with('0') {
        format!("oh {}", small(hv as u64))
    } else {
        small(hv as u64)
    };
    Some(if mv == 0 {
        if with_ampm {
            hw
        } else if hv == 0 {
            "midnight".to_string()
        } else if hv > 12 || h.starts_with('0') {
            format!("{hw} hundred")
        } else {
            format!("{hw} o'clock")
        }
    } else if mv < 10 {
        format!("{hw} oh {}", small(mv as u64))
    } else {
        format!("{hw} {}", two_digit(mv))
    })
}

/// A time written in one token: "3:30", "3:30pm", "3pm", "10a.m", "1:02:03".
fn time_core(core: &str) -> Option<String> {
    let lower = core.to_ascii_lowercase();
    let (body, suffix) = ["a.m", "p.m", "am", "pm"]
        .iter()
        .find_map(|s| lower.strip_suffix(s).map(|b| (b, ampm(s))))
        .unwrap_or((&lower, None));
    let body = &core[..body.len()];
    if let Some(ap) = suffix {
        if all_digits(body) {
            let hv = small_value(body)?;
            if !(1..=12).contains(&hv) {
                return None;
            }
            return Some(format!("{} {ap}", small(hv as u64)));
        }
        let (h, m) = body.split_once(':').or_else(|| body.split_once('.'))?;
        return clock_words(h, m, true).map(|w| format!("{w} {ap}"));
    }
    let parts: Vec<&str> = body.split(':').collect();
    match parts.as_slice() {
        [h, m] => clock_words(h, m, false),
        [h, m, s]
            if all_digits(s) && s.len() == 2 && all_digits(h) && all_digits(m) && m.len() == 2 =>
        {
            let sw = |x: &str| -> String {
                match small_value(x) {
                    Some(0) => "hundred".to_string(),
                    Some(v) if v < 10 => format!("oh {}", small(v as u64)),
                    Some(v) => two_digit(v),
                    None => digit_words(x),
                }
            };
            Some(
                format!("{} {} {}", int_words(h), sw(m), sw(s))
                    .replace(" hundred hundred", " hundred"),
            )
        }
        _ => None,
    }
}

/// One side of a time range: "9", "10:30" (with a following a.m./p.m.) or a whole time.
fn range_side(s: &str, with_ampm: bool) -> Option<String> {
    if let Some(w) = noon_or_midnight(s) {
        return Some(w.to_string());
    }
    if with_ampm {
        if let Some((h, m)) = s.split_once(':') {
            return clock_words(h, m, true);
        }
        let hv = small_value(s)?;
        return (1..=12).contains(&hv).then(|| small(hv as u64));
    }
    time_core(s)
}

/// Time ranges in one token: "9am-5pm", "9:00–10:00", "10:30-11:45 a.m.".
fn match_time_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let (a, b) = t.core.split_once(['-', '\u{2013}'])?;
    let n = cx.tok(i + 1);
    if t.post.is_empty() {
        if let Some(ap) = ampm(n.core) {
            let (x, y) = (range_side(a, true)?, range_side(b, true)?);
            let period = if n.core.contains('.') {
                Period::Abbrev
            } else {
                Period::Kept
            };
            return Some(Match::with(format!("{x} to {y} {ap}"), 2, period));
        }
    }
    // Without a following a.m./p.m., each side must be a time by itself ("9:00", "5pm").
    let clockish = |s: &str| s.contains(':') || ampm_suffixed(s) || noon_or_midnight(s).is_some();
    if !(clockish(a) && clockish(b)) {
        return None;
    }
    // Either side may be noon or midnight: "9am–noon", "noon-1pm".
    let (x, y) = (range_side(a, false)?, range_side(b, false)?);
    Some(Match::plain(format!("{x} to {y}"), 1))
}

/// "noon" / "Noon" / "midnight" as a time of day (one side of a range such as "Noon–2 p.m.").
fn noon_or_midnight(s: &str) -> Option<&'static str> {
    if s.eq_ignore_ascii_case("noon") {
        Some("noon")
    } else if s.eq_ignore_ascii_case("midnight") {
        Some("midnight")
    } else {
        None
    }
}

/// Time zones and the military "hrs" that mark a bare four-digit number as a 24-hour clock
/// time ("0900 GMT", "1800 hrs").
fn clock_marker(s: &str) -> bool {
    matches!(
        s,
        "GMT"
            | "UTC"
            | "BST"
            | "CET"
            | "CEST"
            | "EET"
            | "EEST"
            | "EST"
            | "EDT"
            | "CST"
            | "CDT"
            | "MST"
            | "MDT"
            | "PST"
            | "PDT"
            | "ET"
            | "PT"
            | "CT"
            | "MT"
            | "IST"
            | "JST"
            | "AEST"
            | "AEDT"
            | "hrs"
    )
}

fn ampm_suffixed(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    ["am", "pm", "a.m", "p.m"].iter().any(|x| l.ends_with(x))
}

fn match_time(cx: &Cx, i: usize) -> Option<Match> {
    if let Some(m) = match_time_range(cx, i) {
        return Some(m);
    }
    let t = cx.tok(i);
    let n = cx.tok(i + 1);
    if !t.post.is_empty() {
        return None;
    }
    // A 24-hour time without a colon before a zone: "0900 GMT", "(1800 GMT)", "1800 hrs".
    if t.core.len() == 4 && all_digits(t.core) && n.pre.is_empty() && clock_marker(n.core) {
        let w = clock_words(&t.core[..2], &t.core[2..], false)?.replace(" o'clock", " hundred");
        return Some(if n.core == "hrs" {
            Match::plain(format!("{w} hours"), 2)
        } else {
            Match::plain(w, 1)
        });
    }
    // "10 a.m.-2 p.m.": the first marker is glued by the dash to the second time.
    if let Some((first, second)) = n.core.split_once(['-', '\u{2013}']) {
        let ap1 = ampm(first.trim_end_matches('.'))?;
        // "8 a.m.–noon": the range ends at noon or midnight, with no second marker.
        if let Some(w) = noon_or_midnight(second) {
            let x = range_side(t.core, true)?;
            return Some(Match::plain(format!("{x} {ap1} to {w}"), 2));
        }
        let e = cx.tok(i + 2);
        let ap2 = ampm(e.core).filter(|_| n.post.is_empty() && e.pre.is_empty())?;
        let x = range_side(t.core, true)?;
        let y = range_side(second, true)?;
        let period = if e.core.contains('.') {
            Period::Abbrev
        } else {
            Period::Kept
        };
        return Some(Match::with(format!("{x} {ap1} to {y} {ap2}"), 3, period));
    }
    let ap = ampm(n.core)?;
    let base = if let Some((h, m)) = t.core.split_once(':') {
        clock_words(h, m, true)?
    } else if let Some((h, m)) = t.core.split_once('.') {
        clock_words(h, m, true)?
    } else {
        let hv = small_value(t.core)?;
        if !(1..=12).contains(&hv) {
            return None;
        }
        small(hv as u64)
    };
    let period = if n.core.contains('.') {
        Period::Abbrev
    } else {
        Period::Kept
    };
    Some(Match::with(format!("{base} {ap}"), 2, period))
}

// ---------------------------------------------------------------------------------------------
// Abbreviations

fn match_abbrev(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let core = t.core;
    let has_period = t.post.starts_with('.');
    let next = cx.tok(i + 1);
    let prev = cx.prev(i);
    let next_cap = is_capitalized(next.core);
    let prev_is_name = i > 0
        && prev.post.is_empty()
        && (is_capitalized(prev.core) && !tables::function_word(&prev.core.to_lowercase())
            || starts_numeric(prev.core));
    if !has_period {
        // A weekday abbreviation before a date, with a comma and no period: "Sat, 14 Mar 2026".
        // "Mon", "Wed", "Sat", "Sun" are also words or names ("The Sun, 5 May edition"), so
        // they are weekdays only opening the line or a field ("Updated: Sat, 14 Mar").
        let opens = i == 0 || prev.post.ends_with([':', ',', ';']);
        if let Some(wd) = tables::weekday(core) {
            if wd != core
                && (opens || !matches!(core, "Mon" | "Wed" | "Sat" | "Sun"))
                && t.post == ","
                && (starts_numeric(next.core) || tables::month(next.core).is_some())
            {
                return Some(Match::plain(wd.to_string(), 1));
            }
        }
        // A road abbreviation without its period before the road's number: "Hwy 101".
        if let Some(road) = match core {
            "Hwy" => Some("Highway"),
            "Rte" => Some("Route"),
            _ => None,
        } {
            if t.post.is_empty() && all_digits(next.core) && next.pre.is_empty() {
                return Some(Match::plain(road.to_string(), 1));
            }
        }
        // British style without the period: "Mr Smith", "Dr Jones", "St Andrews".
        if core == "Rt" && next.core == "Hon" {
            return Some(Match::plain("Right Honourable".into(), 2));
        }
        if let Some(e) = tables::bare_title(core) {
            if next_cap && !(core == "St" && prev_is_name) {
                return Some(Match::plain(e.to_string(), 1));
            }
            if core == "St" && prev_is_name {
                return Some(Match::plain("Street".to_string(), 1));
            }
        }
        return None;
    }
    let title = |w: &str| Some(Match::with(w.to_string(), 1, Period::Title));
    if let Some((party, st)) = core.split_once('-') {
        if matches!(party, "D" | "R" | "I") && tables::state(st).is_some() {
            return Some(Match::with(
                compound_words(core, cx.near(i)),
                1,
                Period::Abbrev,
            ));
        }
    }
    let plain = |w: &str| Some(Match::with(w.to_string(), 1, Period::Abbrev));
    match core {
        "Dr" => {
            return if next_cap || !prev_is_name {
                title("Doctor")
            } else {
                plain("Drive")
            };
        }
        "St" => {
            // "10 St. Mary's St.": a name and a street type after it make it Saint even
            // after a house number.
            let saint_street =
                next_cap && next.post.is_empty() && address::street_type(cx.core(i + 2)).is_some();
            return if (prev_is_name && !saint_street) || !next_cap {
                plain("Street")
            } else {
                title("Saint")
            };
        }
        "Ft" => {
            return if starts_numeric(prev.core) {
                plain("feet")
            } else {
                title("Fort")
            };
        }
        "No" | "no" | "Nos" => {
            return if starts_numeric(next.core) || next.core.starts_with('#') {
                title(if core == "Nos" { "numbers" } else { "number" })
            } else {
                None
            };
        }
        "a.k.a" | "A.K.A" => return title("also known as"),
        // "c. 1850": circa before a year.
        "c" if year_of(next.core).is_some() => return title("circa"),
        // "est. 1892" on a shop sign or masthead is "established"; elsewhere "estimated".
        "est" | "Est" if year_of(next.core).is_some() => {
            return title(if core == "Est" {
                "Established"
            } else {
                "established"
            })
        }
        "e.g" => return title("for example"),
        "i.e" => return title("that is"),
        "E.g" => return title("For example"),
        "I.e" => return title("That is"),
        "a.m" | "A.M" => return plain("A M"),
        "p.m" | "P.M" => return plain("P M"),
        "Ph.D" | "PhD" => return plain("P H D"),
        _ => {}
    }
    if let Some(wd) = tables::weekday(core) {
        if wd != core && (starts_numeric(next.core) || tables::month(next.core).is_some()) {
            return Some(Match::with(wd.to_string(), 1, Period::Title));
        }
        // "Thurs.", "Tues.", "Fri." are nothing but weekdays; "Mon.", "Wed.", "Sat.", "Sun."
        // are also words or names, and are read as weekdays only before a date or in a range.
        if wd != core && !matches!(core, "Mon" | "Wed" | "Sat" | "Sun") {
            return plain(wd);
        }
    }
    if prev.post.ends_with(',')
        || i > 0 && prev.core.ends_with(['D', 'R', 'I']) && prev.core.len() == 1
    {
        if let Some(st) = tables::state(core) {
            return plain(st);
        }
    }
    if let Some((name, _)) = tables::month(core) {
        if core != name && core.len() <= 4 && is_capitalized(core) {
            return plain(name);
        }
    }
    // "Vol. 3", "Fig. 2", "Ch. 7": labels spelled out only before their number.
    if let Some(e) = tables::numbered_label(core).filter(|_| starts_numeric(next.core)) {
        return title(e);
    }
    if let Some((e, kind)) = tables::abbreviation(core) {
        // "Gen" / "Col" etc. only as titles before a name; keep plain ones anywhere.
        return match kind {
            AbbrKind::Title if next_cap || core.chars().all(|c| c.is_lowercase()) => title(e),
            AbbrKind::Title => None,
            AbbrKind::Plain => plain(e),
        };
    }
    // Dotted initials: U.S., U.N., D.C., N.Y.
    if core.contains('.') {
        let parts: Vec<&str> = core.split('.').collect();
        if parts
            .iter()
            .all(|p| (1..=2).contains(&p.chars().count()) && p.chars().all(|c| c.is_alphabetic()))
        {
            return plain(&characters(core));
        }
    }
    // A single capital initial inside a name: "John F. Kennedy".
    if core.chars().count() == 1 && core.chars().all(|c| c.is_uppercase()) && next_cap {
        return plain(core);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Numbers with a following token: money scale words, units, percent signs, mixed fractions

fn match_number_ext(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let n = cx.tok(i + 1);
    // A currency sign or code standing apart: "€ 3m", "USD 5bn", "Rs. 500 crore".
    if (t.post.is_empty() || t.core == "Rs" && t.post == ".")
        && currency_prefix(&format!("{}1", t.core)).is_some_and(|(_, r)| r == "1")
        && n.pre.is_empty()
        && n.core.starts_with(|c: char| c.is_ascii_digit())
    {
        let joined = format!("{}{}", t.core, n.core);
        let s = cx.tok(i + 2);
        let scale = tables::scale_word(s.core)
            .filter(|_| n.post.is_empty() && s.pre.is_empty() && s.core.len() > 2);
        let used = if scale.is_some() { 3 } else { 2 };
        let adj = cx.adjectival(i, i + used - 1);
        if let Some(w) = money_words(&joined, scale, adj) {
            return Some(Match::plain(w, used));
        }
    }
    if !t.post.is_empty() {
        return None;
    }
    // A loss before money and a scale word: "-$3.4 million".
    if let Some(body) = t.core.strip_prefix('-') {
        if let Some(w) = scaled_money(body, n.core, cx.adjectival(i, i + 1)) {
            return Some(Match::plain(format!("minus {w}"), 2));
        }
    }
    // Money followed by a scale word: "$1.2 billion".
    if let Some((cur, rest)) = currency_prefix(t.core) {
        let _ = cur;
        if let Some(scale) = tables::scale_word(n.core) {
            let long_scale = n.core.len() > 3 || matches!(n.core, "bn" | "mn" | "tn");
            if long_scale
                && rest
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || matches!(ch, '.' | ',' | '-' | '\u{2013}'))
            {
                let adj = cx.adjectival(i, i + 1);
                return money_words(t.core, Some(scale), adj).map(|w| Match::plain(w, 2));
            }
        }
        return None;
    }
    let num = parse_num(t.core)?;
    // "5 %"
    if n.core == "%" || n.core.is_empty() && n.pre.is_empty() && n.post.starts_with('%') {
        return Some(Match::plain(format!("{} percent", num_words(&num)), 2));
    }
    // "2 1/2"
    if num.is_plain_int() && !num.int.is_empty() {
        if let Some((a, b)) = n.core.split_once('/') {
            if all_digits(a) && all_digits(b) && a.len() <= 2 && b.len() <= 2 {
                let av = small_value(a)?;
                let bv = small_value(b)?;
                if av < bv && bv > 1 {
                    let f = if av == 1 {
                        fraction_words(a, b).replacen("one ", "a ", 1)
                    } else {
                        fraction_words(a, b)
                    };
                    return Some(Match::plain(format!("{} and {f}", num_words(&num)), 2));
                }
            }
        }
    }
    // "6.5 billion km": a unit after a written scale word.
    if matches!(n.core, "thousand" | "million" | "billion" | "trillion") && n.post.is_empty() {
        let u = cx.tok(i + 2);
        let ambiguous = matches!(
            u.core,
            "p" | "l" | "L" | "in" | "cc" | "°" | "min" | "g" | "m"
        );
        if let Some((_, pl)) = tables::unit(u.core).filter(|_| u.pre.is_empty() && !ambiguous) {
            let period = if u.post.starts_with('.') && u.core.len() <= 3 {
                Period::Abbrev
            } else {
                Period::Kept
            };
            return Some(Match::with(
                format!("{} {} {pl}", num_words(&num), n.core),
                3,
                period,
            ));
        }
    }
    // "12 fl oz", "12 fl. oz.": fluid ounces.
    if n.core == "fl" && (n.post.is_empty() || n.post == ".") && cx.core(i + 2) == "oz" {
        let u = cx.tok(i + 2);
        let w = if num.is_one() || cx.adjectival(i, i + 2) {
            "fluid ounce"
        } else {
            "fluid ounces"
        };
        let period = if u.post.starts_with('.') {
            Period::Abbrev
        } else {
            Period::Kept
        };
        return Some(Match::with(format!("{} {w}", num_words(&num)), 3, period));
    }
    // "5 sq mi", "5 sq. km"
    if n.core == "sq" {
        let u = cx.tok(i + 2);
        if let Some((sg, pl)) = tables::square_unit(u.core) {
            if n.post.is_empty() || n.post == "." {
                let w = format!("{} {}", num_words(&num), if num.is_one() { sg } else { pl });
                let period = if u.post.starts_with('.') && u.core.len() <= 2 {
                    Period::Abbrev
                } else {
                    Period::Kept
                };
                return Some(Match::with(w, 3, period));
            }
        }
    }
    // "3 m people", "costs 3 m"
    if n.core == "m"
        && n.post.is_empty()
        && !matches!(cx.core(i + 2), "of" | "more" | "others")
        && m_means_million(cx.prev(i).core, cx.core(i + 2))
    {
        return Some(Match::plain(format!("{} million", num_words(&num)), 2));
    }
    // "3,50 €", "5 $"
    if n.pre.is_empty() && matches!(n.core, "€" | "$" | "£" | "¥") {
        let adj = cx.adjectival(i, i + 1);
        if let Some(w) = money_words(&format!("{}{}", n.core, t.core), None, adj) {
            return Some(Match::plain(w, 2));
        }
    }
    // "6 ft 1 in tall", "12 in.": "in" after feet, before "of", or ending the line, is inches; nothing
    // can follow the preposition there.
    let line_end = i + 2 == cx.toks.len();
    if n.core == "in"
        && n.pre.is_empty()
        && (line_end && t.pre.is_empty()
            // "3.5 in of rain": the preposition cannot stand before "of".
            || (n.post.is_empty() || n.post == ".") && cx.core(i + 2) == "of"
            || i >= 2
                && matches!(cx.core(i - 1), "ft" | "feet" | "foot")
                && starts_numeric(cx.core(i - 2)))
    {
        let w = format!(
            "{} {}",
            num_words(&num),
            if num.is_one() { "inch" } else { "inches" }
        );
        let period = if n.post.starts_with('.') {
            Period::Abbrev
        } else {
            Period::Kept
        };
        return Some(Match::with(w, 2, period));
    }
    // "3 L", "500 g": letters that are also initials are units when the line ends with them
    // (a table cell, a caption) or a lower-case word follows where a measure is plausible:
    // "of" ("500 g of flour"), after an article ("a 3 L bottle"), or a decimal amount ("2.5 g
    // sugar"). "He won 3 g medals" keeps its letter. "min" after a number is minutes ("45
    // min later").
    let plausible = cx.core(i + 2) == "of"
        || num.frac.is_some()
        || matches!(
            cx.prev(i).core,
            "a" | "A" | "an" | "An" | "the" | "The" | "per" | "each"
        );
    let next_lower =
        n.post.is_empty() && cx.core(i + 2).starts_with(|c: char| c.is_lowercase()) && plausible;
    // "W" is also West ("400 W. Main"): watts only where the other letters are units.
    let ambiguous_ok = n.pre.is_empty()
        && (n.core == "min"
            || matches!(n.core, "l" | "L" | "g") && (line_end || next_lower)
            || n.core == "W"
                && n.post.is_empty()
                && (line_end || next_lower)
                && !tables::pairs_cue(&cx.prev(i).core.to_lowercase()));
    // "5 km", "30 °C"
    if !matches!(
        n.core,
        "p" | "l" | "L" | "in" | "cc" | "°" | "min" | "g" | "m" | "W"
    ) || n.core == "m" && !num.int.is_empty()
        || ambiguous_ok
    {
        if let Some((sg, pl)) = tables::unit(n.core) {
            let sing = num.is_one() || cx.adjectival(i, i + 1);
            let w = format!("{} {}", num_words(&num), if sing { sg } else { pl });
            let period = if n.post.starts_with('.') && n.core.len() <= 3 {
                Period::Abbrev
            } else {
                Period::Kept
            };
            return Some(Match::with(w, 2, period));
        }
    }
    if n.core == "°" || n.core == "º" {
        return Some(Match::plain(
            format!(
                "{} {}",
                num_words(&num),
                if num.is_one() { "degree" } else { "degrees" }
            ),
            2,
        ));
    }
    None
}

/// "$3.4" and "million" → "three point four million dollars", when the scale word is written
/// out ("million", "bn"), as `match_number_ext` reads it after a plain amount.
fn scaled_money(amount: &str, scale_tok: &str, adj: bool) -> Option<String> {
    let scale = tables::scale_word(scale_tok)?;
    let long_scale = scale_tok.len() > 3 || matches!(scale_tok, "bn" | "mn" | "tn");
    let (_, rest) = currency_prefix(amount)?;
    let plain = rest
        .chars()
        .all(|ch| ch.is_ascii_digit() || matches!(ch, '.' | ','));
    (long_scale && plain)
        .then(|| money_words(amount, Some(scale), adj))
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// Roman numerals

fn roman_value(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 15 {
        return None;
    }
    let val = |c: char| match c {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        'L' => 50,
        'C' => 100,
        'D' => 500,
        'M' => 1000,
        _ => 0,
    };
    let cs: Vec<u32> = s.chars().map(val).collect();
    if cs.contains(&0) {
        return None;
    }
    // Signed: a subtractive pair makes the running total dip below zero transiently.
    let mut t: i64 = 0;
    for (k, &v) in cs.iter().enumerate() {
        if cs.get(k + 1).is_some_and(|&n| n > v) {
            t -= v as i64
        } else {
            t += v as i64
        }
    }
    if !(1..=3999).contains(&t) {
        return None;
    }
    let t = t as u32;
    (to_roman(t) == s).then_some(t)
}

fn to_roman(mut n: u32) -> String {
    const T: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut s = String::new();
    for (v, r) in T {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

fn match_roman(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let (body, poss) = match t.core.strip_suffix("'s") {
        Some(b) => (b, "'s"),
        None => (t.core, ""),
    };
    let v = roman_value(body)?;
    if i == 0 {
        return None;
    }
    let prev = cx.prev(i);
    // "Vol. II", "Ch. IV": an abbreviated label before the numeral reads as the full word.
    let label = tables::numbered_label(prev.core)
        .or_else(|| tables::abbreviation(prev.core).map(|(e, _)| e))
        .filter(|_| prev.post == ".");
    if !prev.post.is_empty() && label.is_none() {
        return None;
    }
    let pl = label.unwrap_or(prev.core).to_lowercase();
    let cardinal_cue = tables::roman_cardinal_cue(&pl);
    let regnal = tables::regnal_cue(&pl)
        || (is_capitalized(prev.core)
            && body.len() >= 2
            && body.chars().all(|c| matches!(c, 'I' | 'V' | 'X'))
            && !tables::function_word(&pl)
            && !prev.core.chars().all(|c| c.is_uppercase())
            || cx.headline && tables::regnal_cue(&pl));
    if body == "I" && !cardinal_cue && !tables::regnal_cue(&pl) {
        return None;
    }
    if tables::caps_word_not_numeral(body) && !cardinal_cue && !tables::regnal_cue(&pl) {
        return None;
    }
    let w = if cardinal_cue {
        cap_first(&small(v as u64))
    } else if regnal && is_capitalized(prev.core) {
        format!("the {}", cap_first(&ordinal_of(&v.to_string())))
    } else {
        return None;
    };
    Some(Match::plain(format!("{w}{poss}"), 1))
}

// ---------------------------------------------------------------------------------------------
// Single-token rules

#[derive(Clone, Copy, Default)]
struct Near<'a> {
    prev: &'a str,
    post: &'a str,
    next: &'a str,
    headline: bool,
    /// Part of a hyphenated compound ("10-km"): units read singular.
    compound: bool,
}

impl<'a> Near<'a> {
    fn inner(self) -> Near<'a> {
        Near {
            prev: "",
            post: "",
            next: "",
            headline: self.headline,
            compound: true,
        }
    }
}

/// Words for one token's core (no surrounding punctuation). Always returns something speakable.
fn core_words(c: &str, near: Near) -> String {
    if c.is_empty() {
        return String::new();
    }
    // Fast path: ordinary lower-case words.
    if c.bytes().all(|b| b.is_ascii_lowercase() || b == b'\'') {
        return c.to_string();
    }
    if let Some(w) = web_words(c, near) {
        return w;
    }
    if let Some(w) = symbol_word(c) {
        return w.to_string();
    }
    if let Some(w) = money_words(c, None, near.compound) {
        return w;
    }
    if let Some(w) = percent_words(c) {
        return w;
    }
    if let Some(w) = decade(c) {
        return w;
    }
    if let Some(base) = c.strip_suffix("'s") {
        if let Some(n) = parse_num(base) {
            return format!("{}'s", number_words(&n, near));
        }
    }
    if let Some(d) = ordinal_digits(c) {
        return ordinal_of(&d);
    }
    // "the class of '08": a year shortened to two digits.
    if let Some(two) = c
        .strip_prefix('\'')
        .filter(|d| d.len() == 2 && all_digits(d))
    {
        let v = small_value(two).unwrap_or(0);
        return if v < 10 {
            format!("oh {}", small(v as u64))
        } else {
            two_digit(v)
        };
    }
    if let Some(w) = statute_section(c) {
        return w;
    }
    if let Some(w) = time_core(c) {
        return w;
    }
    if let Some((a, b)) = c.split_once(':') {
        if all_digits(a) && all_digits(b) && a.len() <= 3 && b.len() <= 3 {
            return format!("{} to {}", int_words(a), int_words(b));
        }
    }
    if let Some(w) = numeric_date(c) {
        return w;
    }
    if let Some(w) = slash_words(c, near) {
        return w;
    }
    if let Some(n) = parse_num(c) {
        return number_words(&n, near);
    }
    if let Some(w) = number_with_suffix(c, near) {
        return w;
    }
    if let Some(w) = prefixed_symbol(c, near) {
        return w;
    }
    if c.contains(['-', '\u{2013}']) {
        return compound_words(c, near);
    }
    if c.contains(['&', '+', '=', '×', '@', '#', '%', '~', '<', '>', '±']) {
        return mixed_symbol_words(c, near);
    }
    word_words(c, near)
}

/// A plan or statute section with lettered subsections: "401(k)" → four oh one K, "501(c)(3)"
/// → five oh one C three, "3(b)(ii)" → three B two.
fn statute_section(c: &str) -> Option<String> {
    let (base, subs) = c.split_once('(')?;
    if !all_digits(base) || base.len() > 4 || !subs.ends_with(')') {
        return None;
    }
    let mut words = vec![if base.len() == 3 && !base.starts_with('0') {
        model_number_words(base)
    } else {
        int_words(base)
    }];
    for sub in subs.strip_suffix(')')?.split(")(") {
        if sub.is_empty() || sub.len() > 3 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        // A lower-case Roman numeral of two letters or more is a number ("(ii)" → two); a
        // single letter is a letter.
        let roman = (sub.len() >= 2 && sub.bytes().all(|b| b.is_ascii_lowercase()))
            .then(|| roman_value(&sub.to_ascii_uppercase()))
            .flatten();
        words.push(if all_digits(sub) {
            int_words(sub)
        } else if let Some(v) = roman {
            small(v as u64)
        } else {
            characters(sub)
        });
    }
    Some(words.join(" "))
}

fn symbol_word(c: &str) -> Option<&'static str> {
    Some(match c {
        "&" | "&amp;" => "and",
        "+" => "plus",
        "=" => "equals",
        "%" => "percent",
        "@" => "at",
        "°" | "º" => "degrees",
        "$" => "dollars",
        "€" => "euros",
        "£" => "pounds",
        "¥" => "yen",
        "→" | "->" => "to",
        "±" => "plus or minus",
        "§" => "section",
        "©" => "copyright",
        "~" | "*" | "^" | "™" | "®" | "_" | "†" | "‡" | "<" | ">" | "#" | "##" | "###" => "",
        _ => return None,
    })
}

/// A plain number in running text: a year when the context says so, else a cardinal.
fn number_words(n: &Num, near: Near) -> String {
    if n.is_plain_int() && !n.grouped && n.int.len() == 3 {
        let prev = near.prev.to_lowercase();
        let next = near.next.to_lowercase();
        // Emergency numbers: "call 911", "the 999 service".
        let dialled = matches!(
            prev.as_str(),
            "call"
                | "calls"
                | "called"
                | "calling"
                | "dial"
                | "dialled"
                | "dialed"
                | "ring"
                | "text"
        ) || matches!(
            next.as_str(),
            "call" | "calls" | "service" | "operator" | "dispatcher" | "dispatchers"
        );
        if service_number(&n.int) && dialled {
            return digit_words(&n.int);
        }
        // Boeing models: "737 Max", "Boeing 787".
        let b = n.int.as_bytes();
        let aircraft = prev == "boeing"
            || matches!(
                next.as_str(),
                "max" | "dreamliner" | "jet" | "jets" | "jetliner" | "aircraft" | "airliner"
            );
        if b[0] == b'7' && b[2] == b'7' && aircraft {
            return model_number_words(&n.int);
        }
        // Road, flight and model numbers read in pairs, as house numbers are: "Highway 101",
        // "Flight 370", "Xbox 360", "Airbus 380".
        if b[0] != b'0' && is_capitalized(near.prev) && tables::pairs_cue(&prev) {
            return model_number_words(&n.int);
        }
    }
    // "Form 1040", "Flight 1549": a four-digit label number reads in pairs like a year.
    if n.is_plain_int() && !n.grouped && n.int.len() == 4 && !n.int.starts_with('0') {
        let prev = near.prev.to_lowercase();
        if is_capitalized(near.prev) && tables::pairs_cue(&prev) && !n.int.ends_with("00") {
            if let Ok(v) = n.int.parse::<u32>() {
                return year_words(v);
            }
        }
        // "by 2100": the first year of the next century, after a word that marks a year.
        if n.int == "2100" && tables::year_cue(&prev.trim_end_matches('.').to_lowercase()) {
            return "twenty-one hundred".into();
        }
    }
    if n.is_plain_int() && !n.grouped && n.int.len() == 4 {
        if let Some(v) = year_of(&n.int) {
            if is_year(v, near) {
                return year_words(v);
            }
        }
    }
    num_words(n)
}

/// Three-digit numbers people dial, read digit by digit after "call" or "dial": emergency
/// numbers (911, 999, 112), the North American N11 services (211, 311, 411, 511, 611, 711,
/// 811), the 988 crisis line and the British 111 and 101.
fn service_number(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 3
        && (matches!(d, "999" | "112" | "988" | "111" | "101")
            || b[0] >= b'2' && b[1] == b'1' && b[2] == b'1')
}

fn is_year(v: u32, near: Near) -> bool {
    let prev = near.prev.trim_end_matches('.').to_lowercase();
    let next = near.next.to_lowercase();
    if tables::month(near.prev).is_some() && is_capitalized(near.prev) {
        return true;
    }
    if near.post.is_empty() && (tables::count_noun(&next) || tables::unit(near.next).is_some()) {
        return false;
    }
    if tables::count_cue(&prev) {
        return false;
    }
    if tables::year_cue(&prev) {
        return true;
    }
    // A four-digit number alone on its line (a caption, a table cell) is a year from 1000 on.
    v >= 1100 || v >= 1000 && near.prev.is_empty() && near.next.is_empty()
}

/// Ordinal digits from "1st", "22nd", "24th", "1,000th".
fn ordinal_digits(c: &str) -> Option<String> {
    let lower = c.to_ascii_lowercase();
    let (body, suffix) = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s).map(|b| (b, *s)))?;
    let n = parse_num(body)?;
    if !n.is_plain_int() || n.int.is_empty() {
        return None;
    }
    // "8st" is eight stone, not an ordinal: "st", "nd" and "rd" must fit the number.
    let b = n.int.as_bytes();
    let last = b[b.len() - 1];
    let teen = b.len() >= 2 && b[b.len() - 2] == b'1';
    let fits = match suffix {
        "st" => last == b'1' && !teen,
        "nd" => last == b'2' && !teen,
        "rd" => last == b'3' && !teen,
        _ => true,
    };
    fits.then_some(n.int)
}

/// "1990s" / "1990's" / "'90s" / "90s" / "100s".
fn decade(c: &str) -> Option<String> {
    let body = c.strip_suffix("'s").or_else(|| c.strip_suffix('s'))?;
    if let Some(two) = body.strip_prefix('\'') {
        if two.len() == 2 && all_digits(two) {
            let v = small_value(two)?;
            return Some(if v == 0 {
                "two thousands".to_string()
            } else {
                pluralize_last(&two_digit(v))
            });
        }
        return None;
    }
    let n = parse_num(body)?;
    if !n.is_plain_int() || n.int.is_empty() {
        return None;
    }
    if !n.grouped && n.int.len() == 4 && n.int.ends_with('0') {
        let v = year_of(&n.int)?;
        if v >= 1100 {
            return Some(decade_words(v));
        }
    }
    if n.int.len() == 2 && n.int.ends_with('0') && !n.int.starts_with('0') {
        let v = small_value(&n.int)?;
        return Some(pluralize_last(&two_digit(v)));
    }
    let w = int_words(&n.int);
    for scale in ["hundred", "thousand", "million", "billion"] {
        if w == format!("one {scale}") {
            return Some(format!("{scale}s"));
        }
    }
    w.ends_with(['y', 'd']).then(|| pluralize_last(&w))
}

struct Currency {
    singular: &'static str,
    plural: &'static str,
    sub: Option<(&'static str, &'static str)>,
}

fn currency_prefix(c: &str) -> Option<(Currency, &str)> {
    /// (symbol or code, singular, plural, minor unit singular/plural)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<(&'static str, &'static str)>,
    );
    const CUR: &[Row] = &[
        ("US$", "U S dollar", "U S dollars", Some(("cent", "cents"))),
        (
            "C$",
            "Canadian dollar",
            "Canadian dollars",
            Some(("cent", "cents")),
        ),
        (
            "A$",
            "Australian dollar",
            "Australian dollars",
            Some(("cent", "cents")),
        ),
        (
            "NZ$",
            "New Zealand dollar",
            "New Zealand dollars",
            Some(("cent", "cents")),
        ),
        (
            "HK$",
            "Hong Kong dollar",
            "Hong Kong dollars",
            Some(("cent", "cents")),
        ),
        ("R$", "real", "reais", None),
        ("USD", "U S dollar", "U S dollars", Some(("cent", "cents"))),
        ("EUR", "euro", "euros", Some(("cent", "cents"))),
        ("GBP", "pound", "pounds", Some(("penny", "pence"))),
        ("JPY", "yen", "yen", None),
        ("CHF", "Swiss franc", "Swiss francs", None),
        ("CNY", "yuan", "yuan", None),
        ("RMB", "yuan", "yuan", None),
        ("INR", "rupee", "rupees", None),
        ("Rs", "rupee", "rupees", None),
        (
            "AUD",
            "Australian dollar",
            "Australian dollars",
            Some(("cent", "cents")),
        ),
        (
            "CAD",
            "Canadian dollar",
            "Canadian dollars",
            Some(("cent", "cents")),
        ),
        ("$", "dollar", "dollars", Some(("cent", "cents"))),
        ("£", "pound", "pounds", Some(("penny", "pence"))),
        ("€", "euro", "euros", Some(("cent", "cents"))),
        ("¥", "yen", "yen", None),
        ("₹", "rupee", "rupees", None),
        ("₩", "won", "won", None),
        ("₽", "ruble", "rubles", None),
        ("₪", "shekel", "shekels", None),
        ("₺", "lira", "lira", None),
    ];
    for (p, s, pl, sub) in CUR {
        if let Some(rest) = c.strip_prefix(p) {
            if rest.starts_with(|ch: char| ch.is_ascii_digit() || ch == '.') {
                return Some((
                    Currency {
                        singular: s,
                        plural: pl,
                        sub: *sub,
                    },
                    rest,
                ));
            }
        }
    }
    None
}

/// Split "1.2bn-a-year" into ("1.2", "bn-a-year").
fn split_numeric_prefix(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(_, ch)| !(ch.is_ascii_digit() || ch == ',' || ch == '.'))
        .map_or(s.len(), |(k, _)| k);
    let mut end = end;
    while end > 0 && s[..end].ends_with(['.', ',']) {
        end -= 1;
    }
    (&s[..end], &s[end..])
}

fn amount_words(num: &Num, cur: &Currency) -> String {
    if let (Some(f), Some((sub_sg, sub_pl))) = (&num.frac, cur.sub) {
        if f.len() <= 2 {
            let cents_s = if f.len() == 1 {
                format!("{f}0")
            } else {
                f.clone()
            };
            let cents = small_value(&cents_s).unwrap_or(0);
            let whole = Num {
                frac: None,
                ..num.clone()
            };
            let whole_zero = num.int.trim_start_matches('0').is_empty();
            let unit = if whole.is_one() {
                cur.singular
            } else {
                cur.plural
            };
            let sub = if cents == 1 { sub_sg } else { sub_pl };
            let minus = if num.neg { "minus " } else { "" };
            return if whole_zero && cents > 0 {
                format!("{minus}{} {sub}", small(cents as u64))
            } else if cents == 0 {
                format!("{} {unit}", num_words(&whole))
            } else {
                format!(
                    "{} {unit} and {} {sub}",
                    num_words(&whole),
                    small(cents as u64)
                )
            };
        }
    }
    let unit = if num.is_one() {
        cur.singular
    } else {
        cur.plural
    };
    format!("{} {unit}", num_words(num))
}

/// "$5", "$0.50", "$3.25", "€3m", "$1.2bn", "$5-10", "$20-a-month".
fn money_words(c: &str, ext_scale: Option<&'static str>, adj: bool) -> Option<String> {
    let (neg, c) = match c.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, c),
    };
    let (mut cur, rest) = currency_prefix(c)?;
    if adj {
        cur.plural = cur.singular;
    }
    let (numpart, tail) = split_numeric_prefix(rest);
    let mut num = parse_num(numpart)?;
    num.neg = neg;
    let minus = if neg { "minus " } else { "" };
    let (own_scale, tail) = scale_suffix(tail);
    let scale = own_scale.or(ext_scale);
    if let Some(range_rest) = tail.strip_prefix(['-', '\u{2013}']) {
        let range_rest = currency_prefix(range_rest).map_or(range_rest, |(_, r)| r);
        let (n2s, tail2) = split_numeric_prefix(range_rest);
        if let Some(n2) = parse_num(n2s) {
            let (scale2, tail2) = scale_suffix(tail2);
            // Each side keeps a scale written on it ("£1m–£2m": one million to two million);
            // one written only at the end covers both ("$10–15 million": ten to fifteen).
            let first = match (own_scale, scale2) {
                (Some(s1), Some(_)) => format!(" {s1}"),
                _ => String::new(),
            };
            let scale = scale2.or(scale).or(ext_scale);
            let s = scale.map(|s| format!(" {s}")).unwrap_or_default();
            let mut w = format!(
                "{minus}{}{first} to {}{s} {}",
                num_words(&num),
                num_words(&n2),
                cur.plural
            );
            w.push_str(&compound_tail(tail2));
            return Some(w);
        }
        // "$5-million", "$20-a-month"
        if let (None, (Some(sc), t2)) = (scale, scale_suffix(range_rest)) {
            if t2.is_empty() || t2.starts_with('-') {
                let mut w = format!("{minus}{} {sc} {}", num_words(&num), cur.plural);
                w.push_str(&compound_tail(t2));
                return Some(w);
            }
        }
    }
    let mut w = match scale {
        Some(s) => format!("{minus}{} {s} {}", num_words(&num), cur.plural),
        None => amount_words(&num, &cur),
    };
    w.push_str(&compound_tail(tail));
    Some(w)
}

/// Leading scale suffix such as "bn", "m", "k", "million".
fn scale_suffix(t: &str) -> (Option<&'static str>, &str) {
    let end = t
        .char_indices()
        .find(|&(_, c)| !c.is_alphabetic())
        .map_or(t.len(), |(k, _)| k);
    let (w, rest) = t.split_at(end);
    match tables::scale_word(w) {
        Some(s) => (Some(s), rest),
        None => (None, t),
    }
}

/// The remainder of a compound after the numeric part, "-a-month" → " a month".
fn compound_tail(t: &str) -> String {
    let mut s = String::new();
    for part in t.split(['-', '\u{2013}']).filter(|p| !p.is_empty()) {
        s.push(' ');
        s.push_str(&core_words(part, Near::default().inner()));
    }
    s
}

/// "5%", "3.5%", "5-10%", "+2%".
fn percent_words(c: &str) -> Option<String> {
    let body = c.strip_suffix('%')?;
    if let Some(n) = parse_num(body) {
        return Some(format!("{} percent", num_words(&n)));
    }
    let (a, b) = body.split_once(['-', '\u{2013}'])?;
    let a = a.strip_suffix('%').unwrap_or(a);
    let (na, nb) = (parse_num(a)?, parse_num(b)?);
    Some(format!("{} to {} percent", num_words(&na), num_words(&nb)))
}

/// Fractions and other slash forms: "1/2", "3/4", "24/7", "9/11", "2023/24", "and/or".
fn slash_words(c: &str, near: Near) -> Option<String> {
    let (a, b) = c.split_once('/')?;
    if b.contains('/') {
        return None;
    }
    if all_digits(a) && all_digits(b) {
        match c {
            "24/7" => return Some("twenty-four seven".into()),
            "9/11" => return Some("nine eleven".into()),
            _ => {}
        }
        // "50/50", "20/20": odds and vision.
        if a == b && a.len() <= 2 && !a.starts_with('0') {
            let w = two_digit(small_value(a)?);
            return Some(format!("{w}-{w}"));
        }
        let av = small_value(a);
        let bv = small_value(b);
        if let (Some(y), Some(_)) = (year_of(a), bv) {
            if b.len() == 2 || b.len() == 4 {
                let second = if b.len() == 4 {
                    year_of(b).map(year_words).unwrap_or_else(|| int_words(b))
                } else {
                    two_digit(bv.unwrap_or(0))
                };
                return Some(format!("{} to {second}", year_words(y)));
            }
        }
        // A cricket score, runs for wickets: "245/6" (a fraction's numerator is not in the
        // hundreds over a single-digit denominator).
        if a.len() == 3 && !a.starts_with('0') && bv.is_some_and(|w| w <= 10) && b.len() <= 2 {
            return Some(format!("{} for {}", int_words(a), int_words(b)));
        }
        if let (Some(_), Some(d)) = (av, bv) {
            if d > 0 && d <= 100 && a.len() <= 3 {
                return Some(fraction_words(a, b));
            }
        }
        return Some(format!(
            "{} over {}",
            num_words(&parse_num(a)?),
            num_words(&parse_num(b)?)
        ));
    }
    if let Some((sg, pl)) = tables::unit(c) {
        return Some(if near.compound { sg } else { pl }.to_string());
    }
    match c {
        "and/or" => return Some("and or".into()),
        "y/y" | "Y/Y" | "yoy" => return Some("year on year".into()),
        "q/q" | "Q/Q" => return Some("quarter on quarter".into()),
        "m/m" | "M/M" => return Some("month on month".into()),
        "w/" => return Some("with".into()),
        "w/o" => return Some("without".into()),
        "c/o" => return Some("care of".into()),
        _ => {}
    }
    if a.is_empty() || b.is_empty() {
        return Some(format!(
            "{} {}",
            core_words(a, near.inner()),
            core_words(b, near.inner())
        ));
    }
    let inner = near.inner();
    let join = if a.chars().all(|ch| ch.is_lowercase()) && b.chars().all(|ch| ch.is_lowercase()) {
        "or"
    } else {
        "slash"
    };
    Some(format!(
        "{} {join} {}",
        core_words(a, inner),
        core_words(b, inner)
    ))
}

/// Number glued to a unit or suffix: "5km", "30°C", "10x", "5bn", "100m", "50p", "5G".
fn number_with_suffix(c: &str, near: Near) -> Option<String> {
    let (sign, body) = match c.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", c),
    };
    if !body.starts_with(|ch: char| ch.is_ascii_digit() || ch == '.') {
        return None;
    }
    let (numpart, suffix) = split_numeric_prefix(body);
    if suffix.is_empty() || numpart.is_empty() {
        return None;
    }
    let mut num = parse_num(numpart)?;
    num.neg = sign == "-";
    let nw = num_words(&num);
    let plural = |sg: &'static str, pl: &'static str| {
        if num.is_one() || near.compound {
            sg
        } else {
            pl
        }
    };
    // Durations "7h 30m", "2h": "m" after an hours token is minutes.
    if suffix == "h" {
        return Some(format!("{nw} {}", plural("hour", "hours")));
    }
    if suffix == "m"
        && number_with_suffix(near.prev, Near::default())
            .is_some_and(|w| w.ends_with("hour") || w.ends_with("hours"))
    {
        return Some(format!("{nw} {}", plural("minute", "minutes")));
    }
    // British style temperatures "38C", "-5C", "100F".
    const NOT_DEGREES: &[&str] = &[
        "room",
        "flat",
        "apartment",
        "apt",
        "gate",
        "seat",
        "year",
        "platform",
        "unit",
        "suite",
        "block",
        "row",
        "bay",
        "terminal",
        "form",
        "class",
        "grade",
        "level",
        "floor",
        "pier",
        "exit",
        "zone",
        "ward",
        "lot",
        "berth",
        "cabin",
    ];
    // "Exit 12B", "Gate 3C": after a label noun a capital letter is part of the label.
    let label = NOT_DEGREES.contains(&near.prev.to_lowercase().as_str());
    if label
        && num.is_plain_int()
        && sign.is_empty()
        && suffix.len() == 1
        && suffix.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Some(format!("{nw} {suffix}"));
    }
    if matches!(suffix, "C" | "F")
        && num.int.len() <= 3
        && !NOT_DEGREES.contains(&near.prev.to_lowercase().as_str())
    {
        let scale = if suffix == "C" {
            "Celsius"
        } else {
            "Fahrenheit"
        };
        return Some(format!("{nw} {} {scale}", plural("degree", "degrees")));
    }
    // Heights and weights: "6ft 2in", "8st 4lb" ("in" and "st" are units only when glued).
    if suffix == "in" {
        return Some(format!("{nw} {}", plural("inch", "inches")));
    }
    if suffix == "st" {
        return Some(format!("{nw} stone"));
    }
    // British "40pc" for per cent.
    if suffix == "pc" {
        return Some(format!("{nw} percent"));
    }
    // Team names "49ers", "76ers": the number's last word takes "-er" and the plural.
    if suffix == "ers" && num.is_plain_int() && sign.is_empty() {
        return Some(format!("{}ers", nw.strip_suffix('e').unwrap_or(&nw)));
    }
    if let Some((sg, pl)) = tables::unit(suffix) {
        if suffix == "m" && m_means_million(near.prev, near.next) {
            return Some(format!("{nw} million"));
        }
        let u = if num.is_one() || near.compound {
            sg
        } else {
            pl
        };
        return Some(format!("{nw} {u}"));
    }
    if let Some(s) = tables::scale_word(suffix) {
        return Some(format!("{nw} {s}"));
    }
    if matches!(suffix, "€" | "$" | "£" | "¥") {
        return money_words(&format!("{suffix}{numpart}"), None, near.compound).map(|w| {
            if sign == "-" {
                format!("minus {w}")
            } else {
                w
            }
        });
    }
    match suffix {
        "x" | "×" => return Some(format!("{nw} times")),
        "+" => return Some(format!("{nw} plus")),
        _ => {}
    }
    None
}

/// "3m people", "costs 3m": "m" after a plain number means million when a counted noun
/// follows or a money or audience word comes before; otherwise metres ("a 3m fall").
fn m_means_million(prev: &str, next: &str) -> bool {
    let next = next.to_lowercase();
    tables::count_noun(&next)
        || matches!(next.as_str(), "euros" | "dollars" | "pounds" | "yen")
        || tables::million_cue(&prev.to_lowercase())
}

/// Symbols in front of a number: "+3", "~50", "<5", ">50", "#1", "±2".
fn prefixed_symbol(c: &str, near: Near) -> Option<String> {
    let (w, rest) = if let Some(r) = c.strip_prefix('~') {
        ("about", r)
    } else if let Some(r) = c.strip_prefix('<') {
        ("less than", r)
    } else if let Some(r) = c.strip_prefix('>') {
        ("more than", r)
    } else if let Some(r) = c.strip_prefix('±') {
        ("plus or minus", r)
    } else if let Some(r) = c.strip_prefix('+') {
        ("plus", r)
    } else if let Some(r) = c.strip_prefix('#') {
        if r.starts_with(|ch: char| ch.is_ascii_digit()) {
            ("number", r)
        } else {
            return None;
        }
    } else {
        return None;
    };
    if !starts_numeric(rest) && !rest.starts_with('.') {
        return None;
    }
    Some(format!("{w} {}", core_words(rest, near)))
}

/// Hyphen and en-dash compounds: ranges ("5-10", "2020–2024"), party labels ("D-Calif"), and
/// compounds with numbers ("600,000-soldier", "3-year-old", "COVID-19").
fn compound_words(c: &str, near: Near) -> String {
    if let Some(neg) = c.strip_prefix('-') {
        if starts_numeric(neg) {
            let inner = core_words(neg, near);
            return format!("minus {inner}");
        }
    }
    match c {
        "y-o-y" | "Y-o-Y" | "y-on-y" => return "year on year".into(),
        "q-o-q" | "Q-o-Q" | "q-on-q" => return "quarter on quarter".into(),
        "m-o-m" | "M-o-M" | "m-on-m" => return "month on month".into(),
        _ => {}
    }
    let parts: Vec<&str> = c.split(['-', '\u{2013}']).collect();
    // "1.5 million-strong": a scale word after a number joins the compound as a word does
    // after a number ("600,000-soldier").
    if let [scale @ ("thousand" | "million" | "billion" | "trillion"), rest @ ..] = parts.as_slice()
    {
        if starts_numeric(near.prev) && !rest.is_empty() {
            let tail: Vec<String> = rest.iter().map(|p| core_words(p, near.inner())).collect();
            return format!("{scale} {}", tail.join(" "));
        }
    }
    // "a 2.3m-strong union": million, not metres.
    if let [amount, "strong"] = parts.as_slice() {
        if let Some(n) = amount.strip_suffix('m').and_then(parse_num) {
            return format!("{} million strong", num_words(&n));
        }
    }
    if parts.len() == 2 {
        let (a, b) = (parts[0], parts[1]);
        // Opening hours: "Mon-Fri", "Mon.–Fri." → "Monday to Friday".
        if let (Some(x), Some(y)) = (
            tables::weekday(a.trim_end_matches('.')),
            tables::weekday(b.trim_end_matches('.')),
        ) {
            return format!("{x} to {y}");
        }
        // Months: "Jan.–March", "May-June".
        if let (Some((x, _)), Some((y, _))) = (
            tables::month(a.trim_end_matches('.')).filter(|_| is_capitalized(a)),
            tables::month(b.trim_end_matches('.')).filter(|_| is_capitalized(b)),
        ) {
            return format!("{x} to {y}");
        }
        // "2018–present", "2020-now".
        if let (Some(y), "present" | "now" | "today" | "date") = (year_of(a), b) {
            return format!("{} to {b}", year_words(y));
        }
        // Model numbers with a letter prefix: "C-130", "I-495" (three digits in pairs, as
        // "A380"); "F-16" and "B-52" read as cardinals below.
        if (1..=3).contains(&a.len())
            && a.bytes().all(|ch| ch.is_ascii_uppercase())
            && b.len() == 3
            && all_digits(b)
            && !b.starts_with('0')
        {
            return format!("{} {}", spell(a), model_number_words(b));
        }
        // Quarters and halves of a year: "Q1–Q3", "H1-H2".
        if let (Some(x), Some(y)) = (a.strip_prefix(['Q', 'H']), b.strip_prefix(['Q', 'H'])) {
            if a[..1] == b[..1] && x.len() == 1 && y.len() == 1 && all_digits(x) && all_digits(y) {
                return format!(
                    "{} to {}",
                    mixed_alnum_words(a, near),
                    mixed_alnum_words(b, near)
                );
            }
        }
        // Decades: "1950s–60s" → "nineteen fifties to sixties".
        if let (Some(x), Some(y)) = (decade(a), decade(b)) {
            return format!("{x} to {y}");
        }
        let na = parse_num(a);
        if let Some(na) = &na {
            if starts_numeric(b) {
                let ya = if na.is_plain_int() && !na.grouped {
                    year_of(a)
                } else {
                    None
                };
                if let Some(ya) = ya.filter(|&y| y >= 1100) {
                    if b.len() == 2 && all_digits(b) {
                        let bv = small_value(b).unwrap_or(0);
                        let bw = if bv < 10 {
                            format!("oh {}", small(bv as u64))
                        } else {
                            two_digit(bv)
                        };
                        return format!("{} to {bw}", year_words(ya));
                    }
                    if let Some(yb) = year_of(b) {
                        return format!("{} to {}", year_words(ya), year_words(yb));
                    }
                }
                return format!("{} to {}", num_words(na), core_words(b, near));
            }
        }
        if matches!(a, "D" | "R" | "I") {
            let b_core = b.trim_end_matches('.');
            let st = tables::state(b_core).map(str::to_string).or_else(|| {
                (is_capitalized(b)
                    && b.chars().all(|ch| ch.is_alphabetic() || ch == '.')
                    && b.len() > 2)
                    .then(|| b.to_string())
            });
            if let Some(st) = st {
                let party = match a {
                    "D" => "Democrat",
                    "R" => "Republican",
                    _ => "Independent",
                };
                return format!("{party} of {st}");
            }
        }
    }
    // "14-Feb-2026": day, month and year.
    if let [d, m, y] = parts.as_slice() {
        if let (Some(dv), Some((month, _)), Some(yv)) = (day_of(d), tables::month(m), year_of(y)) {
            if all_digits(d) && is_capitalized(m) {
                return format!(
                    "the {} of {month}, {}",
                    ordinal_of(&dv.to_string()),
                    year_words(yv)
                );
            }
        }
    }
    let inner = near.inner();
    let mut words: Vec<String> = Vec::with_capacity(parts.len());
    let mut spaced = false;
    for (k, p) in parts.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        let prev_numeric = k > 0 && starts_numeric(parts[k - 1]);
        let w = if prev_numeric {
            match tables::unit(p) {
                Some((sg, _)) if p.len() > 1 || *p == "m" => sg.to_string(),
                _ => core_words(p, inner),
            }
        } else {
            core_words(p, inner)
        };
        if p.starts_with(|ch: char| ch.is_ascii_digit()) || w.contains(' ') {
            spaced = true;
        }
        words.push(w);
    }
    words.retain(|w| !w.is_empty());
    words.join(if spaced { " " } else { "-" })
}

/// Tokens with embedded symbols: "AT&T", "R&D", "C++", "OPEC+", "2+2", "x=y".
fn mixed_symbol_words(c: &str, near: Near) -> String {
    let inner = near.inner();
    let mut out: Vec<String> = Vec::new();
    let mut buf = String::new();
    for ch in c.chars() {
        let sym = match ch {
            '&' => Some("and"),
            '+' => Some("plus"),
            '=' => Some("equals"),
            '×' => Some("times"),
            '@' => Some("at"),
            '#' => Some(""),
            '%' => Some("percent"),
            '~' | '<' | '>' => Some(""),
            '±' => Some("plus or minus"),
            _ => None,
        };
        match sym {
            Some(s) => {
                if !buf.is_empty() {
                    out.push(symbol_part(&buf, inner));
                    buf.clear();
                }
                if !s.is_empty() {
                    out.push(s.to_string());
                }
            }
            None => buf.push(ch),
        }
    }
    if !buf.is_empty() {
        out.push(symbol_part(&buf, inner));
    }
    out.retain(|w| !w.is_empty());
    out.join(" ")
}

/// One side of "AT&T" / "R&D": short capitals are letters even when they spell a word.
fn symbol_part(p: &str, near: Near) -> String {
    if p.chars().count() <= 3
        && p.chars().all(|c| c.is_ascii_uppercase())
        && !tables::word_acronym(p)
    {
        return spell(p);
    }
    core_words(p, near)
}

// ---------------------------------------------------------------------------------------------
// Words, acronyms and mixed letter-digit tokens

fn has_vowel(s: &str) -> bool {
    s.chars().any(|c| matches!(c, 'A' | 'E' | 'I' | 'O' | 'U'))
}

fn spell(up: &str) -> String {
    characters(up)
}

/// Common short English words that stay words when written in capitals.
fn caps_plain_word(up: &str) -> bool {
    const W: &[&str] = &[
        "NOT", "THE", "AND", "YES", "NO", "ALL", "BIG", "NEW", "NOW", "WAR", "OUT", "OFF", "WHY",
        "HOW", "YOU", "ARE", "WAS", "HIS", "HER", "OUR", "CAN", "DID", "GET", "GOT", "HAS", "HAD",
        "ONE", "TWO", "TEN", "BAD", "SAD", "MAD", "TOP", "END", "DAY", "WAY", "SAY", "SEE", "LET",
        "FOR", "BUT", "NOR", "YET", "SO", "TO", "DO", "GO", "BE", "WE", "HE", "ME", "MY", "OF",
        "IN", "ON", "BY", "UP", "OR", "IF", "IS", "AS", "AN", "OH", "HI", "WOW", "SHE", "HIM",
        "ITS", "AT", "ANY", "OLD", "MAN", "GUN", "KEY", "OWN", "SIR", "BOY", "TAX", "LAW", "JOB",
        "WIN", "HOT", "RED", "MIX", "DID", "LID", "MID", "DIM",
    ];
    W.contains(&up)
}

fn acronym_words(up: &str, suffix: &str, near: Near) -> String {
    if up == "OK" {
        return format!("okay{suffix}");
    }
    if up == "FTSE" {
        return format!("Footsie{suffix}");
    }
    // "WWI", "WWII": World War One, World War Two.
    if let Some(v) = up
        .strip_prefix("WW")
        .and_then(roman_value)
        .filter(|v| (1..=3).contains(v))
    {
        return format!("World War {}{suffix}", cap_first(&small(v as u64)));
    }
    if tables::word_acronym(up) {
        return format!("{}{}", title_case(up), suffix);
    }
    let spelled_suffix = if suffix == "s" { "'s" } else { suffix };
    if near.headline {
        if up == "US" {
            if suffix.is_empty() && headline_us_is_pronoun(near) {
                return "us".to_string();
            }
            return format!("{}{spelled_suffix}", spell(up));
        }
        // Capitals that are ordinary words far more often than acronyms in a headline.
        if matches!(up, "IT" | "DOS" | "DOT" | "DOE") && suffix.is_empty() {
            return up.to_lowercase();
        }
        if up == "WHO" && suffix.is_empty() && !headline_who_is_agency(near) {
            return "who".to_string();
        }
        if tables::spelled_acronym(up)
            || tables::spelled_acronym(&format!("{up}{}", suffix.to_uppercase()))
        {
            return format!("{}{spelled_suffix}", spell(up));
        }
        if up.len() >= 2 && !has_vowel(up) && !up.contains('Y') {
            return format!("{}{spelled_suffix}", spell(up));
        }
        return format!("{}{}", up.to_lowercase(), suffix);
    }
    if caps_plain_word(up) && suffix.is_empty() {
        return up.to_lowercase();
    }
    if tables::spelled_acronym(up) || up.chars().count() <= 3 || !has_vowel(up) {
        return format!("{}{spelled_suffix}", spell(up));
    }
    format!("{up}{suffix}")
}

/// "US" in an all-caps headline: the pronoun after a verb or preposition that takes an
/// object ("HELP US", "TELLS US TO", "GIVE US A BREAK"), unless a noun follows that "US"
/// modifies ("TELLS US ALLIES", "FOR US TROOPS"). Anywhere else it is the country.
fn headline_us_is_pronoun(near: Near) -> bool {
    // Verbs followed by a bare infinitive: "LET US PRAY", "HELP US WIN".
    const ALWAYS: &[&str] = &[
        "LET", "LETS", "HELP", "HELPS", "MAKE", "MAKES", "MADE", "WATCH", "SEE", "HEAR",
    ];
    const OBJECT: &[&str] = &[
        "TELL", "TELLS", "TOLD", "JOIN", "JOINS", "GIVE", "GIVES", "GAVE", "SHOW", "SHOWS", "FOR",
        "WITH", "TO", "ABOUT", "AMONG", "ALL", "WITHOUT", "FROM", "AGAINST", "ASK", "ASKS",
        "ASKED", "CALL", "CALLS", "SEND", "SENDS", "OF", "SAVE", "SAVES", "LEAVE", "LEAVES",
        "LEFT", "TAKE", "TAKES", "TOOK", "BEHIND", "BEFORE", "AFTER", "LIKE", "BY", "NEAR", "OWE",
        "OWES", "BRING", "BRINGS", "GET", "GETS", "KEEP", "KEEPS", "KILL", "KILLS", "HURT",
        "HURTS", "FAIL", "FAILS", "FAILED", "UNITE", "UNITES", "DIVIDE", "DIVIDES",
    ];
    // Words that follow an object pronoun rather than a noun "US" could modify.
    const AFTER_PRONOUN: &[&str] = &[
        "TO",
        "THAT",
        "WHAT",
        "HOW",
        "WHY",
        "WHO",
        "WHERE",
        "WHEN",
        "IF",
        "IN",
        "ON",
        "OUT",
        "UP",
        "DOWN",
        "BACK",
        "AWAY",
        "OFF",
        "ABOUT",
        "FOR",
        "WITH",
        "A",
        "AN",
        "THE",
        "NOTHING",
        "EVERYTHING",
        "SOMETHING",
        "ANYTHING",
        "ALL",
        "BOTH",
        "AGAIN",
        "NOW",
        "MORE",
        "OVER",
        "THROUGH",
        "INTO",
        "FROM",
        "BY",
        "AT",
        "AND",
        "OR",
        "BUT",
        "SO",
        "AS",
        "ALONE",
        "HOPE",
        "TOGETHER",
        "APART",
        "HERE",
        "THERE",
        "TODAY",
        "TONIGHT",
        "TOO",
        "ANY",
        "NO",
        "MY",
        "YOUR",
        "HIS",
        "HER",
        "THEIR",
        "OUR",
        "ITS",
        "THIS",
        "THESE",
        "THOSE",
        "SOME",
        "WHILE",
        "BECAUSE",
        "AFTER",
        "BEFORE",
        "UNTIL",
        "SINCE",
        "ONCE",
        "AGAINST",
        "BEHIND",
        "LIKE",
    ];
    let prev = near.prev.trim_end_matches(['.', ',']).to_uppercase();
    if ALWAYS.contains(&prev.as_str()) {
        return true;
    }
    if !OBJECT.contains(&prev.as_str()) {
        return false;
    }
    let next = near.next.to_uppercase();
    !near.post.is_empty()
        || next.is_empty()
        || !next.starts_with(|c: char| c.is_alphabetic())
        || AFTER_PRONOUN.contains(&next.as_str())
}

/// "WHO" in an all-caps headline is the World Health Organization at the start of the
/// headline before a verb in -s ("WHO WARNS ...") or before a noun it names ("WHO CHIEF").
fn headline_who_is_agency(near: Near) -> bool {
    const NOUNS: &[&str] = &[
        "CHIEF",
        "HEAD",
        "BOSS",
        "DIRECTOR",
        "OFFICIAL",
        "OFFICIALS",
        "EXPERT",
        "EXPERTS",
        "REPORT",
        "STUDY",
        "DATA",
        "GUIDANCE",
        "ADVICE",
        "WARNING",
        "ALERT",
        "TEAM",
        "MISSION",
        "ENVOY",
        "SAYS",
        "SAID",
    ];
    let next = near.next.to_uppercase();
    if NOUNS.contains(&next.as_str()) {
        return true;
    }
    near.prev.is_empty()
        && near.post.is_empty()
        && next.len() > 3
        && next.ends_with('S')
        && !next.ends_with("SS")
}

/// Split a run of letters at camel-case boundaries: "BlackLivesMatter" → Black Lives Matter,
/// "BBCWorld" → BBC World.
fn camel_split(s: &str) -> Vec<&str> {
    let cs: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for k in 1..cs.len() {
        let (pos, c) = cs[k];
        let p = cs[k - 1].1;
        let next_lower = cs.get(k + 1).is_some_and(|&(_, n)| n.is_lowercase());
        let boundary = (p.is_lowercase() && c.is_uppercase())
            || (p.is_uppercase() && c.is_uppercase() && next_lower)
            || (is_wordish(p) != is_wordish(c));
        if boundary {
            out.push(&s[start..pos]);
            start = pos;
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

fn is_wordish(c: char) -> bool {
    c.is_alphabetic() || c == '\''
}

fn word_words(c: &str, near: Near) -> String {
    // Dotted forms without the final period ("U.S-based" parts, "e.g" inside compounds).
    if c.contains('.') {
        let t = c.trim_matches('.');
        match t {
            "e.g" => return "for example".into(),
            "i.e" => return "that is".into(),
            "a.m" | "A.M" => return "A M".into(),
            "p.m" | "P.M" => return "P M".into(),
            "a.k.a" | "A.K.A" => return "also known as".into(),
            _ => {}
        }
        let parts: Vec<&str> = t.split('.').collect();
        if parts
            .iter()
            .all(|p| (1..=2).contains(&p.chars().count()) && p.chars().all(char::is_alphabetic))
        {
            return characters(t);
        }
        // Otherwise read the pieces ("No.1" → number one, "end.The" → end. The).
        let inner = near.inner();
        return parts
            .iter()
            .map(|p| core_words(p, inner))
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
    }
    if c.contains('/') {
        if let Some(w) = slash_words(c, near) {
            return w;
        }
    }
    let (base, suffix) = if let Some(b) = c.strip_suffix("'s") {
        (b, "'s")
    } else if let Some(b) = c.strip_suffix('\'') {
        (b, "'")
    } else {
        (c, "")
    };
    let letters_only = !base.is_empty() && base.chars().all(|ch| ch.is_alphabetic() || ch == '\'');
    if letters_only {
        let caps = base.chars().all(|ch| ch.is_uppercase());
        if caps && base.chars().count() >= 2 {
            return acronym_words(base, suffix, near);
        }
        // Plural acronyms: "CEOs", "NGOs", "MPs".
        if let Some(b) = base.strip_suffix('s') {
            if b.chars().count() >= 2
                && b.chars().all(|ch| ch.is_ascii_uppercase())
                && suffix.is_empty()
            {
                return acronym_words(b, "s", near);
            }
        }
        if base == "PhD" {
            return format!("P H D{suffix}");
        }
        return c.to_string();
    }
    // Letters mixed with digits or other characters: "G7", "MH17", "H5N1", "4x4", "3D".
    mixed_alnum_words(c, near)
}

/// A run of letters (no digits or symbols) as spoken; never recurses into other rules.
fn letter_run_words(p: &str, near: Near) -> String {
    let (base, suffix) = match p.strip_suffix("'s") {
        Some(b) => (b, "'s"),
        None => (p, ""),
    };
    if base.chars().count() >= 2 && base.chars().all(|c| c.is_uppercase()) {
        return acronym_words(base, suffix, near);
    }
    p.to_string()
}

/// A three-digit model number read in two parts: "380" → three eighty, "737" → seven
/// thirty-seven, "105" → one oh five, "300" → three hundred.
fn model_number_words(d: &str) -> String {
    let head = numbers::digit_word(d.chars().next().unwrap_or('0'));
    match small_value(&d[1..]).unwrap_or(0) {
        0 => format!("{head} hundred"),
        v if v < 10 => format!("{head} oh {}", small(v as u64)),
        v => format!("{head} {}", two_digit(v)),
    }
}

fn mixed_alnum_words(c: &str, near: Near) -> String {
    let inner = near.inner();
    let mut runs: Vec<(bool, &str)> = Vec::new(); // (is_digit_run, text)
    let mut start = 0;
    let mut cur: Option<u8> = None; // 0 = digits, 1 = letters/apostrophe, 2 = other
    for (k, ch) in c.char_indices() {
        let kind = if ch.is_ascii_digit() || (ch == ',' || ch == '.') && cur == Some(0) {
            0
        } else if ch.is_alphabetic() && !ch.is_numeric() || ch == '\'' {
            1
        } else {
            2
        };
        if cur.is_some_and(|k0| k0 != kind) {
            let seg = &c[start..k];
            if cur != Some(2) {
                runs.push((cur == Some(0), seg));
            }
            start = k;
        }
        cur = Some(kind);
    }
    if cur.is_some_and(|k| k != 2) {
        runs.push((cur == Some(0), &c[start..]));
    }
    let mut out: Vec<String> = Vec::new();
    for (k, &(is_digit, seg)) in runs.iter().enumerate() {
        if is_digit {
            let seg = seg.trim_end_matches(['.', ',']);
            // Four digits after letters read in pairs like a year: "FY2025", "BA2490".
            if k == 1
                && seg.len() == 4
                && all_digits(seg)
                && !seg.starts_with('0')
                && !matches!(runs[0].1, "x" | "X")
            {
                if let Ok(v) = seg.parse::<u32>() {
                    out.push(year_words(v));
                    continue;
                }
            }
            // Model numbers after letters: "A380" → A three eighty, "MH370", "C130".
            if k == 1
                && !matches!(runs[0].1, "x" | "X")
                && seg.len() == 3
                && all_digits(seg)
                && !seg.starts_with('0')
            {
                out.push(model_number_words(seg));
                continue;
            }
            out.push(match parse_num(seg) {
                Some(n) => num_words(&n),
                None => digit_words(seg),
            });
        } else {
            let prev_digit = k > 0 && runs[k - 1].0;
            let next_digit = runs.get(k + 1).is_some_and(|r| r.0);
            if prev_digit && next_digit && (seg == "x" || seg == "X") {
                out.push("by".into());
            } else if let Some((sg, pl)) = tables::unit(seg).filter(|_| prev_digit && !next_digit) {
                // "4x100m relay": a unit after the last number.
                out.push(if near.compound { sg } else { pl }.into());
            } else if prev_digit && seg == "x" {
                out.push("times".into());
            } else if seg.chars().all(|ch| ch.is_uppercase())
                && seg.chars().count() <= 3
                && !tables::word_acronym(seg)
            {
                out.push(spell(seg));
            } else {
                for p in camel_split(seg) {
                    out.push(letter_run_words(p, inner));
                }
            }
        }
    }
    out.retain(|w| !w.is_empty());
    out.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Web and social

fn web_words(c: &str, near: Near) -> Option<String> {
    let lower = c.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") {
        return Some(url_words(c));
    }
    if let Some((local, domain)) = c.split_once('@') {
        if !local.is_empty() && looks_like_domain(domain) {
            return Some(format!("{} at {}", email_local(local), host_words(domain)));
        }
        if local.is_empty() && domain.starts_with(|ch: char| ch.is_alphanumeric() || ch == '_') {
            return Some(format!("at {}", handle_words(domain, near)));
        }
        return None;
    }
    if let Some(tag) = c.strip_prefix('#') {
        if tag.starts_with(|ch: char| ch.is_alphabetic()) {
            return Some(format!("hashtag {}", handle_words(tag, near)));
        }
        return None;
    }
    let host = c.split('/').next().unwrap_or(c);
    if looks_like_domain(host) {
        return Some(url_words(c));
    }
    None
}

fn looks_like_domain(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || !host.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return false;
    }
    let ok = labels
        .iter()
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let tld = labels.last().copied().unwrap_or("");
    ok && tld.chars().all(|c| c.is_ascii_lowercase())
        && tables::known_tld(tld)
        && labels.iter().rev().nth(1).is_some_and(|l| {
            // One-letter names exist only as short brands: "x.com", "t.co".
            l.len() >= 2 || labels.len() == 2 && matches!(tld, "com" | "co")
        })
}

fn host_label(l: &str) -> String {
    if tables::spelled_tld(l) {
        return spell(&l.to_ascii_uppercase());
    }
    let letters = l.chars().all(|c| c.is_ascii_alphabetic());
    // A site named after an initialism is read like it: "usa.gov", "irs.gov", "cnn.com".
    if letters && l.len() >= 3 && tables::spelled_acronym(&l.to_ascii_uppercase()) {
        return spell(&l.to_ascii_uppercase());
    }
    if letters && l.len() <= 4 && !l.chars().any(|c| "aeiouAEIOU".contains(c)) {
        return spell(&l.to_ascii_uppercase());
    }
    if letters && l.chars().all(|c| c.is_ascii_uppercase()) {
        return acronym_words(l, "", Near::default());
    }
    url_piece(l)
}

fn host_words(host: &str) -> String {
    host.split('.')
        .filter(|l| !l.is_empty())
        .map(host_label)
        .collect::<Vec<_>>()
        .join(" dot ")
}

/// One path or local-part piece: letters as they are, digits as numbers, separators named.
fn url_piece(p: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut buf = String::new();
    let flush = |buf: &mut String, out: &mut Vec<String>| {
        if !buf.is_empty() {
            // A year on its own in a path or query reads as a year: "/news/2026/", "?year=2025".
            out.push(match year_of(buf).filter(|&y| y >= 1100) {
                Some(y) => year_words(y),
                None => mixed_alnum_words(buf, Near::default().inner()),
            });
            buf.clear();
        }
    };
    for ch in p.chars() {
        let name = match ch {
            '.' => "dot",
            '-' => "dash",
            '_' => "underscore",
            '?' => "question mark",
            '=' => "equals",
            '&' => "and",
            '#' => "hash",
            '+' => "plus",
            '~' => "tilde",
            '%' => "percent",
            ':' => "colon",
            '/' => "slash",
            c if c.is_alphanumeric() => {
                buf.push(c);
                continue;
            }
            _ => "",
        };
        flush(&mut buf, &mut out);
        if !name.is_empty() {
            out.push(name.to_string());
        }
    }
    flush(&mut buf, &mut out);
    out.retain(|w| !w.is_empty());
    out.join(" ")
}

fn url_words(c: &str) -> String {
    let mut s = c;
    for scheme in [
        "https://", "http://", "HTTPS://", "HTTP://", "Https://", "Http://",
    ] {
        if let Some(r) = s.strip_prefix(scheme) {
            s = r;
            break;
        }
    }
    if let Some(rest) = s
        .get(..4)
        .filter(|w| w.eq_ignore_ascii_case("www."))
        .and_then(|_| s.get(4..))
    {
        s = rest;
    }
    let (host, path) = match s.find('/') {
        Some(k) => (&s[..k], &s[k + 1..]),
        None => (s, ""),
    };
    // A port reads digit by digit, like a ZIP code: "example.com:8080".
    let (host, port) = match host.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.len() <= 5 && all_digits(p) => (h, Some(p)),
        _ => (host, None),
    };
    let mut out = host_words(host);
    if let Some(p) = port {
        out.push_str(" colon ");
        out.push_str(&digit_words(p));
    }
    for seg in path.split('/').filter(|p| !p.is_empty()) {
        out.push_str(" slash ");
        out.push_str(&url_piece(seg));
    }
    out
}

fn email_local(local: &str) -> String {
    url_piece(local)
}

fn handle_words(h: &str, near: Near) -> String {
    let inner = Near {
        headline: false,
        ..near.inner()
    };
    let mut out: Vec<String> = Vec::new();
    for part in h.split('_') {
        if !out.is_empty() {
            out.push("underscore".into());
        }
        for p in camel_split(part) {
            if p.chars().all(|c| c.is_ascii_digit()) {
                out.push(match year_of(p).filter(|&y| y >= 1100) {
                    Some(y) => year_words(y),
                    None => int_words(p),
                });
            } else {
                out.push(word_words(p, inner));
            }
        }
    }
    out.retain(|w| !w.is_empty());
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roman() {
        assert_eq!(roman_value("XIV"), Some(14));
        assert_eq!(roman_value("LVIII"), Some(58));
        assert_eq!(roman_value("IIII"), None);
        assert_eq!(roman_value("CIVIL"), None);
    }
    #[test]
    fn seeds() {
        assert_eq!(
            normalize("the 600,000-soldier limit"),
            "the six hundred thousand soldier limit"
        );
        assert_eq!(numbers::ordinalize("twenty-four"), "twenty-fourth");
    }
    #[test]
    fn number_lists_and_sections() {
        // A long run of zero-padded numbers is read in bounded lists, never as a phone number.
        let out = normalize(&["07"; 30].join(" "));
        let words: Vec<&str> = out.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        assert!(
            words.len() == 30 && words.iter().all(|w| *w == "seven"),
            "{out}"
        );
        assert_eq!(statute_section("401(k").as_deref(), None);
        assert_eq!(statute_section("401(k)").as_deref(), Some("four oh one K"));
        assert_eq!(statute_section("3(b)(ii)").as_deref(), Some("three B two"));
        assert_eq!(statute_section("box(es)"), None);
    }
}
