//! Podcast feeds (`GET /feeds/{name}.xml`), their Podcasting 2.0 chapters
//! (`/feeds/chapters/{id}.json`, WebVTT at `.vtt`) and the default cover art. Public, like the
//! player's routes: podcast apps fetch them without credentials. Feeds carry a strong ETag
//! (hash of the document) and `Last-Modified`, and answer conditional requests with 304.
use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::article::ArticleId;
use crate::audio::AudioFormat;
use crate::feeds::{self, Channel, FeedItem};
use crate::pipeline::{FeedAudio, Manifest, Pipeline};
use crate::store::ObjectKey;

/// Feeds change when articles do: podcast apps poll, a short cache spares the database.
const FEED_CACHE: &str = "public, max-age=60";
/// Chapters of a named rendition (`?manifest=`) never change.
const CHAPTERS_PINNED_CACHE: &str = "public, max-age=31536000, immutable";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed))
        .routes(routes!(chapters))
        .routes(routes!(cover))
}

/// Absolute base URL for links: `[feeds] base_url`, else the request's scheme and host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(b) = &state.settings.feeds.base_url {
        return b.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

fn absolute(base: &str, url: String) -> String {
    if url.starts_with('/') {
        format!("{base}{url}")
    } else {
        url
    }
}

/// The newest `limit` articles the filter selects that have audio in their default voice,
/// listed with their current rendition (the feed's own when the feed has clips of its own);
/// one being re-assembled for new settings is left out meanwhile (see
/// [`Pipeline::feed_audio`]), not replaced by an older article. Newest first.
async fn items(
    pipeline: &Pipeline,
    feed: &str,
    filter: &feeds::FeedFilter,
    limit: usize,
    base: &str,
) -> Result<(Vec<FeedItem>, i64), ApiError> {
    let mut candidates = Vec::new();
    for id in pipeline.articles_since(0).await? {
        if let Some(article) = pipeline.article(&id).await? {
            if filter.matches(&article) {
                candidates.push(article);
            }
        }
    }
    candidates.sort_by(|a, b| {
        feeds::published(b)
            .cmp(&feeds::published(a))
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    let store = pipeline.store();
    let mut found = Vec::new();
    let mut taken = 0;
    let mut last_modified = 0i64;
    for article in candidates {
        if taken == limit {
            break;
        }
        let r = match pipeline.feed_audio(&article, feed).await? {
            FeedAudio::Ready(r) => *r,
            FeedAudio::Remaking => {
                taken += 1;
                continue;
            }
            FeedAudio::None => continue,
        };
        let Some((_, mp3)) = r.files.iter().find(|(f, _)| *f == AudioFormat::Mp3) else {
            continue;
        };
        taken += 1;
        let key = ObjectKey::parse_file_name(mp3)?;
        let mp3_len = store.len(&key).await?;
        last_modified = last_modified.max(r.created_at).max(article.updated_at);
        let manifest = manifest(pipeline, &r.manifest).await?;
        // Pinned to this rendition's manifest: the chapters always match the enclosure, even
        // after the article is re-assembled (other clips, another target).
        let chapters_url = (!manifest.chapters.is_empty()).then(|| {
            let pin = r.manifest.strip_suffix(".json").unwrap_or(&r.manifest);
            format!("{base}/feeds/chapters/{}.json?manifest={pin}", article.id)
        });
        found.push(FeedItem {
            mp3_url: absolute(base, store.url(mp3)),
            mp3_len,
            duration: r.duration,
            captions_url: absolute(base, store.url(&r.captions)),
            chapters_url,
            article,
        });
    }
    Ok((found, last_modified))
}

async fn manifest(pipeline: &Pipeline, name: &str) -> Result<Manifest, ApiError> {
    let key = ObjectKey::parse_file_name(name)?;
    let bytes = pipeline.store().get_bytes(&key).await?;
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}

/// A podcast feed: RSS 2.0 with Apple's `itunes:` tags and the Podcasting 2.0 namespace.
/// `all` (every article with audio) always exists; others come from `[feeds.define.*]`.
#[utoipa::path(
    get,
    path = "/feeds/{file}",
    params(("file" = String, Path, description = "Feed name plus `.xml`, e.g. `all.xml`")),
    responses(
        (status = 200, description = "RSS 2.0", content_type = "application/rss+xml"),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such feed", body = ErrorBody),
    ),
    tag = "feeds"
)]
async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let settings = &state.settings.feeds;
    let name = file
        .strip_suffix(".xml")
        .ok_or_else(|| ApiError::not_found("feeds end in .xml"))?;
    let filter = settings
        .feed(name)
        .ok_or_else(|| ApiError::not_found(format!("no feed named `{name}`")))?;
    let base = base_url(&state, &headers);
    let limit = filter.items.unwrap_or(settings.items).max(1);
    let (items, last_modified) = items(&state.pipeline, name, &filter, limit, &base).await?;
    let self_url = format!("{base}/feeds/{file}");
    let xml = feeds::render(
        &Channel {
            settings,
            title: filter.title.as_deref().unwrap_or(&settings.title),
            self_url: &self_url,
            base: &base,
        },
        &items,
    );
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(xml.as_bytes())[..16]));
    let modified = chrono::DateTime::from_timestamp_millis(last_modified)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let not_modified = match headers.get(header::IF_NONE_MATCH) {
        Some(inm) => inm
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| since.timestamp() >= last_modified / 1000),
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(ApiError::internal)?,
    );
    if let Ok(v) = HeaderValue::from_str(&modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(FEED_CACHE));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml; charset=utf-8"),
    );
    Ok((h, xml).into_response())
}

