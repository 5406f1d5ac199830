//! The job queue in SQLite. Claims are fenced by the attempt number: every report of a worker
//! matches `attempts` and `state = 'running'` in the same statement that changes the row.
use async_trait::async_trait;
use sqlx::Row;

use super::{encode, SqliteRepo};
use crate::article::ArticleId;
use crate::audio::AudioFormat;
use crate::queue::{
    backoff_ms, Claim, Failure, Job, JobId, JobOutcome, JobRepo, JobState, NewJob, Priority,
    QueueError, QueueStats, Rendition, DEFAULT_MAX_ATTEMPTS,
};

fn job_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Job, QueueError> {
    let corrupt = |what: &str| QueueError::Corrupt(format!("job row: {what}"));
    let formats: Vec<AudioFormat> =
        serde_json::from_str(r.get::<&str, _>("formats")).map_err(|_| corrupt("formats"))?;
    let state = JobState::parse(r.get::<&str, _>("state")).ok_or_else(|| corrupt("state"))?;
    let article =
        ArticleId::parse(r.get::<&str, _>("article_id")).map_err(|_| corrupt("article id"))?;
    let id = JobId::parse(r.get::<&str, _>("id")).map_err(|_| corrupt("id"))?;
    Ok(Job {
        id,
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

impl SqliteRepo {
    /// The claim, for any worker (`voices` None) or only jobs for the given voices.
    async fn claim(
        &self,
        worker: &str,
        lease_ms: i64,
        voices: Option<&[String]>,
    ) -> Result<Option<Job>, QueueError> {
        self.check_file()?;
        let now = self.now();
        let voices = voices.map(encode).transpose()?;
        // A lost lease is a used attempt: a job whose worker died `max_attempts` times (an
        // article that crashes the process) fails for good instead of crash-looping workers.
        sqlx::query(
            "UPDATE jobs SET state = 'failed', error = 'worker died ' || attempts || ' times',
               lease_until = NULL, updated_at = ?
             WHERE state = 'running' AND lease_until < ? AND attempts >= max_attempts",
        )
        .bind(now)
        .bind(now)
        .execute(&self.pool())
        .await?;
        // One statement: claiming is atomic even with several workers or processes.
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
             WHERE id = (
               SELECT id FROM jobs
               WHERE ((state = 'queued' AND run_after <= ?)
                  OR (state = 'running' AND lease_until < ? AND attempts < max_attempts))
                 AND (? IS NULL OR voice IN (SELECT value FROM json_each(?)))
               ORDER BY priority DESC, created_at, seq LIMIT 1)
             RETURNING *",
        )
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(&voices)
        .bind(&voices)
        .fetch_optional(&self.pool())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }
}

#[async_trait]
impl JobRepo for SqliteRepo {
    async fn ping(&self) -> Result<(), QueueError> {
        // A real write: `SELECT 1` never touches the file, and a read still works on a full
        // disk or with the write lock stuck.
        self.probe_write().await
    }

    async fn push(&self, job: NewJob) -> Result<Job, QueueError> {
        self.check_file()?;
        let now = self.now();
        let formats = encode(&job.formats)?;
        let key = job.unique_key();
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, seq, article_id, content_hash, voice, formats, unique_key, priority, force, state,
               attempts, max_attempts, run_after, created_at, updated_at)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)
             ON CONFLICT(unique_key) WHERE state IN ('queued', 'running') DO NOTHING",
        )
        .bind(JobId::generate().as_str())
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
        self.claim(worker, lease_ms, None).await
    }

    async fn heartbeat(&self, claim: &Claim, lease_ms: i64) -> Result<bool, QueueError> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(self.now() + lease_ms)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i64)
        .execute(&self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn complete(
        &self,
        claim: &Claim,
        r: &Rendition,
        o: &JobOutcome,
    ) -> Result<bool, QueueError> {
        let now = self.now();
        // The fenced job update comes first: it takes the write lock, and when the claim is
        // no longer current the rendition of the worker that took over stays untouched.
        let mut tx = self.pool().begin().await?;
        let ours = sqlx::query(
            "UPDATE jobs SET state = 'ready', error = NULL, lease_until = NULL, segments_total = ?, segments_synthesized = ?,
               audio_seconds = ?, updated_at = ? WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(o.segments_total as i64)
        .bind(o.segments_synthesized as i64)
        .bind(o.audio_seconds)
        .bind(now)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i64)
        .execute(&mut *tx)
        .await?;
        if ours.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_rendition(&mut *tx, r, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail(&self, claim: &Claim, failure: Failure) -> Result<Option<JobState>, QueueError> {
        let now = self.now();
        let Some(job) = self.job(&claim.job).await? else {
            return Ok(None);
        };
        let (state, message, run_after) = match failure {
            Failure::Retry(m) if claim.attempt < job.max_attempts => {
                (JobState::Queued, m, now + backoff_ms(claim.attempt))
            }
            Failure::Retry(m) | Failure::Abort(m) => (JobState::Failed, m, now),
        };
        let r = sqlx::query("UPDATE jobs SET state = ?, error = ?, run_after = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND attempts = ? AND state = 'running'")
            .bind(state.as_str())
            .bind(message)
            .bind(run_after)
            .bind(now)
            .bind(claim.job.as_str())
            .bind(claim.attempt as i64)
            .execute(&self.pool())
            .await?;
        Ok((r.rows_affected() == 1).then_some(state))
    }

    async fn release(&self, claim: &Claim) -> Result<bool, QueueError> {
        let now = self.now();
        let r = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, run_after = ?,
               max_attempts = max_attempts + 1, updated_at = ?
             WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(now)
        .bind(now)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i64)
        .execute(&self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn interactive_waiting(&self) -> Result<bool, QueueError> {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND priority >= ? AND run_after <= ?)",
        )
        .bind(Priority::Interactive as i64)
        .bind(self.now())
        .fetch_one(&self.pool())
        .await?;
        Ok(waiting)
    }

    async fn cancel(&self, job_id: &JobId) -> Result<Option<Job>, QueueError> {
        sqlx::query("UPDATE jobs SET state = 'cancelled', lease_until = NULL, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')")
            .bind(self.now())
            .bind(job_id.as_str())
            .execute(&self.pool())
            .await?;
        self.job(job_id).await
    }

    async fn job(&self, job_id: &JobId) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(job_id.as_str())
            .fetch_optional(&self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn latest_job(&self, article: &ArticleId) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE article_id = ? ORDER BY seq DESC LIMIT 1")
            .bind(article.as_str())
            .fetch_optional(&self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn position(&self, job_id: &JobId) -> Result<u64, QueueError> {
        let Some(job) = self.job(job_id).await? else {
            return Ok(0);
        };
        if job.state != JobState::Queued {
            return Ok(0);
        }
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs AS o, (SELECT seq FROM jobs WHERE id = ?) AS me
             WHERE o.state = 'queued' AND o.id != ?
               AND (o.priority > ? OR (o.priority = ? AND (o.created_at < ? OR (o.created_at = ? AND o.seq < me.seq))))",
        )
        .bind(job.id.as_str())
        .bind(job.id.as_str())
        .bind(job.priority as i64)
        .bind(job.priority as i64)
        .bind(job.created_at)
        .bind(job.created_at)
        .fetch_one(&self.pool())
        .await?;
        Ok(ahead as u64)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let rows = sqlx::query_as(crate::queue::STATS_SQL)
            .fetch_all(&self.pool())
            .await?;
        Ok(QueueStats::from_states(&rows, self.now()))
    }

    async fn pop_matching(
        &self,
        worker: &str,
        lease_ms: i64,
        voices: &[String],
    ) -> Result<Option<Job>, QueueError> {
        self.claim(worker, lease_ms, Some(voices)).await
    }

    async fn prune_finished(&self, older_than_ms: i64) -> Result<u64, QueueError> {
        let r = sqlx::query(
            "DELETE FROM jobs WHERE state IN ('ready', 'failed', 'cancelled') AND updated_at < ?",
        )
        .bind(self.now() - older_than_ms)
        .execute(&self.pool())
        .await?;
        Ok(r.rows_affected())
    }
}

/// Insert or replace the rendition of one article version and voice key (what `complete`
/// publishes with its job, and `ArticleRepo::publish_rendition` alone).
pub(super) async fn insert_rendition<'e>(
    ex: impl sqlx::SqliteExecutor<'e>,
    r: &Rendition,
    now: i64,
) -> Result<(), QueueError> {
    let files = encode(&r.files)?;
    let segments = encode(&r.segments)?;
    sqlx::query(
        "INSERT INTO renditions (article_id, content_hash, voice, duration, files, manifest, captions, created_at, segments, assembly)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(article_id, content_hash, voice) DO UPDATE SET duration = excluded.duration,
           files = excluded.files, manifest = excluded.manifest, captions = excluded.captions,
           created_at = excluded.created_at, segments = excluded.segments, assembly = excluded.assembly",
    )
    .bind(r.article.as_str())
    .bind(&r.content_hash)
    .bind(&r.voice)
    .bind(r.duration)
    .bind(files)
    .bind(&r.manifest)
    .bind(&r.captions)
    .bind(now)
    .bind(segments)
    .bind(&r.assembly)
    .execute(ex)
    .await?;
    Ok(())
}
