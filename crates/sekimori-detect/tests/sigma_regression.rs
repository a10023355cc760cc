//! The conformance gate: the SigmaHQ rule sets and their regression events, as shipped
//! in `../shared/data/sigma` (or `SEKIMORI_SIGMA_DATA`). Each regression case names the
//! rule that must fire on its events. All rules are loaded into one hunter, as a user's
//! `sekimori hunt` would, and every event goes through it. Goal: all 202 cases; the gate
//! fails below 195. The data is required: a missing folder fails the test, never skips it.

use std::path::{Path, PathBuf};

use sekimori_detect::input::read_events;
use sekimori_detect::{Hunter, RuleSet};

fn data_dir() -> PathBuf {
    match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    }
}

/// Results with their selections and fields sorted.
fn canonical(results: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    results
        .into_iter()
        .map(|mut r| {
            for key in ["matched_selections", "matched_fields"] {
                if let Some(serde_json::Value::Array(a)) = r.get_mut(key) {
                    a.sort_by_cached_key(serde_json::Value::to_string);
                }
            }
            r
        })
        .collect()
}

fn info_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("list regression data").flatten() {
        let p = entry.path();
        if p.is_dir() {
            info_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

struct Case {
    dir: PathBuf,
    rule_id: String,
    match_count: Option<u64>,
}

fn case(info: &Path) -> Case {
    let text = std::fs::read_to_string(info).expect("read info.yml");
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("info.yml is YAML");
    let rule_id = doc["rule_metadata"][0]["id"].as_str().expect("rule id").to_owned();
    let match_count = doc["regression_tests_info"][0]["match_count"].as_u64();
    Case { dir: info.parent().expect("folder").to_owned(), rule_id, match_count }
}

#[test]
fn sigmahq_regression_events_fire_their_rules() {
    let data = data_dir();
    assert!(data.is_dir(), "Sigma data not found at {} (set SEKIMORI_SIGMA_DATA)", data.display());
    let (rules, report) =
        RuleSet::load(&[data.join("rules"), data.join("rules-emerging-threats"), data.join("rules-threat-hunting")]);
    println!(
        "loaded {} detection, {} correlation, {} filter rules from {} files; {} did not load",
        report.detections,
        report.correlations,
        report.filters,
        report.files,
        report.failures.len()
    );
    for f in &report.failures {
        println!("  not loaded: {} ({}): {}", f.path.display(), f.rule.as_deref().unwrap_or("-"), f.reason);
    }
    assert!(report.detections > 3000, "the SigmaHQ sets hold over 3,000 rules");
    let mut hunter = Hunter::new(&rules).expect("compile rules");

    let mut infos = Vec::new();
    info_files(&data.join("regression_data"), &mut infos);
    infos.sort();
    let (mut cases, mut fired, mut exact) = (0, 0, 0);
    for info in infos {
        let case = case(&info);
        let mut events = Vec::new();
        for entry in std::fs::read_dir(&case.dir).expect("list case").flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json") {
                let source = read_events(&p).expect("read events");
                assert!(source.malformed.is_empty(), "{}: {:?}", p.display(), source.malformed);
                events.extend(source.events);
            }
        }
        if events.is_empty() {
            println!("no events (the case ships only an .evtx): {}", case.dir.display());
            continue;
        }
        cases += 1;
        let hits: u64 = events
            .iter()
            .map(|e| hunter.process(e).iter().filter(|h| h.rule_id.as_deref() == Some(&case.rule_id)).count() as u64)
            .sum();
        if hits > 0 {
            fired += 1;
        } else {
            println!("MISS {} in {}", case.rule_id, case.dir.display());
        }
        if case.match_count.map_or(hits > 0, |n| n == hits) {
            exact += 1;
        } else {
            println!(
                "count {} in {}: {hits} hits, info.yml says {:?}",
                case.rule_id,
                case.dir.display(),
                case.match_count
            );
        }
    }
    println!("{fired} of {cases} regression cases fire their rule; {exact} with exactly the stated match_count");
    assert_eq!(cases, 202, "the shipped regression set has 202 cases with events");
    assert!(fired >= 195, "conformance gate: {fired} of {cases} cases fire their rule (at least 195 required)");
}

