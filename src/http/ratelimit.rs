//! Per-client-IP rate limiting for public endpoints that cost work (the article-audio GET,
//! listening events). A GCRA limiter (`governor`) keyed by the client address; over the
//! limit a client gets a JSON 429 with `Retry-After`. Apply it to a route with
//! `.route_layer(axum::middleware::from_fn_with_state(limiter, ratelimit::limit_per_ip))`.
//!
//! The client is the peer, unless the peer is one of `[http] trusted_proxies`: then it is
//! the nearest address in `Forwarded` (or else `X-Forwarded-For`) that is not a trusted
//! proxy, read from the right, since only the entries our own proxies added can be believed.
//! IPv6 clients are keyed by their /64, which one subscriber gets whole.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::rejection::ExtensionRejection as ConnectInfoRejection;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiError;
use crate::config::RateLimitSettings;

/// The reverse proxies whose forwarding headers are believed (`[http] trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<ipnet::IpNet>>);

impl TrustedProxies {
    /// Parse IPs and CIDRs; an entry that is neither is logged and skipped.
    pub fn parse(entries: &[String]) -> Self {
        let nets = entries
            .iter()
            .filter_map(|e| {
                let e = e.trim();
                let net = e
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(ipnet::IpNet::from));
                if net.is_err() {
                    tracing::warn!(entry = %e, "ignoring http.trusted_proxies entry: not an IP or CIDR");
                }
                net.ok()
            })
            .collect();
        Self(Arc::new(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request that arrived from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<String> = if headers.contains_key(header::FORWARDED) {
            headers
                .get_all(header::FORWARDED)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|element| {
                    element
                        .split(';')
                        .find_map(|pair| {
                            let (k, v) = pair.split_once('=')?;
                            k.trim()
                                .eq_ignore_ascii_case("for")
                                .then(|| v.trim().to_string())
                        })
                        .unwrap_or_default()
                })
                .collect()
        } else {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .collect()
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ip,
                // `unknown`, an obfuscated name or garbage: nothing further left is reliable.
                None => break,
            }
        }
        client
    }
}

/// One `for=` value or `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:80"`.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, a dual-stack socket's view of an IPv4 peer) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The limiter's key: the address, or for IPv6 its /64 (a subscriber's whole prefix).
fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// A shared per-IP limiter; cheap to clone.
#[derive(Clone)]
pub struct IpRateLimiter {
    inner: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    proxies: TrustedProxies,
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
        Self {
            inner,
            proxies: TrustedProxies::default(),
        }
    }

    /// Believe the forwarding headers of these proxies.
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// `Ok` if `ip` may proceed now, else the seconds until it may.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(l) = &self.inner else { return Ok(()) };
        l.check_key(&limit_key(ip)).map_err(|not_until| {
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

/// The client address the limiter used, as a request extension for the handler (listen
/// analytics hash it; it is never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Middleware: limit by the client IP (the peer, or what a trusted proxy says it forwarded).
pub async fn limit_per_ip(
    State(limiter): State<IpRateLimiter>,
    peer: Result<ConnectInfo<SocketAddr>, ConnectInfoRejection>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = peer
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let ip = limiter.proxies.client_ip(peer, req.headers());
    req.extensions_mut().insert(ClientIp(ip));
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

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into(), "junk".into()]);
        let h = |pairs: &[(&'static str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(*k, HeaderValue::from_str(v).unwrap());
            }
            m
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = h(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")]);
        // An untrusted peer's headers are ignored: anyone can send them.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.1"), &xff),
            ip("198.51.100.1")
        );
        // From a trusted proxy: the nearest untrusted hop, not the client-supplied leftmost.
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &xff), ip("203.0.113.7"));
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.0.0.2"), &xff),
            ip("203.0.113.7")
        );
        let fwd = h(&[(
            "forwarded",
            r#"for=6.6.6.6;proto=https, for="[2001:db8::7]:443";by=x"#,
        )]);
        assert_eq!(proxies.client_ip(ip("::1"), &fwd), ip("2001:db8::7"));
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &h(&[("forwarded", "for=unknown")])),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
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
