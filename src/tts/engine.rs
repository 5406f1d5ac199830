//! The Piper engine. Each voice is loaded once per process into a small pool of workers, each
//! an OS thread with its own inference state (inference is CPU-bound and must stay off the
//! async runtime): the voice is cut into encoder and decoder (`tts::graph`), the workers share
//! one encoder session and each has its own decoder session (`tts::model`). A synthesis call
//! phonemizes sentence by sentence on the caller's thread and keeps at most `sessions + 1`
//! sentences in flight, so audio comes out in order, as soon as each sentence is ready, and
//! memory does not grow with the length of the text.
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use ort::session::builder::PrepackedWeights;
use ort::session::Session;
use piper_rs::ModelConfig;
use serde::{Deserialize, Serialize};

use super::model::{
    phoneme_ids, Graph, Optimize, PreparedVoice, Runner, Scales, CACHED_ENCODER_FAILED,
};
use super::phonemize::phonemize;
use super::session_cache::SessionCache;
use super::voices::{VoiceInfo, VoiceRegistry};
use super::TtsError;

/// How many inference sessions each voice gets, and how many threads each uses. Also the
/// `[engine]` config section, deserialized directly; the engine applies the floors (at least
/// one session, one thread, one phoneme in flight).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineOptions {
    /// Inference sessions per voice; 0 = one per CPU core (see [`EngineOptions::sessions`]).
    #[serde(rename = "sessions")]
    pub sessions_per_voice: usize,
    /// ONNX Runtime intra-op threads per session.
    pub threads_per_session: usize,
    /// Phoneme characters allowed in flight at once across a voice's workers. The decoder
    /// runs in fixed windows, so this bounds the encoder's memory (which grows with the
    /// sentence) and, for a voice run whole, all of inference memory.
    pub inflight_phonemes: usize,
    /// Start a voice's sessions on its first synthesis instead of at load. The CLI's
    /// `prefetch` and `status` use this: a run whose segments are all cached never pays for
    /// ONNX Runtime sessions. The server loads eagerly, so `/readyz` means ready to speak.
    /// Not a config key.
    #[serde(skip)]
    pub lazy_sessions: bool,
    /// Cut each voice into encoder and decoder at load (see `tts::graph`); `false` runs the
    /// graph whole, one full session per worker.
    pub split_voice: bool,
    /// Keep each voice's cut, with its encoder as ONNX Runtime optimized it, in
    /// [`EngineOptions::session_cache_dir`], so later loads skip the optimization (about
    /// 0.3 s of the 0.4-0.5 s it takes to build the encoder session; see
    /// `tts::session_cache`).
    pub session_cache: bool,
    /// Where the session cache lives (`sessions/` in the data folder, set at startup);
    /// `None` turns it off. Not a config key.
    #[serde(skip)]
    pub session_cache_dir: Option<std::path::PathBuf>,
    /// Speak a test sentence when a voice loads, and refuse the voice if it comes out
    /// silent or not finite. The CLI's `synth` turns it off and checks its own sentences
    /// instead. Not a config key.
    #[serde(skip)]
    pub probe: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            sessions_per_voice: 0,
            threads_per_session: 1,
            inflight_phonemes: 800,
            lazy_sessions: false,
            split_voice: true,
            session_cache: true,
            session_cache_dir: None,
            probe: true,
        }
    }
}

impl EngineOptions {
    /// Sessions per voice: as configured, or for 0 one per CPU core (at most 8). Measured on
    /// 2 cores (BUILD-FACTS.md): one single-threaded session per core beats one session with
    /// two intra-op threads by about 15%.
    pub fn sessions(&self) -> usize {
        match self.sessions_per_voice {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 8),
            n => n,
        }
    }
}

/// Per-request synthesis settings, validated by [`SynthSettings::new`].
#[derive(Debug, Clone)]
pub struct SynthSettings {
    /// 1.0 is the voice's natural pace; 2.0 is twice as fast.
    pub speed: f32,
    pub speaker: Option<String>,
}

impl Default for SynthSettings {
    fn default() -> Self {
        Self {
            speed: 1.0,
            speaker: None,
        }
    }
}

