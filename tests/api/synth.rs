//! Foundation: real voice, real encoders, real decoders. No mocks.
use crate::common;

use std::io::{Cursor, Read, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use audioby::audio::{encoder, AudioFormat, EncoderOptions, EncodingWriter};
use audioby::text::Segment;
use audioby::tts::SynthSettings;
use common::*;

const SENTENCE: &str =
    "The committee approved the new budget after a long debate on Tuesday evening.";

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

fn seg(text: &str) -> Segment {
    Segment {
        spoken: text.to_string(),
        source: text.to_string(),
        block: 0,
        kind: audioby::article::BlockKind::Paragraph,
        pause_after_ms: 250,
        rate: 1.0,
    }
}

#[test]
fn a_sentence_synthesizes_to_plausible_speech() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.wav");
    let o = run(
        audioby()
            .args(["synth", "-q", "-o"])
            .arg(&out)
            .arg(SENTENCE),
        None,
    );
    assert!(
        o.status.success(),
        "synth failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d = decode_symphonia(&std::fs::read(&out).unwrap(), "wav");
    assert_eq!(d.sample_rate, 22_050);
    let per_word = d.duration() / words(SENTENCE) as f64;
    assert!(
        (0.2..=0.6).contains(&per_word),
        "{per_word:.3} s per word ({:.2} s total)",
        d.duration()
    );
    // Speech is tens of dB above silence; a silent or near-silent file fails here.
    assert!(d.rms() > 0.02, "RMS {:.4} is too close to silence", d.rms());
}

/// Synthesize once, encode the same PCM three ways, decode each for real.
#[test]
fn every_format_decodes_and_matches_the_wav_duration() {
    let engine = engine();
    let voice = engine.voice(None).unwrap();
    let text = [
        "Washington and European capitals reported cautious progress on Tuesday.",
        "Officials said several central issues remain open.",
    ];
    let mut pcm = Vec::new();
    voice
        .synthesize(
            text.iter().map(|t| seg(t)),
            &SynthSettings::default(),
            |a| {
                pcm.extend_from_slice(&a.samples);
                pcm.extend(std::iter::repeat_n(0.0, a.pause_samples));
                Ok(())
            },
        )
        .unwrap();
    let rate = voice.sample_rate();
    let pcm_secs = pcm.len() as f64 / rate as f64;
    let mut encoded = std::collections::HashMap::new();
    for format in AudioFormat::ALL {
        let enc = encoder(format, rate, &EncoderOptions::default()).unwrap();
        let mut w = EncodingWriter::new(enc, Cursor::new(Vec::new()));
        // Feed in uneven chunks, as the engine does.
        for chunk in pcm.chunks(3_001) {
            w.push(chunk).unwrap();
        }
        encoded.insert(format, w.finish_seekable().unwrap().into_inner());
    }
    let wav = decode_symphonia(&encoded[&AudioFormat::Wav], "wav");
    assert_eq!(wav.samples.len(), pcm.len(), "WAV keeps every sample");
    assert!((wav.duration() - pcm_secs).abs() < 1e-6);
    let mp3 = decode_symphonia(&encoded[&AudioFormat::Mp3], "mp3");
    let opus = decode_opus(&encoded[&AudioFormat::Opus]);
    for (name, d) in [("mp3", &mp3), ("opus", &opus)] {
        let diff = (d.duration() - wav.duration()).abs();
        assert!(
            diff <= 0.060,
            "{name} lasts {:.3} s, WAV {:.3} s (diff {:.0} ms)",
            d.duration(),
            wav.duration(),
            diff * 1000.0
        );
        assert!(
            d.rms() > 0.02,
            "{name} decodes to near silence (RMS {:.4})",
            d.rms()
        );
    }
    // The Opus file is standard Ogg Opus: opusinfo (Debian's opus-tools) accepts it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.opus");
    std::fs::write(&path, &encoded[&AudioFormat::Opus]).unwrap();
    let info = std::process::Command::new("opusinfo")
        .arg(&path)
        .output()
        .expect("opusinfo is installed by scripts/setup");
    let text =
        String::from_utf8_lossy(&info.stdout).to_string() + &String::from_utf8_lossy(&info.stderr);
    assert!(info.status.success(), "opusinfo failed: {text}");
    assert!(
        !text.contains("WARNING") && !text.contains("ERROR"),
        "opusinfo complains: {text}"
    );
    assert!(text.contains("Original sample rate: 22050"), "{text}");
}

#[test]
fn cli_writes_each_format_atomically_and_it_decodes() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["wav", "opus", "mp3"] {
        let out = dir.path().join(format!("x.{ext}"));
        let o = run(
            audioby()
                .args(["synth", "-q", "-o"])
                .arg(&out)
                .arg(SENTENCE),
            None,
        );
        assert!(
            o.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let d = if ext == "opus" {
            decode_opus(&bytes)
        } else {
            decode_symphonia(&bytes, ext)
        };
        assert!(
            d.duration() > 2.0 && d.rms() > 0.02,
            "{ext}: {:.2} s, rms {:.3}",
            d.duration(),
            d.rms()
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn stdin_is_read_when_no_text_is_given_and_stdout_streams() {
    let o = run(
        audioby().args(["synth", "-q", "--format", "wav", "-o", "-"]),
        Some(SENTENCE.as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = decode_symphonia(&o.stdout, "wav");
    assert!(d.duration() > 2.0 && d.rms() > 0.02);
}

fn assert_cli_error(args: &[&str], stdin: Option<&[u8]>, code: &str, mentions: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let o = run(
        audioby()
            .args(["synth", "-q"])
            .args(args)
            .arg("-o")
            .arg(&out),
        stdin,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(
        err.contains(&format!("[{code}]")),
        "{args:?}: expected code {code}, stderr: {err}"
    );
    for m in mentions {
        assert!(
            err.contains(m),
            "{args:?}: stderr should mention {m:?}: {err}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "{args:?}: no file, not even an empty one"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_no_file() {
    assert_cli_error(&[""], None, "empty-text", &["empty"]);
    assert_cli_error(&["   \n\t  "], None, "empty-text", &["empty"]);
    assert_cli_error(&[], Some(b"   \n\n "), "empty-text", &["empty"]);
    assert_cli_error(
        &[],
        Some(b"Hello there.\n\xff\xfe broken"),
        "invalid-utf8",
        &["UTF-8", "offset 13"],
    );
    assert_cli_error(
        &["--voice", "nobody", "Hi."],
        None,
        "unknown-voice",
        &["nobody", "en_US-joe-medium"],
    );
    assert_cli_error(
        &["--format", "flac", "Hi."],
        None,
        "unknown-format",
        &["flac", "wav, opus, mp3"],
    );
    assert_cli_error(
        &["--speed", "9", "Hi."],
        None,
        "bad-speed",
        &["0.25 to 4.0"],
    );
    assert_cli_error(&["--speed", "0", "Hi."], None, "bad-speed", &[]);
    assert_cli_error(&["--speed", "NaN", "Hi."], None, "bad-speed", &[]);
}

#[test]
fn speed_changes_duration() {
    let engine = engine();
    let voice = engine.voice(Some("joe")).unwrap();
    let dur = |speed: f32| {
        let s = SynthSettings::new(speed, None).unwrap();
        let mut n = 0usize;
        voice
            .synthesize([seg(SENTENCE)], &s, |a| {
                n += a.samples.len();
                Ok(())
            })
            .unwrap();
        n as f64 / voice.sample_rate() as f64
    };
    let (normal, fast) = (dur(1.0), dur(2.0));
    assert!(
        fast < normal * 0.7,
        "speed 2.0 gave {fast:.2} s vs {normal:.2} s at 1.0"
    );
}

/// Peak RSS must not depend on input length: audio streams out sentence by sentence, the
/// decoder runs in windows of a bounded number of frames (src/tts/model.rs), and the encoder's
/// memory is bounded by the segment length cap.
#[test]
fn memory_does_not_grow_with_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_article();
    let once = dir.path().join("once.txt");
    let four = dir.path().join("four.txt");
    std::fs::write(&once, &seed).unwrap();
    std::fs::write(&four, seed.repeat(4)).unwrap();
    let rss = |input: &std::path::Path| {
        let stdin = std::fs::File::open(input).unwrap();
        let mut cmd = audioby();
        cmd.args(["synth", "-q", "--format", "opus", "-o"])
            .arg(dir.path().join("out.opus"));
        let child_stdin: Stdio = stdin.into();
        let (status, kib) = run_measuring_rss(cmd.stdin(child_stdin));
        assert!(status.success());
        kib
    };
    // Which two sentences happen to be in flight together is up to the scheduler, so each
    // size is measured twice and its worst run kept: the peak, not a lucky run.
    let a = rss(&once).max(rss(&once));
    let b = rss(&four).max(rss(&four));
    let ratio = b as f64 / a as f64;
    eprintln!(
        "peak RSS: 1x {} MiB, 4x {} MiB (ratio {ratio:.3})",
        a / 1024,
        b / 1024
    );
    assert!(
        (0.9..=1.1).contains(&ratio),
        "peak RSS 1x {a} KiB vs 4x {b} KiB"
    );
}

/// A 1 MB text starts producing audio while most of it is still unread.
#[test]
fn a_huge_input_streams_without_being_loaded_first() {
    let mut child = audioby()
        .args(["synth", "-q", "--format", "wav", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&written);
    let writer = std::thread::spawn(move || {
        let line = "The council met again on Monday to discuss the plan for the river.\n";
        let total = 1024 * 1024;
        while w.load(Ordering::SeqCst) < total {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
            w.fetch_add(line.len(), Ordering::SeqCst);
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![0u8; 44 + 22_050 * 2]; // header + one second of audio
    stdout.read_exact(&mut got).expect("audio arrives");
    let written_when_audio_arrived = written.load(Ordering::SeqCst);
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    assert_eq!(&got[..4], b"RIFF");
    assert!(
        written_when_audio_arrived < 512 * 1024,
        "audio arrived only after {written_when_audio_arrived} bytes of input were accepted"
    );
}

/// A caller that stops early (a prefetch job yielding to a listener, a cancelled job, a client
/// gone) leaves nothing running for nobody: the sentences it had in flight are skipped or stop
/// between decoder windows, counted by the voice's `abandoned` counter, not timed.
#[tokio::test]
async fn an_early_stop_abandons_the_sentences_in_flight() {
    let engine = own_engine();
    let voice = engine.voice(None).unwrap();
    // Long sentences: several decoder windows each, so even one already running stops early.
    let long = "The council met again on Monday evening to discuss the long-delayed plan for \
        the river crossing, and after three hours of debate the members voted to send the \
        whole proposal back to the planning committee for another year of study.";
    let s = SynthSettings::new(1.0, None).unwrap();
    let sent_before = voice.stats.segments.load(Ordering::Relaxed);
    let err = voice
        .synthesize((0..6).map(|_| seg(long)), &s, |_| {
            Err(audioby::tts::TtsError::Sink("stop after the first".into()))
        })
        .unwrap_err();
    assert!(err.to_string().contains("stop after the first"), "{err}");
    let sent = voice.stats.segments.load(Ordering::Relaxed) - sent_before;
    assert!(sent >= 2, "{sent} sentences were in flight");
    // The sentence behind the first (queued, or started just as the first ended) has nobody
    // waiting for it: it is skipped or stops at its next decoder window.
    wait_until("the sentences in flight to be abandoned", || {
        let abandoned = voice.stats.abandoned.load(Ordering::Relaxed);
        async move { abandoned >= 1 }
    })
    .await;
}
