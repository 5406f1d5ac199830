//! Audio encoders: PCM (f32, mono, the voice's sample rate) in, WAV / Ogg Opus / MP3 / raw
//! s16le bytes out.
//! Every encoder is streaming: feed PCM in chunks, get bytes out as soon as they exist, so the
//! CLI and HTTP streaming never hold a whole article's audio. Formats whose header needs the
//! total length (WAV sizes, MP3's LAME tag) hand back a [`HeaderPatch`] that a seekable sink
//! applies at the end; a pure stream keeps the streaming-friendly header.
pub mod clips;
pub mod loudness;
mod mp3;
mod opus;
mod pcm;
pub mod resample;
pub mod tags;
mod wav;

use std::io::{Seek, SeekFrom, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::mp3::Mp3Encoder;
pub use self::opus::OggOpusEncoder;
pub use self::pcm::PcmS16Encoder;
pub use self::wav::WavEncoder;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("unknown audio format `{0}` (expected one of: wav, opus, mp3)")]
    UnknownFormat(String),
    #[error("{format} encoder failed: {message}")]
    Encoder {
        format: &'static str,
        message: String,
    },
    #[error("writing audio failed: {0}")]
    Io(#[from] std::io::Error),
}

impl AudioError {
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::UnknownFormat(_) => "unknown-format",
            AudioError::Encoder { .. } => "encoder-failed",
            AudioError::Io(_) => "io-error",
        }
    }
    pub(crate) fn encoder(format: &'static str, e: impl std::fmt::Display) -> Self {
        AudioError::Encoder {
            format,
            message: e.to_string(),
        }
    }
}

/// The container/codec of an audio output. Parsed once at the edge from a name or extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    Wav,
    Opus,
    Mp3,
}

impl AudioFormat {
    pub const ALL: [AudioFormat; 3] = [AudioFormat::Wav, AudioFormat::Opus, AudioFormat::Mp3];

    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::Opus => "opus",
            AudioFormat::Mp3 => "mp3",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Opus => "audio/ogg; codecs=opus",
            AudioFormat::Mp3 => "audio/mpeg",
        }
    }
}

impl std::fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for AudioFormat {
    type Err = AudioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wav" | "wave" => Ok(AudioFormat::Wav),
            "opus" | "ogg" => Ok(AudioFormat::Opus),
            "mp3" | "mpeg" => Ok(AudioFormat::Mp3),
            _ => Err(AudioError::UnknownFormat(s.chars().take(32).collect())),
        }
    }
}

/// Encoder settings. Defaults are tuned for speech.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct EncoderOptions {
    /// Ogg Opus bitrate in bits per second; 24–32 kbps mono is transparent for speech.
    pub opus_bitrate: i32,
    /// MP3 constant bitrate in kbps (mono).
    pub mp3_kbps: u32,
    /// Level article renditions to `loudness_target` (segment cache entries stay as the voice
    /// made them, so changing the target re-encodes without re-synthesizing).
    pub normalize: bool,
    /// Integrated loudness target in LUFS: −16 for podcasts (the default), −19 for
    /// mono-only players, −23 for broadcast (EBU R128).
    pub loudness_target: f64,
    /// Highest true peak in dBTP.
    pub true_peak_max: f64,
}

impl EncoderOptions {
    /// The loudness target, when renditions are normalized.
    pub fn loudness(&self) -> Option<loudness::LoudnessTarget> {
        self.normalize.then_some(loudness::LoudnessTarget {
            lufs: self.loudness_target,
            true_peak: self.true_peak_max,
        })
    }
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            opus_bitrate: 32_000,
            mp3_kbps: 64,
            normalize: true,
            loudness_target: -16.0,
            true_peak_max: -1.0,
        }
    }
}

