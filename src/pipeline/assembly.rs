//! Assembly: an article's segments joined in order with their pauses, fed to every format's
//! encoder as they arrive, then stored with the timing manifest and WebVTT captions under
//! their content hashes.
use std::io::Cursor;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::synthesis::retry;
use super::Pipeline;
use crate::article::{ArticleRecord, Block, BlockKind};
use crate::audio::loudness::{Leveler, Meter};
use crate::audio::tags::Tags;
use crate::audio::{tagged_encoder, AudioError, AudioFormat, EncoderOptions, EncodingWriter};
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
    /// Measured on the rendition as encoded (absent in manifests written before loudness
    /// normalization existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness: Option<ManifestLoudness>,
    /// The publisher's clips around the speech, when the article has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clips: Option<ManifestClips>,
    /// Chapters from the article's headings (empty for an article without headings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
    pub segments: Vec<ManifestSegment>,
}

/// Where the speech sits between the clips: sentence times already include `lead`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ManifestClips {
    /// Seconds before the first sentence: intro, sponsor messages and their gaps.
    pub lead: f64,
    /// Seconds after the last sentence: gaps, sponsor messages, outro.
    pub tail: f64,
}

/// A chapter: a heading and where its first sentence starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    pub title: String,
    /// Seconds from the start of the rendition.
    pub start: f64,
}

/// What the audio files' tags say about `article` read by `voice`.
pub(super) fn tags(article: &ArticleRecord, voice: &LoadedVoice, publication: &str) -> Tags {
    let date = article
        .meta
        .published
        .or_else(|| chrono::DateTime::from_timestamp_millis(article.updated_at))
        .map(|d| d.format("%Y-%m-%d").to_string());
    Tags {
        title: article.title.clone(),
        publication: Some(publication.to_string()).filter(|p| !p.is_empty()),
        author: article.byline.clone(),
        url: article.url.clone(),
        date,
        voice: voice.info().id.clone(),
    }
}

/// Chapters for an article with headings: one per heading, at its first sentence, and one
/// for what comes before the first heading (named after the title). None without headings.
pub fn chapters(blocks: &[Block], segments: &[ManifestSegment]) -> Vec<Chapter> {
    let heading = |b: usize| blocks.get(b).map(|b| b.kind) == Some(BlockKind::Heading);
    if !segments.iter().any(|s| heading(s.block)) {
        return Vec::new();
    }
    let mut out: Vec<Chapter> = Vec::new();
    let mut last_block = None;
    for s in segments {
        if last_block == Some(s.block) {
            continue;
        }
        last_block = Some(s.block);
        if heading(s.block) {
            out.push(Chapter {
                title: blocks[s.block].text.clone(),
                start: s.start,
            });
        } else if out.is_empty() {
            let title = blocks
                .iter()
                .find(|b| b.kind == BlockKind::Title)
                .map_or_else(|| "Introduction".to_string(), |b| b.text.clone());
            out.push(Chapter {
                title,
                start: s.start,
            });
        }
    }
    if let Some(first) = out.first_mut() {
        // Chapters cover the whole rendition.
        first.start = 0.0;
    }
    out
}

/// The rendition's loudness (ITU-R BS.1770), measured on the PCM the encoders received.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ManifestLoudness {
    /// Integrated loudness, LUFS (`null` for audio too short to gate).
    pub integrated_lufs: Option<f64>,
    /// Maximum true peak, dBTP.
    pub true_peak_dbtp: f64,
    /// The configured target (`null` when normalization is off).
    pub target_lufs: Option<f64>,
    /// Gain applied to the voice before the limiter, dB.
    pub gain_db: f64,
}

/// Joins an article's segments in order as they become available (cached ones at once,
/// synthesized ones as the engine hands them over) and feeds every rendition's encoders: the
/// article's own and any feed's with clips of its own ([`Variant`]), which differ only in
/// their clips. A segment's PCM is dropped once encoded, so a job holds only segments that
/// arrived ahead of a gap, not the whole article.
pub(super) struct Assembly<'a> {
    segments: &'a [Segment],
    rate: u32,
    /// PCM that arrived before an earlier segment did.
    waiting: Vec<Option<Vec<i16>>>,
    /// Samples of speech per segment (0 until encoded).
    lens: Vec<usize>,
    next: usize,
    outputs: Vec<Output>,
    target_lufs: Option<f64>,
}

