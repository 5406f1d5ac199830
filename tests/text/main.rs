//! The text tests: extraction, segmentation, SSML, lexicon, normalization and the sample
//! config. No voice and no server, so this binary builds and runs fast. One binary instead
//! of one per file: each test binary links all of audioby, and linking dominates the build.
#[path = "../common/mod.rs"]
mod common;

mod config_sample;
mod extract;
mod extract_dev;
mod lexicon;
mod lexicon_check;
mod markers;
mod normalize_golden;
mod normalize_props;
mod segment;
mod ssml;
mod work;

#[global_allocator]
static ALLOCATOR: work::CountingAllocator = work::CountingAllocator;
