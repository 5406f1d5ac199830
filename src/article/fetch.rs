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
//! - **`allow_private`** is an exemption for *the configured origin only* (the template's,
//!   or a feed URL's, scheme, host and port): an intranet CMS at `http://10.0.0.5:8080` works,
//!   but a redirect from it to any other origin (another port on the same host included,
//!   allow-listed or not) must still reach a public address. Redirects are followed here,
//!   not by reqwest, so each hop is fetched by the client for its origin: the configured
//!   origin's resolver lets private addresses through, every other hop's does not.
//! - **Addresses are parsed as what they mean:** the `url` crate parses hosts the WHATWG
//!   way, so `2130706433`, `0177.0.0.1`, `0x7f000001` and `127.1` are all `127.0.0.1`, and
//!   every check uses the parsed host, never the text.
//! - **Userinfo** (`http://user:pass@host/`, or `http://public.example@10.0.0.1/`) is refused,
//!   in the configured URL and in redirects: it only ever serves to confuse.
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
    #[error("refused a URL with a user name or password in it (user@host)")]
    UserinfoRefused,
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
            SourceError::UserinfoRefused => "source-userinfo-refused",
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

/// Which hosts and addresses one fetcher may reach. Hosts are compared as the `url` crate
/// parsed them (lowercase names, canonical IP addresses), without a trailing dot.
#[derive(Debug)]
struct Guard {
    /// The origin the operator configured (template or feed URL): the only one
    /// `allow_private` exempts.
    home: reqwest::Url,
    allowed: Vec<String>,
    allow_private: bool,
}

fn norm_host(h: &str) -> String {
    h.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The host as parsed: an IP address for every numeric form, else the lowercased name.
fn parsed_host(url: &Url) -> Option<(String, Option<IpAddr>)> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some((ip.to_string(), Some(IpAddr::V4(ip)))),
        url::Host::Ipv6(ip) => Some((ip.to_string(), Some(IpAddr::V6(ip)))),
        url::Host::Domain(d) => Some((norm_host(d), None)),
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && parsed_host(a).map(|h| h.0) == parsed_host(b).map(|h| h.0)
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Guard {
    fn new(home: &Url, extra: &[String], allow_private: bool) -> Guard {
        let mut allowed: Vec<String> = parsed_host(home).map(|h| h.0).into_iter().collect();
        // Allow-list entries go through the same parser, so `2130706433` means 127.0.0.1.
        allowed.extend(extra.iter().filter_map(|h| {
            let h = norm_host(h.trim());
            if h.is_empty() {
                return None;
            }
            let bracketed = if h.contains(':') {
                format!("[{h}]")
            } else {
                h.clone()
            };
            Url::parse(&format!("http://{bracketed}/"))
                .ok()
                .and_then(|u| parsed_host(&u).map(|p| p.0))
                .or(Some(h))
        }));
        Guard {
            home: home.clone(),
            allowed,
            allow_private,
        }
    }

    /// Private addresses are allowed for this URL: `allow_private` and the configured origin.
    fn may_be_private(&self, url: &Url) -> bool {
        self.allow_private && same_origin(url, &self.home)
    }

    /// Before a request and on every redirect: scheme, userinfo, host allow-list, literal-IP
    /// address.
    fn check_url(&self, url: &Url) -> Result<(), SourceError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SourceError::BadResponse(format!(
                "refusing to fetch a `{}:` URL",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SourceError::UserinfoRefused);
        }
        let (host, ip) = parsed_host(url)
            .ok_or_else(|| SourceError::BadResponse(format!("{url} has no host")))?;
        if !self.allowed.contains(&host) {
            return Err(SourceError::HostNotAllowed(host));
        }
        if let Some(ip) = ip {
            if !is_public(ip) && !self.may_be_private(url) {
                return Err(SourceError::BlockedAddress(ip.to_string()));
            }
        }
        Ok(())
    }
}

