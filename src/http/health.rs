//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: voices loaded and
//! the database and the store accepting a write). Load balancers route on readiness.
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::AppState;

/// `/healthz`: the process answers.
#[derive(Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `ok`.
    pub status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers", body = HealthBody)))]
pub async fn healthz() -> Json<HealthBody> {
    Json(HealthBody { status: "ok" })
}

/// One entry per dependency: `ok`, or a short reason (an error code, `timeout`, `none loaded`).
#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    pub database: &'static str,
    /// The audio store (and with it the data folder of a local store) accepts a write.
    pub storage: &'static str,
    pub voices: &'static str,
}

impl ReadinessChecks {
    /// The names of the checks that are not `ok`.
    fn failed(&self) -> Vec<&'static str> {
        [
            ("database", self.database),
            ("storage", self.storage),
            ("voices", self.voices),
        ]
        .into_iter()
        .filter(|(_, outcome)| *outcome != "ok")
        .map(|(name, _)| name)
        .collect()
    }
}

/// `/readyz` when every dependency is up.
#[derive(Serialize, ToSchema)]
pub struct ReadyBody {
    /// Always `ready`.
    pub status: &'static str,
    /// The ids of the loaded voices.
    pub voices: Vec<String>,
    pub checks: ReadinessChecks,
}

/// `/readyz` when a dependency is down: the error body (`not-ready`), and which check failed.
#[derive(Serialize, ToSchema)]
pub struct NotReadyBody {
    #[serde(flatten)]
    pub error: ErrorBody,
    pub checks: ReadinessChecks,
}

/// A readiness probe must answer quickly: a database that is locked for longer than this
/// (the pool would wait out SQLite's 10 s busy timeout) counts as down.
const DATABASE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// "ok", or a short reason. The public answer carries only the error code; the cause is logged.
async fn database_check(state: &AppState) -> &'static str {
    match tokio::time::timeout(DATABASE_PING_TIMEOUT, state.pipeline.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database ping failed");
            e.code()
        }
        Err(_) => {
            tracing::warn!(timeout = ?DATABASE_PING_TIMEOUT, "readiness: database ping timed out");
            "timeout"
        }
    }
}

/// "ok", or the store's error code: one small overwrite, so a full disk or a read-only
/// folder takes the instance out of rotation before a job or an upload finds it.
async fn storage_check(state: &AppState) -> &'static str {
    match tokio::time::timeout(DATABASE_PING_TIMEOUT, state.store.probe_write()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: storage probe failed");
            e.code()
        }
        Err(_) => "timeout",
    }
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Voices loaded and the database answering", body = ReadyBody),
        (status = 503, description = "A dependency is down; `checks` says which", body = NotReadyBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let voices: Vec<String> = state.engine.voices().map(|v| v.id.clone()).collect();
    let checks = ReadinessChecks {
        database: database_check(&state).await,
        storage: storage_check(&state).await,
        voices: if voices.is_empty() {
            "none loaded"
        } else {
            "ok"
        },
    };
    let failed = checks.failed();
    if failed.is_empty() {
        Json(ReadyBody {
            status: "ready",
            voices,
            checks,
        })
        .into_response()
    } else {
        let message = format!("not ready: {}", failed.join(", "));
        let error = ErrorBody::new("not-ready", message);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(NotReadyBody { error, checks }),
        )
            .into_response()
    }
}
