//! Storage faults on a running server: a full disk (a small tmpfs, when the tests run as root
//! and may mount; skipped with a message otherwise) and a database file deleted underneath
//! it. Writes get JSON 507/503 with stable codes, `/readyz` says not ready, and the server
//! recovers by itself once space is back.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::app::*;
use common::*;
use serde_json::{json, Value};

/// A tmpfs of `size` mounted on a temp folder, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Write `path` until the device is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x55u8; 64 * 1024];
    let mut written = 0;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.sync_all();
    written
}

async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn put(app: &TestApp, id: &str, text: &str) -> (u16, Value) {
    let r = app
        .client
        .put(app.url(&format!("/v1/articles/{id}")))
        .bearer_auth(API_KEY)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_full_disk_gives_clear_errors_and_recovers_without_a_restart() {
    let Some(disk) = Tmpfs::mount("16m") else {
        eprintln!("skipped: mounting a tmpfs needs root (the reliability suite runs it as root)");
        return;
    };
    let data: PathBuf = disk.path().join("data");
    let data_for_app = data.clone();
    let app = spawn_app_with(move |s| s.data_dir = data_for_app).await;
    let (status, v) = put(&app, "before", "The bridge opened on Monday.").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(readyz(&app).await.0, 200);

    let filler = disk.path().join("filler");
    assert!(fill(&filler) > 0);

    // Readiness goes down: the store probe cannot write.
    let (status, v) = readyz(&app).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "not-ready", "{v}");
    assert_eq!(v["checks"]["storage"], "storage-full", "{v}");

    // A push is refused with 507, or (when SQLite still had room in its log) taken; either
    // way its audio cannot be made until space is back, and nothing crashes.
    let (status, v) = put(&app, "during", "The ferry sailed again on Tuesday.").await;
    match status {
        507 => assert_eq!(v["error"]["code"], "storage-full", "{v}"),
        200 => {}
        other => panic!("unexpected {other}: {v}"),
    }
    let (status, v) = put(&app, "after", "Trains ran on time on Wednesday.").await;
    assert!(status == 200 || status == 507, "{status} {v}");

    // Space comes back: readiness and writes recover by themselves.
    std::fs::remove_file(&filler).unwrap();
    wait_until("/readyz ready again", || async {
        readyz(&app).await.0 == 200
    })
    .await;
    let (status, v) = put(&app, "after", "Trains ran on time on Wednesday.").await;
    assert_eq!(status, 200, "{v}");
    let job = v["job"]["id"].as_str().unwrap().to_owned();
    let v = wait_job(&app.client, &app.base, &job).await;
    assert_eq!(v["status"], "ready", "the job after the fault: {v}");
    let audio = app.get_json("/v1/articles/after/audio").await;
    let url = audio["formats"]["opus"]
        .as_str()
        .expect("an Opus URL")
        .to_owned();
    let url = if url.starts_with("http") {
        url
    } else {
        app.url(&url)
    };
    let bytes = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(decode_opus(&bytes).duration() > 0.5, "the audio decodes");
}

#[tokio::test]
async fn a_database_deleted_underneath_is_detected() {
    let app = spawn_app().await;
    let (status, v) = put(&app, "first", "The market opened early.").await;
    assert_eq!(status, 200, "{v}");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(app.data_dir.join(format!("audioby.db{suffix}")));
    }
    let (status, v) = put(&app, "second", "The market closed late.").await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "database-missing", "{v}");
    let (status, v) = readyz(&app).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["checks"]["database"], "database-missing", "{v}");
}
