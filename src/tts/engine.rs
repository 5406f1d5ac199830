//! The Piper engine. Each voice is loaded once per process into a small pool of ONNX Runtime
//! sessions, each owned by its own OS thread (inference is CPU-bound and must stay off the
//! async runtime). A synthesis call phonemizes sentence by sentence on the caller's thread and
//! keeps at most `sessions + 1` sentences in flight, so audio comes out in order, as soon as
//! each sentence is ready, and memory does not grow with the length of the text.
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use ort::session::Session;
use piper_rs::{ModelConfig, Piper};
use serde::Serialize;

use super::phonemize::phonemize;
use super::voices::{VoiceInfo, VoiceRegistry};
use super::TtsError;
use crate::text::Segment;

/// How many inference sessions each voice gets, and how many threads each uses.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    pub sessions_per_voice: usize,
    pub threads_per_session: usize,
    /// Phoneme characters allowed in flight at once across a voice's sessions. Inference
    /// memory grows with input length (a 250-character sentence needs ~300 MB of activations),
    /// so two long sentences never run together while short ones still do: peak memory is
    /// set by this budget, not by how long or how lucky the text is.
    pub inflight_phonemes: usize,
}

impl Default for EngineOptions {
    /// Measured on 2 cores (BUILD-FACTS.md): one single-threaded session per core beats one
    /// session with two intra-op threads by about 15%.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self { sessions_per_voice: cores.clamp(1, 8), threads_per_session: 1, inflight_phonemes: 800 }
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
        Self { speed: 1.0, speaker: None }
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

/// One synthesized segment, in order, with its place on the output timeline.
#[derive(Debug)]
pub struct SegmentAudio {
    pub index: usize,
    pub segment: Segment,
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

struct Job {
    phonemes: String,
    speaker_id: i64,
    length_scale: f32,
    reply: Sender<Result<(Vec<f32>, f64), TtsError>>,
    /// Released when inference ends, whatever the outcome.
    permit: Permit,
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
        Arc::new(Budget { capacity: capacity.max(1), ..Default::default() })
    }

    /// Take `weight` (capped at the capacity, so an oversized job runs alone).
    fn acquire(self: &Arc<Self>, weight: usize) -> Permit {
        let weight = weight.clamp(1, self.capacity);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used + weight > self.capacity {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += weight;
        Permit { budget: Arc::clone(self), weight }
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
    pub audio_ms: AtomicU64,
    pub inference_ms: AtomicU64,
}

/// A voice with its session pool. Cheap to share (`Arc`).
pub struct LoadedVoice {
    info: VoiceInfo,
    jobs: Sender<Job>,
    length_scale: f32,
    speaker_ids: HashMap<String, i64>,
    sessions: usize,
    budget: Arc<Budget>,
    /// sha256 of the model file: part of every segment cache key, so a changed voice file
    /// never serves stale audio.
    model_hash: String,
    pub stats: VoiceStats,
}

impl LoadedVoice {
    fn load(info: VoiceInfo, opts: &EngineOptions) -> Result<LoadedVoice, TtsError> {
        let fail = |reason: String| TtsError::VoiceLoad { voice: info.id.clone(), reason };
        let config_text = std::fs::read_to_string(&info.config_path).map_err(|e| fail(e.to_string()))?;
        let config: ModelConfig = serde_json::from_str(&config_text).map_err(|e| fail(e.to_string()))?;
        let length_scale = config.inference.length_scale;
        let speaker_ids = config.speaker_id_map.clone();
        let model = Arc::new(std::fs::read(&info.model_path).map_err(|e| fail(e.to_string()))?);
        let model_hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&model[..]))
        };
        let sessions = opts.sessions_per_voice.max(1);
        let (jobs_tx, jobs_rx) = bounded::<Job>(sessions * 2);
        let (ready_tx, ready_rx) = bounded::<Result<(), String>>(sessions);
        for n in 0..sessions {
            let model = Arc::clone(&model);
            let config: ModelConfig = serde_json::from_str(&config_text).map_err(|e| fail(e.to_string()))?;
            let jobs_rx = jobs_rx.clone();
            let ready_tx = ready_tx.clone();
            let threads = opts.threads_per_session.max(1);
            std::thread::Builder::new()
                .name(format!("piper-{}-{n}", info.id))
                .spawn(move || match build_session(&model, threads) {
                    Ok(session) => {
                        drop(model);
                        let _ = ready_tx.send(Ok(()));
                        drop(ready_tx);
                        worker(Piper::from_session(session, config), jobs_rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                })
                .map_err(|e| fail(e.to_string()))?;
        }
        drop(ready_tx);
        for _ in 0..sessions {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(fail(e)),
                Err(_) => return Err(fail("session thread died while loading".into())),
            }
        }
        let budget = Budget::new(opts.inflight_phonemes);
        Ok(LoadedVoice { info, jobs: jobs_tx, length_scale, speaker_ids, sessions, budget, model_hash, stats: VoiceStats::default() })
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
                .or_else(|| name.parse::<i64>().ok().filter(|id| self.speaker_ids.values().any(|v| v == id)))
                .ok_or_else(|| TtsError::UnknownSpeaker {
                    voice: self.info.id.clone(),
                    speaker: name.chars().take(64).collect(),
                    available: self.info.speakers.clone(),
                }),
        }
    }

