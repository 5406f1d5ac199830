//! The live rendition: an article's audio streamed while its job makes it. A live listener
//! joins (or starts) the article's interactive job exactly as a play request does, then reads
//! the job's segments from the segment cache in reading order: those already cached go out at
//! once, the rest as the worker stores them. Nothing is synthesized here, so ten listeners are
//! still one job, and a listener who leaves cancels nothing.
//!
//! Every segment goes through the same [`Joiner`] as the published files, into the same
//! encoder with the same settings: the live bytes decode to the final file's samples (the MP3
//! LAME tag, which needs the final length, stays in its streaming form, and a live Ogg Opus
//! stream pads its first packets so that browsers start playing after the first segment:
//! [`crate::audio::live_encoder`]).
//!
//! Wake-ups: workers of this process bump a `watch` after every stored segment, and a job
//! reaching a final state is announced on the `finished` broadcast; the store is also polled
//! every `[queue] poll_ms`, for segments made by workers on other hosts.
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};

use super::assembly::{Bookends, Joiner, ManifestSegment};
use super::clips::lay_out;
use super::request::AudioStatus;
use super::{Pipeline, PipelineError};
use crate::article::{ArticleId, ArticleRecord};
use crate::audio::loudness::Leveler;
use crate::audio::tags::Tags;
use crate::audio::{live_encoder, AudioError, AudioFormat, StreamEncoder};
use crate::queue::{Job, JobId, Priority, Rendition};
use crate::store::ObjectKey;
use crate::text::Segment;
use crate::tts::LoadedVoice;

/// Encoded chunks buffered per listener before the stream waits for the client to read.
const LIVE_BUFFER_CHUNKS: usize = 8;

/// What a live request gets.
pub enum LiveAudio {
    /// The rendition is already published: the final file is the better answer.
    Ready(Rendition),
    /// The rendition as it is made, in encoded chunks; the channel closes at its end (or when
    /// the job stops for good: failed or cancelled).
    Streaming {
        job: JobId,
        chunks: mpsc::Receiver<Bytes>,
    },
}

/// The side channel of a live rendition: where the article's audio stands, and the timing
/// of the segments made so far (the first ones, in order, without a gap).
#[derive(Debug, Clone)]
pub struct LiveProgress {
    /// The article's latest job, if any.
    pub job: Option<Job>,
    /// Jobs ahead of it (0 = next or running).
    pub position: u64,
    /// The published rendition of the current version, once there is one.
    pub rendition: Option<Rendition>,
    /// Segments in the whole article.
    pub segments_total: usize,
    /// Timing of the segments a live stream can play now (same values as the final manifest).
    pub segments: Vec<ManifestSegment>,
    /// Seconds of audio those segments make, pauses included.
    pub seconds: f64,
}

/// Why waiting for a segment ended without it.
enum Wait {
    Got(Vec<i16>),
    /// The job stopped for good (failed, cancelled, or gone) before making the segment.
    JobOver,
    /// The listener went away.
    Gone,
}

impl Pipeline {
    /// Start a live rendition of `id` in `format`: join or enqueue the article's interactive
    /// job (as [`Pipeline::article_audio`] does), then stream its segments as they exist.
    pub async fn live_audio(
        self: &Arc<Self>,
        id: &ArticleId,
        voice: Option<&str>,
        format: AudioFormat,
    ) -> Result<LiveAudio, PipelineError> {
        let job = match self
            .article_audio(id, voice, Priority::Interactive, false)
            .await?
        {
            AudioStatus::Ready(r) => return Ok(LiveAudio::Ready(r)),
            AudioStatus::Pending { job, .. } => job,
        };
        let article = self.stored_article(id).await?;
        let voice = self.voice_for(voice, &article)?;
        let (segments, keys) = self.plan(&article, &voice);
        let (tx, chunks) = mpsc::channel(LIVE_BUFFER_CHUNKS);
        let this = Arc::clone(self);
        let tags = super::assembly::tags(&article, &voice, &self.settings.publication);
        let live = LiveEncoder::new(
            segments,
            format,
            voice.sample_rate(),
            &self.settings.audio,
            &tags,
        );
        let job_id = job.id.clone();
        tokio::spawn(async move {
            match live {
                Ok(live) => {
                    this.stream_live(job_id, voice, Arc::new(article), keys, live, tx)
                        .await
                }
                Err(e) => tracing::error!(error = %e, "live encoder failed to start"),
            }
        });
        Ok(LiveAudio::Streaming {
            job: job.id,
            chunks,
        })
    }

