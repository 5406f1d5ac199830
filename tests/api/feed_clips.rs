//! Clips per feed (issue 16, part 3: "per feed or section or as the default"): a feed with
//! an intro of its own encloses a rendition of its own (exact length, ranges, tags, its own
//! transcript and chapters shifted by that intro) while the web player and a feed without
//! clips keep the article's rendition; after a clip change no feed lists a rendition made
//! with the old settings, and the new one is assembled from cached segments.
use std::path::Path;

use crate::clips::{assert_intro_then_gap, make_clip};
use crate::common;
use crate::feeds::{feedparser, ffprobe_tags};
use crate::pipeline::get_bytes;

use audioby::feeds::FeedFilter;
use common::app::*;
use common::*;
use serde_json::{json, Value};

const ARTICLE: &str = "<html><body><article><h1>How the budget was made</h1>
<p>The council met on Tuesday to approve the budget for the coming year.</p>
<h2>What the money buys</h2>
<p>Most of the money goes to schools. The rest pays for buses.</p>
</article></body></html>";

/// The one item of a feed: (enclosure URL, enclosure length, transcript URL, chapters URL).
fn only_item(xml: &str) -> (String, u64, String, Option<String>) {
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses the feed");
    assert_eq!(feed.entries.len(), 1, "{xml}");
    let media = &feed.entries[0].media[0].content[0];
    let doc = roxmltree::Document::parse(xml).unwrap();
    let podcast = "https://podcastindex.org/namespace/1.0";
    let attr = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name && n.tag_name().namespace() == Some(podcast))
            .and_then(|n| n.attribute("url"))
            .map(str::to_string)
    };
    (
        media.url.as_ref().unwrap().to_string(),
        media.size.unwrap(),
        attr("transcript").expect("podcast:transcript"),
        attr("chapters"),
    )
}

async fn bytes_of(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.bytes().await.unwrap().to_vec()
}

