//! `audioby migrate-store`: copy every object from one store backend to another (a local
//! folder to an S3 bucket, or back), so switching `[store] kind` afterwards is one line.
//! Each copy is verified (the destination's length and sha256 equal the source's, and a
//! content-addressed object's bytes hash to its name). Progress is journaled, one stored
//! path per verified copy, so an interrupted run resumes where it stopped; puts are
//! create-only, so even without the journal a re-run is safe.
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::{AudioStore, ObjectKey, ObjectKind, StoreError};

/// How far a migration is.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrationProgress {
    pub total: u64,
    pub done: u64,
    pub bytes: u64,
}

/// What a migration did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MigrationSummary {
    /// Objects in the source store.
    pub total: u64,
    /// Copied and verified by this run.
    pub copied: u64,
    /// Verified by an earlier, interrupted run (in the journal).
    pub resumed: u64,
    /// Bytes copied by this run.
    pub bytes: u64,
    /// Objects that failed, with why (the run goes on with the others).
    pub failed: Vec<(String, String)>,
    /// Objects the database references that the destination does not hold afterwards.
    pub missing: Vec<String>,
}

/// Copy every object of `from` into `to`. `journal` records each verified copy (an
/// append-only text file; kept after success so a re-run is instant). `referenced` are the
/// object names the database needs (current renditions): checked in the destination at the
/// end. `concurrency` copies run at once.
pub async fn migrate(
    from: &AudioStore,
    to: &AudioStore,
    journal: &Path,
    referenced: &[String],
    concurrency: usize,
    mut on_progress: impl FnMut(MigrationProgress),
) -> Result<MigrationSummary, StoreError> {
    let done: HashSet<String> = match std::fs::read_to_string(journal) {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashSet::new(),
        Err(e) => {
            return Err(StoreError::Backend(format!(
                "reading {}: {e}",
                journal.display()
            )))
        }
    };
    let mut objects: Vec<(ObjectKey, u64)> = from.list("audio").try_collect().await?;
    objects.extend(from.list("segments").try_collect::<Vec<_>>().await?);
    let mut summary = MigrationSummary {
        total: objects.len() as u64,
        ..Default::default()
    };
    let todo: Vec<(ObjectKey, u64)> = objects
        .into_iter()
        .filter(|(k, _)| !done.contains(k.path().as_ref()))
        .collect();
    summary.resumed = summary.total - todo.len() as u64;
    let mut progress = MigrationProgress {
        total: summary.total,
        done: summary.resumed,
        bytes: 0,
    };
    on_progress(progress);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)
        .map_err(|e| StoreError::Backend(format!("opening {}: {e}", journal.display())))?;
    let mut copies = futures::stream::iter(todo)
        .map(|(key, len)| async move { (key, copy_one(from, to, &key, len).await) })
        .buffer_unordered(concurrency.max(1));
    while let Some((key, result)) = copies.next().await {
        match result {
            Ok(bytes) => {
                // One write call per line: a killed run loses at most the copies in flight,
                // which the next run verifies again.
                writeln!(log, "{}", key.path()).map_err(|e| {
                    StoreError::Backend(format!("writing {}: {e}", journal.display()))
                })?;
                summary.copied += 1;
                summary.bytes += bytes;
                progress.bytes += bytes;
            }
            Err(e) => summary.failed.push((key.path().to_string(), e.to_string())),
        }
        progress.done += 1;
        on_progress(progress);
    }
    for name in referenced {
        let present = match ObjectKey::parse_file_name(name) {
            Ok(key) => to.exists(&key).await?,
            Err(_) => false,
        };
        if !present {
            summary.missing.push(name.clone());
        }
    }
    Ok(summary)
}

/// Copy one object and verify it; returns its length.
async fn copy_one(
    from: &AudioStore,
    to: &AudioStore,
    key: &ObjectKey,
    len: u64,
) -> Result<u64, StoreError> {
    let bytes = from.get_bytes(key).await?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    if bytes.len() as u64 != len {
        return Err(StoreError::Backend(format!(
            "the source changed while copying ({len} bytes listed, {} read)",
            bytes.len()
        )));
    }
    // Published objects are named by their hash: a mismatch is a damaged source file, which
    // must not spread.
    if key.kind() != ObjectKind::Pcm && digest != key.hash {
        return Err(StoreError::Backend(
            "the source object's bytes do not match its name (damaged)".into(),
        ));
    }
    to.put_at(key, bytes).await?;
    let copy = to.get_bytes(key).await?;
    if copy.len() as u64 != len || <[u8; 32]>::from(Sha256::digest(&copy)) != digest {
        return Err(StoreError::Backend(format!(
            "the destination holds other bytes ({} bytes) under this name",
            copy.len()
        )));
    }
    Ok(len)
}
