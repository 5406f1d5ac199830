//! The OpenAI-compatible speech API, so existing clients work by changing `base_url`:
//! `POST /v1/audio/speech` and `GET /v1/audio/voices`. OpenAI voice names map to configured
//! voices (`[openai] voices`), else to the default voice; audioby's own ids and aliases work too.
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::RequireApiKey;
use super::error::ErrorBody;
use super::synthesize::{check_text, respond, Speech, SpeechJob};
use super::voices::VoicesBody;
use super::{ApiError, ApiJson, AppState};
use crate::audio::{encoder, AudioFormat, PcmS16Encoder, StreamEncoder};
use crate::tts::{LoadedVoice, SynthSettings, TtsError};

/// The voice names OpenAI's API accepts.
pub const OPENAI_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
    "marin", "cedar",
];

/// OpenAI documents `pcm` as 24 kHz, 16-bit signed little-endian, mono.
const PCM_RATE: u32 = 24_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(speech))
        .routes(routes!(voices))
}

/// OpenAI's request body. Unknown fields are ignored, as clients send newer ones.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeechRequest {
    /// Accepted and ignored (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`, …): the voice decides.
    #[serde(default)]
    #[allow(dead_code)] // part of the wire format; read by no one
    pub model: Option<String>,
    /// Text to speak.
    pub input: String,
    /// An OpenAI voice name (mapped) or an audioby voice id or alias.
    pub voice: String,
    /// `mp3` (default), `opus`, `wav` or `pcm` (s16le, 24 kHz, mono). `aac` and `flac` are refused.
    #[serde(default)]
    pub response_format: Option<String>,
    /// 0.25 to 4.0.
    #[serde(default)]
    pub speed: Option<f32>,
    /// Accepted and ignored: Piper voices take no style prompt.
    #[serde(default)]
    #[allow(dead_code)] // part of the wire format; read by no one
    pub instructions: Option<String>,
    /// `audio` (default). `sse` is refused.
    #[serde(default)]
    pub stream_format: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum SpeechFormat {
    Audio(AudioFormat),
    Pcm,
}

impl SpeechFormat {
    fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("mp3") => Ok(SpeechFormat::Audio(AudioFormat::Mp3)),
            Some("opus") => Ok(SpeechFormat::Audio(AudioFormat::Opus)),
            Some("wav") => Ok(SpeechFormat::Audio(AudioFormat::Wav)),
            Some("pcm") => Ok(SpeechFormat::Pcm),
            Some(f @ ("aac" | "flac")) => Err(ApiError::bad_request(
                "unsupported-format",
                format!(
                    "response_format `{f}` is not supported by audioby; use mp3, opus, wav or pcm"
                ),
            )),
            Some(other) => Err(ApiError::bad_request(
                "unknown-format",
                format!(
                    "unknown response_format `{}`; use mp3, opus, wav or pcm",
                    other.chars().take(32).collect::<String>()
                ),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            SpeechFormat::Audio(f) => f.content_type(),
            SpeechFormat::Pcm => "audio/pcm",
        }
    }

    fn encoder(
        self,
        voice_rate: u32,
        state: &AppState,
    ) -> Result<Box<dyn StreamEncoder>, ApiError> {
        match self {
            SpeechFormat::Audio(f) => {
                encoder(f, voice_rate, &state.settings.audio).map_err(ApiError::internal)
            }
            SpeechFormat::Pcm => Ok(Box::new(
                PcmS16Encoder::new(voice_rate, PCM_RATE).map_err(ApiError::internal)?,
            )),
        }
    }

    /// WAV is sent whole so its header carries the real sizes (strict decoders want them);
    /// the others stream as OpenAI's endpoint does.
    fn streams(self) -> bool {
        !matches!(self, SpeechFormat::Audio(AudioFormat::Wav))
    }
}

/// Configured mapping first, then audioby's own voices, then any OpenAI name → the default.
fn resolve_voice(state: &AppState, name: &str) -> Result<Arc<LoadedVoice>, ApiError> {
    let lower = name.trim().to_ascii_lowercase();
    if let Some(mapped) = state.settings.openai.voices.get(&lower) {
        return Ok(state.engine.voice(Some(mapped))?);
    }
    match state.engine.voice(Some(name)) {
        Ok(v) => Ok(v),
        Err(TtsError::UnknownVoice { .. }) if OPENAI_VOICES.contains(&lower.as_str()) => {
            Ok(state.engine.voice(None)?)
        }
        Err(e) => Err(e.into()),
    }
}

fn validate(state: &AppState, req: SpeechRequest) -> Result<(SpeechJob, bool), ApiError> {
    let format = SpeechFormat::parse(req.response_format.as_deref())?;
    if req
        .stream_format
        .as_deref()
        .is_some_and(|f| !f.eq_ignore_ascii_case("audio"))
    {
        return Err(ApiError::bad_request(
            "unsupported-stream-format",
            "only stream_format `audio` is supported",
        ));
    }
    check_text(&req.input, state.settings.http.max_text_chars)?;
    let settings = SynthSettings::new(req.speed.unwrap_or(1.0), None)?;
    let voice = resolve_voice(state, &req.voice)?;
    let encoder = format.encoder(voice.sample_rate(), state)?;
    let job = SpeechJob {
        voice,
        speech: Speech::Text(req.input),
        settings,
        encoder,
        content_type: format.content_type(),
        source: "openai",
    };
    Ok((job, format.streams()))
}

#[utoipa::path(
    post,
    path = "/v1/audio/speech",
    tag = "openai",
    request_body = SpeechRequest,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Audio in the requested format (streamed except wav)", content(("audio/mpeg"), ("audio/ogg; codecs=opus"), ("audio/wav"), ("audio/pcm"))),
        (status = 400, description = "Unknown or unsupported format (aac, flac), bad speed, unknown voice", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Input over the configured limit", body = ErrorBody),
        (status = 503, description = "`no-synthesis-here`: this process runs with --role api", body = ErrorBody),
    )
)]
pub async fn speech(
    _key: RequireApiKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SpeechRequest>,
) -> Result<Response, ApiError> {
    let (job, stream) = validate(&state, req)?;
    respond(state, job, stream).await
}

/// audioby's voices, and the voice each OpenAI name plays.
#[derive(Serialize, ToSchema)]
pub struct OpenAiVoicesBody {
    #[serde(flatten)]
    pub voices: VoicesBody,
    /// OpenAI voice name (`alloy`, …) → the id of the voice it plays.
    pub openai: BTreeMap<&'static str, String>,
}

#[utoipa::path(
    get,
    path = "/v1/audio/voices",
    tag = "openai",
    responses((status = 200, description = "The voices and the OpenAI names' mapping", body = OpenAiVoicesBody))
)]
pub async fn voices(State(state): State<AppState>) -> Json<OpenAiVoicesBody> {
    let voices = VoicesBody::of(&state.engine);
    let openai = OPENAI_VOICES
        .iter()
        .map(|&name| {
            let id = resolve_voice(&state, name)
                .map(|v| v.info().id.clone())
                .unwrap_or_else(|_| voices.default.clone());
            (name, id)
        })
        .collect();
    Json(OpenAiVoicesBody { voices, openai })
}
