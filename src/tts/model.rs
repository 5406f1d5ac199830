//! One inference session set for a voice: phoneme ids in, samples out.
//!
//! A voice is prepared once per process ([`PreparedVoice::new`]): split into encoder and
//! decoder when its graph allows (see [`super::graph`]), or kept whole otherwise. Each
//! session thread then builds its own [`Runner`] from the prepared bytes. With a split voice
//! the runner decodes the latent in windows of at most [`MAX_WINDOW_FRAMES`], so the
//! decoder's activation memory is bounded by the window, not by the sentence.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;

use super::blocked::keep_blocked;
use super::graph::split_voice;
use super::session_cache::{CutShape, SessionCache};

/// Largest decoder window, in latent frames (86 per second of speech at 22.05 kHz). Measured
/// on this machine (single-threaded decoder): per-frame cost is flat from 48 to 256 frames,
/// activation memory grows with the window (about 5 MB at 48 frames, 45 MB at 256), and every
/// cut costs `2 × context` frames of extra decoding. Whole `synth` runs of the seed article
/// (3 each, 15:20 on 2026-11-25) took the same time at 128, 192, 256 and 384 frames
/// (4.4-4.5 s) while peak RSS went 199, 215, 242, 288 MiB. Again with the blocked decoder
/// and the measured context (2026-12-02, 3 alternating runs each): 192, 256 and 320 frames
/// used the same CPU time (8.8-9.6 s, within the runs' spread) at 218-224, 230-242 and
/// 285-288 MiB. A 200-character segment is 4-8 s of speech, so two to four windows.
pub const MAX_WINDOW_FRAMES: usize = 192;

/// A voice ready for its session threads: split into a shared encoder session and the
/// decoder's bytes, or kept whole (each thread then builds the whole model).
///
/// Split voices run one encoder session for the whole pool and one decoder session per
/// thread. The encoder is a quarter of the compute, so two threads rarely wait for it, and
/// its 55 MB of weights and its build (0.55 to 0.65 s, the slowest step of loading a voice)
/// happen once instead of once per session.
pub enum PreparedVoice {
    Split {
        encoder: Arc<Mutex<Session>>,
        decoder: Vec<u8>,
        /// `decoder` is ONNX Runtime's optimized graph, rewritten by [`keep_blocked`]
        /// (build it with optimization off).
        decoder_blocked: bool,
        planar: bool,
        decoder_takes_speaker: bool,
        hop: usize,
        context: usize,
        /// Decoder sessions built while the encoder was (one per session thread, taken by
        /// [`Runner::new`]; a thread that finds none builds its own).
        built_decoders: Mutex<Vec<Session>>,
    },
    Whole(Vec<u8>),
}

/// The start of [`PreparedVoice::new`]'s error when the session cache's encoder would not
/// load (the entry is removed; load the voice again, without the cache or to rebuild it).
pub const CACHED_ENCODER_FAILED: &str = "the session cache's encoder did not load";

/// How a session's graph gets optimized.
#[derive(Debug, Clone, Copy)]
pub enum Optimize<'a> {
    /// By ONNX Runtime, while the session is built (every optimization).
    Here,
    /// Here, and the optimized graph is also written to this file.
    SaveTo(&'a std::path::Path),
    /// Not at all: the graph is one ONNX Runtime optimized and saved earlier.
    Already,
}

/// A graph to build a session from.
#[derive(Debug, Clone, Copy)]
pub enum Graph<'a> {
    Bytes(&'a [u8]),
    File(&'a std::path::Path),
}

/// Builds an ONNX Runtime session from a graph.
pub type BuildSession<'a> = &'a (dyn Fn(Graph, Optimize) -> Result<Session, String> + Sync);

/// The decoder half as a voice's loader hands it to [`build_together`].
#[derive(Clone, Copy)]
struct DecoderPlan<'a> {
    model: &'a [u8],
    shape: CutShape,
    /// Try [`blocked_decoder`] first (a fresh cut; a cached one already had its try).
    try_blocking: bool,
}

/// How a decoder graph's sessions are built: a blocked one ([`keep_blocked`]) is ONNX
/// Runtime's optimized graph already, so optimization is off.
fn decoder_optimize(blocked: bool) -> Optimize<'static> {
    if blocked {
        Optimize::Already
    } else {
        Optimize::Here
    }
}

