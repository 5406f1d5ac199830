//! `GET /v1/voices`: the loaded voices.
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

#[utoipa::path(get, path = "/v1/voices", tag = "voices", responses((status = 200, description = "`{default, voices: [{id, alias, language, sample_rate, quality, speakers}]}`")))]
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let default = state.engine.default_voice().id.clone();
    let voices: Vec<_> = state.engine.voices().collect();
    Json(json!({"default": default, "voices": voices}))
}
