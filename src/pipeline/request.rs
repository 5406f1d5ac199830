//! The request side: what the API and the CLI ask of the pipeline. Store an article and queue
//! its audio, answer "is it ready, or when will it be", pull unknown articles from the CMS,
//! wait for a job, and the narrow queries (article, job, queue totals) callers need.
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::{Pipeline, PipelineError};
use crate::article::source::{PullSource, SourceError};
use crate::article::{ArticleId, ArticleRecord};
use crate::audio::AudioFormat;
use crate::queue::{Job, JobId, JobState, NewJob, Priority, QueueError, QueueStats, Rendition};
use crate::tts::{LoadedVoice, TtsError};

/// Seconds of speech per word at a natural reading pace (150 words a minute); only for ETAs.
const SPEECH_SECONDS_PER_WORD: f64 = 0.4;

/// Where an article's audio stands.
#[derive(Debug, Clone)]
pub enum AudioStatus {
    Ready(Rendition),
    Pending {
        job: Job,
        position: u64,
        eta_seconds: f64,
    },
}

/// The formats every article is published in.
pub fn default_formats() -> Vec<AudioFormat> {
    vec![AudioFormat::Opus, AudioFormat::Mp3]
}

impl Pipeline {
    /// Resolve the voice for an article: request, then the article's own, then the default.
    pub fn voice_for(
        &self,
        requested: Option<&str>,
        article: &ArticleRecord,
    ) -> Result<Arc<LoadedVoice>, TtsError> {
        self.engine.voice(requested.or(article.voice.as_deref()))
    }

    /// Store an article; when its content changed, queue a prefetch job for it.
    pub async fn put_article(
        &self,
        article: &ArticleRecord,
    ) -> Result<(bool, Option<Job>), PipelineError> {
        let changed = self.articles.upsert_article(article).await?;
        let voice = self.voice_for(None, article)?;
        let job = if changed || self.current_rendition(article, &voice).await?.is_none() {
            Some(
                self.enqueue(
                    article,
                    &voice,
                    Priority::Prefetch,
                    false,
                    &default_formats(),
                )
                .await?,
            )
        } else {
            None
        };
        Ok((changed, job))
    }

    /// Store an article without queuing anything (a feed item whose audio the caller asks
    /// for next); true when its content changed or it is new.
    pub async fn store_article(&self, article: &ArticleRecord) -> Result<bool, PipelineError> {
        Ok(self.articles.upsert_article(article).await?)
    }

    pub async fn enqueue(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
        priority: Priority,
        force: bool,
        formats: &[AudioFormat],
    ) -> Result<Job, PipelineError> {
        let stats = self.queue.stats().await?;
        let limit = self.settings.queue.max_queued;
        if stats.queued >= limit {
            return Err(QueueError::Full(stats.queued).into());
        }
        let job = self
            .queue
            .push(NewJob {
                article: article.id.clone(),
                content_hash: article.content_hash.clone(),
                voice: voice.info().id.clone(),
                formats: formats.to_vec(),
                priority,
                force,
            })
            .await?;
        self.wake.notify_waiters();
        self.wake.notify_one();
        if priority == Priority::Interactive && job.state == JobState::Queued {
            self.preempt_for_listener();
        }
        self.refresh_queue_gauges().await;
        Ok(job)
    }

    /// The article-audio question a play button asks: ready, or queued with an ETA.
    pub async fn article_audio(
        &self,
        id: &ArticleId,
        voice: Option<&str>,
        priority: Priority,
        force: bool,
    ) -> Result<AudioStatus, PipelineError> {
        let article = self.ensure_article(id).await?;
        let voice = self.voice_for(voice, &article)?;
        if !force {
            // A rendition made with other assembly settings (clips, loudness) is not current:
            // the job below re-assembles it from cached segments.
            if let Some(r) = self.current_rendition(&article, &voice).await? {
                return Ok(AudioStatus::Ready(r));
            }
        }
        let job = self
            .enqueue(&article, &voice, priority, force, &default_formats())
            .await?;
        let position = self.queue.position(&job.id).await?;
        let eta_seconds = self.eta_seconds(&article, position);
        Ok(AudioStatus::Pending {
            job,
            position,
            eta_seconds,
        })
    }

    /// Whole seconds until an article with `position` jobs ahead of it is ready: every job
    /// ahead is assumed as long as this one.
    fn eta_seconds(&self, article: &ArticleRecord, position: u64) -> f64 {
        let words: usize = article
            .blocks
            .iter()
            .map(|b| b.text.split_whitespace().count())
            .sum();
        let audio_secs = words as f64 * SPEECH_SECONDS_PER_WORD;
        // A zero or negative throughput would make the answer infinite or negative.
        let throughput = self.settings.queue.eta_throughput.max(0.01);
        ((position + 1) as f64 * audio_secs / throughput).ceil()
    }

