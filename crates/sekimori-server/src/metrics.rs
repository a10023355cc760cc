//! `GET /metrics` in the Prometheus text format: requests and latencies per route class
//! (counted by a layer around the whole router), the gate's, the detection services' and
//! the delivery channels' counters ([`MetricSource`]s), and the process's own.
//!
//! Access (docs/configuration.md, `[metrics]`): on the main listener only with
//! `Authorization: Bearer <token>` whose SHA-256 is `metrics.token_sha256` (404 when that is
//! not set), and without a token on a separate `metrics.listen` address meant for the
//! monitoring network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sekimori_core::metrics::{Exposition, Kind, MetricSource};
use sekimori_core::ErrorCode;
use sha2::Digest;

use crate::problem::ApiError;
use crate::AppState;

/// Route classes: a bounded set of label values, whatever paths clients send.
pub const CLASSES: [&str; 12] = [
    "device",
    "relying",
    "admin",
    "ingest",
    "oidc",
    "session",
    "login",
    "app",
    "forward_auth",
    "health",
    "metrics",
    "other",
];

/// Upper bounds of the latency histogram, seconds (long-polls wait up to 60 s).
pub const LATENCY_BUCKETS: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

const STATUS: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The class of a request path.
pub fn class_of(path: &str) -> usize {
    let p = path.to_ascii_lowercase();
    let idx = |name: &str| CLASSES.iter().position(|c| *c == name).unwrap_or(CLASSES.len() - 1);
    let class = if p.starts_with("/api/v1/device/") {
        "device"
    } else if p.starts_with("/api/v1/logins/")
        || p.starts_with("/api/v1/assertions/")
        || p.starts_with("/api/v1/tickets")
        || p.starts_with("/api/v1/qr-sessions")
        || p.starts_with("/api/v1/factors/")
        || p.starts_with("/api/v1/passwords/")
    {
        "relying"
    } else if p.starts_with("/api/v1/admin/") {
        "admin"
    } else if p.starts_with("/api/v1/ingest") {
        "ingest"
    } else if p.starts_with("/oidc/") || p.starts_with("/.well-known/") {
        "oidc"
    } else if p.starts_with("/api/v1/session") {
        "session"
    } else if p.starts_with("/login")
        || p.starts_with("/logout")
        || p.starts_with("/enroll")
        || p.starts_with("/static/")
        || p.starts_with("/sdk/")
    {
        "login"
    } else if p == "/app" || p.starts_with("/app/") {
        "app"
    } else if p.starts_with("/api/v1/forward-auth/") {
        "forward_auth"
    } else if p == "/healthz" || p == "/readyz" {
        "health"
    } else if p == "/metrics" {
        "metrics"
    } else {
        "other"
    };
    idx(class)
}

/// Requests and latencies per route class.
#[derive(Debug)]
pub struct HttpMetrics {
    requests: [[AtomicU64; STATUS.len()]; CLASSES.len()],
    latency: [[AtomicU64; LATENCY_BUCKETS.len() + 1]; CLASSES.len()],
    micros: [AtomicU64; CLASSES.len()],
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            micros: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl HttpMetrics {
    /// One answered request.
    pub fn observe(&self, class: usize, status: u16, seconds: f64) {
        let s = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class][s].fetch_add(1, Ordering::Relaxed);
        let b = LATENCY_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(LATENCY_BUCKETS.len());
        self.latency[class][b].fetch_add(1, Ordering::Relaxed);
        self.micros[class].fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut Exposition) {
        out.family(
            "sekimori_http_requests_total",
            Kind::Counter,
            "HTTP requests answered, by route class and status class.",
        );
        for (c, class) in CLASSES.iter().enumerate() {
            for (s, status) in STATUS.iter().enumerate() {
                let n = self.requests[c][s].load(Ordering::Relaxed);
                if n > 0 || *status == "2xx" {
                    out.sample("sekimori_http_requests_total", &[("class", class), ("status", status)], n as f64);
                }
            }
        }
        out.family(
            "sekimori_http_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's head to its answer, by route class (long-polls included).",
        );
        for (c, class) in CLASSES.iter().enumerate() {
            let counts: Vec<u64> = self.latency[c].iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let sum = self.micros[c].load(Ordering::Relaxed) as f64 / 1e6;
            out.histogram(
                "sekimori_http_request_duration_seconds",
                &[("class", class)],
                &LATENCY_BUCKETS,
                &counts,
                sum,
            );
        }
    }
}

