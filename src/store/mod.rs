//! The content-addressed audio store. Audio, manifests and captions are stored under the
//! sha256 of their content (`audio/<64 hex>.<ext>`), so their URLs never change meaning and
//! can be cached forever. Backends are `object_store` implementations chosen at startup by
//! `[store] kind` ([`StoreSettings`]): `fs`, a local folder (the default), or `s3`, an
//! S3-compatible bucket shared by every host; both behind the same `Arc<dyn ObjectStore>`
//! and the same code path. Writes are atomic and create-only: the local backend writes a
//! temporary file and links it into place, S3 publishes an object only when its PUT (or
//! multipart upload) completes, so a crash never leaves a partial object under its final
//! name, and a second writer of the same key changes nothing.
pub mod contract;
mod fs;
pub mod migrate;
mod s3;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, WriteMultipart,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use fs::open_local;
pub use s3::{open_s3, S3Settings};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object not found")]
    NotFound,
    #[error("invalid object name")]
    InvalidKey,
    #[error("range not satisfiable (object is {len} bytes)")]
    RangeNotSatisfiable { len: u64 },
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// No space left on the device under the store (ENOSPC).
    #[error("no space left for audio: {0}")]
    Full(String),
    /// The store's server cannot be reached or answers with server errors: worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The `[store]` settings are wrong (missing bucket, refused credentials …).
    #[error("{0}")]
    Config(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound => "not-found",
            StoreError::InvalidKey => "invalid-key",
            StoreError::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            StoreError::Backend(_) => "storage-failed",
            StoreError::Full(_) => "storage-full",
            StoreError::Unavailable(_) => "store-unavailable",
            StoreError::Config(_) => "store-config",
        }
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound,
            other if is_out_of_space(&other) => StoreError::Full(other.to_string()),
            // Network failures and server errors of a remote store (after the client's own
            // short retries) come back as Generic; the local backend's I/O errors too.
            object_store::Error::Generic { store, .. } if store != "LocalFileSystem" => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// Whether an error (or any error under it) is the OS saying the disk is full.
fn is_out_of_space(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(libc::ENOSPC)
                || io.kind() == std::io::ErrorKind::StorageFull
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Objects at least this large go up as multipart uploads (S3's part minimum is 5 MiB).
const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Size of each multipart part.
const MULTIPART_PART: usize = 8 * 1024 * 1024;
/// Parts in flight at once per upload.
const MULTIPART_CONCURRENCY: usize = 4;

/// What kind of object a key names; decides the extension and the content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Opus,
    Mp3,
    Wav,
    /// The timing manifest (JSON).
    Json,
    /// WebVTT captions.
    Vtt,
    /// Raw cached segment PCM (internal; not served).
    Pcm,
}

impl ObjectKind {
    pub fn extension(self) -> &'static str {
        match self {
            ObjectKind::Opus => "opus",
            ObjectKind::Mp3 => "mp3",
            ObjectKind::Wav => "wav",
            ObjectKind::Json => "json",
            ObjectKind::Vtt => "vtt",
            ObjectKind::Pcm => "pcm",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ObjectKind::Opus => "audio/ogg; codecs=opus",
            ObjectKind::Mp3 => "audio/mpeg",
            ObjectKind::Wav => "audio/wav",
            ObjectKind::Json => "application/json",
            ObjectKind::Vtt => "text/vtt; charset=utf-8",
            ObjectKind::Pcm => "application/octet-stream",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Pcm => "segments",
            _ => "audio",
        }
    }
}

impl FromStr for ObjectKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "opus" => ObjectKind::Opus,
            "mp3" => ObjectKind::Mp3,
            "wav" => ObjectKind::Wav,
            "json" => ObjectKind::Json,
            "vtt" => ObjectKind::Vtt,
            _ => return Err(StoreError::InvalidKey),
        })
    }
}

impl From<crate::audio::AudioFormat> for ObjectKind {
    fn from(f: crate::audio::AudioFormat) -> Self {
        match f {
            crate::audio::AudioFormat::Opus => ObjectKind::Opus,
            crate::audio::AudioFormat::Mp3 => ObjectKind::Mp3,
            crate::audio::AudioFormat::Wav => ObjectKind::Wav,
        }
    }
}

