//! SigmaHQ rules on the unnamed `<Data>` items of Application events, laid out as the EVTX
//! reader produces them (issue 22, wrong answer 2): `Data|contains` in a selection fires,
//! and in a filter it excludes.

use std::path::PathBuf;

use sekimori_detect::{normalize, Hunter, RuleSet};
use serde_json::{json, Value};

fn rules(names: &[&str]) -> Vec<PathBuf> {
    let root = match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    };
    names.iter().map(|n| root.join("rules/windows/builtin").join(n)).collect()
}

/// An Application event as the EVTX reader lays it out: unnamed `<Data>` items under
/// `EventData.Data.#text`.
fn app_event(provider: &str, id: u32, data: Value) -> Value {
    normalize(json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": provider}},
            "EventID": id,
            "EventRecordID": 42,
            "Channel": "Application",
            "Computer": "db01.corp.example"
        },
        "EventData": {"Data": {"#text": data}}
    }}))
}

#[test]
fn data_items_are_searched_in_selections_and_filters() {
    let (set, report) = RuleSet::load(&rules(&[
        "application/esent/win_esent_ntdsutil_abuse.yml",
        "application/mssqlserver/win_mssql_failed_logon_from_external_network.yml",
    ]));
    assert!(report.is_clean() && report.detections == 2, "{:?}", report.failures);
    let mut hunter = Hunter::new(&set).expect("compile");
    let mut titles = |e: &Value| hunter.process(e).into_iter().map(|h| h.title).collect::<Vec<_>>();

    let ntds = app_event("ESENT", 325, json!(["NTDS", "1", "C:\\\\Windows\\\\Temp\\\\ntds.dit", "0"]));
    assert_eq!(titles(&ntds), ["Ntdsutil Abuse"]);
    let other = app_event("ESENT", 325, json!(["NTDS", "1", "C:\\\\Windows\\\\edb.log", "0"]));
    assert!(titles(&other).is_empty());

    // Login failed from a private address: excluded by the filter; from outside: fires.
    let failed = |client: &str| {
        app_event(
            "MSSQLSERVER",
            18456,
            json!(["sa", "Reason: Password did not match that for the login provided.", format!("[CLIENT: {client}]")]),
        )
    };
    assert!(titles(&failed("10.1.2.3")).is_empty(), "a private client is filtered out");
    assert_eq!(titles(&failed("203.0.113.7")), ["MSSQL Server Failed Logon From External Network"]);
}
