//! The scale-out backend: PostgreSQL through sqlx, for several API and worker processes on
//! several hosts sharing one queue. Same traits and contract suite as the embedded SQLite file;
//! the schema is the versioned migrations in `migrations/postgres/`, applied at open (sqlx
//! holds an advisory lock while it migrates, so processes starting together do not race).
//! One file per role: `articles.rs`, `jobs.rs`, `segments.rs`, `events.rs`; `settings.rs` is
//! the `[database]` section, `listen.rs` the LISTEN/NOTIFY wake-up hint, `copy.rs` the copy
//! from SQLite (`audioby migrate-db`).
mod articles;
pub mod copy;
mod events;
mod jobs;
mod listen;
mod segments;
mod settings;

use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use tokio::sync::Notify;

use super::{jitter, Clock, QueueError, SystemClock};

pub use settings::{redact as redact_url, DatabaseSettings};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The channel of the wake-up hint. Its payload is empty: a notification says "look", never
/// what (they are lost while a listener reconnects, and payloads are capped at 8,000 bytes).
const CHANNEL: &str = "audioby_jobs";

#[derive(Clone)]
pub struct PgRepo {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    /// Started on first use by a worker ([`crate::queue::JobRepo::wakeups`]): API processes
    /// hold no listening connection.
    listener: Arc<OnceLock<listen::Listener>>,
}

impl PgRepo {
    /// Connect (retrying while the server is unreachable, up to `connect_timeout_secs`),
    /// refuse a schema newer than this binary, apply pending migrations.
    pub async fn open(settings: &DatabaseSettings, url: &str) -> Result<PgRepo, QueueError> {
        PgRepo::open_with_clock(settings, url, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(
        settings: &DatabaseSettings,
        url: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<PgRepo, QueueError> {
        let pool = connect(settings, url).await?;
        check_schema_version(&pool).await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgRepo {
            pool,
            clock,
            listener: Arc::new(OnceLock::new()),
        })
    }

    /// Close every connection; later calls fail with a database error.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// (synthesis events, distinct segments) in the segment log: how tests prove that no
    /// segment was synthesized twice across processes.
    pub async fn segment_log_count(&self) -> Result<(u64, u64), QueueError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT cache_key) AS d FROM segment_log")
                .fetch_one(&self.pool)
                .await?;
        Ok((row.get::<i64, _>("n") as u64, row.get::<i64, _>("d") as u64))
    }

    /// The newest schema version this binary knows.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The wake-up hint, listening from the first call on.
    fn wake(&self) -> Arc<Notify> {
        self.listener
            .get_or_init(|| listen::Listener::start(self.pool.clone(), CHANNEL))
            .notify()
    }
}

/// Connect with exponential backoff and jitter while the server cannot be reached (starting,
/// restarting, network), up to `connect_timeout_secs`; anything else (a bad URL, a wrong
/// password, a missing database) fails at once: retrying cannot fix it.
async fn connect(settings: &DatabaseSettings, url: &str) -> Result<PgPool, QueueError> {
    let opts = PgConnectOptions::from_str(url)?
        .application_name("audioby")
        .options([(
            "statement_timeout",
            settings.statement_timeout_ms.to_string(),
        )]);
    let deadline = Instant::now() + Duration::from_secs(settings.connect_timeout_secs);
    let mut delay = Duration::from_millis(100);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(settings.pool_size.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts.clone())
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(e) if is_transient(&e) && Instant::now() + delay < deadline => {
                tracing::warn!(error = %e, retry_in = ?delay, "database unreachable, retrying");
                tokio::time::sleep(delay + jitter(delay / 4)).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The server may answer later: it is unreachable, starting up, or out of connections.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // 57P03 cannot_connect_now (starting up), 53300 too_many_connections.
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("57P03" | "53300")),
        _ => false,
    }
}

/// A database migrated by a newer audioby has versions this binary does not know: running on
/// it could write rows the newer schema forbids, so refuse and say which versions.
async fn check_schema_version(pool: &PgPool) -> Result<(), QueueError> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_table {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    let known = PgRepo::schema_version();
    match found {
        Some(found) if found > known => Err(QueueError::SchemaTooNew { found, known }),
        _ => Ok(()),
    }
}

/// A JSON column could not be written: only reachable with a type serde cannot encode.
fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, QueueError> {
    serde_json::to_string(value).map_err(|e| QueueError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
