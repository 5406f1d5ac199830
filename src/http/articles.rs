//! Articles and their audio: push an article, ask for its audio (ready, or queued with an
//! ETA), force regeneration, and follow or cancel jobs.
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::RequireApiKey;
use super::ratelimit::{limit_per_ip, IpRateLimiter};
use super::{ApiError, ApiJson, AppState};
use crate::article::record::ArticleError;
use crate::article::source::SourceError;
use crate::article::{ArticleId, ArticleInput, ArticleRecord};
use crate::audio::AudioFormat;
use crate::pipeline::{AudioStatus, PipelineError};
use crate::queue::{Job, Priority, QueueError, Rendition};

pub fn routes(state: &AppState) -> Router<AppState> {
    let limiter = IpRateLimiter::new(state.settings.http.rate_limit);
    let public = Router::new()
        .route("/v1/articles/{id}/audio", get(get_audio).post(regenerate))
        .route_layer(axum::middleware::from_fn_with_state(limiter, limit_per_ip));
    Router::new()
        .route("/v1/articles/{id}", put(put_article).get(get_article))
        .route("/v1/jobs/{id}", get(get_job).delete(cancel_job))
        .merge(public)
}

fn parse_id(raw: &str) -> Result<ArticleId, ApiError> {
    ArticleId::parse(raw).map_err(|e| ApiError::bad_request("invalid-article-id", e.to_string()))
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::NotFound(id) => ApiError::not_found(format!("article `{id}` not found")),
            PipelineError::Queue(QueueError::Full(_)) => ApiError::overloaded(30),
            PipelineError::Tts(t) => t.into(),
            PipelineError::Source(s) => source_error(s),
            other => ApiError::internal(other),
        }
    }
}

/// The CMS failed us: 504 for a timeout, else 502, with the source's stable code. The
/// message is generic (the detail can name internal hosts and addresses); the detail is logged.
fn source_error(e: SourceError) -> ApiError {
    tracing::warn!(error = %e, code = e.code(), "pulling the article from the source failed");
    let (status, message) = match &e {
        SourceError::Timeout(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "the article source did not answer in time",
        ),
        SourceError::TooLarge(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source's answer is over the size limit",
        ),
        SourceError::BlockedAddress(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source led to a blocked (private or loopback) address",
        ),
        SourceError::HostNotAllowed(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source redirected to a host that is not allowed",
        ),
        SourceError::TooManyRedirects(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source redirected too many times",
        ),
        SourceError::Unusable { .. } => (
            StatusCode::BAD_GATEWAY,
            "the article from the source cannot be read aloud",
        ),
        SourceError::NotFound(_) | SourceError::BadResponse(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source gave an unusable answer",
        ),
        SourceError::NotConfigured(_) => (
            StatusCode::BAD_GATEWAY,
            "the article source is misconfigured",
        ),
    };
    ApiError::new(status, e.code(), message)
}

impl From<ArticleError> for ApiError {
    fn from(e: ArticleError) -> Self {
        ApiError::bad_request(e.code(), e.to_string())
    }
}

#[utoipa::path(put, path = "/v1/articles/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Publisher article ID: 1-128 of [A-Za-z0-9._:-]")),
    request_body(content = serde_json::Value, description = "`{title?, html | text, url?, voice?, byline?}`"),
    responses((status = 200, description = "Stored; `job` is set when audio was queued"), (status = 400, description = "Invalid ID or article", body = super::openapi::ErrorBody), (status = 401, description = "Missing or wrong API key", body = super::openapi::ErrorBody)))]
pub async fn put_article(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let opts = state.settings.extract.clone();
    // Extraction is CPU work on untrusted HTML: off the async runtime.
    let record = tokio::task::spawn_blocking(move || {
        ArticleRecord::build(id, input, &opts, crate::queue::now_ms())
    })
    .await
    .map_err(ApiError::internal)??;
    let (changed, job) = state.pipeline.put_article(&record).await?;
    let body = json!({
        "id": record.id,
        "content_hash": record.content_hash,
        "changed": changed,
        "blocks": record.blocks.len(),
        "job": job.map(|j| job_json(&j, None)),
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

#[utoipa::path(get, path = "/v1/articles/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Article ID")),
    responses((status = 200, description = "The stored article and its blocks"), (status = 404, description = "Unknown article", body = super::openapi::ErrorBody)))]
pub async fn get_article(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let a = state
        .pipeline
        .article(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("article `{id}` not found")))?;
    Ok(Json(json!({
        "id": a.id, "title": a.title, "byline": a.byline, "url": a.url, "voice": a.voice,
        "content_hash": a.content_hash, "updated_at": a.updated_at, "blocks": a.blocks,
    })))
}

#[derive(Debug, Deserialize)]
pub struct AudioQuery {
    voice: Option<String>,
    format: Option<String>,
}

