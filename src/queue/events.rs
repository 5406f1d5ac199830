//! Listening events from the player (`play`, `progress` 25/50/75/100, `ratechange`, `error`,
//! `reach`), counted per article in the repository. The HTTP layer validates them
//! (`player::events::parse`) and rate-limits clients; the repository only counts.
//!
//! Beyond the counters: **unique listens** (distinct listeners per article and day, summed
//! over days) and **drop-off** (how far each listen got, in sentences). A listener is
//! recognised by [`listener_hash`] of a random salt of the day, the client IP and the user
//! agent: the salt lives in the database (`listen_days`) only for its day, then it and the
//! day's hashes are deleted, so nothing stored can be tied to an address or linked across days.
//! A listen is a random ID the player makes per page load; its furthest sentence moves the
//! article's histogram (`listen_reach`, one row per sentence reached), from which the stats
//! derive the share of listens reaching each sentence and the average completion.
use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::QueueError;
use crate::article::ArticleId;

/// Distinct articles with counts; events for further articles are refused, so the table
/// stays bounded whatever IDs clients send.
pub const MAX_EVENT_ARTICLES: u64 = 100_000;

/// New listeners (article + client) recorded per day; further ones that day are not counted as
/// unique (their plays still are). Bounds the day's hash table (about 40 bytes a row).
pub const MAX_DAILY_LISTENERS: i64 = 1_000_000;

/// New listens (player page loads that reported how far they got) per day; further ones are
/// refused with `store-full`. Listen rows live two days at most (a listen may cross midnight).
pub const MAX_DAILY_LISTENS: i64 = 1_000_000;

/// Days are UTC days of the repository's clock.
pub const MS_PER_DAY: i64 = 86_400_000;

/// The UTC day number of a time in milliseconds since the epoch.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

/// A day's salt: 32 random bytes, made when the day's first listener is recorded.
pub type Salt = [u8; 32];

pub fn new_salt() -> Result<Salt, QueueError> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|e| QueueError::Corrupt(format!("no randomness for the day's salt: {e}")))?;
    Ok(salt)
}

/// Who is listening, as the server sees the request: the client IP after the trusted-proxy
/// logic and the user agent. Held in memory for one request, never stored: only
/// [`listener_hash`] of it reaches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub ip: IpAddr,
    pub user_agent: String,
}

/// sha256(day salt ‖ IP as 16 bytes ‖ article ‖ 0 ‖ user agent), first 8 bytes. The article is
/// inside the hash so one listener's articles cannot be joined either; 64 bits keep the chance
/// of two of a day's million listeners colliding under one in ten million.
pub fn listener_hash(salt: &Salt, listener: &Listener, article: &ArticleId) -> i64 {
    use sha2::{Digest, Sha256};
    let ip = match listener.ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    let mut h = Sha256::new();
    h.update(salt);
    h.update(ip);
    h.update(article.as_str().as_bytes());
    h.update([0u8]);
    h.update(listener.user_agent.as_bytes());
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("a sha256 digest has 8 bytes"))
}

/// One listen: a random ID the player makes per page load (never stored in the browser),
/// 8 to 64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenId(String);

