//! Accepting connections, and keeping hostile or forgetful clients from holding them. Like
//! `axum::serve`, plus what it lacks:
//! - **Timeouts:** a client has `header_read_timeout` to send a whole request head (counted
//!   from connecting, or from the first byte of a later request), and a kept-alive connection
//!   may sit idle for `keep_alive_timeout` between requests. Each connection tracks its own
//!   state ([`ConnState`]): requests in flight (until the response body ends), when it went
//!   idle, when the bytes of a new head began. hyper's own header timer cannot tell idle from
//!   slow, so it only backs ours up.
//! - **A connection cap,** kept under the process's file limit: at the cap, the connection
//!   idle the longest is closed to make room (slow-header clients first of all, as they are
//!   idle too), and only when every connection is busy does a newcomer get a bare 503.
//! - **Shutdown:** the listener closes, idle and half-sent connections close at once,
//!   in-flight responses get `shutdown_timeout` to finish, then everything closes.
//! - **hyper's own error answers** (400, 414, 431 for requests it cannot parse) get the API's
//!   JSON body: see [`Watched`].
//!
//! hyper's HTTP/1 limits are set well above ours: it answers a request over them before any
//! layer runs, so they only refuse absurd requests, and everything in between gets the JSON
//! 431 from [`super::error::limit_header_bytes`]. HTTP/2 without TLS is off unless `[http]
//! h2c`. Connections use TCP_NODELAY, as nginx does for keep-alive.
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

use crate::config::HttpSettings;

/// Header fields per request hyper parses (its default is 100).
const MAX_HEADER_FIELDS: usize = 1000;

/// File descriptors kept free for everything but client connections (database, store,
/// voice files, logs).
const RESERVED_FILES: u64 = 64;

/// hyper's read buffer, which bounds the whole header block: far above the configured
/// limit, never below 1 MiB.
fn read_buffer_bytes(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(16).max(1 << 20)
}

/// What [`serve`] needs from `[http]`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
    pub h2c: bool,
}

impl ServeOptions {
    pub fn from_settings(http: &HttpSettings) -> Self {
        Self {
            max_header_bytes: http.max_header_bytes,
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs.max(1)),
            keep_alive_timeout: Duration::from_secs(http.keep_alive_timeout_secs.max(1)),
            max_connections: http.max_connections.max(1),
            shutdown_timeout: Duration::from_secs(http.shutdown_timeout_secs),
            h2c: http.h2c,
        }
    }
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds since the first call, never 0 (0 means "not set" in [`ConnState`]).
fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64 + 1
}

/// The instant of a [`now_ms`] reading.
fn instant_at(ms: u64) -> tokio::time::Instant {
    tokio::time::Instant::from_std(*EPOCH + Duration::from_millis(ms.saturating_sub(1)))
}

/// One connection's bookkeeping, shared by its task, its requests and its socket.
struct ConnState {
    /// Requests in flight: from the head's arrival to the end (or drop) of the response body.
    active: AtomicUsize,
    /// When the last request finished (or the connection opened).
    idle_since: AtomicU64,
    /// When the head being waited for began: the connection's opening, or the first byte of
    /// a later request. 0 while idle between requests or while a request is in flight.
    head_since: AtomicU64,
    /// Set when the cap chose this connection to close.
    evicted: AtomicBool,
    /// Wakes the connection's task to look at its deadline again.
    wake: Notify,
}

impl ConnState {
    fn new() -> Self {
        let now = now_ms();
        Self {
            active: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            head_since: AtomicU64::new(now),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// When the connection is to be closed, unless something happens first; `None` while a
    /// request is in flight (requests have their own timeout).
    fn deadline_ms(&self, o: &ServeOptions) -> Option<u64> {
        if !self.is_idle() {
            return None;
        }
        match self.head_since.load(Ordering::Acquire) {
            0 => Some(
                self.idle_since.load(Ordering::Acquire) + o.keep_alive_timeout.as_millis() as u64,
            ),
            head => Some(head + o.header_read_timeout.as_millis() as u64),
        }
    }

    /// Since when an idle connection has waited for anything (the cap closes the oldest).
    fn waiting_since(&self) -> u64 {
        match self.head_since.load(Ordering::Acquire) {
            0 => self.idle_since.load(Ordering::Acquire),
            head => head,
        }
    }
}

/// Marks one request in flight on its connection; dropped with the response body.
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn start(state: &Arc<ConnState>) -> Self {
        state.active.fetch_add(1, Ordering::AcqRel);
        state.head_since.store(0, Ordering::Release);
        InFlight(Arc::clone(state))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle_since.store(now_ms(), Ordering::Release);
            self.0.wake.notify_one();
        }
    }
}

