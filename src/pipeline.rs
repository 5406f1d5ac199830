//! The article pipeline, the service's core loop: an article version goes in, audio that never
//! has to be made twice comes out. A job extracts nothing (articles are stored extracted),
//! segments and normalizes the blocks, looks every segment up in the content-addressed cache
//! (key = voice id + voice file hash + settings + spoken text), synthesizes only the misses,
//! assembles the article with its pauses, encodes each requested format, writes the timing
//! manifest and WebVTT captions, and publishes all of it in one database transaction.
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, Notify};

use crate::article::source::{PullSource, SourceError};
use crate::article::{ArticleId, ArticleRecord};
use crate::audio::{encoder, AudioError, AudioFormat, EncoderOptions, EncodingWriter};
use crate::config::Settings;
use crate::queue::{
    ArticleRepo, Failure, Job, JobOutcome, JobQueue, JobState, NewJob, Priority, QueueError,
    Rendition,
};
use crate::store::{AudioStore, ObjectKey, ObjectKind, StoreError};
use crate::text::lexicon::Lexicon;
use crate::text::segment::segment_blocks;
use crate::text::Segment;
use crate::tts::{Engine, LoadedVoice, SynthSettings, TtsError};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("article `{0}` not found")]
    NotFound(ArticleId),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Tts(#[from] TtsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pull source failed for an article we do not have.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::NotFound(_) => "not-found",
            PipelineError::Queue(e) => e.code(),
            PipelineError::Tts(e) => e.code(),
            PipelineError::Store(e) => e.code(),
            PipelineError::Source(e) => e.code(),
        }
    }
}

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

/// One entry of the timing manifest.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ManifestSegment {
    pub index: usize,
    /// The original sentence, for highlighting.
    pub text: String,
    /// Block (paragraph, heading…) index in article order; the title is block 0 when present.
    pub block: usize,
    pub start: f64,
    pub duration: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Manifest {
    pub article: String,
    pub voice: String,
    pub content_hash: String,
    pub duration: f64,
    pub sample_rate: u32,
    pub segments: Vec<ManifestSegment>,
}

pub struct Pipeline {
    pub settings: Arc<Settings>,
    pub engine: Arc<Engine>,
    pub store: AudioStore,
    pub lexicon: Arc<Lexicon>,
    pub articles: Arc<dyn ArticleRepo>,
    pub queue: Arc<dyn JobQueue>,
    /// Wakes idle workers when a job is pushed.
    pub wake: Notify,
    /// Job ids whose state became final.
    pub finished: broadcast::Sender<i64>,
    /// Set on shutdown: workers stop after the segment being synthesized.
    pub stopping: AtomicBool,
    /// The CMS pull source (`[source].url_template`), when configured.
    pub source: Option<PullSource>,
}

/// Lease a worker holds on a job; renewed every third of it.
const LEASE_MS: i64 = 15_000;
/// Audio seconds per wall second the engine makes on this class of machine; only for ETAs.
const ETA_THROUGHPUT: f64 = 10.0;

impl Pipeline {
    pub fn new(
        settings: Arc<Settings>,
        engine: Arc<Engine>,
        store: AudioStore,
        lexicon: Arc<Lexicon>,
        articles: Arc<dyn ArticleRepo>,
        queue: Arc<dyn JobQueue>,
    ) -> Arc<Pipeline> {
        let (finished, _) = broadcast::channel(1024);
        let source = PullSource::from_settings(&settings.source);
        Arc::new(Pipeline {
            settings,
            engine,
            store,
            lexicon,
            articles,
            queue,
            wake: Notify::new(),
            finished,
            stopping: AtomicBool::new(false),
            source,
        })
    }

