//! Per-client-IP rate limiting for public endpoints that cost work (the article-audio GET).
//! A GCRA limiter (`governor`) keyed by the peer address; over the limit a client gets a
//! JSON 429 with `Retry-After`. Apply it to a route with
//! `.route_layer(axum::middleware::from_fn_with_state(limiter, ratelimit::limit_per_ip))`.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::rejection::ExtensionRejection as ConnectInfoRejection;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiError;
use crate::config::RateLimitSettings;

/// A shared per-IP limiter; cheap to clone.
#[derive(Clone)]
pub struct IpRateLimiter {
    inner: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

impl IpRateLimiter {
    /// `per_minute == 0` disables limiting.
    pub fn new(settings: RateLimitSettings) -> Self {
        let inner = NonZeroU32::new(settings.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
            Arc::new(RateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            ))
        });
        Self { inner }
    }

    /// `Ok` if `ip` may proceed now, else the seconds until it may.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(l) = &self.inner else { return Ok(()) };
        l.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })?;
        // Forget idle clients now and then so the key map stays small.
        if l.len() > 10_000 {
            l.retain_recent();
        }
        Ok(())
    }
}

/// Middleware: limit by the connection's peer IP (the server is served with connect info).
/// Behind a reverse proxy every client shares the proxy's IP; put the limit in the proxy.
pub async fn limit_per_ip(
    State(limiter): State<IpRateLimiter>,
    peer: Result<ConnectInfo<SocketAddr>, ConnectInfoRejection>,
    req: Request,
    next: Next,
) -> Response {
    let ip = peer
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match limiter.check(ip) {
        Ok(()) => next.run(req).await,
        Err(secs) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("too many requests; retry in {secs} s"),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs.max(1)))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::connect_info::MockConnectInfo;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn app(limiter: IpRateLimiter, peer: [u8; 4]) -> Router {
        Router::new()
            .route("/x", get(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn_with_state(limiter, limit_per_ip))
            .layer(MockConnectInfo(SocketAddr::from((peer, 4000))))
    }

    async fn status(app: &Router) -> (StatusCode, Option<String>) {
        let r = app
            .clone()
            .oneshot(axum::http::Request::get("/x").body(Body::empty()).unwrap())
            .await
            .unwrap();
        (
            r.status(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string()),
        )
    }

    #[tokio::test]
    async fn burst_then_429_per_ip_and_other_ips_unaffected() {
        let limiter = IpRateLimiter::new(RateLimitSettings {
            per_minute: 1,
            burst: 3,
        });
        let a = app(limiter.clone(), [10, 0, 0, 1]);
        for i in 0..3 {
            assert_eq!(
                status(&a).await.0,
                StatusCode::OK,
                "request {i} is within the burst"
            );
        }
        let (s, retry) = status(&a).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry), "retry after {retry} s at 1/min");
        let b = app(limiter, [10, 0, 0, 2]);
        assert_eq!(
            status(&b).await.0,
            StatusCode::OK,
            "another IP has its own budget"
        );
    }

    #[tokio::test]
    async fn zero_disables() {
        let a = app(
            IpRateLimiter::new(RateLimitSettings {
                per_minute: 0,
                burst: 0,
            }),
            [10, 0, 0, 1],
        );
        for _ in 0..50 {
            assert_eq!(status(&a).await.0, StatusCode::OK);
        }
    }
}
