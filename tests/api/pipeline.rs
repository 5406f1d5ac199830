//! The article pipeline end to end: real server, real voice, real SQLite, real decoding.
use crate::common;

use common::app::*;
use common::server::*;
use common::*;
use serde_json::{json, Value};

pub(crate) async fn get_bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn push_wait_fetch_and_edit_one_sentence() {
    let app = spawn_app().await;
    let seed = seed_article();
    let put = app
        .put_article(
            "seed",
            json!({"title": "Ukraine peace talks", "text": seed}),
        )
        .await;
    // The queue gauges are set by the pipeline (the recorder is process-wide and other tests
    // of this binary queue a job or two each, so only plausibility can be checked).
    let depth = app
        .metric("audioby_queue_depth")
        .await
        .expect("queue depth gauge in /metrics");
    assert!(
        depth.fract() == 0.0 && (0.0..=10.0).contains(&depth),
        "queue depth {depth}"
    );
    let age = app
        .metric("audioby_queue_oldest_age_seconds")
        .await
        .expect("oldest-job age gauge in /metrics");
    assert!((0.0..600.0).contains(&age), "oldest queued job age {age} s");
    let job = wait_job(&app.client, &app.base, put["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "ready", "{job}");
    let waited = app
        .metric("audioby_queue_wait_seconds_count")
        .await
        .expect("queue wait histogram in /metrics");
    assert!(
        waited >= 1.0,
        "the claimed job's wait was recorded: {waited}"
    );
    let total = job["segments_total"].as_u64().unwrap();
    assert!(total > 10);
    assert_eq!(
        job["segments_synthesized"].as_u64().unwrap(),
        total,
        "first run synthesizes everything"
    );

    let r = app
        .client
        .get(app.url("/v1/articles/seed/audio"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audio: Value = r.json().await.unwrap();
    assert_eq!(audio["status"], "ready");
    let manifest: Value =
        serde_json::from_slice(&get_bytes(&app, audio["manifest_url"].as_str().unwrap()).await)
            .unwrap();
    let segs = manifest["segments"].as_array().unwrap();
    assert_eq!(
        segs.len() as u64,
        total,
        "the manifest covers every segment"
    );

    // The manifest covers every sentence of the article, in order.
    let record = app.get_json_with_key("/v1/articles/seed").await;
    let blocks: Vec<audioby::article::Block> =
        serde_json::from_value(record["blocks"].clone()).unwrap();
    // Segmented as the server does it: its `[text]` settings decide where long sentences split.
    let opts = test_settings(std::path::Path::new(".")).text;
    let expected = audioby::text::segment_blocks(&blocks, &audioby::text::Lexicon::empty(), &opts);
    let expected: Vec<&str> = expected
        .iter()
        .filter(|s| audioby::text::segment::has_speech(&s.spoken))
        .map(|s| s.source.as_str())
        .collect();
    let got: Vec<&str> = segs.iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert_eq!(got, expected);

    // Duration = segments + pauses, and the decoded audio agrees within 100 ms.
    let mut sum = 0.0;
    let mut prev_end = 0.0;
    for s in segs {
        let (start, dur) = (
            s["start"].as_f64().unwrap(),
            s["duration"].as_f64().unwrap(),
        );
        assert!(start + 1e-6 >= prev_end, "segments never overlap");
        sum += dur + (start - prev_end);
        prev_end = start + dur;
    }
    let declared = manifest["duration"].as_f64().unwrap();
    assert!((sum - declared).abs() < 0.001);
    let opus = decode_opus(&get_bytes(&app, audio["formats"]["opus"].as_str().unwrap()).await);
    let mp3 = decode_symphonia(
        &get_bytes(&app, audio["formats"]["mp3"].as_str().unwrap()).await,
        "mp3",
    );
    for (name, d) in [("opus", &opus), ("mp3", &mp3)] {
        assert!(
            (d.duration() - declared).abs() <= 0.100,
            "{name}: decoded {:.3} s vs manifest {:.3} s",
            d.duration(),
            declared
        );
        assert!(d.rms() > 0.02);
    }
    let vtt =
        String::from_utf8(get_bytes(&app, audio["captions_url"].as_str().unwrap()).await).unwrap();
    assert!(vtt.starts_with("WEBVTT"));

    // Edit one sentence: exactly one segment is synthesized again.
    let edited = seed.replacen("Yet Ukrainian officials familiar with the discussions described a more complicated picture.", "Yet officials in Kyiv described a far more complicated picture.", 1);
    assert_ne!(edited, seed);
    let put = app
        .put_article(
            "seed",
            json!({"title": "Ukraine peace talks", "text": edited}),
        )
        .await;
    assert_eq!(put["changed"], true);
    let job = wait_job(&app.client, &app.base, put["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "ready");
    assert_eq!(job["segments_synthesized"], 1, "{job}");

    // The same version again changes nothing and queues nothing.
    let put = app
        .put_article(
            "seed",
            json!({"title": "Ukraine peace talks", "text": edited}),
        )
        .await;
    assert_eq!(put["changed"], false);
    assert!(put["job"].is_null());
}

#[tokio::test]
async fn unknown_and_invalid_articles_get_json_errors() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/v1/articles/nope/audio"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not-found"
    );
    for bad in ["..%2Fetc%2Fpasswd", "a%20b", "%2e%2e"] {
        let r = app
            .client
            .get(app.url(&format!("/v1/articles/{bad}/audio")))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{bad}: {}",
            r.status()
        );
        assert!(r.json::<Value>().await.unwrap()["error"]["code"].is_string());
    }
    let r = app
        .client
        .put(app.url("/v1/articles/x"))
        .bearer_auth(API_KEY)
        .json(&json!({"html": "<html><body><nav>Home</nav></body></html>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let code = r.json::<Value>().await.unwrap()["error"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ["no-speakable-text", "no-article", "empty-document"].contains(&code.as_str()),
        "{code}"
    );
    let r = app
        .client
        .put(app.url("/v1/articles/x"))
        .json(&json!({"text": "Hello."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "writes need the API key");
}

#[tokio::test]
async fn first_press_enqueues_interactively_and_dedupes() {
    let app = spawn_app().await;
    app.put_article(
        "a1",
        json!({"text": "The first article has one short sentence."}),
    )
    .await;
    // The push queued a prefetch job; pressing play finds the same job (deduplicated).
    let r = app
        .client
        .get(app.url("/v1/articles/a1/audio"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    if status == 202 {
        assert!(["queued", "running"].contains(&v["status"].as_str().unwrap()));
        assert!(v["eta_seconds"].as_f64().is_some());
        let again: Value = app.get_json("/v1/articles/a1/audio").await;
        if again["status"] != "ready" {
            assert_eq!(
                again["job_id"], v["job_id"],
                "same version and voice is queued once"
            );
        }
        wait_job(&app.client, &app.base, v["job_id"].as_str().unwrap()).await;
    }
    let v: Value = app.get_json("/v1/articles/a1/audio").await;
    assert_eq!(v["status"], "ready");
}

/// SIGKILL during a 20-article run, restart: all become ready, every segment synthesized once,
/// and no partial file exists in the store.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_prefetch_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("AUDIOBY_QUEUE__LEASE_MS", "2000")];
    let client = reqwest::Client::new();
    let seed = seed_article();
    let mut server = start_server(dir.path(), &envs);
    let mut jobs = Vec::new();
    for n in 0..20 {
        let text = format!("{seed}\nThis is variant number {n} of the article.");
        let r = client
            .put(format!("{}/v1/articles/v{n}", server.base))
            .bearer_auth(API_KEY)
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        jobs.push(v["job"]["id"].as_str().unwrap().to_owned());
    }
    // Kill once the first article is done and work is under way.
    wait_job(&client, &server.base, &jobs[0]).await;
    server.kill9();
    // A kill mid-write can leave a staging file (never under a final name); the restarted
    // server sweeps them, which the check below proves.
    let server = start_server(dir.path(), &envs);
    for j in &jobs {
        let v = wait_job(&client, &server.base, j).await;
        assert_eq!(v["status"], "ready", "{v}");
    }
    drop(server);
    let db = audioby::queue::SqliteRepo::open(&dir.path().join("audioby.db"))
        .await
        .unwrap();
    let (events, distinct) = db.segment_log_count().await.unwrap();
    assert_eq!(
        events, distinct,
        "every segment was synthesized exactly once"
    );
    let partial = partial_files(dir.path());
    assert!(partial.is_empty(), "partial files left: {partial:?}");
}

/// Over the cache budget, segments no current version uses are evicted (LRU); segments of
/// current versions and published audio stay.
#[tokio::test]
async fn cache_budget_evicts_only_unused_segments() {
    let app = spawn_app_with(|s| s.cache.max_segment_bytes = 1).await;
    let text1 = "Ministers met in Brussels on Monday. They agreed on a new budget.";
    let text2 = "Farmers protested outside parliament. Police closed two roads.";
    let run = |id: &'static str, text: &'static str| {
        let app = &app;
        async move {
            let put = app.put_article(id, json!({"text": text})).await;
            let job = wait_job(&app.client, &app.base, put["job"]["id"].as_str().unwrap()).await;
            assert_eq!(job["status"], "ready", "{job}");
            job["segments_synthesized"].as_u64().unwrap()
        }
    };
    assert_eq!(run("a", text1).await, 2);
    assert_eq!(
        run("a", text2).await,
        2,
        "an edited article needs new segments"
    );
    // text1's segments are no longer used by any current version: evicted. text2's stay.
    assert_eq!(
        run("b", text2).await,
        0,
        "segments of a current version are never evicted"
    );
    assert_eq!(
        run("a", text1).await,
        2,
        "evicted segments are synthesized again"
    );
    let audio: Value = app.get_json("/v1/articles/b/audio").await;
    assert_eq!(audio["status"], "ready");
    let r = app
        .client
        .get(app.url(audio["formats"]["opus"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "published audio is never evicted");
}

/// Segment-log entries written for one job, read straight from the server's database file.
async fn segments_logged(data_dir: &std::path::Path, job: &str) -> i64 {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("audioby.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM segment_log WHERE job_id = ?")
        .bind(job)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// Job IDs are public and must not be guessable: 32 random hex characters, and the old
/// integer shape is refused.
#[tokio::test]
async fn job_ids_are_random_and_integers_are_refused() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let put = app
            .put_article(&format!("idcheck{n}"), json!({"text": "Short one."}))
            .await;
        let id = put["job"]["id"]
            .as_str()
            .expect("a string job ID")
            .to_owned();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
    for probe in ["1", "2", "0"] {
        let r = app
            .client
            .get(app.url(&format!("/v1/jobs/{probe}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "/v1/jobs/{probe}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid-job-id", "{v}");
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    let r = app
        .client
        .get(app.url(&format!("/v1/jobs/{unknown}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Cancelling a running job stops its synthesis within a segment (plus what the engine
/// already had in flight), counted in the segment log, not timed. The segments it did make
/// stay cached: the next run uses them.
#[tokio::test]
async fn cancelling_a_running_job_stops_its_synthesis() {
    let app = spawn_app().await;
    let put = app
        .put_article("cancelme", json!({"text": seed_article()}))
        .await;
    let job = put["job"]["id"].as_str().unwrap().to_owned();
    let interrupted = r#"audioby_jobs_interrupted_total{reason="cancelled"}"#;
    let before = app.metric(interrupted).await.unwrap_or(0.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while segments_logged(&app.data_dir, &job).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "synthesis never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = app
        .client
        .delete(app.url(&format!("/v1/jobs/{job}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "cancelled", "{v}");
    let at_cancel = segments_logged(&app.data_dir, &job).await;
    // Running in this process: its synthesis was stopped at once, mid-sentence (the counter
    // is the test process's, shared with the tests beside this one).
    assert!(app.metric(interrupted).await.unwrap_or(0.0) >= before + 1.0);

    // One worker: the re-run below starts only after the cancelled run has stopped. A
    // listener's GET (not the forcing POST) queues it, so the cache is used.
    let r = app
        .client
        .get(app.url("/v1/articles/cancelme/audio"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let rerun = v["job_id"].as_str().unwrap().to_owned();
    assert_ne!(rerun, job);
    let done = wait_job(&app.client, &app.base, &rerun).await;
    assert_eq!(done["status"], "ready", "{done}");
    let total = done["segments_total"].as_i64().unwrap();
    let after = segments_logged(&app.data_dir, &job).await;
    // The engine keeps at most `inflight_phonemes` (800 by default: a few sentences) in flight.
    assert!(
        after <= at_cancel + 12,
        "synthesis went on after the cancel: {at_cancel} segments then {after} (of {total})"
    );
    assert!(
        after < total,
        "{after} of {total}: the cancel came too late to test"
    );
    assert_eq!(
        done["segments_synthesized"].as_i64().unwrap(),
        total - after,
        "the cancelled run's segments were cached and reused"
    );
}

/// A long prefetch job yields to a listener: the listener's article is made while the long
/// one waits (its made segments cached), then the long one goes on and finishes. Proved by
/// order (one worker), not by timing.
#[tokio::test]
async fn a_listener_never_waits_behind_a_long_prefetch_job() {
    let app = spawn_app().await;
    let put = app
        .put_article("longread", json!({"text": seed_article()}))
        .await;
    let long = put["job"]["id"].as_str().unwrap().to_owned();
    assert_eq!(put["job"]["priority"], "prefetch", "{put}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while segments_logged(&app.data_dir, &long).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "synthesis never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The publisher pushes a short article; a listener presses play on it.
    let interrupted = r#"audioby_jobs_interrupted_total{reason="listener"}"#;
    let before = app.metric(interrupted).await.unwrap_or(0.0);
    app.put_article(
        "breaking",
        json!({"text": "Breaking news. The bridge is open again."}),
    )
    .await;
    let r = app
        .client
        .get(app.url("/v1/articles/breaking/audio"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let urgent = v["job_id"].as_str().unwrap().to_owned();
    // The only worker was busy with the long read: it was stopped mid-sentence, not after
    // it (the counter is the test process's, shared with the tests beside this one).
    assert!(app.metric(interrupted).await.unwrap_or(0.0) >= before + 1.0);
    let done = wait_job(&app.client, &app.base, &urgent).await;
    assert_eq!(done["status"], "ready", "{done}");
    let meanwhile: Value = app.get_json(&format!("/v1/jobs/{long}")).await;
    assert_ne!(
        meanwhile["status"], "ready",
        "the long read was paused, not finished first: {meanwhile}"
    );
    let finished = wait_job(&app.client, &app.base, &long).await;
    assert_eq!(finished["status"], "ready", "{finished}");
    assert!(
        finished["attempts"].as_u64().unwrap() >= 2,
        "it was resumed: {finished}"
    );
    let total = finished["segments_total"].as_i64().unwrap();
    assert_eq!(
        segments_logged(&app.data_dir, &long).await,
        total,
        "every segment made once across the pause"
    );
}

/// An article over `[extract] max_article_chars` is refused with a clear 413; one under it
/// is taken.
#[tokio::test]
async fn an_article_over_the_size_limit_is_refused_with_413() {
    let app = spawn_app_with(|s| s.extract.max_article_chars = 2_000).await;
    let long = "The council met again. ".repeat(100);
    let r = app
        .client
        .put(app.url("/v1/articles/toolong"))
        .bearer_auth(API_KEY)
        .json(&json!({"text": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "article-too-long", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("2000"),
        "{v}"
    );
    let r = app
        .client
        .get(app.url("/v1/articles/toolong"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nothing was stored");
    app.put_article("short", json!({"text": "The council met again."}))
        .await;
}
