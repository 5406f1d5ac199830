//! Scale-out on PostgreSQL with the real binary: one `api` process and `worker` processes on
//! one database (a throwaway cluster, `common::postgres`), sharing a data folder for the audio
//! store. Exactly-once synthesis across processes, takeover after SIGKILL, release on SIGTERM,
//! a PostgreSQL restart under running processes, and the startup errors of a bad database.
use crate::common;

use std::time::{Duration, Instant};

use audioby::article::ArticleId;
use audioby::queue::{DatabaseSettings, Failure, JobRepo, JobState, PgRepo, DEFAULT_MAX_ATTEMPTS};
use common::app::API_KEY;
use common::postgres::{free_port, fresh_database, PgCluster};
use common::server::*;
use common::*;
use serde_json::{json, Value};

/// Generous: the machine is shared and busy; every wait polls a condition.
const DEADLINE: Duration = Duration::from_secs(300);

async fn repo(url: &str) -> PgRepo {
    PgRepo::open(&DatabaseSettings::default(), url)
        .await
        .expect("the test database opens")
}

/// A job id as the API shows it (a number or a string), for URLs.
fn id_of(v: &Value) -> String {
    v.as_str()
        .map(String::from)
        .unwrap_or_else(|| v.to_string())
}

async fn put_article(client: &reqwest::Client, base: &str, id: &str, text: &str) -> String {
    let r = client
        .put(format!("{base}/v1/articles/{id}"))
        .bearer_auth(API_KEY)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "PUT {id}");
    let v: Value = r.json().await.unwrap();
    id_of(&v["job"]["id"])
}

/// Long-poll the job through the API until it is final.
async fn wait_job(client: &reqwest::Client, base: &str, job: &str) -> Value {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let r = client
            .get(format!("{base}/v1/jobs/{job}?wait=30"))
            .send()
            .await;
        if let Ok(r) = r {
            if let Ok(v) = r.json::<Value>().await {
                if ["ready", "failed", "cancelled"].contains(&v["status"].as_str().unwrap_or("")) {
                    return v;
                }
            }
        }
    }
    panic!("job {job} never finished");
}

async fn readyz(client: &reqwest::Client, base: &str) -> u16 {
    match client
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    wait_until(&format!("{base} ready"), || async {
        readyz(client, base).await == 200
    })
    .await;
}