/// DNS resolution that drops refused addresses, so no connection, on any hop, ever reaches
/// them (this is also what defeats DNS rebinding: the check is on the address actually
/// connected to). `exempt_host` is the configured origin's host in the client that fetches
/// only that origin (with `allow_private`); the other client exempts nothing.
struct GuardedResolver {
    exempt_host: Option<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let exempt = self.exempt_host.as_deref() == Some(norm_host(&host).as_str());
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
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

/// An HTTP client bound to one configured origin and the `[source]` fetch limits.
pub struct Fetcher {
    /// Fetches the configured origin (its resolver lets private addresses through when
    /// `allow_private`).
    home_client: reqwest::Client,
    /// Fetches every other origin: public addresses only.
    client: reqwest::Client,
    guard: Arc<Guard>,
    timeout_secs: u64,
    max_bytes: u64,
    max_redirects: usize,
}

impl Fetcher {
    /// `home` is the configured URL (the pull template with an ID, or the feed URL): its
    /// origin is the one `allow_private` exempts and its host the one always allowed.
    pub fn new(home: &Url, settings: &FetchSettings) -> Result<Fetcher, SourceError> {
        let guard = Guard::new(home, &settings.allow_hosts, settings.allow_private);
        if !home.username().is_empty() || home.password().is_some() {
            return Err(SourceError::UserinfoRefused);
        }
        let timeout_secs = settings.timeout_secs.max(1);
        let build = |exempt_host: Option<String>| {
            reqwest::Client::builder()
                .no_proxy()
                .dns_resolver(GuardedResolver { exempt_host })
                // Redirects are followed in `get`, hop by hop, each with the right client.
                .redirect(Policy::none())
                .timeout(Duration::from_secs(timeout_secs))
                .connect_timeout(Duration::from_secs(timeout_secs))
                .user_agent(concat!("audioby/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| SourceError::NotConfigured(format!("building the HTTP client: {e}")))
        };
        let exempt = guard
            .allow_private
            .then(|| parsed_host(home).map(|h| h.0))
            .flatten();
        Ok(Fetcher {
            home_client: build(exempt)?,
            client: build(None)?,
            guard: Arc::new(guard),
            timeout_secs,
            max_bytes: settings.max_bytes,
            max_redirects: settings.max_redirects,
        })
    }

    /// GET `url` and follow up to `max_redirects` redirects, checking every hop.
    async fn send(&self, mut url: Url, accept: &str) -> Result<reqwest::Response, SourceError> {
        let mut hops = 0;
        loop {
            self.guard.check_url(&url)?;
            let client = if same_origin(&url, &self.guard.home) {
                &self.home_client
            } else {
                &self.client
            };
            let resp = client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| self.classify(e))?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(location) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
            else {
                return Ok(resp);
            };
            if hops >= self.max_redirects {
                return Err(SourceError::TooManyRedirects(self.max_redirects));
            }
            hops += 1;
            url = url.join(location).map_err(|e| {
                SourceError::BadResponse(format!("{url} redirected to an invalid URL: {e}"))
            })?;
        }
    }

    /// GET `url` within every limit.
    #[tracing::instrument(name = "fetching from a source", skip_all, fields(url = %url))]
    pub async fn get(&self, url: Url, accept: &str) -> Result<Fetched, SourceError> {
        let fetch = async {
            let mut resp = self.send(url.clone(), accept).await?;
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

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_guard_checks_hosts_and_literal_addresses() {
        let g = Guard::new(
            &url("https://cms.example.com/a"),
            &["127.0.0.1".into(), "cdn.example.com".into()],
            true,
        );
        assert!(g.check_url(&url("https://CMS.example.com./x")).is_ok());
        assert!(matches!(
            g.check_url(&url("https://evil.example.net/x")),
            Err(SourceError::HostNotAllowed(_))
        ));
        // Allow-listed, but not the configured origin: allow_private does not extend to it.
        assert!(matches!(
            g.check_url(&url("http://127.0.0.1:9/x")),
            Err(SourceError::BlockedAddress(_))
        ));
        assert!(matches!(
            g.check_url(&url("file:///etc/passwd")),
            Err(SourceError::BadResponse(_))
        ));
        let home = Guard::new(&url("http://127.0.0.1:9/a/{id}"), &[], true);
        assert!(home.check_url(&url("http://127.0.0.1:9/x")).is_ok());
        let strict = Guard::new(&url("http://127.0.0.1:9/a"), &[], false);
        assert!(matches!(
            strict.check_url(&url("http://127.0.0.1:9/x")),
            Err(SourceError::BlockedAddress(_))
        ));
    }

    /// `allow_private` exempts the configured origin exactly: the same host on another port
    /// or scheme is checked as usual, in every numeric spelling of the address.
    #[test]
    fn allow_private_exempts_the_exact_origin_in_every_spelling() {
        let g = Guard::new(&url("http://127.0.0.1:8080/api/{id}"), &[], true);
        for same in [
            "http://127.0.0.1:8080/other",
            "http://2130706433:8080/x",
            "http://0177.0.0.1:8080/x",
            "http://0x7f000001:8080/x",
            "http://127.1:8080/x",
        ] {
            assert!(
                g.check_url(&url(same)).is_ok(),
                "{same} is the configured origin"
            );
        }
        for other in [
            "http://127.0.0.1:6379/",
            "http://2130706433/",
            "http://0177.0.0.1:9000/",
            "http://0x7f000001:22/",
            "http://127.1/",
            "https://127.0.0.1:8080/",
        ] {
            assert!(
                matches!(g.check_url(&url(other)), Err(SourceError::BlockedAddress(a)) if a == "127.0.0.1"),
                "{other} is another origin on a private address"
            );
        }
        // Without the exemption every spelling is the loopback address it means.
        let strict = Guard::new(
            &url("https://cms.example.com/"),
            &["127.0.0.1".into()],
            false,
        );
        for form in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
        ] {
            assert!(
                matches!(
                    strict.check_url(&url(form)),
                    Err(SourceError::BlockedAddress(_))
                ),
                "{form}"
            );
        }
        // An allow-list entry in a numeric spelling means the same address.
        let odd = Guard::new(
            &url("https://cms.example.com/"),
            &["2130706433".into()],
            false,
        );
        assert!(matches!(
            odd.check_url(&url("http://127.0.0.1/")),
            Err(SourceError::BlockedAddress(_))
        ));
    }

    #[test]
    fn urls_with_userinfo_are_refused() {
        let g = Guard::new(&url("https://cms.example.com/"), &[], true);
        for bad in [
            "https://user:pass@cms.example.com/x",
            "https://cms.example.com@127.0.0.1/x",
            "https://user@cms.example.com/x",
        ] {
            assert!(
                matches!(g.check_url(&url(bad)), Err(SourceError::UserinfoRefused)),
                "{bad}"
            );
        }
        assert!(matches!(
            Fetcher::new(
                &url("https://u:p@cms.example.com/a"),
                &FetchSettings::default()
            ),
            Err(SourceError::UserinfoRefused)
        ));
    }
}
