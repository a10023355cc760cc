//! Alerts reach a webhook receiver through the routing document, end to end: a log source
//! ingests events that fire a rule, the dispatcher groups the alerts by rule, claims the
//! notification and POSTs the Alertmanager v4 body signed with HMAC-SHA256 to a real HTTP
//! server the test runs; a 503 is retried, every attempt is readable over the API, the
//! webhook URL and key never come back in reads, the same alert firing again is not sent
//! again within the repeat interval, and a resolved group is told once. On SQLite and
//! PostgreSQL.

use sekimori_core::TenantId;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::harness::{Backend, TestServer};

/// What a receiver got: the signature header and the body.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// A webhook receiver on loopback answering the scripted statuses in turn, then 200.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(script: Vec<u16>) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(script.into_iter()));
        let (g, sc) = (got.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (g, sc) = (g.clone(), sc.clone());
                async move {
                    let status = sc.lock().expect("script").next().unwrap_or(200);
                    if status == 200 {
                        g.lock().expect("got").push(Received {
                            signature: headers
                                .get("x-sekimori-signature")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            body: body.to_vec(),
                        });
                    }
                    AxumStatus::from_u16(status).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, got }
    }

    pub fn count(&self) -> usize {
        self.got.lock().expect("got").len()
    }

    /// Waits (real time: the dispatcher ticks every second) until `n` bodies arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..150 {
            if self.count() >= n {
                return self.got.lock().expect("got").clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver got {} notifications, not {n}", self.count());
    }
}

const KEY: &str = "a-webhook-key-of-enough-length";

fn verify(r: &Received) -> Value {
    let sig = r.signature.as_deref().expect("signed");
    let (t, v1) = sig.split_once(",v1=").expect("t=..,v1=..");
    let t = t.strip_prefix("t=").expect("t=");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(KEY.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1, "the signature is over t and the raw body");
    serde_json::from_slice(&r.body).expect("json body")
}

