//! Starts a server and hands out clients.

use sekimori_core::PublicUrl;
use std::net::SocketAddr;
use std::sync::Arc;

use sekimori_client::{AdminClient, AppClient, Authenticator};
use sekimori_core::{OsRng, TestClock, Timestamp};
use sekimori_gate::{Gate, GateSettings, ServerKeys};
use sekimori_server::AppState;
use sekimori_store::Store;
use serde_json::Value;

/// Which store backs the server.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server.
pub struct TestServer {
    pub url: String,
    pub clock: TestClock,
    pub admin: AdminClient,
    /// The admin token behind `admin`, for raw HTTP calls.
    pub admin_token: String,
    /// The server's gate, for housekeeping that runs on a timer in production.
    pub gate: Gate,
    /// The server's detection services, for the audit follower that runs on a timer.
    pub watch: sekimori_watch::Watch,
    /// The server's store, to check what was written (e.g. the audit log).
    pub store: Arc<dyn sekimori_store::Store>,
    /// The first tenant's id.
    pub tenant_id: String,
    /// The Web Push sender, wired as `sekimori serve` wires it.
    pub web_push: Arc<sekimori_webpush::WebPush>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub const START: Timestamp = Timestamp(1_795_000_000_000);

/// The Sigma rules every test server runs on ingested events.
pub const TEST_RULES: &str = "\
title: Whoami Execution
id: 0b1c2d3e-0000-4000-8000-000000000001
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  condition: sel
---
title: CloudTrail Logging Stopped
id: 0b1c2d3e-0000-4000-8000-000000000002
level: high
tags: [attack.defense-evasion, attack.t1562.008]
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, DeleteTrail]
  condition: sel
---
title: Push Bombing Attempt
id: 0b1c2d3e-0000-4000-8000-000000000003
level: high
tags: [attack.credential-access, attack.t1621]
logsource: {product: sekimori, service: audit}
detection:
  sel:
    event.action: auth.push.rejected_outside_standby
  condition: sel
---
# SigmaHQ's rules/windows/builtin/security/account_management/win_security_susp_failed_logon_source.yml
# (Detection Rule License 1.1, NVISO), filters shortened.
title: Failed Logon From Public IP
id: f88e112a-21aa-44bd-9b01-6ee2a2bbbed1
level: medium
tags: [attack.initial-access, attack.t1078]
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: 4625
  filter_main_ip_unknown:
    IpAddress|contains: '-'
  filter_main_local_ranges:
    IpAddress|cidr: ['::1/128', '10.0.0.0/8', '127.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']
  condition: selection and not 1 of filter_main_*
";

/// The threat-intel list of the test server (TEST-NET-3).
pub const TEST_THREAT_INTEL: &str = "203.0.113.0/24\n";

