//! The optimized encoder, kept on disk between runs (`[engine] session_cache`).
//!
//! Building the encoder's ONNX Runtime session is the slowest step of loading a voice: about
//! 0.35-0.5 s on this machine, nearly all of it graph optimization (layout changes for the
//! NCHWc kernels, fusions, constant folding), while a session of the already-optimized graph
//! builds in about 0.1 s and runs at the same speed. So the first load of a voice saves what
//! ONNX Runtime made of it, together with the decoder half of the cut, and later loads start
//! from that.
//!
//! The folder is named by everything the saved graph depends on: the voice file's sha256,
//! the ONNX Runtime build (its build string carries the release and commit), this crate's
//! cut ([`CUT_VERSION`]) and the CPU features the NCHWc layout was chosen for. A different
//! anything is a different folder, never a stale graph; storing an entry removes the ones it
//! replaces (same voice and machine, older cut or ONNX Runtime). Files are written under temporary
//! names and renamed, `split.json` last, so a crash leaves no half-written entry that counts;
//! an entry that fails to load is rebuilt and rewritten.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::graph::SplitModel;

/// Bumped whenever [`super::graph::split_voice`] changes what it produces.
/// v2: the decoder is saved as ONNX Runtime optimized it, rewritten by
/// [`super::blocked::keep_blocked`] when that gave the same samples. v3: the encoder's
/// convolutions are 2-D too. v4: the decoder's context is measured at the cut (fewer
/// frames than the graph's bound).
const CUT_VERSION: &str = "audioby-cut-v4";

/// What a cached entry says about the cut (the [`SplitModel`] fields besides the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutShape {
    pub planar: bool,
    pub decoder_takes_speaker: bool,
    pub hop: usize,
    pub context: usize,
    /// The decoder is ONNX Runtime's optimized graph with its element-wise ops kept in the
    /// blocked layout (built with optimization off); otherwise the plain cut.
    #[serde(default)]
    pub blocked: bool,
}

impl From<&SplitModel> for CutShape {
    fn from(s: &SplitModel) -> Self {
        CutShape {
            planar: s.planar,
            decoder_takes_speaker: s.decoder_takes_speaker,
            hop: s.hop,
            context: s.context,
            blocked: false,
        }
    }
}

/// A cached cut read back: the optimized encoder graph's file (ONNX Runtime loads a file
/// faster than the same bytes from memory: 0.16 vs 0.25 s here), the decoder graph, and
/// their shape.
pub struct CachedCut {
    pub encoder: PathBuf,
    pub decoder: Vec<u8>,
    pub shape: CutShape,
}

/// One voice's entry in the session cache.
#[derive(Debug, Clone)]
pub struct SessionCache {
    dir: PathBuf,
    /// What the entry's `owner` file says: the voice file's hash and the CPU features. An
    /// entry with the same owner under another name was made by another cut version or ONNX
    /// Runtime build for this voice on this machine, and is removed when this one is stored.
    owner: String,
}

/// The file in each entry naming its voice and machine ([`SessionCache::store`]).
const OWNER: &str = "owner";

impl SessionCache {
    /// The entry for the voice whose model file hashes to `model_hash`, under `root`.
    pub fn new(root: &Path, model_hash: &str) -> SessionCache {
        let cpu = cpu_features();
        let mut h = Sha256::new();
        for part in [CUT_VERSION, model_hash, ort::info(), &cpu] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        SessionCache {
            dir: root.join(hex::encode(&h.finalize()[..16])),
            owner: format!("{model_hash}\n{cpu}\n"),
        }
    }

