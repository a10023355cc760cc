//! Typed extractors: credentials become [`AdminAuth`], [`AppAuth`] or a verified
//! [`SignedDevice`]; bodies and queries become typed values or a problem document.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sekimori_core::{ErrorCode, Timestamp};
use sekimori_gate::device_auth::{headers, SignedRequest};
use sekimori_gate::GateError;
use sekimori_store::{AdminToken, App, Device, User};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, ApiResult};
use crate::AppState;

pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "an Authorization: Bearer credential is required"))
}

/// `text` as an RFC 3339 time; `invalid_request` naming `field` otherwise.
pub(crate) fn rfc3339(field: &'static str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(text).ok_or_else(|| ApiError::invalid(field, format!("{field}: {text:?} is not an RFC 3339 time")))
}

/// An authenticated admin.
#[derive(Debug)]
pub struct AdminAuth(pub AdminToken);

impl<S> FromRequestParts<S> for AdminAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if let Some(token) = crate::guard::authenticated(parts) {
            if parts.extensions.get::<crate::authz::Authorized>().is_none() {
                // A route added without a requirement: what the admin role may do only.
                let need = sekimori_gate::roles::Need {
                    requirement: sekimori_gate::roles::Requirement::AdminOnly,
                    username: None,
                    group: None,
                    write: !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD),
                    group_structure: false,
                };
                state.gate.roles().authorize(&token, &need).await?;
            }
            return Ok(AdminAuth(token));
        }
        // Outside the guarded paths only a full admin passes.
        let token = state.gate.admin().authenticate_admin(bearer(&parts.headers)?).await?;
        if token.role != sekimori_gate::roles::Role::Admin {
            return Err(ApiError::new(ErrorCode::Forbidden, "this endpoint is for the admin role"));
        }
        Ok(AdminAuth(token))
    }
}

/// An authenticated relying party or verifier.
#[derive(Debug)]
pub struct AppAuth(pub App);

impl<S> FromRequestParts<S> for AppAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let app = state.gate.apps().authenticate_app(bearer(&parts.headers)?).await?;
        Ok(AppAuth(app))
    }
}

pub(crate) async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| {
        ApiError::new(ErrorCode::PayloadTooLarge, format!("the body exceeds {limit} bytes or could not be read"))
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))
}

fn require_json(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::UnsupportedMediaType, "the body must be application/json"))
    }
}

/// A JSON body (unknown fields refused by the target type), size-limited.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).body_limit;
        let headers = req.headers().clone();
        let body = read_body(req, limit).await?;
        require_json(&headers, &body)?;
        Ok(ApiJson(parse_json(&body)?))
    }
}

/// An HTML form post (`application/x-www-form-urlencoded`), size-limited, unknown fields
/// refused, errors as problem documents.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<S, T> FromRequest<S> for PageForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).body_limit;
        let form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = read_body(req, limit).await?;
        serde_urlencoded::from_bytes(&body)
            .map(PageForm)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("invalid form: {e}")))
    }
}

/// Query parameters, with errors as problem documents.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("invalid query: {}", e.body_text())))
    }
}

/// Largest ingest body on the wire (compressed or not), bytes.
pub const MAX_INGEST_BODY: usize = 4 << 20;
/// Largest Windows event log file (`application/x-evtx`) accepted in one request, bytes as
/// sent (EVTX files are fixed 64 KiB chunks, mostly empty space when small).
pub const MAX_EVTX_BODY: usize = 16 << 20;

/// The log source an ingest request declares in its query (`product`, `service`,
/// `category`), checked to be Sigma log-source names.
#[derive(Debug)]
pub struct Declared(pub sekimori_watch::DeclaredLogSource);

impl<S: Send + Sync> FromRequestParts<S> for Declared {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiQuery(declared) =
            ApiQuery::<sekimori_watch::DeclaredLogSource>::from_request_parts(parts, state).await?;
        declared.validate().map_err(|e| ApiError(e.into()))?;
        Ok(Declared(declared))
    }
}

