//! Hostile and careless clients (issue 19, the HTTP side): slow and idle connections, the
//! connection cap under a low file limit, SIGTERM with half-sent requests, the events
//! endpoint's bounds, hyper's own error answers, `BEARER`, h2c, CORS for the embed, and a
//! whole synthesis whose client leaves. Deadlines are generous upper bounds of configured
//! timeouts, never speed claims.
use crate::common;
use crate::common::wait_until;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::app::*;
use common::server::*;
use serde_json::{json, Value};

/// Store a short article and wait until its audio is published.
pub async fn article_with_audio(app: &TestApp, id: &str) {
    let r = app
        .client
        .put(app.url(&format!("/v1/articles/{id}")))
        .bearer_auth(API_KEY)
        .json(&json!({"text": "A short story. It has two sentences."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "PUT {id}");
    let v: Value = r.json().await.unwrap();
    let job = match &v["job"]["id"] {
        Value::String(s) => s.clone(),
        Value::Null => return, // already published
        other => other.to_string(),
    };
    for _ in 0..20 {
        let j: Value = app
            .client
            .get(app.url(&format!("/v1/jobs/{job}?wait=30")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match j["status"].as_str() {
            Some("ready") => return,
            Some("failed" | "cancelled") => panic!("job for {id} ended: {j}"),
            _ => {}
        }
    }
    panic!("the audio of {id} was never published");
}

/// Read until the peer closes (Ok(0) or a reset); `false` if it is still open at `deadline`.
fn closed_within(stream: &mut TcpStream, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).unwrap()
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_timeout_while_healthz_answers() {
    let app = spawn_app_with(|s| s.http.header_read_timeout_secs = 1).await;
    let mut slow = connect(&app.base);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let closed =
        tokio::task::spawn_blocking(move || closed_within(&mut slow, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(
        closed,
        "a half-sent head is closed (timeout 1 s, waited 30 s)"
    );
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_timeout() {
    let app = spawn_app_with(|s| {
        s.http.keep_alive_timeout_secs = 1;
        s.http.header_read_timeout_secs = 600;
    })
    .await;
    let mut conn = connect(&app.base);
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let closed = tokio::task::spawn_blocking(move || {
        // The answer arrives first, then the close.
        closed_within(&mut conn, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert!(
        closed,
        "an idle kept-alive connection is closed (timeout 1 s, waited 30 s)"
    );
}

/// 300 idle connections against a server limited to 256 open files: the cap (kept under the
/// file limit) closes the idle ones to make room, so `/healthz` still answers. Timeouts are
/// set far out so that only the cap can help.
#[tokio::test]
async fn idle_connections_beyond_the_cap_do_not_starve_healthz() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server_with(
        data.path(),
        &[
            ("AUDIOBY_HTTP__HEADER_READ_TIMEOUT_SECS", "600"),
            ("AUDIOBY_HTTP__KEEP_ALIVE_TIMEOUT_SECS", "600"),
        ],
        |cmd| {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
            unsafe {
                cmd.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: 256,
                        rlim_max: 256,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let base = server.base.clone();
    let idle: Vec<TcpStream> = (0..300).map(|_| connect(&base)).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for i in 0..5 {
        let r = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("healthz {i} with 300 idle connections open: {e}"));
        assert_eq!(r.status(), 200);
    }
    drop(idle);
}

/// SIGTERM while one client has sent half a head and another is in the middle of a request
/// body: the half-sent one closes at once, the in-flight one at the shutdown bound, and the
/// process exits cleanly.
#[tokio::test]
async fn sigterm_with_half_sent_requests_exits_within_the_bound() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_server(
        data.path(),
        &[
            ("AUDIOBY_HTTP__HEADER_READ_TIMEOUT_SECS", "600"),
            ("AUDIOBY_HTTP__SHUTDOWN_TIMEOUT_SECS", "1"),
        ],
    );
    let mut half_head = connect(&server.base);
    half_head.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    let mut half_body = connect(&server.base);
    half_body
        .write_all(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"article\"",
        )
        .unwrap();
    // Whichever state the server has them in (head half read, body half read), both must
    // close by the shutdown bound.
    let r = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let end = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < end,
            "still running 30 s after SIGTERM (shutdown bound 1 s)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(closed_within(&mut half_head, Duration::from_secs(5)));
    assert!(closed_within(&mut half_body, Duration::from_secs(5)));
}

/// hyper answers requests it cannot parse itself; they get the API's JSON error too.
#[tokio::test]
async fn unparsable_requests_get_json_errors() {
    let app = spawn_app().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    for (raw, status, code) in [
        (
            "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".to_string(),
            400,
            "bad-request",
        ),
        (long_uri, 414, "uri-too-long"),
    ] {
        let mut conn = connect(&app.base);
        conn.write_all(raw.as_bytes()).unwrap();
        let answer = tokio::task::spawn_blocking(move || {
            conn.set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut out = Vec::new();
            let _ = conn.read_to_end(&mut out);
            String::from_utf8_lossy(&out).to_string()
        })
        .await
        .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], code, "{answer}");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_h2c_is_refused() {
    let app = spawn_app().await;
    for scheme in ["BEARER", "bearer", "Bearer"] {
        let r = app
            .client
            .get(app.url("/v1/articles/none/stats"))
            .header("authorization", format!("{scheme} {API_KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
    // HTTP/2 with prior knowledge, not configured: refused.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    assert!(h2.get(app.url("/healthz")).send().await.is_err());
    let app = spawn_app_with(|s| s.http.h2c = true).await;
    let r = h2.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
}

#[tokio::test]
async fn events_need_an_article_with_audio_and_a_small_body() {
    let app = spawn_app().await;
    let post = |body: String| {
        app.client
            .post(app.url("/v1/events"))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    let r = post(json!({"article": "made-up-1", "event": "play"}).to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unknown-article"
    );

    // Stored, but its audio is queued behind a long article: not playable yet.
    let seed: String = common::seed_article().chars().take(1500).collect();
    let r = app
        .client
        .put(app.url("/v1/articles/long-one"))
        .bearer_auth(API_KEY)
        .json(&json!({"text": seed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .put(app.url("/v1/articles/queued"))
        .bearer_auth(API_KEY)
        .json(&json!({"text": "Waiting its turn."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(json!({"article": "queued", "event": "play"}).to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "audio-not-ready"
    );

    article_with_audio(&app, "told").await;
    let r = post(json!({"article": "told", "event": "play"}).to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // A few KB at most: a padded event is refused before it is read whole.
    let big = json!({"article": "told", "event": "error", "value": "x".repeat(8000)}).to_string();
    let r = post(big).await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too-large"
    );
    let stats: Value = app.get_json_with_key("/v1/articles/made-up-1/stats").await;
    assert_eq!(
        stats["events"]["play"], 0,
        "nothing stored for a made-up ID"
    );
}

/// Behind a trusted proxy each client has its own budget; from anyone else the forwarding
/// headers are ignored (else they would be a way around the limit).
#[tokio::test]
async fn event_budgets_follow_forwarded_clients_only_from_trusted_proxies() {
    let app = spawn_app_with(|s| {
        s.http.events_rate_limit.per_minute = 1;
        s.http.events_rate_limit.burst = 2;
        s.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    article_with_audio(&app, "fwd").await;
    let post = |client_ip: &str| {
        app.client
            .post(app.url("/v1/events"))
            .header("x-forwarded-for", format!("6.6.6.6, {client_ip}"))
            .body(r#"{"article":"fwd","event":"play"}"#)
            .send()
    };
    let statuses = [
        post("203.0.113.1").await.unwrap().status().as_u16(),
        post("203.0.113.1").await.unwrap().status().as_u16(),
        post("203.0.113.1").await.unwrap().status().as_u16(),
        post("203.0.113.2").await.unwrap().status().as_u16(),
    ];
    assert_eq!(
        statuses,
        [204, 204, 429, 204],
        "one budget per forwarded client"
    );

    let untrusted = spawn_app_with(|s| {
        s.http.events_rate_limit.per_minute = 1;
        s.http.events_rate_limit.burst = 2;
    })
    .await;
    article_with_audio(&untrusted, "fwd").await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = untrusted
            .client
            .post(untrusted.url("/v1/events"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .body(r#"{"article":"fwd","event":"play"}"#)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        [204, 204, 429],
        "an untrusted peer's header is ignored"
    );
}

/// The embed on another site: public player routes answer any origin, without credentials;
/// keyed routes answer none; `cors_origins` narrows both to the listed origins.
#[tokio::test]
async fn cors_opens_the_player_routes_only() {
    let app = spawn_app().await;
    let origin = "https://news.example";
    let preflight = |app: &TestApp, path: &str, method: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allow = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    for (path, method) in [
        ("/v1/articles/x/audio", "GET"),
        (
            "/audio/0000000000000000000000000000000000000000000000000000000000000000.opus",
            "GET",
        ),
        ("/v1/events", "POST"),
        ("/player.js", "GET"),
    ] {
        let r = preflight(&app, path, method).await.unwrap();
        assert_eq!(allow(&r).as_deref(), Some(origin), "{method} {path}");
        assert!(r
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
    }
    for (path, method) in [
        ("/v1/articles/x", "PUT"),
        ("/v1/articles/x/audio", "POST"),
        ("/v1/synthesize", "POST"),
        ("/v1/articles/x/stats", "GET"),
    ] {
        let r = preflight(&app, path, method).await.unwrap();
        assert_eq!(allow(&r), None, "{method} {path} is keyed");
    }
    let r = app
        .client
        .get(app.url("/player.js"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(allow(&r).as_deref(), Some(origin));

    let narrowed = spawn_app_with(|s| s.http.cors_origins = vec![origin.into()]).await;
    let r = preflight(&narrowed, "/v1/synthesize", "POST")
        .await
        .unwrap();
    assert_eq!(
        allow(&r).as_deref(),
        Some(origin),
        "a listed origin reaches keyed routes"
    );
    let r = narrowed
        .client
        .get(narrowed.url("/player.js"))
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allow(&r),
        None,
        "cors_origins narrows the player routes too"
    );
}

/// The value of `audioby_synthesis_abandoned_total{source="direct"}` in `/metrics`.
async fn abandoned(app: &TestApp) -> f64 {
    app.metric(r#"audioby_synthesis_abandoned_total{source="direct"}"#)
        .await
        .unwrap_or(0.0)
}

/// A non-streamed synthesis whose client leaves stops: counted by the segments the engine
/// made, not by time.
#[tokio::test]
async fn a_whole_synthesis_stops_when_its_client_leaves() {
    let engine = common::own_engine();
    let app = spawn_app_on(engine.clone(), |s| s.http.max_text_chars = 100_000).await;
    let voice = engine.voice(None).unwrap();
    let sentences = 300u64;
    let text: String = (0..sentences)
        .map(|i| format!("This is sentence number {i} of a very long text. "))
        .collect();
    let before = abandoned(&app).await;
    let request = app
        .client
        .post(app.url("/v1/synthesize"))
        .bearer_auth(API_KEY)
        .json(&json!({"text": text, "format": "wav"}))
        .send();
    let client = tokio::spawn(request);
    let segments = || {
        voice
            .stats
            .segments
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    wait_until("synthesis started", || async { segments() >= 2 }).await;
    client.abort();
    let _ = client.await;
    wait_until("the synthesis noticed its client left", || async {
        abandoned(&app).await > before
    })
    .await;
    let made = voice
        .stats
        .segments
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        made < sentences / 2,
        "{made} of {sentences} segments synthesized for a client that left"
    );
}
