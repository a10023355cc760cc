//! SigmaHQ's Azure rules (`rules/cloud/azure`) over Entra ID and Azure records in the layouts
//! they are exported in (diagnostic settings, Microsoft Graph): each record is placed in its
//! service and given the Log Analytics column names the rules use.

use std::path::PathBuf;

use sekimori_detect::input::parse_events;
use sekimori_detect::{Hunter, RuleSet};

fn azure_rules() -> PathBuf {
    let root = match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    };
    root.join("rules/cloud/azure")
}

const LOCKOUT: &str = "2b7d6fc0-71ac-4cf7-8ed1-b5788ee5257a";
const BLOCKED: &str = "4afac85c-224a-4dd7-b1af-8da40e1c60bd";
const FIREWALL: &str = "2a7d64cf-81fa-4daf-ab1b-ab80b789c067";

#[test]
fn sigmahq_azure_rules_fire_on_exported_and_graph_records() {
    let (rules, report) = RuleSet::load(&[azure_rules()]);
    assert!(report.detections > 100 && report.failures.is_empty(), "{:?}", report.failures);
    let mut hunter = Hunter::new(&rules).expect("hunter");
    let text = r#"
{"time": "2026-11-23T10:00:00Z", "resourceId": "/tenants/t/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "resultType": "50053", "resultDescription": "Account is locked", "callerIpAddress": "192.0.2.7", "properties": {"userPrincipalName": "a@example.com", "status": {"errorCode": 50053}}}
{"createdDateTime": "2026-11-23T10:01:00Z", "userPrincipalName": "b@example.com", "appDisplayName": "Azure Portal", "ipAddress": "192.0.2.8", "status": {"errorCode": 50057, "failureReason": "Failure"}}
{"time": "2026-11-23T10:02:00Z", "resourceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p", "operationName": "MICROSOFT.NETWORK/FIREWALLPOLICIES/RULEGROUPS/DELETE", "category": "Administrative", "resultType": "Success"}
{"time": "2026-11-23T10:03:00Z", "resourceId": "/tenants/t/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "resultType": "0", "properties": {"userPrincipalName": "c@example.com"}}
"#;
    let source = parse_events(text);
    assert!(source.malformed.is_empty());
    let fired: Vec<Vec<String>> =
        source.events.iter().map(|e| hunter.process(e).into_iter().filter_map(|h| h.rule_id).collect()).collect();
    assert!(fired[0].contains(&LOCKOUT.to_owned()), "exported sign-in with resultType 50053: {:?}", fired[0]);
    assert!(fired[1].contains(&BLOCKED.to_owned()), "Graph sign-in, status 50057 / Failure: {:?}", fired[1]);
    assert!(fired[2].contains(&FIREWALL.to_owned()), "activity log: {:?}", fired[2]);
    assert!(!fired[2].contains(&LOCKOUT.to_owned()) && !fired[0].contains(&FIREWALL.to_owned()), "services narrow");
    assert!(!fired[3].contains(&LOCKOUT.to_owned()), "a successful sign-in is no lockout: {:?}", fired[3]);
}