impl SynthSettings {
    pub const MIN_SPEED: f32 = 0.25;
    pub const MAX_SPEED: f32 = 4.0;

    pub fn new(speed: f32, speaker: Option<String>) -> Result<Self, TtsError> {
        if !speed.is_finite() || !(Self::MIN_SPEED..=Self::MAX_SPEED).contains(&speed) {
            return Err(TtsError::BadSpeed(speed));
        }
        Ok(Self { speed, speaker })
    }
}

/// What the engine needs to speak one segment: the text to phonemize and how to pace it.
/// Callers convert their own units into it (`synth` converts each `text::Segment`), so the
/// engine knows nothing of blocks, sources or highlighting.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Normalized, speakable text (may contain `[[ phonemes ]]` spans).
    pub text: String,
    /// Speaking-rate multiplier on top of the request's speed (SSML `prosody rate`; 1.0 =
    /// normal). Not finite or not positive counts as 1.0.
    pub rate: f32,
    /// Silence after the speech, in milliseconds.
    pub pause_after_ms: u32,
}

/// One synthesized utterance, in order, with its place on the output timeline.
#[derive(Debug)]
pub struct SegmentAudio {
    /// Position in the synthesized sequence, from 0.
    pub index: usize,
    /// Speech samples (mono f32) at the voice's sample rate; silence is not included.
    pub samples: Vec<f32>,
    /// Silence to append after the speech, in samples.
    pub pause_samples: usize,
    /// Start of the speech on the output timeline, in seconds.
    pub start: f64,
    /// Length of the speech, in seconds (the pause is not included).
    pub duration: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SynthSummary {
    pub segments: usize,
    /// Total output length including pauses, in seconds.
    pub audio_seconds: f64,
    pub inference_seconds: f64,
}

/// One inference's samples and its seconds of compute.
type InferenceResult = Result<(Vec<f32>, f64), TtsError>;

struct Job {
    ids: Vec<i64>,
    speaker_id: i64,
    scales: Scales,
    reply: Sender<InferenceResult>,
    /// Released when inference ends, whatever the outcome.
    permit: Permit,
    /// Set when the `synthesize` call that sent this job has returned: nobody waits for the
    /// result, so the session skips it, or stops between decoder windows.
    abandoned: Arc<AtomicBool>,
    /// [`VoiceStats::abandoned`].
    abandoned_count: Arc<AtomicU64>,
}

/// Marks a `synthesize` call's jobs abandoned when the call returns, however it returns.
/// A sink that stops early (a prefetch job yielding to a listener, a cancelled job, a client
/// gone) would otherwise leave up to `sessions` inferences running for nobody, and a
/// listener's first segment would queue behind them.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A counting budget (phoneme characters in flight), blocking until enough is free.
#[derive(Default)]
struct Budget {
    used: Mutex<usize>,
    freed: Condvar,
    capacity: usize,
}

struct Permit {
    budget: Arc<Budget>,
    weight: usize,
}

impl Budget {
    fn new(capacity: usize) -> Arc<Budget> {
        Arc::new(Budget {
            capacity: capacity.max(1),
            ..Default::default()
        })
    }

