//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: voices loaded and
//! the database answering a query). Load balancers route on readiness.
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`{status: \"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// A readiness probe must answer quickly: a database that is locked for longer than this
/// (the pool would wait out SQLite's 10 s busy timeout) counts as down.
const DATABASE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// "ok", or a short reason. The public answer carries only the error code; the cause is logged.
async fn database_check(state: &AppState) -> String {
    match tokio::time::timeout(DATABASE_PING_TIMEOUT, state.pipeline.ping()).await {
        Ok(Ok(())) => "ok".into(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database ping failed");
            e.code().into()
        }
        Err(_) => {
            tracing::warn!(timeout = ?DATABASE_PING_TIMEOUT, "readiness: database ping timed out");
            "timeout".into()
        }
    }
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{status: \"ready\", voices, checks}`"),
        (status = 503, description = "A dependency is down; `checks` says which", body = super::openapi::ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let voices: Vec<&str> = state.engine.voices().map(|v| v.id.as_str()).collect();
    let mut checks = serde_json::Map::new();
    checks.insert(
        "voices".into(),
        json!(if voices.is_empty() {
            "none loaded"
        } else {
            "ok"
        }),
    );
    checks.insert("database".into(), json!(database_check(&state).await));
    let failed: Vec<String> = checks
        .iter()
        .filter(|(_, v)| v.as_str() != Some("ok"))
        .map(|(k, _)| k.clone())
        .collect();
    if failed.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "voices": voices, "checks": checks})),
        )
    } else {
        let message = format!("not ready: {}", failed.join(", "));
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "not-ready", "message": message}, "checks": checks})),
        )
    }
}
