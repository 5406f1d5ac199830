//! Articles and their audio: push an article, ask for its audio (ready, or queued with an
//! ETA), force regeneration, and follow or cancel jobs.
use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::RequireApiKey;
use super::error::ErrorBody;
use super::live;
use super::ratelimit::{limit_per_ip, IpRateLimiter, TrustedProxies};
use super::{ApiError, ApiJson, AppState};
use crate::article::{ArticleId, ArticleInput, ArticleRecord, Block};
use crate::audio::AudioFormat;
use crate::pipeline::AudioStatus;
use crate::queue::{Job, JobId, Priority, Rendition};
use crate::store::AudioStore;

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let limiter = IpRateLimiter::new(state.settings.http.rate_limit)
        .with_trusted_proxies(TrustedProxies::parse(&state.settings.http.trusted_proxies));
    let public = OpenApiRouter::new()
        .routes(routes!(get_audio, regenerate))
        .routes(routes!(live::get_live_audio))
        .route_layer(axum::middleware::from_fn_with_state(limiter, limit_per_ip));
    OpenApiRouter::new()
        .routes(routes!(put_article, get_article))
        .routes(routes!(get_job, cancel_job))
        // The live side channel queues nothing (cheap, polled by players): not rate-limited,
        // like the job it reports on.
        .routes(routes!(live::get_live_manifest))
        .merge(public)
}

pub(super) fn parse_id(raw: &str) -> Result<ArticleId, ApiError> {
    ArticleId::parse(raw).map_err(|e| ApiError::bad_request("invalid-article-id", e.to_string()))
}

/// `PUT /v1/articles/{id}`: what was stored.
#[derive(Serialize, ToSchema)]
pub struct ArticleStoredBody {
    #[schema(value_type = String)]
    pub id: ArticleId,
    /// The article version: sha256 over the spoken blocks.
    pub content_hash: String,
    /// False when this version was already stored.
    pub changed: bool,
    /// How many blocks were extracted, the title included.
    pub blocks: usize,
    /// The job making the audio, when one was queued.
    pub job: Option<JobBody>,
}

/// `GET /v1/articles/{id}`: the stored article.
#[derive(Serialize, ToSchema)]
pub struct ArticleBody {
    #[schema(value_type = String)]
    pub id: ArticleId,
    pub title: Option<String>,
    pub byline: Option<String>,
    pub url: Option<String>,
    pub voice: Option<String>,
    pub content_hash: String,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// Title first (as a `title` block when known), then the body, in reading order.
    pub blocks: Vec<Block>,
}

impl From<ArticleRecord> for ArticleBody {
    fn from(a: ArticleRecord) -> Self {
        Self {
            id: a.id,
            title: a.title,
            byline: a.byline,
            url: a.url,
            voice: a.voice,
            content_hash: a.content_hash,
            updated_at: a.updated_at,
            blocks: a.blocks,
        }
    }
}

