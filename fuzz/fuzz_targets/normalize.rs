//! Fuzz text normalization: any UTF-8 line normalizes without a panic or a hang, the same way
//! twice, and the output holds only speakable characters outside `[[ ... ]]` phoneme spans
//! (the contract `normalize` documents and the synthesizer relies on).
#![no_main]
use audioby::text::normalize::{allowed_char, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let out = normalize(s);
    assert_eq!(out, normalize(s), "not deterministic");
    let mut rest = out.as_str();
    while !rest.is_empty() {
        let (plain, next) = match rest.find("[[") {
            Some(a) => match rest[a + 2..].find("]]") {
                Some(b) => (&rest[..a], &rest[a + 2 + b + 2..]),
                None => (rest, ""),
            },
            None => (rest, ""),
        };
        if let Some(c) = plain.chars().find(|&c| !allowed_char(c)) {
            panic!("unspeakable {c:?} in {out:?}");
        }
        rest = next;
    }
});
