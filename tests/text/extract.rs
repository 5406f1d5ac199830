//! Extraction tests: realistic fixture pages (`tests/fixtures/extract/NAME.html` →
//! `NAME.expected.txt`, the spoken lines, title first) must match exactly; robustness cases
//! (empty, no article, invalid UTF-8, 100,000-deep nesting, 10 MB paragraph) must not fail badly;
//! arbitrary input must never panic.

use std::path::PathBuf;

use audioby::article::eval::TokenCounts;
use audioby::article::extract::{
    extract_auto, extract_bytes, extract_html, extract_markdown, extract_text, sniff, Article,
    ExtractError, ExtractOptions, InputKind,
};
use audioby::article::BlockKind;
use proptest::prelude::*;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract")
}

fn fixture_root() -> PathBuf {
    fixtures_dir()
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_root())
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".html").map(String::from))
        .collect();
    names.sort();
    names
}

/// Bag-of-words token F1 between extracted and expected text (used for reporting and as a
/// regression floor; the main assertion is exact line equality).
fn token_f1(got: &str, expected: &str) -> f64 {
    TokenCounts::compare(got, expected).f1()
}

/// Strings that appear in the fixtures' boilerplate and must never be spoken.
const BOILERPLATE: [&str; 22] = [
    "Audio By Carbonatix",
    "Listen to this article",
    "Advertisement",
    "ADVERTISEMENT",
    "cookies",
    "Subscribe",
    "Sign up",
    "newsletter",
    "Share",
    "Related",
    "Read more",
    "READ ALSO",
    "Recommended",
    "Photo",
    "Credit",
    "Comments",
    "Leave a Reply",
    "Privacy",
    "Most read",
    "Trending",
    "Skip to",
    "JavaScript",
];

#[test]
fn fixtures_match_expected_lines() {
    let names = fixture_names();
    assert!(
        names.len() >= 10,
        "expected at least 10 fixtures, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    let mut f1s = Vec::new();
    for name in &names {
        let root = fixture_root();
        let html = std::fs::read_to_string(root.join(format!("{name}.html"))).expect("read html");
        let expected = std::fs::read_to_string(root.join(format!("{name}.expected.txt")))
            .expect("read expected");
        let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
        let got = match extract_html(&html, &ExtractOptions::default()) {
            Ok(a) => a.spoken_lines(),
            Err(e) => {
                failures.push(format!("{name}: error {}", e.code()));
                continue;
            }
        };
        let f1 = token_f1(&got.join("\n"), &expected.join("\n"));
        f1s.push((name.clone(), f1));
        for b in BOILERPLATE {
            for line in &got {
                // Boilerplate words may legitimately occur inside long prose; flag short lines
                // and exact widget strings only.
                if line.contains(b) && (line.split_whitespace().count() < 12 || b.contains(' ')) {
                    failures.push(format!("{name}: boilerplate {b:?} leaked in line {line:?}"));
                }
            }
        }
        if got != expected {
            let mut diff = format!("{name}: lines differ (F1 {f1:.3})\n");
            let n = got.len().max(expected.len());
            for i in 0..n {
                let g = got.get(i).map(String::as_str).unwrap_or("<none>");
                let e = expected.get(i).copied().unwrap_or("<none>");
                let mark = if g == e { "  " } else { "!!" };
                diff.push_str(&format!("{mark} {i:>2} got: {g}\n{mark} {i:>2} exp: {e}\n"));
            }
            failures.push(diff);
        }
    }
    for (n, f) in &f1s {
        eprintln!("fixture {n:<12} token F1 {f:.3}");
    }
    if !f1s.is_empty() {
        let mean = f1s.iter().map(|(_, f)| f).sum::<f64>() / f1s.len() as f64;
        eprintln!("mean token F1 {mean:.3}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn f1_helper_is_sane() {
    assert!((token_f1("a b c", "a b c") - 1.0).abs() < 1e-9);
    assert_eq!(token_f1("", "a"), 0.0);
    let half = token_f1("a b", "a c");
    assert!((half - 0.5).abs() < 1e-9);
}

#[test]
fn blocks_have_expected_kinds() {
    let html = std::fs::read_to_string(fixture_root().join("drupal.html")).unwrap();
    let a = extract_html(&html, &ExtractOptions::default()).unwrap();
    let kind_of = |t: &str| {
        a.blocks
            .iter()
            .find(|b| b.text.starts_with(t))
            .map(|b| b.kind)
    };
    assert_eq!(kind_of("How to apply"), Some(BlockKind::Heading));
    assert_eq!(kind_of("Online, using"), Some(BlockKind::ListItem));
    assert_eq!(kind_of("Cost should never"), Some(BlockKind::Quote));
    assert_eq!(kind_of("Young people aged"), Some(BlockKind::Paragraph));
    assert!(a.blocks.iter().all(|b| b.kind != BlockKind::Title));
}

#[test]
fn bylines_are_detected_and_not_spoken() {
    let cases = [
        ("wordpress", "Jenna Park"),
        ("megamenu", "Marcus Bell"),
        ("amp", "Elena Varga"),
        ("liveblog", "Tom Hargreaves and Aisha Khan"),
        ("seed", "The Media Line Staff"),
        ("legacy", "Walter Grimes, Staff Writer"),
    ];
    for (name, by) in cases {
        let html = std::fs::read_to_string(fixture_root().join(format!("{name}.html"))).unwrap();
        let a = extract_html(&html, &ExtractOptions::default()).unwrap();
        assert_eq!(a.byline.as_deref(), Some(by), "{name}");
        assert!(
            a.spoken_lines().iter().all(|l| !l.contains(by)),
            "{name}: byline spoken"
        );
    }
}

#[test]
fn json_form_is_structured() {
    let html = std::fs::read_to_string(fixture_root().join("quotes.html")).unwrap();
    let a = extract_html(&html, &ExtractOptions::default()).unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(
        v["title"],
        "The last lighthouse keepers: a vanishing trade on the Atlantic coast"
    );
    assert!(v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["kind"] == "quote"));
    let back: Article = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
}

// ----- selectors ------------------------------------------------------------------------------

#[test]
fn exclude_selector_drops_matches() {
    let html = std::fs::read_to_string(fixture_root().join("wordpress.html")).unwrap();
    let opts = ExtractOptions {
        include: vec![],
        exclude: vec!["h2".into(), "p:first-of-type".into()],
        ..ExtractOptions::default()
    };
    let a = extract_html(&html, &opts).unwrap();
    let lines = a.spoken_lines();
    assert!(!lines.iter().any(|l| l == "What the barrier will look like"));
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("The Millbrook City Council voted")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("The $14.2 million project")));
}

