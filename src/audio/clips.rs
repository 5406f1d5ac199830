//! Publisher clips: intros, outros and sponsor messages in the publication's own voice or
//! jingle, stitched around an article's speech (`[clips]`). Files are MP3, WAV, FLAC, Ogg
//! Vorbis or Ogg Opus, decoded with symphonia (Opus: symphonia's Ogg demuxer, libopus's
//! decoder, since symphonia 0.5 has no Opus decoder), mixed down to mono, resampled to the
//! voice's rate and loudness-matched to the speech target.
//!
//! Every configured clip is decoded once at startup ([`ClipLibrary::load`]), so a missing,
//! truncated or unsupported file stops the service with an error naming it instead of ever
//! reaching a rendition. What a rendition gets ([`ClipLibrary::prepare`]) is derived from the
//! decoded PCM and cached per clip, rate and target.
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::loudness::{measure, Leveler, LoudnessTarget};
use super::resample::StreamResampler;
use super::AudioError;

/// Clips longer than this are refused: a clip is held decoded in memory.
const MAX_CLIP_SECONDS: f64 = 600.0;

/// The `[clips]` section: the default clips, the silence around them, and per-section
/// overrides (an article's `section`, from its metadata, picks one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClipSettings {
    /// Played before the first sentence of every article (a path; unset = none).
    pub intro: Option<PathBuf>,
    /// Played after the last sentence.
    pub outro: Option<PathBuf>,
    /// Sponsor messages, played in order at `sponsor_position`.
    pub sponsors: Vec<PathBuf>,
    /// Where the sponsor messages go: `start` (after the intro, before the speech) or `end`
    /// (after the speech, before the outro).
    pub sponsor_position: SponsorPosition,
    /// Silence between a clip and the speech or the next clip, in milliseconds.
    pub gap_ms: u32,
    /// Per-section overrides: `[clips.sections.<section>]` with any of `intro`, `outro`,
    /// `sponsors` (an empty path or list means none for that section).
    pub sections: BTreeMap<String, SectionClips>,
}

impl Default for ClipSettings {
    fn default() -> Self {
        ClipSettings {
            intro: None,
            outro: None,
            sponsors: Vec::new(),
            sponsor_position: SponsorPosition::Start,
            gap_ms: 500,
            sections: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SponsorPosition {
    #[default]
    Start,
    End,
}

/// A section's overrides; an unset key keeps the default clip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SectionClips {
    pub intro: Option<PathBuf>,
    pub outro: Option<PathBuf>,
    pub sponsors: Option<Vec<PathBuf>>,
}

/// The clips one article gets, by path (resolved from the defaults and its section).
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSet {
    pub intro: Option<PathBuf>,
    pub outro: Option<PathBuf>,
    pub sponsors: Vec<PathBuf>,
}

impl ClipSettings {
    /// The clips for an article in `section`.
    pub fn for_section(&self, section: Option<&str>) -> ClipSet {
        let defaults = ClipSet {
            intro: self.intro.clone(),
            outro: self.outro.clone(),
            sponsors: self.sponsors.clone(),
        };
        match section.and_then(|s| self.sections.get(s)) {
            Some(over) => over.apply(defaults),
            None => SectionClips::default().apply(defaults),
        }
    }
}

impl SectionClips {
    /// Whether any key is set (a feed with none of them has no clips of its own).
    pub fn is_set(&self) -> bool {
        self.intro.is_some() || self.outro.is_some() || self.sponsors.is_some()
    }

    /// `base` with these overrides on top: a set key replaces the clip, an empty path (or
    /// list) means none, an unset key keeps `base`'s.
    pub fn apply(&self, base: ClipSet) -> ClipSet {
        let pick = |base: Option<PathBuf>, over: &Option<PathBuf>| match over {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
            None => base.filter(|p| !p.as_os_str().is_empty()),
        };
        ClipSet {
            intro: pick(base.intro, &self.intro),
            outro: pick(base.outro, &self.outro),
            sponsors: self
                .sponsors
                .clone()
                .unwrap_or(base.sponsors)
                .into_iter()
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
        }
    }

    fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.intro
            .iter()
            .chain(&self.outro)
            .chain(self.sponsors.iter().flatten())
    }
}

impl ClipSettings {
    /// Every path the settings name, defaults and sections alike (and `feeds`' overrides).
    fn paths<'a>(&'a self, feeds: impl Iterator<Item = &'a SectionClips>) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        let mut add = |p: &PathBuf| {
            if !p.as_os_str().is_empty() && !out.contains(p) {
                out.push(p.clone());
            }
        };
        self.intro
            .iter()
            .chain(&self.outro)
            .chain(&self.sponsors)
            .for_each(&mut add);
        for s in self.sections.values().chain(feeds) {
            s.paths().for_each(&mut add);
        }
        out
    }
}