    /// Take `weight` (capped at the capacity, so an oversized job runs alone).
    fn acquire(self: &Arc<Self>, weight: usize) -> Permit {
        let weight = weight.clamp(1, self.capacity);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used + weight > self.capacity {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += weight;
        Permit {
            budget: Arc::clone(self),
            weight,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        *used -= self.weight;
        self.budget.freed.notify_all();
    }
}

/// Counters for metrics and tests (segments really synthesized, audio produced).
#[derive(Debug, Default)]
pub struct VoiceStats {
    pub segments: AtomicU64,
    /// Inferences skipped, or stopped between decoder windows, because the `synthesize` call
    /// that asked for them had already returned (its sink stopped early). Shared with the
    /// session threads.
    pub abandoned: Arc<AtomicU64>,
    pub audio_ms: AtomicU64,
    pub inference_ms: AtomicU64,
}

/// A voice with its session pool. Cheap to share (`Arc`).
pub struct LoadedVoice {
    info: VoiceInfo,
    /// The session pool's queue, started at load or, with `lazy_sessions`, on first use.
    /// A failed start is kept, so every later call reports the same reason.
    pool: std::sync::OnceLock<Result<Sender<Job>, TtsError>>,
    threads_per_session: usize,
    split_voice: bool,
    /// This voice's entry in the session cache, if it is on.
    session_cache: Option<SessionCache>,
    length_scale: f32,
    noise_scale: f32,
    noise_w: f32,
    multi_speaker: bool,
    phoneme_ids: HashMap<char, Vec<i64>>,
    speaker_ids: HashMap<String, i64>,
    sessions: usize,
    budget: Arc<Budget>,
    /// sha256 of the model file: part of every segment cache key, so a changed voice file
    /// never serves stale audio.
    model_hash: String,
    pub stats: VoiceStats,
}

/// The sentence every voice speaks once at startup.
const PROBE_TEXT: &str = "Hello, this is a test.";

/// Why probe audio is unusable, if it is: any non-finite sample (NaN or infinite weights), or
/// no sample louder than -60 dBFS (a voice that speaks silence would be published as ready).
pub fn probe_problem(samples: &[f32]) -> Option<String> {
    if let Some(bad) = samples.iter().find(|s| !s.is_finite()) {
        return Some(format!(
            "the probe sentence synthesized to non-finite samples ({bad}): broken model weights?"
        ));
    }
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    // -60 dBFS: far below speech (joe's probe peaks near 0.5), far above rounding noise.
    if samples.is_empty() || peak < 0.001 {
        return Some(format!(
            "the probe sentence synthesized to silence ({} samples, peak {peak:.1e}): broken model weights?",
            samples.len()
        ));
    }
    None
}

impl LoadedVoice {
    /// Speak [`PROBE_TEXT`] and check the audio, so a voice that loads but cannot speak is
    /// skipped at startup with the reason, instead of publishing silence as ready audio.
    fn probe(&self) -> Result<(), TtsError> {
        let mut samples = Vec::new();
        let utterance = Utterance {
            text: PROBE_TEXT.into(),
            rate: 1.0,
            pause_after_ms: 0,
        };
        self.synthesize([utterance], &SynthSettings::default(), |a| {
            samples.extend_from_slice(&a.samples);
            Ok(())
        })
        .map_err(|e| TtsError::VoiceLoad {
            voice: self.info.id.clone(),
            reason: format!("the probe sentence failed: {e}"),
        })?;
        match probe_problem(&samples) {
            None => Ok(()),
            Some(reason) => Err(TtsError::VoiceLoad {
                voice: self.info.id.clone(),
                reason,
            }),
        }
    }

    fn load(info: VoiceInfo, opts: &EngineOptions) -> Result<LoadedVoice, TtsError> {
        let id = info.id.clone();
        let fail = |reason: String| TtsError::VoiceLoad {
            voice: id.clone(),
            reason,
        };
        let config_text =
            std::fs::read_to_string(&info.config_path).map_err(|e| fail(e.to_string()))?;
        let config: ModelConfig =
            serde_json::from_str(&config_text).map_err(|e| fail(e.to_string()))?;
        let read = Instant::now();
        let cache_root = opts
            .session_cache_dir
            .as_deref()
            .filter(|_| opts.session_cache && opts.split_voice);
        let hint = cache_root
            .filter(|_| !opts.lazy_sessions)
            .and_then(|root| SessionCache::hint(root, &info.model_path));
        let sessions = opts.sessions();
        let mut voice = LoadedVoice {
            length_scale: config.inference.length_scale,
            noise_scale: config.inference.noise_scale,
            noise_w: config.inference.noise_w,
            multi_speaker: config.num_speakers > 1,
            phoneme_ids: config.phoneme_id_map,
            speaker_ids: config.speaker_id_map,
            info,
            pool: std::sync::OnceLock::new(),
            threads_per_session: opts.threads_per_session.max(1),
            split_voice: opts.split_voice,
            session_cache: None,
            sessions,
            budget: Budget::new(opts.inflight_phonemes),
            model_hash: String::new(),
            stats: VoiceStats::default(),
        };
        let mut model = None;
        match hint {
            // With a hint from an earlier load, the voice file is hashed on another thread (in
            // chunks: the bytes are not needed) while the sessions start from the cache.
            Some((entry, hinted)) => {
                let path = voice.info.model_path.clone();
                let hasher = std::thread::spawn(move || sha256_file(&path));
                voice.session_cache = Some(entry);
                // No model bytes: a usable entry needs none, and any failure falls back below.
                let jobs = voice.start_sessions(Vec::new()).and_then(|wait| wait());
                voice.model_hash = hasher
                    .join()
                    .map_err(|_| fail("the thread hashing the voice file panicked".into()))?
                    .map_err(|e| fail(e.to_string()))?;
                match jobs {
                    Ok(jobs) if hinted == voice.model_hash => {
                        let _ = voice.pool.set(Ok(jobs));
                    }
                    // Sessions started from a hint that turned out wrong (the file changed in
                    // place) are dropped with their queue; start again from the file.
                    _ => {
                        model = Some(
                            std::fs::read(&voice.info.model_path)
                                .map_err(|e| fail(e.to_string()))?,
                        )
                    }
                }
            }
            None => {
                let bytes =
                    std::fs::read(&voice.info.model_path).map_err(|e| fail(e.to_string()))?;
                voice.model_hash = sha256_hex(&bytes);
                model = Some(bytes);
            }
        }
        tracing::debug!(voice = %voice.info.id, ms = read.elapsed().as_millis() as u64, "voice hashed");
        voice.session_cache = cache_root.map(|root| SessionCache::new(root, &voice.model_hash));
        if let Some(root) = cache_root {
            if let Err(e) = SessionCache::remember(root, &voice.info.model_path, &voice.model_hash)
            {
                tracing::warn!(dir = %root.display(), error = %e, "session cache not writable");
            }
        }
        if let (Some(model), false) = (model, opts.lazy_sessions) {
            let jobs = voice.start_sessions(model).and_then(|wait| wait())?;
            let _ = voice.pool.set(Ok(jobs));
        }
        Ok(voice)
    }

    /// Spawn the session threads; the returned closure waits until every session is built.
    fn start_sessions(
        &self,
        model: Vec<u8>,
    ) -> Result<impl FnOnce() -> Result<Sender<Job>, TtsError>, TtsError> {
        let id = self.info.id.clone();
        let fail = move |reason: String| TtsError::VoiceLoad {
            voice: id.clone(),
            reason,
        };
        let (jobs_tx, jobs_rx) = bounded::<Job>(self.sessions * 2);
        // One session builder for the encoder here and each worker's sessions: all share
        // one pre-packed weights container.
        let threads = self.threads_per_session;
        let prepacked = PrepackedWeights::new();
        let build =
            move |graph: Graph, opt: Optimize| build_session(graph, threads, &prepacked, opt);
        let voice = self.info.id.as_str();
        let cache = self.session_cache.as_ref();
        let prepared = match PreparedVoice::new(
            voice,
            model,
            self.split_voice,
            &build,
            cache,
            self.sessions,
        ) {
            Err(reason) if reason.starts_with(CACHED_ENCODER_FAILED) => {
                tracing::warn!(voice, %reason, "rebuilding the voice's cut");
                let model =
                    std::fs::read(&self.info.model_path).map_err(|e| fail(e.to_string()))?;
                PreparedVoice::new(voice, model, self.split_voice, &build, cache, self.sessions)
            }
            other => other,
        };
        let prepared = Arc::new(prepared.map_err(&fail)?);
        let multi_speaker = self.multi_speaker;
        let (ready_tx, ready_rx) = bounded::<Result<(), String>>(self.sessions);
        for n in 0..self.sessions {
            let prepared = Arc::clone(&prepared);
            let jobs_rx = jobs_rx.clone();
            let ready_tx = ready_tx.clone();
            let build = build.clone();
            std::thread::Builder::new()
                .name(format!("piper-{}-{n}", self.info.id))
                .spawn(move || {
                    let built = Runner::new(&prepared, multi_speaker, &build);
                    // The last thread to finish building frees the prepared model bytes.
                    drop(prepared);
                    match built {
                        Ok(runner) => {
                            let _ = ready_tx.send(Ok(()));
                            drop(ready_tx);
                            worker(runner, jobs_rx);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                })
                .map_err(|e| fail(e.to_string()))?;
        }
        drop(prepared);
        drop(ready_tx);
        let sessions = self.sessions;
        Ok(move || {
            for _ in 0..sessions {
                match ready_rx.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(fail(e)),
                    Err(_) => return Err(fail("session thread died while loading".into())),
                }
            }
            Ok(jobs_tx)
        })
    }

    /// The session pool's queue, starting the sessions first if they were left for first use.
    fn jobs(&self) -> Result<&Sender<Job>, TtsError> {
        let started = self.pool.get_or_init(|| {
            let started = Instant::now();
            let fail = |reason: String| TtsError::VoiceLoad { voice: self.info.id.clone(), reason };
            let model = std::fs::read(&self.info.model_path).map_err(|e| fail(e.to_string()))?;
            if sha256_hex(&model) != self.model_hash {
                return Err(fail("the model file changed since startup; restart to use it".into()));
            }
            let jobs = self.start_sessions(model).and_then(|wait| wait())?;
            tracing::info!(voice = %self.info.id, sessions = self.sessions, ms = started.elapsed().as_millis() as u64, "voice sessions started on first use");
            Ok(jobs)
        });
        started.as_ref().map_err(Clone::clone)
    }

    pub fn info(&self) -> &VoiceInfo {
        &self.info
    }

    pub fn model_hash(&self) -> &str {
        &self.model_hash
    }

    pub fn sample_rate(&self) -> u32 {
        self.info.sample_rate
    }

    fn speaker_id(&self, speaker: Option<&str>) -> Result<i64, TtsError> {
        match speaker {
            None => Ok(0),
            Some(name) => self
                .speaker_ids
                .get(name)
                .copied()
                .or_else(|| {
                    name.parse::<i64>()
                        .ok()
                        .filter(|id| self.speaker_ids.values().any(|v| v == id))
                })
                .ok_or_else(|| TtsError::UnknownSpeaker {
                    voice: self.info.id.clone(),
                    speaker: name.chars().take(64).collect(),
                    available: self.info.speakers.clone(),
                }),
        }
    }

    /// Synthesize `utterances` in order, calling `sink` with each one as soon as it is ready.
    /// Blocking: call it from a blocking thread. Stops at the first error, including one from
    /// `sink` (a client that went away).
    pub fn synthesize<I, F>(
        &self,
        utterances: I,
        settings: &SynthSettings,
        sink: F,
    ) -> Result<SynthSummary, TtsError>
    where
        I: IntoIterator,
        I::Item: Into<Utterance>,
        F: FnMut(SegmentAudio) -> Result<(), TtsError>,
    {
        self.synthesize_until(utterances, settings, Arc::new(AtomicBool::new(false)), sink)
    }

    /// [`LoadedVoice::synthesize`], stopped from outside: once `stop` is set, sentences not
    /// started are skipped and the running ones stop at their next decoder window (about a
    /// fifth of a second of work), and the call returns an error. The flag is set when the
    /// call returns, whatever the outcome: one flag per call.
    pub fn synthesize_until<I, F>(
        &self,
        utterances: I,
        settings: &SynthSettings,
        stop: Arc<AtomicBool>,
        mut sink: F,
    ) -> Result<SynthSummary, TtsError>
    where
        I: IntoIterator,
        I::Item: Into<Utterance>,
        F: FnMut(SegmentAudio) -> Result<(), TtsError>,
    {
        let speaker_id = self.speaker_id(settings.speaker.as_deref())?;
        let rate = self.info.sample_rate as f64;
        let window = self.sessions + 1;
        let abandoned = AbandonOnDrop(stop);
        // Per utterance in flight: its pause after, and its inference (none if nothing to say).
        let mut in_flight: VecDeque<(u32, Option<Receiver<InferenceResult>>)> = VecDeque::new();
        let mut summary = SynthSummary::default();
        let mut clock = 0.0f64;
        let mut emit = |pause_after_ms: u32,
                        rx: Option<Receiver<InferenceResult>>,
                        summary: &mut SynthSummary|
         -> Result<(), TtsError> {
            let (samples, secs) = match rx {
                Some(rx) => rx.recv().map_err(|_| TtsError::ShuttingDown)??,
                None => (Vec::new(), 0.0),
            };
            let duration = samples.len() as f64 / rate;
            let pause_samples = (pause_after_ms as f64 * rate / 1000.0).round() as usize;
            let audio = SegmentAudio {
                index: summary.segments,
                samples,
                pause_samples,
                start: clock,
                duration,
            };
            clock += duration + pause_samples as f64 / rate;
            summary.segments += 1;
            summary.inference_seconds += secs;
            summary.audio_seconds = clock;
            sink(audio)
        };
        for utterance in utterances {
            if abandoned.0.load(Ordering::Relaxed) {
                return Err(TtsError::Sink("stopped".into()));
            }
            let u: Utterance = utterance.into();
            let phonemes = phonemize(&u.text, &self.info.espeak_voice)?;
            let rx = if phonemes.is_empty() {
                None
            } else {
                let rate_mul = if u.rate.is_finite() && u.rate > 0.0 {
                    u.rate
                } else {
                    1.0
                };
                let scales = Scales {
                    noise_scale: self.noise_scale,
                    length_scale: self.length_scale / (settings.speed * rate_mul).clamp(0.1, 10.0),
                    noise_w: self.noise_w,
                };
                let ids = phoneme_ids(&self.phoneme_ids, &phonemes);
                let (tx, rx) = bounded(1);
                self.stats.segments.fetch_add(1, Ordering::Relaxed);
                let jobs = self.jobs()?;
                let permit = self.budget.acquire(phonemes.chars().count());
                jobs.send(Job {
                    ids,
                    speaker_id,
                    scales,
                    reply: tx,
                    permit,
                    abandoned: abandoned.0.clone(),
                    abandoned_count: self.stats.abandoned.clone(),
                })
                .map_err(|_| TtsError::ShuttingDown)?;
                Some(rx)
            };
            in_flight.push_back((u.pause_after_ms, rx));
            if in_flight.len() >= window {
                if let Some((pause, rx)) = in_flight.pop_front() {
                    emit(pause, rx, &mut summary)?;
                }
            }
        }
        while let Some((pause, rx)) = in_flight.pop_front() {
            emit(pause, rx, &mut summary)?;
        }
        self.stats
            .audio_ms
            .fetch_add((summary.audio_seconds * 1000.0) as u64, Ordering::Relaxed);
        self.stats.inference_ms.fetch_add(
            (summary.inference_seconds * 1000.0) as u64,
            Ordering::Relaxed,
        );
        Ok(summary)
    }
}

/// sha256 of a file, read in chunks.
fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub(crate) fn build_session(
    model: Graph,
    threads: usize,
    prepacked: &PrepackedWeights,
    optimize: Optimize,
) -> Result<Session, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let shared_arena = shared_cpu_arena();
    let mut builder = Session::builder()
        .map_err(|x| e(&x))?
        .with_intra_threads(threads)
        .map_err(|x| e(&x))?
        .with_inter_threads(1)
        .map_err(|x| e(&x))?
        .with_config_entry("session.intra_op.allow_spinning", "0")
        .map_err(|x| e(&x))?
        .with_memory_pattern(false)
        .map_err(|x| e(&x))?
        .with_prepacked_weights(prepacked)
        .map_err(|x| e(&x))?;
    match optimize {
        Optimize::Here => {}
        Optimize::SaveTo(path) => {
            // ONNX Runtime warns that a saved NCHWc graph suits only this CPU: known, and
            // handled (the session cache's key holds the CPU features; the decoder's rewrite
            // is used in this process only or cached under that key).
            builder = builder
                .with_optimized_model_path(path)
                .map_err(|x| e(&x))?
                .with_log_level(ort::logging::LogLevel::Error)
                .map_err(|x| e(&x))?
        }
        Optimize::Already => {
            builder = builder
                .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Disable)
                .map_err(|x| e(&x))?
        }
    }
    if shared_arena {
        builder = builder
            .with_config_entry("session.use_env_allocators", "1")
            .map_err(|x| e(&x))?;
    }
    match model {
        Graph::Bytes(bytes) => builder.commit_from_memory(bytes),
        Graph::File(path) => builder.commit_from_file(path),
    }
    .map_err(|x| e(&x))
}

/// One CPU arena for every session in the process, registered on ONNX Runtime's environment.
/// Each session would otherwise keep its own arena at the size of the longest segment it ever
/// ran; sharing lets a session reuse what another has freed (about 160 MB less peak RSS with
/// two sessions on the seed article). Returns false if registration failed, in which case
/// each session keeps its own arena (slower to warm, same results).
fn shared_cpu_arena() -> bool {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| match register_cpu_arena() {
        Ok(()) => true,
        Err(reason) => {
            tracing::warn!(%reason, "shared ONNX Runtime arena unavailable; each session keeps its own");
            false
        }
    })
}

fn register_cpu_arena() -> Result<(), String> {
    use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
    use ort::AsPointer;
    let env = ort::environment::current().map_err(|e| e.to_string())?;
    // ort forwards ONNX Runtime's log to `tracing` and asks for everything, verbose included,
    // which `tracing` then drops. Ask only for warnings and errors (no measurable change in
    // session build time; it just stops producing lines nobody reads).
    env.set_log_level(ort::logging::LogLevel::Warning);
    let info = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )
    .map_err(|e| e.to_string())?;
    let api = ort::api();
    // "arena_extend_strategy" 0 is kNextPowerOfTwo, ONNX Runtime's default. kSameAsRequested
    // measured 40% higher peak RSS on the seed article (fragmentation between segment lengths).
    let keys = [c"arena_extend_strategy".as_ptr()];
    let values = [0usize];
    let mut cfg: *mut ort::sys::OrtArenaCfg = std::ptr::null_mut();
    let check = |status: ort::sys::OrtStatusPtr| -> Result<(), String> {
        if status.0.is_null() {
            return Ok(());
        }
        // SAFETY: a non-null status is a live OrtStatus; its message is a NUL-terminated
        // string owned by the status, copied before the status is released.
        let msg = unsafe {
            std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0))
                .to_string_lossy()
                .into_owned()
        };
        unsafe { (api.ReleaseStatus)(status.0) };
        Err(msg)
    };
    // SAFETY: keys and values are arrays of the given length that outlive the call; `cfg` is
    // an out-pointer. The environment and memory info pointers are live for the call, and
    // ONNX Runtime copies what it needs from the arena config, which is released after.
    unsafe {
        check((api.CreateArenaCfgV2)(
            keys.as_ptr(),
            values.as_ptr(),
            keys.len(),
            &mut cfg,
        ))?;
        let registered = check((api.CreateAndRegisterAllocator)(
            env.ptr() as *mut _,
            info.ptr(),
            cfg,
        ));
        (api.ReleaseArenaCfg)(cfg);
        registered
    }
}

