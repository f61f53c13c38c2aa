//! The HTTP listener: accepts at most `max_connections` connections at once (a new one waits for
//! a free slot), serves each with hyper under a header read timeout that also closes idle
//! keep-alive and slow-header connections, and on shutdown stops accepting and lets requests in
//! flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one client can hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Time a connection may take to send a request's headers, and may stay idle between
    /// requests, before it is closed.
    pub header_read_timeout: Duration,
    /// After `shutdown`, how long open connections may finish their requests.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections finish for
/// at most `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // A streamed answer ends in a small last write: without this, Nagle's algorithm
                    // holds it until the client's delayed ACK, some 40 ms later.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(error = %e, "TCP_NODELAY could not be set");
                    }
                    stream
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // HTTP/1.1 only (what the vendors' SDKs speak): telling HTTP/2 apart would first wait for
        // bytes that an idle client never sends, before any timeout runs.
        let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
        builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_secs = limits.shutdown_grace.as_secs_f64(),
            "connections still open at the stop deadline were closed"
        );
    }
    Ok(())
}
