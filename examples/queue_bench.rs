//! Queue benchmark for `make bench` (scripts/bench.py): claims per second and
//! enqueue-to-claim latency on SQLite and on PostgreSQL (a throwaway cluster, the test
//! harness's `tests/common/postgres.rs`).
//!
//!   queue_bench claims     one markdown table row per backend: claims/s, p50/p99 latency
//!   queue_bench cluster    start a cluster, print a database URL, run until stdin closes
//!                          (bench.py's worker-process comparison uses it)
use std::sync::Arc;
use std::time::{Duration, Instant};

use audioby::article::ArticleId;
use audioby::audio::AudioFormat;
use audioby::queue::{
    DatabaseSettings, JobOutcome, NewJob, PgRepo, Priority, Rendition, Repo, SqliteRepo,
};

#[path = "../tests/common/postgres.rs"]
mod cluster;

/// Jobs claimed (and completed) by the throughput run.
const JOBS: usize = 2_000;
/// Concurrent claimers in the throughput run.
const CLAIMERS: usize = 4;
/// Jobs pushed one at a time for the latency run.
const LATENCY_JOBS: usize = 300;

fn job(n: usize) -> NewJob {
    NewJob {
        article: ArticleId::parse(&format!("a{n}")).expect("a valid id"),
        content_hash: "h".into(),
        voice: "joe".into(),
        formats: vec![AudioFormat::Opus],
        priority: Priority::Prefetch,
        force: false,
    }
}

fn rendition(j: &audioby::queue::Job) -> Rendition {
    Rendition {
        article: j.article.clone(),
        content_hash: j.content_hash.clone(),
        voice: j.voice.clone(),
        duration: 1.0,
        files: vec![],
        manifest: "m.json".into(),
        captions: "c.vtt".into(),
        created_at: 0,
        segments: vec![],
        assembly: String::new(),
    }
}

/// Claims per second: JOBS queued, CLAIMERS claim-and-complete until none is left.
async fn claims_per_second(repo: Arc<dyn Repo>) -> f64 {
    for n in 0..JOBS {
        repo.push(job(n)).await.expect("push");
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|w| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let name = format!("w{w}");
                while let Some(j) = repo.pop(&name, 60_000).await.expect("pop") {
                    repo.complete(&j.claim(), &rendition(&j), &JobOutcome::default())
                        .await
                        .expect("complete");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("claimer");
    }
    JOBS as f64 / start.elapsed().as_secs_f64()
}

/// Enqueue-to-claim latency (ms) of jobs pushed one by one, 5 ms apart, while two idle
/// workers wait the way `pipeline::worker` does: claim, else sleep until woken (NOTIFY on
/// PostgreSQL) or the 500 ms default poll.
async fn latency_ms(repo: Arc<dyn Repo>, offset: usize) -> Vec<f64> {
    let pushed = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let local = Arc::new(tokio::sync::Notify::new());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for w in 0..2 {
        let (repo, tx, local, done) = (
            Arc::clone(&repo),
            tx.clone(),
            Arc::clone(&local),
            Arc::clone(&done),
        );
        let pushed = Arc::clone(&pushed);
        tokio::spawn(async move {
            let remote = repo.wakeups();
            let name = format!("l{w}");
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(j) = repo.pop(&name, 60_000).await.expect("pop") {
                    let at: Option<Instant> =
                        pushed.lock().unwrap().get(&j.article.to_string()).copied();
                    if let Some(at) = at {
                        let _ = tx.send(at.elapsed().as_secs_f64() * 1000.0);
                    }
                    continue;
                }
                let remote_push = async {
                    match &remote {
                        Some(n) => n.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = local.notified() => {}
                    _ = remote_push => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
    }
    drop(tx);
    // Let the listeners connect before the first push.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 0..LATENCY_JOBS {
        let j = job(offset + n);
        pushed
            .lock()
            .unwrap()
            .insert(j.article.to_string(), Instant::now());
        repo.push(j).await.expect("push");
        // A pushing process wakes its own workers (the server does); others hear NOTIFY.
        if repo.wakeups().is_none() {
            local.notify_waiters();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut out = Vec::new();
    while out.len() < LATENCY_JOBS {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(ms)) => out.push(ms),
            _ => break,
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    local.notify_waiters();
    out.sort_by(|a, b| a.total_cmp(b));
    out
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn row(name: &str, repo: Arc<dyn Repo>) {
    let cps = claims_per_second(Arc::clone(&repo)).await;
    let lat = latency_ms(repo, JOBS).await;
    println!(
        "| {name} | {cps:.0} | {:.1} | {:.1} | {} |",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.len()
    );
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "claims".into());
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    match mode.as_str() {
        "cluster" => {
            let url = rt.block_on(cluster::fresh_database());
            println!("{url}");
            // Until the caller closes our stdin; the cluster stops at exit.
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        }
        _ => rt.block_on(async {
            println!(
                "| backend | claims/s ({CLAIMERS} claimers, {JOBS} jobs) | enqueue→claim p50 ms | p99 ms | samples |"
            );
            println!("|---|---|---|---|---|");
            let dir = tempfile::tempdir().expect("temp dir");
            let sqlite = SqliteRepo::open(&dir.path().join("bench.db"))
                .await
                .expect("sqlite");
            row("SQLite (embedded file)", Arc::new(sqlite)).await;
            let url = cluster::fresh_database().await;
            let pg = PgRepo::open(&DatabaseSettings::default(), &url)
                .await
                .expect("postgres");
            row("PostgreSQL 15 (local, fsync off)", Arc::new(pg)).await;
        }),
    }
}
