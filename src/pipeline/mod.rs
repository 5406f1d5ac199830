//! The article pipeline, the service's core loop: an article version goes in, audio that never
//! has to be made twice comes out. A job extracts nothing (articles are stored extracted),
//! segments and normalizes the blocks, looks every segment up in the content-addressed cache
//! (key = voice id + voice file hash + settings + spoken text), synthesizes only the misses,
//! assembles the article with its pauses, encodes each requested format, writes the timing
//! manifest and WebVTT captions, and publishes all of it in one database transaction.
//!
//! One module per concern: `request` (what callers ask: store, enqueue, status, ETA, pull,
//! wait), `worker` (claim, heartbeat, run, report), `synthesis` (a job's segments: cache
//! lookups and misses), `assembly` (joining, encoding, manifest, WebVTT) and `eviction` (the
//! segment cache budget). The backends stay private: other modules call [`Pipeline`] methods.
mod assembly;
mod clips;
mod eviction;
mod interrupt;
mod live;
mod loudness;
mod request;
mod settings;
mod synthesis;
mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch, Notify};

use crate::article::source::{PullSource, SourceError};
use crate::article::ArticleId;
use crate::backends::Backends;
use crate::queue::{ArticleRepo, JobId, QueueError, Repo};
use crate::store::{AudioStore, StoreError};
use crate::text::lexicon::Lexicon;
use crate::tts::{Engine, TtsError};

pub use assembly::{
    chapters, webvtt_chapters, Chapter, Manifest, ManifestClips, ManifestLoudness, ManifestSegment,
};
pub use clips::FeedAudio;
pub use live::{LiveAudio, LiveProgress};
pub use request::{default_formats, AudioStatus};
pub use settings::{CacheSettings, PipelineSettings, QueueSettings};

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
    /// Laying out the article's clips failed (resampling).
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
}

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::NotFound(_) => "not-found",
            PipelineError::Queue(e) => e.code(),
            PipelineError::Tts(e) => e.code(),
            PipelineError::Store(e) => e.code(),
            PipelineError::Source(e) => e.code(),
            PipelineError::Audio(e) => e.code(),
        }
    }
}

pub struct Pipeline {
    settings: PipelineSettings,
    engine: Arc<Engine>,
    store: AudioStore,
    lexicon: Arc<Lexicon>,
    articles: Arc<dyn ArticleRepo>,
    /// The whole repository: jobs, segment bookkeeping (and articles, through `articles`).
    queue: Arc<dyn Repo>,
    /// Wakes idle workers when a job is pushed.
    wake: Notify,
    /// Job ids whose state became final.
    finished: broadcast::Sender<JobId>,
    /// Counts segments stored by this process's workers: live streams wait on it (and poll the
    /// store as well, for segments other processes make).
    stored: watch::Sender<u64>,
    /// Set on shutdown: workers stop after the segment being synthesized.
    stopping: AtomicBool,
    /// The CMS pull source (`[source].url_template`), when configured.
    source: Option<PullSource>,
    /// Loudness gain (dB) per voice file and target, measured once (`loudness`).
    voice_gains: Mutex<HashMap<String, f64>>,
    /// Jobs this process's workers are running, with their stop switches (`interrupt`).
    running: Mutex<Vec<interrupt::Running>>,
}

impl Pipeline {
    /// The pipeline over opened backends ([`Backends::open`] for the configured ones).
    pub fn new(
        settings: PipelineSettings,
        engine: Arc<Engine>,
        lexicon: Arc<Lexicon>,
        backends: Backends,
    ) -> Arc<Pipeline> {
        let (finished, _) = broadcast::channel(1024);
        let source = PullSource::from_settings(&settings.source);
        let Backends {
            articles,
            queue,
            store,
        } = backends;
        Arc::new(Pipeline {
            settings,
            engine,
            store,
            lexicon,
            articles,
            queue,
            wake: Notify::new(),
            finished,
            stored: watch::Sender::new(0),
            stopping: AtomicBool::new(false),
            source,
            voice_gains: Mutex::new(HashMap::new()),
            running: Mutex::new(Vec::new()),
        })
    }

    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// Where published audio lives; [`AudioStore::url`] names its public URLs.
    pub fn store(&self) -> &AudioStore {
        &self.store
    }

    /// Stop claiming jobs; the running one stops after its current segment.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Set the queue-depth and oldest-job gauges from the queue (the database is the truth:
    /// other processes share it). Called after every change this process makes, on each
    /// heartbeat (so the age keeps growing while a long job runs) and by idle workers. An
    /// empty queue is written once, not on every idle poll: the gauges are process-wide.
    async fn refresh_queue_gauges(&self) {
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
}
