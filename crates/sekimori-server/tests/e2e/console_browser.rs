//! The console in headless Chromium (`tests/browser/console.mjs`), with the real CSP: an
//! admin opens `/console/`, is sent to sign in at level 2 and does so with a push approved
//! on her authenticator (number matching); she disables a user, ends their sessions and
//! enrols a device for them (the QR code on screen), verifies the audit chain, switches to
//! Japanese; each page passes axe-core with no serious violation; an auditor on a phone
//! sees the user masked and without action buttons; a help-desk operator scoped to a group
//! sees its members only, and is refused one outside it. On SQLite and PostgreSQL.
//! Screenshots in both themes.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::browser::{browser_dir, next_line, node_interactive};
use crate::harness::*;
use crate::login::{with_password, Browser};

async fn approve(device: &sekimori_client::Authenticator, number_line: &str) {
    let number: i64 = number_line.strip_prefix("NUMBER ").expect("a number").parse().expect("digits");
    let msgs = device.messages(0).await.expect("messages");
    let challenge = msgs.iter().rev().find(|m| m["type"] == "push_login").expect("a push challenge");
    device.approve(challenge["login_id"].as_str().expect("id"), number).await.expect("approve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium_signs_in_with_push_and_acts_as_the_role_on_sqlite() {
    the_console_in_chromium_signs_in_with_push_and_acts_as_the_role(Backend::Sqlite, "console-screenshots").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium_signs_in_with_push_and_acts_as_the_role_on_postgres() {
    the_console_in_chromium_signs_in_with_push_and_acts_as_the_role(Backend::Postgres, "console-screenshots-postgres")
        .await;
}

/// The whole walk on one backend; screenshots in `<target tmp>/<shots>`.
async fn the_console_in_chromium_signs_in_with_push_and_acts_as_the_role(backend: Backend, shots: &str) {
    assert!(browser_dir().join("node_modules/axe-core").exists(), "run `npm ci` in tests/browser");
    let s = TestServer::start_on(backend).await;
    s.admin.update_tenant(&json!({"standby_required": false})).await.expect("tenant");
    let alice = s.enrolled("alice").await;
    let carol = s.enrolled("carol").await;
    let erin = s.enrolled("erin").await;
    with_password(&s, "dave").await;
    s.admin.update_user("dave", &json!({"email": "dave@example.jp"})).await.expect("email");
    let mut dave = Browser::new(&s);
    dave.login("dave", "kumamoto42", "/").await;
    assert_eq!(dave.whoami().await.0, StatusCode::OK, "dave has a session to end");
    // Something for the dashboard: two wrong passwords for dave at the relying party's API.
    let rp = s.app("shop", "relying_party").await;
    for _ in 0..2 {
        assert!(rp.verify_password("dave", "not-his-password", None).await.is_err());
    }
    // An alert about dave: a failed Windows logon for his account from a public address.
    let key = s.ingest_key("edr").await;
    let report = s
        .ingest_ndjson(
            &key,
            &[json!({"Channel": "Security", "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4625,
            "EventRecordID": 7, "TargetUserName": "dave", "IpAddress": "198.51.100.7"})],
        )
        .await;
    assert_eq!(report["alerts"], 1, "{report}");
    // And an alert to triage, a second later (the queue's first): a whoami run reported by
    // an EDR.
    s.clock.advance_seconds(1);
    let report = s
        .ingest_ndjson(
            &key,
            &[json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
            "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe", "User": "CORP\\dave"})],
        )
        .await;
    assert_eq!(report["alerts"], 1, "{report}");
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/console-roles/user/alice", Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::OK);
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "audit"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/audit/members/carol", None).await;
    s.admin_call(Method::PUT, "/api/v1/admin/console-roles/group/audit", Some(json!({"role": "auditor"}))).await;
    // erin is the help desk for the desk group (dave): users and their credentials.
    s.admin_call(Method::POST, "/api/v1/admin/groups", Some(json!({"name": "desk"}))).await;
    s.admin_call(Method::PUT, "/api/v1/admin/groups/desk/members/dave", None).await;
    let (status, _) = s
        .admin_call(
            Method::PUT,
            "/api/v1/admin/console-roles/user/erin",
            Some(json!({"role": "operator", "capabilities": ["users.read", "users.write", "credentials"], "groups": ["desk"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(shots);
    let (mut child, mut stdin, mut lines) =
        node_interactive("console.mjs", &[s.url.as_str(), "alice", shots.to_str().expect("path")]);
    approve(&alice, &next_line(&mut lines).await).await;
    let who = next_line(&mut lines).await;
    assert!(who.starts_with("SIGNED_IN ") && who.contains("alice") && who.contains("admin"), "{who}");
    assert_eq!(next_line(&mut lines).await, "USERS 4", "the home page counts the users the API lists");
    // The dashboard shows what the event API counts for the same range.
    let count = |events: Vec<serde_json::Value>| events.len();
    let failed = count(s.events("action=auth.password.failed").await);
    let verified = count(s.events("action=auth.password.verified").await);
    assert_eq!(failed, 2);
    assert_eq!(next_line(&mut lines).await, format!("DASH {failed} {verified} 0"));
    // Risk verdicts as the event API lists them; the alerts and ingest as stored.
    let assessed = s.events("action=auth.risk.assessed").await;
    let decided = |d: &str| assessed.iter().filter(|e| e["sekimori"]["risk"]["decision"] == d).count();
    assert!(decided("OK") > 0 && decided("OK") + decided("REVIEW") + decided("NG") == assessed.len(), "{assessed:?}");
    let new = assessed.iter().filter(|e| e["sekimori"]["environment"]["known"] == false).count();
    assert_eq!(
        next_line(&mut lines).await,
        format!("RISK {} {} {} {new}", decided("OK"), decided("REVIEW"), decided("NG"))
    );
    let detection = next_line(&mut lines).await;
    assert!(
        detection.starts_with("DETECTION-DASH 2 | Failed Logon From Public IP,Whoami Execution | ")
            && detection.contains("edr:2"),
        "two medium alerts, their rules, the EDR's two events: {detection}"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "CHAIN not checked yet | ok | after reload: ok",
        "the audit chain checked from the home page, and the recorded check shown on the next visit"
    );
    let checks = s.events("action=audit.chain.verified").await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["event"]["outcome"], "success");
    assert_eq!(checks[0]["sekimori"]["audit_chain"]["by"], "console:alice", "{}", checks[0]);
    assert!(checks[0]["sekimori"]["audit_chain"]["rows_checked"].as_i64() > Some(0));
    assert_eq!(next_line(&mut lines).await, "A11Y home 0");

    // An override for dave that the console lifts.
    let (status, _) = s
        .admin_call(
            Method::POST,
            "/api/v1/admin/users/dave/overrides",
            Some(json!({"action": "raise_level", "level": 3, "duration": "2h", "reason": "suspicious"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    stdin.write_all(b"USER dave\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "DISABLED");
    let ended = next_line(&mut lines).await;
    assert!(ended.starts_with("ENDED ok"), "{ended}");
    let enrol = next_line(&mut lines).await;
    assert!(enrol.starts_with("ENROL sekimori://enroll?"), "the enrolment QR is on screen: {enrol}");
    assert_eq!(next_line(&mut lines).await, "A11Y user 0");
    // dave has a password and nothing else; the page lifted the override; his two wrong
    // passwords are among his recent events.
    assert_eq!(
        next_line(&mut lines).await,
        "FACTORS yes 0 0 0 | override raise_level lifted | recent true | alerts 1",
        "and the alert about him"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "USER-EDIT sessions 1 | hours mon 09:00-17:00 | codes 10 recovery 10 | password no",
        "his one session listed before it ended; hours, codes and the password changed from the page"
    );
    let (_, overrides) = s.admin_call(Method::GET, "/api/v1/admin/overrides", None).await;
    assert_eq!(overrides, json!([]), "lifted");
    let (_, factors) = s.admin_call(Method::GET, "/api/v1/admin/users/dave/factors", None).await;
    assert_eq!((factors["password"].as_bool(), factors["recovery_codes_left"].as_i64()), (Some(false), Some(10)));
    for action in ["credential.password.deleted", "credential.recovery_codes.generated"] {
        let events = s.events(&format!("action={action}")).await;
        assert!(events.iter().any(|e| e.to_string().contains("console:alice")), "{action} names alice: {events:?}");
    }
    // What the page asked for: dave's latest events, newest first; any other order refused.
    let (_, latest) = s.admin_call(Method::GET, "/api/v1/events?user=dave&limit=3&order=desc&format=json", None).await;
    let seqs: Vec<i64> = latest["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["sekimori"]["audit"]["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.len() == 3 && seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    let (status, problem) = s.admin_call(Method::GET, "/api/v1/events?order=sideways", None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{problem}");
    let lifted = s.events("action=response.override.lifted").await;
    assert!(lifted.iter().any(|e| e.to_string().contains("console:alice")), "audited with her name: {lifted:?}");
    let (_, user) = s.admin_call(Method::GET, "/api/v1/admin/users/dave", None).await;
    assert_eq!(user["disabled"], true);
    assert_eq!(dave.whoami().await.0, StatusCode::UNAUTHORIZED, "dave's session ended");
    for action in ["auth.session.revoked_by_admin", "iam.user.disabled", "iam.device.enrollment_created"] {
        let events = s.events(&format!("action={action}")).await;
        assert!(events.iter().any(|e| e.to_string().contains("console:alice")), "{action} names alice: {events:?}");
    }

    stdin.write_all(b"AUDIT auth.password.failed\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y alerts 0");
    let verified = next_line(&mut lines).await;
    assert!(verified.starts_with("VERIFIED ok"), "{verified}");
    // Two wrong passwords, both dave's; exported as 2 NDJSON lines and a CSV header with 2 rows.
    assert_eq!(next_line(&mut lines).await, "SEARCH 2 events | dave | 2 | 3");
    assert_eq!(next_line(&mut lines).await, "A11Y audit 0");

    let (_, listed) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
    let rule_id = listed[0]["rule_id"].as_str().expect("the alert's rule id").to_owned();
    stdin.write_all(format!("ALERT {rule_id}\n").as_bytes()).await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y alert 0");
    assert_eq!(
        next_line(&mut lines).await,
        "ALERT acknowledged console:alice console:alice | rule shown: true | acknowledged: console:alice | firing: 1",
        "triaged and assigned, with her name; the queue's state filter shows it where it now is"
    );
    let (_, alerts) = s.admin_call(Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(alerts[0]["state"], "acknowledged");
    assert_eq!(alerts[0]["assignee"], "console:alice");
    let assigned = s.events("action=alert.assigned").await;
    assert_eq!(assigned.len(), 2, "to bob, then back to alice, each audited: {assigned:?}");
    assert!(assigned.iter().all(|e| e.to_string().contains("console:alice")), "by her: {assigned:?}");

    // The alerts about dave, and the failed logon's timelines: of dave (the alert itself,
    // marked, and his audit events) and of the address (that alert and the stored event),
    // whose "more like this" filters the queue by it.
    stdin.write_all(b"TIMELINE dave\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y timeline 0");
    assert_eq!(next_line(&mut lines).await, "TIMELINE 1 | user: 1 true | ip: 2 (1 stored) | more like this: 1");

    // The EDR's stored events about dave: the failed logon; "more like this" by its EventID
    // finds it alone (the whoami run is event 1), exported as one NDJSON line, a CSV header
    // and row; without the user, the search reads EventID's index (a search field of the
    // test server) and the page says so.
    stdin.write_all(b"EVENTS dave EventID edr\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y events 0");
    assert_eq!(next_line(&mut lines).await, "EVENTS 1 | 1 | indexed | 1 | 2");

    stdin.write_all(b"DETECTION\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y detection 0");
    let (_, rules) = s.admin_call(Method::GET, "/api/v1/admin/rules", None).await;
    let detection = next_line(&mut lines).await;
    assert_eq!(
        detection,
        format!(
            "DETECTION edr | {} detection, 0 correlation and 0 filter rules loaded from {} files; 0 not loaded.",
            rules["detections"], rules["files"]
        ),
        "the page shows the source and what the API reports"
    );

    // Tuning: refused with the bad key named; the rule that fired, disabled, back-tested
    // (its alert would disappear) and saved from the page; then a stale save refused.
    stdin.write_all(format!("TUNING {rule_id}\n").as_bytes()).await.expect("command");
    let bad = next_line(&mut lines).await;
    assert!(bad.starts_with("TUNING-BAD error") && bad.contains("disabled_rulez"), "{bad}");
    assert_eq!(next_line(&mut lines).await, "A11Y tuning 0");
    assert_eq!(next_line(&mut lines).await, "TUNING 0 | -1 +0 | true | saved 1");
    let (_, tuning) = s.admin_call(Method::GET, "/api/v1/admin/tuning", None).await;
    assert_eq!(tuning["version"], 1);
    assert_eq!(tuning["tuning"]["disabled_rules"], json!([rule_id]));
    let updated = s.events("action=admin.tuning.updated").await;
    assert!(updated.iter().any(|e| e.to_string().contains("console:alice")), "audited with her name: {updated:?}");
    let (status, _) =
        s.admin_call(Method::PUT, "/api/v1/admin/tuning", Some(json!({"base_version": 1, "tuning": {}}))).await;
    assert_eq!(status, StatusCode::OK);
    stdin.write_all(b"STALE\n").await.expect("command");
    let stale = next_line(&mut lines).await;
    assert!(
        stale.starts_with("STALE error") && stale.contains('2'),
        "the page says version 2 was saved meanwhile: {stale}"
    );
    let (_, tuning) = s.admin_call(Method::GET, "/api/v1/admin/tuning", None).await;
    assert_eq!(tuning["version"], 2, "the stale save wrote nothing");

    stdin.write_all(b"SETTINGS dave\n").await.expect("command");
    assert_eq!(next_line(&mut lines).await, "A11Y settings 0");
    let settings = next_line(&mut lines).await;
    let parts: Vec<&str> = settings.split(" | ").collect();
    assert!(
        parts[0].starts_with("SETTINGS error") && parts[0].contains("Mars/Olympus"),
        "names the bad value: {settings}"
    );
    assert!(parts[1].starts_with("ok"), "{settings}");
    assert_eq!(
        parts[2..6],
        [
            "key true",
            "revoked",
            "help: dave",
            "oidc https://wiki.example/cb → https://wiki.example/cb https://wiki.example/cb2"
        ],
        "{settings}"
    );
    assert_eq!(parts[6], "shop https://shop.example https://m.shop.example", "{settings}");
    assert!(parts[7].starts_with("error") && parts[7].contains("whenever"), "names the bad window: {settings}");
    assert_eq!(parts[8..], ["hours mon,tue 09:00-18:00; sat 10:00-14:00", "removed"], "{settings}");
    let (_, tenant) = s.admin_call(Method::GET, "/api/v1/admin/tenant", None).await;
    assert_eq!((tenant["standby_seconds"].as_i64(), tenant["time_zone"].as_str()), (Some(90), Some("Asia/Tokyo")));
    let updates = s.events("action=admin.tenant.updated").await;
    let hers = updates.iter().filter(|e| e.to_string().contains("console:alice")).count();
    assert_eq!(hers, 1, "the refused change wrote nothing: {updates:?}");
    let (_, apps) = s.admin_call(Method::GET, "/api/v1/admin/apps", None).await;
    let wiki =
        apps.as_array().expect("apps").iter().find(|a| a["name"] == "wiki").expect("the app made in the console");
    assert!(wiki["revoked_at"].is_string(), "and revoked: {wiki}");
    let (_, help) = s.admin_call(Method::GET, "/api/v1/admin/groups/help", None).await;
    assert_eq!(help["members"], json!([]), "added, then removed");
    assert_eq!(
        help["login_hours"],
        json!([{"days": ["mon", "tue"], "from": "09:00", "until": "18:00"}, {"days": ["sat"], "from": "10:00", "until": "14:00"}])
    );
    let (_, clients) = s.admin_call(Method::GET, "/api/v1/admin/oidc/clients", None).await;
    let wiki_client = clients
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["redirect_uris"] == json!(["https://wiki.example/cb", "https://wiki.example/cb2"]))
        .unwrap_or_else(|| panic!("registered as an OIDC client: {clients}"));
    assert_eq!(wiki_client["post_logout_redirect_uris"], json!(["https://wiki.example/"]), "{wiki_client}");
    assert_eq!(wiki_client["public"], false, "{wiki_client}");
    let shop = apps.as_array().expect("apps").iter().find(|a| a["name"] == "shop").expect("shop");
    assert_eq!(shop["origins"], json!(["https://shop.example", "https://m.shop.example"]));
    for action in [
        "admin.tenant.updated",
        "admin.app.created",
        "admin.app.origins_updated",
        "admin.oidc_client.updated",
        "admin.app.revoked",
        "iam.group.member_added",
        "iam.group.updated",
        "iam.group.member_removed",
    ] {
        let events = s.events(&format!("action={action}")).await;
        assert!(events.iter().any(|e| e.to_string().contains("console:alice")), "{action} names alice: {events:?}");
    }

    stdin.write_all(b"JA dave\n").await.expect("command");
    let ja = next_line(&mut lines).await;
    assert!(ja.contains("ユーザー") && ja.contains("監査"), "{ja}");

    stdin.write_all(b"AUDITOR carol dave\n").await.expect("command");
    approve(&carol, &next_line(&mut lines).await).await;
    let auditor = next_line(&mut lines).await;
    assert_eq!(
        auditor,
        "AUDITOR 0 [masked] | settings: 0 buttons, 4 disabled inputs | events masked: true | pages 9 | leaks: none",
        "no action buttons and the email masked; settings shown, nothing to change; every page loads, none shows \
         personal data"
    );

    stdin.write_all(b"OPERATOR erin dave carol\n").await.expect("command");
    approve(&erin, &next_line(&mut lines).await).await;
    assert_eq!(next_line(&mut lines).await, "A11Y operator 0");
    assert_eq!(
        next_line(&mut lines).await,
        "OPERATOR dave | nav Home,Users,Settings | 3 buttons | outside: error",
        "only the desk group's member; no alert, event, detection, tuning or audit pages; dave's page with its \
         actions (enable, end sessions, enrol); carol refused"
    );

    stdin.write_all(b"END\n").await.expect("command");
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert!(exit.success(), "no page error and no CSP violation in Chromium");
    for name in [
        "console-home",
        "console-user",
        "console-alerts",
        "console-alert",
        "console-alert-timeline",
        "console-events",
        "console-events-ja",
        "console-audit",
        "console-detection",
        "console-tuning",
        "console-settings",
        "console-users-ja",
        "console-home-ja",
        "console-user-ja",
        "console-alerts-ja",
        "console-audit-ja",
        "console-detection-ja",
        "console-tuning-ja",
        "console-settings-ja",
        "console-user-auditor-phone",
        "console-users-operator",
    ] {
        for scheme in ["light", "dark"] {
            let file = shots.join(format!("{name}-{scheme}.png"));
            assert!(std::fs::metadata(&file).map(|m| m.len() > 1000).unwrap_or(false), "{}", file.display());
        }
    }
}