#[test]
fn include_selector_restricts() {
    let html = r#"<html><head><title>T</title></head><body>
        <div class="intro"><p>Intro paragraph that should not be read at all here.</p></div>
        <div class="story-text"><p>First real paragraph of the story text.</p><p>Second real paragraph.</p></div>
        <div class="other"><p>Other stuff that is long enough to count as prose anyway.</p></div>
        <div class="story-text"><p>Third real paragraph.</p></div></body></html>"#;
    let opts = ExtractOptions {
        include: vec![".story-text".into()],
        exclude: vec![],
        ..ExtractOptions::default()
    };
    let a = extract_html(html, &opts).unwrap();
    let texts: Vec<&str> = a.blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "First real paragraph of the story text.",
            "Second real paragraph.",
            "Third real paragraph."
        ]
    );
}

#[test]
fn bad_selector_is_an_error() {
    for bad in ["div[", "", "p >> ", "::nope("] {
        let opts = ExtractOptions {
            include: vec![bad.into()],
            exclude: vec![],
            ..ExtractOptions::default()
        };
        let e = extract_html("<p>hello world</p>", &opts).unwrap_err();
        assert_eq!(e.code(), "bad-selector", "{bad:?}");
        let opts = ExtractOptions {
            include: vec![],
            exclude: vec![bad.into()],
            ..ExtractOptions::default()
        };
        assert_eq!(
            extract_auto("plain words", &opts).unwrap_err().code(),
            "bad-selector"
        );
    }
}

// ----- robustness -------------------------------------------------------------------------------

#[test]
fn empty_documents_are_errors() {
    for doc in [
        "",
        "   \n\t ",
        "<html><head></head><body></body></html>",
        "<!-- only a comment -->",
    ] {
        let e = extract_html(doc, &ExtractOptions::default()).unwrap_err();
        assert_eq!(e, ExtractError::EmptyDocument, "{doc:?}");
        assert_eq!(e.code(), "empty-document");
    }
    assert_eq!(
        extract_auto("", &ExtractOptions::default())
            .unwrap_err()
            .code(),
        "empty-document"
    );
    assert_eq!(
        extract_bytes(b"", &ExtractOptions::default())
            .unwrap_err()
            .code(),
        "empty-document"
    );
}

#[test]
fn page_without_article_is_no_article() {
    let html = r#"<html><body><nav><a href="/">Home</a><a href="/news">News</a></nav>
        <div class="cookie-banner"><p>We use cookies to improve your experience on this site.</p></div>
        <footer><p>Copyright 2024 Example Media. All rights reserved.</p></footer></body></html>"#;
    let e = extract_html(html, &ExtractOptions::default()).unwrap_err();
    assert_eq!(e.code(), "no-article");
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let mut bytes = b"<html><body><article><h1>Bad bytes headline here</h1><p>Caf".to_vec();
    bytes.extend_from_slice(&[0xE9, 0xFF, 0xFE]);
    bytes.extend_from_slice(
        b" au lait is served all day in the station.</p></article></body></html>",
    );
    let a = extract_bytes(&bytes, &ExtractOptions::default()).unwrap();
    assert_eq!(a.title.as_deref(), Some("Bad bytes headline here"));
    assert!(a.blocks[0].text.contains('\u{FFFD}'));
    assert!(a.blocks[0].text.ends_with("served all day in the station."));
}

#[test]
fn deeply_nested_html_does_not_overflow() {
    let depth = 100_000;
    let html = format!(
        "<html><head><title>Deep</title></head><body>{}<p>The deepest paragraph of this document is still read aloud.</p></body></html>",
        "<div>".repeat(depth)
    );
    // Run on a small (256 KiB) stack to prove there is no recursion proportional to depth.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || extract_html(&html, &ExtractOptions::default()))
        .unwrap();
    let a = handle.join().expect("no stack overflow / panic").unwrap();
    assert_eq!(
        a.blocks.last().map(|b| b.text.as_str()),
        Some("The deepest paragraph of this document is still read aloud.")
    );
    // Between the locator limit (512) and the DOM limit (4096) the DOM walker itself runs:
    // prove it is iterative and that selectors still apply there.
    let html = format!(
        "<body>{}<div class='box-7'><p>Buy our lovely product today, it is great value.</p></div><p>Mid-depth paragraph that must be read aloud.</p></body>",
        "<div>".repeat(3_000)
    );
    let opts = ExtractOptions {
        include: vec![],
        exclude: vec![".box-7".into()],
        ..ExtractOptions::default()
    };
    let a = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || extract_html(&html, &opts))
        .unwrap()
        .join()
        .expect("no overflow")
        .unwrap();
    let texts: Vec<&str> = a.blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(texts, ["Mid-depth paragraph that must be read aloud."]);
    // Also with nested inline elements (streaming fallback).
    let html = format!(
        "<body>{}<p>Inline deep text that should survive here.</p></body>",
        "<span><b>".repeat(20_000)
    );
    let opts = ExtractOptions {
        include: vec![],
        exclude: vec![".ad".into()],
        ..ExtractOptions::default()
    };
    let a = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || extract_html(&html, &opts))
        .unwrap()
        .join()
        .expect("no overflow")
        .unwrap();
    assert!(a
        .blocks
        .iter()
        .any(|b| b.text == "Inline deep text that should survive here."));
}