    fn lease_ms(&self) -> i64 {
        std::env::var("AUDIOBY_LEASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(LEASE_MS)
            .max(500)
    }

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
        let job = if changed
            || self
                .articles
                .rendition(&article.id, &article.content_hash, &voice.info().id)
                .await?
                .is_none()
        {
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
        self.refresh_queue_gauges().await;
        Ok(job)
    }

    /// Set the queue-depth and oldest-job gauges from the queue (the database is the truth:
    /// other processes share it). Called after every change this process makes, on each
    /// heartbeat (so the age keeps growing while a long job runs) and by idle workers. An
    /// empty queue is written once, not on every idle poll: the gauges are process-wide.
    pub async fn refresh_queue_gauges(&self) {
        /// The depth last written by any pipeline of this process; `u64::MAX` = never.
        static LAST_DEPTH: AtomicU64 = AtomicU64::new(u64::MAX);
        match self.queue.stats().await {
            Ok(stats) => {
                if LAST_DEPTH.swap(stats.queued, Ordering::Relaxed) == 0 && stats.queued == 0 {
                    return;
                }
                crate::metrics::set_queue_depth(stats.queued);
                crate::metrics::set_queue_oldest_age(Duration::from_secs_f64(
                    stats.oldest_queued_secs.max(0.0),
                ));
            }
            Err(e) => tracing::debug!(error = %e, "reading queue stats for the gauges failed"),
        }
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
            if let Some(r) = self
                .articles
                .rendition(id, &article.content_hash, &voice.info().id)
                .await?
            {
                return Ok(AudioStatus::Ready(r));
            }
        }
        let job = self
            .enqueue(&article, &voice, priority, force, &default_formats())
            .await?;
        let position = self.queue.position(job.id).await?;
        let words: usize = article
            .blocks
            .iter()
            .map(|b| b.text.split_whitespace().count())
            .sum();
        let audio_secs = words as f64 * 0.4;
        let eta_seconds = ((position + 1) as f64 * audio_secs / ETA_THROUGHPUT).ceil();
        Ok(AudioStatus::Pending {
            job,
            position,
            eta_seconds,
        })
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

    /// Wait until `job_id` reaches a final state or `timeout` passes; returns the job.
    pub async fn wait_for(
        &self,
        job_id: i64,
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
            // Finishing may happen in another process (shared database): re-check at least every second.
            let tick = tokio::time::sleep(Duration::from_secs(1));
            tokio::select! {
                _ = rx.recv() => {}
                _ = tick => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(self.queue.job(job_id).await?),
            }
        }
    }

    /// A worker: claim, run, report, forever (until `stopping`).
    pub async fn run_worker(self: Arc<Self>, name: String) {
        tracing::info!(worker = %name, "worker started");
        while !self.stopping.load(Ordering::SeqCst) {
            let job = match self.queue.pop(&name, self.lease_ms()).await {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(error = %e, "claiming a job failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(job) = job else {
                // Idle: wake on a push, or poll (other processes share the queue, backoffs
                // expire, jobs get cancelled: the gauges follow).
                self.refresh_queue_gauges().await;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
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

    #[tracing::instrument(name = "synthesizing article audio", skip_all, fields(job = job.id, article = %job.article, voice = %job.voice))]
    async fn run_one(self: &Arc<Self>, worker: &str, job: Job) {
        let started = std::time::Instant::now();
        let job_id = job.id;
        let heartbeat = {
            let this = Arc::clone(self);
            let worker = worker.to_string();
            let lease = self.lease_ms();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis((lease / 3) as u64)).await;
                    match this.queue.heartbeat(job_id, &worker, lease).await {
                        Ok(true) => this.refresh_queue_gauges().await,
                        _ => break,
                    }
                }
            })
        };
        let this = Arc::clone(self);
        let rt = Handle::current();
        let result = tokio::task::spawn_blocking(move || {
            // A panic in synthesis must not take the worker down: it fails this job only.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.produce(&job, &rt)))
                .unwrap_or_else(|_| {
                    Err(Failure::Retry(
                        "internal error while synthesizing (panic)".into(),
                    ))
                })
        })
        .await
        .unwrap_or_else(|e| Err(Failure::Retry(format!("synthesis task failed: {e}"))));
        heartbeat.abort();
        match result {
            Ok((rendition, outcome)) => {
                if let Err(e) = self
                    .queue
                    .complete(job_id, worker, &rendition, &outcome)
                    .await
                {
                    tracing::error!(error = %e, "publishing failed");
                } else {
                    tracing::info!(
                        segments = outcome.segments_total,
                        synthesized = outcome.segments_synthesized,
                        audio_s = format!("{:.1}", outcome.audio_seconds),
                        wall_s = format!("{:.1}", started.elapsed().as_secs_f64()),
                        "article audio ready"
                    );
                }
            }
            Err(failure) => {
                let state = self.queue.fail(job_id, worker, failure.clone()).await;
                tracing::warn!(failure = ?failure, state = ?state.as_ref().ok(), "job attempt failed");
            }
        }
        let _ = self.finished.send(job_id);
        self.refresh_queue_gauges().await;
        if let Err(e) = self.enforce_cache_budget().await {
            tracing::warn!(error = %e, "cache eviction failed");
        }
    }

