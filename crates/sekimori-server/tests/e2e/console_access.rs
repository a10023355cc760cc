//! Console sign-in and authorization through the front door: a person signs in with
//! Sekimori's own login (password, then a TOTP step-up to level 2), and their browser
//! session, with the console header, acts through the admin API as a token of the console
//! role they hold would: refused below level 2 and without a role, an admin's change
//! audited with their name, an auditor masked and read-only, an operator scoped to its
//! group, and nothing from another site.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;
use crate::login::{with_password, Browser};
use crate::risk::{code_now, enrol_totp};

/// A request from the console's pages: the browser's cookies and the console header.
async fn console(s: &TestServer, b: &Browser, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    console_from(s, b, method, path, body, None).await
}

async fn console_from(
    s: &TestServer,
    b: &Browser,
    method: Method,
    path: &str,
    body: Option<Value>,
    origin: Option<&str>,
) -> (StatusCode, Value) {
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.url))
        .header("cookie", cookies.join("; "))
        .header("sekimori-console", "1");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("send");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Signs `user` in with the password, then steps up to level 2 with a TOTP code.
async fn signed_in_at_level_2(s: &TestServer, user: &str) -> Browser {
    let totp = enrol_totp(s, user).await;
    let mut b = Browser::new(s);
    let first = b.login(user, "kumamoto42", "/").await;
    s.clock.advance_seconds(30);
    // A user with a second factor may be asked for it at once; otherwise the session steps up.
    let step = if first.body.contains("action=\"/login/factor\"") {
        first
    } else {
        assert_eq!(b.whoami().await.1["level"], 1);
        b.get("/login?return_to=/&level=2").await
    };
    let done = b
        .post(
            "/login/factor",
            &[("csrf", &step.csrf()), ("code", &code_now(s, &totp)), ("return_to", "/"), ("level", "2")],
        )
        .await;
    assert_eq!(done.location(), "/", "{}", done.body);
    assert_eq!(b.whoami().await.1["level"], 2);
    b
}

