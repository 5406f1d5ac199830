//! The one error type of the HTTP layer: every failure leaves as [`ErrorBody`],
//! `{"error": {"code", "message"}}`, with the right status. 5xx messages are opaque; the
//! cause is logged. Every conversion from a library error into [`ApiError`] lives here, so
//! the status and code of each failure can be read in one place.
use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::article::record::ArticleError;
use crate::article::source::SourceError;
use crate::pipeline::PipelineError;
use crate::player::events::EventError;
use crate::queue::QueueError;
use crate::store::StoreError;
use crate::synth::SynthError;
use crate::tts::TtsError;

/// Every error response: `{"error": {"code", "message"}}`. Built only by
/// [`ApiError::into_response`] and the readiness probe, and named by the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unknown-voice`, `unauthorized`, `not-found`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra response headers (`Retry-After`, `Content-Range`, `WWW-Authenticate`). Boxed:
    /// rare, and it keeps `Result<_, ApiError>` small.
    headers: Option<Box<HeaderMap>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: None,
        }
    }
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers
            .get_or_insert_with(Default::default)
            .insert(name, value);
        self
    }
    /// 503 with `Retry-After`: the queue is over its limit; clients should come back later
    /// instead of the server growing without bound.
    pub fn overloaded(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("the server is busy; retry in {retry_after_secs} s"),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }
    /// 507: the disk under the database or the audio store is full. The cause is logged;
    /// the client learns only that storage is full, and to come back later.
    pub fn storage_full(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "storage full");
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage-full",
            "the server is out of disk space; try again later",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("60"))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            self.headers.map(|h| *h).unwrap_or_default(),
            Json(ErrorBody::new(self.code, self.message)),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("no such file"),
            StoreError::InvalidKey => ApiError::bad_request(
                e.code(),
                "expected a file name like <64 hex>.opus (opus, mp3, wav, json, vtt)",
            ),
            StoreError::RangeNotSatisfiable { len } => {
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, e.code(), e.to_string())
                    .with_header(
                        header::CONTENT_RANGE,
                        HeaderValue::from_str(&format!("bytes */{len}"))
                            .unwrap_or(HeaderValue::from_static("bytes */0")),
                    )
            }
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "the audio store is unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    e.code(),
                    "the audio store is unavailable; try again shortly",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            StoreError::Backend(_) | StoreError::Config(_) => ApiError::internal(e),
            StoreError::Full(_) => ApiError::storage_full(&e),
        }
    }
}

/// The stable code for a status that a layer (not a handler) produced with no JSON body:
/// body limit, timeout, method not allowed, header limits.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers-too-large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad-request",
        _ => "internal",
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            _ => "malformed-json",
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<TtsError> for ApiError {
    fn from(e: TtsError) -> Self {
        match e {
            TtsError::UnknownVoice { .. }
            | TtsError::BadSpeed(_)
            | TtsError::UnknownSpeaker { .. } => ApiError::bad_request(e.code(), e.to_string()),
            TtsError::ShuttingDown => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<SynthError> for ApiError {
    fn from(e: SynthError) -> Self {
        match e {
            SynthError::EmptyText => ApiError::bad_request(e.code(), e.to_string()),
            SynthError::Input(_) => ApiError::bad_request(e.code(), e.to_string()),
            SynthError::Tts(t) => t.into(),
            SynthError::Audio(a) => ApiError::internal(a),
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::NotFound(id) => ApiError::not_found(format!("article `{id}` not found")),
            PipelineError::Queue(QueueError::Full(_)) => ApiError::overloaded(30),
            PipelineError::Queue(q) if q.is_storage_full() => ApiError::storage_full(&q),
            PipelineError::Store(e @ StoreError::Full(_)) => ApiError::storage_full(&e),
            PipelineError::Queue(q) if q.is_storage_fault() => {
                tracing::error!(error = %q, "database storage fault");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    q.code(),
                    "the database cannot take writes right now; try again shortly",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("10"))
            }
            // Down or restarting: the pool reconnects by itself, so the client may retry.
            PipelineError::Queue(q) if q.is_unavailable() => {
                tracing::warn!(error = %q, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            PipelineError::Tts(t) => t.into(),
            PipelineError::Source(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

/// A repository failure outside the pipeline's own calls reads the same as one inside them.
impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        PipelineError::from(e).into()
    }
}

/// A listening event: 400 when invalid, 404 for an article without published audio, 503 when
/// the counters are full, else a repository error.
impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::Invalid(_) => ApiError::bad_request(e.code(), e.to_string()),
            EventError::UnknownArticle(_) | EventError::NotReady(_) => {
                ApiError::new(StatusCode::NOT_FOUND, e.code(), e.to_string())
            }
            EventError::Lookup(e) => e.into(),
            EventError::Full => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string())
            }
            EventError::Repo(e) => e.into(),
        }
    }
}

/// The CMS failed us: 504 for a timeout, else 502, with the source's stable code. The
/// message is generic (the detail can name internal hosts and addresses); the detail is logged.
impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> Self {
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
            SourceError::UserinfoRefused => (
                StatusCode::BAD_GATEWAY,
                "the article source led to a URL with a user name or password, which is refused",
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
}

impl From<ArticleError> for ApiError {
    fn from(e: ArticleError) -> Self {
        match e {
            ArticleError::TooLong { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.code(), e.to_string())
            }
            e => ApiError::bad_request(e.code(), e.to_string()),
        }
    }
}

/// `Json<T>` whose rejections use the API error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Middleware: a response that a layer produced without a JSON body (body limit, timeout,
/// 405, path rejections) gets the `{"error": {"code", "message"}}` shape; its other headers
/// (`Retry-After`, `Allow`) stay.
pub async fn json_error_bodies(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is over the size limit".to_string(),
        StatusCode::REQUEST_TIMEOUT => {
            "the request took longer than the configured timeout".to_string()
        }
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut err = ApiError::new(status, code_for_status(status), message);
    err.headers = Some(Box::new(parts.headers));
    err.into_response()
}

/// Refuse requests whose headers exceed `limit` bytes with a JSON 431. (hyper's own, much
/// larger limits still apply before this and answer without a body.)
pub async fn limit_header_bytes(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > limit {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!("request headers are {size} bytes; the limit is {limit}"),
        )
        .into_response();
    }
    next.run(req).await
}
