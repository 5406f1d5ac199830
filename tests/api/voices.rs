//! Voices at startup: a voice that loads but cannot speak is skipped with its reason, and the
//! binary finds the voices setup installed from any working directory.
use crate::common;

use audioby::tts::{Engine, EngineOptions, SynthSettings, Utterance, VoiceRegistry};
use common::*;

/// Read a protobuf varint at `*i`.
fn varint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    v
}

/// The fields of one protobuf message in `b[range]`: (field number, wire type, value range
/// for length-delimited fields, varint value otherwise).
fn fields(b: &[u8], range: std::ops::Range<usize>) -> Vec<(u64, u64, std::ops::Range<usize>, u64)> {
    let mut out = Vec::new();
    let mut i = range.start;
    while i < range.end {
        let key = varint(b, &mut i);
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = varint(b, &mut i);
                out.push((field, wire, i..i, v));
            }
            1 => i += 8,
            5 => i += 4,
            2 => {
                let len = varint(b, &mut i) as usize;
                out.push((field, wire, i..i + len, 0));
                i += len;
            }
            w => panic!("unexpected wire type {w} at {i}"),
        }
    }
    out
}

/// Overwrite every float initializer of an ONNX model (ModelProto.graph = 7,
/// GraphProto.initializer = 5, TensorProto.data_type = 2 (1 = FLOAT), raw_data = 9) with NaN,
/// in place: what a corrupted or badly exported voice looks like to ONNX Runtime.
fn poison_weights(model: &mut [u8]) -> usize {
    let mut poisoned = 0;
    let top = fields(model, 0..model.len());
    for (f, w, graph, _) in top {
        if (f, w) != (7, 2) {
            continue;
        }
        for (f, w, tensor, _) in fields(model, graph) {
            if (f, w) != (5, 2) {
                continue;
            }
            let tf = fields(model, tensor);
            let is_float = tf.iter().any(|(f, w, _, v)| (*f, *w, *v) == (2, 0, 1));
            if let Some((_, _, raw, _)) = tf.iter().find(|(f, w, _, _)| (*f, *w) == (9, 2)) {
                if is_float && raw.len() >= 4 {
                    for chunk in model[raw.clone()].chunks_exact_mut(4) {
                        chunk.copy_from_slice(&f32::NAN.to_le_bytes());
                    }
                    poisoned += 1;
                }
            }
        }
    }
    poisoned
}

#[test]
fn a_voice_with_nan_weights_is_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let voices = repo().join("voices");
    let mut model = std::fs::read(voices.join("en_US-joe-medium.onnx")).unwrap();
    let n = poison_weights(&mut model);
    assert!(n > 50, "only {n} float initializers found");
    std::fs::write(dir.path().join("en_US-broken-medium.onnx"), &model).unwrap();
    std::fs::copy(
        voices.join("en_US-joe-medium.onnx.json"),
        dir.path().join("en_US-broken-medium.onnx.json"),
    )
    .unwrap();
    // The good voice beside it still loads.
    std::os::unix::fs::symlink(
        voices.join("en_US-joe-medium.onnx"),
        dir.path().join("en_US-joe-medium.onnx"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        voices.join("en_US-joe-medium.onnx.json"),
        dir.path().join("en_US-joe-medium.onnx.json"),
    )
    .unwrap();
    let reg = VoiceRegistry::scan(dir.path());
    assert_eq!(reg.voices.len(), 2, "both pairs are well-formed files");
    let (engine, problems) = Engine::load(&reg, &EngineOptions::default(), None).unwrap();
    let ids: Vec<String> = engine.voices().map(|v| v.id.clone()).collect();
    assert_eq!(ids, vec!["en_US-joe-medium".to_string()]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let reason = problems[0].to_string();
    assert!(
        reason.contains("en_US-broken-medium") && reason.contains("probe"),
        "{reason}"
    );
}

/// `./voices` is relative to the working directory; setup also links the voices into the
/// user's data folder, which is searched after it.
#[test]
fn the_binary_finds_setup_voices_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    // Without the user data folder: no voice in ./voices of a foreign directory.
    let out = run(
        audioby()
            .current_dir(elsewhere.path())
            .env("XDG_DATA_HOME", xdg.path())
            .env_remove("AUDIOBY_VOICES_DIR")
            .arg("voices"),
        None,
    );
    assert!(!out.status.success(), "no voices anywhere: {out:?}");
    // What setup does: link the voices under $XDG_DATA_HOME/audioby/voices.
    let user_voices = xdg.path().join("audioby/voices");
    std::fs::create_dir_all(&user_voices).unwrap();
    for f in ["en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"] {
        std::os::unix::fs::symlink(repo().join("voices").join(f), user_voices.join(f)).unwrap();
    }
    let out = run(
        audioby()
            .current_dir(elsewhere.path())
            .env("XDG_DATA_HOME", xdg.path())
            .env_remove("AUDIOBY_VOICES_DIR")
            .arg("voices"),
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("en_US-joe-medium"), "{stdout}");
}

/// The session cache (`[engine] session_cache`): the first load saves the voice's cut, and a
/// load whose hint points at the wrong entry (a voice file rewritten in place with the same
/// length and time) still ends with the file's real hash, so segment cache keys stay right,
/// and still speaks.
#[test]
fn a_wrong_session_cache_hint_is_caught_by_the_hash() {
    use audioby::tts::session_cache::SessionCache;
    let voices = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("voices");
    let reg = VoiceRegistry::scan(&voices);
    let root = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        session_cache_dir: Some(root.path().to_path_buf()),
        ..EngineOptions::default()
    };
    let (engine, _) = Engine::load(&reg, &opts, None).unwrap();
    let voice = engine.voice(None).unwrap();
    let hash = voice.model_hash().to_string();
    let model = voice.info().model_path.clone();
    drop(voice);
    drop(engine);
    let entry = SessionCache::new(root.path(), &hash);
    assert!(entry.load().is_some(), "the first load saved the cut");
    let (hinted, hinted_hash) =
        SessionCache::hint(root.path(), &model).expect("the first load left a hint");
    assert_eq!(
        (hinted.dir(), hinted_hash.as_str()),
        (entry.dir(), hash.as_str())
    );

    // Make the hint lie: another hash, whose entry is a copy of the real one.
    let wrong = "0".repeat(64);
    let fake = SessionCache::new(root.path(), &wrong);
    std::fs::create_dir_all(fake.dir()).unwrap();
    for f in ["encoder.onnx", "decoder.onnx", "split.json"] {
        std::fs::copy(entry.dir().join(f), fake.dir().join(f)).unwrap();
    }
    SessionCache::remember(root.path(), &model, &wrong).unwrap();
    assert_eq!(SessionCache::hint(root.path(), &model).unwrap().1, wrong);

    let (engine, _) = Engine::load(&reg, &opts, None).unwrap();
    let voice = engine.voice(None).unwrap();
    assert_eq!(
        voice.model_hash(),
        hash,
        "the real hash, not the hinted one"
    );
    assert_eq!(
        SessionCache::hint(root.path(), &model).unwrap().1,
        hash,
        "the hint is corrected"
    );
    let mut samples = 0;
    voice
        .synthesize(
            [Utterance {
                text: "Still speaking.".into(),
                rate: 1.0,
                pause_after_ms: 0,
            }],
            &SynthSettings::default(),
            |a| {
                samples += a.samples.len();
                Ok(())
            },
        )
        .unwrap();
    assert!(samples > 10_000, "{samples} samples");
}
