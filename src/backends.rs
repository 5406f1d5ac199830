//! The backends a process works with, opened from the settings in one place for the server
//! and the CLI alike: the article repository and the job queue (the embedded SQLite database
//! `<data_dir>/audioby.db`) and the audio store (`[store]`).
use std::sync::Arc;

use anyhow::Context;

use crate::config::Settings;
use crate::queue::{ArticleRepo, Repo, SqliteRepo};
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
        let db_path = data_dir.join(DATABASE_FILE);
        let repo = Arc::new(
            SqliteRepo::open(&db_path)
                .await
                .with_context(|| format!("opening database {}", db_path.display()))?,
        );
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
