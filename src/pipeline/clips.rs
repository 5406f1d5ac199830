//! The publisher's clips in a rendition (`[clips]`, decoded at startup by
//! `audio::clips::ClipLibrary`): which clips an article gets (its section's, or the defaults),
//! laid out with their gaps around the speech ([`Bookends`], placed by the `Joiner`), and the
//! assembly key that makes a rendition current.
//!
//! A feed with clips of its own (`[feeds.define.NAME]` intro / outro / sponsors) lists a
//! rendition of its own of each article: the same segments with that feed's clips, assembled
//! in the article's job and stored as a rendition under the voice key
//! [`feed_voice_key`]`(voice, feed)`. The web player keeps the article's own.
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
use crate::audio::clips::{ClipLibrary, ClipSet, SponsorPosition};
use crate::audio::loudness::LoudnessTarget;
use crate::audio::AudioError;
use crate::queue::{Failure, JobState, Priority, Rendition};
use crate::tts::LoadedVoice;

/// Bumped when the way renditions are assembled changes the sound (the leveler, the
/// calibration): every rendition then re-assembles once, from cached segments.
const ASSEMBLY_VERSION: &str = "audioby-assembly-v2";

/// The voice key a feed's own rendition is stored under in the renditions table: the voice
/// ID, `/feed/`, the feed's name. A voice ID is a file name, so it never holds a `/`: no
/// voice and feed pair can take another's key, nor a real voice's.
pub fn feed_voice_key(voice: &str, feed: &str) -> String {
    format!("{voice}/feed/{feed}")
}

/// The clips `set` names, with their gaps, at `rate` and `level` (see
/// [`ClipLibrary::prepare`]): intro, gap, [sponsor, gap]… before the first sentence; [gap,
/// sponsor]…, gap, outro after the last (sponsors where `sponsor_position` says).
pub(super) fn lay_out(
    library: &ClipLibrary,
    set: &ClipSet,
    rate: u32,
    level: Option<(f64, LoudnessTarget)>,
) -> Result<Bookends, AudioError> {
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
    /// The clips `article` gets in `feed`'s rendition (None: its own rendition, the web
    /// player's): the feed's overrides on top of the section's or default clips.
    fn clip_set(&self, article: &ArticleRecord, feed: Option<&str>) -> ClipSet {
        let library = &self.settings.clips;
        let section = article.meta.section.as_deref();
        feed.and_then(|f| library.feed_set(f, section))
            .unwrap_or_else(|| library.set_for(section))
    }

    /// The clips `article` gets, at `voice`'s rate and the speech's loudness, in its own
    /// rendition (`feed` None) or in `feed`'s. CPU work the first time per clip and rate:
    /// call it off the async runtime.
    pub(super) fn bookends(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
        feed: Option<&str>,
    ) -> Result<Bookends, Failure> {
        lay_out(
            &self.settings.clips,
            &self.clip_set(article, feed),
            voice.sample_rate(),
            self.clip_level(),
        )
        .map_err(retry)
    }

    /// Everything besides the segments that shapes `article`'s rendition (its own, or
    /// `feed`'s): the loudness settings and method, and its clips (file hashes), gap and
    /// sponsor position.
    pub(super) fn assembly_key(&self, article: &ArticleRecord, feed: Option<&str>) -> String {
        let audio = &self.settings.audio;
        let library = &self.settings.clips;
        let set = self.clip_set(article, feed);
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
        self.current_variant(article, &voice.info().id, None).await
    }

    /// The current rendition of `article` in `voice` for `feed` (None: the article's own).
    pub(super) async fn current_variant(
        &self,
        article: &ArticleRecord,
        voice: &str,
        feed: Option<&str>,
    ) -> Result<Option<Rendition>, PipelineError> {
        let key = match feed {
            Some(f) => feed_voice_key(voice, f),
            None => voice.to_string(),
        };
        let found = self
            .articles
            .rendition(&article.id, &article.content_hash, &key)
            .await?;
        let current = self.assembly_key(article, feed);
        Ok(found.filter(|r| r.assembly == current))
    }

    /// The feeds with clips of their own that list `article` in `voice` (its feed voice, the
    /// one feeds use): their renditions are made with the article's.
    pub(super) fn feeds_listing(
        &self,
        article: &ArticleRecord,
        voice: &LoadedVoice,
    ) -> Vec<String> {
        let feed_voice = self.voice_for(None, article).map(|v| v.info().id.clone());
        if feed_voice.ok().as_deref() != Some(voice.info().id.as_str()) {
            return Vec::new();
        }
        self.settings
            .clips
            .feeds_with_clips()
            .filter(|name| {
                self.settings
                    .feeds
                    .feed(name)
                    .is_some_and(|f| f.matches(article))
            })
            .map(str::to_string)
            .collect()
    }

    /// What podcast feed `feed` lists for `article`: the current rendition in the article's
    /// feed voice, the feed's own one when the feed has clips of its own. Never a rendition
    /// made with other settings (its clips, or its length, are not what the feed promises):
    /// when the article has audio but not this one (the settings changed, the feed is new),
    /// a prefetch job is queued that re-assembles it from cached segments, so the item
    /// appears within seconds; the request does not wait for it.
    pub async fn feed_audio(
        &self,
        article: &ArticleRecord,
        feed: &str,
    ) -> Result<FeedAudio, PipelineError> {
        let Ok(voice) = self.voice_for(None, article) else {
            return Ok(FeedAudio::None);
        };
        let variant = self.settings.clips.feed_has_clips(feed).then_some(feed);
        if let Some(r) = self
            .current_variant(article, &voice.info().id, variant)
            .await?
        {
            return Ok(FeedAudio::Ready(Box::new(r)));
        }
        // Only an article that was made once (any settings) is re-made from here: one that
        // never had audio is not the feed's to start, and one whose last job for this
        // version failed is not retried on every poll (a listener's request still does).
        let made_once = self
            .articles
            .rendition(&article.id, &article.content_hash, &voice.info().id)
            .await?
            .is_some();
        if !made_once {
            return Ok(FeedAudio::None);
        }
        let failed =
            self.queue.latest_job(&article.id).await?.is_some_and(|j| {
                j.state == JobState::Failed && j.content_hash == article.content_hash
            });
        if !failed {
            let formats = super::default_formats();
            if let Err(e) = self
                .enqueue(article, &voice, Priority::Prefetch, false, &formats)
                .await
            {
                tracing::warn!(article = %article.id, feed, error = %e, "queuing a re-assembly for a feed failed");
            }
        }
        Ok(FeedAudio::Remaking)
    }
}

/// Where an article stands for a podcast feed ([`Pipeline::feed_audio`]).
#[derive(Debug, Clone)]
pub enum FeedAudio {
    /// Listed: the current rendition the feed encloses.
    Ready(Box<Rendition>),
    /// The article has audio, but none current for this feed: left out while it is
    /// re-assembled (queued). It still takes its place among the feed's newest items, so the
    /// feed does not reach back to older articles meanwhile.
    Remaking,
    /// No audio in the article's feed voice (yet).
    None,
}
