//! SaaS, cloud, Kubernetes, web, Linux and macOS logs through the front door: the built binary
//! with SigmaHQ's rules for those products, one NDJSON request of records as the products
//! write them, and each record judged by its own product's rules only (placed by `shapes`
//! and `channel_products` in `data/logsources.yml`, with the field names SigmaHQ uses added).

use serde_json::{json, Value};

mod common;
use common::start_with;

/// Starts the binary with SigmaHQ's rules from `dirs` (under `rules/`), posts `records` as
/// one NDJSON request, checks how many alerts it reports, and returns the alerts' titles.
async fn alert_titles(dirs: &[&str], records: &[Value], alerts: usize) -> Vec<String> {
    let rules = common::sigma_data("rules");
    alert_titles_with(dirs.iter().map(|d| rules.join(d)).collect(), records, alerts, None).await
}

/// [`alert_titles`] with rule paths as given; with `wait_for`, the alerts are listed once
/// one titled so has been raised (by the server's own audit events, judged once a second).
async fn alert_titles_with(
    rules: Vec<std::path::PathBuf>,
    records: &[Value],
    alerts: usize,
    wait_for: Option<&str>,
) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let dirs = rules.iter().map(|d| format!("\"{}\"", d.display())).collect::<Vec<_>>().join(", ");
    let config = dir.path().join("sekimori.toml");
    std::fs::write(&config, format!("[detect]\nrules = [{dirs}]\n")).expect("config");
    let data = dir.path().join("data");
    let server = start_with(&data, &["--config", &config.display().to_string()], &[]).await;
    let admin = sekimori_client::AdminClient::new(&server.url, &server.token);
    let source = admin
        .call(reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(&json!({"name": "saas"})))
        .await
        .expect("ingest source");
    let key = source["key"].as_str().expect("key").to_owned();
    assert_eq!(
        common::ingest_ndjson(&server, &key, records).await,
        json!({"accepted": records.len(), "malformed": 0, "alerts": alerts})
    );
    for _ in 0..100 {
        let list = admin.call(reqwest::Method::GET, "/api/v1/admin/alerts", None).await.expect("alerts");
        let mut titles: Vec<String> =
            list.as_array().expect("a list").iter().filter_map(|a| a["title"].as_str().map(str::to_owned)).collect();
        titles.sort_unstable();
        match wait_for {
            Some(t) if !titles.iter().any(|have| have == t) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            _ => return titles,
        }
    }
    panic!("no alert {wait_for:?} within 20 s");
}

#[tokio::test]
async fn okta_github_gcp_and_m365_records_fire_their_own_rules() {
    let records = [
        // Okta System Log: an MFA factor deactivated, and an ordinary sign-in.
        json!({"uuid": "9f1c", "published": "2026-11-30T10:00:00.000Z", "eventType": "user.mfa.factor.deactivate",
            "displayMessage": "Reset factor for user", "actor": {"alternateId": "admin@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"}, "client": {"ipAddress": "198.51.100.7"}}),
        json!({"uuid": "9f1d", "published": "2026-11-30T10:00:01.000Z", "eventType": "user.session.start",
            "displayMessage": "User login to Okta", "actor": {"alternateId": "alice@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"}}),
        // GitHub organisation audit log: two-factor requirement turned off.
        json!({"@timestamp": 1_795_000_000_000_i64, "action": "org.disable_two_factor_requirement",
            "actor": "octocat", "org": "example-org", "actor_location": {"country_code": "JP"}}),
        // Google Cloud audit log entry: buckets listed.
        json!({"logName": "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access", "timestamp": "2026-11-30T10:00:02Z",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "storage.googleapis.com",
                "methodName": "storage.buckets.list", "authenticationInfo": {"principalEmail": "svc@p.iam.gserviceaccount.com"}}}),
        // Microsoft 365 Management Activity API: a Security & Compliance alert.
        json!({"CreationTime": "2026-11-30T10:00:03", "Id": "a1", "Workload": "SecurityComplianceCenter",
            "Operation": "AlertTriggered", "RecordType": 40, "Name": "Potential ransomware activity", "Status": "success"}),
    ];
    let titles =
        alert_titles(&["identity/okta", "application/github", "cloud/gcp/audit", "cloud/m365"], &records, 4).await;
    assert_eq!(
        titles,
        [
            "Github High Risk Configuration Disabled",
            "Google Cloud Storage Buckets Enumeration",
            "Microsoft 365 - Potential Ransomware Activity",
            "Okta MFA Reset or Deactivated",
        ]
    );
}

