//! Cache eviction: keeps cached segment audio under `[cache] max_segment_bytes` by removing
//! the least recently used segments that no current article version uses. Published article
//! audio, manifests and captions are never evicted.
use super::{Pipeline, PipelineError};
use crate::store::{ObjectKey, ObjectKind};

/// Candidates read from the repository per round.
const EVICTION_BATCH: u32 = 256;

impl Pipeline {
    /// Evict segments until the cache is under budget (or nothing evictable is left); returns
    /// how many were evicted. Runs after every job.
    pub async fn enforce_cache_budget(&self) -> Result<u64, PipelineError> {
        let budget = self.settings.cache.max_segment_bytes;
        if budget == 0 {
            return Ok(0);
        }
        let mut total = self.queue.segment_bytes().await?;
        let mut evicted = 0;
        while total > budget {
            let candidates = self.queue.eviction_candidates(EVICTION_BATCH).await?;
            if candidates.is_empty() {
                break; // everything left is in use by current articles
            }
            let mut gone = Vec::new();
            let mut objects = Vec::new();
            for (key, bytes) in candidates {
                if total <= budget {
                    break;
                }
                if let Ok(hash) = crate::store::parse_hash(&key) {
                    objects.push(ObjectKey::new(hash, ObjectKind::Pcm));
                }
                total = total.saturating_sub(bytes);
                evicted += 1;
                gone.push(key);
            }
            // One batch per round: on S3 a single DeleteObjects request instead of one
            // request per segment. Only segment keys are built here, never a rendition's.
            self.store.remove_many(&objects).await?;
            self.queue.forget_segments(&gone).await?;
        }
        if evicted > 0 {
            tracing::info!(
                segments = evicted,
                bytes_left = total,
                "evicted cached segments over the budget"
            );
        }
        Ok(evicted)
    }
}
