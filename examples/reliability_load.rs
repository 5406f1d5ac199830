//! The load part of the reliability suite (`make reliability`, docs/RELIABILITY.md): starts
//! the release server on a fresh data folder and runs, in order,
//!
//! 1. **mixed load**: `--connections` clients for `--seconds` (cached audio with Range,
//!    article-audio GETs, listening events, and two clients doing short direct syntheses),
//!    reporting req/s, p50/p99 and statuses per kind, and the server's RSS over time;
//! 2. **events fill**: `--fill` events for made-up article IDs (the rate limits are off for
//!    this run, so only the existence check stands in the way), then one real event;
//! 3. **SIGKILL loop**: ten new articles queued, the server killed `--kills` times while a
//!    job runs, restarted each time; then every job must finish.
//!
//! It exits non-zero when a check fails: a 5xx other than the intended 503/507, RSS growing
//! more than a quarter after warm-up, a made-up ID counted, or a job lost or failed.
//!
//!   cargo build --release --example reliability_load
//!   ./target/release/examples/reliability_load [--seconds 60] [--connections 200]
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use tokio::sync::Mutex;

const KEY: &str = "reliability-load-key";

#[derive(Parser)]
#[command(about = "Mixed load, events fill and SIGKILL loop against a release audioby")]
struct Args {
    /// The server binary.
    #[arg(long, default_value = "target/release/audioby")]
    bin: PathBuf,
    /// Seconds of mixed load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent clients (connections) in the mixed load.
    #[arg(long, default_value_t = 200)]
    connections: usize,
    /// Events for made-up article IDs in the fill run.
    #[arg(long, default_value_t = 20_000)]
    fill: usize,
    /// SIGKILLs in the kill loop (a job's lost leases spend attempts: keep it under 4).
    #[arg(long, default_value_t = 3)]
    kills: usize,
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(bin: &Path, data: &Path) -> Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("AUDIOBY_API_KEYS", KEY)
            // One client address plays every listener: the per-IP limits would measure
            // themselves, not the server.
            .env("AUDIOBY_HTTP__RATE_LIMIT__PER_MINUTE", "0")
            .env("AUDIOBY_HTTP__EVENTS_RATE_LIMIT__PER_MINUTE", "0")
            .env("AUDIOBY_QUEUE__LEASE_MS", "3000")
            .env("RUST_LOG", "warn,audioby=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} (build it first)", bin.display()))?;
        let stderr = child.stderr.take().context("stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let addr: String = line[i + "listening on http://".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                if line.contains(" ERROR ") || line.contains("\"ERROR\"") {
                    eprintln!("server: {line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .context("the server did not start listening within 120 s")?;
        Ok(Server {
            child,
            base: format!("http://{addr}"),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Push an article; returns its job's ID.
async fn put_article(client: &reqwest::Client, base: &str, id: &str, text: &str) -> Result<String> {
    let r = client
        .put(format!("{base}/v1/articles/{id}"))
        .bearer_auth(KEY)
        .json(&json!({ "text": text }))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("PUT {id}: {} {}", r.status(), r.text().await?);
    }
    let v: Value = r.json().await?;
    v["job"]["id"]
        .as_str()
        .map(str::to_string)
        .context("PUT queued no job")
}

async fn job(client: &reqwest::Client, base: &str, id: &str) -> Value {
    match client
        .get(format!("{base}/v1/jobs/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    }
}

/// Poll the public article-audio route until it is ready; `None` when `deadline` passes.
async fn wait_ready(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    deadline: Instant,
) -> Option<Value> {
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("{base}/v1/articles/{id}/audio"))
            .send()
            .await
        {
            if r.status() == 200 {
                return r.json().await.ok();
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<String, u64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A tiny xorshift: which request a client sends next (no need for a crate).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

type Tallies = Arc<Mutex<BTreeMap<&'static str, Tally>>>;

async fn record(tallies: &Tallies, kind: &'static str, started: Instant, status: String) {
    let mut t = tallies.lock().await;
    let e = t.entry(kind).or_default();
    e.latencies_ms
        .push(started.elapsed().as_secs_f64() * 1000.0);
    *e.statuses.entry(status).or_default() += 1;
}

async fn one_request(
    client: &reqwest::Client,
    base: &str,
    audio: &str,
    audio_len: u64,
    rng: &mut u64,
) -> (&'static str, String) {
    let roll = next(rng) % 100;
    let (kind, req) = if roll < 45 {
        let start = next(rng) % audio_len.saturating_sub(65_536).max(1);
        let range = format!("bytes={start}-{}", start + 65_535);
        ("audio range", client.get(audio).header("range", range))
    } else if roll < 50 {
        ("audio whole", client.get(audio))
    } else if roll < 80 {
        (
            "article-audio GET",
            client.get(format!("{base}/v1/articles/seed/audio")),
        )
    } else {
        let event = if roll < 90 {
            json!({ "article": "seed", "event": "play" })
        } else {
            json!({ "article": "seed", "event": "progress", "value": 50 })
        };
        (
            "event POST",
            client.post(format!("{base}/v1/events")).json(&event),
        )
    };
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16().to_string();
            // Read the whole body: a client that drops it would measure nothing.
            let _ = r.bytes().await;
            (kind, status)
        }
        Err(e) => (kind, format!("transport: {}", short(&e))),
    }
}

fn short(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "other"
    }
}

async fn synth_client(
    client: reqwest::Client,
    base: String,
    tallies: Tallies,
    until: Instant,
    n: u64,
) {
    let mut i = n;
    while Instant::now() < until {
        i += 2;
        let started = Instant::now();
        // A new number each time, so the cache never answers.
        let text = format!("Bulletin {i}: the council met for {} minutes.", i * 7 + 3);
        let status = match client
            .post(format!("{base}/v1/synthesize"))
            .bearer_auth(KEY)
            .json(&json!({ "text": text, "format": "mp3" }))
            .send()
            .await
        {
            Ok(r) => {
                let s = r.status().as_u16().to_string();
                let _ = r.bytes().await;
                s
            }
            Err(e) => format!("transport: {}", short(&e)),
        };
        record(&tallies, "synthesis", started, status).await;
    }
}

/// Returns whether the run passed.
async fn mixed_load(args: &Args, server: &Server, client: &reqwest::Client) -> Result<bool> {
    let ready: Value = {
        let audio = client
            .get(format!(
                "{}/v1/articles/seed/audio?format=opus",
                server.base
            ))
            .send()
            .await?
            .json::<Value>()
            .await?;
        audio
    };
    let path = ready["url"].as_str().context("no audio url")?;
    let audio = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", server.base)
    };
    // The header, not `content_length()`: a HEAD response's body is empty.
    let head = client.head(&audio).send().await?;
    let audio_len: u64 = head
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .context("HEAD on the audio gave no length")?;
    println!(
        "\n## Mixed load: {} connections for {} s (audio file {} KiB)",
        args.connections,
        args.seconds,
        audio_len / 1024
    );
    let tallies: Tallies = Arc::default();
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    let synth_clients = 2.min(args.connections);
    for n in 0..synth_clients {
        tasks.push(tokio::spawn(synth_client(
            client.clone(),
            server.base.clone(),
            Arc::clone(&tallies),
            until,
            n as u64,
        )));
    }
    for n in synth_clients..args.connections {
        let (client, base, audio, tallies) = (
            client.clone(),
            server.base.clone(),
            audio.clone(),
            Arc::clone(&tallies),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (n as u64 + 1);
            while Instant::now() < until {
                let t = Instant::now();
                let (kind, status) = one_request(&client, &base, &audio, audio_len, &mut rng).await;
                record(&tallies, kind, t, status).await;
            }
        }));
    }
    // RSS every second while the load runs.
    let pid = server.pid();
    let mut rss = Vec::new();
    while Instant::now() < until {
        rss.push((started.elapsed().as_secs(), rss_kib(pid).unwrap_or(0)));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tallies = Arc::try_unwrap(tallies)
        .ok()
        .context("tallies still shared")?
        .into_inner();

    println!("| kind | requests | req/s | p50 ms | p99 ms | statuses |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut total = 0u64;
    let mut all = Vec::new();
    let mut unintended = 0u64;
    for (kind, mut t) in tallies {
        t.latencies_ms.sort_by(f64::total_cmp);
        let n = t.latencies_ms.len() as u64;
        total += n;
        all.extend_from_slice(&t.latencies_ms);
        for (status, count) in &t.statuses {
            let intended = matches!(status.as_str(), "503" | "507");
            if !intended && (status.starts_with('5') || status.starts_with("transport")) {
                unintended += count;
            }
        }
        let statuses: Vec<String> = t
            .statuses
            .iter()
            .map(|(s, c)| format!("{s}: {c}"))
            .collect();
        println!(
            "| {kind} | {n} | {:.0} | {:.1} | {:.1} | {} |",
            n as f64 / elapsed,
            percentile(&t.latencies_ms, 0.5),
            percentile(&t.latencies_ms, 0.99),
            statuses.join(", ")
        );
    }
    all.sort_by(f64::total_cmp);
    println!(
        "| **all** | {total} | {:.0} | {:.1} | {:.1} | unintended errors: {unintended} |",
        total as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    // RSS: after a 10 s warm-up (pools, caches, allocator arenas fill) it should stay flat.
    let at = |s: u64| {
        rss.iter()
            .find(|(t, _)| *t >= s)
            .map(|(_, r)| *r)
            .unwrap_or(0)
    };
    let warm = at(10.min(args.seconds / 2));
    let last = rss.last().map(|(_, r)| *r).unwrap_or(0);
    let peak = rss.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let samples: Vec<String> = rss
        .iter()
        .filter(|(t, _)| t % 10 == 0)
        .map(|(t, r)| format!("{t}s {} MiB", r / 1024))
        .collect();
    println!("\nRSS: {}; peak {} MiB", samples.join(", "), peak / 1024);
    let flat = warm > 0 && last <= warm + warm / 4;
    println!(
        "RSS after warm-up {} MiB, at the end {} MiB: {}",
        warm / 1024,
        last / 1024,
        if flat { "flat" } else { "GROWING" }
    );
    Ok(unintended == 0 && flat)
}

fn db_bytes(data: &Path) -> u64 {
    ["audioby.db", "audioby.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

async fn events_fill(
    args: &Args,
    server: &Server,
    client: &reqwest::Client,
    data: &Path,
) -> Result<bool> {
    println!(
        "\n## Events fill: {} events for made-up article IDs",
        args.fill
    );
    let before = db_bytes(data);
    let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
    let started = Instant::now();
    let per_task = args.fill.div_ceil(50);
    let mut tasks = Vec::new();
    for t in 0..50 {
        let (client, base, statuses) = (client.clone(), server.base.clone(), Arc::clone(&statuses));
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let id = format!("made-up-{t}-{i}");
                let r = client
                    .post(format!("{base}/v1/events"))
                    .json(&json!({ "article": id, "event": "play" }))
                    .send()
                    .await;
                let code = r.map(|r| r.status().as_u16()).unwrap_or(0);
                *statuses.lock().await.entry(code).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let statuses = statuses.lock().await.clone();
    let real = client
        .post(format!("{}/v1/events", server.base))
        .json(&json!({ "article": "seed", "event": "play" }))
        .send()
        .await?
        .status()
        .as_u16();
    let after = db_bytes(data);
    let sent: u64 = statuses.values().sum();
    println!(
        "{sent} events in {secs:.1} s ({:.0}/s); statuses {statuses:?}; database {} KiB before, {} KiB after; a real article's event then: {real}",
        sent as f64 / secs,
        before / 1024,
        after / 1024
    );
    let refused = statuses.get(&404).copied().unwrap_or(0) == sent;
    // The WAL may grow by a few pages from the run's other writes, never by 20,000 rows.
    let ok = refused && real == 204 && after <= before + 1024 * 1024;
    println!(
        "{}",
        if ok {
            "events fill: ok"
        } else {
            "events fill: FAILED"
        }
    );
    Ok(ok)
}

async fn kill_loop(args: &Args, client: &reqwest::Client, data: &Path) -> Result<bool> {
    println!(
        "\n## SIGKILL loop: 10 articles, {} kills while a job runs",
        args.kills
    );
    let seed = std::fs::read_to_string("player/seed-article.txt")?;
    let sentences: Vec<&str> = seed.split(". ").filter(|s| s.len() > 20).take(12).collect();
    let mut server = Server::start(&args.bin, data)?;
    let mut jobs = Vec::new();
    for n in 0..10 {
        // Every sentence new, so each article really synthesizes.
        let text: Vec<String> = sentences
            .iter()
            .map(|s| format!("In part {n}, {}.", s.trim_end_matches('.')))
            .collect();
        jobs.push(put_article(client, &server.base, &format!("kill-{n}"), &text.join(" ")).await?);
    }
    for k in 0..args.kills {
        // Kill when a job is running (the state, not a clock).
        let deadline = Instant::now() + Duration::from_secs(300);
        'wait: while Instant::now() < deadline {
            for id in &jobs {
                if job(client, &server.base, id).await["status"] == "running" {
                    break 'wait;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pid = server.pid();
        server.kill();
        println!("kill {}: SIGKILL to {pid} while a job ran", k + 1);
        server = Server::start(&args.bin, data)?;
    }
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut ready = 0;
    for n in 0..10 {
        if wait_ready(client, &server.base, &format!("kill-{n}"), deadline)
            .await
            .is_some()
        {
            ready += 1;
        }
    }
    let mut attempts = Vec::new();
    for id in &jobs {
        attempts.push(
            job(client, &server.base, id).await["attempts"]
                .as_u64()
                .unwrap_or(0),
        );
    }
    server.terminate();
    println!("{ready} of 10 articles ready after the kills; attempts per job {attempts:?}");
    Ok(ready == 10)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let server = Server::start(&args.bin, &data)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(60))
        .build()?;
    println!(
        "server {} (pid {}), data {}",
        server.base,
        server.pid(),
        data.display()
    );
    let seed = std::fs::read_to_string("player/seed-article.txt")?;
    put_article(&client, &server.base, "seed", &seed).await?;
    wait_ready(
        &client,
        &server.base,
        "seed",
        Instant::now() + Duration::from_secs(600),
    )
    .await
    .context("the seed article was not ready within 10 minutes")?;

    let load_ok = mixed_load(&args, &server, &client).await?;
    let fill_ok = events_fill(&args, &server, &client, &data).await?;
    server.terminate();
    let kill_ok = kill_loop(&args, &client, &data).await?;

    println!(
        "\nmixed load: {}; events fill: {}; kill loop: {}",
        verdict(load_ok),
        verdict(fill_ok),
        verdict(kill_ok)
    );
    if load_ok && fill_ok && kill_ok {
        Ok(())
    } else {
        bail!("a reliability check failed (see above)")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "FAILED"
    }
}
