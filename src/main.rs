//! The `audioby` command line: parses arguments, starts telemetry, calls one library function.
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use audioby::audio::{encoder, AudioFormat, EncodingWriter};
use audioby::config::Settings;
use audioby::startup::{load_engine, load_lexicon, Application};
use audioby::synth::{synthesize_reader, SynthError};
use audioby::tts::{SynthSettings, VoiceRegistry};

/// audioby: self-hosted article audio with local Piper voices.
///
/// Articles go in by ID, a local neural voice reads them, and listeners press play.
/// Configuration is layered: defaults, then audioby.toml, then AUDIOBY_* variables, then flags.
#[derive(Parser)]
#[command(name = "audioby", version, about, long_about)]
struct Cli {
    /// Config file (default: ./audioby.toml if it exists).
    #[arg(long, global = true, env = "AUDIOBY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Voices folder (*.onnx + *.onnx.json pairs).
    #[arg(
        long = "voices",
        global = true,
        env = "AUDIOBY_VOICES_DIR",
        value_name = "DIR"
    )]
    voices_dir: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (default 127.0.0.1:8080).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:80.
        #[arg(long, env = "AUDIOBY_LISTEN", value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Data folder: database, audio cache, generated API key (default ./cache).
        #[arg(long, env = "AUDIOBY_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Synthesize text to an audio file or stdout.
    ///
    /// Reads TEXT, or stdin when no TEXT is given. Audio is written sentence by sentence, so
    /// inputs of any length work in constant memory. Examples:
    ///   audioby synth "Hello world." -o hello.mp3
    ///   audioby synth --format opus -o article.opus < article.txt
    ///   cat article.txt | audioby synth --format wav - > article.wav
    #[command(verbatim_doc_comment)]
    Synth {
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
    },
    /// Normalize text for speech: one line in, exactly one line out (flushed after each).
    ///
    /// Numbers, money, dates, abbreviations, acronyms, URLs and symbols become words:
    ///   echo 'The $1.2bn deal was signed on Nov. 25, 2026.' | audioby normalize
    #[command(verbatim_doc_comment)]
    Normalize,
    /// Extract the spoken text of an article page (HTML, Markdown or plain text).
    ///
    /// Prints the title, then one block per line. Navigation, ads, share buttons, captions,
    /// cookie banners and the page's own audio player are dropped.
    Extract {
        /// Input file, or - (default) for stdin.
        file: Option<PathBuf>,
        /// Print the structured form (title, byline, typed blocks) as JSON.
        #[arg(long)]
        json: bool,
        /// CSS selector to restrict extraction to (repeatable).
        #[arg(long, value_name = "SELECTOR")]
        include: Vec<String>,
        /// CSS selector to drop before extraction (repeatable).
        #[arg(long, value_name = "SELECTOR")]
        exclude: Vec<String>,
    },
    /// Listening events counted per article (play, progress 25/50/75/100 %, speed changes,
    /// errors), as reported by players with the `events` attribute.
    Stats {
        /// Only this article.
        id: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Data folder holding events.json (default ./cache).
        #[arg(long, env = "AUDIOBY_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Prefetch audio for many articles: the nightly job.
    ///
    /// Enqueues the articles, works through them (cooperating with a running server through
    /// the shared queue), shows progress, and ends with a summary. Audio that is already
    /// ready is skipped, so re-runs are cheap. Exit code 1 if any article failed.
    ///   audioby prefetch --ids new-articles.txt
    ///   audioby prefetch --since 2026-11-24 --json >> prefetch.log
    ///   audioby prefetch --feed https://news.example.com/rss.xml
    #[command(verbatim_doc_comment)]
    Prefetch {
        /// File with one article ID per line (# starts a comment); - for stdin.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["since", "feeds"], required_unless_present_any = ["since", "feeds"])]
        ids: Option<PathBuf>,
        /// Every stored article updated since this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE", conflicts_with = "feeds")]
        since: Option<String>,
        /// RSS, Atom or JSON Feed URL (repeatable): every item is stored and prefetched.
        #[arg(long = "feed", value_name = "URL")]
        feeds: Vec<String>,
        /// Articles worked on at once (each already uses every inference session).
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Print the summary as JSON (for cron logs).
        #[arg(long)]
        json: bool,
        /// Data folder shared with the server (default ./cache).
        #[arg(long, env = "AUDIOBY_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Show the queue, or one article's audio status.
    Status {
        /// Article ID; without it, queue totals.
        id: Option<String>,
        /// Data folder shared with the server (default ./cache).
        #[arg(long, env = "AUDIOBY_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// List the voices found in the voices folder: id, language, sample rate, quality, speakers.
    Voices {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match load_settings(&cli) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let format = if cli.log_json {
        "json"
    } else {
        settings.log.format.as_str()
    };
    // The CLI is quiet by default; the server logs at the configured level.
    let level = match cli.command {
        Command::Serve { .. } => settings.log.level.clone(),
        _ => "warn".to_string(),
    };
    audioby::telemetry::init(format, &level);
    let result = match cli.command {
        Command::Serve { .. } => serve(settings),
        Command::Synth {
            voice,
            format,
            speed,
            speaker,
            output,
            sessions,
            quiet,
            text,
        } => synth(
            &settings, voice, format, speed, speaker, output, sessions, quiet, text,
        ),
        Command::Voices { json } => voices(&settings, json),
        Command::Stats { id, json, data_dir } => {
            stats(data_dir.unwrap_or(settings.data_dir.clone()), id, json)
        }
        Command::Normalize => normalize(),
        Command::Prefetch {
            ids,
            since,
            feeds,
            concurrency,
            json,
            ..
        } => prefetch(settings, ids, since, feeds, concurrency, json),
        Command::Status { id, .. } => status(settings, id),
        Command::Extract {
            file,
            json,
            include,
            exclude,
        } => extract(file, json, include, exclude),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    let code = e
        .chain()
        .find_map(|c| {
            c.downcast_ref::<SynthError>()
                .map(|s| s.code())
                .or_else(|| c.downcast_ref::<audioby::tts::TtsError>().map(|t| t.code()))
                .or_else(|| {
                    c.downcast_ref::<audioby::audio::AudioError>()
                        .map(|a| a.code())
                })
                .or_else(|| {
                    c.downcast_ref::<audioby::config::ConfigError>()
                        .map(|_| "config")
                })
                .or_else(|| {
                    c.downcast_ref::<audioby::article::extract::ExtractError>()
                        .map(|x| x.code())
                })
                .or_else(|| {
                    c.downcast_ref::<audioby::pipeline::PipelineError>()
                        .map(|x| x.code())
                })
        })
        .unwrap_or("error");
    eprintln!("audioby: error [{code}]: {e:#}");
    ExitCode::FAILURE
}

fn load_settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut s = Settings::load(cli.config.as_deref())?;
    if let Some(v) = &cli.voices_dir {
        s.voices_dir = v.clone();
    }
    if let Command::Prefetch {
        data_dir: Some(d), ..
    }
    | Command::Status {
        data_dir: Some(d), ..
    } = &cli.command
    {
        s.data_dir = d.clone();
    }
    if let Command::Serve { listen, data_dir } = &cli.command {
        if let Some(l) = listen {
            s.listen = *l;
        }
        if let Some(d) = data_dir {
            s.data_dir = d.clone();
        }
    }
    Ok(s)
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await
    })
}

#[allow(clippy::too_many_arguments)]
fn synth(
    settings: &Settings,
    voice: Option<String>,
    format: Option<String>,
    speed: f32,
    speaker: Option<String>,
    output: Option<String>,
    sessions: Option<usize>,
    quiet: bool,
    text: Option<String>,
) -> anyhow::Result<()> {
    let synth_settings = SynthSettings::new(speed, speaker)?;
    let to_stdout = matches!(output.as_deref(), None | Some("-"));
    let format: AudioFormat = match (format, output.as_deref()) {
        (Some(f), _) => f.parse()?,
        (None, Some(path)) if !to_stdout => std::path::Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse().ok())
            .unwrap_or(AudioFormat::Mp3),
        _ => AudioFormat::Mp3,
    };
    if to_stdout && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to write audio to a terminal: use -o FILE, or redirect stdout");
    }
    let mut settings = settings.clone();
    if let Some(n) = sessions {
        settings.engine.sessions_per_voice = n.max(1);
    }
    let engine = load_engine(&settings)?;
    let voice = engine.voice(voice.as_deref())?;
    let lexicon = Arc::new(load_lexicon(&settings)?);
    let enc = encoder(format, voice.sample_rate(), &settings.audio)?;

    let (input, total): (Box<dyn Read>, Option<u64>) = match text {
        Some(t) if t != "-" => {
            let n = t.len() as u64;
            (Box::new(std::io::Cursor::new(t.into_bytes())), Some(n))
        }
        _ => (Box::new(std::io::stdin().lock()), None),
    };
    let bar = progress_bar(total, quiet);
    let on_progress = |p: audioby::synth::Progress| {
        if let Some(b) = &bar {
            b.set_position(p.bytes_read);
            b.set_message(format!(
                "{} sentences, {:.0} s of audio",
                p.segments, p.audio_seconds
            ));
        }
    };
    let seg_opts = settings.text.clone();
    let summary = if to_stdout {
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        let (w, summary) = synthesize_reader(
            &voice,
            input,
            lexicon,
            &synth_settings,
            seg_opts,
            || Ok(EncodingWriter::new(enc, out)),
            on_progress,
        )?;
        w.finish_stream()?;
        summary
    } else {
        let path = PathBuf::from(output.unwrap_or_default());
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let open = || -> Result<_, SynthError> {
            let tmp = tempfile::Builder::new()
                .prefix(".audioby-")
                .suffix(".part")
                .tempfile_in(dir)
                .map_err(audioby::audio::AudioError::Io)?;
            Ok(EncodingWriter::new(enc, std::io::BufWriter::new(tmp)))
        };
        let (w, summary) = synthesize_reader(
            &voice,
            input,
            lexicon,
            &synth_settings,
            seg_opts,
            open,
            on_progress,
        )?;
        let file = w
            .finish_seekable()?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        file.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        summary
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !quiet {
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

fn voices(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let reg = VoiceRegistry::scan(&settings.voices_dir);
    for p in &reg.problems {
        eprintln!(
            "audioby: warning: skipped {}: {}",
            p.path.display(),
            p.reason
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &reg.voices)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<24} {:<8} {:<8} {:>6}  {:<8} SPEAKERS",
            "ID", "ALIAS", "LANG", "RATE", "QUALITY"
        )?;
        for v in &reg.voices {
            let speakers = if v.speakers.is_empty() {
                "1".to_string()
            } else {
                v.speakers.join(",")
            };
            writeln!(
                out,
                "{:<24} {:<8} {:<8} {:>6}  {:<8} {}",
                v.id,
                v.alias.as_deref().unwrap_or("-"),
                v.language,
                v.sample_rate,
                v.quality.as_deref().unwrap_or("-"),
                speakers
            )?;
        }
    }
    if reg.voices.is_empty() {
        anyhow::bail!("no usable voice in {}", settings.voices_dir.display());
    }
    Ok(())
}

