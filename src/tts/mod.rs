//! Voices and the Piper engine: which voices exist (`voices`), how text becomes phonemes
//! (`phonemize`, espeak-ng under one global lock) and how phonemes become PCM (`engine`, a
//! bounded pool of ONNX Runtime sessions per voice running on their own threads).
pub mod blocked;
pub mod engine;
pub mod graph;
pub mod lexicon_check;
pub mod model;
pub mod phonemize;
pub mod session_cache;
pub mod voices;

pub use engine::{
    Engine, EngineOptions, LoadedVoice, SegmentAudio, SynthSettings, SynthSummary, Utterance,
};
pub use voices::{VoiceInfo, VoiceRegistry};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TtsError {
    #[error("unknown voice `{requested}`; available voices: {}", available.join(", "))]
    UnknownVoice {
        requested: String,
        available: Vec<String>,
    },
    #[error("no voice could be loaded from {dir}: {reason}")]
    NoVoices { dir: String, reason: String },
    #[error("voice `{voice}` could not be loaded: {reason}")]
    VoiceLoad { voice: String, reason: String },
    #[error("speed {0} is out of range (0.25 to 4.0)")]
    BadSpeed(f32),
    #[error("unknown speaker `{speaker}` for voice `{voice}`; available: {}", available.join(", "))]
    UnknownSpeaker {
        voice: String,
        speaker: String,
        available: Vec<String>,
    },
    #[error("phonemization failed: {0}")]
    Phonemize(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the synthesis engine is shutting down")]
    ShuttingDown,
    #[error("audio output failed: {0}")]
    Sink(String),
}

impl TtsError {
    pub fn code(&self) -> &'static str {
        match self {
            TtsError::UnknownVoice { .. } => "unknown-voice",
            TtsError::NoVoices { .. } => "no-voices",
            TtsError::VoiceLoad { .. } => "voice-load-failed",
            TtsError::BadSpeed(_) => "bad-speed",
            TtsError::UnknownSpeaker { .. } => "unknown-speaker",
            TtsError::Phonemize(_) => "phonemize-failed",
            TtsError::Inference(_) => "inference-failed",
            TtsError::ShuttingDown => "shutting-down",
            TtsError::Sink(_) => "output-failed",
        }
    }
}
