//! The HTTP surface: one module per resource, thin handlers over the library.
mod articles;
mod audio_files;
pub mod error;
mod health;
mod metrics_route;
mod openai;
mod player_routes;
mod synthesize;
mod voices;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::store::AudioStore;
use crate::text::lexicon::Lexicon;
use crate::tts::Engine;

pub use error::{ApiError, ApiJson};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub engine: Arc<Engine>,
    pub lexicon: Arc<Lexicon>,
    pub store: AudioStore,
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.http.max_body_bytes;
    let _timeout = Duration::from_secs(state.settings.http.request_timeout_secs);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/voices", get(voices::list))
        .route("/v1/synthesize", post(synthesize::synthesize))
        .merge(articles::routes())
        .merge(audio_files::routes())
        .merge(openai::routes())
        .merge(metrics_route::routes())
        .merge(player_routes::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