/// A blocked-layout decoder graph ([`blocked_decoder`]) and its measured context.
struct BlockedCut {
    model: Vec<u8>,
    context: usize,
}

/// Build the encoder session with `build` on this thread and `decoders` decoder sessions on
/// another, at the same time: the encoder is the slow one, and the decoders (10-90 ms each)
/// would otherwise wait for it. A decoder that fails to build is left out (the thread that
/// needs it builds it again and reports the error). The other thread also makes the
/// blocked-layout decoder if asked (returned with its measured context, to be used and saved
/// instead of the plain one).
fn build_together(
    build: BuildSession,
    encoder: Graph,
    optimize: Optimize,
    decoder: DecoderPlan,
    decoders: usize,
) -> (Result<Session, String>, Vec<Session>, Option<BlockedCut>) {
    let (encoder_built, wait_for_encoder) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let others = scope.spawn(move || {
            let mut sessions = Vec::new();
            let mut blocked = None;
            if decoder.try_blocking {
                // The rewrite holds three copies of the decoder at its peak: after the
                // encoder's optimization, not beside it (a first load peaked at 260 MiB).
                let _ = wait_for_encoder.recv();
                match blocked_decoder(build, decoder.model, decoder.shape) {
                    Ok(b) => {
                        sessions.push(b.session);
                        blocked = Some(b.cut);
                    }
                    Err(reason) => {
                        tracing::debug!(%reason, "the decoder keeps ONNX Runtime's layout")
                    }
                }
            }
            let (model, optimize) = match &blocked {
                Some(cut) => (cut.model.as_slice(), decoder_optimize(true)),
                None => (decoder.model, decoder_optimize(decoder.shape.blocked)),
            };
            while sessions.len() < decoders {
                match build(Graph::Bytes(model), optimize) {
                    Ok(s) => sessions.push(s),
                    Err(_) => break,
                }
            }
            sessions.truncate(decoders);
            (sessions, blocked)
        });
        let encoder = build(encoder, optimize);
        drop(encoder_built);
        let (sessions, blocked) = others.join().unwrap_or_default();
        (encoder, sessions, blocked)
    })
}

/// The decoder as ONNX Runtime optimizes it, rewritten so its element-wise ops stay in the
/// blocked layout ([`keep_blocked`]), and a session of it. An error if the rewrite does not
/// apply, or if the rewritten decoder does not give exactly the same samples as ONNX
/// Runtime's own on a probe window (the rewrite cannot see shapes; see [`super::blocked`]).
fn blocked_decoder(
    build: BuildSession,
    decoder: &[u8],
    shape: CutShape,
) -> Result<BlockedDecoder, String> {
    let started = std::time::Instant::now();
    let e = |x: std::io::Error| x.to_string();
    let scratch = tempfile::Builder::new()
        .prefix("audioby-decoder-")
        .suffix(".onnx")
        .tempfile()
        .map_err(e)?;
    // One step at a time, each copy dropped before the next is made: this runs while the
    // encoder is optimized, the peak of a voice's load.
    let mut plain = build(Graph::Bytes(decoder), Optimize::SaveTo(scratch.path()))?;
    let optimized = std::fs::read(scratch.path()).map_err(e)?;
    drop(scratch);
    let rewritten = keep_blocked(&optimized)?;
    drop(optimized);
    let channels = rewritten
        .input_channels
        .ok_or("the decoder does not start with a convolution")?;
    let probe = Probe::new(channels, shape.context);
    let speaker = shape.decoder_takes_speaker.then_some(0);
    let decode = |session: &mut Session, window: Vec<f32>| {
        decode_window(session, window, channels, shape.planar, speaker)
    };
    let want = decode(&mut plain, probe.latent.clone())?;
    drop(plain);
    let mut fast = build(Graph::Bytes(&rewritten.model), decoder_optimize(true))?;
    if decode(&mut fast, probe.latent.clone())? != want {
        return Err("the rewritten decoder differs on a probe window".into());
    }
    let context = probe.true_context(&want, |window| decode(&mut fast, window))?;
    tracing::debug!(
        reorders_before = rewritten.reorders_before,
        reorders_after = rewritten.reorders_after,
        context,
        context_bound = shape.context,
        ms = started.elapsed().as_millis() as u64,
        "decoder rewritten to keep the blocked layout"
    );
    Ok(BlockedDecoder {
        cut: BlockedCut {
            model: rewritten.model,
            context,
        },
        session: fast,
    })
}

