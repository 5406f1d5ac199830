//! `GET /openapi.json`: the API description. A route module registers each handler once,
//! with `routes!` on an [`OpenApiRouter`]: that adds the route to the router and its
//! `#[utoipa::path]` annotation (with the request and response schemas it names) to this
//! document, so the two cannot drift apart. `tests/http_openapi.rs` checks that every
//! documented path is live, every live route is documented, and every JSON answer has a
//! schema.
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// What the routes do not say themselves: the title, and the API-key scheme their
/// `security(("api_key" = []))` names. [`super::router`] starts from this document.
#[derive(OpenApi)]
#[openapi(
    info(title = "audioby", description = "Self-hosted article audio: direct synthesis, OpenAI-compatible speech, cached audio files."),
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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The finished document, built once with the router; [`openapi_json`] finds it in the
/// request extensions.
#[derive(Clone)]
pub struct Document(pub Arc<utoipa::openapi::OpenApi>);

#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    Json(doc.0.as_ref()).into_response()
}
