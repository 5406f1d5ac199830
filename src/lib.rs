//! audioby: self-hosted article audio. A library plus a thin binary (`main.rs` parses the
//! command line and reports errors; [`cli`] runs the commands). The modules follow an
//! article's path:
//!
//! - [`article`]: where articles come from (CMS pulls and feeds, through one SSRF-guarded
//!   fetcher, `article::fetch`), and HTML/Markdown/text → ordered blocks (extraction).
//! - [`text`]: speakable text: normalization for news, sentence segmentation, lexicon, SSML.
//! - [`input`]: streaming plain-text input (UTF-8 checked, chunked at line breaks).
//! - [`tts`]: the voice registry and the Piper engine (espeak-ng phonemes; each voice cut into
//!   an encoder and a windowed decoder, run in ONNX Runtime sessions). It speaks
//!   `tts::Utterance`s, not text segments.
//! - [`audio`]: streaming encoders: WAV, Ogg Opus, MP3; loudness (BS.1770 meter, leveler).
//! - [`synth`]: direct synthesis, text stream → segments → engine → encoder.
//! - [`store`]: the content-addressed audio store (object_store backends, `[store]`); it also
//!   names the public URL of every stored object.
//! - [`queue`]: the repository, split by role: `ArticleRepo`, `JobRepo` (leases, fencing
//!   tokens, backoff), `SegmentRepo`, `EventRepo`, joined in `Repo`; SQLite with versioned
//!   migrations, an injected clock, and a contract suite every backend passes.
//! - [`backends`]: `Backends::open(&Settings)`, the repository and store a process (server
//!   or CLI) works with, opened in one place.
//! - [`pipeline`]: article jobs, one module per concern: `request` (enqueue, status, ETA),
//!   `worker` (claim, heartbeat, run, retry), `synthesis` (segment cache and misses),
//!   `assembly` (loudness, encoders, manifest, chapters, WebVTT), `loudness` (per-voice
//!   calibration), `eviction` (cache budget).
//! - [`prefetch`]: the nightly job over many articles.
//! - [`feeds`]: podcast feeds (RSS + iTunes + Podcasting 2.0), chapters JSON, cover art.
//! - [`http`]: routes, one module per resource, thin handlers over the library; one error
//!   body, typed responses, each route registered once for the router and `/openapi.json`.
//! - [`player`]: the embeddable play button, demo pages and listening-event validation.
//! - [`metrics`]: Prometheus counters, gauges and histograms, with setters for the other layers.
//! - [`config`], [`telemetry`], [`startup`]: settings (aggregating each module's own settings
//!   type), logging, building and running the server.
//! - [`cli`]: the `audioby` command line, one module per subcommand.
pub mod article;
pub mod audio;
pub mod backends;
pub mod cli;
pub mod config;
pub mod feeds;
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
