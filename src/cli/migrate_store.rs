//! `audioby migrate-store --from fs --to s3` (and back): copy the audio store to the other
//! backend with a progress bar, then print a summary. Both backends' keys come from the
//! `[store]` section (`path` for fs; `bucket`, `endpoint` … for s3) whatever its `kind`, so
//! the switch afterwards is one line. Interrupted, it resumes from its journal in the data
//! folder; run again, it only verifies.
use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::DataDirArg;
use crate::backends::Backends;
use crate::config::Settings;
use crate::store::migrate::{migrate, MigrationSummary};
use crate::store::{self, AudioStore, StoreSettings};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Fs,
    S3,
}

#[derive(Args)]
pub(super) struct MigrateStoreArgs {
    /// The store to copy from.
    #[arg(long, value_enum)]
    from: Backend,
    /// The store to copy to.
    #[arg(long, value_enum)]
    to: Backend,
    /// Objects copied at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub(super) data_dir: DataDirArg,
}

impl MigrateStoreArgs {
    pub(super) fn run(self, settings: Settings, config: Option<&Path>) -> anyhow::Result<()> {
        if self.from == self.to {
            anyhow::bail!("--from and --to name the same store");
        }
        let (fs, s3) = Settings::store_backends(config)?;
        let side = |b: Backend| match b {
            Backend::Fs => (StoreSettings::Fs(fs.clone()), "fs"),
            Backend::S3 => (StoreSettings::S3(s3.clone()), "s3"),
        };
        let (from_settings, from_name) = side(self.from);
        let (to_settings, to_name) = side(self.to);
        let journal = settings
            .data_dir
            .join(format!("migrate-store-{from_name}-to-{to_name}.journal"));
        let rt = tokio::runtime::Runtime::new()?;
        let summary = rt.block_on(async {
            let data_dir = &settings.data_dir;
            let from = open(&from_settings, data_dir, "source").await?;
            let to = open(&to_settings, data_dir, "destination").await?;
            // The objects current renditions reference: checked in the destination at the end.
            let referenced = Backends::open(&settings)
                .await?
                .articles
                .live_objects()
                .await
                .context("reading the renditions")?;
            let bar = progress_bar(self.json);
            let summary = migrate(&from, &to, &journal, &referenced, self.concurrency, |p| {
                if let Some(b) = &bar {
                    b.set_length(p.total);
                    b.set_position(p.done);
                    b.set_message(format!("{:.1} MB", p.bytes as f64 / 1e6));
                }
            })
            .await?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            anyhow::Ok(summary)
        })?;
        print_summary(&summary, from_name, to_name, self.json)?;
        if !summary.failed.is_empty() || !summary.missing.is_empty() {
            anyhow::bail!(
                "{} objects failed and {} referenced objects are missing; run again to retry",
                summary.failed.len(),
                summary.missing.len()
            );
        }
        Ok(())
    }
}

async fn open(settings: &StoreSettings, data_dir: &Path, what: &str) -> anyhow::Result<AudioStore> {
    store::open(settings, data_dir)
        .await
        .with_context(|| format!("opening the {what} store"))
}

fn progress_bar(json: bool) -> Option<ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} objects, {msg} [{elapsed}, ETA {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

fn print_summary(s: &MigrationSummary, from: &str, to: &str, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    println!(
        "{from} → {to}: {} objects; {} copied and verified ({:.1} MB), {} verified earlier, {} failed",
        s.total,
        s.copied,
        s.bytes as f64 / 1e6,
        s.resumed,
        s.failed.len()
    );
    for (name, why) in &s.failed {
        eprintln!("failed: {name}: {why}");
    }
    for name in &s.missing {
        eprintln!("missing in {to}: {name} (referenced by a published rendition)");
    }
    Ok(())
}