/// The memo of detections, the keyword gates and the literal sieves (all on by default)
/// change no result:
/// every regression event, a copy of each with its text values changed, a copy with
/// another event's command line, and a copy carrying one of Mimikatz's keywords (so the
/// keyword rule's gate opens), judged by all SigmaHQ rules with all three (twice, so the
/// second pass is remembered) and without any, give exactly the same hits (`matched` values
/// included), and every value a hit reports as matched is the judged event's own.
#[test]
fn the_detection_memo_keyword_gates_and_sieves_change_no_result() {
    let data = data_dir();
    let (rules, _) =
        RuleSet::load(&[data.join("rules"), data.join("rules-emerging-threats"), data.join("rules-threat-hunting")]);
    let memo = Hunter::new(&rules).expect("compile rules");
    let mut plain = Hunter::new(&rules).expect("compile rules");
    plain.set_memo(false);
    plain.set_keyword_gates(false);
    plain.set_sieves(false);

    let mut files = Vec::new();
    info_files(&data.join("regression_data"), &mut files);
    let mut events = Vec::new();
    for info in files {
        for entry in std::fs::read_dir(info.parent().expect("folder")).expect("list case").flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                events.extend(read_events(&entry.path()).expect("read events").events);
            }
        }
    }
    let changed: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(m) = e.as_object_mut() {
                for v in m.values_mut() {
                    if let Some(s) = v.as_str() {
                        *v = format!("{s} x").into();
                    }
                }
            }
            e
        })
        .collect();
    let swapped: Vec<serde_json::Value> = events
        .iter()
        .zip(events.iter().cycle().skip(1))
        .map(|(e, next)| {
            let mut e = e.clone();
            if let (Some(m), Some(cmd)) = (e.as_object_mut(), next.get("CommandLine")) {
                m.insert("CommandLine".into(), cmd.clone());
            }
            e
        })
        .collect();
    let keyed: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(m) = e.as_object_mut() {
                m.insert("Comment".into(), "ran Privilege::Debug then sekurlsa::logonpasswords".into());
            }
            e
        })
        .collect();
    let (mut judged, mut fired) = (0, 0);
    let rounds = [&events, &changed, &events, &swapped, &changed, &swapped, &keyed, &keyed];
    for (r, round) in rounds.into_iter().enumerate() {
        for (n, e) in round.iter().enumerate() {
            let (with, without) = (memo.detect(e), plain.detect(e));
            // Whole results: rule order, the selections that held, the fields matched
            // (sorted: each hunter's rule maps list selections in their own order).
            assert_eq!(canonical(with.to_json()), canonical(without.to_json()), "round {r} event {n}: {e}");
            let (with, without) = (Hunter::hits(with), Hunter::hits(without));
            let sorted = |mut hits: Vec<sekimori_detect::Hit>| {
                hits.sort_by(|a, b| (&a.rule_id, &a.title).cmp(&(&b.rule_id, &b.title)));
                hits
            };
            let (with, without) = (sorted(with), sorted(without));
            assert_eq!(with, without, "round {r} event {n}: {e}");
            for matched in with.iter().flat_map(|h| &h.matched) {
                let (field, value) = matched.split_once('=').expect("field=value");
                if let Some(own) = e.get(field) {
                    let own = own.as_str().map_or_else(|| own.to_string(), str::to_owned);
                    assert_eq!(own, value, "round {r} event {n}: {matched} is not this event's");
                }
            }
            if r >= 6 && e.get("Channel").is_some() && e.get("EventID") != Some(&serde_json::json!(15)) {
                assert!(with.iter().any(|h| h.title == "Mimikatz Use"), "round {r} event {n}: the gate opens");
            }
            judged += 1;
            fired += with.len();
        }
    }
    println!("{judged} events judged with and without the memo, gates and sieves, {fired} hits, identical");
    assert!(fired > 600, "the corpus fires rules ({fired} hits)");
}