/// The built-in baselines with [`TEST_THREAT_INTEL`].
fn test_baselines() -> sekimori_detect::baseline::Baselines {
    let mut intel = sekimori_detect::baseline::ThreatIntel::default();
    intel.parse("test", TEST_THREAT_INTEL).expect("intel");
    sekimori_detect::baseline::Baselines::new(sekimori_detect::baseline::BaselineConfig::builtin(), intel)
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_on(Backend::Sqlite).await
    }

    pub async fn start_on(backend: Backend) -> Self {
        Self::start_with(backend, None).await
    }

    /// A server with an extra delivery channel for device messages.
    pub async fn start_with(backend: Backend, delivery: Option<Arc<dyn sekimori_gate::notify::Delivery>>) -> Self {
        Self::start_configured(backend, delivery, |_| {}).await
    }

    /// A server whose gate settings `configure` changes.
    pub async fn start_configured(
        backend: Backend,
        delivery: Option<Arc<dyn sekimori_gate::notify::Delivery>>,
        configure: impl FnOnce(&mut GateSettings),
    ) -> Self {
        Self::start_behind(backend, delivery, configure, &[]).await
    }

    /// A server behind proxies at `trusted_proxies` (`[server] trusted_proxies`).
    pub async fn start_behind(
        backend: Backend,
        delivery: Option<Arc<dyn sekimori_gate::notify::Delivery>>,
        configure: impl FnOnce(&mut GateSettings),
        trusted_proxies: &[&str],
    ) -> Self {
        Self::start_full(backend, delivery, configure, trusted_proxies, Default::default()).await
    }

    /// A server with every edge setting: trusted proxies and rate limits.
    pub async fn start_full(
        backend: Backend,
        delivery: Option<Arc<dyn sekimori_gate::notify::Delivery>>,
        configure: impl FnOnce(&mut GateSettings),
        trusted_proxies: &[&str],
        rate_limits: sekimori_server::limits::RateLimits,
    ) -> Self {
        let trusted_proxies = sekimori_core::net::TrustedProxies::new(
            trusted_proxies.iter().map(|c| c.parse().expect("trusted proxy range")).collect(),
        );
        let store: Arc<dyn Store> = match backend {
            Backend::Sqlite => Arc::new(sekimori_store::testing::fresh_sqlite().await),
            Backend::Postgres => Arc::new(sekimori_store::testing::fresh_postgres().await),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let clock = TestClock::new(START);
        let mut settings = GateSettings { public_url: PublicUrl::from_listen(addr), ..Default::default() };
        configure(&mut settings);
        // As `sekimori serve` wires it: the gate's notices are also emailed to users.
        let watch_cell = Arc::new(std::sync::OnceLock::new());
        let user_mail: Arc<dyn sekimori_gate::notify::Delivery> =
            sekimori_server::user_mail::UserMail::start(store.clone(), watch_cell.clone());
        // And authenticator apps are woken by Web Push.
        let keys = ServerKeys::generate(&OsRng);
        let web_push = sekimori_webpush::WebPush::start(
            store.clone(),
            Arc::new(clock.clone()),
            sekimori_webpush::SenderConfig::new(&keys, &settings),
        )
        .expect("web push sender");
        let gate = Gate::with_deliveries(
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(OsRng),
            keys,
            settings,
            delivery
                .into_iter()
                .chain([user_mail, web_push.clone() as Arc<dyn sekimori_gate::notify::Delivery>])
                .collect(),
        )
        .expect("gate");
        let (tenant, token) = gate.admin().bootstrap().await.expect("bootstrap");
        let token = token.expect("first start mints an admin token");
        let (mut rules, mut report) = sekimori_detect::RuleSet::from_yaml(TEST_RULES);
        rules.add_builtin(&mut report);
        assert!(report.is_clean(), "{:?}", report.failures);
        let watch = sekimori_watch::Watch::new(
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(OsRng),
            &rules,
            test_baselines(),
            sekimori_watch::IngestLimits::default(),
        )
        .expect("rules compile")
        .with_load_report(report)
        .with_sealer(gate.sealer())
        .with_responder(Arc::new(sekimori_server::responder::GateResponder(gate.clone())))
        .with_search_fields(vec!["EventID".into()]);
        watch.sync_search_fields().await.expect("search fields");
        let _ = watch_cell.set(watch.clone());
        let state = AppState {
            gate: gate.clone(),
            watch: watch.clone(),
            body_limit: sekimori_server::DEFAULT_BODY_LIMIT,
            trusted_proxies,
            limiter: Arc::new(sekimori_server::limits::RateLimiter::new(rate_limits, Arc::new(clock.clone()))),
            min_free_bytes: 0,
            metrics: Default::default(),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let background = sekimori_server::start_background(&state);
        tokio::spawn(async move {
            let _ = sekimori_server::serve(listener, state, async move {
                let _ = rx.await;
            })
            .await;
            for task in background {
                task.abort();
            }
        });
        TestServer {
            admin: AdminClient::new(&url, &token),
            admin_token: token,
            url,
            clock,
            gate,
            watch,
            store,
            tenant_id: tenant.id.to_string(),
            web_push,
            _shutdown: tx,
        }
    }

    /// Registers an app of `kind` and returns a client with its key.
    pub async fn app(&self, name: &str, kind: &str) -> AppClient {
        let r = self.admin.add_app(name, kind).await.expect("add app");
        AppClient::new(&self.url, r["key"].as_str().expect("key"))
    }

    /// Adds `username` (if needed) and enrols a new authenticator for them.
    pub async fn enrolled(&self, username: &str) -> Authenticator {
        if self.admin.add_user(username, None, None).await.is_err() {
            // Already there: a second device for the same user.
        }
        let e = self.admin.create_enrollment(username).await.expect("enrollment");
        let link = e["link"].as_str().expect("link");
        Authenticator::enroll(link, "test device", Arc::new(self.clock.clone()), Arc::new(OsRng)).await.expect("enroll")
    }

    /// A QR login on the hosted page's API, completed by `device` scanning the code: the
    /// hosted-audience assertion the page receives.
    pub async fn qr_login(&self, device: &Authenticator) -> String {
        let http = self.http();
        let created: Value = http
            .post(format!("{}/api/v1/qr-sessions", self.url))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        device.scan(created["payload"].as_str().expect("payload")).await.expect("scan");
        let status = self.qr_status(&created, 0).await;
        assert_eq!(status["status"], "completed", "{status}");
        status["assertion"].as_str().expect("assertion").to_owned()
    }

    /// A QR session's status as its page polls it (`created`: the answer that made it),
    /// waiting up to `wait` seconds for a change.
    pub async fn qr_status(&self, created: &Value, wait: u64) -> Value {
        self.http()
            .get(format!("{}/api/v1/qr-sessions/{}?wait={wait}", self.url, created["id"].as_str().expect("id")))
            .header("sekimori-poll-secret", created["poll_secret"].as_str().expect("secret"))
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("json")
    }

    /// Writes `document` as the tenant's next routing version (docs/respond.md); it must
    /// be accepted.
    pub async fn set_routing(&self, document: Value) {
        let (_, current) = self.admin_call(reqwest::Method::GET, "/api/v1/admin/routing", None).await;
        let base = current["version"].as_i64().expect("version");
        let body = serde_json::json!({"base_version": base, "document": document});
        let (status, answer) = self.admin_call(reqwest::Method::PUT, "/api/v1/admin/routing", Some(body)).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    }

    /// Audit events matching `query`.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        self.admin.events(query).await.expect("events")
    }

    /// The test clock's now, in Unix seconds.
    pub fn now_seconds(&self) -> i64 {
        sekimori_core::Clock::now(&self.clock).seconds()
    }

    /// A raw HTTP client for malformed requests.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }
}

