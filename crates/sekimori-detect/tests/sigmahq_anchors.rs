//! The SigmaHQ rule the `|endswith` wildcard defect was found with, unchanged, on Security
//! 4662 events as the EVTX reader lays them out (ADR 0004, third defect).

use std::path::PathBuf;

use sekimori_detect::{Hunter, RuleSet};
use serde_json::json;

fn rule() -> PathBuf {
    let root = match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    };
    root.join("rules/windows/builtin/security/win_security_ad_user_enumeration.yml")
}

#[test]
fn ad_user_enumeration_fires_on_read_access_masks() {
    let (rules, report) = RuleSet::load(&[rule()]);
    assert!(report.is_clean() && report.detections == 1, "{:?}", report.failures);
    let mut hunter = Hunter::new(&rules).expect("compile");
    let event = |mask: &str, subject: &str| {
        json!({
            "Channel": "Security",
            "Provider_Name": "Microsoft-Windows-Security-Auditing",
            "EventID": 4662,
            "EventRecordID": 1234,
            "Computer": "dc01.corp.example",
            "SubjectUserName": subject,
            "ObjectType": "%{bf967aba-0de6-11d0-a285-00aa003049e2}",
            "AccessMask": mask,
        })
    };
    let fires = |hunter: &mut Hunter, mask: &str, subject: &str| !hunter.process(&event(mask, subject)).is_empty();
    // 0x10 is Read Property; 0x30 Read + Write Property; 0xF0 all two-byte permissions.
    for mask in ["0x10", "0x30", "0xF0", "0x110"] {
        assert!(fires(&mut hunter, mask, "alice"), "{mask}");
    }
    // No Read Property bit in the second nibble; a machine account; an Azure AD Connect account.
    assert!(!fires(&mut hunter, "0x100", "alice"));
    assert!(!fires(&mut hunter, "0x2", "alice"));
    assert!(!fires(&mut hunter, "0x10", "DC01$"));
    assert!(!fires(&mut hunter, "0x10", "MSOL_1234"));
}
