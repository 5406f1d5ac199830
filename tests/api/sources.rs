//! Sources against a real local CMS and feed host (axum on 127.0.0.1, port 0): pulls through
//! the real server (`GET /v1/articles/{id}/audio`), feeds through the real `audioby prefetch`
//! binary. Every refusal test also checks the target server was never reached.
use crate::common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::app::*;
use common::*;
use serde_json::{json, Value};

/// The fake CMS: what it serves, and a count of requests per path.
#[derive(Clone, Default)]
struct Cms {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Port of the *other* server (redirect target on another port).
    other_port: Arc<Mutex<u16>>,
    feeds: Arc<HashMap<&'static str, String>>,
}

impl Cms {
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn article(State(cms): State<Cms>, Path(id): Path<String>) -> Response {
    *cms.hits
        .lock()
        .unwrap()
        .entry(format!("/api/articles/{id}"))
        .or_default() += 1;
    let other = *cms.other_port.lock().unwrap();
    match id.as_str() {
        "known-1" | "elsewhere" => axum::Json(json!({
            "title": "Budget approved",
            "html": "<p>The city council approved the budget on Monday. Work on the new bridge starts in spring.</p>",
            "byline": "City desk",
        }))
        .into_response(),
        "plain:html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html><head><title>Rail services resume</title></head><body><article><h1>Rail services resume</h1><p>Trains ran again on Tuesday after the storm. Passengers were warned of delays.</p></article></body></html>",
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            axum::Json(json!({"title": "Late", "text": "This answer came too late."})).into_response()
        }
        "huge" => {
            // 4 MiB in 64 KiB chunks, streamed without Content-Length.
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let stream = futures::stream::iter((0..64).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone())));
            ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
        }
        "to-loopback" => redirect(&format!("http://127.0.0.1:{other}/api/articles/elsewhere")),
        s if s.starts_with("loop-") => {
            let n: u32 = s[5..].parse().unwrap_or(0);
            redirect(&format!("/api/articles/loop-{}", n + 1))
        }
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"error": "no such article"}))).into_response(),
    }
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn feed(State(cms): State<Cms>, Path(name): Path<String>) -> Response {
    match cms.feeds.get(name.as_str()) {
        Some(body) => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve(cms: Cms) -> SocketAddr {
    let app = Router::new()
        .route("/api/articles/{id}", get(article))
        .route("/feeds/{name}", get(feed))
        .with_state(cms);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The CMS and a second server on another port, both on 127.0.0.1.
async fn cms_pair() -> (Cms, u16, Cms, u16) {
    let (cms, other) = (Cms::default(), Cms::default());
    let other_port = serve(other.clone()).await.port();
    *cms.other_port.lock().unwrap() = other_port;
    let cms_port = serve(cms.clone()).await.port();
    (cms, cms_port, other, other_port)
}

async fn app_pulling_from(
    template: String,
    customize: impl FnOnce(&mut audioby::article::source::SourceSettings),
) -> TestApp {
    spawn_app_with(|s| {
        s.source.url_template = Some(template);
        s.source.fetch.timeout_secs = 1;
        s.source.fetch.max_bytes = 256 * 1024;
        customize(&mut s.source);
    })
    .await
}

/// An app pulling from the CMS at `127.0.0.1:{port}`, with `allow_private` set so it may.
async fn app_pulling_from_loopback(port: u16) -> TestApp {
    app_pulling_from(
        format!("http://127.0.0.1:{port}/api/articles/{{id}}"),
        |s| s.fetch.allow_private = true,
    )
    .await
}

async fn get_audio(app: &TestApp, id: &str) -> (u16, Value) {
    let r = app
        .client
        .get(app.url(&format!("/v1/articles/{id}/audio")))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn wait_job(app: &TestApp, job: &str) -> Value {
    common::app::wait_job(&app.client, &app.base, job).await
}

#[tokio::test]
async fn unknown_ids_are_404_and_known_ones_are_pulled_and_made_ready() {
    let (cms, port, _, _) = cms_pair().await;
    let app = app_pulling_from_loopback(port).await;

    let (status, body) = get_audio(&app, "missing-article").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not-found");
    assert_eq!(
        cms.hits("/api/articles/missing-article"),
        1,
        "the CMS was asked"
    );
    // Asked again (anyone can request made-up IDs): answered from memory, not the CMS.
    for _ in 0..5 {
        let (status, body) = get_audio(&app, "missing-article").await;
        assert_eq!(status, 404, "{body}");
    }
    assert_eq!(
        cms.hits("/api/articles/missing-article"),
        1,
        "a recent 404 is not fetched again"
    );

    // A JSON article: fetched on the first press, stored, queued, then ready.
    let (status, body) = get_audio(&app, "known-1").await;
    assert_eq!(status, 202, "{body}");
    let job = wait_job(&app, body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "ready", "{job}");
    let (status, body) = get_audio(&app, "known-1").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
    assert_eq!(
        cms.hits("/api/articles/known-1"),
        1,
        "a fresh stored copy is not fetched again"
    );
    let stored = app.get_json_with_key("/v1/articles/known-1").await;
    assert_eq!(stored["title"], "Budget approved");
    assert_eq!(stored["byline"], "City desk");

    // An HTML page, and an ID with `:` percent-encoded into the URL.
    let (status, body) = get_audio(&app, "plain:html").await;
    assert!(matches!(status, 200 | 202), "{status} {body}");
    assert_eq!(cms.hits("/api/articles/plain:html"), 1);
    let stored = app.get_json_with_key("/v1/articles/plain:html").await;
    let text = stored["blocks"].to_string();
    assert!(text.contains("Trains ran again on Tuesday"), "{stored}");
}

#[tokio::test]
async fn slow_and_huge_answers_are_clear_errors() {
    let (cms, port, _, _) = cms_pair().await;
    let app = app_pulling_from_loopback(port).await;

    // The CMS answers "slow" after 4 s, so a 504 shows that a timeout shorter than that, the
    // configured 1 s, was enforced (the default 10 s would have waited and answered 200).
    let (status, body) = get_audio(&app, "slow").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "source-timeout");
    assert_eq!(cms.hits("/api/articles/slow"), 1);

    let (status, body) = get_audio(&app, "huge").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "source-too-large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("size limit"),
        "{body}"
    );

    let (status, body) = get_audio(&app, "loop-0").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "source-too-many-redirects");
    assert_eq!(
        cms.hits("/api/articles/loop-3"),
        1,
        "three redirects are followed (the default limit)"
    );
    assert_eq!(cms.hits("/api/articles/loop-4"), 0, "the fourth is not");
}

/// The CMS itself is on loopback: refused unless `allow_private`, by the literal-IP check and,
/// for a name, at DNS resolution. Nothing connects.
#[tokio::test]
async fn loopback_cms_is_refused_unless_allowed() {
    let (cms, port, _, _) = cms_pair().await;
    for host in ["127.0.0.1", "localhost"] {
        let app =
            app_pulling_from(format!("http://{host}:{port}/api/articles/{{id}}"), |_| {}).await;
        let (status, body) = get_audio(&app, "known-1").await;
        assert_eq!(status, 502, "{host}: {body}");
        assert_eq!(
            body["error"]["code"], "source-blocked-address",
            "{host}: {body}"
        );
    }
    assert_eq!(
        cms.hits("/api/articles/known-1"),
        0,
        "no request reached the CMS"
    );
}

/// A CMS answering with a redirect to 127.0.0.1 on another port. `allow_private` exempts the
/// configured host only, so the redirect is refused by the allow-list, or, when 127.0.0.1 is
/// allow-listed, by the address check; it is followed only when 127.0.0.1 *is* the configured
/// host and `allow_private` is set.
#[tokio::test]
async fn redirects_to_loopback_are_refused_unless_allowed() {
    let (cms, port, other, _) = cms_pair().await;
    let via_localhost = format!("http://localhost:{port}/api/articles/{{id}}");

    let app = app_pulling_from(via_localhost.clone(), |s| s.fetch.allow_private = true).await;
    let (status, body) = get_audio(&app, "to-loopback").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "source-host-not-allowed", "{body}");

    let app = app_pulling_from(via_localhost, |s| {
        s.fetch.allow_private = true;
        s.fetch.allow_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let (status, body) = get_audio(&app, "to-loopback").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "source-blocked-address", "{body}");
    assert_eq!(
        cms.hits("/api/articles/to-loopback"),
        2,
        "the CMS was reached both times"
    );
    assert_eq!(
        other.hits("/api/articles/elsewhere"),
        0,
        "the redirect target never was"
    );

    // Even with allow_private, only the template's exact origin is exempt: a redirect to the
    // same host on another port (an internal service) is refused, never fetched (issue 19).
    let app = app_pulling_from_loopback(port).await;
    let (status, body) = get_audio(&app, "to-loopback").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "source-blocked-address", "{body}");
    assert_eq!(
        other.hits("/api/articles/elsewhere"),
        0,
        "a redirect off the template's origin is not followed"
    );
    // The template's own origin still works with allow_private (the known articles).
    let (status, body) = get_audio(&app, "known-1").await;
    assert!(matches!(status, 200 | 202), "{status} {body}");
    let stored = app.get_json_with_key("/v1/articles/known-1").await;
    assert_eq!(stored["title"], "Budget approved");
}

