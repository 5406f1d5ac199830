//! Listening-event counters in PostgreSQL (table `listen_events`) and the listen analytics
//! (migration 0003: `listen_reach`, and the day-scoped `listen_days`, `listen_listeners`,
//! `listen_progress`). Reach reports of one article are serialized by the lock on its
//! `listen_events` row, which their transaction takes first.
use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::PgRepo;
use crate::article::ArticleId;
use crate::queue::events::{
    day_of, listener_hash, new_salt, ArticleStats, EventRepo, ListenId, Listener, PlayerEvent,
    Salt, StatsRow, TransientRows, COUNTER_COLUMNS, MAX_DAILY_LISTENERS, MAX_DAILY_LISTENS,
    MAX_EVENT_ARTICLES, STATS_COLUMNS,
};
use crate::queue::QueueError;

/// Today's salt, made (with the deletion of earlier days' salts and hashes) by the day's
/// first caller; a concurrent first caller waits on the key, then reads the winner's salt.
async fn day_salt(tx: &mut Transaction<'_, Postgres>, day: i64) -> Result<Salt, QueueError> {
    let made = sqlx::query(
        "INSERT INTO listen_days (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(new_salt()?.to_vec())
    .execute(&mut **tx)
    .await?;
    if made.rows_affected() == 1 {
        forget_before(tx, day).await?;
    }
    let salt: Vec<u8> = sqlx::query_scalar("SELECT salt FROM listen_days WHERE day = $1")
        .bind(day)
        .fetch_one(&mut **tx)
        .await?;
    salt.try_into()
        .map_err(|_| QueueError::Corrupt("a day's salt is not 32 bytes".into()))
}

/// Delete what belongs to days before `today`: salts and listener hashes at once, listen
/// progress a day later (a listen may cross midnight).
async fn forget_before(tx: &mut Transaction<'_, Postgres>, today: i64) -> Result<(), QueueError> {
    for (sql, before) in [
        ("DELETE FROM listen_days WHERE day < $1", today),
        ("DELETE FROM listen_listeners WHERE day < $1", today),
        ("DELETE FROM listen_progress WHERE day < $1", today - 1),
    ] {
        sqlx::query(sql).bind(before).execute(&mut **tx).await?;
    }
    Ok(())
}

/// One more listen whose furthest sentence is `sentence`.
async fn reach_one(
    tx: &mut Transaction<'_, Postgres>,
    article: &ArticleId,
    sentence: u32,
) -> Result<(), QueueError> {
    sqlx::query(
        "INSERT INTO listen_reach (article_id, sentence, listens) VALUES ($1, $2, 1)
         ON CONFLICT (article_id, sentence) DO UPDATE SET listens = listen_reach.listens + 1",
    )
    .bind(article.as_str())
    .bind(sentence as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl EventRepo for PgRepo {
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError> {
        // `counter()` is one of a fixed set of column names, never client text.
        let Some(col) = event.kind.counter() else {
            return Ok(());
        };
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

    async fn record_listener(
        &self,
        article: &ArticleId,
        listener: &Listener,
    ) -> Result<bool, QueueError> {
        let day = day_of(self.now());
        let mut tx = self.pool.begin().await?;
        let salt = day_salt(&mut tx, day).await?;
        let hash = listener_hash(&salt, listener, article);
        // New today and under the day's cap (a full day counts no more uniques).
        let new = sqlx::query(
            "INSERT INTO listen_listeners (day, hash) SELECT $1, $2
             WHERE (SELECT listeners FROM listen_days WHERE day = $3) < $4
             ON CONFLICT (day, hash) DO NOTHING",
        )
        .bind(day)
        .bind(hash)
        .bind(day)
        .bind(MAX_DAILY_LISTENERS)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if new {
            sqlx::query("UPDATE listen_days SET listeners = listeners + 1 WHERE day = $1")
                .bind(day)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE listen_events SET unique_listens = unique_listens + 1 WHERE article_id = $1",
            )
            .bind(article.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn record_reach(
        &self,
        article: &ArticleId,
        listen: &ListenId,
        sentence: u32,
        sentences: u32,
    ) -> Result<(), QueueError> {
        let now = self.now();
        let day = day_of(now);
        let mut tx = self.pool.begin().await?;
        // The article's row first (a write: the transaction holds the write lock from here).
        let updated = sqlx::query(
            "UPDATE listen_events SET sentences = $1, updated_at = $2 WHERE article_id = $3",
        )
        .bind(sentences as i64)
        .bind(now)
        .bind(article.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let inserted = sqlx::query(
                "INSERT INTO listen_events (article_id, sentences, updated_at)
                 SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM listen_events) < $4
                 ON CONFLICT (article_id) DO UPDATE SET sentences = excluded.sentences,
                 updated_at = excluded.updated_at",
            )
            .bind(article.as_str())
            .bind(sentences as i64)
            .bind(now)
            .bind(MAX_EVENT_ARTICLES as i64)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(QueueError::EventsFull);
            }
        }
        let furthest: Option<i64> = sqlx::query_scalar(
            "SELECT furthest FROM listen_progress WHERE article_id = $1 AND listen_id = $2",
        )
        .bind(article.as_str())
        .bind(listen.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        match furthest {
            Some(f) if f >= sentence as i64 => {}
            Some(f) => {
                sqlx::query(
                    "UPDATE listen_progress SET furthest = $1 WHERE article_id = $2 AND listen_id = $3",
                )
                .bind(sentence as i64)
                .bind(article.as_str())
                .bind(listen.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE listen_reach SET listens = listens - 1
                     WHERE article_id = $1 AND sentence = $2 AND listens > 0",
                )
                .bind(article.as_str())
                .bind(f)
                .execute(&mut *tx)
                .await?;
                reach_one(&mut tx, article, sentence).await?;
            }
            None => {
                day_salt(&mut tx, day).await?;
                let new = sqlx::query(
                    "INSERT INTO listen_progress (article_id, listen_id, day, furthest)
                     SELECT $1, $2, $3, $4 WHERE (SELECT listens FROM listen_days WHERE day = $5) < $6",
                )
                .bind(article.as_str())
                .bind(listen.as_str())
                .bind(day)
                .bind(sentence as i64)
                .bind(day)
                .bind(MAX_DAILY_LISTENS)
                .execute(&mut *tx)
                .await?;
                if new.rows_affected() == 0 {
                    return Err(QueueError::EventsFull);
                }
                sqlx::query("UPDATE listen_days SET listens = listens + 1 WHERE day = $1")
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
                reach_one(&mut tx, article, sentence).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn forget_past_listeners(&self) -> Result<(), QueueError> {
        let mut tx = self.pool.begin().await?;
        forget_before(&mut tx, day_of(self.now())).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transient_rows(&self) -> Result<TransientRows, QueueError> {
        let pool = self.pool.clone();
        let salt_days: Vec<i64> = sqlx::query_scalar("SELECT day FROM listen_days ORDER BY day")
            .fetch_all(&pool)
            .await?;
        let count = |table: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&pool)
                    .await
                    .map(|n| n.max(0) as u64)
            }
        };
        Ok(TransientRows {
            salt_days,
            listeners: count("listen_listeners").await?,
            listens: count("listen_progress").await?,
        })
    }

    async fn article_stats(&self, article: &ArticleId) -> Result<ArticleStats, QueueError> {
        let row: Option<StatsRow> = sqlx::query_as(&format!(
            "SELECT {STATS_COLUMNS} FROM listen_events WHERE article_id = $1"
        ))
        .bind(article.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(ArticleStats::default());
        };
        let reach: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT sentence, listens FROM listen_reach WHERE article_id = $1 ORDER BY sentence",
        )
        .bind(article.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(ArticleStats::from_row(row, &reach))
    }

    async fn all_stats(&self) -> Result<BTreeMap<String, ArticleStats>, QueueError> {
        let rows: Vec<crate::queue::events::ArticleStatsRow> = sqlx::query_as(&format!(
            "SELECT article_id, {STATS_COLUMNS} FROM listen_events ORDER BY article_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let reach: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT article_id, sentence, listens FROM listen_reach ORDER BY article_id, sentence",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(crate::queue::events::join_stats(rows, reach))
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