/// A response body that keeps its request counted as in flight until it ends.
struct Tracked {
    inner: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, watched: the first byte of a new request head starts the header timer, and
/// hyper's own bodiless 4xx answers (requests it could not parse) are rewritten with the
/// API's JSON error body. hyper writes each flush as one buffer (vectored writes are off
/// here), so such an answer is always whole in one `poll_write`.
struct Watched {
    inner: TcpStream,
    state: Arc<ConnState>,
    /// A rewritten answer being written: the bytes, how many are out, and the length of
    /// hyper's buffer to report once they all are.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let s = &self.state;
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && s.is_idle()
            && s.head_since.load(Ordering::Acquire) == 0
        {
            s.head_since.store(now_ms(), Ordering::Release);
            s.wake.notify_one();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.rewrite.is_none() {
            if let Some(json) = json_for_bare_error(buf) {
                self.rewrite = Some((json, 0, buf.len()));
            }
        }
        let this = &mut *self;
        if let Some((bytes, written, reported)) = &mut this.rewrite {
            while *written < bytes.len() {
                match Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                    Poll::Ready(Ok(n)) => *written += n,
                    other => return other,
                }
            }
            let n = *reported;
            this.rewrite = None;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper's automatic answer to a request it could not parse is a 400, 414 or 431 head with
/// `content-length: 0` and no content type. Every answer of ours to a 4xx has a JSON body,
/// so such a head is hyper's: give it the same body as every other error.
fn json_for_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 4")?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0") {
        return None;
    }
    let status = std::str::from_utf8(rest.get(..2)?).ok()?;
    let (code, message) = match status {
        "00" => ("bad-request", "the request could not be parsed as HTTP/1.1"),
        "14" => ("uri-too-long", "the request target is too long"),
        "31" => ("headers-too-large", "the request headers are too large"),
        _ => return None,
    };
    let body = serde_json::to_vec(&super::ErrorBody::new(code, message)).ok()?;
    let mut out = Vec::with_capacity(end + body.len() + 96);
    for line in buf[..end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.to_ascii_lowercase().starts_with(b"content-length:") {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-type: application/json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

/// The open connections, for the cap.
#[derive(Default)]
struct Registry {
    next: u64,
    conns: HashMap<u64, Arc<ConnState>>,
}

impl Registry {
    /// At the cap: ask the connection idle the longest to close. `false` if none is idle.
    fn evict_one(&self) -> bool {
        let victim = self
            .conns
            .values()
            .filter(|c| c.is_idle() && !c.evicted.load(Ordering::Acquire))
            .min_by_key(|c| c.waiting_since());
        match victim {
            Some(c) => {
                c.evicted.store(true, Ordering::Release);
                c.wake.notify_one();
                true
            }
            None => false,
        }
    }

    /// Connections not already on their way out.
    fn open(&self) -> usize {
        self.conns
            .values()
            .filter(|c| !c.evicted.load(Ordering::Acquire))
            .count()
    }
}

/// The cap actually applied: the configured one, kept under the file limit (raised to its
/// hard maximum first, as most servers do).
fn effective_max_connections(configured: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    let files = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return configured;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        lim.rlim_cur
    };
    let room = if files > 2 * RESERVED_FILES {
        files - RESERVED_FILES
    } else {
        files / 2
    };
    let cap = configured
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(1);
    if cap < configured {
        tracing::info!(
            configured,
            cap,
            file_limit = files,
            "http.max_connections lowered to fit the open-file limit"
        );
    }
    cap
}

/// The answer to a connection over the cap when every open one is busy: a fixed 503 written
/// straight to the socket, never parsed or routed.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"error":{"code":"too-many-connections","message":"the server has too many open connections; retry shortly"}}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serve `app` on `listener` until `shutdown` resolves, then close idle connections, give
/// in-flight responses `shutdown_timeout`, and close the rest. Handlers see the peer address
/// as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // A backstop only: hyper's timer also runs while a connection is idle, so it is set
        // above both of ours (see the module comment).
        .header_read_timeout(opts.header_read_timeout + opts.keep_alive_timeout)
        .max_headers(MAX_HEADER_FIELDS)
        .max_buf_size(read_buffer_bytes(opts.max_header_bytes));
    if !opts.h2c {
        builder = builder.http1_only();
    }
    let max_connections = effective_max_connections(opts.max_connections);
    let opts = Arc::new(opts);
    let registry = Arc::new(Mutex::new(Registry::default()));
    // `stop`: finish up; `force`: close now. `done` closes once every connection task ended.
    let (stop, stop_rx) = watch::channel(false);
    let (force, force_rx) = watch::channel(false);
    let (done, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::new(ConnState::new());
        let id = {
            let mut reg = registry.lock().unwrap_or_else(|e| e.into_inner());
            if reg.open() >= max_connections && !reg.evict_one() {
                drop(reg);
                tracing::debug!(%peer, "connection refused: every connection is busy");
                tokio::spawn(refuse(stream));
                continue;
            }
            reg.next += 1;
            let id = reg.next;
            reg.conns.insert(id, Arc::clone(&state));
            id
        };
        let io = Watched {
            inner: stream,
            state: Arc::clone(&state),
            rewrite: None,
        };
        let app = app.clone();
        let conn_state = Arc::clone(&state);
        let service = tower::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let in_flight = InFlight::start(&conn_state);
            let app = app.clone();
            async move {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let res = app.oneshot(req).await?;
                Ok::<_, std::convert::Infallible>(res.map(|inner| Tracked {
                    inner,
                    _in_flight: in_flight,
                }))
            }
        });
        let builder = builder.clone();
        let opts = Arc::clone(&opts);
        let registry = Arc::clone(&registry);
        let mut stop_rx = stop_rx.clone();
        let mut force_rx = force_rx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            // Not `serve_connection_with_upgrades`: it ignores `http1_only`, so h2c would
            // always be spoken (audioby has no upgradable routes).
            let conn =
                builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                if state.is_idle() && (state.evicted.load(Ordering::Acquire) || stopping) {
                    break;
                }
                let deadline = state.deadline_ms(&opts);
                if deadline.is_some_and(|d| d <= now_ms()) {
                    tracing::debug!(%peer, "connection closed: timed out waiting for a request");
                    break;
                }
                // With a request in flight there is no deadline; the end of it wakes us.
                let sleep = tokio::time::sleep_until(instant_at(
                    deadline.unwrap_or_else(|| now_ms() + 86_400_000),
                ));
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = state.wake.notified() => {}
                    () = sleep, if deadline.is_some() => {}
                    _ = stop_rx.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    _ = force_rx.changed() => break,
                }
            }
            registry
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .conns
                .remove(&id);
            drop(done_rx);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(done_rx);
    if tokio::time::timeout(opts.shutdown_timeout, done.closed())
        .await
        .is_err()
    {
        let left = registry.lock().map(|r| r.conns.len()).unwrap_or(0);
        tracing::warn!(
            connections = left,
            timeout = ?opts.shutdown_timeout,
            "shutdown: responses still running after the timeout; closing their connections"
        );
        let _ = force.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(1), done.closed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::json_for_bare_error;

    #[test]
    fn only_hypers_bare_error_heads_are_rewritten() {
        let bare =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(json_for_bare_error(bare).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        assert!(out.contains("\"code\":\"headers-too-large\""), "{out}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{out}"
        );
        assert!(!head.contains("content-length: 0"), "{out}");
        for ours in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nextra",
        ] {
            assert!(json_for_bare_error(ours).is_none());
        }
    }
}
