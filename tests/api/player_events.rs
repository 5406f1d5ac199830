//! Listening events: `POST /v1/events` (public, validated, rate-limited per client IP),
//! `GET /v1/articles/{id}/stats` (API key) and `audioby stats`, against the real server.
//! Events count only for articles with published audio, so each test publishes its own.
use crate::common;
use crate::http_hostile::article_with_audio;

use common::app::{spawn_app, spawn_app_with, TestApp, API_KEY};
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
    // The old counters, and the listen analytics (issue 16 part 8): both plays came from one
    // client (one IP, one user agent), so one unique listen; no listen reported how far it got.
    assert_eq!(
        stats,
        json!({"article": "story-1", "events": {"play": 2, "progress_25": 1, "progress_50": 1, "progress_75": 0, "progress_100": 0, "ratechange": 1, "error": 1,
            "unique_listens": 1, "listens": 0, "sentences": 0, "average_completion": 0.0, "dropoff": []}})
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

/// Four sentences, so each listen's furthest sentence shows in the drop-off.
const FOUR: &str = "The first sentence is here. The second one follows it. A third comes next. The fourth ends the story.";

/// Plays and `reach` reports from three client identities (two forwarded IPs through a
/// trusted proxy, and one IP with two user agents): unique listens, listens, drop-off and
/// average completion come out exactly, in the API and in `audioby stats` (`cli_env`: how the
/// CLI finds the database).
async fn analytics_from_three_clients(app: &TestApp, cli_env: &[(&str, &str)]) {
    let job = app.put_article_ready("four", json!({ "text": FOUR })).await;
    assert_eq!(job["status"], "ready", "{job}");
    let audio = app.get_json("/v1/articles/four/audio").await;
    let manifest = app
        .get_json(audio["manifest_url"].as_str().expect("a manifest URL"))
        .await;
    assert_eq!(
        manifest["segments"].as_array().unwrap().len(),
        4,
        "one segment per sentence: {manifest}"
    );
    let send = |ip: &'static str, ua: &'static str, body: Value| {
        app.client
            .post(app.url("/v1/events"))
            .header("x-forwarded-for", ip)
            .header("user-agent", ua)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body.to_string())
            .send()
    };
    let play = json!({"article": "four", "event": "play"});
    let reach = |listen: &str, i: u64| json!({"article": "four", "event": "reach", "value": i, "listen": listen});
    // Client A plays twice (a reload: one unique listen, two listens) and B, C once each.
    // A's first listen hears everything, its second stops at sentence 1 (reports going back
    // change nothing); B stops at sentence 0; C (A's address, another browser) at sentence 1.
    for (ip, ua, body) in [
        ("203.0.113.1", "Browser-A", play.clone()),
        ("203.0.113.1", "Browser-A", reach("listen-a-first", 0)),
        ("203.0.113.1", "Browser-A", reach("listen-a-first", 3)),
        ("203.0.113.1", "Browser-A", reach("listen-a-first", 2)),
        ("203.0.113.1", "Browser-A", play.clone()),
        ("203.0.113.1", "Browser-A", reach("listen-a-second", 1)),
        ("203.0.113.2", "Browser-A", play.clone()),
        ("203.0.113.2", "Browser-A", reach("listen-b-only1", 0)),
        ("203.0.113.1", "Browser-C", play.clone()),
        ("203.0.113.1", "Browser-C", reach("listen-c-only1", 0)),
        ("203.0.113.1", "Browser-C", reach("listen-c-only1", 1)),
    ] {
        let r = send(ip, ua, body.clone()).await.unwrap();
        assert_eq!(r.status(), 204, "{ip} {ua} {body}");
    }
    // Invalid reports: past the last sentence, without a listen, with a bad listen ID.
    for bad in [
        reach("listen-a-first", 4),
        json!({"article": "four", "event": "reach", "value": 1}),
        json!({"article": "four", "event": "reach", "value": 1, "listen": "x"}),
    ] {
        let r = send("203.0.113.9", "Browser-A", bad.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "invalid-event"
        );
    }

    let stats: Value = app.get_json_with_key("/v1/articles/four/stats").await;
    let e = &stats["events"];
    assert_eq!(e["play"], 4);
    assert_eq!(e["unique_listens"], 3, "A, B and C: {stats}");
    assert_eq!(e["listens"], 4);
    assert_eq!(e["sentences"], 4);
    // Furthest sentences 3, 1, 0, 1: reached by 4, 3, 1 and 1 listens of 4.
    assert_eq!(e["dropoff"], json!([1.0, 0.75, 0.25, 0.25]));
    // (4 + 2 + 1 + 2) sentences of 4 × 4.
    assert_eq!(e["average_completion"], json!(9.0 / 16.0));

    let cli = |args: &[&str]| {
        let mut cmd = common::audioby();
        cmd.args(args).arg("--data-dir").arg(&app.data_dir);
        for (k, v) in cli_env {
            cmd.env(k, v);
        }
        let out = common::run(&mut cmd, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json_out: Value = serde_json::from_str(&cli(&["stats", "four", "--json"])).unwrap();
    assert_eq!(json_out["four"], stats["events"]);
    let table = cli(&["stats", "four"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["four", "4", "0", "0", "0", "0", "0", "0", "3", "4", "56%"],
        "{table}"
    );
    // Sentence ⌊tenth × 4 / 10⌋ for each tenth: 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, then the last.
    assert_eq!(
        lines[2],
        "  reached    0%:100   10%:100   20%:100   30%:75    40%:75    50%:25    60%:25    70%:25    80%:25    90%:25   100%:25",
        "{table}"
    );
}

#[tokio::test]
async fn unique_listens_completion_and_dropoff_on_sqlite() {
    let app = spawn_app_with(|s| s.http.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    analytics_from_three_clients(&app, &[]).await;
}

#[tokio::test]
async fn unique_listens_completion_and_dropoff_on_postgres() {
    let url = common::postgres::fresh_database().await;
    let db = url.clone();
    let app = spawn_app_with(move |s| {
        s.http.trusted_proxies = vec!["127.0.0.0/8".into()];
        s.database.url = Some(db);
    })
    .await;
    analytics_from_three_clients(&app, &[("AUDIOBY_DATABASE__URL", &url)]).await;
}
