//! Assembly: an article's segments joined in order with their pauses, fed to every format's
//! encoder as they arrive, then stored with the timing manifest and WebVTT captions under
//! their content hashes.
use std::io::Cursor;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::synthesis::retry;
use super::Pipeline;
use crate::article::ArticleRecord;
use crate::audio::{encoder, AudioError, AudioFormat, EncoderOptions, EncodingWriter};
use crate::queue::{Failure, Rendition};
use crate::store::{ObjectKey, ObjectKind};
use crate::text::Segment;
use crate::tts::LoadedVoice;

/// One entry of the timing manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestSegment {
    pub index: usize,
    /// The original sentence, for highlighting.
    pub text: String,
    /// Block (paragraph, heading…) index in article order; the title is block 0 when present.
    pub block: usize,
    pub start: f64,
    pub duration: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub article: String,
    pub voice: String,
    pub content_hash: String,
    pub duration: f64,
    pub sample_rate: u32,
    pub segments: Vec<ManifestSegment>,
}

/// Joins an article's segments in order as they become available (cached ones at once,
/// synthesized ones as the engine hands them over) and feeds every format's encoder. A
/// segment's PCM is dropped once encoded, so a job holds only segments that arrived ahead of
/// a gap, not the whole article.
pub(super) struct Assembly<'a> {
    segments: &'a [Segment],
    rate: u32,
    /// PCM that arrived before an earlier segment did.
    waiting: Vec<Option<Vec<i16>>>,
    /// Samples of speech per segment (0 until encoded).
    lens: Vec<usize>,
    next: usize,
    joiner: Joiner,
    manifest: Vec<ManifestSegment>,
    writers: Vec<(AudioFormat, EncodingWriter<Cursor<Vec<u8>>>)>,
}

/// The one per-segment PCM path, shared by the published files ([`Assembly`]) and the live
/// stream (`pipeline::live`): where segment `i` sits on the rendition's timeline, and the
/// samples every encoder is fed for it (its speech, then its pause). Both callers feed their
/// encoders exactly these buffers, in order, so a live listener decodes the same audio the
/// final file holds. Anything that changes the sound per segment (a loudness gain, say) goes
/// here, and must depend only on the segment, never on segments not made yet.
pub(super) struct Joiner {
    rate: u32,
    /// Samples placed so far, pauses included.
    clock: usize,
    buf: Vec<f32>,
}

impl Joiner {
    pub(super) fn new(rate: u32) -> Self {
        Joiner {
            rate,
            clock: 0,
            buf: Vec::new(),
        }
    }

    /// Seconds placed so far, pauses included.
    pub(super) fn seconds(&self) -> f64 {
        self.clock as f64 / self.rate as f64
    }

    /// Place segment `i` (of `segments`), `speech` samples long, after those placed before:
    /// its manifest entry. Timing only; [`Joiner::join`] also makes the samples.
    pub(super) fn place(
        &mut self,
        segments: &[Segment],
        i: usize,
        speech: usize,
    ) -> ManifestSegment {
        let seg = &segments[i];
        let rate = self.rate as f64;
        let entry = ManifestSegment {
            index: i,
            text: seg.source.clone(),
            block: seg.block,
            start: self.clock as f64 / rate,
            duration: speech as f64 / rate,
        };
        self.clock += speech + self.pause_after(segments, i);
        entry
    }

    /// Segment `i`'s manifest entry and the samples the encoders take for it.
    pub(super) fn join(
        &mut self,
        segments: &[Segment],
        i: usize,
        samples: &[i16],
    ) -> (ManifestSegment, &[f32]) {
        let entry = self.place(segments, i, samples.len());
        // The encoders take f32; converting the stored i16 (not the engine's f32) makes a
        // fresh run, a cached run and a live stream encode the same samples.
        self.buf.clear();
        self.buf
            .extend(samples.iter().map(|&s| s as f32 / i16::MAX as f32));
        let pause = self.pause_after(segments, i);
        self.buf.resize(self.buf.len() + pause, 0.0);
        (entry, &self.buf)
    }

