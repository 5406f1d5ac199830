//! Feeds (RSS, Atom, JSON Feed, parsed by `feed-rs`): each item becomes an article ID and,
//! when the item carries it, the article's text. An item's GUID is its article ID when it is a
//! valid [`ArticleId`]; otherwise (GUIDs are often URLs) the ID is `feed-` plus 24 hex digits
//! of the SHA-256 of the GUID, or of the link when there is no GUID, so the same item maps to
//! the same article every night. Text comes from the item's content, else its summary; an item
//! with neither is left to the pull source. Feeds are fetched with the same guarded
//! [`Fetcher`] and `[source]` fetch limits as pulls, with the feed URL's host as the configured
//! host.
//!
//! Problems are per item or per feed, never fatal to the run: a malformed feed is one failure,
//! a repeated GUID is a failure for the repeat (the first item is kept).
use std::collections::HashSet;

use reqwest::Url;
use sha2::{Digest, Sha256};

use super::fetch::{FetchSettings, Fetcher, SourceError};
use super::{ArticleId, ArticleInput};

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("invalid feed URL {0:?}: {1}")]
    InvalidUrl(String, String),
    #[error(transparent)]
    Fetch(#[from] SourceError),
    #[error("malformed feed: {0}")]
    Malformed(String),
}

impl FeedError {
    pub fn code(&self) -> &'static str {
        match self {
            FeedError::InvalidUrl(..) => "invalid-feed-url",
            FeedError::Fetch(e) => e.code(),
            FeedError::Malformed(_) => "malformed-feed",
        }
    }
}

/// One feed item that names an article.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub id: ArticleId,
    /// The GUID (or link) the ID came from.
    pub guid: String,
    /// `None` when the item has no content or summary: the pull source must supply it.
    pub input: Option<ArticleInput>,
}

/// An item that cannot become an article, with the reason.
#[derive(Debug, Clone)]
pub struct ItemFailure {
    /// The article ID when known, else the GUID or a position such as `item 3`.
    pub label: String,
    pub reason: String,
}

/// Fetch and parse one feed URL.
pub async fn fetch_feed(
    url: &str,
    settings: &FetchSettings,
) -> Result<Vec<Result<FeedItem, ItemFailure>>, FeedError> {
    let parsed =
        Url::parse(url).map_err(|e| FeedError::InvalidUrl(url.to_string(), e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FeedError::InvalidUrl(
            url.to_string(),
            "use an http or https URL".into(),
        ));
    }
    if parsed.host_str().is_none() {
        return Err(FeedError::InvalidUrl(url.to_string(), "no host".into()));
    }
    let fetcher = Fetcher::new(&parsed, settings)?;
    let fetched = fetcher
        .get(parsed, "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, application/json;q=0.8, */*;q=0.1")
        .await?;
    parse_feed(&fetched.body)
}

/// Parse a feed body into items. Duplicate GUIDs fail the repeats, not the feed.
pub fn parse_feed(body: &[u8]) -> Result<Vec<Result<FeedItem, ItemFailure>>, FeedError> {
    // Missing GUIDs stay empty (feed-rs would invent a random UUID, a new article every run).
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser
        .parse(body)
        .map_err(|e| FeedError::Malformed(e.to_string()))?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut items = Vec::with_capacity(feed.entries.len());
    for (n, entry) in feed.entries.into_iter().enumerate() {
        let link = entry
            .links
            .first()
            .map(|l| l.href.trim().to_string())
            .filter(|l| !l.is_empty());
        let guid = Some(entry.id.trim().to_string())
            .filter(|g| !g.is_empty())
            .or_else(|| link.clone());
        let Some(guid) = guid else {
            items.push(Err(ItemFailure {
                label: format!("item {}", n + 1),
                reason: "the item has neither a GUID nor a link".into(),
            }));
            continue;
        };
        let id = item_article_id(&guid);
        if !seen.insert(guid.clone()) {
            items.push(Err(ItemFailure {
                label: id.to_string(),
                reason: format!(
                    "duplicate GUID {guid:?} in the feed (the first item with it is kept)"
                ),
            }));
            continue;
        }
        let title = entry
            .title
            .map(|t| t.content)
            .filter(|t| !t.trim().is_empty());
        let byline = entry
            .authors
            .first()
            .and_then(|a| a.name.clone())
            .filter(|a| !a.trim().is_empty());
        let content = entry
            .content
            .and_then(|c| c.body.map(|b| (b, c.content_type.to_string())))
            .filter(|(b, _)| !b.trim().is_empty());
        let summary = entry
            .summary
            .map(|s| (s.content, s.content_type.to_string()))
            .filter(|(b, _)| !b.trim().is_empty());
        let input = content.or(summary).map(|(body, ct)| {
            let is_html = ct.contains("html");
            ArticleInput {
                title,
                byline,
                html: is_html.then(|| body.clone()),
                text: (!is_html).then_some(body),
                url: link.clone(),
                voice: None,
                ..Default::default()
            }
        });
        items.push(Ok(FeedItem { id, guid, input }));
    }
    Ok(items)
}

