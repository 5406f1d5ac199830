//! A throwaway PostgreSQL 15 cluster for tests: `initdb` into a temp dir, `postgres` on a free
//! port of 127.0.0.1 with its unix socket in that dir, `fsync=off`. One shared cluster per test
//! binary, one database per test ([`fresh_database`]); a test that
//! stops and restarts the server starts a cluster of its own ([`PgCluster::start`]).
//!
//! `initdb` and `postgres` refuse to run as root, so as root they run as `postgres` through
//! `setpriv`, which execs directly: the postmaster is our child, and we kill and wait on it
//! (`pg_ctl stop` returns while the old postmaster still answers). The shared cluster outlives
//! every test, so it is stopped at exit (`atexit`) and, if the test binary is killed, by the
//! parent-death signal `setpriv --pdeathsig` sets after dropping privileges.
//!
//! Used by the integration tests (`tests/common`) and, through `#[path]`, by the library's
//! unit tests (the repository contract suite against PostgreSQL).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running cluster. Dropping it kills the postmaster and removes its files.
pub struct PgCluster {
    child: Option<Child>,
    dir: PathBuf,
    pub port: u16,
    /// Only for the shared cluster, whose spawning thread lives as long as the process.
    pdeathsig: bool,
}

/// A PostgreSQL cluster is installed (`scripts/setup` installs `postgresql-15`).
pub fn available() -> bool {
    Path::new(BIN).join("postgres").exists()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command run as `postgres` when we are root, else as ourselves. With `pdeathsig`, the
/// server gets SIGKILL when the thread that spawned it ends (a killed test binary leaves no
/// server behind); `setpriv` sets it after dropping privileges, which would clear it.
fn pg_command(program: &str, pdeathsig: bool) -> Command {
    let exe = Path::new(BIN).join(program);
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
        if pdeathsig {
            c.arg("--pdeathsig=SIGKILL");
        }
        c.arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// A port nobody listens on right now (PostgreSQL cannot bind port 0 and report it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl PgCluster {
    /// `initdb` a new cluster in a temp dir and start it; returns once it accepts connections.
    pub fn start() -> PgCluster {
        PgCluster::start_with(false)
    }

    fn start_with(pdeathsig: bool) -> PgCluster {
        assert!(
            available(),
            "PostgreSQL 15 is not installed: run scripts/setup (apt install postgresql-15)"
        );
        let dir = tempfile::Builder::new()
            .prefix("audioby-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        if is_root() {
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.display());
        }
        let out = pg_command("initdb", false)
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = PgCluster {
            child: None,
            dir,
            port: free_port(),
            pdeathsig,
        };
        cluster.resume();
        cluster
    }

    /// Start the postmaster on the cluster's port (again, after [`PgCluster::stop`]).
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let child = pg_command("postgres", self.pdeathsig)
                .arg("-D")
                .arg(self.dir.join("data"))
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-k")
                .arg(&self.dir)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn postgres");
            self.child = Some(child);
            if self.wait_ready(deadline) {
                return;
            }
            // It exited (the port was taken meanwhile, or the old one not yet released).
            self.child = None;
            assert!(
                Instant::now() < deadline,
                "postgres did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True once `pg_isready` says yes; false if the postmaster exited.
    fn wait_ready(&mut self, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
            }
            let ok = Command::new(Path::new(BIN).join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stop the server at once (SIGINT: fast shutdown, clients cut off) and wait for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: the pid is our own, not yet reaped child.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGINT);
            }
            let _ = child.wait();
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database of its own; returns its URL.
    pub async fn fresh_database(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.create_database(&name).await
    }

    /// Create the database `name` (which must be a plain identifier); returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        create_database(self.port, name).await
    }
}

/// A fast shutdown (SIGINT), so the postmaster reaps its backends before it goes.
impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static SHARED: OnceLock<Mutex<Option<PgCluster>>> = OnceLock::new();

extern "C" fn stop_shared_cluster() {
    if let Some(m) = SHARED.get() {
        if let Ok(mut c) = m.lock() {
            drop(c.take());
        }
    }
}

/// The test binary's one cluster, started on first use and stopped when the binary exits.
/// Its port; [`fresh_database`] makes a database on it.
pub fn shared_port() -> u16 {
    let m = SHARED.get_or_init(|| {
        // The postmaster's parent-death signal fires when the thread that spawned it ends, so
        // it is spawned from a thread that lives as long as the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(PgCluster::start_with(true));
            loop {
                std::thread::park();
            }
        });
        let cluster = rx.recv().expect("the test cluster starts");
        // SAFETY: registering a plain extern "C" fn with no arguments.
        unsafe {
            libc::atexit(stop_shared_cluster);
        }
        Mutex::new(Some(cluster))
    });
    m.lock().unwrap().as_ref().expect("cluster running").port
}

/// A fresh database on the shared cluster: one per test.
pub async fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}", N.fetch_add(1, Ordering::SeqCst));
    create_database(shared_port(), &name).await
}

async fn create_database(port: u16, name: &str) -> String {
    use sqlx::Connection;
    let url = |db: &str| format!("postgres://postgres@127.0.0.1:{port}/{db}");
    let mut admin = sqlx::PgConnection::connect(&url("postgres"))
        .await
        .expect("connect to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    url(name)
}
