//! The SSRF-guarded HTTP fetcher behind every article source: CMS pulls (`article::source`)
//! and feeds (`article::feed`). A fetcher is bound to one configured host (the pull template's
//! host, or a feed URL's host) and to the `[source]` fetch limits ([`FetchSettings`]).
//!
//! Every fetch is treated as an SSRF risk, because the URL (or the ID in it) comes from a
//! public request or a third-party feed:
//! - **Hosts:** each hop (the first request and every redirect) must be the configured host
//!   or one of `allow_hosts`; the redirect policy also caps hops at `max_redirects` and only
//!   follows `http`/`https`.
//! - **Addresses:** loopback, link-local, private (RFC 1918, `fc00::/7`, `100.64/10`,
//!   `0.0.0.0/8`, …), multicast and reserved addresses are refused. The check runs at
//!   connect time, for every hop, inside a DNS resolver that drops such addresses (so a name
//!   that resolves, or re-resolves, to `127.0.0.1` never gets a connection), and literal-IP
//!   URLs are checked before the request and in the redirect policy (they skip DNS). System
//!   proxies are ignored: a proxy would connect on our behalf, unchecked.
//! - **`allow_private`** is an exemption for *the configured host only* (the template's
//!   host, or a feed's own host): an intranet CMS at `10.0.0.5` works, but a redirect from it
//!   to any other host, allow-listed or not, must still reach a public address. So a CMS
//!   answering with a redirect to `127.0.0.1` is refused either by the allow-list
//!   (`source-host-not-allowed`) or, when `127.0.0.1` is allow-listed, by the address check
//!   (`source-blocked-address`); only a redirect to the configured host itself may stay
//!   private, and only with `allow_private`.
//! - **Limits:** one timeout covers connect, headers and body; the body is counted while it
//!   streams (Content-Length is a hint, never trusted) and the fetch stops past `max_bytes`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use reqwest::Url;
use serde::{Deserialize, Serialize};

/// The fetch limits of `[source]`, shared by pulls and feeds. They sit beside the pull keys
/// in the same section (`source.timeout_secs`, `AUDIOBY_SOURCE__TIMEOUT_SECS`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FetchSettings {
    /// Whole-fetch timeout (connect, headers and body), in seconds.
    pub timeout_secs: u64,
    /// Largest body accepted, counted while streaming (Content-Length is not trusted).
    pub max_bytes: u64,
    /// Redirects followed per fetch; every hop is checked against `allow_hosts`.
    pub max_redirects: usize,
    /// Hosts a fetch may reach, redirects included. Empty = the template's (or feed's) host only.
    pub allow_hosts: Vec<String>,
    /// Let the template's host (or a feed's own host) be on a loopback, link-local or private
    /// address, for an intranet CMS. Never extends to other hosts reached by redirect.
    pub allow_private: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 10,
            max_bytes: 5 * 1024 * 1024,
            max_redirects: 3,
            allow_hosts: Vec::new(),
            allow_private: false,
        }
    }
}

/// What can go wrong getting an article from a source (a CMS pull or a feed). The codes are
/// part of the API (`source-*`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("{0} answered 404 Not Found")]
    NotFound(String),
    #[error("the source did not answer within {0} s")]
    Timeout(u64),
    #[error("the source's answer is larger than the {0}-byte limit")]
    TooLarge(u64),
    #[error("refused to connect to {0}: loopback, link-local and private addresses are blocked (source.allow_private exempts the configured host only)")]
    BlockedAddress(String),
    #[error(
        "refused to fetch from host `{0}`: it is not the configured host or in source.allow_hosts"
    )]
    HostNotAllowed(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("bad answer from the source: {0}")]
    BadResponse(String),
    #[error("no usable pull source: {0}")]
    NotConfigured(String),
    /// The source answered, but the article cannot be read aloud (empty, no speakable text…).
    #[error("{message}")]
    Unusable { code: &'static str, message: String },
}

