//! The evaluation: the facts of one attempt, through the baselines' signal definitions
//! and the tenant's policy, to a verdict that says why.

use serde::Serialize;

use sekimori_detect::baseline::{Baselines, Fix, Profile};

use crate::policy::{Decision, Policy};
use crate::provider::ProviderOutcome;
use crate::signal::{BrowserSignals, Signal};

/// What is known about one attempt, gathered by the gate.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// When, ms.
    pub at: i64,
    /// The user's behaviour profile as detection learned it, if any.
    pub profile: Option<&'a Profile>,
    /// Whether the client environment has logged in for this user before.
    pub environment_known: bool,
    /// For a known environment, how long it has been seen, ms.
    pub environment_known_for_ms: Option<i64>,
    /// ISO country of the address, when a geo database knows it.
    pub country: Option<&'a str>,
    /// The network as the baselines name it: `AS<n>` when the ASN is known, else the /24
    /// or /48.
    pub network: Option<&'a str>,
    /// Coordinates of the address (latitude, longitude), when known.
    pub location: Option<(f64, f64)>,
    /// The user agent sent with the request.
    pub user_agent: Option<&'a str>,
    /// The address lists the address is on: (name, weight).
    pub listed: Vec<(String, u32)>,
    /// Attempts in the policy's velocity window, this one included: (user, address,
    /// network).
    pub velocity: (u32, u32, u32),
    /// What the browser reported, when the page could collect it.
    pub browser: Option<&'a BrowserSignals>,
}

/// A known environment seen for less than this is still young, ms (one day).
pub const YOUNG_ENVIRONMENT_MS: i64 = 86_400_000;

/// One signal's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The signal.
    pub signal: Signal,
    /// Points added.
    pub points: u32,
    /// What was seen, for people (`country=BR`).
    pub detail: String,
}

/// The judgement of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// OK, REVIEW or NG.
    pub decision: Decision,
    /// The sum of the contributions.
    pub score: u32,
    /// Each signal present, with its points.
    pub contributions: Vec<Contribution>,
    /// The explicit rule that decided, if one did (else the thresholds did).
    pub rule: Option<String>,
    /// False in dry-run mode: recorded, not enforced.
    pub enforced: bool,
    /// What the external providers answered (none configured: empty).
    pub providers: Vec<ProviderOutcome>,
}

impl Verdict {
    /// The verdict of a policy that is switched off: OK, nothing seen, not enforced.
    pub fn off() -> Self {
        Verdict {
            decision: Decision::Ok,
            score: 0,
            contributions: Vec::new(),
            rule: None,
            enforced: false,
            providers: Vec::new(),
        }
    }

    /// The signals' names, for the audit event (`sekimori.risk.reasons`).
    pub fn reasons(&self) -> Vec<&'static str> {
        self.contributions.iter().map(|c| c.signal.as_str()).collect()
    }

    /// What is enforced: the decision, or OK in dry-run mode.
    pub fn effective(&self) -> Decision {
        if self.enforced {
            self.decision
        } else {
            Decision::Ok
        }
    }
}

/// The signals `facts` show, by the baselines' definitions where detection has one.
pub fn signals(baselines: &Baselines, policy: &Policy, facts: &Facts<'_>) -> Vec<(Signal, String, u32)> {
    let mut out: Vec<(Signal, String, u32)> = Vec::new();
    let weight = |s: Signal| policy.weights.get(&s).copied().unwrap_or(0);
    let mut add = |s: Signal, detail: String, points: u32| out.push((s, detail, points));
    if !facts.environment_known {
        add(Signal::NewEnvironment, "environment not seen for this user".into(), weight(Signal::NewEnvironment));
    } else if let Some(ms) = facts.environment_known_for_ms.filter(|ms| *ms < YOUNG_ENVIRONMENT_MS) {
        let detail = format!("known_for_minutes={}", ms / 60_000);
        add(Signal::YoungEnvironment, detail, weight(Signal::YoungEnvironment));
    }
    if let Some(profile) = facts.profile {
        for (signal, kind, value) in [
            (Signal::NewCountry, "country", facts.country),
            (Signal::NewNetwork, "network", facts.network),
            (Signal::NewUserAgent, "user_agent", facts.user_agent),
        ] {
            if let Some(v) = value {
                if baselines.novelty(profile, kind, v, facts.at).is_some() {
                    add(signal, format!("{kind}={v}"), weight(signal));
                }
            }
        }
        if let Some((n, rate)) = baselines.failure_burst(profile, facts.at) {
            let detail = format!("failures_in_window={n} earlier_failure_rate={rate:.3}");
            add(Signal::FailureBurst, detail, weight(Signal::FailureBurst));
        }
        if let Some(h) = baselines.unusual_hour(profile, facts.at) {
            add(Signal::UnusualHour, format!("hour_utc={h:02}"), weight(Signal::UnusualHour));
        }
        if let Some((lat, lon)) = facts.location {
            if let Some((km, kmh)) = baselines.travel(profile, Fix { lat, lon, at: facts.at }) {
                let detail = format!("distance_km={km:.0} speed_kmh={kmh:.0}");
                add(Signal::ImpossibleTravel, detail, weight(Signal::ImpossibleTravel));
            }
        }
    }
    if let Some(top) = facts.listed.iter().map(|(_, w)| *w).max() {
        let names: Vec<&str> = facts.listed.iter().map(|(n, _)| n.as_str()).collect();
        add(Signal::ListedAddress, format!("lists={}", names.join(",")), top);
    }
    let v = &policy.velocity;
    let (user, address, network) = facts.velocity;
    for (signal, n, limit, what) in [
        (Signal::UserVelocity, user, v.user, "user"),
        (Signal::AddressVelocity, address, v.address, "address"),
        (Signal::NetworkVelocity, network, v.network, "network"),
    ] {
        if n > limit {
            add(signal, format!("{what}_attempts={n} in {}s (limit {limit})", v.window_seconds), weight(signal));
        }
    }
    if let Some(b) = facts.browser {
        if b.automation() {
            let detail = format!("webdriver={:?} headless={:?}", b.webdriver, b.headless);
            add(Signal::Automation, detail, weight(Signal::Automation));
        }
        if b.scripted_input() {
            let detail = format!("pasted={:?} regular_typing={:?} pointer_moved=false", b.pasted, b.regular_typing);
            add(Signal::ScriptedInput, detail, weight(Signal::ScriptedInput));
        }
        if b.user_agent_mismatch(facts.user_agent) {
            add(
                Signal::UserAgentMismatch,
                "script and header user agents differ".into(),
                weight(Signal::UserAgentMismatch),
            );
        }
    }
    out
}