pub const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
pub const CHROME_MAC: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

pub fn client(ip: &str, ua: &str) -> Option<Value> {
    Some(serde_json::json!({"ip": ip, "user_agent": ua}))
}

/// The problem code of a failed call.
pub fn code<T: std::fmt::Debug>(r: Result<T, sekimori_client::ClientError>) -> String {
    match r {
        Err(sekimori_client::ClientError::Problem(p)) => p.code,
        other => panic!("expected a problem, got {other:?}"),
    }
}

impl TestServer {
    /// An admin call with the server's admin token: status and JSON body (null if none).
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut req =
            reqwest::Client::new().request(method, format!("{}{path}", self.url)).bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    /// A new ingest source's key.
    pub async fn ingest_key(&self, name: &str) -> String {
        let (status, body) = self
            .admin_call(reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(serde_json::json!({"name": name})))
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        body["key"].as_str().expect("key").to_owned()
    }

    /// Sends `events` as NDJSON with a source key; expects 200 and returns the report.
    pub async fn ingest_ndjson(&self, key: &str, events: &[Value]) -> Value {
        let body: String = events.iter().map(|e| format!("{e}\n")).collect();
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/ingest", self.url))
            .bearer_auth(key)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        resp.json().await.expect("json")
    }
}

/// A relying party's app key, for raw calls.
pub struct Rp {
    pub key: String,
}

impl Rp {
    /// POSTs `body` with the app key: status and JSON body, with the `Retry-After` header
    /// (if any) as `__retry_after`.
    pub async fn post(&self, s: &TestServer, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", s.url))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let retry = resp.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
        let mut body: Value = resp.json().await.unwrap_or(Value::Null);
        if let Some(r) = retry {
            body["__retry_after"] = serde_json::json!(r);
        }
        (status, body)
    }
}
