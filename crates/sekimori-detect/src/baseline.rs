//! Behaviour baselines: per tenant and user, what this person usually does, learned from
//! their events, and the signals of what they do not usually do: first-seen values after a
//! learning period, a failure burst from someone who almost never fails, destructive
//! operations weighted by how unusual they are for them, impossible travel, threat-intel
//! addresses; and an entity risk score over a window that alerts above a threshold, with
//! signal × entity suppression. Pure: the caller loads and saves [`Profile`]s.

use crate::DetectError;
use sekimori_core::net::{parse_address_list, Cidr, IpSet};
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::output::Hit;

/// The built-in configuration.
const BUILTIN: &str = include_str!("../data/baselines.yml");

/// Values kept per kind and user; the least recently seen go first.
const MAX_VALUES: usize = 256;
/// Recent failure times kept per user.
const MAX_RECENT_FAILURES: usize = 64;

/// Rule ids of baseline alerts start with this.
pub const RULE_PREFIX: &str = "urn:sekimori:baseline:";

/// The `seen` kind counting a user's events by hour of day (UTC, `00` to `23`).
pub const HOUR_KIND: &str = "hour";

/// Events counted by hour before an hour can be unusual.
pub const MIN_HOUR_EVENTS: u64 = 20;

/// The hour of day (UTC) of `t`, ms.
fn hour_of(t: i64) -> u8 {
    // rem_euclid keeps it in 0..24, which a u8 holds.
    u8::try_from(t.rem_euclid(DAY) / 3_600_000).unwrap_or(23)
}

/// The kinds of first-seen values.
pub const NEW_VALUE_KINDS: [&str; 5] = ["country", "network", "action", "resource", "user_agent"];

/// Where entities are found in an event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityFields {
    pub user: Vec<String>,
    pub ip: Vec<String>,
    pub host: Vec<String>,
    pub action: Vec<String>,
    pub resource: Vec<String>,
    pub user_agent: Vec<String>,
    pub country: Vec<String>,
    pub asn: Vec<String>,
    pub latitude: Vec<String>,
    pub longitude: Vec<String>,
    pub time: Vec<String>,
}

/// One way an event says it failed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureTest {
    pub field: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub not_equals: Option<Value>,
    #[serde(default)]
    pub exists: Option<bool>,
}

/// A signal's weight and alert level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    #[serde(default)]
    pub lookback_days: u32,
    pub points: u32,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureConfig {
    pub window_minutes: u32,
    pub count: usize,
    pub floor: f64,
    pub min_events: u64,
    pub points: u32,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestructiveConfig {
    pub points: u32,
    pub unusual_factor: u32,
    pub level: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravelConfig {
    pub max_kmh: f64,
    pub min_km: f64,
    pub points: u32,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    pub window_minutes: u32,
    pub threshold: u32,
    pub suppress_minutes: u32,
    pub level: String,
}

/// The whole configuration (`data/baselines.yml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    pub entities: EntityFields,
    pub failure: Vec<FailureTest>,
    pub learning_days: u32,
    pub new_value: BTreeMap<String, Weight>,
    pub failures: FailureConfig,
    pub destructive: DestructiveConfig,
    pub travel: TravelConfig,
    pub threat_intel: Weight,
    pub risk: RiskConfig,
}

impl BaselineConfig {
    /// The configuration shipped with Sekimori.
    pub fn builtin() -> BaselineConfig {
        Self::from_yaml(BUILTIN).unwrap_or_else(|e| unreachable!("data/baselines.yml is checked by tests: {e}"))
    }

    /// Parses a configuration in the format of `data/baselines.yml`.
    pub fn from_yaml(text: &str) -> Result<BaselineConfig, DetectError> {
        let cfg: BaselineConfig = yaml_serde::from_str(text).map_err(DetectError::syntax)?;
        if let Some(k) = cfg.new_value.keys().find(|k| !NEW_VALUE_KINDS.contains(&k.as_str())) {
            return Err(DetectError::setting(
                format!("new_value.{k}"),
                format!("unknown kind; known: {}", NEW_VALUE_KINDS.join(", ")),
            ));
        }
        if !(0.0..=1.0).contains(&cfg.failures.floor) {
            return Err(DetectError::setting("failures.floor", "must be between 0 and 1"));
        }
        if cfg.risk.threshold == 0 {
            return Err(DetectError::setting("risk.threshold", "must be at least 1"));
        }
        if cfg.failures.count == 0 {
            return Err(DetectError::setting("failures.count", "must be at least 1"));
        }
        Ok(cfg)
    }
}

/// Addresses and networks known to be hostile, from lists of one IP or CIDR per line
/// (`#` starts a comment) or the Tor exit list: the same lists and lookup
/// (`sekimori_core::net::IpSet`) as login-time risk.
#[derive(Debug, Clone, Default)]
pub struct ThreatIntel {
    entries: usize,
    nets: Vec<Cidr>,
    set: IpSet,
}

impl ThreatIntel {
    /// Parses one list; `name` is used in errors (`name:line: reason`).
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), DetectError> {
        let list = parse_address_list(text).map_err(|e| DetectError::IntelEntry {
            list: name.to_owned(),
            line: e.line,
            entry: e.entry,
        })?;
        self.entries += list.len();
        self.nets.extend(list);
        self.set = IpSet::new(self.nets.iter().copied());
        Ok(())
    }

    /// How many entries are loaded.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether no entry is loaded.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Whether `ip` is on a list.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.set.contains(ip)
    }
}

