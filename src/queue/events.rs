//! Listening events from the player (`play`, `progress` 25/50/75/100, `ratechange`, `error`),
//! counted per article in the repository. The HTTP layer validates them
//! (`player::events::parse`) and rate-limits clients; the repository only counts.
use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::QueueError;
use crate::article::ArticleId;

/// Distinct articles with counts; events for further articles are refused, so the table
/// stays bounded whatever IDs clients send.
pub const MAX_EVENT_ARTICLES: u64 = 100_000;

/// One validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerEvent {
    pub article: ArticleId,
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

impl EventKind {
    /// The counter this event adds to (a column of the events table, a field of
    /// [`ArticleStats`]).
    pub fn counter(self) -> &'static str {
        match self {
            EventKind::Play => "play",
            EventKind::Progress(25) => "progress_25",
            EventKind::Progress(50) => "progress_50",
            EventKind::Progress(75) => "progress_75",
            EventKind::Progress(_) => "progress_100",
            EventKind::RateChange(_) => "ratechange",
            EventKind::Error => "error",
        }
    }
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

/// The counter columns of the events table, in the order of [`ArticleStats::from_counts`].
pub(crate) const COUNTER_COLUMNS: &str =
    "play, progress_25, progress_50, progress_75, progress_100, ratechange, error";

/// One row of [`COUNTER_COLUMNS`].
pub(crate) type CounterRow = (i64, i64, i64, i64, i64, i64, i64);

impl ArticleStats {
    /// From a row of [`COUNTER_COLUMNS`] (negative counts, impossible, read as 0).
    pub(crate) fn from_counts(c: CounterRow) -> ArticleStats {
        let n = |v: i64| v.max(0) as u64;
        ArticleStats {
            play: n(c.0),
            progress_25: n(c.1),
            progress_50: n(c.2),
            progress_75: n(c.3),
            progress_100: n(c.4),
            ratechange: n(c.5),
            error: n(c.6),
        }
    }
}

#[async_trait]
pub trait EventRepo: Send + Sync {
    /// Count one event. `QueueError::Full` when the article is new and
    /// [`MAX_EVENT_ARTICLES`] articles already have counts.
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError>;
    /// Counts for one article (zeros when it has none).
    async fn article_stats(&self, article: &ArticleId) -> Result<ArticleStats, QueueError>;
    /// Counts of every article, by ID.
    async fn all_stats(&self) -> Result<BTreeMap<String, ArticleStats>, QueueError>;
    /// Take over counts kept elsewhere (the `events.json` of earlier releases): articles
    /// that already have counts are left alone, so importing twice changes nothing.
    /// Returns the number of articles added.
    async fn import_stats(
        &self,
        counts: &BTreeMap<String, ArticleStats>,
    ) -> Result<u64, QueueError>;
}
