//! Extraction: turns a fetched page (HTML), a Markdown file or plain text into an [`Article`] — a
//! title, an optional byline and the ordered body blocks that will be read aloud. For HTML the
//! `dom_smoothie` Readability port only *locates* the main content (its text is matched back onto
//! our own DOM); a hand-written, iterative walker then produces typed blocks from that region and
//! drops what a listener must never hear: navigation, ads, share bars, related links, newsletter
//! boxes, cookie banners, captions (but on gallery pages), comments, timestamps, boxes after the
//! article body and the page's own audio-player slot. Publisher CSS
//! selectors (`include` / `exclude`) override the heuristics. Nothing here does I/O or recursion
//! over the DOM, so hostile input (100,000 nested elements, 10 MB paragraphs) cannot overflow the
//! stack.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use dom_query::{Document, Matcher, NodeId, NodeRef};
use pulldown_cmark::{Event, HeadingLevel, Options as MdOptions, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use super::block::{Block, BlockKind};

/// Deeper than this, the DOM is treated as hostile: the Readability locator (which recurses and
/// is quadratic in depth) is skipped and the whole body is walked by our iterative walker.
pub const MAX_LOCATOR_DEPTH: usize = 512;

/// Loose text (text sitting directly in a `div`/`td`, not in a `p`/`li`/heading) is only kept if it
/// has at least this many words or ends like a sentence; shorter runs are labels, kickers, dates.
const LOOSE_MIN_WORDS: usize = 8;

/// A block whose text is mostly link text (share of characters) is a link list, not prose.
const MAX_LINK_DENSITY: f64 = 0.6;

/// Publisher-supplied CSS selectors. `include` restricts extraction to the matched elements (in
/// document order; the heuristic locator is then not used); `exclude` removes matched elements
/// before anything else runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtractOptions {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Longest accepted article, in characters of extracted text (title included); longer
    /// ones are refused (HTTP 413, `article-too-long`). The default holds a very long read
    /// (about 30,000 words, over three hours of audio) and keeps one article from holding a
    /// worker for the better part of a day.
    pub max_article_chars: usize,
    /// Class that marks page content not to be read, like the `data-audioby-skip` attribute
    /// (issue 16 part 7). Empty = the attribute only.
    pub skip_class: String,
}

/// Publisher markers (issue 16 part 7): an element with this attribute is never read.
pub const SKIP_ATTR: &str = "data-audioby-skip";
/// An element with this attribute is read even where the page hides it (a spoken introduction,
/// say), at its place in the document, whether or not the article locator chose it.
pub const ONLY_ATTR: &str = "data-audioby-only";

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            max_article_chars: 200_000,
            skip_class: "audioby-skip".to_string(),
        }
    }
}

/// The extracted article. `blocks` never contains the title; `byline` is informational and is not
/// part of [`Article::spoken_lines`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub title: Option<String>,
    pub byline: Option<String>,
    pub blocks: Vec<Block>,
}

impl Article {
    /// Title first (if any), then one line per body block — what `audioby extract` prints.
    pub fn spoken_lines(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.blocks.len() + 1);
        if let Some(t) = &self.title {
            out.push(t.clone());
        }
        out.extend(self.blocks.iter().map(|b| b.text.clone()));
        out
    }
}

/// Errors of the extraction layer; `code()` is stable and user-visible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the document is empty")]
    EmptyDocument,
    #[error("no article text was found in the document")]
    NoArticle,
    #[error("invalid CSS selector {selector:?}: {reason}")]
    BadSelector { selector: String, reason: String },
}

impl ExtractError {
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::EmptyDocument => "empty-document",
            ExtractError::NoArticle => "no-article",
            ExtractError::BadSelector { .. } => "bad-selector",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/// Bytes of unknown validity (e.g. an HTTP body): decoded as UTF-8, invalid sequences replaced
/// with U+FFFD (a warning is logged), then sniffed like [`extract_auto`].
pub fn extract_bytes(bytes: &[u8], opts: &ExtractOptions) -> Result<Article, ExtractError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    if let Cow::Owned(_) = text {
        tracing::warn!("input is not valid UTF-8; invalid bytes were replaced with U+FFFD");
    }
    extract_auto(&text, opts)
}

/// Sniffs the input: HTML if it looks like markup, else Markdown if it has Markdown structure,
/// else plain text. Selectors only apply to HTML but are validated for every kind.
pub fn extract_auto(input: &str, opts: &ExtractOptions) -> Result<Article, ExtractError> {
    compile_selectors(&opts.include)?;
    compile_selectors(&opts.exclude)?;
    skip_selector(&opts.skip_class)?;
    if input.trim().is_empty() {
        return Err(ExtractError::EmptyDocument);
    }
    let article = match sniff(input) {
        InputKind::Html => return extract_html(input, opts),
        InputKind::Markdown => extract_markdown(input),
        InputKind::Text => extract_text(input),
    };
    if article.blocks.is_empty() && article.title.is_none() {
        return Err(ExtractError::NoArticle);
    }
    Ok(article)
}

/// What [`extract_auto`] decided the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Html,
    Markdown,
    Text,
}

/// Cheap format sniffing over the first 8 KiB (char-boundary safe).
pub fn sniff(input: &str) -> InputKind {
    let head = prefix_chars(input.trim_start(), 8192);
    let lower = head.to_ascii_lowercase();
    const HTML_MARKERS: [&str; 12] = [
        "<!doctype",
        "<html",
        "<head",
        "<body",
        "<p>",
        "<p ",
        "<div",
        "<article",
        "<br",
        "<meta",
        "<title",
        "<span",
    ];
    if lower.starts_with('<') || HTML_MARKERS.iter().any(|m| lower.contains(m)) {
        return InputKind::Html;
    }
    let mut signals = 0usize;
    for line in head.lines() {
        let t = line.trim_start();
        let heading = t.starts_with('#') && t.trim_start_matches('#').starts_with(' ');
        if heading || t.starts_with("```") || t.starts_with("> ") {
            signals += 2;
        } else if t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") {
            signals += 1;
        } else if !t.is_empty() && t.chars().all(|c| c == '=') && t.len() >= 3 {
            signals += 2;
        }
        if t.contains("](") || t.contains("**") {
            signals += 1;
        }
    }
    if signals >= 2 {
        InputKind::Markdown
    } else {
        InputKind::Text
    }
}

fn prefix_chars(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Plain text: paragraphs are blank-line separated (lines inside one are joined, for hard-wrapped
/// text); if there is no blank line at all, every line is a paragraph. The first line becomes the
/// title when it is short (≤ 20 words) and does not end like a sentence, and more text follows.
/// Lines starting with `- `, `* `, `• ` are list items.
pub fn extract_text(text: &str) -> Article {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A blank line *between* two non-empty lines (trailing/leading blank lines do not count).
    let has_blank = {
        let mut seen_text = false;
        let mut gap = false;
        let mut found = false;
        for l in text.lines() {
            if l.trim().is_empty() {
                gap = seen_text;
            } else {
                if gap {
                    found = true;
                    break;
                }
                seen_text = true;
            }
        }
        found
    };
    let mut chunks: Vec<String> = Vec::new();
    if has_blank {
        let mut cur = String::new();
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() {
                if !cur.is_empty() {
                    chunks.push(std::mem::take(&mut cur));
                }
            } else if list_marker(t).is_some() {
                if !cur.is_empty() {
                    chunks.push(std::mem::take(&mut cur));
                }
                chunks.push(t.to_string());
            } else {
                if !cur.is_empty() {
                    cur.push(' ');
                }
                cur.push_str(t);
            }
        }
        if !cur.is_empty() {
            chunks.push(cur);
        }
    } else {
        chunks.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }

    let mut title = None;
    if chunks.len() > 1 {
        if let Some(first) = chunks.first() {
            let words = first.split_whitespace().count();
            let last = first.chars().last().unwrap_or('.');
            if words <= 20 && !matches!(last, '.' | ',' | ';' | ':') && list_marker(first).is_none()
            {
                title = Some(collapse_ws(first));
                chunks.remove(0);
            }
        }
    }
    let mut blocks = Vec::new();
    for c in chunks {
        let (kind, body) = match list_marker(&c) {
            Some(rest) => (BlockKind::ListItem, rest),
            None => (BlockKind::Paragraph, c.as_str()),
        };
        let t = collapse_ws(body);
        if !t.is_empty() && !is_boilerplate_text(&t) {
            blocks.push(Block::new(kind, t));
        }
    }
    finish(title, None, blocks)
}

fn list_marker(line: &str) -> Option<&str> {
    for m in ["- ", "* ", "• ", "– "] {
        if let Some(rest) = line.strip_prefix(m) {
            return Some(rest);
        }
    }
    None
}

/// Markdown via pulldown-cmark: the first `#` heading is the title, other headings are headings;
/// paragraphs, list items and block quotes keep their kinds; images, code blocks, raw HTML and
/// tables are dropped (they do not read aloud).
pub fn extract_markdown(md: &str) -> Article {
    let mut title: Option<String> = None;
    let mut blocks: Vec<Block> = Vec::new();
    let mut buf = String::new();
    let mut quote_depth = 0usize;
    let mut item_depth = 0usize;
    let mut heading: Option<HeadingLevel> = None;
    let mut skip_depth = 0usize; // inside code block / image / table / html block
    let mut seen_body = false;

    let flush = |buf: &mut String,
                 blocks: &mut Vec<Block>,
                 title: &mut Option<String>,
                 heading: Option<HeadingLevel>,
                 quote_depth: usize,
                 item_depth: usize,
                 seen_body: &mut bool| {
        let t = collapse_ws(buf);
        buf.clear();
        if t.is_empty() {
            return;
        }
        let kind = match heading {
            Some(HeadingLevel::H1) if title.is_none() && !*seen_body => {
                *title = Some(t);
                return;
            }
            Some(_) => BlockKind::Heading,
            None if quote_depth > 0 => BlockKind::Quote,
            None if item_depth > 0 => BlockKind::ListItem,
            None => BlockKind::Paragraph,
        };
        *seen_body = true;
        blocks.push(Block::new(kind, t));
    };

    for ev in Parser::new_ext(
        md,
        MdOptions::ENABLE_TABLES | MdOptions::ENABLE_STRIKETHROUGH,
    ) {
        match ev {
            Event::Start(Tag::CodeBlock(_))
            | Event::Start(Tag::Image { .. })
            | Event::Start(Tag::Table(_))
            | Event::Start(Tag::HtmlBlock) => skip_depth += 1,
            Event::End(TagEnd::CodeBlock)
            | Event::End(TagEnd::Image)
            | Event::End(TagEnd::Table)
            | Event::End(TagEnd::HtmlBlock) => skip_depth = skip_depth.saturating_sub(1),
            _ if skip_depth > 0 => {}
            Event::Start(Tag::Heading { level, .. }) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                heading = Some(level);
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                heading = None;
            }
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                quote_depth += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                quote_depth = quote_depth.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                flush(
                    &mut buf,
                    &mut blocks,
                    &mut title,
                    heading,
                    quote_depth,
                    item_depth,
                    &mut seen_body,
                );
                item_depth = item_depth.saturating_sub(1);
            }
            Event::Text(t) | Event::Code(t) => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            _ => {}
        }
    }
    flush(
        &mut buf,
        &mut blocks,
        &mut title,
        heading,
        quote_depth,
        item_depth,
        &mut seen_body,
    );
    finish(title, None, blocks)
}