/// A validated object key: a sha256 (64 lowercase hex chars) and a kind. Never a path a
/// client controls: parsing rejects anything else, so traversal cannot reach the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    hash: [u8; 32],
    kind: ObjectKind,
}

impl ObjectKey {
    pub fn new(hash: [u8; 32], kind: ObjectKind) -> Self {
        Self { hash, kind }
    }

    /// The key of `content` (its sha256).
    pub fn of(content: &[u8], kind: ObjectKind) -> Self {
        Self {
            hash: Sha256::digest(content).into(),
            kind,
        }
    }

    /// Parse a stored file name: a public one, or a cached segment's `<hash>.pcm`.
    pub fn parse_stored_name(name: &str) -> Result<Self, StoreError> {
        match name.strip_suffix(".pcm") {
            Some(hash) => Ok(Self::new(parse_hash(hash)?, ObjectKind::Pcm)),
            None => Self::parse_file_name(name),
        }
    }

    /// Parse a public file name such as `3fa…9c.opus`.
    pub fn parse_file_name(name: &str) -> Result<Self, StoreError> {
        let (hash, ext) = name.rsplit_once('.').ok_or(StoreError::InvalidKey)?;
        let kind: ObjectKind = ext.parse()?;
        Ok(Self {
            hash: parse_hash(hash)?,
            kind,
        })
    }

    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }

    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// `3fa…9c.opus`
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.hash_hex(), self.kind.extension())
    }

    /// The object's path inside the store (`audio/3f/3f…9c.opus`); a bucket prefix comes
    /// before it.
    pub fn path(&self) -> ObjectPath {
        // Two-level fan-out keeps folders small on a local disk.
        let h = self.hash_hex();
        ObjectPath::from(format!(
            "{}/{}/{}",
            self.kind.prefix(),
            &h[..2],
            self.file_name()
        ))
    }
}

pub fn parse_hash(s: &str) -> Result<[u8; 32], StoreError> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(StoreError::InvalidKey);
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| StoreError::InvalidKey)?;
    Ok(out)
}

/// An object's body as a stream of chunks, with its total length and served range.
pub struct ObjectBody {
    pub len: u64,
    pub range: Range<u64>,
    pub stream: BoxStream<'static, Result<Bytes, StoreError>>,
}

/// The audio store: a thin typed layer over any `object_store` backend.
#[derive(Clone)]
pub struct AudioStore {
    inner: Arc<dyn ObjectStore>,
    /// The folder of the local backend, for the read fast path in [`AudioStore::get`].
    local_root: Option<Arc<std::path::PathBuf>>,
    /// A remote store serves objects itself (through a CDN, or to `migrate-store`), so its
    /// objects carry their Content-Type and Cache-Control; the local backend cannot store
    /// attributes.
    remote: bool,
    /// `public_base_url` + the bucket prefix: where listeners fetch objects directly.
    public_base: Option<Arc<str>>,
    /// With `public_base`: signs download links (S3 only).
    presigner: Option<Arc<s3::Presigner>>,
}

