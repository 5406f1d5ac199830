//! The demo pages: `/` shows the seed article as a news page with the player in its "Audio By"
//! slot, `/embed` the snippet to copy and an API quick start, `/stats` an article's listening
//! stats with its drop-off drawn over its sentences (an SVG bar chart; the page asks for the
//! API key and keeps it in memory). The article's headline, byline
//! and paragraphs come from [`extract_text`] on the committed copy of the seed article.
use std::sync::OnceLock;

use crate::article::extract::extract_text;
use crate::article::ArticleInput;

use super::{escape_html, versioned_path, DEMO_HTML, EMBED_HTML, SEED_ARTICLE, STATS_HTML};

/// The article ID the demo page plays; `make run` makes sure it exists.
pub const DEMO_ARTICLE_ID: &str = "seed";

/// What the demo page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoArticle {
    pub section: Option<String>,
    pub title: String,
    pub byline: Option<String>,
    pub paragraphs: Vec<String>,
}

impl DemoArticle {
    /// Split the extracted seed article the way its page was laid out: scraped page furniture
    /// (teaser, section label, social title, the original audio slot) comes before the
    /// headline, which sits right above the "By …" line; the body follows the byline.
    pub fn from_text(text: &str) -> DemoArticle {
        let a = extract_text(text);
        let lines: Vec<String> = a.blocks.iter().map(|b| b.text.clone()).collect();
        let byline_at = lines
            .iter()
            .position(|l| l.starts_with("By ") && l.split_whitespace().count() <= 10);
        match byline_at {
            Some(b) if b > 0 => {
                let section = lines[..b - 1]
                    .iter()
                    .find(|l| l.split_whitespace().count() <= 2 && !l.ends_with('.'))
                    .cloned();
                DemoArticle {
                    section,
                    title: lines[b - 1].clone(),
                    byline: Some(lines[b].clone()),
                    paragraphs: lines[b + 1..].to_vec(),
                }
            }
            _ => {
                let mut lines = lines.into_iter();
                let title = a.title.or_else(|| lines.next()).unwrap_or_default();
                DemoArticle {
                    section: None,
                    title,
                    byline: a.byline.map(|b| format!("By {b}")),
                    paragraphs: lines.collect(),
                }
            }
        }
    }

    /// The text to store as the demo article: headline, byline, then paragraphs, separated by
    /// blank lines. [`extract_text`] reads it back as title (block 0), byline (not spoken) and
    /// paragraphs (blocks 1..), which is how the page numbers its `data-audioby-block`s.
    pub fn text(&self) -> String {
        let mut parts = vec![self.title.clone()];
        parts.extend(self.byline.clone());
        parts.extend(self.paragraphs.iter().cloned());
        parts.join("\n\n") + "\n"
    }
}

/// The demo article as a publisher would push it: the page's headline becomes the `Title`
/// block (block 0) and each page paragraph one block (1..), matching `data-audioby-block`.
pub fn demo_input() -> ArticleInput {
    let a = demo_article();
    ArticleInput {
        title: Some(a.title.clone()),
        byline: a
            .byline
            .as_deref()
            .map(|b| b.strip_prefix("By ").unwrap_or(b).to_string()),
        html: None,
        text: Some(a.paragraphs.join("\n\n")),
        url: None,
        voice: None,
        ..Default::default()
    }
}

/// The seed article as the demo page shows it.
pub fn demo_article() -> &'static DemoArticle {
    static A: OnceLock<DemoArticle> = OnceLock::new();
    A.get_or_init(|| DemoArticle::from_text(SEED_ARTICLE))
}

/// `/`: the demo article page.
pub fn demo_page() -> String {
    let a = demo_article();
    let paragraphs: String = a
        .paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "    <p data-audioby-block=\"{}\">{}</p>\n",
                i + 1,
                escape_html(p)
            )
        })
        .collect();
    DEMO_HTML
        .replace("{{player_src}}", &versioned_path())
        .replace(
            "{{section}}",
            &escape_html(a.section.as_deref().unwrap_or("News")),
        )
        .replace("{{title}}", &escape_html(&a.title))
        .replace(
            "{{byline}}",
            &escape_html(a.byline.as_deref().unwrap_or("")),
        )
        .replace("{{article}}", DEMO_ARTICLE_ID)
        .replace("{{paragraphs}}", paragraphs.trim_end())
}

/// `/embed`: the snippet to copy (with this server's origin) and the API quick start.
pub fn embed_page(origin: &str) -> String {
    EMBED_HTML
        .replace("{{player_src}}", &versioned_path())
        .replace("{{origin}}", &escape_html(origin))
        .replace("{{article}}", DEMO_ARTICLE_ID)
}

/// `/stats`: the listening stats page, opened on the demo article.
pub fn stats_page() -> String {
    STATS_HTML.replace("{{article}}", DEMO_ARTICLE_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_article_has_headline_byline_and_body() {
        let a = demo_article();
        assert_eq!(
            a.title,
            "Ukraine Peace Talks Advance but Major Questions Still Block Peace Deal"
        );
        assert_eq!(a.byline.as_deref(), Some("By The Media Line Staff"));
        assert_eq!(a.section.as_deref(), Some("World"));
        assert_eq!(a.paragraphs.len(), 6);
        assert!(a.paragraphs[0].starts_with("Washington and European capitals"));
        assert!(a.paragraphs.iter().all(|p| !p.contains("Audio By")));
    }

    #[test]
    fn stored_text_reads_back_as_title_then_the_page_paragraphs() {
        let a = demo_article();
        let back = extract_text(&a.text());
        assert_eq!(back.title.as_deref(), Some(a.title.as_str()));
        let body: Vec<&str> = back.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            body,
            a.paragraphs.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn pushed_demo_article_numbers_blocks_like_the_page() {
        use crate::article::{ArticleId, ArticleRecord, BlockKind};
        let rec = ArticleRecord::build(
            ArticleId::parse(DEMO_ARTICLE_ID).unwrap(),
            demo_input(),
            &Default::default(),
            0,
        )
        .unwrap();
        assert_eq!(rec.blocks[0].kind, BlockKind::Title);
        assert_eq!(rec.blocks[0].text, demo_article().title);
        let body: Vec<&str> = rec.blocks[1..].iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            body,
            demo_article()
                .paragraphs
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn demo_page_marks_blocks_and_uses_the_versioned_script() {
        let html = demo_page();
        assert!(html.contains(&versioned_path()));
        assert!(html.contains(r#"<h1 data-audioby-block="0">"#));
        assert!(html.contains(r#"<p data-audioby-block="6">"#));
        assert!(!html.contains("{{"));
        assert!(!embed_page("http://x").contains("{{"));
    }

    #[test]
    fn the_stats_page_opens_on_the_demo_article_and_the_demo_links_to_it() {
        let html = stats_page();
        assert!(!html.contains("{{"));
        assert!(html.contains(&format!(r#"value="{DEMO_ARTICLE_ID}""#)));
        assert!(html.contains("<svg id=\"chart\""));
        assert!(demo_page().contains(r#"href="/stats""#));
    }
}
