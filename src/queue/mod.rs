//! The durable job queue and the article repository. A job is one article version × voice ×
//! format set. Workers claim jobs with a lease they renew by heartbeat; a crashed worker's
//! lease expires and the job runs again. Failures retry with exponential backoff up to
//! `max_attempts`, then the job is `failed` with its error kept. Lost leases count too: a job
//! whose worker died `max_attempts` times (an article that crashes the process) is failed with
//! "worker died N times" instead of crash-looping every worker that claims it. Job IDs are
//! random ([`JobId`]), since they are public. The same article version and
//! voice is queued once (a unique key over active jobs); interactive jobs (a listener pressed
//! play) are claimed before prefetch jobs.
//!
//! The repository is split by role, the way pict-rs composes `FullRepo`: [`ArticleRepo`]
//! (articles and published renditions), [`JobRepo`] (the queue), [`SegmentRepo`] (segment
//! cache bookkeeping) and [`EventRepo`] (listening-event counters), joined in [`Repo`], which callers hold as `Arc<dyn Repo>`. The embedded
//! backend is SQLite (`sqlite.rs`, schema in `migrations/sqlite/`); a PostgreSQL backend
//! implements the same traits and passes the same [`contract`] suite. Time comes from an
//! injected [`Clock`].
mod clock;
#[doc(hidden)]
pub mod contract;
pub mod events;
mod job_id;
pub mod postgres;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::article::{ArticleId, ArticleRecord};
use crate::audio::AudioFormat;

pub use clock::{Clock, ManualClock, SystemClock};
pub use events::EventRepo;
pub use job_id::{InvalidJobId, JobId, JOB_ID_LEN};
pub use postgres::{copy, redact_url, DatabaseSettings, PgRepo};
pub use sqlite::SqliteRepo;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the queue is full ({0} jobs waiting)")]
    Full(u64),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Listening events for one more article would pass `events::MAX_EVENT_ARTICLES`.
    #[error("the event store is full")]
    EventsFull,
    /// The database file was deleted or replaced underneath the running process.
    #[error("database file gone: {0}")]
    FileGone(String),
    /// The database was migrated by a newer audioby: this binary must not write to it.
    #[error("the database schema (version {found}) is newer than this audioby knows (version {known}): upgrade audioby")]
    SchemaTooNew { found: i64, known: i64 },
}

impl QueueError {
    pub fn code(&self) -> &'static str {
        match self {
            QueueError::Db(_) if self.is_storage_full() => "storage-full",
            QueueError::Db(_) if self.is_storage_fault() => "storage-failed",
            QueueError::Db(_) => "database-error",
            QueueError::Corrupt(_) => "database-corrupt",
            QueueError::Full(_) => "queue-full",
            QueueError::Migrate(_) => "database-migration-failed",
            QueueError::EventsFull => "store-full",
            QueueError::FileGone(_) => "database-missing",
            QueueError::SchemaTooNew { .. } => "database-schema-too-new",
        }
    }

    /// The disk under the database is full (SQLite `SQLITE_FULL`, PostgreSQL `53100`).
    pub fn is_storage_full(&self) -> bool {
        match self {
            QueueError::Db(sqlx::Error::Database(d)) => {
                let code = d.code().unwrap_or_default();
                if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    primary_sqlite_code(&code) == Some(13)
                } else {
                    code == "53100"
                }
            }
            _ => false,
        }
    }

    /// A fault of the storage under the database rather than of the request: disk full, an
    /// I/O error, a read-only or vanished file, or a write lock that a faulted connection
    /// still holds. The repository recovers from these by itself once the cause clears.
    pub fn is_storage_fault(&self) -> bool {
        match self {
            QueueError::FileGone(_) => true,
            QueueError::Db(sqlx::Error::Database(d))
                if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
            {
                // FULL, IOERR, READONLY, CANTOPEN, BUSY, LOCKED.
                matches!(
                    primary_sqlite_code(&d.code().unwrap_or_default()),
                    Some(13 | 10 | 8 | 14 | 5 | 6)
                )
            }
            QueueError::Db(_) => self.is_storage_full(),
            _ => false,
        }
    }

    /// The database cannot be reached right now (down, restarting, out of connections): the
    /// request may succeed later, so the API answers 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            QueueError::Db(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::Protocol(_)
                ) || matches!(e, sqlx::Error::Database(d)
                // 57P01-03 admin shutdown, crash shutdown, cannot connect now; 53300 too many connections.
                if matches!(d.code().as_deref(), Some("57P01" | "57P02" | "57P03" | "53300")))
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Ready,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Ready => "ready",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "ready" => JobState::Ready,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Ready | JobState::Failed | JobState::Cancelled
        )
    }
}

/// Interactive jobs are claimed before prefetch jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Prefetch = 0,
    Interactive = 10,
}

/// A request to make audio for one article version with one voice.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub article: ArticleId,
    pub content_hash: String,
    pub voice: String,
    pub formats: Vec<AudioFormat>,
    pub priority: Priority,
    /// Re-synthesize every segment instead of using the segment cache.
    pub force: bool,
}