/// What [`blocked_decoder`] made: the rewritten graph with the decoder's measured context
/// ([`Probe::true_context`]), and a session of it.
struct BlockedDecoder {
    cut: BlockedCut,
    session: Session,
}

/// Largest difference, in full-scale samples, that the measured context may leave at a
/// window's edge: a quarter of a 16-bit step, below what any output format keeps.
const CONTEXT_TOLERANCE: f32 = 0.25 / 32768.0;

/// A pseudo-random latent window for checking a decoder: [`PROBE_FRAMES`] frames with the
/// analytic context bound on each side, values spread like a real latent's (about ±3.5).
struct Probe {
    latent: Vec<f32>,
    channels: usize,
    bound: usize,
}

/// The frames of a [`Probe`] whose samples are compared.
const PROBE_FRAMES: usize = 24;

impl Probe {
    fn new(channels: usize, bound: usize) -> Probe {
        let len = Probe::frames(bound);
        let latent = (0..channels * len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761) as f32 / u32::MAX as f32 * 7.0 - 3.5)
            .collect();
        Probe {
            latent,
            channels,
            bound,
        }
    }

    /// The probe's length in frames: the compared frames and the bound on each side.
    fn frames(bound: usize) -> usize {
        2 * bound + PROBE_FRAMES
    }

    /// The fewest frames of context each side that still give the middle frames' samples
    /// within [`CONTEXT_TOLERANCE`] of the whole probe's (`whole`, decoded with the full
    /// bound). The bound from the graph ([`super::graph`]) follows every kernel's widest
    /// reach; the outer taps of the widest dilated kernels barely reach, so the joe voice
    /// needs 10 frames where the bound says 13 (11 give identical samples, 9 differ by 1-5
    /// steps of 16 bits). Counted from the bound down, stopping at the first that fails.
    fn true_context(
        &self,
        whole: &[f32],
        mut decode: impl FnMut(Vec<f32>) -> Result<Vec<f32>, String>,
    ) -> Result<usize, String> {
        let len = Probe::frames(self.bound);
        let hop = whole.len() / len;
        let want = whole
            .get(self.bound * hop..(self.bound + PROBE_FRAMES) * hop)
            .ok_or("the decoder's output is shorter than its input says")?;
        let mut context = self.bound;
        for c in (1..self.bound).rev() {
            let edge = self.bound - c;
            let window = latent_window(&self.latent, self.channels, len, edge..len - edge);
            let got = decode(window)?;
            let got = got
                .get(c * hop..(c + PROBE_FRAMES) * hop)
                .unwrap_or_default();
            let close = got.len() == want.len()
                && got
                    .iter()
                    .zip(want)
                    .all(|(a, b)| (a - b).abs() <= CONTEXT_TOLERANCE);
            if !close {
                break;
            }
            context = c;
        }
        Ok(context)
    }
}

/// The frames `range` of a latent of `channels` rows of `frames` each, as a window of the same
/// row layout ([`decode_window`]'s input).
fn latent_window(
    latent: &[f32],
    channels: usize,
    frames: usize,
    range: std::ops::Range<usize>,
) -> Vec<f32> {
    let mut window = Vec::with_capacity(channels * range.len());
    for row in latent.chunks(frames).take(channels) {
        window.extend_from_slice(&row[range.clone()]);
    }
    window
}

/// Decode one window of the latent, `channels` rows of equal length, to samples.
fn decode_window(
    decoder: &mut Session,
    window: Vec<f32>,
    channels: usize,
    planar: bool,
    speaker: Option<i64>,
) -> Result<Vec<f32>, String> {
    let e = |x: ort::Error| x.to_string();
    let len = window.len() / channels.max(1);
    let latent = if planar {
        Tensor::from_array(([1usize, channels, 1, len], window))
    } else {
        Tensor::from_array(([1usize, channels, len], window))
    }
    .map_err(e)?;
    let decoded = match speaker {
        Some(id) => {
            let sid = Tensor::from_array(([1usize], vec![id])).map_err(e)?;
            decoder.run(ort::inputs![latent, sid])
        }
        None => decoder.run(ort::inputs![latent]),
    }
    .map_err(e)?;
    let (_, audio) = decoded[0].try_extract_tensor::<f32>().map_err(e)?;
    Ok(audio.to_vec())
}

