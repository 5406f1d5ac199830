//! Articles: where text comes from (CMS pulls and feeds, both through the SSRF-guarded
//! fetcher) and how a page becomes ordered blocks (extraction).
pub mod block;
pub mod eval;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod id;
pub mod record;
pub mod source;

pub use block::{Block, BlockKind};
pub use id::{ArticleId, InvalidArticleId};
pub use record::{ArticleInput, ArticleMeta, ArticleRecord};
