//! Loudness: ITU-R BS.1770 / EBU R128 measurement (the `ebur128` crate) and the leveler that
//! brings published renditions to a target such as −16 LUFS integrated, ≤ −1 dBTP.
//!
//! The leveler is a fixed gain plus a look-ahead peak limiter that runs on one segment at a
//! time and keeps no state between segments. So a segment comes out the same whether it is
//! levelled inside a whole article, on its own for a live stream, or again after a target
//! change (segment cache entries stay unnormalized). The gain is not measured on the article
//! (that would need all of it before the first sample could be sent) but once per voice on a
//! calibration text ([`calibration_gain`]); a voice's speech is steady enough in loudness
//! that articles land within a fraction of an LU of the target (the seed article: see the
//! pipeline test that measures it with ffmpeg). The final rendition is then measured and the
//! figures go into the manifest.
use serde::{Deserialize, Serialize};

use super::AudioError;

/// Loudness of a piece of audio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    /// Integrated loudness in LUFS; `None` when the audio is too short or silent to gate.
    pub integrated_lufs: Option<f64>,
    /// Maximum true peak (4× oversampled) in dBTP.
    pub true_peak_dbtp: f64,
}

/// A streaming BS.1770 meter for mono audio.
pub struct Meter(ebur128::EbuR128);

impl Meter {
    pub fn new(rate: u32) -> Result<Self, AudioError> {
        ebur128::EbuR128::new(1, rate, ebur128::Mode::I | ebur128::Mode::TRUE_PEAK)
            .map(Meter)
            .map_err(|e| AudioError::encoder("loudness", e))
    }

    pub fn add(&mut self, pcm: &[f32]) -> Result<(), AudioError> {
        self.0
            .add_frames_f32(pcm)
            .map_err(|e| AudioError::encoder("loudness", e))
    }

    pub fn loudness(&self) -> Loudness {
        let integrated = self.0.loudness_global().ok().filter(|l| l.is_finite());
        let peak = self.0.true_peak(0).unwrap_or(0.0);
        Loudness {
            integrated_lufs: integrated,
            true_peak_dbtp: to_db(peak),
        }
    }
}

/// Measure a whole buffer.
pub fn measure(pcm: &[f32], rate: u32) -> Result<Loudness, AudioError> {
    let mut m = Meter::new(rate)?;
    m.add(pcm)?;
    Ok(m.loudness())
}

fn to_db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

fn from_db(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// The `[audio]` loudness keys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoudnessTarget {
    /// Integrated loudness target in LUFS.
    pub lufs: f64,
    /// Highest true peak allowed, in dBTP.
    pub true_peak: f64,
}

impl Default for LoudnessTarget {
    fn default() -> Self {
        LoudnessTarget {
            lufs: -16.0,
            true_peak: -1.0,
        }
    }
}

/// Headroom between the limiter's sample-peak ceiling and the true-peak limit: room for
/// inter-sample peaks (up to ~0.7 dB for speech at 22 kHz) and for the overshoot of lossy
/// codecs (MP3 at 64 kbps, Opus at 32 kbps), which the true peak is measured after.
const CODEC_HEADROOM_DB: f64 = 1.5;

/// Gain plus a per-segment look-ahead limiter. Deterministic: the same segment and gain give
/// the same samples, whatever came before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leveler {
    gain: f32,
    ceiling: f32,
    /// Look-ahead (and hold) in samples: the gain is down before a peak arrives.
    window: usize,
    /// Per-sample multiplicative recovery of the gain after a peak.
    release: f32,
    rate: u32,
}

impl Leveler {
    /// A leveler applying `gain_db` with a ceiling below `true_peak` dBTP.
    pub fn new(gain_db: f64, true_peak: f64, rate: u32) -> Self {
        let rate = rate.max(1) as f64;
        Leveler {
            gain: from_db(gain_db) as f32,
            ceiling: from_db(true_peak - CODEC_HEADROOM_DB) as f32,
            window: ((rate * 0.003) as usize).max(1),
            // 6 dB of recovery in 60 ms.
            release: from_db(6.0 / (rate * 0.06)) as f32,
            rate: rate as u32,
        }
    }

    /// No change at all.
    pub fn unity() -> Self {
        Leveler {
            gain: 1.0,
            ceiling: f32::INFINITY,
            window: 1,
            release: 1.0,
            rate: 0,
        }
    }

    pub fn gain_db(&self) -> f64 {
        to_db(self.gain as f64)
    }