    /// The stored article, pulled from the source first when it is unknown or expired. A
    /// failed refresh keeps serving the stored copy; an unknown ID the CMS answers 404 for is
    /// `NotFound`.
    pub async fn ensure_article(&self, id: &ArticleId) -> Result<ArticleRecord, PipelineError> {
        let stored = self.articles.article(id).await?;
        let Some(source) = &self.source else {
            return stored.ok_or_else(|| PipelineError::NotFound(id.clone()));
        };
        let now = crate::queue::now_ms();
        if let Some(a) = &stored {
            if !source.is_expired(a.updated_at, now) {
                return Ok(a.clone());
            }
        }
        match self.pull(source, id, now).await {
            Ok(record) => {
                self.articles.upsert_article(&record).await?;
                Ok(record)
            }
            Err(e) => match stored {
                Some(a) => {
                    tracing::warn!(article = %id, error = %e, "refreshing from the source failed; using the stored copy");
                    Ok(a)
                }
                None if matches!(e, SourceError::NotFound(_)) => {
                    Err(PipelineError::NotFound(id.clone()))
                }
                None => Err(e.into()),
            },
        }
    }

    #[tracing::instrument(name = "pulling an article from the source", skip(self, source, now))]
    async fn pull(
        &self,
        source: &PullSource,
        id: &ArticleId,
        now: i64,
    ) -> Result<ArticleRecord, SourceError> {
        let input = source.fetch(id).await?;
        let (id, opts) = (id.clone(), self.settings.extract.clone());
        // Extraction is CPU work on untrusted HTML: off the async runtime.
        tokio::task::spawn_blocking(move || ArticleRecord::build(id, input, &opts, now))
            .await
            .map_err(|e| SourceError::BadResponse(format!("extraction task failed: {e}")))?
            .map_err(SourceError::from)
    }

    /// Whether unknown articles can be pulled from a CMS (`[source].url_template`).
    pub fn has_source(&self) -> bool {
        self.source.is_some()
    }

    /// Wait until `job_id` reaches a final state or `timeout` passes; returns the job.
    pub async fn wait_for(
        &self,
        job_id: &JobId,
        timeout: Duration,
    ) -> Result<Option<Job>, PipelineError> {
        let mut rx = self.finished.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.queue.job(job_id).await?;
            match &job {
                Some(j) if !j.state.is_final() => {}
                _ => return Ok(job),
            }
            // Finishing may happen in another process (shared database): re-check every poll.
            tokio::select! {
                _ = rx.recv() => {}
                _ = tokio::time::sleep(self.poll_interval()) => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(self.queue.job(job_id).await?),
            }
        }
    }

    /// Ids of jobs that reach a final state in this process, from now on. Jobs finished by
    /// other processes sharing the queue are not announced: poll [`Pipeline::job`] every
    /// [`Pipeline::poll_interval`] as well.
    pub fn finished_jobs(&self) -> broadcast::Receiver<JobId> {
        self.finished.subscribe()
    }

    /// How often to look at the shared queue for changes other processes made.
    pub fn poll_interval(&self) -> Duration {
        self.settings.queue.poll_interval()
    }

    pub async fn article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, PipelineError> {
        Ok(self.articles.article(id).await?)
    }

    /// Stored articles updated at or after `since_ms` (ms since the epoch).
    pub async fn articles_since(&self, since_ms: i64) -> Result<Vec<ArticleId>, PipelineError> {
        Ok(self.articles.articles_since(since_ms).await?)
    }

    /// The published audio of one article version in one voice, if made.
    pub async fn rendition(
        &self,
        id: &ArticleId,
        content_hash: &str,
        voice: &str,
    ) -> Result<Option<Rendition>, PipelineError> {
        Ok(self.articles.rendition(id, content_hash, voice).await?)
    }

    pub async fn job(&self, job_id: &JobId) -> Result<Option<Job>, PipelineError> {
        Ok(self.queue.job(job_id).await?)
    }

    /// Jobs ahead of this one (0 = next or running).
    pub async fn job_position(&self, job_id: &JobId) -> Result<u64, PipelineError> {
        Ok(self.queue.position(job_id).await?)
    }

    /// The most recent job for an article (its state and error).
    pub async fn latest_job(&self, id: &ArticleId) -> Result<Option<Job>, PipelineError> {
        Ok(self.queue.latest_job(id).await?)
    }

    /// Cancel a job and wake whoever waits for it; `None` for an unknown job.
    pub async fn cancel(&self, job_id: &JobId) -> Result<Option<Job>, PipelineError> {
        let job = self.queue.cancel(job_id).await?;
        if job.is_some() {
            self.interrupt_cancelled(job_id);
            let _ = self.finished.send(job_id.clone());
        }
        Ok(job)
    }

    pub async fn queue_stats(&self) -> Result<QueueStats, PipelineError> {
        Ok(self.queue.stats().await?)
    }

    /// Ok when the database answers a query (readiness checks).
    pub async fn ping(&self) -> Result<(), PipelineError> {
        Ok(self.queue.ping().await?)
    }
}