    #[tracing::instrument(name = "streaming a live rendition", skip_all, fields(job = %job))]
    async fn stream_live(
        self: Arc<Self>,
        job: JobId,
        voice: Arc<LoadedVoice>,
        article: Arc<ArticleRecord>,
        keys: Vec<ObjectKey>,
        mut live: LiveEncoder,
        tx: mpsc::Sender<Bytes>,
    ) {
        let mut stored = self.stored.subscribe();
        let mut finished = self.finished.subscribe();
        for (i, key) in keys.iter().enumerate() {
            let pcm = match self
                .wait_segment(&job, key, &mut stored, &mut finished, &tx)
                .await
            {
                Wait::Got(pcm) => pcm,
                Wait::Gone => {
                    tracing::info!(segment = i, "live listener left; the job goes on");
                    return;
                }
                Wait::JobOver => {
                    tracing::info!(
                        segment = i,
                        "the job stopped before this segment: live stream ends"
                    );
                    break;
                }
            };
            if i == 0 {
                // The voice's loudness gain, as the job applies it. The job's worker
                // calibrated the voice before making this segment, so the calibration
                // sentences are in the segment cache by now (on any host). And the
                // article's clips, as the job lays them out.
                let (this, voice, article) =
                    (Arc::clone(&self), Arc::clone(&voice), Arc::clone(&article));
                let rt = tokio::runtime::Handle::current();
                let made = tokio::task::spawn_blocking(move || {
                    Ok::<_, crate::queue::Failure>((
                        this.leveler(&voice, &rt)?,
                        this.bookends(&article, &voice, None)?,
                    ))
                });
                match made.await {
                    Ok(Ok((leveler, bookends))) => {
                        live.joiner.set_leveler(leveler);
                        live.joiner.set_bookends(bookends);
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = ?e, "the voice's loudness gain is unknown: live stream ends");
                        return;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "live leveler task failed");
                        return;
                    }
                }
            }
            // Encoding is CPU work: off the async runtime, the encoder travelling along.
            let done = tokio::task::spawn_blocking(move || {
                let r = live.push(i, &pcm);
                (live, r)
            })
            .await;
            let bytes = match done {
                Ok((l, Ok(bytes))) => {
                    live = l;
                    bytes
                }
                Ok((_, Err(e))) => {
                    tracing::error!(error = %e, "live encoding failed");
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "live encoding task failed");
                    return;
                }
            };
            if !bytes.is_empty() && tx.send(Bytes::from(bytes)).await.is_err() {
                tracing::info!(segment = i, "live listener left; the job goes on");
                return;
            }
        }
        // The stream's end (also after a failed job: a cleanly closed stream, not a cut one).
        match tokio::task::spawn_blocking(move || live.finish()).await {
            Ok(Ok(bytes)) if !bytes.is_empty() => {
                let _ = tx.send(Bytes::from(bytes)).await;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "finishing the live stream failed"),
            Err(e) => tracing::error!(error = %e, "live encoding task failed"),
        }
    }

    /// Wait until `key` is in the segment cache, the job stops for good, or the listener
    /// leaves.
    async fn wait_segment(
        &self,
        job: &JobId,
        key: &ObjectKey,
        stored: &mut watch::Receiver<u64>,
        finished: &mut broadcast::Receiver<JobId>,
        tx: &mpsc::Sender<Bytes>,
    ) -> Wait {
        loop {
            // Mark the counter seen before looking, so a segment stored meanwhile wakes us.
            stored.borrow_and_update();
            match self.cached_pcm(key).await {
                Ok(Some(pcm)) => return Wait::Got(pcm),
                Ok(None) => {}
                // A store that does not answer now may answer at the next poll.
                Err(e) => tracing::debug!(error = %e, "reading a segment for a live stream failed"),
            }
            match self.queue.job(job).await {
                Ok(Some(j)) if !j.state.is_final() => {}
                Ok(_) => {
                    // Final (or pruned): the segment may have been stored just before.
                    return match self.cached_pcm(key).await {
                        Ok(Some(pcm)) => Wait::Got(pcm),
                        _ => Wait::JobOver,
                    };
                }
                Err(e) => tracing::debug!(error = %e, "reading a live stream's job failed"),
            }
            let poll = self.poll_interval();
            tokio::select! {
                _ = stored.changed() => {}
                _ = finished.recv() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = tx.closed() => return Wait::Gone,
            }
        }
    }

    async fn stored_article(&self, id: &ArticleId) -> Result<ArticleRecord, PipelineError> {
        self.articles
            .article(id)
            .await?
            .ok_or_else(|| PipelineError::NotFound(id.clone()))
    }

    /// [`Pipeline::bookends`] on a blocking thread (clips are resampled and levelled the
    /// first time).
    async fn bookends_off_runtime(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
    ) -> Result<Bookends, PipelineError> {
        // The library is shared behind an `Arc`: cloning it is cheap.
        let library = self.settings.clips.clone();
        let set = library.set_for(article.meta.section.as_deref());
        let (rate, level) = (voice.sample_rate(), self.clip_level());
        tokio::task::spawn_blocking(move || lay_out(&library, &set, rate, level))
            .await
            .map_err(|e| crate::audio::AudioError::encoder("clips", e))?
            .map_err(PipelineError::from)
    }

    /// Wake live streams of this process: a segment was stored.
    pub(super) fn segment_stored(&self) {
        self.stored.send_modify(|n| *n += 1);
    }

    /// Where a live rendition of `id` stands: its job, the published rendition once there is
    /// one, and the timing of the segments made so far. Queues nothing.
    pub async fn live_progress(
        &self,
        id: &ArticleId,
        voice: Option<&str>,
    ) -> Result<LiveProgress, PipelineError> {
        let article = self.stored_article(id).await?;
        let voice = self.voice_for(voice, &article)?;
        let rendition = self.current_rendition(&article, &voice).await?;
        let job = self.queue.latest_job(id).await?;
        let position = match &job {
            Some(j) if !j.state.is_final() => self.queue.position(&j.id).await?,
            _ => 0,
        };
        let (segments, keys) = self.plan(&article, &voice);
        // Timing only: the gain changes no sample count, but the clips do.
        let mut joiner = Joiner::new(voice.sample_rate(), Leveler::unity());
        joiner.set_bookends(self.bookends_off_runtime(&article, &voice).await?);
        let mut made = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match self.store.len(key).await {
                // Segment PCM is 16-bit mono.
                Ok(bytes) => made.push(joiner.place(&segments, i, bytes as usize / 2)),
                Err(crate::store::StoreError::NotFound) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(LiveProgress {
            job,
            position,
            rendition,
            segments_total: segments.len(),
            seconds: joiner.seconds(),
            segments: made,
        })
    }
}

