//! The OpenAI-compatible API with the official `openai` Python SDK (installed into
//! `.deps/venv` by `scripts/test-setup`): the script creates speech in every format against
//! the real server; this side decodes every file.
use crate::common;

use std::process::Command;

use common::app::*;
use common::*;

#[tokio::test]
async fn official_python_sdk_creates_speech_in_every_format() {
    let python = repo().join(".deps/venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/test-setup (make test does) to create .deps/venv with the openai package"
    );
    let app = spawn_app().await;
    let out = tempfile::tempdir().unwrap();
    let script = repo().join("tests/python/openai_speech.py");
    let base = app.url("/v1");
    let dir = out.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("OPENAI_BASE_URL", base)
            .env("OPENAI_API_KEY", API_KEY)
            .env("OUT_DIR", dir)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.lines().any(|l| l == "ok"), "{stdout}");

    let read = |name: &str| std::fs::read(out.path().join(name)).unwrap();
    let mp3 = decode_symphonia(&read("speech.mp3"), "mp3");
    let opus = decode_opus(&read("speech.opus"));
    let wav = decode_symphonia(&read("speech.wav"), "wav");
    let pcm_bytes = read("speech.pcm");
    assert_eq!(pcm_bytes.len() % 2, 0);
    let pcm: Vec<f32> = pcm_bytes
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
        .collect();
    let pcm = Decoded {
        samples: pcm,
        sample_rate: 24_000,
    };
    let fast = decode_symphonia(&read("fast.mp3"), "mp3");
    let reference = wav.duration();
    assert!(reference > 2.0, "{reference}");
    // Each request is a separate synthesis and Piper's duration predictor is stochastic, so
    // lengths differ by a few percent between requests (and a streamed MP3 has no LAME tag
    // to trim encoder padding with). A truncated or wrong-rate file would be far off.
    for (name, d) in [("mp3", &mp3), ("opus", &opus), ("pcm", &pcm)] {
        assert!(d.rms() > 0.02, "{name} is silent");
        assert!(
            (d.duration() - reference).abs() < 0.1 * reference,
            "{name}: {} s vs wav {reference} s",
            d.duration()
        );
    }
    // pcm at 22.05 kHz read as 24 kHz would be 8% short; at 48 kHz, half.
    // Pauses between sentences are not scaled by speed, so the whole is less than 1.5× shorter.
    assert!(
        fast.duration() < reference * 0.9,
        "speed 1.5 is faster: {} vs {reference}",
        fast.duration()
    );
}
