//! Segment cache bookkeeping in SQLite: sizes and last use of cached segment audio, and the
//! log of synthesis events.
use async_trait::async_trait;
use sqlx::Row;

use super::SqliteRepo;
use crate::queue::{JobId, QueueError, SegmentRepo};

#[async_trait]
impl SegmentRepo for SqliteRepo {
    async fn log_segment(&self, cache_key: &str, job_id: &JobId) -> Result<(), QueueError> {
        sqlx::query("INSERT INTO segment_log (cache_key, job_id, at) VALUES (?, ?, ?)")
            .bind(cache_key)
            .bind(job_id.as_str())
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn touch_segments(&self, segments: &[(String, u64)]) -> Result<(), QueueError> {
        let now = self.now();
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
