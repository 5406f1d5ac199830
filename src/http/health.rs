//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: voices loaded and,
//! once the database exists, reachable). Load balancers route on readiness.
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`{status: \"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
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
    // HOOK(database): when AppState holds the database, ping it here, e.g.
    //   checks.insert("database".into(), json!(match db.ping().await { Ok(()) => "ok".into(), Err(e) => e.to_string() }));
    // Any check other than "ok" turns the answer into a 503.
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
