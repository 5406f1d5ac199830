//! `POST /v1/synthesize`: text or SSML in, audio out, whole or streamed sentence by sentence.
//! Also the shared machinery ([`Speech`], [`respond`]) behind the OpenAI-compatible route:
//! synthesis runs on a blocking thread; a streamed body starts as soon as the first sentence
//! is encoded, and errors found before that still get a JSON status.
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use tempfile::SpooledData;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::auth::RequireApiKey;
use super::error::ErrorBody;
use super::{ApiError, ApiJson, AppState};
use crate::audio::{encoder, AudioFormat, EncodingWriter, StreamEncoder};
use crate::synth::{push_silence, synthesize_reader, synthesize_segments, SynthError};
use crate::text::Segment;
use crate::tts::{LoadedVoice, SynthSettings, SynthSummary};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynthesizeRequest {
    /// Plain text to speak (exactly one of `text` and `ssml`).
    pub text: Option<String>,
    /// SSML (`<speak>…</speak>`; break, prosody rate, say-as, sub, phoneme, emphasis, p, s).
    pub ssml: Option<String>,
    /// Voice id or alias; default: the server's default voice.
    pub voice: Option<String>,
    /// `mp3` (default), `opus` (Ogg Opus) or `wav`.
    pub format: Option<String>,
    /// Speaking rate, 0.25 to 4.0 (1.0 = natural).
    pub speed: Option<f32>,
    /// Speaker name or id, for multi-speaker voices.
    pub speaker: Option<String>,
    /// Stream the audio sentence by sentence (chunked response).
    #[serde(default)]
    pub stream: bool,
}

/// What to speak: plain text (segmented lazily while synthesizing) or parsed SSML.
pub(super) enum Speech {
    Text(String),
    Ssml {
        segments: Vec<Segment>,
        leading_pause_ms: u32,
    },
}

/// A validated synthesis: parse once at the edge, then [`respond`].
pub(super) struct SpeechJob {
    pub voice: Arc<LoadedVoice>,
    pub speech: Speech,
    pub settings: SynthSettings,
    pub encoder: Box<dyn StreamEncoder>,
    pub content_type: &'static str,
    /// Metrics label: which API asked.
    pub source: &'static str,
}

/// Reject text over the configured limit (413) and text with nothing to say (400).
pub(super) fn check_text(text: &str, max_chars: usize) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text-too-long",
            format!("text is {chars} characters; the limit is {max_chars}"),
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty-text",
            "the text is empty: nothing to speak",
        ));
    }
    Ok(())
}

fn validate(state: &AppState, req: SynthesizeRequest) -> Result<SpeechJob, ApiError> {
    let format = match req.format.as_deref() {
        None => AudioFormat::Mp3,
        Some(f) => f.parse().map_err(|e: crate::audio::AudioError| {
            ApiError::bad_request(e.code(), e.to_string())
        })?,
    };
    let max = state.settings.http.max_text_chars;
    let speech = match (req.text, req.ssml) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "text-and-ssml",
                "send either `text` or `ssml`, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing-text",
                "the request needs `text` or `ssml`",
            ))
        }
        (Some(text), None) => {
            check_text(&text, max)?;
            Speech::Text(text)
        }
        (None, Some(ssml)) => {
            check_text(&ssml, max)?;
            let doc = crate::text::parse_ssml(&ssml, &state.lexicon, &state.settings.text)
                .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
            for w in &doc.warnings {
                tracing::debug!(warning = %w, "ssml");
            }
            Speech::Ssml {
                segments: doc.segments,
                leading_pause_ms: doc.leading_pause_ms,
            }
        }
    };
    let settings = SynthSettings::new(req.speed.unwrap_or(1.0), req.speaker)?;
    let voice = state.engine.voice(req.voice.as_deref())?;
    let encoder =
        encoder(format, voice.sample_rate(), &state.settings.audio).map_err(ApiError::internal)?;
    Ok(SpeechJob {
        voice,
        speech,
        settings,
        encoder,
        content_type: format.content_type(),
        source: "direct",
    })
}