impl NewJob {
    /// Active jobs with the same key are deduplicated.
    pub fn unique_key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}",
            self.article, self.content_hash, self.voice
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: JobId,
    pub article: ArticleId,
    pub content_hash: String,
    pub voice: String,
    pub formats: Vec<AudioFormat>,
    pub priority: Priority,
    pub force: bool,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub error: Option<String>,
    pub segments_total: Option<u64>,
    /// Segments really synthesized by the last run (the rest came from the cache).
    pub segments_synthesized: Option<u64>,
    pub audio_seconds: Option<f64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Job {
    /// The fencing token of the claim `pop` just returned this job under.
    pub fn claim(&self) -> Claim {
        Claim {
            job: self.id.clone(),
            attempt: self.attempts,
        }
    }
}

/// A worker's hold on a running job, and the fencing token of everything it reports: the
/// attempt number its claim returned. Once the lease expired and another worker claimed the
/// job (the attempt moved on), or the job was cancelled, reports under the old claim are
/// refused, so a late worker never overwrites the result of the one that took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub job: JobId,
    pub attempt: u32,
}

/// What a finished job produced: the published rendition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rendition {
    pub article: ArticleId,
    pub content_hash: String,
    pub voice: String,
    pub duration: f64,
    /// Format → public file name (`<hash>.<ext>`).
    pub files: Vec<(AudioFormat, String)>,
    pub manifest: String,
    pub captions: String,
    pub created_at: i64,
    /// Segment cache keys (hex) this rendition was assembled from: they stay while it is current.
    pub segments: Vec<String>,
    /// The assembly settings it was made with (loudness, clips: `pipeline::clips`); empty
    /// for renditions published before the key existed.
    #[serde(default)]
    pub assembly: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct JobOutcome {
    pub segments_total: u64,
    pub segments_synthesized: u64,
    pub audio_seconds: f64,
}

/// How a failed attempt should be treated.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Transient: try again later (backoff), until attempts run out.
    Retry(String),
    /// Permanent: fail now (no speakable text, article gone…).
    Abort(String),
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct QueueStats {
    pub queued: u64,
    pub running: u64,
    pub failed: u64,
    pub ready: u64,
    /// Age of the oldest queued job, in seconds.
    pub oldest_queued_secs: f64,
}

/// The SQL both backends count jobs with: (state, jobs, oldest `created_at`) per state.
pub(crate) const STATS_SQL: &str =
    "SELECT state, COUNT(*), MIN(created_at) FROM jobs GROUP BY state";

impl QueueStats {
    /// From the rows of [`STATS_SQL`], at `now_ms`.
    pub(crate) fn from_states(rows: &[(String, i64, Option<i64>)], now_ms: i64) -> QueueStats {
        let mut s = QueueStats::default();
        for (state, n, oldest) in rows {
            let n = (*n).max(0) as u64;
            match state.as_str() {
                "queued" => {
                    s.queued = n;
                    s.oldest_queued_secs =
                        oldest.map(|o| (now_ms - o) as f64 / 1000.0).unwrap_or(0.0);
                }
                "running" => s.running = n,
                "failed" => s.failed = n,
                "ready" => s.ready = n,
                _ => {}
            }
        }
        s
    }
}

/// Articles as stored, and the renditions published for their versions.
#[async_trait]
pub trait ArticleRepo: Send + Sync {
    /// Insert or replace; returns true when the content hash changed (or the article is new).
    async fn upsert_article(&self, article: &ArticleRecord) -> Result<bool, QueueError>;
    async fn article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, QueueError>;
    async fn articles_since(&self, since_ms: i64) -> Result<Vec<ArticleId>, QueueError>;
    async fn rendition(
        &self,
        id: &ArticleId,
        content_hash: &str,
        voice: &str,
    ) -> Result<Option<Rendition>, QueueError>;
    /// Publish a rendition that no job reports (a feed's own rendition, assembled with the
    /// article's): insert, or replace the one of the same article version and voice key.
    /// Unfenced: such a rendition is derived from the version it names, so a late writer can
    /// only write the same thing again.
    async fn publish_rendition(&self, rendition: &Rendition) -> Result<(), QueueError>;
    /// Every object a current rendition references (never evicted).
    async fn live_objects(&self) -> Result<Vec<String>, QueueError>;
}