/// Why a clip cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("clip {}: cannot read the file: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("clip {}: not a supported audio file (MP3, WAV, FLAC, Ogg Vorbis or Ogg Opus): {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("clip {}: corrupt or truncated: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

impl ClipError {
    pub fn code(&self) -> &'static str {
        match self {
            ClipError::Unreadable { .. } => "clip-unreadable",
            ClipError::Unsupported { .. } => "clip-unsupported",
            ClipError::Corrupt { .. } => "clip-corrupt",
        }
    }
}

/// A decoded clip: mono PCM at the file's own rate.
#[derive(Debug)]
pub struct Clip {
    pub rate: u32,
    pub samples: Vec<f32>,
    /// SHA-256 of the file's bytes (hex): part of the rendition's assembly key, so replacing
    /// a clip file re-assembles the articles that use it.
    pub hash: String,
}

impl Clip {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }
}

/// Decode a clip file (any of the supported formats) to mono PCM.
pub fn decode_file(path: &Path) -> Result<Clip, ClipError> {
    let bytes = std::fs::read(path).map_err(|e| ClipError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let ext = path.extension().and_then(|e| e.to_str());
    let (rate, samples) = decode_bytes(&bytes, ext).map_err(|e| e.with_path(path))?;
    Ok(Clip {
        rate,
        samples,
        hash: hex::encode(Sha256::digest(&bytes)),
    })
}

/// A decoding failure before the file's path is attached.
#[derive(Debug)]
pub enum DecodeFailure {
    Unsupported(String),
    Corrupt(String),
}

impl DecodeFailure {
    fn with_path(self, path: &Path) -> ClipError {
        let path = path.to_path_buf();
        match self {
            DecodeFailure::Unsupported(reason) => ClipError::Unsupported { path, reason },
            DecodeFailure::Corrupt(reason) => ClipError::Corrupt { path, reason },
        }
    }
}

/// Decode audio bytes to mono f32 at their own rate. `ext` is a hint for the prober.
pub fn decode_bytes(bytes: &[u8], ext: Option<&str>) -> Result<(u32, Vec<f32>), DecodeFailure> {
    use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
    use symphonia::core::errors::Error;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let corrupt = |e: &dyn std::fmt::Display| DecodeFailure::Corrupt(e.to_string());
    if !known_signature(bytes) {
        // Not handed to symphonia's prober, which would scan the whole file for an MP3 frame
        // sync (and log its own error line).
        return Err(DecodeFailure::Unsupported(
            "no MP3, WAV, FLAC or Ogg signature at the start of the file".into(),
        ));
    }
    let is_ogg = bytes.starts_with(b"OggS");
    if is_ogg {
        check_ogg(bytes)?;
    }
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let fmt_opts = FormatOptions {
        // Encoder delay and padding trimmed: the clip is as long as the audio put into it.
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| DecodeFailure::Unsupported(e.to_string()))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| DecodeFailure::Unsupported("no audio track".into()))?
        .clone();
    let params = &track.codec_params;
    let mut decoder: Box<dyn PacketDecoder> = if params.codec == CODEC_TYPE_OPUS {
        Box::new(OpusPackets::new(params)?)
    } else {
        Box::new(SymphoniaPackets(
            symphonia::default::get_codecs()
                .make(params, &DecoderOptions::default())
                .map_err(|e| DecodeFailure::Unsupported(e.to_string()))?,
        ))
    };
    let rate = decoder.rate().or(params.sample_rate).ok_or_else(|| {
        DecodeFailure::Unsupported("the file does not say its sample rate".into())
    })?;
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(e) => return Err(corrupt(&e)),
        };
        if packet.track_id() != track.id {
            continue;
        }
        decoder.decode(&packet, &mut samples)?;
        if samples.len() as f64 > MAX_CLIP_SECONDS * rate as f64 {
            return Err(DecodeFailure::Unsupported(format!(
                "longer than {MAX_CLIP_SECONDS} s"
            )));
        }
    }
    decoder.finish(&mut samples);
    if samples.is_empty() {
        return Err(DecodeFailure::Corrupt("no audio in the file".into()));
    }
    // A truncated file decodes, only shorter than its header says (WAV data size, FLAC
    // STREAMINFO, MP3 Xing/Info frame count, the Ogg stream's last granule).
    if let Some(expected) = params.n_frames {
        if (samples.len() as u64) + (rate as u64 / 20) < expected {
            return Err(DecodeFailure::Corrupt(format!(
                "{} samples decoded, the header announces {expected}",
                samples.len()
            )));
        }
        samples.truncate(expected as usize);
    }
    if samples.iter().any(|s| !s.is_finite()) {
        return Err(DecodeFailure::Corrupt("non-finite samples".into()));
    }
    Ok((rate, samples))
}

