//! Accepting connections. Like `axum::serve`, with hyper's own HTTP/1 limits set well above
//! ours: hyper answers a request over its limits with a bare 431 before any layer runs, so
//! they only refuse absurd requests, and everything in between gets the JSON 431 from
//! [`super::error::limit_header_bytes`]. Connections use TCP_NODELAY, as nginx does for
//! keep-alive. On shutdown the listener closes and in-flight requests finish.
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Header fields per request hyper parses (its default is 100).
const MAX_HEADER_FIELDS: usize = 1000;

/// hyper's read buffer, which bounds the whole header block: far above the configured
/// limit, never below 1 MiB.
fn read_buffer_bytes(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(16).max(1 << 20)
}

/// Serve `app` on `listener` until `shutdown` resolves, then wait for open connections to
/// finish their requests. Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_header_bytes: usize,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_headers(MAX_HEADER_FIELDS)
        .max_buf_size(read_buffer_bytes(max_header_bytes));
    // Dropping `stop` tells connections to finish; `done` closes once all have.
    let (stop, stop_rx) = watch::channel(());
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
        let service = app.clone().map_request(move |req: axum::http::Request<_>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let builder = builder.clone();
        let mut stop_rx = stop_rx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(done_rx);
        });
    }
    drop(listener);
    drop(stop);
    drop(done_rx);
    done.closed().await;
}