fn worker(mut runner: Runner, jobs: Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        if job.abandoned.load(Ordering::Relaxed) {
            // Its caller has gone: the permit and the reply drop here.
            job.abandoned_count.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let started = Instant::now();
        let result = runner
            .run(&job.ids, job.scales, job.speaker_id, &job.abandoned)
            .map(|samples| (samples, started.elapsed().as_secs_f64()))
            .map_err(TtsError::Inference);
        if result.is_err() && job.abandoned.load(Ordering::Relaxed) {
            job.abandoned_count.fetch_add(1, Ordering::Relaxed);
        }
        drop(job.permit);
        let _ = job.reply.send(result);
    }
}

/// All loaded voices. Built once at startup.
pub struct Engine {
    voices: Vec<Arc<LoadedVoice>>,
    default_voice: usize,
}

/// ONNX Runtime's CPU arena (on: without it every tensor is a fresh allocation, and inference
/// ran 1.7× slower in `make bench`) takes its regions from malloc. glibc's adaptive mmap
/// threshold would move freed multi-megabyte regions into the heap, where they fragment and
/// RSS creeps up with the number of sentences. A fixed 128 KiB threshold keeps big blocks on
/// mmap, so peak RSS is set by the longest segment, not by the length of the text
/// (tests/synth.rs checks 1× vs 4×). A user's own `MALLOC_MMAP_THRESHOLD_` wins.
fn pin_malloc_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only adjusts allocator parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

