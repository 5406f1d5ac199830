//! Listening events from the player (`play`, `progress` 25/50/75/100, `ratechange`, `error`),
//! counted per article. Counts live in memory and are written through to
//! `<data_dir>/events.json` (temporary file + rename, so a crash never leaves a torn file)
//! before `POST /v1/events` answers, so `audioby stats` sees every acknowledged event.
//! Writes are grouped: while one write is in flight, later events are saved by the next one.
//! A small JSON file is enough at the volumes one server sees; the counts may move into the
//! database later without changing the HTTP or CLI surface.
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::article::id::ArticleId;

/// File name of the counts inside the data folder.
pub const EVENTS_FILE: &str = "events.json";
/// Distinct articles tracked; events for further unknown IDs are refused (bounded memory/file).
pub const MAX_ARTICLES: usize = 100_000;
/// Per-client budget: a burst of this many events, refilled at [`REFILL_PER_SEC`].
pub const BURST: f64 = 30.0;
pub const REFILL_PER_SEC: f64 = 1.0;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    Invalid(String),
    #[error("too many events from this client; slow down")]
    RateLimited,
    #[error("the event store is full")]
    Full,
    #[error("saving events: {0}")]
    Io(#[from] std::io::Error),
}

impl EventError {
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Invalid(_) => "invalid-event",
            EventError::RateLimited => "rate-limited",
            EventError::Full => "store-full",
            EventError::Io(_) => "io",
        }
    }
}

/// One validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerEvent {
    pub article: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    Play,
    /// Percent reached: 25, 50, 75 or 100.
    Progress(u8),
    /// The new playback rate, 0.25 to 4.
    RateChange(f64),
    Error,
}

/// Counts for one article, as `GET /v1/articles/{id}/stats` and `audioby stats --json` show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ArticleStats {
    pub play: u64,
    pub progress_25: u64,
    pub progress_50: u64,
    pub progress_75: u64,
    pub progress_100: u64,
    pub ratechange: u64,
    pub error: u64,
}

impl ArticleStats {
    fn count(&mut self, kind: EventKind) {
        let slot = match kind {
            EventKind::Play => &mut self.play,
            EventKind::Progress(25) => &mut self.progress_25,
            EventKind::Progress(50) => &mut self.progress_50,
            EventKind::Progress(75) => &mut self.progress_75,
            EventKind::Progress(_) => &mut self.progress_100,
            EventKind::RateChange(_) => &mut self.ratechange,
            EventKind::Error => &mut self.error,
        };
        *slot += 1;
    }
}

/// Parse and validate a `POST /v1/events` body: `{article, event, value?}`. The body is read as
/// JSON whatever its content type, so `navigator.sendBeacon` (text/plain, no preflight) works.
pub fn parse(body: &[u8]) -> Result<PlayerEvent, EventError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        article: String,
        event: String,
        #[serde(default)]
        value: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| EventError::Invalid(format!("malformed event: {e}")))?;
    let article = ArticleId::parse(&raw.article).map_err(|e| EventError::Invalid(e.to_string()))?;
    let number = || raw.value.as_ref().and_then(|v| v.as_f64());
    let kind = match raw.event.as_str() {
        "play" => EventKind::Play,
        "progress" => match number() {
            Some(p) if [25.0, 50.0, 75.0, 100.0].contains(&p) => EventKind::Progress(p as u8),
            _ => {
                return Err(EventError::Invalid(
                    "progress needs value 25, 50, 75 or 100".into(),
                ))
            }
        },
        "ratechange" => match number() {
            Some(r) if (0.25..=4.0).contains(&r) => EventKind::RateChange(r),
            _ => {
                return Err(EventError::Invalid(
                    "ratechange needs value between 0.25 and 4".into(),
                ))
            }
        },
        "error" => match &raw.value {
            None | Some(serde_json::Value::Null) => EventKind::Error,
            Some(serde_json::Value::String(s)) if s.len() <= 64 => EventKind::Error,
            _ => {
                return Err(EventError::Invalid(
                    "error value must be a short string".into(),
                ))
            }
        },
        other => {
            return Err(EventError::Invalid(format!(
                "unknown event {other:?}: expected play, progress, ratechange or error"
            )))
        }
    };
    Ok(PlayerEvent {
        article: article.as_str().to_string(),
        kind,
    })
}

struct Counts {
    by_article: BTreeMap<String, ArticleStats>,
    /// Bumped on every change; the writer records which version it saved.
    version: u64,
}

/// Per-article counts, written through to `events.json`.
pub struct EventStore {
    path: PathBuf,
    counts: Mutex<Counts>,
    /// The version last written to disk; held while writing, so writes never overlap.
    saved: tokio::sync::Mutex<u64>,
    limiter: RateLimiter,
}

impl EventStore {
    /// Open the store of a data folder, loading earlier counts.
    pub fn open(data_dir: &Path) -> std::io::Result<EventStore> {
        let path = data_dir.join(EVENTS_FILE);
        let by_article = read_file(&path)?;
        Ok(EventStore {
            path,
            counts: Mutex::new(Counts {
                by_article,
                version: 0,
            }),
            saved: tokio::sync::Mutex::new(0),
            limiter: RateLimiter::new(BURST, REFILL_PER_SEC),
        })
    }