/// The article ID for a GUID (or link): itself when valid, else `feed-` + 24 hex of its SHA-256.
pub fn item_article_id(guid: &str) -> ArticleId {
    if let Ok(id) = ArticleId::parse(guid) {
        return id;
    }
    let digest = hex::encode(Sha256::digest(guid.as_bytes()));
    ArticleId::parse(&format!("feed-{}", &digest[..24]))
        .expect("`feed-` + hex is a valid article ID")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>News</title>
<item><guid>story-1</guid><title>Budget</title><description>Short summary.</description>
  <content:encoded><![CDATA[<p>The council approved the budget.</p>]]></content:encoded></item>
<item><guid isPermaLink="true">https://news.example.com/2026/rail</guid><title>Rail</title><description>Rail services resumed.</description></item>
<item><link>https://news.example.com/no-guid</link><title>Linked</title></item>
<item><guid>story-1</guid><title>Again</title><description>Repeat.</description></item>
</channel></rss>"#;

    #[test]
    fn items_map_to_ids_with_content_and_duplicates_fail() {
        let items = parse_feed(RSS.as_bytes()).unwrap();
        assert_eq!(items.len(), 4);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.id.as_str(), "story-1");
        let input = first.input.as_ref().unwrap();
        assert!(
            input
                .html
                .as_deref()
                .unwrap()
                .contains("approved the budget"),
            "content wins over the summary"
        );
        let second = items[1].as_ref().unwrap();
        assert!(second.id.as_str().starts_with("feed-") && second.id.as_str().len() == 5 + 24);
        assert_eq!(
            second.id,
            item_article_id("https://news.example.com/2026/rail"),
            "stable across runs"
        );
        let third = items[2].as_ref().unwrap();
        assert_eq!(
            third.guid, "https://news.example.com/no-guid",
            "the link stands in for a missing GUID"
        );
        assert!(third.input.is_none(), "no content: left to the pull source");
        let dup = items[3].as_ref().unwrap_err();
        assert!(dup.reason.contains("duplicate GUID"), "{}", dup.reason);
    }

    #[test]
    fn atom_and_json_feed_items_carry_their_text() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title><id>urn:news</id><updated>2026-11-25T00:00:00Z</updated>
<entry><id>tag:news.example.com,2026:harbour</id><title>Harbour</title><updated>2026-11-25T00:00:00Z</updated>
<author><name>Port desk</name></author>
<content type="html">&lt;p&gt;The harbour reopened.&lt;/p&gt;</content></entry></feed>"#;
        let items = parse_feed(atom.as_bytes()).unwrap();
        let item = items[0].as_ref().unwrap();
        assert_eq!(
            item.id,
            item_article_id("tag:news.example.com,2026:harbour")
        );
        let input = item.input.as_ref().unwrap();
        assert_eq!(input.byline.as_deref(), Some("Port desk"));
        assert!(input
            .html
            .as_deref()
            .unwrap()
            .contains("The harbour reopened."));

        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "News",
            "items": [{"id": "jf-1", "title": "Rail", "content_text": "Trains ran again on Tuesday."}]}"#;
        let items = parse_feed(json.as_bytes()).unwrap();
        let item = items[0].as_ref().unwrap();
        assert_eq!(item.id.as_str(), "jf-1");
        let input = item.input.as_ref().unwrap();
        assert_eq!(
            input.text.as_deref().or(input.html.as_deref()),
            Some("Trains ran again on Tuesday.")
        );
    }

    #[test]
    fn malformed_feeds_are_errors() {
        for bad in [
            "<rss><channel><item>",
            "not a feed at all",
            "{\"version\": 7}",
        ] {
            assert!(
                matches!(parse_feed(bad.as_bytes()), Err(FeedError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
