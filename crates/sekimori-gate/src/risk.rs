//! Login-time risk (issue 19, docs/risk.md): the one seam through which every login path
//! asks whether an attempt may complete. The judgement itself is `sekimori-risk`'s; this
//! service gathers its facts (the environment, the user's behaviour profile as detection
//! stored it, the address lists, the velocity counters, the browser's signals), keeps the
//! tenant's policy (versioned and audited like tuning), and writes every verdict into the
//! attempt's audit event, where the detection engine sees it.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use sekimori_core::ecs::{action, field};
use sekimori_core::environment::{network_of, Environment};
use sekimori_core::event::Outcome;
use sekimori_core::{ErrorCode, TenantId};
use sekimori_detect::baseline::{Baselines, Profile};
use sekimori_risk::{
    combine, evaluate, BrowserSignals, Decision, Facts, GeoDb, Place, Policy, ProviderFailure, ProviderOutcome,
    ProviderSpec, Reputation, Velocity, Verdict,
};
use sekimori_store::{write_version, DocumentKind, EventFilter, NewVersion, User};

use crate::environments::Environments;
use crate::{Context, GateError, GateResult};

/// The largest policy document, bytes.
const MAX_POLICY_BYTES: usize = 64 * 1024;

/// What an external risk provider is sent (protocol §18.4): never the username, only a
/// keyed hash of the user id that differs per provider and per deployment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProviderRequest {
    /// HMAC-SHA256 under the server's MAC key of the provider's name, the tenant and the
    /// user id, hex: stable for one user at one provider, unlinkable across providers.
    pub user: String,
    /// The tenant's id.
    pub tenant: String,
    /// The review id the login page kept in its cookie, when there was a page.
    pub review_id: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The user agent sent with the request.
    pub user_agent: Option<String>,
    /// `password`, `push`, `qr`, `passkey`.
    pub method: &'static str,
    /// When, RFC 3339.
    pub at: String,
    /// The internal verdict (`OK`, `REVIEW`, `NG`) before the providers.
    pub internal: &'static str,
}

/// An external risk provider: the gate's seam, called over HTTP by the server
/// (`sekimori::risk_provider`). Several are asked at once after primary
/// authentication; each answer is read by its [`ProviderSpec`].
#[async_trait::async_trait]
pub trait RiskProvider: Send + Sync + std::fmt::Debug {
    /// How its answers are read and what its failure counts as.
    fn spec(&self) -> &ProviderSpec;
    /// Asks about one attempt; the body of a 200 answer, or why there is none. The
    /// implementation bounds the wait (the provider's timeout) and the answer's size.
    async fn ask(&self, request: &ProviderRequest) -> Result<Vec<u8>, ProviderFailure>;
}

/// What the risk engine reads besides the store: the address lists and the behaviour
/// baselines' definitions (the same objects detection uses), and the external providers.
/// Replaced as a whole when a list file changes.
#[derive(Debug, Clone)]
pub struct RiskInputs {
    /// Address lists with their weights.
    pub reputation: Reputation,
    /// Where addresses are (country, coordinates, ASN), when a database is configured.
    pub geo: Option<Arc<GeoDb>>,
    /// The baselines, for "new country", "new network", "impossible travel".
    pub baselines: Baselines,
    /// External providers, asked after the internal evaluation.
    pub providers: Vec<Arc<dyn RiskProvider>>,
}

impl Default for RiskInputs {
    fn default() -> Self {
        RiskInputs {
            reputation: Reputation::default(),
            geo: None,
            baselines: Baselines::builtin(),
            providers: Vec::new(),
        }
    }
}