/// An authenticated ingest source (its key as the bearer credential).
#[derive(Debug)]
pub struct SourceAuth(pub sekimori_store::IngestSource);

impl<S> FromRequestParts<S> for SourceAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(SourceAuth(state.watch.authenticate_source(bearer(&parts.headers)?).await?))
    }
}

/// What an ingest body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestFormat {
    /// JSON events: NDJSON, or one JSON event or array.
    Json,
    /// A Windows event log file.
    Evtx,
}

/// An ingest body: its format and encoding from the headers (refused with
/// `unsupported_media_type` before anything is read), read only once an ingest slot is
/// free (the slot is held until the request ends), within the format's size limit.
#[derive(Debug)]
pub struct IngestBody {
    /// The format.
    pub format: IngestFormat,
    /// Whether the body is gzip-compressed.
    pub gzip: bool,
    /// The body as sent.
    pub bytes: Bytes,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl<S> FromRequest<S> for IngestBody
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (format, gzip) = ingest_kind(req.headers())?;
        let slot = AppState::from_ref(state).watch.admit().await?;
        let limit = match format {
            IngestFormat::Json => MAX_INGEST_BODY,
            IngestFormat::Evtx => MAX_EVTX_BODY,
        };
        Ok(IngestBody { format, gzip, bytes: read_body(req, limit).await?, _slot: slot })
    }
}

/// The format and encoding an ingest request's headers declare.
fn ingest_kind(headers: &HeaderMap) -> Result<(IngestFormat, bool), ApiError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    let mime = header(CONTENT_TYPE).unwrap_or_default();
    let format = match mime.split(';').next().unwrap_or_default().trim() {
        "application/json" | "application/x-ndjson" | "application/ndjson" => IngestFormat::Json,
        "application/x-evtx" | "application/vnd.ms-evtx" => IngestFormat::Evtx,
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send application/x-ndjson (one event per line), application/json (an event or an array) \
                 or application/x-evtx (a Windows event log file)",
            ))
        }
    };
    let gzip = match header(axum::http::header::CONTENT_ENCODING).as_deref() {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Content-Encoding {other} is not accepted (gzip or none)"),
            ))
        }
    };
    Ok((format, gzip))
}

/// A verified, signed device request with its JSON body.
#[derive(Debug)]
pub struct SignedDevice<T> {
    /// The device that signed.
    pub device: Device,
    /// Its user.
    pub user: User,
    /// The body.
    pub body: T,
}

impl<S, T> FromRequest<S> for SignedDevice<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let method = req.method().as_str().to_owned();
        let path =
            req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| req.uri().path().to_owned());
        let hdrs = req.headers().clone();
        let body = read_body(req, state.body_limit).await?;
        let h = |name: &str| hdrs.get(name).and_then(|v| v.to_str().ok());
        let signed = SignedRequest {
            device_id: h(headers::DEVICE),
            timestamp: h(headers::TIMESTAMP),
            nonce: h(headers::NONCE),
            signature: h(headers::SIGNATURE),
            method: &method,
            path: &path,
            body: &body,
        };
        let (device, user) = state.gate.devices().verify_device_request(&signed).await?;
        require_json(&hdrs, &body)?;
        Ok(SignedDevice { device, user, body: parse_json(&body)? })
    }
}

/// An empty JSON object body (`{}` or nothing); any member is refused.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// The client of a hosted page: its address (the TCP peer, or behind a trusted proxy the
/// address the proxy names) and user agent.
#[derive(Debug)]
pub struct PageClient(pub sekimori_gate::push::ClientInfo);

/// The client's address as [`PageClient`] sees it.
pub fn client_ip(parts: &Parts, trusted: &sekimori_core::net::TrustedProxies) -> Option<std::net::IpAddr> {
    client_ip_of(&parts.headers, &parts.extensions, trusted)
}

