//! What receivers are sent, checked exactly: the Alertmanager v4 webhook body and its HMAC
//! signature, Slack Block Kit, a Teams Adaptive Card.

use sekimori_respond::payload::{alertmanager_v4, signature, slack, teams, AlertView, Notification};
use sekimori_respond::{GroupKey, Labels};
use serde_json::json;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn notification() -> Notification {
    let alert = |user: &str, ends_at: Option<&str>| {
        AlertView::new(
            labels(&[
                ("rule", "password_failures_unusual"),
                ("severity", "high"),
                ("user", user),
                ("source", "sekimori"),
            ]),
            labels(&[("summary", "Unusual password failures")]),
            "2026-12-06T09:00:00.000Z".into(),
            ends_at.map(str::to_owned),
            format!("https://login.example.com/api/v1/admin/alerts?user={user}"),
        )
    };
    Notification {
        receiver: "siem-webhook".into(),
        group: GroupKey { route: "route.routes[1]".into(), labels: labels(&[("rule", "password_failures_unusual")]) },
        alerts: vec![alert("alice", None), alert("bob", Some("2026-12-06T09:30:00.000Z"))],
        external_url: "https://login.example.com".into(),
    }
}

#[test]
fn the_webhook_body_is_alertmanagers_version_4() {
    let n = notification();
    let body = alertmanager_v4(&n);
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "version",
            "groupKey",
            "truncatedAlerts",
            "status",
            "receiver",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "externalURL",
            "alerts"
        ]
    );
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing", "one of the two still fires");
    assert_eq!(body["groupKey"], "route.routes[1]:{rule=\"password_failures_unusual\"}");
    assert_eq!(body["groupLabels"], json!({"rule": "password_failures_unusual"}));
    assert_eq!(
        body["commonLabels"],
        json!({"rule": "password_failures_unusual", "severity": "high", "source": "sekimori"}),
        "user differs, so it is not common"
    );
    assert_eq!(body["commonAnnotations"], json!({"summary": "Unusual password failures"}));
    let a = &body["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z", "Alertmanager's zero time for a firing alert");
    assert_eq!(a["generatorURL"], "https://login.example.com/api/v1/admin/alerts?user=alice");
    assert_eq!(a["fingerprint"].as_str().map(str::len), Some(16));
    assert_ne!(a["fingerprint"], body["alerts"][1]["fingerprint"]);
    assert_eq!(body["alerts"][1]["status"], "resolved");
    assert_eq!(body["alerts"][1]["endsAt"], "2026-12-06T09:30:00.000Z");
    let resolved = Notification { alerts: vec![n.alerts[1].clone()], ..n };
    assert_eq!(alertmanager_v4(&resolved)["status"], "resolved");
}

