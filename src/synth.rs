//! Direct synthesis, the library call behind `audioby synth` and `POST /v1/synthesize`:
//! streaming text in → segments → the voice's session pool → an encoder → bytes out, one
//! sentence at a time. Nothing here holds the whole text or the whole audio.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::Arc;

use crate::audio::{AudioError, EncodingWriter};
use crate::input::{InputError, TextChunks};
use crate::text::{Segment, SegmentOptions};
use crate::tts::{LoadedVoice, SegmentAudio, SynthSettings, SynthSummary, TtsError, Utterance};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("the text is empty: nothing to speak")]
    EmptyText,
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Tts(#[from] TtsError),
    #[error(transparent)]
    Audio(#[from] AudioError),
}

impl SynthError {
    pub fn code(&self) -> &'static str {
        match self {
            SynthError::EmptyText => "empty-text",
            SynthError::Input(e) => e.code(),
            SynthError::Tts(e) => e.code(),
            SynthError::Audio(e) => e.code(),
        }
    }
}

/// The engine speaks a segment's normalized text at its rate, then pauses; the original
/// text, block and kind stay with the caller (manifests, captions).
impl From<Segment> for Utterance {
    fn from(s: Segment) -> Utterance {
        Utterance {
            text: s.spoken,
            rate: s.rate,
            pause_after_ms: s.pause_after_ms,
        }
    }
}

/// Progress of a running synthesis, for progress bars and logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub bytes_read: u64,
    pub segments: usize,
    pub audio_seconds: f64,
}

/// Segments of a plain-text stream, produced lazily chunk by chunk.
pub struct SegmentStream<R: Read> {
    chunks: TextChunks<R>,
    pending: VecDeque<Segment>,
    opts: SegmentOptions,
    lexicon: Arc<crate::text::lexicon::Lexicon>,
    block_base: usize,
    bytes_read: Rc<RefCell<u64>>,
    error: Rc<RefCell<Option<InputError>>>,
}

impl<R: Read> SegmentStream<R> {
    pub fn new(
        reader: R,
        lexicon: Arc<crate::text::lexicon::Lexicon>,
        opts: SegmentOptions,
    ) -> Self {
        Self {
            chunks: TextChunks::new(reader),
            pending: VecDeque::new(),
            opts,
            lexicon,
            block_base: 0,
            bytes_read: Rc::default(),
            error: Rc::default(),
        }
    }
}

impl<R: Read> Iterator for SegmentStream<R> {
    type Item = Segment;

    fn next(&mut self) -> Option<Segment> {
        loop {
            if let Some(s) = self.pending.pop_front() {
                return Some(s);
            }
            match self.chunks.next()? {
                Ok(chunk) => {
                    *self.bytes_read.borrow_mut() += chunk.len() as u64;
                    let mut segs =
                        crate::text::segment::segment_text(&chunk, &self.lexicon, &self.opts);
                    let mut max_block = 0;
                    for s in &mut segs {
                        max_block = max_block.max(s.block + 1);
                        s.block += self.block_base;
                    }
                    self.block_base += max_block;
                    self.pending.extend(segs);
                }
                Err(e) => {
                    *self.error.borrow_mut() = Some(e);
                    return None;
                }
            }
        }
    }
}

/// Synthesize a text stream (plain text, read incrementally) into an encoder.
pub fn synthesize_reader<R, W, O>(
    voice: &LoadedVoice,
    input: R,
    lexicon: Arc<crate::text::lexicon::Lexicon>,
    settings: &SynthSettings,
    seg_opts: SegmentOptions,
    open: O,
    mut progress: impl FnMut(Progress),
) -> Result<(EncodingWriter<W>, SynthSummary), SynthError>
where
    R: Read,
    W: Write,
    O: FnOnce() -> Result<EncodingWriter<W>, SynthError>,
{
    let stream = SegmentStream::new(input, lexicon, seg_opts);
    let bytes_read = Rc::clone(&stream.bytes_read);
    let error = Rc::clone(&stream.error);
    let result = synthesize_segments(voice, stream, settings, open, |mut p| {
        p.bytes_read = *bytes_read.borrow();
        progress(p)
    });
    // A read error ends the segment stream early; it wins over "empty" or a short success.
    if let Some(e) = error.borrow_mut().take() {
        return Err(e.into());
    }
    result
}

/// Synthesize `segments` in order into an encoder. The output is only opened once the first
/// speakable segment exists, so empty input never produces an empty file.
pub fn synthesize_segments<I, W, O>(
    voice: &LoadedVoice,
    segments: I,
    settings: &SynthSettings,
    open: O,
    mut progress: impl FnMut(Progress),
) -> Result<(EncodingWriter<W>, SynthSummary), SynthError>
where
    I: IntoIterator<Item = Segment>,
    W: Write,
    O: FnOnce() -> Result<EncodingWriter<W>, SynthError>,
{
    let mut segments = segments
        .into_iter()
        .filter(|s| s.spoken.chars().any(char::is_alphanumeric))
        .peekable();
    if segments.peek().is_none() {
        return Err(SynthError::EmptyText);
    }
    let mut writer = open()?;
    let mut sink_err: Option<AudioError> = None;
    let summary = voice.synthesize(&mut segments, settings, |audio: SegmentAudio| {
        // The voice's load-time probe may be off (the CLI's `synth`): a broken model shows
        // here instead, before it reaches the output.
        if let Some(bad) = audio.samples.iter().find(|s| !s.is_finite()) {
            return Err(TtsError::Inference(format!(
                "sentence {} synthesized to non-finite samples ({bad}): broken model weights?",
                audio.index + 1
            )));
        }
        let r = writer
            .push(&audio.samples)
            .and_then(|_| push_silence(&mut writer, audio.pause_samples));
        if let Err(e) = r {
            let msg = e.to_string();
            sink_err = Some(e);
            return Err(TtsError::Sink(msg));
        }
        progress(Progress {
            bytes_read: 0,
            segments: audio.index + 1,
            audio_seconds: audio.start + audio.duration,
        });
        Ok(())
    });
    if let Some(e) = sink_err {
        return Err(e.into());
    }
    Ok((writer, summary?))
}

/// Append `n` samples of silence without allocating `n` at once.
pub fn push_silence<W: Write>(
    writer: &mut EncodingWriter<W>,
    mut n: usize,
) -> Result<(), AudioError> {
    const ZEROS: [f32; 4096] = [0.0; 4096];
    while n > 0 {
        let k = n.min(ZEROS.len());
        writer.push(&ZEROS[..k])?;
        n -= k;
    }
    Ok(())
}