#[utoipa::path(
    post,
    path = "/v1/synthesize",
    tag = "synthesis",
    request_body = SynthesizeRequest,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Audio in the requested format; chunked when `stream` is true", content(("audio/mpeg"), ("audio/ogg; codecs=opus"), ("audio/wav"))),
        (status = 400, description = "Bad input: unknown voice (lists the voices), format, speed, malformed JSON or SSML", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Text over the configured limit", body = ErrorBody),
        (status = 503, description = "`no-synthesis-here`: this process runs with --role api", body = ErrorBody),
    )
)]
pub async fn synthesize(
    _key: RequireApiKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SynthesizeRequest>,
) -> Result<Response, ApiError> {
    let stream = req.stream;
    let job = validate(&state, req)?;
    respond(state, job, stream).await
}

/// Run `job` and answer with the whole audio or a stream.
pub(super) async fn respond(
    state: AppState,
    job: SpeechJob,
    stream: bool,
) -> Result<Response, ApiError> {
    // An `api` process starts no inference sessions (they would take the memory and cores
    // its host gave to serving); direct synthesis belongs on `all` processes (docs/DEPLOY.md).
    if !state.settings.role.works() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-synthesis-here",
            "this process runs with --role api and does not synthesize; send direct synthesis \
             (/v1/synthesize, /v1/audio/speech) to a process with --role all",
        ));
    }
    if stream {
        stream_audio(state, job).await
    } else {
        whole_audio(state, job).await
    }
}

/// Synthesize `speech` into `sink` through `enc`. Blocking.
fn run<W: Write>(
    state: &AppState,
    voice: &LoadedVoice,
    speech: Speech,
    settings: &SynthSettings,
    enc: Box<dyn StreamEncoder>,
    sink: W,
    on_segment: impl FnMut(crate::synth::Progress),
) -> Result<(EncodingWriter<W>, SynthSummary), SynthError> {
    match speech {
        Speech::Text(text) => synthesize_reader(
            voice,
            text.as_bytes(),
            Arc::clone(&state.lexicon),
            settings,
            state.settings.text.clone(),
            || Ok(EncodingWriter::new(enc, sink)),
            on_segment,
        ),
        Speech::Ssml {
            segments,
            leading_pause_ms,
        } => {
            let lead = (leading_pause_ms as u64 * voice.sample_rate() as u64 / 1000) as usize;
            let open = || {
                let mut w = EncodingWriter::new(enc, sink);
                push_silence(&mut w, lead)?;
                Ok(w)
            };
            synthesize_segments(voice, segments, settings, open, on_segment)
        }
    }
}

/// A whole (non-streamed) answer is built in memory up to this size, then in an unlinked
/// temporary file in the data folder, and sent from there: a long WAV (silence is cheap to
/// ask for) never sits whole in memory.
const SPOOL_IN_MEMORY: usize = 1 << 20;

/// Set when the request's future is dropped: hyper drops it when the client goes away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A sink that fails once the request is cancelled, so the synthesis writing into it stops
/// at its next segment instead of running on for a client that is gone.
struct Cancellable<W> {
    inner: W,
    cancelled: Arc<AtomicBool>,
}

impl<W: Write> Write for Cancellable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Acquire) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client went away",
            ));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for Cancellable<W> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