/// The file starts the way one of the supported containers does: an ID3v2 tag or an MPEG
/// audio frame sync (MP3), RIFF/RF64 (WAV), `fLaC`, or an Ogg page.
fn known_signature(bytes: &[u8]) -> bool {
    let mpeg_sync = bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0;
    mpeg_sync
        || [&b"ID3"[..], b"RIFF", b"RF64", b"fLaC", b"OggS"]
            .iter()
            .any(|m| bytes.starts_with(m))
}

/// An Ogg file is whole when every page is complete and the last one ends the stream:
/// symphonia stops quietly at a cut page, so this is the truncation check for Ogg.
fn check_ogg(bytes: &[u8]) -> Result<(), DecodeFailure> {
    let mut reader = ogg::reading::PacketReader::new(Cursor::new(bytes));
    let mut ended = false;
    loop {
        match reader.read_packet() {
            Ok(Some(p)) => ended = p.last_in_stream(),
            Ok(None) => break,
            Err(e) => return Err(DecodeFailure::Corrupt(format!("Ogg: {e}"))),
        }
    }
    if !ended {
        return Err(DecodeFailure::Corrupt(
            "the Ogg stream ends without its last page".into(),
        ));
    }
    Ok(())
}

/// Packets in, mono samples appended.
trait PacketDecoder {
    fn rate(&self) -> Option<u32>;
    fn decode(
        &mut self,
        packet: &symphonia::core::formats::Packet,
        out: &mut Vec<f32>,
    ) -> Result<(), DecodeFailure>;
    fn finish(&mut self, _out: &mut Vec<f32>) {}
}

struct SymphoniaPackets(Box<dyn symphonia::core::codecs::Decoder>);

impl PacketDecoder for SymphoniaPackets {
    fn rate(&self) -> Option<u32> {
        self.0.codec_params().sample_rate
    }

    fn decode(
        &mut self,
        packet: &symphonia::core::formats::Packet,
        out: &mut Vec<f32>,
    ) -> Result<(), DecodeFailure> {
        use symphonia::core::audio::SampleBuffer;
        let decoded = self
            .0
            .decode(packet)
            .map_err(|e| DecodeFailure::Corrupt(e.to_string()))?;
        let spec = *decoded.spec();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        downmix(buf.samples(), spec.channels.count(), out);
        Ok(())
    }
}