    /// Level one segment in place.
    ///
    /// The limiter gain at each sample is the lowest gain any sample within `window` needs
    /// (a sliding minimum), recovered slowly after peaks, then smoothed by a moving average
    /// over `window + 1` samples. The average only spans samples whose minimum already covers
    /// the centre, so the result never exceeds what the centre needs: no sample ends above
    /// the ceiling, and the gain never jumps (no clicks).
    ///
    /// Hard limiting makes inter-sample peaks: the seed article, limited by up to 13 dB,
    /// measured -2.5 dBFS sample peak but -1.0 dBTP. So the segment's true peak is measured
    /// after limiting, and while it is above the ceiling the limiting is redone from the
    /// gained samples with a ceiling lowered by the excess (a few rounds at most).
    pub fn apply(&self, pcm: &mut [f32]) {
        if self.gain == 1.0 && self.ceiling.is_infinite() {
            return;
        }
        for s in pcm.iter_mut() {
            *s *= self.gain;
        }
        let gained = pcm.to_vec();
        let mut ceiling = self.ceiling;
        for round in 0..4 {
            if round > 0 {
                pcm.copy_from_slice(&gained);
            }
            self.limit(pcm, ceiling);
            let peak = match true_peak(pcm, self.rate) {
                Some(p) if p > self.ceiling * 1.001 => p,
                _ => return,
            };
            ceiling *= self.ceiling / peak;
        }
    }

    /// The sample-peak limiter: no sample ends above `ceiling`.
    fn limit(&self, pcm: &mut [f32], ceiling: f32) {
        let n = pcm.len();
        if n == 0 || !pcm.iter().any(|s| s.abs() > ceiling) {
            return;
        }
        let need: Vec<f32> = pcm
            .iter()
            .map(|s| {
                let a = s.abs();
                if a > ceiling {
                    ceiling / a
                } else {
                    1.0
                }
            })
            .collect();
        let w = self.window;
        let mut env = sliding_min(&need, w);
        for i in 1..n {
            env[i] = env[i].min(env[i - 1] * self.release).min(1.0);
        }
        // Centered moving average of width 2h+1 ≤ w+1.
        let h = w / 2;
        let mut prefix = Vec::with_capacity(n + 1);
        prefix.push(0f64);
        for &e in &env {
            prefix.push(prefix.last().unwrap() + e as f64);
        }
        for (i, s) in pcm.iter_mut().enumerate() {
            let lo = i.saturating_sub(h);
            let hi = (i + h + 1).min(n);
            // Past the ends the envelope counts as the edge value (the window shrinks).
            let g = ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32;
            *s = (*s * g).clamp(-ceiling, ceiling);
        }
    }
}

/// The true peak (linear, 4× oversampled, BS.1770) of a mono buffer; `None` if unmeasurable.
fn true_peak(pcm: &[f32], rate: u32) -> Option<f32> {
    let mut m = ebur128::EbuR128::new(1, rate, ebur128::Mode::TRUE_PEAK).ok()?;
    m.add_frames_f32(pcm).ok()?;
    m.true_peak(0).ok().map(|p| p as f32)
}

/// Minimum of `v` over `[i - w, i + w]` for each `i` (monotonic deque, O(n)).
fn sliding_min(v: &[f32], w: usize) -> Vec<f32> {
    let n = v.len();
    let mut out = vec![0.0; n];
    let mut dq: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut next = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (i + w).min(n - 1);
        while next <= hi {
            while dq.back().is_some_and(|&b| v[b] >= v[next]) {
                dq.pop_back();
            }
            dq.push_back(next);
            next += 1;
        }
        while dq.front().is_some_and(|&f| f + w < i) {
            dq.pop_front();
        }
        *o = v[*dq.front().unwrap()];
    }
    out
}

