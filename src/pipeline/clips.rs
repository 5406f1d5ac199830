//! The publisher's clips in a rendition (`[clips]`, decoded at startup by
//! `audio::clips::ClipLibrary`): which clips an article gets (its section's, or the defaults),
//! laid out with their gaps around the speech ([`Bookends`], placed by the `Joiner`), and the
//! assembly key that makes a rendition current.
//!
//! A rendition is current when it was assembled from the article's version, in its voice,
//! *with the assembly settings in force now*: loudness target, clips (by file content) and
//! gaps. The key is stored with the rendition; a different one makes the next request
//! re-assemble the article from its cached segments, without synthesizing anything.
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::assembly::Bookends;
use super::synthesis::retry;
use super::{Pipeline, PipelineError};
use crate::article::ArticleRecord;
use crate::audio::clips::{ClipLibrary, SponsorPosition};
use crate::audio::loudness::LoudnessTarget;
use crate::audio::AudioError;
use crate::queue::{Failure, Rendition};
use crate::tts::LoadedVoice;

/// Bumped when the way renditions are assembled changes the sound (the leveler, the
/// calibration): every rendition then re-assembles once, from cached segments.
const ASSEMBLY_VERSION: &str = "audioby-assembly-v2";

/// The clips an article in `section` gets, with their gaps, at `rate` and `level` (see
/// [`ClipLibrary::prepare`]): intro, gap, [sponsor, gap]… before the first sentence; [gap,
/// sponsor]…, gap, outro after the last (sponsors where `sponsor_position` says).
pub(super) fn lay_out(
    library: &ClipLibrary,
    section: Option<&str>,
    rate: u32,
    level: Option<(f64, LoudnessTarget)>,
) -> Result<Bookends, AudioError> {
    let set = library.set_for(section);
    let clip = |p: &std::path::Path| library.prepare(p, rate, level);
    let gap = vec![0.0f32; (library.settings().gap_ms as u64 * rate as u64 / 1000) as usize];
    let position = library.settings().sponsor_position;
    let mut lead = Vec::new();
    let mut tail = Vec::new();
    if let Some(p) = &set.intro {
        lead.extend_from_slice(&clip(p)?);
        lead.extend_from_slice(&gap);
    }
    for p in &set.sponsors {
        let pcm = clip(p)?;
        if position == SponsorPosition::Start {
            lead.extend_from_slice(&pcm);
            lead.extend_from_slice(&gap);
        } else {
            tail.extend_from_slice(&gap);
            tail.extend_from_slice(&pcm);
        }
    }
    if let Some(p) = &set.outro {
        tail.extend_from_slice(&gap);
        tail.extend_from_slice(&clip(p)?);
    }
    Ok(Bookends {
        lead: Arc::new(lead),
        tail: Arc::new(tail),
    })
}

impl Pipeline {
    /// The clips `article` gets, at `voice`'s rate and the speech's loudness. CPU work the
    /// first time per clip and rate: call it off the async runtime.
    pub(super) fn bookends(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
    ) -> Result<Bookends, Failure> {
        lay_out(
            &self.settings.clips,
            article.meta.section.as_deref(),
            voice.sample_rate(),
            self.clip_level(),
        )
        .map_err(retry)
    }

    /// Everything besides the segments that shapes `article`'s rendition: the loudness
    /// settings and method, and its clips (file hashes), gap and sponsor position.
    pub(super) fn assembly_key(&self, article: &ArticleRecord) -> String {
        let audio = &self.settings.audio;
        let library = &self.settings.clips;
        let set = library.set_for(article.meta.section.as_deref());
        let hash = |p: &std::path::Path| library.hash(p).unwrap_or("missing").to_string();
        let mut parts = vec![
            ASSEMBLY_VERSION.to_string(),
            format!(
                "{}/{}/{}",
                audio.normalize, audio.loudness_target, audio.true_peak_max
            ),
            format!(
                "gap {} {:?}",
                library.settings().gap_ms,
                library.settings().sponsor_position
            ),
            format!(
                "intro {}",
                set.intro.as_deref().map(hash).unwrap_or_default()
            ),
            format!(
                "outro {}",
                set.outro.as_deref().map(hash).unwrap_or_default()
            ),
        ];
        parts.extend(set.sponsors.iter().map(|p| format!("sponsor {}", hash(p))));
        let mut h = Sha256::new();
        for part in &parts {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(&h.finalize()[..16])
    }

    /// The published rendition of `article` in `voice`, if it is current (same version and
    /// same assembly settings; see the module docs).
    pub(super) async fn current_rendition(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
    ) -> Result<Option<Rendition>, PipelineError> {
        let found = self
            .articles
            .rendition(&article.id, &article.content_hash, &voice.info().id)
            .await?;
        let key = self.assembly_key(article);
        Ok(found.filter(|r| r.assembly == key))
    }
}