/// What finds the article's region on the page (our walker then reads it). The region is the
/// smallest element holding most of the page text that the locator's idea of the article
/// covers, so any extractor's plain-text output can serve as a locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// dom_smoothie, a port of Mozilla's Readability (the default; chosen by measurement on
    /// the development set, see BENCHMARKS.md).
    Readability,
    /// The article text as another extractor found it (rs-trafilatura in the evaluation).
    MainText(String),
}

/// HTML → article. See the module doc for the pipeline.
pub fn extract_html(html: &str, opts: &ExtractOptions) -> Result<Article, ExtractError> {
    extract_html_with(html, opts, &Locator::Readability)
}

/// [`extract_html`] with a chosen locator (the development-set evaluation compares them).
pub fn extract_html_with(
    html: &str,
    opts: &ExtractOptions,
    locator: &Locator,
) -> Result<Article, ExtractError> {
    let include = compile_selectors(&opts.include)?;
    let mut exclude = compile_selectors(&opts.exclude)?;
    exclude.extend(skip_selector(&opts.skip_class)?);
    if html.trim().is_empty() {
        return Err(ExtractError::EmptyDocument);
    }
    let est = estimate_depth(html);
    if est > MAX_PARSE_DEPTH {
        tracing::warn!(
            estimated_depth = est,
            "markup nested deeper than {MAX_PARSE_DEPTH}; using the streaming fallback (selectors ignored)"
        );
        let (title, blocks) = extract_flat(html);
        let article = finish(title, None, blocks);
        if article.blocks.is_empty() {
            return Err(ExtractError::NoArticle);
        }
        return Ok(article);
    }
    let doc = Document::from(html);
    let body = doc
        .select("body")
        .nodes()
        .first()
        .map(|n| n.id)
        .unwrap_or(doc.root().id);
    let body = NodeRef::new(body, &doc.tree);

    let stats = Stats::compute(&doc);
    if stats.text_chars == 0 {
        return Err(ExtractError::EmptyDocument);
    }

    for m in &exclude {
        for n in doc.select_matcher(m).nodes() {
            n.remove_from_parent();
        }
    }

    let (title, title_node) = find_title(&doc);
    let mut byline = find_byline(&doc);
    let only: Vec<NodeId> = doc
        .select(&format!("[{ONLY_ATTR}]"))
        .nodes()
        .iter()
        .map(|n| n.id)
        .collect();

    // Where to walk from.
    let roots: Vec<NodeId> = if !include.is_empty() {
        let mut ids = Vec::new();
        for m in &include {
            ids.extend(doc.select_matcher(m).nodes().iter().map(|n| n.id));
        }
        outermost_in_doc_order(&doc, ids)
    } else {
        let located = if stats.max_depth > MAX_LOCATOR_DEPTH {
            tracing::warn!(
                depth = stats.max_depth,
                "document nesting exceeds {MAX_LOCATOR_DEPTH}; skipping the readability locator"
            );
            None
        } else {
            locate_main(&doc, &body, &mut byline, locator)
        };
        let root = located.unwrap_or_else(|| fallback_root(&doc, &body));
        vec![extend_to_title(&doc, root, title_node, body.id)]
    };
    // Marked-for-audio elements outside the chosen region join it, in document order.
    let has_only = !only.is_empty();
    let roots = if only.is_empty() {
        roots
    } else {
        let mut all = roots;
        all.extend(only);
        outermost_in_doc_order(&doc, all)
    };

    // Recompute sizes after exclusion; the walker needs per-element text and link lengths.
    let sizes = Sizes::compute(&doc);
    let structural = include.is_empty() && roots.len() == 1 && !has_only;
    let walk = |by_name: bool| {
        let mut walker = Walker::new(&doc, &sizes, title_node);
        walker.by_name = by_name;
        for r in &roots {
            walker.walk(NodeRef::new(*r, &doc.tree));
        }
        prune(
            &doc,
            &sizes,
            roots.first().copied().filter(|_| structural),
            walker.blocks,
            &walker.meta,
            title_node,
        )
    };
    let mut blocks = walk(true);
    if blocks.is_empty() && include.is_empty() {
        // A class/id rule that drops every paragraph is wrong for this page (Drupal names each
        // field of a body `field--label-hidden`; a theme may wrap the story in a "promo" or
        // "sidebar" it restyles): walk again with names off, keeping the tag, role and
        // visibility rules, and read that if it is prose.
        let again = walk(false);
        let prose = again
            .iter()
            .filter(|b| ends_like_sentence(&b.text))
            .map(|b| b.text.split_whitespace().count())
            .sum::<usize>();
        if prose >= PROSE_MIN_WORDS {
            tracing::warn!(
                words = prose,
                "the page's class and id names hide every paragraph; reading it without them"
            );
            blocks = again;
        }
    }
    if blocks.is_empty() && include.is_empty() {
        // Issue 17: a page whose article cannot be found still gets read, best effort, from
        // its largest block of prose; only a page without any prose is refused.
        if let Some(text) = largest_prose_block(&doc, &body) {
            tracing::warn!(
                words = text.split_whitespace().count(),
                "no article found on the page; reading its largest block of prose instead"
            );
            blocks.push(Block::new(BlockKind::Paragraph, text));
        }
    }
    if include.is_empty() && !has_only {
        if let Some(full) = json_ld_body(&doc, &blocks) {
            tracing::debug!(
                words = full
                    .iter()
                    .map(|b| b.text.split_whitespace().count())
                    .sum::<usize>(),
                "the page shows a teaser; reading the JSON-LD articleBody"
            );
            blocks = full;
        }
    }
    let article = finish(title, byline, blocks);
    if article.blocks.is_empty() {
        return Err(ExtractError::NoArticle);
    }
    Ok(article)
}

/// The JSON-LD `articleBody` is read instead of the page when it holds at least this many times
/// the words of what the page shows (a teaser before a gate, a body hydrated by script).
const LD_BODY_FACTOR: usize = 2;
/// ... and at least this many words.
const LD_BODY_MIN_WORDS: usize = 80;
/// ... and this share of the shown words are words of it (it is the same article).
const LD_BODY_OVERLAP: f64 = 0.6;

/// The article's paragraphs from a JSON-LD `articleBody` (schema.org `Article` and its kinds,
/// in `@graph` or lists too), when the page's reading is a fraction of it: a paywalled or
/// script-rendered page whose DOM shows only a teaser. Its lines are paragraphs.
fn json_ld_body(doc: &Document, shown: &[Block]) -> Option<Vec<Block>> {
    let mut best: Option<String> = None;
    for n in doc.select("script[type='application/ld+json']").nodes() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&n.text()) else {
            continue;
        };
        let mut stack = vec![&v];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::String(b)) = o.get("articleBody") {
                        if best.as_ref().map(|x| x.len() < b.len()).unwrap_or(true) {
                            best = Some(b.clone());
                        }
                    }
                    stack.extend(o.get("@graph"));
                }
                _ => {}
            }
        }
    }
    let body = best?;
    let ld_words: HashSet<String> = key(&body).split(' ').map(str::to_string).collect();
    let ld_count = body.split_whitespace().count();
    let shown_key: Vec<String> = shown
        .iter()
        .map(|b| key(&b.text))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if ld_count < LD_BODY_MIN_WORDS || ld_count < shown_key.len() * LD_BODY_FACTOR {
        return None;
    }
    let common = shown_key.iter().filter(|w| ld_words.contains(*w)).count();
    if shown_key.is_empty() || (common as f64) < shown_key.len() as f64 * LD_BODY_OVERLAP {
        return None;
    }
    let blocks: Vec<Block> = body
        .lines()
        .map(collapse_ws)
        .filter(|l| !l.is_empty())
        .map(|l| Block::new(BlockKind::Paragraph, l))
        .collect();
    (!blocks.is_empty()).then_some(blocks)
}

/// Share of the article's words the body container holds (see [`prune`]).
const BODY_SHARE: f64 = 0.6;
/// Blocks before the body container with fewer words than this are furniture (bylines,
/// verdict boxes, disclosures); a lead paragraph set apart from the body is longer.
const HEAD_MAX_WORDS: usize = 20;

