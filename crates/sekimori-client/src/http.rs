//! Bearer-authenticated API clients and the problem-document error.

use std::time::Duration;

use sekimori_core::names::percent_encode;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// An RFC 9457 problem returned by the server.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// The stable code (`outside_standby`, `already_used`, …).
    pub code: String,
    /// The detail text.
    pub detail: String,
    /// The whole document.
    pub body: Value,
}

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused with a problem document (boxed: it holds the whole body).
    #[error("{} ({}): {}", .0.code, .0.status, .0.detail)]
    Problem(Box<Problem>),
    /// Transport failure.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The reply or the local state was not as expected.
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The problem code, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Problem(p) => Some(&p.code),
            _ => None,
        }
    }
}

/// Result alias.
pub type ClientResult<T> = Result<T, ClientError>;

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("sekimori/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap_or_default()
}

/// Turns a response into `T` or a [`Problem`].
pub(crate) async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> ClientResult<T> {
    let status = resp.status();
    let url = resp.url().clone();
    let content_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = resp.bytes().await?;
    // A page where JSON was expected: the URL reaches something else (a proxy's login or
    // error page, a web server), which a JSON parse error would not say.
    let not_sekimori = || {
        ClientError::Invalid(format!(
            "{url} answered {status} with {} where Sekimori answers JSON: is SEKIMORI_URL (--url) the Sekimori server itself, not a proxy's page?",
            if content_type.is_empty() { "no content type".to_owned() } else { content_type.clone() }
        ))
    };
    let html = content_type.starts_with("text/html") || bytes.trim_ascii_start().first() == Some(&b'<');
    if status.is_success() {
        if html {
            return Err(not_sekimori());
        }
        let bytes = if bytes.is_empty() { b"null".as_slice() } else { &bytes };
        return serde_json::from_slice(bytes)
            .map_err(|e| ClientError::Invalid(format!("unexpected reply from {url}: {e}")));
    }
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !body.is_object() && html {
        return Err(not_sekimori());
    }
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    Err(ClientError::Problem(Box::new(Problem {
        status: status.as_u16(),
        code: if body.is_object() { text("code") } else { format!("http_{}", status.as_u16()) },
        detail: text("detail"),
        body,
    })))
}

/// Shared bearer-client plumbing.
#[derive(Debug, Clone)]
struct Bearer {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Bearer {
    fn new(base: &str, token: &str) -> Self {
        Bearer { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), http: http_client() }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        decode(self.req(reqwest::Method::GET, path).send().await?).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> ClientResult<T> {
        decode(self.req(reqwest::Method::POST, path).json(body).send().await?).await
    }

    async fn delete(&self, path: &str) -> ClientResult<()> {
        decode::<Value>(self.req(reqwest::Method::DELETE, path).send().await?).await.map(|_| ())
    }
}

/// The admin API.
#[derive(Debug, Clone)]
pub struct AdminClient(Bearer);

impl AdminClient {
    /// A client for the server at `base` with an admin token.
    pub fn new(base: &str, token: &str) -> Self {
        AdminClient(Bearer::new(base, token))
    }

    /// Adds a user.
    pub async fn add_user(
        &self,
        username: &str,
        email: Option<&str>,
        display_name: Option<&str>,
    ) -> ClientResult<Value> {
        let mut body = json!({"username": username});
        if let Some(e) = email {
            body["email"] = json!(e);
        }
        if let Some(d) = display_name {
            body["display_name"] = json!(d);
        }
        self.0.post("/api/v1/admin/users", &body).await
    }

    /// Changes a user (`email`, `display_name`, `disabled`, `valid_from`, `valid_until`,
    /// `login_hours`; `null` clears).
    pub async fn update_user(&self, username: &str, patch: &Value) -> ClientResult<Value> {
        let path = format!("/api/v1/admin/users/{}", percent_encode(username));
        decode(self.0.req(reqwest::Method::PATCH, &path).json(patch).send().await?).await
    }

    /// Any admin API call: `method` on `path` with an optional JSON body; the answer's JSON
    /// (`null` for an empty one).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> ClientResult<Value> {
        let mut req = self.0.req(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        decode(req.send().await?).await
    }

    /// Deletes a user with their devices, credentials and sessions.
    pub async fn delete_user(&self, username: &str) -> ClientResult<()> {
        self.0.delete(&format!("/api/v1/admin/users/{}", percent_encode(username))).await
    }

