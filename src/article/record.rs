//! A stored article: what the publisher sent, the extracted blocks, and the content hash that
//! names this version (it changes only when the spoken text changes).
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::extract::{extract_html, extract_text, ExtractError, ExtractOptions};
use super::{ArticleId, Block, BlockKind};

/// What a publisher pushes (`PUT /v1/articles/{id}`) or a source yields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub title: Option<String>,
    pub byline: Option<String>,
    /// The body as HTML (exactly one of `html` and `text`); the readable part is extracted.
    pub html: Option<String>,
    /// The body as plain text; blank lines separate paragraphs.
    pub text: Option<String>,
    pub url: Option<String>,
    /// Voice id or alias; default: the server's default voice.
    pub voice: Option<String>,
    /// Section of the publication (feeds can select by it).
    #[serde(default)]
    pub section: Option<String>,
    /// Tags (feeds can select by them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Publication date, RFC 3339; default: when the article was last stored.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published: Option<chrono::DateTime<chrono::Utc>>,
}

/// An article's optional metadata: what feeds select and sort by. Not part of the content
/// hash (changing a tag re-synthesizes nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArticleMeta {
    pub section: Option<String>,
    pub tags: Vec<String>,
    pub published: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub title: Option<String>,
    pub byline: Option<String>,
    pub url: Option<String>,
    /// The raw body as sent (HTML or text).
    pub body: String,
    pub body_is_html: bool,
    /// Title first (as a `Title` block when known), then the body blocks.
    pub blocks: Vec<Block>,
    /// sha256 over the spoken blocks: the article *version*.
    pub content_hash: String,
    pub voice: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    #[serde(default)]
    pub meta: ArticleMeta,
}

#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("the article needs `html` or `text`")]
    NoBody,
    #[error("send either `html` or `text`, not both")]
    BothBodies,
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("the article has no speakable text")]
    NoSpeakableText,
    #[error("the article is {chars} characters long; the limit is {limit} (`[extract] max_article_chars`)")]
    TooLong { chars: usize, limit: usize },
}

impl ArticleError {
    pub fn code(&self) -> &'static str {
        match self {
            ArticleError::NoBody => "missing-body",
            ArticleError::BothBodies => "ambiguous-body",
            ArticleError::Extract(e) => e.code(),
            ArticleError::NoSpeakableText => "no-speakable-text",
            ArticleError::TooLong { .. } => "article-too-long",
        }
    }
}

impl ArticleRecord {
    /// Extract and hash an article. A title given by the publisher wins over the page's.
    pub fn build(
        id: ArticleId,
        input: ArticleInput,
        opts: &ExtractOptions,
        now_ms: i64,
    ) -> Result<ArticleRecord, ArticleError> {
        let (body, is_html) = match (input.html, input.text) {
            (Some(h), None) => (h, true),
            (None, Some(t)) => (t, false),
            (Some(_), Some(_)) => return Err(ArticleError::BothBodies),
            (None, None) => return Err(ArticleError::NoBody),
        };
        let extracted = if is_html {
            extract_html(&body, opts)?
        } else {
            extract_text(&body)
        };
        let title = input
            .title
            .filter(|t| !t.trim().is_empty())
            .or(extracted.title);
        let mut blocks = Vec::with_capacity(extracted.blocks.len() + 1);
        if let Some(t) = &title {
            blocks.push(Block::new(BlockKind::Title, t.trim()));
        }
        blocks.extend(
            extracted
                .blocks
                .into_iter()
                .filter(|b| b.text.chars().any(char::is_alphanumeric)),
        );
        if !blocks
            .iter()
            .any(|b| b.text.chars().any(char::is_alphanumeric))
        {
            return Err(ArticleError::NoSpeakableText);
        }
        let chars: usize = blocks.iter().map(|b| b.text.chars().count()).sum();
        if chars > opts.max_article_chars {
            return Err(ArticleError::TooLong {
                chars,
                limit: opts.max_article_chars,
            });
        }
        let content_hash = hash_blocks(&blocks);
        Ok(ArticleRecord {
            id,
            title,
            byline: input.byline.or(extracted.byline),
            url: input.url,
            body,
            body_is_html: is_html,
            blocks,
            content_hash,
            voice: input.voice,
            updated_at: now_ms,
            meta: ArticleMeta {
                section: input
                    .section
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                tags: input
                    .tags
                    .iter()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
                published: input.published,
            },
        })
    }
}

/// The version hash: kind and text of every block, length-prefixed so no two lists collide.
pub fn hash_blocks(blocks: &[Block]) -> String {
    let mut h = Sha256::new();
    for b in blocks {
        let kind = serde_json::to_string(&b.kind).unwrap_or_default();
        h.update((kind.len() as u64).to_le_bytes());
        h.update(kind.as_bytes());
        h.update((b.text.len() as u64).to_le_bytes());
        h.update(b.text.as_bytes());
    }
    hex::encode(h.finalize())
}
