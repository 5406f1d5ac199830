//! The behaviour every repository backend owes its callers, written once against the traits
//! (`&dyn Repo`) and a [`ManualClock`], so SQLite today and PostgreSQL later pass the same
//! checks unchanged. A backend's tests run all of them with
//! `repo_contract_tests!(open_fresh_subject)` (see `sqlite/tests.rs`). The queue acts as the
//! worker here (claim, fail, complete) instead of running synthesis: what is under test is the
//! repository's contract. No check sleeps: time moves with the clock.
use std::sync::Arc;

use super::*;
use crate::article::{ArticleInput, ArticleRecord};

/// A fresh, empty repository on a manual clock, and whatever must outlive it (a temp dir, a
/// test schema…).
pub struct Subject {
    pub repo: Arc<dyn Repo>,
    pub clock: Arc<ManualClock>,
    pub guard: Box<dyn Send>,
}

/// Where every subject's clock starts: an ordinary date (2025-01-01), far from zero.
pub const START_MS: i64 = 1_735_689_600_000;

const LEASE: i64 = 60_000;

/// Runs every contract check as its own test against subjects from `$open` (an async fn or
/// closure returning a fresh [`Subject`]). The list lives here so no backend skips a check.
#[doc(hidden)]
#[macro_export]
macro_rules! repo_contract_tests {
    ($open:expr) => {
        $crate::repo_contract_tests!(@each $open;
            articles_are_stored_with_their_version,
            the_same_article_version_and_voice_is_queued_once,
            an_interactive_job_is_claimed_before_earlier_prefetch_jobs,
            jobs_are_claimed_oldest_first_once_their_backoff_passed,
            a_failing_job_is_retried_with_growing_delays_then_failed_with_its_error,
            a_permanent_failure_fails_at_once,
            a_crashed_workers_job_is_claimed_again_after_its_lease,
            a_job_whose_worker_died_max_attempts_times_is_failed_not_claimed,
            job_ids_are_random_and_distinct,
            a_released_job_is_claimable_at_once_without_spending_an_attempt,
            a_heartbeat_extends_the_lease,
            reports_under_a_superseded_claim_are_refused,
            a_cancelled_job_is_neither_claimed_nor_published,
            position_counts_the_jobs_ahead,
            stats_count_jobs_by_state_and_age_the_oldest_queued,
            completing_publishes_the_rendition_with_the_job,
            a_rendition_published_without_a_job_replaces_its_own_key_only,
            segments_are_evicted_least_recently_used_first_never_while_current,
            unique_listeners_count_once_a_day_and_the_days_salt_and_hashes_go_with_it,
            a_listen_only_moves_forward_and_the_dropoff_follows_furthest_sentences,
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let subject: $crate::queue::contract::Subject = ($open)().await;
            $crate::queue::contract::$name(&*subject.repo, &subject.clock).await;
        }
    )*};
}

pub fn new_job(article: &str, hash: &str, voice: &str, priority: Priority) -> NewJob {
    NewJob {
        article: ArticleId::parse(article).unwrap(),
        content_hash: hash.into(),
        voice: voice.into(),
        formats: vec![AudioFormat::Opus, AudioFormat::Mp3],
        priority,
        force: false,
    }
}

fn article(id: &str, text: &str, now_ms: i64) -> ArticleRecord {
    let input = ArticleInput {
        title: Some(format!("About {id}")),
        byline: None,
        html: None,
        text: Some(text.into()),
        url: Some(format!("https://news.example/{id}")),
        voice: None,
        ..Default::default()
    };
    ArticleRecord::build(
        ArticleId::parse(id).unwrap(),
        input,
        &Default::default(),
        now_ms,
    )
    .unwrap()
}

fn job_for(a: &ArticleRecord, voice: &str) -> NewJob {
    new_job(a.id.as_str(), &a.content_hash, voice, Priority::Prefetch)
}

fn rendition(a: &ArticleRecord, voice: &str, name: &str, segments: &[&str]) -> Rendition {
    Rendition {
        article: a.id.clone(),
        content_hash: a.content_hash.clone(),
        voice: voice.into(),
        duration: 3.5,
        files: vec![
            (AudioFormat::Opus, format!("{name}.opus")),
            (AudioFormat::Mp3, format!("{name}.mp3")),
        ],
        manifest: format!("{name}.json"),
        captions: format!("{name}.vtt"),
        created_at: 0,
        segments: segments.iter().map(|s| s.to_string()).collect(),
        assembly: String::new(),
    }
}

fn outcome(segments: u64) -> JobOutcome {
    JobOutcome {
        segments_total: segments,
        segments_synthesized: segments,
        audio_seconds: 3.5,
    }
}

async fn claim(repo: &dyn Repo, worker: &str) -> Job {
    repo.pop(worker, LEASE)
        .await
        .unwrap()
        .expect("a job is runnable")
}