/// The process whose worker last claimed the article's latest job (worker names are
/// `<host>-<pid>-<n>`).
async fn worker_pid(pool: &sqlx::PgPool, article: &str) -> Option<u32> {
    let name: Option<String> = sqlx::query_scalar(
        "SELECT worker FROM jobs WHERE article_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(article)
    .fetch_optional(pool)
    .await
    .unwrap()
    .flatten();
    name?.rsplit('-').nth(1)?.parse().ok()
}

async fn pool(url: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(url).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_and_two_workers_share_one_queue_and_synthesize_each_segment_once() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let envs = [("AUDIOBY_DATABASE__URL", url.as_str())];
    let api = start_role("api", dir.path(), &envs);
    let w1 = start_role("worker", dir.path(), &envs);
    let w2 = start_role("worker", dir.path(), &envs);
    let client = reqwest::Client::new();
    for p in [&api, &w1, &w2] {
        wait_ready(&client, &p.base).await;
    }
    // A worker is not the API.
    let r = client
        .get(format!("{}/v1/voices", w1.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not-found");
    let metrics = client.get(format!("{}/metrics", w1.base)).send().await;
    assert_eq!(metrics.unwrap().status(), 200);

    let mut jobs = Vec::new();
    for n in 0..30 {
        let text = format!(
            "Report number {n} from the council. The members voted {} times on item {n}.",
            n + 2
        );
        jobs.push(put_article(&client, &api.base, &format!("a{n}"), &text).await);
    }
    for job in &jobs {
        let v = wait_job(&client, &api.base, job).await;
        assert_eq!(v["status"], "ready", "{v}");
    }
    // The API serves the workers' audio.
    let audio: Value = client
        .get(format!("{}/v1/articles/a7/audio", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audio["status"], "ready", "{audio}");

    let db = repo(&url).await;
    let sql = pool(&url).await;
    let (events, distinct) = db.segment_log_count().await.unwrap();
    assert!(events >= 30, "{events} segments logged");
    assert_eq!(
        events, distinct,
        "every segment synthesized exactly once across processes"
    );
    let mut pids = std::collections::HashSet::new();
    for n in 0..30 {
        let job = db
            .latest_job(&ArticleId::parse(&format!("a{n}")).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.state, JobState::Ready);
        pids.extend(worker_pid(&sql, &format!("a{n}")).await);
    }
    assert!(
        pids.contains(&w1.pid()) && pids.contains(&w2.pid()),
        "both workers did some of the work: {pids:?} vs {} and {}",
        w1.pid(),
        w2.pid()
    );
    assert!(!pids.contains(&api.pid()), "the API synthesized nothing");

    // Direct synthesis is refused by an `api` process, and it never started a session
    // thread (they are named `piper-<voice>-<n>`), not even for the 30 articles.
    for (path, body) in [
        ("/v1/synthesize", json!({ "text": "Hello there." })),
        (
            "/v1/audio/speech",
            json!({ "model": "tts-1", "input": "Hello there.", "voice": "alloy" }),
        ),
    ] {
        let r = client
            .post(format!("{}{path}", api.base))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "no-synthesis-here", "{path}: {v}");
    }
    let session_threads = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("piper-"))
            .count()
    };
    assert_eq!(
        session_threads(api.pid()),
        0,
        "the API started no inference session"
    );
    assert!(
        session_threads(w1.pid()) > 0,
        "a worker's sessions are named piper-*"
    );
}

/// SIGTERM releases the running job at once (no lease wait, no attempt charged); SIGKILL leaves
/// it leased, and after the lease another worker takes over and finishes it once; the killed
/// worker's late reports are refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_worker_releases_its_job_and_a_killed_ones_job_is_taken_over() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let envs = [
        ("AUDIOBY_DATABASE__URL", url.as_str()),
        ("AUDIOBY_QUEUE__LEASE_MS", "3000"),
    ];
    let api = start_role("api", dir.path(), &envs);
    let client = reqwest::Client::new();
    wait_ready(&client, &api.base).await;
    let db = repo(&url).await;
    let sql = pool(&url).await;
    let long = ArticleId::parse("long").unwrap();
    let job_id = put_article(&client, &api.base, "long", &seed_article()).await;

    // Wait until the worker is mid-job: running under it, some segments synthesized.
    let mid_job = |pid: u32| {
        let (db, sql, long) = (&db, &sql, &long);
        move || async move {
            let Some(job) = db.latest_job(long).await.unwrap() else {
                return false;
            };
            job.state == JobState::Running
                && worker_pid(sql, "long").await == Some(pid)
                && db.segment_log_count().await.unwrap().0 > 0
        }
    };

    let mut first = start_role("worker", dir.path(), &envs);
    wait_until("the first worker is mid-job", mid_job(first.pid())).await;
    assert!(first.terminate(), "SIGTERM: a clean exit");
    let released = db.latest_job(&long).await.unwrap().unwrap();
    assert_eq!(
        (released.state, released.attempts, released.max_attempts),
        (JobState::Queued, 1, DEFAULT_MAX_ATTEMPTS + 1),
        "released at once, the attempt not charged"
    );

    let mut second = start_role("worker", dir.path(), &envs);
    wait_until("the second worker is mid-job", mid_job(second.pid())).await;
    let killed = db.latest_job(&long).await.unwrap().unwrap();
    second.kill9();

    let third = start_role("worker", dir.path(), &envs);
    let done = wait_job(&client, &api.base, &job_id).await;
    assert_eq!(done["status"], "ready", "{done}");
    let job = db.latest_job(&long).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Ready, 3));
    assert_eq!(worker_pid(&sql, "long").await, Some(third.pid()));

    // The killed worker's late writes (its stale attempt number) change nothing.
    assert_eq!(killed.attempts, 2);
    assert!(!db.heartbeat(&killed.claim(), 60_000).await.unwrap());
    assert_eq!(
        db.fail(&killed.claim(), Failure::Abort("late".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.latest_job(&long).await.unwrap().unwrap().state,
        JobState::Ready
    );
    let (events, distinct) = db.segment_log_count().await.unwrap();
    assert_eq!(events, distinct, "no segment synthesized twice");
}

/// PostgreSQL goes away under a running API and worker: requests get a JSON 503, `/readyz`
/// says not ready; when it is back both recover by themselves and the job queued before the
/// outage is finished.
#[tokio::test(flavor = "multi_thread")]
async fn both_processes_recover_from_a_postgres_restart_and_no_job_is_lost() {
    let mut cluster = PgCluster::start();
    let url = cluster.create_database("audioby").await;
    let dir = tempfile::tempdir().unwrap();
    let envs = [
        ("AUDIOBY_DATABASE__URL", url.as_str()),
        ("AUDIOBY_QUEUE__LEASE_MS", "3000"),
    ];
    let api = start_role("api", dir.path(), &envs);
    let worker = start_role("worker", dir.path(), &envs);
    let client = reqwest::Client::new();
    wait_ready(&client, &api.base).await;
    wait_ready(&client, &worker.base).await;
    let before = put_article(&client, &api.base, "before", &seed_article()).await;

    cluster.stop();
    for base in [&api.base, &worker.base] {
        wait_until("not ready during the outage", || async {
            readyz(&client, base).await == 503
        })
        .await;
    }
    let r = client
        .get(format!("{}/v1/articles/before/audio", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database-unavailable", "{body}");

    cluster.resume();
    wait_ready(&client, &api.base).await;
    wait_ready(&client, &worker.base).await;
    let v = wait_job(&client, &api.base, &before).await;
    assert_eq!(v["status"], "ready", "the job from before the outage: {v}");
    let after = put_article(&client, &api.base, "after", "Back online today.").await;
    let v = wait_job(&client, &api.base, &after).await;
    assert_eq!(v["status"], "ready", "{v}");
    drop((api, worker));
}

fn serve_with(envs: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = audioby();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("AUDIOBY_API_KEYS", API_KEY)
        .env("RUST_LOG", "error");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd, None)
}

/// The one error line `main` prints, after checking the run failed without a panic.
fn error_line(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "must fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("audioby: error"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_string()
}

#[tokio::test]
async fn a_bad_database_url_or_a_newer_schema_fails_at_startup_with_one_line() {
    let nobody = format!("postgres://app:secret@127.0.0.1:{}/audioby", free_port());
    let line = error_line(&serve_with(&[
        ("AUDIOBY_DATABASE__URL", &nobody),
        ("AUDIOBY_DATABASE__CONNECT_TIMEOUT_SECS", "1"),
    ]));
    assert!(
        line.contains("opening database postgres://app:***@127.0.0.1"),
        "{line}"
    );
    assert!(!line.contains("secret"), "no password in errors: {line}");

    let line = error_line(&serve_with(&[(
        "AUDIOBY_DATABASE__URL",
        "mysql://db/audioby",
    )]));
    assert!(line.contains("neither postgres:// nor sqlite://"), "{line}");

    let missing = fresh_database().await + "_missing";
    let line = error_line(&serve_with(&[("AUDIOBY_DATABASE__URL", &missing)]));
    assert!(line.contains("does not exist"), "{line}");

    let url = fresh_database().await;
    repo(&url).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99999, 'from a newer audioby', TRUE, '\\x00', 0)",
    )
    .execute(&pool(&url).await)
    .await
    .unwrap();
    let line = error_line(&serve_with(&[("AUDIOBY_DATABASE__URL", &url)]));
    assert!(line.contains("[database-schema-too-new]"), "{line}");
    assert!(line.contains("upgrade audioby"), "{line}");
}

