//! What loading the rules found, through the admin API of the built binary (the console's
//! Detection page reads it): the counts, and each rule that did not load with its file and
//! reason; and a loaded rule's file (an alert's page shows it).

use serde_json::Value;

mod common;
use common::start_with;

#[tokio::test]
async fn the_admin_api_reports_the_rules_that_did_not_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("rules dir");
    std::fs::write(
        rules.join("good.yml"),
        "title: Whoami\nid: 5f2c0000-0000-4000-8000-000000000011\nlevel: low\nlogsource: {category: process_creation}\n\
         detection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n",
    )
    .expect("good rule");
    std::fs::write(
        rules.join("bad.yml"),
        "title: Broken\nid: 5f2c0000-0000-4000-8000-000000000012\nlogsource: {category: process_creation}\n\
         detection:\n  sel:\n    CommandLine|nosuchmodifier: x\n  condition: sel\n",
    )
    .expect("bad rule");
    let config = dir.path().join("sekimori.toml");
    std::fs::write(&config, format!("[detect]\nrules = [\"{}\"]\nbuiltin_rules = false\n", rules.display()))
        .expect("config");
    let server = start_with(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")], &[]).await;
    let http = reqwest::Client::new();
    let r =
        http.get(format!("{}/api/v1/admin/rules", server.url)).bearer_auth(&server.token).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.expect("json");
    assert_eq!((report["files"].as_u64(), report["detections"].as_u64()), (Some(2), Some(1)), "{report}");
    let failures = report["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{report}");
    assert!(failures[0]["path"].as_str().is_some_and(|p| p.ends_with("bad.yml")), "{report}");
    assert!(failures[0]["reason"].as_str().is_some_and(|r| r.contains("nosuchmodifier")), "{report}");
    // A loaded rule's file as it was loaded (the alert page shows it); an unknown id is a
    // problem document.
    let r = http
        .get(format!("{}/api/v1/admin/rules/5f2c0000-0000-4000-8000-000000000011", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let rule: Value = r.json().await.expect("json");
    assert_eq!(rule["title"], "Whoami");
    assert_eq!(rule["truncated"], false);
    assert_eq!(rule["yaml"].as_str(), Some(std::fs::read_to_string(rules.join("good.yml")).expect("read").as_str()));
    assert!(rule["path"].as_str().is_some_and(|p| p.ends_with("good.yml")), "{rule}");
    for unknown in ["5f2c0000-0000-4000-8000-000000000012", "no-such-rule"] {
        let r = http
            .get(format!("{}/api/v1/admin/rules/{unknown}", server.url))
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    // Without a token: refused as any admin route is.
    let r = http.get(format!("{}/api/v1/admin/rules", server.url)).send().await.expect("get");
    assert_eq!(r.status(), 401);
}