    /// Synthesize `segments` in order, calling `sink` with each one as soon as it is ready.
    /// Blocking: call it from a blocking thread. Stops at the first error, including one from
    /// `sink` (a client that went away).
    pub fn synthesize<I, F>(&self, segments: I, settings: &SynthSettings, mut sink: F) -> Result<SynthSummary, TtsError>
    where
        I: IntoIterator<Item = Segment>,
        F: FnMut(SegmentAudio) -> Result<(), TtsError>,
    {
        let speaker_id = self.speaker_id(settings.speaker.as_deref())?;
        let rate = self.info.sample_rate as f64;
        let window = self.sessions + 1;
        let mut in_flight: VecDeque<(Segment, Option<Receiver<Result<(Vec<f32>, f64), TtsError>>>)> = VecDeque::new();
        let mut summary = SynthSummary::default();
        let mut clock = 0.0f64;
        let mut emit = |seg: Segment,
                        rx: Option<Receiver<Result<(Vec<f32>, f64), TtsError>>>,
                        summary: &mut SynthSummary|
         -> Result<(), TtsError> {
            let (samples, secs) = match rx {
                Some(rx) => rx.recv().map_err(|_| TtsError::ShuttingDown)??,
                None => (Vec::new(), 0.0),
            };
            let duration = samples.len() as f64 / rate;
            let pause_samples = (seg.pause_after_ms as f64 * rate / 1000.0).round() as usize;
            let audio = SegmentAudio { index: summary.segments, segment: seg, samples, pause_samples, start: clock, duration, };
            clock += duration + pause_samples as f64 / rate;
            summary.segments += 1;
            summary.inference_seconds += secs;
            summary.audio_seconds = clock;
            sink(audio)
        };
        for seg in segments {
            let phonemes = phonemize(&seg.spoken, &self.info.espeak_voice)?;
            let rx = if phonemes.is_empty() {
                None
            } else {
                let rate_mul = if seg.rate.is_finite() && seg.rate > 0.0 { seg.rate } else { 1.0 };
                let length_scale = self.length_scale / (settings.speed * rate_mul).clamp(0.1, 10.0);
                let (tx, rx) = bounded(1);
                self.stats.segments.fetch_add(1, Ordering::Relaxed);
                let permit = self.budget.acquire(phonemes.chars().count());
                self.jobs
                    .send(Job { phonemes, speaker_id, length_scale, reply: tx, permit })
                    .map_err(|_| TtsError::ShuttingDown)?;
                Some(rx)
            };
            in_flight.push_back((seg, rx));
            if in_flight.len() >= window {
                if let Some((seg, rx)) = in_flight.pop_front() {
                    emit(seg, rx, &mut summary)?;
                }
            }
        }
        while let Some((seg, rx)) = in_flight.pop_front() {
            emit(seg, rx, &mut summary)?;
        }
        self.stats.audio_ms.fetch_add((summary.audio_seconds * 1000.0) as u64, Ordering::Relaxed);
        self.stats.inference_ms.fetch_add((summary.inference_seconds * 1000.0) as u64, Ordering::Relaxed);
        Ok(summary)
    }
}

