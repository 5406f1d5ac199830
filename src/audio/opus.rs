//! Ogg Opus (RFC 7845): libopus through the `opus` crate, Ogg pages through the `ogg` crate,
//! 48 kHz input from the streaming resampler. OpusHead carries the encoder lookahead as
//! pre-skip; granule positions count decoded 48 kHz samples (pre-skip included), and the last
//! page's granule (pre-skip + input length) trims the final frame's padding, so the decoded
//! length equals the input length.
use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use opus::{Application, Bandwidth, Bitrate, Channels, Encoder};

use super::resample::StreamResampler;
use super::{AudioError, HeaderPatch, StreamEncoder};

const RATE: u32 = 48_000;
/// 20 ms frames: the usual choice for speech at 24–32 kbps.
const FRAME: usize = 960;
/// End an Ogg page after this many packets (1 s) so a stream never waits long for bytes.
const PACKETS_PER_PAGE: usize = 50;
const MAX_PACKET: usize = 4000;
/// Size of a padded packet at a live stream's start (see `with_start_padding`): 1 s of
/// packets then carries 100 KB, so even a one-word first segment fills the padded start.
const PADDED_PACKET: usize = 2000;
/// Packets per page inside the padded start: pages of 20 KB rather than 100 KB.
const PADDED_PACKETS_PER_PAGE: usize = 10;
/// libopus complexity (0–10). Speech at 24–32 kbps mono sounds the same at 5 as at the default
/// 10 (SILK/hybrid modes gain little from the extra search) and encodes about twice as fast,
/// which matters on a small machine where the encoder competes with inference.
pub(crate) const COMPLEXITY: i32 = 5;

pub struct OggOpusEncoder {
    enc: Encoder,
    resampler: Option<StreamResampler>,
    input_rate: u32,
    writer: PacketWriter<'static, Vec<u8>>,
    serial: u32,
    pre_skip: u16,
    headers_written: bool,
    /// 48 kHz samples waiting for a full frame.
    buf48: Vec<f32>,
    resampled: Vec<f32>,
    /// 48 kHz samples encoded so far (the first `pre_skip` of them are the encoder's lookahead).
    encoded: u64,
    /// Total input samples, for the exact final granule.
    input_samples: u64,
    packets_in_page: usize,
    /// One packet held back, so the last one can be flagged end-of-stream with the exact granule.
    held: Option<Vec<u8>>,
    packet: Vec<u8>,
    /// Set by `finish`: no granule may pass the true end, or the last page's trim would go backwards.
    granule_cap: u64,
    /// Vorbis comments (`KEY=value`) for the OpusTags header.
    comments: Vec<String>,
    /// Pad audio packets until this many audio bytes have been written (live streams only:
    /// see [`OggOpusEncoder::with_start_padding`]).
    pad_until: u64,
    /// Audio packet bytes written so far, padding included.
    audio_bytes: u64,
}

impl OggOpusEncoder {
    pub fn new(input_rate: u32, bitrate: i32) -> Result<Self, AudioError> {
        // Nothing above the input's Nyquist frequency exists: don't spend bits or search on it.
        let bandwidth = match input_rate {
            0..=16_000 => Bandwidth::Wideband,
            16_001..=24_000 => Bandwidth::Superwideband,
            _ => Bandwidth::Fullband,
        };
        // `Audio`, not `Voip`: Voip's high-pass and intelligibility tuning are for calls; the
        // CPU cost is the same (measured with `audio::cost`).
        Self::with_settings(
            input_rate,
            bitrate,
            Application::Audio,
            COMPLEXITY,
            bandwidth,
        )
    }

    pub(crate) fn with_settings(
        input_rate: u32,
        bitrate: i32,
        application: Application,
        complexity: i32,
        bandwidth: Bandwidth,
    ) -> Result<Self, AudioError> {
        let err = |e: opus::Error| AudioError::encoder("opus", e);
        let mut enc = Encoder::new(RATE, Channels::Mono, application).map_err(err)?;
        enc.set_bitrate(Bitrate::Bits(bitrate.clamp(6_000, 256_000)))
            .map_err(err)?;
        enc.set_signal(opus::Signal::Voice).map_err(err)?;
        enc.set_complexity(complexity.clamp(0, 10)).map_err(err)?;
        enc.set_max_bandwidth(bandwidth).map_err(err)?;
        let pre_skip = enc.get_lookahead().map_err(err)?.clamp(0, u16::MAX as i32) as u16;
        let resampler = if input_rate == RATE {
            None
        } else {
            Some(StreamResampler::new(input_rate, RATE)?)
        };
        // A stream serial number only has to differ between streams of one physical file.
        let serial = 0x6175_6462; // "audb"
        Ok(Self {
            enc,
            resampler,
            input_rate,
            writer: PacketWriter::new(Vec::new()),
            serial,
            pre_skip,
            headers_written: false,
            buf48: Vec::new(),
            resampled: Vec::new(),
            encoded: 0,
            input_samples: 0,
            packets_in_page: 0,
            held: None,
            packet: vec![0; MAX_PACKET],
            granule_cap: u64::MAX,
            comments: vec!["ENCODER=audioby".into()],
            pad_until: 0,
            audio_bytes: 0,
        })
    }