/// Rules that need the whole reading and the markup it came from:
/// - weak blocks (captions) are kept only when they outweigh the rest, as on a gallery page
///   whose captions are the story;
/// - a heading whose section kept nothing else (its list of links was dropped) goes, unless
///   the section holds the title;
/// - with `root` (one located region, no publisher selectors): the body container is the
///   deepest element holding three fifths of the words; short blocks before it (but the
///   first, the standfirst's place) and all blocks after it go (verdict boxes, disclosures,
///   support asks, guest books, "about" boxes, meters, comments), unless they sit in an
///   element of the body container's own tag and class (a body split in two) or loose beside
///   it.
fn prune(
    doc: &Document,
    sizes: &Sizes,
    root: Option<NodeId>,
    blocks: Vec<Block>,
    meta: &[BlockMeta],
    title: Option<NodeId>,
) -> Vec<Block> {
    let words: Vec<usize> = blocks
        .iter()
        .map(|b| b.text.split_whitespace().count())
        .collect();
    let (mut weak, mut strong) = (0, 0);
    for (m, w) in meta.iter().zip(&words) {
        if m.weak {
            weak += w;
        } else {
            strong += w;
        }
    }
    let gallery = weak > strong;
    let mut keep: Vec<bool> = meta.iter().map(|m| gallery || !m.weak).collect();
    let tree = &doc.tree;
    let inside = |node: Option<NodeId>, anc: NodeId| -> bool {
        let mut cur = node.map(|n| NodeRef::new(n, tree));
        while let Some(c) = cur {
            if c.id == anc {
                return true;
            }
            cur = c.parent();
        }
        false
    };

    // Orphan headings.
    for i in 0..blocks.len() {
        let (Some(node), true) = (meta[i].node, meta[i].level > 0 && keep[i]) else {
            continue;
        };
        let own = sizes.text(node);
        let mut section = NodeRef::new(node, tree);
        // (An accordion's question, a heading in a `summary`, heads its `details`.)
        while section.id != root.unwrap_or(section.id)
            && (sizes.text(section.id) <= own || tag_name(&section) == "summary")
        {
            match section.parent() {
                Some(p) if p.is_element() => section = p,
                _ => break,
            }
        }
        // A heading beside the title (a standfirst set as an `h2`) is no section heading.
        if section.id == node || sizes.text(section.id) <= own || inside(title, section.id) {
            continue;
        }
        let alone = (0..blocks.len())
            .filter(|&j| j != i && keep[j])
            .all(|j| !inside(meta[j].node, section.id));
        if alone {
            keep[i] = false;
        }
    }

    // A reference section ("Sources", "Journal Reference:", "See also"): its heading and
    // everything under it up to the next heading of its level or above.
    let mut i = 0;
    while i < blocks.len() {
        let level = meta[i].level;
        if level == 0 || !keep[i] || !is_apparatus_heading(&blocks[i].text) {
            i += 1;
            continue;
        }
        keep[i] = false;
        i += 1;
        while i < blocks.len() && (meta[i].level == 0 || meta[i].level > level) {
            keep[i] = false;
            i += 1;
        }
    }

    // Head and tail around the body container.
    if let (Some(root), false) = (root, gallery) {
        // The first block after the title, unless a byline, is where a standfirst sits; the
        // items of a list that holds it (a live blog's key points) are the standfirst too.
        let lead = (0..blocks.len())
            .find(|&i| keep[i])
            .filter(|&i| strip_by_prefix(&blocks[i].text).is_none());
        let parent = |i: usize| {
            meta[i]
                .node
                .and_then(|n| NodeRef::new(n, tree).parent().map(|p| p.id))
        };
        let lead_len = lead
            .map(|l| {
                let list = blocks[l].kind == BlockKind::ListItem;
                1 + (l + 1..blocks.len())
                    .take_while(|&j| list && keep[j] && parent(j) == parent(l))
                    .count()
            })
            .unwrap_or(0);
        let in_lead = |i: usize| lead.is_some_and(|l| i >= l && i < l + lead_len);
        let mut acc: HashMap<NodeId, usize> = HashMap::new();
        let mut total = 0;
        // The standfirst stands outside the body container by design: not counted.
        for i in (0..blocks.len()).filter(|&i| keep[i] && !in_lead(i)) {
            total += words[i];
            let mut cur = meta[i].node.map(|n| NodeRef::new(n, tree));
            while let Some(c) = cur {
                *acc.entry(c.id).or_insert(0) += words[i];
                if c.id == root {
                    break;
                }
                cur = c.parent();
            }
        }
        let need = (total as f64 * BODY_SHARE).ceil() as usize;
        let mut body = root;
        while let Some(c) = children(&NodeRef::new(body, tree))
            .into_iter()
            .find(|c| acc.get(c).copied().unwrap_or(0) >= need.max(1))
        {
            body = c;
        }
        if body != root {
            let b = NodeRef::new(body, tree);
            let (tag, class, id) = (
                tag_name(&b),
                b.attr("class").map(|c| c.to_string()),
                b.attr("id").map(|c| c.to_string()),
            );
            // A continuation of the body: an element of the body container's own markup, or
            // paragraphs and lists sitting loose beside it (not wrapped in a box of their own).
            let continues = |node: Option<NodeId>| -> bool {
                let mut cur = node.map(|n| NodeRef::new(n, tree));
                while let Some(c) = cur.filter(|c| TEXT_STRUCTURE.contains(&tag_name(c).as_str())) {
                    cur = c.parent();
                }
                if let Some(c) = &cur {
                    if c.id == root
                        || NodeRef::new(body, tree)
                            .ancestors_it(None)
                            .any(|a| a.id == c.id)
                    {
                        return true;
                    }
                }
                let mut cur = node.map(|n| NodeRef::new(n, tree));
                while let Some(c) = cur {
                    if c.id == root {
                        return false;
                    }
                    // (A container without a class is matched by its id too: a classless
                    // `div id="story_source"` after a classless `div id="text"` is a box.)
                    if c.is_element()
                        && tag_name(&c) == tag
                        && c.attr("class").map(|c| c.to_string()) == class
                        && (class.is_some() || c.attr("id").map(|c| c.to_string()) == id)
                    {
                        return true;
                    }
                    cur = c.parent();
                }
                false
            };
            let ins: Vec<usize> = (0..blocks.len())
                .filter(|&i| keep[i] && inside(meta[i].node, body))
                .collect();
            if let (Some(&first), Some(&last)) = (ins.first(), ins.last()) {
                for i in 0..blocks.len() {
                    let head = i < first && words[i] < HEAD_MAX_WORDS && !in_lead(i);
                    let outside = head || i > last;
                    if keep[i] && outside && !continues(meta[i].node) {
                        keep[i] = false;
                    }
                }
            }
        }
    }
    blocks
        .into_iter()
        .zip(keep)
        .filter_map(|(b, k)| k.then_some(b))
        .collect()
}

/// Headings of a section of sources and references, not of the story (compared as [`key`]s).
const APPARATUS_HEADINGS: [&str; 14] = [
    "sources",
    "source",
    "references",
    "reference",
    "journal reference",
    "journal references",
    "story source",
    "cite this page",
    "cite this article",
    "citations",
    "bibliography",
    "external links",
    "further reading",
    "see also",
];

/// A heading that opens a section of sources and references ("Sources", "Journal Reference:").
fn is_apparatus_heading(text: &str) -> bool {
    APPARATUS_HEADINGS.contains(&key(text).as_str())
}

/// Labels of a metadata list's terms (`<dt>Date:</dt><dd>December 1, 2026</dd>`): the term and
/// its value are page furniture (compared as [`key`]s).
const META_LABELS: [&str; 16] = [
    "date",
    "published",
    "updated",
    "posted",
    "source",
    "author",
    "authors",
    "by",
    "written by",
    "category",
    "section",
    "tags",
    "topics",
    "filed under",
    "hits",
    "views",
];

/// Most words a definition term has when it is a field label ("Summary:").
const LABEL_MAX_WORDS: usize = 3;

/// A definition list's term that is a field label: short and ending in a colon ("Date:",
/// "Summary:").
fn is_field_label(n: &NodeRef) -> bool {
    let t = collapse_ws(&n.text());
    t.ends_with(':') && t.split_whitespace().count() <= LABEL_MAX_WORDS
}

/// A field label of metadata ([`META_LABELS`]): "Date:", "Source:".
fn is_meta_label(n: &NodeRef) -> bool {
    is_field_label(n) && META_LABELS.contains(&key(&n.text()).as_str())
}

/// A term of a metadata list (a `dl` with a [`META_LABELS`] term, as "Date:" / "Source:" /
/// "Summary:"): its label is not read, nor its value when the label is a metadata one. The
/// labels of other lists ("Who:", "What:" in an explainer) are read.
fn is_meta_term(n: &NodeRef) -> bool {
    is_field_label(n)
        && n.parent().is_some_and(|dl| {
            children(&dl).into_iter().any(|c| {
                let c = NodeRef::new(c, n.tree);
                c.is_element() && tag_name(&c) == "dt" && is_meta_label(&c)
            })
        })
}

/// A definition list's value whose term is a metadata label ([`META_LABELS`]).
fn is_meta_value(n: &NodeRef) -> bool {
    let mut prev = n.prev_sibling();
    while let Some(p) = prev {
        if p.is_element() {
            return tag_name(&p) == "dt" && is_meta_label(&p);
        }
        prev = p.prev_sibling();
    }
    false
}

/// Elements that structure text inside a container (a paragraph, a list, a table).
const TEXT_STRUCTURE: [&str; 25] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
    "b",
    "strong",
    "em",
    "i",
    "span",
];

/// Fewest words a best-effort block needs to count as prose rather than a label or a link.
const PROSE_MIN_WORDS: usize = 12;

/// The element whose own text (its text children, not its descendants') is the longest run of
/// prose outside boilerplate containers (nav, footer, cookie banner...), if any.
fn largest_prose_block(doc: &Document, body: &NodeRef) -> Option<String> {
    let mut best: Option<String> = None;
    let mut stack = vec![body.id];
    while let Some(id) = stack.pop() {
        let n = NodeRef::new(id, &doc.tree);
        let mut own = String::new();
        for c in children(&n) {
            let c = NodeRef::new(c, &doc.tree);
            if c.is_text() {
                own.push_str(&c.text());
            } else if c.is_element() {
                let name = tag_name(&c);
                if INLINE_TEXT.contains(&name.as_str()) {
                    own.push_str(&c.text());
                } else if !is_boilerplate_element(&c, &name) {
                    stack.push(c.id);
                }
            }
        }
        let text = collapse_ws(&own);
        if text.split_whitespace().count() >= PROSE_MIN_WORDS
            && ends_like_sentence(&text)
            && !is_boilerplate_text(&text)
            && best.as_ref().map(|b| text.len() > b.len()).unwrap_or(true)
        {
            best = Some(text);
        }
    }
    best
}

/// Inline elements whose text belongs to the surrounding run of prose.
const INLINE_TEXT: [&str; 10] = [
    "a", "b", "i", "em", "strong", "span", "font", "q", "abbr", "small",
];

// ---------------------------------------------------------------------------------------------
// Shared post-processing
// ---------------------------------------------------------------------------------------------

/// Byline lines at the top move to `byline`; blocks repeating the title and consecutive
/// duplicates are dropped.
fn finish(title: Option<String>, mut byline: Option<String>, blocks: Vec<Block>) -> Article {
    let title_key = title.as_deref().map(key);
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    for (i, b) in blocks.into_iter().enumerate() {
        if i < 4 && b.kind != BlockKind::ListItem {
            if let Some(name) = byline_text(&b.text) {
                if byline.is_none() {
                    byline = Some(name);
                }
                continue;
            }
            if let Some(tk) = &title_key {
                let bk = key(&b.text);
                // A repeat of the title covers most of it; a newsletter's section heading that
                // is a phrase of its subject line ("The ferry fare fight") is read.
                if !bk.is_empty()
                    && (&bk == tk
                        || (bk.split(' ').count() >= 3
                            && tk.contains(bk.as_str())
                            && 2 * bk.len() >= tk.len()))
                {
                    continue;
                }
                // The title run together with its byline and date (a table layout's loose
                // text): "Trustees approve new truck By Ed Novak April 3, 2026".
                if let Some(rest) = bk.strip_prefix(tk.as_str()) {
                    if !tk.is_empty() && rest.starts_with(' ') && rest.split(' ').count() <= 13 {
                        continue;
                    }
                }
            }
        }
        if out.last().map(|l| l.text == b.text).unwrap_or(false) {
            continue;
        }
        out.push(b);
    }
    Article {
        title,
        byline,
        blocks: out,
    }
}

/// "By Jane Doe" (short, no sentence end) → "Jane Doe".
fn byline_text(text: &str) -> Option<String> {
    let words = text.split_whitespace().count();
    if words > 10 || text.ends_with('.') {
        return None;
    }
    strip_by_prefix(text).map(String::from)
}

fn strip_by_prefix(text: &str) -> Option<&str> {
    let lower = text.to_lowercase();
    for p in [
        "by ",
        "words by ",
        "written by ",
        "words: ",
        "story by ",
        "reporting by ",
    ] {
        if lower.starts_with(p) {
            // `p` is ASCII and `lower` agrees with `text` on the ASCII prefix.
            let rest = text.get(p.len()..)?.trim();
            let first_upper = rest.chars().next().map(char::is_uppercase).unwrap_or(false);
            return if first_upper { Some(rest) } else { None };
        }
    }
    None
}

/// Comparison key: lowercase alphanumeric words joined by single spaces.
fn key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Collapse all Unicode whitespace (incl. NBSP) runs to one ASCII space and trim.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
            pending = !out.is_empty();
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
    }
    out
}

/// Short texts that are widget labels, not article prose (audio player, ad labels, CTAs).
fn is_boilerplate_text(text: &str) -> bool {
    let words = text.split_whitespace().count();
    if words > 14 {
        return false;
    }
    let k = key(text);
    const EXACT: [&str; 14] = [
        "advertisement",
        "skip advertisement",
        "sponsored",
        "ad",
        "share",
        "share this",
        "comments",
        "listen",
        "play",
        "subscribe",
        "sign up",
        "related",
        "read more",
        "continue reading below",
    ];
    if EXACT.contains(&k.as_str()) {
        return true;
    }
    const PREFIX: [&str; 16] = [
        "audio by ",
        "listen to this article",
        "read more ",
        "read also ",
        "also read ",
        "related ",
        "see also ",
        "recommended ",
        "sign up for ",
        "subscribe to ",
        "share this ",
        "share on ",
        "follow us ",
        "click here ",
        "advertisement ",
        "more from ",
    ];
    let k2 = format!("{k} ");
    PREFIX.iter().any(|p| k2.starts_with(p))
}