/// One login attempt to judge, after its primary factor succeeded.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// Who.
    pub user: &'a User,
    /// `password`, `push`, `qr`, `passkey`.
    pub method: &'static str,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The user agent sent with the request.
    pub user_agent: Option<&'a str>,
    /// What the browser reported, when the page collected it.
    pub browser: Option<&'a BrowserSignals>,
    /// The review id the login page kept in its cookie (sent to external providers).
    pub review_id: Option<&'a str>,
    /// Whether the environment was known, when the login path has just observed it (a
    /// push does, for its challenge); `None`: the environment is observed here.
    /// `Some(None)`: new to this user; `Some(Some(t))`: known, seen since `t`.
    pub environment_known: Option<Option<sekimori_core::Timestamp>>,
}

impl<'a> LoginAttempt<'a> {
    /// An attempt by `method` from a client as a login path saw it (its address, user
    /// agent, the browser's signals and review id); the environment is observed when judged.
    pub fn of_client(user: &'a User, method: &'static str, client: &'a crate::push::ClientInfo) -> Self {
        LoginAttempt {
            user,
            method,
            ip: client.ip,
            user_agent: client.user_agent.as_deref(),
            browser: client.browser.as_ref(),
            review_id: client.review_id.as_deref(),
            environment_known: None,
        }
    }
}

/// A judged attempt: the verdict and what the login path must do with it.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The verdict, with its explanation.
    pub verdict: Verdict,
    /// The audit sequence of the `auth.risk.assessed` event (the attempt id of
    /// `sekimori risk explain`).
    pub attempt: i64,
    /// The client environment and its key, recorded as a login once the attempt completes.
    pub environment: (Environment, String),
}

impl Judged {
    /// Whether the login may complete as it is.
    pub fn ok(&self) -> bool {
        self.verdict.effective() == Decision::Ok
    }

    /// Whether another factor of a different kind is needed.
    pub fn needs_step_up(&self) -> bool {
        self.verdict.effective() == Decision::Review
    }
}

/// The refusal every NG gets: the same words whatever the reasons, which are only in the
/// audit event.
pub fn refused() -> GateError {
    GateError::new(ErrorCode::LoginNotAllowed, "this login was refused")
}

/// The risk service.
pub struct Risk {
    ctx: Arc<Context>,
    environments: Arc<Environments>,
    inputs: RwLock<Arc<RiskInputs>>,
    velocity: Velocity,
}

impl Risk {
    pub(crate) fn new(ctx: Arc<Context>, environments: Arc<Environments>) -> Self {
        Risk {
            ctx,
            environments,
            inputs: RwLock::new(Arc::new(RiskInputs::default())),
            velocity: Velocity::new(100_000, 1_000),
        }
    }

    /// A new review id for a login page (256 bits from the CSPRNG, base64url): the id the
    /// page keeps in its cookie and sends with the browser's signals. It identifies one
    /// showing of the page; it grants nothing.
    pub fn new_review_id(&self) -> String {
        self.ctx.new_secret()
    }

    /// Replaces the address lists and baselines (at start, and when a list file changes).
    pub fn set_inputs(&self, inputs: RiskInputs) {
        *self.inputs.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(inputs);
    }

