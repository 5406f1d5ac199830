//! Listening-event counters in PostgreSQL (table `listen_events`).
use std::collections::BTreeMap;

use async_trait::async_trait;

use super::PgRepo;
use crate::article::ArticleId;
use crate::queue::events::{
    ArticleStats, CounterRow, EventRepo, PlayerEvent, COUNTER_COLUMNS, MAX_EVENT_ARTICLES,
};
use crate::queue::QueueError;

#[async_trait]
impl EventRepo for PgRepo {
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError> {
        // `counter()` is one of a fixed set of column names, never client text.
        let col = event.kind.counter();
        let now = self.now();
        let updated = sqlx::query(&format!(
            "UPDATE listen_events SET {col} = {col} + 1, updated_at = $1 WHERE article_id = $2"
        ))
        .bind(now)
        .bind(event.article.as_str())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        // A new article: insert only while the table is under its bound.
        let inserted = sqlx::query(&format!(
            "INSERT INTO listen_events (article_id, {col}, updated_at)
             SELECT $1, 1, $2 WHERE (SELECT COUNT(*) FROM listen_events) < $3
             ON CONFLICT (article_id) DO UPDATE SET {col} = listen_events.{col} + 1, updated_at = excluded.updated_at"
        ))
        .bind(event.article.as_str())
        .bind(now)
        .bind(MAX_EVENT_ARTICLES as i64)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(QueueError::EventsFull);
        }
        Ok(())
    }

    async fn article_stats(&self, article: &ArticleId) -> Result<ArticleStats, QueueError> {
        let row: Option<CounterRow> = sqlx::query_as(&format!(
            "SELECT {COUNTER_COLUMNS} FROM listen_events WHERE article_id = $1"
        ))
        .bind(article.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ArticleStats::from_counts).unwrap_or_default())
    }

    async fn all_stats(&self) -> Result<BTreeMap<String, ArticleStats>, QueueError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT article_id, {COUNTER_COLUMNS} FROM listen_events ORDER BY article_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, a, b, c, d, e, f, g)| (id, ArticleStats::from_counts((a, b, c, d, e, f, g))))
            .collect())
    }

    async fn import_stats(
        &self,
        counts: &BTreeMap<String, ArticleStats>,
    ) -> Result<u64, QueueError> {
        let now = self.now();
        let mut added = 0;
        let mut tx = self.pool.begin().await?;
        for (article, s) in counts {
            let r = sqlx::query(&format!(
                "INSERT INTO listen_events (article_id, {COUNTER_COLUMNS}, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (article_id) DO NOTHING"
            ))
            .bind(article)
            .bind(s.play as i64)
            .bind(s.progress_25 as i64)
            .bind(s.progress_50 as i64)
            .bind(s.progress_75 as i64)
            .bind(s.progress_100 as i64)
            .bind(s.ratechange as i64)
            .bind(s.error as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            added += r.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }
}
