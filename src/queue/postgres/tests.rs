//! The PostgreSQL backend against a real server: the shared repository contract
//! (`queue/contract.rs`) on a fresh database per test of one throwaway cluster per test binary
//! (`tests/common/postgres.rs`), then what the scale-out needs beyond it: claims under
//! contention, the voice filter, release, pruning, the wake-up hint, schema versions.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::queue::contract::{new_job, Subject, START_MS};
use crate::queue::*;

#[path = "../../../tests/common/postgres.rs"]
mod cluster;

fn settings() -> DatabaseSettings {
    DatabaseSettings {
        connect_timeout_secs: 5,
        ..Default::default()
    }
}

async fn open_on(clock: Arc<dyn Clock>) -> (PgRepo, String) {
    let url = cluster::fresh_database().await;
    let repo = PgRepo::open_with_clock(&settings(), &url, clock)
        .await
        .expect("the test database opens");
    (repo, url)
}

async fn subject() -> Subject {
    let clock = Arc::new(ManualClock::new(START_MS));
    let (repo, _) = open_on(clock.clone()).await;
    Subject {
        repo: Arc::new(repo),
        clock,
        guard: Box::new(()),
    }
}

crate::repo_contract_tests!(subject);

/// 8 claimers (each its own pool, like separate processes) over 2,000 queued jobs: every job
/// is claimed exactly once, and every claimer got some.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_claimers_claim_each_of_2000_jobs_exactly_once() {
    let (repo, url) = open_on(Arc::new(SystemClock)).await;
    let ids: Vec<JobId> = futures::future::try_join_all((0..2000).map(|i| {
        let repo = repo.clone();
        async move {
            repo.push(new_job(&format!("a{i}"), "h", "joe", Priority::Prefetch))
                .await
                .map(|j| j.id)
        }
    }))
    .await
    .unwrap();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2000);

    let claimers = (0..8).map(|w| {
        let url = url.clone();
        tokio::spawn(async move {
            let repo = PgRepo::open(&settings(), &url).await.unwrap();
            let mut mine = Vec::new();
            while let Some(job) = repo.pop(&format!("w{w}"), 600_000).await.unwrap() {
                assert!(repo
                    .complete(&job.claim(), &done(&job), &JobOutcome::default())
                    .await
                    .unwrap());
                mine.push(job.id);
            }
            mine
        })
    });
    let per_worker: Vec<Vec<JobId>> = futures::future::try_join_all(claimers).await.unwrap();
    let all: Vec<JobId> = per_worker.iter().flatten().cloned().collect();
    let distinct: HashSet<JobId> = all.iter().cloned().collect();
    assert_eq!(all.len(), 2000, "every job claimed once, none twice");
    assert_eq!(distinct, ids.into_iter().collect());
    let busy = per_worker.iter().filter(|w| !w.is_empty()).count();
    assert!(
        busy >= 2,
        "claims spread over claimers: {busy} of 8 got work"
    );
    let s = repo.stats().await.unwrap();
    assert_eq!((s.queued, s.running, s.ready), (0, 0, 2000));
}

fn done(job: &Job) -> Rendition {
    Rendition {
        article: job.article.clone(),
        content_hash: job.content_hash.clone(),
        voice: job.voice.clone(),
        duration: 1.0,
        files: vec![],
        manifest: format!("{}.json", job.article),
        captions: format!("{}.vtt", job.article),
        created_at: 0,
        segments: vec![],
        assembly: String::new(),
    }
}