#[test]
fn ten_megabyte_paragraph_completes() {
    let word = "lorem ";
    let body = word.repeat(10 * 1024 * 1024 / word.len());
    let html =
        format!("<html><body><article><h1>Big one</h1><p>{body}</p></article></body></html>");
    let t = std::time::Instant::now();
    let a = extract_html(&html, &ExtractOptions::default()).unwrap();
    assert_eq!(a.blocks.len(), 1);
    assert!(a.blocks[0].text.len() >= 10 * 1024 * 1024 - 16);
    eprintln!("10 MB paragraph: {:?}", t.elapsed());
    // And as plain text / markdown.
    assert_eq!(extract_text(&body).blocks.len(), 1);
    assert_eq!(extract_markdown(&body).blocks.len(), 1);
}

// ----- text and markdown --------------------------------------------------------------------------

#[test]
fn plain_text_seed_article() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("player/seed-article.txt"),
    )
    .expect("seed article (committed copy)");
    let a = extract_text(&text);
    assert!(a.spoken_lines().iter().all(|l| !l.contains("Audio By")));
    assert!(a
        .blocks
        .iter()
        .any(|b| b.text.starts_with("Ukraine also refuses to abandon")));
}

#[test]
fn plain_text_title_and_paragraphs() {
    let a = extract_text("Harbour reopens after storm\n\nThe harbour reopened on Monday after\nthree days of repairs.\n\nFishing boats returned at dawn.\n");
    assert_eq!(a.title.as_deref(), Some("Harbour reopens after storm"));
    assert_eq!(
        a.spoken_lines(),
        [
            "Harbour reopens after storm",
            "The harbour reopened on Monday after three days of repairs.",
            "Fishing boats returned at dawn."
        ]
    );
    // A first line that is a sentence is not a title; single newlines separate paragraphs.
    let a = extract_text("It rained all day.\nThe match was cancelled.");
    assert_eq!(a.title, None);
    assert_eq!(a.blocks.len(), 2);
    let a = extract_text("Shopping list\n- eggs\n- milk");
    assert_eq!(
        a.blocks.iter().map(|b| b.kind).collect::<Vec<_>>(),
        [BlockKind::ListItem, BlockKind::ListItem]
    );
}

#[test]
fn markdown_blocks() {
    let md = "# Storm closes schools\n\nBy Jo Bloggs\n\nSchools in **three** counties closed on [Monday](http://x).\n\n![a map](map.png)\n\n## What parents should know\n\n- Buses will not run.\n- Exams are postponed.\n\n> Safety comes first,\n> said the council.\n\n```\nlet code = 1;\n```\n\n<div>raw html</div>\n";
    let a = extract_markdown(md);
    assert_eq!(a.title.as_deref(), Some("Storm closes schools"));
    assert_eq!(a.byline.as_deref(), Some("Jo Bloggs"));
    let got: Vec<(BlockKind, &str)> = a.blocks.iter().map(|b| (b.kind, b.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                BlockKind::Paragraph,
                "Schools in three counties closed on Monday."
            ),
            (BlockKind::Heading, "What parents should know"),
            (BlockKind::ListItem, "Buses will not run."),
            (BlockKind::ListItem, "Exams are postponed."),
            (BlockKind::Quote, "Safety comes first, said the council."),
        ]
    );
}

#[test]
fn sniffing_and_auto() {
    assert_eq!(sniff("<!DOCTYPE html><html></html>"), InputKind::Html);
    assert_eq!(sniff("Some text with <p>a tag</p> in it"), InputKind::Html);
    assert_eq!(sniff("# Title\n\nA paragraph."), InputKind::Markdown);
    assert_eq!(
        sniff("Title\n\nA paragraph with 3 < 4 maths."),
        InputKind::Text
    );
    let a = extract_auto(
        "# Title here\n\nBody paragraph.",
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(a.spoken_lines(), ["Title here", "Body paragraph."]);
    let a = extract_auto(
        "<html><body><article><h1>An HTML title</h1><p>Body &amp; soul of the page.</p></article></body></html>",
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(
        a.spoken_lines(),
        ["An HTML title", "Body & soul of the page."]
    );
}

#[test]
fn entities_and_whitespace() {
    let html = "<html><body><article><h1>A&nbsp;&amp;&nbsp;B</h1><p>  caf&eacute;\n\n  &#8220;quoted&#8221;&nbsp;&mdash; done  </p></article></body></html>";
    let a = extract_html(html, &ExtractOptions::default()).unwrap();
    assert_eq!(a.spoken_lines(), ["A & B", "café “quoted” — done"]);
}

// ----- never panic ------------------------------------------------------------------------------

fn tag_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<div>".to_string()),
        Just("</div>".to_string()),
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<br>".to_string()),
        Just("<h1>".to_string()),
        Just("<li>".to_string()),
        Just("<blockquote>".to_string()),
        Just("<table><tr><td>".to_string()),
        Just("<script>".to_string()),
        Just("<nav class='menu'>".to_string()),
        Just("<a href='x'>".to_string()),
        Just("</a>".to_string()),
        Just("<!--".to_string()),
        Just("&amp;".to_string()),
        Just("&#x1F600;".to_string()),
        Just("<title>".to_string()),
        Just("<meta property='og:title' content='x'>".to_string()),
        "[a-zA-Z .,é]{0,30}".prop_map(|s| s),
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn html_never_panics(s in any::<String>()) {
        let _ = extract_html(&s, &ExtractOptions::default());
        let _ = extract_auto(&s, &ExtractOptions::default());
    }

    #[test]
    fn tag_soup_never_panics(s in tag_soup()) {
        if let Ok(a) = extract_html(&s, &ExtractOptions::default()) {
            prop_assert!(!a.blocks.is_empty());
            for b in &a.blocks {
                prop_assert!(!b.text.is_empty());
                prop_assert_eq!(b.text.trim(), b.text.as_str());
                prop_assert!(!b.text.contains("  "));
            }
        }
        let _ = extract_markdown(&s);
        let _ = extract_text(&s);
    }

    #[test]
    fn bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = extract_bytes(&b, &ExtractOptions::default());
    }
}