impl AudioStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            local_root: None,
            remote: false,
            public_base: None,
            presigner: None,
        }
    }

    /// A remote store (objects carry their HTTP attributes).
    pub fn new_remote(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            remote: true,
            ..Self::new(inner)
        }
    }

    /// Which backend this is, for progress lines and logs: `fs` or `s3`.
    pub fn kind(&self) -> &'static str {
        if self.remote {
            "s3"
        } else {
            "fs"
        }
    }

    /// Where listeners fetch objects without passing through this server, if configured.
    pub fn public_base(&self) -> Option<&str> {
        self.public_base.as_deref()
    }

    /// Store `bytes` under their own hash; returns the key. Idempotent.
    pub async fn put(&self, bytes: Bytes, kind: ObjectKind) -> Result<ObjectKey, StoreError> {
        let key = ObjectKey::of(&bytes, kind);
        self.put_at(&key, bytes).await?;
        Ok(key)
    }

    /// Store `bytes` under a key computed by the caller (e.g. a segment cache key). Keys name
    /// their content, so the put is create-only: when the key exists (another worker or host
    /// wrote it first) nothing changes and the put succeeds. Large objects go up in parts.
    pub async fn put_at(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), StoreError> {
        if bytes.len() >= MULTIPART_THRESHOLD {
            return self.put_multipart(key, bytes).await;
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes: self.attributes(key.kind()),
            ..Default::default()
        };
        match self
            .inner
            .put_opts(&key.path(), PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A multipart upload becomes visible only when it completes; a failed one is aborted
    /// (its parts deleted). S3 has no create-only complete everywhere, so an existing key is
    /// checked first; two racing uploads of one key carry the same bytes, either may win.
    async fn put_multipart(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), StoreError> {
        if self.exists(key).await? {
            return Ok(());
        }
        let opts = PutMultipartOptions {
            attributes: self.attributes(key.kind()),
            ..Default::default()
        };
        let upload = self.inner.put_multipart_opts(&key.path(), opts).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_PART);
        for part in bytes.chunks(MULTIPART_PART) {
            if let Err(e) = writer.wait_for_capacity(MULTIPART_CONCURRENCY).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.put(bytes.slice_ref(part));
        }
        // finish() aborts the upload itself when a part or the completion fails.
        writer.finish().await?;
        Ok(())
    }

    fn attributes(&self, kind: ObjectKind) -> Attributes {
        let mut a = Attributes::new();
        if self.remote {
            a.insert(Attribute::ContentType, kind.content_type().into());
            if kind != ObjectKind::Pcm {
                a.insert(Attribute::CacheControl, IMMUTABLE.into());
            }
        }
        a
    }

    /// Every object under `audio/` or `segments/` with its length (for `migrate-store` and
    /// tests); objects that are not audioby's are skipped.
    pub fn list(
        &self,
        kind_prefix: &'static str,
    ) -> BoxStream<'static, Result<(ObjectKey, u64), StoreError>> {
        let prefix = ObjectPath::from(kind_prefix);
        self.inner
            .list(Some(&prefix))
            .filter_map(|r| async move {
                match r {
                    Ok(meta) => {
                        let name = meta.location.filename()?.to_string();
                        let key = ObjectKey::parse_stored_name(&name).ok()?;
                        Some(Ok((key, meta.size)))
                    }
                    Err(e) => Some(Err(StoreError::from(e))),
                }
            })
            .boxed()
    }

    /// Delete many objects, in the backend's batches (S3: up to 1,000 per request). An
    /// object already gone counts as deleted.
    pub async fn remove_many(&self, keys: &[ObjectKey]) -> Result<(), StoreError> {
        let paths: Vec<object_store::Result<ObjectPath>> =
            keys.iter().map(|k| Ok(k.path())).collect();
        let mut results = self
            .inner
            .delete_stream(futures::stream::iter(paths).boxed());
        while let Some(r) = results.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        match self.inner.head(&key.path()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn len(&self, key: &ObjectKey) -> Result<u64, StoreError> {
        Ok(self.inner.head(&key.path()).await?.size)
    }

    /// Read a whole (small) object: manifests, cached segment PCM.
    pub async fn get_bytes(&self, key: &ObjectKey) -> Result<Bytes, StoreError> {
        Ok(self.inner.get(&key.path()).await?.bytes().await?)
    }

    /// Stream an object, or the byte range `range` of it (end exclusive, already resolved
    /// against the length by the caller). Never reads the whole object into memory.
    pub async fn get(
        &self,
        key: &ObjectKey,
        range: Option<Range<u64>>,
    ) -> Result<ObjectBody, StoreError> {
        if let Some(root) = &self.local_root {
            return local_get(root.join(key.path().as_ref()), range).await;
        }
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.inner.get_opts(&key.path(), opts).await?;
        let len = result.meta.size;
        let range = result.range.clone();
        let stream = match result.payload {
            GetResultPayload::File(file, _) => file_stream(file, range.clone()),
            GetResultPayload::Stream(s) => s.map(|r| r.map_err(StoreError::from)).boxed(),
        };
        Ok(ObjectBody { len, range, stream })
    }

    pub async fn remove(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match self.inner.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Readiness: write (overwrite) one small object, so a full disk or a read-only folder
    /// shows before a job finds it.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let path = ObjectPath::from("health/probe");
        self.inner
            .put(&path, PutPayload::from_static(b"ok"))
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }

    /// The URL listeners fetch a stored object from, by its file name (`<hash>.<ext>`). Every
    /// `/audio/` URL in API answers and CLI output comes from here: today the server's own
    /// `/audio/` route; a backend with a public base URL (S3 behind a CDN) answers its own.
    pub fn url(&self, file_name: &str) -> String {
        match (&self.public_base, ObjectKey::parse_file_name(file_name)) {
            (Some(base), Ok(key)) => format!("{base}/{}", key.path()),
            _ => format!("/audio/{file_name}"),
        }
    }

    /// The direct URL of a served object (with `public_base_url`), for `/audio/` redirects.
    pub fn public_url(&self, key: &ObjectKey) -> Option<String> {
        self.public_base
            .as_ref()
            .map(|base| format!("{base}/{}", key.path()))
    }

    /// In redirect mode (`public_base_url`), where a listener who asked to save `key` as
    /// `name` goes: a presigned GET on the S3 endpoint whose answer carries
    /// `Content-Disposition: attachment; filename="NAME"` (a CDN or public URL cannot be told
    /// to add it). None without redirect mode. `name` must already be a validated save-as
    /// name (`A-Z a-z 0-9 . _ -`).
    pub async fn download_url(
        &self,
        key: &ObjectKey,
        name: &str,
    ) -> Option<Result<String, StoreError>> {
        self.public_base.as_ref()?;
        let presigner = self.presigner.as_ref()?;
        Some(presigner.download_url(&key.path(), name).await)
    }
}

/// What a CDN or a browser may do with an object fetched straight from the bucket: keep it
/// forever, its name is its hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Bytes per blocking read when streaming a local file. `object_store` reads 8 KiB per
/// blocking task, so a typical audio file cost a dozen thread hand-offs; 256 KiB makes it
/// one or two while memory per response stays bounded.
const READ_CHUNK: u64 = 256 * 1024;

fn file_stream(
    file: std::fs::File,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, StoreError>> {
    futures::stream::try_unfold(
        (Arc::new(file), range.start, range.end),
        |(file, pos, end)| async move {
            if pos >= end {
                return Ok(None);
            }
            let n = (end - pos).min(READ_CHUNK);
            let f = Arc::clone(&file);
            let buf = tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; n as usize];
                f.read_exact_at(&mut buf, pos).map(|_| buf)
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .map_err(|e| StoreError::Backend(format!("reading object: {e}")))?;
            Ok(Some((Bytes::from(buf), (file, pos + n, end))))
        },
    )
    .boxed()
}

/// Serving cached files is the hot path. Open, stat and the first read (at most
/// `READ_CHUNK`, which covers a typical article's Opus file) run inline on the async worker:
/// on a local disk with the file in the page cache they take tens of microseconds, less than
/// the two thread hand-offs of a `spawn_blocking`, which were a third of the CPU profile under
/// load (`scripts/bench-http`: 18.6k → 40-54k requests/s). The rest of a larger file streams
/// in `READ_CHUNK` pieces on the blocking pool. Same semantics as the generic path: NotFound,
/// bounded memory. A store on a slow or network disk should use an `object_store` backend.
async fn local_get(
    path: std::path::PathBuf,
    range: Option<Range<u64>>,
) -> Result<ObjectBody, StoreError> {
    let open_and_read = move || -> Result<_, StoreError> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound,
            _ => StoreError::Backend(format!("opening object: {e}")),
        })?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .len();
        let range = match range {
            None => 0..len,
            Some(r) if r.start <= r.end && r.end <= len => r,
            Some(_) => return Err(StoreError::RangeNotSatisfiable { len }),
        };
        let n = (range.end - range.start).min(READ_CHUNK);
        let mut first = vec![0u8; n as usize];
        file.read_exact_at(&mut first, range.start)
            .map_err(|e| StoreError::Backend(format!("reading object: {e}")))?;
        Ok((file, len, range, first))
    };
    let (file, len, range, first) = open_and_read()?;
    let rest_start = range.start + first.len() as u64;
    let head = futures::stream::once(async move { Ok(Bytes::from(first)) });
    let stream = head.chain(file_stream(file, rest_start..range.end)).boxed();
    Ok(ObjectBody { len, range, stream })
}