fn normalize() -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let mut reader = std::io::BufReader::new(stdin);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if std::io::BufRead::read_until(&mut reader, b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        // Invalid UTF-8 is replaced, never fatal: one line in must give one line out.
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        let spoken = audioby::text::normalize::normalize(line);
        writeln!(out, "{}", spoken.replace(['\n', '\r'], " "))?;
        out.flush()?;
    }
}

fn extract(
    file: Option<PathBuf>,
    json: bool,
    include: Vec<String>,
    exclude: Vec<String>,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    match file.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => {
            std::io::stdin().lock().read_to_end(&mut bytes)?;
        }
    }
    let opts = audioby::article::extract::ExtractOptions { include, exclude };
    let article = audioby::article::extract::extract_bytes(&bytes, &opts)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &article)?;
        writeln!(out)?;
    } else {
        for line in article.spoken_lines() {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn stats(data_dir: PathBuf, id: Option<String>, json: bool) -> anyhow::Result<()> {
    let mut all = audioby::player::events::read_data_dir(&data_dir)
        .with_context(|| format!("reading listening events in {}", data_dir.display()))?;
    if let Some(id) = &id {
        let one = all.remove(id).unwrap_or_default();
        all = std::iter::once((id.clone(), one)).collect();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    println!(
        "{:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "article", "play", "25%", "50%", "75%", "100%", "speed", "error"
    );
    for (article, s) in &all {
        println!(
            "{article:<32} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            s.play,
            s.progress_25,
            s.progress_50,
            s.progress_75,
            s.progress_100,
            s.ratechange,
            s.error
        );
    }
    Ok(())
}

/// Build the article pipeline outside the server (prefetch, status).
async fn offline_pipeline(
    settings: Settings,
    with_engine: bool,
) -> anyhow::Result<Arc<audioby::pipeline::Pipeline>> {
    std::fs::create_dir_all(&settings.data_dir)?;
    // Sessions start on the first cache miss: a nightly run with nothing new to say never
    // pays for ONNX Runtime (the voice file is still read and hashed for the cache keys).
    let engine = if with_engine {
        let s = settings.clone();
        Arc::new(tokio::task::spawn_blocking(move || load_engine_lazily(&s)).await??)
    } else {
        Arc::new(load_engine_lazily(&settings)?)
    };
    let lexicon = Arc::new(load_lexicon(&settings)?);
    let store = audioby::store::open(&settings.data_dir)?;
    audioby::startup::open_pipeline(Arc::new(settings), engine, store, lexicon).await
}

fn load_engine_lazily(settings: &Settings) -> Result<audioby::tts::Engine, audioby::tts::TtsError> {
    audioby::startup::load_engine_with(
        settings,
        audioby::tts::EngineOptions {
            lazy_sessions: true,
            ..settings.engine
        },
    )
}

fn parse_since(s: &str) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: use YYYY-MM-DD or RFC 3339"))?;
    Ok(d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0))
}

fn prefetch(
    settings: Settings,
    ids: Option<PathBuf>,
    since: Option<String>,
    feeds: Vec<String>,
    concurrency: usize,
    json: bool,
) -> anyhow::Result<()> {
    use audioby::prefetch::{run, Selection};
    let selection = match (ids, since) {
        _ if !feeds.is_empty() => Selection::Feeds(feeds),
        (Some(path), _) => {
            let text = if path.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
            };
            Selection::Ids(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect(),
            )
        }
        (None, Some(d)) => Selection::Since(parse_since(&d)?),
        (None, None) => anyhow::bail!("give --ids FILE, --since DATE or --feed URL"),
    };
    let rt = tokio::runtime::Runtime::new()?;
    let summary = rt.block_on(async {
        let pipeline = offline_pipeline(settings, true).await?;
        let bar = if std::io::stderr().is_terminal() && !json {
            Some(ProgressBar::new(0))
        } else {
            None
        };
        if let Some(b) = &bar {
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} articles, {msg} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        let s = run(pipeline, selection, concurrency, |p| {
            if let Some(b) = &bar {
                b.set_length(p.total as u64);
                b.set_position(p.done as u64);
                b.set_message(format!("{:.1} min of audio", p.audio_seconds / 60.0));
            }
        })
        .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        anyhow::Ok(s?)
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<40} {:<8} {:>9} {:>10}  ERROR",
            "ARTICLE", "STATUS", "AUDIO", "SYNTH/SEG"
        )?;
        for a in &summary.articles {
            writeln!(
                out,
                "{:<40} {:<8} {:>8.1}s {:>4}/{:<5}  {}",
                a.id,
                a.status,
                a.audio_seconds,
                a.segments_synthesized,
                a.segments_total,
                a.error.as_deref().unwrap_or("")
            )?;
        }
        writeln!(
            out,
            "{} articles: {} made, {} already cached, {} failed; {:.1} min of audio in {:.1} s; segment cache hit ratio {:.0}%",
            summary.total,
            summary.ready,
            summary.cached,
            summary.failed,
            summary.audio_seconds / 60.0,
            summary.wall_seconds,
            summary.cache_hit_ratio * 100.0
        )?;
    }
    if summary.failed > 0 {
        anyhow::bail!("{} of {} articles failed", summary.failed, summary.total);
    }
    Ok(())
}

