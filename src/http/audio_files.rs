//! `GET`/`HEAD /audio/{file}`: content-addressed audio, manifests and captions, streamed from
//! the store. Names are `<sha256>.<ext>`, so a URL never changes meaning: responses are
//! immutable, carry a strong ETag (the hash) and support single byte ranges (Safari and
//! seeking need them). Nothing but a parsed [`ObjectKey`] ever reaches the store. With
//! `[store] public_base_url` (an S3 bucket behind a CDN) the route only redirects there, so
//! audio bytes need not pass through audioby.
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::store::{AudioStore, ObjectBody, ObjectKey, StoreError};

const CACHE_FOREVER: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const BYTES: HeaderValue = HeaderValue::from_static("bytes");
/// A redirect may change with the configuration (the CDN moves), unlike the object.
const CACHE_REDIRECT: HeaderValue = HeaderValue::from_static("public, max-age=3600");
/// A presigned download link expires: its redirect is not kept.
const CACHE_NONE: HeaderValue = HeaderValue::from_static("no-store");

/// What the file routes need: the store, and what is already known about its objects.
#[derive(Clone)]
pub struct Files {
    store: AudioStore,
    known: Arc<KnownObjects>,
}

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let files = Files {
        store: state.store.clone(),
        known: Arc::default(),
    };
    OpenApiRouter::new()
        .routes(routes!(serve_file))
        .with_state(files)
}

/// Length and ETag of objects served before. Objects are content-addressed, so neither ever
/// changes for a key: HEAD, `If-None-Match` and range requests are answered without asking
/// the store for metadata again (a blocking file-system call each). An object that turns
/// out to be gone is forgotten. Bounded: when full it starts over.
#[derive(Default)]
struct KnownObjects(RwLock<HashMap<ObjectKey, Known>>);

#[derive(Clone)]
struct Known {
    len: u64,
    etag: HeaderValue,
}

/// About 100 bytes an entry: a few MB at most.
const KNOWN_OBJECTS_MAX: usize = 50_000;

impl KnownObjects {
    fn get(&self, key: &ObjectKey) -> Option<Known> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn insert(&self, key: ObjectKey, known: Known) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= KNOWN_OBJECTS_MAX {
            map.clear();
        }
        map.insert(key, known);
    }

    fn forget(&self, key: &ObjectKey) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The strong ETag of an object: its hash, quoted.
fn etag_of(key: &ObjectKey) -> Result<HeaderValue, ApiError> {
    HeaderValue::try_from(format!("\"{}\"", key.hash_hex())).map_err(ApiError::internal)
}

/// What the `Range` header asks for, resolved against the object's length.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// No usable `Range`: send the whole object (also for multi-range and malformed headers,
    /// which RFC 9110 lets a server ignore).
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

fn parse_range(header: Option<&HeaderValue>, len: u64) -> RangeRequest {
    let Some(spec) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| {
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match num(b) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part(len.saturating_sub(n)..len),
            None => RangeRequest::Whole,
        },
        // bytes=A-
        (false, true) => match num(a) {
            Some(start) if start >= len => RangeRequest::Unsatisfiable,
            Some(start) => RangeRequest::Part(start..len),
            None => RangeRequest::Whole,
        },
        // bytes=A-B (B inclusive, clamped to the end)
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) if start > end => RangeRequest::Whole,
            (Some(start), Some(_)) if start >= len => RangeRequest::Unsatisfiable,
            (Some(start), Some(end)) => RangeRequest::Part(start..end.min(len - 1) + 1),
            _ => RangeRequest::Whole,
        },
        (true, true) => RangeRequest::Whole,
    }
}

/// `If-None-Match` matches a strong ETag by weak comparison (RFC 9110 §13.1.2).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
        })
}