    /// The silence after segment `i`: its pause, none after the last one.
    fn pause_after(&self, segments: &[Segment], i: usize) -> usize {
        if i + 1 < segments.len() {
            pause_samples(&segments[i], self.rate)
        } else {
            0
        }
    }
}

impl<'a> Assembly<'a> {
    pub(super) fn new(
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
            joiner: Joiner::new(rate),
            manifest: Vec::with_capacity(segments.len()),
            writers,
        })
    }

    pub(super) fn segment(&self, i: usize) -> &'a Segment {
        &self.segments[i]
    }

    /// Segment `i`'s PCM is here: encode it and every waiting segment after it.
    pub(super) fn offer(&mut self, i: usize, samples: Vec<i16>) -> Result<(), AudioError> {
        self.waiting[i] = Some(samples);
        while let Some(samples) = self.waiting.get_mut(self.next).and_then(Option::take) {
            self.encode(self.next, &samples)?;
            self.next += 1;
        }
        Ok(())
    }

    /// Bytes of cached PCM per segment (16-bit samples), in order; 0 for one not encoded yet.
    pub(super) fn pcm_bytes(&self) -> impl Iterator<Item = u64> + '_ {
        self.lens.iter().map(|&n| n as u64 * 2)
    }

    fn encode(&mut self, i: usize, samples: &[i16]) -> Result<(), AudioError> {
        let (entry, pcm) = self.joiner.join(self.segments, i, samples);
        self.manifest.push(entry);
        self.lens[i] = samples.len();
        for (_, w) in &mut self.writers {
            w.push(pcm)?;
        }
        Ok(())
    }

    /// The encoded files, the manifest entries and the duration in seconds.
    pub(super) fn finish(self) -> Result<Assembled, AudioError> {
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
            duration: self.joiner.seconds(),
            sample_rate: self.rate,
        })
    }
}

/// An assembled article: each format's bytes, the timing manifest entries, the duration (s).
pub(super) struct Assembled {
    files: Vec<(AudioFormat, Vec<u8>)>,
    manifest: Vec<ManifestSegment>,
    duration: f64,
    sample_rate: u32,
}

impl Pipeline {
    /// Store an assembled article's files, manifest and captions; returns the rendition to
    /// publish, assembled from the segments `keys` name.
    pub(super) fn store_files(
        &self,
        assembled: Assembled,
        article: &ArticleRecord,
        voice: &LoadedVoice,
        keys: &[ObjectKey],
        rt: &Handle,
    ) -> Result<Rendition, Failure> {
        let put = |bytes: Vec<u8>, kind: ObjectKind| {
            rt.block_on(self.store.put(Bytes::from(bytes), kind))
                .map(|key| key.file_name())
                .map_err(retry)
        };
        let mut files = Vec::new();
        for (format, bytes) in assembled.files {
            files.push((format, put(bytes, format.into())?));
        }
        let manifest = Manifest {
            article: article.id.to_string(),
            voice: voice.info().id.clone(),
            content_hash: article.content_hash.clone(),
            duration: assembled.duration,
            sample_rate: assembled.sample_rate,
            segments: assembled.manifest,
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(retry)?;
        let manifest_name = put(manifest_json, ObjectKind::Json)?;
        let captions = put(webvtt(&manifest.segments), ObjectKind::Vtt)?;
        Ok(Rendition {
            article: article.id.clone(),
            content_hash: article.content_hash.clone(),
            voice: voice.info().id.clone(),
            duration: assembled.duration,
            files,
            manifest: manifest_name,
            captions,
            created_at: crate::queue::now_ms(),
            segments: keys.iter().map(|k| k.hash_hex()).collect(),
        })
    }
}

fn pause_samples(seg: &Segment, rate: u32) -> usize {
    (seg.pause_after_ms as u64 * rate as u64 / 1000) as usize
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
