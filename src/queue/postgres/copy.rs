//! `audioby migrate-db`: copy an SQLite data folder's database into PostgreSQL, table by
//! table in batches. Every batch is one transaction of `INSERT … ON CONFLICT DO NOTHING`, so
//! an interrupted run resumes where it stopped and a second run copies nothing. Before
//! copying, keys present on both sides must hold the same data: the target is empty or a
//! copy of this source, never someone else's database.
use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row, SqlitePool};

use super::PgRepo;
use crate::queue::QueueError;

/// Rows per batch (one transaction): small enough for PostgreSQL's bind limit (65,535
/// parameters) at 20 columns, large enough that round trips do not dominate.
const BATCH: i64 = 500;

/// What a table's copy did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows in the source.
    pub rows: u64,
    /// Rows written to the target by this run (the rest were there already).
    pub copied: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the target database holds different data: {0} (migrate into an empty database)")]
    Conflict(String),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Queue(e.into())
    }
}

impl CopyError {
    pub fn code(&self) -> &'static str {
        match self {
            CopyError::Queue(e) => e.code(),
            CopyError::Conflict(_) => "database-conflict",
        }
    }
}

/// The source tables in copy order, for progress totals: (table, rows).
pub async fn source_counts(sqlite: &Path) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let src = open_source(sqlite).await?;
    let mut out = Vec::new();
    for t in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(&src)
            .await?;
        out.push((t, n as u64));
    }
    Ok(out)
}

/// The day-scoped listener tables (`listen_days`, `listen_listeners`, `listen_progress`)
/// are not copied: they hold one day's salt and hashes, which the target makes afresh.
const TABLES: [&str; 7] = [
    "articles",
    "jobs",
    "renditions",
    "segment_cache",
    "segment_log",
    "listen_events",
    "listen_reach",
];

/// Open the SQLite file read-only: the copy never changes its source.
async fn open_source(path: &Path) -> Result<SqlitePool, CopyError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

/// Copy every table; `progress(table, rows_done)` is called after each batch.
pub async fn copy_from_sqlite(
    sqlite: &Path,
    target: &PgRepo,
    mut progress: impl FnMut(&'static str, u64),
) -> Result<Vec<TableCopy>, CopyError> {
    // Bring the source to the current schema first: an old data folder is upgraded exactly as
    // opening it with `audioby serve` would.
    crate::queue::SqliteRepo::open(sqlite).await?.close().await;
    let src = open_source(sqlite).await?;
    check_same_data(&src, target).await?;
    let mut out = Vec::new();
    for table in TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&src)
            .await?;
        let mut done = TableCopy {
            table,
            rows: rows as u64,
            copied: 0,
        };
        if table == "segment_log" {
            done.copied = copy_segment_log(&src, target).await?;
            progress(table, done.rows);
            out.push(done);
            continue;
        }
        let mut last_rowid = i64::MIN;
        let mut seen = 0u64;
        loop {
            let batch = sqlx::query(&format!(
                "SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
            ))
            .bind(last_rowid)
            .bind(BATCH)
            .fetch_all(&src)
            .await?;
            let Some(last) = batch.last() else { break };
            last_rowid = last.get("_rowid");
            seen += batch.len() as u64;
            done.copied += insert_batch(table, &batch, target).await?;
            progress(table, seen);
        }
        out.push(done);
    }
    Ok(out)
}

/// A key present in both databases with other content means the target is not ours.
async fn check_same_data(src: &SqlitePool, target: &PgRepo) -> Result<(), CopyError> {
    let target_articles: Vec<(String, String)> =
        sqlx::query_as("SELECT id, content_hash FROM articles")
            .fetch_all(&target.pool)
            .await?;
    for (id, hash) in target_articles {
        let ours: Option<String> =
            sqlx::query_scalar("SELECT content_hash FROM articles WHERE id = ?")
                .bind(&id)
                .fetch_optional(src)
                .await?;
        match ours {
            Some(h) if h == hash => {}
            _ => {
                return Err(CopyError::Conflict(format!(
                    "article `{id}` is not this source's"
                )))
            }
        }
    }
    let target_jobs: Vec<(String, String)> = sqlx::query_as("SELECT id, unique_key FROM jobs")
        .fetch_all(&target.pool)
        .await?;
    for (id, key) in target_jobs {
        let ours: Option<String> =
            sqlx::query_scalar("SELECT unique_key FROM jobs WHERE CAST(id AS TEXT) = ?")
                .bind(&id)
                .fetch_optional(src)
                .await?;
        if ours.as_deref() != Some(key.as_str()) {
            return Err(CopyError::Conflict(format!(
                "job {id} is not this source's"
            )));
        }
    }
    Ok(())
}

