//! Everything that runs the real voice: the server in process (`spawn_app`), the binary as a
//! child process, and the engine and encoders directly. One binary instead of one per file:
//! each test binary links all of audioby, and linking dominates the build. The browser test
//! (tests/browser.rs) keeps a binary of its own: its generation deadlines are Chromium's, and
//! beside these tests, sharing the engine, it ran past them on a loaded machine.
#[path = "../common/mod.rs"]
mod common;

mod clips;
mod feed_clips;
mod feeds;
mod http_api;
mod http_audio_files;
mod http_hostile;
mod http_openapi;
mod http_ops;
mod http_process;
mod http_stream;
mod http_synth;
mod live;
mod loudness;
mod markers;
mod openai_sdk;
mod pipeline;
mod player_events;
mod prefetch;
mod scale_out;
mod sources;
mod storage_faults;
mod store_s3;
mod synth;
mod voices;
