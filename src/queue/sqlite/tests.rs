//! The SQLite backend: the shared repository contract (`queue/contract.rs`) against a fresh
//! database file per test, then what only SQLite has: migrations, including the upgrade of a
//! data folder made before them, and the segment log the pipeline tests read.
use std::sync::Arc;

use super::*;
use crate::queue::contract::{new_job, Subject, START_MS};
use crate::queue::*;

async fn subject() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let repo = SqliteRepo::open_with_clock(&dir.path().join("queue.db"), clock.clone())
        .await
        .unwrap();
    Subject {
        repo: Arc::new(repo),
        clock,
        guard: Box::new(dir),
    }
}

crate::repo_contract_tests!(subject);

#[test]
fn backoff_doubles_and_is_capped() {
    let delays: Vec<i64> = (1..=10).map(backoff_ms).collect();
    assert_eq!(&delays[..4], &[2_000, 4_000, 8_000, 16_000]);
    assert!(delays.windows(2).all(|w| w[1] >= w[0]));
    assert_eq!(backoff_ms(30), 300_000, "capped at five minutes");
}

fn every_migration() -> Vec<i64> {
    MIGRATOR.iter().map(|m| m.version).collect()
}

async fn applied_migrations(repo: &SqliteRepo) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&repo.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_database_is_made_by_the_migrations_and_reopens_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audioby.db");
    let repo = SqliteRepo::open(&path).await.unwrap();
    let all = every_migration();
    assert_eq!(all.first(), Some(&1));
    assert_eq!(applied_migrations(&repo).await, all);
    let job = repo
        .push(new_job("a", "v1", "joe", Priority::Prefetch))
        .await
        .unwrap();
    repo.close().await;

    let again = SqliteRepo::open(&path).await.unwrap();
    assert_eq!(applied_migrations(&again).await, all, "nothing re-applied");
    assert_eq!(
        again.job(&job.id).await.unwrap().unwrap().article,
        job.article
    );
}

/// Separate pools on one new file behave like separate processes starting together.
#[tokio::test]
async fn processes_opening_a_new_database_together_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audioby.db");
    let opens = (0..4).map(|_| SqliteRepo::open(&path));
    let repos = futures::future::join_all(opens).await;
    for repo in repos {
        let repo = repo.expect("every process opens the database");
        assert_eq!(applied_migrations(&repo).await, every_migration());
    }
}

#[tokio::test]
async fn the_segment_log_counts_synthesis_events_and_distinct_segments() {
    let dir = tempfile::tempdir().unwrap();
    let repo = SqliteRepo::open(&dir.path().join("log.db")).await.unwrap();
    assert_eq!(repo.segment_log_count().await.unwrap(), (0, 0));
    let (one, two) = (JobId::generate(), JobId::generate());
    for (key, job) in [("k1", &one), ("k2", &one), ("k1", &two)] {
        repo.log_segment(key, job).await.unwrap();
    }
    assert_eq!(repo.segment_log_count().await.unwrap(), (3, 2));
}

/// What `tests/fixtures/db/audioby-0.1.db` holds (see the README there): the content hashes
/// and times its writer printed.
const BUDGET: &str = "6325b245a062106c4bbd233f617715ef4de18b2303088c223f4fa8404698ba7a";
const GALLERY: &str = "00a5b76ead3ecfa7acfae58095d83b0e2ec42eb8d9eba8218092606222ed80fc";
const EDITED: &str = "1a81ca7f612af3f3ecda1c631fad05a474c54819c4e301fd19501da3ab106c99";
const EDITED_BEFORE: &str = "8c789d6f34b4702da67a9811474da2392422b72600324c9f173d7b616039a591";
const WRITTEN_AT_MS: i64 = 1_796_160_289_803;

fn fixture_key(i: u32) -> String {
    format!("{}{i:02}", "a".repeat(62))
}

fn id(s: &str) -> ArticleId {
    ArticleId::parse(s).unwrap()
}

