//! `GET /openapi.json`: the API description, generated from the handlers' `#[utoipa::path]`
//! annotations and the request types' `ToSchema` derives. A route module adds its handlers
//! to `paths(...)` below and its body types to `components(schemas(...))`; the test in
//! `tests/http_openapi.rs` fails when a documented path is not live or a live route is
//! not documented.
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// Every error response: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unknown-voice`, `unauthorized`, `not-found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "audioby", description = "Self-hosted article audio: direct synthesis, OpenAI-compatible speech, cached audio files."),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::voices::list,
        super::synthesize::synthesize,
        super::openai::speech,
        super::openai::voices,
        super::audio_files::serve_file,
        super::metrics_route::metrics,
        super::articles::put_article,
        super::articles::get_article,
        super::articles::get_audio,
        super::articles::regenerate,
        super::articles::get_job,
        super::articles::cancel_job,
        super::player_routes::demo_page,
        super::player_routes::embed_page,
        super::player_routes::player_js,
        super::player_routes::versioned_player_js,
        super::player_routes::post_event,
        super::player_routes::article_stats,
        openapi_json,
    ),
    components(schemas(ErrorBody, ErrorDetail, super::synthesize::SynthesizeRequest, super::openai::SpeechRequest)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "This document (OpenAPI 3.1)")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
