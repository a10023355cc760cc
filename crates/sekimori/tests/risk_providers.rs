//! External risk providers through the built binary (protocol §18.4): `[[risk.providers]]`
//! in the configuration file, asked over HTTP after a relying party's password check, by a
//! provider this test runs that answers OK, REVIEW, NG, slowly, 500 and malformed JSON.
//! Each answer and each failure maps as its provider is configured (failure to REVIEW by
//! default, open, closed; a score with thresholds), the most severe wins, and the provider
//! never sees the username.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

mod common;

/// What the provider answers next.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    Review,
    Ng,
    Slow,
    Error,
    Malformed,
}

#[derive(Default)]
struct Provider {
    mode: Mutex<Option<Mode>>,
    seen: Mutex<Vec<(Option<String>, Value)>>,
}

async fn assess(State(p): State<Arc<Provider>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    p.seen.lock().expect("lock").push((auth, body.0));
    let mode = p.mode.lock().expect("lock").unwrap_or(Mode::Ok);
    let answer = |verdict: &str, score: f64| axum::Json(json!({"result": {"verdict": verdict}, "score": score}));
    match mode {
        Mode::Ok => answer("OK", 0.1).into_response(),
        Mode::Review => answer("SUSPICIOUS", 0.6).into_response(),
        Mode::Ng => answer("NG", 0.97).into_response(),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            answer("OK", 0.0).into_response()
        }
        Mode::Error => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Malformed => ([("content-type", "application/json")], "{\"result\": {\"verdict\": ").into_response(),
    }
}

async fn start_provider() -> (SocketAddr, Arc<Provider>) {
    let state = Arc::new(Provider::default());
    let app = axum::Router::new().route("/assess", axum::routing::post(assess)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, state)
}

async fn admin(s: &common::Server, path: &str, body: Value) -> Value {
    common::post_json(s, &s.token, path, &body).await.1
}

async fn verify(s: &common::Server, key: &str) -> (u16, Value) {
    let client = json!({"ip": "192.0.2.10", "user_agent": "Mozilla/5.0 Firefox/133.0"});
    let body = json!({"username": "alice", "password": "kumamoto42", "client": client});
    common::post_json(s, key, "/api/v1/factors/password/verify", &body).await
}