#[tokio::test]
async fn console_users_act_through_the_admin_api_as_their_role() {
    let s = TestServer::start().await;
    for u in ["alice", "bob", "carol", "dave"] {
        with_password(&s, u).await;
    }
    s.admin.update_user("bob", &json!({"email": "bob@example.jp"})).await.expect("email");
    let (status, _) = s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "sales"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    s.admin_call(Method::PUT, "/api/v1/admin/groups/sales/members/bob", None).await;

    // Level 1 is not enough, whatever the role.
    let mut alice = Browser::new(&s);
    alice.login("alice", "kumamoto42", "/").await;
    let (status, p) = console(&s, &alice, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{p}");
    assert_eq!(p["required_level"], 2);

    // Level 2 without a console role: refused.
    let alice = signed_in_at_level_2(&s, "alice").await;
    let (status, p) = console(&s, &alice, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");

    // An admin token gives alice the admin role; she disables dave from the console.
    let (status, g) =
        s.admin_call(Method::PUT, "/api/v1/admin/console-roles/user/alice", Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::OK, "{g}");
    let (status, users) = console(&s, &alice, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(users.to_string().contains("bob@example.jp"), "an admin sees personal data: {users}");
    let (status, p) =
        console(&s, &alice, Method::PATCH, "/api/v1/admin/users/dave", Some(json!({"disabled": true}))).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["disabled"], true);
    let (status, ended) = console(&s, &alice, Method::DELETE, "/api/v1/admin/users/dave/sessions", None).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    let audit = s.events("action=auth.session.revoked_by_admin").await;
    assert!(audit.iter().any(|e| e.to_string().contains("console:alice")), "audited with her name: {audit:?}");

    // Nothing from another site, nor without the header (then it is a bearer request).
    let (status, _) =
        console_from(&s, &alice, Method::GET, "/api/v1/admin/users", None, Some("http://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cookies: Vec<String> = alice.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let plain = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/users", s.url))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .expect("send");
    assert_eq!(plain.status(), StatusCode::UNAUTHORIZED, "a cookie alone is no admin credential");

    // An auditor (through a group): masked, and read-only.
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "audit"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/audit/members/carol", None).await;
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/console-roles/group/audit", Some(json!({"role": "auditor"}))).await;
    assert_eq!(status, StatusCode::OK);
    let carol = signed_in_at_level_2(&s, "carol").await;
    let (status, users) = console(&s, &carol, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!users.to_string().contains("bob@example.jp"), "masked for an auditor: {users}");
    let (status, _) =
        console(&s, &carol, Method::PATCH, "/api/v1/admin/users/dave", Some(json!({"disabled": false}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an auditor changes nothing");

    // An operator scoped to the sales group sees only its members.
    let (status, g) = s
        .admin_call(
            Method::PUT,
            "/api/v1/admin/console-roles/user/bob",
            Some(json!({"role": "operator", "capabilities": ["users.read"], "groups": ["sales"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    let bob = signed_in_at_level_2(&s, "bob").await;
    let (status, users) = console(&s, &bob, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = users.as_array().expect("list").iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names, ["bob"], "only the group's members");

    // The roles as the admin API lists them; taking alice's away ends her console access.
    let (_, listed) = s.admin_call(Method::GET, "/api/v1/admin/console-roles", None).await;
    let listed: Vec<String> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|g| {
            format!(
                "{}:{}={}",
                g["kind"].as_str().unwrap_or("?"),
                g["name"].as_str().unwrap_or("?"),
                g["role"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(listed, ["group:audit=auditor", "user:alice=admin", "user:bob=operator"]);
    let (status, _) = s.admin_call(Method::DELETE, "/api/v1/admin/console-roles/user/alice", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(console(&s, &alice, Method::GET, "/api/v1/admin/users", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.events("action=admin.console_role.granted").await.len(), 3);
}

/// The dashboard's numbers come from the roll-ups and equal what the event API lists for
/// the same range; an auditor may read them, a help-desk operator without `audit` may not.
#[tokio::test]
async fn the_dashboard_counts_what_the_events_say() {
    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let rp = s.app("shop", "relying_party").await;
    for password in ["kumamoto42", "wrong", "wrong-again", "kumamoto42"] {
        let _ = rp.verify_password("alice", password, None).await;
    }
    let device = s.enrolled("bob").await;
    drop(device);
    assert!(rp.start_push("bob", None).await.is_err(), "outside standby");
    s.clock.advance_seconds(3 * 3600);
    let _ = rp.verify_password("alice", "wrong", None).await;
    let until = sekimori_core::Clock::now(&s.clock).plus_seconds(1).to_rfc3339();
    let since = START.plus_seconds(-3600).to_rfc3339();
    let (status, d) =
        s.admin_call(Method::GET, &format!("/api/v1/admin/dashboard?since={since}&until={until}"), None).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["bucket"], "hour");
    let n = |method: &str, result: &str| {
        d["logins"]
            .as_array()
            .expect("logins")
            .iter()
            .find(|c| c["key"] == method && c["result"] == result)
            .map_or(0, |c| c["n"].as_i64().expect("n"))
    };
    let listed = |action: &str| {
        let s = &s;
        let (since, until) = (since.clone(), until.clone());
        let action = action.to_owned();
        async move { s.events(&format!("action={action}&since={since}&until={until}")).await.len() as i64 }
    };
    assert_eq!(n("password", "failure"), listed("auth.password.failed").await);
    assert_eq!(n("password", "failure"), 3);
    assert_eq!(n("password", "success"), listed("auth.password.verified").await);
    assert_eq!(n("push", "outside_standby"), listed("auth.push.rejected_outside_standby").await);
    assert_eq!(n("push", "outside_standby"), 1);
    let series = d["series"].as_array().expect("series");
    assert_eq!(series.len(), 5, "one point per hour from the start's hour: {}", series.len());
    let failed_by_hour: Vec<i64> = series.iter().map(|p| p["logins_failed"].as_i64().expect("n")).collect();
    assert_eq!(failed_by_hour.iter().sum::<i64>(), 4, "three wrong passwords and the refused push");
    assert_eq!(failed_by_hour[4], 1, "the last hour's wrong password");
    // Risk verdicts: each assessment counted under its decision.
    let assessed = s.events(&format!("action=auth.risk.assessed&since={since}&until={until}")).await;
    assert!(!assessed.is_empty(), "the right passwords were judged");
    let mut counted = 0;
    for (key, decision) in [("ok", "OK"), ("review", "REVIEW"), ("ng", "NG")] {
        let listed = assessed.iter().filter(|e| e["sekimori"]["risk"]["decision"] == decision).count() as i64;
        assert_eq!(d["risk"][key].as_i64(), Some(listed), "{decision}: {}", d["risk"]);
        counted += listed;
    }
    assert_eq!(counted, assessed.len() as i64, "every assessment has one of the three decisions");
    let new = assessed.iter().filter(|e| e["sekimori"]["environment"]["known"] == false).count() as i64;
    assert!(new > 0, "alice's first login came from an environment new to her");
    assert_eq!(d["risk"]["new_environments"].as_i64(), Some(new), "{}", d["risk"]);
    let by_hour: i64 = series.iter().map(|p| p["new_environments"].as_i64().expect("n")).sum();
    assert_eq!(by_hour, new);

    // Bad ranges are refused, naming the field.
    let (status, p) =
        s.admin_call(Method::GET, &format!("/api/v1/admin/dashboard?since={until}&until={since}"), None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some("until")), "{p}");
    let (status, _) = s
        .admin_call(Method::GET, &format!("/api/v1/admin/dashboard?since={since}&until={until}&bucket=week"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The console's page, script and style arrive gzip-compressed when the browser accepts it
/// (and plain when not), and the page names the script's and style's SHA-384, which is what
/// arrives: a browser refuses a script or style altered on the way.
#[tokio::test]
async fn the_console_files_arrive_compressed_and_named_by_their_integrity() {
    use base64::Engine;
    use sha2::Digest;
    use std::io::Read;

    let s = TestServer::start().await;
    with_password(&s, "alice").await;
    let alice = signed_in_at_level_2(&s, "alice").await;
    s.admin_call(Method::PUT, "/api/v1/admin/console-roles/user/alice", Some(json!({"role": "admin"}))).await;
    let cookies: Vec<String> = alice.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let client = reqwest::Client::new();
    let fetch = |path: &str, gzip: bool| {
        let mut req = client.get(format!("{}{path}", s.url)).header("cookie", cookies.join("; "));
        if gzip {
            req = req.header("accept-encoding", "gzip, br");
        }
        req.send()
    };
    let unzip = |bytes: &[u8]| {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
        out
    };
    let page = fetch("/console/", true).await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    assert!(page.headers()["content-security-policy"].to_str().expect("csp").contains("script-src 'self'"));
    let html = String::from_utf8(unzip(&page.bytes().await.expect("body"))).expect("utf-8");
    for file in ["console.js", "console.css"] {
        let path = format!("/console/{file}");
        let zipped = fetch(&path, true).await.expect("file");
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{file}");
        let zipped = zipped.bytes().await.expect("body");
        let body = unzip(&zipped);
        let plain = fetch(&path, false).await.expect("file");
        assert!(plain.headers().get("content-encoding").is_none(), "{file} plain when gzip is not accepted");
        assert_eq!(plain.bytes().await.expect("body").as_ref(), body.as_slice(), "{file}: the same file either way");
        assert!(zipped.len() * 2 < body.len(), "{file}: {} bytes compressed of {}", zipped.len(), body.len());
        let sri = format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&body)));
        assert!(html.contains(&format!("{path}\" integrity=\"{sri}\"")), "the page names {file}'s hash {sri}: {html}");
    }
}

/// The detection dashboard counts what was stored: alerts by level and rule, the entities
/// they are about, and events and dead letters per source, per hour; equal to what the
/// alert API lists.
async fn the_detection_dashboard_counts_what_was_stored(backend: Backend) {
    let s = TestServer::start_on(backend).await;
    let (edr, dc) = (s.ingest_key("edr").await, s.ingest_key("dc").await);
    let whoami = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
        "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe"});
    let failed = json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing",
        "EventID": 4625, "TargetUserName": "dave", "IpAddress": "198.51.100.7"});
    // Two whoami runs and a line that is not JSON from the EDR; three failed logons for
    // dave from the domain controller; two hours later, one more whoami.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", s.url))
        .bearer_auth(&edr)
        .header("content-type", "application/x-ndjson")
        .body(format!("{whoami}\nnot json\n{whoami}\n"))
        .send()
        .await
        .expect("send");
    let report: Value = resp.json().await.expect("report");
    assert_eq!(report, json!({"accepted": 2, "malformed": 1, "alerts": 2}));
    assert_eq!(s.ingest_ndjson(&dc, &[failed.clone(), failed.clone(), failed]).await["alerts"], 3);
    s.clock.advance_seconds(2 * 3600);
    assert_eq!(s.ingest_ndjson(&edr, &[whoami]).await["alerts"], 1);

    let until = sekimori_core::Clock::now(&s.clock).plus_seconds(1).to_rfc3339();
    let since = START.plus_seconds(-3600).to_rfc3339();
    let path = format!("/api/v1/admin/dashboard/detection?since={since}&until={until}");
    let (status, d) = s.admin_call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let (_, alerts) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(d["alerts"], json!({"medium": alerts.as_array().expect("alerts").len()}), "{d}");
    assert_eq!(
        d["top_rules"],
        json!([{"title": "Failed Logon From Public IP", "level": "medium", "n": 3},
               {"title": "Whoami Execution", "level": "medium", "n": 3}])
    );
    let entities: Vec<String> = d["top_entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|e| format!("{}={} {}", e["kind"].as_str().unwrap_or("?"), e["value"].as_str().unwrap_or("?"), e["n"]))
        .collect();
    assert_eq!(entities, ["ip=198.51.100.7 3", "user=dave 3"]);
    let (_, about) = s.admin_call(Method::GET, "/api/v1/admin/alerts?user=dave", None).await;
    assert_eq!(about.as_array().map(Vec::len), Some(3), "the alert API agrees");
    let source = |name: &str| {
        d["sources"].as_array().expect("sources").iter().find(|x| x["name"] == name).cloned().unwrap_or(Value::Null)
    };
    assert_eq!((source("edr")["events"].as_i64(), source("edr")["dead_letters"].as_i64()), (Some(3), Some(1)));
    assert_eq!((source("dc")["events"].as_i64(), source("dc")["dead_letters"].as_i64()), (Some(3), Some(0)));
    let series = d["series"].as_array().expect("series");
    assert_eq!(series.len(), 4, "one point per hour from the start's hour");
    let medium: Vec<i64> = series.iter().map(|p| p["alerts"]["medium"].as_i64().unwrap_or(0)).collect();
    assert_eq!(medium, [0, 5, 0, 1], "{series:?}");
    let (status, p) = s.admin_call(Method::GET, &path.replace("since=", "bucket=week&since="), None).await;
    assert_eq!((status, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some("bucket")), "{p}");
}

#[tokio::test]
async fn the_detection_dashboard_counts_what_was_stored_on_sqlite() {
    the_detection_dashboard_counts_what_was_stored(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_detection_dashboard_counts_what_was_stored_on_postgres() {
    the_detection_dashboard_counts_what_was_stored(Backend::Postgres).await;
}