/// One rendition an [`Assembly`] makes: its formats and its clips.
pub(super) struct Variant {
    pub(super) formats: Vec<AudioFormat>,
    pub(super) bookends: Bookends,
}

/// What one [`Variant`] accumulates.
struct Output {
    joiner: Joiner,
    manifest: Vec<ManifestSegment>,
    writers: Vec<(AudioFormat, EncodingWriter<Cursor<Vec<u8>>>)>,
    /// Measures what the encoders are fed (the manifest's loudness figures).
    meter: Meter,
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
    /// Per-segment gain and limiter (the same for a segment wherever it is assembled).
    leveler: Leveler,
    /// The publisher's clips around the speech (none by default).
    bookends: Bookends,
}

/// What goes before the first segment and after the last one: the article's clips (intro,
/// sponsor messages, outro) with their gaps, already at the voice's rate and loudness.
#[derive(Debug, Clone, Default)]
pub(super) struct Bookends {
    pub(super) lead: std::sync::Arc<Vec<f32>>,
    pub(super) tail: std::sync::Arc<Vec<f32>>,
}

impl Joiner {
    pub(super) fn new(rate: u32, leveler: Leveler) -> Self {
        Joiner {
            rate,
            clock: 0,
            buf: Vec::new(),
            leveler,
            bookends: Bookends::default(),
        }
    }

    /// Set the clips before the first segment is joined.
    pub(super) fn set_bookends(&mut self, bookends: Bookends) {
        self.bookends = bookends;
    }

    /// Set the leveler before the first segment is joined (a live stream learns the voice's
    /// calibrated gain once the worker has made it).
    pub(super) fn set_leveler(&mut self, leveler: Leveler) {
        self.leveler = leveler;
    }

