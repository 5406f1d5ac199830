//! Operations against a real server on port 0: readiness (voices and database) and the
//! request-header limits (JSON 431 from our layer, hyper's hard ceiling above it).
use crate::common;

use std::sync::Arc;

use audioby::backends::Backends;
use audioby::queue::SqliteRepo;
use common::app::*;
use serde_json::Value;

#[tokio::test]
async fn readyz_pings_the_database() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["checks"]["voices"], "ok", "{v}");
    assert_eq!(v["checks"]["database"], "ok", "{v}");
}

#[tokio::test]
async fn every_response_has_a_distinct_request_id() {
    let app = spawn_app().await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..3 {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(id.len() >= 8, "{id}");
        assert!(ids.insert(id), "request ids repeat: {ids:?}");
    }
    // A client's own id is kept.
    let r = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "client-chosen-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "client-chosen-1");
}

/// The real router, the real engine and store, on a real socket; only the queue is down.
#[tokio::test]
async fn readyz_is_503_json_when_the_database_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Arc::new(test_settings(dir.path()));
    // A repository whose database is down: every query fails with a closed pool. Readiness
    // only pings, so nothing else is reached.
    let down = SqliteRepo::open(&dir.path().join("down.db")).await.unwrap();
    down.close().await;
    let backends = Backends {
        queue: Arc::new(down),
        ..Backends::open(&settings).await.unwrap()
    };
    let store = backends.store.clone();
    let events = backends.queue.clone();
    let lexicon = Arc::new(audioby::text::lexicon::Lexicon::empty());
    let pipeline = audioby::pipeline::Pipeline::new(
        settings.pipeline(),
        common::engine(),
        Arc::clone(&lexicon),
        backends,
    );
    let state = audioby::http::AppState {
        settings,
        engine: common::engine(),
        lexicon,
        store,
        pipeline,
        events,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app =
        audioby::http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not-ready", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("database"),
        "{v}"
    );
    assert_eq!(v["checks"]["voices"], "ok", "{v}");
    assert_eq!(v["checks"]["database"], "database-error", "{v}");
    // The public answer names the failing check, not the cause.
    assert!(!v.to_string().contains("pool"), "{v}");
}

async fn header_error(app: &TestApp, bytes: usize) -> (u16, Value) {
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-filler", "a".repeat(bytes))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ct.starts_with("application/json"),
        "{bytes} B: {status} {ct}"
    );
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn oversized_headers_get_a_json_431() {
    let app = spawn_app().await;
    // Under the configured limit (16 KiB): served.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-filler", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Over it, up to far beyond: our JSON answer with a stable code.
    for bytes in [20 * 1024, 100 * 1024, 256 * 1024] {
        let (status, v) = header_error(&app, bytes).await;
        assert_eq!(status, 431, "{bytes} B: {v}");
        assert_eq!(v["error"]["code"], "headers-too-large", "{bytes} B: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("16384"),
            "{v}"
        );
    }
    // Many small header fields (each under any size limit) add up the same way.
    let mut req = app.client.get(app.url("/healthz"));
    for i in 0..90 {
        req = req.header(format!("x-filler-{i}"), "b".repeat(250));
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 431);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "headers-too-large", "{v}");
}

#[tokio::test]
async fn absurd_headers_are_still_refused() {
    let app = spawn_app().await;
    // 4 MiB of header: hyper's buffer ceiling refuses it before any routing. The connection
    // may be closed while the client is still writing, which is a refusal too.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-filler", "a".repeat(4 << 20))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 431);
    }
    // The server is still fine afterwards.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
