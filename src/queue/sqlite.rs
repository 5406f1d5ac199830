//! The embedded backend: one SQLite file (WAL mode) in the data folder, through sqlx. The
//! schema is the versioned migrations in `migrations/sqlite/`, applied at open. One file per
//! role: `articles.rs`, `jobs.rs`, `segments.rs`, `events.rs`.
mod articles;
mod events;
mod jobs;
mod segments;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};

use super::{Clock, QueueError, SystemClock};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Clone)]
pub struct SqliteRepo {
    inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
}

struct Inner {
    /// Swapped for a fresh pool after a storage fault (see [`SqliteRepo::ping`]).
    pool: RwLock<SqlitePool>,
    opts: SqliteConnectOptions,
    path: PathBuf,
    /// Device and inode of the file at open: a file deleted or replaced underneath the
    /// server is noticed (SQLite itself would go on writing to the unlinked inode).
    file_id: Option<(u64, u64)>,
    last_reset: Mutex<Option<Instant>>,
}

/// Fresh connections at most this often: a fault that lasts is not worth a reconnect storm.
const RESET_EVERY: Duration = Duration::from_secs(2);

fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
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
        // Processes opening one new file together can see SQLITE_BUSY without the busy handler
        // being asked (switching a fresh file to WAL, for one): a few retries with a growing
        // pause settle it. Any other error, or BUSY five times over, is returned.
        let mut attempt = 0u32;
        let pool = loop {
            let opened = async {
                let pool = pool_options().connect_with(opts.clone()).await?;
                migrate(&pool).await?;
                Ok::<_, QueueError>(pool)
            }
            .await;
            match opened {
                Err(e) if attempt < 4 && is_busy(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * 2u64.pow(attempt)))
                        .await;
                }
                other => break other?,
            }
        };
        Ok(SqliteRepo {
            inner: Arc::new(Inner {
                pool: RwLock::new(pool),
                opts,
                path: path.to_path_buf(),
                file_id: file_id(path),
                last_reset: Mutex::new(None),
            }),
            clock,
        })
    }

    /// The current connection pool (cheap to clone).
    fn pool(&self) -> SqlitePool {
        self.inner
            .pool
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Close every connection; later calls fail with a database error.
    pub async fn close(&self) {
        self.pool().close().await;
    }

    /// (synthesis events, distinct segments) in the segment log: how tests prove that no
    /// segment was synthesized twice.
    pub async fn segment_log_count(&self) -> Result<(u64, u64), QueueError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT cache_key) AS d FROM segment_log")
                .fetch_one(&self.pool())
                .await?;
        Ok((row.get::<i64, _>("n") as u64, row.get::<i64, _>("d") as u64))
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The database file is still the one we opened: not deleted, not replaced.
    fn check_file(&self) -> Result<(), QueueError> {
        match (self.inner.file_id, file_id(&self.inner.path)) {
            (Some(opened), Some(now)) if opened == now => Ok(()),
            (Some(_), None) => Err(QueueError::FileGone(format!(
                "{} was deleted while the server runs; restore it or restart",
                self.inner.path.display()
            ))),
            (Some(_), Some(_)) => Err(QueueError::FileGone(format!(
                "{} was replaced while the server runs; restart to use the new file",
                self.inner.path.display()
            ))),
            (None, _) => Ok(()),
        }
    }

    /// Start over with fresh connections. After a disk-full or I/O error a connection can
    /// be left inside a transaction it can no longer end, holding the write lock: every
    /// other writer then sees "database is locked" long after space was freed. Dropping the
    /// old pool closes its connections (a checked-out one when it is returned), which
    /// releases the lock.
    fn reset_pool(&self) {
        let mut last = self
            .inner
            .last_reset
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < RESET_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let fresh = pool_options().connect_lazy_with(self.inner.opts.clone());
        let old = std::mem::replace(
            &mut *self.inner.pool.write().unwrap_or_else(|p| p.into_inner()),
            fresh,
        );
        tracing::warn!(path = %self.inner.path.display(), "database: fresh connections after a storage fault");
        tokio::spawn(async move { old.close().await });
    }

    /// The readiness probe: the file is ours and accepts a write. A storage fault resets
    /// the pool and probes once more, so the database recovers by itself once the fault
    /// clears (the probe runs on every `/readyz` and while a worker backs off).
    async fn probe_write(&self) -> Result<(), QueueError> {
        self.check_file()?;
        let write = || async {
            sqlx::query(
                "INSERT INTO health_probe (id, at) VALUES (1, ?)
                 ON CONFLICT(id) DO UPDATE SET at = excluded.at",
            )
            .bind(self.now())
            .execute(&self.pool())
            .await
            .map(|_| ())
            .map_err(QueueError::from)
        };
        match write().await {
            Err(e) if e.is_storage_fault() => {
                self.reset_pool();
                write().await
            }
            other => other,
        }
    }
}

fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(4)
        // A fault must surface as an error, not as minutes of waiting for a connection.
        .acquire_timeout(Duration::from_secs(15))
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

/// SQLITE_BUSY, or one of its extended codes.
fn is_busy(e: &QueueError) -> bool {
    match e {
        QueueError::Db(sqlx::Error::Database(d)) => {
            super::primary_sqlite_code(&d.code().unwrap_or_default()) == Some(5)
        }
        _ => false,
    }
}

/// A JSON column could not be written: only reachable with a type serde cannot encode.
fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, QueueError> {
    serde_json::to_string(value).map_err(|e| QueueError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
