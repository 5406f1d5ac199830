//! `audioby stats`: listening events per article, as a table or JSON: the counters, unique
//! listens, average completion and, under each article with listens, its drop-off in tenths
//! of the article (the share of listens that reached 0%, 10% … 100% of its sentences).
use anyhow::Context;
use clap::Args;

use super::DataDirArg;
use crate::backends::Backends;
use crate::config::Settings;
use crate::queue::events::ArticleStats;

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
        print!("{}", table(&all));
        Ok(())
    }
}

/// The table: one line of counts per article, then its drop-off line when it has listens.
fn table(all: &std::collections::BTreeMap<String, ArticleStats>) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "{:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>5}\n",
        "article",
        "play",
        "25%",
        "50%",
        "75%",
        "100%",
        "speed",
        "error",
        "unique",
        "listens",
        "done"
    );
    for (article, s) in all {
        let _ = writeln!(
            out,
            "{article:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>4}%",
            s.play,
            s.progress_25,
            s.progress_50,
            s.progress_75,
            s.progress_100,
            s.ratechange,
            s.error,
            s.unique_listens,
            s.listens,
            (s.average_completion * 100.0).round()
        );
        if let Some(line) = dropoff_line(s) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `  reached   0%:100  10%:100 … 100%:50`: the share of listens (in percent) that reached
/// each tenth of the article's sentences; `None` without listens.
fn dropoff_line(s: &ArticleStats) -> Option<String> {
    s.reach_at_percent(0)?;
    let points: Vec<String> = (0..=10)
        .filter_map(|t| {
            let share = s.reach_at_percent(t * 10)?;
            Some(format!("{:>4}%:{:<3}", t * 10, (share * 100.0).round()))
        })
        .collect();
    Some(format!("  reached {}", points.join(" ").trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_analytics_and_a_dropoff_line_per_tenth() {
        let story = ArticleStats {
            play: 3,
            unique_listens: 2,
            listens: 2,
            sentences: 4,
            average_completion: 0.625,
            dropoff: vec![1.0, 1.0, 0.5, 0.25],
            ..Default::default()
        };
        let all = [
            ("quiet".to_string(), ArticleStats::default()),
            ("story".to_string(), story),
        ]
        .into();
        let text = table(&all);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].ends_with("unique listens  done"), "{text}");
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["quiet", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0%"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["story", "3", "0", "0", "0", "0", "0", "0", "2", "2", "63%"]
        );
        assert_eq!(
            lines[3],
            "  reached    0%:100   10%:100   20%:100   30%:100   40%:100   50%:50    60%:50    70%:50    80%:25    90%:25   100%:25"
        );
    }
}
