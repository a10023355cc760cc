//! Tests of the baseline engine (`baseline.rs`).

use super::*;

const T0: i64 = 1_795_425_600_000;

fn engine(intel: &str) -> Baselines {
    let mut ti = ThreatIntel::default();
    ti.parse("test", intel).expect("intel");
    Baselines::new(BaselineConfig::builtin(), ti)
}

fn ev(user: &str, at: i64, extra: Value) -> Value {
    let mut e = json!({"user": {"name": user}, "@timestamp": OffsetDateTime::from_unix_timestamp(at / 1000).expect("t").format(&Rfc3339).expect("fmt")});
    if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
        o.extend(x);
    }
    e
}

fn ids(hits: &[Hit]) -> Vec<String> {
    hits.iter().filter_map(|h| h.rule_id.clone()).map(|i| i.trim_start_matches(RULE_PREFIX).to_owned()).collect()
}

#[test]
fn nothing_is_new_during_learning_then_a_new_country_is() {
    let b = engine("");
    let mut p = Profile::default();
    let jp = json!({"source": {"ip": "198.51.100.7", "geo": {"country_iso_code": "JP"}}, "event": {"action": "login"}});
    for day in 0..8 {
        assert!(b.observe(&mut p, &ev("alice", T0 + day * DAY, jp.clone()), 0).is_empty(), "day {day}");
    }
    let fr = json!({"source": {"ip": "198.51.100.7", "geo": {"country_iso_code": "FR"}}, "event": {"action": "login"}});
    let hits = b.observe(&mut p, &ev("alice", T0 + 8 * DAY, fr.clone()), 0);
    assert_eq!(ids(&hits), ["new_value"]);
    assert_eq!(hits[0].matched, ["country=FR"]);
    assert_eq!(hits[0].title, "First country for this user");
    // Suppressed for the hour; and no longer new afterwards.
    assert!(b.observe(&mut p, &ev("alice", T0 + 8 * DAY + MINUTE, fr.clone()), 0).is_empty());
    assert!(b.observe(&mut p, &ev("alice", T0 + 9 * DAY, fr), 0).is_empty());
    // Persisted and restored, the profile goes on as it was.
    let restored: Profile = serde_json::from_str(&serde_json::to_string(&p).expect("ser")).expect("de");
    assert_eq!(restored, p);
}

