//! `POST /v1/synthesize`: text in, audio out, whole or streamed sentence by sentence.
use std::io::{Cursor, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiError, ApiJson, AppState};
use crate::audio::{encoder, AudioFormat, EncodingWriter};
use crate::synth::{synthesize_reader, SynthError};
use crate::tts::SynthSettings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthesizeRequest {
    pub text: Option<String>,
    pub ssml: Option<String>,
    pub voice: Option<String>,
    pub format: Option<String>,
    pub speed: Option<f32>,
    pub speaker: Option<String>,
    #[serde(default)]
    pub stream: bool,
}

/// A validated request: parse once at the edge.
struct Validated {
    text: String,
    format: AudioFormat,
    settings: SynthSettings,
}

fn validate(req: SynthesizeRequest, max_chars: usize) -> Result<Validated, ApiError> {
    let format = match req.format.as_deref() {
        None => AudioFormat::Mp3,
        Some(f) => f.parse().map_err(|e: crate::audio::AudioError| ApiError::bad_request(e.code(), e.to_string()))?,
    };
    if req.ssml.is_some() {
        return Err(ApiError::bad_request("ssml-unsupported", "SSML input is not available yet; send `text`"));
    }
    let text = req.text.ok_or_else(|| ApiError::bad_request("missing-text", "the request needs `text`"))?;
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text-too-long",
            format!("text is {chars} characters; the limit is {max_chars}"),
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("empty-text", "the text is empty: nothing to speak"));
    }
    let settings = SynthSettings::new(req.speed.unwrap_or(1.0), req.speaker)?;
    Ok(Validated { text, format, settings })
}

pub async fn synthesize(State(state): State<AppState>, ApiJson(req): ApiJson<SynthesizeRequest>) -> Result<Response, ApiError> {
    let voice_name = req.voice.clone();
    let stream = req.stream;
    let v = validate(req, state.settings.http.max_text_chars)?;
    let voice = state.engine.voice(voice_name.as_deref())?;
    if stream {
        stream_audio(state, voice, v).await
    } else {
        whole_audio(state, voice, v).await
    }
}

async fn whole_audio(state: AppState, voice: Arc<crate::tts::LoadedVoice>, v: Validated) -> Result<Response, ApiError> {
    let format = v.format;
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, SynthError> {
        let enc = encoder(format, voice.sample_rate(), &state.settings.audio)?;
        let seg_opts = state.settings.segment_options();
        let (writer, _) = synthesize_reader(
            &voice,
            v.text.as_bytes(),
            Arc::clone(&state.lexicon),
            &v.settings,
            seg_opts,
            || Ok(EncodingWriter::new(enc, Cursor::new(Vec::new()))),
            |_| {},
        )?;
        Ok(writer.finish_seekable()?.into_inner())
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}

/// A `Write` that forwards each buffer to the response body; fails once the client is gone.
struct ChannelWriter(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn stream_audio(state: AppState, voice: Arc<crate::tts::LoadedVoice>, v: Validated) -> Result<Response, ApiError> {
    let format = v.format;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), SynthError>>();
    tokio::task::spawn_blocking(move || {
        let mut first_tx = Some(first_tx);
        let result = (|| -> Result<(), SynthError> {
            let enc = encoder(format, voice.sample_rate(), &state.settings.audio)?;
            let seg_opts = state.settings.segment_options();
            let sender = tx.clone();
            let (writer, _) = synthesize_reader(
                &voice,
                v.text.as_bytes(),
                Arc::clone(&state.lexicon),
                &v.settings,
                seg_opts,
                move || Ok(EncodingWriter::new(enc, ChannelWriter(sender))),
                |_| {
                    if let Some(t) = first_tx.take() {
                        let _ = t.send(Ok(()));
                    }
                },
            )?;
            writer.finish_stream()?;
            Ok(())
        })();
        match (result, first_tx.take()) {
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
    // Errors found before the first sentence is ready still get a proper JSON status.
    first_rx.await.map_err(ApiError::internal)??;
    let body = Body::from_stream(ReceiverStream::new(rx));
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}