// ---------------------------------------------------------------------------------------------
// HTML helpers
// ---------------------------------------------------------------------------------------------

fn compile_selectors(sels: &[String]) -> Result<Vec<Matcher>, ExtractError> {
    sels.iter()
        .map(|s| {
            if s.trim().is_empty() {
                return Err(ExtractError::BadSelector {
                    selector: s.clone(),
                    reason: "empty selector".into(),
                });
            }
            Matcher::new(s).map_err(|e| ExtractError::BadSelector {
                selector: s.clone(),
                reason: format!("{e:?}"),
            })
        })
        .collect()
}

/// The matcher for `[data-audioby-skip]` and the configured skip class. A class is a bare
/// name (letters, digits, `-`, `_`), so a configuration cannot smuggle in a wider selector.
fn skip_selector(class: &str) -> Result<Vec<Matcher>, ExtractError> {
    let class = class.trim();
    let bare = class
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if !bare || class.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ExtractError::BadSelector {
            selector: class.to_string(),
            reason: "skip_class must be a bare class name (letters, digits, '-', '_')".into(),
        });
    }
    let sel = if class.is_empty() {
        format!("[{SKIP_ATTR}]")
    } else {
        format!("[{SKIP_ATTR}], .{class}")
    };
    compile_selectors(&[sel])
}

fn tag_name(n: &NodeRef) -> String {
    n.node_name()
        .map(|t| t.to_ascii_lowercase())
        .unwrap_or_default()
}

fn children(n: &NodeRef) -> Vec<NodeId> {
    let mut v = Vec::new();
    let mut c = n.first_child();
    while let Some(ch) = c {
        v.push(ch.id);
        c = ch.next_sibling();
    }
    v
}

/// Document-wide facts gathered in one iterative pass.
struct Stats {
    max_depth: usize,
    text_chars: usize,
}

impl Stats {
    fn compute(doc: &Document) -> Stats {
        let mut max_depth = 0;
        let mut text_chars = 0;
        let mut stack = vec![(doc.root().id, 0usize)];
        while let Some((id, d)) = stack.pop() {
            let n = NodeRef::new(id, &doc.tree);
            max_depth = max_depth.max(d);
            if n.is_text() {
                text_chars += n.text().chars().filter(|c| !c.is_whitespace()).count();
            } else if n.is_element() || n.is_document() {
                let name = tag_name(&n);
                if matches!(name.as_str(), "script" | "style" | "noscript" | "template") {
                    continue;
                }
                for c in children(&n) {
                    stack.push((c, d + 1));
                }
            }
        }
        Stats {
            max_depth,
            text_chars,
        }
    }
}

/// Per-element visible text length and link-text length (non-whitespace chars), bottom-up.
struct Sizes {
    map: HashMap<NodeId, (usize, usize)>,
}

impl Sizes {
    fn compute(doc: &Document) -> Sizes {
        let mut order = Vec::new();
        let mut stack = vec![doc.root().id];
        while let Some(id) = stack.pop() {
            order.push(id);
            let n = NodeRef::new(id, &doc.tree);
            if n.is_element() || n.is_document() {
                if matches!(
                    tag_name(&n).as_str(),
                    "script" | "style" | "noscript" | "template"
                ) {
                    continue;
                }
                stack.extend(children(&n));
            }
        }
        let mut map: HashMap<NodeId, (usize, usize)> = HashMap::with_capacity(order.len());
        for id in order.iter().rev() {
            let n = NodeRef::new(*id, &doc.tree);
            let mut v = map.get(id).copied().unwrap_or((0, 0));
            if n.is_text() {
                let c = n.text().chars().filter(|c| !c.is_whitespace()).count();
                v = (c, 0);
            } else if n.is_element() && tag_name(&n) == "a" {
                v.1 = v.0;
            }
            map.insert(*id, v);
            if let Some(p) = n.parent() {
                let e = map.entry(p.id).or_insert((0, 0));
                e.0 += v.0;
                e.1 += v.1;
            }
        }
        Sizes { map }
    }
    fn text(&self, id: NodeId) -> usize {
        self.map.get(&id).map(|v| v.0).unwrap_or(0)
    }
}

/// Visible text of an element without `time`, `script`, `style` descendants, iteratively.
fn element_text(n: &NodeRef) -> String {
    let mut out = String::new();
    let mut stack = vec![n.id];
    while let Some(id) = stack.pop() {
        let c = NodeRef::new(id, n.tree);
        if c.is_text() {
            out.push_str(&c.text());
        } else if c.is_element() {
            let name = tag_name(&c);
            if matches!(
                name.as_str(),
                "time" | "script" | "style" | "noscript" | "template"
            ) {
                continue;
            }
            if name == "br" {
                out.push(' ');
            }
            let mut ch = children(&c);
            ch.reverse();
            stack.extend(ch);
        }
    }
    collapse_ws(&out)
}

fn first_match<'a>(doc: &'a Document, sel: &str) -> Option<NodeRef<'a>> {
    let m = Matcher::new(sel).ok()?;
    doc.select_matcher(&m).nodes().first().cloned()
}

fn meta_content(doc: &Document, sel: &str) -> Option<String> {
    let n = first_match(doc, sel)?;
    let c = collapse_ws(&n.attr("content")?);
    if c.is_empty() {
        None
    } else {
        Some(c)
    }
}

