//! The player's routes: the script (`/player.js`, short cache; `/player/{version}/player.js`,
//! cached forever), the demo article page `/`, the embed page `/embed`, the stats page
//! `/stats`, and listening events
//! (`POST /v1/events`, public and rate-limited; `GET /v1/articles/{id}/stats`, API key).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::ratelimit::{limit_per_ip, ClientIp, IpRateLimiter, TrustedProxies};
use super::{ApiError, AppState, RequireApiKey};
use crate::article::id::ArticleId;
use crate::player::events::{self, ArticleStats, EventError};
use crate::player::{self, demo};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The unversioned URL is what publishers paste; a short cache lets upgrades reach them.
const SHORT: &str = "public, max-age=300";
const JS: &str = "text/javascript; charset=utf-8";

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    // Events are public: the API's per-IP limiter with its own budget (`[http] events_rate_limit`),
    // and a body limit sized to an event (a few hundred bytes), not to an article.
    let limiter = IpRateLimiter::new(state.settings.http.events_rate_limit)
        .with_trusted_proxies(TrustedProxies::parse(&state.settings.http.trusted_proxies));
    let (schemas, paths, events) = routes!(post_event);
    let events = events
        .route_layer(RequestBodyLimitLayer::new(
            state.settings.http.events_max_body_bytes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(limiter, limit_per_ip));
    OpenApiRouter::new()
        .routes(routes!(demo_page))
        .routes(routes!(embed_page))
        .routes(routes!(stats_page))
        .routes(routes!(player_js))
        .routes(routes!(versioned_player_js))
        .routes((schemas, paths, events))
        .routes(routes!(article_stats))
}

#[utoipa::path(get, path = "/", tag = "player", responses((status = 200, description = "Demo article page with the player", content_type = "text/html")))]
pub async fn demo_page() -> Response {
    page(demo::demo_page())
}

#[utoipa::path(get, path = "/embed", tag = "player", responses((status = 200, description = "Embed snippet and API quick start", content_type = "text/html")))]
pub async fn embed_page(headers: HeaderMap) -> Response {
    page(demo::embed_page(&origin(&headers)))
}

#[utoipa::path(get, path = "/stats", tag = "player", responses((status = 200, description = "Listening stats page: an article's drop-off drawn over its sentences (asks for the API key)", content_type = "text/html")))]
pub async fn stats_page() -> Response {
    page(demo::stats_page())
}

fn page(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

/// The origin to print in snippets: this request's `Host`, https unless it is a local address.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8080");
    let local =
        host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "http" || *p == "https")
        .unwrap_or(if local { "http" } else { "https" });
    format!("{proto}://{host}")
}

#[utoipa::path(get, path = "/player.js", tag = "player", responses((status = 200, description = "The player script (short cache)", content_type = "text/javascript"), (status = 304, description = "`If-None-Match` matched the ETag")))]
pub async fn player_js(headers: HeaderMap) -> Response {
    script(&headers, SHORT)
}

/// The current version is served forever-cacheable; an old version (a page cached before an
/// upgrade) is sent to the current script instead of a 404, with a short cache.
#[utoipa::path(get, path = "/player/{version}/player.js", tag = "player", params(("version" = String, Path, description = "Content hash")), responses((status = 200, description = "The player script, immutable", content_type = "text/javascript"), (status = 304, description = "`If-None-Match` matched the ETag"), (status = 307, description = "Old version: redirect to /player.js")))]
pub async fn versioned_player_js(Path(version): Path<String>, headers: HeaderMap) -> Response {
    if version == player::version() {
        script(&headers, IMMUTABLE)
    } else {
        let mut r = Redirect::temporary("/player.js").into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(SHORT));
        r
    }
}

fn script(headers: &HeaderMap, cache: &'static str) -> Response {
    let etag = player::etag();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let head = [
        (header::CONTENT_TYPE, HeaderValue::from_static(JS)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex etag is a valid header"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        (StatusCode::NOT_MODIFIED, head).into_response()
    } else {
        (head, player::PLAYER_JS).into_response()
    }
}

/// `POST /v1/events`: `{article, event, value?, listen?}` → 204. Public (the player calls it
/// from any publisher page, with `sendBeacon`), validated, rate-limited per client IP, and
/// counted only for a stored article with published audio, so made-up IDs never reach the
/// counters. A play also counts the listener for unique listens (a salted hash of the client
/// IP the limiter settled on and the user agent; neither is stored); `reach` moves the
/// listen's furthest sentence.
#[tracing::instrument(name = "Recording a player event", skip_all)]
#[utoipa::path(post, path = "/v1/events", tag = "player", request_body(content = serde_json::Value, description = "`{article, event, value?, listen?}`: event `play`, `progress` (value 25/50/75/100), `ratechange` (value 0.25-4), `error` (value: a short code), or `reach` (value: the furthest sentence index of the published manifest this listen reached; `listen`: the player's random ID of the listen, 8-64 of `A-Za-z0-9_-`)"), responses((status = 204, description = "Counted"), (status = 400, description = "Invalid event, or a `reach` past the article's sentences", body = ErrorBody), (status = 404, description = "Unknown article (`unknown-article`) or no published audio yet (`audio-not-ready`)", body = ErrorBody), (status = 413, description = "Body over `[http] events_max_body_bytes`", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody), (status = 503, description = "The event store is full (`store-full`): article cap, or the day's cap of new listens", body = ErrorBody)))]
pub async fn post_event(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let event = events::parse(&body)?;
    let voices = state.engine.voices().map(|v| v.id.clone());
    let sentences = events::check_playable(&state.pipeline, voices, &event.article).await?;
    // The client address the rate limiter settled on (this route always has the limiter).
    let listener = events::Listener {
        ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default(),
    };
    events::record(state.events.as_ref(), &event, Some(&listener), sentences).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/articles/{id}/stats`: one article's event counts and listen analytics.
#[derive(Serialize, ToSchema)]
pub struct StatsBody {
    #[schema(value_type = String)]
    pub article: ArticleId,
    pub events: ArticleStats,
}

/// `GET /v1/articles/{id}/stats` (API key): the event counts of one article, its unique
/// listens, average completion and drop-off (share of listens reaching each sentence).
#[utoipa::path(get, path = "/v1/articles/{id}/stats", tag = "player", security(("api_key" = [])), params(("id" = String, Path, description = "Article ID")), responses((status = 200, description = "Event counts, unique listens, average completion and drop-off for the article", body = StatsBody), (status = 400, description = "Invalid ID", body = ErrorBody), (status = 401, description = "Missing or wrong API key", body = ErrorBody)))]
pub async fn article_stats(
    State(state): State<AppState>,
    _key: RequireApiKey,
    Path(id): Path<String>,
) -> Result<Json<StatsBody>, ApiError> {
    let id = ArticleId::parse(&id)
        .map_err(|e| ApiError::bad_request("invalid-article-id", e.to_string()))?;
    let stats: ArticleStats = state
        .events
        .article_stats(&id)
        .await
        .map_err(EventError::from)?;
    Ok(Json(StatsBody {
        article: id,
        events: stats,
    }))
}
