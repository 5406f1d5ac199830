//! The `audioby` command line, one module per subcommand. Each subcommand is an
//! `#[derive(Args)]` struct whose `run` validates its raw arguments (ripgrep's
//! raw-then-validated arguments) and makes the library call; `main.rs` only parses, starts
//! telemetry, runs the command and reports errors. Flags win over the configuration:
//! [`Cli::settings`] layers them over defaults, `audioby.toml` and `AUDIOBY_*`.
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::backends::Backends;
use crate::config::Settings;
use crate::pipeline::Pipeline;
use crate::startup::{load_engine_with, load_lexicon};
use crate::tts::{Engine, EngineOptions, TtsError};

mod extract;
mod lexicon;
mod migrate_db;
mod migrate_store;
mod normalize;
mod prefetch;
mod serve;
mod stats;
mod status;
mod synth;
mod voices;
mod worker;

/// audioby: self-hosted article audio with local Piper voices.
///
/// Articles go in by ID, a local neural voice reads them, and listeners press play.
/// Configuration is layered: defaults, then audioby.toml, then AUDIOBY_* variables, then flags.
#[derive(Parser)]
#[command(name = "audioby", version, about, long_about)]
pub struct Cli {
    /// Config file (default: ./audioby.toml if it exists).
    #[arg(long, global = true, env = "AUDIOBY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Voices folder (*.onnx + *.onnx.json pairs).
    #[arg(
        long = "voices",
        global = true,
        env = "AUDIOBY_VOICES_DIR",
        value_name = "DIR"
    )]
    voices_dir: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (default 127.0.0.1:8080) and run article workers (see --role).
    Serve(serve::ServeArgs),
    /// Run article workers only (`serve --role worker`): claim jobs from the shared database
    /// for the voices installed here; HTTP serves only /healthz, /readyz and /metrics.
    Worker(worker::WorkerArgs),
    /// Synthesize text to an audio file or stdout.
    ///
    /// Reads TEXT, or stdin when no TEXT is given. Audio is written sentence by sentence, so
    /// inputs of any length work in constant memory. Examples:
    ///   audioby synth "Hello world." -o hello.mp3
    ///   audioby synth --format opus -o article.opus < article.txt
    ///   cat article.txt | audioby synth --format wav - > article.wav
    #[command(verbatim_doc_comment)]
    Synth(synth::SynthArgs),
    /// Normalize text for speech: one line in, exactly one line out (flushed after each).
    ///
    /// Numbers, money, dates, abbreviations, acronyms, URLs and symbols become words:
    ///   echo 'The $1.2bn deal was signed on Nov. 25, 2026.' | audioby normalize
    #[command(verbatim_doc_comment)]
    Normalize(normalize::NormalizeArgs),
    /// Extract the spoken text of an article page (HTML, Markdown or plain text).
    ///
    /// Prints the title, then one block per line. Navigation, ads, share buttons, captions,
    /// cookie banners and the page's own audio player are dropped.
    Extract(extract::ExtractArgs),
    /// Check the pronunciation lexicon against espeak-ng (the phonemizer behind the voices).
    Lexicon(lexicon::LexiconArgs),
    /// Listening events counted per article (play, progress 25/50/75/100 %, speed changes,
    /// errors), as reported by players with the `events` attribute.
    Stats(stats::StatsArgs),
    /// Prefetch audio for many articles: the nightly job.
    ///
    /// Enqueues the articles, works through them (cooperating with a running server through
    /// the shared queue), shows progress, and ends with a summary. Audio that is already
    /// ready is skipped, so re-runs are cheap. Exit code 1 if any article failed.
    ///   audioby prefetch --ids new-articles.txt
    ///   audioby prefetch --since 2026-11-24 --json >> prefetch.log
    ///   audioby prefetch --feed https://news.example.com/rss.xml
    #[command(verbatim_doc_comment)]
    Prefetch(prefetch::PrefetchArgs),
    /// Show the queue, or one article's audio status.
    Status(status::StatusArgs),
    /// List the voices found in the voices folder: id, language, sample rate, quality, speakers.
    Voices(voices::VoicesArgs),
    /// Copy the audio store to the other backend: local folder ↔ S3 bucket.
    ///
    /// Both backends' keys come from [store] (path; bucket, endpoint …) whatever its kind,
    /// so afterwards the switch is one line (kind = "s3"). Every copy is verified (size and
    /// sha256); progress is journaled in the data folder, so an interrupted run resumes and a
    /// re-run only verifies. Exit code 1 if any object failed.
    ///   audioby migrate-store --from fs --to s3
    ///   audioby migrate-store --from s3 --to fs --concurrency 16
    #[command(verbatim_doc_comment)]
    MigrateStore(migrate_store::MigrateStoreArgs),
    /// Copy a data folder's SQLite database (articles, jobs, segment records, listening events)
    /// into PostgreSQL. Resumable: re-running copies only what is missing.
    ///   AUDIOBY_DATABASE__URL=postgres://audioby@db/audioby audioby migrate-db --data-dir cache
    #[command(verbatim_doc_comment)]
    MigrateDb(migrate_db::MigrateDbArgs),
}

