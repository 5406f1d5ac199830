//! Layered configuration: compiled defaults, then `audioby.toml` (if present, or the file
//! named by `--config` / `AUDIOBY_CONFIG`), then `AUDIOBY_*` environment variables, then CLI
//! flags. Every key is documented in the sample `audioby.toml` at the top of the repository.
//!
//! Each module defines the settings it reads, deserialized straight from its section
//! (`[engine]` is `tts::EngineOptions`, `[text]` is `text::SegmentOptions`, `[source]` is
//! `article::source::SourceSettings`, …); this module only aggregates them and loads the layers,
//! so dependencies point from `config` to the modules, never back.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::article::extract::ExtractOptions;
use crate::article::source::SourceSettings;
use crate::audio::EncoderOptions;
use crate::pipeline::{CacheSettings, PipelineSettings, QueueSettings};
use crate::queue::DatabaseSettings;
use crate::store::{FsSettings, S3Settings, StoreSettings};
use crate::telemetry::LogSettings;
use crate::text::SegmentOptions;
use crate::tts::EngineOptions;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Database, cache and generated key live here.
    pub data_dir: PathBuf,
    /// Folder scanned for `*.onnx` + `*.onnx.json` Piper voices.
    pub voices_dir: PathBuf,
    /// Voice used when a request names none (id or alias). Default: the first voice found.
    pub default_voice: Option<String>,
    /// Pronunciation lexicon (TOML, see docs/LEXICON.md). Missing file = no lexicon.
    pub lexicon: Option<PathBuf>,
    /// Inference sessions and threads per voice (`[engine]`, read by `tts::Engine`).
    pub engine: EngineOptions,
    /// Segment length and pauses (`[text]`, read by `text::segment` and `text::ssml`).
    pub text: SegmentOptions,
    pub audio: EncoderOptions,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub openai: OpenAiSettings,
    pub queue: QueueSettings,
    /// Where audio, manifests, captions and cached segments are stored.
    pub store: StoreSettings,
    /// Publisher CSS selectors applied to every HTML article: `include` restricts extraction
    /// to matching elements, `exclude` drops them first.
    pub extract: ExtractOptions,
    /// Where articles come from besides pushes: the CMS pull template, and the fetch limits
    /// that also apply to feeds (`audioby prefetch --feed`).
    pub source: SourceSettings,
    pub cache: CacheSettings,
    /// Store the demo article (ID `seed`, served at `/`) at startup and make its audio.
    pub demo: bool,
    /// What `audioby serve` runs: `all` (API and workers), `api` or `worker`.
    pub role: Role,
    /// Where articles and the job queue live: the embedded SQLite file, or PostgreSQL.
    pub database: DatabaseSettings,
    /// Podcast feeds: the publication and its feeds (`GET /feeds/{name}.xml`).
    pub feeds: crate::feeds::FeedSettings,
    /// Intros, outros and sponsor messages around every article's speech (`[clips]`).
    pub clips: crate::audio::clips::ClipSettings,
}

/// The parts of the service one process runs. Many `api` processes behind a load balancer and
/// many `worker` processes on other hosts share one PostgreSQL database (docs/DEPLOY.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The HTTP API and the article workers in one process (the default).
    #[default]
    All,
    /// The HTTP API only: enqueues, serves status and audio; loads no inference sessions.
    Api,
    /// Article workers only; HTTP serves just `/healthz`, `/readyz` and `/metrics`.
    Worker,
}

impl Role {
    /// Runs article workers.
    pub fn works(self) -> bool {
        self != Role::Api
    }

