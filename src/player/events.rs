//! Listening events from the player (`play`, `progress` 25/50/75/100, `ratechange`, `error`,
//! `reach`): validation of what `POST /v1/events` receives, and [`record`], which counts one. The counts live in the repository
//! ([`crate::queue::EventRepo`], table `listen_events`), reached through the server's state;
//! clients are rate-limited by the API's one per-IP limiter (`[http] events_rate_limit`).
//! Earlier releases kept the counts in `<data_dir>/events.json`: [`import_legacy_file`]
//! moves them into the database once, on the first start of this release.
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::article::id::ArticleId;
use crate::pipeline::Pipeline;
pub use crate::queue::events::{ArticleStats, EventKind, ListenId, Listener, PlayerEvent};
use crate::queue::{EventRepo, QueueError};

/// File name of the counts of earlier releases inside the data folder.
pub const EVENTS_FILE: &str = "events.json";
/// What an imported `events.json` is renamed to (kept, not deleted: the operator's data).
pub const IMPORTED_EVENTS_FILE: &str = "events.json.imported";

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    Invalid(String),
    #[error("the event store is full")]
    Full,
    #[error("no article `{0}` is stored")]
    UnknownArticle(ArticleId),
    #[error("article `{0}` has no published audio yet")]
    NotReady(ArticleId),
    #[error(transparent)]
    Repo(QueueError),
    #[error(transparent)]
    Lookup(crate::pipeline::PipelineError),
}

impl EventError {
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Invalid(_) => "invalid-event",
            EventError::Full => "store-full",
            EventError::UnknownArticle(_) => "unknown-article",
            EventError::NotReady(_) => "audio-not-ready",
            EventError::Repo(e) => e.code(),
            EventError::Lookup(e) => e.code(),
        }
    }
}

impl From<QueueError> for EventError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::EventsFull => EventError::Full,
            other => EventError::Repo(other),
        }
    }
}

/// Parse and validate a `POST /v1/events` body: `{article, event, value?, listen?}`. The body
/// is read as JSON whatever its content type, so `navigator.sendBeacon` (text/plain, no
/// preflight) works. `reach` needs `listen` (the player's random ID for this listen) and a
/// sentence index as `value`; whether the index exists is checked against the article
/// ([`record`]).
pub fn parse(body: &[u8]) -> Result<PlayerEvent, EventError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        article: String,
        event: String,
        #[serde(default)]
        value: Option<serde_json::Value>,
        #[serde(default)]
        listen: Option<String>,
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| EventError::Invalid(format!("malformed event: {e}")))?;
    let article = ArticleId::parse(&raw.article).map_err(|e| EventError::Invalid(e.to_string()))?;
    let listen = raw
        .listen
        .as_deref()
        .map(ListenId::parse)
        .transpose()
        .map_err(EventError::Invalid)?;
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
        "reach" => match raw.value.as_ref().and_then(|v| v.as_u64()) {
            Some(i) if listen.is_some() && i <= u64::from(u32::MAX) => EventKind::Reach(i as u32),
            _ => {
                return Err(EventError::Invalid(
                    "reach needs a listen ID and value: a sentence index (0, 1, 2 …)".into(),
                ))
            }
        },
        other => {
            return Err(EventError::Invalid(format!(
                "unknown event {other:?}: expected play, progress, ratechange, error or reach"
            )))
        }
    };
    Ok(PlayerEvent {
        article,
        kind,
        listen,
    })
}

/// Count one validated event of a playable article with `sentences` sentences: the counter,
/// and for a play the listener (unique listens), for a reach the listen's furthest sentence.
/// `listener` is `None` when the request carried no usable identity (no unique is counted).
pub async fn record(
    repo: &dyn EventRepo,
    event: &PlayerEvent,
    listener: Option<&Listener>,
    sentences: u32,
) -> Result<(), EventError> {
    match (event.kind, &event.listen) {
        (EventKind::Reach(i), Some(listen)) => {
            if i >= sentences {
                return Err(EventError::Invalid(format!(
                    "reach {i} is past the article's {sentences} sentences"
                )));
            }
            repo.record_reach(&event.article, listen, i, sentences)
                .await?;
        }
        (EventKind::Reach(_), None) => {
            return Err(EventError::Invalid("reach needs a listen ID".into()))
        }
        (kind, _) => {
            repo.record_event(event).await?;
            if let (EventKind::Play, Some(who)) = (kind, listener) {
                repo.record_listener(&event.article, who).await?;
            }
        }
    }
    Ok(())
}

