//! The live rendition of an article (listen before it is ready): the audio streamed while
//! its job makes it, and the side channel the player highlights from.
use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use utoipa::ToSchema;

use super::articles::parse_id;
use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::audio::AudioFormat;
use crate::pipeline::{LiveAudio, ManifestSegment};

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    voice: Option<String>,
    format: Option<String>,
}

/// `opus` (the default) or `mp3`: the formats every rendition is published in.
fn parse_live_format(f: Option<&str>) -> Result<AudioFormat, ApiError> {
    let format = match f {
        None => AudioFormat::Opus,
        Some(f) => f
            .parse::<AudioFormat>()
            .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?,
    };
    if !crate::pipeline::default_formats().contains(&format) {
        return Err(ApiError::bad_request(
            "unsupported-live-format",
            format!("live audio is opus or mp3, not {format}"),
        ));
    }
    Ok(format)
}

/// Public: the audio of an article as it is made. Joins (or queues, with interactive
/// priority) the article's job, then streams its segments in reading order as they exist.
/// A published article redirects to its final file.
#[utoipa::path(get, path = "/v1/articles/{id}/audio/live", tag = "articles",
    params(("id" = String, Path, description = "Article ID"), ("voice" = Option<String>, Query, description = "Voice id or alias"), ("format" = Option<String>, Query, description = "opus (default) or mp3")),
    responses((status = 200, description = "The audio, streamed as it is made (no length); it ends early, cleanly, if the job fails", content_type = "audio/ogg"), (status = 307, description = "Already published: the final file"), (status = 400, description = "Invalid ID or format", body = ErrorBody), (status = 404, description = "Unknown article", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody), (status = 503, description = "Queue full", body = ErrorBody)))]
pub async fn get_live_audio(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LiveQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let format = parse_live_format(q.format.as_deref())?;
    let live = state
        .pipeline
        .live_audio(&id, q.voice.as_deref(), format)
        .await?;
    match live {
        LiveAudio::Ready(r) => {
            let file = r
                .files
                .iter()
                .find(|(f, _)| *f == format)
                .or(r.files.first())
                .ok_or_else(|| ApiError::internal("a rendition without files"))?;
            Ok(Redirect::temporary(&state.store.url(&file.1)).into_response())
        }
        LiveAudio::Streaming { job, chunks } => {
            let body = Body::from_stream(
                ReceiverStream::new(chunks).map(Ok::<_, std::convert::Infallible>),
            );
            let mut res = (StatusCode::OK, body).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            // Made for this listener as it goes: never stored by a cache, never ranged.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
            if let Ok(v) = HeaderValue::from_str(&job.to_string()) {
                h.insert("x-audioby-job", v);
            }
            Ok(res)
        }
    }
}

/// `GET /v1/articles/{id}/audio/live/manifest`: the live side channel.
#[derive(Serialize, ToSchema)]
pub struct LiveManifestBody {
    /// `ready` (published: switch to `formats`), `queued`, `running`, `failed`,
    /// `cancelled`, or `none` (no job yet).
    pub status: &'static str,
    #[schema(value_type = Option<String>)]
    pub job_id: Option<crate::queue::JobId>,
    /// Jobs ahead of the article's job (0 = next or running).
    pub position: u64,
    /// Why the job failed, when it did.
    pub error: Option<String>,
    /// Segments in the whole article.
    pub segments_total: usize,
    /// The segments playable now, from the first, with the final manifest's timing.
    #[schema(value_type = Vec<Object>)]
    pub segments: Vec<ManifestSegment>,
    /// Seconds of audio playable now, pauses included.
    pub available_seconds: f64,
    /// Once published: format (`opus`, `mp3`) → URL of the final file.
    pub formats: BTreeMap<&'static str, String>,
    /// Once published: the final timing manifest.
    pub manifest_url: Option<String>,
}

/// Public: where the live rendition stands and the timing of what is made so far, for
/// highlighting and for limiting seeks. Queues nothing.
#[utoipa::path(get, path = "/v1/articles/{id}/audio/live/manifest", tag = "articles",
    params(("id" = String, Path, description = "Article ID"), ("voice" = Option<String>, Query, description = "Voice id or alias")),
    responses((status = 200, description = "Progress of the live rendition", body = LiveManifestBody), (status = 400, description = "Invalid ID", body = ErrorBody), (status = 404, description = "Unknown article", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)))]
pub async fn get_live_manifest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LiveQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let p = state
        .pipeline
        .live_progress(&id, q.voice.as_deref())
        .await?;
    let status = match (&p.rendition, &p.job) {
        (Some(_), _) => "ready",
        (None, Some(j)) => j.state.as_str(),
        (None, None) => "none",
    };
    let formats = p
        .rendition
        .iter()
        .flat_map(|r| r.files.iter())
        .map(|(f, name)| (f.extension(), state.store.url(name)))
        .collect();
    let body = LiveManifestBody {
        status,
        job_id: p.job.as_ref().map(|j| j.id.clone()),
        position: p.position,
        error: p.job.as_ref().and_then(|j| j.error.clone()),
        segments_total: p.segments_total,
        segments: p.segments,
        available_seconds: (p.seconds * 1000.0).round() / 1000.0,
        formats,
        manifest_url: p.rendition.as_ref().map(|r| state.store.url(&r.manifest)),
    };
    let mut res = Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
