//! Raw PCM output: signed 16-bit little-endian mono at a chosen rate (OpenAI's `pcm` is
//! 24 kHz), resampled from the voice's rate by the streaming resampler. No header at all.
use super::resample::StreamResampler;
use super::{to_i16, AudioError, HeaderPatch, StreamEncoder};

pub struct PcmS16Encoder {
    /// `None` when the voice already runs at the output rate.
    resampler: Option<StreamResampler>,
    scratch: Vec<f32>,
}

impl PcmS16Encoder {
    pub fn new(rate_in: u32, rate_out: u32) -> Result<Self, AudioError> {
        let resampler = if rate_in == rate_out {
            None
        } else {
            Some(StreamResampler::new(rate_in, rate_out)?)
        };
        Ok(Self {
            resampler,
            scratch: Vec::new(),
        })
    }

    fn emit(samples: &[f32], out: &mut Vec<u8>) {
        out.reserve(samples.len() * 2);
        for &s in samples {
            out.extend_from_slice(&to_i16(s).to_le_bytes());
        }
    }
}

impl StreamEncoder for PcmS16Encoder {
    fn push(&mut self, pcm: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        match &mut self.resampler {
            None => Self::emit(pcm, out),
            Some(r) => {
                self.scratch.clear();
                r.push(pcm, &mut self.scratch)?;
                Self::emit(&self.scratch, out);
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Option<HeaderPatch>, AudioError> {
        if let Some(r) = &mut self.resampler {
            self.scratch.clear();
            r.finish(&mut self.scratch)?;
            Self::emit(&self.scratch, out);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_to_exact_length_and_keeps_a_tone() {
        let rate_in = 22_050u32;
        let tone: Vec<f32> = (0..rate_in)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate_in as f32).sin())
            .collect();
        let mut enc = PcmS16Encoder::new(rate_in, 24_000).unwrap();
        let mut out = Vec::new();
        for chunk in tone.chunks(1000) {
            enc.push(chunk, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        assert_eq!(
            out.len(),
            24_000 * 2,
            "one second at 24 kHz, 2 bytes a sample"
        );
        let s: Vec<f32> = out
            .chunks(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0)
            .collect();
        let rms = (s[2400..21600].iter().map(|x| x * x).sum::<f32>() / 19200.0).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.02, "rms {rms}");
        // Zero crossings in the middle ~ 2 × 440 per second.
        let zc = s[2400..21600]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (zc as f32 - 0.8 * 880.0).abs() < 10.0,
            "zero crossings {zc}"
        );
    }
}