impl ListenId {
    pub fn parse(s: &str) -> Result<ListenId, String> {
        let ok = (8..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(ListenId(s.to_string()))
        } else {
            Err("listen must be 8 to 64 characters of A-Z, a-z, 0-9, _ and -".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerEvent {
    pub article: ArticleId,
    pub kind: EventKind,
    /// The listen it belongs to (required for `reach`, optional otherwise).
    pub listen: Option<ListenId>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    Play,
    /// Percent reached: 25, 50, 75 or 100.
    Progress(u8),
    /// The new playback rate, 0.25 to 4.
    RateChange(f64),
    Error,
    /// The furthest sentence (0-based index in the published manifest) a listen reached.
    Reach(u32),
}

impl EventKind {
    /// The counter this event adds to (a column of the events table, a field of
    /// [`ArticleStats`]); `reach` has none (it moves the drop-off histogram instead).
    pub fn counter(self) -> Option<&'static str> {
        Some(match self {
            EventKind::Play => "play",
            EventKind::Progress(25) => "progress_25",
            EventKind::Progress(50) => "progress_50",
            EventKind::Progress(75) => "progress_75",
            EventKind::Progress(_) => "progress_100",
            EventKind::RateChange(_) => "ratechange",
            EventKind::Error => "error",
            EventKind::Reach(_) => return None,
        })
    }
}

/// Counts for one article, as `GET /v1/articles/{id}/stats` and `audioby stats --json` show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ArticleStats {
    pub play: u64,
    pub progress_25: u64,
    pub progress_50: u64,
    pub progress_75: u64,
    pub progress_100: u64,
    pub ratechange: u64,
    pub error: u64,
    /// Distinct listeners (client IP + user agent) per day, summed over days: one person on
    /// two days counts twice, since nothing links days.
    pub unique_listens: u64,
    /// Listens that reported how far they got (`reach` events), the drop-off's 100%.
    pub listens: u64,
    /// Sentences of the article's published audio when a listen last reported.
    pub sentences: u64,
    /// Mean share of the article's sentences a listen reached (0 to 1; 0 without listens).
    pub average_completion: f64,
    /// For each sentence, the share of listens that reached it (0 to 1; `sentences` long).
    pub dropoff: Vec<f64>,
}

/// The counter columns of the events table, in the order of [`ArticleStats::from_counts`].
pub(crate) const COUNTER_COLUMNS: &str =
    "play, progress_25, progress_50, progress_75, progress_100, ratechange, error";

/// One row of [`COUNTER_COLUMNS`].
pub(crate) type CounterRow = (i64, i64, i64, i64, i64, i64, i64);

/// The counters and the analytics columns, in the order of [`StatsRow`].
pub(crate) const STATS_COLUMNS: &str =
    "play, progress_25, progress_50, progress_75, progress_100, ratechange, error, unique_listens, sentences";

/// One row of [`STATS_COLUMNS`]: the seven counters, unique listens, sentences.
pub(crate) type StatsRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// A row of `SELECT article_id, {STATS_COLUMNS}`.
pub(crate) type ArticleStatsRow = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64);

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
            ..Default::default()
        }
    }

    /// From a [`STATS_COLUMNS`] row and the article's drop-off histogram: (sentence, listens
    /// whose furthest sentence it is). Histogram rows past the current sentence count (the
    /// article was edited shorter) count as reaching its last sentence.
    pub(crate) fn from_row(row: StatsRow, reach: &[(i64, i64)]) -> ArticleStats {
        let (a, b, c, d, e, f, g, unique, sentences) = row;
        let mut s = ArticleStats::from_counts((a, b, c, d, e, f, g));
        s.unique_listens = unique.max(0) as u64;
        s.sentences = sentences.max(0) as u64;
        s.add_reach(reach);
        s
    }

    /// Listens, drop-off and average completion from the histogram (see [`Self::from_row`]).
    fn add_reach(&mut self, reach: &[(i64, i64)]) {
        let n = self.sentences as usize;
        if n == 0 {
            return;
        }
        let mut furthest = vec![0u64; n];
        for &(sentence, listens) in reach {
            let i = (sentence.max(0) as usize).min(n - 1);
            furthest[i] += listens.max(0) as u64;
        }
        let total: u64 = furthest.iter().sum();
        self.listens = total;
        if total == 0 {
            self.dropoff = vec![0.0; n];
            return;
        }
        // Reaching sentence i = furthest at i or later: a suffix sum.
        let mut reached = vec![0u64; n];
        let mut acc = 0;
        for i in (0..n).rev() {
            acc += furthest[i];
            reached[i] = acc;
        }
        self.dropoff = reached.iter().map(|&r| r as f64 / total as f64).collect();
        let sentences_reached: u64 = furthest
            .iter()
            .enumerate()
            .map(|(i, &c)| c * (i as u64 + 1))
            .sum();
        self.average_completion = sentences_reached as f64 / (total as f64 * n as f64);
    }

    /// The share of listens reaching `percent` of the article (0 to 100): the drop-off at
    /// that sentence, for a text summary (`audioby stats`).
    pub fn reach_at_percent(&self, percent: u32) -> Option<f64> {
        let n = self.dropoff.len();
        if n == 0 || self.listens == 0 {
            return None;
        }
        let i = ((percent.min(100) as usize * n) / 100).min(n - 1);
        Some(self.dropoff[i])
    }
}

/// Every article's stats from the rows of `SELECT article_id, {STATS_COLUMNS}` and of
/// `SELECT article_id, sentence, listens FROM listen_reach`, both ordered by article.
pub(crate) fn join_stats(
    rows: Vec<ArticleStatsRow>,
    reach: Vec<(String, i64, i64)>,
) -> BTreeMap<String, ArticleStats> {
    let mut by_article: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (id, sentence, listens) in reach {
        by_article.entry(id).or_default().push((sentence, listens));
    }
    rows.into_iter()
        .map(|(id, a, b, c, d, e, f, g, u, n)| {
            let hist = by_article.remove(&id).unwrap_or_default();
            let stats = ArticleStats::from_row((a, b, c, d, e, f, g, u, n), &hist);
            (id, stats)
        })
        .collect()
}

/// What the day-scoped listener tables hold (for tests and for an operator checking that
/// nothing outlives its day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransientRows {
    /// Days that still have a salt (today's at most).
    pub salt_days: Vec<i64>,
    /// Listener hashes stored (today's only).
    pub listeners: u64,
    /// Listen progress rows (today's and yesterday's).
    pub listens: u64,
}

