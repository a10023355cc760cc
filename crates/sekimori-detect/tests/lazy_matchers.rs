//! The vendored rsigma-eval compiles regular expressions when first matched
//! (`vendor/rsigma-eval/src/lazy.rs`): its syntax errors are the `regex` crate's, at
//! load, and it matches as the compiled expression does.

use rsigma_eval::lazy::{Regex, RegexSet};

#[test]
fn syntax_errors_are_those_of_the_regex_crate_and_come_at_load() {
    for bad in ["(", "a{2,1}", "[z-a]", "\\p{NoSuchClass}", "(?P<x>a)(?P<x>b)", "(?-u)\\xFF"] {
        let ours = Regex::new(bad).expect_err("an error").to_string();
        let theirs = regex::Regex::new(bad).expect_err("an error").to_string();
        assert_eq!(ours, theirs, "{bad}");
    }
    // Built at run time: clippy refuses a bad expression written as a literal.
    let bad = ["a{2", "1}"].join(",");
    // A rule with a bad expression still fails to load, with the regex crate's message.
    let (set, report) = sekimori_detect::RuleSet::from_yaml(
        "title: bad\nlogsource:\n  product: test\ndetection:\n  sel:\n    Field|re: 'a{2,1}'\n  condition: sel\n",
    );
    assert_eq!(report.detections, 0, "{set:?}");
    assert_eq!(report.failures.len(), 1);
    assert!(
        report.failures[0].reason.contains(&regex::Regex::new(&bad).expect_err("an error").to_string()),
        "{:?}",
        report.failures
    );
}

#[test]
fn matches_as_the_compiled_expression_does() {
    let re = Regex::new("(?i)^c:\\\\windows\\\\.*\\.exe$").expect("ok");
    let clone = re.clone();
    assert!(clone.is_match("C:\\Windows\\System32\\cmd.EXE"));
    assert!(!re.is_match("D:\\Windows\\cmd.exe"));
    assert!(re.compile_error().is_none());
    let set = RegexSet::of(vec![Regex::new("a+b").expect("ok"), Regex::new("^x").expect("ok")]);
    assert_eq!(set.patterns(), ["a+b", "^x"]);
    assert!(set.is_match("xyz") && set.is_match("caab") && !set.is_match("yz"));
    assert!(set.all_match("xaab") && !set.all_match("aab"));
}

#[test]
fn an_expression_too_big_to_compile_fails_when_first_matched_and_matches_nothing() {
    // Parses, but its compiled form exceeds the regex crate's size limit.
    let pattern = "\\w{1000}\\w{1000}\\w{1000}";
    assert!(regex::Regex::new(pattern).is_err());
    let re = Regex::new(pattern).expect("ok");
    assert!(!re.is_match(&"a".repeat(3000)));
    assert!(matches!(re.compile_error(), Some(regex::Error::CompiledTooBig(_))));
    // A set that cannot be built falls back to its members one by one, as upstream kept them.
    let set = RegexSet::of(vec![Regex::new(pattern).expect("ok"), Regex::new("^x").expect("ok")]);
    assert!(set.is_match("xyz") && !set.is_match("yz"));
}

#[test]
fn a_contains_group_is_searched_as_its_needles_are() {
    use rsigma_eval::lazy::AhoCorasick;
    let needles: Vec<String> =
        ["mimikatz", "sekurlsa", "lsadump", "kerberos::", "privilege::debug"].iter().map(|s| (*s).to_owned()).collect();
    let ac = AhoCorasick::of(needles.clone());
    for haystack in ["run privilege::debug now", "nothing here", "SEKURLSA", "xlsadumpx", ""] {
        assert_eq!(ac.is_match(haystack), needles.iter().any(|n| haystack.contains(n.as_str())), "{haystack}");
    }
    // A rule with a group of eight or more `contains` values fires through it.
    let values: String = (0..12).map(|i| format!("      - 'needle{i}'\n")).collect();
    let (set, report) = sekimori_detect::RuleSet::from_yaml(&format!(
        "title: group\nid: 00000000-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel:\n    Field|contains:\n{values}  condition: sel\n"
    ));
    assert!(report.is_clean(), "{:?}", report.failures);
    let mut hunter = sekimori_detect::Hunter::new(&set).expect("ok");
    assert_eq!(hunter.process(&serde_json::json!({"Field": "a NEEDLE11 b"})).len(), 1);
    assert!(hunter.process(&serde_json::json!({"Field": "needle"})).is_empty());
}
