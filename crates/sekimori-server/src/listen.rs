//! The connection loop: every connection has a deadline for its request head (which is
//! also the idle keep-alive timeout: the timer starts again when a connection waits for its
//! next request), connections beyond a cap are closed at once instead of queueing, and a
//! graceful shutdown has a deadline after which the connections still open are closed.
//!
//! Without these, clients that send half a request head and wait (slowloris) hold a
//! socket each for as long as they like, until the process runs out of file descriptors
//! and `/healthz` stops answering; and one such client keeps a stopping server alive.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The limits of the connection loop (`[server]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time a client has to send a complete request head, and the longest a kept-alive
    /// connection may wait idle for its next request.
    pub header_timeout: Duration,
    /// Connections served at once; the next one is closed as soon as it is accepted.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for requests in progress before it closes every
    /// connection still open.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What the loop counted.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused: AtomicU64,
    /// Connections closed by the shutdown deadline.
    pub cut_at_shutdown: AtomicU64,
}

/// Raises the soft limit of open files to the hard limit (where the system allows it), so
/// the connection cap rather than the descriptor limit decides. Returns the soft limit in
/// force afterwards, if known.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (limit.current, limit.maximum) {
        if cur < max {
            // Linux refuses more than fs.nr_open; a million is below every default.
            let want = max.min(1 << 20);
            let raised = rustix::process::Rlimit { current: Some(want), maximum: limit.maximum };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = getrlimit(Resource::Nofile);
            }
        }
    }
    limit.current
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the
/// requests in progress finish for up to `limits.shutdown_grace`, and closes the rest.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: ConnLimits,
    stats: Arc<ConnStats>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let (cut, _) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or a connection reset before accept): wait a
                    // little instead of spinning; the timeouts free descriptors.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(req.map(axum::body::Body::new)).await.unwrap_or_else(|e| match e {}))
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let mut cut = cut.subscribe();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                result = conn => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                }
                _ = cut.wait_for(|cut| *cut) => {
                    stats.cut_at_shutdown.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        let open = limits.max_connections - slots.available_permits();
        tracing::warn!(open, "shutdown deadline reached; closing the connections still open");
        let _ = cut.send(true);
        // The tasks drop their connections at once; wait for their slots, briefly.
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(1), slots.acquire_many(all)).await;
    }
    Ok(())
}
