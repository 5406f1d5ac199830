//! The `[queue]` settings: how many jobs may wait, how many workers claim them, the lease and
//! polling that let several processes share one queue, and the throughput ETAs assume.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::article::extract::ExtractOptions;
use crate::article::source::SourceSettings;
use crate::audio::EncoderOptions;
use crate::text::SegmentOptions;

/// Everything the pipeline reads from the configuration (`config::Settings::pipeline` builds
/// it): the `[queue]` and `[cache]` sections, which this module defines, and the text, audio,
/// extraction and source options of the modules it drives.
#[derive(Debug, Clone, Default)]
pub struct PipelineSettings {
    pub queue: QueueSettings,
    pub cache: CacheSettings,
    pub text: SegmentOptions,
    pub audio: EncoderOptions,
    pub extract: ExtractOptions,
    pub source: SourceSettings,
    /// The publication's name (`[feeds] title`), written into the audio files' tags.
    pub publication: String,
    /// The `[clips]`, decoded (`ClipLibrary::load`, at startup; the default has none), with
    /// the feeds' own clips.
    pub clips: crate::audio::clips::ClipLibrary,
    /// The `[feeds]`: which feeds list an article, for the feeds with clips of their own
    /// (their renditions are assembled with the article's).
    pub feeds: crate::feeds::FeedSettings,
}

/// The `[cache]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// Budget for cached segment audio, in bytes (0 = unlimited). Least recently used segments
    /// that no current article version uses are evicted above it; article audio never is.
    pub max_segment_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueSettings {
    /// Jobs allowed to wait; above it enqueueing answers 503 with Retry-After.
    pub max_queued: u64,
    /// Article workers in the server. The engine already spreads one article's sentences
    /// over all sessions, so one worker keeps the machine busy.
    pub workers: usize,
    /// Lease a worker holds on a claimed job, in milliseconds, renewed every third of it. A
    /// crashed worker's job runs again once its lease expires. At least [`MIN_LEASE_MS`].
    pub lease_ms: u64,
    /// How often, in milliseconds, idle workers look for jobs and waiters re-check theirs
    /// without being woken: other processes share the queue, backoffs expire, jobs get
    /// cancelled. Pushes made by this process wake workers at once.
    pub poll_ms: u64,
    /// Seconds of audio the engine makes per wall-clock second on this machine; only used
    /// for the ETA of a queued article.
    pub eta_throughput: f64,
}

/// A shorter lease would be renewed so often that heartbeats compete with the work.
pub const MIN_LEASE_MS: u64 = 500;

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_queued: 10_000,
            workers: 1,
            lease_ms: 15_000,
            poll_ms: 500,
            eta_throughput: 10.0,
        }
    }
}

impl QueueSettings {
    /// [`QueueSettings::lease_ms`], at least [`MIN_LEASE_MS`].
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(MIN_LEASE_MS))
    }

    /// The interval between heartbeats: a third of the lease, so two may fail before it ends.
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease() / 3
    }

    /// [`QueueSettings::poll_ms`], at least a millisecond.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_has_a_floor_and_heartbeats_renew_it_three_times() {
        let mut q = QueueSettings {
            lease_ms: 100,
            ..Default::default()
        };
        assert_eq!(q.lease(), Duration::from_millis(500));
        q.lease_ms = 15_000;
        assert_eq!(q.lease(), Duration::from_millis(15_000));
        assert_eq!(q.heartbeat_interval(), Duration::from_millis(5_000));
    }
}
