//! Listening-event counters in SQLite (table `listen_events`, migration 0002) and the listen
//! analytics (migration 0006: `listen_reach`, and the day-scoped `listen_days`,
//! `listen_listeners`, `listen_progress`).
use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};

use super::SqliteRepo;
use crate::article::ArticleId;
use crate::queue::events::{
    day_of, listener_hash, new_salt, ArticleStats, EventRepo, ListenId, Listener, PlayerEvent,
    Salt, StatsRow, TransientRows, COUNTER_COLUMNS, MAX_DAILY_LISTENERS, MAX_DAILY_LISTENS,
    MAX_EVENT_ARTICLES, STATS_COLUMNS,
};
use crate::queue::QueueError;

/// Today's salt, made (with the deletion of earlier days' salts and hashes) by the day's
/// first caller. Its first statement writes, so the transaction holds SQLite's write lock
/// from the start and never has to upgrade a read snapshot (which fails at once when busy).
async fn day_salt(tx: &mut Transaction<'_, Sqlite>, day: i64) -> Result<Salt, QueueError> {
    let made = sqlx::query(
        "INSERT INTO listen_days (day, salt) VALUES (?, ?) ON CONFLICT(day) DO NOTHING",
    )
    .bind(day)
    .bind(new_salt()?.to_vec())
    .execute(&mut **tx)
    .await?;
    if made.rows_affected() == 1 {
        forget_before(tx, day).await?;
    }
    let salt: Vec<u8> = sqlx::query_scalar("SELECT salt FROM listen_days WHERE day = ?")
        .bind(day)
        .fetch_one(&mut **tx)
        .await?;
    salt.try_into()
        .map_err(|_| QueueError::Corrupt("a day's salt is not 32 bytes".into()))
}

/// Delete what belongs to days before `today`: salts and listener hashes at once, listen
/// progress a day later (a listen may cross midnight).
async fn forget_before(tx: &mut Transaction<'_, Sqlite>, today: i64) -> Result<(), QueueError> {
    for (sql, before) in [
        ("DELETE FROM listen_days WHERE day < ?", today),
        ("DELETE FROM listen_listeners WHERE day < ?", today),
        ("DELETE FROM listen_progress WHERE day < ?", today - 1),
    ] {
        sqlx::query(sql).bind(before).execute(&mut **tx).await?;
    }
    Ok(())
}

