//! External risk providers over HTTP (protocol §18.4): the gate's [`RiskProvider`] seam as
//! a JSON POST with a bounded wait, no redirects and a bounded answer.

use std::time::Duration;

use sekimori_gate::risk::{ProviderRequest, RiskProvider};
use sekimori_risk::{ProviderFailure, ProviderSpec};

/// The largest answer read, bytes; a larger one is malformed.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// One provider at an HTTP(S) URL.
pub struct HttpRiskProvider {
    spec: ProviderSpec,
    url: reqwest::Url,
    timeout: Duration,
    bearer: Option<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpRiskProvider {
    // The bearer token is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRiskProvider")
            .field("name", &self.spec.name)
            .field("url", &self.url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A provider's client could not be built (the TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("risk provider {name}: {source}")]
pub struct ProviderClientError {
    name: String,
    source: reqwest::Error,
}

impl HttpRiskProvider {
    /// A provider asked at `url`, waiting at most `timeout` for the whole answer, with an
    /// optional bearer token sent as `Authorization`.
    pub fn new(
        spec: ProviderSpec,
        url: reqwest::Url,
        timeout: Duration,
        bearer: Option<String>,
    ) -> Result<Self, ProviderClientError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("sekimori/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ProviderClientError { name: spec.name.clone(), source })?;
        Ok(HttpRiskProvider { spec, url, timeout, bearer, client })
    }

    fn failure(&self, e: reqwest::Error) -> ProviderFailure {
        if e.is_timeout() {
            ProviderFailure::Timeout(u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX))
        } else {
            // Without the URL, which may carry a credential.
            ProviderFailure::Unreachable(e.without_url().to_string())
        }
    }
}

#[async_trait::async_trait]
impl RiskProvider for HttpRiskProvider {
    fn spec(&self) -> &ProviderSpec {
        &self.spec
    }

    async fn ask(&self, request: &ProviderRequest) -> Result<Vec<u8>, ProviderFailure> {
        let mut call = self.client.post(self.url.clone()).json(request);
        if let Some(token) = &self.bearer {
            call = call.bearer_auth(token);
        }
        let mut answer = call.send().await.map_err(|e| self.failure(e))?;
        if answer.status() != reqwest::StatusCode::OK {
            return Err(ProviderFailure::Status(answer.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| self.failure(e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ProviderFailure::Malformed(format!("answer larger than {MAX_ANSWER_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