#[tokio::test]
async fn a_worker_claims_only_jobs_for_its_voices() {
    let Subject { repo, .. } = subject().await;
    repo.push(new_job("a", "h", "amy", Priority::Interactive))
        .await
        .unwrap();
    let joe = repo
        .push(new_job("b", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let voices = vec!["joe".to_string()];
    let got = repo.pop_matching("w", 60_000, &voices).await.unwrap();
    assert_eq!(got.map(|j| j.id), Some(joe.id), "amy's job is not ours");
    assert!(repo
        .pop_matching("w", 60_000, &voices)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        repo.pop("w", 60_000).await.unwrap().unwrap().voice,
        "amy",
        "still there for a worker that has amy"
    );
}

#[tokio::test]
async fn a_released_job_is_claimable_at_once_and_its_attempt_not_charged() {
    let Subject { repo, .. } = subject().await;
    let job = repo
        .push(new_job("a", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let first = repo.pop("stopping", 60_000).await.unwrap().unwrap();
    assert!(repo.release(&first.claim()).await.unwrap());
    assert!(
        !repo.release(&first.claim()).await.unwrap(),
        "a spent claim releases nothing"
    );
    let again = repo.pop("next", 60_000).await.unwrap().expect("at once");
    assert_eq!((again.id, again.attempts), (job.id, 2));
    assert_eq!(again.max_attempts, DEFAULT_MAX_ATTEMPTS + 1);
    assert!(!repo.heartbeat(&first.claim(), 60_000).await.unwrap());
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_their_age_and_active_ones_never() {
    let clock = Arc::new(ManualClock::new(START_MS));
    let (repo, _) = open_on(clock.clone()).await;
    let old = repo
        .push(new_job("old", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let j = repo.pop("w", 60_000).await.unwrap().unwrap();
    repo.fail(&j.claim(), Failure::Abort("x".into()))
        .await
        .unwrap();
    clock.advance(10_000);
    let waiting = repo
        .push(new_job("waiting", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(repo.prune_finished(20_000).await.unwrap(), 0, "too young");
    clock.advance(15_000);
    assert_eq!(repo.prune_finished(20_000).await.unwrap(), 1);
    assert!(repo.job(&old.id).await.unwrap().is_none());
    assert!(
        repo.job(&waiting.id).await.unwrap().is_some(),
        "queued stays"
    );
}

/// A push in one process wakes an idle worker of another through NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_elsewhere_wakes_a_listening_worker() {
    let (repo, url) = open_on(Arc::new(SystemClock)).await;
    let other = PgRepo::open(&settings(), &url).await.unwrap();
    let wake = repo.wakeups().expect("PostgreSQL has a wake-up channel");
    // The listener connects in the background: push until one wake-up arrives.
    let woken = async {
        for i in 0.. {
            let notified = wake.notified();
            other
                .push(new_job(&format!("n{i}"), "h", "joe", Priority::Prefetch))
                .await
                .unwrap();
            if tokio::time::timeout(Duration::from_secs(2), notified)
                .await
                .is_ok()
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), woken)
        .await
        .expect("a notification arrives");
}

#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused_and_an_older_binary_writes_nothing() {
    let (repo, url) = open_on(Arc::new(SystemClock)).await;
    let next = PgRepo::schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, 'from the future', TRUE, '\\x00', 0)",
    )
    .bind(next)
    .execute(&repo.pool)
    .await
    .unwrap();
    let err = match PgRepo::open(&settings(), &url).await {
        Err(e) => e,
        Ok(_) => panic!("a newer schema must be refused"),
    };
    assert_eq!(err.code(), "database-schema-too-new");
    assert!(
        err.to_string().contains(&format!("version {next}")),
        "{err}"
    );
}

#[tokio::test]
async fn reopening_applies_nothing_twice_and_processes_migrate_together() {
    let url = cluster::fresh_database().await;
    let s = settings();
    let opens = (0..4).map(|_| PgRepo::open(&s, &url));
    for repo in futures::future::join_all(opens).await {
        let repo = repo.expect("every process opens the database");
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&repo.pool)
                .await
                .unwrap();
        assert_eq!(
            versions,
            MIGRATOR.iter().map(|m| m.version).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_fails_after_the_connect_timeout_and_a_missing_database_at_once() {
    let port = cluster::free_port();
    let quick = DatabaseSettings {
        connect_timeout_secs: 1,
        ..Default::default()
    };
    let err = PgRepo::open(&quick, &format!("postgres://postgres@127.0.0.1:{port}/x"))
        .await
        .err()
        .expect("nobody listens there");
    assert!(err.is_unavailable(), "{err}");

    let missing = cluster::fresh_database().await + "_missing";
    let err = PgRepo::open(&settings(), &missing)
        .await
        .err()
        .expect("no such database");
    assert!(!err.is_unavailable(), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}