const GOOD_FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>City news</title>
<item><guid>council-budget</guid><title>Budget approved</title>
  <content:encoded><![CDATA[<p>The city council approved the budget on Monday.</p>]]></content:encoded></item>
<item><guid isPermaLink="true">https://news.example.com/2026/rail</guid><title>Rail services resume</title>
  <description>Trains ran again on Tuesday after the storm.</description></item>
</channel></rss>"#;

const MIXED_FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>More news</title>
<item><guid>harbour-open</guid><title>Harbour reopens</title><description>The harbour reopened to ferries this morning.</description></item>
<item><guid>harbour-open</guid><title>Harbour reopens (again)</title><description>A second item with the same GUID.</description></item>
<item><guid>gallery-17</guid><description><![CDATA[<p>* * *</p>]]></description></item>
</channel></rss>"#;

#[tokio::test(flavor = "multi_thread")]
async fn feeds_prefetch_good_items_and_report_bad_ones_without_stopping() {
    let cms = Cms {
        feeds: Arc::new(HashMap::from([
            ("good.xml", GOOD_FEED.to_string()),
            (
                "broken.xml",
                "<rss version=\"2.0\"><channel><title>Broken".to_string(),
            ),
            ("mixed.xml", MIXED_FEED.to_string()),
        ])),
        ..Cms::default()
    };
    let port = serve(cms).await.port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let feed = |name: &str| format!("http://127.0.0.1:{port}/feeds/{name}");
    let args: Vec<String> = ["good.xml", "broken.xml", "mixed.xml"]
        .iter()
        .flat_map(|n| ["--feed".to_string(), feed(n)])
        .collect();
    let run_prefetch = move |allow_private: &'static str| {
        let (args, data) = (args.clone(), data.clone());
        tokio::task::spawn_blocking(move || {
            let o = run(
                audioby()
                    .arg("prefetch")
                    .args(&args)
                    .arg("--json")
                    .arg("--data-dir")
                    .arg(&data)
                    .env("AUDIOBY_SOURCE__ALLOW_PRIVATE", allow_private),
                None,
            );
            let summary: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
            (
                o.status.code().unwrap_or(-1),
                summary,
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
    };

    // Without allow_private, the loopback feed host itself is refused, per feed.
    let (code, summary, stderr) = run_prefetch("false").await.unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["failed"], 3, "{summary}");
    for a in summary["articles"].as_array().unwrap() {
        assert!(a["error"].as_str().unwrap().contains("blocked"), "{a}");
    }

    let (code, summary, stderr) = run_prefetch("true").await.unwrap();
    assert_eq!(code, 1, "failures make the exit code non-zero: {stderr}");
    let articles = summary["articles"].as_array().unwrap();
    let by_id = |id: &str| {
        articles
            .iter()
            .filter(move |a| a["id"] == id)
            .collect::<Vec<_>>()
    };
    assert_eq!(summary["total"], 6, "{summary}");
    assert_eq!(
        summary["ready"], 3,
        "every good item is made, whatever failed around it: {summary}"
    );
    assert_eq!(summary["failed"], 3, "{summary}");

    assert_eq!(by_id("council-budget")[0]["status"], "ready");
    let hashed = audioby::article::feed::item_article_id("https://news.example.com/2026/rail");
    assert!(hashed.as_str().starts_with("feed-"));
    assert_eq!(
        by_id(hashed.as_str())[0]["status"],
        "ready",
        "a URL GUID maps to a hashed ID"
    );

    let broken = &by_id(&feed("broken.xml"))[0];
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"].as_str().unwrap().contains("malformed feed"),
        "{broken}"
    );

    let harbour = by_id("harbour-open");
    assert_eq!(harbour.len(), 2, "{summary}");
    assert!(
        harbour.iter().any(|a| a["status"] == "ready"),
        "the first item with the GUID is kept"
    );
    let dup = harbour
        .iter()
        .find(|a| a["status"] == "failed")
        .expect("the repeat fails");
    assert!(
        dup["error"].as_str().unwrap().contains("duplicate GUID"),
        "{dup}"
    );

    // An item whose only "text" is a row of asterisks: extraction now drops lines without a
    // word (issue 17's clutter rules), so it fails as a page with no article text.
    let gallery = &by_id("gallery-17")[0];
    assert_eq!(gallery["status"], "failed");
    let error = gallery["error"].as_str().unwrap();
    assert!(
        error.contains("no article text") && error.contains("[no-article]"),
        "{gallery}"
    );

    // The stored article carries the feed item's title and text.
    let db = audioby::queue::SqliteRepo::open(&dir.path().join("audioby.db"))
        .await
        .unwrap();
    use audioby::queue::ArticleRepo;
    let rec = db
        .article(&audioby::article::ArticleId::parse("council-budget").unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(rec.title.as_deref(), Some("Budget approved"));
    assert!(rec
        .blocks
        .iter()
        .any(|b| b.text.contains("approved the budget on Monday")));
}