async fn source_key(s: &TestServer) -> String {
    let (status, body) = s.admin_call(Method::POST, "/api/v1/admin/ingest-sources", Some(json!({"name": "edr"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().expect("key").to_owned()
}

async fn ingest(s: &TestServer, key: &str, users: &[&str]) {
    let body: String = users
        .iter()
        .map(|u| {
            json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                   "Image": "C:\\Windows\\System32\\whoami.exe", "TargetUserName": u})
            .to_string()
                + "\n"
        })
        .collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", s.url))
        .bearer_auth(key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Waits until `n` delivery attempts are on record (the receiver answers before the
/// sender records).
async fn recorded_attempts(s: &TestServer, n: usize) -> Value {
    for _ in 0..100 {
        let (status, attempts) = s.admin_call(Method::GET, "/api/v1/admin/notifications", None).await;
        assert_eq!(status, StatusCode::OK);
        if attempts.as_array().is_some_and(|a| a.len() >= n) {
            return attempts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} delivery attempts recorded");
}

/// Waits until no stored alert is pending (the dispatcher settles a delivery at its next
/// tick).
pub async fn seen_through(s: &TestServer) {
    for _ in 0..100 {
        if s.store.pending_alerts(10).await.expect("pending").is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alerts are still pending");
}

async fn alerts_reach_a_signed_webhook_once(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let receiver = Receiver::start(vec![503]).await;
    let doc = json!({
        "route": {"receiver": "siem", "group_by": ["rule"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"},
        "receivers": [{"name": "siem", "webhook_configs": [{"url": receiver.url, "hmac_key": KEY}]}]
    });
    s.set_routing(doc).await;
    // Read back, the secrets are masked; written back masked, they are kept.
    let (_, current) = s.admin_call(Method::GET, "/api/v1/admin/routing", None).await;
    let channel = &current["document"]["receivers"][0]["webhook_configs"][0];
    assert_eq!((channel["url"].as_str(), channel["hmac_key"].as_str()), (Some("**********"), Some("**********")));
    assert!(!current.to_string().contains(&receiver.url) && !current.to_string().contains(KEY));
    let (status, body) = s
        .admin_call(
            Method::PUT,
            "/api/v1/admin/routing",
            Some(json!({"base_version": 1, "document": current["document"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, versions) = s.admin_call(Method::GET, "/api/v1/admin/routing/versions", None).await;
    assert!(!versions.to_string().contains(KEY), "no version shows a secret");
    let stored = s.store.document(sekimori_store::DocumentKind::Routing, &TenantId::new(&s.tenant_id)).await;
    let stored = stored.expect("read").expect("stored").doc;
    assert!(!stored.contains(&receiver.url) && !stored.contains(KEY), "sealed at rest: {stored}");

    let key = source_key(&s).await;
    ingest(&s, &key, &["alice", "bob"]).await;
    // group_wait has not passed: nothing yet.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 0, "the group waits 30 s (test clock) for company");
    s.clock.advance_seconds(31);
    let got = receiver.wait_for(1).await;
    let body = verify(&got[0]);
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "siem");
    assert_eq!(body["groupLabels"], json!({"rule": "0b1c2d3e-0000-4000-8000-000000000001"}));
    assert_eq!(body["commonLabels"]["severity"], "medium");
    assert_eq!(body["commonLabels"]["kind"], "detection");
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2, "both users' alerts in one group: {body}");
    let users: Vec<&str> = alerts.iter().filter_map(|a| a["labels"]["user"].as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);
    assert!(alerts.iter().all(|a| a["endsAt"] == "0001-01-01T00:00:00Z" && a["status"] == "firing"));
    // The link opens the alert over the admin API.
    let link = alerts[0]["generatorURL"].as_str().expect("link");
    let path = link.strip_prefix(&s.url).expect("on this server");
    let (status, alert) = s.admin_call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{alert}");
    assert_eq!(alert["title"], "Whoami Execution");

    // Every attempt is on record: the 503, then the delivery.
    let attempts = recorded_attempts(&s, 2).await;
    let outcomes: Vec<&str> = attempts.as_array().expect("list").iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["delivered", "status 503"], "{attempts}");
    assert_eq!(attempts[0]["channel"], "siem/webhook_configs[0]");
    assert_eq!(attempts[0]["alerts"], 2);
    seen_through(&s).await;

    // The same alerts again within the repeat interval: the group's next look (5 min after
    // its notification) finds it unchanged and sends nothing.
    s.clock.advance_seconds(100);
    ingest(&s, &key, &["alice", "bob"]).await;
    s.clock.advance_seconds(209);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 1, "unchanged group within repeat_interval");
    seen_through(&s).await;

    // Quiet for the resolve timeout (5 min): the group is told once that it resolved.
    s.clock.advance_seconds(301);
    let got = receiver.wait_for(2).await;
    let body = verify(&got[1]);
    assert_eq!(body["status"], "resolved", "{body}");
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a["status"] == "resolved" && a["endsAt"] != "0001-01-01T00:00:00Z"));
    s.clock.advance_seconds(301);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 2, "a resolved group is told once, then forgotten");
    // The stored alerts it stood for are resolved too, by Sekimori.
    let (_, resolved) = s.admin_call(Method::GET, "/api/v1/admin/alerts?state=resolved", None).await;
    assert_eq!(resolved.as_array().map(Vec::len), Some(4), "{resolved}");
    let (_, firing) = s.admin_call(Method::GET, "/api/v1/admin/alerts?state=firing", None).await;
    assert_eq!(firing, json!([]));
    let id = resolved[0]["id"].as_str().expect("id");
    let (_, one) = s.admin_call(Method::GET, &format!("/api/v1/admin/alerts/{id}"), None).await;
    assert_eq!(one["changed_by"], "sekimori", "{one}");
    // The alerts about one user, in a state or in any.
    for path in ["/api/v1/admin/alerts?user=alice", "/api/v1/admin/alerts?user=alice&state=resolved"] {
        let (status, about) = s.admin_call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{about}");
        let users: Vec<&str> =
            about.as_array().expect("list").iter().filter_map(|a| a["entities"]["user"].as_str()).collect();
        assert_eq!(users, ["alice", "alice"], "{path}: {about}");
    }
    let (_, none) = s.admin_call(Method::GET, "/api/v1/admin/alerts?user=alice&state=firing", None).await;
    assert_eq!(none, json!([]));
    let (_, nobody) = s.admin_call(Method::GET, "/api/v1/admin/alerts?user=carol", None).await;
    assert_eq!(nobody, json!([]));
    for (path, field) in [
        ("/api/v1/admin/alerts?user=alice&ip=192.0.2.1", "ip"),
        ("/api/v1/admin/alerts?host=", "host"),
        ("/api/v1/admin/alerts?user=alice&state=gone", "state"),
    ] {
        let (status, problem) = s.admin_call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(problem["field"], field, "{path}: {problem}");
    }
}

#[tokio::test]
async fn alerts_reach_a_signed_webhook_once_on_sqlite() {
    alerts_reach_a_signed_webhook_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn alerts_reach_a_signed_webhook_once_on_postgres() {
    alerts_reach_a_signed_webhook_once(Backend::Postgres).await;
}

async fn a_document_with_a_bad_channel_is_refused_with_its_place(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    for (channel, place) in [
        (json!({"webhook_configs": [{"url": "ftp://x.test/"}]}), "receivers[0].webhook_configs[0].url"),
        (
            json!({"webhook_configs": [{"url": "https://x.test/", "hmac_key": "short"}]}),
            "receivers[0].webhook_configs[0].hmac_key",
        ),
        (json!({"slack_configs": [{"api_url": "**********"}]}), "receivers[0].slack_configs[0].api_url"),
    ] {
        let mut receiver = json!({"name": "r"});
        receiver.as_object_mut().expect("object").extend(channel.as_object().expect("object").clone());
        let doc = json!({"route": {"receiver": "r"}, "receivers": [receiver]});
        let (status, problem) =
            s.admin_call(Method::PUT, "/api/v1/admin/routing", Some(json!({"base_version": 0, "document": doc}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["place"], place, "{problem}");
    }
    let (_, current) = s.admin_call(Method::GET, "/api/v1/admin/routing", None).await;
    assert_eq!(current["version"], 0, "nothing written");
}

#[tokio::test]
async fn a_document_with_a_bad_channel_is_refused_with_its_place_on_sqlite() {
    a_document_with_a_bad_channel_is_refused_with_its_place(Backend::Sqlite).await;
}

async fn slack_and_teams_get_their_own_messages(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (slack, teams) = (Receiver::start(Vec::new()).await, Receiver::start(Vec::new()).await);
    // Only staging's alerts go to the chat channels: a label the ingest source gives.
    let doc = json!({
        "route": {"receiver": "nobody", "group_by": ["rule"],
                  "routes": [{"matchers": ["environment=\"staging\""], "receiver": "chat"}]},
        "receivers": [{"name": "nobody"}, {"name": "chat",
            "slack_configs": [{"api_url": slack.url}],
            "msteamsv2_configs": [{"webhook_url": teams.url}]}]
    });
    s.set_routing(doc).await;
    let key = source_key(&s).await;
    let (_, sources) = s.admin_call(Method::GET, "/api/v1/admin/ingest-sources", None).await;
    let id = sources[0]["id"].as_str().expect("id").to_owned();
    let labels = format!("/api/v1/admin/ingest-sources/{id}/labels");
    for bad in [json!({"user": "x"}), json!({"9x": "y"}), json!({"environment": ""})] {
        let (status, problem) = s.admin_call(Method::PUT, &labels, Some(json!({"labels": bad}))).await;
        assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("labels")), "{bad}: {problem}");
    }
    let (status, _) = s.admin_call(Method::PUT, &labels, Some(json!({"labels": {"environment": "staging"}}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, sources) = s.admin_call(Method::GET, "/api/v1/admin/ingest-sources", None).await;
    assert_eq!(sources[0]["labels"], json!({"environment": "staging"}));
    ingest(&s, &key, &["alice"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.clock.advance_seconds(31);
    let got = slack.wait_for(1).await;
    assert!(got[0].signature.is_none(), "Slack bodies are not signed");
    let message: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert!(message["text"].as_str().is_some_and(|t| t.starts_with("[firing] Whoami Execution")), "{message}");
    let blocks = message["blocks"].as_array().expect("Block Kit blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "[Firing] Whoami Execution");
    assert!(blocks[1]["fields"].to_string().contains("*Entity*\\nalice"), "{}", blocks[1]);
    assert_eq!(blocks[2]["elements"][0]["type"], "button");
    let got = teams.wait_for(1).await;
    let card: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(card["type"], "message");
    let attachment = &card["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(
        (attachment["content"]["type"].as_str(), attachment["content"]["version"].as_str()),
        (Some("AdaptiveCard"), Some("1.4"))
    );
    assert_eq!(attachment["content"]["actions"][0]["type"], "Action.OpenUrl");
    let attempts = recorded_attempts(&s, 2).await;
    let mut channels: Vec<&str> =
        attempts.as_array().expect("list").iter().filter_map(|a| a["channel"].as_str()).collect();
    channels.sort_unstable();
    assert_eq!(channels, ["chat/msteamsv2_configs[0]", "chat/slack_configs[0]"]);
}

#[tokio::test]
async fn slack_and_teams_get_their_own_messages_on_sqlite() {
    slack_and_teams_get_their_own_messages(Backend::Sqlite).await;
}

/// A real SMTP server (tests/smtp/server.py, aiosmtpd) requiring STARTTLS and AUTH, with a
/// certificate for 127.0.0.1 from a test CA.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    out: tempfile::TempDir,
    pub ca_file: std::path::PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    pub fn start() -> Smtp {
        Smtp::start_in("starttls")
    }

    /// `mode`: `starttls` (port 587's upgrade, required) or `tls` (port 465's implicit TLS).
    pub fn start_in(mode: &str) -> Smtp {
        use std::io::BufRead;
        let out = tempfile::tempdir().expect("tempdir");
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Sekimori test CA");
        let ca = params.self_signed(&ca_key).expect("ca");
        let key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("sign");
        let keys = tempfile::tempdir().expect("tempdir").keep();
        let (cert_file, key_file, ca_file) = (keys.join("smtp.pem"), keys.join("smtp.key"), keys.join("ca.pem"));
        std::fs::write(&cert_file, leaf.pem()).expect("cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("key");
        std::fs::write(&ca_file, ca.pem()).expect("ca");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/server.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args([&cert_file, &key_file, &out.path().to_path_buf()])
            .args(["soc-mailer", "mail-password-1", mode])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs tests/smtp/server.py (pip install -r tests/smtp/requirements.txt)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("READY line");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?} (is aiosmtpd installed?)"));
        Smtp { child, port, out, ca_file }
    }

    /// Waits for message `n` (1-based): what the server decoded.
    pub async fn message(&self, n: usize) -> Value {
        let path = self.out.path().join(format!("{n}.json"));
        for _ in 0..150 {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text).expect("json");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no message {n} at the SMTP server");
    }
}

async fn email_reaches_a_real_smtp_server_over_starttls(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let smtp = Smtp::start();
    let email = |password: &str, to: &str| {
        json!({
            "to": [to], "from": "sekimori@example.jp", "smarthost": format!("127.0.0.1:{}", smtp.port),
            "tls_ca_file": smtp.ca_file, "auth_username": "soc-mailer", "auth_password": password, "language": "ja"
        })
    };
    let doc = json!({
        "route": {"receiver": "soc-mail", "group_by": ["rule"],
                  "routes": [{"matchers": ["user=\"mallory\""], "receiver": "wrong-password"}]},
        "receivers": [
            {"name": "soc-mail", "email_configs": [email("mail-password-1", "soc@example.jp")]},
            {"name": "wrong-password", "email_configs": [email("not-the-password", "audit@example.jp")]}
        ]
    });
    s.set_routing(doc).await;
    let (_, current) = s.admin_call(Method::GET, "/api/v1/admin/routing", None).await;
    assert_eq!(current["document"]["receivers"][0]["email_configs"][0]["auth_password"], "**********");
    let key = source_key(&s).await;
    ingest(&s, &key, &["alice", "mallory"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.clock.advance_seconds(31);
    let got = smtp.message(1).await;
    assert_eq!(got["tls"], true, "sent after STARTTLS: {got}");
    assert_eq!(got["authenticated"], true);
    assert_eq!(got["rcpt_tos"], json!(["soc@example.jp"]));
    assert_eq!(got["mail_from"], "sekimori@example.jp");
    assert_eq!(got["content_type"], "multipart/alternative");
    assert_eq!(got["subject"], "[発生中] Whoami Execution", "{got}");
    let text = got["text"].as_str().expect("text part");
    assert!(text.contains("関守: soc-mail 宛てのアラート 1 件が発生しています。"), "{text}");
    assert!(text.contains("対象:     alice") && text.contains("重要度:   medium"), "{text}");
    let html = got["html"].as_str().expect("html part");
    assert!(html.contains("<html lang=\"ja\">") && html.contains("<td>alice</td>"), "{html}");
    // A wrong password is a permanent refusal (535): recorded once, not retried.
    let attempts = recorded_attempts(&s, 2).await;
    let refused: Vec<&Value> = attempts
        .as_array()
        .expect("list")
        .iter()
        .filter(|a| a["channel"] == "wrong-password/email_configs[0]")
        .collect();
    assert_eq!(refused.len(), 1, "{attempts}");
    assert!(refused[0]["outcome"].as_str().is_some_and(|o| o.starts_with("smtp 535")), "{attempts}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!smtp.out.path().join("2.json").exists(), "nothing else was accepted");
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_over_starttls_on_sqlite() {
    email_reaches_a_real_smtp_server_over_starttls(Backend::Sqlite).await;
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_over_starttls_on_postgres() {
    email_reaches_a_real_smtp_server_over_starttls(Backend::Postgres).await;
}

async fn resolving_by_hand_tells_the_group(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let receiver = Receiver::start(Vec::new()).await;
    let doc = json!({
        "route": {"receiver": "siem", "group_by": ["rule"], "group_interval": "1m"},
        "receivers": [{"name": "siem", "webhook_configs": [{"url": receiver.url}]}]
    });
    s.set_routing(doc).await;
    let key = source_key(&s).await;
    ingest(&s, &key, &["alice"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.clock.advance_seconds(31);
    receiver.wait_for(1).await;
    let (_, firing) = s.admin_call(Method::GET, "/api/v1/admin/alerts?state=firing", None).await;
    let id = firing[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/admin/alerts/{id}");
    let (status, _) = s.admin_call(Method::POST, &format!("{path}/ack"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, problem) = s.admin_call(Method::POST, &format!("{path}/ack"), Some(json!({}))).await;
    assert_eq!((status, problem["state"].as_str()), (StatusCode::CONFLICT, Some("acknowledged")), "{problem}");
    let (status, problem) = s.admin_call(Method::POST, &format!("{path}/comments"), Some(json!({"body": " "}))).await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::BAD_REQUEST, Some("comment")), "{problem}");
    let (status, _) = s.admin_call(Method::POST, "/api/v1/admin/alerts/nope/ack", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        s.admin_call(Method::POST, &format!("{path}/resolve"), Some(json!({"comment": "known admin script"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Within the resolve timeout, at the group's next look: told it resolved.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.clock.advance_seconds(61);
    let got = receiver.wait_for(2).await;
    let body: Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(body["status"], "resolved", "{body}");
    let (_, one) = s.admin_call(Method::GET, &path, None).await;
    assert_eq!(
        (one["state"].as_str(), one["comments"][0]["body"].as_str()),
        (Some("resolved"), Some("known admin script"))
    );
    // An auditor reads alerts and cannot triage them.
    let (_, auditor) =
        s.admin_call(Method::POST, "/api/v1/admin/tokens", Some(json!({"name": "audit", "role": "auditor"}))).await;
    let key = auditor["key"].as_str().expect("key");
    let resp = reqwest::Client::new()
        .post(format!("{}{path}/comments", s.url))
        .bearer_auth(key)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn resolving_by_hand_tells_the_group_on_sqlite() {
    resolving_by_hand_tells_the_group(Backend::Sqlite).await;
}

#[tokio::test]
async fn resolving_by_hand_tells_the_group_on_postgres() {
    resolving_by_hand_tells_the_group(Backend::Postgres).await;
}

async fn a_silence_that_ends_while_the_alert_fires_is_notified(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let receiver = Receiver::start(Vec::new()).await;
    let doc = json!({
        "route": {"receiver": "siem", "group_by": ["rule"], "group_interval": "1m"},
        "receivers": [{"name": "siem", "webhook_configs": [{"url": receiver.url}]}]
    });
    s.set_routing(doc).await;
    let ends = sekimori_core::Timestamp(crate::harness::START.0 + 120_000).to_rfc3339();
    let (status, silence) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/silences",
            Some(json!({"matchers": ["user=\"alice\""], "ends_at": ends, "comment": "maintenance"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{silence}");
    let key = source_key(&s).await;
    ingest(&s, &key, &["alice"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.clock.advance_seconds(31);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 0, "silenced");
    seen_through(&s).await;
    // The silence ends while alice's alert still fires: the group tells of it.
    s.clock.advance_seconds(100);
    let got = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["alerts"][0]["labels"]["user"], "alice");
    let note = body["alerts"][0]["annotations"]["silence_ended"].as_str().expect("the notice names the silence");
    assert!(note.contains("maintenance") && note.contains(silence["id"].as_str().expect("id")), "{note}");
}

#[tokio::test]
async fn a_silence_that_ends_while_the_alert_fires_is_notified_on_sqlite() {
    a_silence_that_ends_while_the_alert_fires_is_notified(Backend::Sqlite).await;
}

/// The gate's own notice by email: a push login from a new environment warns the user on
/// their authenticator and, through the tenant's user_notices channel, by email.
async fn a_new_environment_warning_is_emailed_to_the_user(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let smtp = Smtp::start();
    let doc = json!({
        "route": {"receiver": "mail"},
        "receivers": [{"name": "mail", "email_configs": [{"to": ["soc@example.jp"], "from": "sekimori@example.jp",
            "smarthost": format!("127.0.0.1:{}", smtp.port), "tls_ca_file": smtp.ca_file,
            "auth_username": "soc-mailer", "auth_password": "mail-password-1"}]}],
        "user_notices": {"email_receiver": "mail"}
    });
    s.set_routing(doc).await;
    let alice = s.enrolled("alice").await;
    let (status, _) =
        s.admin_call(Method::PATCH, "/api/v1/admin/users/alice", Some(json!({"email": "alice@example.jp"}))).await;
    assert_eq!(status, StatusCode::OK);
    let rp = s.app("shop", "relying_party").await;
    alice.standby().await.expect("standby");
    rp.start_push("alice", crate::harness::client("203.0.113.9", crate::harness::FIREFOX_LINUX)).await.expect("push");
    let mail = smtp.message(1).await;
    assert_eq!(mail["rcpt_tos"], json!(["alice@example.jp"]), "{mail}");
    assert_eq!(mail["subject"], "Sekimori: a login from a new environment");
    let text = mail["text"].as_str().expect("text");
    assert!(text.contains("A login to shop was attempted from Firefox on Linux"), "{text}");
    let attempts = recorded_attempts(&s, 1).await;
    assert_eq!(attempts[0]["group_key"], "user-notice:alice", "{attempts}");
}

#[tokio::test]
async fn a_new_environment_warning_is_emailed_to_the_user_on_sqlite() {
    a_new_environment_warning_is_emailed_to_the_user(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_new_environment_warning_is_emailed_to_the_user_on_postgres() {
    a_new_environment_warning_is_emailed_to_the_user(Backend::Postgres).await;
}

async fn email_goes_over_implicit_tls(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let smtp = Smtp::start_in("tls");
    let doc = json!({
        "route": {"receiver": "mail"},
        "receivers": [{"name": "mail", "email_configs": [{"to": ["soc@example.jp"], "from": "sekimori@example.jp",
            "smarthost": format!("127.0.0.1:{}", smtp.port), "tls": "tls", "tls_ca_file": smtp.ca_file,
            "auth_username": "soc-mailer", "auth_password": "mail-password-1"}]}]
    });
    s.set_routing(doc).await;
    let (status, report) = s.admin_call(Method::POST, "/api/v1/admin/routing/receivers/mail/test", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report[0]["delivered"], true, "{report}");
    let got = smtp.message(1).await;
    assert_eq!((got["tls"].as_bool(), got["authenticated"].as_bool()), (Some(true), Some(true)), "{got}");
    assert_eq!(got["subject"], "[FIRING] Sekimori test notification for receiver mail (sekimori alerts test-receiver)");
}

#[tokio::test]
async fn email_goes_over_implicit_tls_on_sqlite() {
    email_goes_over_implicit_tls(Backend::Sqlite).await;
}