/// Title: an `h1` agreeing with the page's meta title, else the first `h1` inside
/// `article`/`main`, else `og:title`, else a multi-word `h1`, else the `<title>` with the site
/// name split off. Returns the `h1` node when the title came from one (the walker skips it).
fn find_title(doc: &Document) -> (Option<String>, Option<NodeId>) {
    let og = meta_content(doc, r#"meta[property="og:title"]"#)
        .or_else(|| meta_content(doc, r#"meta[name="twitter:title"]"#));
    let page_title = first_match(doc, "title")
        .map(|t| element_text(&t))
        .filter(|t| !t.is_empty());
    let og_key = og.as_deref().map(key);
    // The page title's longest segment ("Headline | Site" → "Headline"); a site-name `h1`
    // is a segment too, but not the longest, and a "Blog name: Post" title's `h1` (the blog
    // name) covers less than half of it.
    let pt_key = page_title.as_deref().map(|t| key(&clean_page_title(t)));
    let agrees = |t: &str| -> bool {
        let k = key(t);
        if k.is_empty() || k.split(' ').count() < 2 {
            return false;
        }
        og_key.as_deref().map(|m| m.contains(&k)).unwrap_or(false)
            || pt_key
                .as_deref()
                .map(|m| m.contains(&k) && 2 * k.len() >= m.len())
                .unwrap_or(false)
    };

    let h1s: Vec<(NodeId, String)> = Matcher::new("h1")
        .map(|m| {
            doc.select_matcher(&m)
                .nodes()
                .iter()
                .map(|n| (n.id, element_text(n)))
                .filter(|(_, t)| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();

    for (id, t) in &h1s {
        if agrees(t) {
            return (Some(t.clone()), Some(*id));
        }
    }
    // Blog engines put the site name in the `h1` and the post's title in an `h2`/`h3`.
    if let Ok(m) = Matcher::new(
        r#"[itemprop="headline"], [class*="entry-title"], [class*="post-title"], [class*="headline"]"#,
    ) {
        for n in doc.select_matcher(&m).nodes() {
            let t = element_text(n);
            if agrees(&t) {
                return (Some(t), Some(n.id));
            }
        }
    }
    if let Ok(m) = Matcher::new("article h1, main h1, [role=main] h1") {
        if let Some(n) = doc.select_matcher(&m).nodes().first() {
            let t = element_text(n);
            if !t.is_empty() {
                return (Some(t), Some(n.id));
            }
        }
    }
    if let Some(og) = og {
        return (Some(og), None);
    }
    if let Some((id, t)) = h1s.iter().find(|(_, t)| t.split_whitespace().count() >= 3) {
        return (Some(t.clone()), Some(*id));
    }
    if let Some(pt) = page_title {
        return (Some(clean_page_title(&pt)), None);
    }
    (None, None)
}

/// "Site :: Section :: Headline" / "Headline | Site" → the longest segment.
fn clean_page_title(t: &str) -> String {
    let mut parts: Vec<&str> = vec![t];
    for sep in [" | ", " :: ", " - ", " – ", " — ", " » ", " · "] {
        parts = parts.iter().flat_map(|p| p.split(sep)).collect();
    }
    parts
        .into_iter()
        .map(str::trim)
        .max_by_key(|p| p.chars().count())
        .unwrap_or(t)
        .to_string()
}

/// Author names from the usual byline markup; `time` text is ignored.
fn find_byline(doc: &Document) -> Option<String> {
    let clean = |t: String| -> Option<String> {
        let t = collapse_ws(&t);
        let t = strip_by_prefix(&t).map(String::from).unwrap_or(t);
        let n = t.chars().count();
        if (2..=100).contains(&n) {
            Some(t)
        } else {
            None
        }
    };
    const BYLINE_SEL: &str = r#"[class*="byline"], [data-testid*="byline"], [id*="byline"]"#;
    if let Some(b) = first_match(doc, BYLINE_SEL) {
        if let Ok(m) = Matcher::new(r#"[class*="author"], [rel="author"], [itemprop="author"]"#) {
            let names: Vec<String> = b
                .descendants_it()
                .filter(|d| d.is_element() && d.is_match(&m))
                .map(|d| element_text(&d))
                .filter(|t| !t.is_empty())
                .collect();
            let mut uniq: Vec<String> = Vec::new();
            for n in names {
                let n = strip_by_prefix(&n).map(String::from).unwrap_or(n);
                if !uniq
                    .iter()
                    .any(|u| u.contains(&n) || n.contains(u.as_str()))
                {
                    uniq.push(n);
                }
            }
            if !uniq.is_empty() {
                return clean(uniq.join(" and "));
            }
        }
        if let Some(t) = clean(element_text(&b)) {
            return Some(t);
        }
    }
    const AUTHOR_SEL: &str = r#"[rel="author"], [itemprop="author"], address, [class*="author"]"#;
    if let Some(a) = first_match(doc, AUTHOR_SEL) {
        if let Some(t) = clean(element_text(&a)) {
            return Some(t);
        }
    }
    meta_content(doc, r#"meta[name="author"]"#)
}

/// Keep only nodes not inside another listed node, in document order.
fn outermost_in_doc_order(doc: &Document, ids: Vec<NodeId>) -> Vec<NodeId> {
    let set: HashSet<NodeId> = ids.iter().copied().collect();
    let mut out = Vec::new();
    let mut stack = vec![doc.root().id];
    while let Some(id) = stack.pop() {
        if set.contains(&id) {
            out.push(id);
            continue;
        }
        let n = NodeRef::new(id, &doc.tree);
        let mut ch = children(&n);
        ch.reverse();
        stack.extend(ch);
    }
    out
}

/// Ask dom_smoothie (Readability) for the article text, then find the deepest element of *our*
/// DOM that holds ≥ 80 % of the text it chose (matched by word 4-gram shingles on text nodes).
fn locate_main(
    doc: &Document,
    body: &NodeRef,
    byline: &mut Option<String>,
    locator: &Locator,
) -> Option<NodeId> {
    match locator {
        Locator::Readability => {
            let text = readability_text(&doc.html(), byline)?;
            locate_text(doc, body, &text)
        }
        Locator::MainText(text) => locate_text(doc, body, text),
    }
}

/// The main text according to dom_smoothie (a Readability port); fills `byline` if unset.
fn readability_text(html: &str, byline: &mut Option<String>) -> Option<String> {
    let cfg = dom_smoothie::Config {
        max_elements_to_parse: 0,
        ..Default::default()
    };
    let mut r = dom_smoothie::Readability::new(html, None, Some(cfg)).ok()?;
    let art = r.parse().ok()?;
    if byline.is_none() {
        *byline = art
            .byline
            .clone()
            .map(|b| collapse_ws(&b))
            .filter(|b| !b.is_empty() && b.len() <= 100);
    }
    Some(art.text_content.to_string())
}

/// The smallest element holding four fifths of the page text that `text` (a locator's idea
/// of the article) covers, matched by 4-word shingles.
fn locate_text(doc: &Document, body: &NodeRef, text: &str) -> Option<NodeId> {
    let shingles = shingle_set(text);
    if shingles.is_empty() {
        return None;
    }
    let mut acc: HashMap<NodeId, usize> = HashMap::new();
    let mut total = 0usize;
    let mut stack = vec![body.id];
    while let Some(id) = stack.pop() {
        let n = NodeRef::new(id, &doc.tree);
        if n.is_text() {
            let t = n.text();
            let words: Vec<String> = t.split_whitespace().map(|w| w.to_lowercase()).collect();
            if words.len() < 4 {
                continue;
            }
            let grams = words.windows(4).count();
            let hit = words
                .windows(4)
                .filter(|w| shingles.contains(&hash4(w)))
                .count();
            if hit * 2 >= grams {
                let w = t.len();
                total += w;
                let mut p = n.parent();
                while let Some(pn) = p {
                    *acc.entry(pn.id).or_insert(0) += w;
                    if pn.id == body.id {
                        break;
                    }
                    p = pn.parent();
                }
            }
        } else if n.is_element() {
            if matches!(
                tag_name(&n).as_str(),
                "script" | "style" | "noscript" | "template"
            ) {
                continue;
            }
            stack.extend(children(&n));
        }
    }
    if total == 0 {
        return None;
    }
    let need = total * 4 / 5;
    let mut cur = body.id;
    loop {
        let n = NodeRef::new(cur, &doc.tree);
        let next = children(&n)
            .into_iter()
            .find(|c| acc.get(c).copied().unwrap_or(0) >= need.max(1));
        match next {
            Some(c) => cur = c,
            None => break,
        }
    }
    // Readability sometimes settles on a cookie banner or comment thread when the page has no
    // real article; never trust a region our own rules call boilerplate.
    let mut n = Some(NodeRef::new(cur, &doc.tree));
    while let Some(x) = n {
        if x.id == body.id {
            break;
        }
        if x.is_element() && is_boilerplate_element(&x, &tag_name(&x)) {
            return None;
        }
        n = x.parent();
    }
    Some(cur)
}

fn hash4(w: &[String]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    w.hash(&mut h);
    h.finish()
}

fn shingle_set(text: &str) -> HashSet<u64> {
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    words.windows(4).map(hash4).collect()
}

/// Without a locator: the `article`/`main` element with the most text, else `body`.
fn fallback_root(doc: &Document, body: &NodeRef) -> NodeId {
    let sizes = Sizes::compute(doc);
    let mut best: Option<(usize, NodeId)> = None;
    if let Ok(m) = Matcher::new("article, main, [role=main]") {
        for n in doc.select_matcher(&m).nodes() {
            let s = sizes.text(n.id);
            if best.map(|(b, _)| s > b).unwrap_or(true) {
                best = Some((s, n.id));
            }
        }
    }
    match best {
        Some((s, id)) if s * 2 >= sizes.text(body.id) => id,
        _ => body.id,
    }
}

/// If the title `h1` sits just outside the located body (standfirst and body share an `article`
/// with the headline), widen the root to their common ancestor — at most 3 levels up, never to
/// `body`. The walker then ignores everything before the `h1`.
fn extend_to_title(doc: &Document, root: NodeId, title: Option<NodeId>, body: NodeId) -> NodeId {
    let Some(t) = title else { return root };
    let t_anc: HashSet<NodeId> = NodeRef::new(t, &doc.tree)
        .ancestors_it(None)
        .map(|a| a.id)
        .collect();
    if t_anc.contains(&root) {
        return root;
    }
    let mut cur = NodeRef::new(root, &doc.tree);
    for _ in 0..3 {
        let Some(p) = cur.parent() else { return root };
        if p.id == body || !p.is_element() {
            return root;
        }
        if t_anc.contains(&p.id) {
            return p.id;
        }
        cur = p;
    }
    root
}

// ---------------------------------------------------------------------------------------------
// The block walker
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Params {
    kind: BlockKind,
    /// Explicit text block (`p`, `li`, heading, quote): kept regardless of length.
    strict: bool,
    in_quote: bool,
    /// Inside a data-table row: its cells are read as one line.
    in_row: bool,
    /// Inside a caption: read only when the page has little other prose (a gallery, whose
    /// captions are the story), see [`prune`].
    weak: bool,
    /// The element whose text the next block comes from (for [`prune`]'s structure rules).
    node: Option<NodeId>,
    /// Heading level (1-6), 0 for other blocks.
    level: u8,
}

/// Where a block came from, beside it in [`Walker::blocks`]: the element, whether it is weak
/// (a caption) and the heading level.
#[derive(Clone, Copy, Debug)]
struct BlockMeta {
    node: Option<NodeId>,
    weak: bool,
    level: u8,
}

impl Params {
    fn top(node: Option<NodeId>) -> Params {
        Params {
            kind: BlockKind::Paragraph,
            strict: false,
            in_quote: false,
            in_row: false,
            weak: false,
            node,
            level: 0,
        }
    }
}

enum Ev<'a> {
    Enter(NodeRef<'a>),
    ExitBlock(Params),
    ExitLink,
}

struct Walker<'a> {
    tree: &'a dom_query::Tree,
    sizes: &'a Sizes,
    title_node: Option<NodeId>,
    title_ancestors: HashSet<NodeId>,
    /// Drop blocks until the title `h1` has been passed (only when it lies inside the root).
    gate_open: bool,
    root_text: usize,
    blocks: Vec<Block>,
    meta: Vec<BlockMeta>,
    buf: String,
    buf_link: usize,
    in_link: usize,
    last_br: bool,
    params: Params,
    /// Whether class/id names count ([`boilerplate_attrs`]'s `by_name`); off only for the
    /// second walk of a page whose first walk read nothing.
    by_name: bool,
}

const HARD_SKIP: [&str; 30] = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "button",
    "input",
    "select",
    "textarea",
    "option",
    "label",
    "figure",
    "figcaption",
    "picture",
    "img",
    "video",
    "audio",
    "source",
    "track",
    "map",
    "pre",
    "head",
    "title",
    "meta",
    "link",
    "dialog",
];
const SOFT_SKIP: [&str; 5] = ["nav", "footer", "aside", "form", "menu"];
/// AMP elements that hold the page's text (a web story's pages and layers, an accordion's
/// sections, fitted text); other `amp-` elements are media, ads and widgets.
const AMP_TEXT: [&str; 5] = [
    "amp-story",
    "amp-story-page",
    "amp-story-grid-layer",
    "amp-accordion",
    "amp-fit-text",
];

/// A web story's call-to-action page (it carries an outlink or a CTA layer: "Sign up").
fn is_story_cta(n: &NodeRef) -> bool {
    children(n).into_iter().any(|c| {
        let c = NodeRef::new(c, n.tree);
        c.is_element()
            && matches!(
                tag_name(&c).as_str(),
                "amp-story-page-outlink" | "amp-story-cta-layer"
            )
    })
}

/// A note marker: a superscript holding a link to a note on the same page ("<sup><a
/// href="#fn1">1</a></sup>"), or such a link alone whose text is a number ("[2]"). Never spoken.
fn is_note_marker(n: &NodeRef, name: &str) -> bool {
    let numeric = |t: &str| {
        let t = t
            .trim()
            .trim_matches(|c| matches!(c, '[' | ']' | '(' | ')'));
        !t.is_empty() && t.len() <= 4 && t.chars().all(|c| c.is_ascii_digit() || c == '*')
    };
    let same_page = |a: &NodeRef| {
        a.attr("href")
            .map(|h| h.trim_start().starts_with('#'))
            .unwrap_or(false)
    };
    match name {
        "a" => same_page(n) && numeric(&n.text()),
        "sup" => {
            numeric(&n.text())
                && n.descendants_it()
                    .any(|d| d.is_element() && tag_name(&d) == "a" && same_page(&d))
        }
        _ => false,
    }
}
const BLOCK_CONTAINERS: [&str; 30] = [
    "div", "section", "article", "main", "header", "td", "th", "tr", "table", "tbody", "thead",
    "tfoot", "ul", "ol", "dl", "center", "body", "html", "address", "details", "summary",
    "fieldset", "hgroup", "caption", "hr", "search", "colgroup", "frameset", "frame", "legend",
];
const SKIP_ROLES: [&str; 10] = [
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "dialog",
    "alertdialog",
    "search",
    "menu",
    "menubar",
    "toolbar",
];
/// Substrings of class/id/data-testid that mark boilerplate containers.
const BAD_SUBSTR: [&str; 68] = [
    "footnote",
    "claim-review",
    "claimreview",
    "cookie",
    "consent",
    "gdpr",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "newsletter",
    "subscri",
    "signup",
    "sign-up",
    "comment",
    "disqus",
    "respond",
    "advert",
    "adsby",
    "sponsor",
    "promo",
    "breadcrumb",
    "sidebar",
    "widget",
    "trending",
    "mostread",
    "most-read",
    "most_read",
    "popular",
    "byline",
    "dateline",
    "timestamp",
    "caption",
    "cutline",
    "credit",
    "audio",
    "player",
    "podcast",
    "listen",
    "pullquote",
    "pull-quote",
    "skip-link",
    "screen-reader",
    "sr-only",
    "pagination",
    "kicker",
    "ticker",
    "feedback",
    "tweet",
    "addtoany",
    "you-may",
    // A review's verdict box, a recipe card's nutrition panel and call to action, embedded
    // social posts (Instagram, TikTok; tweets above).
    "verdict",
    "nutrition",
    "call-to-action",
    "instagram",
    "tiktok",
    // A "Key points" summary box (it repeats the body, like a pull quote); a wiki's infobox
    // ("Related news"), "[edit]" links, "From <wiki>" line and "Retrieved from" footer; a
    // CMS's article-info list (Joomla: "Details", "Hits: 412"); a store blog's product cards
    // ("Shop the story", "Add to cart").
    "keypoints",
    "key-points",
    "key_points",
    "infobox",
    "editsection",
    "sitesub",
    "printfooter",
    "article-info",
    "product-card",
    "product-grid",
    "shop-the-",
];
/// Substrings of class/id that mark a paywall: its gate (an offer to subscribe or log in) is a
/// box, but many sites also name the article text the gate truncates after it ("paywall-fade",
/// "article paywall"), so an element named so is a box only when it asks the reader to pay
/// ([`is_gate_text`]; the streaming fallback, without the element's text, always skips it).
const GATE_SUBSTR: [&str; 3] = ["paywall", "barrier", "regwall"];
/// Class/id substrings that name article content although they contain a boilerplate
/// substring ("subscri"), or say nothing of the element itself: Drupal marks every field whose
/// label is not shown (a body paragraph's among them) `field--label-hidden`.
const CONTENT_SUBSTR: [&str; 4] = [
    "subscriber-preview",
    "subscriber-only",
    "subscriber-content",
    "label-hidden",
];
/// Whole `-`/`_`-separated parts of class/id that mark boilerplate (too short for substrings).
const BAD_PARTS: [&str; 26] = [
    "ad", "ads", "nav", "navbar", "menu", "meta", "date", "tags", "tag", "author", "hidden",
    "masthead", "footer", "topbar", "toolbar", "modal", "popup", "overlay", "banner", "outbrain",
    "taboola", "ufi", "pros", "cons", "specs", "price",
];

impl<'a> Walker<'a> {
    fn new(doc: &'a Document, sizes: &'a Sizes, title_node: Option<NodeId>) -> Self {
        let title_ancestors = title_node
            .map(|t| {
                NodeRef::new(t, &doc.tree)
                    .ancestors_it(None)
                    .map(|a| a.id)
                    .collect()
            })
            .unwrap_or_default();
        Walker {
            tree: &doc.tree,
            sizes,
            title_node,
            title_ancestors,
            gate_open: true,
            root_text: 0,
            blocks: Vec::new(),
            meta: Vec::new(),
            buf: String::new(),
            buf_link: 0,
            in_link: 0,
            last_br: false,
            params: Params::top(None),
            by_name: true,
        }
    }

    fn walk(&mut self, root: NodeRef<'a>) {
        self.root_text = self.sizes.text(root.id);
        self.gate_open = !self.title_ancestors.contains(&root.id) || self.title_node.is_none();
        self.params = Params::top(Some(root.id));
        let mut stack: Vec<Ev<'a>> = vec![Ev::Enter(root)];
        let root_id = root.id;
        while let Some(ev) = stack.pop() {
            match ev {
                Ev::ExitBlock(p) => {
                    self.flush();
                    self.params = p;
                }
                Ev::ExitLink => self.in_link = self.in_link.saturating_sub(1),
                Ev::Enter(n) => self.enter(n, root_id, &mut stack),
            }
        }
        self.flush();
    }

    fn enter(&mut self, n: NodeRef<'a>, root_id: NodeId, stack: &mut Vec<Ev<'a>>) {
        if n.is_text() {
            let t = n.text();
            if !t.trim().is_empty() {
                self.last_br = false;
                if self.in_link > 0 {
                    self.buf_link += t.chars().filter(|c| !c.is_whitespace()).count();
                }
            }
            self.buf.push_str(&t);
            return;
        }
        if !n.is_element() && !n.is_document() {
            return;
        }
        let name = tag_name(&n);
        if name == "br" {
            if self.last_br {
                self.flush();
            } else {
                self.buf.push(' ');
                self.last_br = true;
            }
            return;
        }
        if (HARD_SKIP.contains(&name.as_str()) && !WEAK_TAGS.contains(&name.as_str()))
            || (name.starts_with("amp-") && !AMP_TEXT.contains(&name.as_str()))
            || is_note_marker(&n, &name)
        {
            return;
        }
        if name == "amp-story-page" && is_story_cta(&n) {
            return;
        }
        if (name == "dt" && is_meta_term(&n)) || (name == "dd" && is_meta_value(&n)) {
            return;
        }
        if Some(n.id) == self.title_node {
            self.flush();
            self.gate_open = true;
            return;
        }
        if n.id != root_id
            && !self.title_ancestors.contains(&n.id)
            && !n.has_attr(ONLY_ATTR)
            && self.is_skippable(&n, &name)
        {
            return;
        }
        let weak = self.params.weak || (n.id != root_id && is_weak_element(&n, &name));
        let push_children = |stack: &mut Vec<Ev<'a>>| {
            let mut ch = children(&n);
            ch.reverse();
            stack.extend(
                ch.into_iter()
                    .map(|c| Ev::Enter(NodeRef::new(c, self.tree))),
            );
        };
        let new_params = match name.as_str() {
            "p" | "dt" | "dd" => Some(Params {
                kind: if self.params.in_quote {
                    BlockKind::Quote
                } else {
                    BlockKind::Paragraph
                },
                strict: true,
                ..self.params
            }),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Some(Params {
                kind: BlockKind::Heading,
                strict: true,
                ..self.params
            }),
            "li" => Some(Params {
                kind: if self.params.in_quote {
                    BlockKind::Quote
                } else {
                    BlockKind::ListItem
                },
                strict: true,
                ..self.params
            }),
            "blockquote" => Some(Params {
                kind: BlockKind::Quote,
                strict: true,
                in_quote: true,
                in_row: false,
                ..self.params
            }),
            // A row of a data table (short cells, no paragraphs inside) is one spoken line:
            // "Ashford 5,210 3,980". Layout tables keep the usual container rules.
            "tr" if is_data_row(&n, self.sizes) => Some(Params {
                kind: BlockKind::Paragraph,
                strict: true,
                in_quote: false,
                in_row: true,
                ..self.params
            }),
            "td" | "th" if self.params.in_row => {
                self.buf.push(' ');
                push_children(stack);
                return;
            }
            _ if BLOCK_CONTAINERS.contains(&name.as_str())
                || AMP_TEXT.contains(&name.as_str())
                || WEAK_TAGS.contains(&name.as_str())
                || n.is_document() =>
            {
                // A standfirst set as loose text in a `div` is read however short it is.
                Some(Params {
                    strict: self.params.strict || is_standfirst(&n),
                    ..self.params
                })
            }
            _ => None,
        };
        let level = match name.as_bytes() {
            [b'h', d @ b'1'..=b'6'] => d - b'0',
            _ => self.params.level,
        };
        let new_params = new_params.map(|p| Params {
            weak,
            node: Some(n.id),
            level,
            ..p
        });
        if weak && !self.params.weak && new_params.is_none() {
            // An inline caption inside a paragraph: dropped, as before (not worth a block).
            return;
        }
        match new_params {
            Some(p) => {
                self.flush();
                stack.push(Ev::ExitBlock(self.params));
                self.params = p;
                push_children(stack);
            }
            None if name == "a" => {
                self.in_link += 1;
                stack.push(Ev::ExitLink);
                push_children(stack);
            }
            None => push_children(stack),
        }
    }

    /// Tag, role, visibility and class/id heuristics. Soft rules never drop an element that holds
    /// most of the root's text (guards against `<form>`-wrapped pages and odd article classes).
    fn is_skippable(&self, n: &NodeRef, name: &str) -> bool {
        let big = self.root_text > 0 && self.sizes.text(n.id) * 10 >= self.root_text * 6;
        if big {
            return false;
        }
        if !self.by_name {
            return boilerplate_attrs(name, |a| n.attr(a).map(|v| v.to_string()), false, false)
                .is_some();
        }
        is_boilerplate_node(n, name, is_weak_element(n, name)) || self.is_sponsor_box(n, name)
    }

    /// A small box that opens with a sponsor label ("SPONSORED", "Paid content"): a
    /// newsletter's or a page's advertiser block set among the article's paragraphs.
    fn is_sponsor_box(&self, n: &NodeRef, name: &str) -> bool {
        let size = self.sizes.text(n.id);
        if size > SPONSOR_BOX_MAX_CHARS || !BLOCK_CONTAINERS.contains(&name) {
            return false;
        }
        let Some(first) = n
            .descendants_it()
            .find(|d| d.is_text() && !d.text().trim().is_empty())
        else {
            return false;
        };
        let label = key(&first.text());
        SPONSOR_LABELS.contains(&label.as_str()) && size > label.len()
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let raw = std::mem::take(&mut self.buf);
        let link = std::mem::replace(&mut self.buf_link, 0);
        self.last_br = false;
        let text = collapse_ws(&raw);
        if text.is_empty() || !self.gate_open {
            return;
        }
        let words = text.split_whitespace().count();
        if !self.params.strict && words < LOOSE_MIN_WORDS && !ends_like_sentence(&text) {
            return;
        }
        let chars = text.chars().filter(|c| !c.is_whitespace()).count().max(1);
        if link as f64 / chars as f64 > MAX_LINK_DENSITY {
            return;
        }
        if is_boilerplate_text(&text) || is_page_furniture(&text, self.params.in_row) {
            return;
        }
        let text = if self.params.weak {
            strip_caption_credit(&text).to_string()
        } else {
            text
        };
        self.blocks.push(Block::new(self.params.kind, text));
        self.meta.push(BlockMeta {
            node: self.params.node,
            weak: self.params.weak,
            level: if self.params.kind == BlockKind::Heading {
                self.params.level
            } else {
                0
            },
        });
    }
}

/// Labels that open a sponsored box (compared as [`key`]s).
const SPONSOR_LABELS: [&str; 10] = [
    "sponsored",
    "sponsored content",
    "sponsored post",
    "paid content",
    "paid post",
    "partner content",
    "promoted",
    "promoted content",
    "from our sponsor",
    "from our sponsors",
];
/// Most characters (not counting whitespace) a box opened by a sponsor label may hold; an
/// article body is longer.
const SPONSOR_BOX_MAX_CHARS: usize = 600;

/// Most characters a data-table row may hold; longer rows are layout.
const MAX_ROW_CHARS: usize = 400;

/// A table row of short cells with no block structure inside (a data table, not a layout).
fn is_data_row(n: &NodeRef, sizes: &Sizes) -> bool {
    if sizes.text(n.id) > MAX_ROW_CHARS {
        return false;
    }
    let mut stack = children(n);
    let mut seen = 0;
    while let Some(id) = stack.pop() {
        seen += 1;
        if seen > 200 {
            return false;
        }
        let c = NodeRef::new(id, n.tree);
        if !c.is_element() {
            continue;
        }
        let name = tag_name(&c);
        if matches!(
            name.as_str(),
            "p" | "div"
                | "table"
                | "ul"
                | "ol"
                | "br"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
                | "section"
                | "article"
        ) {
            return false;
        }
        stack.extend(children(&c));
    }
    true
}

/// Tag, role, visibility and class/id rules for boilerplate containers (no size guard).
fn is_boilerplate_element(n: &NodeRef, name: &str) -> bool {
    is_boilerplate_node(n, name, false)
}

/// [`boilerplate_attrs`] for an element of the DOM, which can look at its text: a heading's
/// `id` that spells its own text is no class hint, and an element named as a paywall is a box
/// only when it asks the reader to pay ([`GATE_SUBSTR`]).
fn is_boilerplate_node(n: &NodeRef, name: &str, weak_ok: bool) -> bool {
    let slug_id = is_heading_slug_id(n, name);
    let attr = |a: &str| {
        if slug_id && a == "id" {
            return None;
        }
        n.attr(a).map(|v| v.to_string())
    };
    match boilerplate_attrs(name, attr, weak_ok, true) {
        Some(Boilerplate::Gate) => is_gate_text(&n.text()),
        Some(Boilerplate::Box) => true,
        None => false,
    }
}

/// Tag, role, visibility and class/id rules for boilerplate containers (no size guard); `attr`
/// looks an attribute up, so the DOM walker and the streaming fallback share the rules.
fn is_boilerplate_attrs(name: &str, attr: impl Fn(&str) -> Option<String>) -> bool {
    boilerplate_attrs(name, attr, false, true).is_some()
}

/// What [`boilerplate_attrs`] found an element to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Boilerplate {
    /// Never read.
    Box,
    /// Named only as a paywall: a box if its text asks the reader to pay ([`is_gate_text`]).
    Gate,
}

/// [`is_boilerplate_attrs`], saying what was found; with `weak_ok`, captions and standfirsts
/// ([`is_weak_attrs`]) are not boilerplate by themselves (the walker reads them as weak
/// blocks), other rules still apply. Without `by_name`, only the tag, role, visibility and
/// schema.org rules apply, not the class/id names.
fn boilerplate_attrs(
    name: &str,
    attr: impl Fn(&str) -> Option<String>,
    weak_ok: bool,
    by_name: bool,
) -> Option<Boilerplate> {
    let weak_tag = weak_ok && WEAK_TAGS.contains(&name);
    let found = Some(Boilerplate::Box);
    if SOFT_SKIP.contains(&name) || (HARD_SKIP.contains(&name) && !weak_tag) {
        return found;
    }
    if name == "header" {
        return found; // headers that hold the title are protected by the walker
    }
    if attr(SKIP_ATTR).is_some() {
        return found;
    }
    if attr("hidden").is_some()
        || attr("aria-hidden")
            .map(|v| v.trim() == "true")
            .unwrap_or(false)
    {
        return found;
    }
    if let Some(style) = attr("style") {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return found;
        }
    }
    if let Some(role) = attr("role") {
        if SKIP_ROLES.contains(&role.trim().to_ascii_lowercase().as_str()) {
            return found;
        }
    }
    // A schema.org ClaimReview or Rating box (a fact-check's verdict card) is a box.
    if let Some(t) = attr("itemtype") {
        let t = t.to_ascii_lowercase();
        if t.ends_with("/claimreview") || t.ends_with("/rating") {
            return found;
        }
    }
    if !by_name {
        return None;
    }
    let attrs = hint_attrs(attr);
    if attrs.is_empty() {
        return None;
    }
    // Some CMSs (BLOX, for one) put the article itself in a "subscriber-preview" box.
    let attrs = CONTENT_SUBSTR
        .iter()
        .fold(attrs, |a, good| a.replace(good, " "));
    let attrs = if weak_ok {
        WEAK_SUBSTR.iter().fold(attrs, |a, w| a.replace(w, " "))
    } else {
        attrs
    };
    if names_any(&attrs, &BAD_SUBSTR, &BAD_PARTS) {
        return found;
    }
    names_any(&attrs, &GATE_SUBSTR, &[]).then_some(Boilerplate::Gate)
}

/// Words of a paywall's offer: an element named as a paywall that says none of these is the
/// article text the paywall script truncates, not the gate.
const GATE_WORDS: [&str; 8] = [
    "subscri",
    "log in",
    "login",
    "sign in",
    "register",
    "unlock",
    "free articles",
    "already a member",
];

/// A paywall gate's text: it asks the reader to subscribe, log in or register.
fn is_gate_text(text: &str) -> bool {
    let t = text.to_lowercase();
    GATE_WORDS.iter().any(|w| t.contains(w))
}

/// Fewest parts a heading's `id` needs to be taken for a slug of its text.
const SLUG_MIN_PARTS: usize = 3;

/// A heading whose `id` is a slug of its own text ("the-consent-agenda-is-where-the-money-is",
/// as blog engines and table-of-contents plugins make anchors): the id names the words of the
/// heading ("consent", "comment"), not what the element is.
fn is_heading_slug_id(n: &NodeRef, name: &str) -> bool {
    if !matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
        return false;
    }
    let Some(id) = n.attr("id") else {
        return false;
    };
    let parts: Vec<String> = id
        .split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(str::to_lowercase)
        .collect();
    if parts.len() < SLUG_MIN_PARTS {
        return false;
    }
    let slug = parts.join(" ");
    let text = key(&n.text());
    text == slug || text.starts_with(&format!("{slug} "))
}

/// Whether hint attributes ([`hint_attrs`]) hold one of `substr` anywhere, or one of `parts`
/// as a whole part of a name (split at spaces, `-` and `_`).
fn names_any(attrs: &str, substr: &[&str], parts: &[&str]) -> bool {
    substr.iter().any(|s| attrs.contains(s))
        || attrs
            .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
            .any(|part| parts.contains(&part))
}

/// Class/id substrings and whole parts that name a standfirst (dek, subtitle under the title).
const STANDFIRST_SUBSTR: [&str; 3] = ["standfirst", "subheadline", "sub-headline"];
const STANDFIRST_PARTS: [&str; 3] = ["dek", "deck", "subtitle"];

/// A standfirst's element: the summary line(s) under the title, read after it.
fn is_standfirst(n: &NodeRef) -> bool {
    let attrs = hint_attrs(|a| n.attr(a).map(|v| v.to_string()));
    names_any(&attrs, &STANDFIRST_SUBSTR, &STANDFIRST_PARTS)
}

/// Tags of captions: read as weak blocks (a gallery's story), not skipped outright.
const WEAK_TAGS: [&str; 2] = ["figure", "figcaption"];
/// Class/id substrings of captions. (Standfirsts are read: the fixture suite speaks them.)
const WEAK_SUBSTR: [&str; 2] = ["caption", "cutline"];

/// A caption: its text is read only when the page has little other prose.
fn is_weak_element(n: &NodeRef, name: &str) -> bool {
    if WEAK_TAGS.contains(&name) {
        return true;
    }
    let attrs = hint_attrs(|a| n.attr(a).map(|v| v.to_string()));
    WEAK_SUBSTR.iter().any(|w| attrs.contains(w))
}

/// Words of dates and times: a line made only of these is a timestamp, not prose.
const DATE_WORDS: [&str; 60] = [
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
    "mon",
    "monday",
    "tue",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
    "am",
    "pm",
    "a",
    "m",
    "p",
    "gmt",
    "utc",
    "bst",
    "cet",
    "cest",
    "est",
    "edt",
    "cst",
    "cdt",
    "mst",
    "mdt",
    "pst",
    "pdt",
    "et",
    "pt",
    "ct",
    "th",
];
/// Words that introduce a timestamp ("Updated 2 hours ago", "Published: 3 May 2026").
const STAMP_WORDS: [&str; 19] = [
    "updated",
    "posted",
    "published",
    "last",
    "modified",
    "on",
    "at",
    "ago",
    "hours",
    "hour",
    "minutes",
    "minute",
    "mins",
    "min",
    "days",
    "day",
    "yesterday",
    "today",
    "now",
];

/// A line that only gives a date or time ("Last updated: November 3, 2026", "14:52 GMT").
fn is_timestamp_line(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() || words.len() > 24 {
        return false;
    }
    let (mut number, mut date_word, mut stamp) = (false, false, false);
    for w in &words {
        let digits = w.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            number = true;
        } else if DATE_WORDS.contains(&w.as_str()) {
            date_word |= w.len() > 2;
        } else if STAMP_WORDS.contains(&w.as_str()) {
            stamp = true;
        } else {
            return false;
        }
    }
    // "Saturday" alone may be a listicle's subheading; "Saturday 14:00" or "Updated
    // Saturday" is a timestamp.
    number || (date_word && stamp)
}