#[test]
fn a_failure_burst_alerts_for_the_careful_user_only() {
    let b = engine("");
    let ok = json!({"event": {"outcome": "success", "action": "login"}});
    let bad = json!({"event": {"outcome": "failure", "action": "login"}});
    let mut careful = Profile::default();
    let mut sloppy = Profile::default();
    for i in 0..30 {
        b.observe(&mut careful, &ev("carol", T0 + i * MINUTE * 60, ok.clone()), 0);
        let e = if i % 3 == 0 { bad.clone() } else { ok.clone() };
        b.observe(&mut sloppy, &ev("sam", T0 + i * MINUTE * 60, e), 0);
    }
    let later = T0 + 40 * MINUTE * 60;
    let mut careful_hits = Vec::new();
    let mut sloppy_hits = Vec::new();
    for k in 0..3 {
        careful_hits.extend(b.observe(&mut careful, &ev("carol", later + k * MINUTE, bad.clone()), 0));
        sloppy_hits.extend(b.observe(&mut sloppy, &ev("sam", later + k * MINUTE, bad.clone()), 0));
    }
    assert_eq!(ids(&careful_hits), ["failure_burst"], "the third failure in 10 minutes");
    assert!(careful_hits[0].matched.contains(&"failures_in_window=3".to_owned()));
    assert!(ids(&sloppy_hits).is_empty(), "a user who often fails: {sloppy_hits:?}");
    // Spread out beyond the window, three failures are not a burst.
    let mut spread = Profile::default();
    for i in 0..30 {
        b.observe(&mut spread, &ev("dan", T0 + i * MINUTE * 60, ok.clone()), 0);
    }
    let mut hits = Vec::new();
    for k in 0..3 {
        hits.extend(b.observe(&mut spread, &ev("dan", later + k * 11 * MINUTE, bad.clone()), 0));
    }
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn destructive_operations_weigh_more_when_unusual_and_the_score_alerts_once() {
    let b = engine("");
    let mut p = Profile::default();
    // CloudTrail: a new DeleteTrail is 45 points (15 × 3); a second new destructive action crosses 60.
    let ct = |name: &str| json!({"eventName": name, "eventSource": "cloudtrail.amazonaws.com", "userIdentity": {"arn": "arn:aws:iam::1:user/ops"}});
    let e1 = ct("DeleteTrail");
    let h1 = b.observe(&mut p, &e1, T0);
    assert_eq!(ids(&h1), ["destructive"]);
    assert_eq!((h1[0].level.as_str(), p.risk[0].points), ("high", 45));
    let h2 = b.observe(&mut p, &ct("StopLogging"), T0 + MINUTE);
    assert_eq!(ids(&h2), ["destructive", "risk_score"]);
    assert!(h2[1].matched.contains(&"score=90".to_owned()), "{:?}", h2[1].matched);
    // Within the window the risk alert does not repeat, and a repeat of a known action weighs 15.
    let h3 = b.observe(&mut p, &ct("DeleteBucket"), T0 + 2 * MINUTE);
    assert_eq!(ids(&h3), ["destructive"]);
    // The same signal is suppressed for its entity; after the suppression it counts once more, at 15.
    assert!(b.observe(&mut p, &ct("DeleteTrail"), T0 + 3 * MINUTE).is_empty());
    let h5 = b.observe(&mut p, &ct("DeleteTrail"), T0 + 70 * MINUTE);
    assert_eq!(ids(&h5), ["destructive"]);
    assert_eq!((h5[0].level.as_str(), p.risk.last().map(|r| r.points)), ("medium", Some(15)));
    // Azure activity log names and listed patterns.
    assert!(glob("*/delete", "Microsoft.Compute/virtualMachines/delete"));
    assert!(!glob("Delete*", "ListBuckets"));
    assert!(glob("admin.*.revoked", "admin.ingest_source.revoked"));
}

#[test]
fn impossible_travel_and_threat_intel() {
    let b = engine("# feed\n203.0.113.0/24\n2001:db8::/32 # docs\n192.0.2.1\n");
    let mut p = Profile::default();
    let tokyo = json!({"source": {"ip": "198.51.100.1", "geo": {"location": {"lat": 35.68, "lon": 139.69}}}});
    let paris = json!({"source": {"ip": "198.51.100.1", "geo": {"location": {"lat": 48.85, "lon": 2.35}}}});
    assert!(b.observe(&mut p, &ev("eve", T0, tokyo.clone()), 0).is_empty());
    let h = b.observe(&mut p, &ev("eve", T0 + 60 * MINUTE, paris), 0);
    assert_eq!(ids(&h), ["impossible_travel"]);
    assert!(h[0].matched[0].starts_with("distance_km=97"), "{:?}", h[0].matched);
    // Twelve hours later, back in Tokyo, is possible.
    assert!(b.observe(&mut p, &ev("eve", T0 + 14 * 60 * MINUTE, tokyo), 0).is_empty());
    let bad = json!({"source": {"ip": "203.0.113.77"}});
    assert_eq!(ids(&b.observe(&mut p, &ev("eve", T0 + 15 * 60 * MINUTE, bad), 0)), ["threat_intel"]);
    let intel = &b.intel;
    assert!(intel.contains("2001:db8::1".parse().expect("ip")));
    assert!(intel.contains("192.0.2.1".parse().expect("ip")) && !intel.contains("192.0.2.2".parse().expect("ip")));
    assert!(intel.contains("::ffff:203.0.113.9".parse().expect("ip")));
    let mut t = ThreatIntel::default();
    let e = t.parse("f.txt", "10.0.0.0/33").expect_err("bad");
    assert_eq!(e, DetectError::IntelEntry { list: "f.txt".into(), line: 1, entry: "10.0.0.0/33".into() });
    assert_eq!(e.to_string(), "f.txt:1: not an IP address or CIDR: \"10.0.0.0/33\"");
}

#[test]
fn entities_and_failures_from_several_layouts() {
    let b = engine("");
    let entra = json!({"userPrincipalName": "a@example.com", "ipAddress": "192.0.2.4", "status": {"errorCode": 50126}});
    assert_eq!(b.entities(&entra).user.as_deref(), Some("a@example.com"));
    assert!(b.is_failure(&entra));
    assert!(!b.is_failure(&json!({"status": {"errorCode": 0}})));
    let trail = json!({"userIdentity": {"arn": "arn:aws:iam::1:user/x"}, "sourceIPAddress": "192.0.2.5", "errorCode": "AccessDenied"});
    assert_eq!(b.profile_key(&trail).as_deref(), Some("user:arn:aws:iam::1:user/x"));
    assert!(b.is_failure(&trail));
    assert!(b.is_failure(&json!({"EventID": 4625})) && b.is_failure(&json!({"EventID": "4625"})));
    assert_eq!(b.profile_key(&json!({"source.ip": "192.0.2.9"})).as_deref(), Some("ip:192.0.2.9"));
    assert_eq!(b.profile_key(&json!({"message": "x"})), None);
    let big = json!({"message": "m".repeat(5000), "user": {"name": "u"}});
    let ex = excerpt(&big, &b.entities(&big), 4096);
    assert_eq!(ex["truncated"], true);
    assert_eq!(ex["message"].as_str().map(str::len), Some(512));
}

#[test]
fn the_builtin_configuration_loads_and_bad_ones_are_refused() {
    let _ = BaselineConfig::builtin();
    let bad = BUILTIN.replace("  user_agent: {lookback_days", "  agent: {lookback_days");
    let e = BaselineConfig::from_yaml(&bad).expect_err("refused");
    assert!(matches!(&e, DetectError::Setting { key, .. } if key == "new_value.agent"), "{e}");
    let zero = BUILTIN.replace("threshold: 60,", "threshold: 0,");
    assert_eq!(
        BaselineConfig::from_yaml(&zero).expect_err("refused"),
        DetectError::setting("risk.threshold", "must be at least 1")
    );
}

#[test]
fn an_hour_far_from_every_hour_the_user_was_active_is_unusual() {
    let b = Baselines::builtin();
    let mut p = Profile::default();
    let hour = 3_600_000;
    // Thirty days of logins at 09:00 and 10:00 UTC.
    for day in 0..30 {
        for h in [9, 10] {
            let t = T0 - T0.rem_euclid(DAY) + day * DAY + h * hour;
            b.observe(&mut p, &json!({"user": {"name": "alice"}, "event": {"action": "login"}}), t);
        }
    }
    let day_31 = T0 - T0.rem_euclid(DAY) + 31 * DAY;
    assert_eq!(b.unusual_hour(&p, day_31 + 9 * hour), None, "a usual hour");
    assert_eq!(b.unusual_hour(&p, day_31 + 11 * hour + 30 * 60_000), None, "next to a usual hour");
    assert_eq!(b.unusual_hour(&p, day_31 + 3 * hour), Some(3), "03:00 UTC is unusual");
    // A profile that has not learned enough says nothing.
    let young = Profile { first: day_31, ..p.clone() };
    assert_eq!(b.unusual_hour(&young, day_31 + 3 * hour), None);
}
