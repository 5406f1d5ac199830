//! Synthesis of a job's segments: the article is segmented as the server's `[text]` settings
//! say, every segment is looked up in the content-addressed segment cache, and only the misses
//! go to the engine. Each synthesized segment is cached at once, so a crash or a retry never
//! makes it twice. Segments flow into the [`Assembly`] in whatever order they arrive.
use std::fmt::Display;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::assembly::{Assembly, Variant};
use super::Pipeline;
use crate::article::ArticleRecord;
use crate::audio::AudioFormat;
use crate::queue::{Failure, Job, JobOutcome, Priority, Rendition};
use crate::store::{ObjectKey, ObjectKind, StoreError};
use crate::text::segment::segment_blocks;
use crate::text::Segment;
use crate::tts::{LoadedVoice, SynthSettings, TtsError};

/// A transient failure: the attempt is retried with backoff.
pub(super) fn retry(e: impl Display) -> Failure {
    Failure::Retry(e.to_string())
}

/// Why a job's run stopped before publishing.
#[derive(Debug)]
pub(super) enum Halt {
    /// The attempt failed: the queue retries it with backoff, or gives up.
    Fail(Failure),
    /// A listener's job is waiting: this prefetch job goes back to the queue (its segments
    /// so far are cached, so the next run picks up where this one stopped).
    Yield,
    /// The job was cancelled, or its lease lost to another worker: nothing to report.
    Lost,
    /// The disk is full: not the job's fault, so it goes back to the queue untried and the
    /// worker waits for storage to accept writes again.
    Storage(String),
}

/// A store error in a job: a full disk halts the worker, anything else retries the job.
fn store_halt(e: StoreError) -> Halt {
    match e {
        StoreError::Full(_) => Halt::Storage(e.to_string()),
        e => retry(e).into(),
    }
}

impl From<Failure> for Halt {
    fn from(f: Failure) -> Self {
        Halt::Fail(f)
    }
}

/// What a job made: the article's rendition (kept as it was when still current), the
/// renditions of the feeds with clips of their own that list it, and the run's figures.
pub(super) struct Produced {
    pub(super) rendition: Rendition,
    pub(super) feeds: Vec<Rendition>,
    pub(super) outcome: JobOutcome,
}

impl Pipeline {
    /// The blocking body of a job: cache lookups, synthesis of misses, assembly, encoding,
    /// storing the files. Publishing the renditions is the worker's.
    ///
    /// Every feed with clips of its own that lists the article gets its rendition in the
    /// same pass (one more MP3 encoder fed the same segments, overlapping synthesis), so the
    /// article appears in every feed at once, already with the right length. When a feed's
    /// rendition is missing (the feed's clips changed) and the article's own is current, only
    /// the feed's is encoded.
    pub(super) fn produce(&self, job: &Job, rt: &Handle) -> Result<Produced, Halt> {
        let article = rt
            .block_on(self.articles.article(&job.article))
            .map_err(retry)?
            .ok_or_else(|| Failure::Abort(format!("article `{}` no longer exists", job.article)))?;
        let voice = self
            .engine
            .voice(Some(&job.voice))
            .map_err(|e| Failure::Abort(e.to_string()))?;
        let (segments, keys) = self.plan(&article, &voice);
        if segments.is_empty() {
            return Err(Failure::Abort("the article has no speakable text".into()).into());
        }
        let mut feeds = Vec::new();
        for feed in self.feeds_listing(&article, &voice) {
            let current = !job.force
                && rt
                    .block_on(self.current_variant(&article, &voice.info().id, Some(&feed)))
                    .map_err(retry)?
                    .is_some();
            if !current {
                feeds.push(feed);
            }
        }
        // Only when a feed's rendition is what is missing: a job for the article itself runs
        // whole, as it always did (it may have been queued to make it again).
        let existing = if job.force || feeds.is_empty() {
            None
        } else {
            rt.block_on(self.current_rendition(&article, &voice))
                .map_err(retry)?
                .filter(|r| {
                    job.formats
                        .iter()
                        .all(|f| r.files.iter().any(|(have, _)| have == f))
                })
        };
        let mut variants = Vec::new();
        if existing.is_none() {
            variants.push(Variant {
                formats: job.formats.clone(),
                bookends: self.bookends(&article, &voice, None)?,
            });
        }
        for feed in &feeds {
            variants.push(Variant {
                // Feeds enclose the MP3 only.
                formats: vec![AudioFormat::Mp3],
                bookends: self.bookends(&article, &voice, Some(feed))?,
            });
        }
        let mut outcome = JobOutcome {
            segments_total: segments.len() as u64,
            segments_synthesized: 0,
            audio_seconds: 0.0,
        };
        let settings = SynthSettings::default();
        let leveler = self.leveler(&voice, rt)?;
        let mut assembly = Assembly::new(
            &segments,
            variants,
            voice.sample_rate(),
            &self.settings.audio,
            leveler,
            &super::assembly::tags(&article, &voice, &self.settings.publication),
        )
        .map_err(retry)?;
        outcome.segments_synthesized =
            self.fill(job, &voice, &settings, &keys, &mut assembly, rt)?;
        let touched: Vec<(String, u64)> = keys
            .iter()
            .zip(assembly.pcm_bytes())
            .map(|(k, n)| (k.hash_hex(), n))
            .collect();
        rt.block_on(self.queue.touch_segments(&touched))
            .map_err(retry)?;
        let mut assembled = assembly.finish().map_err(retry)?.into_iter();
        let rendition = match existing {
            Some(r) => r,
            None => {
                let own = assembled
                    .next()
                    .ok_or_else(|| retry("the assembly lost the article's rendition"))?;
                self.store_files(own, &article, &voice, None, &keys, rt)?
            }
        };
        let feeds = feeds
            .iter()
            .zip(assembled)
            .map(|(feed, a)| self.store_files(a, &article, &voice, Some(feed), &keys, rt))
            .collect::<Result<Vec<_>, _>>()?;
        outcome.audio_seconds = rendition.duration;
        Ok(Produced {
            rendition,
            feeds,
            outcome,
        })
    }

