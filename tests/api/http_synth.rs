//! The HTTP surface against the real server on port 0 with the real voice.
use crate::common;

use common::app::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn health_and_voices() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = app.get_json("/v1/voices").await;
    assert_eq!(v["voices"][0]["id"], "en_US-joe-medium");
    assert_eq!(v["voices"][0]["alias"], "joe");
}

#[tokio::test]
async fn synthesize_returns_audio_that_decodes() {
    let app = spawn_app().await;
    let r = app
        .synthesize(json!({"text": "The council approved the plan on Monday.", "format": "mp3"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    let d = decode_symphonia(&r.bytes().await.unwrap(), "mp3");
    assert!(d.duration() > 1.0 && d.rms() > 0.02);
}

#[tokio::test]
async fn synthesize_errors_are_json_with_stable_codes() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"text": "Hi.", "voice": "nobody"}),
            400,
            "unknown-voice",
        ),
        (
            json!({"text": "Hi.", "format": "flac"}),
            400,
            "unknown-format",
        ),
        (json!({"text": "   "}), 400, "empty-text"),
        (json!({"text": "Hi.", "speed": 10.0}), 400, "bad-speed"),
        (json!({"text": "a ".repeat(20_001)}), 413, "text-too-long"),
    ];
    for (body, status, code) in cases {
        let r = app.synthesize(body).await;
        assert_eq!(r.status().as_u16(), status, "{code}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code);
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let r = app
        .client
        .post(app.url("/v1/synthesize"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed-json");
}

#[tokio::test]
async fn oversized_headers_get_a_json_431() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "headers-too-large");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(1_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
