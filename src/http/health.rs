//! Liveness and readiness.
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> Json<Value> {
    let voices: Vec<&str> = state.engine.voices().map(|v| v.id.as_str()).collect();
    Json(json!({"status": "ready", "voices": voices}))
}