/// The providers' outcomes recorded with the latest judged attempt, and their details.
async fn last_outcomes(s: &common::Server) -> (Vec<(String, String, bool)>, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/events?action=auth.risk.assessed", s.url))
        .bearer_auth(&s.token)
        .send()
        .await
        .expect("send");
    let events: Value = resp.json().await.expect("json");
    let last = events["events"]
        .as_array()
        .and_then(|a| a.iter().max_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64()))
        .expect("an attempt")
        .clone();
    let outcomes = last["sekimori"]["risk"]["providers"]
        .as_array()
        .expect("providers recorded")
        .iter()
        .map(|o| {
            (
                o["provider"].as_str().expect("provider").to_owned(),
                o["decision"].as_str().expect("decision").to_owned(),
                o["failed"].as_bool().expect("failed"),
            )
        })
        .collect();
    (outcomes, last["sekimori"]["risk"]["providers"].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_and_failure_maps_as_configured_and_the_most_severe_wins() {
    let (addr, provider) = start_provider().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("provider.token");
    std::fs::write(&token, "s3cret-provider-token\n").expect("token");
    let url = format!("http://{addr}/assess");
    let file = dir.path().join("sekimori.toml");
    let text = format!(
        "[[risk.providers]]\nname = \"fails-to-review\"\nurl = \"{url}\"\ntimeout_ms = 300\nverdict_pointer = \"/result/verdict\"\n\
         values = {{ OK = \"OK\", SUSPICIOUS = \"REVIEW\", NG = \"NG\" }}\nbearer_token_file = {token:?}\n\n\
         [[risk.providers]]\nname = \"fails-open\"\nurl = \"{url}\"\ntimeout_ms = 300\non_failure = \"open\"\n\
         verdict_pointer = \"/result/verdict\"\nvalues = {{ OK = \"OK\", SUSPICIOUS = \"REVIEW\", NG = \"NG\" }}\n\n\
         [[risk.providers]]\nname = \"scores-fail-closed\"\nurl = \"{url}\"\ntimeout_ms = 300\non_failure = \"closed\"\n\
         verdict_pointer = \"/score\"\nscore = {{ review_at = 0.5, ng_at = 0.9 }}\n"
    );
    std::fs::write(&file, text).expect("config");
    let s = common::start_with(&dir.path().join("data"), &["--config", file.to_str().expect("utf-8")], &[]).await;
    admin(&s, "/api/v1/admin/users", json!({"username": "alice"})).await;
    let put = reqwest::Client::new()
        .put(format!("{}/api/v1/admin/users/alice/password", s.url))
        .bearer_auth(&s.token)
        .json(&json!({"password": "kumamoto42"}))
        .send()
        .await
        .expect("send");
    assert_eq!(put.status().as_u16(), 204);
    let app = admin(&s, "/api/v1/admin/apps", json!({"name": "bank", "kind": "relying_party"})).await;
    let key = app["key"].as_str().expect("key").to_owned();

    let names = ["fails-to-review", "fails-open", "scores-fail-closed"];
    // (mode, each provider's decision and whether it failed, the combined answer)
    let cases = [
        (Mode::Ok, ["OK", "OK", "OK"], false, (200, Some("OK"))),
        (Mode::Review, ["REVIEW", "REVIEW", "REVIEW"], false, (200, Some("REVIEW"))),
        (Mode::Ng, ["NG", "NG", "NG"], false, (403, None)),
        (Mode::Slow, ["REVIEW", "OK", "NG"], true, (403, None)),
        (Mode::Error, ["REVIEW", "OK", "NG"], true, (403, None)),
        (Mode::Malformed, ["REVIEW", "OK", "NG"], true, (403, None)),
    ];
    for (mode, decisions, failed, (status, decision)) in cases {
        *provider.mode.lock().expect("lock") = Some(mode);
        let (got, body) = verify(&s, &key).await;
        assert_eq!(got, status, "{mode:?}: {body}");
        if let Some(d) = decision {
            assert_eq!(body["risk"]["decision"].as_str(), Some(d), "{mode:?}: {body}");
            assert_eq!(body["risk"]["step_up"].as_bool(), Some(d == "REVIEW"), "{mode:?}: {body}");
        } else {
            assert_eq!(body["code"].as_str(), Some("login_not_allowed"), "{mode:?}: {body}");
            assert_eq!(body["detail"].as_str(), Some("this login was refused"), "no reason leaks: {body}");
        }
        let expected: Vec<(String, String, bool)> =
            names.iter().zip(decisions).map(|(n, d)| ((*n).to_owned(), d.to_owned(), failed)).collect();
        let (outcomes, details) = last_outcomes(&s).await;
        assert_eq!(outcomes, expected, "{mode:?}");
        let why = match mode {
            Mode::Slow => "no answer within 300 ms",
            Mode::Error => "answered HTTP 500",
            Mode::Malformed => "not JSON",
            _ => "value=",
        };
        assert!(details.contains(why), "{mode:?}: {details}");
    }

    // What the provider saw: a keyed hash, never the username; the same user hashes
    // differently at each provider; the bearer token only where configured.
    let seen = provider.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3 * 6);
    for (auth, body) in &seen {
        let user = body["user"].as_str().expect("user hash");
        assert!(user.len() == 64 && user.bytes().all(|b| b.is_ascii_hexdigit()), "{body}");
        assert!(!body.to_string().contains("alice"), "{body}");
        assert_eq!((body["ip"].as_str(), body["method"].as_str()), (Some("192.0.2.10"), Some("password")));
        assert_eq!(body["user_agent"].as_str(), Some("Mozilla/5.0 Firefox/133.0"));
        if auth.is_some() {
            assert_eq!(auth.as_deref(), Some("Bearer s3cret-provider-token"));
        }
    }
    let mut hashes: Vec<&str> = seen.iter().filter_map(|(_, b)| b["user"].as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 3, "one stable hash per provider");
    assert_eq!(seen.iter().filter(|(a, _)| a.is_some()).count(), 6, "only the first provider sends its token");
}
