//! The real `audioby serve` binary as a child process, for crash and signal tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

/// Start `audioby serve --listen 127.0.0.1:0` on `data_dir`; returns once it is listening.
pub fn start_server(data_dir: &Path, envs: &[(&str, &str)]) -> ServerProcess {
    start_role("all", data_dir, envs)
}

/// [`start_server`] with `--role <role>` (`all`, `api` or `worker`).
pub fn start_role(role: &str, data_dir: &Path, envs: &[(&str, &str)]) -> ServerProcess {
    start_role_with(role, data_dir, envs, |_| {})
}

/// [`start_server`], with a last say on the command (resource limits, say).
pub fn start_server_with(
    data_dir: &Path,
    envs: &[(&str, &str)],
    customize: impl FnOnce(&mut Command),
) -> ServerProcess {
    start_role_with("all", data_dir, envs, customize)
}

fn start_role_with(
    role: &str,
    data_dir: &Path,
    envs: &[(&str, &str)],
    customize: impl FnOnce(&mut Command),
) -> ServerProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_audioby"));
    cmd.current_dir(super::repo())
        .args([
            "serve",
            "--role",
            role,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("AUDIOBY_API_KEYS", super::app::API_KEY)
        .env("RUST_LOG", "info")
        .env_remove("AUDIOBY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    customize(&mut cmd);
    let mut child = cmd.spawn().expect("spawn audioby serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(i) = line.find("listening on http://") {
                    let addr: String = line[i + "listening on http://".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("server starts listening");
    ServerProcess {
        child,
        base: format!("http://{addr}"),
    }
}

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for the exit; true when it exited with status 0.
    pub fn terminate(&mut self) -> bool {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    pub fn kill9(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` whose name marks an unfinished write.
pub fn partial_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                // object_store's local backend stages writes as `<name>#<n>`; ours use
                // `.part` and tempfile's `.audioby-` prefix.
                if name.contains('#')
                    || name.ends_with(".part")
                    || name.contains(".tmp")
                    || name.starts_with(".audioby-")
                {
                    out.push(p);
                }
            }
        }
    }
    out
}
