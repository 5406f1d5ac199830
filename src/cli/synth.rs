//! `audioby synth`: text (argument or stdin) to an audio file or stdout, through
//! `synth::synthesize_reader`. A file is written atomically: a temp file beside it, renamed
//! once the audio is complete, so a failed run leaves no file.
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::audio::{encoder, AudioError, AudioFormat, EncodingWriter};
use crate::config::Settings;
use crate::startup::{load_engine, load_lexicon};
use crate::synth::{synthesize_reader, Progress, SynthError};
use crate::text::{Lexicon, SegmentOptions};
use crate::tts::{LoadedVoice, SynthSettings, SynthSummary};

#[derive(Args)]
pub(super) struct SynthArgs {
    /// Voice id or alias (see `audioby voices`). Default: the configured default voice.
    #[arg(long, short)]
    voice: Option<String>,
    /// Output format: wav, opus or mp3. Default: from the -o extension, else mp3.
    #[arg(long, short)]
    format: Option<String>,
    /// Speaking rate: 1.0 is natural, 0.25 to 4.0.
    #[arg(long, short, default_value_t = 1.0)]
    speed: f32,
    /// Speaker name or id, for multi-speaker voices.
    #[arg(long)]
    speaker: Option<String>,
    /// Output file, or - for stdout. Written atomically: a failed run leaves no file.
    #[arg(long, short, value_name = "FILE|-")]
    output: Option<String>,
    /// Inference sessions (default: one per CPU core).
    #[arg(long)]
    sessions: Option<usize>,
    /// Never show a progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Text to speak; - or nothing reads stdin.
    text: Option<String>,
}

/// Where the audio goes.
enum Output {
    Stdout,
    File(PathBuf),
}

impl SynthArgs {
    pub(super) fn run(self, mut settings: Settings) -> anyhow::Result<()> {
        // Validated in this order, before any voice is loaded: speed, format, destination.
        let synth_settings = SynthSettings::new(self.speed, self.speaker)?;
        let output = match self.output {
            Some(path) if path != "-" => Output::File(PathBuf::from(path)),
            _ => Output::Stdout,
        };
        let format: AudioFormat = match (self.format, &output) {
            (Some(f), _) => f.parse()?,
            (None, Output::File(path)) => path
                .extension()
                .and_then(|e| e.to_str())
                .and_then(|e| e.parse().ok())
                .unwrap_or(AudioFormat::Mp3),
            (None, Output::Stdout) => AudioFormat::Mp3,
        };
        if matches!(output, Output::Stdout) && std::io::stdout().is_terminal() {
            anyhow::bail!("refusing to write audio to a terminal: use -o FILE, or redirect stdout");
        }
        if let Some(n) = self.sessions {
            settings.engine.sessions_per_voice = n.max(1);
        }

        // No probe sentence at load: the first real sentence is as good a check
        // (`synthesize_segments` refuses non-finite audio), and it saves a second of
        // inference before the first sentence.
        settings.engine.probe = false;
        let engine = load_engine(&settings)?;
        let voice = engine.voice(self.voice.as_deref())?;
        let lexicon = Arc::new(load_lexicon(&settings)?);
        let enc = encoder(format, voice.sample_rate(), &settings.audio)?;
        let (input, total): (Box<dyn Read>, Option<u64>) = match self.text {
            Some(t) if t != "-" => {
                let n = t.len() as u64;
                (Box::new(std::io::Cursor::new(t.into_bytes())), Some(n))
            }
            _ => (Box::new(std::io::stdin().lock()), None),
        };
        let bar = progress_bar(total, self.quiet);
        let on_progress = |p: Progress| {
            if let Some(b) = &bar {
                b.set_position(p.bytes_read);
                b.set_message(format!(
                    "{} sentences, {:.0} s of audio",
                    p.segments, p.audio_seconds
                ));
            }
        };
        let speech = Speech {
            voice: &voice,
            input,
            lexicon,
            settings: &synth_settings,
            seg_opts: settings.text.clone(),
        };
        let summary = match &output {
            Output::Stdout => {
                let out = std::io::BufWriter::new(std::io::stdout().lock());
                let (w, summary) =
                    speech.write_to(|| Ok(EncodingWriter::new(enc, out)), on_progress)?;
                w.finish_stream()?;
                summary
            }
            Output::File(path) => {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let open = || -> Result<_, SynthError> {
                    let tmp = tempfile::Builder::new()
                        .prefix(".audioby-")
                        .suffix(".part")
                        .tempfile_in(dir)
                        .map_err(AudioError::Io)?;
                    Ok(EncodingWriter::new(enc, std::io::BufWriter::new(tmp)))
                };
                let (w, summary) = speech.write_to(open, on_progress)?;
                let file = w
                    .finish_seekable()?
                    .into_inner()
                    .map_err(|e| e.into_error())?;
                file.as_file().sync_all()?;
                file.persist(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                summary
            }
        };
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        if !self.quiet {
            eprintln!(
                "audioby: {} sentences, {:.1} s of audio ({} / {})",
                summary.segments,
                summary.audio_seconds,
                voice.info().id,
                format
            );
        }
        Ok(())
    }
}

/// One run's input and voice, so both destinations make the same library call.
struct Speech<'a> {
    voice: &'a LoadedVoice,
    input: Box<dyn Read>,
    lexicon: Arc<Lexicon>,
    settings: &'a SynthSettings,
    seg_opts: SegmentOptions,
}

impl Speech<'_> {
    fn write_to<W: Write>(
        self,
        open: impl FnOnce() -> Result<EncodingWriter<W>, SynthError>,
        progress: impl FnMut(Progress),
    ) -> Result<(EncodingWriter<W>, SynthSummary), SynthError> {
        synthesize_reader(
            self.voice,
            self.input,
            self.lexicon,
            self.settings,
            self.seg_opts,
            open,
            progress,
        )
    }
}

/// A progress bar on stderr for long inputs, only when stderr is a terminal.
fn progress_bar(total: Option<u64>, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    match total {
        Some(n) if n < 2_000 => None,
        Some(n) => {
            let b = ProgressBar::new(n);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {percent:>3}% {msg} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            Some(b)
        }
        None => {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({binary_bytes} read, {elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            Some(b)
        }
    }
}
