//! The embedded backend: one SQLite file (WAL mode) in the data folder, through sqlx. The
//! schema is the versioned migrations in `migrations/sqlite/`, applied at open. One file per
//! role: `articles.rs`, `jobs.rs`, `segments.rs`, `events.rs`.
mod articles;
mod events;
mod jobs;
mod segments;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};

use super::{Clock, QueueError, SystemClock};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Clone)]
pub struct SqliteRepo {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
}

impl SqliteRepo {
    /// Open (or create) the database on the wall clock, applying pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteRepo, QueueError> {
        SqliteRepo::open_with_clock(path, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(
        path: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteRepo, QueueError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        migrate(&pool).await?;
        Ok(SqliteRepo { pool, clock })
    }

    /// Close every connection; later calls fail with a database error.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// (synthesis events, distinct segments) in the segment log: how tests prove that no
    /// segment was synthesized twice.
    pub async fn segment_log_count(&self) -> Result<(u64, u64), QueueError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT cache_key) AS d FROM segment_log")
                .fetch_one(&self.pool)
                .await?;
        Ok((row.get::<i64, _>("n") as u64, row.get::<i64, _>("d") as u64))
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Apply pending migrations inside one `BEGIN IMMEDIATE` transaction. sqlx takes no lock on
/// SQLite, so two processes opening a new data folder at once (a server and `audioby
/// prefetch`) would both apply 0001 and one would fail on the `_sqlx_migrations` key; holding
/// the write lock makes the second wait (busy_timeout), then find nothing left to apply.
/// Each migration runs in a savepoint inside it.
async fn migrate(pool: &SqlitePool) -> Result<(), QueueError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    MIGRATOR.run_direct(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A JSON column could not be written: only reachable with a type serde cannot encode.
fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, QueueError> {
    serde_json::to_string(value).map_err(|e| QueueError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
