//! Podcast feeds: RSS 2.0 with the `itunes:` tags Apple Podcasts requires and the Podcasting
//! 2.0 namespace (`podcast:transcript` = the WebVTT captions, `podcast:chapters` = JSON
//! chapters from the article's headings). A feed selects articles with ready audio by their
//! metadata (section, tag, author), newest first. This module owns the `[feeds]` settings,
//! the selection and the XML; `http::feeds` serves it.
pub mod cover;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::article::ArticleRecord;
use crate::audio::clips::SectionClips;
use crate::pipeline::Chapter;

/// The `[feeds]` section: the publication (channel) and the feeds it offers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedSettings {
    /// Publication name (channel title).
    pub title: String,
    /// `itunes:author` and the default item author.
    pub author: String,
    pub description: String,
    /// The publication's web site; default: the server's own address.
    pub link: Option<String>,
    /// Cover art URL (Apple asks for 1400-3000 px square JPEG or PNG); default: the player's
    /// built-in artwork.
    pub image: Option<String>,
    /// Apple Podcasts category, e.g. "News" (a sub-category: "News/Politics").
    pub category: String,
    pub explicit: bool,
    /// RSS language code.
    pub language: String,
    /// Items per feed (newest first).
    pub items: usize,
    /// Absolute base URL for links in feeds (`https://audio.example.org`); default: taken
    /// from the request (`Host`, `X-Forwarded-Proto`).
    pub base_url: Option<String>,
    /// Named feeds besides `all`: `[feeds.define.world] section = "world"`.
    pub define: BTreeMap<String, FeedFilter>,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            title: "audioby".into(),
            author: "audioby".into(),
            description: "Articles, read aloud.".into(),
            link: None,
            image: None,
            category: "News".into(),
            explicit: false,
            language: "en".into(),
            items: 50,
            base_url: None,
            define: BTreeMap::new(),
        }
    }
}

/// Which articles a feed holds; every given field must match (case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedFilter {
    /// Channel title for this feed; default: the publication's.
    pub title: Option<String>,
    pub section: Option<String>,
    pub tag: Option<String>,
    /// Matches the article's byline.
    pub author: Option<String>,
    /// Item count; default `[feeds] items`.
    pub items: Option<usize>,
    /// This feed's own intro (a clip path, as in `[clips]`; "" = none): its enclosures are a
    /// rendition of their own, assembled from the article's cached segments. Unset keys keep
    /// the article's clips (its section's or the defaults).
    pub intro: Option<PathBuf>,
    /// This feed's own outro ("" = none).
    pub outro: Option<PathBuf>,
    /// This feed's own sponsor messages (`[]` = none), at `[clips] sponsor_position`.
    pub sponsors: Option<Vec<PathBuf>>,
}

impl FeedSettings {
    /// The feed called `name`: a defined one, or `all` (every article) when not redefined.
    pub fn feed(&self, name: &str) -> Option<FeedFilter> {
        match self.define.get(name) {
            Some(f) => Some(f.clone()),
            None if name == "all" => Some(FeedFilter::default()),
            None => None,
        }
    }
}

impl FeedSettings {
    /// The clips of the feeds that set any (`[feeds.define.NAME]` intro / outro / sponsors),
    /// by feed name: decoded at startup with the `[clips]` ones.
    pub fn clip_overrides(&self) -> BTreeMap<String, SectionClips> {
        self.define
            .iter()
            .map(|(name, f)| (name.clone(), f.clips()))
            .filter(|(_, c)| c.is_set())
            .collect()
    }
}

impl FeedFilter {
    /// This feed's clip overrides (all unset: the feed lists the articles' own renditions).
    pub fn clips(&self) -> SectionClips {
        SectionClips {
            intro: self.intro.clone(),
            outro: self.outro.clone(),
            sponsors: self.sponsors.clone(),
        }
    }

    pub fn matches(&self, a: &ArticleRecord) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| match want {
            None => true,
            Some(w) => have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim())),
        };
        eq(&self.section, a.meta.section.as_deref())
            && eq(&self.author, a.byline.as_deref())
            && self.tag.as_ref().is_none_or(|t| {
                a.meta
                    .tags
                    .iter()
                    .any(|x| x.trim().eq_ignore_ascii_case(t.trim()))
            })
    }
}