    /// Keep cached segment audio under `cache.max_segment_bytes` by evicting the least
    /// recently used segments that no current article version uses. Published article audio,
    /// manifests and captions are never evicted.
    pub async fn enforce_cache_budget(&self) -> Result<u64, PipelineError> {
        let budget = self.settings.cache.max_segment_bytes;
        if budget == 0 {
            return Ok(0);
        }
        let mut total = self.queue.segment_bytes().await?;
        let mut evicted = 0;
        while total > budget {
            let candidates = self.queue.eviction_candidates(256).await?;
            if candidates.is_empty() {
                break; // everything left is in use by current articles
            }
            let mut gone = Vec::new();
            for (key, bytes) in candidates {
                if total <= budget {
                    break;
                }
                if let Ok(hash) = crate::store::parse_hash(&key) {
                    self.store
                        .remove(&ObjectKey::new(hash, ObjectKind::Pcm))
                        .await?;
                }
                total = total.saturating_sub(bytes);
                evicted += 1;
                gone.push(key);
            }
            self.queue.forget_segments(&gone).await?;
        }
        if evicted > 0 {
            tracing::info!(
                segments = evicted,
                bytes_left = total,
                "evicted cached segments over the budget"
            );
        }
        Ok(evicted)
    }

    /// The blocking body of a job: cache lookups, synthesis of misses, assembly, encoding.
    fn produce(&self, job: &Job, rt: &Handle) -> Result<(Rendition, JobOutcome), Failure> {
        let retry = |e: &dyn std::fmt::Display| Failure::Retry(e.to_string());
        let article = rt
            .block_on(self.articles.article(&job.article))
            .map_err(|e| retry(&e))?
            .ok_or_else(|| Failure::Abort(format!("article `{}` no longer exists", job.article)))?;
        let voice = self
            .engine
            .voice(Some(&job.voice))
            .map_err(|e| Failure::Abort(e.to_string()))?;
        let seg_opts = self.settings.text.clone();
        let segments: Vec<Segment> = segment_blocks(&article.blocks, &self.lexicon, &seg_opts)
            .into_iter()
            .filter(|s| crate::text::segment::has_speech(&s.spoken))
            .collect();
        if segments.is_empty() {
            return Err(Failure::Abort("the article has no speakable text".into()));
        }
        let settings = SynthSettings::default();
        let keys: Vec<ObjectKey> = segments
            .iter()
            .map(|s| segment_key(&voice, &settings, &s.spoken))
            .collect();
        let rate = voice.sample_rate();
        let encode_err = |e: AudioError| Failure::Retry(e.to_string());
        let mut assembly = Assembly::new(&segments, &job.formats, rate, &self.settings.audio)
            .map_err(encode_err)?;

        // 1. Cache lookups.
        let mut misses = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let cached = if job.force {
                None
            } else {
                rt.block_on(self.cached_pcm(key)).map_err(|e| retry(&e))?
            };
            match cached {
                Some(samples) => {
                    crate::metrics::cache_lookup(true);
                    assembly.offer(i, samples).map_err(encode_err)?;
                }
                None => {
                    crate::metrics::cache_lookup(false);
                    misses.push(i);
                }
            }
        }
        // 2. Synthesize the misses (in order, the engine overlaps them), storing each at once.
        // Every segment is encoded as soon as those before it are, so encoding overlaps
        // inference instead of running after it while the sessions idle.
        let mut synthesized = 0u64;
        if !misses.is_empty() {
            let todo: Vec<Segment> = misses.iter().map(|&i| segments[i].clone()).collect();
            let mut sink_err: Option<Failure> = None;
            let summary = voice.synthesize(todo, &settings, |audio| {
                let i = misses[audio.index];
                let samples: Vec<i16> = audio
                    .samples
                    .iter()
                    .map(|&s| crate::audio::to_i16(s))
                    .collect();
                let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
                if let Err(e) = rt.block_on(self.store.put_at(&keys[i], Bytes::from(bytes))) {
                    sink_err = Some(retry(&e));
                    return Err(TtsError::Sink(e.to_string()));
                }
                let _ = rt.block_on(self.queue.log_segment(&keys[i].hash_hex(), job.id));
                synthesized += 1;
                if let Err(e) = assembly.offer(i, samples) {
                    sink_err = Some(retry(&e));
                    return Err(TtsError::Sink(e.to_string()));
                }
                if self.stopping.load(Ordering::SeqCst) {
                    return Err(TtsError::ShuttingDown);
                }
                Ok(())
            });
            if let Some(f) = sink_err {
                return Err(f);
            }
            let summary = summary.map_err(|e| retry(&e))?;
            crate::metrics::record_synthesis(
                "article",
                summary.audio_seconds,
                summary.inference_seconds,
            );
        }
        let touched: Vec<(String, u64)> = keys
            .iter()
            .zip(&assembly.lens)
            .map(|(k, &n)| (k.hash_hex(), n as u64 * 2))
            .collect();
        rt.block_on(self.queue.touch_segments(&touched))
            .map_err(|e| retry(&e))?;
        // 3. Finish the encoders and publish each format.
        let Assembled {
            files: encoded,
            manifest: manifest_segments,
            duration,
        } = assembly.finish().map_err(encode_err)?;
        let mut files = Vec::new();
        for (format, bytes) in encoded {
            let key = rt
                .block_on(self.store.put(Bytes::from(bytes), format.into()))
                .map_err(|e| retry(&e))?;
            files.push((format, key.file_name()));
        }
        let manifest = Manifest {
            article: article.id.to_string(),
            voice: voice.info().id.clone(),
            content_hash: article.content_hash.clone(),
            duration,
            sample_rate: rate,
            segments: manifest_segments,
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| retry(&e))?;
        let manifest_key = rt
            .block_on(self.store.put(Bytes::from(manifest_json), ObjectKind::Json))
            .map_err(|e| retry(&e))?;
        let vtt = webvtt(&manifest.segments);
        let vtt_key = rt
            .block_on(self.store.put(Bytes::from(vtt), ObjectKind::Vtt))
            .map_err(|e| retry(&e))?;
        let outcome = JobOutcome {
            segments_total: segments.len() as u64,
            segments_synthesized: synthesized,
            audio_seconds: duration,
        };
        let rendition = Rendition {
            article: article.id.clone(),
            content_hash: article.content_hash.clone(),
            voice: voice.info().id.clone(),
            duration,
            files,
            manifest: manifest_key.file_name(),
            captions: vtt_key.file_name(),
            created_at: crate::queue::now_ms(),
            segments: keys.iter().map(|k| k.hash_hex()).collect(),
        };
        Ok((rendition, outcome))
    }

    async fn cached_pcm(&self, key: &ObjectKey) -> Result<Option<Vec<i16>>, StoreError> {
        match self.store.get_bytes(key).await {
            Ok(bytes) => Ok(Some(
                bytes
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            )),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stop claiming jobs; the running one stops after its current segment.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub async fn job_state(&self, id: i64) -> Result<Option<JobState>, PipelineError> {
        Ok(self.queue.job(id).await?.map(|j| j.state))
    }
}

/// Joins an article's segments in order as they become available (cached ones at once,
/// synthesized ones as the engine hands them over) and feeds every format's encoder. A
/// segment's PCM is dropped once encoded, so a job holds only segments that arrived ahead of
/// a gap, not the whole article.
struct Assembly<'a> {
    segments: &'a [Segment],
    rate: u32,
    /// PCM that arrived before an earlier segment did.
    waiting: Vec<Option<Vec<i16>>>,
    /// Samples of speech per segment (0 until encoded).
    lens: Vec<usize>,
    next: usize,
    /// Samples written so far, pauses included.
    clock: usize,
    manifest: Vec<ManifestSegment>,
    writers: Vec<(AudioFormat, EncodingWriter<Cursor<Vec<u8>>>)>,
    buf: Vec<f32>,
}