    /// Sets a user's password (checked against the tenant's policy).
    pub async fn set_password(&self, username: &str, password: &str) -> ClientResult<()> {
        let path = format!("/api/v1/admin/users/{}/password", percent_encode(username));
        let resp = self.0.req(reqwest::Method::PUT, &path).json(&json!({"password": password})).send().await?;
        decode::<Value>(resp).await.map(|_| ())
    }

    /// Ends every session of a user.
    pub async fn revoke_sessions(&self, username: &str) -> ClientResult<Value> {
        let path = format!("/api/v1/admin/users/{}/sessions", percent_encode(username));
        decode(self.0.req(reqwest::Method::DELETE, &path).send().await?).await
    }

    /// Mints an admin token with a role (`admin`, `auditor`, `operator` with capabilities
    /// and groups); the key is in the answer, once.
    pub async fn create_token(&self, body: &Value) -> ClientResult<Value> {
        self.0.post("/api/v1/admin/tokens", body).await
    }

    /// Lists users.
    pub async fn list_users(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/users").await
    }

    /// Creates an enrolment (JSON with `link`, `https_link`, `code`, `expires_at`).
    pub async fn create_enrollment(&self, username: &str) -> ClientResult<Value> {
        self.0.post(&format!("/api/v1/admin/users/{username}/enrollments"), &json!({})).await
    }

    /// Creates an enrolment and returns its QR image (`svg` or `png`) and link.
    pub async fn create_enrollment_image(&self, username: &str, format: &str) -> ClientResult<(Vec<u8>, String)> {
        let resp = self
            .0
            .req(reqwest::Method::POST, &format!("/api/v1/admin/users/{username}/enrollments?format={format}"))
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(decode::<Value>(resp).await.err().unwrap_or(ClientError::Invalid("unexpected reply".into())));
        }
        let link =
            resp.headers().get("sekimori-enrollment-link").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        Ok((resp.bytes().await?.to_vec(), link))
    }

    /// A user's devices.
    pub async fn list_devices(&self, username: &str) -> ClientResult<Value> {
        self.0.get(&format!("/api/v1/admin/users/{username}/devices")).await
    }

    /// Removes a device.
    pub async fn remove_device(&self, username: &str, device_id: &str) -> ClientResult<()> {
        self.0.delete(&format!("/api/v1/admin/users/{username}/devices/{device_id}")).await
    }

    /// A user's environments.
    pub async fn list_environments(&self, username: &str) -> ClientResult<Value> {
        self.0.get(&format!("/api/v1/admin/users/{username}/environments")).await
    }

    /// Registers an app (`relying_party` or `verifier`); the reply has `key`, shown once.
    pub async fn add_app(&self, name: &str, kind: &str) -> ClientResult<Value> {
        self.0.post("/api/v1/admin/apps", &json!({"name": name, "kind": kind})).await
    }

    /// Registers an OIDC client (an app of kind relying party); `oidc` is the registration
    /// (`redirect_uris`, `post_logout_redirect_uris`, `public`, `id_token_alg`).
    pub async fn add_oidc_client(&self, name: &str, oidc: &Value) -> ClientResult<Value> {
        self.0.post("/api/v1/admin/apps", &json!({"name": name, "oidc": oidc})).await
    }

    /// Lists OIDC clients.
    pub async fn list_oidc_clients(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/oidc/clients").await
    }

    /// Replaces an OIDC client's redirect URIs and/or post-logout redirect URIs (a list not
    /// given is kept).
    pub async fn set_oidc_client_uris(
        &self,
        client_id: &str,
        redirect_uris: Option<&[String]>,
        post_logout_redirect_uris: Option<&[String]>,
    ) -> ClientResult<Value> {
        let mut body = serde_json::Map::new();
        if let Some(u) = redirect_uris {
            body.insert("redirect_uris".into(), json!(u));
        }
        if let Some(u) = post_logout_redirect_uris {
            body.insert("post_logout_redirect_uris".into(), json!(u));
        }
        let path = format!("/api/v1/admin/oidc/clients/{}", percent_encode(client_id));
        self.call(reqwest::Method::PATCH, &path, Some(&Value::Object(body))).await
    }

    /// Lists the OIDC signing keys.
    pub async fn oidc_keys(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/oidc/keys").await
    }