async fn whole_audio(state: AppState, job: SpeechJob) -> Result<Response, ApiError> {
    let SpeechJob {
        voice,
        speech,
        settings,
        encoder,
        content_type,
        source,
    } = job;
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancelled));
    let spool_dir = state.settings.data_dir.clone();
    let spooled = tokio::task::spawn_blocking(move || -> Result<SpooledData, SynthError> {
        let sink = Cancellable {
            inner: tempfile::spooled_tempfile_in(SPOOL_IN_MEMORY, &spool_dir),
            cancelled: Arc::clone(&cancelled),
        };
        let mut segments = 0;
        let result = run(&state, &voice, speech, &settings, encoder, sink, |p| {
            segments = p.segments
        });
        let (writer, summary) = match result {
            Err(e) if cancelled.load(Ordering::Acquire) => {
                tracing::info!(segments, "synthesis stopped: the client went away");
                crate::metrics::record_abandoned_synthesis(source, segments);
                return Err(e);
            }
            other => other?,
        };
        crate::metrics::record_synthesis(source, summary.audio_seconds, summary.inference_seconds);
        let mut file = writer.finish_seekable()?.inner;
        file.rewind().map_err(crate::audio::AudioError::from)?;
        Ok(file.into_inner())
    })
    .await
    .map_err(ApiError::internal)??;
    let body = match spooled {
        SpooledData::InMemory(cursor) => Body::from(cursor.into_inner()),
        SpooledData::OnDisk(file) => file_body(file),
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// A body read from `file` in chunks on a blocking thread; reading stops when the client
/// goes away (the channel closes). The length is known, so it is sent as Content-Length.
fn file_body(mut file: std::fs::File) -> Body {
    use std::io::Read;
    let len = file.metadata().map(|m| m.len()).ok();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || loop {
        let mut chunk = vec![0u8; 64 * 1024];
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        }
    });
    let stream = ReceiverStream::new(rx);
    match len {
        Some(len) => Body::new(SizedBody {
            inner: Body::from_stream(stream),
            len,
        }),
        None => Body::from_stream(stream),
    }
}

/// A streamed body whose exact length is known, so hyper sends `Content-Length`.
struct SizedBody {
    inner: Body,
    len: u64,
}

impl hyper::body::Body for SizedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

/// Fired once, with the first bytes of audio, or with the error that came before them.
type FirstBytes =
    Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<Result<(), SynthError>>>>>;

fn take_first(first: &FirstBytes) -> Option<tokio::sync::oneshot::Sender<Result<(), SynthError>>> {
    first.lock().ok().and_then(|mut g| g.take())
}

/// A `Write` that forwards each buffer to the response body; fails once the client is gone.
/// The response head is sent on the first write, not on a later event: the channel is
/// bounded, so waiting longer (e.g. past a long SSML break) could fill it and deadlock.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    first: FirstBytes,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        if let Some(t) = take_first(&self.first) {
            let _ = t.send(Ok(()));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn stream_audio(state: AppState, job: SpeechJob) -> Result<Response, ApiError> {
    let SpeechJob {
        voice,
        speech,
        settings,
        encoder,
        content_type,
        source,
    } = job;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), SynthError>>();
    let first: FirstBytes = Arc::new(std::sync::Mutex::new(Some(first_tx)));
    tokio::task::spawn_blocking(move || {
        let sink = ChannelWriter {
            tx: tx.clone(),
            first: Arc::clone(&first),
        };
        let result = (|| -> Result<(), SynthError> {
            let (writer, summary) = run(&state, &voice, speech, &settings, encoder, sink, |_| {})?;
            writer.finish_stream()?;
            crate::metrics::record_synthesis(
                source,
                summary.audio_seconds,
                summary.inference_seconds,
            );
            Ok(())
        })();
        match (result, take_first(&first)) {
            (Err(e), Some(t)) => {
                let _ = t.send(Err(e));
            }
            (Err(e), None) => {
                tracing::warn!(error = %e, "stream ended early");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
            (Ok(()), Some(t)) => {
                let _ = t.send(Ok(()));
            }
            (Ok(()), None) => {}
        }
    });
    // Errors found before the first audio bytes still get a proper JSON status.
    first_rx.await.map_err(ApiError::internal)??;
    let body = Body::from_stream(ReceiverStream::new(rx));
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
