//! `audioby stats`: listening events per article, as a table or JSON.
use anyhow::Context;
use clap::Args;

use super::DataDirArg;
use crate::backends::Backends;
use crate::config::Settings;

#[derive(Args)]
pub(super) struct StatsArgs {
    /// Only this article.
    id: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub(super) data_dir: DataDirArg,
}

impl StatsArgs {
    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let mut all = tokio::runtime::Runtime::new()?.block_on(async {
            let backends = Backends::open(&settings).await?;
            backends.queue.all_stats().await.with_context(|| {
                format!(
                    "reading listening events in {}",
                    settings.data_dir.display()
                )
            })
        })?;
        if let Some(id) = &self.id {
            let one = all.remove(id).unwrap_or_default();
            all = std::iter::once((id.clone(), one)).collect();
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&all)?);
            return Ok(());
        }
        println!(
            "{:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "article", "play", "25%", "50%", "75%", "100%", "speed", "error"
        );
        for (article, s) in &all {
            println!(
                "{article:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
                s.play,
                s.progress_25,
                s.progress_50,
                s.progress_75,
                s.progress_100,
                s.ratechange,
                s.error
            );
        }
        Ok(())
    }
}
