//! Publisher markers through the real server (issue 16, part 7): in HTML pushed and HTML pulled
//! from a CMS, `data-audioby-skip` and the configured skip class are not read, and
//! `data-audioby-only` content is, though the page hides it. Checked on what was spoken: the
//! sentences of the ready rendition's timing manifest. (Extraction itself: tests/text/markers.rs.)
use crate::common;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use common::app::*;
use serde_json::{json, Value};

/// The configured skip class. (No "audio" in it: the extractor drops elements with such class
/// names as page furniture anyway, which would hide whether the setting took effect.)
const SKIP_CLASS: &str = "not-spoken";

const PAGE: &str = r#"<html><head><title>Harbor ferry returns</title></head><body>
<p data-audioby-only hidden>You are listening to the Harbor Herald.</p>
<article>
<h1>Harbor ferry returns</h1>
<p>The passenger ferry returned to service on Monday.</p>
<p data-audioby-skip>Tap the map below to see the route.</p>
<div class="not-spoken"><p>Video: watch the ferry arrive at the south terminal.</p></div>
<p style="display:none" data-audioby-only>The photographs show the ferry at its berth.</p>
<p>Fares remain at three dollars for adults.</p>
</article></body></html>"#;

/// The spoken sentences of `id`'s ready audio, joined by newlines.
async fn spoken(app: &TestApp, id: &str) -> String {
    let audio = app.get_json(&format!("/v1/articles/{id}/audio")).await;
    assert_eq!(audio["status"], "ready", "{audio}");
    let manifest = app.get_json(audio["manifest_url"].as_str().unwrap()).await;
    manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_markers_honoured(text: &str) {
    for skipped in ["Tap the map", "watch the ferry arrive"] {
        assert!(!text.contains(skipped), "{skipped:?} was read:\n{text}");
    }
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} was not read:\n{text}"))
    };
    // Read though hidden, each at its place in the page.
    let (intro, body) = (at("You are listening"), at("The passenger ferry"));
    let (photos, fares) = (at("The photographs show"), at("Fares remain"));
    assert!(intro < body && photos < fares, "document order:\n{text}");
}

#[tokio::test]
async fn marked_content_is_skipped_or_read_in_pushed_and_pulled_html() {
    // A CMS on loopback that serves the page as HTML.
    let cms = Router::new().route(
        "/articles/{id}",
        get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cms_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, cms).await.unwrap() });
    let app = spawn_app_with(|s| {
        s.extract.skip_class = SKIP_CLASS.into();
        s.source.url_template = Some(format!("http://127.0.0.1:{cms_port}/articles/{{id}}"));
        s.source.fetch.allow_private = true;
    })
    .await;

    // Pushed.
    let job = app
        .put_article_ready("ferry-pushed", json!({ "html": PAGE }))
        .await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_markers_honoured(&spoken(&app, "ferry-pushed").await);

    // The same page without the markers: what they skipped is read, what they added is not,
    // so the assertions above hold because of the markers.
    let unmarked = PAGE
        .replace("data-audioby-skip", "data-x")
        .replace("data-audioby-only", "data-y")
        .replace(SKIP_CLASS, "plain-box");
    let job = app
        .put_article_ready("ferry-unmarked", json!({ "html": unmarked }))
        .await;
    assert_eq!(job["status"], "ready", "{job}");
    let text = spoken(&app, "ferry-unmarked").await;
    for read in ["Tap the map", "watch the ferry arrive", "Fares remain"] {
        assert!(text.contains(read), "{read:?} missing:\n{text}");
    }
    for hidden in ["You are listening", "The photographs show"] {
        assert!(!text.contains(hidden), "{hidden:?} read:\n{text}");
    }

    // Pulled: the first GET fetches the page from the CMS and queues its audio.
    let first: Value = app.get_json("/v1/articles/ferry-pulled/audio").await;
    let job = first["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a job for the pulled article: {first}"));
    let done = wait_job(&app.client, &app.base, job).await;
    assert_eq!(done["status"], "ready", "{done}");
    assert_markers_honoured(&spoken(&app, "ferry-pulled").await);
}
