//! The real binary: JSON logs carry request ids, the generated key is printed once, and
//! SIGTERM during a streamed synthesis lets it finish, exits 0 and leaves no partial files.
//! Starts with the sample `audioby.toml`, so the sample is known to serve.
use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::json;

/// Wait for a stderr line satisfying `f`, collecting all lines seen.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    f: impl Fn(&str) -> bool,
) -> String {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no such line; stderr so far:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if f(&line) {
            return line;
        }
    }
}

#[tokio::test]
async fn json_logs_generated_key_and_graceful_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = audioby()
        .args([
            "--config",
            "audioby.toml",
            "--log-json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data.path())
        .env_remove("AUDIOBY_API_KEYS")
        .env_remove("RUST_LOG")
        // The stream below must finish after SIGTERM however loaded the machine is: a bound
        // far above the default 10 s (tests/api/http_hostile.rs tests the bound itself).
        .env("AUDIOBY_HTTP__SHUTDOWN_TIMEOUT_SECS", "300")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let listening = wait_line(&rx, &mut seen, |l| l.contains("listening on http://"));
    let addr: String = listening
        .split("http://")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    let base = format!("http://{addr}");
    let key = std::fs::read_to_string(data.path().join("api-key")).unwrap();
    assert!(
        seen.iter().any(|l| l.contains(&key)),
        "the generated key is printed once at first start"
    );

    // A JSON log line carries the request id.
    let client = reqwest::Client::new();
    let r = client
        // Not /healthz: probes are logged at debug (issue 19), this route at info.
        .get(format!("{base}/v1/voices"))
        .header("x-request-id", "req-audioby-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-audioby-test-42");
    let line = wait_line(&rx, &mut seen, |l| l.contains("req-audioby-test-42"));
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");

    // Start a streamed synthesis, then SIGTERM while it runs.
    let text =
        "The council met on Monday. It approved the new budget. Roads will be repaired in spring. \
                Schools get new roofs. The library stays open late. Parks will have more lights.";
    let mut r = client
        .post(format!("{base}/v1/synthesize"))
        .bearer_auth(key.trim())
        .json(&json!({"text": text, "format": "opus", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut audio = r.chunk().await.unwrap().unwrap().to_vec();
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    wait_line(&rx, &mut seen, |l| l.contains("shutdown signal received"));
    // New connections are refused once the listener is closed...
    // ...but the in-flight stream runs to the end and decodes in full.
    while let Some(c) = r.chunk().await.expect("the stream is not cut") {
        audio.extend_from_slice(&c);
    }
    let d = decode_opus(&audio);
    assert!(
        d.duration() > 8.0,
        "the whole text was spoken: {} s",
        d.duration()
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "nothing listens after exit"
    );
    let partial = common::server::partial_files(data.path());
    assert!(partial.is_empty(), "partial files left: {partial:?}");
}
