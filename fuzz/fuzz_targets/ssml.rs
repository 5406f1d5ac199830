//! Fuzz the SSML parser: any input gives segments or an error with a stable code, never a panic.
#![no_main]
use audioby::text::lexicon::Lexicon;
use audioby::text::ssml::parse_ssml;
use audioby::text::SegmentOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        match parse_ssml(s, &Lexicon::empty(), &SegmentOptions::default()) {
            Ok(doc) => {
                for seg in &doc.segments {
                    assert!(!seg.spoken.trim().is_empty());
                    assert!(seg.rate.is_finite() && seg.rate > 0.0);
                }
            }
            Err(e) => assert!(matches!(
                e.code(),
                "ssml-malformed" | "ssml-too-deep" | "ssml-too-large"
            )),
        }
    }
});