impl<'a> Assembly<'a> {
    fn new(
        segments: &'a [Segment],
        formats: &[AudioFormat],
        rate: u32,
        opts: &EncoderOptions,
    ) -> Result<Self, AudioError> {
        let writers = formats
            .iter()
            .map(|&f| {
                Ok((
                    f,
                    EncodingWriter::new(encoder(f, rate, opts)?, Cursor::new(Vec::new())),
                ))
            })
            .collect::<Result<_, AudioError>>()?;
        Ok(Assembly {
            segments,
            rate,
            waiting: vec![None; segments.len()],
            lens: vec![0; segments.len()],
            next: 0,
            clock: 0,
            manifest: Vec::with_capacity(segments.len()),
            writers,
            buf: Vec::new(),
        })
    }

    /// Segment `i`'s PCM is here: encode it and every waiting segment after it.
    fn offer(&mut self, i: usize, samples: Vec<i16>) -> Result<(), AudioError> {
        self.waiting[i] = Some(samples);
        while let Some(samples) = self.waiting.get_mut(self.next).and_then(Option::take) {
            self.encode(self.next, &samples)?;
            self.next += 1;
        }
        Ok(())
    }

    fn encode(&mut self, i: usize, samples: &[i16]) -> Result<(), AudioError> {
        let seg = &self.segments[i];
        let rate = self.rate as f64;
        self.manifest.push(ManifestSegment {
            index: i,
            text: seg.source.clone(),
            block: seg.block,
            start: self.clock as f64 / rate,
            duration: samples.len() as f64 / rate,
        });
        self.lens[i] = samples.len();
        // The encoders take f32; converting the stored i16 (not the engine's f32) makes a
        // fresh run and a cached run encode the same samples.
        self.buf.clear();
        self.buf
            .extend(samples.iter().map(|&s| s as f32 / i16::MAX as f32));
        if i + 1 < self.segments.len() {
            self.buf
                .resize(self.buf.len() + pause_samples(seg, self.rate), 0.0);
        }
        self.clock += self.buf.len();
        for (_, w) in &mut self.writers {
            w.push(&self.buf)?;
        }
        Ok(())
    }

