//! Loudness normalization (issue 16, part 2): renditions measured independently with ffmpeg's
//! `ebur128` filter land on the configured target, under the true-peak limit.
use crate::common;

use common::app::*;
use serde_json::{json, Value};

/// Integrated loudness (LUFS) and true peak (dBTP) of an audio file, by ffmpeg.
pub fn ffmpeg_loudness(path: &std::path::Path) -> (f64, f64) {
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (scripts/setup installs it)");
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = log.rsplit("Summary:").next().unwrap();
    let value = |label: &str| -> f64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` in ffmpeg's summary:\n{log}"))
    };
    (value("I:"), value("Peak:"))
}

async fn get_bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn the_seed_article_meets_the_podcast_loudness_target() {
    let app = spawn_app().await;
    let job = app
        .put_article_ready(
            "loud-seed",
            json!({"title": "Ukraine peace talks", "text": common::seed_article()}),
        )
        .await;
    assert_eq!(job["status"], "ready", "{job}");
    let audio = app.get_json("/v1/articles/loud-seed/audio").await;
    let manifest: Value =
        serde_json::from_slice(&get_bytes(&app, audio["manifest_url"].as_str().unwrap()).await)
            .unwrap();
    let loudness = &manifest["loudness"];
    assert_eq!(loudness["target_lufs"], -16.0, "{loudness}");
    let declared = loudness["integrated_lufs"].as_f64().unwrap();
    assert!((declared + 16.0).abs() <= 1.0, "manifest: {loudness}");
    assert!(
        loudness["true_peak_dbtp"].as_f64().unwrap() <= -1.0,
        "{loudness}"
    );

    let dir = tempfile::tempdir().unwrap();
    for format in ["mp3", "opus"] {
        let bytes = get_bytes(&app, audio["formats"][format].as_str().unwrap()).await;
        let path = dir.path().join(format!("seed.{format}"));
        std::fs::write(&path, bytes).unwrap();
        let (integrated, peak) = ffmpeg_loudness(&path);
        eprintln!("{format}: {integrated} LUFS, {peak} dBTP (manifest {loudness})");
        assert!(
            (integrated + 16.0).abs() <= 1.0,
            "{format}: {integrated} LUFS, target -16"
        );
        assert!(peak <= -1.0, "{format}: true peak {peak} dBTP");
        // The manifest measures the PCM; the codecs' band limit takes about 0.45 LU off
        // the files (src/pipeline/loudness.rs, CODEC_LOSS_LU).
        assert!(
            (integrated - declared).abs() <= 0.75,
            "{format}: ffmpeg {integrated} vs manifest {declared}"
        );
    }
}

#[tokio::test]
async fn a_broadcast_target_is_honoured_and_normalization_can_be_off() {
    for (normalize, target) in [(true, -23.0), (false, -16.0)] {
        let app = spawn_app_with(|s| {
            s.audio.normalize = normalize;
            s.audio.loudness_target = target;
        })
        .await;
        let job = app.put_article_ready("short", json!({"title": "Budget", "text": "The council approved the budget on Tuesday. Most of the money goes to schools and to the repair of old bridges, which cannot wait."})).await;
        assert_eq!(job["status"], "ready", "{job}");
        let audio = app.get_json("/v1/articles/short/audio").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.mp3");
        std::fs::write(
            &path,
            get_bytes(&app, audio["formats"]["mp3"].as_str().unwrap()).await,
        )
        .unwrap();
        let (integrated, peak) = ffmpeg_loudness(&path);
        eprintln!("normalize {normalize}, target {target}: {integrated} LUFS, {peak} dBTP");
        if normalize {
            assert!((integrated - target).abs() <= 1.0, "{integrated} LUFS");
            assert!(peak <= -1.0);
        } else {
            // The voice as it speaks: far quieter than any target (−26 LUFS for joe).
            assert!(
                integrated < -20.0,
                "{integrated} LUFS without normalization"
            );
        }
    }
}