/// Opus packets from symphonia's Ogg demuxer, decoded by libopus at 48 kHz. The demuxer
/// trims each packet by the stream's granule positions; the pre-skip (OpusHead) is dropped
/// here.
struct OpusPackets {
    decoder: opus::Decoder,
    channels: usize,
    pre_skip: usize,
    buf: Vec<f32>,
}

impl OpusPackets {
    fn new(params: &symphonia::core::codecs::CodecParameters) -> Result<Self, DecodeFailure> {
        let head = params.extra_data.as_deref().unwrap_or_default();
        if head.len() < 19 || !head.starts_with(b"OpusHead") {
            return Err(DecodeFailure::Corrupt("no OpusHead".into()));
        }
        let channels = head[9] as usize;
        let pre_skip = u16::from_le_bytes([head[10], head[11]]) as usize;
        let ch = match channels {
            1 => opus::Channels::Mono,
            2 => opus::Channels::Stereo,
            n => {
                return Err(DecodeFailure::Unsupported(format!(
                    "Opus with {n} channels (mono or stereo only)"
                )))
            }
        };
        let decoder = opus::Decoder::new(48_000, ch)
            .map_err(|e| DecodeFailure::Corrupt(format!("libopus: {e}")))?;
        Ok(OpusPackets {
            decoder,
            channels,
            pre_skip,
            // 120 ms at 48 kHz, the longest Opus packet.
            buf: vec![0.0; 5760 * channels],
        })
    }
}

impl PacketDecoder for OpusPackets {
    fn rate(&self) -> Option<u32> {
        Some(48_000)
    }

    fn decode(
        &mut self,
        packet: &symphonia::core::formats::Packet,
        out: &mut Vec<f32>,
    ) -> Result<(), DecodeFailure> {
        let n = self
            .decoder
            .decode_float(&packet.data, &mut self.buf, false)
            .map_err(|e| DecodeFailure::Corrupt(format!("libopus: {e}")))?;
        let frames = &self.buf[..n * self.channels];
        // Granule-position trimming from the demuxer (the final page's padding).
        let start = (packet.trim_start as usize).min(n);
        let end = n.saturating_sub(packet.trim_end as usize).max(start);
        let mut mono = Vec::with_capacity(end - start);
        downmix(
            &frames[start * self.channels..end * self.channels],
            self.channels,
            &mut mono,
        );
        let skip = self.pre_skip.min(mono.len());
        self.pre_skip -= skip;
        out.extend_from_slice(&mono[skip..]);
        Ok(())
    }
}

/// Interleaved `channels`-channel samples, averaged to mono.
fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels <= 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|f| f.iter().sum::<f32>() / channels as f32),
    );
}

