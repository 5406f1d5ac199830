//! Queue logic against a real SQLite file in a temp dir. The tests act as the worker (claim,
//! fail, complete) instead of running synthesis: what is under test is the queue's contract.
//! Backoff is checked from the stored `run_after`, then "waited out" by moving it into the past,
//! so no test sleeps.
use super::*;
use crate::article::ArticleId;

struct Db {
    repo: SqliteRepo,
    _dir: tempfile::TempDir,
}

async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let repo = SqliteRepo::open(&dir.path().join("queue.db"))
        .await
        .unwrap();
    Db { repo, _dir: dir }
}

fn new_job(article: &str, hash: &str, voice: &str, priority: Priority) -> NewJob {
    NewJob {
        article: ArticleId::parse(article).unwrap(),
        content_hash: hash.into(),
        voice: voice.into(),
        formats: vec![AudioFormat::Opus, AudioFormat::Mp3],
        priority,
        force: false,
    }
}

const LEASE: i64 = 60_000;

impl Db {
    /// (run_after, updated_at) as stored.
    async fn schedule(&self, id: i64) -> (i64, i64) {
        let row = sqlx::query("SELECT run_after, updated_at FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_one(&self.repo.pool)
            .await
            .unwrap();
        (row.get("run_after"), row.get("updated_at"))
    }

    /// Let the backoff of every waiting job expire, as if the time had passed.
    async fn wait_out_backoff(&self) {
        sqlx::query("UPDATE jobs SET run_after = 0 WHERE state = 'queued'")
            .execute(&self.repo.pool)
            .await
            .unwrap();
    }

    async fn pop_article(&self, worker: &str) -> Option<String> {
        self.repo
            .pop(worker, LEASE)
            .await
            .unwrap()
            .map(|j| j.article.to_string())
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_with_growing_delays_then_failed_with_its_error() {
    let db = db().await;
    let job = db
        .repo
        .push(new_job("flaky", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(
        (job.state, job.attempts, job.max_attempts),
        (JobState::Queued, 0, DEFAULT_MAX_ATTEMPTS)
    );

    let mut delays = Vec::new();
    for attempt in 1..=job.max_attempts {
        let claimed = db
            .repo
            .pop("w1", LEASE)
            .await
            .unwrap()
            .expect("the job is runnable");
        assert_eq!(
            (claimed.id, claimed.state, claimed.attempts),
            (job.id, JobState::Running, attempt)
        );
        let state = db
            .repo
            .fail(
                job.id,
                "w1",
                Failure::Retry(format!("engine crashed (attempt {attempt})")),
            )
            .await
            .unwrap();
        if attempt < job.max_attempts {
            assert_eq!(state, JobState::Queued, "attempt {attempt} is retried");
            let stored = db.repo.job(job.id).await.unwrap().unwrap();
            assert_eq!(stored.state, JobState::Queued);
            assert_eq!(
                stored.error.as_deref(),
                Some(format!("engine crashed (attempt {attempt})").as_str()),
                "the last error is visible while retrying"
            );
            let (run_after, failed_at) = db.schedule(job.id).await;
            delays.push(run_after - failed_at);
            assert!(
                db.repo.pop("w2", LEASE).await.unwrap().is_none(),
                "not claimable during its backoff (attempt {attempt})"
            );
            db.wait_out_backoff().await;
        } else {
            assert_eq!(state, JobState::Failed, "attempts ran out");
        }
    }
    assert_eq!(delays, vec![backoff_ms(1), backoff_ms(2), backoff_ms(3)]);
    assert_eq!(
        delays,
        vec![2_000, 4_000, 8_000],
        "exponential: each delay doubles"
    );

    let failed = db.repo.job(job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, job.max_attempts);
    assert_eq!(
        failed.error.as_deref(),
        Some("engine crashed (attempt 4)"),
        "the final error is kept"
    );
    assert_eq!(
        db.repo
            .latest_job(&job.article)
            .await
            .unwrap()
            .unwrap()
            .error,
        failed.error,
        "status shows it"
    );
    db.wait_out_backoff().await;
    assert!(
        db.repo.pop("w1", LEASE).await.unwrap().is_none(),
        "a failed job is never claimed again"
    );
    let stats = db.repo.stats().await.unwrap();
    assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 1));

    // A failed job does not block the same version: pushing it again queues a fresh job.
    let again = db
        .repo
        .push(new_job("flaky", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(again.id, job.id);
    assert_eq!((again.state, again.attempts), (JobState::Queued, 0));
}

#[test]
fn backoff_doubles_and_is_capped() {
    let delays: Vec<i64> = (1..=10).map(backoff_ms).collect();
    assert_eq!(&delays[..4], &[2_000, 4_000, 8_000, 16_000]);
    assert!(delays.windows(2).all(|w| w[1] >= w[0]));
    assert_eq!(backoff_ms(30), 300_000, "capped at five minutes");
}

#[tokio::test]
async fn a_permanent_failure_fails_at_once() {
    let db = db().await;
    let job = db
        .repo
        .push(new_job("empty", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    db.repo.pop("w1", LEASE).await.unwrap().unwrap();
    let state = db
        .repo
        .fail(
            job.id,
            "w1",
            Failure::Abort("the article has no speakable text".into()),
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Failed);
    let stored = db.repo.job(job.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (JobState::Failed, 1));
    assert_eq!(
        stored.error.as_deref(),
        Some("the article has no speakable text")
    );
}

#[tokio::test]
async fn an_interactive_job_is_claimed_before_earlier_prefetch_jobs() {
    let db = db().await;
    for id in ["p1", "p2", "p3"] {
        db.repo
            .push(new_job(id, "h", "joe", Priority::Prefetch))
            .await
            .unwrap();
    }
    let play = db
        .repo
        .push(new_job("listener", "h", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert_eq!(
        db.repo.position(play.id).await.unwrap(),
        0,
        "a play press goes to the front"
    );
    assert_eq!(db.pop_article("w1").await.as_deref(), Some("listener"));
    // Prefetch jobs keep their order among themselves.
    assert_eq!(db.pop_article("w1").await.as_deref(), Some("p1"));

    // Pressing play on a queued prefetch article lifts that job (same job, not a new one).
    let p3 = db
        .repo
        .push(new_job("p3", "h", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert_eq!(p3.priority, Priority::Interactive);
    assert_eq!(
        db.repo.stats().await.unwrap().queued,
        2,
        "deduplicated, not added"
    );
    assert_eq!(db.repo.position(p3.id).await.unwrap(), 0);
    assert_eq!(db.pop_article("w2").await.as_deref(), Some("p3"));
    assert_eq!(db.pop_article("w2").await.as_deref(), Some("p2"));
    assert_eq!(db.pop_article("w2").await, None);
}

#[tokio::test]
async fn the_same_article_version_and_voice_is_queued_once() {
    let db = db().await;
    let first = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let again = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "same version and voice: the same job");
    // A listener's press on it is still the same job; a later prefetch never lowers it.
    let pressed = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Interactive))
        .await
        .unwrap();
    let nightly = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!((pressed.id, nightly.id), (first.id, first.id));
    assert_eq!(nightly.priority, Priority::Interactive);
    assert_eq!(db.repo.stats().await.unwrap().queued, 1);

    // Another voice or another version of the article is another job.
    let other_voice = db
        .repo
        .push(new_job("a", "v1", "amy", Priority::Prefetch))
        .await
        .unwrap();
    let edited = db
        .repo
        .push(new_job("a", "v2", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(other_voice.id, first.id);
    assert_ne!(edited.id, first.id);
    assert_ne!(edited.id, other_voice.id);
    assert_eq!(db.repo.stats().await.unwrap().queued, 3);

    // While it runs, it is still the one job for that key.
    let running = db.repo.pop("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(running.id, first.id, "interactive first");
    let during = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!((during.id, during.state), (first.id, JobState::Running));
}

#[tokio::test]
async fn a_crashed_workers_job_is_claimed_again_after_its_lease() {
    let db = db().await;
    let job = db
        .repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    db.repo.pop("crashed", LEASE).await.unwrap().unwrap();
    assert!(db.repo.pop("w2", LEASE).await.unwrap().is_none(), "leased");
    assert!(db.repo.heartbeat(job.id, "crashed", LEASE).await.unwrap());
    // The lease runs out without a heartbeat.
    sqlx::query("UPDATE jobs SET lease_until = 0 WHERE id = ?")
        .bind(job.id)
        .execute(&db.repo.pool)
        .await
        .unwrap();
    let reclaimed = db
        .repo
        .pop("w2", LEASE)
        .await
        .unwrap()
        .expect("claimable after the lease");
    assert_eq!((reclaimed.id, reclaimed.attempts), (job.id, 2));
    assert!(
        !db.repo.heartbeat(job.id, "crashed", LEASE).await.unwrap(),
        "the old worker lost it"
    );
    // A late report from the old worker changes nothing.
    db.repo
        .fail(job.id, "crashed", Failure::Abort("late".into()))
        .await
        .unwrap();
    let stored = db.repo.job(job.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.error), (JobState::Running, None));
}
