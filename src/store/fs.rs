//! The embedded default backend: a folder on the local disk (`<data_dir>/store`).
use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;

use super::StoreError;

pub fn open_local(root: &Path) -> Result<Arc<dyn ObjectStore>, StoreError> {
    std::fs::create_dir_all(root).map_err(|e| StoreError::Backend(format!("creating {}: {e}", root.display())))?;
    let fs = LocalFileSystem::new_with_prefix(root).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(Arc::new(fs.with_automatic_cleanup(true)))
}