/// Bytes to write at `offset` once the stream is complete (a header that needs the length).
#[derive(Debug, Clone)]
pub struct HeaderPatch {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// A streaming encoder of mono f32 PCM in [-1, 1].
pub trait StreamEncoder: Send {
    /// Encode `pcm` and append whatever bytes are ready to `out`.
    fn push(&mut self, pcm: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError>;
    /// Flush everything to `out`. A seekable sink should then apply the returned patch.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Option<HeaderPatch>, AudioError>;
}

/// Build the encoder for `format` for mono PCM at `sample_rate` Hz.
pub fn encoder(
    format: AudioFormat,
    sample_rate: u32,
    opts: &EncoderOptions,
) -> Result<Box<dyn StreamEncoder>, AudioError> {
    Ok(match format {
        AudioFormat::Wav => Box::new(WavEncoder::new(sample_rate)?),
        AudioFormat::Opus => Box::new(OggOpusEncoder::new(sample_rate, opts.opus_bitrate)?),
        AudioFormat::Mp3 => Box::new(Mp3Encoder::new(sample_rate, opts.mp3_kbps)?),
    })
}

/// [`encoder`], with `tags` written into the file: an ID3v2 tag in MP3, Vorbis comments in
/// Ogg Opus (WAV has none).
pub fn tagged_encoder(
    format: AudioFormat,
    sample_rate: u32,
    opts: &EncoderOptions,
    tags: &tags::Tags,
) -> Result<Box<dyn StreamEncoder>, AudioError> {
    Ok(match format {
        AudioFormat::Wav => Box::new(WavEncoder::new(sample_rate)?),
        AudioFormat::Opus => Box::new(tagged_opus(sample_rate, opts, tags)?),
        AudioFormat::Mp3 => {
            Box::new(Mp3Encoder::new(sample_rate, opts.mp3_kbps)?.with_id3(tags.id3v2()))
        }
    })
}

/// Audio bytes a live Ogg Opus stream starts with, padding included
/// ([`OggOpusEncoder::with_start_padding`]): Chromium's `<audio>` waited for 52–62 KB of a real
/// live stream and started at 74–80 KB (measured with Debian's Chromium 156 against a replayed stream).
pub const LIVE_OPUS_START_BYTES: u64 = 96 * 1024;

/// [`tagged_encoder`] for a live stream: the same samples and packets, except that an Ogg Opus
/// stream pads its first packets so a browser starts playing after the first segment.
pub fn live_encoder(
    format: AudioFormat,
    sample_rate: u32,
    opts: &EncoderOptions,
    tags: &tags::Tags,
) -> Result<Box<dyn StreamEncoder>, AudioError> {
    Ok(match format {
        AudioFormat::Opus => Box::new(
            tagged_opus(sample_rate, opts, tags)?.with_start_padding(LIVE_OPUS_START_BYTES),
        ),
        other => tagged_encoder(other, sample_rate, opts, tags)?,
    })
}

fn tagged_opus(
    sample_rate: u32,
    opts: &EncoderOptions,
    tags: &tags::Tags,
) -> Result<OggOpusEncoder, AudioError> {
    Ok(OggOpusEncoder::new(sample_rate, opts.opus_bitrate)?.with_comments(tags.vorbis_comments()))
}

/// Convert a float sample to 16-bit PCM with clipping.
pub(crate) fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

/// An encoder bound to a writer: PCM in, bytes written through as they are produced.
pub struct EncodingWriter<W: Write> {
    encoder: Box<dyn StreamEncoder>,
    inner: W,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> EncodingWriter<W> {
    pub fn new(encoder: Box<dyn StreamEncoder>, inner: W) -> Self {
        Self {
            encoder,
            inner,
            buf: Vec::with_capacity(64 * 1024),
            written: 0,
        }
    }

    pub fn push(&mut self, pcm: &[f32]) -> Result<(), AudioError> {
        self.encoder.push(pcm, &mut self.buf)?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), AudioError> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Finish a pure stream (no seeking): the streaming header stays.
    pub fn finish_stream(mut self) -> Result<W, AudioError> {
        let _patch = self.encoder.finish(&mut self.buf)?;
        self.drain()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write + Seek> EncodingWriter<W> {
    /// Finish and rewrite the header with the final lengths.
    pub fn finish_seekable(mut self) -> Result<W, AudioError> {
        let patch = self.encoder.finish(&mut self.buf)?;
        self.drain()?;
        if let Some(p) = patch {
            self.inner.seek(SeekFrom::Start(p.offset))?;
            self.inner.write_all(&p.bytes)?;
            self.inner.seek(SeekFrom::End(0))?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod cost {
    //! Encoder cost on real speech, for choosing settings. Not part of the suite:
    //! `AUDIOBY_BENCH_WAV=speech.wav cargo test --lib audio::cost -- --ignored --nocapture`.
    use super::*;

    /// Thread CPU time: on a shared, loaded machine wall time mostly measures the neighbours.
    struct Instant(f64);
    impl Instant {
        fn now() -> Self {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid out-pointer for clock_gettime.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            Instant(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
        }
        fn elapsed(&self) -> std::time::Duration {
            std::time::Duration::from_secs_f64(Instant::now().0 - self.0)
        }
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// Feed the file sentence-sized (5 s) chunks like the pipeline does; median of `runs`.
    fn time(
        pcm: &[f32],
        runs: usize,
        mut make: impl FnMut() -> Box<dyn StreamEncoder>,
    ) -> (f64, usize) {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let mut enc = make();
            let mut out = Vec::new();
            for chunk in pcm.chunks(110_250) {
                enc.push(chunk, &mut out).unwrap();
            }
            enc.finish(&mut out).unwrap();
            times.push(t.elapsed().as_secs_f64());
            size = out.len();
        }
        (median(times), size)
    }

    #[test]
    #[ignore = "timing harness; needs AUDIOBY_BENCH_WAV"]
    fn encoder_cost() {
        let Ok(path) = std::env::var("AUDIOBY_BENCH_WAV") else {
            return;
        };
        let mut wav = hound::WavReader::open(path).unwrap();
        let rate = wav.spec().sample_rate;
        let pcm: Vec<f32> = wav
            .samples::<i16>()
            .map(|s| s.unwrap() as f32 / i16::MAX as f32)
            .collect();
        let secs = pcm.len() as f64 / rate as f64;
        let runs = 5;
        println!("{secs:.1} s of audio at {rate} Hz, thread CPU time, median of {runs} runs");
        let report = |name: &str, (t, size): (f64, usize)| {
            println!(
                "{name:<34} {:>7.1} ms  {:>6.0}x real time (CPU)  {size} bytes",
                t * 1000.0,
                secs / t
            );
        };
        report("resampler 22.05->48 kHz only", {
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let mut r = resample::StreamResampler::new(rate, 48_000).unwrap();
                let mut out = Vec::new();
                for chunk in pcm.chunks(110_250) {
                    r.push(chunk, &mut out).unwrap();
                }
                r.finish(&mut out).unwrap();
                times.push(t.elapsed().as_secs_f64());
            }
            (median(times), 0)
        });
        use ::opus::{Application, Bandwidth};
        for (app, app_name) in [(Application::Audio, "audio"), (Application::Voip, "voip")] {
            for (bw, bw_name) in [
                (Bandwidth::Fullband, "fb"),
                (Bandwidth::Superwideband, "swb"),
            ] {
                for complexity in [10, 5] {
                    report(
                        &format!("opus 32k {app_name} {bw_name} complexity {complexity}"),
                        time(&pcm, runs, || {
                            Box::new(
                                OggOpusEncoder::with_settings(rate, 32_000, app, complexity, bw)
                                    .unwrap(),
                            )
                        }),
                    );
                }
            }
        }
        use mp3lame_encoder::Quality;
        for (q, name) in [(Quality::Good, "5"), (Quality::Ok, "7")] {
            report(
                &format!("mp3 64k -q {name}"),
                time(&pcm, runs, || {
                    Box::new(mp3::Mp3Encoder::with_quality(rate, 64, q).unwrap())
                }),
            );
        }
    }
}
