//! The embedded default backend: a folder on the local disk (`<data_dir>/store`).
use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;

use super::StoreError;

pub fn open_local(root: &Path) -> Result<Arc<dyn ObjectStore>, StoreError> {
    std::fs::create_dir_all(root)
        .map_err(|e| StoreError::Backend(format!("creating {}: {e}", root.display())))?;
    let swept = sweep_staging_files(root);
    if swept > 0 {
        tracing::info!(files = swept, "removed unfinished writes left by a crash");
    }
    let fs =
        LocalFileSystem::new_with_prefix(root).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(Arc::new(fs.with_automatic_cleanup(true)))
}

/// `LocalFileSystem` stages each write as `<final name>#<n>` and renames it into place; a
/// crash between the two leaves the staging file. None is ever under a final name, but they
/// are swept at startup so nothing partial stays in the store at all.
fn sweep_staging_files(root: &Path) -> usize {
    let mut removed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if entry.file_name().to_string_lossy().contains('#')
                && std::fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}
