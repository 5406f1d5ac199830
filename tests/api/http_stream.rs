//! Streaming synthesis: the first chunk reaches the client before synthesis of the whole text
//! has ended, shown by event order: when the first chunk is in the client's hands, fewer
//! sentences have been submitted to the engine than the text has. A server that buffered the
//! whole audio could only send after submitting all of them. The app runs on an engine of
//! its own, so the engine's counter counts this request alone.
use crate::common;

use std::sync::atomic::Ordering;

use common::app::*;
use common::*;
use serde_json::json;

const TEN_SENTENCES: &str = "The council met on Monday. It approved the new budget. \
    Roads will be repaired in spring. Schools get new roofs. The library stays open late. \
    Parks will have more lights. Buses will run every ten minutes. Taxes stay the same. \
    The mayor thanked the staff. The next meeting is in June.";

#[tokio::test]
async fn first_chunk_arrives_before_the_whole_text_is_synthesized() {
    let engine = own_engine();
    let app = spawn_app_on(engine.clone(), |_| {}).await;
    let voice = engine.voice(None).unwrap();
    for format in ["opus", "mp3", "wav"] {
        let before = voice.stats.segments.load(Ordering::SeqCst);
        let mut r = app
            .synthesize(json!({"text": TEN_SENTENCES, "format": format, "stream": true}))
            .await;
        assert_eq!(r.status(), 200, "{format}");
        assert!(
            r.headers().get("content-length").is_none(),
            "{format}: a stream has no length"
        );
        let first = r.chunk().await.unwrap().expect("a first chunk");
        let submitted_at_first_chunk = voice.stats.segments.load(Ordering::SeqCst) - before;
        let mut all = first.to_vec();
        while let Some(c) = r.chunk().await.unwrap() {
            all.extend_from_slice(&c);
        }
        let submitted = voice.stats.segments.load(Ordering::SeqCst) - before;
        assert_eq!(submitted, 10, "{format}: one inference per sentence");
        assert!(
            submitted_at_first_chunk < submitted,
            "{format}: the first chunk came only after all {submitted} sentences were submitted"
        );
        let d = match format {
            "opus" => decode_opus(&all),
            "mp3" => decode_symphonia(&all, "mp3"),
            _ => {
                // The streaming WAV header: RIFF and data sizes unknown (0xFFFFFFFF), which
                // browsers and ffmpeg accept; the samples follow the 44-byte header.
                assert_eq!(&all[..4], b"RIFF");
                assert_eq!(&all[4..8], &[0xFF; 4]);
                assert_eq!(&all[36..40], b"data");
                assert_eq!(&all[40..44], &[0xFF; 4]);
                let rate = u32::from_le_bytes([all[24], all[25], all[26], all[27]]);
                let samples = all[44..]
                    .chunks(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                    .collect();
                Decoded {
                    samples,
                    sample_rate: rate,
                }
            }
        };
        assert!(
            d.duration() > 15.0 && d.rms() > 0.02,
            "{format}: {} s",
            d.duration()
        );
        eprintln!("{format}: first chunk after {submitted_at_first_chunk} of {submitted} sentences; {:.1} s of audio", d.duration());
    }
}