/// One listener's encoder: the article's segments through the shared [`Joiner`] into the
/// format's streaming encoder.
struct LiveEncoder {
    segments: Vec<Segment>,
    joiner: Joiner,
    encoder: Box<dyn StreamEncoder>,
}

impl LiveEncoder {
    fn new(
        segments: Vec<Segment>,
        format: AudioFormat,
        rate: u32,
        opts: &crate::audio::EncoderOptions,
        tags: &Tags,
    ) -> Result<Self, AudioError> {
        Ok(LiveEncoder {
            segments,
            // Unity until the first segment: then the voice's gain (`stream_live`).
            joiner: Joiner::new(rate, Leveler::unity()),
            encoder: live_encoder(format, rate, opts, tags)?,
        })
    }

    /// Segment `i` (they come in order): the bytes ready to send.
    fn push(&mut self, i: usize, pcm: &[i16]) -> Result<Vec<u8>, AudioError> {
        let (_, samples) = self.joiner.join(&self.segments, i, pcm);
        let mut out = Vec::new();
        self.encoder.push(samples, &mut out)?;
        Ok(out)
    }

    /// The stream's last bytes. A header patch (MP3's LAME tag) is for seekable files only:
    /// a stream keeps its streaming header, which players accept.
    fn finish(mut self) -> Result<Vec<u8>, AudioError> {
        let mut out = Vec::new();
        self.encoder.finish(&mut out)?;
        Ok(out)
    }
}