/// A populated SQLite data folder moves to PostgreSQL; the API then serves the same article
/// audio from it, and running the copy again copies nothing.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_db_moves_a_sqlite_data_folder_and_the_api_serves_the_same_audio() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut embedded = start_server(dir.path(), &[]);
    let job = put_article(&client, &embedded.base, "moved", "The archive moved today.").await;
    assert_eq!(
        wait_job(&client, &embedded.base, &job).await["status"],
        "ready"
    );
    let audio_path = "/v1/articles/moved/audio";
    let before: Value = client
        .get(format!("{}{audio_path}", embedded.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["status"], "ready", "{before}");
    assert!(embedded.terminate());

    let url = fresh_database().await;
    let migrate = || {
        let mut cmd = audioby();
        cmd.args(["migrate-db", "--data-dir"])
            .arg(dir.path())
            .env("AUDIOBY_DATABASE__URL", &url);
        run(&mut cmd, None)
    };
    let out = migrate();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("articles"), "a summary: {stdout}");
    let again = migrate();
    assert!(again.status.success());
    let again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(
        again
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_lowercase()))
            .skip(1)
            .all(|l| l.contains(" 0 copied now")),
        "a re-run copies nothing: {again}"
    );

    let api = start_role("api", dir.path(), &[("AUDIOBY_DATABASE__URL", &url)]);
    let after: Value = client
        .get(format!("{}{audio_path}", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before, "the same rendition, now from PostgreSQL");
    let db = repo(&url).await;
    let job = db
        .latest_job(&ArticleId::parse("moved").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Ready);
    assert!(
        db.segment_log_count().await.unwrap().0 > 0,
        "the segment log came along"
    );
}