async fn pop_article(repo: &dyn Repo, worker: &str) -> Option<String> {
    repo.pop(worker, LEASE)
        .await
        .unwrap()
        .map(|j| j.article.to_string())
}

async fn stored(repo: &dyn Repo, id: &JobId) -> Job {
    repo.job(id).await.unwrap().expect("the job exists")
}

pub async fn articles_are_stored_with_their_version(repo: &dyn Repo, clock: &ManualClock) {
    let v1 = article("budget", "The council approved the budget.", clock.now_ms());
    assert!(repo.upsert_article(&v1).await.unwrap(), "new");
    assert!(
        !repo.upsert_article(&v1).await.unwrap(),
        "same text: same version"
    );
    let stored = repo.article(&v1.id).await.unwrap().expect("stored");
    assert_eq!(
        (
            &stored.title,
            &stored.url,
            &stored.body,
            stored.body_is_html
        ),
        (&v1.title, &v1.url, &v1.body, false)
    );
    assert_eq!(stored.content_hash, v1.content_hash);
    assert_eq!(stored.blocks.len(), v1.blocks.len());
    let unknown = ArticleId::parse("unknown").unwrap();
    assert!(repo.article(&unknown).await.unwrap().is_none());

    clock.advance(1_000);
    let v2 = article("budget", "The council rejected the budget.", clock.now_ms());
    assert!(
        repo.upsert_article(&v2).await.unwrap(),
        "edited: new version"
    );
    let stored = repo.article(&v1.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.content_hash, stored.updated_at),
        (v2.content_hash, v2.updated_at)
    );
    clock.advance(1_000);
    let other = article("weather", "Rain all day.", clock.now_ms());
    repo.upsert_article(&other).await.unwrap();
    assert_eq!(
        repo.articles_since(v2.updated_at).await.unwrap(),
        vec![v1.id.clone(), other.id.clone()],
        "oldest update first"
    );
    assert_eq!(
        repo.articles_since(other.updated_at).await.unwrap(),
        vec![other.id.clone()]
    );
}

