//! Speakable text: normalization of English news prose, sentence segmentation, the
//! pronunciation lexicon and the SSML subset. Pure library code: no I/O, deterministic.
pub mod lexicon;
pub mod normalize;
pub mod segment;
pub mod ssml;

pub use lexicon::{Lexicon, LexiconError};
pub use segment::{segment_blocks, segment_text, split_sentences, Segment, SegmentOptions};
pub use ssml::{parse_ssml, parse_ssml_with_limits, SsmlDocument, SsmlError, SsmlLimits};
