//! The reference authenticator: an Ed25519 key in a state file (mode 0600), enrolment,
//! signed device requests, and verification of the server's signatures on challenges.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sekimori_core::canonical::to_canonical_string;
use sekimori_core::device::{headers, signing_input};
use sekimori_core::{Clock, Rng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::http::{decode, http_client, ClientError, ClientResult};
use crate::query_param;

/// What an authenticator keeps between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticatorState {
    /// The server's base URL.
    pub server_url: String,
    /// This device's id.
    pub device_id: String,
    /// The user's id.
    pub user_id: String,
    /// The username.
    pub username: String,
    /// The Ed25519 private key seed, base64url.
    pub secret_key: String,
    /// The server's public key, base64url, learned at enrolment.
    pub server_public_key: String,
    /// The server key's id.
    pub server_key_id: String,
}

/// An enrolled authenticator.
pub struct Authenticator {
    state: AuthenticatorState,
    key: SigningKey,
    server_key: VerifyingKey,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("device_id", &self.state.device_id).finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> ClientError {
    ClientError::Invalid(msg.into())
}

/// Parses an enrolment link (`sekimori://enroll?u=…&c=…` or `https://…/enroll?c=…`)
/// into the server URL and the code.
pub fn parse_enrollment_link(link: &str) -> ClientResult<(String, String)> {
    let code = query_param(link, "c").ok_or_else(|| invalid("the enrolment link has no code (c=)"))?;
    if link.starts_with("sekimori://enroll?") {
        let url = query_param(link, "u").ok_or_else(|| invalid("the enrolment link has no server (u=)"))?;
        return Ok((url, code));
    }
    if let Some((base, _)) = link.split_once("/enroll?") {
        if base.starts_with("http://") || base.starts_with("https://") {
            return Ok((base.to_owned(), code));
        }
    }
    Err(invalid("not a Sekimori enrolment link"))
}

impl Authenticator {
    /// Enrols a new device with `link`, generating its key.
    pub async fn enroll(link: &str, device_name: &str, clock: Arc<dyn Clock>, rng: Arc<dyn Rng>) -> ClientResult<Self> {
        let (server_url, code) = parse_enrollment_link(link)?;
        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let key = SigningKey::from_bytes(&seed);
        let http = http_client();
        let body = json!({
            "code": code,
            "public_key": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            "name": device_name,
        });
        let enrolled: Value = decode(
            http.post(format!("{}/api/v1/device/enroll", server_url.trim_end_matches('/'))).json(&body).send().await?,
        )
        .await?;
        let text = |k: &str| {
            enrolled
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("enrolment reply lacks {k}")))
        };
        let state = AuthenticatorState {
            server_url: server_url.trim_end_matches('/').to_owned(),
            device_id: text("device_id")?,
            user_id: text("user_id")?,
            username: text("username")?,
            secret_key: URL_SAFE_NO_PAD.encode(seed),
            server_public_key: text("server_public_key")?,
            server_key_id: text("server_key_id")?,
        };
        Self::from_state(state, clock, rng)
    }

    /// An authenticator from saved state.
    pub fn from_state(state: AuthenticatorState, clock: Arc<dyn Clock>, rng: Arc<dyn Rng>) -> ClientResult<Self> {
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&state.secret_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid("state: secret_key is not 32 bytes of base64url"))?;
        let server: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&state.server_public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid("state: server_public_key is not 32 bytes of base64url"))?;
        let server_key =
            VerifyingKey::from_bytes(&server).map_err(|_| invalid("state: server_public_key is invalid"))?;
        Ok(Authenticator { key: SigningKey::from_bytes(&seed), server_key, state, clock, rng, http: http_client() })
    }

    /// Loads state from `path`.
    pub fn load(path: &Path, clock: Arc<dyn Clock>, rng: Arc<dyn Rng>) -> ClientResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        let state = serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        Self::from_state(state, clock, rng)
    }

    /// Saves state to `path`, readable by its owner only.
    pub fn save(&self, path: &Path) -> ClientResult<()> {
        let text = serde_json::to_string_pretty(&self.state).map_err(|e| invalid(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let io = |e: std::io::Error| invalid(format!("{}: {e}", path.display()));
        let mut f = opts.open(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The saved state.
    pub fn state(&self) -> &AuthenticatorState {
        &self.state
    }

    /// The signature headers for a request, at `ts` with `nonce`.
    pub fn sign_headers(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        ts: i64,
        nonce: &str,
    ) -> Vec<(&'static str, String)> {
        let input = signing_input(&self.state.device_id, method, path, ts, nonce, body);
        let sig = URL_SAFE_NO_PAD.encode(self.key.sign(input.as_bytes()).to_bytes());
        vec![
            (headers::DEVICE, self.state.device_id.clone()),
            (headers::TIMESTAMP, ts.to_string()),
            (headers::NONCE, nonce.to_owned()),
            (headers::SIGNATURE, sig),
        ]
    }

    /// A fresh nonce.
    pub fn new_nonce(&self) -> String {
        sekimori_core::token::new_secret(self.rng.as_ref())
    }

    /// Sends a request with explicit signature headers (tests use this to send bad ones).
    pub async fn send_with_headers(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        headers: &[(&str, String)],
    ) -> ClientResult<reqwest::Response> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| invalid("bad method"))?;
        let mut req = self.http.request(m, format!("{}{path}", self.state.server_url));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body.to_vec());
        }
        Ok(req.send().await?)
    }

    /// Sends a signed request now.
    pub async fn send_signed(&self, method: &str, path: &str, body: Option<&Value>) -> ClientResult<reqwest::Response> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let headers = self.sign_headers(method, path, &bytes, self.clock.now().seconds(), &self.new_nonce());
        self.send_with_headers(method, path, &bytes, &headers).await
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> ClientResult<Value> {
        decode(self.send_signed(method, path, body).await?).await
    }

    /// Opens the standby window.
    pub async fn standby(&self) -> ClientResult<Value> {
        self.call("POST", "/api/v1/device/standby", None).await
    }

    /// Pending messages, each checked against the server's signature; waits up to `wait` s.
    pub async fn messages(&self, wait: u64) -> ClientResult<Vec<Value>> {
        let reply = self.call("GET", &format!("/api/v1/device/messages?wait={wait}"), None).await?;
        let list = reply.get("messages").and_then(|m| m.as_array()).cloned().unwrap_or_default();
        list.into_iter()
            .map(|m| {
                let message = m.get("message").cloned().unwrap_or(Value::Null);
                let sig: [u8; 64] = m
                    .get("signature")
                    .and_then(|s| s.as_str())
                    .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| invalid("a message has no valid signature"))?;
                self.server_key
                    .verify_strict(to_canonical_string(&message).as_bytes(), &Signature::from_bytes(&sig))
                    .map_err(|_| invalid("a message's server signature does not verify; refusing it"))?;
                Ok(message)
            })
            .collect()
    }

    /// Approves a push login with the number shown on the login page.
    pub async fn approve(&self, login_id: &str, number: i64) -> ClientResult<Value> {
        self.call("POST", &format!("/api/v1/device/logins/{login_id}/approve"), Some(&json!({"number": number}))).await
    }

    /// Denies a push login.
    pub async fn deny(&self, login_id: &str) -> ClientResult<Value> {
        self.call("POST", &format!("/api/v1/device/logins/{login_id}/deny"), None).await
    }

    /// Denies a push login and reports it as not the user's ("not me"): push approvals are
    /// suspended and the required level raised for a while.
    pub async fn deny_not_me(&self, login_id: &str) -> ClientResult<Value> {
        let body = serde_json::json!({"not_me": true});
        self.call("POST", &format!("/api/v1/device/logins/{login_id}/deny"), Some(&body)).await
    }

    /// Reports a new-environment warning as a sign-in that was not the user's ("not me").
    pub async fn report_warning(&self, id: &str) -> ClientResult<()> {
        let body = serde_json::json!({"not_me": true});
        self.call("POST", &format!("/api/v1/device/messages/{id}/dismiss"), Some(&body)).await.map(|_| ())
    }

    /// Dismisses a message.
    pub async fn dismiss(&self, id: &str) -> ClientResult<()> {
        self.call("POST", &format!("/api/v1/device/messages/{id}/dismiss"), None).await.map(|_| ())
    }

    /// Redeems a scanned QR login payload.
    pub async fn scan(&self, payload: &str) -> ClientResult<Value> {
        self.call("POST", "/api/v1/device/qr/redeem", Some(&json!({"payload": payload}))).await
    }

    /// The user's tickets.
    pub async fn tickets(&self) -> ClientResult<Vec<Value>> {
        let v = self.call("GET", "/api/v1/device/tickets", None).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The user's environments.
    pub async fn environments(&self) -> ClientResult<Vec<Value>> {
        let v = self.call("GET", "/api/v1/device/environments", None).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Marks an environment trusted or not.
    pub async fn trust_environment(&self, key: &str, trusted: bool) -> ClientResult<()> {
        let path = format!("/api/v1/device/environments/{key}/trust");
        self.call("POST", &path, Some(&json!({"trusted": trusted}))).await.map(|_| ())
    }

    /// Forgets an environment.
    pub async fn revoke_environment(&self, key: &str) -> ClientResult<()> {
        self.call("DELETE", &format!("/api/v1/device/environments/{key}"), None).await.map(|_| ())
    }
}
