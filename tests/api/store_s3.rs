//! The audio store on a real S3 server (SeaweedFS, tests/common/s3.rs): the store contract
//! unchanged, the pipeline end to end, serving and redirects, races between workers, an
//! outage, bad settings at startup, and `migrate-store`.
use crate::common::s3::{unique_prefix, S3Server};
use audioby::store::contract::Subject;

async fn fresh_s3() -> Subject {
    let server = S3Server::shared();
    let settings = server.store_settings(&unique_prefix("contract"));
    let dir = tempfile::tempdir().unwrap();
    let store = audioby::store::open(&settings, dir.path())
        .await
        .expect("open the S3 store");
    Subject {
        store,
        guard: Box::new(dir),
    }
}

mod contract {
    audioby::store_contract_tests!(super::fresh_s3);
}

use std::time::{Duration, Instant};

use crate::common::app::{spawn_app_with, TestApp, API_KEY};
use crate::common::server::start_server;
use crate::common::{audioby, decode_opus, decode_symphonia, run, seed_article, wait_until_every};
use audioby::store::StoreSettings;
use reqwest::header;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A job id as it appears in a URL (a number today, a string on its way).
fn id_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

async fn put_article(app_base: &str, client: &reqwest::Client, id: &str, text: &str) -> Value {
    let r = client
        .put(format!("{app_base}/v1/articles/{id}"))
        .bearer_auth(API_KEY)
        .json(&json!({"title": id, "text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "PUT {id}");
    r.json().await.unwrap()
}

/// Long-poll the job until it is final (generous: a busy 2-core machine, retries, backoff).
async fn wait_job(client: &reqwest::Client, base: &str, job: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let v: Value = client
            .get(format!("{base}/v1/jobs/{}?wait=30", id_of(job)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["ready", "failed", "cancelled"].contains(&v["status"].as_str().unwrap_or("")) {
            return v;
        }
    }
    panic!("job {job} never finished");
}

async fn audio_of(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let r = client
        .get(format!("{base}/v1/articles/{id}/audio"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Store an article, wait for its job to be ready, return its article-audio answer.
async fn publish(app: &TestApp, id: &str, text: &str) -> Value {
    let put = put_article(&app.base, &app.client, id, text).await;
    let job = wait_job(&app.client, &app.base, &put["job"]["id"]).await;
    assert_eq!(job["status"], "ready", "{job}");
    audio_of(&app.client, &app.base, id).await
}

/// Every URL an article-audio answer names.
fn urls_of(audio: &Value) -> Vec<String> {
    let mut urls: Vec<String> = audio["formats"]
        .as_object()
        .expect("formats")
        .values()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    urls.push(audio["manifest_url"].as_str().unwrap().to_owned());
    urls.push(audio["captions_url"].as_str().unwrap().to_owned());
    urls.sort();
    urls
}

async fn s3_app(prefix: &str) -> TestApp {
    let settings = S3Server::shared().store_settings(prefix);
    spawn_app_with(move |s| s.store = settings).await
}

/// Nothing partial in the bucket: every object's bytes hash to its name (published files)
/// or are whole 16-bit samples (segments), and every one reads back in full.
async fn assert_bucket_whole(server: &S3Server, prefix: &str) {
    use object_store::ObjectStoreExt;
    let client = server.client(crate::common::s3::BUCKET);
    for (key, size) in server.list(prefix).await {
        let bytes = client
            .get(&object_store::path::Path::from(key.as_str()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.len() as u64, size, "{key}");
        let name = key.rsplit('/').next().unwrap();
        let (hash, ext) = name.split_once('.').unwrap();
        if ext == "pcm" {
            assert_eq!(size % 2, 0, "whole samples: {key}");
        } else {
            assert_eq!(hex::encode(Sha256::digest(&bytes)), hash, "{key} is whole");
        }
    }
}

#[tokio::test]
async fn the_seed_article_is_made_into_the_bucket_and_served_from_it() {
    let server = S3Server::shared();
    let prefix = unique_prefix("seed");
    let app = s3_app(&prefix).await;
    let audio = publish(&app, "seed", &seed_article()).await;

    // In the bucket, listed with the S3 API (not through audioby).
    let listed = server.list(&prefix).await;
    let opus_url = audio["formats"]["opus"].as_str().unwrap();
    let mp3_url = audio["formats"]["mp3"].as_str().unwrap();
    let opus_name = opus_url.rsplit('/').next().unwrap();
    let mp3_name = mp3_url.rsplit('/').next().unwrap();
    for name in [opus_name, mp3_name] {
        let want = format!("{prefix}/audio/{}/{name}", &name[..2]);
        assert!(
            listed.iter().any(|(k, _)| *k == want),
            "{want} in {listed:?}"
        );
    }
    assert!(
        listed
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{prefix}/segments/"))),
        "cached segment PCM lives in the bucket too: {listed:?}"
    );
    assert_bucket_whole(server, &prefix).await;

    // Served from the bucket: whole files decode.
    let get = |path: String, range: Option<&'static str>| {
        let mut r = app.client.get(app.url(&path));
        if let Some(range) = range {
            r = r.header(header::RANGE, range);
        }
        r.send()
    };
    let opus = get(opus_url.to_owned(), None).await.unwrap();
    assert_eq!(opus.status(), 200);
    assert_eq!(
        opus.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let etag = opus.headers()[header::ETAG].clone();
    let opus = opus.bytes().await.unwrap();
    let decoded = decode_opus(&opus);
    assert!(decoded.duration() > 60.0, "{} s", decoded.duration());
    let mp3 = get(mp3_url.to_owned(), None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(decode_symphonia(&mp3, "mp3").duration() > 60.0);
    let len = opus.len();

    // Ranges: first, middle, suffix, and past the end.
    for (range, want) in [
        ("bytes=0-99", 0..100),
        ("bytes=1000-1999", 1000..2000),
        ("bytes=-500", len - 500..len),
    ] {
        let r = get(opus_url.to_owned(), Some(range)).await.unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()[header::CONTENT_RANGE],
            format!("bytes {}-{}/{len}", want.start, want.end - 1).as_str()
        );
        assert_eq!(r.bytes().await.unwrap(), opus[want], "{range}");
    }
    let r = get(opus_url.to_owned(), Some("bytes=99999999-"))
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()[header::CONTENT_RANGE],
        format!("bytes */{len}").as_str()
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "range-not-satisfiable");

    // HEAD and 304.
    let head = app.client.head(app.url(opus_url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        len.to_string().as_str()
    );
    let again = app
        .client
        .get(app.url(opus_url))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn with_a_public_base_url_listeners_are_sent_to_the_bucket() {
    let server = S3Server::shared();
    let prefix = unique_prefix("cdn");
    let base = format!("{}/{}", server.endpoint, crate::common::s3::BUCKET);
    let mut settings = server.settings(&prefix);
    settings.public_base_url = Some(format!("{base}/"));
    let app = spawn_app_with(move |s| s.store = StoreSettings::S3(settings)).await;
    let audio = publish(&app, "cdn", "A short story. It has two sentences.").await;
    let opus_url = audio["formats"]["opus"].as_str().unwrap().to_owned();
    let name = opus_url.rsplit('/').next().unwrap().to_owned();
    let key = format!("{prefix}/audio/{}/{name}", &name[..2]);
    assert_eq!(
        opus_url,
        format!("{base}/{key}"),
        "answers point at the bucket"
    );
    for url in urls_of(&audio) {
        assert!(url.starts_with(&base), "{url}");
    }
    // The object is there under that key, with the headers a CDN passes on.
    use object_store::ObjectStoreExt;
    let got = server
        .client(crate::common::s3::BUCKET)
        .get(&object_store::path::Path::from(key.as_str()))
        .await
        .expect("the URL's key is in the bucket");
    assert_eq!(
        got.attributes
            .get(&object_store::Attribute::ContentType)
            .map(|v| v.as_ref()),
        Some("audio/ogg; codecs=opus")
    );
    assert_eq!(
        got.attributes
            .get(&object_store::Attribute::CacheControl)
            .map(|v| v.as_ref()),
        Some("public, max-age=31536000, immutable")
    );
    // /audio/… redirects there (no bytes through audioby), HEAD and ranges alike.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let r = no_follow
            .request(method.clone(), app.url(&format!("/audio/{name}")))
            .header(header::RANGE, "bytes=0-9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 307, "{method}");
        assert_eq!(r.headers()[header::LOCATION], opus_url.as_str());
    }
}

#[tokio::test]
async fn in_redirect_mode_a_download_goes_to_a_presigned_url_that_says_attachment() {
    let server = S3Server::shared();
    let prefix = unique_prefix("download");
    let base = format!("{}/{}", server.endpoint, crate::common::s3::BUCKET);
    let mut settings = server.settings(&prefix);
    settings.public_base_url = Some(base.clone());
    let app = spawn_app_with(move |s| s.store = StoreSettings::S3(settings)).await;
    let audio = publish(&app, "download", "A short story. It has two sentences.").await;
    let mp3_url = audio["formats"]["mp3"].as_str().unwrap().to_owned();
    let name = mp3_url.rsplit('/').next().unwrap().to_owned();
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_follow
        .get(app.url(&format!("/audio/{name}?download=a-short-story.mp3")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let signed = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        signed.starts_with(&server.endpoint) && signed.contains("X-Amz-Signature="),
        "a presigned URL on the S3 endpoint: {signed}"
    );
    assert_ne!(
        signed, mp3_url,
        "not the CDN URL, which cannot say attachment"
    );
    // Followed (no credentials): S3 serves the file as an attachment under that name.
    let got = reqwest::get(&signed).await.unwrap();
    assert_eq!(got.status(), 200, "{signed}");
    assert_eq!(
        got.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"a-short-story.mp3\""
    );
    let bytes = got.bytes().await.unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        name.trim_end_matches(".mp3"),
        "the whole file"
    );
    // The name is signed: changing it voids the link.
    let forged = signed.replace("a-short-story.mp3", "other.mp3");
    assert_ne!(forged, signed);
    let refused = reqwest::get(&forged).await.unwrap();
    assert_eq!(refused.status(), 403, "a forged name is refused");
    // Without `download` the redirect is the public URL, as before; a bad name is a 400.
    let plain = no_follow
        .get(app.url(&format!("/audio/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()[header::LOCATION], mp3_url.as_str());
    let bad = no_follow
        .get(app.url(&format!("/audio/{name}?download=..%2Fx")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn two_servers_making_the_same_segment_at_once_store_it_once() {
    let server = S3Server::shared();
    let prefix = unique_prefix("race");
    let mut env = server.env(&prefix);
    // Only this article's work: no demo article, and no loudness calibration (its
    // sentences are segments too; tests/api/loudness.rs covers it).
    env.push(("AUDIOBY_DEMO".into(), "false".into()));
    env.push(("AUDIOBY_AUDIO__NORMALIZE".into(), "false".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Two hosts: each its own data folder and queue, one bucket.
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let procs: Vec<_> = dirs.iter().map(|d| start_server(d.path(), &env)).collect();
    let client = reqwest::Client::new();
    let text = "Both hosts read this very sentence at the same moment.";
    let puts = futures::future::join_all(
        procs
            .iter()
            .map(|p| put_article(&p.base, &client, "race", text)),
    )
    .await;
    let jobs = futures::future::join_all(
        procs
            .iter()
            .zip(&puts)
            .map(|(p, put)| wait_job(&client, &p.base, &put["job"]["id"])),
    )
    .await;
    for job in &jobs {
        assert_eq!(job["status"], "ready", "{job}");
        assert_eq!(job["segments_total"], jobs[0]["segments_total"], "{job}");
    }
    let segments_total = jobs[0]["segments_total"].as_u64().unwrap() as usize;
    let listed = server.list(&prefix).await;
    let segments: Vec<_> = listed
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{prefix}/segments/")))
        .collect();
    assert_eq!(
        segments.len(),
        segments_total,
        "one object per segment, whoever made it: {listed:?}"
    );
    let a = audio_of(&client, &procs[0].base, "race").await;
    let b = audio_of(&client, &procs[1].base, "race").await;
    for url in urls_of(&a).iter().chain(&urls_of(&b)) {
        let name = url.rsplit('/').next().unwrap();
        assert!(
            listed.iter().any(|(k, _)| k.ends_with(name)),
            "{name} in the bucket"
        );
    }
    assert_bucket_whole(server, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_gives_503_and_the_job_retries_until_it_is_back() {
    let server = S3Server::start().await;
    let prefix = unique_prefix("outage");
    let settings = server.store_settings(&prefix);
    let app = spawn_app_with(move |s| s.store = settings).await;
    let before = publish(&app, "before", "Written before the outage.").await;
    let opus_url = before["formats"]["opus"].as_str().unwrap().to_owned();

    tokio::task::block_in_place(|| server.stop());
    let r = app.client.get(app.url(&opus_url)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "store-unavailable", "{body}");

    // A job while the store is down fails its attempt and is queued again with a backoff.
    let put = put_article(
        &app.base,
        &app.client,
        "during",
        "Written while the store is down.",
    )
    .await;
    let job_id = put["job"]["id"].clone();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let v: Value = app
            .client
            .get(app.url(&format!("/v1/jobs/{}", id_of(&job_id))))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["error"].is_string() && v["status"] == "queued" {
            break;
        }
        assert_ne!(
            v["status"], "ready",
            "it cannot be ready with the store down: {v}"
        );
        assert!(
            Instant::now() < deadline,
            "the job never failed an attempt: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::task::block_in_place(|| server.restart());
    let job = wait_job(&app.client, &app.base, &job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert!(job["attempts"].as_u64().unwrap() >= 2, "{job}");
    let during = audio_of(&app.client, &app.base, "during").await;
    for url in urls_of(&during).iter().chain(&urls_of(&before)) {
        let r = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
    }
    assert_bucket_whole(&server, &prefix).await;
}

/// Startup with a broken `[store]`: non-zero exit, one clear line on stderr.
fn serve_fails_with(env: &[(String, String)], want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = audioby();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("AUDIOBY_API_KEYS", API_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one line: {stderr}");
    assert!(errors[0].starts_with("audioby: error"), "{stderr}");
    assert!(errors[0].contains(want), "{want:?} in {stderr}");
    assert!(
        !stderr.contains(crate::common::s3::SECRET_KEY),
        "no secret in {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_or_a_missing_bucket_stop_the_server_at_startup() {
    let server = S3Server::shared();
    let base = server.env(&unique_prefix("bad"));
    let with = |k: &str, v: &str| {
        let mut env = base.clone();
        env.retain(|(name, _)| name != k);
        env.push((k.to_owned(), v.to_owned()));
        env
    };
    tokio::task::block_in_place(|| {
        serve_fails_with(
            &with("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
            "access denied",
        );
        serve_fails_with(&with("AWS_ACCESS_KEY_ID", "nobody"), "access denied");
        serve_fails_with(
            &with("AUDIOBY_STORE__BUCKET", "no-such-bucket"),
            "no such bucket",
        );
    });
}

/// Run a `migrate-store --json` command to success; its summary.
fn migrate_ok(cmd: &mut std::process::Command) -> Value {
    let out = tokio::task::block_in_place(|| run(cmd.arg("--json"), None));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Lines of the migration journal (verified copies so far).
fn journal_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_store_moves_a_local_store_to_s3_survives_a_kill_and_back() {
    use audioby::store::{ObjectKey, ObjectKind};
    let server = S3Server::shared();
    let prefix = unique_prefix("migrate");
    // A populated local store: an article made by the pipeline, plus many cached segments
    // (so a run takes long enough to be killed halfway).
    let app = spawn_app_with(|_| {}).await;
    let audio = publish(
        &app,
        "moved",
        "This article moves to the bucket. Its audio stays the same.",
    )
    .await;
    let mut originals = Vec::new();
    for url in urls_of(&audio) {
        let r = app.client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        originals.push((url, r.bytes().await.unwrap()));
    }
    let data_dir = app.data_dir.clone();
    let local = audioby::store::open(&StoreSettings::default(), &data_dir)
        .await
        .unwrap();
    let filler = 600u64;
    futures::future::join_all((0..filler).map(|i| {
        let local = local.clone();
        async move {
            let key = ObjectKey::of(format!("filler {i}").as_bytes(), ObjectKind::Pcm);
            local
                .put_at(&key, vec![i as u8; 2048].into())
                .await
                .unwrap();
        }
    }))
    .await;
    let total = {
        use futures::TryStreamExt;
        let a: Vec<_> = local.list("audio").try_collect().await.unwrap();
        let s: Vec<_> = local.list("segments").try_collect().await.unwrap();
        a.len() + s.len()
    };

    // `[store]` still says fs; the bucket's keys are set beside it.
    let mut env = server.env(&prefix);
    env.retain(|(k, _)| k != "AUDIOBY_STORE__KIND");
    let migrate = || {
        let mut cmd = audioby();
        cmd.args([
            "migrate-store",
            "--from",
            "fs",
            "--to",
            "s3",
            "--concurrency",
            "2",
            "--data-dir",
        ])
        .arg(&data_dir)
        .envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    let journal = data_dir.join("migrate-store-fs-to-s3.journal");

    // Killed halfway.
    let mut child = migrate()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_every(
        "the migration to journal 50 copies",
        Duration::from_millis(10),
        || {
            let copied = journal_lines(&journal);
            let running = child.try_wait().unwrap().is_none();
            async move {
                assert!(
                    running || copied >= 50,
                    "finished before it could be killed"
                );
                copied >= 50
            }
        },
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let halfway = journal_lines(&journal);
    assert!(halfway < total, "killed halfway: {halfway} of {total}");
    let in_bucket = server.list(&prefix).await.len();
    assert!(
        in_bucket < total,
        "{in_bucket} of {total} copied before the kill"
    );

    // Re-run: resumes and finishes.
    let summary = migrate_ok(&mut migrate());
    assert_eq!(summary["total"], total, "{summary}");
    assert!(
        summary["resumed"].as_u64().unwrap() >= halfway as u64,
        "{summary}"
    );
    assert_eq!(
        summary["copied"].as_u64().unwrap() + summary["resumed"].as_u64().unwrap(),
        total as u64,
        "{summary}"
    );
    assert_eq!(summary["failed"], json!([]), "{summary}");
    assert_eq!(server.list(&prefix).await.len(), total);
    assert_bucket_whole(server, &prefix).await;

    // Re-run again: nothing left to copy.
    let summary = migrate_ok(&mut migrate());
    assert_eq!(summary["copied"], 0, "{summary}");

    // The switch is one line: the same data folder on S3 serves identical bytes.
    let settings = server.store_settings(&prefix);
    let dir = data_dir.clone();
    let moved = spawn_app_with(move |s| {
        s.data_dir = dir;
        s.store = settings;
    })
    .await;
    let audio = audio_of(&moved.client, &moved.base, "moved").await;
    assert_eq!(
        urls_of(&audio),
        originals.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>()
    );
    for (url, bytes) in &originals {
        let r = moved.client.get(moved.url(url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert!(
            r.bytes().await.unwrap() == bytes,
            "identical bytes for {url}"
        );
    }

    // And back, into a fresh folder.
    let back = tempfile::tempdir().unwrap();
    let mut cmd = audioby();
    cmd.args(["migrate-store", "--from", "s3", "--to", "fs", "--data-dir"])
        .arg(&data_dir)
        .env("AUDIOBY_STORE__PATH", back.path())
        .envs(env.iter().map(|(k, v)| (k, v)));
    let summary = migrate_ok(&mut cmd);
    assert_eq!(summary["copied"], total, "{summary}");
    let restored = audioby::store::open(
        &StoreSettings::Fs(audioby::store::FsSettings {
            path: Some(back.path().to_path_buf()),
        }),
        back.path(),
    )
    .await
    .unwrap();
    for (url, bytes) in &originals {
        let key = ObjectKey::parse_file_name(url.rsplit('/').next().unwrap()).unwrap();
        assert!(restored.get_bytes(&key).await.unwrap() == bytes, "{url}");
    }
}

/// Eviction on S3: over the budget, the segments no current version uses are deleted from
/// the bucket; current segments and every published file stay.
#[tokio::test]
async fn eviction_deletes_unused_segments_from_the_bucket_never_published_files() {
    let server = S3Server::shared();
    let prefix = unique_prefix("evict");
    let settings = server.store_settings(&prefix);
    let app = spawn_app_with(move |s| {
        s.store = settings;
        s.cache.max_segment_bytes = 1;
        // Only the articles' segments: the loudness calibration's are kept for the voice.
        s.audio.normalize = false;
    })
    .await;
    let segments = |listed: &[(String, u64)]| -> Vec<String> {
        listed
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{prefix}/segments/")))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let published = |listed: &[(String, u64)]| -> Vec<String> {
        listed
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{prefix}/audio/")))
            .map(|(k, _)| k.clone())
            .collect()
    };
    // No title: no segment is shared between the two versions.
    let put_untitled = |text: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .put(app.url("/v1/articles/a"))
                .bearer_auth(API_KEY)
                .json(&json!({ "text": text }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let put: Value = r.json().await.unwrap();
            let job = wait_job(&app.client, &app.base, &put["job"]["id"]).await;
            assert_eq!(job["status"], "ready", "{job}");
        }
    };
    put_untitled("Ministers met on Monday. They agreed.").await;
    let first = server.list(&prefix).await;
    let old_segments = segments(&first);
    assert!(!old_segments.is_empty());
    put_untitled("Farmers protested. Police closed roads.").await;
    // Eviction runs after the job is reported ready: wait for it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let second = loop {
        let listed = server.list(&prefix).await;
        let left: Vec<_> = old_segments
            .iter()
            .filter(|old| segments(&listed).contains(old))
            .collect();
        if left.is_empty() {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "unused by any current version, never deleted from the bucket: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !segments(&second).is_empty(),
        "the current version's segments stay"
    );
    for file in published(&first) {
        assert!(
            published(&second).contains(&file),
            "{file} is never evicted"
        );
    }
}