    pub(super) fn gain_db(&self) -> f64 {
        self.leveler.gain_db()
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
        if i == 0 {
            self.clock += self.bookends.lead.len();
        }
        let entry = ManifestSegment {
            index: i,
            text: seg.source.clone(),
            block: seg.block,
            start: self.clock as f64 / rate,
            duration: speech as f64 / rate,
        };
        self.clock += speech + self.pause_after(segments, i);
        if i + 1 == segments.len() {
            self.clock += self.bookends.tail.len();
        }
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
        if i == 0 {
            self.buf.extend_from_slice(&self.bookends.lead);
        }
        let speech = self.buf.len();
        self.buf
            .extend(samples.iter().map(|&s| s as f32 / i16::MAX as f32));
        self.leveler.apply(&mut self.buf[speech..]);
        let pause = self.pause_after(segments, i);
        self.buf.resize(self.buf.len() + pause, 0.0);
        if i + 1 == segments.len() {
            self.buf.extend_from_slice(&self.bookends.tail);
        }
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
    /// An assembly of `segments` into each of `variants` (in that order in
    /// [`Assembly::finish`]'s answer).
    pub(super) fn new(
        segments: &'a [Segment],
        variants: Vec<Variant>,
        rate: u32,
        opts: &EncoderOptions,
        leveler: Leveler,
        tags: &Tags,
    ) -> Result<Self, AudioError> {
        let outputs = variants
            .into_iter()
            .map(|v| {
                let writers = v
                    .formats
                    .iter()
                    .map(|&f| {
                        Ok((
                            f,
                            EncodingWriter::new(
                                tagged_encoder(f, rate, opts, tags)?,
                                Cursor::new(Vec::new()),
                            ),
                        ))
                    })
                    .collect::<Result<_, AudioError>>()?;
                let mut joiner = Joiner::new(rate, leveler);
                joiner.set_bookends(v.bookends);
                Ok(Output {
                    joiner,
                    manifest: Vec::with_capacity(segments.len()),
                    writers,
                    meter: Meter::new(rate)?,
                })
            })
            .collect::<Result<_, AudioError>>()?;
        Ok(Assembly {
            segments,
            rate,
            waiting: vec![None; segments.len()],
            lens: vec![0; segments.len()],
            next: 0,
            outputs,
            target_lufs: opts.loudness().map(|t| t.lufs),
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
        self.lens[i] = samples.len();
        for out in &mut self.outputs {
            let (entry, pcm) = out.joiner.join(self.segments, i, samples);
            out.manifest.push(entry);
            out.meter.add(pcm)?;
            for (_, w) in &mut out.writers {
                w.push(pcm)?;
            }
        }
        Ok(())
    }

    /// Each variant's encoded files, manifest entries and duration, in the order given.
    pub(super) fn finish(self) -> Result<Vec<Assembled>, AudioError> {
        if self.next != self.segments.len() {
            return Err(AudioError::Encoder {
                format: "assembly",
                message: format!("segment {} never arrived", self.next),
            });
        }
        let rate = self.rate as f64;
        self.outputs
            .into_iter()
            .map(|out| {
                let files = out
                    .writers
                    .into_iter()
                    .map(|(f, w)| Ok((f, w.finish_seekable()?.into_inner())))
                    .collect::<Result<_, AudioError>>()?;
                let measured = out.meter.loudness();
                let bookends = &out.joiner.bookends;
                let clips = (!bookends.lead.is_empty() || !bookends.tail.is_empty()).then(|| {
                    ManifestClips {
                        lead: bookends.lead.len() as f64 / rate,
                        tail: bookends.tail.len() as f64 / rate,
                    }
                });
                Ok(Assembled {
                    clips,
                    loudness: ManifestLoudness {
                        integrated_lufs: measured.integrated_lufs,
                        true_peak_dbtp: measured.true_peak_dbtp,
                        target_lufs: self.target_lufs,
                        gain_db: out.joiner.gain_db(),
                    },
                    files,
                    manifest: out.manifest,
                    duration: out.joiner.seconds(),
                    sample_rate: self.rate,
                })
            })
            .collect()
    }
}

/// An assembled article: each format's bytes, the timing manifest entries, the duration (s).
pub(super) struct Assembled {
    clips: Option<ManifestClips>,
    files: Vec<(AudioFormat, Vec<u8>)>,
    manifest: Vec<ManifestSegment>,
    duration: f64,
    sample_rate: u32,
    loudness: ManifestLoudness,
}

impl Pipeline {
    /// Store an assembled article's files, manifest and captions; returns the rendition to
    /// publish, assembled from the segments `keys` name: the article's own (`feed` None) or
    /// feed `feed`'s, under that feed's voice key ([`super::clips::feed_voice_key`]).
    pub(super) fn store_files(
        &self,
        assembled: Assembled,
        article: &ArticleRecord,
        voice: &LoadedVoice,
        feed: Option<&str>,
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
        let assembly = self.assembly_key(article, feed);
        let manifest = Manifest {
            article: article.id.to_string(),
            voice: voice.info().id.clone(),
            content_hash: article.content_hash.clone(),
            duration: assembled.duration,
            sample_rate: assembled.sample_rate,
            loudness: Some(assembled.loudness),
            clips: assembled.clips,
            chapters: chapters(&article.blocks, &assembled.manifest),
            segments: assembled.manifest,
        };
        let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(retry)?;
        let manifest_name = put(manifest_json, ObjectKind::Json)?;
        let captions = put(webvtt(&manifest.segments), ObjectKind::Vtt)?;
        let voice_id = &voice.info().id;
        Ok(Rendition {
            article: article.id.clone(),
            content_hash: article.content_hash.clone(),
            voice: match feed {
                Some(feed) => super::clips::feed_voice_key(voice_id, feed),
                None => voice_id.clone(),
            },
            duration: assembled.duration,
            files,
            manifest: manifest_name,
            captions,
            created_at: crate::queue::now_ms(),
            segments: keys.iter().map(|k| k.hash_hex()).collect(),
            assembly,
        })
    }
}

fn pause_samples(seg: &Segment, rate: u32) -> usize {
    (seg.pause_after_ms as u64 * rate as u64 / 1000) as usize
}

/// A WebVTT timestamp.
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

/// A WebVTT chapters track (`<track kind="chapters">`): one cue per chapter, to the next one
/// or the end.
pub fn webvtt_chapters(chapters: &[Chapter], duration: f64) -> Vec<u8> {
    let mut out = String::from("WEBVTT\n\n");
    for (i, c) in chapters.iter().enumerate() {
        let end = chapters.get(i + 1).map_or(duration, |n| n.start);
        out.push_str(&format!(
            "chapter-{}\n{} --> {}\n{}\n\n",
            i + 1,
            ts(c.start),
            ts(end.max(c.start)),
            c.title.replace("-->", "->").replace('\n', " ")
        ));
    }
    out.into_bytes()
}

/// WebVTT captions, one cue per segment.
pub fn webvtt(segments: &[ManifestSegment]) -> Vec<u8> {
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