/// Phrases of page furniture that sits inside article markup on many sites: copyright and
/// syndication lines, affiliate disclosures, print-edition notes, app and meter prompts.
const FURNITURE_PHRASES: [&str; 23] = [
    "this is a developing story",
    "this story is developing",
    "check back for updates",
    "check back later for updates",
    "transcript was generated automatically",
    "transcript was automatically generated",
    "all rights reserved",
    "may not be published broadcast rewritten",
    "earn a commission",
    "earn an affiliate commission",
    "affiliate links",
    "appears in print",
    "a version of this article appears",
    "this article originally appeared",
    "not a substitute for professional medical advice",
    "already a subscriber",
    "free articles this month",
    "unlimited digital access",
    "thank you for reading",
    "continue reading your article",
    "may be republished",
    "you have reached the end",
    "you ve reached the end",
];

/// Page furniture a listener must not hear, judged from a block's text alone: timestamps,
/// lines without words (counters "1 / 6", rules "###", "1.2K" like counts; a data-table row
/// keeps its numbers), chart source notes, and the [`FURNITURE_PHRASES`] in short blocks.
fn is_page_furniture(text: &str, in_row: bool) -> bool {
    if !in_row && !has_word(text) {
        return true;
    }
    if !in_row && is_timestamp_line(text) {
        return true;
    }
    let words = text.split_whitespace().count();
    if words > 40 {
        return false;
    }
    let k = key(text);
    if FURNITURE_PHRASES.iter().any(|p| k.contains(p)) {
        return true;
    }
    if k.starts_with("copyright ") || text.starts_with('©') {
        return true;
    }
    // A wire story's sign-off: "Reporting by A; Editing by B".
    if [
        "reporting by ",
        "additional reporting by ",
        "writing by ",
        "editing by ",
    ]
    .iter()
    .any(|p| k.starts_with(p))
        && (k.contains("editing by") || k.contains("writing by"))
    {
        return true;
    }
    if words <= 30 && (is_credited_caption(text) || is_contact_line(text)) {
        return true;
    }
    if words <= 20 && (is_taxonomy_line(text) || is_dated_byline(text)) {
        return true;
    }
    if words <= 16 {
        // "Source: AAA." under a chart or table; "Download the News 5 app for alerts".
        if text.contains("Source: ") || text.contains("Sources: ") {
            return true;
        }
        if k.starts_with("download ") && k.contains(" app") {
            return true;
        }
    }
    false
}