    /// Replaces the OIDC signing keys now.
    pub async fn rotate_oidc_keys(&self) -> ClientResult<Value> {
        self.0.post("/api/v1/admin/oidc/keys/rotate", &json!({})).await
    }

    /// Lists apps.
    pub async fn list_apps(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/apps").await
    }

    /// Revokes an app key.
    pub async fn revoke_app(&self, id: &str) -> ClientResult<()> {
        self.0.delete(&format!("/api/v1/admin/apps/{id}")).await
    }

    /// Tenant settings.
    pub async fn tenant(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/tenant").await
    }

    /// Changes tenant settings.
    pub async fn update_tenant(&self, patch: &Value) -> ClientResult<Value> {
        decode(self.0.req(reqwest::Method::PATCH, "/api/v1/admin/tenant").json(patch).send().await?).await
    }

    /// Audit events; `query` is a URL query string without `?` (e.g. `action=auth.push.*`).
    pub async fn events(&self, query: &str) -> ClientResult<Vec<Value>> {
        let v: Value = self.0.get(&format!("/api/v1/events?{query}")).await?;
        Ok(v.get("events").and_then(|e| e.as_array()).cloned().unwrap_or_default())
    }

    /// Audit events as NDJSON text.
    pub async fn events_ndjson(&self, query: &str) -> ClientResult<String> {
        let resp = self.0.req(reqwest::Method::GET, &format!("/api/v1/events?format=ndjson&{query}")).send().await?;
        if !resp.status().is_success() {
            return Err(decode::<Value>(resp).await.err().unwrap_or(ClientError::Invalid("unexpected reply".into())));
        }
        Ok(resp.text().await?)
    }

    /// The tenant's detection tuning: `{"version", "tuning"}`.
    pub async fn tuning(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/tuning").await
    }

    /// Writes a new tuning version on top of `base_version`: `{"version"}`.
    pub async fn set_tuning(&self, base_version: i64, tuning: &Value) -> ClientResult<Value> {
        let body = serde_json::json!({"base_version": base_version, "tuning": tuning});
        decode(self.0.req(reqwest::Method::PUT, "/api/v1/admin/tuning").json(&body).send().await?).await
    }

    /// The tenant's login risk policy: `{"version", "policy"}` (docs/risk.md).
    pub async fn risk_policy(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/risk/policy").await
    }

    /// Writes a new risk policy version on top of `base_version`: `{"version"}`.
    pub async fn set_risk_policy(&self, base_version: i64, policy: &Value) -> ClientResult<Value> {
        let body = serde_json::json!({"base_version": base_version, "policy": policy});
        decode(self.0.req(reqwest::Method::PUT, "/api/v1/admin/risk/policy").json(&body).send().await?).await
    }

    /// A judged login attempt, explained: decision, score, rule, each signal's points.
    pub async fn risk_attempt(&self, attempt: i64) -> ClientResult<Value> {
        self.0.get(&format!("/api/v1/admin/risk/attempts/{attempt}")).await
    }

    /// The tenant's alert routing document: `{"version", "document"}`.
    pub async fn routing(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/routing").await
    }

    /// Writes a new routing document version on top of `base_version`: `{"version"}`.
    pub async fn set_routing(&self, base_version: i64, document: &Value) -> ClientResult<Value> {
        let body = serde_json::json!({"base_version": base_version, "document": document});
        decode(self.0.req(reqwest::Method::PUT, "/api/v1/admin/routing").json(&body).send().await?).await
    }

    /// The tenant's silences that have not ended.
    pub async fn silences(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/silences").await
    }

    /// Makes a silence: `{"matchers", "starts_at"?, "ends_at", "comment"}`.
    pub async fn add_silence(&self, silence: &Value) -> ClientResult<Value> {
        self.0.post("/api/v1/admin/silences", silence).await
    }

    /// Ends a silence now.
    pub async fn expire_silence(&self, id: &str) -> ClientResult<()> {
        self.0.delete(&format!("/api/v1/admin/silences/{}", percent_encode(id))).await
    }

    /// Sends a test notification to each channel of receiver `name`:
    /// `[{"channel","delivered","attempts"}]`.
    pub async fn test_receiver(&self, name: &str) -> ClientResult<Value> {
        let path = format!("/api/v1/admin/routing/receivers/{}/test", percent_encode(name));
        self.call(reqwest::Method::POST, &path, None).await
    }

