//! The backends a process works with, opened from the settings in one place for the server
//! and the CLI alike: the article repository and the job queue (`[database] url`: the
//! embedded SQLite database `<data_dir>/audioby.db`, or PostgreSQL) and the audio store
//! (`[store]`).
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Settings;
use crate::queue::{redact_url, ArticleRepo, DatabaseSettings, PgRepo, Repo, SqliteRepo};
use crate::store::AudioStore;

/// The file of the embedded database, inside the data folder.
pub const DATABASE_FILE: &str = "audioby.db";

/// Articles, jobs and stored objects. Each is behind a trait or a backend-neutral type, so
/// a test can swap one (a queue that is down) and keep the others real.
#[derive(Clone)]
pub struct Backends {
    pub articles: Arc<dyn ArticleRepo>,
    /// The whole repository (jobs, segment bookkeeping, listening events; articles too).
    pub queue: Arc<dyn Repo>,
    pub store: AudioStore,
}

impl Backends {
    /// Create the data folder if needed and open the configured backends.
    pub async fn open(settings: &Settings) -> anyhow::Result<Backends> {
        let data_dir = &settings.data_dir;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let repo = open_repo(&settings.database, data_dir).await?;
        // Listening counts are not worth refusing to start over: a file that cannot be
        // imported stays where it is, with a warning, and is tried again on the next start.
        if let Err(e) = crate::player::events::import_legacy_file(repo.as_ref(), data_dir).await {
            tracing::warn!(error = %e, dir = %data_dir.display(), "old listening events not imported");
        }
        let store = crate::store::open(&settings.store, data_dir)
            .await
            .context("opening the store")?;
        Ok(Backends {
            articles: repo.clone(),
            queue: repo,
            store,
        })
    }
}

/// Which database `[database] url` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The embedded file: `<data_dir>/audioby.db`, or the path of a `sqlite://` URL.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl DatabaseKind {
    pub fn from_settings(db: &DatabaseSettings, data_dir: &Path) -> anyhow::Result<DatabaseKind> {
        let Some(url) = db.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(DatabaseKind::Sqlite(data_dir.join(DATABASE_FILE)));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseKind::Postgres(url.to_string()));
        }
        match url.strip_prefix("sqlite://") {
            Some("") => Ok(DatabaseKind::Sqlite(data_dir.join(DATABASE_FILE))),
            Some(path) => Ok(DatabaseKind::Sqlite(path.into())),
            None => anyhow::bail!(
                "[database] url {} is neither postgres:// nor sqlite://",
                redact_url(url)
            ),
        }
    }
}

/// Open the configured repository. Errors name the database (without its password) and the
/// cause in one line.
pub async fn open_repo(db: &DatabaseSettings, data_dir: &Path) -> anyhow::Result<Arc<dyn Repo>> {
    Ok(match DatabaseKind::from_settings(db, data_dir)? {
        DatabaseKind::Sqlite(path) => Arc::new(
            SqliteRepo::open(&path)
                .await
                .with_context(|| format!("opening database {}", path.display()))?,
        ),
        DatabaseKind::Postgres(url) => Arc::new(
            PgRepo::open(db, &url)
                .await
                .with_context(|| format!("opening database {}", redact_url(&url)))?,
        ),
    })
}
