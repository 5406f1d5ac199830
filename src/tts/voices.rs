//! The voice registry: scans a folder for Piper voices (`NAME.onnx` + `NAME.onnx.json`),
//! validates each pair and describes it. Nothing is loaded into ONNX Runtime here; a bad
//! voice is reported and skipped so the others still serve.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a client sees of a voice (`audioby voices`, `GET /v1/voices`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoiceInfo {
    /// The file stem, e.g. `en_US-joe-medium`.
    pub id: String,
    /// Short alias: the name part of `lang-name-quality`, e.g. `joe`.
    pub alias: Option<String>,
    pub language: String,
    pub sample_rate: u32,
    pub quality: Option<String>,
    /// Speaker names of a multi-speaker model, in id order; empty for one speaker.
    pub speakers: Vec<String>,
    /// The espeak-ng voice used for phonemization.
    pub espeak_voice: String,
    #[serde(skip)]
    pub model_path: PathBuf,
    #[serde(skip)]
    pub config_path: PathBuf,
}

/// A voice that was found but cannot be used, and why.
#[derive(Debug, Clone)]
pub struct VoiceProblem {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct VoiceRegistry {
    pub dir: PathBuf,
    pub voices: Vec<VoiceInfo>,
    pub problems: Vec<VoiceProblem>,
}

#[derive(Deserialize)]
struct RawConfig {
    audio: RawAudio,
    espeak: Option<RawEspeak>,
    language: Option<RawLanguage>,
    #[serde(default)]
    num_speakers: u32,
    #[serde(default)]
    speaker_id_map: BTreeMap<String, i64>,
    #[serde(default)]
    phoneme_id_map: BTreeMap<String, serde_json::Value>,
}
#[derive(Deserialize)]
struct RawAudio {
    sample_rate: u32,
    quality: Option<String>,
}
#[derive(Deserialize)]
struct RawEspeak {
    voice: String,
}
#[derive(Deserialize)]
struct RawLanguage {
    code: Option<String>,
}

/// Smallest plausible ONNX model: anything smaller is a truncated download.
const MIN_MODEL_BYTES: u64 = 1024;

/// The voices folder in the user's data directory, `$XDG_DATA_HOME/audioby/voices` (or
/// `~/.local/share/audioby/voices`): setup links the voices it fetched there, so the binary
/// finds them when run from any directory.
pub fn user_voices_dir() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/share")
        }
    };
    Some(data.join("audioby/voices"))
}

impl VoiceRegistry {
    /// Scan `primary` (the configured folder), then the user's voices folder
    /// ([`user_voices_dir`]) when it exists. A voice found in both is taken from `primary`.
    pub fn scan_with_user_dir(primary: &Path) -> VoiceRegistry {
        let mut reg = VoiceRegistry::scan(primary);
        let Some(user) = user_voices_dir().filter(|u| u.is_dir() && u != primary) else {
            return reg;
        };
        let more = VoiceRegistry::scan(&user);
        for v in more.voices {
            if !reg.voices.iter().any(|have| have.id == v.id) {
                reg.voices.push(v);
            }
        }
        reg.problems.extend(more.problems);
        // Without voices in the configured folder, a missing `./voices` is no problem worth
        // a warning once the user folder has some.
        if !reg.voices.is_empty() {
            reg.problems
                .retain(|p| !(p.path == primary && p.reason.starts_with("cannot read folder")));
        }
        reg.dir = if reg.voices.is_empty() {
            PathBuf::from(format!("{} or {}", primary.display(), user.display()))
        } else {
            primary.to_path_buf()
        };
        reg
    }

    /// Scan `dir`. Problems are collected, not fatal; an unreadable folder is one problem.
    pub fn scan(dir: &Path) -> VoiceRegistry {
        let mut reg = VoiceRegistry {
            dir: dir.to_path_buf(),
            ..Default::default()
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                reg.problems.push(VoiceProblem {
                    path: dir.to_path_buf(),
                    reason: format!("cannot read folder: {e}"),
                });
                return reg;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in &paths {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(stem) = name.strip_suffix(".onnx") {
                match describe(stem, path) {
                    Ok(info) => reg.voices.push(info),
                    Err(reason) => reg.problems.push(VoiceProblem {
                        path: path.clone(),
                        reason,
                    }),
                }
            } else if let Some(model) = name.strip_suffix(".onnx.json") {
                if !dir.join(format!("{model}.onnx")).exists() {
                    reg.problems.push(VoiceProblem {
                        path: path.clone(),
                        reason: format!("config without a model: {model}.onnx is missing"),
                    });
                }
            }
        }
        reg
    }

    /// Find a voice by id or alias (case-insensitive).
    pub fn find(&self, name: &str) -> Option<&VoiceInfo> {
        let name = name.trim();
        self.voices
            .iter()
            .find(|v| v.id.eq_ignore_ascii_case(name))
            .or_else(|| {
                self.voices.iter().find(|v| {
                    v.alias
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(name))
                })
            })
    }
}

fn describe(stem: &str, model_path: &Path) -> Result<VoiceInfo, String> {
    let config_path = model_path.with_file_name(format!("{stem}.onnx.json"));
    let meta = std::fs::metadata(model_path).map_err(|e| format!("cannot read model: {e}"))?;
    if meta.len() < MIN_MODEL_BYTES {
        return Err(format!(
            "model is only {} bytes: truncated or corrupt",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(&config_path).map_err(|e| {
        format!(
            "missing or unreadable config {}: {e}",
            config_path.display()
        )
    })?;
    let raw: RawConfig = serde_json::from_str(&text)
        .map_err(|e| format!("invalid config {}: {e}", config_path.display()))?;
    if raw.phoneme_id_map.is_empty() {
        return Err("config has no phoneme_id_map: not a Piper voice config".into());
    }
    if raw.audio.sample_rate < 8_000 || raw.audio.sample_rate > 96_000 {
        return Err(format!("implausible sample rate {}", raw.audio.sample_rate));
    }
    let espeak_voice = raw
        .espeak
        .map(|e| e.voice)
        .ok_or("config has no espeak.voice")?;
    let mut speakers: Vec<(i64, String)> = raw
        .speaker_id_map
        .into_iter()
        .map(|(k, v)| (v, k))
        .collect();
    speakers.sort();
    if raw.num_speakers > 1 && speakers.is_empty() {
        speakers = (0..raw.num_speakers as i64)
            .map(|i| (i, i.to_string()))
            .collect();
    }
    let parts: Vec<&str> = stem.split('-').collect();
    let (alias, quality) = match parts.as_slice() {
        [_, name, quality] => (Some(name.to_string()), Some(quality.to_string())),
        _ => (None, None),
    };
    let language = raw
        .language
        .and_then(|l| l.code)
        .unwrap_or_else(|| parts.first().unwrap_or(&"").to_string());
    Ok(VoiceInfo {
        id: stem.to_string(),
        alias,
        language,
        sample_rate: raw.audio.sample_rate,
        quality: raw.audio.quality.or(quality),
        speakers: speakers.into_iter().map(|(_, n)| n).collect(),
        espeak_voice,
        model_path: model_path.to_path_buf(),
        config_path,
    })
}
