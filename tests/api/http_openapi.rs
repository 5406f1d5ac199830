//! `/openapi.json` matches the live routes: every documented path and method is routed (not
//! the router's "no such route" fallback, not 405), every route we serve is documented, every
//! status a route answered with is documented, and every JSON answer has the fields, names
//! and nesting of the schema the document gives for it.
use crate::common;

use std::collections::BTreeSet;

use common::app::*;
use serde_json::{json, Value};

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
    ("get", "/stats"),
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
    let mut answers = Vec::new();
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
            let json = is_json(&r);
            let body = r.text().await.unwrap_or_default();
            if json {
                answers.push((method.clone(), path.clone(), status.as_u16(), parse(&body)));
            }
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
    for s in [
        "SynthesizeRequest",
        "SpeechRequest",
        "ArticleInput",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(s), "{s}");
    }
    // What the routes answered to a bare request (mostly errors) is documented, field by field.
    for (method, path, status, body) in &answers {
        check_answer(&doc, method, path, *status, body);
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}

fn is_json(r: &reqwest::Response) -> bool {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Every success answer with a body says what it is: a JSON answer has a schema, anything else
/// names its content type. (Without this a JSON route could be documented as "200, some body".)
#[tokio::test]
async fn documented_success_answers_name_their_content_and_json_ones_have_a_schema() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/openapi.json").await;
    let mut json_answers = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                // No content: 204, 304, and redirects.
                if !(200..300).contains(&code) || code == 204 {
                    continue;
                }
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} {status}: no content type"));
                assert!(!content.is_empty(), "{method} {path} {status}");
                // A byte range of a JSON file is not a JSON document.
                if code == 206 {
                    continue;
                }
                if let Some(media) = content.get("application/json") {
                    let schema = &media["schema"];
                    assert!(
                        schema.get("$ref").is_some() || schema.get("type").is_some(),
                        "{method} {path} {status}: a JSON answer without a schema: {media}"
                    );
                    json_answers += 1;
                }
            }
        }
    }
    // Every JSON route counts: health, readiness, voices (2), articles (2), audio (2 + 202),
    // jobs (2), stats, the document itself, audio files (manifests).
    assert!(
        json_answers >= 14,
        "only {json_answers} JSON answers documented"
    );
}