#[utoipa::path(
    get,
    path = "/audio/{file}",
    tag = "audio",
    params(("file" = String, Path, description = "`<sha256 hex>.<opus|mp3|wav|json|vtt>`", example = "3f…9c.opus"), ("download" = Option<String>, Query, description = "Save-as name (1 to 100 of `A-Z a-z 0-9 . _ -`): answers with `Content-Disposition: attachment` (the player's download link; in redirect mode a `307` to a presigned S3 URL whose answer carries it)")),
    responses(
        (status = 200, description = "The whole file, streamed: audio, the timing manifest (`.json`) or WebVTT captions (`.vtt`)", content(("audio/ogg; codecs=opus"), ("audio/mpeg"), ("audio/wav"), (Object = "application/json"), ("text/vtt"))),
        (status = 206, description = "One byte range (`Range: bytes=…`) of the file", content(("audio/ogg; codecs=opus"), ("audio/mpeg"), ("audio/wav"), ("application/json"), ("text/vtt"))),
        (status = 304, description = "`If-None-Match` matched the ETag"),
        (status = 307, description = "With `[store] public_base_url`: the object's URL on the CDN or bucket (`Location`)"),
        (status = 400, description = "Not a valid file name", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 416, description = "Range not satisfiable; `Content-Range: bytes */LEN`", body = ErrorBody),
        (status = 503, description = "The audio store cannot be reached (`store-unavailable`); `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub async fn serve_file(
    State(files): State<Files>,
    file: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(name) = file.map_err(|e| ApiError::bad_request("invalid-key", e.body_text()))?;
    let key = ObjectKey::parse_file_name(&name)?;
    let download = download_name(req.uri().query())?;
    if let Some(url) = files.store.public_url(&key) {
        // A save-as request goes to a presigned URL that makes S3 send the attachment
        // header; it is good for a while only, so the redirect is not cached.
        if let Some(name) = &download {
            if let Some(signed) = files.store.download_url(&key, name).await {
                return redirect(&signed?, CACHE_NONE);
            }
        }
        return redirect(&url, CACHE_REDIRECT);
    }
    let attachment = download.as_deref().map(disposition).transpose()?;
    let known = files.known.get(&key);
    let etag = match &known {
        Some(k) => k.etag.clone(),
        None => etag_of(&key)?,
    };
    let headers = req.headers();
    if none_match(headers, etag.to_str().unwrap_or_default()) {
        // Content-addressed: a matching hash means the client's copy is this object, but
        // only answer for objects we actually hold.
        if known.is_none() {
            files.len(key, &etag).await?;
        }
        return Ok(response(StatusCode::NOT_MODIFIED, etag, Body::empty()));
    }
    // If-Range with another validator: the client's partial copy is stale; send it all.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes());
    let ranged = if_range_ok && headers.contains_key(header::RANGE);
    let head_only = req.method() == Method::HEAD;
    if !ranged && !head_only {
        // The common case in one store call: the length comes with the body.
        let body = files.get(key, None).await?;
        if known.is_none() {
            files.known.insert(
                key,
                Known {
                    len: body.len,
                    etag: etag.clone(),
                },
            );
        }
        let mut res = response(StatusCode::OK, etag, Body::from_stream(body.stream));
        content_headers(res.headers_mut(), key, body.len);
        attach(&mut res, attachment);
        return Ok(res);
    }
    let len = match &known {
        Some(k) => k.len,
        None => files.len(key, &etag).await?,
    };
    let range = if ranged {
        parse_range(headers.get(header::RANGE), len)
    } else {
        RangeRequest::Whole
    };
    let (status, range) = match range {
        RangeRequest::Whole => (StatusCode::OK, None),
        RangeRequest::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        RangeRequest::Unsatisfiable => return Err(StoreError::RangeNotSatisfiable { len }.into()),
    };
    let body_len = range.as_ref().map_or(len, |r| r.end - r.start);
    let body = if head_only || body_len == 0 {
        Body::empty()
    } else {
        Body::from_stream(files.get(key, range.clone()).await?.stream)
    };
    let mut res = response(status, etag, body);
    content_headers(res.headers_mut(), key, body_len);
    attach(&mut res, attachment);
    if let Some(r) = range {
        let cr = format!("bytes {}-{}/{len}", r.start, r.end - 1);
        res.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::try_from(cr).map_err(ApiError::internal)?,
        );
    }
    Ok(res)
}