    /// The one store per data folder in this process (handlers find it from the settings).
    pub fn for_data_dir(data_dir: &Path) -> std::io::Result<Arc<EventStore>> {
        static STORES: OnceLock<Mutex<HashMap<PathBuf, Arc<EventStore>>>> = OnceLock::new();
        let mut map = STORES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(data_dir) {
            return Ok(s.clone());
        }
        let store = Arc::new(EventStore::open(data_dir)?);
        map.insert(data_dir.to_path_buf(), store.clone());
        Ok(store)
    }

    /// Count an event from `client` and save it before returning.
    pub async fn record(
        &self,
        client: Option<IpAddr>,
        event: PlayerEvent,
    ) -> Result<(), EventError> {
        if !self.limiter.allow(client) {
            return Err(EventError::RateLimited);
        }
        let mine = {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            if !c.by_article.contains_key(&event.article) && c.by_article.len() >= MAX_ARTICLES {
                return Err(EventError::Full);
            }
            c.by_article
                .entry(event.article)
                .or_default()
                .count(event.kind);
            c.version += 1;
            c.version
        };
        self.save_up_to(mine).await
    }

    async fn save_up_to(&self, version: u64) -> Result<(), EventError> {
        let mut saved = self.saved.lock().await;
        if *saved >= version {
            return Ok(()); // a write that started after our change already saved it
        }
        let (snapshot, v) = {
            let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            (c.by_article.clone(), c.version)
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_file(&path, &snapshot))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        *saved = v;
        Ok(())
    }

    /// Counts for one article (zeros when it has none).
    pub fn stats(&self, article: &str) -> ArticleStats {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.by_article.get(article).cloned().unwrap_or_default()
    }
}

/// Read `events.json` (absent = no events yet).
pub fn read_file(path: &Path) -> std::io::Result<BTreeMap<String, ArticleStats>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// The counts of a data folder, for `audioby stats`.
pub fn read_data_dir(data_dir: &Path) -> std::io::Result<BTreeMap<String, ArticleStats>> {
    read_file(&data_dir.join(EVENTS_FILE))
}

fn write_file(path: &Path, counts: &BTreeMap<String, ArticleStats>) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&serde_json::to_vec_pretty(counts).map_err(std::io::Error::other)?)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Token bucket per client IP. Clients whose address is unknown (a server started without
/// connect info) share one bucket fifty times larger. Idle buckets are dropped when the map
/// grows, so memory stays bounded.
struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
}

impl RateLimiter {
    const MAX_CLIENTS: usize = 10_000;

    fn new(burst: f64, per_sec: f64) -> Self {
        Self {
            burst,
            per_sec,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, client: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= Self::MAX_CLIENTS && !b.contains_key(&client) {
            let full_after = self.burst / self.per_sec;
            b.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < full_after);
        }
        let scale = if client.is_none() { 50.0 } else { 1.0 };
        let (tokens, last) = b.entry(client).or_insert((self.burst * scale, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec * scale)
            .min(self.burst * scale);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let ok = |s: &str| parse(s.as_bytes()).unwrap().kind;
        assert_eq!(ok(r#"{"article":"seed","event":"play"}"#), EventKind::Play);
        assert_eq!(
            ok(r#"{"article":"a-1","event":"progress","value":50}"#),
            EventKind::Progress(50)
        );
        assert_eq!(
            ok(r#"{"article":"a","event":"ratechange","value":1.5}"#),
            EventKind::RateChange(1.5)
        );
        assert_eq!(
            ok(r#"{"article":"a","event":"error","value":"network"}"#),
            EventKind::Error
        );
        for bad in [
            r#"{"article":"a","event":"progress","value":30}"#,
            r#"{"article":"a","event":"ratechange","value":9}"#,
            r#"{"article":"a","event":"click"}"#,
            r#"{"article":"../etc/passwd","event":"play"}"#,
            r#"{"article":"","event":"play"}"#,
            r#"{"article":"a","event":"play","extra":1}"#,
            r#"not json"#,
        ] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(EventError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn counts_survive_a_restart_and_the_file_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        let ev = |k| PlayerEvent {
            article: "seed".into(),
            kind: k,
        };
        store.record(None, ev(EventKind::Play)).await.unwrap();
        store
            .record(None, ev(EventKind::Progress(25)))
            .await
            .unwrap();
        store.record(None, ev(EventKind::Play)).await.unwrap();
        let on_disk = read_data_dir(dir.path()).unwrap();
        assert_eq!(
            on_disk["seed"],
            ArticleStats {
                play: 2,
                progress_25: 1,
                ..Default::default()
            }
        );
        let reopened = EventStore::open(dir.path()).unwrap();
        assert_eq!(reopened.stats("seed").play, 2);
        assert_eq!(reopened.stats("other"), ArticleStats::default());
        // No temporary files are left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn rate_limit_refuses_after_the_burst_per_client() {
        let rl = RateLimiter::new(3.0, 0.001);
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert!((0..3).all(|_| rl.allow(a)));
        assert!(!rl.allow(a));
        assert!(rl.allow(b), "another client has its own budget");
    }
}