fn rendition_json(r: &Rendition, preferred: Option<AudioFormat>) -> Value {
    let url_of = |f: AudioFormat| {
        r.files
            .iter()
            .find(|(x, _)| *x == f)
            .map(|(_, name)| format!("/audio/{name}"))
    };
    let mut formats = serde_json::Map::new();
    for (f, name) in &r.files {
        formats.insert(
            f.extension().to_string(),
            Value::String(format!("/audio/{name}")),
        );
    }
    let url = preferred
        .and_then(url_of)
        .or_else(|| url_of(AudioFormat::Opus))
        .or_else(|| r.files.first().map(|(_, n)| format!("/audio/{n}")));
    json!({
        "status": "ready",
        "url": url,
        "duration": (r.duration * 1000.0).round() / 1000.0,
        "voice": r.voice,
        "formats": formats,
        "manifest_url": format!("/audio/{}", r.manifest),
        "captions_url": format!("/audio/{}", r.captions),
    })
}

fn job_json(j: &Job, position: Option<u64>) -> Value {
    json!({
        "id": j.id,
        "article": j.article,
        "voice": j.voice,
        "status": j.state.as_str(),
        "priority": j.priority,
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "error": j.error,
        "position": position,
        "segments_total": j.segments_total,
        "segments_synthesized": j.segments_synthesized,
        "audio_seconds": j.audio_seconds,
        "created_at": j.created_at,
        "updated_at": j.updated_at,
    })
}

fn status_response(status: AudioStatus, preferred: Option<AudioFormat>) -> Response {
    match status {
        AudioStatus::Ready(r) => (StatusCode::OK, Json(rendition_json(&r, preferred))).into_response(),
        AudioStatus::Pending { job, position, eta_seconds } => (
            StatusCode::ACCEPTED,
            Json(json!({"status": job.state.as_str(), "position": position, "eta_seconds": eta_seconds, "job_id": job.id})),
        )
            .into_response(),
    }
}

fn parse_format(f: Option<&str>) -> Result<Option<AudioFormat>, ApiError> {
    f.map(|f| {
        f.parse::<AudioFormat>()
            .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
    })
    .transpose()
}

/// Public: the play button's first question. Unknown → 404; known → ready or enqueued
/// with interactive priority.
#[utoipa::path(get, path = "/v1/articles/{id}/audio", tag = "articles",
    params(("id" = String, Path, description = "Article ID"), ("voice" = Option<String>, Query, description = "Voice id or alias"), ("format" = Option<String>, Query, description = "Preferred format for `url`: opus, mp3, wav")),
    responses((status = 200, description = "Ready: `{status, url, duration, formats, manifest_url, captions_url}`"), (status = 202, description = "Queued or running: `{status, position, eta_seconds, job_id}`"), (status = 404, description = "Unknown article", body = super::openapi::ErrorBody), (status = 429, description = "Rate limited", body = super::openapi::ErrorBody)))]
pub async fn get_audio(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<AudioQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let format = parse_format(q.format.as_deref())?;
    let status = state
        .pipeline
        .article_audio(&id, q.voice.as_deref(), Priority::Interactive, false)
        .await?;
    Ok(status_response(status, format))
}

/// Force regeneration (re-synthesizes every segment).
#[utoipa::path(post, path = "/v1/articles/{id}/audio", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Article ID")),
    responses((status = 202, description = "Regeneration queued"), (status = 404, description = "Unknown article", body = super::openapi::ErrorBody)))]
pub async fn regenerate(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<AudioQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let status = state
        .pipeline
        .article_audio(&id, q.voice.as_deref(), Priority::Interactive, true)
        .await?;
    Ok(status_response(status, None))
}

#[derive(Debug, Deserialize)]
pub struct JobQuery {
    /// Long-poll: wait up to this many seconds (max 60) for the job to finish.
    wait: Option<u64>,
}

fn parse_job_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request("invalid-job-id", "job ids are positive integers"))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "articles",
    params(("id" = i64, Path, description = "Job id"), ("wait" = Option<u64>, Query, description = "Long-poll up to this many seconds (max 60) for a final state")),
    responses((status = 200, description = "The job"), (status = 404, description = "Unknown job", body = super::openapi::ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_job_id(&id)?;
    let job = match q.wait {
        Some(secs) => {
            state
                .pipeline
                .wait_for(id, Duration::from_secs(secs.min(60)))
                .await?
        }
        None => state.pipeline.job(id).await?,
    };
    let job = job.ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    let position = state.pipeline.job_position(id).await?;
    Ok(Json(job_json(&job, Some(position))))
}

#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, description = "The cancelled job"), (status = 404, description = "Unknown job", body = super::openapi::ErrorBody)))]
pub async fn cancel_job(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_job_id(&id)?;
    let job = state
        .pipeline
        .cancel(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    Ok(Json(job_json(&job, None)))
}
