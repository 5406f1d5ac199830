//! Auth, CORS, error shapes and limits, SSML, metrics and the generated API key, against the
//! real server on port 0 with the real voice.
use crate::common;

use audioby::startup::Application;
use common::app::*;
use common::*;
use serde_json::{json, Value};

/// Thirty different sentences: minutes of audio, many seconds of synthesis (no two share a
/// cached segment).
fn thirty_sentences() -> String {
    (1..=30)
        .map(|i| format!("On day {i} the council debated the plan for the river at length. "))
        .collect()
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "status {status}: content-type {ct:?}"
    );
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    (status, v["error"]["code"].as_str().unwrap().to_string())
}

/// `GET path`, no key.
async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

/// `POST path` with a JSON body; `with` adds what the case tests (a key, an origin) or nothing.
async fn post_with(
    app: &TestApp,
    path: &str,
    body: &Value,
    with: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    with(app.client.post(app.url(path)).json(body))
        .send()
        .await
        .unwrap()
}

/// The one origin the CORS test allows.
const NEWS: &str = "https://news.example";

#[track_caller]
fn assert_allows_news_origin(r: &reqwest::Response) {
    assert_eq!(r.headers()["access-control-allow-origin"], NEWS);
}

/// A comma-separated list header, lower-cased.
fn header_list(r: &reqwest::Response, name: &str) -> String {
    r.headers()[name].to_str().unwrap().to_ascii_lowercase()
}