impl PreparedVoice {
    /// Split the voice (if `split`) and build its encoder session if its graph allows;
    /// otherwise keep it whole and log why. With a `cache`, a cut saved by an earlier load
    /// is used (its encoder already optimized: see [`super::session_cache`]), and a new cut
    /// is saved there.
    pub fn new(
        voice: &str,
        model: Vec<u8>,
        split: bool,
        build: BuildSession,
        cache: Option<&SessionCache>,
        decoders: usize,
    ) -> Result<PreparedVoice, String> {
        if !split {
            return Ok(PreparedVoice::Whole(model));
        }
        let started = std::time::Instant::now();
        if let Some(cut) = cache.and_then(SessionCache::load) {
            // Not needed any more: free it before the encoder's weights are loaded.
            drop(model);
            let plan = DecoderPlan {
                model: &cut.decoder,
                shape: cut.shape,
                try_blocking: false,
            };
            let (encoder, built, _) = build_together(
                build,
                Graph::File(&cut.encoder),
                Optimize::Already,
                plan,
                decoders,
            );
            match encoder {
                Ok(encoder) => {
                    tracing::debug!(
                        voice,
                        ms = started.elapsed().as_millis() as u64,
                        "encoder session built from the session cache"
                    );
                    return Ok(PreparedVoice::split(encoder, cut.decoder, built, cut.shape));
                }
                Err(reason) => {
                    if let Some(c) = cache {
                        c.remove();
                    }
                    return Err(format!("{CACHED_ENCODER_FAILED}: {reason}"));
                }
            }
        }
        if model.is_empty() {
            // Sessions started from a hint (see the engine) bring no model bytes.
            return Err("no saved cut for this voice in the session cache".into());
        }
        match split_voice(model) {
            Ok(s) => {
                tracing::debug!(
                    voice,
                    hop = s.hop,
                    context = s.context,
                    planar = s.planar,
                    ms = started.elapsed().as_millis() as u64,
                    "voice split into encoder and decoder"
                );
                let started = std::time::Instant::now();
                let scratch = cache.and_then(|c| {
                    c.encoder_scratch()
                        .inspect_err(|e| tracing::warn!(voice, dir = %c.dir().display(), error = %e, "session cache not writable"))
                        .ok()
                });
                let plan = DecoderPlan {
                    model: &s.decoder,
                    shape: CutShape::from(&s),
                    try_blocking: true,
                };
                let (encoder, built, blocked) = build_together(
                    build,
                    Graph::Bytes(&s.encoder),
                    scratch.as_deref().map_or(Optimize::Here, Optimize::SaveTo),
                    plan,
                    decoders,
                );
                let encoder = encoder?;
                tracing::debug!(
                    voice,
                    ms = started.elapsed().as_millis() as u64,
                    "encoder session built"
                );
                let shape = CutShape {
                    blocked: blocked.is_some(),
                    context: blocked.as_ref().map_or(plan.shape.context, |b| b.context),
                    ..plan.shape
                };
                let decoder = blocked.map_or(s.decoder, |b| b.model);
                if let (Some(c), Some(scratch)) = (cache, &scratch) {
                    match c.store(scratch, &decoder, shape) {
                        Ok(replaced) => {
                            tracing::debug!(voice, dir = %c.dir().display(), replaced, "cut saved in the session cache")
                        }
                        Err(e) => {
                            tracing::warn!(voice, dir = %c.dir().display(), error = %e, "could not save the cut in the session cache")
                        }
                    }
                }
                Ok(PreparedVoice::split(encoder, decoder, built, shape))
            }
            Err(e) => {
                tracing::warn!(voice, reason = %e.reason, "voice runs whole (more memory on long sentences)");
                e.model.map(PreparedVoice::Whole).ok_or(e.reason)
            }
        }
    }

    fn split(encoder: Session, decoder: Vec<u8>, built: Vec<Session>, shape: CutShape) -> Self {
        PreparedVoice::Split {
            encoder: Arc::new(Mutex::new(encoder)),
            decoder,
            decoder_blocked: shape.blocked,
            built_decoders: Mutex::new(built),
            planar: shape.planar,
            decoder_takes_speaker: shape.decoder_takes_speaker,
            hop: shape.hop,
            context: shape.context,
        }
    }

    pub fn is_split(&self) -> bool {
        matches!(self, PreparedVoice::Split { .. })
    }
}