pub async fn the_same_article_version_and_voice_is_queued_once(
    repo: &dyn Repo,
    _clock: &ManualClock,
) {
    let first = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let again = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(&again.id, &first.id, "same version and voice: the same job");
    // A listener's press on it is still the same job; a later prefetch never lowers it.
    let pressed = repo
        .push(new_job("a", "v1", "joe", Priority::Interactive))
        .await
        .unwrap();
    let nightly = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!((&pressed.id, &nightly.id), (&first.id, &first.id));
    assert_eq!(nightly.priority, Priority::Interactive);
    assert_eq!(repo.stats().await.unwrap().queued, 1);

    // Another voice or another version of the article is another job.
    let other_voice = repo
        .push(new_job("a", "v1", "amy", Priority::Prefetch))
        .await
        .unwrap();
    let edited = repo
        .push(new_job("a", "v2", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(&other_voice.id, &first.id);
    assert_ne!(&edited.id, &first.id);
    assert_ne!(&edited.id, &other_voice.id);
    assert_eq!(repo.stats().await.unwrap().queued, 3);

    // While it runs, it is still the one job for that key.
    let running = repo.pop("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(&running.id, &first.id, "interactive first");
    let during = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!((&during.id, during.state), (&first.id, JobState::Running));
}

pub async fn an_interactive_job_is_claimed_before_earlier_prefetch_jobs(
    repo: &dyn Repo,
    _clock: &ManualClock,
) {
    for id in ["p1", "p2", "p3"] {
        repo.push(new_job(id, "h", "joe", Priority::Prefetch))
            .await
            .unwrap();
    }
    let play = repo
        .push(new_job("listener", "h", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert_eq!(
        repo.position(&play.id).await.unwrap(),
        0,
        "a play press goes to the front"
    );
    assert_eq!(pop_article(repo, "w1").await.as_deref(), Some("listener"));
    // Prefetch jobs keep their order among themselves.
    assert_eq!(pop_article(repo, "w1").await.as_deref(), Some("p1"));

    // Pressing play on a queued prefetch article lifts that job (same job, not a new one).
    let p3 = repo
        .push(new_job("p3", "h", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert_eq!(p3.priority, Priority::Interactive);
    assert_eq!(
        repo.stats().await.unwrap().queued,
        2,
        "deduplicated, not added"
    );
    assert_eq!(repo.position(&p3.id).await.unwrap(), 0);
    assert_eq!(pop_article(repo, "w2").await.as_deref(), Some("p3"));
    assert_eq!(pop_article(repo, "w2").await.as_deref(), Some("p2"));
    assert_eq!(pop_article(repo, "w2").await, None);
}

pub async fn jobs_are_claimed_oldest_first_once_their_backoff_passed(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let old = repo
        .push(new_job("old", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let first = claim(repo, "w1").await;
    assert_eq!(&first.id, &old.id);
    repo.fail(&first.claim(), Failure::Retry("busy".into()))
        .await
        .unwrap();
    clock.advance(1);
    repo.push(new_job("new", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    clock.advance(1);
    repo.push(new_job("newer", "h", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(
        pop_article(repo, "w1").await.as_deref(),
        Some("new"),
        "the retried job waits out its backoff"
    );
    clock.advance(backoff_ms(1));
    assert_eq!(
        pop_article(repo, "w1").await.as_deref(),
        Some("old"),
        "then it goes first again: it was queued earliest"
    );
    assert_eq!(pop_article(repo, "w1").await.as_deref(), Some("newer"));
}

/// Backoff is measured by moving the clock in half-second steps until the job is claimable
/// again (every delay is whole seconds, so the step that frees it is its exact delay).
pub async fn a_failing_job_is_retried_with_growing_delays_then_failed_with_its_error(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let job = repo
        .push(new_job("flaky", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_eq!(
        (job.state, job.attempts, job.max_attempts),
        (JobState::Queued, 0, DEFAULT_MAX_ATTEMPTS)
    );

    let mut delays = Vec::new();
    let mut claimed = repo
        .pop("w1", LEASE)
        .await
        .unwrap()
        .expect("the job is runnable");
    for attempt in 1..=job.max_attempts {
        assert_eq!(
            (&claimed.id, claimed.state, claimed.attempts),
            (&job.id, JobState::Running, attempt)
        );
        let state = repo
            .fail(
                &claimed.claim(),
                Failure::Retry(format!("engine crashed (attempt {attempt})")),
            )
            .await
            .unwrap();
        if attempt < job.max_attempts {
            assert_eq!(
                state,
                Some(JobState::Queued),
                "attempt {attempt} is retried"
            );
            let stored = repo.job(&job.id).await.unwrap().unwrap();
            assert_eq!(stored.state, JobState::Queued);
            assert_eq!(
                stored.error.as_deref(),
                Some(format!("engine crashed (attempt {attempt})").as_str()),
                "the last error is visible while retrying"
            );
            assert!(
                repo.pop("w2", LEASE).await.unwrap().is_none(),
                "not claimable during its backoff (attempt {attempt})"
            );
            let failed_at = clock.now_ms();
            claimed = loop {
                clock.advance(500);
                assert!(
                    clock.now_ms() - failed_at <= 600_000,
                    "still not claimable ten minutes after attempt {attempt}"
                );
                if let Some(j) = repo.pop("w1", LEASE).await.unwrap() {
                    break j;
                }
            };
            delays.push(clock.now_ms() - failed_at);
        } else {
            assert_eq!(state, Some(JobState::Failed), "attempts ran out");
        }
    }
    assert_eq!(delays, vec![backoff_ms(1), backoff_ms(2), backoff_ms(3)]);
    assert_eq!(
        delays,
        vec![2_000, 4_000, 8_000],
        "exponential: each delay doubles"
    );

    let failed = repo.job(&job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, job.max_attempts);
    assert_eq!(
        failed.error.as_deref(),
        Some("engine crashed (attempt 4)"),
        "the final error is kept"
    );
    assert_eq!(
        repo.latest_job(&job.article).await.unwrap().unwrap().error,
        failed.error,
        "status shows it"
    );
    clock.advance(backoff_ms(30));
    assert!(
        repo.pop("w1", LEASE).await.unwrap().is_none(),
        "a failed job is never claimed again"
    );
    let stats = repo.stats().await.unwrap();
    assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 1));

    // A failed job does not block the same version: pushing it again queues a fresh job.
    let again = repo
        .push(new_job("flaky", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(&again.id, &job.id);
    assert_eq!((again.state, again.attempts), (JobState::Queued, 0));
}

pub async fn a_permanent_failure_fails_at_once(repo: &dyn Repo, _clock: &ManualClock) {
    let job = repo
        .push(new_job("empty", "h1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let claimed = repo.pop("w1", LEASE).await.unwrap().unwrap();
    let state = repo
        .fail(
            &claimed.claim(),
            Failure::Abort("the article has no speakable text".into()),
        )
        .await
        .unwrap();
    assert_eq!(state, Some(JobState::Failed));
    let stored = repo.job(&job.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (JobState::Failed, 1));
    assert_eq!(
        stored.error.as_deref(),
        Some("the article has no speakable text")
    );
}

pub async fn a_crashed_workers_job_is_claimed_again_after_its_lease(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let job = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let crashed = repo.pop("crashed", LEASE).await.unwrap().unwrap().claim();
    assert!(repo.pop("w2", LEASE).await.unwrap().is_none(), "leased");
    assert!(repo.heartbeat(&crashed, LEASE).await.unwrap());
    // The lease runs out without a heartbeat.
    clock.advance(LEASE);
    assert!(
        repo.pop("w2", LEASE).await.unwrap().is_none(),
        "leased up to its last millisecond"
    );
    clock.advance(1);
    let reclaimed = repo
        .pop("w2", LEASE)
        .await
        .unwrap()
        .expect("claimable after the lease");
    assert_eq!((&reclaimed.id, reclaimed.attempts), (&job.id, 2));
    assert!(
        !repo.heartbeat(&crashed, LEASE).await.unwrap(),
        "the old worker lost it"
    );
    // A late report from the old worker changes nothing.
    assert_eq!(
        repo.fail(&crashed, Failure::Abort("late".into()))
            .await
            .unwrap(),
        None
    );
    let stored = repo.job(&job.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.error), (JobState::Running, None));
}

/// An article that kills the process (a crash in the engine, the OOM killer) must not
/// crash-loop every worker that claims it: lost leases use up attempts like failures do.
pub async fn a_job_whose_worker_died_max_attempts_times_is_failed_not_claimed(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let job = repo
        .push(new_job("crasher", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let other = repo
        .push(new_job("fine", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    for attempt in 1..=job.max_attempts {
        let claimed = claim(repo, &format!("doomed-{attempt}")).await;
        assert_eq!((&claimed.id, claimed.attempts), (&job.id, attempt));
        // The worker dies: no heartbeat, no report.
        clock.advance(LEASE + 1);
    }
    // The last lease expired: the next claim fails the job and takes the next one instead.
    let next = claim(repo, "survivor").await;
    assert_eq!(next.id, other.id, "the crashing job is not claimed again");
    let failed = stored(repo, &job.id).await;
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some(format!("worker died {} times", job.max_attempts).as_str())
    );
    assert_eq!(failed.attempts, job.max_attempts);
    clock.advance(10 * LEASE);
    while let Some(j) = repo.pop("w", LEASE).await.unwrap() {
        assert_ne!(j.id, job.id, "a failed job is never claimed again");
    }
    assert_eq!(stored(repo, &job.id).await.state, JobState::Failed);
    // A new version of the article can still be queued.
    let again = repo
        .push(new_job("crasher", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(again.id, job.id);
    assert_eq!(again.state, JobState::Queued);
}

/// Preemption and graceful shutdown give a job back; fencing still holds afterwards.
pub async fn a_released_job_is_claimable_at_once_without_spending_an_attempt(
    repo: &dyn Repo,
    _clock: &ManualClock,
) {
    assert!(!repo.interactive_waiting().await.unwrap());
    let long = repo
        .push(new_job("longread", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let first = claim(repo, "w1").await;
    assert_eq!(first.id, long.id);
    assert!(!repo.interactive_waiting().await.unwrap(), "prefetch only");
    let play = repo
        .push(new_job("breaking", "v1", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert!(repo.interactive_waiting().await.unwrap());
    assert!(repo.release(&first.claim()).await.unwrap());
    assert!(
        !repo.release(&first.claim()).await.unwrap(),
        "released once"
    );
    let released = stored(repo, &long.id).await;
    assert_eq!(released.state, JobState::Queued);
    assert_eq!(
        released.max_attempts - released.attempts,
        first.max_attempts - first.attempts + 1,
        "the attempt came back"
    );
    // The listener's job first, then the long read again, at once (no backoff).
    let next = claim(repo, "w1").await;
    assert_eq!(next.id, play.id);
    assert!(!repo.interactive_waiting().await.unwrap());
    let again = claim(repo, "w1").await;
    assert_eq!((&again.id, again.attempts), (&long.id, first.attempts + 1));
    // The released claim is spent: its reports are refused.
    assert!(!repo.heartbeat(&first.claim(), LEASE).await.unwrap());
    assert_eq!(
        repo.fail(&first.claim(), Failure::Abort("late".into()))
            .await
            .unwrap(),
        None
    );
    assert!(repo.heartbeat(&again.claim(), LEASE).await.unwrap());
}

/// Job IDs are public: they must not be guessable from one another.
pub async fn job_ids_are_random_and_distinct(repo: &dyn Repo, _clock: &ManualClock) {
    let mut ids = std::collections::HashSet::new();
    for n in 0..20 {
        let job = repo
            .push(new_job(&format!("a{n}"), "v1", "joe", Priority::Prefetch))
            .await
            .unwrap();
        assert_eq!(job.id.as_str().len(), JOB_ID_LEN);
        assert!(repo.job(&job.id).await.unwrap().is_some());
        ids.insert(job.id);
    }
    assert_eq!(ids.len(), 20);
    // Neighbouring IDs share no long prefix (sequential or time-based IDs would).
    let mut sorted: Vec<_> = ids.iter().map(|i| i.as_str().to_owned()).collect();
    sorted.sort();
    let shared = sorted
        .windows(2)
        .map(|w| {
            w[0].bytes()
                .zip(w[1].bytes())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap();
    assert!(shared < 12, "IDs look sequential: {sorted:?}");
}

pub async fn a_heartbeat_extends_the_lease(repo: &dyn Repo, clock: &ManualClock) {
    let job = repo
        .push(new_job("long", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let ours = claim(repo, "w1").await.claim();
    clock.advance(LEASE / 2);
    assert!(repo.heartbeat(&ours, LEASE).await.unwrap());
    clock.advance(LEASE / 2 + 1);
    assert!(
        repo.pop("w2", LEASE).await.unwrap().is_none(),
        "past the first lease, within the renewed one"
    );
    // A lease that ran out with nobody taking over is still ours to renew.
    clock.advance(LEASE);
    assert!(repo.heartbeat(&ours, LEASE).await.unwrap());
    assert!(repo.pop("w2", LEASE).await.unwrap().is_none());
    clock.advance(LEASE + 1);
    let taken = claim(repo, "w2").await;
    assert_eq!((&taken.id, taken.attempts), (&job.id, 2));
}

pub async fn reports_under_a_superseded_claim_are_refused(repo: &dyn Repo, clock: &ManualClock) {
    let a = article(
        "race",
        "Two workers raced for this article.",
        clock.now_ms(),
    );
    repo.upsert_article(&a).await.unwrap();
    let job = repo.push(job_for(&a, "joe")).await.unwrap();
    let slow = claim(repo, "slow").await.claim();
    clock.advance(LEASE + 1);
    let fast = claim(repo, "fast").await.claim();
    assert_eq!((&slow.job, &fast.job), (&job.id, &job.id));
    assert_eq!((slow.attempt, fast.attempt), (1, 2), "the claim moved on");

    assert!(!repo.heartbeat(&slow, LEASE).await.unwrap());
    assert!(
        !repo
            .complete(&slow, &rendition(&a, "joe", "slow", &["s1"]), &outcome(1))
            .await
            .unwrap(),
        "the slow worker's result is refused"
    );
    assert!(
        repo.rendition(&a.id, &a.content_hash, "joe")
            .await
            .unwrap()
            .is_none(),
        "and nothing of it was published"
    );
    assert_eq!(stored(repo, &job.id).await.state, JobState::Running);

    assert!(repo
        .complete(
            &fast,
            &rendition(&a, "joe", "fast", &["f1", "f2"]),
            &outcome(2)
        )
        .await
        .unwrap());
    // Late reports after the job finished change nothing either.
    assert!(!repo
        .complete(&slow, &rendition(&a, "joe", "slow", &["s1"]), &outcome(1))
        .await
        .unwrap());
    assert_eq!(
        repo.fail(&slow, Failure::Abort("late".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.fail(&fast, Failure::Retry("twice".into()))
            .await
            .unwrap(),
        None,
        "a finished claim is spent"
    );
    let done = stored(repo, &job.id).await;
    assert_eq!(
        (done.state, done.error, done.segments_total),
        (JobState::Ready, None, Some(2))
    );
    let published = repo
        .rendition(&a.id, &a.content_hash, "joe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.manifest, "fast.json", "the taker-over's result");
    assert_eq!(published.segments, vec!["f1", "f2"]);
}

pub async fn a_cancelled_job_is_neither_claimed_nor_published(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let queued = repo
        .push(new_job("q", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    let cancelled = repo.cancel(&queued.id).await.unwrap().unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(repo.pop("w1", LEASE).await.unwrap().is_none());
    assert_eq!(
        repo.cancel(&queued.id).await.unwrap().unwrap().state,
        JobState::Cancelled,
        "cancelling twice is harmless"
    );
    assert!(repo.cancel(&JobId::generate()).await.unwrap().is_none());
    let fresh = repo
        .push(new_job("q", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    assert_ne!(
        &fresh.id, &queued.id,
        "a cancelled job no longer holds its key"
    );
    repo.cancel(&fresh.id).await.unwrap();

    let a = article("running", "Stopped while speaking.", clock.now_ms());
    repo.upsert_article(&a).await.unwrap();
    let job = repo.push(job_for(&a, "joe")).await.unwrap();
    let ours = claim(repo, "w1").await.claim();
    assert_eq!(
        repo.cancel(&job.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    assert!(
        !repo.heartbeat(&ours, LEASE).await.unwrap(),
        "the worker learns it"
    );
    assert!(!repo
        .complete(&ours, &rendition(&a, "joe", "late", &[]), &outcome(1))
        .await
        .unwrap());
    assert_eq!(
        repo.fail(&ours, Failure::Retry("x".into())).await.unwrap(),
        None
    );
    assert_eq!(stored(repo, &job.id).await.state, JobState::Cancelled);
    assert!(repo
        .rendition(&a.id, &a.content_hash, "joe")
        .await
        .unwrap()
        .is_none());
    clock.advance(LEASE + 1);
    assert!(repo.pop("w2", LEASE).await.unwrap().is_none());
}

pub async fn position_counts_the_jobs_ahead(repo: &dyn Repo, clock: &ManualClock) {
    let mut ids = Vec::new();
    for id in ["p1", "p2", "p3"] {
        ids.push(
            repo.push(new_job(id, "h", "joe", Priority::Prefetch))
                .await
                .unwrap()
                .id,
        );
        clock.advance(1);
    }
    let mut positions = Vec::new();
    for id in &ids {
        positions.push(repo.position(id).await.unwrap());
    }
    assert_eq!(positions, vec![0, 1, 2]);
    let play = repo
        .push(new_job("play", "h", "joe", Priority::Interactive))
        .await
        .unwrap();
    assert_eq!(repo.position(&play.id).await.unwrap(), 0);
    assert_eq!(repo.position(&ids[2]).await.unwrap(), 3, "one more ahead");
    let running = claim(repo, "w1").await;
    assert_eq!(&running.id, &play.id);
    assert_eq!(repo.position(&play.id).await.unwrap(), 0, "running");
    assert_eq!(repo.position(&ids[2]).await.unwrap(), 2);
    repo.cancel(&ids[0]).await.unwrap();
    assert_eq!(repo.position(&ids[0]).await.unwrap(), 0, "final");
    assert_eq!(repo.position(&ids[2]).await.unwrap(), 1);
    assert_eq!(
        repo.position(&JobId::generate()).await.unwrap(),
        0,
        "unknown"
    );
}

pub async fn stats_count_jobs_by_state_and_age_the_oldest_queued(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let empty = repo.stats().await.unwrap();
    assert_eq!(
        (empty.queued, empty.running, empty.ready, empty.failed),
        (0, 0, 0, 0)
    );
    assert_eq!(empty.oldest_queued_secs, 0.0);
    repo.ping().await.unwrap();

    for id in ["s1", "s2", "s3", "s4"] {
        repo.push(new_job(id, "h", "joe", Priority::Prefetch))
            .await
            .unwrap();
        clock.advance(1_000);
    }
    clock.advance(1_500);
    let s = repo.stats().await.unwrap();
    assert_eq!((s.queued, s.running), (4, 0));
    assert_eq!(s.oldest_queued_secs, 5.5, "s1 was queued 5.5 s ago");

    let a = article("s1", "Stats.", clock.now_ms());
    let done = claim(repo, "w1").await.claim();
    assert!(repo
        .complete(&done, &rendition(&a, "joe", "s1", &[]), &outcome(1))
        .await
        .unwrap());
    let failed = claim(repo, "w1").await.claim();
    repo.fail(&failed, Failure::Abort("broken".into()))
        .await
        .unwrap();
    claim(repo, "w1").await;
    let s = repo.stats().await.unwrap();
    assert_eq!(
        (s.queued, s.running, s.ready, s.failed),
        (1, 1, 1, 1),
        "{s:?}"
    );
    assert_eq!(s.oldest_queued_secs, 2.5, "now s4 is the oldest");
}

pub async fn completing_publishes_the_rendition_with_the_job(repo: &dyn Repo, clock: &ManualClock) {
    let v1 = article("news", "The bridge reopened today.", clock.now_ms());
    repo.upsert_article(&v1).await.unwrap();
    let job = repo.push(job_for(&v1, "joe")).await.unwrap();
    let ours = claim(repo, "w1").await.claim();
    assert!(repo
        .rendition(&v1.id, &v1.content_hash, "joe")
        .await
        .unwrap()
        .is_none());
    assert!(repo.live_objects().await.unwrap().is_empty());

    clock.advance(2_000);
    let made = rendition(&v1, "joe", "n1", &["k1", "k2"]);
    let o = JobOutcome {
        segments_total: 2,
        segments_synthesized: 1,
        audio_seconds: 3.5,
    };
    assert!(repo.complete(&ours, &made, &o).await.unwrap());
    let done = stored(repo, &job.id).await;
    assert_eq!(
        (
            done.state,
            done.segments_total,
            done.segments_synthesized,
            done.audio_seconds
        ),
        (JobState::Ready, Some(2), Some(1), Some(3.5))
    );
    let stored = repo
        .rendition(&v1.id, &v1.content_hash, "joe")
        .await
        .unwrap()
        .expect("published with the job");
    assert_eq!(
        (
            &stored.voice,
            stored.duration,
            &stored.files,
            &stored.manifest,
            &stored.captions,
            &stored.segments
        ),
        (
            &made.voice,
            made.duration,
            &made.files,
            &made.manifest,
            &made.captions,
            &made.segments
        )
    );
    assert_eq!(stored.created_at, clock.now_ms(), "stamped when published");
    assert!(repo
        .rendition(&v1.id, &v1.content_hash, "amy")
        .await
        .unwrap()
        .is_none());
    let mut live = repo.live_objects().await.unwrap();
    live.sort();
    assert_eq!(live, vec!["n1.json", "n1.mp3", "n1.opus", "n1.vtt"]);

    // Once the article changes, that rendition is no longer current: its objects may go.
    let v2 = article("news", "The bridge closed again.", clock.now_ms());
    repo.upsert_article(&v2).await.unwrap();
    assert!(repo.live_objects().await.unwrap().is_empty());
    assert!(
        repo.rendition(&v1.id, &v1.content_hash, "joe")
            .await
            .unwrap()
            .is_some(),
        "the old version's rendition is still on record"
    );
}

/// A feed's own rendition is published beside the article's (another voice key), replaced
/// when re-assembled, and counts as live like the article's.
pub async fn a_rendition_published_without_a_job_replaces_its_own_key_only(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let a = article("feed-item", "The ferry runs again.", clock.now_ms());
    repo.upsert_article(&a).await.unwrap();
    let ours = {
        repo.push(job_for(&a, "joe")).await.unwrap();
        claim(repo, "w1").await.claim()
    };
    let o = JobOutcome::default();
    assert!(repo
        .complete(&ours, &rendition(&a, "joe", "main", &["k1"]), &o)
        .await
        .unwrap());
    clock.advance(1_000);
    let mut feed = rendition(&a, "joe/feed/podcast", "f1", &["k1"]);
    feed.assembly = "key-1".into();
    repo.publish_rendition(&feed).await.unwrap();
    feed.files = vec![(AudioFormat::Mp3, "f2.mp3".into())];
    feed.manifest = "f2.json".into();
    feed.captions = "f2.vtt".into();
    feed.assembly = "key-2".into();
    clock.advance(1_000);
    repo.publish_rendition(&feed).await.unwrap();
    let got = repo
        .rendition(&a.id, &a.content_hash, "joe/feed/podcast")
        .await
        .unwrap()
        .expect("published");
    assert_eq!(
        (&got.files, &got.manifest, got.assembly.as_str()),
        (&feed.files, &feed.manifest, "key-2"),
        "re-publishing replaces the row"
    );
    assert_eq!(got.created_at, clock.now_ms());
    let main = repo
        .rendition(&a.id, &a.content_hash, "joe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(main.manifest, "main.json", "the article's own is untouched");
    let mut live = repo.live_objects().await.unwrap();
    live.sort();
    assert_eq!(
        live,
        [
            "f2.json",
            "f2.mp3",
            "f2.vtt",
            "main.json",
            "main.mp3",
            "main.opus",
            "main.vtt"
        ]
    );
}

pub async fn segments_are_evicted_least_recently_used_first_never_while_current(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let keys = |v: &[(String, u64)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(repo.segment_bytes().await.unwrap(), 0);
    for (key, bytes) in [("k1", 100), ("k2", 200), ("k3", 300)] {
        repo.touch_segments(&[(key.to_string(), bytes)])
            .await
            .unwrap();
        clock.advance(1_000);
    }
    assert_eq!(repo.segment_bytes().await.unwrap(), 600);
    // Reading k1 again makes it the most recently used (and its size is refreshed).
    repo.touch_segments(&[("k1".to_string(), 150)])
        .await
        .unwrap();
    assert_eq!(repo.segment_bytes().await.unwrap(), 650);
    assert_eq!(
        repo.eviction_candidates(10).await.unwrap(),
        vec![
            ("k2".to_string(), 200),
            ("k3".to_string(), 300),
            ("k1".to_string(), 150)
        ]
    );
    assert_eq!(
        keys(&repo.eviction_candidates(2).await.unwrap()),
        ["k2", "k3"]
    );
    repo.log_segment("k1", &JobId::generate()).await.unwrap();

    // k3 belongs to the current version of an article: never a candidate.
    let v1 = article("kept", "Segments of this version stay.", clock.now_ms());
    repo.upsert_article(&v1).await.unwrap();
    repo.push(job_for(&v1, "joe")).await.unwrap();
    let ours = claim(repo, "w1").await.claim();
    assert!(repo
        .complete(&ours, &rendition(&v1, "joe", "kept", &["k3"]), &outcome(1))
        .await
        .unwrap());
    assert_eq!(
        keys(&repo.eviction_candidates(10).await.unwrap()),
        ["k2", "k1"]
    );
    // Edited: the old version's segments may go again.
    let v2 = article("kept", "A new text for this article.", clock.now_ms());
    repo.upsert_article(&v2).await.unwrap();
    assert_eq!(
        keys(&repo.eviction_candidates(10).await.unwrap()),
        ["k2", "k3", "k1"]
    );

    repo.forget_segments(&["k2".to_string(), "k3".to_string()])
        .await
        .unwrap();
    assert_eq!(repo.segment_bytes().await.unwrap(), 150);
    assert_eq!(keys(&repo.eviction_candidates(10).await.unwrap()), ["k1"]);
    repo.forget_segments(&[]).await.unwrap();
}

fn play(article: &str) -> events::PlayerEvent {
    events::PlayerEvent {
        article: ArticleId::parse(article).unwrap(),
        kind: events::EventKind::Play,
        listen: None,
    }
}

fn listener(ip: &str, ua: &str) -> events::Listener {
    events::Listener {
        ip: ip.parse().unwrap(),
        user_agent: ua.into(),
    }
}

/// A play by the same listener (IP + user agent) counts once a day per article; the next
/// day it counts again, and the day before's salt and hashes are gone.
pub async fn unique_listeners_count_once_a_day_and_the_days_salt_and_hashes_go_with_it(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let story = ArticleId::parse("story").unwrap();
    let other = ArticleId::parse("other").unwrap();
    let alice = listener("203.0.113.7", "Firefox/140");
    let bob_same_ip = listener("203.0.113.7", "Chrome/130");
    let day = events::day_of(clock.now_ms());
    clock.advance(3_600_000);
    let mut news = Vec::new();
    for (article, who) in [
        (&story, &alice),
        (&story, &alice),
        (&story, &bob_same_ip),
        (&other, &alice),
    ] {
        repo.record_event(&play(article.as_str())).await.unwrap();
        news.push(repo.record_listener(article, who).await.unwrap());
    }
    assert_eq!(news, [true, false, true, true]);
    let s = repo.article_stats(&story).await.unwrap();
    assert_eq!((s.play, s.unique_listens), (3, 2));
    assert_eq!(repo.article_stats(&other).await.unwrap().unique_listens, 1);
    let rows = repo.transient_rows().await.unwrap();
    assert_eq!(rows.salt_days, [day]);
    assert_eq!(rows.listeners, 3);

    // Late the same day: still known.
    clock.advance(20 * 3_600_000);
    assert!(!repo.record_listener(&story, &alice).await.unwrap());
    // The next day: nothing links it to yesterday, so it counts again, and yesterday's salt
    // and hashes are deleted by the day's first listener.
    clock.advance(4 * 3_600_000);
    repo.record_event(&play("story")).await.unwrap();
    assert!(repo.record_listener(&story, &alice).await.unwrap());
    assert_eq!(repo.article_stats(&story).await.unwrap().unique_listens, 3);
    let rows = repo.transient_rows().await.unwrap();
    assert_eq!(rows.salt_days, [day + 1]);
    assert_eq!(rows.listeners, 1, "only today's hash");
    // A day with no listener at all: the periodic clean-up deletes the salt anyway.
    clock.advance(events::MS_PER_DAY);
    repo.forget_past_listeners().await.unwrap();
    assert_eq!(
        repo.transient_rows().await.unwrap(),
        events::TransientRows::default()
    );
    assert_eq!(
        repo.article_stats(&story).await.unwrap().unique_listens,
        3,
        "the counts stay"
    );
}

/// Each listen counts once, at its furthest sentence: a report behind it changes nothing, one
/// ahead moves it. The drop-off and the average completion follow exactly.
pub async fn a_listen_only_moves_forward_and_the_dropoff_follows_furthest_sentences(
    repo: &dyn Repo,
    clock: &ManualClock,
) {
    let story = ArticleId::parse("story").unwrap();
    let l1 = events::ListenId::parse("listen-one-1").unwrap();
    let l2 = events::ListenId::parse("listen-two-2").unwrap();
    let l3 = events::ListenId::parse("listen-three").unwrap();
    for (listen, sentence) in [(&l1, 0), (&l1, 2), (&l1, 1), (&l2, 0), (&l3, 0), (&l3, 3)] {
        repo.record_reach(&story, listen, sentence, 4)
            .await
            .unwrap();
    }
    let s = repo.article_stats(&story).await.unwrap();
    assert_eq!((s.listens, s.sentences, s.play), (3, 4, 0));
    // Furthest: l1 at 2, l2 at 0, l3 at 3.
    assert_eq!(s.dropoff, vec![1.0, 2.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0]);
    assert_eq!(s.average_completion, (3.0 + 1.0 + 4.0) / 12.0);
    assert_eq!(repo.all_stats().await.unwrap()["story"], s);
    assert_eq!(repo.transient_rows().await.unwrap().listens, 3);

    // A listen that crosses midnight keeps its place; listens end after their second day.
    clock.advance(events::MS_PER_DAY);
    repo.record_reach(&story, &l2, 1, 4).await.unwrap();
    let s = repo.article_stats(&story).await.unwrap();
    assert_eq!(s.listens, 3, "the same listen, moved");
    assert_eq!(s.dropoff, vec![1.0, 1.0, 2.0 / 3.0, 1.0 / 3.0]);
    clock.advance(events::MS_PER_DAY);
    repo.forget_past_listeners().await.unwrap();
    assert_eq!(repo.transient_rows().await.unwrap().listens, 0);
    assert_eq!(
        repo.article_stats(&story).await.unwrap().listens,
        3,
        "the histogram stays"
    );
}
