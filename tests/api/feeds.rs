//! Podcast feeds (issue 16, part 1): a feed of ready articles parses with `feed-rs` and with
//! Python's `feedparser`; Apple's required tags are present; enclosures are exact; the
//! transcript and chapters URLs resolve and parse; conditional GETs answer 304.
use crate::common;

use common::app::*;
use common::repo;
use serde_json::{json, Value};
use std::process::Command;

async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r
}

const WITH_HEADINGS: &str = "<html><body><article><h1>How the budget was made</h1>
<p>The council met on Tuesday to approve the budget for the coming year, after a long debate.</p>
<h2>What the money buys</h2>
<p>Most of the money goes to schools. The rest pays for buses and for the repair of two bridges.</p>
<h2>What comes next</h2>
<p>A final reading is planned for next month. Residents can comment on the plan until then.</p>
</article></body></html>";

#[tokio::test]
async fn a_feed_of_three_articles_parses_twice_and_every_link_resolves() {
    let app = spawn_app_with(|s| {
        s.feeds.title = "The Daily Example".into();
        s.feeds.define.insert(
            "world".into(),
            audioby::feeds::FeedFilter {
                section: Some("world".into()),
                ..Default::default()
            },
        );
    })
    .await;
    let articles = [
        (
            "budget",
            json!({"html": WITH_HEADINGS, "url": "https://news.example/budget", "section": "local", "tags": ["budget"], "published": "2026-11-01T08:00:00Z", "byline": "Ana Writer"}),
        ),
        (
            "talks",
            json!({"title": "Peace talks resume", "text": "Negotiators met again in Geneva on Monday. Both sides said progress was slow.", "section": "world", "published": "2026-11-03T08:00:00Z"}),
        ),
        (
            "storm",
            json!({"title": "Storm closes the coast road", "text": "A storm closed the coast road overnight. Crews expect to reopen it by noon.", "section": "world", "published": "2026-11-02T08:00:00Z"}),
        ),
    ];
    for (id, body) in &articles {
        let job = app.put_article_ready(id, body.clone()).await;
        assert_eq!(job["status"], "ready", "{job}");
    }

    let r = get(&app, &app.url("/feeds/all.xml")).await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/rss+xml"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers().contains_key("last-modified"));
    let xml = r.text().await.unwrap();

    // 1. feed-rs.
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses the feed");
    assert_eq!(feed.title.as_ref().unwrap().content, "The Daily Example");
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        ["audioby:talks", "audioby:storm", "audioby:budget"],
        "newest first by publication date"
    );
    for e in &feed.entries {
        let media = &e.media[0].content[0];
        let url = media.url.as_ref().unwrap().to_string();
        let bytes = get(&app, &url).await.bytes().await.unwrap();
        assert_eq!(
            media.size,
            Some(bytes.len() as u64),
            "enclosure length of {url}"
        );
        assert_eq!(
            media.content_type.as_ref().unwrap().to_string(),
            "audio/mpeg"
        );
        // The enclosure serves ranges (podcast apps resume downloads).
        let part = app
            .client
            .get(&url)
            .header("range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(&part.bytes().await.unwrap()[..], &bytes[10..20]);
    }

    // 2. Apple's required tags and the Podcasting 2.0 ones, read as XML.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let itunes = "http://www.itunes.com/dtds/podcast-1.0.dtd";
    let podcast = "https://podcastindex.org/namespace/1.0";
    let channel = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .unwrap();
    fn child<'a, 'i>(
        n: roxmltree::Node<'a, 'i>,
        ns: &str,
        name: &str,
    ) -> Option<roxmltree::Node<'a, 'i>> {
        n.children()
            .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
    }
    for tag in ["author", "image", "category", "explicit", "type"] {
        assert!(
            child(channel, itunes, tag).is_some(),
            "channel itunes:{tag}"
        );
    }
    for tag in ["title", "description", "language", "link"] {
        assert!(
            channel.children().any(|c| c.has_tag_name(tag)),
            "channel {tag}"
        );
    }
    let image = child(channel, itunes, "image")
        .unwrap()
        .attribute("href")
        .unwrap();
    let png = get(&app, image).await.bytes().await.unwrap();
    assert_eq!(&png[..4], b"\x89PNG", "the default cover art is a PNG");
    let items: Vec<_> = channel
        .children()
        .filter(|c| c.has_tag_name("item"))
        .collect();
    assert_eq!(items.len(), 3);
    let mut chapter_urls = 0;
    for item in &items {
        for tag in ["title", "guid", "pubDate", "enclosure"] {
            assert!(item.children().any(|c| c.has_tag_name(tag)), "item {tag}");
        }
        let dur = child(*item, itunes, "duration").unwrap().text().unwrap();
        assert!(
            dur.starts_with("00:00:") && dur != "00:00:00",
            "duration {dur}"
        );
        let vtt_url = child(*item, podcast, "transcript")
            .unwrap()
            .attribute("url")
            .unwrap();
        let vtt = get(&app, vtt_url).await.text().await.unwrap();
        assert!(vtt.starts_with("WEBVTT") && vtt.contains(" --> "), "{vtt}");
        if let Some(ch) = child(*item, podcast, "chapters") {
            chapter_urls += 1;
            let json: Value = get(&app, ch.attribute("url").unwrap())
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(json["version"], "1.2.0");
            let titles: Vec<&str> = json["chapters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap())
                .collect();
            assert_eq!(
                titles,
                [
                    "How the budget was made",
                    "What the money buys",
                    "What comes next"
                ]
            );
            let starts: Vec<f64> = json["chapters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["startTime"].as_f64().unwrap())
                .collect();
            assert_eq!(starts[0], 0.0);
            assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
        }
    }
    assert_eq!(
        chapter_urls, 1,
        "only the article with headings has chapters"
    );

    // Tags and provenance (part 5), read back by ffprobe from both lossy formats.
    let audio = app.get_json("/v1/articles/budget/audio").await;
    let dir = tempfile::tempdir().unwrap();
    for format in ["mp3", "opus"] {
        let url = app.url(audio["formats"][format].as_str().unwrap());
        let path = dir.path().join(format!("budget.{format}"));
        std::fs::write(&path, get(&app, &url).await.bytes().await.unwrap()).unwrap();
        let tags = ffprobe_tags(&path);
        let tag = |k: &str| {
            tags.get(k)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{format}: no {k} in {tags}"))
        };
        assert_eq!(tag("title"), "How the budget was made", "{format}");
        assert_eq!(tag("album"), "The Daily Example", "{format}");
        assert_eq!(tag("artist"), "Ana Writer", "{format}");
        assert!(tag("date").starts_with("2026-11-01"), "{format}");
        assert_eq!(tag("URL"), "https://news.example/budget", "{format}");
        assert_eq!(tag("SYNTHETIC_SPEECH"), "true", "{format}");
        assert_eq!(tag("TTS_VOICE"), job_voice(&app).await, "{format}");
        assert!(tag("comment").contains("Synthetic speech"), "{format}");
    }

    // 3. Python's feedparser, an independent parser.
    let parsed = feedparser(&xml);
    assert_eq!(parsed["bozo"], 0, "{parsed}");
    assert_eq!(parsed["version"], "rss20");
    assert_eq!(parsed["title"], "The Daily Example");
    assert_eq!(parsed["image"], image);
    let py_items = parsed["items"].as_array().unwrap();
    assert_eq!(py_items.len(), 3);
    for (py, rs) in py_items.iter().zip(&feed.entries) {
        assert_eq!(py["id"], rs.id.as_str());
        assert_eq!(
            py["enclosures"][0]["length"].as_u64(),
            rs.media[0].content[0].size
        );
    }

    // 4. Conditional GET, a filtered feed, an unknown feed.
    let conditional = || {
        app.client
            .get(app.url("/feeds/all.xml"))
            .header("if-none-match", &etag)
            .send()
    };
    assert_eq!(conditional().await.unwrap().status(), 304);
    let world = get(&app, &app.url("/feeds/world.xml"))
        .await
        .text()
        .await
        .unwrap();
    let world = feed_rs::parser::parse(world.as_bytes()).unwrap();
    let ids: Vec<&str> = world.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["audioby:talks", "audioby:storm"]);
    let r = app
        .client
        .get(app.url("/feeds/nope.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not-found");

    // 5. The GUID survives an edit (a new version of the audio), the ETag does not.
    let job = app.put_article_ready(
        "talks",
        json!({"title": "Peace talks resume", "text": "Negotiators met again in Geneva on Monday. Both sides said progress was slow but real.", "section": "world", "published": "2026-11-03T08:00:00Z"}),
    )
    .await;
    assert_eq!(job["status"], "ready");
    let r = conditional().await.unwrap();
    assert_eq!(r.status(), 200, "the feed changed");
    let again = feed_rs::parser::parse(r.text().await.unwrap().as_bytes()).unwrap();
    assert_eq!(again.entries[0].id, "audioby:talks");
}

/// `xml` as Python's feedparser (an independent parser, in the test venv) reads it:
/// tests/python/feed_check.py's JSON.
pub(crate) fn feedparser(xml: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.xml");
    std::fs::write(&path, xml).unwrap();
    let python = repo().join(".deps/venv/bin/python");
    assert!(python.exists(), "run scripts/test-setup (make test does)");
    let out = Command::new(python)
        .arg(repo().join("tests/python/feed_check.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every tag ffprobe reads (format and stream level), keys lowercased except custom ones.
pub(crate) fn ffprobe_tags(path: &std::path::Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format_tags:stream_tags",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags = serde_json::Map::new();
    let mut add = |t: &Value| {
        for (k, v) in t.as_object().into_iter().flatten() {
            let key = match k.to_ascii_lowercase().as_str() {
                "title" | "album" | "artist" | "date" | "comment" => k.to_ascii_lowercase(),
                _ => k.to_ascii_uppercase(),
            };
            tags.insert(key, v.clone());
        }
    };
    add(&v["format"]["tags"]);
    for s in v["streams"].as_array().into_iter().flatten() {
        add(&s["tags"]);
    }
    Value::Object(tags)
}

async fn job_voice(app: &TestApp) -> String {
    let voices = app.get_json("/v1/voices").await;
    let v = voices["default"]
        .as_str()
        .or_else(|| voices["voices"][0]["id"].as_str());
    v.unwrap().to_string()
}

#[tokio::test]
async fn the_all_feed_exists_with_no_config_and_lists_only_ready_audio() {
    let app = spawn_app().await;
    let xml = get(&app, &app.url("/feeds/all.xml"))
        .await
        .text()
        .await
        .unwrap();
    let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
    assert!(feed.entries.is_empty());
    assert_eq!(feed.title.unwrap().content, "audioby");
}