impl SourceError {
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::NotFound(_) => "source-not-found",
            SourceError::Timeout(_) => "source-timeout",
            SourceError::TooLarge(_) => "source-too-large",
            SourceError::BlockedAddress(_) => "source-blocked-address",
            SourceError::HostNotAllowed(_) => "source-host-not-allowed",
            SourceError::TooManyRedirects(_) => "source-too-many-redirects",
            SourceError::BadResponse(_) => "source-bad-response",
            SourceError::NotConfigured(_) => "source-not-configured",
            SourceError::Unusable { code, .. } => code,
        }
    }
}

/// A fetched body, within the limits.
#[derive(Debug)]
pub struct Fetched {
    /// Where the body finally came from (after redirects).
    pub url: Url,
    /// The media type, lowercased, without parameters (`application/json`).
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Which hosts and addresses one fetcher may reach. Host names are compared lowercased,
/// without a trailing dot or IPv6 brackets.
#[derive(Debug)]
struct Guard {
    /// The host the operator configured (template or feed host): the only one `allow_private`
    /// exempts.
    home: String,
    allowed: Vec<String>,
    allow_private: bool,
}

fn norm_host(h: &str) -> String {
    h.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl Guard {
    fn new(home: &str, extra: &[String], allow_private: bool) -> Guard {
        let home = norm_host(home);
        let mut allowed = vec![home.clone()];
        allowed.extend(extra.iter().map(|h| norm_host(h)).filter(|h| !h.is_empty()));
        Guard {
            home,
            allowed,
            allow_private,
        }
    }

    fn may_be_private(&self, host: &str) -> bool {
        self.allow_private && norm_host(host) == self.home
    }

    /// Before a request and on every redirect: scheme, host allow-list, literal-IP address.
    fn check_url(&self, url: &Url) -> Result<(), SourceError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SourceError::BadResponse(format!(
                "refusing to fetch a `{}:` URL",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .map(norm_host)
            .ok_or_else(|| SourceError::BadResponse(format!("{url} has no host")))?;
        if !self.allowed.contains(&host) {
            return Err(SourceError::HostNotAllowed(host));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !is_public(ip) && !self.may_be_private(&host) {
                return Err(SourceError::BlockedAddress(ip.to_string()));
            }
        }
        Ok(())
    }
}

/// DNS resolution that drops the addresses the guard refuses, so no connection, on any hop,
/// ever reaches them (this is also what defeats DNS rebinding: the check is on the address
/// actually connected to).
struct GuardedResolver(Arc<Guard>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.0);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let exempt = guard.may_be_private(&host);
            let (ok, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|a| exempt || is_public(a.ip()));
            if ok.is_empty() {
                let what = refused
                    .first()
                    .map_or_else(|| host.clone(), |a| format!("{host} ({})", a.ip()));
                return Err(Box::new(SourceError::BlockedAddress(what))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client bound to one configured host and the `[source]` fetch limits.
pub struct Fetcher {
    client: reqwest::Client,
    guard: Arc<Guard>,
    timeout_secs: u64,
    max_bytes: u64,
}

impl Fetcher {
    /// `home` is the configured host (template or feed URL host).
    pub fn new(home: &str, settings: &FetchSettings) -> Result<Fetcher, SourceError> {
        let guard = Arc::new(Guard::new(
            home,
            &settings.allow_hosts,
            settings.allow_private,
        ));
        let timeout_secs = settings.timeout_secs.max(1);
        let max_redirects = settings.max_redirects;
        let policy_guard = Arc::clone(&guard);
        let policy = Policy::custom(move |attempt| {
            // `previous` holds every URL already requested, the first one included.
            if attempt.previous().len() > max_redirects {
                return attempt.error(SourceError::TooManyRedirects(max_redirects));
            }
            match policy_guard.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(GuardedResolver(Arc::clone(&guard)))
            .redirect(policy)
            .timeout(Duration::from_secs(timeout_secs))
            .connect_timeout(Duration::from_secs(timeout_secs))
            .user_agent(concat!("audioby/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::NotConfigured(format!("building the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            guard,
            timeout_secs,
            max_bytes: settings.max_bytes,
        })
    }

    /// GET `url` within every limit.
    #[tracing::instrument(name = "fetching from a source", skip_all, fields(url = %url))]
    pub async fn get(&self, url: Url, accept: &str) -> Result<Fetched, SourceError> {
        self.guard.check_url(&url)?;
        let fetch = async {
            let mut resp = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| self.classify(e))?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
                return Err(SourceError::NotFound(resp.url().to_string()));
            }
            if !status.is_success() {
                return Err(SourceError::BadResponse(format!(
                    "{} answered HTTP {status}",
                    resp.url()
                )));
            }
            if resp.content_length().is_some_and(|n| n > self.max_bytes) {
                return Err(SourceError::TooLarge(self.max_bytes));
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .unwrap_or_default();
            let final_url = resp.url().clone();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
                if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                    return Err(SourceError::TooLarge(self.max_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                url: final_url,
                content_type,
                body,
            })
        };
        // reqwest's own timeout covers the body too; this one also bounds anything around it.
        tokio::time::timeout(Duration::from_secs(self.timeout_secs), fetch)
            .await
            .map_err(|_| SourceError::Timeout(self.timeout_secs))?
    }

    /// Recover our own refusal from reqwest's error chain, else name what went wrong.
    fn classify(&self, e: reqwest::Error) -> SourceError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if let Some(ours) = c.downcast_ref::<SourceError>() {
                return ours.clone();
            }
            cause = c.source();
        }
        if e.is_timeout() {
            return SourceError::Timeout(self.timeout_secs);
        }
        let mut msg = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            msg.push_str(": ");
            msg.push_str(&c.to_string());
            cause = c.source();
        }
        SourceError::BadResponse(msg)
    }
}

/// Publicly routable, i.e. none of loopback, private, link-local, shared, multicast,
/// documentation or reserved ranges. IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged
/// as the IPv4 address it carries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = a == 0                                  // 0.0.0.0/8 "this network"
        || a == 10                                        // 10/8 private
        || (a == 100 && (64..128).contains(&b))           // 100.64/10 shared (CGNAT)
        || a == 127                                       // loopback
        || (a == 169 && b == 254)                         // link-local
        || (a == 172 && (16..32).contains(&b))            // 172.16/12 private
        || (a == 192 && b == 0 && c == 0)                 // 192.0.0/24 protocol assignments
        || (a == 192 && b == 0 && c == 2)                 // TEST-NET-1
        || (a == 192 && b == 88 && c == 99)               // 6to4 relay anycast
        || (a == 192 && b == 168)                         // 192.168/16 private
        || (a == 198 && (18..20).contains(&b))            // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100)              // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)               // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0] == 0x0064 && s[1] == 0xff9b {
        return is_public_v4(embedded_v4(s[6], s[7])); // NAT64 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 6to4 2002::/16
    }
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || s[..6] == [0; 6]                               // ::/96 IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00                      // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80                      // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0                      // fec0::/10 site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00                      // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8)             // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // 100::/64 discard
    !blocked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be blocked");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn the_guard_checks_hosts_and_literal_addresses() {
        let g = Guard::new(
            "cms.example.com",
            &["127.0.0.1".into(), "cdn.example.com".into()],
            true,
        );
        assert!(g
            .check_url(&Url::parse("https://CMS.example.com./x").unwrap())
            .is_ok());
        assert!(matches!(
            g.check_url(&Url::parse("https://evil.example.net/x").unwrap()),
            Err(SourceError::HostNotAllowed(_))
        ));
        // Allow-listed, but not the configured host: allow_private does not extend to it.
        assert!(matches!(
            g.check_url(&Url::parse("http://127.0.0.1:9/x").unwrap()),
            Err(SourceError::BlockedAddress(_))
        ));
        assert!(matches!(
            g.check_url(&Url::parse("file:///etc/passwd").unwrap()),
            Err(SourceError::BadResponse(_))
        ));
        let home = Guard::new("127.0.0.1", &[], true);
        assert!(home
            .check_url(&Url::parse("http://127.0.0.1:9/x").unwrap())
            .is_ok());
        let strict = Guard::new("127.0.0.1", &[], false);
        assert!(matches!(
            strict.check_url(&Url::parse("http://127.0.0.1:9/x").unwrap()),
            Err(SourceError::BlockedAddress(_))
        ));
    }
}
