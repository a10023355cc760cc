//! SQL Server audit records in the Application log (event 33205), real ones
//! (EVTX-to-MITRE-Attack, CC0; tests/data/evtx/README.md): their `name:value` lines become
//! fields (`windows.text_fields`), `Data` keeps the whole text, and SigmaHQ's MSSQL rules fire
//! on the events they describe and on no other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sekimori_detect::{read_events, Hunter, RuleSet};
use serde_json::Value;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/evtx").join(file)
}

fn sigma() -> PathBuf {
    match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    }
}

fn events(file: &str) -> Vec<Value> {
    let s = read_events(&data(file)).expect("read");
    assert!(s.malformed.is_empty(), "{:?}", s.malformed);
    s.events
}

#[test]
fn the_audit_record_lines_become_fields_as_recorded() {
    let added = &events("mssql-member-added-to-server-role.evtx")[0];
    assert_eq!(added["Provider_Name"], "MSSQL$RADAR");
    assert_eq!(added["EventID"], 33205);
    assert_eq!(added["action_id"], "APRL");
    assert_eq!(added["object_name"], "sysadmin");
    assert_eq!(added["statement"], "ALTER SERVER ROLE [sysadmin] ADD MEMBER [test-sql]");
    assert_eq!(added["server_principal_name"], "OFFSEC\\admmig");
    assert_eq!(added["target_server_principal_name"], "test-sql");
    assert_eq!(added["additional_information"], "");
    // `Data` keeps the whole text (one item, as the EVTX reader gives it).
    assert!(added["Data"][0].as_str().is_some_and(|d| d.starts_with("audit_schema_version:1\nevent_time:")));

    // A statement over several lines stays whole, line breaks as recorded.
    let spec = &events("mssql-audit-specification-deleted.evtx");
    let altered = spec.iter().find(|e| e["action_id"] == "AL  ").expect("the ALTER");
    assert_eq!(altered["statement"], "ALTER SERVER AUDIT SPECIFICATION [test-server-audit-spec]\r\nWITH (STATE = OFF)");
    assert_eq!(altered["class_type"], "SA");

    // A failed login's client is in its own field.
    let failed = events("mssql-failed-login-sa-wrong-password.evtx");
    assert_eq!(failed.len(), 27);
    assert!(failed.iter().all(|e| e["action_id"] == "LGIF" && e["succeeded"] == "false"));
    assert!(failed.iter().all(|e| e["server_principal_name"] == "sa"));
}

#[test]
fn sigmahq_mssql_rules_fire_on_what_they_describe_only() {
    let (rules, report) = RuleSet::load(&[sigma().join("rules/windows")]);
    assert!(report.detections > 1000, "{report:?}");
    let mut hunter = Hunter::new(&rules).expect("compile");
    let mut fired = |file: &str| -> BTreeMap<String, usize> {
        let mut count = BTreeMap::new();
        for e in events(file) {
            for h in hunter.process(&e) {
                *count.entry(h.title).or_insert(0) += 1;
            }
        }
        count
    };
    let one = |title: &str| BTreeMap::from([(title.to_owned(), 1)]);
    // The specification is turned off (ALTER … WITH (STATE = OFF)), then dropped.
    assert_eq!(
        fired("mssql-audit-specification-deleted.evtx"),
        BTreeMap::from([("MSSQL Disable Audit Settings".to_owned(), 2)])
    );
    assert_eq!(fired("mssql-member-added-to-server-role.evtx"), one("MSSQL Add Account To Sysadmin Role"));
    assert_eq!(fired("mssql-local-user-created.evtx"), BTreeMap::new(), "creating a login is none of them");
    assert_eq!(fired("mssql-failed-login-sa-wrong-password.evtx"), BTreeMap::new(), "18456 rules need 18456");
}

/// A rule of the operator's own on the split fields: failed SQL logins as `sa`.
#[test]
fn rules_can_name_the_split_fields() {
    let (rules, report) = RuleSet::from_yaml(
        "title: SQL login failed as sa\nid: 0e5b0000-0000-4000-8000-000000033205\nlevel: medium\n\
         logsource: {product: windows, service: application}\ndetection:\n  sel:\n    EventID: 33205\n    \
         action_id: LGIF\n    server_principal_name: sa\n  condition: sel\n",
    );
    assert!(report.is_clean(), "{:?}", report.failures);
    let mut hunter = Hunter::new(&rules).expect("compile");
    let failed = events("mssql-failed-login-sa-wrong-password.evtx");
    assert_eq!(failed.iter().map(|e| hunter.process(e).len()).sum::<usize>(), 27);
    let created = events("mssql-local-user-created.evtx");
    assert_eq!(created.iter().map(|e| hunter.process(e).len()).sum::<usize>(), 0);
}