    /// Pad the stream's first audio packets (Opus packet padding, RFC 6716 §3.2.5, which every
    /// decoder discards) until `bytes` of audio data have been written. For live streams:
    /// Chromium's `<audio>` does not report metadata for a progressive Ogg Opus stream until
    /// about 34–38 KB of audio pages have arrived (measured: 8 s of speech at 32 kbps kept it
    /// waiting, 10 s started at once, and so did 2 s padded to 40 KB; padding the OpusTags
    /// header did not help; one 50 KB page of the first second plus a small page still waited,
    /// 74 KB in two pages did not). Without padding a listener waits for ~10 s of audio to be
    /// synthesized before the first sound; with it, for the first segment only. The decoded
    /// samples are unchanged; the cost is those bytes once per live listen. Pages inside the
    /// padded start hold fewer packets, so no single page is large.
    pub fn with_start_padding(mut self, bytes: u64) -> Self {
        self.pad_until = bytes;
        self
    }

    /// A packet on its way out: padded while the stream is inside its padded start.
    fn outgoing(&mut self, mut packet: Vec<u8>) -> Vec<u8> {
        if self.audio_bytes < self.pad_until {
            let want = (self.pad_until - self.audio_bytes).min(PADDED_PACKET as u64) as usize;
            if want > packet.len() {
                let len = packet.len();
                packet.resize(want, 0);
                match opus::packet::pad(&mut packet, len) {
                    Ok(_) => {}
                    // Padding is an optimisation for one browser: never worth a broken packet.
                    Err(_) => packet.truncate(len),
                }
            }
        }
        self.audio_bytes += packet.len() as u64;
        packet
    }

    /// Vorbis comments for the OpusTags header (`KEY=value`, `audio::tags`).
    pub fn with_comments(mut self, comments: Vec<String>) -> Self {
        self.comments = comments;
        self
    }

    fn write_headers(&mut self) -> Result<(), AudioError> {
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&self.pre_skip.to_le_bytes());
        head.extend_from_slice(&self.input_rate.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0 (mono/stereo)
        let mut tags = Vec::new();
        let vendor = format!(
            "audioby {} ({})",
            env!("CARGO_PKG_VERSION"),
            opus::version()
        );
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&(self.comments.len() as u32).to_le_bytes());
        for c in &self.comments {
            tags.extend_from_slice(&(c.len() as u32).to_le_bytes());
            tags.extend_from_slice(c.as_bytes());
        }
        self.write(head, PacketWriteEndInfo::EndPage, 0)?;
        self.write(tags, PacketWriteEndInfo::EndPage, 0)?;
        self.headers_written = true;
        Ok(())
    }

    fn write(
        &mut self,
        data: Vec<u8>,
        end: PacketWriteEndInfo,
        granule: u64,
    ) -> Result<(), AudioError> {
        self.writer.write_packet(data, self.serial, end, granule)?;
        Ok(())
    }

    /// Granule positions count every decoded 48 kHz sample, the pre-skip ones included.
    fn granule(&self) -> u64 {
        self.encoded.min(self.granule_cap)
    }

    /// Encode every complete frame in `buf48`; emit held packets with their granule.
    fn encode_frames(&mut self) -> Result<(), AudioError> {
        let mut offset = 0;
        while self.buf48.len() - offset >= FRAME {
            let n = self
                .enc
                .encode_float(&self.buf48[offset..offset + FRAME], &mut self.packet)
                .map_err(|e| AudioError::encoder("opus", e))?;
            offset += FRAME;
            let packet = self.packet[..n].to_vec();
            if let Some(prev) = self.held.replace(packet) {
                let prev = self.outgoing(prev);
                self.encoded += FRAME as u64;
                self.packets_in_page += 1;
                let per_page = if self.audio_bytes < self.pad_until {
                    PADDED_PACKETS_PER_PAGE
                } else {
                    PACKETS_PER_PAGE
                };
                let end = if self.packets_in_page >= per_page {
                    self.packets_in_page = 0;
                    PacketWriteEndInfo::EndPage
                } else {
                    PacketWriteEndInfo::NormalPacket
                };
                let granule = self.granule();
                self.write(prev, end, granule)?;
            }
        }
        self.buf48.drain(..offset);
        Ok(())
    }

    /// End the current page so the bytes produced so far can leave (streaming).
    fn flush_page(&mut self) -> Result<(), AudioError> {
        if self.packets_in_page > 0 {
            if let Some(prev) = self.held.take() {
                let prev = self.outgoing(prev);
                self.encoded += FRAME as u64;
                self.packets_in_page = 0;
                let granule = self.granule();
                self.write(prev, PacketWriteEndInfo::EndPage, granule)?;
            }
        }
        Ok(())
    }
}

