//! The live rendition (issue 15): `GET /v1/articles/{id}/audio/live` streams an article while
//! its job makes it. Real server, real voice, real encoders and decoders; every wait is on a
//! state (job status, bytes received), never on a clock.
use crate::common;
use crate::pipeline::get_bytes;

use common::app::*;
use common::*;
use serde_json::{json, Value};

/// Store the seed article. Its PUT queues a prefetch job, which may start at once; pressing
/// play joins that same job (raised to interactive), so the first segments may come from the
/// cache and the rest as they are made: both paths of the live stream.
async fn seed(app: &TestApp, id: &str) {
    app.put_article(
        id,
        json!({"title": "Ukraine peace talks", "text": seed_article()}),
    )
    .await;
}

/// `GET path` (no key).
async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

/// (entries, distinct segments) in the segment log, all jobs, or one job.
async fn segment_log(app: &TestApp, job: Option<&str>) -> (i64, i64) {
    let url = format!(
        "sqlite://{}?mode=ro",
        app.data_dir.join("audioby.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let q = match job {
        Some(_) => "SELECT COUNT(*), COUNT(DISTINCT cache_key) FROM segment_log WHERE job_id = ?",
        None => "SELECT COUNT(*), COUNT(DISTINCT cache_key) FROM segment_log WHERE ? IS NULL",
    };
    let row: (i64, i64) = sqlx::query_as(q).bind(job).fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

/// The live stream of `id` in `format`: (job id, every byte).
async fn listen(app: &TestApp, id: &str, format: &str) -> (String, Vec<u8>) {
    let r = get(
        app,
        &format!("/v1/articles/{id}/audio/live?format={format}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let expected = if format == "opus" {
        "audio/ogg; codecs=opus"
    } else {
        "audio/mpeg"
    };
    assert_eq!(r.headers()["content-type"], expected);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let job = r.headers()["x-audioby-job"].to_str().unwrap().to_string();
    (job, r.bytes().await.unwrap().to_vec())
}

/// `live` decodes to `fin` up to the codec's framing: `fin` lies in `live` at an offset of at
/// most two MP3 frames (a stream has no LAME tag saying how much encoder delay to trim).
fn same_audio_up_to_framing(live: &[f32], fin: &[f32], what: &str) {
    assert!(!fin.is_empty(), "{what}: the final file decodes to audio");
    let found = (0..=2304usize)
        .find(|&off| off + fin.len() <= live.len() && live[off..off + fin.len()] == *fin);
    assert!(
        found.is_some(),
        "{what}: live decodes to {} samples, final {}; no alignment matches exactly",
        live.len(),
        fin.len()
    );
}

#[tokio::test]
async fn ten_live_listeners_share_one_job_and_hear_the_final_file() {
    let app = spawn_app().await;
    seed(&app, "live10").await;
    // Ten listeners press play at once: five on Opus, five on MP3.
    let listeners = (0..10).map(|i| {
        let app = &app;
        async move {
            let format = if i % 2 == 0 { "opus" } else { "mp3" };
            let (job, bytes) = listen(app, "live10", format).await;
            (format, job, bytes)
        }
    });
    let streams = futures::future::join_all(listeners).await;
    let job = streams[0].1.clone();
    assert!(
        streams.iter().all(|(_, j, _)| *j == job),
        "one job for ten listeners"
    );
    let done = wait_job(&app.client, &app.base, &job).await;
    assert_eq!(done["status"], "ready", "{done}");
    let total = done["segments_total"].as_u64().unwrap() as i64;
    assert!(total > 10);
    assert_eq!(
        segment_log(&app, Some(&job)).await,
        (total, total),
        "every segment synthesized once, by that job"
    );
    assert_eq!(
        segment_log(&app, None).await,
        (total, total),
        "and by no other job"
    );

    let audio: Value = app.get_json("/v1/articles/live10/audio").await;
    assert_eq!(audio["status"], "ready");
    let final_opus = get_bytes(&app, audio["formats"]["opus"].as_str().unwrap()).await;
    let final_mp3 = get_bytes(&app, audio["formats"]["mp3"].as_str().unwrap()).await;
    let opus_pcm = decode_opus(&final_opus);
    let mp3_pcm = decode_symphonia(&final_mp3, "mp3");
    assert!(opus_pcm.duration() > 60.0);
    for (i, (format, _, bytes)) in streams.iter().enumerate() {
        let what = format!("listener {i} ({format})");
        if *format == "opus" {
            // Same encoder, same samples, same settings; the live stream's first packets are
            // padded (so browsers start after the first segment), which decoders discard.
            assert!(
                bytes.len() > final_opus.len(),
                "{what}: the live stream carries its start padding"
            );
            let d = decode_opus(bytes);
            assert_eq!(d.samples, opus_pcm.samples, "{what}");
        } else {
            // Only the LAME tag (first frame, patched once the length is known) may differ.
            assert_eq!(bytes.len(), final_mp3.len(), "{what}");
            let first_diff = bytes.iter().zip(&final_mp3).position(|(a, b)| a != b);
            let last_diff = bytes.iter().zip(&final_mp3).rposition(|(a, b)| a != b);
            if let (Some(f), Some(l)) = (first_diff, last_diff) {
                assert!(
                    l < 1024,
                    "{what}: bytes {f}..={l} differ, beyond the header frame"
                );
            }
            let d = decode_symphonia(bytes, "mp3");
            same_audio_up_to_framing(&d.samples, &mp3_pcm.samples, &what);
        }
    }

    // Published: a live request now redirects to the final file, and queues nothing.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(app.url("/v1/articles/live10/audio/live?format=mp3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        audio["formats"]["mp3"].as_str().unwrap()
    );
}

/// The side channel: segments made so far with the final manifest's timing, then `ready`
/// with the final files.
#[tokio::test]
async fn the_live_manifest_follows_the_job_and_matches_the_final_manifest() {
    let app = spawn_app().await;
    let m = app.get_json("/v1/articles/nope/audio/live/manifest").await;
    assert_eq!(m["error"]["code"], "not-found", "{m}");
    seed(&app, "side").await;
    let mut r = get(&app, "/v1/articles/side/audio/live?format=opus").await;
    assert_eq!(r.status(), 200);
    // The first chunk is here: the manifest already lists at least the first segment.
    let first = r.chunk().await.unwrap().expect("a first chunk");
    assert!(first.starts_with(b"OggS"));
    let m = app.get_json("/v1/articles/side/audio/live/manifest").await;
    assert!(!m["segments"].as_array().unwrap().is_empty(), "{m}");
    assert!(m["available_seconds"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["segments_total"].as_u64().unwrap() > 10, "{m}");
    while r.chunk().await.unwrap().is_some() {}
    let job = m["job_id"].as_str().unwrap();
    assert_eq!(
        wait_job(&app.client, &app.base, job).await["status"],
        "ready"
    );
    let m = app.get_json("/v1/articles/side/audio/live/manifest").await;
    assert_eq!(m["status"], "ready", "{m}");
    assert!(m["formats"]["opus"].is_string() && m["formats"]["mp3"].is_string());
    let fin: Value =
        serde_json::from_slice(&get_bytes(&app, m["manifest_url"].as_str().unwrap()).await)
            .unwrap();
    assert_eq!(m["segments"], fin["segments"], "live timing = final timing");
    let declared = fin["duration"].as_f64().unwrap();
    assert!((m["available_seconds"].as_f64().unwrap() - declared).abs() < 0.001);
}

/// A nightly-style prefetch of 20 articles is running; a listener presses play on another
/// article: its audio arrives while prefetch jobs are still queued.
#[tokio::test]
async fn a_live_listener_goes_before_a_running_prefetch() {
    let app = spawn_app().await;
    let mut prefetch = Vec::new();
    for i in 0..20 {
        let text = format!(
            "Bulletin {i}. The council met again on Tuesday. It approved the harbour plan \
             after a long debate. Work starts in the spring."
        );
        let put = app
            .put_article(&format!("night-{i}"), json!({"text": text}))
            .await;
        prefetch.push(put["job"]["id"].as_str().unwrap().to_string());
    }
    // The prefetch is under way: its first job runs.
    loop {
        let v = app.get_json(&format!("/v1/jobs/{}", prefetch[0])).await;
        if v["status"] != "queued" {
            break;
        }
        let _ = app
            .get_json(&format!("/v1/jobs/{}?wait=1", prefetch[0]))
            .await;
    }
    // The listener arrives after the whole prefetch was queued.
    app.put_article("listened",
        json!({"text": "A listener is waiting for this one. It has three sentences. Here is the last."}),
    )
    .await;
    let mut r = get(&app, "/v1/articles/listened/audio/live?format=mp3").await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().expect("live audio arrives");
    assert!(!first.is_empty());
    let mut queued = 0;
    for j in &prefetch {
        let v = app.get_json(&format!("/v1/jobs/{j}")).await;
        assert_eq!(v["priority"], "prefetch");
        if v["status"] == "queued" {
            queued += 1;
        }
    }
    assert!(
        queued > 0,
        "the listener's audio started only after the whole prefetch ran"
    );
    while r.chunk().await.unwrap().is_some() {}
    // Leave no work behind for the runtime's shutdown.
    for j in &prefetch {
        let _ = app
            .client
            .delete(app.url(&format!("/v1/jobs/{j}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
    }
}

/// A listener who leaves mid-stream cancels nothing: the job finishes, on its first attempt.
#[tokio::test]
async fn a_listener_leaving_mid_stream_does_not_stop_the_job() {
    let app = spawn_app().await;
    seed(&app, "leaver").await;
    let mut r = get(&app, "/v1/articles/leaver/audio/live?format=opus").await;
    assert_eq!(r.status(), 200);
    let job = r.headers()["x-audioby-job"].to_str().unwrap().to_string();
    r.chunk().await.unwrap().expect("a first chunk");
    drop(r);
    let done = wait_job(&app.client, &app.base, &job).await;
    assert_eq!(done["status"], "ready", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert!(done["error"].is_null(), "{done}");
    let audio: Value = app.get_json("/v1/articles/leaver/audio").await;
    assert_eq!(audio["status"], "ready", "published: {audio}");
}

#[tokio::test]
async fn live_bad_input_is_refused_with_json() {
    let app = spawn_app().await;
    let r = get(&app, "/v1/articles/nobody/audio/live").await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not-found", "{v}");
    app.put_article("known", json!({"text": "One sentence."}))
        .await;
    for (q, code) in [
        ("format=wav", "unsupported-live-format"),
        ("format=flac", "unknown-format"),
    ] {
        let r = get(&app, &format!("/v1/articles/known/audio/live?{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{q}: {v}");
    }
    let r = get(&app, "/v1/articles/bad%20id/audio/live").await;
    assert_eq!(r.status(), 400);
}

/// A job that fails: the live stream ends cleanly (a complete, decodable Ogg stream) and the
/// side channel says `failed`.
#[tokio::test]
async fn a_failed_job_ends_the_live_stream_cleanly() {
    let lexicon = tempfile::NamedTempFile::new().unwrap();
    // A word the lexicon turns into nothing speakable: the article passes extraction, and its
    // job fails for good ("no speakable text").
    std::fs::write(lexicon.path(), "[words]\nXyzzy = \".\"\n").unwrap();
    let path = lexicon.path().to_path_buf();
    let app = spawn_app_with(|s| s.lexicon = Some(path)).await;
    app.put_article("mute", json!({"text": "Xyzzy. Xyzzy!"}))
        .await;
    let r = get(&app, "/v1/articles/mute/audio/live?format=opus").await;
    assert_eq!(r.status(), 200);
    let job = r.headers()["x-audioby-job"].to_str().unwrap().to_string();
    let bytes = r.bytes().await.expect("the stream ends cleanly, not cut");
    let d = decode_opus(&bytes);
    assert!(d.duration() < 0.1, "no speech: {} s", d.duration());
    let done = wait_job(&app.client, &app.base, &job).await;
    assert_eq!(done["status"], "failed", "{done}");
    let m = app.get_json("/v1/articles/mute/audio/live/manifest").await;
    assert_eq!(m["status"], "failed", "{m}");
    assert!(m["error"].as_str().unwrap().contains("speakable"), "{m}");
}

/// A job cancelled mid-stream: the stream ends early but cleanly (decodable to its end).
#[tokio::test]
async fn a_job_cancelled_mid_stream_ends_the_stream_cleanly() {
    let app = spawn_app().await;
    seed(&app, "cut").await;
    let mut r = get(&app, "/v1/articles/cut/audio/live?format=opus").await;
    let job = r.headers()["x-audioby-job"].to_str().unwrap().to_string();
    let mut bytes = r.chunk().await.unwrap().expect("a first chunk").to_vec();
    let c = app
        .client
        .delete(app.url(&format!("/v1/jobs/{job}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 200);
    while let Some(b) = r.chunk().await.unwrap() {
        bytes.extend_from_slice(&b);
    }
    let d = decode_opus(&bytes);
    assert!(d.duration() > 0.5, "the first segment was heard");
    let m = app.get_json("/v1/articles/cut/audio/live/manifest").await;
    assert_eq!(m["status"], "cancelled", "{m}");
    assert!(
        m["segments"].as_array().unwrap().len() < m["segments_total"].as_u64().unwrap() as usize,
        "{m}"
    );
}