/// The registry behind `/metrics`.
pub struct Metrics {
    /// Requests per route class.
    pub http: HttpMetrics,
    token_sha256: Option<[u8; 32]>,
    sources: RwLock<Vec<Arc<dyn MetricSource>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("token", &self.token_sha256.is_some()).finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

impl Metrics {
    /// A registry; `/metrics` on the main listener needs a bearer token hashing to
    /// `token_sha256`, and answers 404 without one configured.
    pub fn new(token_sha256: Option<[u8; 32]>) -> Self {
        Metrics { http: HttpMetrics::default(), token_sha256, sources: RwLock::new(Vec::new()) }
    }

    /// Adds a source of metric families (a delivery channel, a listener, …).
    pub fn register(&self, source: Arc<dyn MetricSource>) {
        self.sources.write().unwrap_or_else(|p| p.into_inner()).push(source);
    }

    /// The exposition for `state`.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = Exposition::new();
        self.http.write(&mut out);
        out.single(
            "sekimori_rate_limited_total",
            Kind::Counter,
            "Requests refused by the per-network rate limits.",
            state.limiter.refused.load(Ordering::Relaxed) as f64,
        );
        state.gate.write_metrics(&mut out);
        state.watch.write_metrics(&mut out);
        for s in self.sources.read().unwrap_or_else(|p| p.into_inner()).iter() {
            s.write_metrics(&mut out);
        }
        crate::process_metrics::write(&mut out);
        out.finish()
    }

    fn authorized(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(want) = &self.token_sha256 else {
            return Err(ApiError::new(ErrorCode::NotFound, "no such endpoint"));
        };
        let token = crate::extract::bearer(headers)?;
        let got: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if sekimori_core::token::ct_eq(&got, want) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Unauthorized, "the metrics token is not valid"))
        }
    }
}

fn exposition(text: String) -> Response {
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r
}

/// `GET /metrics` on the main listener (bearer token).
pub(crate) async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    s.metrics.authorized(&headers)?;
    Ok(exposition(s.metrics.render(&s)))
}

/// `GET /metrics` on the separate metrics listener (no token: the address is the guard).
pub(crate) async fn metrics_open(State(s): State<AppState>) -> Response {
    exposition(s.metrics.render(&s))
}

/// Counts every request by route class, status and time.
pub(crate) async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let class = class_of(req.uri().path());
    #[allow(clippy::disallowed_methods)] // reason: a metric of elapsed time; nothing decides on it
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    m.http.observe(class, resp.status().as_u16(), started.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_a_bounded_set_of_classes() {
        let class = |p: &str| CLASSES[class_of(p)];
        assert_eq!(class("/api/v1/device/standby"), "device");
        assert_eq!(class("/api/v1/logins/push/0193"), "relying");
        assert_eq!(class("/api/v1/admin/users"), "admin");
        assert_eq!(class("/API/V1/ADMIN/users"), "admin");
        assert_eq!(class("/api/v1/ingest"), "ingest");
        assert_eq!(class("/oidc/token"), "oidc");
        assert_eq!(class("/app/sw.js"), "app");
        assert_eq!(class("/metrics"), "metrics");
        assert_eq!(class("/anything/../else"), "other");
    }

    #[test]
    fn observations_land_in_their_buckets() {
        let h = HttpMetrics::default();
        h.observe(0, 201, 0.002);
        h.observe(0, 404, 100.0);
        let mut out = Exposition::new();
        h.write(&mut out);
        let text = out.finish();
        assert!(text.contains("sekimori_http_requests_total{class=\"device\",status=\"2xx\"} 1\n"), "{text}");
        assert!(text.contains("sekimori_http_requests_total{class=\"device\",status=\"4xx\"} 1\n"), "{text}");
        assert!(
            text.contains("sekimori_http_request_duration_seconds_bucket{class=\"device\",le=\"0.0025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sekimori_http_request_duration_seconds_bucket{class=\"device\",le=\"+Inf\"} 2\n"),
            "{text}"
        );
    }
}
