//! Loudness calibration per voice: the gain that brings a voice's speech to the configured
//! target, measured once on a fixed calibration text and kept for the process. Its segments
//! go through the segment cache like any article's, so after the first run a calibration is a
//! few cache reads. A gain per voice (rather than per article) lets a segment be levelled on
//! its own, the same in a live stream as in the final file (see `audio::loudness`).
use tokio::runtime::Handle;

use super::synthesis::{retry, segment_key};
use super::Pipeline;
use crate::audio::loudness::{calibration_gain, Leveler, LoudnessTarget};
use crate::queue::Failure;
use crate::text::segment::{has_speech, segment_text};
use crate::tts::{LoadedVoice, SynthSettings, TtsError};

/// Plain news prose of ordinary sentence lengths (about 25 s of speech), not the seed
/// article, so the seed article's loudness in the tests is a real check.
const CALIBRATION_TEXT: &str = "The city council approved a new budget on Tuesday evening \
after a debate that lasted more than four hours. Most of the money will go to schools, \
public transport and the repair of old bridges. Some members argued that the plan raises \
taxes too quickly, while others said the repairs could not wait another year. The mayor \
called the vote a fair compromise. A final reading is planned for next month, when residents \
will also be able to comment on the details.";

/// Loudness the published files lose to the codecs' band limit (MP3 and Opus at their default
/// bitrates cut the sibilants that K-weighting counts most): the seed article's PCM measured
/// -16.45 LUFS (manifest), its MP3 and Opus -16.9 with ffmpeg's `ebur128` (2026-12-02), so
/// 0.45 LU on both (this constant was 0.3, under that measurement). Aiming the PCM this much
/// higher centres the files, not the PCM, on the target. At 0.45, 17 file measurements in the
/// loudness and clip tests on 2026-12-02 (19:30-19:40, MP3 and Opus, seed article and clip
/// renditions) came out at -16.3 to -17.1 LUFS, mean -16.6: the calibration text's gain also
/// leaves the articles about 0.3 LU short (the seed's PCM measured -16.16, not -15.55), and
/// one Opus rendition at -17.1 was 0.1 LU from the ±1 LU limit. So the aim is 0.3 LU higher.
const CODEC_LOSS_LU: f64 = 0.75;

impl Pipeline {
    /// The leveler for `voice`'s renditions: unity when normalization is off, else the voice's
    /// calibrated gain (measured on the first call for this voice file and target).
    pub(super) fn leveler(&self, voice: &LoadedVoice, rt: &Handle) -> Result<Leveler, Failure> {
        let rate = voice.sample_rate();
        let Some(target) = self.settings.audio.loudness() else {
            return Ok(Leveler::unity());
        };
        let key = format!(
            "{}/{}/{}",
            voice.model_hash(),
            target.lufs,
            target.true_peak
        );
        let known = self.voice_gains.lock().unwrap().get(&key).copied();
        let gain = match known {
            Some(g) => g,
            None => {
                let pcm = self.calibration_speech(voice, rt)?;
                let gain = calibration_gain(&pcm, rate, &target)
                    .map_err(retry)?
                    .unwrap_or(0.0);
                tracing::info!(
                    voice = %voice.info().id,
                    gain_db = format!("{gain:.2}"),
                    target_lufs = target.lufs,
                    "calibrated the voice's loudness"
                );
                self.voice_gains.lock().unwrap().insert(key, gain);
                gain
            }
        };
        Ok(Leveler::new(gain + CODEC_LOSS_LU, target.true_peak, rate))
    }

    /// What a clip is levelled to (`audio::clips::match_clip`): the loudness the speech is
    /// aimed at, codec loss included, and the target's true-peak limit. None when
    /// normalization is off: clips then play as the publisher made them.
    pub(super) fn clip_level(&self) -> Option<(f64, LoudnessTarget)> {
        self.settings
            .audio
            .loudness()
            .map(|t| (t.lufs + CODEC_LOSS_LU, t))
    }

    /// The calibration text's segments as `voice` speaks them (unnormalized), from the
    /// segment cache, synthesizing and caching the missing ones.
    fn calibration_speech(
        &self,
        voice: &LoadedVoice,
        rt: &Handle,
    ) -> Result<Vec<Vec<f32>>, Failure> {
        let segments: Vec<_> = segment_text(CALIBRATION_TEXT, &self.lexicon, &self.settings.text)
            .into_iter()
            .filter(|s| has_speech(&s.spoken))
            .collect();
        let settings = SynthSettings::default();
        let keys: Vec<_> = segments
            .iter()
            .map(|s| segment_key(voice, &settings, &s.spoken))
            .collect();
        let mut pcm: Vec<Option<Vec<i16>>> = Vec::with_capacity(keys.len());
        for key in &keys {
            pcm.push(rt.block_on(self.cached_pcm(key)).map_err(retry)?);
        }
        let misses: Vec<usize> = (0..keys.len()).filter(|&i| pcm[i].is_none()).collect();
        if !misses.is_empty() {
            let todo: Vec<_> = misses.iter().map(|&i| segments[i].clone()).collect();
            voice
                .synthesize(todo, &settings, |audio| {
                    let i = misses[audio.index];
                    let samples: Vec<i16> = audio
                        .samples
                        .iter()
                        .map(|&s| crate::audio::to_i16(s))
                        .collect();
                    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
                    rt.block_on(self.store.put_at(&keys[i], bytes.into()))
                        .map_err(|e| TtsError::Sink(e.to_string()))?;
                    pcm[i] = Some(samples);
                    Ok(())
                })
                .map_err(retry)?;
        }
        // In the segment bookkeeping like an article's segments: counted against `[cache]
        // max_segment_bytes`, and evictable (least recently used) once no process needs them;
        // a process that calibrated keeps the gain in memory.
        let touched: Vec<(String, u64)> = keys
            .iter()
            .zip(&pcm)
            .map(|(k, p)| (k.hash_hex(), p.as_ref().map_or(0, |s| s.len() as u64 * 2)))
            .collect();
        rt.block_on(self.queue.touch_segments(&touched))
            .map_err(retry)?;
        // The same i16 → f32 conversion as assembly, so calibration sees what articles get.
        Ok(pcm
            .into_iter()
            .flatten()
            .map(|s| s.iter().map(|&v| v as f32 / i16::MAX as f32).collect())
            .collect())
    }
}