/// The gain (dB) that brings speech like `segments` to `target` once the limiter has run:
/// measured, levelled, measured again and corrected, since limiting loud speech by several dB
/// takes some loudness with it. `None` when the audio is too short or quiet to measure.
pub fn calibration_gain(
    segments: &[Vec<f32>],
    rate: u32,
    target: &LoudnessTarget,
) -> Result<Option<f64>, AudioError> {
    let measure_with = |leveler: &Leveler| -> Result<Option<f64>, AudioError> {
        let mut meter = Meter::new(rate)?;
        let pause = vec![0.0; rate as usize / 2];
        for seg in segments {
            let mut s = seg.clone();
            leveler.apply(&mut s);
            meter.add(&s)?;
            meter.add(&pause)?;
        }
        Ok(meter.loudness().integrated_lufs)
    };
    let Some(raw) = measure_with(&Leveler::unity())? else {
        return Ok(None);
    };
    let mut gain = target.lufs - raw;
    for _ in 0..3 {
        let Some(l) = measure_with(&Leveler::new(gain, target.true_peak, rate))? else {
            return Ok(None);
        };
        if (target.lufs - l).abs() < 0.05 {
            break;
        }
        gain += target.lufs - l;
    }
    Ok(Some(gain))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise-modulated tone bursts: speech-like peaks over a steady level.
    fn bursts(rate: u32, secs: f32, amp: f32) -> Vec<f32> {
        let mut x = 12345u32;
        (0..(rate as f32 * secs) as usize)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / rate as f32;
                let env = if (t * 3.0).fract() < 0.6 { 1.0 } else { 0.05 };
                let spike = if i % 4001 == 0 { 4.0 } else { 1.0 };
                amp * env * spike * (0.6 * (t * 220.0 * std::f32::consts::TAU).sin() + 0.4 * noise)
            })
            .collect()
    }

    #[test]
    fn a_sine_measures_as_bs1770_says() {
        // A 997 Hz sine at -20 dBFS (peak) reads -23.0 LUFS mono (BS.1770's +0.691 - 3.01).
        let rate = 48_000;
        let a = from_db(-20.0) as f32;
        let s: Vec<f32> = (0..rate * 5)
            .map(|i| a * (i as f32 * 997.0 * std::f32::consts::TAU / rate as f32).sin())
            .collect();
        let l = measure(&s, rate).unwrap();
        assert!(
            (l.integrated_lufs.unwrap() + 23.0).abs() < 0.1,
            "{:?}",
            l.integrated_lufs
        );
        assert!(
            (l.true_peak_dbtp + 20.0).abs() < 0.1,
            "{}",
            l.true_peak_dbtp
        );
        assert_eq!(
            measure(&vec![0.0; 1000], rate).unwrap().integrated_lufs,
            None
        );
    }

    #[test]
    fn calibrated_gain_reaches_the_target_under_the_ceiling() {
        let rate = 22_050;
        let target = LoudnessTarget::default();
        for amp in [0.01f32, 0.05, 0.2] {
            let segs = vec![bursts(rate, 4.0, amp), bursts(rate, 3.0, amp * 0.8)];
            let gain = calibration_gain(&segs, rate, &target).unwrap().unwrap();
            let lev = Leveler::new(gain, target.true_peak, rate);
            let mut all = Vec::new();
            for s in &segs {
                let mut s = s.clone();
                lev.apply(&mut s);
                assert!(s.iter().all(|v| v.abs() <= lev.ceiling + 1e-6));
                all.extend(s);
                all.extend(vec![0.0; rate as usize / 2]);
            }
            let l = measure(&all, rate).unwrap();
            assert!(
                (l.integrated_lufs.unwrap() - target.lufs).abs() < 0.2,
                "amp {amp}: {l:?}"
            );
            assert!(l.true_peak_dbtp <= target.true_peak, "amp {amp}: {l:?}");
        }
    }

    #[test]
    fn a_segment_levels_the_same_alone_or_twice() {
        let rate = 22_050;
        let lev = Leveler::new(12.0, -1.0, rate);
        let seg = bursts(rate, 2.0, 0.1);
        let (mut a, mut b) = (seg.clone(), seg.clone());
        lev.apply(&mut a);
        lev.apply(&mut b);
        assert_eq!(a, b);
        // Quiet parts get exactly the gain; the limiter touches only the loud ones.
        let g = from_db(12.0) as f32;
        let quiet = (0..seg.len())
            .find(|&i| (seg[i] * g).abs() < lev.ceiling * 0.1 && i > 2000)
            .unwrap();
        let near_peak = seg[quiet.saturating_sub(200)..quiet + 200]
            .iter()
            .any(|v| (v * g).abs() > lev.ceiling);
        if !near_peak {
            assert!((a[quiet] - seg[quiet] * g).abs() < 1e-6);
        }
    }

    #[test]
    fn sliding_min_matches_brute_force() {
        let v: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32).collect();
        for w in [1, 2, 5] {
            let got = sliding_min(&v, w);
            for (i, &g) in got.iter().enumerate() {
                let lo = i.saturating_sub(w);
                let hi = (i + w).min(v.len() - 1);
                let want = v[lo..=hi].iter().cloned().fold(f32::INFINITY, f32::min);
                assert_eq!(g, want, "w {w} i {i}");
            }
        }
    }
}