/// When an article counts as published: its `published` date, else its last update.
pub fn published(a: &ArticleRecord) -> DateTime<Utc> {
    a.meta.published.unwrap_or_else(|| {
        Utc.timestamp_millis_opt(a.updated_at)
            .single()
            .unwrap_or_default()
    })
}

/// One episode: an article with ready audio, its URLs made absolute.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub article: ArticleRecord,
    /// Absolute URL of the MP3 and its exact size in bytes.
    pub mp3_url: String,
    pub mp3_len: u64,
    pub duration: f64,
    pub captions_url: String,
    pub chapters_url: Option<String>,
}

/// The channel as rendered.
pub struct Channel<'a> {
    pub settings: &'a FeedSettings,
    pub title: &'a str,
    /// Absolute URL of this feed (`atom:link rel=self`).
    pub self_url: &'a str,
    pub base: &'a str,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `HH:MM:SS`, as `itunes:duration` accepts.
fn hms(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The RSS document.
pub fn render(channel: &Channel<'_>, items: &[FeedItem]) -> String {
    let s = channel.settings;
    let link = s
        .link
        .clone()
        .unwrap_or_else(|| format!("{}/", channel.base));
    let image = s
        .image
        .clone()
        .unwrap_or_else(|| format!("{}/feeds/cover.png", channel.base));
    let (category, sub) = match s.category.split_once('/') {
        Some((c, sub)) => (c.trim(), Some(sub.trim())),
        None => (s.category.trim(), None),
    };
    let mut x = String::with_capacity(4096 + items.len() * 1500);
    x.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
"#);
    let line = |x: &mut String, tag: &str, v: &str| {
        x.push_str(&format!("<{tag}>{}</{tag}>\n", esc(v)));
    };
    line(&mut x, "title", channel.title);
    line(&mut x, "link", &link);
    line(&mut x, "description", &s.description);
    line(&mut x, "language", &s.language);
    x.push_str(&format!(
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        esc(channel.self_url)
    ));
    line(&mut x, "itunes:author", &s.author);
    line(&mut x, "itunes:summary", &s.description);
    x.push_str(&format!("<itunes:image href=\"{}\"/>\n", esc(&image)));
    x.push_str(&format!(
        "<image><url>{}</url><title>{}</title><link>{}</link></image>\n",
        esc(&image),
        esc(channel.title),
        esc(&link)
    ));
    match sub {
        Some(sub) => x.push_str(&format!(
            "<itunes:category text=\"{}\"><itunes:category text=\"{}\"/></itunes:category>\n",
            esc(category),
            esc(sub)
        )),
        None => x.push_str(&format!("<itunes:category text=\"{}\"/>\n", esc(category))),
    }
    line(
        &mut x,
        "itunes:explicit",
        if s.explicit { "true" } else { "false" },
    );
    line(&mut x, "itunes:type", "episodic");
    x.push_str("<podcast:medium>podcast</podcast:medium>\n");
    if let Some(newest) = items.first() {
        line(
            &mut x,
            "lastBuildDate",
            &published(&newest.article).to_rfc2822(),
        );
    }
    for item in items {
        let a = &item.article;
        x.push_str("<item>\n");
        let title = a.title.clone().unwrap_or_else(|| a.id.to_string());
        line(&mut x, "title", &title);
        line(&mut x, "itunes:title", &title);
        // The article ID never changes for an article, whatever its edits: the GUID a
        // podcast app keys its episode on.
        x.push_str(&format!(
            "<guid isPermaLink=\"false\">audioby:{}</guid>\n",
            esc(a.id.as_str())
        ));
        if let Some(url) = &a.url {
            line(&mut x, "link", url);
        }
        line(&mut x, "pubDate", &published(a).to_rfc2822());
        let summary = summary(a);
        line(&mut x, "description", &summary);
        line(&mut x, "itunes:summary", &summary);
        line(
            &mut x,
            "itunes:author",
            a.byline.as_deref().unwrap_or(&s.author),
        );
        x.push_str(&format!(
            "<enclosure url=\"{}\" length=\"{}\" type=\"audio/mpeg\"/>\n",
            esc(&item.mp3_url),
            item.mp3_len
        ));
        line(&mut x, "itunes:duration", &hms(item.duration));
        line(&mut x, "itunes:episodeType", "full");
        line(
            &mut x,
            "itunes:explicit",
            if s.explicit { "true" } else { "false" },
        );
        x.push_str(&format!(
            "<podcast:transcript url=\"{}\" type=\"text/vtt\" language=\"{}\" rel=\"captions\"/>\n",
            esc(&item.captions_url),
            esc(&s.language)
        ));
        if let Some(ch) = &item.chapters_url {
            x.push_str(&format!(
                "<podcast:chapters url=\"{}\" type=\"application/json+chapters\"/>\n",
                esc(ch)
            ));
        }
        for tag in &a.meta.tags {
            line(&mut x, "category", tag);
        }
        x.push_str("</item>\n");
    }
    x.push_str("</channel>\n</rss>\n");
    x
}

/// The first paragraph or so (up to ~400 characters) as the episode description.
fn summary(a: &ArticleRecord) -> String {
    let mut out = String::new();
    for b in &a.blocks {
        if b.kind == crate::article::BlockKind::Title {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&b.text);
        if out.chars().count() >= 200 {
            break;
        }
    }
    if out.chars().count() > 400 {
        out = out.chars().take(399).collect::<String>() + "…";
    }
    out
}

/// Podcasting 2.0 JSON chapters (`application/json+chapters`, version 1.2.0).
pub fn chapters_json(chapters: &[Chapter]) -> serde_json::Value {
    serde_json::json!({
        "version": "1.2.0",
        "chapters": chapters
            .iter()
            .map(|c| serde_json::json!({"startTime": (c.start * 1000.0).round() / 1000.0, "title": c.title}))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{ArticleId, ArticleInput};

    fn article(
        id: &str,
        section: Option<&str>,
        tags: &[&str],
        byline: Option<&str>,
    ) -> ArticleRecord {
        ArticleRecord::build(
            ArticleId::parse(id).unwrap(),
            ArticleInput {
                title: Some(format!("Title <{id}> & more")),
                byline: byline.map(Into::into),
                text: Some("Some text to read.".into()),
                section: section.map(Into::into),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
            &Default::default(),
            1_700_000_000_000,
        )
        .unwrap()
    }

    #[test]
    fn filters_match_metadata_case_insensitively() {
        let a = article("a", Some("World"), &["Ukraine", "talks"], Some("Jo Doe"));
        let f = |s: &str| -> FeedFilter { toml::from_str(s).unwrap() };
        assert!(FeedFilter::default().matches(&a));
        assert!(f("section = 'world'").matches(&a));
        assert!(!f("section = 'sport'").matches(&a));
        assert!(f("tag = 'UKRAINE'").matches(&a));
        assert!(!f("tag = 'gaza'").matches(&a));
        assert!(f("author = 'jo doe'\nsection = 'World'").matches(&a));
        assert!(!f("author = 'someone'").matches(&a));
        let bare = article("b", None, &[], None);
        assert!(!f("section = 'world'").matches(&bare));
        assert!(toml::from_str::<FeedFilter>("sektion = 'x'").is_err());
    }

    #[test]
    fn all_exists_unless_redefined_and_unknown_feeds_do_not() {
        let mut s = FeedSettings::default();
        assert_eq!(s.feed("all"), Some(FeedFilter::default()));
        assert_eq!(s.feed("world"), None);
        s.define.insert(
            "all".into(),
            FeedFilter {
                section: Some("x".into()),
                ..Default::default()
            },
        );
        assert_eq!(s.feed("all").unwrap().section.as_deref(), Some("x"));
    }

    #[test]
    fn the_xml_escapes_and_parses() {
        let s = FeedSettings::default();
        let item = FeedItem {
            article: article("a", None, &["x&y"], None),
            mp3_url: "http://h/audio/a.mp3?x=1&y=2".into(),
            mp3_len: 1234,
            duration: 3725.4,
            captions_url: "http://h/a.vtt".into(),
            chapters_url: None,
        };
        let xml = render(
            &Channel {
                settings: &s,
                title: "T & <T>",
                self_url: "http://h/feeds/all.xml",
                base: "http://h",
            },
            &[item],
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(title.text(), Some("T & <T>"));
        assert!(xml.contains("<itunes:duration>01:02:05</itunes:duration>"));
        assert!(xml.contains("length=\"1234\""));
    }
}