/// The log has no key: it is copied whole, in one transaction, when the target has none of it.
async fn copy_segment_log(src: &SqlitePool, target: &PgRepo) -> Result<u64, CopyError> {
    let there: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment_log")
        .fetch_one(&target.pool)
        .await?;
    if there > 0 {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT cache_key, CAST(job_id AS TEXT) AS job_id, at FROM segment_log ORDER BY rowid",
    )
    .fetch_all(src)
    .await?;
    let mut tx = target.pool.begin().await?;
    for chunk in rows.chunks(BATCH as usize) {
        let mut q = QueryBuilder::new("INSERT INTO segment_log (cache_key, job_id, at) ");
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.get::<String, _>("cache_key"))
                .push_bind(r.get::<String, _>("job_id"))
                .push_bind(r.get::<i64, _>("at"));
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Insert one batch of source rows into the same table in PostgreSQL; returns rows written.
async fn insert_batch(
    table: &str,
    rows: &[sqlx::sqlite::SqliteRow],
    target: &PgRepo,
) -> Result<u64, CopyError> {
    let mut q = match table {
        "articles" => {
            let mut q = QueryBuilder::new(
                "INSERT INTO articles (id, title, byline, url, body, body_is_html, blocks, content_hash, voice, updated_at, meta) ",
            );
            q.push_values(rows, |mut b, r| {
                b.push_bind(r.get::<String, _>("id"))
                    .push_bind(r.get::<Option<String>, _>("title"))
                    .push_bind(r.get::<Option<String>, _>("byline"))
                    .push_bind(r.get::<Option<String>, _>("url"))
                    .push_bind(r.get::<String, _>("body"))
                    .push_bind(r.get::<i64, _>("body_is_html") != 0)
                    .push_bind(r.get::<String, _>("blocks"))
                    .push_bind(r.get::<String, _>("content_hash"))
                    .push_bind(r.get::<Option<String>, _>("voice"))
                    .push_bind(r.get::<i64, _>("updated_at"))
                    .push_bind(r.get::<String, _>("meta"));
            });
            q.push(" ON CONFLICT (id) DO NOTHING");
            q
        }
        "jobs" => {
            let mut q = QueryBuilder::new(
                "INSERT INTO jobs (id, article_id, content_hash, voice, formats, unique_key, priority, force, state,
                   attempts, max_attempts, run_after, lease_until, worker, error, segments_total,
                   segments_synthesized, audio_seconds, created_at, updated_at) ",
            );
            q.push_values(rows, |mut b, r| {
                b.push_bind(job_id_text(r))
                    .push_bind(r.get::<String, _>("article_id"))
                    .push_bind(r.get::<String, _>("content_hash"))
                    .push_bind(r.get::<String, _>("voice"))
                    .push_bind(r.get::<String, _>("formats"))
                    .push_bind(r.get::<String, _>("unique_key"))
                    .push_bind(r.get::<i64, _>("priority") as i32)
                    .push_bind(r.get::<i64, _>("force") != 0)
                    .push_bind(r.get::<String, _>("state"))
                    .push_bind(r.get::<i64, _>("attempts") as i32)
                    .push_bind(r.get::<i64, _>("max_attempts") as i32)
                    .push_bind(r.get::<i64, _>("run_after"))
                    .push_bind(r.get::<Option<i64>, _>("lease_until"))
                    .push_bind(r.get::<Option<String>, _>("worker"))
                    .push_bind(r.get::<Option<String>, _>("error"))
                    .push_bind(r.get::<Option<i64>, _>("segments_total"))
                    .push_bind(r.get::<Option<i64>, _>("segments_synthesized"))
                    .push_bind(r.get::<Option<f64>, _>("audio_seconds"))
                    .push_bind(r.get::<i64, _>("created_at"))
                    .push_bind(r.get::<i64, _>("updated_at"));
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        }
        "renditions" => {
            let mut q = QueryBuilder::new(
                "INSERT INTO renditions (article_id, content_hash, voice, duration, files, manifest, captions, created_at, segments, assembly) ",
            );
            q.push_values(rows, |mut b, r| {
                b.push_bind(r.get::<String, _>("article_id"))
                    .push_bind(r.get::<String, _>("content_hash"))
                    .push_bind(r.get::<String, _>("voice"))
                    .push_bind(r.get::<f64, _>("duration"))
                    .push_bind(r.get::<String, _>("files"))
                    .push_bind(r.get::<String, _>("manifest"))
                    .push_bind(r.get::<String, _>("captions"))
                    .push_bind(r.get::<i64, _>("created_at"))
                    .push_bind(r.get::<String, _>("segments"))
                    .push_unseparated("::jsonb")
                    .push_bind(r.get::<String, _>("assembly"));
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        }
        "segment_cache" => {
            let mut q =
                QueryBuilder::new("INSERT INTO segment_cache (cache_key, bytes, last_used) ");
            q.push_values(rows, |mut b, r| {
                b.push_bind(r.get::<String, _>("cache_key"))
                    .push_bind(r.get::<i64, _>("bytes"))
                    .push_bind(r.get::<i64, _>("last_used"));
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        }
        "listen_events" => {
            let mut q = QueryBuilder::new(
                "INSERT INTO listen_events (article_id, play, progress_25, progress_50, progress_75, progress_100, ratechange, error, updated_at, unique_listens, sentences) ",
            );
            q.push_values(rows, |mut b, r| {
                b.push_bind(r.get::<String, _>("article_id"));
                for c in [
                    "play",
                    "progress_25",
                    "progress_50",
                    "progress_75",
                    "progress_100",
                    "ratechange",
                    "error",
                    "updated_at",
                    "unique_listens",
                    "sentences",
                ] {
                    b.push_bind(r.get::<i64, _>(c));
                }
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        }
        "listen_reach" => {
            let mut q =
                QueryBuilder::new("INSERT INTO listen_reach (article_id, sentence, listens) ");
            q.push_values(rows, |mut b, r| {
                b.push_bind(r.get::<String, _>("article_id"))
                    .push_bind(r.get::<i64, _>("sentence"))
                    .push_bind(r.get::<i64, _>("listens"));
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        }
        other => unreachable!("no copy for table {other}"),
    };
    let mut tx = target.pool.begin().await?;
    let written = q.build().execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(written)
}

/// The source's job id as the target's text id.
fn job_id_text(r: &sqlx::sqlite::SqliteRow) -> String {
    r.try_get::<String, _>("id")
        .unwrap_or_else(|_| r.get::<i64, _>("id").to_string())
}
