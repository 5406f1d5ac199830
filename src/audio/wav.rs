//! WAV: 16-bit PCM. The header comes from hound; while streaming, its sizes say "unknown"
//! (0xFFFFFFFF, which browsers and ffmpeg accept), and `finish` returns the exact header.
use std::io::Cursor;

use super::{to_i16, AudioError, HeaderPatch, StreamEncoder};

pub struct WavEncoder {
    header: Vec<u8>,
    started: bool,
    data_bytes: u64,
}

impl WavEncoder {
    pub fn new(sample_rate: u32) -> Result<Self, AudioError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::with_capacity(64));
        hound::WavWriter::new(&mut cursor, spec)
            .and_then(|w| w.finalize())
            .map_err(|e| AudioError::encoder("wav", e))?;
        let header = cursor.into_inner();
        if header.len() != 44 {
            return Err(AudioError::encoder(
                "wav",
                format!("unexpected header size {}", header.len()),
            ));
        }
        Ok(Self {
            header,
            started: false,
            data_bytes: 0,
        })
    }

    fn header_with(&self, riff: u32, data: u32) -> Vec<u8> {
        let mut h = self.header.clone();
        h[4..8].copy_from_slice(&riff.to_le_bytes());
        h[40..44].copy_from_slice(&data.to_le_bytes());
        h
    }
}

impl StreamEncoder for WavEncoder {
    fn push(&mut self, pcm: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        if !self.started {
            out.extend_from_slice(&self.header_with(u32::MAX, u32::MAX));
            self.started = true;
        }
        out.reserve(pcm.len() * 2);
        for &s in pcm {
            out.extend_from_slice(&to_i16(s).to_le_bytes());
        }
        self.data_bytes += pcm.len() as u64 * 2;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Option<HeaderPatch>, AudioError> {
        if !self.started {
            self.push(&[], out)?;
        }
        // A WAV larger than 4 GiB cannot state its size; keep the streaming header then.
        let data = u32::try_from(self.data_bytes).ok();
        let riff = data.and_then(|d| d.checked_add(36));
        Ok(match (riff, data) {
            (Some(r), Some(d)) => Some(HeaderPatch {
                offset: 0,
                bytes: self.header_with(r, d),
            }),
            _ => None,
        })
    }
}
