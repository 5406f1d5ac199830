//! The HTTP surface: one module per resource, thin handlers over the library.
mod articles;
mod audio_files;
pub mod auth;
pub mod error;
mod feeds;
mod health;
mod live;
mod metrics_route;
mod openai;
pub mod openapi;
mod player_routes;
pub mod ratelimit;
mod serve;
mod synthesize;
mod voices;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::{Extension, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Settings;
use crate::store::AudioStore;
use crate::text::lexicon::Lexicon;
use crate::tts::Engine;

pub use auth::RequireApiKey;
pub use error::{ApiError, ApiJson, ErrorBody};
pub use openapi::ApiDoc;
pub use ratelimit::IpRateLimiter;
pub use serve::{serve, ServeOptions};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub engine: Arc<Engine>,
    pub lexicon: Arc<Lexicon>,
    pub store: AudioStore,
    pub pipeline: Arc<crate::pipeline::Pipeline>,
    /// Listening-event counters (the repository's events table).
    pub events: Arc<dyn crate::queue::EventRepo>,
}

/// Every route, each registered once for both the router and the OpenAPI document.
fn api_routes(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(voices::list))
        .routes(routes!(synthesize::synthesize))
        .merge(articles::routes(state))
        .merge(audio_files::routes(state))
        .merge(openai::routes())
        .merge(metrics_route::routes())
        .merge(openapi::routes())
        .merge(player_routes::routes(state))
        .merge(feeds::routes())
}

/// Layers, outermost first: request id → trace → CORS → JSON error bodies → body limit →
/// timeout → routes (with per-route metrics). The timeout covers the time to the response
/// head, so streamed audio is not cut off once it has started.
pub fn router(state: AppState) -> Router {
    crate::metrics::install();
    let body_limit = state.settings.http.max_body_bytes;
    let timeout = Duration::from_secs(state.settings.http.request_timeout_secs.max(1));
    let cors = cors_layer(&state.settings.http.cors_origins);
    let (routes, doc) = api_routes(&state).split_for_parts();
    routes
        .layer(Extension(openapi::Document(Arc::new(doc))))
        .route_layer(axum::middleware::from_fn(metrics_route::track))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.settings.http.max_header_bytes, error::limit_header_bytes))
        .layer(axum::middleware::from_fn(error::json_error_bodies))
        .layer(cors)
        .layer(axum::middleware::from_fn(mark_probes))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(log_response::<axum::body::Body>),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(SequentialRequestId))
        .with_state(state)
}

/// Marks the answer to a probe or scrape (`/healthz`, `/readyz`, `/metrics`) for
/// [`log_response`]: monitors call them every few seconds, and a flood of them must not
/// fill the log.
#[derive(Clone, Copy)]
struct ProbeAnswer;

async fn mark_probes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let mut res = next.run(req).await;
    if probe {
        res.extensions_mut().insert(ProbeAnswer);
    }
    res
}

/// One line per request, inside the request-id span: at info, except answers from immutable
/// content (audio files, versioned player assets), the hot path a busy site serves
/// thousands of times a second, and probes; those are at debug (errors from immutable
/// content stay at info; a failing `/readyz` logs its cause at warn itself).
fn log_response<B>(res: &axum::http::Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = res.status().as_u16();
    let latency = format_args!("{} ms", latency.as_millis());
    let immutable = status < 400
        && res
            .headers()
            .get(header::CACHE_CONTROL)
            .is_some_and(|v| v.as_bytes().ends_with(b"immutable"));
    if immutable || res.extensions().get::<ProbeAnswer>().is_some() {
        tracing::debug!(%latency, status, "finished processing request");
    } else {
        tracing::info!(%latency, status, "finished processing request");
    }
}

/// Request ids are a random per-process prefix and a counter: unique in practice, and
/// cheaper than a UUID (no system call for randomness on every request). A client's own
/// `x-request-id` is kept.
#[derive(Clone, Copy)]
struct SequentialRequestId;

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        static PREFIX: LazyLock<String> = LazyLock::new(|| {
            let mut raw = [0u8; 6];
            if getrandom::fill(&mut raw).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos() as u64;
                raw.copy_from_slice(&(nanos ^ u64::from(std::process::id())).to_le_bytes()[..6]);
            }
            hex::encode(raw)
        });
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n:06x}", *PREFIX))
            .ok()
            .map(RequestId::new)
    }
}

/// The public, credential-free routes the embedded player calls from a publisher's page: the
/// article-audio status, audio files (live and published audio, manifests, captions), the
/// script and listening events. `method` is the request's, or for a preflight the one it
/// asks about.
pub fn is_public_player_route(method: &Method, path: &str) -> bool {
    let read = *method == Method::GET || *method == Method::HEAD;
    let article_audio = path
        .strip_prefix("/v1/articles/")
        .and_then(|rest| rest.strip_suffix("/audio"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    let script = path == "/player.js"
        || path
            .strip_prefix("/player/")
            .and_then(|rest| rest.strip_suffix("/player.js"))
            .is_some_and(|v| !v.contains('/'));
    (read && (article_audio || script || path.starts_with("/audio/")))
        || (*method == Method::POST && path == "/v1/events")
}

/// CORS. With no `cors_origins`, the public player routes ([`is_public_player_route`])
/// answer any origin, so the one-tag embed works on any site; nothing is sent with
/// credentials (no `Allow-Credentials`), and the keyed routes answer no other origin. With
/// `cors_origins` (exact `scheme://host[:port]` strings), only those origins are answered, on
/// every route. The player reads audio with ranges, so range and caching headers are exposed.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(
            |o| match HeaderValue::from_str(o.trim().trim_end_matches('/')) {
                Ok(v) => Some(v),
                Err(_) => {
                    tracing::warn!(origin = %o, "ignoring invalid CORS origin");
                    None
                }
            },
        )
        .collect();
    let open_player = origins.is_empty();
    let allow = AllowOrigin::predicate(
        move |origin: &HeaderValue, req: &axum::http::request::Parts| {
            if origins.contains(origin) {
                return true;
            }
            // A preflight asks about the method the real request will use.
            let method = match req.method {
                Method::OPTIONS => req
                    .headers
                    .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                    .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
                    .unwrap_or(Method::OPTIONS),
                ref m => m.clone(),
            };
            open_player && is_public_player_route(&method, req.uri.path())
        },
    );
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::RANGE,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::ACCEPT_RANGES,
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(3600))
}