impl Engine {
    /// Load every voice in `registry`. Voices that fail are returned as problems and skipped;
    /// if none loads, this fails and says why.
    pub fn load(
        registry: &VoiceRegistry,
        opts: &EngineOptions,
        default_voice: Option<&str>,
    ) -> Result<(Engine, Vec<TtsError>), TtsError> {
        pin_malloc_mmap_threshold();
        let mut voices = Vec::new();
        let mut problems = Vec::new();
        for info in &registry.voices {
            let started = Instant::now();
            // Lazy sessions (the CLI's prefetch, which may find everything cached) skip the
            // probe; the pipeline still refuses non-finite audio segment by segment.
            let loaded = LoadedVoice::load(info.clone(), opts).and_then(|v| {
                if opts.lazy_sessions || !opts.probe {
                    Ok(v)
                } else {
                    let probe = Instant::now();
                    v.probe()?;
                    tracing::debug!(voice = %info.id, ms = probe.elapsed().as_millis() as u64, "probe sentence spoken");
                    Ok(v)
                }
            });
            match loaded {
                Ok(v) => {
                    tracing::info!(voice = %info.id, sessions = v.sessions, ms = started.elapsed().as_millis() as u64, "voice loaded");
                    voices.push(Arc::new(v));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "voice skipped");
                    problems.push(e);
                }
            }
        }
        if voices.is_empty() {
            let mut reasons: Vec<String> = registry
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.path.display(), p.reason))
                .collect();
            reasons.extend(problems.iter().map(|e| e.to_string()));
            if reasons.is_empty() {
                reasons.push("no *.onnx + *.onnx.json voice pairs found (run `make setup` to fetch the default voice)".into());
            }
            return Err(TtsError::NoVoices {
                dir: registry.dir.display().to_string(),
                reason: reasons.join("; "),
            });
        }
        let mut engine = Engine {
            voices,
            default_voice: 0,
        };
        if let Some(name) = default_voice {
            let v = engine.voice(Some(name))?;
            engine.default_voice = engine
                .voices
                .iter()
                .position(|x| Arc::ptr_eq(x, &v))
                .unwrap_or(0);
        }
        Ok((engine, problems))
    }

    /// Resolve a voice by id or alias; `None` gives the default voice.
    pub fn voice(&self, name: Option<&str>) -> Result<Arc<LoadedVoice>, TtsError> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(Arc::clone(&self.voices[self.default_voice]));
        };
        self.voices
            .iter()
            .find(|v| v.info.id.eq_ignore_ascii_case(name))
            .or_else(|| {
                self.voices.iter().find(|v| {
                    v.info
                        .alias
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(name))
                })
            })
            .cloned()
            .ok_or_else(|| TtsError::UnknownVoice {
                requested: name.chars().take(64).collect(),
                available: self.voice_names(),
            })
    }

    pub fn voices(&self) -> impl Iterator<Item = &VoiceInfo> {
        self.voices.iter().map(|v| &v.info)
    }

    pub fn default_voice(&self) -> &VoiceInfo {
        &self.voices[self.default_voice].info
    }

    /// Ids and aliases, for error messages.
    pub fn voice_names(&self) -> Vec<String> {
        self.voices
            .iter()
            .map(|v| match &v.info.alias {
                Some(a) => format!("{} ({a})", v.info.id),
                None => v.info.id.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod probe_tests {
    use super::probe_problem;

    #[test]
    fn speech_passes_and_nan_or_silence_fail() {
        let speech: Vec<f32> = (0..22050).map(|i| (i as f32 * 0.05).sin() * 0.4).collect();
        assert_eq!(probe_problem(&speech), None);
        let mut nan = speech.clone();
        nan[100] = f32::NAN;
        assert!(probe_problem(&nan).unwrap().contains("non-finite"));
        let mut inf = speech.clone();
        inf[7] = f32::INFINITY;
        assert!(probe_problem(&inf).unwrap().contains("non-finite"));
        assert!(probe_problem(&vec![0.0; 22050])
            .unwrap()
            .contains("silence"));
        assert!(probe_problem(&vec![1e-5; 22050])
            .unwrap()
            .contains("silence"));
        assert!(probe_problem(&[]).unwrap().contains("silence"));
    }
}
