//! The player in a real browser: starts the real server (port 0, fresh data folder, real
//! voice, demo article stored at startup as `make run` does), then runs
//! `tests/browser/player.test.mjs` with Node and playwright-core driving Debian's Chromium
//! (`scripts/setup` installs both).
mod common;

use std::process::Stdio;

use audioby::player::demo::DEMO_ARTICLE_ID;
use common::app::{spawn_app_with, API_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_in_chromium() {
    let dir = common::repo().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run scripts/setup (npm ci)"
    );
    // As `make run` does: the server stores the demo article at startup and queues its audio.
    let app = spawn_app_with(|s| s.demo = true).await;
    let seed = app.url(&format!("/v1/articles/{DEMO_ARTICLE_ID}/audio"));
    let status = app.client.get(&seed).send().await.unwrap().status();
    assert!(
        status == reqwest::StatusCode::OK || status == reqwest::StatusCode::ACCEPTED,
        "the demo article exists at startup: {status}"
    );

    let out = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "player.test.mjs"])
        .current_dir(&dir)
        .env("AUDIOBY_URL", &app.base)
        .env("AUDIOBY_API_KEY", API_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("run node (scripts/setup installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture, and on failure.
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "browser tests failed (see output above)"
    );
    assert!(
        stdout.contains("# fail 0"),
        "node's test runner reported failures"
    );
    assert!(!stdout.contains("# pass 0\n"), "node ran no browser test");
}