    /// The entry an earlier load used for the voice file at `model`, if the file looks
    /// unchanged since (same path, length and modification time), with the file's hash as it
    /// was then. A hint only: the caller still hashes the file, and must not use what it
    /// built from the hinted entry if the hash differs. It lets the voice's sessions start
    /// from the cache while the file is read and hashed on another thread.
    pub fn hint(root: &Path, model: &Path) -> Option<(SessionCache, String)> {
        let hash = std::fs::read_to_string(root.join("files").join(file_key(model)?)).ok()?;
        let hash = hash.trim();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| (SessionCache::new(root, hash), hash.to_string()))
    }

    /// Record `hash` as the hash of the voice file at `model`, for [`Self::hint`].
    pub fn remember(root: &Path, model: &Path, hash: &str) -> std::io::Result<()> {
        let Some(key) = file_key(model) else {
            return Ok(());
        };
        let path = root.join("files").join(key);
        if std::fs::read_to_string(&path).is_ok_and(|h| h.trim() == hash) {
            return Ok(());
        }
        std::fs::create_dir_all(root.join("files"))?;
        write_atomic(&path, hash.as_bytes())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry, if it is complete. Any read problem counts as a miss.
    pub fn load(&self) -> Option<CachedCut> {
        let shape = std::fs::read(self.dir.join("split.json")).ok()?;
        let shape: CutShape = serde_json::from_slice(&shape).ok()?;
        let encoder = self.dir.join("encoder.onnx");
        if !encoder.is_file() {
            return None;
        }
        let decoder = std::fs::read(self.dir.join("decoder.onnx")).ok()?;
        Some(CachedCut {
            encoder,
            decoder,
            shape,
        })
    }

    /// Where ONNX Runtime should write the optimized encoder while its session is built: a
    /// temporary name in the entry's folder (created here), renamed by [`Self::store`].
    pub fn encoder_scratch(&self) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        self.remove_stale_scratch();
        Ok(self
            .dir
            .join(format!(".encoder.{}.part", std::process::id())))
    }

    /// Complete the entry: the optimized encoder ONNX Runtime wrote to `scratch`, the decoder
    /// bytes and the shape. The shape file goes last: it is what makes the entry count. Then
    /// the entries this one replaces are removed ([`Self::remove_replaced`]); their number
    /// is returned.
    pub fn store(&self, scratch: &Path, decoder: &[u8], shape: CutShape) -> std::io::Result<usize> {
        let result = (|| {
            std::fs::rename(scratch, self.dir.join("encoder.onnx"))?;
            write_atomic(&self.dir.join("decoder.onnx"), decoder)?;
            write_atomic(&self.dir.join(OWNER), self.owner.as_bytes())?;
            let json = serde_json::to_vec(&shape).map_err(std::io::Error::other)?;
            write_atomic(&self.dir.join("split.json"), &json)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(scratch);
        }
        result.map(|()| self.remove_replaced())
    }

    /// Remove the entries this one replaces: those of the same voice on the same machine
    /// (same `owner`) made by another cut version or ONNX Runtime build, and those without an
    /// `owner` file, which only cut versions before v4 wrote. Each is 60-65 MB for a
    /// medium voice, and nothing would ever read it again. Other voices' entries stay.
    fn remove_replaced(&self) -> usize {
        let Some(root) = self.dir.parent() else {
            return 0;
        };
        let Ok(entries) = std::fs::read_dir(root) else {
            return 0;
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let path = e.path();
            let is_entry = e.file_type().is_ok_and(|t| t.is_dir())
                && path.join("encoder.onnx").exists()
                && path != self.dir;
            if !is_entry {
                continue;
            }
            let replaced = match std::fs::read_to_string(path.join(OWNER)) {
                Ok(owner) => owner == self.owner,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
            if replaced && std::fs::remove_dir_all(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Delete temporary files that a process killed while writing this entry left behind
    /// (their names carry the writer's pid; a live writer's files are kept).
    fn remove_stale_scratch(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".part") else {
                continue;
            };
            let pid = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Forget the entry (it failed to load): the next load rebuilds it.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(self.dir.join("split.json"));
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.part", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A voice file's identity without reading it: its absolute path, length and modification
/// time (nanoseconds).
fn file_key(model: &Path) -> Option<String> {
    let path = std::fs::canonicalize(model).ok()?;
    let meta = std::fs::metadata(&path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let mut h = Sha256::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(meta.len().to_le_bytes());
    h.update(mtime.to_le_bytes());
    Some(hex::encode(&h.finalize()[..16]))
}

/// The CPU features ONNX Runtime's kernels and NCHWc block size depend on.
fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = String::from("x86_64");
        for (name, on) in [
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            (
                "avx512vnni",
                std::arch::is_x86_feature_detected!("avx512vnni"),
            ),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avxvnni", std::arch::is_x86_feature_detected!("avxvnni")),
        ] {
            if on {
                f.push(' ');
                f.push_str(name);
            }
        }
        f
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_counts_only_once_complete_and_is_named_by_the_voice() {
        let root = tempfile::tempdir().unwrap();
        let a = SessionCache::new(root.path(), "aaaa");
        assert_ne!(a.dir(), SessionCache::new(root.path(), "bbbb").dir());
        assert_eq!(a.dir(), SessionCache::new(root.path(), "aaaa").dir());
        assert!(a.load().is_none(), "empty cache");
        // What a writer killed mid-way leaves (pid 0 is never a live process's): cleared.
        std::fs::create_dir_all(a.dir()).unwrap();
        std::fs::write(a.dir().join(".encoder.0.part"), b"half").unwrap();
        let scratch = a.encoder_scratch().unwrap();
        assert!(
            !a.dir().join(".encoder.0.part").exists(),
            "stale scratch removed"
        );
        std::fs::write(&scratch, b"optimized encoder").unwrap();
        assert!(a.load().is_none(), "a scratch file is not an entry");
        let shape = CutShape {
            planar: true,
            decoder_takes_speaker: false,
            hop: 256,
            context: 13,
            blocked: true,
        };
        assert_eq!(a.store(&scratch, b"decoder", shape).unwrap(), 0);
        let got = a.load().expect("complete entry");
        assert_eq!(std::fs::read(got.encoder).unwrap(), b"optimized encoder");
        assert_eq!(got.decoder, b"decoder");
        assert_eq!(got.shape, shape);
        assert!(!scratch.exists());
        let names: Vec<_> = std::fs::read_dir(a.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".part")), "{names:?}");
        a.remove();
        assert!(a.load().is_none(), "removed");
    }

    #[test]
    fn a_hint_follows_the_voice_file_until_it_changes() {
        let root = tempfile::tempdir().unwrap();
        let voice = root.path().join("v.onnx");
        std::fs::write(&voice, b"one").unwrap();
        assert!(
            SessionCache::hint(root.path(), &voice).is_none(),
            "nothing remembered"
        );
        let hash = "ab".repeat(32);
        SessionCache::remember(root.path(), &voice, &hash).unwrap();
        let (entry, got) = SessionCache::hint(root.path(), &voice).expect("remembered");
        assert_eq!(got, hash);
        assert_eq!(entry.dir(), SessionCache::new(root.path(), &hash).dir());
        // A rewrite changes the length: no hint (the mtime alone may not move on a fast
        // filesystem, which is why the caller always checks the hash too).
        std::fs::write(&voice, b"other").unwrap();
        assert!(SessionCache::hint(root.path(), &voice).is_none());
    }

    /// Storing an entry removes what it replaces (the same voice's entries of other cut
    /// versions, and old entries without an owner) and keeps other voices' entries.
    #[test]
    fn a_stored_entry_replaces_older_cuts_of_its_voice_only() {
        let root = tempfile::tempdir().unwrap();
        let entry = |name: &str, owner: Option<&str>| {
            let dir = root.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("encoder.onnx"), b"e").unwrap();
            if let Some(o) = owner {
                std::fs::write(dir.join(OWNER), o).unwrap();
            }
            dir
        };
        let ours = SessionCache::new(root.path(), "aaaa");
        let older_cut = entry("0ld", Some(&ours.owner));
        let before_owners = entry("v3", None);
        let other_voice = entry("0ther", Some(&SessionCache::new(root.path(), "bbbb").owner));
        let files = root.path().join("files");
        std::fs::create_dir_all(&files).unwrap();

        let scratch = ours.encoder_scratch().unwrap();
        std::fs::write(&scratch, b"optimized encoder").unwrap();
        let shape = CutShape {
            planar: true,
            decoder_takes_speaker: false,
            hop: 256,
            context: 10,
            blocked: true,
        };
        assert_eq!(ours.store(&scratch, b"decoder", shape).unwrap(), 2);
        assert!(!older_cut.exists() && !before_owners.exists());
        assert!(other_voice.exists() && files.exists());
        assert!(ours.load().is_some());
    }
}
