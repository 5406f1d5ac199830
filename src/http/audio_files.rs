//! `GET`/`HEAD /audio/{file}`: content-addressed audio, manifests and captions, streamed from
//! the store. Names are `<sha256>.<ext>`, so a URL never changes meaning: responses are
//! immutable, carry a strong ETag (the hash) and support single byte ranges (Safari and
//! seeking need them). Nothing but a parsed [`ObjectKey`] ever reaches the store.
use std::ops::Range;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{ApiError, AppState};
use crate::store::{ObjectKey, StoreError};

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub fn routes() -> Router<AppState> {
    Router::new().route("/audio/{file}", get(serve_file))
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
    params(("file" = String, Path, description = "`<sha256 hex>.<opus|mp3|wav|json|vtt>`", example = "3f…9c.opus")),
    responses(
        (status = 200, description = "The whole file, streamed", content_type = "audio/ogg"),
        (status = 206, description = "One byte range (`Range: bytes=…`)"),
        (status = 304, description = "`If-None-Match` matched the ETag"),
        (status = 400, description = "Not a valid file name", body = super::openapi::ErrorBody),
        (status = 404, description = "No such file", body = super::openapi::ErrorBody),
        (status = 416, description = "Range not satisfiable; `Content-Range: bytes */LEN`", body = super::openapi::ErrorBody),
    )
)]
pub async fn serve_file(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = file.map_err(|e| ApiError::bad_request("invalid-key", e.body_text()))?;
    let key = ObjectKey::parse_file_name(&name)?;
    let etag = format!("\"{}\"", key.hash_hex());
    let mut head = HeaderMap::new();
    head.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_FOREVER),
    );
    head.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(ApiError::internal)?,
    );
    if none_match(&headers, &etag) {
        // Content-addressed: a matching hash means the client's copy is this object, but
        // only answer for objects we actually hold.
        if state.store.exists(&key).await? {
            return Ok((StatusCode::NOT_MODIFIED, head).into_response());
        }
        return Err(StoreError::NotFound.into());
    }
    head.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(key.kind().content_type()),
    );
    head.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // If-Range with another validator: the client's partial copy is stale; send it all.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes());
    let ranged = if_range_ok && headers.contains_key(header::RANGE);
    if !ranged && method != Method::HEAD {
        // The common case in one store call: the length comes with the body.
        let body = state.store.get(&key, None).await?;
        head.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
        return Ok((StatusCode::OK, head, Body::from_stream(body.stream)).into_response());
    }
    let len = state.store.len(&key).await?;
    let range = if ranged {
        parse_range(headers.get(header::RANGE), len)
    } else {
        RangeRequest::Whole
    };
    let (status, range) = match range {
        RangeRequest::Whole => (StatusCode::OK, None),
        RangeRequest::Part(r) => {
            let cr = format!("bytes {}-{}/{len}", r.start, r.end - 1);
            head.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&cr).map_err(ApiError::internal)?,
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        RangeRequest::Unsatisfiable => return Err(StoreError::RangeNotSatisfiable { len }.into()),
    };
    let body_len = range.as_ref().map_or(len, |r| r.end - r.start);
    head.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    if method == Method::HEAD {
        return Ok((status, head).into_response());
    }
    let body = if body_len == 0 {
        Body::empty()
    } else {
        Body::from_stream(state.store.get(&key, range).await?.stream)
    };
    Ok((status, head, body).into_response())
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
