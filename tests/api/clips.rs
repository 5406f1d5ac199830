//! Intros, outros and sponsor clips (issue 16, part 3): publisher clips decoded with symphonia
//! (Opus through libopus), resampled, loudness-matched and stitched around the speech; the
//! manifest's timing shifted by them; a bad clip stopping the server at startup; a changed
//! clip re-assembling from cached segments. Clip files are made here with ffmpeg.
use std::path::{Path, PathBuf};

use crate::common;
use crate::loudness::ffmpeg_loudness;
use crate::pipeline::get_bytes;

use audioby::audio::clips::{decode_file, ClipError};
use common::app::*;
use common::*;
use serde_json::{json, Value};

const SHORT: &str = "The council approved the budget on Tuesday. Most of the money goes to \
schools and to the repair of old bridges, which cannot wait.";

/// Make `name` in `dir` with ffmpeg from a lavfi `source`, `secs` long, with extra output
/// arguments (codec, rate, channels).
pub(crate) fn make_clip(dir: &Path, name: &str, source: &str, secs: f64, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = std::process::Command::new("nice")
        .args([
            "-n",
            "19",
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
        ])
        .args(["-f", "lavfi", "-i", source, "-t", &secs.to_string()])
        .args(args)
        .arg(&path)
        .output()
        .expect("ffmpeg runs (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// A stereo 44.1 kHz tone, 1.5 s long, in each supported format.
fn every_format(dir: &Path) -> Vec<(PathBuf, u32)> {
    let tone = "sine=frequency=440:sample_rate=44100";
    let formats: [(&str, &[&str], u32); 5] = [
        (
            "tone.mp3",
            &["-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"],
            44_100,
        ),
        ("tone.wav", &["-ac", "2", "-c:a", "pcm_s16le"], 44_100),
        ("tone.flac", &["-ac", "2", "-c:a", "flac"], 44_100),
        ("tone.ogg", &["-ac", "2", "-c:a", "libvorbis"], 44_100),
        (
            "tone.opus",
            &["-ac", "2", "-c:a", "libopus", "-b:a", "64k"],
            48_000,
        ),
    ];
    formats
        .iter()
        .map(|(name, args, rate)| (make_clip(dir, name, tone, 1.5, args), *rate))
        .collect()
}

#[test]
fn every_clip_format_decodes_through_symphonia_and_broken_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = None;
    for (path, rate) in every_format(dir.path()) {
        let clip = decode_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let what = path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(clip.rate, rate, "{what}");
        assert!(
            (clip.seconds() - 1.5).abs() < 0.03,
            "{what}: {} s decoded",
            clip.seconds()
        );
        // The same tone in every format: the same level as decoded from the first (MP3),
        // within what a lossy codec changes (ffmpeg's sine is 1/8 full scale, -3 dB per
        // channel once made stereo: RMS about 0.06).
        let rms = rms(&clip.samples[clip.samples.len() / 4..clip.samples.len() * 3 / 4]);
        let first = *reference.get_or_insert(rms);
        assert!(rms > 0.03, "{what}: RMS {rms}");
        assert!(
            (rms / first - 1.0).abs() < 0.1,
            "{what}: RMS {rms}, MP3 {first}"
        );

        // Cut in half: refused as truncated, naming the file.
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join(format!("cut-{what}"));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = decode_file(&cut).expect_err(&what);
        assert!(matches!(e, ClipError::Corrupt { .. }), "{what}: {e}");
        assert!(e.to_string().contains(&cut.display().to_string()), "{e}");
    }
    let text = dir.path().join("notes.mp3");
    std::fs::write(&text, "Remember to record the intro again.\n".repeat(50)).unwrap();
    let e = decode_file(&text).unwrap_err();
    assert!(matches!(e, ClipError::Unsupported { .. }), "{e}");
    let e = decode_file(&dir.path().join("missing.wav")).unwrap_err();
    assert!(matches!(e, ClipError::Unreadable { .. }), "{e}");
}

#[test]
fn a_bad_clip_stops_the_server_at_startup_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = make_clip(dir.path(), "good.wav", "sine=frequency=440", 1.0, &[]);
    let bytes = std::fs::read(make_clip(
        dir.path(),
        "whole.flac",
        "sine=frequency=440",
        3.0,
        &[],
    ))
    .unwrap();
    let truncated = dir.path().join("truncated.flac");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let text = dir.path().join("jingle.mp3");
    std::fs::write(&text, "this is not audio\n".repeat(40)).unwrap();
    let missing = dir.path().join("nowhere.ogg");
    for (key, bad, code) in [
        ("AUDIOBY_CLIPS__INTRO", &truncated, "clip-corrupt"),
        ("AUDIOBY_CLIPS__INTRO", &text, "clip-unsupported"),
        (
            "AUDIOBY_CLIPS__SECTIONS__SPORT__INTRO",
            &missing,
            "clip-unreadable",
        ),
        // A feed's own clips are checked at startup too.
        (
            "AUDIOBY_FEEDS__DEFINE__PODCAST__INTRO",
            &text,
            "clip-unsupported",
        ),
        (
            "AUDIOBY_FEEDS__DEFINE__PODCAST__OUTRO",
            &truncated,
            "clip-corrupt",
        ),
    ] {
        let data = tempfile::tempdir().unwrap();
        let out = audioby()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("AUDIOBY_CLIPS__OUTRO", &good)
            .env(key, bad)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}: the server must not start");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{key}: one line on stderr:\n{stderr}");
        assert!(
            lines[0].contains(&format!("[{code}]"))
                && lines[0].contains(&bad.display().to_string()),
            "{key}: {stderr}"
        );
    }
}