/// Labels that open a blog's taxonomy lines under the body ("Categories: News, Adoption").
const TAXONOMY_LABELS: [&str; 8] = [
    "categories:",
    "category:",
    "tags:",
    "tagged:",
    "tagged with:",
    "filed under:",
    "posted in:",
    "topics:",
];

/// A "Categories: ..." / "Tags: ..." / "Filed under: ..." line (a short one: see the caller).
fn is_taxonomy_line(text: &str) -> bool {
    let t = text.trim_start().to_lowercase();
    TAXONOMY_LABELS.iter().any(|l| t.starts_with(l))
}

/// A date line with its author: "Posted on December 6, 2026 by Olivia Brandt" (a timestamp,
/// then "by" and a name of at most four capitalised words).
fn is_dated_byline(text: &str) -> bool {
    let Some(i) = text.rfind(" by ") else {
        return false;
    };
    let name: Vec<&str> = text[i + 4..].split_whitespace().collect();
    !name.is_empty()
        && name.len() <= 4
        && name
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
        && is_timestamp_line(&text[..i])
}

/// A reporter's contact line: "Contact Sarah Lindholm at slindholm@example.com or 715-555-0171."
/// (opens with "Contact"/"Reach"/"Email", holds an e-mail address or a phone number).
fn is_contact_line(text: &str) -> bool {
    let t = text.trim_start().to_lowercase();
    let opens = ["contact ", "reach ", "email ", "e-mail ", "you can reach "]
        .iter()
        .any(|p| t.starts_with(p));
    if !opens {
        return false;
    }
    let email = text.split_whitespace().any(|w| {
        w.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.trim_end_matches('.').contains('.'))
    });
    let phone = text
        .split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .any(|w| w.contains('-') && w.chars().filter(char::is_ascii_digit).count() >= 7);
    email || phone
}

