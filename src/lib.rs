//! audioby: self-hosted article audio. The modules follow an article's path:
//!
//! - [`article`]: where articles come from (CMS pulls and feeds, through one SSRF-guarded
//!   fetcher), and HTML/Markdown/text → ordered blocks (extraction).
//! - [`text`]: speakable text: normalization for news, sentence segmentation, lexicon, SSML.
//! - [`input`]: streaming plain-text input (UTF-8 checked, chunked at line breaks).
//! - [`tts`]: the voice registry and the Piper engine (espeak-ng phonemes; each voice cut into
//!   an encoder and a windowed decoder, run in ONNX Runtime sessions).
//! - [`audio`]: streaming encoders: WAV, Ogg Opus, MP3.
//! - [`synth`]: direct synthesis, text stream → segments → engine → encoder.
//! - [`store`]: the content-addressed audio store (object_store backends).
//! - [`queue`]: the durable job queue and article repository (SQLite; traits for others).
//! - [`backends`]: the repository, queue and store a process opens from its settings.
//! - [`pipeline`]: article jobs: requests, workers, segment cache and synthesis of misses,
//!   assembly, cache eviction.
//! - [`prefetch`]: the nightly job over many articles.
//! - [`metrics`]: Prometheus metrics.
//! - [`http`]: routes, one module per resource, thin handlers over the library.
//! - [`player`]: the embeddable play button, demo pages and listening events.
//! - [`metrics`]: Prometheus counters, gauges and histograms, with setters for the other layers.
//! - [`config`], [`telemetry`], [`startup`]: settings, logging, building and running the server.
//! - [`cli`]: the `audioby` command line, one module per subcommand (`main.rs` only runs it).
pub mod article;
pub mod audio;
pub mod backends;
pub mod cli;
pub mod config;
pub mod http;
pub mod input;
pub mod metrics;
pub mod pipeline;
pub mod player;
pub mod prefetch;
pub mod queue;
pub mod startup;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod text;
pub mod tts;