/// Inference settings of one call, as the model's `scales` input wants them.
#[derive(Debug, Clone, Copy)]
pub struct Scales {
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
}

/// One session thread's inference state.
pub enum Runner {
    Whole {
        session: Session,
        multi_speaker: bool,
    },
    Split {
        encoder: Arc<Mutex<Session>>,
        decoder: Session,
        multi_speaker: bool,
        decoder_takes_speaker: bool,
        planar: bool,
        hop: usize,
        context: usize,
        window: usize,
    },
}

impl Runner {
    /// Build this thread's sessions: its decoder (a split voice) or the whole model.
    pub fn new(
        voice: &PreparedVoice,
        multi_speaker: bool,
        build: BuildSession,
    ) -> Result<Runner, String> {
        Ok(match voice {
            PreparedVoice::Whole(model) => Runner::Whole {
                session: build(Graph::Bytes(model), Optimize::Here)?,
                multi_speaker,
            },
            PreparedVoice::Split {
                encoder,
                decoder,
                decoder_blocked,
                planar,
                decoder_takes_speaker,
                hop,
                context,
                built_decoders,
            } => Runner::Split {
                encoder: Arc::clone(encoder),
                decoder: if let Some(session) = built_decoders
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop()
                {
                    session
                } else {
                    let started = std::time::Instant::now();
                    let session = build(Graph::Bytes(decoder), decoder_optimize(*decoder_blocked))?;
                    tracing::debug!(
                        ms = started.elapsed().as_millis() as u64,
                        "decoder session built"
                    );
                    session
                },
                multi_speaker,
                decoder_takes_speaker: *decoder_takes_speaker,
                planar: *planar,
                hop: *hop,
                context: *context,
                window: MAX_WINDOW_FRAMES,
            },
        })
    }

    /// Decode in windows of at most `frames` latent frames (tests use small windows to
    /// check that the seams are inaudible).
    pub fn with_window(mut self, frames: usize) -> Runner {
        if let Runner::Split { window, .. } = &mut self {
            *window = frames.max(1);
        }
        self
    }

    /// Synthesize one sentence's phoneme ids to mono f32 samples. `stop` is checked between
    /// decoder windows: set, the rest of the sentence is not decoded (an error, "abandoned").
    pub fn run(
        &mut self,
        ids: &[i64],
        scales: Scales,
        speaker: i64,
        stop: &AtomicBool,
    ) -> Result<Vec<f32>, String> {
        match self {
            Runner::Whole {
                session,
                multi_speaker,
            } => {
                let (_, audio) = run_front(session, ids, scales, multi_speaker.then_some(speaker))?;
                Ok(audio)
            }
            Runner::Split {
                encoder,
                decoder,
                multi_speaker,
                decoder_takes_speaker,
                planar,
                hop,
                context,
                window: max_window,
            } => {
                let (shape, z) = {
                    let mut encoder = encoder.lock().unwrap_or_else(|p| p.into_inner());
                    run_front(&mut encoder, ids, scales, multi_speaker.then_some(speaker))?
                };
                let [1, channels, frames] = shape[..] else {
                    return Err(format!("unexpected latent shape {shape:?}"));
                };
                let (channels, frames) = (channels as usize, frames as usize);
                let mut samples = Vec::with_capacity(frames * *hop);
                for (start, end) in windows(frames, *max_window) {
                    if stop.load(Ordering::Relaxed) {
                        return Err("abandoned".into());
                    }
                    let from = start.saturating_sub(*context);
                    let to = (end + *context).min(frames);
                    let window = latent_window(&z, channels, frames, from..to);
                    let speaker = decoder_takes_speaker.then_some(speaker);
                    let audio = decode_window(decoder, window, channels, *planar, speaker)?;
                    let keep = (start - from) * *hop..((end - from) * *hop).min(audio.len());
                    samples.extend_from_slice(audio.get(keep).unwrap_or_default());
                }
                Ok(samples)
            }
        }
    }
}