/// `?download=NAME`: the player's download link. Browsers honour `<a download>` only on the
/// page's own origin; an embedded player's link points at this server, so the file itself
/// says "save me as NAME" (`Content-Disposition: attachment`; in redirect mode, through a
/// presigned S3 URL that asks S3 for it). NAME is 1 to 100 of `A-Z a-z 0-9 . _ -`, so it
/// needs no quoting or encoding in the header.
fn download_name(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(name) = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "download")
        .map(|(_, v)| v.into_owned())
    else {
        return Ok(None);
    };
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.starts_with('.');
    if !ok {
        return Err(ApiError::bad_request(
            "invalid-download-name",
            "download: 1 to 100 of A-Z a-z 0-9 . _ -, not starting with a dot",
        ));
    }
    Ok(Some(name))
}

/// The `Content-Disposition` of a download saved as `name` (validated by [`download_name`]).
fn disposition(name: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::try_from(format!("attachment; filename=\"{name}\"")).map_err(ApiError::internal)
}

fn attach(res: &mut Response, attachment: Option<HeaderValue>) {
    if let Some(v) = attachment {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
}

/// `307` to where the object is served directly; the method and `Range` carry over.
fn redirect(url: &str, cache: HeaderValue) -> Result<Response, ApiError> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    let h = res.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::try_from(url).map_err(ApiError::internal)?,
    );
    h.insert(header::CACHE_CONTROL, cache);
    Ok(res)
}

/// A response with the headers every answer for an object carries.
fn response(status: StatusCode, etag: HeaderValue, body: Body) -> Response {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, CACHE_FOREVER);
    h.insert(header::ETAG, etag);
    res
}

fn content_headers(h: &mut HeaderMap, key: ObjectKey, body_len: u64) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(key.kind().content_type()),
    );
    h.insert(header::ACCEPT_RANGES, BYTES);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
}

impl Files {
    /// The object's length, from memory or (once) from the store.
    async fn len(&self, key: ObjectKey, etag: &HeaderValue) -> Result<u64, StoreError> {
        let len = self.store.len(&key).await?;
        self.known.insert(
            key,
            Known {
                len,
                etag: etag.clone(),
            },
        );
        Ok(len)
    }

    /// Stream the object; a missing object is forgotten.
    async fn get(
        &self,
        key: ObjectKey,
        range: Option<Range<u64>>,
    ) -> Result<ObjectBody, StoreError> {
        let got = self.store.get(&key, range).await;
        if let Err(StoreError::NotFound) = got {
            self.known.forget(&key);
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_range, RangeRequest::*};
    use axum::http::HeaderValue;

    fn p(s: &str, len: u64) -> super::RangeRequest {
        parse_range(Some(&HeaderValue::from_str(s).unwrap()), len)
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(p("bytes=0-0", 10), Part(0..1));
        assert_eq!(p("bytes=2-5", 10), Part(2..6));
        assert_eq!(p("bytes=2-500", 10), Part(2..10));
        assert_eq!(p("bytes=4-", 10), Part(4..10));
        assert_eq!(p("bytes=-3", 10), Part(7..10));
        assert_eq!(p("bytes=-30", 10), Part(0..10));
        assert_eq!(p("bytes=10-", 10), Unsatisfiable);
        assert_eq!(p("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(p("bytes=-0", 10), Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), Unsatisfiable);
        assert_eq!(p("bytes=5-2", 10), Whole);
        assert_eq!(p("bytes=0-1,4-5", 10), Whole);
        assert_eq!(p("items=0-1", 10), Whole);
        assert_eq!(p("bytes=+1-2", 10), Whole);
        assert_eq!(p("bytes=x-", 10), Whole);
        assert_eq!(p("bytes=-", 10), Whole);
        assert_eq!(p("bytes=99999999999999999999999-", 10), Whole);
    }
}
