//! The embedded backend: one SQLite file (WAL mode) in the data folder, through sqlx.
use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::*;
use crate::article::{ArticleId, ArticleRecord};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    byline TEXT,
    url TEXT,
    body TEXT NOT NULL,
    body_is_html INTEGER NOT NULL,
    blocks TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    formats TEXT NOT NULL,
    unique_key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    force INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    lease_until INTEGER,
    worker TEXT,
    error TEXT,
    segments_total INTEGER,
    segments_synthesized INTEGER,
    audio_seconds REAL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_key ON jobs(unique_key) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(state, priority, created_at);
CREATE TABLE IF NOT EXISTS renditions (
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    voice TEXT NOT NULL,
    duration REAL NOT NULL,
    files TEXT NOT NULL,
    manifest TEXT NOT NULL,
    captions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    segments TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (article_id, content_hash, voice)
);
CREATE TABLE IF NOT EXISTS segment_cache (
    cache_key TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segment_cache_lru ON segment_cache(last_used);
CREATE TABLE IF NOT EXISTS segment_log (
    cache_key TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    at INTEGER NOT NULL
);
"#;

const DEFAULT_MAX_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct SqliteRepo {
    pool: SqlitePool,
}

impl SqliteRepo {
    pub async fn open(path: &Path) -> Result<SqliteRepo, QueueError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(include_str!("../../migrations/sqlite/0002_listen_events.sql"))
            .execute(&pool)
            .await?;
        Ok(SqliteRepo { pool })
    }

    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

fn job_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Job, QueueError> {
    let corrupt = |what: &str| QueueError::Corrupt(format!("job row: {what}"));
    let formats: Vec<AudioFormat> =
        serde_json::from_str(r.get::<&str, _>("formats")).map_err(|_| corrupt("formats"))?;
    let state = JobState::parse(r.get::<&str, _>("state")).ok_or_else(|| corrupt("state"))?;
    let article =
        ArticleId::parse(r.get::<&str, _>("article_id")).map_err(|_| corrupt("article id"))?;
    Ok(Job {
        id: r.get("id"),
        article,
        content_hash: r.get("content_hash"),
        voice: r.get("voice"),
        formats,
        priority: if r.get::<i64, _>("priority") >= Priority::Interactive as i64 {
            Priority::Interactive
        } else {
            Priority::Prefetch
        },
        force: r.get::<i64, _>("force") != 0,
        state,
        attempts: r.get::<i64, _>("attempts") as u32,
        max_attempts: r.get::<i64, _>("max_attempts") as u32,
        error: r.get("error"),
        segments_total: r.get::<Option<i64>, _>("segments_total").map(|v| v as u64),
        segments_synthesized: r
            .get::<Option<i64>, _>("segments_synthesized")
            .map(|v| v as u64),
        audio_seconds: r.get("audio_seconds"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

fn article_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ArticleRecord, QueueError> {
    Ok(ArticleRecord {
        id: ArticleId::parse(r.get::<&str, _>("id"))
            .map_err(|_| QueueError::Corrupt("article id".into()))?,
        title: r.get("title"),
        byline: r.get("byline"),
        url: r.get("url"),
        body: r.get("body"),
        body_is_html: r.get::<i64, _>("body_is_html") != 0,
        blocks: serde_json::from_str(r.get::<&str, _>("blocks"))
            .map_err(|_| QueueError::Corrupt("article blocks".into()))?,
        content_hash: r.get("content_hash"),
        voice: r.get("voice"),
        updated_at: r.get("updated_at"),
    })
}

#[async_trait]
impl ArticleRepo for SqliteRepo {
    async fn upsert_article(&self, a: &ArticleRecord) -> Result<bool, QueueError> {
        // Read, then one atomic upsert, outside a transaction: a deferred transaction that
        // reads and then writes fails with SQLITE_BUSY (no busy wait) when a worker writes
        // in between. A concurrent push of the same ID only blurs `changed`, never the data.
        let old: Option<String> =
            sqlx::query_scalar("SELECT content_hash FROM articles WHERE id = ?")
                .bind(a.id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let blocks =
            serde_json::to_string(&a.blocks).map_err(|e| QueueError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO articles (id, title, byline, url, body, body_is_html, blocks, content_hash, voice, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET title = excluded.title, byline = excluded.byline, url = excluded.url,
               body = excluded.body, body_is_html = excluded.body_is_html, blocks = excluded.blocks,
               content_hash = excluded.content_hash, voice = excluded.voice, updated_at = excluded.updated_at",
        )
        .bind(a.id.as_str())
        .bind(&a.title)
        .bind(&a.byline)
        .bind(&a.url)
        .bind(&a.body)
        .bind(a.body_is_html as i64)
        .bind(blocks)
        .bind(&a.content_hash)
        .bind(&a.voice)
        .bind(a.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(old.as_deref() != Some(a.content_hash.as_str()))
    }

    async fn article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, QueueError> {
        let row = sqlx::query("SELECT * FROM articles WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn articles_since(&self, since_ms: i64) -> Result<Vec<ArticleId>, QueueError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT id FROM articles WHERE updated_at >= ? ORDER BY updated_at")
                .bind(since_ms)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .filter_map(|s| ArticleId::parse(s).ok())
            .collect())
    }

    async fn rendition(
        &self,
        id: &ArticleId,
        content_hash: &str,
        voice: &str,
    ) -> Result<Option<Rendition>, QueueError> {
        let row = sqlx::query(
            "SELECT * FROM renditions WHERE article_id = ? AND content_hash = ? AND voice = ?",
        )
        .bind(id.as_str())
        .bind(content_hash)
        .bind(voice)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Rendition {
                article: id.clone(),
                content_hash: r.get("content_hash"),
                voice: r.get("voice"),
                duration: r.get("duration"),
                files: serde_json::from_str(r.get::<&str, _>("files"))
                    .map_err(|_| QueueError::Corrupt("rendition files".into()))?,
                manifest: r.get("manifest"),
                captions: r.get("captions"),
                created_at: r.get("created_at"),
                segments: serde_json::from_str(r.get::<&str, _>("segments")).unwrap_or_default(),
            })
        })
        .transpose()
    }

    async fn live_objects(&self) -> Result<Vec<String>, QueueError> {
        let rows = sqlx::query(
            "SELECT r.files, r.manifest, r.captions FROM renditions r JOIN articles a
             ON a.id = r.article_id AND a.content_hash = r.content_hash",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let files: Vec<(AudioFormat, String)> =
                serde_json::from_str(r.get::<&str, _>("files")).unwrap_or_default();
            out.extend(files.into_iter().map(|(_, f)| f));
            out.push(r.get("manifest"));
            out.push(r.get("captions"));
        }
        Ok(out)
    }
}

#[async_trait]
impl JobQueue for SqliteRepo {
    async fn ping(&self) -> Result<(), QueueError> {
        // A real read of a table: `SELECT 1` alone never touches the file, so it succeeds even
        // when the database is locked or unreadable.
        sqlx::query("SELECT 1 FROM jobs LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(())
    }

    async fn push(&self, job: NewJob) -> Result<Job, QueueError> {
        let now = now_ms();
        let formats =
            serde_json::to_string(&job.formats).map_err(|e| QueueError::Corrupt(e.to_string()))?;
        let key = job.unique_key();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO jobs (article_id, content_hash, voice, formats, unique_key, priority, force, state, attempts,
               max_attempts, run_after, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)
             ON CONFLICT(unique_key) WHERE state IN ('queued', 'running') DO NOTHING",
        )
        .bind(job.article.as_str())
        .bind(&job.content_hash)
        .bind(&job.voice)
        .bind(&formats)
        .bind(&key)
        .bind(job.priority as i64)
        .bind(job.force as i64)
        .bind(DEFAULT_MAX_ATTEMPTS as i64)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // Deduplicated: a listener pressing play lifts a queued prefetch job to the front.
            sqlx::query("UPDATE jobs SET priority = MAX(priority, ?), updated_at = ? WHERE unique_key = ? AND state IN ('queued', 'running')")
                .bind(job.priority as i64)
                .bind(now)
                .bind(&key)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "SELECT * FROM jobs WHERE unique_key = ? AND state IN ('queued', 'running')",
        )
        .bind(&key)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        job_from_row(&row)
    }

    async fn pop(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>, QueueError> {
        let now = now_ms();
        // One statement: claiming is atomic even with several workers or processes.
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
             WHERE id = (
               SELECT id FROM jobs
               WHERE (state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)
               ORDER BY priority DESC, created_at, id LIMIT 1)
             RETURNING *",
        )
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn heartbeat(
        &self,
        job_id: i64,
        worker: &str,
        lease_ms: i64,
    ) -> Result<bool, QueueError> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND worker = ? AND state = 'running'",
        )
        .bind(now_ms() + lease_ms)
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        r: &Rendition,
        o: &JobOutcome,
    ) -> Result<(), QueueError> {
        let now = now_ms();
        let files =
            serde_json::to_string(&r.files).map_err(|e| QueueError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO renditions (article_id, content_hash, voice, duration, files, manifest, captions, created_at, segments)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(article_id, content_hash, voice) DO UPDATE SET duration = excluded.duration,
               files = excluded.files, manifest = excluded.manifest, captions = excluded.captions,
               created_at = excluded.created_at, segments = excluded.segments",
        )
        .bind(r.article.as_str())
        .bind(&r.content_hash)
        .bind(&r.voice)
        .bind(r.duration)
        .bind(files)
        .bind(&r.manifest)
        .bind(&r.captions)
        .bind(now)
        .bind(serde_json::to_string(&r.segments).map_err(|e| QueueError::Corrupt(e.to_string()))?)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE jobs SET state = 'ready', error = NULL, lease_until = NULL, segments_total = ?, segments_synthesized = ?,
               audio_seconds = ?, updated_at = ? WHERE id = ? AND worker = ?",
        )
        .bind(o.segments_total as i64)
        .bind(o.segments_synthesized as i64)
        .bind(o.audio_seconds)
        .bind(now)
        .bind(job_id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        failure: Failure,
    ) -> Result<JobState, QueueError> {
        let now = now_ms();
        let Some(job) = self.job(job_id).await? else {
            return Ok(JobState::Failed);
        };
        let (state, message, run_after) = match failure {
            Failure::Retry(m) if job.attempts < job.max_attempts => {
                (JobState::Queued, m, now + backoff_ms(job.attempts))
            }
            Failure::Retry(m) | Failure::Abort(m) => (JobState::Failed, m, now),
        };
        sqlx::query("UPDATE jobs SET state = ?, error = ?, run_after = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND worker = ? AND state = 'running'")
            .bind(state.as_str())
            .bind(message)
            .bind(run_after)
            .bind(now)
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(state)
    }

    async fn cancel(&self, job_id: i64) -> Result<Option<Job>, QueueError> {
        sqlx::query("UPDATE jobs SET state = 'cancelled', lease_until = NULL, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')")
            .bind(now_ms())
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        self.job(job_id).await
    }

    async fn job(&self, job_id: i64) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn latest_job(&self, article: &ArticleId) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE article_id = ? ORDER BY id DESC LIMIT 1")
            .bind(article.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn position(&self, job_id: i64) -> Result<u64, QueueError> {
        let Some(job) = self.job(job_id).await? else {
            return Ok(0);
        };
        if job.state != JobState::Queued {
            return Ok(0);
        }
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND id != ?
               AND (priority > ? OR (priority = ? AND (created_at < ? OR (created_at = ? AND id < ?))))",
        )
        .bind(job.id)
        .bind(job.priority as i64)
        .bind(job.priority as i64)
        .bind(job.created_at)
        .bind(job.created_at)
        .bind(job.id)
        .fetch_one(&self.pool)
        .await?;
        Ok(ahead as u64)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut s = QueueStats::default();
        for r in rows {
            let n = r.get::<i64, _>("n") as u64;
            match r.get::<&str, _>("state") {
                "queued" => {
                    s.queued = n;
                    let oldest: Option<i64> = r.get("oldest");
                    s.oldest_queued_secs = oldest
                        .map(|o| (now_ms() - o) as f64 / 1000.0)
                        .unwrap_or(0.0);
                }
                "running" => s.running = n,
                "failed" => s.failed = n,
                "ready" => s.ready = n,
                _ => {}
            }
        }
        Ok(s)
    }

    async fn log_segment(&self, cache_key: &str, job_id: i64) -> Result<(), QueueError> {
        sqlx::query("INSERT INTO segment_log (cache_key, job_id, at) VALUES (?, ?, ?)")
            .bind(cache_key)
            .bind(job_id)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// (synthesis events, distinct segments)
    async fn segment_log_count(&self) -> Result<(u64, u64), QueueError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT cache_key) AS d FROM segment_log")
                .fetch_one(&self.pool)
                .await?;
        Ok((row.get::<i64, _>("n") as u64, row.get::<i64, _>("d") as u64))
    }

    async fn touch_segments(&self, segments: &[(String, u64)]) -> Result<(), QueueError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for (key, bytes) in segments {
            sqlx::query(
                "INSERT INTO segment_cache (cache_key, bytes, last_used) VALUES (?, ?, ?)
                 ON CONFLICT(cache_key) DO UPDATE SET last_used = excluded.last_used, bytes = excluded.bytes",
            )
            .bind(key)
            .bind(*bytes as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn segment_bytes(&self) -> Result<u64, QueueError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT SUM(bytes) FROM segment_cache")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0) as u64)
    }

    async fn eviction_candidates(&self, limit: u32) -> Result<Vec<(String, u64)>, QueueError> {
        // Segments of current renditions (rendition of the article's current content hash) are live.
        let rows = sqlx::query(
            "SELECT c.cache_key, c.bytes FROM segment_cache c
             WHERE NOT EXISTS (
               SELECT 1 FROM renditions r JOIN articles a ON a.id = r.article_id AND a.content_hash = r.content_hash,
                 json_each(r.segments) j
               WHERE j.value = c.cache_key)
             ORDER BY c.last_used LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>("cache_key"),
                    r.get::<i64, _>("bytes") as u64,
                )
            })
            .collect())
    }

    async fn forget_segments(&self, keys: &[String]) -> Result<(), QueueError> {
        let mut tx = self.pool.begin().await?;
        for k in keys {
            sqlx::query("DELETE FROM segment_cache WHERE cache_key = ?")
                .bind(k)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

mod events;
#[cfg(test)]
mod tests;