#[tokio::test]
async fn workspace_kubernetes_identity_web_linux_and_macos_records_fire_their_own_rules() {
    let records = [
        // Google Workspace admin audit log shared with Google Cloud: a role privilege removed
        // (a Google Cloud audit entry too, but Workspace's rules are the ones for it).
        json!({"logName": "organizations/1/logs/cloudaudit.googleapis.com%2Factivity", "timestamp": "2026-11-30T10:00:04Z",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "admin.googleapis.com",
                "methodName": "google.admin.AdminService.removePrivilege", "authenticationInfo": {"principalEmail": "admin@example.com"},
                "metadata": {"event": [{"eventName": "REMOVE_PRIVILEGE", "eventType": "DELEGATED_ADMIN_SETTINGS"}]}}}),
        // Kubernetes API server audit event: events deleted.
        json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "5d1e7c",
            "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/events/web.17a", "verb": "delete",
            "user": {"username": "mallory"}, "sourceIPs": ["198.51.100.8"],
            "objectRef": {"resource": "events", "namespace": "default", "name": "web.17a", "apiVersion": "v1"},
            "responseStatus": {"code": 200}, "requestReceivedTimestamp": "2026-11-30T10:00:05.000000Z"}),
        // OneLogin: an administrator assumed another user.
        json!({"id": 9001, "created_at": "2026-11-30T10:00:06Z", "account_id": 7, "user_id": 42, "event_type_id": 3,
            "actor_user_name": "Admin"}),
        // Cisco Duo authentication log: a bypass code let the user in.
        json!({"txid": "3f2a", "timestamp": 1_796_032_807_i64, "event_type": "authentication", "factor": "bypass_code",
            "result": "success", "reason": "bypass_user", "user": {"name": "alice"}, "access_device": {"ip": "198.51.100.9"}}),
        // Bitbucket Data Center audit log.
        json!({"auditType": {"action": "Unauthorized full data export triggered", "category": "Data pipeline",
            "area": "LOCAL_CONFIG_AND_ADMINISTRATION", "level": "ADVANCED"}, "author": {"name": "bob"},
            "timestamp": "2026-11-30T10:00:08Z"}),
        // OpenCanary: an nmap FIN scan.
        json!({"dst_host": "10.0.0.5", "dst_port": 22, "local_time": "2026-11-30 10:00:09.000000", "logdata": {},
            "logtype": 5005, "node_id": "canary-1", "src_host": "198.51.100.10", "src_port": 40000}),
        // W3C web server and proxy records.
        json!({"date": "2026-11-30", "time": "10:00:10", "c-ip": "198.51.100.11", "cs-method": "GET",
            "cs-uri-stem": "/download", "cs-uri-query": "file=../../../etc/passwd", "sc-status": 404, "cs-user-agent": "curl/8.5"}),
        json!({"date": "2026-11-30", "time": "10:00:11", "c-ip": "10.0.0.7", "cs-method": "POST",
            "c-uri": "https://api.telegram.org/bot123/sendDocument", "cs-host": "api.telegram.org",
            "c-useragent": "python-requests/2.31"}),
        // Sysmon for Linux process creation: Linux's rules judge it; Windows's, which would
        // fire two false positives on it, do not.
        json!({"Channel": "Linux-Sysmon/Operational", "Provider_Name": "Linux-Sysmon", "EventID": 1, "Computer": "web-1",
            "UtcTime": "2026-11-30 10:00:12.000", "Image": "/usr/bin/base64", "CommandLine": "base64 -d /tmp/payload.b64",
            "ParentImage": "/usr/bin/bash", "User": "www-data", "CurrentDirectory": "/tmp"}),
        // macOS `eslogger exec` and `eslogger create`: the same command judged by macOS's
        // rules only, and a startup item written.
        json!({"schema_version": 1, "event_type": 9, "time": "2026-11-30T10:00:13Z", "global_seq_num": 7,
            "process": {"executable": {"path": "/bin/zsh"}, "audit_token": {"pid": 500, "euid": 501}, "ppid": 1},
            "event": {"exec": {"args": ["base64", "-d", "/tmp/payload.b64"], "cwd": {"path": "/Users/alice"},
                "target": {"executable": {"path": "/usr/bin/base64"}, "audit_token": {"pid": 501, "euid": 501}, "ppid": 500}}}}),
        json!({"schema_version": 1, "event_type": 13, "time": "2026-11-30T10:00:14Z", "global_seq_num": 8,
            "process": {"executable": {"path": "/bin/cp"}, "audit_token": {"pid": 502}},
            "event": {"create": {"destination_type": 1, "destination": {"new_path":
                {"dir": {"path": "/Library/StartupItems"}, "filename": "evil.plist", "mode": 420}}}}}),
    ];
    let dirs =
        ["cloud/gcp", "application", "identity", "web", "linux/process_creation", "windows/process_creation", "macos"];
    let titles = alert_titles(&dirs, &records, 11).await;
    assert_eq!(
        titles,
        [
            "Bitbucket Unauthorized Full Data Export Triggered",
            "Cisco Duo Successful MFA Authentication Via Bypass Code",
            "Decode Base64 Encoded Text",
            "Decode Base64 Encoded Text -MacOs",
            "Google Workspace Role Privilege Deleted",
            "Kubernetes Events Deleted",
            "OneLogin User Assumed Another User",
            "OpenCanary - NMAP FIN Scan",
            "Path Traversal Exploitation Attempts",
            "Startup Item File Created - MacOS",
            "Telegram API Access",
        ]
    );
}