/// One more listen whose furthest sentence is `sentence`.
async fn reach_one(
    tx: &mut Transaction<'_, Sqlite>,
    article: &ArticleId,
    sentence: u32,
) -> Result<(), QueueError> {
    sqlx::query(
        "INSERT INTO listen_reach (article_id, sentence, listens) VALUES (?, ?, 1)
         ON CONFLICT(article_id, sentence) DO UPDATE SET listens = listens + 1",
    )
    .bind(article.as_str())
    .bind(sentence as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl EventRepo for SqliteRepo {
    async fn record_event(&self, event: &PlayerEvent) -> Result<(), QueueError> {
        // `counter()` is one of a fixed set of column names, never client text.
        let Some(col) = event.kind.counter() else {
            return Ok(());
        };
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

    async fn record_listener(
        &self,
        article: &ArticleId,
        listener: &Listener,
    ) -> Result<bool, QueueError> {
        let day = day_of(self.now());
        let mut tx = self.pool().begin().await?;
        let salt = day_salt(&mut tx, day).await?;
        let hash = listener_hash(&salt, listener, article);
        // New today and under the day's cap (a full day counts no more uniques).
        let new = sqlx::query(
            "INSERT INTO listen_listeners (day, hash) SELECT ?, ?
             WHERE (SELECT listeners FROM listen_days WHERE day = ?) < ?
             ON CONFLICT(day, hash) DO NOTHING",
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
            sqlx::query("UPDATE listen_days SET listeners = listeners + 1 WHERE day = ?")
                .bind(day)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE listen_events SET unique_listens = unique_listens + 1 WHERE article_id = ?",
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
        let mut tx = self.pool().begin().await?;
        // The article's row first (a write: the transaction holds the write lock from here).
        let updated = sqlx::query(
            "UPDATE listen_events SET sentences = ?, updated_at = ? WHERE article_id = ?",
        )
        .bind(sentences as i64)
        .bind(now)
        .bind(article.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let inserted = sqlx::query(
                "INSERT INTO listen_events (article_id, sentences, updated_at)
                 SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM listen_events) < ?
                 ON CONFLICT(article_id) DO UPDATE SET sentences = excluded.sentences,
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
            "SELECT furthest FROM listen_progress WHERE article_id = ? AND listen_id = ?",
        )
        .bind(article.as_str())
        .bind(listen.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        match furthest {
            Some(f) if f >= sentence as i64 => {}
            Some(f) => {
                sqlx::query(
                    "UPDATE listen_progress SET furthest = ? WHERE article_id = ? AND listen_id = ?",
                )
                .bind(sentence as i64)
                .bind(article.as_str())
                .bind(listen.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE listen_reach SET listens = listens - 1
                     WHERE article_id = ? AND sentence = ? AND listens > 0",
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
                     SELECT ?, ?, ?, ? WHERE (SELECT listens FROM listen_days WHERE day = ?) < ?",
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
                sqlx::query("UPDATE listen_days SET listens = listens + 1 WHERE day = ?")
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
        let mut tx = self.pool().begin().await?;
        forget_before(&mut tx, day_of(self.now())).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transient_rows(&self) -> Result<TransientRows, QueueError> {
        let pool = self.pool();
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
            "SELECT {STATS_COLUMNS} FROM listen_events WHERE article_id = ?"
        ))
        .bind(article.as_str())
        .fetch_optional(&self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(ArticleStats::default());
        };
        let reach: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT sentence, listens FROM listen_reach WHERE article_id = ? ORDER BY sentence",
        )
        .bind(article.as_str())
        .fetch_all(&self.pool())
        .await?;
        Ok(ArticleStats::from_row(row, &reach))
    }

    async fn all_stats(&self) -> Result<BTreeMap<String, ArticleStats>, QueueError> {
        let rows: Vec<crate::queue::events::ArticleStatsRow> = sqlx::query_as(&format!(
            "SELECT article_id, {STATS_COLUMNS} FROM listen_events ORDER BY article_id"
        ))
        .fetch_all(&self.pool())
        .await?;
        let reach: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT article_id, sentence, listens FROM listen_reach ORDER BY article_id, sentence",
        )
        .fetch_all(&self.pool())
        .await?;
        Ok(crate::queue::events::join_stats(rows, reach))
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
            listen: None,
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

    /// A new database with counts for `MAX_EVENT_ARTICLES` articles `a0`, `a1`, …: the cap.
    async fn repo_at_the_article_cap() -> (tempfile::TempDir, SqliteRepo) {
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
        (dir, repo)
    }

    #[tokio::test]
    async fn the_table_is_bounded_but_known_articles_keep_counting() {
        let (_dir, repo) = repo_at_the_article_cap().await;
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

    /// The day's caps: at the cap a new listener is not counted as unique (its play is), a
    /// new listen is refused; listens already known keep moving.
    #[tokio::test]
    async fn the_days_new_listeners_and_listens_are_capped() {
        use crate::queue::events::{ListenId, Listener};
        let dir = tempfile::tempdir().unwrap();
        let repo = SqliteRepo::open(&dir.path().join("audioby.db"))
            .await
            .unwrap();
        let story = ArticleId::parse("story").unwrap();
        let who = |ua: &str| Listener {
            ip: "198.51.100.4".parse().unwrap(),
            user_agent: ua.into(),
        };
        let known = ListenId::parse("known-listen").unwrap();
        repo.record_event(&ev("story", EventKind::Play))
            .await
            .unwrap();
        assert!(repo.record_listener(&story, &who("a")).await.unwrap());
        repo.record_reach(&story, &known, 0, 3).await.unwrap();
        sqlx::query("UPDATE listen_days SET listeners = ?, listens = ?")
            .bind(MAX_DAILY_LISTENERS)
            .bind(MAX_DAILY_LISTENS)
            .execute(&repo.pool())
            .await
            .unwrap();
        repo.record_event(&ev("story", EventKind::Play))
            .await
            .unwrap();
        assert!(!repo.record_listener(&story, &who("b")).await.unwrap());
        let late = ListenId::parse("late-listen").unwrap();
        let err = repo.record_reach(&story, &late, 0, 3).await.unwrap_err();
        assert!(matches!(err, QueueError::EventsFull), "{err}");
        repo.record_reach(&story, &known, 2, 3).await.unwrap();
        let s = repo.article_stats(&story).await.unwrap();
        assert_eq!((s.play, s.unique_listens, s.listens), (2, 1, 1));
        assert_eq!(s.dropoff, vec![1.0, 1.0, 1.0]);
    }

    /// Reach events for new articles obey the article cap like the counters do.
    #[tokio::test]
    async fn a_reach_for_a_new_article_past_the_article_cap_is_refused() {
        let (_dir, repo) = repo_at_the_article_cap().await;
        let listen = crate::queue::events::ListenId::parse("listen-1234").unwrap();
        let err = repo
            .record_reach(&ArticleId::parse("one-too-many").unwrap(), &listen, 0, 2)
            .await
            .unwrap_err();
        assert!(matches!(err, QueueError::EventsFull), "{err}");
        repo.record_reach(&ArticleId::parse("a7").unwrap(), &listen, 1, 2)
            .await
            .unwrap();
        let all = repo.all_stats().await.unwrap();
        assert!(!all.contains_key("one-too-many"));
        assert_eq!(all["a7"].dropoff, vec![1.0, 1.0]);
    }
}
