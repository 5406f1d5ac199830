//! Test helpers shared by the integration tests: decoding audio for real (symphonia for WAV
//! and MP3, libopus + ogg for Opus), signal checks, and running the real binary.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};

use audioby::tts::{Engine, EngineOptions, VoiceRegistry};

pub mod app;
pub mod postgres;
pub mod s3;
pub mod server;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed article (a real news article; the demo and benchmark text), committed as a fixture.
pub fn seed_article() -> String {
    std::fs::read_to_string(repo().join("player/seed-article.txt")).expect("seed article fixture")
}

/// The real engine with the real voice, loaded once per test binary.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(own_engine).clone()
}

/// An engine of its own with the real voice, for a test that reads the engine's counters:
/// the shared one also counts the work of the tests running beside it.
pub fn own_engine() -> Arc<Engine> {
    let reg = VoiceRegistry::scan(&repo().join("voices"));
    let (engine, _) = Engine::load(&reg, &EngineOptions::default(), None)
        .expect("run scripts/setup to fetch the voice");
    Arc::new(engine)
}

pub fn audioby() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_audioby"));
    c.current_dir(repo());
    c.env_remove("AUDIOBY_CONFIG");
    c
}

pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn audioby");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.map(|d| d.to_vec()).unwrap_or_default();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    out
}

/// Decoded mono audio.
pub struct Decoded {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Decoded {
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
    pub fn rms(&self) -> f64 {
        rms(&self.samples)
    }
}

pub fn rms(s: &[f32]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    (s.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / s.len() as f64).sqrt()
}

/// Decode WAV or MP3 with symphonia (gapless on, so MP3 encoder delay/padding are trimmed).
pub fn decode_symphonia(bytes: &[u8], ext: &str) -> Decoded {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
        .expect("symphonia recognises the container");
    let mut format = probed.format;
    let track = format.default_track().expect("a track").clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .expect("a decoder");
    let sample_rate = track.codec_params.sample_rate.expect("sample rate");
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(symphonia::core::errors::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break
            }
            Err(e) => panic!("demux error: {e}"),
        };
        let decoded = decoder.decode(&packet).expect("decodes");
        let spec = *decoded.spec();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        let ch = spec.channels.count();
        samples.extend(buf.samples().iter().step_by(ch));
    }
    Decoded {
        samples,
        sample_rate,
    }
}

/// Decode Ogg Opus with libopus, honouring pre-skip and the final granule (end trimming).
pub fn decode_opus(bytes: &[u8]) -> Decoded {
    let mut reader = ogg::reading::PacketReader::new(Cursor::new(bytes.to_vec()));
    let head = reader
        .read_packet()
        .expect("ogg parses")
        .expect("OpusHead page");
    assert_eq!(&head.data[..8], b"OpusHead", "first packet is OpusHead");
    assert!(
        head.first_in_stream() && head.last_in_page(),
        "OpusHead is alone on the first page"
    );
    let channels = head.data[9];
    assert_eq!(channels, 1, "mono");
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as usize;
    let tags = reader.read_packet().expect("ogg parses").expect("OpusTags");
    assert_eq!(&tags.data[..8], b"OpusTags", "second packet is OpusTags");
    let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).expect("decoder");
    let mut out = Vec::new();
    let mut buf = vec![0f32; 5760];
    let mut last_granule = 0u64;
    let mut prev_granule = 0u64;
    while let Some(p) = reader.read_packet().expect("ogg pages parse") {
        let n = dec
            .decode_float(&p.data, &mut buf, false)
            .expect("opus packet decodes");
        out.extend_from_slice(&buf[..n]);
        if p.last_in_page() {
            let g = p.absgp_page();
            assert!(g >= prev_granule, "granule positions never go backwards");
            prev_granule = g;
            last_granule = g;
        }
        if p.last_in_stream() {
            break;
        }
    }
    let end = (last_granule as usize).min(out.len());
    let samples = out[pre_skip.min(end)..end].to_vec();
    Decoded {
        samples,
        sample_rate: 48_000,
    }
}

/// Peak RSS (KiB) of a finished child, via wait4: exact for that one process. The caller sets stdin.
pub fn run_measuring_rss(cmd: &mut Command) -> (std::process::ExitStatus, u64) {
    use std::os::unix::process::ExitStatusExt;
    // Reaped by the wait4 below (which also gives the child's own peak RSS), not by wait().
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    (
        std::process::ExitStatus::from_raw(status),
        usage.ru_maxrss as u64,
    )
}

pub fn file_exists(p: &Path) -> bool {
    p.exists()
}

/// Poll `check` every 100 ms until it holds; fails the test naming `what` after 300 s (a
/// generous bound for a busy 2-core machine: tests wait for conditions, never for time).
pub async fn wait_until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_until_every(what, std::time::Duration::from_millis(100), check).await
}

/// [`wait_until`], checking every `poll` (a test that must catch a process part-way through
/// its work polls faster than the default 100 ms).
pub async fn wait_until_every<F, Fut>(what: &str, poll: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(poll).await;
    }
}
