//! Sekimori's HTTP server: thin axum handlers over the [`sekimori_gate::Gate`] and the
//! [`sekimori_watch::Watch`].
//! Every error is an RFC 9457 problem document; every body is size-limited; every
//! request type refuses unknown fields.

pub(crate) mod authz;
pub mod extract;
mod guard;
pub mod limits;
pub mod listen;
pub mod mask;
pub mod metrics;
pub mod problem;
mod process_metrics;
pub mod qr;
pub mod responder;
mod routes;
pub mod user_mail;

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sekimori_core::ErrorCode;
use sekimori_gate::Gate;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::problem::ApiError;

/// The Subresource Integrity value (`sha384-…`) of a script or style, for `integrity=`.
pub fn sri(body: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(body.as_bytes())))
}

/// The JS snippet's Subresource Integrity value (`sha384-…`), for `<script integrity>`.
pub fn sdk_integrity() -> String {
    sri(routes::SDK_SCRIPT)
}

#[cfg(test)]
mod readme_tests {
    /// The README's copy-paste snippet carries the integrity of the script this build serves.
    #[test]
    fn the_readme_snippet_has_the_current_sri_hash() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
        let sri = super::sdk_integrity();
        assert!(readme.contains(&format!("integrity=\"{sri}\"")), "README.md must show integrity=\"{sri}\"");
    }
}

/// Default free space `/readyz` asks of the embedded store's disk: 64 MiB.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 << 20;
/// Default body limit: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// Audit events run through the rules per read (the follower reads again at once when a
/// read was full).
const AUDIT_FOLLOW_BATCH: i64 = 1000;
/// Longest long-poll a client may ask for, seconds.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The gate services.
    pub gate: Gate,
    /// The detection services.
    pub watch: sekimori_watch::Watch,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` names the client (`[server]
    /// trusted_proxies`); none by default: the TCP peer is the client.
    pub trusted_proxies: sekimori_core::net::TrustedProxies,
    /// Rate limits per client network on unauthenticated creating endpoints.
    pub limiter: std::sync::Arc<limits::RateLimiter>,
    /// Free space the embedded store's disk must have for `/readyz` to answer ready.
    pub min_free_bytes: u64,
    /// The `/metrics` registry (requests are counted into it by a layer of the router).
    pub metrics: std::sync::Arc<metrics::Metrics>,
}

/// The complete application router.
pub fn router(state: AppState) -> Router {
    let guard_state = state.clone();
    let metrics = state.metrics.clone();
    routes::router(&state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard_state.clone(), guard::admin_guard))
        .layer(axum::middleware::from_fn_with_state(guard_state, routes::rate_limit))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().on_failure(
                |class: tower_http::classify::ServerErrorsFailureClass, latency: Duration, _: &tracing::Span| {
                    // A 503 is load shedding (the password queue, readiness), which the
                    // answer explains to the client; an operator sees it as a warning.
                    let shed = matches!(class, tower_http::classify::ServerErrorsFailureClass::StatusCode(c) if c == StatusCode::SERVICE_UNAVAILABLE);
                    if shed {
                        tracing::warn!(classification = %class, ?latency, "request shed");
                    } else {
                        tracing::error!(classification = %class, ?latency, "response failed");
                    }
                },
            ),
        )
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
}

/// Serves a separate metrics listener (`[metrics] listen`): `GET /metrics` without a
/// token, nothing else; until the task is dropped.
pub async fn serve_metrics(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", axum::routing::get(metrics::metrics_open))
        .fallback(not_found)
        .with_state(state);
    axum::serve(listener, app).await
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this method is not allowed here")
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut r = ApiError::new(ErrorCode::Internal, "internal error").into_response();
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

/// Serves `router` on `listener` until `shutdown` resolves. The background work (the
/// housekeeping of the gate and of ingest, the audit follower) belongs to those services
/// and is started beside this with [`start_background`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, listen::ConnLimits::default(), Default::default()).await
}

/// [`serve`] with the connection loop's limits; `stats` counts its connections.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: listen::ConnLimits,
    stats: std::sync::Arc<listen::ConnStats>,
) -> std::io::Result<()> {
    listen::serve_connections(listener, router(state), shutdown, limits, stats).await
}

/// Starts the services' background loops: the gate's housekeeping (expired nonces and
/// single-use rows) and ingest's (events past their retention) once a minute, and
/// Sekimori's own new audit events through the detection rules once a second, the
/// search fields' index over events stored before each field was (step by step, then once a
/// minute), the search index's newest rows moved into its ordered table every 2 s, and
/// alert delivery (stored alerts to the routing document's receivers) once a second.
/// Aborting the returned handles stops them.
pub fn start_background(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![
        tokio::spawn(state.gate.devices().clone().run_housekeeping(Duration::from_secs(60))),
        tokio::spawn(state.watch.clone().run_housekeeping(Duration::from_secs(60))),
        tokio::spawn(state.watch.clone().run_audit_follower(Duration::from_secs(1), AUDIT_FOLLOW_BATCH)),
        tokio::spawn(state.watch.clone().run_search_indexer(Duration::from_millis(100), Duration::from_secs(60))),
        tokio::spawn(state.watch.clone().run_index_merger(Duration::from_secs(2))),
    ];
    let settings = sekimori_watch::dispatch::DispatchSettings::new(state.gate.public_url());
    match sekimori_watch::dispatch::Dispatcher::new(state.watch.clone(), settings) {
        Ok(dispatcher) => tasks.push(tokio::spawn(dispatcher.run(Duration::from_secs(1)))),
        Err(e) => tracing::error!(error = %e, "alert delivery cannot start; alerts are stored and not notified"),
    }
    tasks
}

/// Parses a `wait` query value into a bounded duration.
pub fn wait_duration(wait: Option<u64>) -> Duration {
    Duration::from_secs(wait.unwrap_or(0).min(MAX_WAIT_SECONDS))
}