/// Clips made for the app tests: a 2 s stereo 44.1 kHz intro (resampled to the voice's
/// 22,050 Hz), a 1 s outro, and the directory they live in.
fn intro_and_outro() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let intro = make_clip(
        dir.path(),
        "intro.flac",
        "sine=frequency=330:sample_rate=44100",
        2.0,
        &["-ac", "2"],
    );
    let outro = make_clip(
        dir.path(),
        "outro.ogg",
        "sine=frequency=550",
        1.0,
        &["-c:a", "libvorbis"],
    );
    (dir, intro, outro)
}

async fn manifest_of(app: &TestApp, id: &str) -> (Value, Value) {
    let audio = app.get_json(&format!("/v1/articles/{id}/audio")).await;
    assert_eq!(audio["status"], "ready", "{audio}");
    let manifest: Value =
        serde_json::from_slice(&get_bytes(app, audio["manifest_url"].as_str().unwrap()).await)
            .unwrap();
    (audio, manifest)
}

#[tokio::test]
async fn an_intro_and_outro_surround_the_speech_and_shift_the_manifest() {
    let (_clips, intro, outro) = intro_and_outro();
    let app = spawn_app_with(|s| {
        s.clips.intro = Some(intro.clone());
        s.clips.outro = Some(outro.clone());
        s.clips.gap_ms = 400;
    })
    .await;
    let job = app
        .put_article_ready("intro", json!({"title": "Budget", "text": SHORT}))
        .await;
    assert_eq!(job["status"], "ready", "{job}");
    let (audio, manifest) = manifest_of(&app, "intro").await;
    let lead = manifest["clips"]["lead"].as_f64().unwrap();
    let tail = manifest["clips"]["tail"].as_f64().unwrap();
    assert!((lead - 2.4).abs() < 0.001, "intro + gap: {lead}");
    assert!((tail - 1.4).abs() < 0.001, "gap + outro: {tail}");
    let segments = manifest["segments"].as_array().unwrap();
    let first = segments[0]["start"].as_f64().unwrap();
    assert!(
        (first - lead).abs() < 0.001,
        "the first sentence starts after the intro: {first}"
    );
    let last = segments.last().unwrap();
    let speech = last["start"].as_f64().unwrap() + last["duration"].as_f64().unwrap() - first;
    let duration = manifest["duration"].as_f64().unwrap();
    assert!(
        (duration - (lead + speech + tail)).abs() < 0.001,
        "{manifest}"
    );
    // The captions carry the shifted times too.
    let vtt =
        String::from_utf8(get_bytes(&app, audio["captions_url"].as_str().unwrap()).await).unwrap();
    assert!(vtt.contains("00:00:02.400 --> "), "{vtt}");

    for format in ["mp3", "opus"] {
        let bytes = get_bytes(&app, audio["formats"][format].as_str().unwrap()).await;
        let d = if format == "opus" {
            decode_opus(&bytes)
        } else {
            decode_symphonia(&bytes, "mp3")
        };
        let expected = 2.0 + 0.4 + speech + 0.4 + 1.0;
        assert!(
            (d.duration() - expected).abs() < 0.05,
            "{format}: decoded {} s, intro + gap + speech + gap + outro = {expected} s",
            d.duration()
        );
        assert_intro_then_gap(&d, format);
    }
}