    /// Serves the public API.
    pub fn serves_api(self) -> bool {
        self != Role::Worker
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Direct synthesis input limit, in characters (413 above it).
    pub max_text_chars: usize,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Total size of request headers (names + values), in bytes; above it: 431 JSON.
    pub max_header_bytes: usize,
    /// Whole-request timeout for non-streaming requests, in seconds.
    pub request_timeout_secs: u64,
    /// API keys for writes and direct synthesis. Empty = generate one on first start.
    pub api_keys: Vec<String>,
    /// Origins allowed by CORS (publisher sites). Empty = none.
    pub cors_origins: Vec<String>,
    /// Per-client-IP limit on public, costly endpoints (the article-audio GET).
    pub rate_limit: RateLimitSettings,
    /// Per-client-IP limit on listening events (`POST /v1/events`), a budget of its own.
    pub events_rate_limit: RateLimitSettings,
    /// Body limit of `POST /v1/events`, in bytes: a real event is under 200.
    pub events_max_body_bytes: usize,
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` / `Forwarded` names the client
    /// for rate limiting. Empty = the peer address is the client.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client has to send a whole request head, from connecting (or from the first
    /// byte of a later request on a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may sit idle between requests.
    pub keep_alive_timeout_secs: u64,
    /// Open connections at most (also kept under the process's file limit). Above it the
    /// longest-idle connection is closed, or the new one gets a bare 503 if none is idle.
    pub max_connections: usize,
    /// Seconds in-flight responses get to finish after SIGTERM before their connections close.
    pub shutdown_timeout_secs: u64,
    /// Accept HTTP/2 without TLS (prior knowledge). Off: only HTTP/1.1 is spoken.
    pub h2c: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Sustained requests per minute per client IP; 0 disables the limit.
    pub per_minute: u32,
    /// Requests a client may make at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_minute: 120,
            burst: 30,
        }
    }
}

/// The OpenAI-compatible endpoint (`POST /v1/audio/speech`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenAiSettings {
    /// OpenAI voice name (alloy, echo, …) → audioby voice id or alias. Unmapped OpenAI
    /// names use the default voice, so existing clients work unchanged.
    pub voices: std::collections::BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("cache"),
            voices_dir: PathBuf::from("voices"),
            default_voice: None,
            lexicon: Some(PathBuf::from("lexicon.toml")),
            engine: EngineOptions::default(),
            text: SegmentOptions::default(),
            audio: EncoderOptions::default(),
            http: HttpSettings::default(),
            queue: QueueSettings::default(),
            store: StoreSettings::default(),
            extract: Default::default(),
            cache: CacheSettings::default(),
            demo: true,
            source: SourceSettings::default(),
            log: LogSettings::default(),
            openai: OpenAiSettings::default(),
            role: Role::default(),
            database: DatabaseSettings::default(),
            feeds: Default::default(),
            clips: Default::default(),
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_text_chars: 20_000,
            max_body_bytes: 2 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            request_timeout_secs: 300,
            api_keys: Vec::new(),
            cors_origins: Vec::new(),
            rate_limit: RateLimitSettings::default(),
            // A player sends a handful of events per listen: a burst of 30, then one a second.
            events_rate_limit: RateLimitSettings {
                per_minute: 60,
                burst: 30,
            },
            events_max_body_bytes: 4096,
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 10,
            keep_alive_timeout_secs: 60,
            max_connections: 4096,
            shutdown_timeout_secs: 10,
            h2c: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// What the article pipeline reads: its own sections, so `pipeline` never depends on
    /// `config` (config aggregates the modules' settings, not the other way round).
    pub fn pipeline(&self) -> PipelineSettings {
        PipelineSettings {
            queue: self.queue.clone(),
            cache: self.cache.clone(),
            text: self.text.clone(),
            audio: self.audio,
            extract: self.extract.clone(),
            source: self.source.clone(),
            publication: self.feeds.title.clone(),
            feeds: self.feeds.clone(),
            // Decoded at startup (`startup::load_clips`): this is I/O and may fail.
            clips: Default::default(),
        }
    }

    /// Defaults ← config file ← `AUDIOBY_*` environment. `file` overrides the default
    /// `./audioby.toml`; a named file that does not exist is an error, the default is optional.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, "AUDIOBY_")
    }

    /// [`Settings::load`] reading the variables named `<env_prefix>…` (tests use their own
    /// prefix, so the variables they set reach no other test).
    fn load_with_env(file: Option<&Path>, env_prefix: &str) -> Result<Settings, ConfigError> {
        let fig = Self::figment(file, env_prefix)?;
        let mut settings: Settings = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        if let Ok(keys) = std::env::var(format!("{env_prefix}API_KEYS")) {
            settings.http.api_keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(settings)
    }

    /// Both store backends' keys from the `[store]` section, whatever its `kind`:
    /// `migrate-store` copies between them before `kind` is switched (one line).
    pub fn store_backends(file: Option<&Path>) -> Result<(FsSettings, S3Settings), ConfigError> {
        let fig = Self::figment(file, "AUDIOBY_")?;
        let fs = fig
            .extract_inner("store")
            .map_err(|e| ConfigError(e.to_string()))?;
        let s3 = fig
            .extract_inner("store")
            .map_err(|e| ConfigError(e.to_string()))?;
        Ok((fs, s3))
    }

    fn figment(file: Option<&Path>, env_prefix: &str) -> Result<Figment, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!(
                    "config file {} not found",
                    path.display()
                )))
            }
            Some(path) => fig = fig.merge(Toml::file(path)),
            None => fig = fig.merge(Toml::file("audioby.toml")),
        }
        // AUDIOBY_ENGINE__SESSIONS=2 sets engine.sessions; AUDIOBY_API_KEYS is a list.
        fig = fig.merge(
            Env::prefixed(env_prefix)
                .ignore(&["API_KEYS", "CONFIG"])
                .split("__"),
        );
        Ok(fig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections deserialized straight into module types keep their file keys, env names
    /// and clamps: `engine.sessions`, `text.max_segment_chars` (40 to 10,000), and the fetch
    /// limits flattened into `[source]`.
    #[test]
    fn module_sections_keep_keys_env_names_and_clamps() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("audioby.toml");
        std::fs::write(
            &file,
            r#"
[engine]
sessions = 3
threads_per_session = 2
split_voice = false
[text]
max_segment_chars = 5
sentence_pause_ms = 100
[source]
url_template = "https://cms.example.com/a/{id}"
timeout_secs = 4
allow_hosts = ["cdn.example.com"]
refresh_after_secs = 7
[source.fields]
title = "/t"
"#,
        )
        .unwrap();
        let prefix = "AUDIOBYCONFIGTEST_";
        for (k, v) in [
            ("ENGINE__SESSIONS", "5"),
            ("TEXT__HEADING_PAUSE_MS", "900"),
            ("SOURCE__MAX_BYTES", "1000"),
            ("SOURCE__ALLOW_PRIVATE", "true"),
            ("API_KEYS", "k1, k2"),
            ("DATABASE__URL", "postgres://app:pw@db/audioby"),
            ("ROLE", "worker"),
        ] {
            std::env::set_var(format!("{prefix}{k}"), v);
        }
        let s = Settings::load_with_env(Some(&file), prefix).unwrap();
        assert_eq!(s.engine.sessions_per_voice, 5, "the environment wins");
        assert_eq!(s.engine.threads_per_session, 2);
        assert!(!s.engine.split_voice);
        assert!(!s.engine.lazy_sessions, "not a config key");
        assert_eq!(s.text.max_chars, 40, "clamped up to 40");
        assert_eq!(s.text.sentence_pause_ms, 100);
        assert_eq!(s.text.heading_pause_ms, 900);
        assert_eq!(s.text.paragraph_pause_ms, 600, "default kept");
        assert_eq!(
            s.source.url_template.as_deref(),
            Some("https://cms.example.com/a/{id}")
        );
        assert_eq!(s.source.fields.title, "/t");
        assert_eq!(s.source.fields.html, "/html", "default kept");
        assert_eq!(s.source.refresh_after_secs, 7);
        assert_eq!(s.source.fetch.timeout_secs, 4);
        assert_eq!(s.source.fetch.max_bytes, 1000);
        assert!(s.source.fetch.allow_private);
        assert_eq!(s.source.fetch.allow_hosts, ["cdn.example.com"]);
        assert_eq!(s.source.fetch.max_redirects, 3, "default kept");
        assert_eq!(s.http.api_keys, ["k1", "k2"]);
        assert_eq!(
            s.database.url.as_deref(),
            Some("postgres://app:pw@db/audioby")
        );
        assert_eq!(s.database.pool_size, 8, "default kept");
        assert_eq!(s.role, Role::Worker);
        assert!(
            !format!("{s:?}").contains("pw@"),
            "the password is never printed"
        );

        std::fs::write(&file, "[text]\nmax_segment_chars = 50000\n").unwrap();
        let s = Settings::load_with_env(Some(&file), "AUDIOBYCONFIGTEST_NONE_").unwrap();
        assert_eq!(s.text.max_chars, 10_000, "clamped down to 10,000");
        assert_eq!(s.engine.sessions_per_voice, 0, "0 = one per CPU core");
        assert!(s.engine.sessions() >= 1);
    }
}
