//! Publisher markers (issue 16 part 7): `data-audioby-skip` and the configured skip class are
//! never read; `data-audioby-only` is read even where the page hides it, in document order.

use audioby::article::extract::{extract_auto, extract_html, ExtractOptions};

const PAGE: &str = r#"<html><head><title>Harbor ferry returns</title></head><body>
<nav><a href="/">Home</a></nav>
<p data-audioby-only hidden>You are listening to the Harbor Herald. This story was read by a synthetic voice.</p>
<article>
<h1>Harbor ferry returns after two-year absence</h1>
<p>The passenger ferry between the north and south harbors returned to service on Monday, two years after the old boat was retired.</p>
<p data-audioby-skip>Tap the map below to see the ferry's route and timetable.</p>
<p>The new boat carries 149 passengers and 30 bicycles, and crosses the harbor in about twelve minutes.</p>
<div class="audioby-skip"><p>Video: watch the new ferry arrive at the south terminal on its first morning.</p></div>
<p style="display:none" data-audioby-only>The photographs on this page show the new ferry at its berth.</p>
<p>Fares remain at three dollars for adults and are free for children under twelve.</p>
</article>
<footer><p>Copyright 2026 Harbor Herald.</p></footer>
</body></html>"#;

fn spoken(opts: &ExtractOptions) -> String {
    extract_html(PAGE, opts)
        .expect("extracts")
        .spoken_lines()
        .join("\n")
}

#[test]
fn skip_marked_content_is_not_read() {
    let text = spoken(&ExtractOptions::default());
    assert!(!text.contains("Tap the map"), "{text}");
    assert!(!text.contains("watch the new ferry"), "{text}");
    assert!(
        text.contains("The new boat carries 149 passengers"),
        "{text}"
    );
    assert!(text.contains("Fares remain"), "{text}");
}

#[test]
fn only_marked_content_is_read_though_hidden_in_document_order() {
    let text = spoken(&ExtractOptions::default());
    let intro = text
        .find("You are listening to the Harbor Herald")
        .unwrap_or_else(|| panic!("spoken intro missing: {text}"));
    let first = text.find("The passenger ferry").expect("body");
    let photos = text
        .find("The photographs on this page")
        .unwrap_or_else(|| panic!("hidden marked paragraph missing: {text}"));
    let fares = text.find("Fares remain").expect("body");
    assert!(intro < first, "intro before the body: {text}");
    assert!(photos < fares, "marked paragraph at its place: {text}");
}

#[test]
fn without_markers_hidden_text_stays_unread() {
    // The same page with the attributes renamed: the hidden paragraphs are not read and the
    // skip paragraph is, so the assertions above cannot pass by accident.
    let page = PAGE
        .replace("data-audioby-only", "data-x")
        .replace("data-audioby-skip", "data-y")
        .replace("audioby-skip", "caption-box");
    let text = extract_html(&page, &ExtractOptions::default())
        .expect("extracts")
        .spoken_lines()
        .join("\n");
    assert!(!text.contains("You are listening"), "{text}");
    assert!(!text.contains("The photographs on this page"), "{text}");
    assert!(text.contains("Tap the map"), "{text}");
}

#[test]
fn skip_class_is_configurable() {
    let opts = ExtractOptions {
        skip_class: "no-audio".into(),
        ..Default::default()
    };
    let page = PAGE.replace("audioby-skip\"", "no-audio\"");
    let text = extract_html(&page, &opts)
        .expect("extracts")
        .spoken_lines()
        .join("\n");
    assert!(!text.contains("watch the new ferry"), "{text}");
    assert!(text.contains("Fares remain"), "{text}");
    // Without the class the same box is read; the attribute works whatever the class.
    let plain = PAGE.replace("audioby-skip\"", "ferry-video\"");
    let text = extract_html(&plain, &opts)
        .expect("extracts")
        .spoken_lines()
        .join("\n");
    assert!(text.contains("watch the new ferry"), "{text}");
    assert!(!text.contains("Tap the map"), "{text}");
}

#[test]
fn skip_class_must_be_a_bare_class_name() {
    for bad in ["a b", "x, p", "[hidden]", "*"] {
        let opts = ExtractOptions {
            skip_class: bad.to_string(),
            ..Default::default()
        };
        let e = extract_auto(PAGE, &opts).unwrap_err();
        assert_eq!(e.code(), "bad-selector", "{bad}");
    }
    let opts = ExtractOptions {
        skip_class: String::new(),
        ..Default::default()
    };
    let text = spoken(&opts);
    assert!(
        !text.contains("Tap the map"),
        "attribute still honoured: {text}"
    );
}