/// Judges an attempt: explicit rules first (the first whose signals are all present
/// decides), else the score against the thresholds.
pub fn evaluate(policy: &Policy, baselines: &Baselines, facts: &Facts<'_>) -> Verdict {
    if !policy.enabled {
        return Verdict::off();
    }
    let contributions: Vec<Contribution> = signals(baselines, policy, facts)
        .into_iter()
        .map(|(signal, detail, points)| Contribution { signal, points, detail })
        .collect();
    let score = contributions.iter().map(|c| c.points).fold(0u32, u32::saturating_add);
    let present = |s: &Signal| contributions.iter().any(|c| c.signal == *s);
    let (decision, rule) = match policy.rules.iter().find(|r| r.when.iter().all(present)) {
        Some(r) => (r.decision, Some(r.name.clone())),
        None if score >= policy.ng_at => (Decision::Ng, None),
        None if score >= policy.review_at => (Decision::Review, None),
        None => (Decision::Ok, None),
    };
    Verdict { decision, score, contributions, rule, enforced: !policy.dry_run, providers: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_detect::baseline::Seen;

    const DAY: i64 = 86_400_000;

    /// A user learned over 30 days in Japan, from one network and browser, last seen in
    /// Tokyo at day 30.
    fn tokyo_profile() -> Profile {
        let mut p = Profile { first: 0, events: 200, ..Profile::default() };
        let seen = Seen { first: 0, last: 30 * DAY, count: 200 };
        for (kind, value) in [("country", "JP"), ("network", "203.0.113.0/24"), ("user_agent", "Firefox")] {
            p.seen.entry(kind.into()).or_default().insert(value.into(), seen);
        }
        p.last_fix = Some(Fix { lat: 35.68, lon: 139.69, at: 30 * DAY });
        p
    }

    fn facts(profile: &Profile) -> Facts<'_> {
        Facts {
            at: 30 * DAY + 3_600_000,
            profile: Some(profile),
            environment_known: true,
            country: Some("JP"),
            network: Some("203.0.113.0/24"),
            location: Some((35.68, 139.69)),
            user_agent: Some("Firefox"),
            velocity: (1, 1, 1),
            ..Facts::default()
        }
    }

    #[test]
    fn a_known_user_in_a_known_place_is_ok() {
        let p = tokyo_profile();
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &facts(&p));
        assert_eq!((v.decision, v.score, v.rule.as_deref()), (Decision::Ok, 0, None), "{v:?}");
    }

    #[test]
    fn a_new_environment_in_a_new_country_is_review_by_rule() {
        let p = tokyo_profile();
        let f = Facts {
            environment_known: false,
            country: Some("DE"),
            location: Some((52.52, 13.40)),
            at: 40 * DAY,
            ..facts(&p)
        };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &f);
        assert_eq!(v.decision, Decision::Review);
        assert_eq!(v.rule.as_deref(), Some("new environment in a new country"));
        assert_eq!(v.reasons(), ["new_environment", "new_country"]);
    }

    #[test]
    fn tokyo_to_sao_paulo_in_thirty_minutes_is_impossible_travel() {
        let p = tokyo_profile();
        let f = Facts { at: 30 * DAY + 1_800_000, country: Some("BR"), location: Some((-23.55, -46.63)), ..facts(&p) };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &f);
        assert_eq!((v.decision, v.rule.as_deref()), (Decision::Review, Some("impossible travel")));
        assert!(v
            .contributions
            .iter()
            .any(|c| c.signal == Signal::ImpossibleTravel && c.detail.contains("distance_km")));
    }

    #[test]
    fn a_listed_address_and_velocity_are_ng_and_dry_run_does_not_enforce() {
        let p = tokyo_profile();
        let listed = Facts { listed: vec![("tor-exits".into(), 60)], ..facts(&p) };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &listed);
        assert_eq!(
            (v.decision, v.rule.as_deref(), v.effective()),
            (Decision::Ng, Some("listed address"), Decision::Ng)
        );
        let fast = Facts { velocity: (1, 101, 1), ..facts(&p) };
        assert_eq!(evaluate(&Policy::default(), &Baselines::builtin(), &fast).decision, Decision::Ng);
        let dry = Policy { dry_run: true, ..Policy::default() };
        let v = evaluate(&dry, &Baselines::builtin(), &listed);
        assert_eq!((v.decision, v.enforced, v.effective()), (Decision::Ng, false, Decision::Ok));
    }

    #[test]
    fn browser_automation_is_review_and_unknown_signals_count_for_nothing() {
        let p = tokyo_profile();
        let bot = BrowserSignals { webdriver: Some(true), ..BrowserSignals::default() };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &Facts { browser: Some(&bot), ..facts(&p) });
        assert_eq!((v.decision, v.rule.as_deref()), (Decision::Review, Some("browser automation")));
        let unknown = BrowserSignals::default();
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &Facts { browser: Some(&unknown), ..facts(&p) });
        assert_eq!(v.decision, Decision::Ok);
    }

    #[test]
    fn failures_just_before_from_a_user_who_never_fails_add_up() {
        let mut p = tokyo_profile();
        let at = facts(&p).at;
        p.failures = 3;
        p.events = 203;
        p.recent_failures = vec![at - 120_000, at - 60_000, at - 30_000];
        let f = facts(&p);
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &f);
        assert_eq!((v.decision, v.reasons()), (Decision::Ok, vec!["failure_burst"]), "{v:?}");
        assert_eq!(v.score, 25);
        assert!(v.contributions[0].detail.starts_with("failures_in_window=3"), "{v:?}");
        // With a new environment it is a REVIEW by the score.
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &Facts { environment_known: false, ..facts(&p) });
        assert_eq!((v.decision, v.score, v.rule.as_deref()), (Decision::Review, 40, None), "{v:?}");
        // Long ago, they count for nothing.
        let later = Facts { at: at + 86_400_000, ..facts(&p) };
        assert!(evaluate(&Policy::default(), &Baselines::builtin(), &later).contributions.is_empty());
    }

    #[test]
    fn a_known_environment_first_seen_within_a_day_is_young() {
        let p = tokyo_profile();
        let young = Facts { environment_known_for_ms: Some(3_600_000), ..facts(&p) };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &young);
        assert_eq!((v.decision, v.score, v.reasons()), (Decision::Ok, 5, vec!["young_environment"]), "{v:?}");
        assert_eq!(v.contributions[0].detail, "known_for_minutes=60");
        let old = Facts { environment_known_for_ms: Some(YOUNG_ENVIRONMENT_MS), ..facts(&p) };
        assert!(evaluate(&Policy::default(), &Baselines::builtin(), &old).contributions.is_empty());
    }

    #[test]
    fn an_unusual_hour_adds_its_weight_and_a_usual_one_nothing() {
        let mut p = tokyo_profile();
        let hours = p.seen.entry(sekimori_detect::baseline::HOUR_KIND.into()).or_default();
        for h in ["00", "01", "02"] {
            hours.insert(h.into(), Seen { first: 0, last: 30 * DAY, count: 60 });
        }
        let usual = evaluate(&Policy::default(), &Baselines::builtin(), &facts(&p));
        assert!(usual.contributions.is_empty(), "01:00 UTC is usual: {usual:?}");
        let night = Facts { at: 30 * DAY + 15 * 3_600_000, ..facts(&p) };
        let v = evaluate(&Policy::default(), &Baselines::builtin(), &night);
        assert_eq!((v.decision, v.score, v.reasons()), (Decision::Ok, 10, vec!["unusual_hour"]), "{v:?}");
        assert_eq!(v.contributions[0].detail, "hour_utc=15");
    }

    #[test]
    fn the_score_decides_when_no_rule_does() {
        let p = tokyo_profile();
        let policy = Policy { rules: Vec::new(), review_at: 20, ng_at: 30, ..Policy::default() };
        let f = Facts { environment_known: false, user_agent: Some("Chrome"), ..facts(&p) };
        let v = evaluate(&policy, &Baselines::builtin(), &f);
        assert_eq!((v.score, v.decision), (20, Decision::Review), "{v:?}");
        let off = Policy { enabled: false, ..Policy::default() };
        assert_eq!(evaluate(&off, &Baselines::builtin(), &f), Verdict::off());
    }
}
