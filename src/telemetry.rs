//! Logging: `tracing` to stderr, human-readable or JSON, filtered by `RUST_LOG` or config.
use serde::{Deserialize, Serialize};
use tracing_subscriber::{fmt, EnvFilter};

/// `[log]`: how and how much the server logs (the CLI's other commands log warnings only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// An `EnvFilter` directive such as `info` or `audioby=debug`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Install the global subscriber once. Later calls are ignored (tests start many apps).
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format.eq_ignore_ascii_case("json") {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}
