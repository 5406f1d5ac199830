//! The shared backend: an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph,
//! SeaweedFS …) through `object_store`'s `AmazonS3`, so every host of a scaled-out
//! deployment reads and writes the same objects. Opening checks the bucket once, so wrong
//! credentials or a missing bucket stop the process at startup with one clear line instead
//! of failing every job later.
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The `[store] kind = "s3"` settings. Credentials come from these keys or, when unset, the
/// standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    pub bucket: String,
    /// The S3 API's URL, e.g. `http://127.0.0.1:8333`. Unset = AWS, from `region`.
    pub endpoint: Option<String>,
    /// Unset = `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// A key prefix inside the bucket (`audioby/` …), so one bucket can hold several things.
    pub prefix: String,
    /// Path-style URLs (`endpoint/bucket/key`). Unset = true when an endpoint is given (what
    /// MinIO, Ceph and SeaweedFS expect), virtual-hosted style on AWS.
    pub path_style: Option<bool>,
    /// Where listeners fetch objects without passing through audioby (a CDN or the public
    /// bucket URL); an object's URL is this plus its key in the bucket (prefix included).
    /// Set, `/audio/…` answers with a redirect there.
    pub public_base_url: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

/// Secrets never reach a log line.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("public_base_url", &self.public_base_url)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .finish()
    }
}

impl S3Settings {
    /// The prefix as an object path (no leading or trailing slash); empty = none.
    pub(super) fn key_prefix(&self) -> &str {
        self.prefix.trim_matches('/')
    }

    /// Where the bucket is, for messages: `bucket "audio" at http://…`.
    fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("S3 bucket \"{}\" at {e}", self.bucket),
            None => format!("S3 bucket \"{}\"", self.bucket),
        }
    }
}

/// A dead store must answer fast: the HTTP routes turn the failure into a 503 and the job
/// queue retries with its own, longer backoff. `object_store`'s default (10 retries over up
/// to 3 minutes) would hold every request that long. The request timeout is off because
/// streamed responses last as long as a slow listener takes; a stalled read still times
/// out.
fn client_options(allow_http: bool) -> (ClientOptions, RetryConfig) {
    let options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout_disabled()
        .with_read_timeout(Duration::from_secs(30));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
    };
    (options, retry)
}

/// Build the client and check the bucket: it exists and these credentials may list it.
pub async fn open_s3(settings: &S3Settings) -> Result<Arc<dyn ObjectStore>, StoreError> {
    Ok(open_s3_with_signer(settings).await?.0)
}

/// How long a presigned download link stays valid. It is used at once (the browser follows
/// the redirect), so an hour only has to cover a slow start.
const DOWNLOAD_LINK_VALIDITY: Duration = Duration::from_secs(3600);

/// Presigned GETs of objects in the bucket, for downloads in redirect mode: S3 answers them
/// with the `response-content-disposition` the URL carries (signed, so it cannot be
/// changed), which a plain public URL or a CDN cannot be asked for.
#[derive(Debug)]
pub(super) struct Presigner {
    s3: AmazonS3,
    prefix: String,
}

impl Presigner {
    /// A URL on the S3 endpoint that serves the object at `path` (inside the prefix) with
    /// `Content-Disposition: attachment; filename="NAME"`. `name` is a validated save-as name
    /// (`A-Z a-z 0-9 . _ -`), so it needs no quoting.
    pub(super) async fn download_url(
        &self,
        path: &ObjectPath,
        name: &str,
    ) -> Result<String, StoreError> {
        let full = match self.prefix.as_str() {
            "" => path.clone(),
            prefix => ObjectPath::from(format!("{prefix}/{path}")),
        };
        let options = SignedUrlOptions::default().with_query([(
            "response-content-disposition",
            format!("attachment; filename=\"{name}\""),
        )]);
        let url = self
            .s3
            .signed_url_opts(Method::GET, &full, DOWNLOAD_LINK_VALIDITY, &options)
            .await?;
        Ok(url.to_string())
    }
}

/// [`open_s3`], plus a [`Presigner`] over the same client.
pub(super) async fn open_s3_with_signer(
    settings: &S3Settings,
) -> Result<(Arc<dyn ObjectStore>, Presigner), StoreError> {
    if settings.bucket.is_empty() {
        return Err(StoreError::Config(
            "[store] kind = \"s3\" needs a bucket (AUDIOBY_STORE__BUCKET)".into(),
        ));
    }
    // from_env reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION …;
    // explicit settings win.
    let mut b = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
    let allow_http = settings
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    if let Some(endpoint) = &settings.endpoint {
        b = b.with_endpoint(endpoint.trim_end_matches('/'));
    }
    let region = settings
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    b = b.with_region(region);
    let path_style = settings.path_style.unwrap_or(settings.endpoint.is_some());
    b = b.with_virtual_hosted_style_request(!path_style);
    if let Some(id) = &settings.access_key_id {
        b = b.with_access_key_id(id);
    }
    if let Some(secret) = &settings.secret_access_key {
        b = b.with_secret_access_key(secret);
    }
    if let Some(token) = &settings.session_token {
        b = b.with_token(token);
    }
    let (options, retry) = client_options(allow_http);
    let s3 = b
        .with_client_options(options)
        .with_retry(retry)
        .build()
        .map_err(|e| StoreError::Config(format!("{}: {e}", settings.describe())))?;
    let presigner = Presigner {
        s3: s3.clone(),
        prefix: settings.key_prefix().to_string(),
    };
    let store: Arc<dyn ObjectStore> = match settings.key_prefix() {
        "" => Arc::new(s3),
        prefix => Arc::new(PrefixStore::new(s3, prefix)),
    };
    check_bucket(store.as_ref(), settings).await?;
    Ok((store, presigner))
}

/// One list request: it needs the bucket to exist and the credentials to be valid and
/// allowed to read it.
async fn check_bucket(store: &dyn ObjectStore, settings: &S3Settings) -> Result<(), StoreError> {
    let first = store.list(None).next().await;
    let Some(Err(e)) = first else {
        return Ok(());
    };
    let place = settings.describe();
    let why = match &e {
        object_store::Error::NotFound { .. } => "no such bucket".to_string(),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            "access denied: check access_key_id / secret_access_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".to_string()
        }
        other => {
            let text = other.to_string();
            if text.contains("NoSuchBucket") {
                "no such bucket".to_string()
            } else if text.contains("InvalidAccessKeyId")
                || text.contains("SignatureDoesNotMatch")
                || text.contains("AccessDenied")
            {
                "access denied: check access_key_id / secret_access_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".to_string()
            } else {
                return Err(StoreError::Unavailable(format!("{place} cannot be reached: {text}")));
            }
        }
    };
    Err(StoreError::Config(format!("{place}: {why}")))
}