/// The 2 s intro tone is there, then the 0.4 s gap after it is silent.
pub(crate) fn assert_intro_then_gap(d: &Decoded, what: &str) {
    let at = |t: f64| (t * d.sample_rate as f64) as usize;
    let intro_rms = rms(&d.samples[at(0.3)..at(1.7)]);
    let gap_rms = rms(&d.samples[at(2.08)..at(2.32)]);
    assert!(intro_rms > 0.05, "{what}: intro RMS {intro_rms}");
    assert!(gap_rms < 0.01, "{what}: gap RMS {gap_rms}");
}

#[tokio::test]
async fn a_quiet_and_a_loud_intro_still_meet_the_loudness_target() {
    let dir = tempfile::tempdir().unwrap();
    // A soft chord with a little noise (about -40 LUFS), and a full-scale square wave with
    // noise on top: 6 s each, a large part of the rendition.
    let quiet = make_clip(
        dir.path(),
        "quiet.wav",
        "aevalsrc=0.01*sin(2*PI*220*t)+0.008*sin(2*PI*277*t)+0.006*sin(2*PI*330*t)+0.002*(random(0)-0.5):s=48000",
        6.0,
        &[],
    );
    let loud = make_clip(
        dir.path(),
        "loud.mp3",
        "aevalsrc=0.9*sgn(sin(2*PI*220*t))+0.3*(random(0)-0.5):s=44100",
        6.0,
        &["-c:a", "libmp3lame", "-b:a", "128k"],
    );
    for (name, clip) in [("quiet", quiet), ("loud", loud)] {
        let raw = decode_file(&clip).unwrap();
        let app = spawn_app_with(|s| s.clips.intro = Some(clip.clone())).await;
        let job = app
            .put_article_ready(name, json!({"title": "Budget", "text": SHORT}))
            .await;
        assert_eq!(job["status"], "ready", "{job}");
        let (audio, _) = manifest_of(&app, name).await;
        for format in ["mp3", "opus"] {
            let bytes = get_bytes(&app, audio["formats"][format].as_str().unwrap()).await;
            let path = dir.path().join(format!("{name}-rendition.{format}"));
            std::fs::write(&path, bytes).unwrap();
            let (integrated, peak) = ffmpeg_loudness(&path);
            let (clip_lufs, _) = ffmpeg_loudness(&clip);
            eprintln!(
                "{name} intro ({clip_lufs} LUFS, {:.1} s): {format} {integrated} LUFS, {peak} dBTP",
                raw.seconds()
            );
            assert!(
                (integrated + 16.0).abs() <= 1.0,
                "{name} {format}: {integrated} LUFS"
            );
            assert!(peak <= -1.0, "{name} {format}: true peak {peak} dBTP");
        }
    }
}