/// Resample mono PCM from `from` to `to` Hz (exact length `ceil(n × to / from)`).
pub fn resample(pcm: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(pcm.to_vec());
    }
    let mut r = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity(pcm.len() * to as usize / from as usize + 1);
    r.push(pcm, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

/// A clip brought to a rendition: resampled to the voice's rate and, when renditions are
/// normalized, given the gain that puts its integrated loudness on the speech's (`aim_lufs`)
/// and run through the same true-peak limiter as the speech. A clip too short or quiet to
/// measure keeps its level (but is still limited).
pub fn match_clip(
    clip: &Clip,
    rate: u32,
    level: Option<(f64, LoudnessTarget)>,
) -> Result<Vec<f32>, AudioError> {
    let mut pcm = resample(&clip.samples, clip.rate, rate)?;
    if let Some((aim_lufs, target)) = level {
        let gain = measure(&pcm, rate)?
            .integrated_lufs
            .map_or(0.0, |l| aim_lufs - l);
        // A loud clip loses loudness to the limiter: measure, correct, twice at most (the
        // speech's calibration does the same).
        let mut g = gain;
        for _ in 0..3 {
            let mut trial = pcm.clone();
            Leveler::new(g, target.true_peak, rate).apply(&mut trial);
            match measure(&trial, rate)?.integrated_lufs {
                Some(l) if (aim_lufs - l).abs() > 0.05 => g += aim_lufs - l,
                _ => break,
            }
        }
        Leveler::new(g, target.true_peak, rate).apply(&mut pcm);
    }
    Ok(pcm)
}

/// The clips the configuration names, decoded once at startup, and what renditions were
/// given of them (per clip, rate and level), kept for the process.
#[derive(Clone, Default)]
pub struct ClipLibrary {
    inner: Arc<LibraryInner>,
}

#[derive(Default)]
struct LibraryInner {
    settings: ClipSettings,
    /// Per-feed overrides (`[feeds.define.NAME]` intro / outro / sponsors), by feed name: only
    /// feeds that set at least one.
    feeds: BTreeMap<String, SectionClips>,
    decoded: HashMap<PathBuf, Clip>,
    prepared: Mutex<HashMap<String, Arc<Vec<f32>>>>,
}

impl std::fmt::Debug for ClipLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipLibrary")
            .field("clips", &self.inner.decoded.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ClipLibrary {
    /// Decode every clip `settings` and the feeds' overrides name; the first that fails is
    /// the error.
    pub fn load(
        settings: &ClipSettings,
        feeds: &BTreeMap<String, SectionClips>,
    ) -> Result<ClipLibrary, ClipError> {
        let feeds: BTreeMap<String, SectionClips> = feeds
            .iter()
            .filter(|(_, c)| c.is_set())
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        let mut decoded = HashMap::new();
        for path in settings.paths(feeds.values()) {
            let clip = decode_file(&path)?;
            tracing::info!(clip = %path.display(), seconds = format!("{:.2}", clip.seconds()), rate = clip.rate, "clip loaded");
            decoded.insert(path, clip);
        }
        Ok(ClipLibrary {
            inner: Arc::new(LibraryInner {
                settings: settings.clone(),
                feeds,
                decoded,
                prepared: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn settings(&self) -> &ClipSettings {
        &self.inner.settings
    }

    /// The clips an article in `section` gets.
    pub fn set_for(&self, section: Option<&str>) -> ClipSet {
        self.inner.settings.for_section(section)
    }

    /// The clips feed `feed` gives an article in `section` (its overrides on top of the
    /// section's or default clips); None when the feed has no clips of its own, so it lists
    /// the article's normal rendition.
    pub fn feed_set(&self, feed: &str, section: Option<&str>) -> Option<ClipSet> {
        let over = self.inner.feeds.get(feed)?;
        Some(over.apply(self.set_for(section)))
    }

    /// Whether feed `feed` has clips of its own.
    pub fn feed_has_clips(&self, feed: &str) -> bool {
        self.inner.feeds.contains_key(feed)
    }

    /// The feeds with clips of their own.
    pub fn feeds_with_clips(&self) -> impl Iterator<Item = &str> {
        self.inner.feeds.keys().map(String::as_str)
    }

    /// The file hash of a loaded clip.
    pub fn hash(&self, path: &Path) -> Option<&str> {
        self.inner.decoded.get(path).map(|c| c.hash.as_str())
    }

    /// `path` as a rendition at `rate` with `level` gets it (cached).
    pub fn prepare(
        &self,
        path: &Path,
        rate: u32,
        level: Option<(f64, LoudnessTarget)>,
    ) -> Result<Arc<Vec<f32>>, AudioError> {
        let clip = self.inner.decoded.get(path).ok_or_else(|| {
            AudioError::encoder("clips", format!("clip {} was not loaded", path.display()))
        })?;
        let key = format!("{}/{rate}/{level:?}", clip.hash);
        if let Some(p) = self.inner.prepared.lock().unwrap().get(&key) {
            return Ok(Arc::clone(p));
        }
        let pcm = Arc::new(match_clip(clip, rate, level)?);
        self.inner
            .prepared
            .lock()
            .unwrap()
            .insert(key, Arc::clone(&pcm));
        Ok(pcm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, secs: f32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..(rate as f32 * secs) as u32 {
            let v = (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0;
            for _ in 0..channels {
                w.write_sample(v as i16).unwrap();
            }
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn a_stereo_wav_decodes_to_mono_at_its_rate() {
        let (rate, pcm) = decode_bytes(&wav(44_100, 2, 1.5), Some("wav")).unwrap();
        assert_eq!(rate, 44_100);
        assert_eq!(pcm.len(), 66_150);
        let peak = pcm.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((peak - 8000.0 / 32768.0).abs() < 0.01, "{peak}");
    }

    #[test]
    fn text_and_truncated_files_are_refused() {
        let e = decode_bytes(b"just some words, not audio at all\n", Some("mp3")).unwrap_err();
        assert!(matches!(e, DecodeFailure::Unsupported(_)), "{e:?}");
        let whole = wav(22_050, 1, 2.0);
        let e = decode_bytes(&whole[..whole.len() / 2], Some("wav")).unwrap_err();
        assert!(matches!(e, DecodeFailure::Corrupt(_)), "{e:?}");
    }

    #[test]
    fn a_section_overrides_the_defaults_and_empty_means_none() {
        let mut s = ClipSettings {
            intro: Some("intro.mp3".into()),
            outro: Some("outro.mp3".into()),
            sponsors: vec!["ad.mp3".into()],
            ..Default::default()
        };
        s.sections.insert(
            "sport".into(),
            SectionClips {
                intro: Some("sport.ogg".into()),
                outro: Some("".into()),
                sponsors: Some(vec![]),
            },
        );
        let d = s.for_section(Some("news"));
        assert_eq!(d.intro, Some("intro.mp3".into()));
        assert_eq!(d.sponsors, vec![PathBuf::from("ad.mp3")]);
        let sport = s.for_section(Some("sport"));
        assert_eq!(sport.intro, Some("sport.ogg".into()));
        assert_eq!(sport.outro, None);
        assert!(sport.sponsors.is_empty());
        assert_eq!(s.paths(std::iter::empty()).len(), 4);
        // A feed's overrides go on top of the article's clips, key by key.
        let feed = SectionClips {
            intro: Some("podcast.wav".into()),
            ..Default::default()
        };
        let podcast = feed.apply(s.for_section(Some("sport")));
        assert_eq!(podcast.intro, Some("podcast.wav".into()));
        assert_eq!(podcast.outro, None, "the section's 'none' stays");
        let podcast = feed.apply(s.for_section(None));
        assert_eq!(podcast.outro, Some("outro.mp3".into()));
        assert_eq!(podcast.sponsors, vec![PathBuf::from("ad.mp3")]);
        assert!(!SectionClips::default().is_set());
        assert_eq!(s.paths([&feed].into_iter()).len(), 5);
    }

    #[test]
    fn a_matched_clip_is_on_the_target_under_the_ceiling() {
        let (rate, pcm) = decode_bytes(&wav(44_100, 1, 3.0), Some("wav")).unwrap();
        let clip = Clip {
            rate,
            samples: pcm.iter().map(|v| v * 0.05).collect(),
            hash: String::new(),
        };
        let target = LoudnessTarget::default();
        let out = match_clip(&clip, 22_050, Some((-16.0, target))).unwrap();
        assert_eq!(out.len(), 66_150);
        let l = measure(&out, 22_050).unwrap();
        assert!((l.integrated_lufs.unwrap() + 16.0).abs() < 0.3, "{l:?}");
        assert!(l.true_peak_dbtp <= -1.0, "{l:?}");
    }
}