/// [`client_ip`] from a request's headers and extensions.
pub fn client_ip_of(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trusted: &sekimori_core::net::TrustedProxies,
) -> Option<std::net::IpAddr> {
    let peer = extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|ConnectInfo(a)| a.ip())?;
    let values = |name: &str| -> Vec<&str> { headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect() };
    let (xff, fwd) = (values("x-forwarded-for"), values("forwarded"));
    Some(trusted.client(peer, &sekimori_core::net::forwarded_hops(&xff, &fwd)))
}

/// The cookie the hosted login page keeps its review id in (risk: the id sent with the
/// browser's signals and to external providers).
pub const REVIEW_COOKIE: &str = "sekimori_review";

/// Whether `id` is a review id as pages make them: 16 to 64 base64url characters.
pub fn is_review_id(id: &str) -> bool {
    (16..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Bounds on what a browser reports: a user agent of at most 1024 bytes.
pub fn check_signals(s: &sekimori_risk::BrowserSignals) -> Result<(), &'static str> {
    match &s.user_agent {
        Some(u) if u.len() > 1024 => Err("user_agent is longer than 1024 bytes"),
        _ => Ok(()),
    }
}

/// The browser's signals as the hosted page's form sends them (a JSON text in the hidden
/// `signals` field): none when the field is empty (no script ran), an error naming the
/// field when it does not read.
pub fn form_signals(text: Option<&str>) -> ApiResult<Option<sekimori_risk::BrowserSignals>> {
    let bad = |m: String| {
        ApiError(GateError::new(ErrorCode::InvalidRequest, format!("signals: {m}")).with("field", "signals"))
    };
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.len() > 2048 => Err(bad("longer than 2048 bytes".into())),
        Some(t) => {
            let s: sekimori_risk::BrowserSignals = serde_json::from_str(t).map_err(|e| bad(e.to_string()))?;
            check_signals(&s).map_err(|m| bad(m.into()))?;
            Ok(Some(s))
        }
    }
}

impl FromRequestParts<AppState> for PageClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, &state.trusted_proxies);
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|u| u.chars().take(1024).collect());
        let review_id =
            crate::routes::cookie_value(&parts.headers, REVIEW_COOKIE).filter(|r| is_review_id(r)).map(str::to_owned);
        Ok(PageClient(sekimori_gate::push::ClientInfo { ip, user_agent, browser: None, review_id }))
    }
}

/// Whether an answer goes as NDJSON: `format=ndjson` (or `json`), else an `Accept` naming
/// `application/x-ndjson`. Any other format is refused, naming the parameter.
pub(crate) fn wants_ndjson(format: Option<&str>, headers: &axum::http::HeaderMap) -> Result<bool, ApiError> {
    match format {
        Some("ndjson") => Ok(true),
        Some("json") => Ok(false),
        None => Ok(headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/x-ndjson"))),
        Some(other) => Err(ApiError::invalid("format", format!("format must be json or ndjson, not {other:?}"))),
    }
}

/// The one entity (`user`, `ip` or `host`) a query names, if any: two, or an empty value,
/// are refused, naming the parameter.
pub(crate) fn one_entity(
    user: &Option<String>,
    ip: &Option<String>,
    host: &Option<String>,
) -> Result<Option<sekimori_store::Entity>, ApiError> {
    let mut found: Option<sekimori_store::Entity> = None;
    for (kind, value) in [("user", user), ("ip", ip), ("host", host)] {
        let Some(value) = value else { continue };
        if found.is_some() {
            return Err(ApiError::invalid(kind, "give at most one of user, ip and host"));
        }
        if value.is_empty() {
            return Err(ApiError::invalid(kind, "an entity's value must not be empty"));
        }
        found = Some(sekimori_store::Entity { kind: kind.into(), value: value.clone() });
    }
    Ok(found)
}
