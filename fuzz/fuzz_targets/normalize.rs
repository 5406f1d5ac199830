//! Fuzz text normalization: any UTF-8 line must normalize without a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = audioby::text::normalize::normalize(s);
    }
});
