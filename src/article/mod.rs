//! Articles: where text comes from (sources) and how a page becomes ordered blocks (extraction).
pub mod block;
pub mod extract;

pub use block::{Block, BlockKind};
