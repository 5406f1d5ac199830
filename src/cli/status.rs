//! `audioby status`: queue totals, or one article's audio and its latest job.
use std::io::Write;

use clap::Args;

use super::{offline_pipeline, DataDirArg};
use crate::article::ArticleId;
use crate::config::Settings;

#[derive(Args)]
pub(super) struct StatusArgs {
    /// Article ID; without it, queue totals.
    id: Option<String>,
    #[command(flatten)]
    pub(super) data_dir: DataDirArg,
}

impl StatusArgs {
    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async {
            let pipeline = offline_pipeline(settings).await?;
            let mut out = std::io::stdout().lock();
            let Some(raw) = self.id else {
                let s = pipeline.queue_stats().await?;
                writeln!(
                    out,
                    "queued {}  running {}  ready {}  failed {}  oldest queued {:.0} s",
                    s.queued, s.running, s.ready, s.failed, s.oldest_queued_secs
                )?;
                return Ok(());
            };
            let id = ArticleId::parse(&raw)?;
            let article = pipeline
                .article(&id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("article `{id}` not found"))?;
            let voice = pipeline.voice_for(None, &article)?;
            match pipeline
                .rendition(&id, &article.content_hash, &voice.info().id)
                .await?
            {
                Some(r) => {
                    writeln!(out, "{id}: ready, {:.1} s, voice {}", r.duration, r.voice)?;
                    for (f, name) in &r.files {
                        writeln!(out, "  {f}: {}", pipeline.store().url(name))?;
                    }
                }
                None => writeln!(out, "{id}: no audio for the current version yet")?,
            }
            if let Some(job) = pipeline.latest_job(&id).await? {
                writeln!(
                    out,
                    "  last job {}: {} (attempt {}/{}){}",
                    job.id,
                    job.state.as_str(),
                    job.attempts,
                    job.max_attempts,
                    job.error
                        .map(|e| format!(", error: {e}"))
                        .unwrap_or_default()
                )?;
            }
            anyhow::Ok(())
        })
    }
}
