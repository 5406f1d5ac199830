//! One-off: writes the pre-migration fixture database (tests/fixtures/db/) with the code of
//! this commit, the last one whose schema was a `CREATE TABLE IF NOT EXISTS` string. Removed
//! again in the next commit; kept in history as the fixture's provenance.
use audioby::article::{ArticleId, ArticleInput, ArticleRecord};
use audioby::audio::AudioFormat;
use audioby::queue::*;

fn record(id: &str, title: &str, text: Option<&str>, html: Option<&str>) -> ArticleRecord {
    let input = ArticleInput {
        title: Some(title.into()),
        byline: Some("Desk".into()),
        html: html.map(Into::into),
        text: text.map(Into::into),
        url: Some(format!("https://news.example/{id}")),
        voice: None,
    };
    ArticleRecord::build(ArticleId::parse(id).unwrap(), input, &Default::default(), now_ms()).unwrap()
}

fn job(a: &ArticleRecord, voice: &str, priority: Priority) -> NewJob {
    NewJob {
        article: a.id.clone(),
        content_hash: a.content_hash.clone(),
        voice: voice.into(),
        formats: vec![AudioFormat::Opus, AudioFormat::Mp3],
        priority,
        force: false,
    }
}

fn key(i: u32) -> String {
    format!("{}{i:02}", "a".repeat(62))
}

fn rendition(a: &ArticleRecord, voice: &str, segments: Vec<String>) -> Rendition {
    let h = &a.content_hash[..16];
    Rendition {
        article: a.id.clone(),
        content_hash: a.content_hash.clone(),
        voice: voice.into(),
        duration: 12.5,
        files: vec![
            (AudioFormat::Opus, format!("{h}.opus")),
            (AudioFormat::Mp3, format!("{h}.mp3")),
        ],
        manifest: format!("{h}.json"),
        captions: format!("{h}.vtt"),
        created_at: now_ms(),
        segments,
    }
}

#[tokio::main]
async fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("path"));
    let db = SqliteRepo::open(&path).await.unwrap();
    let outcome = JobOutcome { segments_total: 2, segments_synthesized: 1, audio_seconds: 12.5 };

    let budget = record("budget", "Budget approved", Some("The council approved the budget. Work starts in spring."), None);
    let gallery = record("gallery", "River festival", None, Some("<article><h1>River festival</h1><p>Boats and lanterns filled the river on Saturday.</p></article>"));
    let edited_v1 = record("edited", "Storm warning", Some("A storm is expected tonight."), None);
    for a in [&budget, &gallery, &edited_v1] {
        db.upsert_article(a).await.unwrap();
    }

    // 1: ready, with the current rendition of `budget`.
    let j = db.push(job(&budget, "amy", Priority::Prefetch)).await.unwrap();
    db.pop("w1", 60_000).await.unwrap().unwrap();
    db.complete(j.id, "w1", &rendition(&budget, "amy", vec![key(1), key(2)]), &outcome).await.unwrap();
    // 2: ready, rendition of a version that is no longer current once `edited` changes.
    let j = db.push(job(&edited_v1, "amy", Priority::Prefetch)).await.unwrap();
    db.pop("w1", 60_000).await.unwrap().unwrap();
    db.complete(j.id, "w1", &rendition(&edited_v1, "amy", vec![key(3)]), &outcome).await.unwrap();
    let edited_v2 = record("edited", "Storm warning", Some("The storm passed north of the city."), None);
    db.upsert_article(&edited_v2).await.unwrap();
    // 3: failed once, queued again with its error and a backoff.
    let j = db.push(job(&gallery, "amy", Priority::Prefetch)).await.unwrap();
    db.pop("w1", 60_000).await.unwrap().unwrap();
    db.fail(j.id, "w1", Failure::Retry("engine crashed".into())).await.unwrap();
    // 4: failed for good.
    let j = db.push(job(&budget, "joe", Priority::Prefetch)).await.unwrap();
    let claimed = db.pop("w1", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, j.id);
    db.fail(j.id, "w1", Failure::Abort("the article has no speakable text".into())).await.unwrap();
    // 5: running under w2's lease.
    let j = db.push(job(&gallery, "joe", Priority::Interactive)).await.unwrap();
    let claimed = db.pop("w2", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, j.id);
    // 6: cancelled while queued. 7: queued, interactive.
    let j = db.push(job(&budget, "kim", Priority::Prefetch)).await.unwrap();
    db.cancel(j.id).await.unwrap();
    db.push(job(&edited_v2, "amy", Priority::Interactive)).await.unwrap();

    db.touch_segments(&[(key(1), 1000), (key(2), 2000), (key(3), 3000), (key(4), 4000)]).await.unwrap();
    for (k, job) in [(1, 1), (2, 1), (3, 2), (1, 1)] {
        db.log_segment(&key(k), job).await.unwrap();
    }

    for a in [&budget, &gallery, &edited_v2] {
        println!("article {} {} {}", a.id, a.content_hash, a.updated_at);
    }
    println!("edited v1 {}", edited_v1.content_hash);
    for id in 1..=7 {
        let j = db.job(id).await.unwrap().unwrap();
        println!("job {id} {} {} {:?} {} {:?} {}", j.article, j.voice, j.state, j.attempts, j.error, j.created_at);
    }
    println!("stats {:?} log {:?} bytes {}", db.stats().await.unwrap(), db.segment_log_count().await.unwrap(), db.segment_bytes().await.unwrap());
    println!("now {}", now_ms());
}