#[test]
fn page_without_located_article_reads_its_largest_prose_block() {
    // The only prose sits before the page's headline, in the headline's own container, where
    // the walker (which starts reading at the title) finds nothing: best effort, not a refusal.
    let html = r#"<html><body><nav><a href="/">Home</a></nav><div class="wrap">
        <div class="x1">The county fair opens on Friday with livestock shows, a pie contest and the return of the Ferris wheel after a year of repairs.</div>
        <h1>County fair</h1></div>
        <footer><p>Copyright 2026 Example Media. All rights reserved, every single one of them, forever and always.</p></footer></body></html>"#;
    let a = extract_html(html, &ExtractOptions::default()).expect("best effort");
    let text = a.spoken_lines().join("\n");
    assert!(text.contains("The county fair opens on Friday"), "{text}");
    assert!(!text.contains("Copyright"), "{text}");
}

#[test]
fn class_names_that_hide_every_paragraph_are_overruled() {
    // A theme wraps each paragraph in an "ad-free" field (the part "ad" names ads), so the
    // class/id rules drop the whole story; the page is read again without class/id names
    // (tag, role and visibility rules still apply: the nav, the hidden note and the footer
    // stay out).
    let paras: String = PROSE
        .iter()
        .map(|p| format!(r#"<div class="field ad-free-text"><p>{p}</p></div>"#))
        .collect();
    let html = format!(
        r#"<html><body><nav><a href="/">Home</a> <a href="/news">News</a></nav><main><article>
        <h1>Bridge to be rebuilt</h1>{paras}<p hidden>Internal note: check the cost figure before this is published.</p></article></main>
        <footer><p>Copyright 2026 Example Media. All rights reserved, every single one of them.</p></footer></body></html>"#
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p} missing from {text}");
    }
    assert!(!text.contains("Internal note"), "{text}");
    assert!(!text.contains("Copyright"), "{text}");
    assert!(!text.contains("Home"), "{text}");
}

fn spoken(html: &str) -> String {
    extract_html(html, &ExtractOptions::default())
        .expect("extracts")
        .spoken_lines()
        .join("\n")
}

const PROSE: [&str; 6] = [
    "The council voted on Tuesday to rebuild the old stone bridge over the river, ending a debate that has run for more than a decade in the town.",
    "Engineers had warned that the bridge, built in 1887, could no longer carry delivery lorries safely, and it has been closed to heavy traffic since the spring.",
    "The work will cost about four million pounds, most of it paid for by a national fund for ageing infrastructure, the council said in a statement.",
    "Residents who spoke at the meeting were divided: some wanted a modern crossing, while others asked for the stone arches to be kept and repaired.",
    "The council chose a repair that keeps the arches but strengthens the deck, and work is expected to start next summer and last about a year.",
    "A temporary footbridge will keep the two halves of the town connected while the work goes on, the council's engineer told the meeting.",
];

fn body(paras: &[&str]) -> String {
    paras.iter().map(|p| format!("<p>{p}</p>")).collect()
}

#[test]
fn gallery_captions_are_read_when_they_are_the_story() {
    let captions = [
        "A dog runs through fresh snow in a park in Buxton on Monday morning.",
        "Children sledge down a hill near Hebden Bridge after their school closed for the day.",
        "A gritter lorry clears the main road near Keswick, where deep snow fell overnight.",
    ];
    let slides: String = captions
        .iter()
        .map(|c| format!(r#"<figure class="slide"><img src="/a.jpg"><figcaption>{c}</figcaption><span class="photo-credit">PA Media</span></figure>"#))
        .collect();
    let gallery = format!(
        r#"<html><head><title>In pictures: snow</title></head><body><main><h1>In pictures: the first snow of winter</h1><p class="dek">Snow fell across the north overnight.</p><div class="slides">{slides}</div></main></body></html>"#
    );
    let text = spoken(&gallery);
    for c in captions {
        assert!(text.contains(c), "{text}");
    }
    assert!(!text.contains("PA Media"), "{text}");

    // In an article, the same caption is not read (the standfirst is).
    let article = format!(
        r#"<html><body><main><article><h1>Council votes to rebuild the old bridge</h1><p class="standfirst">Work starts next summer.</p><figure><img src="/b.jpg"><figcaption>{}</figcaption></figure>{}</article></main></body></html>"#,
        captions[0],
        body(&PROSE)
    );
    let text = spoken(&article);
    assert!(text.contains(PROSE[5]), "{text}");
    assert!(!text.contains("fresh snow"), "{text}");
    assert!(text.contains("Work starts next summer"), "{text}");
}

#[test]
fn timestamps_counters_and_furniture_lines_are_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><p class="updated">Last updated: November 3, 2026</p><div class="stamp">14:52 GMT</div><p>Updated 2 hours ago</p>{}<p>1 / 6</p><p>###</p><p>Source: County Board of Elections.</p><p>Reporting by Jane Doe; Editing by John Roe</p><p><em>Copyright 2026 Example Media Inc. All rights reserved. This material may not be published, broadcast, rewritten, or redistributed.</em></p><p>We may earn a commission if you buy through links on this page.</p><h2>Saturday</h2><p>The market opens at nine.</p></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    for bad in [
        "November 3",
        "14:52",
        "hours ago",
        "1 / 6",
        "###",
        "Source:",
        "Editing by",
        "Copyright",
        "commission",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
    // A day name alone is a subheading, not a timestamp; the prose around is all read.
    assert!(text.contains("\nSaturday\n"), "{text}");
    for p in PROSE {
        assert!(text.contains(p), "{text}");
    }
}

#[test]
fn boxes_after_the_body_go_and_a_split_body_stays() {
    let html = format!(
        r#"<html><body><main><article><h1>Council votes to rebuild the old bridge</h1><p class="dek">A long-awaited repair for the town.</p><div class="verdict"><p>Our verdict: a sensible repair.</p></div><div class="story-body">{}</div><div class="ad-break"></div><div class="story-body">{}</div><p>{}</p>
        <div class="support-box"><h2>Before you go</h2><p>Every gift keeps our small newsroom free to read.</p></div>
        <div class="guest-book"><p>He was the best neighbour anyone could ask for.</p></div></article></main></body></html>"#,
        body(&PROSE[..5]),
        body(&PROSE[5..]),
        "The bridge will reopen to lorries once the work is finished, the council added."
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(text.contains("reopen to lorries"), "{text}");
    assert!(text.contains("long-awaited repair"), "{text}");
    for bad in [
        "verdict",
        "Before you go",
        "small newsroom",
        "best neighbour",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_heading_whose_section_kept_nothing_is_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1>{}<div class="links"><h2>More on this story</h2><ul><li><a href="/1">Bridge closed to lorries</a></li><li><a href="/2">Town debates the arches</a></li></ul></div><h2>What happens next</h2>{}</article></body></html>"#,
        body(&PROSE[..3]),
        body(&PROSE[3..])
    );
    let text = spoken(&html);
    assert!(!text.contains("More on this story"), "{text}");
    assert!(text.contains("What happens next"), "{text}");
}

#[test]
fn a_blog_title_under_the_site_name_heading_is_the_title() {
    let html = format!(
        r#"<html><head><title>Notes from the Fjord: The last ferry of the season</title></head><body><header><h1 class="title">Notes from the Fjord</h1><p>Small journeys on the west coast</p></header><div class="post"><h3 class="post-title entry-title">The last ferry of the season</h3><div class="post-body">{}</div></div></body></html>"#,
        body(&PROSE)
    );
    let a = extract_html(&html, &ExtractOptions::default()).expect("extracts");
    assert_eq!(a.title.as_deref(), Some("The last ferry of the season"));
    let text = a.spoken_lines().join("\n");
    assert!(!text.contains("Notes from the Fjord"), "{text}");
    assert!(!text.contains("Small journeys"), "{text}");
}

#[test]
fn a_teaser_page_reads_its_json_ld_article_body() {
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example Daily"},
            {"@type": "NewsArticle", "headline": "Council votes to rebuild the old bridge",
             "articleBody": PROSE.join("\n\n")}
        ]
    });
    let page = |ld: &str| {
        format!(
            r#"<html><head><script type="application/ld+json">{ld}</script></head><body><main><article><h1>Council votes to rebuild the old bridge</h1><div class="story-body"><p>{}</p></div><div class="gate"><p>Continue reading with a subscription.</p></div></article></main></body></html>"#,
            PROSE[0]
        )
    };
    let text = spoken(&page(&ld.to_string()));
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("Continue reading"), "{text}");

    // An articleBody of another story (or too short to be the article) is not read.
    let other = serde_json::json!({"@type": "NewsArticle", "articleBody":
        "The library's winter book sale runs on Friday and Saturday in the community room, and every paperback costs a dollar. ".repeat(8)});
    let text = spoken(&page(&other.to_string()));
    assert!(text.contains(PROSE[0]), "{text}");
    assert!(!text.contains("winter book sale"), "{text}");
}