/// A job, as `GET`/`DELETE /v1/jobs/{id}` and `PUT /v1/articles/{id}` show it.
#[derive(Serialize, ToSchema)]
pub struct JobBody {
    /// 32 hex characters, random (job IDs are not guessable).
    #[schema(value_type = String)]
    pub id: JobId,
    #[schema(value_type = String)]
    pub article: ArticleId,
    pub voice: String,
    /// `queued`, `running`, `ready`, `failed` or `cancelled`.
    pub status: &'static str,
    /// `interactive` (a listener asked) or `prefetch`.
    #[schema(value_type = String)]
    pub priority: Priority,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Jobs ahead of this one in the queue; only `GET /v1/jobs/{id}` fills it in.
    pub position: Option<u64>,
    pub segments_total: Option<u64>,
    /// Segments really synthesized by the last run (the rest came from the cache).
    pub segments_synthesized: Option<u64>,
    pub audio_seconds: Option<f64>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobBody {
    fn new(j: Job, position: Option<u64>) -> Self {
        Self {
            id: j.id,
            article: j.article,
            voice: j.voice,
            status: j.state.as_str(),
            priority: j.priority,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.error,
            position,
            segments_total: j.segments_total,
            segments_synthesized: j.segments_synthesized,
            audio_seconds: j.audio_seconds,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

/// The article's audio is ready (200).
#[derive(Serialize, ToSchema)]
pub struct AudioReadyBody {
    /// Always `ready`.
    pub status: &'static str,
    /// The audio in the preferred format (`format`), else Opus, else the first one made.
    pub url: Option<String>,
    /// Seconds, to the millisecond.
    pub duration: f64,
    pub voice: String,
    /// Format (`opus`, `mp3`, `wav`) → URL.
    pub formats: BTreeMap<&'static str, String>,
    /// The timing manifest (segments with their start and end), for highlighting.
    pub manifest_url: String,
    /// WebVTT captions.
    pub captions_url: String,
}

impl AudioReadyBody {
    fn new(r: &Rendition, preferred: Option<AudioFormat>, store: &AudioStore) -> Self {
        let url_of = |f: AudioFormat| {
            r.files
                .iter()
                .find(|(x, _)| *x == f)
                .map(|(_, name)| store.url(name))
        };
        let url = preferred
            .and_then(url_of)
            .or_else(|| url_of(AudioFormat::Opus))
            .or_else(|| r.files.first().map(|(_, name)| store.url(name)));
        Self {
            status: "ready",
            url,
            duration: (r.duration * 1000.0).round() / 1000.0,
            voice: r.voice.clone(),
            formats: r
                .files
                .iter()
                .map(|(f, name)| (f.extension(), store.url(name)))
                .collect(),
            manifest_url: store.url(&r.manifest),
            captions_url: store.url(&r.captions),
        }
    }
}

/// The article's audio is queued or being made (202): poll again, or follow the job.
#[derive(Serialize, ToSchema)]
pub struct AudioPendingBody {
    /// `queued` or `running`.
    pub status: &'static str,
    /// Jobs ahead of this one.
    pub position: u64,
    /// Estimated seconds until the audio is ready.
    pub eta_seconds: f64,
    #[schema(value_type = String)]
    pub job_id: JobId,
}

fn status_response(
    state: &AppState,
    status: AudioStatus,
    preferred: Option<AudioFormat>,
) -> Response {
    match status {
        AudioStatus::Ready(r) => {
            Json(AudioReadyBody::new(&r, preferred, &state.store)).into_response()
        }
        AudioStatus::Pending {
            job,
            position,
            eta_seconds,
        } => (
            StatusCode::ACCEPTED,
            Json(AudioPendingBody {
                status: job.state.as_str(),
                position,
                eta_seconds,
                job_id: job.id,
            }),
        )
            .into_response(),
    }
}

#[utoipa::path(put, path = "/v1/articles/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Publisher article ID: 1-128 of [A-Za-z0-9._:-]")),
    request_body = ArticleInput,
    responses((status = 200, description = "Stored; `job` is set when audio was queued", body = ArticleStoredBody), (status = 400, description = "Invalid ID or article", body = ErrorBody), (status = 401, description = "Missing or wrong API key", body = ErrorBody)))]
pub async fn put_article(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Json<ArticleStoredBody>, ApiError> {
    let id = parse_id(&id)?;
    let opts = state.settings.extract.clone();
    // Extraction is CPU work on untrusted HTML: off the async runtime.
    let record = tokio::task::spawn_blocking(move || {
        ArticleRecord::build(id, input, &opts, crate::queue::now_ms())
    })
    .await
    .map_err(ApiError::internal)??;
    let (changed, job) = state.pipeline.put_article(&record).await?;
    Ok(Json(ArticleStoredBody {
        blocks: record.blocks.len(),
        id: record.id,
        content_hash: record.content_hash,
        changed,
        job: job.map(|j| JobBody::new(j, None)),
    }))
}

#[utoipa::path(get, path = "/v1/articles/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Article ID")),
    responses((status = 200, description = "The stored article and its blocks", body = ArticleBody), (status = 400, description = "Invalid ID", body = ErrorBody), (status = 401, description = "Missing or wrong API key", body = ErrorBody), (status = 404, description = "Unknown article", body = ErrorBody)))]
pub async fn get_article(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArticleBody>, ApiError> {
    let id = parse_id(&id)?;
    let article = state
        .pipeline
        .article(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("article `{id}` not found")))?;
    Ok(Json(article.into()))
}

#[derive(Debug, Deserialize)]
pub struct AudioQuery {
    voice: Option<String>,
    format: Option<String>,
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
    responses((status = 200, description = "Ready", body = AudioReadyBody), (status = 202, description = "Queued or running", body = AudioPendingBody), (status = 400, description = "Invalid ID or format", body = ErrorBody), (status = 404, description = "Unknown article", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)))]
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
    Ok(status_response(&state, status, format))
}

/// Force regeneration (re-synthesizes every segment).
#[utoipa::path(post, path = "/v1/articles/{id}/audio", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Article ID")),
    responses((status = 202, description = "Regeneration queued", body = AudioPendingBody), (status = 400, description = "Invalid ID", body = ErrorBody), (status = 401, description = "Missing or wrong API key", body = ErrorBody), (status = 404, description = "Unknown article", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)))]
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
    Ok(status_response(&state, status, None))
}

#[derive(Debug, Deserialize)]
pub struct JobQuery {
    /// Long-poll: wait up to this many seconds (max 60) for the job to finish.
    wait: Option<u64>,
}

fn parse_job_id(raw: &str) -> Result<JobId, ApiError> {
    JobId::parse(raw).map_err(|e| ApiError::bad_request("invalid-job-id", e.to_string()))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "articles",
    params(("id" = String, Path, description = "Job id (32 hex characters)"), ("wait" = Option<u64>, Query, description = "Long-poll up to this many seconds (max 60) for a final state")),
    responses((status = 200, description = "The job", body = JobBody), (status = 400, description = "Invalid job id", body = ErrorBody), (status = 404, description = "Unknown job", body = ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> Result<Json<JobBody>, ApiError> {
    let id = parse_job_id(&id)?;
    let job = match q.wait {
        Some(secs) => {
            state
                .pipeline
                .wait_for(&id, Duration::from_secs(secs.min(60)))
                .await?
        }
        None => state.pipeline.job(&id).await?,
    };
    let job = job.ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    let position = state.pipeline.job_position(&id).await?;
    Ok(Json(JobBody::new(job, Some(position))))
}

#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "articles", security(("api_key" = [])),
    params(("id" = String, Path, description = "Job id (32 hex characters)")),
    responses((status = 200, description = "The cancelled job", body = JobBody), (status = 400, description = "Invalid job id", body = ErrorBody), (status = 401, description = "Missing or wrong API key", body = ErrorBody), (status = 404, description = "Unknown job", body = ErrorBody)))]
pub async fn cancel_job(
    _key: RequireApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobBody>, ApiError> {
    let id = parse_job_id(&id)?;
    let job = state
        .pipeline
        .cancel(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    Ok(Json(JobBody::new(job, None)))
}