    /// The encoded files, the manifest entries and the duration in seconds.
    fn finish(self) -> Result<Assembled, AudioError> {
        if self.next != self.segments.len() {
            return Err(AudioError::Encoder {
                format: "assembly",
                message: format!("segment {} never arrived", self.next),
            });
        }
        let files = self
            .writers
            .into_iter()
            .map(|(f, w)| Ok((f, w.finish_seekable()?.into_inner())))
            .collect::<Result<_, AudioError>>()?;
        Ok(Assembled {
            files,
            manifest: self.manifest,
            duration: self.clock as f64 / self.rate as f64,
        })
    }
}

/// An assembled article: each format's bytes, the timing manifest entries, the duration (s).
struct Assembled {
    files: Vec<(AudioFormat, Vec<u8>)>,
    manifest: Vec<ManifestSegment>,
    duration: f64,
}

pub fn default_formats() -> Vec<AudioFormat> {
    vec![AudioFormat::Opus, AudioFormat::Mp3]
}

fn pause_samples(seg: &Segment, rate: u32) -> usize {
    (seg.pause_after_ms as u64 * rate as u64 / 1000) as usize
}

/// The segment cache key: everything that changes the audio, and nothing else.
pub fn segment_key(voice: &LoadedVoice, settings: &SynthSettings, spoken: &str) -> ObjectKey {
    let mut h = Sha256::new();
    for part in [
        "audioby-segment-v1",
        voice.info().id.as_str(),
        voice.model_hash(),
        &voice.sample_rate().to_string(),
        &format!("{:.3}", settings.speed),
        settings.speaker.as_deref().unwrap_or(""),
        spoken,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    ObjectKey::new(h.finalize().into(), ObjectKind::Pcm)
}

/// WebVTT captions, one cue per segment.
pub fn webvtt(segments: &[ManifestSegment]) -> Vec<u8> {
    fn ts(t: f64) -> String {
        let ms = (t * 1000.0).round() as u64;
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
    let mut out = String::from("WEBVTT\n\n");
    for s in segments {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            s.index + 1,
            ts(s.start),
            ts(s.start + s.duration),
            s.text.replace("-->", "->")
        ));
    }
    out.into_bytes()
}
