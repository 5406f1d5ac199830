//! Articles: where text comes from (sources) and how a page becomes ordered blocks (extraction).
pub mod block;
pub mod extract;
pub mod feed;
pub mod id;
pub mod record;
pub mod source;

pub use block::{Block, BlockKind};
pub use id::{ArticleId, InvalidArticleId};
pub use record::{ArticleInput, ArticleRecord};
