//! The job queue in PostgreSQL. The claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE
//! SKIP LOCKED LIMIT 1) RETURNING`: concurrent claimers skip each other's row instead of
//! waiting on it, and each job goes to exactly one of them. Every later report is fenced by
//! the attempt number, matched with `state = 'running'` in the statement that changes the row.
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::Notify;

use super::{encode, PgRepo, CHANNEL};
use crate::article::ArticleId;
use crate::audio::AudioFormat;
use crate::queue::{
    backoff_ms, Claim, Failure, Job, JobId, JobOutcome, JobRepo, JobState, NewJob, Priority,
    QueueError, QueueStats, Rendition, DEFAULT_MAX_ATTEMPTS,
};

fn job_from_row(r: &sqlx::postgres::PgRow) -> Result<Job, QueueError> {
    let corrupt = |what: &str| QueueError::Corrupt(format!("job row: {what}"));
    let formats: Vec<AudioFormat> =
        serde_json::from_str(r.get::<&str, _>("formats")).map_err(|_| corrupt("formats"))?;
    let state = JobState::parse(r.get::<&str, _>("state")).ok_or_else(|| corrupt("state"))?;
    let article =
        ArticleId::parse(r.get::<&str, _>("article_id")).map_err(|_| corrupt("article id"))?;
    Ok(Job {
        id: JobId::parse(r.get::<&str, _>("id")).map_err(|_| corrupt("job id"))?,
        article,
        content_hash: r.get("content_hash"),
        voice: r.get("voice"),
        formats,
        priority: if r.get::<i32, _>("priority") >= Priority::Interactive as i32 {
            Priority::Interactive
        } else {
            Priority::Prefetch
        },
        force: r.get("force"),
        state,
        attempts: r.get::<i32, _>("attempts").max(0) as u32,
        max_attempts: r.get::<i32, _>("max_attempts").max(0) as u32,
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

impl PgRepo {
    /// The claim, for any worker (`voices` None) or only jobs for the given voices.
    async fn claim(
        &self,
        worker: &str,
        lease_ms: i64,
        voices: Option<&[String]>,
    ) -> Result<Option<Job>, QueueError> {
        let now = self.now();
        // A job whose worker died with its last attempt is failed, never claimed again.
        sqlx::query(
            "UPDATE jobs SET state = 'failed', error = 'worker died ' || attempts || ' times',
               lease_until = NULL, updated_at = $1
             WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', worker = $1, lease_until = $2,
               attempts = attempts + 1, updated_at = $3
             WHERE id = (
               SELECT id FROM jobs
               WHERE ((state = 'queued' AND run_after <= $3)
                   OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts))
                 AND ($4::text[] IS NULL OR voice = ANY($4))
               ORDER BY priority DESC, created_at, seq
               LIMIT 1
               FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(voices)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }
}

#[async_trait]
impl JobRepo for PgRepo {
    async fn ping(&self) -> Result<(), QueueError> {
        sqlx::query("SELECT 1 FROM jobs LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(())
    }

    async fn push(&self, job: NewJob) -> Result<Job, QueueError> {
        let now = self.now();
        // One statement: a new job, or the active one with this key, lifted to the higher
        // priority (a listener pressing play moves a queued prefetch job to the front).
        let row = sqlx::query(
            "INSERT INTO jobs (id, article_id, content_hash, voice, formats, unique_key, priority, force,
               state, attempts, max_attempts, run_after, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $10, $10, $10)
             ON CONFLICT (unique_key) WHERE state IN ('queued', 'running')
             DO UPDATE SET priority = GREATEST(jobs.priority, excluded.priority), updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(JobId::generate().as_str())
        .bind(job.article.as_str())
        .bind(&job.content_hash)
        .bind(&job.voice)
        .bind(encode(&job.formats)?)
        .bind(job.unique_key())
        .bind(job.priority as i32)
        .bind(job.force)
        .bind(DEFAULT_MAX_ATTEMPTS as i32)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let job = job_from_row(&row)?;
        // The hint for idle workers in other processes; losing it only costs a poll.
        if job.state == JobState::Queued {
            let _ = sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&self.pool)
                .await;
        }
        Ok(job)
    }

    async fn pop(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>, QueueError> {
        self.claim(worker, lease_ms, None).await
    }

    async fn pop_matching(
        &self,
        worker: &str,
        lease_ms: i64,
        voices: &[String],
    ) -> Result<Option<Job>, QueueError> {
        self.claim(worker, lease_ms, Some(voices)).await
    }

    async fn heartbeat(&self, claim: &Claim, lease_ms: i64) -> Result<bool, QueueError> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND attempts = $3 AND state = 'running'",
        )
        .bind(self.now() + lease_ms)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i32)
        .execute(&self.pool)
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
        // The fenced job update first: it locks the job row, so when the claim is no longer
        // current nothing is published, and the rendition commits with the job or not at all.
        let mut tx = self.pool.begin().await?;
        let ours = sqlx::query(
            "UPDATE jobs SET state = 'ready', error = NULL, lease_until = NULL, segments_total = $1,
               segments_synthesized = $2, audio_seconds = $3, updated_at = $4
             WHERE id = $5 AND attempts = $6 AND state = 'running'",
        )
        .bind(o.segments_total as i64)
        .bind(o.segments_synthesized as i64)
        .bind(o.audio_seconds)
        .bind(now)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i32)
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
        let (retry, message) = match failure {
            Failure::Retry(m) => (true, m),
            Failure::Abort(m) => (false, m),
        };
        // Retry or fail is decided in the statement, on the row it locks.
        let state: Option<String> = sqlx::query_scalar(
            "UPDATE jobs SET
               state = CASE WHEN $1 AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
               run_after = CASE WHEN $1 AND attempts < max_attempts THEN $2 ELSE $3 END,
               error = $4, lease_until = NULL, updated_at = $3
             WHERE id = $5 AND attempts = $6 AND state = 'running'
             RETURNING state",
        )
        .bind(retry)
        .bind(now + backoff_ms(claim.attempt))
        .bind(now)
        .bind(message)
        .bind(claim.job.as_str())
        .bind(claim.attempt as i32)
        .fetch_optional(&self.pool)
        .await?;
        Ok(state.as_deref().and_then(JobState::parse))
    }

    async fn release(&self, claim: &Claim) -> Result<bool, QueueError> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, run_after = $1, updated_at = $1,
               max_attempts = max_attempts + 1
             WHERE id = $2 AND attempts = $3 AND state = 'running'",
        )
        .bind(self.now())
        .bind(claim.job.as_str())
        .bind(claim.attempt as i32)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 1 {
            let _ = sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&self.pool)
                .await;
        }
        Ok(r.rows_affected() == 1)
    }

    async fn interactive_waiting(&self) -> Result<bool, QueueError> {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND priority >= $1 AND run_after <= $2)",
        )
        .bind(Priority::Interactive as i32)
        .bind(self.now())
        .fetch_one(&self.pool)
        .await?;
        Ok(waiting)
    }

    async fn cancel(&self, job_id: &JobId) -> Result<Option<Job>, QueueError> {
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', lease_until = NULL, updated_at = $1
             WHERE id = $2 AND state IN ('queued', 'running')",
        )
        .bind(self.now())
        .bind(job_id.as_str())
        .execute(&self.pool)
        .await?;
        self.job(job_id).await
    }

    async fn job(&self, job_id: &JobId) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(job_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn latest_job(&self, article: &ArticleId) -> Result<Option<Job>, QueueError> {
        let row = sqlx::query("SELECT * FROM jobs WHERE article_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(article.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn position(&self, job_id: &JobId) -> Result<u64, QueueError> {
        let ahead: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM jobs o WHERE o.state = 'queued' AND o.id <> j.id
                AND (o.priority > j.priority OR (o.priority = j.priority
                  AND (o.created_at < j.created_at OR (o.created_at = j.created_at AND o.seq < j.seq)))))
             FROM jobs j WHERE j.id = $1 AND j.state = 'queued'",
        )
        .bind(job_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(ahead.unwrap_or(0).max(0) as u64)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let rows = sqlx::query_as(crate::queue::STATS_SQL)
            .fetch_all(&self.pool)
            .await?;
        Ok(QueueStats::from_states(&rows, self.now()))
    }

    async fn prune_finished(&self, older_than_ms: i64) -> Result<u64, QueueError> {
        let r = sqlx::query(
            "DELETE FROM jobs WHERE state IN ('ready', 'failed', 'cancelled') AND updated_at < $1",
        )
        .bind(self.now() - older_than_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    fn wakeups(&self) -> Option<Arc<Notify>> {
        Some(self.wake())
    }
}

/// Insert or replace the rendition of one article version and voice key (what `complete`
/// publishes with its job, and `ArticleRepo::publish_rendition` alone).
pub(super) async fn insert_rendition<'e>(
    ex: impl sqlx::PgExecutor<'e>,
    r: &Rendition,
    now: i64,
) -> Result<(), QueueError> {
    let files = encode(&r.files)?;
    let segments = encode(&r.segments)?;
    sqlx::query(
        "INSERT INTO renditions (article_id, content_hash, voice, duration, files, manifest, captions, created_at, segments, assembly)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
         ON CONFLICT (article_id, content_hash, voice) DO UPDATE SET duration = excluded.duration,
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
