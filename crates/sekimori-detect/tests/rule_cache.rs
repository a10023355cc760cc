//! The rule cache of `hunt` (`crates/sekimori-detect/src/rule_cache.rs`): the same rules
//! and hits with it as without; a changed file is parsed again and the cache rewritten with
//! exactly the current files; a cache that is damaged, another version's, or cannot be
//! written costs time only.

use std::path::{Path, PathBuf};

use sekimori_detect::input::read_events;
use sekimori_detect::{Hunter, RuleCache, RuleSet};

fn sigma() -> PathBuf {
    match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let p = entry.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// Every hit of `rules` on every Windows regression event, as JSON.
fn hits(rules: &RuleSet) -> Vec<serde_json::Value> {
    let mut hunter = Hunter::new(rules).expect("ok");
    let mut files = Vec::new();
    json_files(&sigma().join("regression_data/rules/windows"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for e in read_events(&f).expect("ok").events {
            out.extend(hunter.process(&e).iter().map(|h| serde_json::to_value(h).expect("ok")));
        }
    }
    out
}

#[test]
fn sigmahq_rules_through_the_cache_give_the_same_set_and_hits() {
    let dir = tempfile::tempdir().expect("ok");
    let paths = [sigma().join("rules/windows"), sigma().join("rules-threat-hunting")];
    let (plain, plain_report) = RuleSet::load(&paths);
    let (first, first_report, cached) = RuleSet::load_cached(&paths, &RuleCache::open(dir.path(), &paths));
    assert_eq!((cached.hits, cached.written, cached.error.is_none()), (0, true, true));
    assert_eq!(cached.parsed, plain_report.files);
    let (second, second_report, cached) = RuleSet::load_cached(&paths, &RuleCache::open(dir.path(), &paths));
    assert_eq!((cached.hits, cached.parsed, cached.written), (plain_report.files, 0, false));
    for report in [&first_report, &second_report] {
        assert_eq!(
            (report.files, report.detections, report.correlations, report.filters, &report.failures),
            (
                plain_report.files,
                plain_report.detections,
                plain_report.correlations,
                plain_report.filters,
                &plain_report.failures
            )
        );
    }
    let expected = hits(&plain);
    assert!(expected.len() > 100, "{} hits", expected.len());
    assert_eq!(hits(&first), expected);
    assert_eq!(hits(&second), expected);
}

fn rule(title: &str, value: &str) -> String {
    format!("title: {title}\nlogsource:\n  product: test\ndetection:\n  sel:\n    Field: '{value}'\n  condition: sel\n")
}

#[test]
fn a_changed_file_is_parsed_again_and_damage_costs_time_only() {
    let rules = tempfile::tempdir().expect("ok");
    let cache_root = tempfile::tempdir().expect("ok");
    let cache_dir = cache_root.path().join("sekimori");
    for (name, value) in [("a.yml", "a"), ("b.yml", "b"), ("c.yml", "c")] {
        std::fs::write(rules.path().join(name), rule(name, value)).expect("ok");
    }
    let paths = [rules.path()];
    let load = || RuleSet::load_cached(&paths, &RuleCache::open(&cache_dir, &paths));
    let fires = |set: &RuleSet, value: &str| {
        Hunter::new(set).expect("ok").process(&serde_json::json!({ "Field": value })).len()
    };
    let (_, _, cached) = load();
    assert_eq!((cached.hits, cached.parsed, cached.written), (0, 3, true));
    let cache_file = std::fs::read_dir(&cache_dir).expect("ok").flatten().map(|e| e.path()).collect::<Vec<_>>();
    assert_eq!(cache_file.len(), 1, "one cache file, no temporary left: {cache_file:?}");
    let cache_file = cache_file[0].clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache_dir).expect("ok").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the cache folder is the user's alone when Sekimori creates it");
    }

    // A changed file is parsed again; the cache then holds exactly the three current files.
    std::fs::write(rules.path().join("b.yml"), rule("b.yml", "B2")).expect("ok");
    let (set, _, cached) = load();
    assert_eq!((cached.hits, cached.parsed, cached.written), (2, 1, true));
    assert_eq!((fires(&set, "B2"), fires(&set, "b")), (1, 0));
    let entries = std::fs::read_to_string(&cache_file).expect("ok").lines().count() - 1;
    assert_eq!(entries, 3);
    // A removed file's entry goes.
    std::fs::remove_file(rules.path().join("c.yml")).expect("ok");
    let (_, report, cached) = load();
    assert_eq!((report.files, cached.hits, cached.parsed, cached.written), (2, 2, 0, true));
    assert_eq!(std::fs::read_to_string(&cache_file).expect("ok").lines().count() - 1, 2);

    // A damaged entry is parsed again; a damaged or another version's cache is ignored.
    let text = std::fs::read_to_string(&cache_file).expect("ok");
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = &lines[1][..lines[1].len() / 2].to_owned();
    lines[1] = cut;
    std::fs::write(&cache_file, lines.join("\n")).expect("ok");
    let (set, report, cached) = load();
    assert_eq!((cached.hits, cached.parsed, cached.written), (1, 1, true));
    assert!(report.is_clean() && fires(&set, "a") == 1 && fires(&set, "B2") == 1);
    for damage in ["not a cache\n", "sekimori-rule-cache\t999\t0.0.0\n", ""] {
        std::fs::write(&cache_file, damage).expect("ok");
        let (set, _, cached) = load();
        assert_eq!(
            (cached.hits, cached.parsed, cached.written, cached.error.is_none()),
            (0, 2, true, true),
            "{damage:?}"
        );
        assert_eq!(fires(&set, "a"), 1);
    }

    // A cache that cannot be written: the rules load, and the report says why.
    #[cfg(unix)]
    {
        let blocked = cache_root.path().join("file-not-folder");
        std::fs::write(&blocked, "x").expect("ok");
        let (set, report, cached) = RuleSet::load_cached(&paths, &RuleCache::open(&blocked, &paths));
        assert!(report.is_clean() && fires(&set, "a") == 1);
        assert!(!cached.written);
        assert!(
            cached.error.as_ref().is_some_and(|e| matches!(e, sekimori_detect::rule_cache::CacheError::Write { .. })
                && e.to_string().contains("cannot write the rule cache")),
            "{cached:?}"
        );
    }
}