    /// The tenant's alerts, newest first, in `state` when given, about `about` when given
    /// (`("user", "alice")`, `("ip", …)` or `("host", …)`).
    pub async fn alerts(
        &self,
        state: Option<&str>,
        about: Option<(&str, &str)>,
        limit: Option<i64>,
    ) -> ClientResult<Value> {
        let mut path = format!("/api/v1/admin/alerts?limit={}", limit.unwrap_or(100));
        if let Some(s) = state {
            path.push_str(&format!("&state={}", percent_encode(s)));
        }
        if let Some((kind, value)) = about {
            path.push_str(&format!("&{}={}", percent_encode(kind), percent_encode(value)));
        }
        self.0.get(&path).await
    }

    /// One alert with its triage and comments.
    pub async fn alert(&self, id: &str) -> ClientResult<Value> {
        self.0.get(&format!("/api/v1/admin/alerts/{}", percent_encode(id))).await
    }

    /// A triage change on an alert: `ack`, `resolve` (with `{"comment"?}`), `assignee`
    /// (`{"assignee"}`, PUT) or `comments` (`{"body"}`).
    pub async fn triage_alert(&self, id: &str, change: &str, body: &Value) -> ClientResult<Value> {
        let method = if change == "assignee" { reqwest::Method::PUT } else { reqwest::Method::POST };
        self.call(method, &format!("/api/v1/admin/alerts/{}/{change}", percent_encode(id)), Some(body)).await
    }

    /// Back-tests a proposed tuning against the stored events.
    pub async fn backtest(&self, tuning: &Value, limit: Option<i64>) -> ClientResult<Value> {
        let mut body = serde_json::json!({"tuning": tuning});
        if let Some(l) = limit {
            body["limit"] = l.into();
        }
        self.0.post("/api/v1/admin/tuning/backtest", &body).await
    }

    /// Verifies the audit chain on the server.
    pub async fn verify_audit(&self) -> ClientResult<Value> {
        self.0.get("/api/v1/admin/audit/verify").await
    }
}

/// The relying-party and verifier API.
#[derive(Debug, Clone)]
pub struct AppClient(Bearer);

impl AppClient {
    /// A client for the server at `base` with an app key.
    pub fn new(base: &str, key: &str) -> Self {
        AppClient(Bearer::new(base, key))
    }

    /// Starts a push login; `client` is the end user's `{ip, user_agent}`.
    pub async fn start_push(&self, username: &str, client: Option<Value>) -> ClientResult<Value> {
        let mut body = json!({"username": username});
        if let Some(c) = client {
            body["client"] = c;
        }
        self.0.post("/api/v1/logins/push", &body).await
    }

    /// A push login's status, waiting up to `wait` seconds for a decision.
    pub async fn push_status(&self, login_id: &str, wait: u64) -> ClientResult<Value> {
        self.0.get(&format!("/api/v1/logins/push/{login_id}?wait={wait}")).await
    }

    /// Verifies (and consumes) an assertion.
    pub async fn verify_assertion(&self, assertion: &str) -> ClientResult<Value> {
        self.0.post("/api/v1/assertions/verify", &json!({"assertion": assertion})).await
    }

    /// Issues a ticket.
    pub async fn issue_ticket(
        &self,
        username: &str,
        entitlement: &str,
        ttl_seconds: Option<i64>,
    ) -> ClientResult<Value> {
        let mut body = json!({"username": username, "entitlement": entitlement});
        if let Some(t) = ttl_seconds {
            body["ttl_seconds"] = json!(t);
        }
        self.0.post("/api/v1/tickets", &body).await
    }

    /// Redeems a ticket payload (verifier keys).
    pub async fn redeem_ticket(&self, payload: &str) -> ClientResult<Value> {
        self.0.post("/api/v1/tickets/redeem", &json!({"payload": payload})).await
    }

    /// Checks a user's password (`POST /api/v1/factors/password/verify`); `client` is the
    /// end user's browser as the relying party saw it.
    pub async fn verify_password(&self, username: &str, password: &str, client: Option<Value>) -> ClientResult<Value> {
        let mut body = json!({"username": username, "password": password});
        if let Some(c) = client {
            body["client"] = c;
        }
        self.0.post("/api/v1/factors/password/verify", &body).await
    }
}