#[tokio::test]
async fn zeek_logs_fire_zeek_and_dns_rules() {
    // Zeek 6 JSON log lines (`LogAscii::use_json=T`), one from each of five logs.
    let conn = |uid: &str, orig: &str, resp: &str, port: u16| json!({"ts": 1_796_032_800.25, "uid": uid, "id.orig_h": orig, "id.orig_p": 49_700, "id.resp_h": resp, "id.resp_p": port});
    let with = |mut base: Value, fields: Value| {
        if let (Some(b), Some(f)) = (base.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        base
    };
    let records = [
        // dns.log: a Monero pool looked up (Zeek's mining-pool rule and the generic DNS
        // category's), and an ordinary lookup.
        with(
            conn("CHhAvVGS1DHFjwGM9", "10.0.0.20", "10.0.0.2", 53),
            json!({"proto": "udp", "trans_id": 4711, "rtt": 0.02, "query": "pool.minexmr.com", "qclass": 1,
                "qclass_name": "C_INTERNET", "qtype": 1, "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR",
                "AA": false, "TC": false, "RD": true, "RA": true, "Z": 0, "answers": ["141.94.96.144"], "TTLs": [60.0],
                "rejected": false}),
        ),
        with(
            conn("CxT9bJ3yqP1M2v6Ve", "10.0.0.20", "10.0.0.2", 53),
            json!({"proto": "udp", "trans_id": 4712, "query": "www.example.com", "qtype_name": "A", "Z": 0,
                "answers": ["93.184.216.34"], "rejected": false}),
        ),
        // dce_rpc.log: a service created over the service control manager's pipe.
        with(
            conn("C4J4Th3PJpwUYZZ6gc", "10.0.0.21", "10.0.0.5", 445),
            json!({"rtt": 0.0003, "named_pipe": "\\pipe\\ntsvcs", "endpoint": "svcctl", "operation": "CreateServiceW"}),
        ),
        // kerberos.log: a service ticket requested with RC4.
        with(
            conn("C5bLoe2Mvxqhawzqqd", "10.0.0.22", "10.0.0.3", 88),
            json!({"request_type": "TGS", "client": "alice/EXAMPLE.COM", "service": "MSSQLSvc/db.example.com:1433",
                "success": true, "cipher": "rc4-hmac", "forwardable": true, "renewable": true}),
        ),
        // http.log: an executable put on an outside WebDAV server.
        with(
            conn("CUM0KZ3MLUfNB0cl11", "10.0.0.23", "198.51.100.20", 80),
            json!({"trans_depth": 1, "method": "PUT", "host": "198.51.100.20", "uri": "/webdav/payload.exe",
                "version": "1.1", "user_agent": "Microsoft-WebDAV-MiniRedir/10.0.19045", "request_body_len": 1024,
                "response_body_len": 0, "status_code": 201, "status_msg": "Created"}),
        ),
    ];
    // Sekimori's own audit events (the ingest source just created) are judged by the
    // rules for them and by no Zeek rule: `Publicly Accessible RDP Service` is `not
    // selection`, so it would fire on any event it ran on.
    let dir = tempfile::tempdir().expect("tempdir");
    let own = dir.path().join("own.yml");
    std::fs::write(
        &own,
        "title: Sekimori Admin Action\nlogsource: {product: sekimori, service: audit}\ndetection:\n  sel:\n    event.action|startswith: admin.\n  condition: sel\n",
    )
    .expect("rule");
    let rules = common::sigma_data("rules");
    let titles = alert_titles_with(
        vec![rules.join("network/zeek"), rules.join("network/dns"), own],
        &records,
        6,
        Some("Sekimori Admin Action"),
    )
    .await;
    let titles: Vec<&str> = titles.iter().map(String::as_str).filter(|t| *t != "Sekimori Admin Action").collect();
    assert_eq!(
        titles,
        [
            "DNS Events Related To Mining Pools",
            "Executable from Webdav",
            "Kerberos Network Traffic RC4 Ticket Encryption",
            "MITRE BZAR Indicators for Execution",
            "Monero Crypto Coin Mining Pool Lookup",
            "WebDav Put Request",
        ]
    );
}

#[tokio::test]
async fn a_sender_declares_the_log_source_of_logs_the_server_cannot_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = common::sigma_data("rules");
    let dirs = ["network/fortinet", "network/firewall", "network/zeek"]
        .map(|d| format!("\"{}\"", rules.join(d).display()))
        .join(", ");
    let config = dir.path().join("sekimori.toml");
    std::fs::write(&config, format!("[detect]\nrules = [{dirs}]\n")).expect("config");
    let server = start_with(&dir.path().join("data"), &["--config", &config.display().to_string()], &[]).await;
    let admin = sekimori_client::AdminClient::new(&server.url, &server.token);
    let source = admin
        .call(reqwest::Method::POST, "/api/v1/admin/ingest-sources", Some(&json!({"name": "edge"})))
        .await
        .expect("ingest source");
    let key = source["key"].as_str().expect("key").to_owned();
    let post = |query: &str, records: Vec<Value>| {
        let body: String = records.iter().map(|r| format!("{r}\n")).collect();
        reqwest::Client::new()
            .post(format!("{}/api/v1/ingest{query}", server.url))
            .bearer_auth(&key)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    // FortiGate's event log (its JSON syslog format): a local user added.
    let fortigate = json!({"date": "2026-11-30", "time": "10:00:15", "devname": "fw-1", "logid": "0100044547",
        "type": "event", "subtype": "system", "level": "information", "user": "admin", "ui": "GUI(10.0.0.2)",
        "action": "Add", "cfgtid": 1_234_567, "cfgpath": "user.local", "cfgobj": "mallory", "msg": "Add user.local mallory"});
    // A firewall's traffic log: telnet let through.
    let traffic = json!({"timestamp": "2026-11-30T10:00:16Z", "src_ip": "10.0.0.30", "src_port": 50_123,
        "dst_ip": "198.51.100.30", "dst_port": 23, "action": "accept"});
    let resp = post("?product=fortigate&service=event", vec![fortigate]).await.expect("ingest");
    assert_eq!(resp.json::<Value>().await.expect("json"), json!({"accepted": 1, "malformed": 0, "alerts": 1}));
    let resp = post("?category=firewall", vec![traffic.clone()]).await.expect("ingest");
    assert_eq!(resp.json::<Value>().await.expect("json"), json!({"accepted": 1, "malformed": 0, "alerts": 1}));
    // Undeclared, the same record fails open: every rule runs, SigmaHQ's Zeek RDP rule
    // (`not selection`) among them.
    let resp = post("", vec![traffic]).await.expect("ingest");
    assert_eq!(resp.json::<Value>().await.expect("json"), json!({"accepted": 1, "malformed": 0, "alerts": 2}));
    let list = admin.call(reqwest::Method::GET, "/api/v1/admin/alerts", None).await.expect("alerts");
    let mut titles: Vec<&str> = list.as_array().expect("a list").iter().filter_map(|a| a["title"].as_str()).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "Cleartext Protocol Usage",
            "Cleartext Protocol Usage",
            "FortiGate - New Local User Created",
            "Publicly Accessible RDP Service"
        ]
    );
    // A declaration must be Sigma log-source names, and nothing else is accepted.
    for query in ["?product=Forti%20Gate", "?vendor=fortinet", "?category="] {
        let resp = post(query, vec![json!({"a": 1})]).await.expect("ingest");
        assert_eq!(resp.status(), 400, "{query}");
        let problem: Value = resp.json().await.expect("problem");
        assert_eq!(problem["type"], "urn:sekimori:problem:invalid_request", "{query}: {problem}");
    }
}
