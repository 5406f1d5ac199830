//! Layered configuration: compiled defaults, then `audioby.toml` (if present, or the file
//! named by `--config` / `AUDIOBY_CONFIG`), then `AUDIOBY_*` environment variables, then CLI
//! flags. Every key is documented in the sample `audioby.toml` at the top of the repository.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::audio::EncoderOptions;
use crate::pipeline::QueueSettings;
use crate::store::StoreSettings;
use crate::text::SegmentOptions;

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
    pub engine: EngineSettings,
    pub text: TextSettings,
    pub audio: EncoderOptions,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub openai: OpenAiSettings,
    pub queue: QueueSettings,
    /// Where audio, manifests, captions and cached segments are stored.
    pub store: StoreSettings,
    /// Publisher CSS selectors applied to every HTML article: `include` restricts extraction
    /// to matching elements, `exclude` drops them first.
    pub extract: crate::article::extract::ExtractOptions,
    /// Where articles come from besides pushes: the CMS pull template, and the fetch limits
    /// that also apply to feeds (`audioby prefetch --feed`).
    pub source: SourceSettings,
    pub cache: CacheSettings,
    /// Store the demo article (ID `seed`, served at `/`) at startup and make its audio.
    pub demo: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// Budget for cached segment audio, in bytes (0 = unlimited). Least recently used segments
    /// that no current article version uses are evicted above it; article audio never is.
    pub max_segment_bytes: u64,
}

/// The pull source (`[source]`). See `article::source` for how the limits are enforced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceSettings {
    /// CMS URL with `{id}`, e.g. `https://cms.example.com/api/articles/{id}`. Unset = no pulls:
    /// unknown article IDs are 404.
    pub url_template: Option<String>,
    /// JSON pointers (RFC 6901) into a JSON answer. An HTML answer is used as `html`.
    pub fields: SourceFields,
    /// Whole-fetch timeout (connect, headers and body), in seconds.
    pub timeout_secs: u64,
    /// Largest body accepted, counted while streaming (Content-Length is not trusted).
    pub max_bytes: u64,
    /// Redirects followed per fetch; every hop is checked against `allow_hosts`.
    pub max_redirects: usize,
    /// Hosts a fetch may reach, redirects included. Empty = the template's (or feed's) host only.
    pub allow_hosts: Vec<String>,
    /// Let the template's host (or a feed's own host) be on a loopback, link-local or private
    /// address, for an intranet CMS. Never extends to other hosts reached by redirect.
    pub allow_private: bool,
    /// A stored copy older than this is fetched again when asked for; 0 = never refetch.
    pub refresh_after_secs: u64,
}

/// JSON pointer per article field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceFields {
    pub title: String,
    pub html: String,
    pub text: String,
    pub byline: String,
    pub url: String,
}

impl Default for SourceFields {
    fn default() -> Self {
        Self {
            title: "/title".into(),
            html: "/html".into(),
            text: "/text".into(),
            byline: "/byline".into(),
            url: "/url".into(),
        }
    }
}

impl Default for SourceSettings {
    fn default() -> Self {
        Self {
            url_template: None,
            fields: SourceFields::default(),
            timeout_secs: 10,
            max_bytes: 5 * 1024 * 1024,
            max_redirects: 3,
            allow_hosts: Vec::new(),
            allow_private: false,
            refresh_after_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// Inference sessions per voice; 0 = one per CPU core.
    pub sessions: usize,
    /// ONNX Runtime intra-op threads per session.
    pub threads_per_session: usize,
    /// Phoneme characters in flight at once per voice: bounds inference memory.
    pub inflight_phonemes: usize,
    /// Cut each voice into encoder and decoder and decode in windows (less memory, faster).
    /// `false` runs the voice graph whole, as piper-tts does.
    pub split_voice: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TextSettings {
    /// Sentences longer than this many characters are split at clause boundaries.
    pub max_segment_chars: usize,
    pub sentence_pause_ms: u32,
    pub paragraph_pause_ms: u32,
    pub heading_pause_ms: u32,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// An `EnvFilter` directive such as `info` or `audioby=debug`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("cache"),
            voices_dir: PathBuf::from("voices"),
            default_voice: None,
            lexicon: Some(PathBuf::from("lexicon.toml")),
            engine: EngineSettings::default(),
            text: TextSettings::default(),
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
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            sessions: 0,
            threads_per_session: 1,
            inflight_phonemes: crate::tts::EngineOptions::default().inflight_phonemes,
            split_voice: true,
        }
    }
}

impl Default for TextSettings {
    fn default() -> Self {
        let s = SegmentOptions::default();
        Self {
            max_segment_chars: s.max_chars,
            sentence_pause_ms: s.sentence_pause_ms,
            paragraph_pause_ms: s.paragraph_pause_ms,
            heading_pause_ms: s.heading_pause_ms,
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
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Defaults ← config file ← `AUDIOBY_*` environment. `file` overrides the default
    /// `./audioby.toml`; a named file that does not exist is an error, the default is optional.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
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
            Env::prefixed("AUDIOBY_")
                .ignore(&["API_KEYS", "CONFIG"])
                .split("__"),
        );
        let mut settings: Settings = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        if let Ok(keys) = std::env::var("AUDIOBY_API_KEYS") {
            settings.http.api_keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from)
                .collect();
        }
        Ok(settings)
    }

    pub fn segment_options(&self) -> SegmentOptions {
        SegmentOptions {
            max_chars: self.text.max_segment_chars.clamp(40, 10_000),
            sentence_pause_ms: self.text.sentence_pause_ms,
            paragraph_pause_ms: self.text.paragraph_pause_ms,
            heading_pause_ms: self.text.heading_pause_ms,
        }
    }

    pub fn engine_options(&self) -> crate::tts::EngineOptions {
        let mut o = crate::tts::EngineOptions::default();
        if self.engine.sessions > 0 {
            o.sessions_per_voice = self.engine.sessions;
        }
        o.threads_per_session = self.engine.threads_per_session.max(1);
        o.inflight_phonemes = self.engine.inflight_phonemes.max(1);
        o.split_voice = self.engine.split_voice;
        o
    }
}