/// When a value was seen for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

/// A place a user was at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub at: i64,
}

/// A signal's share of the risk score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEntry {
    pub at: i64,
    pub signal: String,
    pub points: u32,
}

/// What is learned about one user of one tenant (persisted by the caller as JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Time of the first event, ms.
    pub first: i64,
    pub events: u64,
    pub failures: u64,
    /// Kind → value → when seen.
    pub seen: BTreeMap<String, BTreeMap<String, Seen>>,
    pub recent_failures: Vec<i64>,
    pub last_fix: Option<Fix>,
    pub risk: Vec<RiskEntry>,
    /// Suppression key → until, ms.
    pub suppressed: BTreeMap<String, i64>,
}

/// Who and what an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Entities {
    /// The key of the profile an event with these entities updates (see
    /// [`Baselines::profile_key`]).
    pub fn profile_key(&self) -> Option<String> {
        self.user.as_ref().map(|u| format!("user:{u}")).or_else(|| self.ip.as_ref().map(|i| format!("ip:{i}")))
    }
}

/// The baseline engine.
#[derive(Debug, Clone)]
pub struct Baselines {
    cfg: BaselineConfig,
    intel: ThreatIntel,
}

/// Looks a field up as one key, then as a path into nested objects.
pub fn field<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    field_in(event.as_object()?, name)
}

/// [`field`] on an event's top-level object.
pub fn field_in<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = event.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut cur = event.get(parts.next()?)?;
    for part in parts {
        cur = cur.get(part)?;
    }
    Some(cur)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_text(event: &Value, names: &[String]) -> Option<String> {
    names.iter().find_map(|n| field(event, n).and_then(text))
}

fn first_number(event: &Value, names: &[String]) -> Option<f64> {
    names.iter().find_map(|n| {
        let v = field(event, n)?;
        v.as_f64().or_else(|| v.as_str()?.parse().ok())
    })
}

