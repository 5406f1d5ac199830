//! Listening events: `POST /v1/events` (public, validated, rate-limited per client IP),
//! `GET /v1/articles/{id}/stats` (API key) and `audioby stats`, against the real server.
//! Events count only for articles with published audio, so each test publishes its own.
use crate::common;
use crate::http_hostile::article_with_audio;

use common::app::{spawn_app, API_KEY};
use serde_json::{json, Value};

#[tokio::test]
async fn events_are_validated_counted_and_shown_by_the_api_and_the_cli() {
    let app = spawn_app().await;
    article_with_audio(&app, "story-1").await;
    let post = |body: String| {
        app.client
            .post(app.url("/v1/events"))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };

    for (event, value) in [
        ("play", None),
        ("progress", Some(json!(25))),
        ("progress", Some(json!(50))),
        ("ratechange", Some(json!(1.5))),
        ("error", Some(json!("network"))),
    ] {
        let mut body = json!({"article": "story-1", "event": event});
        if let Some(v) = value {
            body["value"] = v;
        }
        let r = post(body.to_string()).await.unwrap();
        assert_eq!(r.status(), 204, "{event}");
    }
    // Also with a JSON content type (fetch) and no API key.
    let r = app
        .client
        .post(app.url("/v1/events"))
        .json(&json!({"article": "story-1", "event": "play"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    for bad in [
        json!({"article": "story-1", "event": "progress", "value": 33}),
        json!({"article": "story-1", "event": "download"}),
        json!({"article": "../etc/passwd", "event": "play"}),
        json!({"article": "story-1", "event": "ratechange", "value": 100}),
    ] {
        let r = post(bad.to_string()).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid-event");
    }
    let r = post("{not json".into()).await.unwrap();
    assert_eq!(r.status(), 400);

    // Stats need the API key.
    let r = app
        .client
        .get(app.url("/v1/articles/story-1/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(app.url("/v1/articles/story-1/stats"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stats: Value = r.json().await.unwrap();
    assert_eq!(
        stats,
        json!({"article": "story-1", "events": {"play": 2, "progress_25": 1, "progress_50": 1, "progress_75": 0, "progress_100": 0, "ratechange": 1, "error": 1}})
    );
    let r = app
        .client
        .get(app.url("/v1/articles/nothing-yet/stats"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["events"]["play"], 0);

    // The CLI reads the same counts from the data folder (written before the 204).
    let mut cmd = common::audioby();
    cmd.args(["stats", "story-1", "--json", "--data-dir"])
        .arg(&app.data_dir);
    let out = common::run(&mut cmd, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["story-1"], stats["events"]);
    let mut cmd = common::audioby();
    cmd.args(["stats", "--data-dir"]).arg(&app.data_dir);
    let out = common::run(&mut cmd, None);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("story-1") && l.split_whitespace().nth(1) == Some("2")),
        "{table}"
    );
}

#[tokio::test]
async fn one_client_is_rate_limited() {
    let app = spawn_app().await;
    article_with_audio(&app, "busy").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..40 {
        let r = app
            .client
            .post(app.url("/v1/events"))
            .body(r#"{"article":"busy","event":"play"}"#)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
    }
    assert_eq!(retry_after.as_deref(), Some("1"));
    let ok = statuses.iter().filter(|&&s| s == 204).count();
    assert!(
        (30..=32).contains(&ok),
        "a burst of about 30 is allowed: {statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), 429);
}