/// `--data-dir`, shared by every command that reads or writes the server's data folder.
#[derive(Args)]
struct DataDirArg {
    /// Data folder shared with the server: database, audio cache, listening events, generated
    /// API key (default ./cache).
    #[arg(long, env = "AUDIOBY_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDirArg {
    fn apply(&self, settings: &mut Settings) {
        if let Some(d) = &self.data_dir {
            settings.data_dir = d.clone();
        }
    }
}

impl Cli {
    /// The settings for this run: defaults ← config file ← `AUDIOBY_*` ← flags.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(v) = &self.voices_dir {
            settings.voices_dir = v.clone();
        }
        match &self.command {
            Command::Serve(a) => a.apply(&mut settings),
            Command::Worker(a) => a.apply(&mut settings),
            Command::Stats(a) => a.data_dir.apply(&mut settings),
            Command::Prefetch(a) => a.data_dir.apply(&mut settings),
            Command::Status(a) => a.data_dir.apply(&mut settings),
            Command::MigrateStore(a) => a.data_dir.apply(&mut settings),
            Command::MigrateDb(a) => a.apply(&mut settings),
            Command::Synth(_)
            | Command::Normalize(_)
            | Command::Extract(_)
            | Command::Lexicon(_)
            | Command::Voices(_) => {}
        }
        Ok(settings)
    }

    /// Log format and level: `--log-json` wins over the configured format; the server logs at
    /// the configured level, every other command only warnings (a CLI is quiet by default).
    pub fn log_filter<'a>(&self, settings: &'a Settings) -> (&'a str, &'a str) {
        let format = if self.log_json {
            "json"
        } else {
            settings.log.format.as_str()
        };
        let level = match self.command {
            Command::Serve(_) | Command::Worker(_) => settings.log.level.as_str(),
            _ => "warn",
        };
        (format, level)
    }

    /// Run the command.
    pub fn run(self, settings: Settings) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(a) => a.run(settings),
            Command::Worker(a) => a.run(settings),
            Command::Synth(a) => a.run(settings),
            Command::Normalize(a) => a.run(),
            Command::Extract(a) => a.run(),
            Command::Lexicon(a) => a.run(),
            Command::Stats(a) => a.run(settings),
            Command::Prefetch(a) => a.run(settings),
            Command::Status(a) => a.run(settings),
            Command::Voices(a) => a.run(settings),
            Command::MigrateStore(a) => a.run(settings, self.config.as_deref()),
            Command::MigrateDb(a) => a.run(settings),
        }
    }
}

/// The stable code of an error, printed as `audioby: error [code]: …`: the first error in
/// the chain that has one, else `error`.
pub fn error_code(e: &anyhow::Error) -> &'static str {
    e.chain()
        .find_map(|c| {
            c.downcast_ref::<crate::synth::SynthError>()
                .map(|s| s.code())
                .or_else(|| c.downcast_ref::<TtsError>().map(|t| t.code()))
                .or_else(|| {
                    c.downcast_ref::<crate::audio::AudioError>()
                        .map(|a| a.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::config::ConfigError>()
                        .map(|_| "config")
                })
                .or_else(|| {
                    c.downcast_ref::<crate::article::extract::ExtractError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::pipeline::PipelineError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::store::StoreError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::queue::QueueError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::queue::copy::CopyError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<crate::audio::clips::ClipError>()
                        .map(|x| x.code())
                })
        })
        .unwrap_or("error")
}

/// The article pipeline outside the server (`prefetch`, `status`): every database and store
/// the CLI opens is wired here, and only here.
async fn offline_pipeline(settings: Settings) -> anyhow::Result<Arc<Pipeline>> {
    // Sessions start on the first cache miss: a nightly run with nothing new to say never
    // pays for ONNX Runtime (the voice file is still read and hashed for the cache keys).
    let clips = crate::startup::load_clips(&settings).await?;
    let s = settings.clone();
    let engine = Arc::new(tokio::task::spawn_blocking(move || load_engine_lazily(&s)).await??);
    let lexicon = Arc::new(load_lexicon(&settings)?);
    let backends = Backends::open(&settings).await?;
    Ok(Pipeline::new(
        crate::pipeline::PipelineSettings {
            clips,
            ..settings.pipeline()
        },
        engine,
        lexicon,
        backends,
    ))
}

fn load_engine_lazily(settings: &Settings) -> Result<Engine, TtsError> {
    load_engine_with(
        settings,
        EngineOptions {
            lazy_sessions: true,
            ..settings.engine.clone()
        },
    )
}
