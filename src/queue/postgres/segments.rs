//! Segment cache bookkeeping in PostgreSQL: sizes and last use of cached segment audio, and
//! the log of synthesis events.
use async_trait::async_trait;
use sqlx::Row;

use super::PgRepo;
use crate::queue::{QueueError, SegmentRepo};

#[async_trait]
impl SegmentRepo for PgRepo {
    async fn log_segment(
        &self,
        cache_key: &str,
        job_id: &crate::queue::JobId,
    ) -> Result<(), QueueError> {
        sqlx::query("INSERT INTO segment_log (cache_key, job_id, at) VALUES ($1, $2, $3)")
            .bind(cache_key)
            .bind(job_id.as_str())
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn touch_segments(&self, segments: &[(String, u64)]) -> Result<(), QueueError> {
        if segments.is_empty() {
            return Ok(());
        }
        // One statement for the whole batch; the last size of a key repeated within it wins.
        let mut seen = std::collections::HashMap::new();
        for (key, bytes) in segments {
            seen.insert(key.as_str(), *bytes as i64);
        }
        let (keys, sizes): (Vec<&str>, Vec<i64>) = seen.into_iter().unzip();
        sqlx::query(
            "INSERT INTO segment_cache (cache_key, bytes, last_used)
             SELECT k, b, $3 FROM UNNEST($1::text[], $2::bigint[]) AS t(k, b)
             ON CONFLICT (cache_key) DO UPDATE SET last_used = excluded.last_used, bytes = excluded.bytes",
        )
        .bind(&keys)
        .bind(&sizes)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn segment_bytes(&self) -> Result<u64, QueueError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT SUM(bytes)::bigint FROM segment_cache")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    async fn eviction_candidates(&self, limit: u32) -> Result<Vec<(String, u64)>, QueueError> {
        // Segments of current renditions (the rendition of the article's current content hash)
        // are live.
        let rows = sqlx::query(
            "SELECT c.cache_key, c.bytes FROM segment_cache c
             WHERE NOT EXISTS (
               SELECT 1 FROM renditions r JOIN articles a ON a.id = r.article_id AND a.content_hash = r.content_hash
               WHERE r.segments ? c.cache_key)
             ORDER BY c.last_used, c.cache_key LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>("cache_key"),
                    r.get::<i64, _>("bytes").max(0) as u64,
                )
            })
            .collect())
    }

    async fn forget_segments(&self, keys: &[String]) -> Result<(), QueueError> {
        if keys.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM segment_cache WHERE cache_key = ANY($1)")
            .bind(keys)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
