//! MP3 through LAME (mp3lame-encoder), mono CBR. `finish` returns the LAME/Info tag frame so a
//! seekable sink can patch it in: decoders then know the encoder delay and padding (gapless).
use std::mem::MaybeUninit;

use mp3lame_encoder::{Bitrate, Builder, FlushGap, MonoPcm, Quality};

use super::{to_i16, AudioError, HeaderPatch, StreamEncoder};

/// LAME's `-q`: 7 ("fast, ok quality") instead of the library default 5. At 64 kbps mono
/// speech the psychoacoustic search of the slower settings is not audible, and it is the
/// bulk of LAME's time.
pub(crate) const QUALITY: Quality = Quality::Ok;

pub struct Mp3Encoder {
    enc: mp3lame_encoder::Encoder,
    pcm: Vec<i16>,
    /// An ID3v2 tag still to write, at the very start of the output.
    id3: Vec<u8>,
    /// Bytes written before LAME's first frame (the ID3 tag): the LAME tag patch moves by it.
    prefix: u64,
}

fn bitrate(kbps: u32) -> Bitrate {
    match kbps {
        0..=32 => Bitrate::Kbps32,
        33..=40 => Bitrate::Kbps40,
        41..=48 => Bitrate::Kbps48,
        49..=64 => Bitrate::Kbps64,
        65..=80 => Bitrate::Kbps80,
        81..=96 => Bitrate::Kbps96,
        97..=128 => Bitrate::Kbps128,
        _ => Bitrate::Kbps160,
    }
}

impl Mp3Encoder {
    pub fn new(sample_rate: u32, kbps: u32) -> Result<Self, AudioError> {
        Self::with_quality(sample_rate, kbps, QUALITY)
    }

    pub(crate) fn with_quality(
        sample_rate: u32,
        kbps: u32,
        quality: Quality,
    ) -> Result<Self, AudioError> {
        let err = |e: &dyn std::fmt::Display| AudioError::encoder("mp3", e);
        let mut b = Builder::new().ok_or_else(|| err(&"LAME could not allocate an encoder"))?;
        b.set_num_channels(1).map_err(|e| err(&e))?;
        b.set_sample_rate(sample_rate).map_err(|e| err(&e))?;
        b.set_brate(bitrate(kbps)).map_err(|e| err(&e))?;
        b.set_quality(quality).map_err(|e| err(&e))?;
        b.set_to_write_vbr_tag(true).map_err(|e| err(&e))?;
        let enc = b.build().map_err(|e| err(&e))?;
        Ok(Self {
            enc,
            pcm: Vec::new(),
            id3: Vec::new(),
            prefix: 0,
        })
    }

    /// Start the stream with this ID3v2 tag (`audio::tags`).
    pub fn with_id3(mut self, tag: Vec<u8>) -> Self {
        self.prefix = tag.len() as u64;
        self.id3 = tag;
        self
    }
}

/// LAME's documented worst case for the output buffer: 1.25 × samples + 7200 bytes.
fn reserve_for(out: &mut Vec<u8>, samples: usize) {
    out.reserve(samples * 5 / 4 + 7200);
}

impl StreamEncoder for Mp3Encoder {
    fn push(&mut self, pcm: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.append(&mut self.id3);
        if pcm.is_empty() {
            return Ok(());
        }
        self.pcm.clear();
        self.pcm.extend(pcm.iter().map(|&s| to_i16(s)));
        reserve_for(out, self.pcm.len());
        self.enc
            .encode_to_vec(MonoPcm(&self.pcm), out)
            .map_err(|e| AudioError::encoder("mp3", e))?;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Option<HeaderPatch>, AudioError> {
        out.append(&mut self.id3);
        reserve_for(out, 0);
        self.enc
            .flush_to_vec::<FlushGap>(out)
            .map_err(|e| AudioError::encoder("mp3", e))?;
        let mut tag = vec![MaybeUninit::<u8>::uninit(); self.enc.lame_tag_size().max(1)];
        Ok(match self.enc.lame_tag_encode(&mut tag) {
            Some(n) => {
                // SAFETY: LAME initialised the first `n` bytes.
                let bytes = tag[..n.get()]
                    .iter()
                    .map(|b| unsafe { b.assume_init() })
                    .collect();
                Some(HeaderPatch {
                    offset: self.prefix + self.enc.id3v2_tag_size() as u64,
                    bytes,
                })
            }
            None => None,
        })
    }
}
