//! The hosted login page's risk signals in real headless Chromium (docs/risk.md, protocol
//! §18.2), driven by `tests/browser/risk-signals.mjs`: the page's script reports what the
//! browser shows (automation markers, typed or pasted, typing regularity, pointer movement)
//! with the review id its cookie holds; the attempt's audit event records them; automation
//! is a REVIEW the person satisfies with a second factor, a person's paste is not.

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::browser::{next_line, node_interactive};
use crate::harness::*;
use crate::login::with_password;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_page_sends_its_signals_and_review_id_from_chromium() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    with_password(&s, "bob").await;
    let totp = crate::risk::enrol_totp(&s, "alice").await;
    let code = |s: &TestServer| crate::risk::code_now(s, &totp);

    let (mut child, mut stdin, mut lines) =
        node_interactive("risk-signals.mjs", &[s.url.as_str(), "alice", "bob", "kumamoto42"]);

    let first = next_line(&mut lines).await;
    let review_1 = first.strip_prefix("REVIEW ").expect("asked for a second factor").to_owned();
    stdin.write_all(format!("{}\n", code(&s)).as_bytes()).await.expect("code");
    assert_eq!(next_line(&mut lines).await, "SIGNED_IN_1");
    let second = next_line(&mut lines).await;
    let review_2 = second.strip_prefix("SIGNED_IN_2 ").expect("signed in with the password alone").to_owned();
    assert!(child.wait().await.expect("exit").success(), "no page error and no CSP violation in Chromium");
    assert_ne!(review_1, review_2, "each showing of the page is its own review");
    assert!(review_1.len() >= 22 && review_1 != "none", "{review_1}");

    let mut judged: Vec<Value> = s
        .events("action=auth.risk.assessed")
        .await
        .into_iter()
        .filter(|e| e["sekimori"]["risk"]["method"] == "password")
        .collect();
    judged.sort_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64());
    assert_eq!(judged.len(), 2, "{judged:?}");
    let (bot, person) = (&judged[0]["sekimori"]["risk"], &judged[1]["sekimori"]["risk"]);

    // The browser as automation drives it: reported, and a REVIEW by the automation rule.
    assert_eq!(bot["review_id"].as_str(), Some(review_1.as_str()), "{bot}");
    assert_eq!(bot["decision"], "REVIEW", "{bot}");
    assert_eq!(bot["rule"], "browser automation", "{bot}");
    let b = &bot["browser"];
    assert_eq!((b["webdriver"].as_bool(), b["headless"].as_bool()), (Some(true), Some(true)), "{b}");
    assert_eq!(b["pasted"].as_bool(), Some(false), "typed, not pasted: {b}");
    // Ten keys typed: the page judged their regularity (which way depends on this machine's
    // timing under load, so the test does not assert it).
    assert!(b["regular_typing"].is_boolean(), "{b}");
    assert!(b["user_agent"].as_str().is_some_and(|u| u.contains("HeadlessChrome")), "{b}");

    // A person's browser: the paste is seen, the pointer moved, nothing adds up to a REVIEW.
    assert_eq!(person["review_id"].as_str(), Some(review_2.as_str()), "{person}");
    assert_eq!(person["decision"], "OK", "{person}");
    let p = &person["browser"];
    assert_eq!((p["webdriver"].as_bool(), p["headless"].as_bool()), (Some(false), Some(false)), "{p}");
    assert_eq!((p["pasted"].as_bool(), p["pointer_moved"].as_bool()), (Some(true), Some(true)), "{p}");
    let reasons: Vec<&str> = person["reasons"].as_array().expect("reasons").iter().filter_map(Value::as_str).collect();
    assert!(!reasons.contains(&"automation") && !reasons.contains(&"scripted_input"), "{reasons:?}");
}

/// What the page sends is checked like any input: a signals field that is not the page's
/// JSON is a clear error, and a forged review cookie is not recorded.
#[tokio::test]
async fn malformed_signals_are_refused_and_a_forged_review_cookie_is_ignored() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let mut b = crate::login::Browser::new(&s);
    let page = b.get("/login").await;
    let csrf = page.csrf();
    assert!(b.jar.get("sekimori_review").is_some_and(|r| r.len() >= 22), "{:?}", b.jar);
    let form = |signals: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("username", "alice".into()),
            ("password", "kumamoto42".into()),
            ("signals", signals.into()),
        ]
    };
    for bad in [r#"{"webdriver": "yes"}"#, r#"{"unknown": true}"#, "not json"] {
        let f = form(bad);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post("/login", &pairs).await;
        assert_eq!(r.status, reqwest::StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.body.contains("signals"), "{}", r.body);
    }
    b.jar.insert("sekimori_review".into(), "x;<script>".into());
    let f = form(r#"{"webdriver": false, "pasted": false}"#);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/login", &pairs).await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
    let judged = s.events("action=auth.risk.assessed").await;
    let last = judged.iter().max_by_key(|e| e["sekimori"]["audit"]["seq"].as_i64()).expect("judged");
    assert!(last["sekimori"]["risk"].get("review_id").is_none(), "{last}");
    assert_eq!(last["sekimori"]["risk"]["browser"]["webdriver"], false);
}
