//! Pulling articles from a CMS. An unknown (or expired) article ID is fetched from
//! `source.url_template` with `{id}` replaced by the validated, percent-encoded ID; a JSON
//! answer is read through the configured JSON pointers, an HTML answer becomes the article's
//! `html`. The fetch itself goes through the SSRF-guarded [`Fetcher`] (`article::fetch`), bound
//! to the template's host.
use reqwest::Url;
use serde::{Deserialize, Serialize};

pub use super::fetch::SourceError;
use super::fetch::{FetchSettings, Fetched, Fetcher};
use super::record::ArticleError;
use super::{ArticleId, ArticleInput};

/// The pull source (`[source]`): the CMS URL template and how to read its answer, plus the
/// fetch limits that also apply to feeds (`audioby prefetch --feed`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceSettings {
    /// CMS URL with `{id}`, e.g. `https://cms.example.com/api/articles/{id}`. Unset = no pulls:
    /// unknown article IDs are 404.
    pub url_template: Option<String>,
    /// JSON pointers (RFC 6901) into a JSON answer. An HTML answer is used as `html`.
    pub fields: SourceFields,
    /// Timeout, size, redirect and address limits of every fetch (same `[source]` section).
    #[serde(flatten)]
    pub fetch: FetchSettings,
    /// A stored copy older than this is fetched again when asked for; 0 = never refetch.
    pub refresh_after_secs: u64,
    /// An ID the CMS answered 404 for is answered 404 from memory for this long, without
    /// asking the CMS again (anyone can request made-up IDs); 0 = always ask.
    pub not_found_cache_secs: u64,
}

impl Default for SourceSettings {
    fn default() -> Self {
        Self {
            url_template: None,
            fields: SourceFields::default(),
            fetch: FetchSettings::default(),
            refresh_after_secs: 3600,
            not_found_cache_secs: 300,
        }
    }
}

/// JSON pointer per article field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceFields {
    pub title: String,
    pub html: String,
    pub text: String,
    pub byline: String,
    pub url: String,
}

impl Default for SourceFields {
    fn default() -> Self {
        Self {
            title: "/title".into(),
            html: "/html".into(),
            text: "/text".into(),
            byline: "/byline".into(),
            url: "/url".into(),
        }
    }
}

