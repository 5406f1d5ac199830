//! `audioby prefetch`: the nightly job. The arguments become a [`Selection`], then
//! `prefetch::run` does the work over the shared queue; this module shows progress and the
//! summary.
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{offline_pipeline, DataDirArg};
use crate::config::Settings;
use crate::prefetch::{run, Selection, Summary};

#[derive(Args)]
pub(super) struct PrefetchArgs {
    /// File with one article ID per line (# starts a comment); - for stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["since", "feeds"], required_unless_present_any = ["since", "feeds"])]
    ids: Option<PathBuf>,
    /// Every stored article updated since this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", conflicts_with = "feeds")]
    since: Option<String>,
    /// RSS, Atom or JSON Feed URL (repeatable): every item is stored and prefetched.
    #[arg(long = "feed", value_name = "URL")]
    feeds: Vec<String>,
    /// Articles worked on at once (each already uses every inference session).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Print the summary as JSON (for cron logs).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub(super) data_dir: DataDirArg,
}

impl PrefetchArgs {
    pub(super) fn run(self, settings: Settings) -> anyhow::Result<()> {
        let selection = self.selection()?;
        let (concurrency, json) = (self.concurrency, self.json);
        let rt = tokio::runtime::Runtime::new()?;
        let summary = rt.block_on(async {
            let pipeline = offline_pipeline(settings).await?;
            let bar = progress_bar(json);
            let s = run(pipeline, selection, concurrency, |p| {
                if let Some(b) = &bar {
                    b.set_length(p.total as u64);
                    b.set_position(p.done as u64);
                    b.set_message(format!("{:.1} min of audio", p.audio_seconds / 60.0));
                }
            })
            .await;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            anyhow::Ok(s?)
        })?;
        print_summary(&summary, json)?;
        if summary.failed > 0 {
            anyhow::bail!("{} of {} articles failed", summary.failed, summary.total);
        }
        Ok(())
    }

    /// Which articles: the feeds, else the IDs file (or stdin), else everything since a date.
    fn selection(&self) -> anyhow::Result<Selection> {
        if !self.feeds.is_empty() {
            return Ok(Selection::Feeds(self.feeds.clone()));
        }
        match (&self.ids, &self.since) {
            (Some(path), _) => {
                let text = if path.as_os_str() == "-" {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                } else {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?
                };
                Ok(Selection::Ids(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from)
                        .collect(),
                ))
            }
            (None, Some(d)) => Ok(Selection::Since(parse_since(d)?)),
            (None, None) => anyhow::bail!("give --ids FILE, --since DATE or --feed URL"),
        }
    }
}

/// `--since`: an RFC 3339 time, or a date (midnight UTC), as ms since the epoch.
fn parse_since(s: &str) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: use YYYY-MM-DD or RFC 3339"))?;
    Ok(d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0))
}

/// A progress bar on stderr, only when it is a terminal and the summary is not JSON.
fn progress_bar(json: bool) -> Option<ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} articles, {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(b)
}

fn print_summary(summary: &Summary, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, summary)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<40} {:<8} {:>9} {:>10}  ERROR",
        "ARTICLE", "STATUS", "AUDIO", "SYNTH/SEG"
    )?;
    for a in &summary.articles {
        writeln!(
            out,
            "{:<40} {:<8} {:>8.1}s {:>4}/{:<5}  {}",
            a.id,
            a.status,
            a.audio_seconds,
            a.segments_synthesized,
            a.segments_total,
            a.error.as_deref().unwrap_or("")
        )?;
    }
    writeln!(
        out,
        "{} articles: {} made, {} already cached, {} failed; {:.1} min of audio in {:.1} s; segment cache hit ratio {:.0}%",
        summary.total,
        summary.ready,
        summary.cached,
        summary.failed,
        summary.audio_seconds / 60.0,
        summary.wall_seconds,
        summary.cache_hit_ratio * 100.0
    )?;
    Ok(())
}
