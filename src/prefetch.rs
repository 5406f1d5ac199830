//! Prefetch, the nightly job: enqueue many articles, work through them with in-process
//! workers (cooperating through the shared queue with any running server), report progress,
//! and end with a per-article summary. Audio that is already ready is skipped.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::article::ArticleId;
use crate::pipeline::{AudioStatus, Pipeline, PipelineError};
use crate::queue::{JobId, JobState, Priority};

/// Which articles to prefetch.
#[derive(Debug, Clone)]
pub enum Selection {
    Ids(Vec<String>),
    /// Articles updated at or after this time (ms since the epoch).
    Since(i64),
    /// Every item of these RSS, Atom or JSON feeds (stored first, then prefetched).
    Feeds(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleResult {
    pub id: String,
    /// `ready` (made now), `cached` (already there), `failed`.
    pub status: String,
    pub audio_seconds: f64,
    pub segments_total: u64,
    pub segments_synthesized: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub total: usize,
    pub ready: usize,
    pub cached: usize,
    pub failed: usize,
    pub audio_seconds: f64,
    pub wall_seconds: f64,
    /// Segments served from the cache / segments needed, over this run.
    pub cache_hit_ratio: f64,
    pub articles: Vec<ArticleResult>,
}

/// Fetch every feed, store the items that carry their text, and list the article IDs to
/// prefetch. Items without text are left to the pull source (through `article_audio`). A
/// feed that fails is one failed entry; a bad item is one failed entry; an item already
/// listed by an earlier feed is skipped.
async fn feed_articles(
    pipeline: &Pipeline,
    urls: &[String],
) -> Result<Vec<Result<ArticleId, (String, String)>>, PipelineError> {
    use crate::article::feed::fetch_feed;
    use crate::article::ArticleRecord;
    let mut out = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for url in urls {
        let items = match fetch_feed(url, &pipeline.settings().source.fetch).await {
            Ok(items) => items,
            Err(e) => {
                out.push(Err((url.clone(), format!("feed {url}: {e}"))));
                continue;
            }
        };
        for item in items {
            let item = match item {
                Ok(item) => item,
                Err(f) => {
                    out.push(Err((f.label, f.reason)));
                    continue;
                }
            };
            if !listed.insert(item.id.clone()) {
                continue;
            }
            let Some(input) = item.input else {
                if !pipeline.has_source() {
                    out.push(Err((
                        item.id.to_string(),
                        format!(
                            "item {:?} has no content and no pull source is configured",
                            item.guid
                        ),
                    )));
                } else {
                    out.push(Ok(item.id));
                }
                continue;
            };
            let (id, opts) = (item.id.clone(), pipeline.settings().extract.clone());
            let built = tokio::task::spawn_blocking(move || {
                ArticleRecord::build(id, input, &opts, crate::queue::now_ms())
            })
            .await;
            match built {
                Ok(Ok(record)) => {
                    pipeline.store_article(&record).await?;
                    out.push(Ok(record.id));
                }
                Ok(Err(e)) => out.push(Err((item.id.to_string(), format!("{} [{}]", e, e.code())))),
                Err(e) => out.push(Err((
                    item.id.to_string(),
                    format!("extraction failed: {e}"),
                ))),
            }
        }
    }
    Ok(out)
}

/// Progress callback payload.
#[derive(Debug, Clone, Copy)]
pub struct PrefetchProgress {
    pub done: usize,
    pub total: usize,
    pub audio_seconds: f64,
}

pub async fn run(
    pipeline: Arc<Pipeline>,
    selection: Selection,
    concurrency: usize,
    mut progress: impl FnMut(PrefetchProgress),
) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    // An entry that failed before any job: (label, reason).
    let ids: Vec<Result<ArticleId, (String, String)>> = match selection {
        Selection::Ids(raw) => raw
            .iter()
            .map(|s| ArticleId::parse(s).map_err(|e| ("?".to_string(), format!("{s:?}: {e}"))))
            .collect(),
        Selection::Since(ms) => pipeline
            .articles_since(ms)
            .await?
            .into_iter()
            .map(Ok)
            .collect(),
        Selection::Feeds(urls) => feed_articles(&pipeline, &urls).await?,
    };
    let mut results: Vec<Option<ArticleResult>> = vec![None; ids.len()];
    let mut waiting: HashMap<JobId, usize> = HashMap::new();
    let failed = |id: &str, e: String| ArticleResult {
        id: id.to_string(),
        status: "failed".into(),
        audio_seconds: 0.0,
        segments_total: 0,
        segments_synthesized: 0,
        error: Some(e),
    };
    for (i, id) in ids.iter().enumerate() {
        match id {
            Err((label, e)) => results[i] = Some(failed(label, e.clone())),
            Ok(id) => match pipeline
                .article_audio(id, None, Priority::Prefetch, false)
                .await
            {
                Ok(AudioStatus::Ready(r)) => {
                    results[i] = Some(ArticleResult {
                        id: id.to_string(),
                        status: "cached".into(),
                        audio_seconds: r.duration,
                        segments_total: 0,
                        segments_synthesized: 0,
                        error: None,
                    })
                }
                Ok(AudioStatus::Pending { job, .. }) => {
                    waiting.insert(job.id, i);
                }
                Err(PipelineError::NotFound(_)) => {
                    results[i] = Some(failed(
                        id.as_str(),
                        "unknown article (push it first)".into(),
                    ))
                }
                Err(e) => results[i] = Some(failed(id.as_str(), e.to_string())),
            },
        }
    }
    let total = ids.len();
    let mut audio = results
        .iter()
        .flatten()
        .map(|r| r.audio_seconds)
        .sum::<f64>();
    let mut done = results.iter().filter(|r| r.is_some()).count();
    progress(PrefetchProgress {
        done,
        total,
        audio_seconds: audio,
    });

    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|n| {
            tokio::spawn(
                Arc::clone(&pipeline).run_worker(format!("prefetch-{}-{n}", std::process::id())),
            )
        })
        .collect();
    let mut finished = pipeline.finished_jobs();
    while !waiting.is_empty() {
        let ids: Vec<JobId> = waiting.keys().cloned().collect();
        for job_id in ids {
            let Some(job) = pipeline.job(&job_id).await? else {
                continue;
            };
            if !job.state.is_final() {
                continue;
            }
            let Some(i) = waiting.remove(&job_id) else {
                continue;
            };
            let r = ArticleResult {
                id: job.article.to_string(),
                status: match job.state {
                    JobState::Ready => "ready".into(),
                    s => s.as_str().to_string(),
                },
                audio_seconds: job.audio_seconds.unwrap_or(0.0),
                segments_total: job.segments_total.unwrap_or(0),
                segments_synthesized: job.segments_synthesized.unwrap_or(0),
                error: job.error.clone().filter(|_| job.state != JobState::Ready),
            };
            audio += r.audio_seconds;
            done += 1;
            results[i] = Some(r);
            progress(PrefetchProgress {
                done,
                total,
                audio_seconds: audio,
            });
        }
        if waiting.is_empty() {
            break;
        }
        tokio::select! {
            _ = finished.recv() => {}
            _ = tokio::time::sleep(pipeline.poll_interval()) => {}
        }
    }
    pipeline.stop();
    for w in workers {
        let _ = w.await;
    }
    let articles: Vec<ArticleResult> = results.into_iter().flatten().collect();
    let needed: u64 = articles.iter().map(|a| a.segments_total).sum();
    let made: u64 = articles.iter().map(|a| a.segments_synthesized).sum();
    let cached_articles = articles.iter().filter(|a| a.status == "cached").count();
    Ok(Summary {
        total,
        ready: articles.iter().filter(|a| a.status == "ready").count(),
        cached: cached_articles,
        failed: articles
            .iter()
            .filter(|a| a.status != "ready" && a.status != "cached")
            .count(),
        audio_seconds: audio,
        wall_seconds: started.elapsed().as_secs_f64(),
        cache_hit_ratio: if needed == 0 {
            1.0
        } else {
            (needed - made) as f64 / needed as f64
        },
        articles,
    })
}