#[async_trait]
pub trait EventRepo: Send + Sync {
    /// Count one event. `QueueError::Full` when the article is new and
    /// [`MAX_EVENT_ARTICLES`] articles already have counts. A `reach` event counts nothing
    /// here: it goes through [`EventRepo::record_reach`].
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError>;
    /// A listener played the article: counted in `unique_listens` the first time today.
    /// Returns whether it was new today. Makes today's salt on the day's first call, and
    /// deletes the salts and listener hashes of earlier days then. Call after
    /// [`EventRepo::record_event`] of the play (which makes the article's row).
    async fn record_listener(
        &self,
        article: &ArticleId,
        listener: &Listener,
    ) -> Result<bool, QueueError>;
    /// A listen reached `sentence` of the `sentences` of the article's published audio: its
    /// furthest sentence moves forward (never back) in the article's histogram. A listen new
    /// today beyond [`MAX_DAILY_LISTENS`], or a new article beyond [`MAX_EVENT_ARTICLES`],
    /// is `QueueError::EventsFull`.
    async fn record_reach(
        &self,
        article: &ArticleId,
        listen: &ListenId,
        sentence: u32,
        sentences: u32,
    ) -> Result<(), QueueError>;
    /// Delete the salts and listener hashes of days before today and listen rows older than
    /// yesterday (the server calls it hourly, so a salt goes even on a day without events).
    async fn forget_past_listeners(&self) -> Result<(), QueueError>;
    /// What the day-scoped tables hold now.
    async fn transient_rows(&self) -> Result<TransientRows, QueueError>;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn who(ip: &str, ua: &str) -> Listener {
        Listener {
            ip: ip.parse().unwrap(),
            user_agent: ua.into(),
        }
    }

    #[test]
    fn a_listener_hashes_the_same_within_a_day_and_differently_after_the_salt_rotates() {
        let a = ArticleId::parse("story").unwrap();
        let (day1, day2) = (new_salt().unwrap(), new_salt().unwrap());
        assert_ne!(day1, day2, "each day gets fresh random bytes");
        let alice = who("203.0.113.7", "Firefox/140");
        assert_eq!(
            listener_hash(&day1, &alice, &a),
            listener_hash(&day1, &alice.clone(), &a)
        );
        assert_ne!(
            listener_hash(&day1, &alice, &a),
            listener_hash(&day2, &alice, &a),
            "nothing links one day's hash to the next"
        );
        // Every part of the identity, and the article, changes the hash.
        let base = listener_hash(&day1, &alice, &a);
        for other in [
            who("203.0.113.8", "Firefox/140"),
            who("203.0.113.7", "Firefox/141"),
            who("2001:db8::7", "Firefox/140"),
        ] {
            assert_ne!(listener_hash(&day1, &other, &a), base, "{other:?}");
        }
        let b = ArticleId::parse("story-2").unwrap();
        assert_ne!(listener_hash(&day1, &alice, &b), base);
        // An IPv4 client is the same whether the socket saw it as IPv4 or IPv4-mapped IPv6.
        assert_eq!(
            listener_hash(&day1, &who("::ffff:203.0.113.7", "Firefox/140"), &a),
            base
        );
        // The separator keeps article and user agent apart.
        let ab = ArticleId::parse("ab").unwrap();
        let abc = ArticleId::parse("abc").unwrap();
        assert_ne!(
            listener_hash(&day1, &who("203.0.113.7", "c"), &ab),
            listener_hash(&day1, &who("203.0.113.7", ""), &abc)
        );
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(MS_PER_DAY - 1), 0);
        assert_eq!(day_of(MS_PER_DAY), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn listen_ids_are_short_and_plain() {
        assert!(ListenId::parse("a1B2c3D4e5F6a7B8").is_ok());
        assert!(ListenId::parse("abc_def-12").is_ok());
        for bad in [
            "",
            "short",
            "has space in it",
            "semi;colon12",
            &"x".repeat(65),
        ] {
            assert!(ListenId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dropoff_and_completion_come_from_the_furthest_sentence_histogram() {
        // 4 sentences; listens stopped at sentence 0 (one), 1 (one), 3 (two).
        let s = ArticleStats::from_row((5, 0, 0, 0, 0, 0, 0, 3, 4), &[(0, 1), (1, 1), (3, 2)]);
        assert_eq!((s.play, s.unique_listens, s.sentences), (5, 3, 4));
        assert_eq!(s.listens, 4);
        assert_eq!(s.dropoff, vec![1.0, 0.75, 0.5, 0.5]);
        // (1 + 2 + 4 + 4) sentences of 4 × 4 listens.
        assert_eq!(s.average_completion, 11.0 / 16.0);
        assert_eq!(s.reach_at_percent(0), Some(1.0));
        assert_eq!(s.reach_at_percent(50), Some(0.5));
        assert_eq!(s.reach_at_percent(100), Some(0.5));
        // Edited shorter: rows past the end count as the last sentence.
        let s = ArticleStats::from_row((0, 0, 0, 0, 0, 0, 0, 0, 2), &[(0, 1), (5, 1)]);
        assert_eq!((s.listens, s.dropoff.clone()), (2, vec![1.0, 0.5]));
        assert_eq!(s.average_completion, 0.75);
        // No listens: zeros, one per sentence.
        let s = ArticleStats::from_row((1, 0, 0, 0, 0, 0, 0, 1, 3), &[]);
        assert_eq!((s.listens, s.dropoff.clone()), (0, vec![0.0; 3]));
        assert_eq!(s.reach_at_percent(10), None);
    }
}