impl From<ArticleError> for SourceError {
    fn from(e: ArticleError) -> Self {
        SourceError::Unusable {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The pull source: `[source].url_template` and its fetcher. A template that does not parse
/// is kept as an error, reported on each fetch (`source-not-configured`), so a bad config is
/// visible where it bites instead of silently turning pulls off.
pub struct PullSource {
    inner: Result<Pull, String>,
    refresh_after_secs: u64,
    not_found: NotFoundCache,
}

/// IDs the CMS recently answered 404 for, so made-up IDs cost the CMS one request per
/// `ttl`, not one per client request. Bounded: when full, expired entries go, and if that
/// frees nothing the oldest half goes.
struct NotFoundCache {
    ttl: std::time::Duration,
    seen: std::sync::Mutex<std::collections::HashMap<ArticleId, std::time::Instant>>,
}

const NOT_FOUND_CACHE_MAX: usize = 10_000;

impl NotFoundCache {
    fn contains(&self, id: &ArticleId) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(id).is_some_and(|at| at.elapsed() < self.ttl)
    }

    fn insert(&self, id: &ArticleId) {
        if self.ttl.is_zero() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= NOT_FOUND_CACHE_MAX {
            let ttl = self.ttl;
            seen.retain(|_, at| at.elapsed() < ttl);
            if seen.len() >= NOT_FOUND_CACHE_MAX {
                let mut ages: Vec<_> = seen.values().copied().collect();
                ages.sort();
                let cut = ages[ages.len() / 2];
                seen.retain(|_, at| *at > cut);
            }
        }
        seen.insert(id.clone(), std::time::Instant::now());
    }

    fn remove(&self, id: &ArticleId) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

struct Pull {
    template: String,
    fields: SourceFields,
    fetcher: Fetcher,
}

impl PullSource {
    /// `None` when no template is configured.
    pub fn from_settings(settings: &SourceSettings) -> Option<PullSource> {
        let template = settings.url_template.as_deref()?.trim();
        let inner = template_host(template)
            .map_err(|e| e.to_string())
            .and_then(|_host| {
                // template_host checked that the template parses with an ID in it.
                let home = Url::parse(&template.replace("{id}", "a")).map_err(|e| e.to_string())?;
                let fetcher = Fetcher::new(&home, &settings.fetch).map_err(|e| e.to_string())?;
                Ok(Pull {
                    template: template.to_string(),
                    fields: settings.fields.clone(),
                    fetcher,
                })
            });
        if let Err(e) = &inner {
            tracing::error!(error = %e, "source.url_template is unusable: pulls will fail");
        }
        Some(PullSource {
            inner,
            refresh_after_secs: settings.refresh_after_secs,
            not_found: NotFoundCache {
                ttl: std::time::Duration::from_secs(settings.not_found_cache_secs),
                seen: Default::default(),
            },
        })
    }

    /// Whether a copy stored at `updated_at_ms` should be fetched again at `now_ms`.
    pub fn is_expired(&self, updated_at_ms: i64, now_ms: i64) -> bool {
        self.refresh_after_secs > 0
            && now_ms.saturating_sub(updated_at_ms)
                >= (self.refresh_after_secs as i64).saturating_mul(1000)
    }

    /// Fetch one article from the CMS. The caller builds (extracts) the record.
    pub async fn fetch(&self, id: &ArticleId) -> Result<ArticleInput, SourceError> {
        let pull = self
            .inner
            .as_ref()
            .map_err(|e| SourceError::NotConfigured(e.clone()))?;
        if self.not_found.contains(id) {
            return Err(SourceError::NotFound(format!(
                "{id} (the source answered 404 recently; not asked again)"
            )));
        }
        let url = article_url(&pull.template, id)?;
        let fetched = pull
            .fetcher
            .get(url, "application/json, text/html;q=0.9, text/plain;q=0.5")
            .await;
        match &fetched {
            Err(SourceError::NotFound(_)) => self.not_found.insert(id),
            Ok(_) => self.not_found.remove(id),
            Err(_) => {}
        }
        input_from_response(&fetched?, &pull.fields)
    }
}

/// The template's host; the template must hold `{id}` in its path or query, not its host.
fn template_host(template: &str) -> Result<String, SourceError> {
    let bad =
        |why: &str| SourceError::NotConfigured(format!("source.url_template {template:?}: {why}"));
    if !template.contains("{id}") {
        return Err(bad("it has no `{id}`"));
    }
    let a = Url::parse(&template.replace("{id}", "a")).map_err(|e| bad(&e.to_string()))?;
    let b = Url::parse(&template.replace("{id}", "b")).map_err(|e| bad(&e.to_string()))?;
    if !matches!(a.scheme(), "http" | "https") {
        return Err(bad("use an http or https URL"));
    }
    match (a.host_str(), b.host_str()) {
        (Some(h), Some(h2)) if h == h2 && a.port() == b.port() => Ok(h.to_string()),
        _ => Err(bad("`{id}` must be in the path or query, not the host")),
    }
}

/// The template with `{id}` replaced by the percent-encoded ID (only RFC 3986 unreserved
/// characters stay as they are).
pub fn article_url(template: &str, id: &ArticleId) -> Result<Url, SourceError> {
    let mut enc = String::with_capacity(id.as_str().len());
    for b in id.as_str().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let raw = template.replace("{id}", &enc);
    Url::parse(&raw).map_err(|e| {
        SourceError::NotConfigured(format!(
            "source.url_template gives an invalid URL {raw:?}: {e}"
        ))
    })
}

/// JSON → the configured pointers; HTML → `html`; plain text → `text`.
fn input_from_response(f: &Fetched, fields: &SourceFields) -> Result<ArticleInput, SourceError> {
    let body = f.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&f.body);
    let ct = f.content_type.as_str();
    let looks_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if ct == "application/json" || ct.ends_with("+json") || (ct.is_empty() && looks_json) {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| SourceError::BadResponse(format!("invalid JSON: {e}")))?;
        let field = |ptr: &str| -> Option<String> {
            if ptr.is_empty() {
                return None;
            }
            v.pointer(ptr)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
        };
        let html = field(&fields.html);
        // `html` keeps headings and paragraphs; plain text is the fallback.
        let text = if html.is_some() {
            None
        } else {
            field(&fields.text)
        };
        if html.is_none() && text.is_none() {
            return Err(SourceError::BadResponse(format!(
                "the JSON has no text at `{}` or `{}`",
                fields.html, fields.text
            )));
        }
        return Ok(ArticleInput {
            title: field(&fields.title),
            byline: field(&fields.byline),
            html,
            text,
            url: field(&fields.url),
            voice: None,
            ..Default::default()
        });
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let url = Some(f.url.to_string());
    match ct {
        "text/html" | "application/xhtml+xml" | "" => Ok(ArticleInput {
            title: None,
            byline: None,
            html: Some(text),
            text: None,
            url,
            voice: None,
            ..Default::default()
        }),
        "text/plain" => Ok(ArticleInput {
            title: None,
            byline: None,
            html: None,
            text: Some(text),
            url,
            voice: None,
            ..Default::default()
        }),
        other => Err(SourceError::BadResponse(format!(
            "unexpected content type `{other}` (want JSON, HTML or plain text)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_into_the_template() {
        let id = ArticleId::parse("2026:a.b_c-1").unwrap();
        let url = article_url("https://cms.example.com/api/articles/{id}?full=1", &id).unwrap();
        assert_eq!(
            url.as_str(),
            "https://cms.example.com/api/articles/2026%3Aa.b_c-1?full=1"
        );
    }

    #[test]
    fn stored_copies_expire_after_refresh_after_secs() {
        let mut s = SourceSettings {
            url_template: Some("https://cms.example.com/a/{id}".into()),
            ..SourceSettings::default()
        };
        s.refresh_after_secs = 60;
        let src = PullSource::from_settings(&s).unwrap();
        assert!(!src.is_expired(1_000_000, 1_000_000 + 59_999));
        assert!(src.is_expired(1_000_000, 1_000_000 + 60_000));
        s.refresh_after_secs = 0;
        assert!(
            !PullSource::from_settings(&s)
                .unwrap()
                .is_expired(0, i64::MAX),
            "0 = never"
        );
        s.url_template = None;
        assert!(PullSource::from_settings(&s).is_none());
    }

    #[test]
    fn templates_must_keep_id_out_of_the_host() {
        assert!(template_host("https://cms.example.com/a/{id}").is_ok());
        assert!(template_host("https://{id}.example.com/a").is_err());
        assert!(template_host("https://cms.example.com/a").is_err());
        assert!(template_host("ftp://cms.example.com/{id}").is_err());
    }

    #[test]
    fn json_fields_follow_the_configured_pointers() {
        let fields = SourceFields {
            title: "/data/headline".into(),
            html: "/data/body".into(),
            ..SourceFields::default()
        };
        let f = Fetched {
            url: Url::parse("https://cms.example.com/a/1").unwrap(),
            content_type: "application/json".into(),
            body: br#"{"data": {"headline": "Budget passes", "body": "<p>The council voted.</p>"}, "byline": "A. Writer"}"#.to_vec(),
        };
        let input = input_from_response(&f, &fields).unwrap();
        assert_eq!(input.title.as_deref(), Some("Budget passes"));
        assert_eq!(input.html.as_deref(), Some("<p>The council voted.</p>"));
        assert_eq!(input.byline.as_deref(), Some("A. Writer"));
        assert!(input.text.is_none());
        let empty = Fetched {
            body: br#"{"title": "x"}"#.to_vec(),
            ..f
        };
        assert!(matches!(
            input_from_response(&empty, &fields),
            Err(SourceError::BadResponse(_))
        ));
    }
}
