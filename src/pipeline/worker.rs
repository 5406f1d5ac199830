//! The worker: claim a job with a lease, keep the lease alive by heartbeat while the job runs
//! off the async runtime behind a panic boundary, then report: publish the rendition, or fail
//! the attempt (the queue retries it with backoff, or gives up).
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::synthesis::{Halt, Produced};
use super::Pipeline;
use crate::queue::{Failure, Job};

/// Pause after a failed claim: a database that refuses one usually needs a moment (locked,
/// restarting), and retrying at once would only fill the log.
const CLAIM_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Longest pause between storage probes while storage fails.
const MAX_STORAGE_PAUSE: Duration = Duration::from_secs(30);

impl Pipeline {
    /// A worker: claim, run, report, forever (until [`Pipeline::stop`]). It claims only jobs
    /// for the voices this process has loaded: workers on other hosts may have others.
    pub async fn run_worker(self: Arc<Self>, name: String) {
        tracing::info!(worker = %name, "worker started");
        let voices: Vec<String> = self.engine.voices().map(|v| v.id.clone()).collect();
        // Pushes from other processes (PostgreSQL NOTIFY); only a hint, so polling stays.
        let remote = self.queue.wakeups();
        while !self.is_stopping() {
            let job = match self
                .queue
                .pop_matching(&name, self.lease_ms(), &voices)
                .await
            {
                Ok(j) => j,
                Err(e) if e.is_storage_fault() => {
                    tracing::error!(error = %e, "claiming a job failed: storage fault");
                    self.wait_for_storage().await;
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming a job failed");
                    tokio::time::sleep(CLAIM_RETRY_PAUSE).await;
                    continue;
                }
            };
            let Some(job) = job else {
                // Idle: wake on a push, or poll (other processes share the queue, backoffs
                // expire, jobs get cancelled: the gauges follow).
                self.refresh_queue_gauges().await;
                let remote_push = async {
                    match &remote {
                        Some(n) => n.notified().await,
                        None => std::future::pending().await,
                    }
                };
                // Jitter keeps many idle workers from polling the database in step.
                let poll = self.poll_interval();
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = remote_push => {}
                    _ = tokio::time::sleep(poll + crate::queue::jitter(poll / 2)) => {}
                }
                continue;
            };
            if job.attempts == 1 {
                let waited = (crate::queue::now_ms() - job.created_at).max(0) as u64;
                crate::metrics::record_queue_wait(Duration::from_millis(waited));
            }
            self.refresh_queue_gauges().await;
            self.run_one(&name, job).await;
        }
        tracing::info!(worker = %name, "worker stopped");
    }

    /// After a storage fault (disk full, read-only folder, a database that cannot write):
    /// probe the database and the store with growing pauses until both take a write, instead
    /// of claiming and failing jobs in a loop. The database probe also gives it fresh
    /// connections, which is how it recovers without a restart.
    async fn wait_for_storage(&self) {
        let mut pause = Duration::from_secs(1);
        while !self.is_stopping() {
            tokio::time::sleep(pause).await;
            let (db, store) = (self.queue.ping().await, self.store.probe_write().await);
            if db.is_ok() && store.is_ok() {
                tracing::info!("storage takes writes again: claiming jobs");
                return;
            }
            tracing::warn!(
                database = ?db.err().map(|e| e.to_string()),
                store = ?store.err().map(|e| e.to_string()),
                pause_s = pause.as_secs(),
                "storage still failing; backing off"
            );
            pause = (pause * 2).min(MAX_STORAGE_PAUSE);
        }
    }

    /// `[queue] lease_ms` as the queue takes it.
    pub(super) fn lease_ms(&self) -> i64 {
        self.settings.queue.lease().as_millis() as i64
    }

    #[tracing::instrument(name = "synthesizing article audio", skip_all, fields(job = %job.id, article = %job.article, voice = %job.voice, worker = %worker))]
    async fn run_one(self: &Arc<Self>, worker: &str, job: Job) {
        let started = std::time::Instant::now();
        let job_id = job.id.clone();
        // The fencing token: heartbeats and the result count only while this attempt holds the job.
        let claim = job.claim();
        let heartbeat = {
            let this = Arc::clone(self);
            let (lease, every) = (self.lease_ms(), self.settings.queue.heartbeat_interval());
            let claim = claim.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match this.queue.heartbeat(&claim, lease).await {
                        Ok(true) => this.refresh_queue_gauges().await,
                        _ => break,
                    }
                }
            })
        };
        // Stopped from outside mid-sentence (a listener's job, a cancel): `interrupt`.
        self.start_running(&job.id, job.priority);
        let this = Arc::clone(self);
        let rt = Handle::current();
        let result = tokio::task::spawn_blocking(move || {
            // A panic in synthesis must not take the worker down: it fails this job only.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.produce(&job, &rt)))
                .unwrap_or_else(|_| {
                    Err(Halt::Fail(Failure::Retry(
                        "internal error while synthesizing (panic)".into(),
                    )))
                })
        })
        .await
        .unwrap_or_else(|e| {
            Err(Halt::Fail(Failure::Retry(format!(
                "synthesis task failed: {e}"
            ))))
        });
        heartbeat.abort();
        self.finished_running(&job_id);
        match result {
            Ok(Produced {
                rendition,
                feeds,
                outcome,
            }) => {
                // The feeds' renditions first: once the job is ready, every feed that lists
                // the article finds its own (unfenced, see `ArticleRepo::publish_rendition`).
                let mut published = Ok(());
                for r in &feeds {
                    published = self.articles.publish_rendition(r).await;
                    if published.is_err() {
                        break;
                    }
                }
                let completed = match published {
                    Ok(()) => self.queue.complete(&claim, &rendition, &outcome).await,
                    Err(e) => Err(e),
                };
                match completed {
                    Err(e) if e.is_storage_fault() => {
                        tracing::error!(error = %e, "publishing failed: storage fault");
                        self.wait_for_storage().await;
                    }
                    Err(e) => tracing::error!(error = %e, "publishing failed"),
                    Ok(false) => {
                        tracing::warn!("job cancelled or claimed again meanwhile: result discarded")
                    }
                    Ok(true) => {
                        tracing::info!(
                            segments = outcome.segments_total,
                            synthesized = outcome.segments_synthesized,
                            feed_renditions = feeds.len(),
                            audio_s = format!("{:.1}", outcome.audio_seconds),
                            wall_s = format!("{:.1}", started.elapsed().as_secs_f64()),
                            "article audio ready"
                        );
                    }
                }
            }
            // Stopped mid-job (SIGTERM): give the job back at once instead of leaving it leased
            // until the lease runs out, and without charging an attempt.
            Err(_) if self.is_stopping() => match self.queue.release(&claim).await {
                Ok(true) => tracing::info!("shutting down: job released to the queue"),
                Ok(false) => tracing::warn!("shutting down: the job was no longer ours"),
                Err(e) => {
                    tracing::error!(error = %e, "shutting down: releasing the job failed; it runs again after its lease")
                }
            },
            Err(Halt::Fail(failure)) => {
                let state = self.queue.fail(&claim, failure.clone()).await;
                tracing::warn!(failure = ?failure, state = ?state.as_ref().ok(), "job attempt failed");
            }
            Err(Halt::Yield) => match self.queue.release(&claim).await {
                Ok(true) => {
                    tracing::info!("prefetch job paused for a listener's job; it goes on next")
                }
                Ok(false) => tracing::info!("job cancelled or claimed again meanwhile"),
                Err(e) => {
                    tracing::warn!(error = %e, "releasing the job failed; it runs again when its lease ends")
                }
            },
            Err(Halt::Storage(why)) => {
                tracing::error!(error = %why, "job stopped: storage full; it goes back to the queue");
                if let Err(e) = self.queue.release(&claim).await {
                    tracing::warn!(error = %e, "releasing the job failed; it runs again when its lease ends");
                }
                self.wait_for_storage().await;
            }
            Err(Halt::Lost) => {
                tracing::info!("job cancelled or claimed again meanwhile: synthesis stopped")
            }
        }
        let _ = self.finished.send(job_id);
        self.refresh_queue_gauges().await;
        if let Err(e) = self.enforce_cache_budget().await {
            tracing::warn!(error = %e, "cache eviction failed");
        }
    }
}

impl Pipeline {
    /// Delete finished jobs older than `keep`, now and then, until [`Pipeline::stop`] (or the
    /// task is aborted): the jobs table stays the size of the recent work (renditions, the
    /// published audio, stay).
    pub async fn prune_finished_jobs(self: Arc<Self>, keep: Duration) {
        let every = (keep / 4).clamp(Duration::from_secs(60), Duration::from_secs(3600));
        while !self.is_stopping() {
            match self.queue.prune_finished(keep.as_millis() as i64).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "pruned finished jobs"),
                Err(e) => tracing::warn!(error = %e, "pruning finished jobs failed"),
            }
            tokio::time::sleep(every + crate::queue::jitter(every / 10)).await;
        }
    }
}