    /// An article's speakable segments in reading order and their segment-cache keys, as a
    /// job makes them and the live stream (`pipeline::live`) looks for them.
    pub(super) fn plan(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
    ) -> (Vec<Segment>, Vec<ObjectKey>) {
        let segments: Vec<Segment> =
            segment_blocks(&article.blocks, &self.lexicon, &self.settings.text)
                .into_iter()
                .filter(|s| crate::text::segment::has_speech(&s.spoken))
                .collect();
        let settings = SynthSettings::default();
        let keys = segments
            .iter()
            .map(|s| segment_key(voice, &settings, &s.spoken))
            .collect();
        (segments, keys)
    }

    /// Offer every segment to `assembly`: cached ones first (unless the job forces a fresh
    /// run), then the misses as the engine makes them. Returns how many were synthesized.
    fn fill(
        &self,
        job: &Job,
        voice: &LoadedVoice,
        settings: &SynthSettings,
        keys: &[ObjectKey],
        assembly: &mut Assembly<'_>,
        rt: &Handle,
    ) -> Result<u64, Halt> {
        // 1. Cache lookups.
        let mut misses = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let cached = if job.force {
                None
            } else {
                rt.block_on(self.cached_pcm(key)).map_err(retry)?
            };
            match cached {
                Some(samples) => {
                    crate::metrics::cache_lookup(true);
                    assembly.offer(i, samples).map_err(retry)?;
                }
                None => {
                    crate::metrics::cache_lookup(false);
                    misses.push(i);
                }
            }
        }
        if misses.is_empty() {
            return Ok(0);
        }
        // 2. Synthesize the misses (in order, the engine overlaps them), storing each at once.
        // Every segment is encoded as soon as those before it are, so encoding overlaps
        // inference instead of running after it while the sessions idle.
        let mut synthesized = 0u64;
        let todo: Vec<Segment> = misses
            .iter()
            .map(|&i| assembly.segment(i).clone())
            .collect();
        let mut sink_err: Option<Halt> = None;
        let claim = job.claim();
        let lease_ms = self.lease_ms();
        // Set from outside when a listener's job needs this worker or the job is cancelled.
        let interrupt = self.interrupt_of(&job.id);
        let stop = interrupt.as_ref().map(|i| i.flag()).unwrap_or_default();
        let summary = voice.synthesize_until(todo, settings, stop, |audio| {
            let i = misses[audio.index];
            if audio.samples.iter().any(|s| !s.is_finite()) {
                // Broken weights make NaN; published, they would be silence marked ready.
                sink_err = Some(
                    Failure::Abort(format!("voice `{}` produced non-finite audio", job.voice))
                        .into(),
                );
                return Err(TtsError::Sink("non-finite audio".into()));
            }
            let samples: Vec<i16> = audio
                .samples
                .iter()
                .map(|&s| crate::audio::to_i16(s))
                .collect();
            let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            if let Err(e) = rt.block_on(self.store.put_at(&keys[i], Bytes::from(bytes))) {
                let message = e.to_string();
                sink_err = Some(store_halt(e));
                return Err(TtsError::Sink(message));
            }
            let _ = rt.block_on(self.queue.log_segment(&keys[i].hash_hex(), &job.id));
            // Live listeners in this process look for their next segment now.
            self.segment_stored();
            synthesized += 1;
            if let Err(e) = assembly.offer(i, samples) {
                sink_err = Some(retry(&e).into());
                return Err(TtsError::Sink(e.to_string()));
            }
            if self.is_stopping() {
                return Err(TtsError::ShuttingDown);
            }
            // Renew the lease after every segment: one small write, and the answer says whether
            // the job is still ours. A job cancelled (here or by another process) or taken over
            // stops within a segment instead of synthesizing the rest for nothing. A database
            // that does not answer is no reason to stop: the timed heartbeat decides then.
            if let Ok(false) = rt.block_on(self.queue.heartbeat(&claim, lease_ms)) {
                sink_err = Some(Halt::Lost);
                return Err(TtsError::Sink("the job is no longer ours".into()));
            }
            // A long prefetch job never holds a listener up for more than a segment.
            let more_to_do = (synthesized as usize) < misses.len();
            if more_to_do
                && job.priority == Priority::Prefetch
                && rt
                    .block_on(self.queue.interactive_waiting())
                    .unwrap_or(false)
            {
                sink_err = Some(Halt::Yield);
                return Err(TtsError::Sink("yielding to a listener".into()));
            }
            Ok(())
        });
        if let Some(halt) = interrupt.and_then(|i| i.halt()) {
            return Err(halt);
        }
        if let Some(f) = sink_err {
            return Err(f);
        }
        let summary = summary.map_err(retry)?;
        crate::metrics::record_synthesis(
            "article",
            summary.audio_seconds,
            summary.inference_seconds,
        );
        Ok(synthesized)
    }

    pub(super) async fn cached_pcm(&self, key: &ObjectKey) -> Result<Option<Vec<i16>>, StoreError> {
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