#[tokio::test]
async fn writes_and_synthesis_need_a_valid_key() {
    let app = spawn_app().await;
    let body = json!({"text": "Hello.", "format": "wav"});
    let oai =
        json!({"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav"});
    for (path, body) in [("/v1/synthesize", &body), ("/v1/audio/speech", &oai)] {
        let r = post_with(&app, path, body, |r| r).await;
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            error_of(r).await,
            (401, "unauthorized".into()),
            "{path} without key"
        );
        for bad in [
            "wrong-key",
            "test-key-012345678",
            "test-key-01234567890",
            "",
        ] {
            let r = post_with(&app, path, body, |r| r.bearer_auth(bad)).await;
            assert_eq!(
                error_of(r).await,
                (401, "unauthorized".into()),
                "{path} with {bad:?}"
            );
        }
        let basic = format!("Basic {API_KEY}");
        let r = post_with(&app, path, body, |r| r.header("authorization", basic)).await;
        assert_eq!(r.status(), 401);
        let r = post_with(&app, path, body, |r| r.bearer_auth(API_KEY)).await;
        assert_eq!(r.status(), 200, "{path} with the key");
        let d = decode_symphonia(&r.bytes().await.unwrap(), "wav");
        assert!(d.rms() > 0.01);
    }
    // Public endpoints need no key.
    for path in [
        "/healthz",
        "/readyz",
        "/v1/voices",
        "/v1/audio/voices",
        "/metrics",
        "/openapi.json",
    ] {
        assert_eq!(get(&app, path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn generated_key_is_private_printed_once_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.http.api_keys.clear();
    let app = Application::build_with_engine(settings.clone(), engine())
        .await
        .unwrap();
    let file = dir.path().join("api-key");
    let key = std::fs::read_to_string(&file).unwrap();
    assert_eq!(key.len(), 64, "256 random bits, hex");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let body = json!({"text": "Hi there.", "format": "wav"});
    // `POST /v1/synthesize` on the server at `port`, with `key` if given: the status.
    let synthesize = |port: u16, key: Option<&str>| {
        let req = client
            .post(format!("http://127.0.0.1:{port}/v1/synthesize"))
            .json(&body);
        let req = match key {
            Some(key) => req.bearer_auth(key),
            None => req,
        };
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(synthesize(port, None).await, 401);
    assert_eq!(synthesize(port, Some(&key)).await, 200);
    // A restart reuses the key.
    let app2 = Application::build_with_engine(settings, engine())
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), key);
    let port2 = app2.port();
    tokio::spawn(app2.run_until_stopped());
    assert_eq!(synthesize(port2, Some(&key)).await, 200);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app_with(|s| s.http.cors_origins = vec![NEWS.into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/synthesize"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let r = preflight(NEWS).await.unwrap();
    assert!(r.status().is_success());
    assert_allows_news_origin(&r);
    let allowed = header_list(&r, "access-control-allow-headers");
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", NEWS)
        .send()
        .await
        .unwrap();
    assert_allows_news_origin(&r);
    let expose = header_list(&r, "access-control-expose-headers");
    assert!(
        expose.contains("content-range") && expose.contains("etag"),
        "{expose}"
    );
    // Errors carry CORS headers too, so the page can read them.
    let body = json!({"text": "x"});
    let r = post_with(&app, "/v1/synthesize", &body, |r| r.header("origin", NEWS)).await;
    assert_eq!(r.status(), 401);
    assert_allows_news_origin(&r);
}

#[tokio::test]
async fn layer_errors_are_json_too() {
    let app = spawn_app_with(|s| s.http.max_body_bytes = 10_000).await;
    // Body over the byte limit, with and without a content-length.
    let big = json!({"text": "word ".repeat(5_000)});
    assert_eq!(
        error_of(app.synthesize(big).await).await,
        (413, "too-large".into())
    );
    let chunks = futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000])));
    let r = app
        .client
        .post(app.url("/v1/synthesize"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 413);
    // Wrong method, unknown route, wrong content type, malformed and mistyped JSON.
    let r = get(&app, "/v1/synthesize").await;
    assert_eq!(error_of(r).await, (405, "method-not-allowed".into()));
    let r = get(&app, "/nope").await;
    assert_eq!(error_of(r).await, (404, "not-found".into()));
    let r = app
        .client
        .post(app.url("/v1/synthesize"))
        .bearer_auth(API_KEY)
        .body("{\"text\":\"hi\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (415, "unsupported-media-type".into()));
    let r = app
        .post_json("/v1/synthesize", &json!({"text": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 400);
    let r = app
        .post_json("/v1/synthesize", &json!({"text": "hi", "bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 400);
    // Unknown voice lists the voices.
    let r = app
        .synthesize(json!({"text": "Hi.", "voice": "nobody"}))
        .await;
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("en_US-joe-medium"),
        "{v}"
    );
    // Many header fields: hyper parses them (its limit of 100 is raised), our size limit decides.
    let mut req = app.client.get(app.url("/healthz"));
    for i in 0..200 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    assert_eq!(req.send().await.unwrap().status(), 200);
    let mut req = app.client.get(app.url("/healthz"));
    for i in 0..300 {
        req = req.header(format!("x-filler-{i}"), "y".repeat(100));
    }
    assert_eq!(
        error_of(req.send().await.unwrap()).await,
        (431, "headers-too-large".into())
    );
}

#[tokio::test]
async fn slow_non_streaming_request_times_out_with_json_408() {
    let app = spawn_app_with(|s| s.http.request_timeout_secs = 1).await;
    let text = thirty_sentences();
    // A 408 can only come from the timeout firing before the synthesis (many seconds for
    // thirty sentences) answered: a finished synthesis would have been a 200.
    let r = app.synthesize(json!({"text": text, "format": "wav"})).await;
    assert_eq!(error_of(r).await, (408, "timeout".into()));
}

#[tokio::test]
async fn ssml_input_speaks_with_breaks_and_reports_errors() {
    let app = spawn_app().await;
    let plain = app
        .synthesize(json!({"text": "Hello there. Goodbye now.", "format": "wav"}))
        .await;
    assert_eq!(plain.status(), 200);
    let plain = decode_symphonia(&plain.bytes().await.unwrap(), "wav");
    let ssml =
        r#"<speak><break time="1500ms"/>Hello there. <break time="2s"/> Goodbye now.</speak>"#;
    let r = app.synthesize(json!({"ssml": ssml, "format": "wav"})).await;
    assert_eq!(r.status(), 200);
    let d = decode_symphonia(&r.bytes().await.unwrap(), "wav");
    assert!(d.rms() > 0.01);
    // Leading 1.5 s of silence, and about 3 s longer overall than the plain text.
    let lead = (1.4 * d.sample_rate as f64) as usize;
    assert!(rms(&d.samples[..lead]) < 1e-4, "leading break is silent");
    assert!(
        d.duration() > plain.duration() + 2.5,
        "{} vs {}",
        d.duration(),
        plain.duration()
    );
    // Streamed SSML works too: the same leading silence and the same breaks. Checked against
    // the plain text, not against the whole SSML answer: each synthesis draws its own noise
    // (the voice's noise_w moves durations), so two runs of one text differ by up to a few
    // tenths of a second, and a 0.1 s tolerance between them failed once.
    let r = app
        .synthesize(json!({"ssml": ssml, "format": "opus", "stream": true}))
        .await;
    assert_eq!(r.status(), 200);
    let s = decode_opus(&r.bytes().await.unwrap());
    let lead = (1.4 * s.sample_rate as f64) as usize;
    assert!(
        rms(&s.samples[..lead]) < 1e-3,
        "streamed leading break is silent"
    );
    assert!(s.rms() > 0.01);
    assert!(
        s.duration() > plain.duration() + 2.5 && s.duration() < plain.duration() + 4.5,
        "streamed {} vs plain {}",
        s.duration(),
        plain.duration()
    );
    for (body, code) in [
        (
            json!({"ssml": "<speak>Hello <break></speak"}),
            "ssml-malformed",
        ),
        (
            json!({"ssml": "<speak>Hi.</speak>", "text": "Hi."}),
            "text-and-ssml",
        ),
        (
            json!({"ssml": "<speak><break time=\"1s\"/></speak>"}),
            "empty-text",
        ),
        (json!({"format": "mp3"}), "missing-text"),
    ] {
        assert_eq!(
            error_of(app.synthesize(body).await).await,
            (400, code.into())
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_synthesis() {
    let app = spawn_app().await;
    let r = app
        .synthesize(json!({"text": "Metrics test sentence.", "format": "wav"}))
        .await;
    assert_eq!(r.status(), 200);
    let _ = get(&app, &format!("/audio/{}.opus", "cd".repeat(32))).await;
    audioby::metrics::set_queue_depth(7);
    audioby::metrics::cache_lookup(true);
    let r = get(&app, "/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle));
    assert!(
        has("audioby_http_requests_total{method=\"POST\",route=\"/v1/synthesize\",status=\"200\"}"),
        "{text}"
    );
    assert!(
        has("audioby_http_requests_total{method=\"GET\",route=\"/audio/{file}\",status=\"404\"}"),
        "{text}"
    );
    assert!(
        has(
            "audioby_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/synthesize\""
        ),
        "{text}"
    );
    assert!(has("audioby_synthesis_real_time_factor_count"), "{text}");
    assert!(has("audioby_synthesis_total{source=\"direct\"}"), "{text}");
    assert!(has("audioby_cache_hit_ratio"), "{text}");
    assert!(
        !text.contains(&"cd".repeat(32)),
        "raw paths never become labels"
    );
    // The queue gauges are process-wide, and the pipelines of the tests running beside this
    // one in the binary write them too: set and render again until no write fell in between.
    let mut depth_shown = has("audioby_queue_depth 7");
    for _ in 0..20 {
        if depth_shown {
            break;
        }
        audioby::metrics::set_queue_depth(7);
        let text = get(&app, "/metrics").await.text().await.unwrap();
        depth_shown = text.lines().any(|l| l.starts_with("audioby_queue_depth 7"));
    }
    assert!(
        depth_shown,
        "the queue depth gauge is rendered as it was set"
    );
}

#[tokio::test]
async fn readyz_reports_checks() {
    let app = spawn_app().await;
    let v: Value = app.get_json("/readyz").await;
    assert_eq!(v["status"], "ready");
    assert_eq!(v["checks"]["voices"], "ok");
}

#[test]
fn overloaded_sets_retry_after() {
    use axum::response::IntoResponse;
    let r = audioby::http::ApiError::overloaded(30).into_response();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "30");
}

/// A full queue answers 503 with `Retry-After` and the JSON error shape instead of growing.
#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let app = spawn_app_with(|s| s.queue.max_queued = 1).await;
    // Long articles: the single worker stays busy with the first for seconds.
    let text = thirty_sentences();
    let put = |id: &str| {
        app.client
            .put(app.url(&format!("/v1/articles/{id}")))
            .bearer_auth(API_KEY)
            .json(&json!({"title": id, "text": format!("{id}. {text}")}))
            .send()
    };
    let first = put("first").await.unwrap();
    assert!(first.status().is_success(), "{}", first.status());
    // At most one job waits: whichever of these finds one already queued is refused.
    let second = put("second").await.unwrap();
    let third = put("third").await.unwrap();
    let refused = if second.status() == 503 {
        second
    } else {
        third
    };
    let retry = refused
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(retry.as_deref(), Some("30"));
    assert_eq!(error_of(refused).await, (503, "overloaded".into()));
}