/// The `[store]` section: which backend holds audio, manifests, captions and cached segments.
/// The `kind` tag picks the backend; an unknown kind is a configuration error naming the
/// known ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StoreSettings {
    /// A folder on the local disk.
    Fs(FsSettings),
    /// An S3-compatible bucket, shared by every host.
    S3(S3Settings),
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings::Fs(FsSettings::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsSettings {
    /// The store's folder. Unset = `<data_dir>/store`.
    pub path: Option<PathBuf>,
}

/// Open the configured backend. `data_dir` places the parts of it that default to the data
/// folder. An S3 store is checked (bucket, credentials) before this returns.
pub async fn open(settings: &StoreSettings, data_dir: &Path) -> Result<AudioStore, StoreError> {
    match settings {
        StoreSettings::Fs(fs) => {
            let root = fs.path.clone().unwrap_or_else(|| data_dir.join("store"));
            let mut store = AudioStore::new(open_local(&root)?);
            store.local_root = Some(Arc::new(root));
            Ok(store)
        }
        StoreSettings::S3(s3) => {
            let (inner, presigner) = s3::open_s3_with_signer(s3).await?;
            let mut store = AudioStore::new_remote(inner);
            store.presigner = Some(Arc::new(presigner));
            store.public_base = s3.public_base_url.as_deref().map(|base| {
                let base = base.trim_end_matches('/');
                match s3.key_prefix() {
                    "" => Arc::from(base),
                    prefix => Arc::from(format!("{base}/{prefix}")),
                }
            });
            Ok(store)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    /// The contract against a fresh local folder.
    async fn fresh_fs() -> contract::Subject {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&StoreSettings::default(), dir.path()).await.unwrap();
        contract::Subject {
            store,
            guard: Box::new(dir),
        }
    }

    mod fs_contract {
        crate::store_contract_tests!(super::fresh_fs);
    }

    fn load(toml: &str) -> Result<Settings, crate::config::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audioby.toml");
        std::fs::write(&path, toml).unwrap();
        Settings::load(Some(&path))
    }

    #[test]
    fn the_store_section_names_the_backend_and_its_folder() {
        let s = load("[store]\nkind = \"fs\"\npath = \"/srv/audio\"\n").unwrap();
        assert_eq!(
            s.store,
            StoreSettings::Fs(FsSettings {
                path: Some("/srv/audio".into())
            })
        );
        let s = load("[store]\npath = \"/srv/audio\"\n").unwrap();
        assert!(
            matches!(s.store, StoreSettings::Fs(ref fs) if fs.path.is_some()),
            "the kind defaults to fs: {:?}",
            s.store
        );
        assert_eq!(load("").unwrap().store, StoreSettings::default());
    }

    #[test]
    fn an_unknown_store_kind_is_a_config_error_naming_the_known_ones() {
        let e = load("[store]\nkind = \"gcs\"\n").unwrap_err().to_string();
        assert!(e.contains("s3") && e.contains("fs"), "{e}");
        assert!(e.contains("store"), "the error names the section: {e}");
    }

    #[tokio::test]
    async fn the_fs_store_lives_in_the_data_folder_unless_a_path_is_given() {
        let data = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let key = ObjectKey::of(b"x", ObjectKind::Json);
        for (settings, root) in [
            (StoreSettings::default(), data.path().join("store")),
            (
                StoreSettings::Fs(FsSettings {
                    path: Some(elsewhere.path().join("objects")),
                }),
                elsewhere.path().join("objects"),
            ),
        ] {
            let store = open(&settings, data.path()).await.unwrap();
            store
                .put(Bytes::from_static(b"x"), ObjectKind::Json)
                .await
                .unwrap();
            assert!(root.join(key.path().as_ref()).is_file(), "{root:?}");
        }
    }
}
