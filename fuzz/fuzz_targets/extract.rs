//! Fuzz extraction: any bytes (invalid UTF-8 included) give an article or an error with a
//! stable code, never a panic or a hang; HTML, Markdown and plain text paths all run. An
//! article never holds an empty block.
#![no_main]
use audioby::article::extract::{extract_auto, extract_bytes, extract_markdown, extract_text};
use libfuzzer_sys::fuzz_target;

fn check(a: &audioby::article::extract::Article) {
    for b in &a.blocks {
        assert!(!b.text.trim().is_empty(), "empty block {b:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = Default::default();
    match extract_bytes(data, &opts) {
        Ok(a) => check(&a),
        Err(e) => assert!(!e.code().is_empty()),
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(a) = extract_auto(s, &opts) {
            check(&a);
        }
        check(&extract_markdown(s));
        check(&extract_text(s));
    }
});
