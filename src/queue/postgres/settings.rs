//! The `[database]` section: which database holds articles and the queue, and how to reach a
//! PostgreSQL server.
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/db` for PostgreSQL; none or `sqlite://…` for the
    /// embedded file `<data_dir>/audioby.db` (a `sqlite://PATH` names another file).
    pub url: Option<String>,
    /// PostgreSQL connections per process. Sum over every process must stay below the
    /// server's `max_connections`.
    pub pool_size: u32,
    /// PostgreSQL `statement_timeout`, in milliseconds: a statement running longer is cancelled.
    pub statement_timeout_ms: u64,
    /// How long startup keeps retrying (exponential backoff) while the server is unreachable,
    /// in seconds, before it gives up.
    pub connect_timeout_secs: u64,
    /// Finished jobs (ready, failed, cancelled) older than this many seconds are deleted, so
    /// the jobs table does not grow forever. 0 keeps them.
    pub prune_finished_after_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            pool_size: 8,
            statement_timeout_ms: 30_000,
            connect_timeout_secs: 30,
            prune_finished_after_secs: 7 * 24 * 3600,
        }
    }
}

/// The URL may carry a password: never print it.
impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_deref().map(redact))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("prune_finished_after_secs", &self.prune_finished_after_secs)
            .finish()
    }
}

/// The URL without its password, for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{}{user}{hidden}{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        use super::redact;
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/audioby"),
            "postgres://app:***@db:5432/audioby"
        );
        assert_eq!(redact("postgres://app@db/a"), "postgres://app@db/a");
        assert_eq!(redact("postgres://db/a"), "postgres://db/a");
    }
}