/// Run a session that takes Piper's inputs (`input`, `input_lengths`, `scales` and, for a
/// multi-speaker voice, `sid`): the whole voice or its encoder. Returns the first output's
/// shape and data.
fn run_front(
    session: &mut Session,
    ids: &[i64],
    scales: Scales,
    speaker: Option<i64>,
) -> Result<(Vec<i64>, Vec<f32>), String> {
    let e = |x: ort::Error| x.to_string();
    let n = ids.len();
    let input = Tensor::from_array(([1usize, n], ids.to_vec())).map_err(e)?;
    let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(e)?;
    let scales = Tensor::from_array((
        [3usize],
        vec![scales.noise_scale, scales.length_scale, scales.noise_w],
    ))
    .map_err(e)?;
    let out = match speaker {
        Some(id) => {
            let sid = Tensor::from_array(([1usize], vec![id])).map_err(e)?;
            session.run(ort::inputs![input, lengths, scales, sid])
        }
        None => session.run(ort::inputs![input, lengths, scales]),
    }
    .map_err(e)?;
    let (shape, data) = out[0].try_extract_tensor::<f32>().map_err(e)?;
    Ok((shape.to_vec(), data.to_vec()))
}

/// Cut `frames` into the fewest windows of at most `max` frames, of near-equal length.
pub fn windows(frames: usize, max: usize) -> Vec<(usize, usize)> {
    if frames == 0 {
        return Vec::new();
    }
    let count = frames.div_ceil(max.max(1));
    (0..count)
        .map(|i| (frames * i / count, frames * (i + 1) / count))
        .collect()
}