#[tokio::test]
async fn a_database_from_before_migrations_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audioby.db");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/db/audioby-0.1.db"
    );
    std::fs::copy(fixture, &path).unwrap();
    // A day after it was written: every lease and backoff in it has run out.
    let clock = Arc::new(ManualClock::new(WRITTEN_AT_MS + 86_400_000));
    let repo = SqliteRepo::open_with_clock(&path, clock.clone())
        .await
        .expect("the old database opens");
    assert_eq!(applied_migrations(&repo).await, every_migration());

    for (article, hash, title, html) in [
        ("budget", BUDGET, "Budget approved", false),
        ("gallery", GALLERY, "River festival", true),
        ("edited", EDITED, "Storm warning", false),
    ] {
        let a = repo.article(&id(article)).await.unwrap().expect("kept");
        assert_eq!(
            (a.content_hash.as_str(), a.title.as_deref(), a.body_is_html),
            (hash, Some(title), html)
        );
        assert_eq!(a.url, Some(format!("https://news.example/{article}")));
        assert!(a.blocks.len() >= 2, "title and body: {:?}", a.blocks);
    }
    assert_eq!(repo.articles_since(0).await.unwrap().len(), 3);

    use JobState::*;
    let crashed = Some("engine crashed");
    let empty = Some("the article has no speakable text");
    for (job, article, voice, state, attempts, error) in [
        (1, "budget", "amy", Ready, 1, None),
        (2, "edited", "amy", Ready, 1, None),
        (3, "gallery", "amy", Queued, 1, crashed),
        (4, "budget", "joe", Failed, 1, empty),
        (5, "gallery", "joe", Running, 1, None),
        (6, "budget", "kim", Cancelled, 0, None),
        (7, "edited", "amy", Queued, 0, None),
    ] {
        let j = repo
            .job(&old_job(&repo, job).await)
            .await
            .unwrap()
            .expect("kept");
        assert_eq!(
            (j.article.as_str(), j.voice.as_str(), j.state),
            (article, voice, state),
            "job {job}"
        );
        assert_eq!(
            (j.attempts, j.error.as_deref()),
            (attempts, error),
            "job {job}"
        );
        assert_eq!(j.formats, vec![AudioFormat::Opus, AudioFormat::Mp3]);
    }
    assert_eq!(
        repo.job(&old_job(&repo, 1).await)
            .await
            .unwrap()
            .unwrap()
            .segments_total,
        Some(2)
    );
    assert_eq!(
        repo.job(&old_job(&repo, 7).await)
            .await
            .unwrap()
            .unwrap()
            .priority,
        Priority::Interactive
    );
    let s = repo.stats().await.unwrap();
    assert_eq!(
        (s.queued, s.running, s.ready, s.failed),
        (2, 1, 2, 1),
        "{s:?}"
    );

    let budget = repo
        .rendition(&id("budget"), BUDGET, "amy")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(budget.segments, vec![fixture_key(1), fixture_key(2)]);
    assert_eq!(
        budget.files,
        vec![
            (AudioFormat::Opus, "6325b245a062106c.opus".to_string()),
            (AudioFormat::Mp3, "6325b245a062106c.mp3".to_string())
        ]
    );
    let before_edit = repo
        .rendition(&id("edited"), EDITED_BEFORE, "amy")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(before_edit.segments, vec![fixture_key(3)]);
    let mut live = repo.live_objects().await.unwrap();
    live.sort();
    assert_eq!(
        live,
        [".json", ".mp3", ".opus", ".vtt"].map(|ext| format!("6325b245a062106c{ext}")),
        "only the current version's audio is live"
    );

    assert_eq!(repo.segment_bytes().await.unwrap(), 10_000);
    assert_eq!(repo.segment_log_count().await.unwrap(), (4, 3));
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM segment_log WHERE job_id NOT IN (SELECT id FROM jobs)",
    )
    .fetch_one(&repo.pool())
    .await
    .unwrap();
    assert_eq!(
        orphans, 0,
        "the segment log follows the jobs to their new IDs"
    );
    let mut evictable: Vec<String> = repo
        .eviction_candidates(10)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    evictable.sort();
    assert_eq!(evictable, vec![fixture_key(3), fixture_key(4)]);

    // The queue goes on: the interactive job whose lease ran out, the interactive one waiting,
    // then the retry.
    let orphaned = repo.pop("w9", 60_000).await.unwrap().unwrap();
    assert_eq!(
        (&orphaned.id, orphaned.attempts),
        (&old_job(&repo, 5).await, 2)
    );
    let stale = Claim {
        job: orphaned.id.clone(),
        attempt: 1,
    };
    assert!(!repo.heartbeat(&stale, 60_000).await.unwrap());
    let waiting = repo.pop("w9", 60_000).await.unwrap().unwrap();
    assert_eq!(waiting.id, old_job(&repo, 7).await);
    let edited = repo.article(&id("edited")).await.unwrap().unwrap();
    let made = Rendition {
        article: edited.id.clone(),
        content_hash: edited.content_hash.clone(),
        voice: "amy".into(),
        duration: 2.0,
        files: vec![(AudioFormat::Opus, "new.opus".into())],
        manifest: "new.json".into(),
        captions: "new.vtt".into(),
        created_at: 0,
        segments: vec![fixture_key(3)],
        assembly: String::new(),
    };
    let o = JobOutcome::default();
    assert!(repo.complete(&waiting.claim(), &made, &o).await.unwrap());
    assert_eq!(
        repo.job(&old_job(&repo, 7).await)
            .await
            .unwrap()
            .unwrap()
            .state,
        Ready
    );
    assert!(repo
        .live_objects()
        .await
        .unwrap()
        .contains(&"new.opus".into()));
    let retry = repo.pop("w9", 60_000).await.unwrap().unwrap();
    assert_eq!((&retry.id, retry.attempts), (&old_job(&repo, 3).await, 2));
    assert!(repo.pop("w9", 60_000).await.unwrap().is_none());
    let next = repo
        .push(new_job("gallery", GALLERY, "kim", Priority::Prefetch))
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM jobs WHERE id = ?")
        .bind(next.id.as_str())
        .fetch_one(&repo.pool())
        .await
        .unwrap();
    assert_eq!(seq, 8, "the queue order goes on from the old jobs");
}

/// The random ID migration 0003 gave the job that 0.1 numbered `seq`; the old numbers are
/// gone from the public API but kept as the insertion order.
async fn old_job(repo: &SqliteRepo, seq: i64) -> JobId {
    let id: String = sqlx::query_scalar("SELECT id FROM jobs WHERE seq = ?")
        .bind(seq)
        .fetch_one(&repo.pool())
        .await
        .unwrap();
    JobId::parse(&id).expect("a random job ID")
}
