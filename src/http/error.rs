//! The one error type of the HTTP layer: every failure leaves as
//! `{"error": {"code", "message"}}` with the right status. 5xx messages are opaque; the
//! cause is logged.
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::synth::SynthError;
use crate::tts::TtsError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        (self.status, body).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            _ => "malformed-json",
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<TtsError> for ApiError {
    fn from(e: TtsError) -> Self {
        match e {
            TtsError::UnknownVoice { .. } | TtsError::BadSpeed(_) | TtsError::UnknownSpeaker { .. } => {
                ApiError::bad_request(e.code(), e.to_string())
            }
            TtsError::ShuttingDown => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<SynthError> for ApiError {
    fn from(e: SynthError) -> Self {
        match e {
            SynthError::EmptyText => ApiError::bad_request(e.code(), e.to_string()),
            SynthError::Input(_) => ApiError::bad_request(e.code(), e.to_string()),
            SynthError::Tts(t) => t.into(),
            SynthError::Audio(a) => ApiError::internal(a),
        }
    }
}

/// `Json<T>` whose rejections use the API error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