    fn inputs(&self) -> Arc<RiskInputs> {
        self.inputs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The tenant's policy and its version (0: the default, never written).
    pub async fn policy(&self, tenant_id: &TenantId) -> GateResult<(i64, Policy)> {
        match self.ctx.store.document(DocumentKind::RiskPolicy, tenant_id).await? {
            None => Ok((0, Policy::default())),
            Some(r) => {
                let doc: serde_json::Value = serde_json::from_str(&r.doc).map_err(|e| {
                    GateError::new(ErrorCode::Internal, format!("stored risk policy v{} is not JSON: {e}", r.version))
                })?;
                let policy = Policy::from_json(&doc).map_err(|e| {
                    GateError::new(ErrorCode::Internal, format!("stored risk policy v{} is not valid: {e}", r.version))
                })?;
                Ok((r.version, policy))
            }
        }
    }

    /// Writes a new version of the tenant's policy (checked first; audited). Refused with
    /// `conflict` when the current version is no longer `base_version`.
    pub async fn set_policy(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        base_version: i64,
        doc: &serde_json::Value,
    ) -> GateResult<i64> {
        let policy = Policy::from_json(doc).map_err(|e| {
            GateError::new(ErrorCode::InvalidRequest, format!("policy: {e}")).with("field", e.key.as_str())
        })?;
        let text = serde_json::to_string(&policy)
            .map_err(|e| GateError::new(ErrorCode::Internal, format!("risk policy: {e}")))?;
        if text.len() > MAX_POLICY_BYTES {
            return Err(GateError::new(
                ErrorCode::PayloadTooLarge,
                format!("the policy is {} bytes; the limit is {MAX_POLICY_BYTES}", text.len()),
            ));
        }
        let v = NewVersion {
            kind: DocumentKind::RiskPolicy,
            tenant_id,
            base_version,
            doc: text,
            author: admin_token_id,
            at: self.ctx.clock.now(),
            action: action::ADMIN_RISK_POLICY_UPDATED,
        };
        write_version(self.ctx.store.as_ref(), v).await
    }

    /// Judges an attempt whose primary factor succeeded, and audits the verdict (with each
    /// signal's share) as `auth.risk.assessed`. The caller enforces it: NG refuses with
    /// [`refused`], REVIEW asks for a factor of another kind.
    pub async fn judge(&self, a: &LoginAttempt<'_>) -> GateResult<Judged> {
        let tenant_id = &a.user.tenant_id;
        let (version, policy) = self.policy(tenant_id).await?;
        let inputs = self.inputs();
        // Where the address is, when a geolocation database knows it.
        let place: Option<Place> = inputs.geo.as_ref().zip(a.ip).and_then(|(db, ip)| db.lookup(ip));
        let country = place.as_ref().and_then(|p| p.country.clone());
        let asn = place.as_ref().and_then(|p| p.asn);
        let location = place.as_ref().and_then(|p| p.location);
        let mut env = Environment::from_client(a.ip, a.user_agent);
        env.country = country.clone();
        let env_key = env.key();
        let known_since = match a.environment_known {
            Some(known) => known,
            None => self.environments.observe_environment(a.user, &env, &env_key).await?,
        };
        let known = known_since.is_some();
        let now = self.ctx.clock.now();
        let window = i64::from(policy.velocity.window_seconds) * 1000;
        let velocity = (
            self.velocity.hit(&format!("user:{tenant_id}:{}", a.user.id), now.millis(), window),
            a.ip.map_or(0, |ip| self.velocity.hit(&format!("ip:{tenant_id}:{ip}"), now.millis(), window)),
            a.ip.map_or(0, |ip| {
                self.velocity.hit(&format!("net:{tenant_id}:{}", network_of(ip)), now.millis(), window)
            }),
        );
        let profile = self.profile(tenant_id, &a.user.username).await?;
        // The network as the baselines name it: the ASN when known, else the /24 or /48.
        let network = asn.map(|n| format!("AS{n}")).or_else(|| a.ip.map(network_of));
        let facts = Facts {
            at: now.millis(),
            profile: profile.as_ref(),
            environment_known: known,
            environment_known_for_ms: known_since.map(|t| now.millis_since(t)),
            country: env.country.as_deref(),
            network: network.as_deref(),
            location,
            user_agent: a.user_agent,
            listed: a.ip.map_or_else(Vec::new, |ip| inputs.reputation.hits(ip)),
            velocity,
            browser: a.browser,
        };
        let mut verdict = if policy.enabled { evaluate(&policy, &inputs.baselines, &facts) } else { Verdict::off() };
        if policy.enabled && !inputs.providers.is_empty() {
            let outcomes = self.ask_providers(&inputs.providers, a, verdict.decision).await;
            combine(&mut verdict, outcomes);
        }
        let outcome = if verdict.effective() == Decision::Ng { Outcome::Failure } else { Outcome::Success };
        let mut ev = self
            .ctx
            .event(tenant_id, "authentication", action::AUTH_RISK_ASSESSED, outcome)
            .user(&a.user.id, &a.user.username)
            .field(field::RISK_DECISION, verdict.decision.as_str())
            .field(field::RISK_SCORE, verdict.score)
            .field(field::RISK_REASONS, serde_json::json!(verdict.reasons()))
            .field(field::RISK_CONTRIBUTIONS, serde_json::json!(verdict.contributions))
            .field_opt(field::RISK_RULE, verdict.rule.clone())
            .field(field::RISK_ENFORCED, verdict.enforced)
            .field(field::RISK_METHOD, a.method)
            .field(field::RISK_POLICY_VERSION, version)
            .field_opt(field::RISK_REVIEW_ID, a.review_id.map(str::to_owned))
            .field(field::ENVIRONMENT_KEY, env_key.as_str())
            .field(field::ENVIRONMENT_KNOWN, known)
            .field_opt(field::ENVIRONMENT_KNOWN_SINCE, known_since.map(|t| t.to_rfc3339()))
            .field_opt(field::USER_AGENT_ORIGINAL, a.user_agent.map(str::to_owned));
        if let Some(ip) = a.ip {
            ev = ev.field(field::SOURCE_IP, ip.to_string());
        }
        if !verdict.providers.is_empty() {
            ev = ev.field(field::RISK_PROVIDERS, serde_json::json!(verdict.providers));
        }
        if let Some(b) = a.browser {
            ev = ev.field(field::RISK_BROWSER, serde_json::json!(b));
        }
        // Where the address is, so the baselines learn this user's countries and places
        // from these events as they do from any log with geo fields.
        ev = ev.field_opt(field::SOURCE_GEO_COUNTRY, country).field_opt(field::SOURCE_AS_NUMBER, asn);
        if let Some((lat, lon)) = location {
            ev = ev.field(field::SOURCE_GEO_LAT, lat).field(field::SOURCE_GEO_LON, lon);
        }
        let attempt = self.ctx.store.append(&ev).await?;
        Ok(Judged { verdict, attempt, environment: (env, env_key) })
    }

    /// Judges a login with a passkey alone. A passkey (phishing-resistant, level 3) is the
    /// factor a REVIEW asks for, so only an NG is refused; an attempt allowed is completed
    /// (its environment known from now on).
    pub async fn judge_passkey(&self, user: &User, ip: Option<IpAddr>, user_agent: Option<&str>) -> GateResult<()> {
        let judged = self
            .judge(&LoginAttempt {
                user,
                method: "passkey",
                ip,
                user_agent,
                browser: None,
                review_id: None,
                environment_known: None,
            })
            .await?;
        if judged.verdict.effective() == Decision::Ng {
            return Err(refused());
        }
        self.completed(user, &judged).await
    }

    /// Records that a judged attempt completed (after a step-up too): its environment is
    /// known from now on.
    pub async fn completed(&self, user: &User, judged: &Judged) -> GateResult<()> {
        let (env, key) = &judged.environment;
        self.ctx.store.environment_login(&user.tenant_id, &user.id, key, env, self.ctx.clock.now()).await?;
        Ok(())
    }

    /// Records a completed login from this client without a verdict at hand (the hosted
    /// page's second step, which recomputes the environment from the same request).
    pub async fn completed_from(&self, user: &User, ip: Option<IpAddr>, user_agent: Option<&str>) -> GateResult<()> {
        let env = Environment::from_client(ip, user_agent);
        let key = env.key();
        self.ctx.store.environment_login(&user.tenant_id, &user.id, &key, &env, self.ctx.clock.now()).await?;
        Ok(())
    }

    /// The explanation of a judged attempt (`sekimori risk explain <attempt>`): when, who,
    /// how, the decision, the score, each signal's points and what was seen, the rule that
    /// decided and whether it was enforced, read back from the attempt's audit event.
    pub async fn explain(&self, tenant_id: &TenantId, attempt: i64) -> GateResult<serde_json::Value> {
        let filter = EventFilter {
            tenant_id: Some(tenant_id.clone()),
            action: Some(action::AUTH_RISK_ASSESSED.to_owned()),
            after_seq: Some(attempt.saturating_sub(1)),
            limit: 1,
            ..EventFilter::default()
        };
        let not_found = || GateError::new(ErrorCode::NotFound, format!("no judged attempt {attempt}"));
        let row = self.ctx.store.events(&filter).await?.into_iter().find(|e| e.seq == attempt).ok_or_else(not_found)?;
        let doc: serde_json::Value = serde_json::from_str(&row.doc)
            .map_err(|e| GateError::new(ErrorCode::Internal, format!("audit event {attempt} is not JSON: {e}")))?;
        let risk = &doc["sekimori"]["risk"];
        Ok(serde_json::json!({
            "attempt": row.seq,
            "at": row.ts.to_rfc3339(),
            "user": doc["user"]["name"],
            "source_ip": doc["source"]["ip"],
            "method": risk["method"],
            "decision": risk["decision"],
            "score": risk["score"],
            "rule": risk["rule"],
            "enforced": risk["enforced"],
            "policy_version": risk["policy_version"],
            "contributions": risk["contributions"],
            "providers": risk["providers"],
        }))
    }

    /// Asks every provider at once (each bounded by its own timeout) and returns their
    /// outcomes in configuration order.
    async fn ask_providers(
        &self,
        providers: &[Arc<dyn RiskProvider>],
        a: &LoginAttempt<'_>,
        internal: Decision,
    ) -> Vec<ProviderOutcome> {
        let mut calls = tokio::task::JoinSet::new();
        for (i, provider) in providers.iter().enumerate() {
            let key = format!("risk-provider\0{}\0{}\0{}", provider.spec().name, a.user.tenant_id, a.user.id);
            let request = ProviderRequest {
                user: hex::encode(self.ctx.keys.mac(key.as_bytes())),
                tenant: a.user.tenant_id.to_string(),
                review_id: a.review_id.map(str::to_owned),
                ip: a.ip.map(|ip| ip.to_string()),
                user_agent: a.user_agent.map(str::to_owned),
                method: a.method,
                at: self.ctx.clock.now().to_rfc3339(),
                internal: internal.as_str(),
            };
            let provider = provider.clone();
            calls.spawn(async move {
                let answer = provider.ask(&request).await;
                (i, provider.spec().outcome(answer))
            });
        }
        let mut outcomes: Vec<(usize, ProviderOutcome)> = Vec::with_capacity(providers.len());
        while let Some(done) = calls.join_next().await {
            match done {
                Ok(o) => outcomes.push(o),
                // A provider's task that panicked counts as its failure, by its policy.
                Err(e) => tracing::error!(error = %e, "a risk provider call ended abnormally"),
            }
        }
        for (i, provider) in providers.iter().enumerate() {
            if !outcomes.iter().any(|(j, _)| *j == i) {
                let failure = ProviderFailure::Unreachable("the call ended abnormally".into());
                outcomes.push((i, provider.spec().outcome(Err(failure))));
            }
        }
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, o)| o).collect()
    }

    /// The user's behaviour profile as detection stored it; one that does not decode is an
    /// error, never an empty profile.
    async fn profile(&self, tenant_id: &TenantId, username: &str) -> GateResult<Option<Profile>> {
        let key = format!("user:{username}");
        let rows = self.ctx.store.behaviour_profiles(tenant_id, std::slice::from_ref(&key)).await?;
        match rows.into_iter().find(|(k, _)| *k == key) {
            None => Ok(None),
            Some((_, json)) => serde_json::from_str(&json).map(Some).map_err(|e| {
                GateError::new(ErrorCode::Internal, format!("stored behaviour profile {key} does not decode: {e}"))
            }),
        }
    }
}
