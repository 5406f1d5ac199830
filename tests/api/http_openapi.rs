//! `/openapi.json` matches the live routes: every documented path and method is routed (not
//! the router's "no such route" fallback, not 405), and every route we serve is documented.
use crate::common;

use common::app::*;
use serde_json::Value;

/// Routes the server serves. A module that adds routes adds them here and to `ApiDoc`.
const LIVE_ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/v1/voices"),
    ("post", "/v1/synthesize"),
    ("post", "/v1/audio/speech"),
    ("get", "/v1/audio/voices"),
    ("get", "/audio/{file}"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("put", "/v1/articles/{id}"),
    ("get", "/v1/articles/{id}"),
    ("get", "/v1/articles/{id}/audio"),
    ("post", "/v1/articles/{id}/audio"),
    ("get", "/v1/jobs/{id}"),
    ("delete", "/v1/jobs/{id}"),
    ("get", "/"),
    ("get", "/embed"),
    ("get", "/player.js"),
    ("get", "/player/{version}/player.js"),
    ("post", "/v1/events"),
    ("get", "/v1/articles/{id}/stats"),
];

fn concrete(path: &str) -> String {
    path.replace("{file}", &format!("{}.opus", "ab".repeat(32)))
        .replace("{id}", "openapi-test-id")
        .replace("{version}", "0123456789abcdef")
}

#[tokio::test]
async fn documented_paths_are_live_and_live_routes_are_documented() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| ["get", "post", "put", "delete", "patch", "head"].contains(&m.as_str()))
        {
            documented.push((method.clone(), path.clone()));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .client
                .request(m, app.url(&concrete(path)))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            assert_ne!(
                status, 405,
                "{method} {path} is documented but the method is not routed"
            );
            let fallback = status == 404 && body.contains("no such route");
            assert!(!fallback, "{method} {path} is documented but not routed");
        }
    }
    for (method, path) in LIVE_ROUTES {
        assert!(
            documented.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is live but not in /openapi.json"
        );
    }
    // And the fallback really is detectable, so the check above can fail.
    let r = app
        .client
        .get(app.url("/v1/not-a-route"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no such route"));
    // Schemas of the request bodies are there.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["SynthesizeRequest", "SpeechRequest", "ErrorBody"] {
        assert!(schemas.contains_key(s), "{s}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}
