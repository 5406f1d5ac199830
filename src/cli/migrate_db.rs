//! `audioby migrate-db`: copy the embedded SQLite database of a data folder into PostgreSQL
//! (`[database] url`, or `--to`). Resumable and re-run safe (`queue::copy`); a progress bar on
//! a terminal, a plain line per table otherwise, and a summary on stdout.
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::DataDirArg;
use crate::backends::{DatabaseKind, DATABASE_FILE};
use crate::config::Settings;
use crate::queue::{copy, redact_url, PgRepo};

#[derive(Args)]
pub(super) struct MigrateDbArgs {
    /// The data folder whose `audioby.db` is copied (default: the configured one).
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The SQLite file to copy, instead of `<data dir>/audioby.db`.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// The PostgreSQL URL to copy into (default: `[database] url` / AUDIOBY_DATABASE__URL).
    #[arg(long, value_name = "URL")]
    to: Option<String>,
}

impl MigrateDbArgs {
    pub(super) fn apply(&self, settings: &mut Settings) {
        self.data_dir.apply(settings);
    }

    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let from = self
            .from
            .unwrap_or_else(|| settings.data_dir.join(DATABASE_FILE));
        if !from.exists() {
            anyhow::bail!("no database to migrate at {}", from.display());
        }
        let mut db = settings.database.clone();
        if let Some(to) = self.to {
            db.url = Some(to);
        }
        let url = match DatabaseKind::from_settings(&db, &settings.data_dir)? {
            DatabaseKind::Postgres(url) => url,
            DatabaseKind::Sqlite(_) => anyhow::bail!(
                "migrate-db copies into PostgreSQL: set [database] url (or AUDIOBY_DATABASE__URL, or --to) to a postgres:// URL"
            ),
        };
        let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        rt.block_on(async {
            let target = PgRepo::open(&db, &url)
                .await
                .with_context(|| format!("opening database {}", redact_url(&url)))?;
            let counts = copy::source_counts(&from)
                .await
                .with_context(|| format!("reading {}", from.display()))?;
            let total: u64 = counts.iter().map(|(_, n)| n).sum();
            let bar = progress_bar(total);
            let mut before = 0;
            let mut current = "";
            let tables = copy::copy_from_sqlite(&from, &target, |table, done| {
                if table != current {
                    if !current.is_empty() {
                        before += counts
                            .iter()
                            .find(|(t, _)| *t == current)
                            .map_or(0, |(_, n)| *n);
                    }
                    current = table;
                }
                match &bar {
                    Some(b) => {
                        b.set_message(table);
                        b.set_position(before + done);
                    }
                    None => eprintln!("migrate-db: {table}: {done} rows"),
                }
            })
            .await?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            println!("migrated {} into {}", from.display(), redact_url(&url));
            for t in &tables {
                println!(
                    "  {:<14} {:>8} rows, {:>8} copied now, {:>8} already there",
                    t.table,
                    t.rows,
                    t.copied,
                    t.rows.saturating_sub(t.copied)
                );
            }
            target.close().await;
            Ok(())
        })
    }
}

/// A bar on stderr when it is a terminal (else one plain line per batch).
fn progress_bar(total: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(total);
    b.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} rows, {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(b)
}