/// Open the app's SQLite database read-only: (segment-log entries, renditions' assembly keys).
async fn bookkeeping(data_dir: &Path, id: &str) -> (i64, String) {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("audioby.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (log,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM segment_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (key,): (String,) = sqlx::query_as("SELECT assembly FROM renditions WHERE article_id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (log, key)
}

/// Wait for `id`'s audio to be ready on a server process; returns the audio JSON.
async fn audio_ready(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let url = format!("{base}/v1/articles/{id}/audio");
    let get = || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let v: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            v
        }
    };
    wait_until(&format!("{id} ready"), || {
        let audio = get();
        async move { audio.await["status"] == "ready" }
    })
    .await;
    get().await
}

#[tokio::test]
async fn a_changed_clip_or_target_reassembles_from_cached_segments() {
    let (_clips, intro, outro) = intro_and_outro();
    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let put = |base: &str| {
        client
            .put(format!("{base}/v1/articles/again"))
            .bearer_auth(API_KEY)
            .json(&json!({"title": "Budget", "text": SHORT}))
            .send()
    };
    // 1. No clips: the article is synthesized once.
    let mut server = server::start_server(data.path(), &[("AUDIOBY_DEMO", "false")]);
    assert!(put(&server.base).await.unwrap().status().is_success());
    let first = audio_ready(&client, &server.base, "again").await;
    assert!(server.terminate());
    let (synthesized, key0) = bookkeeping(data.path(), "again").await;
    assert!(synthesized > 0);
    let intro_s = intro.display().to_string();
    let outro_s = outro.display().to_string();
    let mut keys = vec![key0];
    // 2. An intro, then another clip file and another loudness target: each restart
    // re-assembles (the old rendition is not current), and nothing is synthesized again.
    for mut envs in [
        vec![("AUDIOBY_CLIPS__INTRO", intro_s.as_str())],
        vec![
            ("AUDIOBY_CLIPS__INTRO", outro_s.as_str()),
            ("AUDIOBY_AUDIO__LOUDNESS_TARGET", "-19"),
        ],
    ] {
        envs.push(("AUDIOBY_DEMO", "false"));
        let mut server = server::start_server(data.path(), &envs);
        let status: Value = client
            .get(format!("{}/v1/articles/again/audio", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_ne!(
            status["status"], "ready",
            "{envs:?}: the old rendition is not current"
        );
        let audio = audio_ready(&client, &server.base, "again").await;
        assert_ne!(audio["formats"]["mp3"], first["formats"]["mp3"], "{envs:?}");
        let metrics = client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(server.terminate());
        let (log, key) = bookkeeping(data.path(), "again").await;
        assert_eq!(
            log, synthesized,
            "{envs:?}: no segment synthesized again\n{metrics}"
        );
        assert!(!keys.contains(&key), "{envs:?}: a new assembly key");
        keys.push(key);
    }
}

#[tokio::test]
async fn the_live_stream_with_clips_decodes_to_the_final_file() {
    let (_clips, intro, outro) = intro_and_outro();
    let app = spawn_app_with(|s| {
        s.clips.intro = Some(intro.clone());
        s.clips.outro = Some(outro.clone());
    })
    .await;
    app.put_article("live-clips", json!({"title": "Budget", "text": SHORT}))
        .await;
    let r = app
        .client
        .get(app.url("/v1/articles/live-clips/audio/live?format=opus"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A live stream, not a redirect to a file already published.
    let job = r.headers()["x-audioby-job"].to_str().unwrap().to_string();
    let live = r.bytes().await.unwrap().to_vec();
    let done = wait_job(&app.client, &app.base, &job).await;
    assert_eq!(done["status"], "ready", "{done}");
    let (audio, manifest) = manifest_of(&app, "live-clips").await;
    let fin = get_bytes(&app, audio["formats"]["opus"].as_str().unwrap()).await;
    // The live stream pads its first packets (decoders discard the padding): same samples.
    assert_eq!(
        decode_opus(&live).samples,
        decode_opus(&fin).samples,
        "live Opus with clips decodes to the final file's samples"
    );
    // The live side channel's timing is the final manifest's, intro included.
    let m = app
        .get_json("/v1/articles/live-clips/audio/live/manifest")
        .await;
    assert_eq!(m["segments"], manifest["segments"]);
}
