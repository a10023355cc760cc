//! Per-tenant tuning: rules and rule groups switched off, severity overrides, baseline
//! thresholds, and exceptions written as Sigma filters (e.g. "not from our vulnerability
//! scanner"). Applied to the hits of an event after the shared rules ran, so one rule set
//! serves every tenant and each tenant's tuning costs nothing until a rule fires.

use crate::DetectError;
use std::collections::BTreeMap;

use rsigma_eval::compiler::{compile_rule, evaluate_rule, CompiledRule};
use rsigma_eval::event::JsonEvent;
use rsigma_parser::FilterRuleTarget;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::baseline::{BaselineConfig, Baselines, ThreatIntel, RULE_PREFIX};
use crate::output::Hit;

/// Sigma's levels, lowest first.
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// Largest tuning document, bytes.
pub const MAX_TUNING_BYTES: usize = 256 * 1024;

/// A tenant's tuning as an admin writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tuning {
    /// Rule ids (Sigma ids, or `urn:sekimori:baseline:<kind>`) that raise no alert.
    pub disabled_rules: Vec<String>,
    /// Rule groups that raise no alert: a tag (`attack.discovery`, `attack.t1033`) or
    /// `baseline` for every baseline signal.
    pub disabled_groups: Vec<String>,
    /// Rule id → level.
    pub severity: BTreeMap<String, String>,
    /// Exceptions: Sigma filter documents (YAML text each). A hit of a rule a filter names
    /// (or of any rule, when it names none) stays only when the filter's condition holds.
    pub filters: Vec<String>,
    /// Baseline thresholds.
    pub baselines: BaselineOverrides,
}

/// Baseline numbers a tenant may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineOverrides {
    pub learning_days: Option<u32>,
    pub failure_count: Option<usize>,
    pub failure_window_minutes: Option<u32>,
    pub risk_threshold: Option<u32>,
    pub risk_window_minutes: Option<u32>,
}

/// One filter, compiled.
struct Filter {
    /// `None`: every rule.
    rules: Option<Vec<String>>,
    compiled: CompiledRule,
}

/// A tuning ready to apply.
pub struct CompiledTuning {
    tuning: Tuning,
    filters: Vec<Filter>,
    baselines: Baselines,
}

impl std::fmt::Debug for CompiledTuning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledTuning").field("tuning", &self.tuning).finish_non_exhaustive()
    }
}

/// Checks and compiles `tuning` over the server's baseline configuration and lists.
/// Every error names the part of the document, e.g. `filters[1]: ...`.
pub fn compile(tuning: &Tuning, base: &BaselineConfig, intel: &ThreatIntel) -> Result<CompiledTuning, DetectError> {
    for (rule, level) in &tuning.severity {
        if !LEVELS.contains(&level.as_str()) {
            return Err(DetectError::setting(
                format!("severity.{rule}"),
                format!("{level:?} is not one of {}", LEVELS.join(", ")),
            ));
        }
    }
    for (key, list) in [("disabled_rules", &tuning.disabled_rules), ("disabled_groups", &tuning.disabled_groups)] {
        if let Some(i) = list.iter().position(|s| s.trim().is_empty()) {
            return Err(DetectError::setting(format!("{key}[{i}]"), "must not be empty"));
        }
    }
    let mut filters = Vec::new();
    for (i, text) in tuning.filters.iter().enumerate() {
        let fail = |reason: String| DetectError::setting(format!("filters[{i}]"), reason);
        let collection = rsigma_parser::parse_sigma_yaml(text).map_err(|e| fail(e.to_string()))?;
        if let Some(e) = collection.errors.first() {
            return Err(fail(e.clone()));
        }
        if !collection.rules.is_empty() || !collection.correlations.is_empty() || collection.filters.len() != 1 {
            return Err(fail("must be exactly one Sigma filter document (with a `filter:` section)".into()));
        }
        let f = &collection.filters[0];
        // A detection rule with the filter's detection: it "fires" when the filter's
        // condition holds for the event.
        let (shell, _) =
            crate::RuleSet::from_yaml("title: filter\nlogsource: {}\ndetection:\n  s:\n    x: 1\n  condition: s\n");
        let mut rule = shell.first_detection().ok_or_else(|| fail("internal: no shell rule".into()))?;
        rule.title.clone_from(&f.title);
        rule.detection = f.detection.clone();
        crate::anchors::fix(&mut rule.detection);
        let compiled = compile_rule(&rule).map_err(|e| fail(e.to_string()))?;
        let rules = match &f.rules {
            FilterRuleTarget::Any => None,
            FilterRuleTarget::Specific(ids) => Some(ids.clone()),
        };
        filters.push(Filter { rules, compiled });
    }
    let mut cfg = base.clone();
    let o = &tuning.baselines;
    if let Some(v) = o.learning_days {
        cfg.learning_days = v;
    }
    if let Some(v) = o.failure_count {
        if v == 0 {
            return Err(DetectError::setting("baselines.failure_count", "must be at least 1"));
        }
        cfg.failures.count = v;
    }
    if let Some(v) = o.failure_window_minutes {
        cfg.failures.window_minutes = v;
    }
    if let Some(v) = o.risk_threshold {
        if v == 0 {
            return Err(DetectError::setting("baselines.risk_threshold", "must be at least 1"));
        }
        cfg.risk.threshold = v;
    }
    if let Some(v) = o.risk_window_minutes {
        cfg.risk.window_minutes = v;
    }
    Ok(CompiledTuning { tuning: tuning.clone(), filters, baselines: Baselines::new(cfg, intel.clone()) })
}