#[test]
fn the_signature_is_hmac_sha256_over_time_and_body() {
    // Computed independently: python3 -c "import hmac,hashlib;
    // print(hmac.new(b'k3y', b'1796428800.{\"a\":1}', hashlib.sha256).hexdigest())"
    assert_eq!(
        signature(b"k3y", 1_796_428_800, br#"{"a":1}"#),
        "t=1796428800,v1=894c89f5d35e2959fb8b5bf84c1c4cb563772d568d122958b0e40fb914f530ec"
    );
    assert_ne!(signature(b"k3y", 1_796_428_801, br#"{"a":1}"#), signature(b"k3y", 1_796_428_800, br#"{"a":1}"#));
}

#[test]
fn slack_gets_block_kit_and_teams_an_adaptive_card() {
    let n = notification();
    let s = slack(&n);
    assert_eq!(s["text"], "[firing] Unusual password failures (2 alerts)");
    let blocks = s["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 6, "header, fields and a button per alert");
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": "[Firing] Unusual password failures", "emoji": false}})
    );
    assert_eq!(blocks[1]["fields"][2], json!({"type": "mrkdwn", "text": "*Entity*\nalice"}));
    assert_eq!(blocks[2]["elements"][0]["url"], "https://login.example.com/api/v1/admin/alerts?user=alice");
    assert_eq!(blocks[3]["text"]["text"], "[Resolved] Unusual password failures");

    let t = teams(&n);
    assert_eq!(t["type"], "message");
    let card = &t["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    assert_eq!(card["content"]["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(card["content"]["body"][1]["facts"][0], json!({"title": "Severity", "value": "high"}));
    assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");
}

fn email_config(extra: serde_json::Value) -> sekimori_respond::EmailConfig {
    let mut cfg = json!({"to": ["soc@example.jp"], "from": "sekimori@example.jp", "smarthost": "smtp.example.jp:587"});
    for (k, v) in extra.as_object().expect("object") {
        cfg[k] = v.clone();
    }
    serde_json::from_value(cfg).expect("email config")
}

#[test]
fn emails_render_in_english_and_japanese_with_values_escaped_in_html() {
    let mut n = notification();
    let first = &n.alerts[0];
    let mut hostile = first.labels.clone();
    hostile.insert("user".into(), "<script>alert(1)</script>".into());
    let mut annotations = first.annotations.clone();
    annotations.insert("summary".into(), "Unusual\r\nBcc: x@evil.test".into());
    n.alerts[0] = AlertView::new(hostile, annotations, first.starts_at.clone(), None, first.url.clone());
    let en = sekimori_respond::email::render(&n, &email_config(json!({}))).expect("renders");
    assert_eq!(en.subject, "[FIRING] Unusual  Bcc: x@evil.test (+1)", "one line, whatever a label holds");
    assert!(en.text.contains("Sekimori: 2 alerts firing for siem-webhook."), "{}", en.text);
    assert!(en.text.contains("[RESOLVED]") && en.text.contains("resolved: 2026-12-06T09:30:00.000Z"), "{}", en.text);
    assert!(en.html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{}", en.html);
    assert!(!en.html.contains("<script>"));
    let ja =
        sekimori_respond::email::render(&notification(), &email_config(json!({"language": "ja"}))).expect("renders");
    assert_eq!(ja.subject, "[発生中] Unusual password failures（ほか1件）");
    assert!(ja.text.contains("関守: siem-webhook 宛てのアラート 2 件が発生しています。"), "{}", ja.text);
    assert!(ja.text.contains("[解決] Unusual password failures"), "{}", ja.text);
    // A receiver's own template sees the same fields.
    let own = email_config(json!({"subject_template": "{{ count }} × {{ common_labels.rule }} for {{ receiver }}"}));
    assert_eq!(
        sekimori_respond::email::render(&notification(), &own).expect("renders").subject,
        "2 × password_failures_unusual for siem-webhook"
    );
}

#[test]
fn email_channels_are_checked_with_their_place() {
    let refused = |channel: &str| -> String {
        let doc = format!("route: {{receiver: a}}\nreceivers: [{{name: a, email_configs: [{channel}]}}]");
        match yaml_serde::from_str::<sekimori_respond::RoutingConfig>(&doc) {
            Ok(c) => sekimori_respond::RoutingTree::new(c).expect_err("refused").to_string(),
            Err(e) => e.to_string(),
        }
    };
    let base = "to: [soc@example.jp], from: sekimori@example.jp, smarthost: 'smtp.example.jp:587'";
    for (extra, want) in [
        ("to: [], from: a@b.jp, smarthost: 'h.jp:25'", "receivers[0].email_configs[0].to"),
        ("to: ['not an address'], from: a@b.jp, smarthost: 'h.jp:25'", "email_configs[0].to[0]"),
        ("to: [a@b.jp], from: 'x <a@b.jp>', smarthost: 'h.jp:25'", "email_configs[0].from"),
        ("to: [a@b.jp], from: a@b.jp, smarthost: h.jp", "email_configs[0].smarthost"),
        ("to: [a@b.jp], from: a@b.jp, smarthost: 'mail.example.jp:25', tls: none", "only for a relay on this machine"),
        (&format!("{base}, auth_username: u"), "go together"),
        (&format!("{base}, subject_template: '{{{{ unclosed'"), "email_configs[0].subject_template"),
        (&format!("{base}, language: fr"), "unknown variant"),
    ] {
        let got = refused(&format!("{{{extra}}}"));
        assert!(got.contains(want), "{extra}\n  got: {got}\n want: {want}");
    }
    let local = "{to: [a@b.jp], from: a@b.jp, smarthost: 'localhost:25', tls: none}";
    let doc = format!("route: {{receiver: a}}\nreceivers: [{{name: a, email_configs: [{local}]}}]");
    assert!(sekimori_respond::RoutingTree::new(yaml_serde::from_str(&doc).expect("yaml")).is_ok());
}