/// `*` matches any run of characters.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || !s[first.len()..].ends_with(last) || s.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Great-circle distance, km.
fn haversine_km(a: Fix, b: Fix) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let (dla, dlo) = ((b.lat - a.lat).to_radians(), (b.lon - a.lon).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

fn network_of(ip: &str) -> Option<String> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v) => {
            let o = v.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// One signal before suppression.
struct Signal {
    kind: &'static str,
    /// The suppression key within the entity, e.g. `new_country:JP`.
    key: String,
    title: String,
    level: String,
    points: u32,
    detail: Vec<String>,
}

impl Baselines {
    /// The engine with `cfg` and the threat-intel lists `intel`.
    pub fn new(cfg: BaselineConfig, intel: ThreatIntel) -> Baselines {
        Baselines { cfg, intel }
    }

    /// The built-in configuration and no threat-intel list.
    pub fn builtin() -> Baselines {
        Baselines::new(BaselineConfig::builtin(), ThreatIntel::default())
    }

    /// The threat-intel lists.
    pub fn intel(&self) -> &ThreatIntel {
        &self.intel
    }

    /// The configuration.
    pub fn config(&self) -> &BaselineConfig {
        &self.cfg
    }

    /// The user, address and host an event is about.
    pub fn entities(&self, event: &Value) -> Entities {
        let e = &self.cfg.entities;
        Entities { user: first_text(event, &e.user), ip: first_text(event, &e.ip), host: first_text(event, &e.host) }
    }

    /// The key of the profile an event updates: `user:<name>`, else `ip:<address>` (only
    /// threat intel applies then), else none.
    pub fn profile_key(&self, event: &Value) -> Option<String> {
        self.entities(event).profile_key()
    }

    fn is_failure(&self, event: &Value) -> bool {
        self.cfg.failure.iter().any(|t| {
            let v = field(event, &t.field);
            let loose_eq = |a: &Value, b: &Value| a == b || text(a).zip(text(b)).is_some_and(|(x, y)| x == y);
            match (v, &t.equals, &t.not_equals, t.exists) {
                (Some(v), Some(want), _, _) => loose_eq(v, want),
                (Some(v), None, Some(not), _) => !v.is_null() && !loose_eq(v, not),
                (v, None, None, Some(exists)) => v.is_some_and(|v| !v.is_null()) == exists,
                _ => false,
            }
        })
    }

    /// The event's own time, else `received_ms`.
    pub fn event_time(&self, event: &Value, received_ms: i64) -> i64 {
        first_text(event, &self.cfg.entities.time)
            .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
            .unwrap_or(received_ms)
    }

    /// Whether the profile has been learning long enough for values to count as new.
    pub fn learned(&self, profile: &Profile, t: i64) -> bool {
        profile.events > 0 && t - profile.first >= i64::from(self.cfg.learning_days) * DAY
    }

    /// Read-only, for a login being decided: the weight of `value` of `kind` (`country`,
    /// `network`, `user_agent`, …) when it is new for this user at `t`, by the same
    /// definition `observe` alerts with (a learned profile, not seen within the look-back).
    pub fn novelty(&self, profile: &Profile, kind: &str, value: &str, t: i64) -> Option<&Weight> {
        let w = self.cfg.new_value.get(kind)?;
        let before = profile.seen.get(kind).and_then(|v| v.get(value)).copied();
        (self.learned(profile, t) && is_new(w, before, t)).then_some(w)
    }

    /// Read-only, for a login being decided: the hour of day (UTC) of `t` when it is
    /// unusual for this user: a learned profile with at least [`MIN_HOUR_EVENTS`] events
    /// counted by hour, none of them in that hour or the hours either side.
    pub fn unusual_hour(&self, profile: &Profile, t: i64) -> Option<u8> {
        let hours = profile.seen.get(HOUR_KIND)?;
        let total: u64 = hours.values().map(|s| s.count).sum();
        let h = hour_of(t);
        let near = [(h + 23) % 24, h, (h + 1) % 24];
        let seen_near = near.iter().any(|n| hours.get(&format!("{n:02}")).is_some_and(|s| s.count > 0));
        (self.learned(profile, t) && total >= MIN_HOUR_EVENTS && !seen_near).then_some(h)
    }

    /// Read-only, for a login being decided: the failures within the `failures` window
    /// before `t` and the user's earlier failure rate, when they make the burst the
    /// baselines alert on ("this person never mistypes a password, today three times").
    pub fn failure_burst(&self, profile: &Profile, t: i64) -> Option<(usize, f64)> {
        let f = &self.cfg.failures;
        let window = i64::from(f.window_minutes) * MINUTE;
        let recent = profile.recent_failures.iter().filter(|&&x| x <= t && t - x < window).count();
        let earlier_failures = profile.failures.saturating_sub(recent as u64);
        let earlier_events = profile.events.saturating_sub(recent as u64);
        let rate = if earlier_events == 0 { 1.0 } else { earlier_failures as f64 / earlier_events as f64 };
        (recent >= f.count && earlier_events >= f.min_events && rate <= f.floor).then_some((recent, rate))
    }

    /// Read-only: the distance (km) and speed (km/h) from the profile's last known place to
    /// `here` when they make the journey impossible by `travel`'s thresholds.
    pub fn travel(&self, profile: &Profile, here: Fix) -> Option<(f64, f64)> {
        let prev = profile.last_fix?;
        let km = haversine_km(prev, here);
        let hours = ((here.at - prev.at).abs() as f64 / 3_600_000.0).max(1.0 / 60.0);
        let tr = &self.cfg.travel;
        (km >= tr.min_km && km / hours > tr.max_kmh).then_some((km, km / hours))
    }

    /// Learns from `event` (of the profile's entity) and returns the alerts it raises:
    /// one per signal not suppressed, and the risk alert when the score crosses the
    /// threshold.
    pub fn observe(&self, profile: &mut Profile, event: &Value, received_ms: i64) -> Vec<Hit> {
        let t = self.event_time(event, received_ms);
        let c = &self.cfg;
        let mut signals = Vec::new();
        let learned = self.learned(profile, t);
        let ip = first_text(event, &c.entities.ip);
        let action = first_text(event, &c.entities.action);

        // First-seen values.
        let asn = first_text(event, &c.entities.asn).map(|a| format!("AS{a}"));
        let mut action_was_new = false;
        for kind in NEW_VALUE_KINDS {
            let value = match kind {
                "country" => first_text(event, &c.entities.country),
                "network" => asn.clone().or_else(|| ip.as_deref().and_then(network_of)),
                "action" => action.clone(),
                "resource" => first_text(event, &c.entities.resource),
                _ => first_text(event, &c.entities.user_agent),
            };
            let Some(value) = value else { continue };
            let values = profile.seen.entry(kind.to_owned()).or_default();
            let before = values.get(&value).copied();
            if kind == "action" {
                action_was_new = before.is_none();
            }
            if let Some(w) = c.new_value.get(kind) {
                if learned && is_new(w, before, t) {
                    signals.push(Signal {
                        kind: "new_value",
                        key: format!("new_{kind}:{value}"),
                        title: format!("First {} for this user", kind.replace('_', " ")),
                        level: w.level.clone(),
                        points: w.points,
                        detail: vec![format!("{kind}={value}")],
                    });
                }
            }
            let s = values.entry(value).or_insert(Seen { first: t, last: t, count: 0 });
            s.last = s.last.max(t);
            s.count += 1;
            if values.len() > MAX_VALUES {
                if let Some(oldest) = values.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| k.clone()) {
                    values.remove(&oldest);
                }
            }
        }

        // The hour of day (UTC) the user is active in, for login-time risk's unusual hour.
        let hours = profile.seen.entry(HOUR_KIND.to_owned()).or_default();
        let s = hours.entry(format!("{:02}", hour_of(t))).or_insert(Seen { first: t, last: t, count: 0 });
        s.last = s.last.max(t);
        s.count += 1;

        // A failure burst from someone who almost never fails.
        if self.is_failure(event) {
            let f = &c.failures;
            let window = i64::from(f.window_minutes) * MINUTE;
            profile.recent_failures.retain(|&x| t - x < window);
            let earlier_failures = profile.failures.saturating_sub(profile.recent_failures.len() as u64);
            let earlier_events = profile.events.saturating_sub(profile.recent_failures.len() as u64);
            profile.recent_failures.push(t);
            if profile.recent_failures.len() > MAX_RECENT_FAILURES {
                profile.recent_failures.remove(0);
            }
            profile.failures += 1;
            let rate = if earlier_events == 0 { 1.0 } else { earlier_failures as f64 / earlier_events as f64 };
            if profile.recent_failures.len() >= f.count && earlier_events >= f.min_events && rate <= f.floor {
                signals.push(Signal {
                    kind: "failure_burst",
                    key: "failure_burst".into(),
                    title: "Failures from a user who rarely fails".into(),
                    level: f.level.clone(),
                    points: f.points,
                    detail: vec![
                        format!("failures_in_window={}", profile.recent_failures.len()),
                        format!("window_minutes={}", f.window_minutes),
                        format!("earlier_failure_rate={rate:.3}"),
                    ],
                });
            }
        }

        // Destructive operations, weighted by how unusual they are for this user.
        if let Some(a) = &action {
            let d = &c.destructive;
            if d.actions.iter().any(|p| glob(p, a)) {
                let factor = if action_was_new { d.unusual_factor } else { 1 };
                signals.push(Signal {
                    kind: "destructive",
                    key: format!("destructive:{a}"),
                    title: if action_was_new {
                        "Destructive operation this user has not done before".into()
                    } else {
                        "Destructive operation".into()
                    },
                    level: if action_was_new { "high".into() } else { d.level.clone() },
                    points: d.points * factor,
                    detail: vec![format!("action={a}")],
                });
            }
        }

        // Impossible travel.
        let lat = first_number(event, &c.entities.latitude);
        let lon = first_number(event, &c.entities.longitude);
        if let (Some(lat), Some(lon)) = (lat, lon) {
            let here = Fix { lat, lon, at: t };
            if let Some((km, kmh)) = self.travel(profile, here) {
                signals.push(Signal {
                    kind: "impossible_travel",
                    key: "impossible_travel".into(),
                    title: "Impossible travel".into(),
                    level: c.travel.level.clone(),
                    points: c.travel.points,
                    detail: vec![format!("distance_km={km:.0}"), format!("speed_kmh={kmh:.0}")],
                });
            }
            if profile.last_fix.is_none_or(|p| p.at <= t) {
                profile.last_fix = Some(here);
            }
        }

        // Threat intel.
        if let Some(addr) = ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok()) {
            if self.intel.contains(addr) {
                signals.push(Signal {
                    kind: "threat_intel",
                    key: format!("threat_intel:{addr}"),
                    title: "Access from a threat-intel address".into(),
                    level: c.threat_intel.level.clone(),
                    points: c.threat_intel.points,
                    detail: vec![format!("ip={addr}")],
                });
            }
        }

        if profile.events == 0 || t < profile.first {
            profile.first = t;
        }
        profile.events += 1;
        self.score(profile, signals, t)
    }

    /// Suppression, the risk score and the alerts.
    fn score(&self, profile: &mut Profile, signals: Vec<Signal>, t: i64) -> Vec<Hit> {
        let r = &self.cfg.risk;
        let window = i64::from(r.window_minutes) * MINUTE;
        profile.risk.retain(|e| t - e.at < window);
        profile.suppressed.retain(|_, until| *until > t);
        let mut hits = Vec::new();
        for s in signals {
            if profile.suppressed.contains_key(&s.key) {
                continue;
            }
            profile.suppressed.insert(s.key.clone(), t + i64::from(r.suppress_minutes) * MINUTE);
            profile.risk.push(RiskEntry { at: t, signal: s.key.clone(), points: s.points });
            hits.push(hit(s.kind, s.title, s.level, s.detail));
        }
        let score: u32 = profile.risk.iter().map(|e| e.points).sum();
        if score >= r.threshold && !profile.suppressed.contains_key("risk_score") {
            profile.suppressed.insert("risk_score".into(), t + window);
            let mut detail = vec![format!("score={score}"), format!("threshold={}", r.threshold)];
            detail.extend(profile.risk.iter().map(|e| format!("signal={} (+{})", e.signal, e.points)));
            hits.push(hit("risk_score", "Entity risk score above threshold".into(), r.level.clone(), detail));
        }
        hits
    }
}

/// Whether a value last seen as `before` is new at `t` under `w`'s look-back.
fn is_new(w: &Weight, before: Option<Seen>, t: i64) -> bool {
    before.is_none_or(|s| t - s.last > i64::from(w.lookback_days) * DAY)
}

fn hit(kind: &str, title: String, level: String, detail: Vec<String>) -> Hit {
    Hit {
        rule_id: Some(format!("{RULE_PREFIX}{kind}")),
        title,
        level,
        kind: "baseline",
        tags: Vec::new(),
        source: None,
        timestamp: None,
        matched: detail,
        unchecked: Vec::new(),
    }
}

/// A short view of an event for an alert: the whole event when small, otherwise its
/// entity fields and the start of its message.
pub fn excerpt(event: &Value, entities: &Entities, max_bytes: usize) -> Value {
    let whole = event.to_string();
    if whole.len() <= max_bytes {
        return event.clone();
    }
    let message = ["message", "Message", "msg"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .map(|m| m.chars().take(512).collect::<String>());
    json!({"truncated": true, "bytes": whole.len(), "entities": entities, "message": message})
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;