/// Events count only for a stored article with published audio (its current version, in
/// its own voice or any loaded one): a player can only have played such an article, and
/// made-up IDs must not fill the counters. Never pulls from the CMS (an event is no reason
/// to fetch anything). Returns the sentence count of that audio (the segments of its
/// manifest, one cache key each), which bounds `reach`.
pub async fn check_playable(
    pipeline: &Pipeline,
    loaded_voices: impl IntoIterator<Item = String>,
    id: &ArticleId,
) -> Result<u32, EventError> {
    let article = pipeline
        .article(id)
        .await
        .map_err(EventError::Lookup)?
        .ok_or_else(|| EventError::UnknownArticle(id.clone()))?;
    let mut voices: Vec<String> = Vec::new();
    if let Ok(v) = pipeline.voice_for(None, &article) {
        voices.push(v.info().id.clone());
    }
    for v in loaded_voices {
        if !voices.contains(&v) {
            voices.push(v);
        }
    }
    for voice in &voices {
        if let Some(r) = pipeline
            .rendition(id, &article.content_hash, voice)
            .await
            .map_err(EventError::Lookup)?
        {
            return Ok(u32::try_from(r.segments.len()).unwrap_or(u32::MAX));
        }
    }
    Err(EventError::NotReady(id.clone()))
}

/// Move the counts of an earlier release's `<data_dir>/events.json` into the repository, then
/// rename the file to `events.json.imported`. Idempotent: an import interrupted before the
/// rename runs again without counting anything twice (articles already in the table are
/// skipped). Returns the number of articles imported (0 when there is no file).
pub async fn import_legacy_file(
    repo: &dyn EventRepo,
    data_dir: &Path,
) -> Result<u64, LegacyImportError> {
    let path = data_dir.join(EVENTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(LegacyImportError::Io(e)),
    };
    let counts: BTreeMap<String, ArticleStats> = serde_json::from_slice(&bytes)
        .map_err(|e| LegacyImportError::Parse(format!("{}: {e}", path.display())))?;
    let added = repo.import_stats(&counts).await?;
    std::fs::rename(&path, data_dir.join(IMPORTED_EVENTS_FILE))?;
    tracing::info!(
        articles = added,
        from = %path.display(),
        "listening events imported into the database"
    );
    Ok(added)
}

#[derive(Debug, thiserror::Error)]
pub enum LegacyImportError {
    #[error("reading the old events file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the old events file is not valid: {0}")]
    Parse(String),
    #[error(transparent)]
    Repo(#[from] QueueError),
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
        let reach =
            parse(br#"{"article":"a","event":"reach","value":7,"listen":"abcdefgh12"}"#).unwrap();
        assert_eq!(reach.kind, EventKind::Reach(7));
        assert_eq!(reach.listen.unwrap().as_str(), "abcdefgh12");
        for bad in [
            r#"{"article":"a","event":"progress","value":30}"#,
            r#"{"article":"a","event":"ratechange","value":9}"#,
            r#"{"article":"a","event":"click"}"#,
            r#"{"article":"../etc/passwd","event":"play"}"#,
            r#"{"article":"","event":"play"}"#,
            r#"{"article":"a","event":"play","extra":1}"#,
            r#"not json"#,
            r#"{"article":"a","event":"reach","value":3}"#,
            r#"{"article":"a","event":"reach","listen":"abcdefgh12"}"#,
            r#"{"article":"a","event":"reach","value":-1,"listen":"abcdefgh12"}"#,
            r#"{"article":"a","event":"reach","value":1.5,"listen":"abcdefgh12"}"#,
            r#"{"article":"a","event":"reach","value":2,"listen":"no spaces!"}"#,
        ] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(EventError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn an_old_events_file_moves_into_the_database_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(EVENTS_FILE),
            r#"{"seed": {"play": 3, "progress_50": 1}, "story-1": {"error": 1}}"#,
        )
        .unwrap();
        let repo = crate::queue::SqliteRepo::open(&dir.path().join("audioby.db"))
            .await
            .unwrap();
        assert_eq!(import_legacy_file(&repo, dir.path()).await.unwrap(), 2);
        assert!(!dir.path().join(EVENTS_FILE).exists());
        assert!(dir.path().join(IMPORTED_EVENTS_FILE).exists());
        assert_eq!(import_legacy_file(&repo, dir.path()).await.unwrap(), 0);
        let all = repo.all_stats().await.unwrap();
        assert_eq!(
            all["seed"],
            ArticleStats {
                play: 3,
                progress_50: 1,
                ..Default::default()
            }
        );
        assert_eq!(all["story-1"].error, 1);
    }

    #[tokio::test]
    async fn a_corrupt_events_file_is_an_error_and_stays_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(EVENTS_FILE), "{not json").unwrap();
        let repo = crate::queue::SqliteRepo::open(&dir.path().join("audioby.db"))
            .await
            .unwrap();
        let err = import_legacy_file(&repo, dir.path()).await.unwrap_err();
        assert!(matches!(err, LegacyImportError::Parse(_)), "{err}");
        assert!(dir.path().join(EVENTS_FILE).exists());
    }
}