async fn text(app: &TestApp, url: &str) -> String {
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

fn chapter_starts(json: &Value) -> Vec<f64> {
    json["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["startTime"].as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_feed_with_its_own_intro_encloses_its_own_rendition_and_the_web_keeps_the_articles() {
    let dir = tempfile::tempdir().unwrap();
    let intro = make_clip(
        dir.path(),
        "podcast-intro.flac",
        "sine=frequency=330:sample_rate=44100",
        2.0,
        &["-ac", "2"],
    );
    let app = spawn_app_with(|s| {
        s.feeds.title = "The Daily Example".into();
        s.clips.gap_ms = 400;
        s.feeds.define.insert(
            "podcast".into(),
            FeedFilter {
                intro: Some(intro.clone()),
                ..Default::default()
            },
        );
        s.feeds.define.insert("plain".into(), FeedFilter::default());
    })
    .await;
    let job = app
        .put_article_ready(
            "budget",
            json!({"html": ARTICLE, "published": "2026-11-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(job["status"], "ready", "{job}");

    // The web rendition (the player's): no intro.
    let audio = app.get_json("/v1/articles/budget/audio").await;
    let web: Value =
        serde_json::from_slice(&get_bytes(&app, audio["manifest_url"].as_str().unwrap()).await)
            .unwrap();
    assert!(web.get("clips").is_none(), "{web}");
    assert_eq!(web["segments"][0]["start"], 0.0);
    let speech = web["duration"].as_f64().unwrap();
    let web_mp3 = audio["formats"]["mp3"].as_str().unwrap().to_string();

    // The podcast feed lists its own rendition as soon as the job is ready.
    let xml = text(&app, &app.url("/feeds/podcast.xml")).await;
    let (mp3_url, length, transcript_url, chapters_url) = only_item(&xml);
    assert!(
        !mp3_url.ends_with(&web_mp3),
        "the podcast feed encloses a rendition of its own"
    );
    let mp3 = bytes_of(&app.client, &mp3_url).await;
    assert_eq!(length, mp3.len() as u64, "enclosure length = file size");
    let part = app
        .client
        .get(&mp3_url)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(&part.bytes().await.unwrap()[..], &mp3[100..200]);

    // Intro + gap + speech, the intro audible and the gap silent.
    let d = decode_symphonia(&mp3, "mp3");
    let expected = 2.0 + 0.4 + speech;
    assert!(
        (d.duration() - expected).abs() < 0.05,
        "decoded {} s, intro + gap + speech = {expected} s",
        d.duration()
    );
    assert_intro_then_gap(&d, "podcast feed");

    // Tagged like every published file.
    let path = dir.path().join("podcast.mp3");
    std::fs::write(&path, &mp3).unwrap();
    let tags = ffprobe_tags(&path);
    assert_eq!(tags["title"], "How the budget was made", "{tags}");
    assert_eq!(tags["album"], "The Daily Example", "{tags}");
    assert_eq!(tags["SYNTHETIC_SPEECH"], "true", "{tags}");

    // Its transcript and chapters are shifted by the intro; the web's are not.
    let vtt = text(&app, &transcript_url).await;
    assert!(vtt.contains("\n00:00:02.400 --> "), "{vtt}");
    let web_vtt =
        String::from_utf8(get_bytes(&app, audio["captions_url"].as_str().unwrap()).await).unwrap();
    assert!(web_vtt.contains("\n00:00:00.000 --> "), "{web_vtt}");
    let chapters: Value =
        serde_json::from_str(&text(&app, &chapters_url.expect("chapters")).await).unwrap();
    let starts = chapter_starts(&chapters);
    let web_starts: Vec<f64> = web["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["start"].as_f64().unwrap())
        .collect();
    assert_eq!(starts.len(), 2, "{chapters}");
    assert_eq!(starts[0], 0.0);
    assert!(
        (starts[1] - (web_starts[1] + 2.4)).abs() < 0.002,
        "feed {starts:?}, web {web_starts:?}"
    );

    // A feed without clips lists the article's own rendition.
    let plain = text(&app, &app.url("/feeds/plain.xml")).await;
    let (plain_url, plain_len, _, plain_chapters) = only_item(&plain);
    assert!(plain_url.ends_with(&web_mp3), "{plain_url} vs {web_mp3}");
    assert_eq!(
        plain_len,
        get_bytes(&app, &web_mp3).await.len() as u64,
        "exact length"
    );
    let plain_chapters: Value =
        serde_json::from_str(&text(&app, &plain_chapters.unwrap()).await).unwrap();
    let plain_starts = chapter_starts(&plain_chapters);
    assert_eq!(plain_starts.len(), web_starts.len());
    for (feed, web) in plain_starts.iter().zip(&web_starts) {
        // Podcasting 2.0 JSON gives milliseconds.
        assert!(
            (feed - web).abs() < 0.001,
            "{plain_starts:?} vs {web_starts:?}"
        );
    }

    // feedparser still parses the feed with its own rendition.
    let parsed = feedparser(&xml);
    assert_eq!(parsed["bozo"], 0, "{parsed}");
    assert_eq!(
        parsed["items"][0]["enclosures"][0]["length"].as_u64(),
        Some(length)
    );
}

/// Segments synthesized so far, from the app's SQLite database (read-only).
async fn synthesized(data_dir: &Path) -> i64 {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("audioby.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM segment_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// The enclosures (file name, length) of feed `name` on a server process. File names, not
/// URLs: each server process has its own port.
async fn enclosures(client: &reqwest::Client, base: &str, name: &str) -> Vec<(String, u64)> {
    let r = client
        .get(format!("{base}/feeds/{name}.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let feed = feed_rs::parser::parse(r.text().await.unwrap().as_bytes()).unwrap();
    feed.entries
        .iter()
        .map(|e| {
            let m = &e.media[0].content[0];
            let url = m.url.as_ref().unwrap();
            assert!(url.as_str().starts_with(base), "{url} is on {base}");
            (
                url.path().rsplit('/').next().unwrap().to_string(),
                m.size.unwrap(),
            )
        })
        .collect()
}

/// Wait until feed `name` lists one enclosure that is not `old`; check its length against
/// the file and return it.
async fn new_enclosure(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    old: &(String, u64),
) -> (String, u64) {
    wait_until(&format!("{name} lists the re-assembled rendition"), || {
        let listed = enclosures(client, base, name);
        async move { listed.await.first().is_some_and(|e| e != old) }
    })
    .await;
    let found = enclosures(client, base, name).await;
    assert_eq!(found.len(), 1);
    let bytes = bytes_of(client, &format!("{base}/audio/{}", found[0].0)).await;
    assert_eq!(found[0].1, bytes.len() as u64, "{name}: exact length");
    found[0].clone()
}

#[tokio::test]
async fn after_a_clip_change_feeds_list_no_stale_rendition_and_reassemble_without_synthesis() {
    let dir = tempfile::tempdir().unwrap();
    let first = make_clip(dir.path(), "first.wav", "sine=frequency=330", 1.5, &[]);
    let second = make_clip(
        dir.path(),
        "second.ogg",
        "sine=frequency=550",
        1.0,
        &["-c:a", "libvorbis"],
    );
    let (first, second) = (first.display().to_string(), second.display().to_string());
    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let base_env = [
        ("AUDIOBY_DEMO", "false"),
        ("AUDIOBY_FEEDS__DEFINE__PLAIN__ITEMS", "10"),
    ];
    let with = |extra: &[(&'static str, &str)]| {
        let mut env: Vec<(&str, String)> =
            base_env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        env
    };
    let start = |env: &Vec<(&str, String)>| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server::start_server(data.path(), &env)
    };

    // 1. The podcast feed has the first intro; the article is made once.
    let mut server = start(&with(&[(
        "AUDIOBY_FEEDS__DEFINE__PODCAST__INTRO",
        first.as_str(),
    )]));
    let put = client
        .put(format!("{}/v1/articles/story", server.base))
        .bearer_auth(API_KEY)
        .json(&json!({"title": "Story", "text": "The ferry runs again. Tickets are cheaper."}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let put: Value = put.json().await.unwrap();
    let done = wait_job(&client, &server.base, &id_text(&put["job"]["id"])).await;
    assert_eq!(done["status"], "ready", "{done}");
    let podcast0 = enclosures(&client, &server.base, "podcast").await;
    let plain0 = enclosures(&client, &server.base, "plain").await;
    assert_eq!((podcast0.len(), plain0.len()), (1, 1));
    assert_ne!(podcast0, plain0);
    assert!(server.terminate());
    let made = synthesized(data.path()).await;
    assert!(made > 0);

    // 2. Another intro for the podcast feed: its old rendition is never listed again; the
    // new one appears without a request for the article's audio, and nothing is
    // synthesized. The web rendition (and the plain feed) stay as they were.
    let mut server = start(&with(&[(
        "AUDIOBY_FEEDS__DEFINE__PODCAST__INTRO",
        second.as_str(),
    )]));
    let listed = enclosures(&client, &server.base, "podcast").await;
    assert!(
        !listed.contains(&podcast0[0]),
        "a stale rendition is not listed: {listed:?}"
    );
    let podcast1 = new_enclosure(&client, &server.base, "podcast", &podcast0[0]).await;
    assert_eq!(enclosures(&client, &server.base, "plain").await, plain0);
    assert!(server.terminate());
    assert_eq!(
        synthesized(data.path()).await,
        made,
        "no segment synthesized again"
    );

    // 3. A default intro: the plain feed's (and the web's) rendition is stale and re-made;
    // the podcast feed's intro overrides the default, so its rendition is still current.
    let mut server = start(&with(&[
        ("AUDIOBY_FEEDS__DEFINE__PODCAST__INTRO", second.as_str()),
        ("AUDIOBY_CLIPS__INTRO", first.as_str()),
    ]));
    let listed = enclosures(&client, &server.base, "plain").await;
    assert!(
        !listed.contains(&plain0[0]),
        "a stale rendition is not listed: {listed:?}"
    );
    new_enclosure(&client, &server.base, "plain", &plain0[0]).await;
    assert_eq!(
        enclosures(&client, &server.base, "podcast").await,
        [podcast1]
    );
    assert!(server.terminate());
    assert_eq!(
        synthesized(data.path()).await,
        made,
        "no segment synthesized again"
    );
}

/// A job id as JSON gives it (a string).
fn id_text(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}