impl CompiledTuning {
    /// The baselines with this tenant's thresholds.
    pub fn baselines(&self) -> &Baselines {
        &self.baselines
    }

    /// The hits of `event` that remain, with their levels overridden.
    pub fn apply(&self, event: &Value, hits: Vec<Hit>) -> Vec<Hit> {
        if hits.is_empty() {
            return hits;
        }
        let t = &self.tuning;
        let json = JsonEvent::borrow(event);
        let mut held: Option<Vec<bool>> = None;
        hits.into_iter()
            .filter(|h| {
                let id = h.rule_id.as_deref().unwrap_or_default();
                if t.disabled_rules.iter().any(|d| d == id || *d == h.title) {
                    return false;
                }
                let baseline = id.starts_with(RULE_PREFIX);
                if t.disabled_groups.iter().any(|g| h.tags.contains(g) || (baseline && g == "baseline")) {
                    return false;
                }
                // Filters are evaluated once per event, and only when a hit needs them.
                let holds = held.get_or_insert_with(|| {
                    self.filters.iter().map(|f| evaluate_rule(&f.compiled, &json).is_some()).collect()
                });
                self.filters.iter().zip(holds.iter()).all(|(f, &holds)| {
                    let applies = f.rules.as_ref().is_none_or(|ids| ids.iter().any(|r| r == id || *r == h.title));
                    !applies || holds
                })
            })
            .map(|mut h| {
                if let Some(level) = h.rule_id.as_ref().and_then(|id| t.severity.get(id)) {
                    h.level.clone_from(level);
                }
                h
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &str = "title: Whoami\nid: 11111111-0000-4000-8000-000000000001\nlogsource: {product: windows}\ntags: [attack.discovery]\nlevel: medium\ndetection:\n  s:\n    Image|endswith: whoami.exe\n  condition: s\n---\ntitle: Net\nid: 11111111-0000-4000-8000-000000000002\nlogsource: {product: windows}\nlevel: low\ndetection:\n  s:\n    Image|endswith: net.exe\n  condition: s\n";

    fn hits(event: &Value) -> Vec<Hit> {
        let (rules, report) = crate::RuleSet::from_yaml(RULES);
        assert!(report.is_clean(), "{:?}", report.failures);
        crate::Hunter::new(&rules).expect("hunter").process(event)
    }

    fn compiled(t: &Tuning) -> CompiledTuning {
        compile(t, &BaselineConfig::builtin(), &ThreatIntel::default()).expect("compiles")
    }

    #[test]
    fn disabled_rules_groups_and_severity_overrides() {
        let ev = json!({"Channel": "Security", "Image": "C:\\who\\whoami.exe", "Computer": "WS1"});
        assert_eq!(hits(&ev).len(), 1);
        let none = compiled(&Tuning::default());
        assert_eq!(none.apply(&ev, hits(&ev)), hits(&ev), "an empty tuning changes nothing");
        let off = compiled(&Tuning {
            disabled_rules: vec!["11111111-0000-4000-8000-000000000001".into()],
            ..Tuning::default()
        });
        assert!(off.apply(&ev, hits(&ev)).is_empty());
        let group = compiled(&Tuning { disabled_groups: vec!["attack.discovery".into()], ..Tuning::default() });
        assert!(group.apply(&ev, hits(&ev)).is_empty());
        let sev = compiled(&Tuning {
            severity: [("11111111-0000-4000-8000-000000000001".to_owned(), "critical".to_owned())].into(),
            ..Tuning::default()
        });
        assert_eq!(sev.apply(&ev, hits(&ev))[0].level, "critical");
        let baseline_hit = Hit {
            rule_id: Some(format!("{RULE_PREFIX}new_value")),
            title: "First country".into(),
            level: "low".into(),
            kind: "baseline",
            tags: vec![],
            source: None,
            timestamp: None,
            matched: vec![],
            unchecked: vec![],
        };
        let quiet = compiled(&Tuning { disabled_groups: vec!["baseline".into()], ..Tuning::default() });
        assert!(quiet.apply(&ev, vec![baseline_hit]).is_empty());
    }

    #[test]
    fn sigma_filters_are_exceptions_for_the_rules_they_name() {
        let scanner = "title: Not from the vulnerability scanner\nlogsource: {product: windows}\nfilter:\n  rules:\n    - 11111111-0000-4000-8000-000000000001\n  scanner:\n    Computer|startswith: 'SCAN-'\n  condition: not scanner\n";
        let t = compiled(&Tuning { filters: vec![scanner.into()], ..Tuning::default() });
        let from_scanner = json!({"Channel": "Security", "Image": "C:\\whoami.exe", "Computer": "SCAN-01"});
        let from_ws = json!({"Channel": "Security", "Image": "C:\\whoami.exe", "Computer": "WS1"});
        assert!(t.apply(&from_scanner, hits(&from_scanner)).is_empty(), "the scanner's whoami is expected");
        assert_eq!(t.apply(&from_ws, hits(&from_ws)).len(), 1);
        // The filter names only the whoami rule: the scanner's net.exe still alerts.
        let net = json!({"Channel": "Security", "Image": "C:\\net.exe", "Computer": "SCAN-01"});
        assert_eq!(t.apply(&net, hits(&net)).len(), 1);
        // A filter naming no rule applies to all.
        let all = scanner.replace("  rules:\n    - 11111111-0000-4000-8000-000000000001\n", "");
        let t = compiled(&Tuning { filters: vec![all], ..Tuning::default() });
        assert!(t.apply(&net, hits(&net)).is_empty());
    }

    #[test]
    fn bad_tuning_is_refused_with_the_place() {
        let base = BaselineConfig::builtin();
        let intel = ThreatIntel::default();
        let err = |t: Tuning| compile(&t, &base, &intel).expect_err("refused").to_string();
        assert!(err(Tuning { severity: [("x".into(), "urgent".into())].into(), ..Tuning::default() })
            .starts_with("severity.x: \"urgent\" is not one of"));
        assert!(err(Tuning { filters: vec!["title: x\n".into()], ..Tuning::default() }).starts_with("filters[0]:"));
        assert!(err(Tuning { filters: vec![RULES.into()], ..Tuning::default() }).contains("exactly one Sigma filter"));
        let zero = Tuning {
            baselines: BaselineOverrides { risk_threshold: Some(0), ..Default::default() },
            ..Tuning::default()
        };
        assert_eq!(err(zero), "baselines.risk_threshold: must be at least 1");
        let bad = Tuning { disabled_rules: vec![" ".into()], ..Tuning::default() };
        assert_eq!(
            compile(&bad, &base, &intel).expect_err("refused"),
            DetectError::setting("disabled_rules[0]", "must not be empty")
        );
        let t = Tuning {
            baselines: BaselineOverrides { risk_threshold: Some(10), ..Default::default() },
            ..Tuning::default()
        };
        assert_eq!(compile(&t, &base, &intel).expect("ok").baselines().config().risk.threshold, 10);
        assert!(serde_json::from_value::<Tuning>(json!({"disabled": []})).is_err(), "unknown fields are refused");
    }
}