impl StreamEncoder for OggOpusEncoder {
    fn push(&mut self, pcm: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        if !self.headers_written {
            self.write_headers()?;
        }
        self.input_samples += pcm.len() as u64;
        match &mut self.resampler {
            Some(r) => {
                self.resampled.clear();
                r.push(pcm, &mut self.resampled)?;
                self.buf48.extend_from_slice(&self.resampled);
            }
            None => self.buf48.extend_from_slice(pcm),
        }
        self.encode_frames()?;
        self.flush_page()?;
        out.append(self.writer.inner_mut());
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Option<HeaderPatch>, AudioError> {
        if !self.headers_written {
            self.write_headers()?;
        }
        if let Some(r) = &mut self.resampler {
            self.resampled.clear();
            r.finish(&mut self.resampled)?;
            self.buf48.extend_from_slice(&self.resampled);
        }
        let total48 = (self.input_samples * RATE as u64).div_ceil(self.input_rate as u64);
        self.granule_cap = self.pre_skip as u64 + total48;
        // Pad to whole frames plus the encoder's lookahead, so the tail is really encoded.
        let target = (self.buf48.len() + self.pre_skip as usize).div_ceil(FRAME) * FRAME;
        self.buf48.resize(target.max(FRAME), 0.0);
        self.encode_frames()?;
        let last = match self.held.take() {
            Some(p) => p,
            None => {
                // Nothing encoded at all: one frame of silence keeps the stream valid.
                let n = self
                    .enc
                    .encode_float(&[0.0; FRAME], &mut self.packet)
                    .map_err(|e| AudioError::encoder("opus", e))?;
                self.packet[..n].to_vec()
            }
        };
        let last = self.outgoing(last);
        self.encoded += FRAME as u64;
        // The final granule marks where decoded audio ends: trailing padding is discarded.
        let granule = self.granule();
        self.write(last, PacketWriteEndInfo::EndStream, granule)?;
        out.append(self.writer.inner_mut());
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(enc: OggOpusEncoder, pcm: &[f32]) -> Vec<u8> {
        let mut enc: Box<dyn StreamEncoder> = Box::new(enc);
        let mut out = Vec::new();
        // Two pushes, as a live stream sends segment by segment.
        let (a, b) = pcm.split_at(pcm.len() / 3);
        enc.push(a, &mut out).unwrap();
        enc.push(b, &mut out).unwrap();
        enc.finish(&mut out).unwrap();
        out
    }

    /// Every packet's decoded samples, and the packets' sizes.
    fn decode(bytes: &[u8]) -> (Vec<i16>, Vec<usize>) {
        let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
        let mut dec = opus::Decoder::new(RATE, Channels::Mono).unwrap();
        let (mut pcm, mut sizes, mut n) = (Vec::new(), Vec::new(), 0);
        let mut frame = vec![0i16; 5760];
        while let Some(p) = reader.read_packet().unwrap() {
            n += 1;
            if n <= 2 {
                continue; // OpusHead, OpusTags
            }
            sizes.push(p.data.len());
            let got = dec.decode(&p.data, &mut frame, false).unwrap();
            pcm.extend_from_slice(&frame[..got]);
        }
        (pcm, sizes)
    }

    #[test]
    fn start_padding_changes_bytes_but_not_samples() {
        let rate = 22_050;
        let pcm: Vec<f32> = (0..rate * 3)
            .map(|i| 0.3 * (i as f32 * 0.05).sin() * (i as f32 * 0.0007).sin())
            .collect();
        let plain = encode(OggOpusEncoder::new(rate as u32, 32_000).unwrap(), &pcm);
        let padded = encode(
            OggOpusEncoder::new(rate as u32, 32_000)
                .unwrap()
                .with_start_padding(96 * 1024),
            &pcm,
        );
        let (plain_pcm, plain_sizes) = decode(&plain);
        let (padded_pcm, padded_sizes) = decode(&padded);
        assert_eq!(plain_pcm, padded_pcm, "padding is discarded by the decoder");
        assert_eq!(plain_sizes.len(), padded_sizes.len());
        let audio: usize = padded_sizes.iter().sum();
        let plain_audio: usize = plain_sizes.iter().sum();
        assert!(audio >= 96 * 1024, "padded audio bytes {audio}");
        assert!(plain_audio < 20 * 1024, "3 s at 32 kbps: {plain_audio}");
        // Only the start is padded: the last packets are the plain ones.
        assert_eq!(padded_sizes.last(), plain_sizes.last());
        assert!(padded_sizes[0] == PADDED_PACKET, "{:?}", &padded_sizes[..3]);
    }
}