#[async_trait]
pub trait JobRepo: Send + Sync {
    /// Readiness: Ok when the database accepts a write now. A backend that can recover from a
    /// storage fault by itself (fresh connections) does so here.
    async fn ping(&self) -> Result<(), QueueError>;
    /// Enqueue, or return the active job with the same key (raising its priority if needed).
    async fn push(&self, job: NewJob) -> Result<Job, QueueError>;
    /// Claim the next runnable job for `worker` with a lease of `lease_ms`: queued jobs whose
    /// backoff has passed, and running jobs whose lease expired (their worker died), unless
    /// that job already used all its attempts: such a job is failed with "worker died N
    /// times" and never claimed again. The job's
    /// [`Job::claim`] is the token of this run for `heartbeat`, `complete` and `fail`.
    async fn pop(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>, QueueError>;
    /// [`JobRepo::pop`], only among jobs for `voices`: a worker claims only what it can speak.
    async fn pop_matching(
        &self,
        worker: &str,
        lease_ms: i64,
        voices: &[String],
    ) -> Result<Option<Job>, QueueError>;
    /// Extend the lease; false when the claim is no longer current (cancelled or re-claimed).
    async fn heartbeat(&self, claim: &Claim, lease_ms: i64) -> Result<bool, QueueError>;
    /// Publish the rendition and mark the job ready, atomically. False, and nothing written,
    /// when the claim is no longer current.
    async fn complete(
        &self,
        claim: &Claim,
        rendition: &Rendition,
        outcome: &JobOutcome,
    ) -> Result<bool, QueueError>;
    /// Record a failed attempt: queued again after a backoff, or failed for good (the returned
    /// state). None, and nothing written, when the claim is no longer current.
    async fn fail(&self, claim: &Claim, failure: Failure) -> Result<Option<JobState>, QueueError>;
    /// Give a running job back to the queue, claimable at once, without spending an attempt:
    /// a prefetch job yielding to a listener, or a worker shutting down. `max_attempts` grows
    /// by one instead of `attempts` going back, so attempt numbers (the fencing tokens) never
    /// repeat. False, and nothing written, when the claim is no longer current.
    async fn release(&self, claim: &Claim) -> Result<bool, QueueError>;
    /// Whether an interactive job (a listener waiting) is queued and runnable now: a worker
    /// on a prefetch job checks this after every segment and yields.
    async fn interactive_waiting(&self) -> Result<bool, QueueError>;
    async fn cancel(&self, job_id: &JobId) -> Result<Option<Job>, QueueError>;
    async fn job(&self, job_id: &JobId) -> Result<Option<Job>, QueueError>;
    /// The most recent job for an article (its state and error, for `audioby status`).
    async fn latest_job(&self, article: &ArticleId) -> Result<Option<Job>, QueueError>;
    /// Jobs ahead of this one (0 = next or running).
    async fn position(&self, job_id: &JobId) -> Result<u64, QueueError>;
    async fn stats(&self) -> Result<QueueStats, QueueError>;
    /// Delete finished jobs (ready, failed, cancelled) last changed more than `older_than_ms`
    /// ago; returns how many. Renditions stay: they are the published audio.
    async fn prune_finished(&self, older_than_ms: i64) -> Result<u64, QueueError>;
    /// A wake-up hint from other processes (PostgreSQL LISTEN/NOTIFY): notified when a job may
    /// have become claimable. Only a hint, it can be lost: workers still poll. None when the
    /// backend has none (SQLite: processes share a file and poll).
    fn wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}

/// Bookkeeping of the content-addressed segment cache (the audio itself is in the store).
#[async_trait]
pub trait SegmentRepo: Send + Sync {
    /// Record that a segment was synthesized (an event log the tests and metrics read).
    async fn log_segment(&self, cache_key: &str, job_id: &JobId) -> Result<(), QueueError>;
    /// Note that cached segments were written or read now (the LRU clock), with their size.
    async fn touch_segments(&self, segments: &[(String, u64)]) -> Result<(), QueueError>;
    /// Total bytes of cached segment audio.
    async fn segment_bytes(&self) -> Result<u64, QueueError>;
    /// Least recently used segments that no current article version uses, oldest first.
    async fn eviction_candidates(&self, limit: u32) -> Result<Vec<(String, u64)>, QueueError>;
    async fn forget_segments(&self, keys: &[String]) -> Result<(), QueueError>;
}

/// The whole repository, one backend: what startup opens and callers hold as `Arc<dyn Repo>`.
pub trait Repo: ArticleRepo + JobRepo + SegmentRepo + EventRepo {}

impl<T: ArticleRepo + JobRepo + SegmentRepo + EventRepo + ?Sized> Repo for T {}

/// The wall clock, for code outside the repository (which reads its injected [`Clock`]).
pub fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// The primary result code of an SQLite (extended) result code, e.g. 13 for SQLITE_FULL.
fn primary_sqlite_code(code: &str) -> Option<i32> {
    code.parse::<i32>().ok().map(|c| c & 0xff)
}

/// Attempts a job gets before it is failed for good.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;

/// A random duration in [0, max): spreads the polls and retries of many processes apart.
pub fn jitter(max: std::time::Duration) -> std::time::Duration {
    let mut b = [0u8; 8];
    // No randomness only means no spread.
    let _ = getrandom::fill(&mut b);
    let ms = max.as_millis() as u64;
    std::time::Duration::from_millis(u64::from_le_bytes(b).checked_rem(ms).unwrap_or(0))
}

/// Exponential backoff: 2 s, 4 s, 8 s… capped at 5 minutes.
pub fn backoff_ms(attempts: u32) -> i64 {
    let secs = 2u64.saturating_pow(attempts.clamp(1, 20)).min(300);
    secs as i64 * 1000
}