#[test]
fn an_amp_web_story_reads_its_pages_but_not_its_call_to_action() {
    let pages: String = PROSE
        .iter()
        .enumerate()
        .map(|(i, p)| format!(r#"<amp-story-page id="p{i}"><amp-story-grid-layer template="fill"><amp-img src="/{i}.jpg" layout="fill"></amp-img></amp-story-grid-layer><amp-story-grid-layer template="vertical"><h2>Part {i} of the bridge story</h2><p>{p}</p></amp-story-grid-layer></amp-story-page>"#))
        .collect();
    let html = format!(
        r#"<!doctype html><html amp><head><title>Council votes to rebuild the old bridge</title></head><body><amp-story standalone title="Council votes to rebuild the old bridge">{pages}<amp-story-page id="cta"><amp-story-grid-layer template="vertical"><h2>Get our newsletter</h2><p>Town news in your inbox every Friday morning, free of charge.</p></amp-story-grid-layer><amp-story-page-outlink layout="nodisplay"><a href="/nl">Sign up</a></amp-story-page-outlink></amp-story-page></amp-story></body></html>"#
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(text.contains("Part 3 of the bridge story"), "{text}");
    assert!(!text.contains("newsletter"), "{text}");
    assert!(!text.contains("inbox"), "{text}");
}

#[test]
fn accordion_questions_note_markers_and_credited_captions() {
    let html = format!(
        r##"<html><body><article><h1>Council votes to rebuild the old bridge</h1>{}<div class="faq"><details><summary><h3>When does the work start?</h3><span aria-hidden="true">+</span></summary><p>{}</p></details><details><summary><h3>Will the footbridge be open?</h3><span>+</span></summary><p>{}</p></details></div><p>{}<sup class="ref"><a href="#fn1" id="r1">1</a></sup></p><div class="pic"><img src="/b.jpg"><div class="pic-text">The bridge at dawn. Picture: Town Press</div></div><p>{}<a class="fn" href="#fn2">[2]</a></p><div class="footnotes"><ol><li id="fn1">The fund was set up in 2021.</li><li id="fn2">Figures from the council.</li></ol></div></article></body></html>"##,
        body(&PROSE[..2]),
        PROSE[2],
        PROSE[3],
        PROSE[4],
        PROSE[5]
    );
    let text = spoken(&html);
    assert!(text.contains("When does the work start?"), "{text}");
    assert!(text.contains("Will the footbridge be open?"), "{text}");
    // The note markers are gone, the sentences end as written.
    assert!(text.contains(&format!("{}\n", PROSE[4])), "{text}");
    assert!(text.ends_with(PROSE[5]), "{text}");
    assert!(!text.contains("Picture: Town Press"), "{text}");
    assert!(!text.contains("The fund was set up"), "{text}");
}

#[test]
fn standfirsts_are_read_and_boxes_before_the_body_are_not() {
    // A standfirst as short loose text, and a fact-check's ClaimReview card.
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><div class="o-topper__standfirst">Arches kept, deck strengthened</div><div itemscope itemtype="https://schema.org/ClaimReview"><p>The claim: the bridge will close for five years.</p><p>Our rating: False</p></div><div class="body">{}</div></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    assert!(text.contains("Arches kept, deck strengthened"), "{text}");
    assert!(!text.contains("The claim"), "{text}");
    assert!(!text.contains("Our rating"), "{text}");

    // A live blog's key points: the standfirst is the whole list.
    let html = format!(
        r#"<html><body><main><h1>Council votes to rebuild the old bridge</h1><div class="standfirst"><ul><li>The arches will be kept.</li><li>Work starts next summer.</li><li>A footbridge links the town.</li></ul></div><div class="posts">{}</div></main></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    for k in [
        "The arches will be kept.",
        "Work starts next summer.",
        "A footbridge links the town.",
    ] {
        assert!(text.contains(k), "{k:?} missing in:\n{text}");
    }
}

#[test]
fn developing_story_notices_are_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><p><em>This is a developing story and will be updated.</em></p>{}<p><em>Check back for updates.</em></p><p class="note">This transcript was generated automatically and may contain errors.</p></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    assert!(text.contains(PROSE[5]), "{text}");
    for bad in ["developing story", "Check back", "transcript"] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

// Rules added with the fourth held-out batch of the dev set (issue 17). Each test fails
// without its rule.

#[test]
fn drupal_fields_with_hidden_labels_are_read() {
    // Drupal marks every field whose *label* is not shown `field--label-hidden`; the field (a
    // body paragraph of the Paragraphs module) is shown. A `visually-hidden` element is not.
    let paras: String = PROSE
        .iter()
        .map(|p| format!(r#"<div class="paragraph paragraph--type--text"><div class="clearfix text-formatted field field--name-field-text field--type-text-long field--label-hidden field__item"><p>{p}</p></div></div>"#))
        .collect();
    let html = format!(
        r#"<html><body><a class="visually-hidden focusable skip-link">Skip to main content</a><main><h1 class="page-title"><span class="field field--name-title field--label-hidden">Council votes to rebuild the old bridge</span></h1><article class="node"><div class="node__content"><div class="field field--name-field-paragraphs field--label-hidden field__items">{paras}</div></div></article></main></body></html>"#
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("Skip to main"), "{text}");
}

#[test]
fn a_heading_anchor_spelling_its_text_is_no_class_hint() {
    // Blog engines give headings anchors made of their words; "consent" or "comment" there
    // names the heading's subject, not a cookie banner or a comment thread.
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1>{}<h2 id="the-consent-agenda-is-where-the-money-is">The consent agenda is where the money is</h2>{}<h2 id="public-comment-is-mostly-the-same-people">Public comment is mostly the same people</h2>{}<div id="comments"><h2 id="comments-title">2 comments</h2><p>Great story, thanks for covering the council.</p></div></article></body></html>"#,
        body(&PROSE[..2]),
        body(&PROSE[2..4]),
        body(&PROSE[4..])
    );
    let text = spoken(&html);
    assert!(
        text.contains("\nThe consent agenda is where the money is\n"),
        "{text}"
    );
    assert!(
        text.contains("\nPublic comment is mostly the same people\n"),
        "{text}"
    );
    assert!(!text.contains("Great story"), "{text}");
}

#[test]
fn a_paywall_named_teaser_is_read_and_the_gate_is_not() {
    // Sites name the article text the paywall script truncates after it ("paywall-fade");
    // the gate itself asks the reader to subscribe or log in.
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><div class="story-body"><div class="story-free paywall-fade">{}</div><div class="story-locked subscriber-only">{}</div></div><div class="paywall-offer"><h2>Continue reading with a subscription</h2><p>Get unlimited access to our reporting for $2 a week.</p><p>Already a subscriber? Log in</p></div></article></body></html>"#,
        body(&PROSE[..2]),
        body(&PROSE[2..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("unlimited access"), "{text}");
}

#[test]
fn review_verdict_pros_cons_and_specs_boxes_are_not_read() {
    // A verdict box with a score, a pros-and-cons box and a specifications table, inside the
    // review's body container after its last paragraph (and a verdict box before the body).
    let html = format!(
        r#"<html><body><article><h1>Lumo Trail 2 review: a headlamp that lasts all weekend</h1><div class="verdict-box"><p>Our verdict: long battery life makes this the headlamp to beat.</p></div><div class="review-body">{}<div class="review-verdict"><h2>Verdict</h2><span>8/10</span><p>A compact lamp that lasts, though its single button is fiddly to learn.</p></div><div class="pros-and-cons"><div class="pros"><h3>Pros</h3><ul><li>Excellent battery life</li></ul></div><div class="cons"><h3>Cons</h3><ul><li>Fiddly single button</li></ul></div></div><div class="review-specs"><h3>Specifications</h3><table><tr><th>Weight</th><td>86 grams</td></tr></table></div></div></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    for bad in [
        "Our verdict",
        "compact lamp",
        "Excellent battery",
        "Fiddly",
        "Specifications",
        "86 grams",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_recipe_card_is_read_without_its_nutrition_panel_or_call_to_action() {
    let html = format!(
        r#"<html><body><article><h1>Apple growers had a record year</h1><div class="entry-content">{}<div class="wprm-recipe-container"><h2 class="wprm-recipe-name">Apple Skillet Cake</h2><div class="wprm-recipe-ingredients-container"><h3>Ingredients</h3><ul><li>3 medium apples, thinly sliced</li><li>6 tablespoons butter</li></ul></div><div class="wprm-recipe-instructions-container"><h3>Instructions</h3><ul><li>Heat the oven to 350 degrees and melt the butter in a skillet.</li></ul></div><div class="wprm-nutrition-label-container wprm-block-text-normal"><h3 class="wprm-recipe-header">Nutrition</h3><span class="wprm-nutrition-label-text-nutrition-container"><span class="wprm-nutrition-label-text-nutrition-label">Calories: </span><span>298</span><span>kcal</span></span> | <span class="wprm-nutrition-label-text-nutrition-container"><span class="wprm-nutrition-label-text-nutrition-label">Carbohydrates: </span><span>44</span><span>g</span></span> | <span class="wprm-nutrition-label-text-nutrition-container"><span class="wprm-nutrition-label-text-nutrition-label">Fat: </span><span>12</span><span>g</span></span></div><div class="wprm-call-to-action"><span>Tried this recipe?</span><span>Let us know how it was! Tag us on Instagram.</span></div></div></div></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    for k in [
        "Apple Skillet Cake",
        "3 medium apples, thinly sliced",
        "Heat the oven to 350 degrees",
    ] {
        assert!(text.contains(k), "{k:?} missing in:\n{text}");
    }
    for bad in ["Nutrition", "Calories", "Tried this recipe", "Let us know"] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn embedded_instagram_and_tiktok_posts_are_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><div class="c-entry-content">{}<blockquote class="instagram-media" data-instgrm-permalink="https://www.instagram.com/p/x/"><div><a href="https://www.instagram.com/p/x/">View this post on Instagram</a><p>A post shared by Town Council (@towncouncil)</p></div></blockquote><blockquote class="tiktok-embed" cite="https://www.tiktok.com/@x/video/1"><section><p>Our bridge is getting a makeover this summer, with the arches kept</p></section></blockquote>{}</div></article></body></html>"#,
        body(&PROSE[..3]),
        body(&PROSE[3..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("A post shared by"), "{text}");
    assert!(!text.contains("makeover"), "{text}");
}

#[test]
fn a_box_opening_with_a_sponsor_label_is_not_read() {
    // A newsletter template's advertiser block between two sections (no class names it).
    let html = format!(
        r#"<html><body><table class="templateContainer"><tr><td class="mcnTextContent"><h1>Council votes to rebuild the old bridge</h1>{}</td></tr><tr><td class="mcnTextContent"><p><strong>SPONSORED</strong></p><p>Island Hardware: winter boots are 20% off through Sunday. Open every day except Christmas.</p></td></tr><tr><td class="mcnTextContent">{}</td></tr></table></body></html>"#,
        body(&PROSE[..3]),
        body(&PROSE[3..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("Island Hardware"), "{text}");
}

#[test]
fn category_lines_dated_bylines_and_contact_lines_are_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><p class="posted">Posted on December 6, 2026 by Olivia Brandt</p><div class="body">{}<p><em>Contact Sarah Lindholm at slindholm@example.com or 715-555-0171.</em></p></div><p class="post-cats">Categories: <a href="/c/news">News</a>, <a href="/c/towns">Towns</a></p><p>Filed under: Bridges, Council</p></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    for bad in [
        "Posted on",
        "Olivia",
        "Contact Sarah",
        "Categories",
        "Filed under",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_gallery_reads_its_captions_without_their_credits() {
    let captions = [
        "A dog runs through fresh snow in a park in Buxton on Monday morning.",
        "Children sledge down a hill near Hebden Bridge after their school closed for the day.",
        "A gritter lorry clears the main road near Keswick, where deep snow fell overnight.",
        "Sheep wait to be fed on a farm in the Yorkshire Dales as the sun rises.",
    ];
    let credits = [
        " (AP Photo/Sue Ogrocki)",
        " REUTERS/Joe Skipper",
        " (Photo by Ann Lee)",
        "",
    ];
    let slides: String = captions
        .iter()
        .zip(credits)
        .map(|(c, cr)| format!(r#"<div class="slide"><img src="/a.jpg"><div class="slide-caption"><p>{c}{cr}</p></div></div>"#))
        .collect();
    let html = format!(
        r#"<html><body><main><h1>In pictures: the first snow of winter</h1><div class="slides">{slides}</div><div class="gallery-end"><p>You have reached the end of this gallery.</p></div></main></body></html>"#
    );
    let text = spoken(&html);
    for c in captions {
        assert!(text.lines().any(|l| l == c), "{c:?} not a line of:\n{text}");
    }
    for bad in ["AP Photo", "REUTERS", "Ann Lee", "reached the end"] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_republishing_notice_in_the_body_is_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><div class="entry-content">{}<p class="has-small-font-size"><em>The Valley Voice is a nonprofit newsroom. Our stories may be republished for free under a Creative Commons license.</em></p></div></article></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    assert!(text.contains(PROSE[5]), "{text}");
    assert!(!text.contains("republished"), "{text}");
}

#[test]
fn key_points_wiki_boxes_article_info_and_product_cards_are_not_read() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><dl class="article-info muted"><dt class="article-info-term">Details</dt><dd class="hits">Hits: 412</dd></dl><div id="siteSub">From Townwiki, the free news source you can write!</div><div class="body"><div data-component="KeyPoints" class="KeyPoints_keyPoints__3ZU3y"><h2>Key points:</h2><ul><li>The bridge will be repaired, not replaced</li><li>Work starts next summer</li></ul></div><table class="infobox"><tr><th>Related news</th></tr><tr><td><ul><li>2 March 2025: Bridge closed to lorries</li></ul></td></tr></table>{}<div class="shop-the-story"><h3>Shop the story</h3><ul class="product-grid"><li><div class="product-card-wrapper"><h3><a>Bridge print</a></h3><span class="price-item price-item--regular">$17.00 USD</span></div></li></ul></div>{}</div><div class="printfooter">Retrieved from "https://townwiki.example/w/index.php?oldid=1"</div></article></body></html>"#,
        body(&PROSE[..3]),
        body(&PROSE[3..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    for bad in [
        "Details",
        "Hits",
        "Townwiki",
        "Key points",
        "not replaced",
        "Related news",
        "closed to lorries",
        "Shop the story",
        "$17.00",
        "Retrieved from",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_sources_section_is_not_read_but_the_next_section_is() {
    let html = format!(
        r#"<html><body><article><h1>Council votes to rebuild the old bridge</h1><div class="mw-parser-output">{}<h2><span class="mw-headline" id="Sources">Sources</span><span class="mw-editsection">[<a>edit</a>]</span></h2><ul><li>"Council backs bridge repair" — Valley Voice, December 1, 2026</li><li>Council minutes, December 1, 2026</li></ul><h3>Journal Reference:</h3><p>A. Morrow. Stone arch bridges. Journal of Bridges, 2026; 41: 1041.</p><h2>What comes next</h2>{}</div></article></body></html>"#,
        body(&PROSE[..4]),
        body(&PROSE[4..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(text.lines().any(|l| l == "What comes next"), "{text}");
    for bad in [
        "Sources",
        "edit",
        "Valley Voice",
        "minutes",
        "Journal",
        "Morrow",
    ] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_metadata_list_is_not_read_but_its_summary_is() {
    let summary = "The town will repair its 1887 stone bridge rather than build a new one, after a decade of debate.";
    let html = format!(
        r#"<html><body><div class="col"><h1>Council votes to rebuild the old bridge</h1><dl class="dl-horizontal"><dt>Date:</dt><dd>December 1, 2026</dd><dt>Source:</dt><dd>Valley Borough Council</dd><dt>Summary:</dt><dd id="abstract">{summary}</dd></dl><div id="story_text">{}<dl class="facts"><dt>Who:</dt><dd>The borough council and its engineers.</dd></dl></div></div></body></html>"#,
        body(&PROSE)
    );
    let text = spoken(&html);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.get(1), Some(&summary), "{text}");
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    // The labels of a list that is not metadata are read.
    assert!(text.lines().any(|l| l == "Who:"), "{text}");
    assert!(text.contains("its engineers"), "{text}");
    for bad in ["Date", "December 1", "Source", "Borough", "Summary:"] {
        assert!(!text.contains(bad), "{bad:?} read in:\n{text}");
    }
}

#[test]
fn a_classless_box_after_a_classless_body_is_not_read() {
    let html = format!(
        r#"<html><body><div id="container"><h1>Council votes to rebuild the old bridge</h1><div id="story"><p>{}</p><div id="text">{}</div></div><div id="story_source"><p>Materials provided by Valley Borough Council. Note: content may be edited for style and length.</p></div></div></body></html>"#,
        PROSE[0],
        body(&PROSE[1..])
    );
    let text = spoken(&html);
    for p in PROSE {
        assert!(text.contains(p), "{p:?} missing in:\n{text}");
    }
    assert!(!text.contains("Materials provided"), "{text}");
}
