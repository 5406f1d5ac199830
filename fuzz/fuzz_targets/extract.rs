//! Fuzz HTML extraction: any UTF-8 input must give Ok or Err, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = audioby::article::extract::extract_html(s, &Default::default());
    }
});
