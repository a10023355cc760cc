//! An oracle independent of rsigma for the string modifiers: the Sigma specification's
//! meaning of `*` and `?` (a glob over characters, matched case-insensitively) and of
//! `contains`, `startswith` and `endswith` (a `*` on the open sides), checked against the
//! hunter over generated rules and values. The exactness tests compare with rsigma itself
//! and could not see rsigma putting the anchors on the wrong sides (ADR 0004).

use proptest::prelude::*;
use sekimori_detect::{Hunter, RuleSet};
use serde_json::json;

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one character).
fn glob(pattern: &[char], text: &[char]) -> bool {
    // match[i][j]: pattern[..i] matches text[..j]
    let mut m = vec![vec![false; text.len() + 1]; pattern.len() + 1];
    m[0][0] = true;
    for i in 1..=pattern.len() {
        for j in 0..=text.len() {
            m[i][j] = match pattern[i - 1] {
                '*' => m[i - 1][j] || (j > 0 && m[i][j - 1]),
                '?' => j > 0 && m[i - 1][j - 1],
                c => j > 0 && m[i - 1][j - 1] && text[j - 1] == c,
            };
        }
    }
    m[pattern.len()][text.len()]
}

fn oracle(modifier: &str, value: &str, text: &str) -> bool {
    let pattern = match modifier {
        "" => value.to_owned(),
        "startswith" => format!("{value}*"),
        "endswith" => format!("*{value}"),
        "contains" => format!("*{value}*"),
        other => unreachable!("{other}"),
    };
    let lower = |s: &str| s.to_lowercase().chars().collect::<Vec<_>>();
    glob(&lower(&pattern), &lower(text))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn the_hunter_agrees_with_the_specification(
        modifier in prop::sample::select(vec!["", "startswith", "endswith", "contains"]),
        value in "[abAB*?]{1,5}",
        texts in prop::collection::vec("[abAB]{0,7}", 1..8),
    ) {
        let key = if modifier.is_empty() { "F".to_owned() } else { format!("F|{modifier}") };
        let yaml = format!(
            "title: t\nlogsource: {{product: test}}\ndetection:\n  sel:\n    {key}: '{value}'\n  condition: sel\n"
        );
        let (rules, report) = RuleSet::from_yaml(&yaml);
        prop_assert!(report.is_clean(), "{:?}", report.failures);
        let mut hunter = Hunter::new(&rules).expect("compile");
        for text in &texts {
            let fired = !hunter.process(&json!({"F": text})).is_empty();
            prop_assert_eq!(fired, oracle(modifier, &value, text), "{} {:?} on {:?}", key, value, text);
        }
    }
}

#[test]
fn the_oracle_itself() {
    assert!(oracle("endswith", "1?", "0x10") && !oracle("endswith", "1?", "10x"));
    assert!(oracle("startswith", "1?", "10x") && !oracle("startswith", "1?", "0x10"));
    assert!(oracle("", "a*b", "aXXb") && !oracle("", "a*b", "aXXbc"));
    assert!(oracle("contains", "b?d", "abcde") && !oracle("contains", "b?d", "abde"));
}