/// `?manifest=` on a chapters URL: the manifest (by its hash) of the rendition the chapters
/// belong to.
#[derive(Debug, serde::Deserialize)]
struct ChaptersQuery {
    manifest: Option<String>,
}

/// An article's chapters from its headings: Podcasting 2.0 JSON (`{id}.json`) or a WebVTT
/// chapters track (`{id}.vtt`), for its current audio or the rendition `?manifest=` names.
#[utoipa::path(
    get,
    path = "/feeds/chapters/{file}",
    params(
        ("file" = String, Path, description = "Article ID plus `.json` or `.vtt`"),
        ("manifest" = Option<String>, Query, description = "The rendition's manifest hash, as feeds link it: the chapters of exactly that rendition (a feed's own, or one since re-assembled). Unset: the article's current audio."),
    ),
    responses(
        (status = 200, description = "Chapters", content_type = "application/json+chapters"),
        (status = 404, description = "No such article, no audio yet, or no chapters", body = ErrorBody),
    ),
    tag = "feeds"
)]
async fn chapters(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<ChaptersQuery>,
) -> Result<Response, ApiError> {
    let (id, ext) = file
        .rsplit_once('.')
        .filter(|(_, e)| *e == "json" || *e == "vtt")
        .ok_or_else(|| ApiError::not_found("chapters end in .json or .vtt"))?;
    let id = ArticleId::parse(id).map_err(|_| ApiError::not_found("no such article"))?;
    let pipeline = &state.pipeline;
    let (manifest, cache) = match &query.manifest {
        Some(pin) => {
            let name = format!("{pin}.json");
            ObjectKey::parse_file_name(&name)
                .map_err(|_| ApiError::not_found("no such rendition"))?;
            let manifest = match manifest(pipeline, &name).await {
                Err(e) if e.status == StatusCode::NOT_FOUND => {
                    return Err(ApiError::not_found("no such rendition"))
                }
                other => other?,
            };
            if manifest.article != id.as_str() {
                return Err(ApiError::not_found("no such rendition of this article"));
            }
            // A manifest never changes: neither do its chapters.
            (manifest, CHAPTERS_PINNED_CACHE)
        }
        None => {
            let article = pipeline
                .article(&id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such article"))?;
            let voice = pipeline.voice_for(None, &article)?;
            let rendition = pipeline
                .rendition(&id, &article.content_hash, &voice.info().id)
                .await?
                .ok_or_else(|| ApiError::not_found("the article has no audio yet"))?;
            (manifest(pipeline, &rendition.manifest).await?, FEED_CACHE)
        }
    };
    if manifest.chapters.is_empty() {
        return Err(ApiError::not_found("the article has no headings"));
    }
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(if ext == "json" {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json+chapters"),
                ),
                cache,
            ],
            feeds::chapters_json(&manifest.chapters).to_string(),
        )
            .into_response()
    } else {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/vtt; charset=utf-8"),
                ),
                cache,
            ],
            crate::pipeline::webvtt_chapters(&manifest.chapters, manifest.duration),
        )
            .into_response()
    })
}

/// The default cover art (used when `[feeds] image` is not set).
#[utoipa::path(get, path = "/feeds/cover.png", responses((status = 200, content_type = "image/png")), tag = "feeds")]
async fn cover() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        feeds::cover::png(),
    )
}
