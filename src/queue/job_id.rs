//! Job IDs: 128 random bits as 32 lowercase hex characters. They are public (the API hands
//! them out and `/v1/jobs/{id}` answers for them), so they must not be guessable: sequential
//! integers let anyone walk `/v1/jobs/1..N` and list every article ID.
use std::fmt;

use serde::{Deserialize, Serialize};

/// Length of a job ID in characters.
pub const JOB_ID_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct JobId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a job ID is {JOB_ID_LEN} lowercase hex characters")]
pub struct InvalidJobId;

impl JobId {
    /// A fresh ID from the operating system's random source.
    pub fn generate() -> JobId {
        let mut raw = [0u8; 16];
        if getrandom::fill(&mut raw).is_err() {
            // No OS randomness (never seen on a supported system): hash what differs between
            // calls instead. Still unique; far less unpredictable, hence the warning.
            use sha2::{Digest, Sha256};
            use std::sync::atomic::{AtomicU64, Ordering};
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            tracing::warn!("no OS randomness: job ID derived from time, process and counter");
            let mut h = Sha256::new();
            h.update(format!(
                "{:?}{}{}",
                std::time::SystemTime::now(),
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            raw.copy_from_slice(&h.finalize()[..16]);
        }
        JobId(hex::encode(raw))
    }

    /// Validate an ID from outside (a URL path, a database row).
    pub fn parse(s: &str) -> Result<JobId, InvalidJobId> {
        let ok = s.len() == JOB_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(JobId(s.to_owned()))
        } else {
            Err(InvalidJobId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JobId {
    type Err = InvalidJobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobId::parse(s)
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        JobId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_valid() {
        let ids: std::collections::HashSet<JobId> = (0..1000).map(|_| JobId::generate()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(JobId::parse(id.as_str()), Ok(id.clone()));
        }
    }

    #[test]
    fn parse_refuses_other_shapes() {
        for bad in [
            "1",
            "",
            &"A".repeat(32),
            &"g".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
        ] {
            assert_eq!(JobId::parse(bad), Err(InvalidJobId), "{bad:?}");
        }
    }
}