/// A caption's picture credit appended to it: "(AP Photo/Sue Ogrocki)", "(Photo by Ann Lee)",
/// or an agency's "REUTERS/Joe Skipper" run on after the last sentence. Returns the caption
/// without it (captions are read on gallery pages, credits never).
fn strip_caption_credit(text: &str) -> &str {
    let t = text.trim_end();
    // "... lobby. (AP Photo/Sue Ogrocki)"
    if let Some(open) = t.rfind('(').filter(|_| t.ends_with(')')) {
        let inner = &t[open + 1..t.len() - 1];
        let lower = inner.to_lowercase();
        let credit = inner.split_whitespace().count() <= 8
            && (inner.contains('/')
                || ["photo", "photograph", "picture", "image", "credit"]
                    .iter()
                    .any(|w| lower.starts_with(w) || lower.contains(&format!(" {w}"))));
        let before = t[..open].trim_end();
        if credit && !before.is_empty() {
            return before;
        }
    }
    // "... at 11:04 p.m. REUTERS/Joe Skipper": an all-capitals agency, a slash, a short name.
    if let Some(slash) = t.rfind('/') {
        let start = t[..slash].rfind(' ').map(|i| i + 1).unwrap_or(0);
        let agency = &t[start..slash];
        let name = &t[slash + 1..];
        let before = t[..start].trim_end();
        let caps = agency.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && agency
                .chars()
                .all(|c| c.is_uppercase() || c == '-' || c == '&');
        if caps
            && (1..=4).contains(&name.split_whitespace().count())
            && !name.trim_end().ends_with(['.', '!', '?'])
            && before.ends_with(['.', '!', '?', '"', '\u{201d}'])
        {
            return before;
        }
    }
    t
}

/// Labels of a picture credit that ends a caption.
const CREDIT_LABELS: [&str; 6] = [
    "Picture: ",
    "Photo: ",
    "Photograph: ",
    "Image: ",
    "Photo credit: ",
    "Credit: ",
];

/// A caption that ends with its picture credit: "The K6 phone box on the green. Picture: Herts
/// Press" (the credit is the last sentence, a name of a few words, no sentence of its own).
fn is_credited_caption(text: &str) -> bool {
    CREDIT_LABELS.iter().any(|l| {
        text.rfind(l).is_some_and(|i| {
            let before = text[..i].trim_end();
            let credit = &text[i + l.len()..];
            (before.is_empty() || before.ends_with(['.', '|', '/', ')']))
                && credit.split_whitespace().count() <= 6
                && !credit.trim_end().ends_with(['.', '!', '?'])
        })
    })
}

/// Has a run of at least two letters (a word, not a number, counter or rule).
fn has_word(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_alphabetic() {
            run += 1;
            if run >= 2 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The attributes that name what an element is (class, id, test and component names),
/// lowercased and space-joined.
fn hint_attrs(attr: impl Fn(&str) -> Option<String>) -> String {
    let mut attrs = String::new();
    for a in [
        "class",
        "id",
        "data-testid",
        "data-component",
        "data-module",
    ] {
        if let Some(v) = attr(a) {
            attrs.push(' ');
            attrs.push_str(&v.to_ascii_lowercase());
        }
    }
    attrs
}

fn ends_like_sentence(t: &str) -> bool {
    matches!(
        t.chars().last(),
        Some('.' | '!' | '?' | '"' | '”' | '’' | ')')
    ) && t.split_whitespace().count() >= 3
}

// ---------------------------------------------------------------------------------------------
// Streaming fallback for pathologically nested markup
// ---------------------------------------------------------------------------------------------

/// Above this estimated nesting depth we do not build a DOM at all: html5ever's tree builder
/// scans its open-element stack per start tag, so 100,000 nested `<div>`s take ~30 s to parse.
pub const MAX_PARSE_DEPTH: usize = 4096;

/// Cheap upper-bound-ish estimate of element nesting from the raw markup (linear, no parsing).
/// Tags that HTML closes implicitly (`p`, `li`, `td`, …) and void tags are not counted.
fn estimate_depth(html: &str) -> usize {
    const NOT_NESTING: [&str; 22] = [
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "br", "img", "input", "meta", "link",
        "hr", "wbr", "source", "track", "area", "base", "col", "embed", "param",
    ];
    let b = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'<' {
            let closing = b[i + 1] == b'/';
            let start = if closing { i + 2 } else { i + 1 };
            let mut end = start;
            while end < b.len() && b[end].is_ascii_alphanumeric() {
                end += 1;
            }
            if end > start {
                let name = html.get(start..end).unwrap_or("").to_ascii_lowercase();
                if !NOT_NESTING.contains(&name.as_str()) {
                    if closing {
                        depth = depth.saturating_sub(1);
                    } else {
                        depth += 1;
                        max = max.max(depth);
                    }
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    max
}

/// Token-stream extraction used instead of the DOM for hostile nesting: same block kinds and
/// the same tag/class boilerplate rules, but no locator and no CSS selectors beyond validation.
fn extract_flat(html: &str) -> (Option<String>, Vec<Block>) {
    use html5ever::tokenizer::states::RawKind;
    use html5ever::tokenizer::{
        BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    };
    use std::cell::RefCell;

    #[derive(Default)]
    struct St {
        blocks: Vec<Block>,
        buf: String,
        /// (tag name, kind, strict, skipped) of open elements.
        stack: Vec<(String, BlockKind, bool, bool)>,
        skip: usize,
        quote: usize,
        title: Option<String>,
        in_title: bool,
        page_title: String,
    }
    impl St {
        fn params(&self) -> (BlockKind, bool) {
            self.stack
                .iter()
                .rev()
                .find(|e| e.2)
                .map(|e| (e.1, true))
                .unwrap_or((BlockKind::Paragraph, false))
        }
        fn flush(&mut self) {
            let text = collapse_ws(&std::mem::take(&mut self.buf));
            if text.is_empty() {
                return;
            }
            let (kind, strict) = self.params();
            if self.in_title && self.title.is_none() {
                self.title = Some(text);
                return;
            }
            let words = text.split_whitespace().count();
            if (!strict && words < LOOSE_MIN_WORDS && !ends_like_sentence(&text))
                || is_boilerplate_text(&text)
            {
                return;
            }
            self.blocks.push(Block::new(kind, text));
        }
    }
    struct Sink(RefCell<St>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let mut st = self.0.borrow_mut();
            match token {
                Token::CharacterTokens(t) => {
                    if st.skip == 0 {
                        st.buf.push_str(&t);
                    } else if st.stack.last().map(|e| e.0 == "title").unwrap_or(false) {
                        st.page_title.push_str(&t);
                    }
                }
                Token::TagToken(tag) => {
                    let name: String = tag.name.to_ascii_lowercase().to_string();
                    let is_void = matches!(
                        name.as_str(),
                        "br" | "img"
                            | "input"
                            | "meta"
                            | "link"
                            | "hr"
                            | "wbr"
                            | "source"
                            | "track"
                            | "area"
                            | "base"
                            | "col"
                            | "embed"
                            | "param"
                    );
                    match tag.kind {
                        TagKind::StartTag => {
                            if name == "br" {
                                st.buf.push(' ');
                                return TokenSinkResult::Continue;
                            }
                            if is_void {
                                return TokenSinkResult::Continue;
                            }
                            let attr = |a: &str| {
                                tag.attrs
                                    .iter()
                                    .find(|x| &*x.name.local == a)
                                    .map(|x| x.value.to_string())
                            };
                            let skipped = st.skip > 0
                                || is_boilerplate_attrs(&name, attr)
                                || name.starts_with("amp-");
                            // Implicitly closed p / li.
                            if (name == "p" || name == "li")
                                && st.stack.last().map(|e| e.0 == name).unwrap_or(false)
                            {
                                st.flush();
                                if let Some(e) = st.stack.pop() {
                                    if e.3 {
                                        st.skip = st.skip.saturating_sub(1);
                                    }
                                }
                            }
                            let block = match name.as_str() {
                                "p" | "dt" | "dd" => Some((
                                    if st.quote > 0 {
                                        BlockKind::Quote
                                    } else {
                                        BlockKind::Paragraph
                                    },
                                    true,
                                )),
                                "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                                    Some((BlockKind::Heading, true))
                                }
                                "li" => Some((
                                    if st.quote > 0 {
                                        BlockKind::Quote
                                    } else {
                                        BlockKind::ListItem
                                    },
                                    true,
                                )),
                                "blockquote" => Some((BlockKind::Quote, true)),
                                n if BLOCK_CONTAINERS.contains(&n) => {
                                    Some((BlockKind::Paragraph, false))
                                }
                                _ => None,
                            };
                            if let Some((kind, strict)) = block {
                                st.flush();
                                if name == "h1" && st.title.is_none() && !skipped {
                                    st.in_title = true;
                                }
                                if name == "blockquote" {
                                    st.quote += 1;
                                }
                                st.stack.push((name.clone(), kind, strict, skipped));
                            } else {
                                st.stack
                                    .push((name.clone(), BlockKind::Paragraph, false, skipped));
                            }
                            if skipped {
                                st.skip += 1;
                            }
                            return match name.as_str() {
                                "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                                "style" | "xmp" | "iframe" | "noembed" | "noframes"
                                | "noscript" => TokenSinkResult::RawData(RawKind::Rawtext),
                                "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                                "plaintext" => TokenSinkResult::Plaintext,
                                _ => TokenSinkResult::Continue,
                            };
                        }
                        TagKind::EndTag => {
                            if is_void {
                                return TokenSinkResult::Continue;
                            }
                            // Only look a bounded distance down the stack for the match.
                            let len = st.stack.len();
                            let found = (0..len.min(64))
                                .map(|k| len - 1 - k)
                                .find(|&k| st.stack.get(k).map(|e| e.0 == name).unwrap_or(false));
                            if let Some(k) = found {
                                st.flush();
                                while st.stack.len() > k {
                                    if let Some(e) = st.stack.pop() {
                                        if e.3 {
                                            st.skip = st.skip.saturating_sub(1);
                                        }
                                        if e.0 == "h1" {
                                            st.in_title = false;
                                        }
                                        if e.0 == "blockquote" {
                                            st.quote = st.quote.saturating_sub(1);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }

    let sink = Sink(RefCell::new(St::default()));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(html.into());
    let _ = tok.feed(&queue);
    tok.end();
    let mut st = tok.sink.0.into_inner();
    st.flush();
    let title = st.title.take().or_else(|| {
        let t = collapse_ws(&st.page_title);
        if t.is_empty() {
            None
        } else {
            Some(clean_page_title(&t))
        }
    });
    (title, st.blocks)
}
