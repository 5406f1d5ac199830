//! Prefetch, the nightly job: enqueue many articles, work through them with in-process
//! workers (cooperating through the shared queue with any running server), report progress,
//! and end with a per-article summary. Audio that is already ready is skipped.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::article::ArticleId;
use crate::pipeline::{AudioStatus, Pipeline, PipelineError};
use crate::queue::{JobState, Priority};

/// Which articles to prefetch.
#[derive(Debug, Clone)]
pub enum Selection {
    Ids(Vec<String>),
    /// Articles updated at or after this time (ms since the epoch).
    Since(i64),
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
    let ids: Vec<Result<ArticleId, String>> = match selection {
        Selection::Ids(raw) => raw.iter().map(|s| ArticleId::parse(s).map_err(|e| format!("{s:?}: {e}"))).collect(),
        Selection::Since(ms) => pipeline.articles.articles_since(ms).await?.into_iter().map(Ok).collect(),
    };
    let mut results: Vec<Option<ArticleResult>> = vec![None; ids.len()];
    let mut waiting: HashMap<i64, usize> = HashMap::new();
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
            Err(e) => results[i] = Some(failed("?", e.clone())),
            Ok(id) => match pipeline.article_audio(id, None, Priority::Prefetch, false).await {
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
                Err(PipelineError::NotFound(_)) => results[i] = Some(failed(id.as_str(), "unknown article (push it first)".into())),
                Err(e) => results[i] = Some(failed(id.as_str(), e.to_string())),
            },
        }
    }
    let total = ids.len();
    let mut audio = results.iter().flatten().map(|r| r.audio_seconds).sum::<f64>();
    let mut done = results.iter().filter(|r| r.is_some()).count();
    progress(PrefetchProgress { done, total, audio_seconds: audio });

    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|n| tokio::spawn(Arc::clone(&pipeline).run_worker(format!("prefetch-{}-{n}", std::process::id()))))
        .collect();
    let mut finished = pipeline.finished.subscribe();
    while !waiting.is_empty() {
        let ids: Vec<i64> = waiting.keys().copied().collect();
        for job_id in ids {
            let Some(job) = pipeline.queue.job(job_id).await? else { continue };
            if !job.state.is_final() {
                continue;
            }
            let Some(i) = waiting.remove(&job_id) else { continue };
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
            progress(PrefetchProgress { done, total, audio_seconds: audio });
        }
        if waiting.is_empty() {
            break;
        }
        tokio::select! {
            _ = finished.recv() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
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
        failed: articles.iter().filter(|a| a.status != "ready" && a.status != "cached").count(),
        audio_seconds: audio,
        wall_seconds: started.elapsed().as_secs_f64(),
        cache_hit_ratio: if needed == 0 { 1.0 } else { (needed - made) as f64 / needed as f64 },
        articles,
    })
}