fn status(settings: Settings, id: Option<String>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let pipeline = offline_pipeline(settings, false).await?;
        let mut out = std::io::stdout().lock();
        match id {
            None => {
                let s = pipeline.queue.stats().await?;
                writeln!(
                    out,
                    "queued {}  running {}  ready {}  failed {}  oldest queued {:.0} s",
                    s.queued, s.running, s.ready, s.failed, s.oldest_queued_secs
                )?;
            }
            Some(raw) => {
                let id = audioby::article::ArticleId::parse(&raw)?;
                let article = pipeline
                    .articles
                    .article(&id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("article `{id}` not found"))?;
                let voice = pipeline.voice_for(None, &article)?;
                match pipeline
                    .articles
                    .rendition(&id, &article.content_hash, &voice.info().id)
                    .await?
                {
                    Some(r) => {
                        writeln!(out, "{id}: ready, {:.1} s, voice {}", r.duration, r.voice)?;
                        for (f, name) in &r.files {
                            writeln!(out, "  {f}: /audio/{name}")?;
                        }
                    }
                    None => writeln!(out, "{id}: no audio for the current version yet")?,
                }
                if let Some(job) = pipeline.queue.latest_job(&id).await? {
                    writeln!(
                        out,
                        "  last job {}: {} (attempt {}/{}){}",
                        job.id,
                        job.state.as_str(),
                        job.attempts,
                        job.max_attempts,
                        job.error
                            .map(|e| format!(", error: {e}"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        anyhow::Ok(())
    })
}