/// Piper's phoneme ids: BOS, pad, then each phoneme's ids followed by pad, then EOS, as
/// piper-tts does. Phonemes the voice does not know are skipped.
pub fn phoneme_ids(map: &HashMap<char, Vec<i64>>, phonemes: &str) -> Vec<i64> {
    let first = |c: char| map.get(&c).and_then(|v| v.first()).copied().unwrap_or(0);
    let (bos, eos, pad) = (first('^'), first('$'), first('_'));
    let mut ids = Vec::with_capacity(phonemes.len() * 2 + 3);
    ids.extend([bos, pad]);
    for c in phonemes.chars() {
        if let Some(id) = map.get(&c) {
            ids.extend_from_slice(id);
            ids.push(pad);
        }
    }
    ids.push(eos);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_frame_once_and_respect_the_maximum() {
        for frames in [0, 1, 191, 192, 193, 400, 1000] {
            let w = windows(frames, 192);
            assert_eq!(w.iter().map(|(s, e)| e - s).sum::<usize>(), frames);
            assert!(w.iter().all(|(s, e)| e - s <= 192 && e > s));
            assert!(w.windows(2).all(|p| p[0].1 == p[1].0));
        }
        assert_eq!(windows(400, 192).len(), 3);
    }

    /// The default voice's model bytes and config.
    fn joe() -> (Vec<u8>, piper_rs::ModelConfig) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("voices");
        let model = std::fs::read(dir.join("en_US-joe-medium.onnx"))
            .expect("the default voice (run `make setup`)");
        let config = serde_json::from_str(
            &std::fs::read_to_string(dir.join("en_US-joe-medium.onnx.json")).unwrap(),
        )
        .unwrap();
        (model, config)
    }

    /// `text`'s phoneme ids for `config`'s voice, and scales with the noise off (so a
    /// voice's output is deterministic).
    fn silent_noise_ids(config: &piper_rs::ModelConfig, text: &str) -> (Vec<i64>, Scales) {
        let phonemes = super::super::phonemize::phonemize(text, &config.espeak.voice).unwrap();
        let scales = Scales {
            noise_scale: 0.0,
            length_scale: 1.0,
            noise_w: 0.0,
        };
        (phoneme_ids(&config.phoneme_id_map, &phonemes), scales)
    }

    /// The real voice, cut and whole, with the noise turned off so both are deterministic:
    /// the windowed decoder must give the same samples as one run of the original graph.
    #[test]
    fn the_split_voice_speaks_exactly_like_the_whole_voice() {
        let (model, config) = joe();
        let prepacked = ort::session::builder::PrepackedWeights::new();
        let build =
            |g: Graph, o: Optimize| super::super::engine::build_session(g, 1, &prepacked, o);
        let mut whole = Runner::new(&PreparedVoice::Whole(model.clone()), false, &build).unwrap();
        let prepared = PreparedVoice::new("joe", model, true, &build, None, 0).unwrap();
        assert!(prepared.is_split());
        let PreparedVoice::Split {
            hop,
            context,
            planar,
            ..
        } = &prepared
        else {
            unreachable!()
        };
        // 22.05 kHz voices upsample 8 × 8 × 4. The graph walk bounds the decoder's reach at
        // 13 frames either side; perturbing single frames shows 11, and 10 give the samples
        // to within a quarter of a 16-bit step, which is what the load measures
        // (`Probe::true_context`; 9 frames miss by 1-5 steps).
        assert_eq!((*hop, *planar), (256, true));
        assert_eq!(*context, 10, "the joe voice's measured decoder context");
        let mut split_default = Runner::new(&prepared, false, &build).unwrap();
        let mut split_small = Runner::new(&prepared, false, &build)
            .unwrap()
            .with_window(40);

        let text = "The council met again on Monday evening to discuss the long-delayed plan \
            for the river crossing, and after three hours of debate the members voted to \
            send the whole proposal back to the planning committee for another year.";
        let (ids, scales) = silent_noise_ids(&config, text);
        let go = AtomicBool::new(false);
        let a = whole.run(&ids, scales, 0, &go).unwrap();
        let rms = (a.iter().map(|x| x * x).sum::<f32>() / a.len() as f32).sqrt();
        assert!(rms > 0.01, "the whole voice is silent: rms {rms}");
        assert!(
            a.len() > 256 * 2 * 192,
            "the sentence must need several default windows"
        );
        for (name, b) in [
            ("default", split_default.run(&ids, scales, 0, &go).unwrap()),
            ("40-frame", split_small.run(&ids, scales, 0, &go).unwrap()),
        ] {
            assert_eq!(a.len(), b.len(), "{name} windows");
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "{name} windows differ by up to {worst}");
        }
        // An abandoned sentence stops before its next decoder window.
        let stop = AtomicBool::new(true);
        assert_eq!(
            split_small.run(&ids, scales, 0, &stop),
            Err("abandoned".to_string())
        );
    }

    /// Every convolution of the cut runs 2-D: the decoder's directly, the encoder's between
    /// an Unsqueeze and a Squeeze (109 of them in the joe voice: text encoder, duration
    /// predictor and flow). Its samples are checked against the whole voice above.
    #[test]
    fn every_convolution_of_the_cut_is_two_dimensional() {
        use onnx_protobuf::Message;
        let (model, _) = joe();
        let split = split_voice(model).ok().unwrap();
        for (half, bytes) in [("encoder", &split.encoder), ("decoder", &split.decoder)] {
            let graph = onnx_protobuf::ModelProto::parse_from_bytes(bytes)
                .unwrap()
                .graph
                .unwrap();
            let dims: HashMap<&str, usize> = graph
                .initializer
                .iter()
                .map(|t| (t.name.as_str(), t.dims.len()))
                .collect();
            let convs: Vec<usize> = graph
                .node
                .iter()
                .filter(|n| n.op_type.starts_with("Conv"))
                .map(|n| dims.get(n.input[1].as_str()).copied().unwrap_or(0))
                .collect();
            assert!(!convs.is_empty(), "{half} has convolutions");
            assert!(
                convs.iter().all(|d| *d == 4),
                "{half}: weight ranks {convs:?}"
            );
            if half == "encoder" {
                assert_eq!(convs.len(), 109);
            }
        }
    }

    /// The decoder kept in the blocked layout (see [`super::super::blocked`]) gives exactly
    /// the samples of ONNX Runtime's own optimized decoder, with far fewer layout changes:
    /// only around the input, the output and the three transposed convolutions (the plain
    /// graph has 34 for the joe voice).
    #[test]
    fn the_blocked_decoder_speaks_exactly_like_onnx_runtimes_own() {
        let (model, config) = joe();
        let prepacked = ort::session::builder::PrepackedWeights::new();
        let build =
            |g: Graph, o: Optimize| super::super::engine::build_session(g, 1, &prepacked, o);
        let prepared = PreparedVoice::new("joe", model.clone(), true, &build, None, 0).unwrap();
        let PreparedVoice::Split {
            encoder,
            decoder,
            decoder_blocked,
            planar,
            decoder_takes_speaker,
            hop,
            context,
            ..
        } = &prepared
        else {
            unreachable!()
        };
        assert!(*decoder_blocked, "the joe voice's decoder is rewritten");
        use onnx_protobuf::Message;
        let graph = onnx_protobuf::ModelProto::parse_from_bytes(decoder)
            .unwrap()
            .graph
            .unwrap();
        let reorders = graph
            .node
            .iter()
            .filter(|n| n.op_type.starts_with("Reorder"))
            .count();
        assert!(reorders <= 2 + 2 * 3, "{reorders} layout changes left");

        let plain = PreparedVoice::Split {
            encoder: Arc::clone(encoder),
            decoder: split_voice(model).ok().unwrap().decoder,
            decoder_blocked: false,
            planar: *planar,
            decoder_takes_speaker: *decoder_takes_speaker,
            hop: *hop,
            context: *context,
            built_decoders: Mutex::new(Vec::new()),
        };
        let text = "Officials said the bridge, closed since March, would reopen to traffic \
            on Friday after engineers finished the last inspections of its cables.";
        let (ids, scales) = silent_noise_ids(&config, text);
        let go = AtomicBool::new(false);
        let mut blocked = Runner::new(&prepared, false, &build).unwrap();
        let mut ours = Runner::new(&plain, false, &build).unwrap();
        let a = blocked.run(&ids, scales, 0, &go).unwrap();
        let b = ours.run(&ids, scales, 0, &go).unwrap();
        assert!(a.len() > 256 * 192, "several windows");
        assert!(a == b, "the blocked decoder's samples differ");
    }

    /// The session cache: a voice loaded from a saved cut (its encoder as ONNX Runtime
    /// optimized it, built with optimizations off) speaks exactly like one cut and optimized
    /// in the process, with the noise off; a damaged entry is refused with
    /// [`CACHED_ENCODER_FAILED`] and forgotten.
    #[test]
    fn a_voice_from_the_session_cache_speaks_exactly_like_a_fresh_cut() {
        let (model, config) = joe();
        let root = tempfile::tempdir().unwrap();
        let cache = SessionCache::new(root.path(), "joe-test");
        let prepacked = ort::session::builder::PrepackedWeights::new();
        let build =
            |g: Graph, o: Optimize| super::super::engine::build_session(g, 1, &prepacked, o);

        assert!(cache.load().is_none());
        let fresh =
            PreparedVoice::new("joe", model.clone(), true, &build, Some(&cache), 1).unwrap();
        let saved = cache.load().expect("the first load saves the cut");
        let warm = PreparedVoice::new("joe", Vec::new(), true, &build, Some(&cache), 1)
            .expect("a saved cut needs no model bytes");
        let PreparedVoice::Split {
            decoder,
            hop,
            context,
            ..
        } = &warm
        else {
            panic!("the cached voice is split")
        };
        assert_eq!(decoder, &saved.decoder);
        assert_eq!((*hop, *context), (saved.shape.hop, saved.shape.context));

        let text = "Officials said on Tuesday that the bridge would reopen in March.";
        let (ids, scales) = silent_noise_ids(&config, text);
        let go = AtomicBool::new(false);
        let a = Runner::new(&fresh, false, &build)
            .unwrap()
            .run(&ids, scales, 0, &go)
            .unwrap();
        let b = Runner::new(&warm, false, &build)
            .unwrap()
            .run(&ids, scales, 0, &go)
            .unwrap();
        assert!(
            a.len() > 22_050,
            "a sentence of speech, got {} samples",
            a.len()
        );
        assert_eq!(a, b, "the cached encoder must give the same samples");

        // A damaged entry: refused with the marker, and gone afterwards.
        std::fs::write(saved.encoder, b"not a graph").unwrap();
        let err = PreparedVoice::new("joe", Vec::new(), true, &build, Some(&cache), 1)
            .err()
            .expect("a damaged entry cannot load");
        assert!(err.starts_with(CACHED_ENCODER_FAILED), "{err}");
        assert!(cache.load().is_none(), "the damaged entry is forgotten");
        let again = PreparedVoice::new("joe", model, true, &build, Some(&cache), 0).unwrap();
        assert!(
            again.is_split() && cache.load().is_some(),
            "rebuilt and saved again"
        );
    }

    #[test]
    fn phoneme_ids_intersperse_padding_like_piper() {
        let map: HashMap<char, Vec<i64>> = [
            ('^', vec![1]),
            ('$', vec![2]),
            ('_', vec![0]),
            ('a', vec![5]),
        ]
        .into_iter()
        .collect();
        assert_eq!(phoneme_ids(&map, "a?a"), vec![1, 0, 5, 0, 5, 0, 2]);
    }
}
