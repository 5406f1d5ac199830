//! Listening-event counters in SQLite (table `listen_events`, migration 0002).
use std::collections::BTreeMap;

use async_trait::async_trait;

use super::SqliteRepo;
use crate::article::ArticleId;
use crate::queue::events::{
    ArticleStats, CounterRow, EventRepo, PlayerEvent, COUNTER_COLUMNS, MAX_EVENT_ARTICLES,
};
use crate::queue::QueueError;

#[async_trait]
impl EventRepo for SqliteRepo {
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError> {
        // `counter()` is one of a fixed set of column names, never client text.
        let col = event.kind.counter();
        let now = self.now();
        let updated = sqlx::query(&format!(
            "UPDATE listen_events SET {col} = {col} + 1, updated_at = ? WHERE article_id = ?"
        ))
        .bind(now)
        .bind(event.article.as_str())
        .execute(&self.pool())
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        // A new article: insert only while the table is under its bound, in one statement so
        // concurrent first events cannot overshoot it by more than a race's width.
        let inserted = sqlx::query(&format!(
            "INSERT INTO listen_events (article_id, {col}, updated_at)
             SELECT ?, 1, ? WHERE (SELECT COUNT(*) FROM listen_events) < ?
             ON CONFLICT(article_id) DO UPDATE SET {col} = {col} + 1, updated_at = excluded.updated_at"
        ))
        .bind(event.article.as_str())
        .bind(now)
        .bind(MAX_EVENT_ARTICLES as i64)
        .execute(&self.pool())
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(QueueError::EventsFull);
        }
        Ok(())
    }

    async fn article_stats(&self, article: &ArticleId) -> Result<ArticleStats, QueueError> {
        let row: Option<CounterRow> = sqlx::query_as(&format!(
            "SELECT {COUNTER_COLUMNS} FROM listen_events WHERE article_id = ?"
        ))
        .bind(article.as_str())
        .fetch_optional(&self.pool())
        .await?;
        Ok(row.map(ArticleStats::from_counts).unwrap_or_default())
    }

    async fn all_stats(&self) -> Result<BTreeMap<String, ArticleStats>, QueueError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT article_id, {COUNTER_COLUMNS} FROM listen_events ORDER BY article_id"
        ))
        .fetch_all(&self.pool())
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
        let mut tx = self.pool().begin().await?;
        for (article, s) in counts {
            let r = sqlx::query(&format!(
                "INSERT INTO listen_events (article_id, {COUNTER_COLUMNS}, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(article_id) DO NOTHING"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::events::EventKind;

    fn ev(article: &str, kind: EventKind) -> PlayerEvent {
        PlayerEvent {
            article: ArticleId::parse(article).unwrap(),
            kind,
        }
    }

    #[tokio::test]
    async fn counts_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audioby.db");
        let repo = SqliteRepo::open(&db).await.unwrap();
        repo.record_event(&ev("seed", EventKind::Play))
            .await
            .unwrap();
        repo.record_event(&ev("seed", EventKind::Progress(25)))
            .await
            .unwrap();
        repo.record_event(&ev("seed", EventKind::Play))
            .await
            .unwrap();
        repo.record_event(&ev("other", EventKind::RateChange(1.5)))
            .await
            .unwrap();
        drop(repo);
        let reopened = SqliteRepo::open(&db).await.unwrap();
        let seed = ArticleId::parse("seed").unwrap();
        assert_eq!(
            reopened.article_stats(&seed).await.unwrap(),
            ArticleStats {
                play: 2,
                progress_25: 1,
                ..Default::default()
            }
        );
        let none = ArticleId::parse("never-played").unwrap();
        assert_eq!(
            reopened.article_stats(&none).await.unwrap(),
            ArticleStats::default()
        );
        let all = reopened.all_stats().await.unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["other", "seed"]);
        assert_eq!(all["other"].ratechange, 1);
    }

    #[tokio::test]
    async fn importing_twice_counts_once_and_new_events_add_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let repo = SqliteRepo::open(&dir.path().join("audioby.db"))
            .await
            .unwrap();
        let old: BTreeMap<String, ArticleStats> = [(
            "seed".to_string(),
            ArticleStats {
                play: 7,
                error: 2,
                ..Default::default()
            },
        )]
        .into();
        assert_eq!(repo.import_stats(&old).await.unwrap(), 1);
        assert_eq!(repo.import_stats(&old).await.unwrap(), 0);
        repo.record_event(&ev("seed", EventKind::Play))
            .await
            .unwrap();
        let s = repo
            .article_stats(&ArticleId::parse("seed").unwrap())
            .await
            .unwrap();
        assert_eq!((s.play, s.error), (8, 2));
    }

    #[tokio::test]
    async fn the_table_is_bounded_but_known_articles_keep_counting() {
        let dir = tempfile::tempdir().unwrap();
        let repo = SqliteRepo::open(&dir.path().join("audioby.db"))
            .await
            .unwrap();
        let filler: BTreeMap<String, ArticleStats> = (0..MAX_EVENT_ARTICLES)
            .map(|i| (format!("a{i}"), ArticleStats::default()))
            .collect();
        assert_eq!(
            repo.import_stats(&filler).await.unwrap(),
            MAX_EVENT_ARTICLES
        );
        let err = repo
            .record_event(&ev("one-too-many", EventKind::Play))
            .await
            .unwrap_err();
        assert!(matches!(err, QueueError::EventsFull), "{err}");
        assert_eq!(err.code(), "store-full");
        repo.record_event(&ev("a7", EventKind::Play)).await.unwrap();
        let a7 = ArticleId::parse("a7").unwrap();
        assert_eq!(repo.article_stats(&a7).await.unwrap().play, 1);
    }
}
