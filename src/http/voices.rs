//! `GET /v1/voices`: the loaded voices.
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::tts::{Engine, VoiceInfo};

/// The loaded voices and which one a request without `voice` gets.
#[derive(Serialize, ToSchema)]
pub struct VoicesBody {
    /// The id of the default voice.
    pub default: String,
    pub voices: Vec<VoiceInfo>,
}

impl VoicesBody {
    pub fn of(engine: &Engine) -> Self {
        Self {
            default: engine.default_voice().id.clone(),
            voices: engine.voices().cloned().collect(),
        }
    }
}

#[utoipa::path(get, path = "/v1/voices", tag = "voices", responses((status = 200, description = "The loaded voices", body = VoicesBody)))]
pub async fn list(State(state): State<AppState>) -> Json<VoicesBody> {
    Json(VoicesBody::of(&state.engine))
}