/// The success answers of the JSON routes, from a real article through a real job, have
/// exactly the fields (names and nesting) that the document's schemas describe.
#[tokio::test]
async fn success_answers_match_their_documented_schemas() {
    // The article's audio is asked for more often than the public rate limit allows.
    let app = spawn_app_with(|s| s.http.rate_limit.per_minute = 0).await;
    let doc: Value = app.get_json("/openapi.json").await;
    let key = |r: reqwest::RequestBuilder| r.bearer_auth(API_KEY);
    let mut calls: Vec<(&str, String, Option<Value>)> = vec![
        ("get", "/healthz".into(), None),
        ("get", "/readyz".into(), None),
        ("get", "/v1/voices".into(), None),
        ("get", "/v1/audio/voices".into(), None),
    ];
    let article =
        json!({"title": "Schema check", "text": "One short sentence for the schema check."});
    calls.push(("put", "/v1/articles/schema-check".into(), Some(article)));
    let mut seen = BTreeSet::new();
    let mut job_id = None;
    let mut i = 0;
    while i < calls.len() {
        // Each long poll waits up to a minute; the job does not take ten.
        assert!(i < 30, "the article's audio never became ready: {seen:?}");
        let (method, path, body) = calls[i].clone();
        i += 1;
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = key(app.client.request(m, app.url(&path)));
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert!(is_json(&r), "{method} {path}: {status} is not JSON");
        let v = parse(&r.text().await.unwrap());
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        let template = template_of(&path);
        check_answer(&doc, method, &template, status, &v);
        seen.insert((method, template, status));
        // Follow the article through its job: PUT → audio (202) → job (long poll) → audio (200).
        if path == "/v1/articles/schema-check" && method == "put" {
            job_id = v["job"]["id"].as_str().map(str::to_owned);
            assert!(job_id.is_some(), "the PUT queued a job: {v}");
            calls.push(("get", "/v1/articles/schema-check".into(), None));
            calls.push(("get", "/v1/articles/schema-check/audio".into(), None));
        } else if method == "get" && path == "/v1/articles/schema-check/audio" && status == 202 {
            calls.push((
                "get",
                format!("/v1/jobs/{}?wait=60", job_id.as_ref().unwrap()),
                None,
            ));
            calls.push(("get", "/v1/articles/schema-check/audio".into(), None));
        } else if method == "get" && path == "/v1/articles/schema-check/audio" && status == 200 {
            calls.push(("get", "/v1/articles/schema-check/stats".into(), None));
            calls.push(("post", "/v1/articles/schema-check/audio".into(), None));
        } else if method == "post" && path == "/v1/articles/schema-check/audio" {
            calls.push((
                "delete",
                format!("/v1/jobs/{}", v["job_id"].as_str().unwrap()),
                None,
            ));
        }
    }
    for expected in [
        ("get", "/v1/articles/{id}/audio", 202),
        ("get", "/v1/articles/{id}/audio", 200),
        ("post", "/v1/articles/{id}/audio", 202),
        ("get", "/v1/jobs/{id}", 200),
        ("delete", "/v1/jobs/{id}", 200),
        ("get", "/v1/articles/{id}/stats", 200),
    ] {
        let expected = (expected.0, expected.1.to_string(), expected.2);
        assert!(
            seen.contains(&expected),
            "{expected:?} was not reached: {seen:?}"
        );
    }
}

fn template_of(path: &str) -> String {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["", "v1", "articles", _, rest @ ..] => format!("/v1/articles/{{id}}{}", suffix(rest)),
        ["", "v1", "jobs", _] => "/v1/jobs/{id}".into(),
        _ => path.into(),
    }
}

fn suffix(rest: &[&str]) -> String {
    rest.iter().map(|s| format!("/{s}")).collect()
}

/// `body`, answered by `method path` with `status`, is documented for that status and has
/// the fields of its schema.
fn check_answer(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let responses = &doc["paths"][path][method]["responses"];
    let response = &responses[status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which is not documented: {body}"
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status} answers JSON, documented without a JSON schema: {body}"
    );
    check_value(doc, schema, body, &format!("{method} {path} {status}"));
}

/// Compare a JSON value with a schema: an object has exactly the schema's properties (no
/// more, none missing), recursively through `$ref`, `allOf` (flattened fields), `oneOf`
/// (optional fields) and arrays.
fn check_value(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(variants) = schema["oneOf"].as_array() {
        // An optional field: null, or the one object variant.
        if value.is_null() {
            return;
        }
        let object = variants
            .iter()
            .find(|v| resolve(doc, v)["type"] != "null")
            .unwrap_or_else(|| panic!("{at}: no non-null variant in {schema}"));
        return check_value(doc, object, value, at);
    }
    match value {
        Value::Object(fields) => {
            let properties = properties(doc, &schema);
            if properties.is_empty() {
                // A map (`additionalProperties`) or a free-form object.
                return;
            }
            let got: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
            let documented: BTreeSet<&str> = properties.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                got, documented,
                "{at}: fields differ from the schema {schema}"
            );
            for (name, field_schema) in &properties {
                check_value(doc, field_schema, &fields[name], &format!("{at}.{name}"));
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                check_value(doc, &schema["items"], first, &format!("{at}[0]"));
            }
        }
        _ => {}
    }
}

fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "dangling {r}");
            resolve(doc, target)
        }
        None => schema.clone(),
    }
}

/// The properties of an object schema, with those of `allOf` parts (flattened structs).
fn properties(doc: &Value, schema: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(doc, &resolve(doc, part)));
    }
    out
}