fn build_session(model: &[u8], threads: usize) -> Result<Session, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let builder = Session::builder()
        .map_err(|x| e(&x))?
        .with_intra_threads(threads)
        .map_err(|x| e(&x))?
        .with_inter_threads(1)
        .map_err(|x| e(&x))?
        .with_config_entry("session.intra_op.allow_spinning", "0")
        .map_err(|x| e(&x))?
        .with_memory_pattern(false)
        .map_err(|x| e(&x))?;
    disable_cpu_arena(&builder);
    let mut builder = builder;
    builder.commit_from_memory(model).map_err(|x| e(&x))
}

/// ONNX Runtime's CPU arena keeps the largest buffers it ever allocated, so peak memory would
/// follow the longest sentence seen and never shrink. Speech inputs vary in length; the plain
/// allocator keeps RSS flat (see the memory test in tests/synth.rs). ort has no safe wrapper
/// for this option, so it is set through the C API on the builder's own options pointer.
fn disable_cpu_arena(builder: &ort::session::builder::SessionBuilder) {
    use ort::AsPointer;
    if std::env::var_os("AUDIOBY_ORT_ARENA").is_some() {
        return;
    }
    // SAFETY: the pointer is the builder's live OrtSessionOptions; DisableCpuMemArena only
    // flips a flag on it, and the returned status (null on success) is released.
    unsafe {
        let api = ort::api();
        let status = (api.DisableCpuMemArena)(builder.ptr() as *mut ort::sys::OrtSessionOptions);
        if !status.0.is_null() {
            (api.ReleaseStatus)(status.0);
        }
    }
}

fn worker(mut piper: Piper, jobs: Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let started = Instant::now();
        let result = piper
            .create(&job.phonemes, true, Some(job.speaker_id), Some(job.length_scale), None, None)
            .map(|(samples, _)| (samples, started.elapsed().as_secs_f64()))
            .map_err(|e| TtsError::Inference(e.to_string()));
        drop(job.permit);
        let _ = job.reply.send(result);
    }
}

/// All loaded voices. Built once at startup.
pub struct Engine {
    voices: Vec<Arc<LoadedVoice>>,
    default_voice: usize,
}

/// Large inference buffers (megabytes per sentence) freed back to glibc's heap fragment it,
/// and glibc's adaptive mmap threshold then keeps them there: peak RSS creeps up with the
/// number of sentences. A fixed 4 MiB threshold sends the big tensors to mmap, returned on
/// free, so RSS stays flat however long the input (tests/synth.rs checks 1× vs 4×). A user's
/// own `MALLOC_MMAP_THRESHOLD_` wins.
fn pin_malloc_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only adjusts allocator parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        }
    }
}

impl Engine {
    /// Load every voice in `registry`. Voices that fail are returned as problems and skipped;
    /// if none loads, this fails and says why.
    pub fn load(registry: &VoiceRegistry, opts: &EngineOptions, default_voice: Option<&str>) -> Result<(Engine, Vec<TtsError>), TtsError> {
        pin_malloc_mmap_threshold();
        let mut voices = Vec::new();
        let mut problems = Vec::new();
        for info in &registry.voices {
            let started = Instant::now();
            match LoadedVoice::load(info.clone(), opts) {
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
            let mut reasons: Vec<String> = registry.problems.iter().map(|p| format!("{}: {}", p.path.display(), p.reason)).collect();
            reasons.extend(problems.iter().map(|e| e.to_string()));
            if reasons.is_empty() {
                reasons.push("no *.onnx + *.onnx.json voice pairs found (run `make setup` to fetch the default voice)".into());
            }
            return Err(TtsError::NoVoices { dir: registry.dir.display().to_string(), reason: reasons.join("; ") });
        }
        let mut engine = Engine { voices, default_voice: 0 };
        if let Some(name) = default_voice {
            let v = engine.voice(Some(name))?;
            engine.default_voice = engine.voices.iter().position(|x| Arc::ptr_eq(x, &v)).unwrap_or(0);
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
            .or_else(|| self.voices.iter().find(|v| v.info.alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(name))))
            .cloned()
            .ok_or_else(|| TtsError::UnknownVoice { requested: name.chars().take(64).collect(), available: self.voice_names() })
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
