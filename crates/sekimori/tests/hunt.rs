//! `sekimori hunt` and `sekimori rules check`, run as a user would, on the SigmaHQ rules
//! and regression events shipped in `../shared/data/sigma` (or `SEKIMORI_SIGMA_DATA`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

fn sigma() -> PathBuf {
    let dir = match std::env::var_os("SEKIMORI_SIGMA_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
    };
    assert!(dir.is_dir(), "Sigma data not found at {}", dir.display());
    dir
}

fn hunt(args: &[&str]) -> (String, String, Option<i32>) {
    // The rule cache goes to a folder of this test run's, not the user's.
    let cache = std::env::temp_dir().join(format!("sekimori-hunt-tests-{}", std::process::id()));
    let out =
        Command::new(BIN).env("XDG_CACHE_HOME", cache).arg("hunt").args(args).output().expect("run sekimori hunt");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// What `hunt` prints as JSON lines for `log` on `threads` threads; it must succeed.
fn hunt_jsonl(rules: &Path, threads: &str, log: &Path) -> String {
    let (stdout, stderr, code) = hunt(&[
        "--rules",
        rules.to_str().expect("utf-8"),
        "--threads",
        threads,
        "--format",
        "jsonl",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
}

#[test]
fn hunt_finds_each_regression_case_rule_in_its_own_file() {
    let data = sigma();
    let rules = data.join("rules/windows/registry/registry_set");
    let logs = data.join("regression_data/rules/windows/registry/registry_set");
    let (stdout, stderr, code) =
        hunt(&["--rules", rules.to_str().expect("utf-8"), "--format", "jsonl", logs.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    let hits: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert!(stderr.contains("hits"), "summary on stderr: {stderr}");

    // Every case folder names its rule in info.yml; that rule must have fired on that folder's file.
    let mut cases = 0;
    for entry in std::fs::read_dir(&logs).expect("list").flatten() {
        let info = std::fs::read_to_string(entry.path().join("info.yml")).expect("info.yml");
        let id =
            info.lines().find_map(|l| l.trim().strip_prefix("- id: ")).expect("rule id in info.yml").trim().to_owned();
        let folder = entry.path().to_string_lossy().into_owned();
        let found = hits
            .iter()
            .any(|h| h["rule_id"] == id.as_str() && h["source"].as_str().is_some_and(|s| s.starts_with(&folder)));
        assert!(found, "rule {id} did not fire on {folder}");
        cases += 1;
    }
    assert!(cases >= 20, "registry_set has {cases} cases");
    for h in &hits {
        for key in ["rule_id", "title", "level", "source"] {
            assert!(h[key].is_string(), "{key} missing in {h}");
        }
    }
}

#[test]
fn hunt_formats_csv_json_and_table() {
    let data = sigma();
    let case =
        data.join("regression_data/rules/windows/registry/registry_set/registry_set_disable_administrative_share");
    let rule = data.join("rules/windows/registry/registry_set/registry_set_disable_administrative_share.yml");
    let args = |f: &'static str| {
        vec!["--rules".to_owned(), rule.display().to_string(), "--format".into(), f.into(), case.display().to_string()]
    };
    let run = |f| {
        let a = args(f);
        hunt(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (json, _, code) = run("json");
    assert_eq!(code, Some(0));
    let hits: Vec<Value> = serde_json::from_str(&json).expect("a JSON array");
    assert_eq!(hits.len(), 2, "both registry writes match: {json}");
    assert!(hits
        .iter()
        .all(|h| h["title"] == "Disable Administrative Share Creation at Startup" && h["level"] == "medium"));
    assert!(hits[0]["matched"].as_array().is_some_and(|m| m.iter().any(|v| v == "Details=DWORD (0x00000000)")));

    let (csv, _, _) = run("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("timestamp,level,rule_id,title,kind,source,tags,matched,unchecked"));
    assert_eq!(lines.filter(|l| l.contains("c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e")).count(), 2);

    let (table, _, _) = run("table");
    assert!(table.contains("Disable Administrative Share Creation at Startup"));
    assert!(table.trim_end().ends_with("2 hits from 1 rules"), "{table}");
}

#[test]
fn hunt_reports_bad_input_and_refuses_no_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = dir.path().join("whoami.yml");
    std::fs::write(
        &rule,
        "title: Whoami\nid: 5f2c0000-0000-4000-8000-000000000001\nlevel: low\nlogsource: {category: process_creation}\n\
         detection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n",
    )
    .expect("write rule");
    let logs = dir.path().join("events.ndjson");
    std::fs::write(&logs, "{\"CommandLine\": \"cmd /c whoami\"}\nnot json\n{\"CommandLine\": \"WHOAMI /all\"}\n")
        .expect("write");
    let (stdout, stderr, code) =
        hunt(&["--rules", rule.to_str().expect("utf-8"), "--format", "jsonl", logs.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "case-insensitive contains matches both: {stdout}");
    assert!(stderr.contains("malformed") && stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("1 malformed"), "{stderr}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let (_, stderr, code) = hunt(&["--rules", empty.to_str().expect("utf-8"), logs.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no detection rules loaded"), "{stderr}");

    // Nothing read (a path that does not exist, a folder without logs): not a clean run.
    for nothing in [dir.path().join("no-such-file.json"), empty.clone()] {
        // Not even the CSV header, which a CSV hunt writes before its first hit.
        for format in ["table", "csv", "jsonl"] {
            let (stdout, stderr, code) =
                hunt(&["--rules", rule.to_str().expect("utf-8"), "--format", format, nothing.to_str().expect("utf-8")]);
            assert_eq!(code, Some(2), "{stderr}");
            assert!(stderr.contains("nothing was read"), "{stderr}");
            assert!(stdout.is_empty(), "{format}: {stdout}");
        }
    }

    // A huge matching value is repeated in `matched` only up to a cut, with a marker.
    let big = dir.path().join("big.ndjson");
    std::fs::write(&big, format!("{{\"CommandLine\": \"whoami {}\"}}\n", "x".repeat(200_000))).expect("write");
    let (stdout, stderr, code) =
        hunt(&["--rules", rule.to_str().expect("utf-8"), "--format", "jsonl", big.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    let hit: Value = serde_json::from_str(stdout.lines().next().expect("a hit")).expect("json");
    let matched = hit["matched"][0].as_str().expect("matched");
    assert!(matched.len() < 2_000 && matched.ends_with("[cut; 200007 chars]"), "{}", &matched[matched.len() - 40..]);
}

#[test]
fn rules_check_names_every_rule_that_does_not_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("ok.yml"),
        "title: Fine\nlogsource: {product: linux}\ndetection:\n  sel:\n    a: b\n  condition: sel\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("undefined.yml"),
        "title: Undefined selection\nlogsource: {product: linux}\ndetection:\n  sel:\n    a: b\n  condition: sel and other\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("yaml.yml"), "title: [unclosed\n").expect("write");
    std::fs::write(
        dir.path().join("corr.yml"),
        "title: Many\ncorrelation:\n  type: event_count\n  rules: [no-such-rule]\n  timespan: 5m\n  condition: {gte: 3}\n",
    )
    .expect("write");
    let out = Command::new(BIN).args(["rules", "check"]).arg(dir.path()).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("undefined.yml: Undefined selection: unknown detection identifier: other"), "{text}");
    assert!(text.contains("yaml.yml: YAML parse error"), "{text}");
    assert!(text.contains("corr.yml: Many: correlation refers to rule `no-such-rule`"), "{text}");
    assert!(text.contains("1 detection, 0 correlation and 0 filter rules loaded from 4 files; 3 not loaded"), "{text}");

    let ok = Command::new(BIN).args(["rules", "check"]).arg(sigma().join("rules/cloud")).output().expect("run");
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
}

#[test]
fn hunt_reads_windows_evtx_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sekimori-detect/tests/data/evtx/Security_short_selected.evtx");
    std::fs::copy(&sample, dir.path().join("Security.evtx")).expect("copy");
    std::fs::write(dir.path().join("export.evtx"), "{\"EventID\": 4625}\n").expect("write");
    let rules = sigma().join("rules/windows/builtin/security");
    let (stdout, stderr, code) =
        hunt(&["--rules", rules.to_str().expect("utf-8"), "--format", "jsonl", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    let hits: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(hits.len(), 1, "{stdout}");
    assert_eq!(hits[0]["title"], "Failed Logon From Public IP");
    assert_eq!(hits[0]["level"], "medium");
    assert_eq!(hits[0]["timestamp"], "2016-06-29T15:24:36.686000Z");
    assert!(hits[0]["source"].as_str().is_some_and(|s| s.ends_with("Security.evtx")), "{}", hits[0]);
    assert!(stderr.contains("export.evtx: not an EVTX file: it does not start with the EVTX signature"), "{stderr}");
    assert!(stderr.contains("7 events from 1 files (1 unreadable"), "{stderr}");
}

#[test]
fn hunt_prints_the_same_with_and_without_the_rule_cache() {
    let data = sigma();
    let rules = data.join("rules/windows");
    let evtx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sekimori-detect/tests/data/evtx");
    let logs = [data.join("regression_data/rules/windows"), evtx];
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let run = |cache_args: &[&str]| {
        let mut args = vec!["--rules", rules.to_str().expect("utf-8"), "--format", "jsonl"];
        args.extend_from_slice(cache_args);
        args.extend(logs.iter().map(|f| f.to_str().expect("utf-8")));
        let (stdout, stderr, code) = hunt(&args);
        assert_eq!(code, Some(0), "{stderr}");
        (stdout, stderr)
    };
    let plain = run(&["--no-rule-cache"]);
    assert!(plain.0.lines().count() > 200, "{}", plain.0);
    let cache_arg = ["--rule-cache", cache.to_str().expect("utf-8")];
    assert_eq!(run(&cache_arg), plain, "the run that fills the cache");
    let written: Vec<_> = std::fs::read_dir(&cache).expect("the cache folder").flatten().collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(run(&cache_arg), plain, "the run that reads it");
    // A cache that cannot be written: the same hits, and a warning.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "x").expect("write");
    let (stdout, stderr) = run(&["--rule-cache", blocked.to_str().expect("utf-8")]);
    assert_eq!(stdout, plain.0);
    assert!(stderr.contains("warning: cannot write the rule cache"), "{stderr}");
    assert!(stderr.ends_with(&plain.1), "{stderr}");
}

#[test]
fn hunt_on_several_threads_prints_what_one_thread_prints() {
    // Every Windows regression event in one NDJSON file, forty times over (the copies are
    // answered by the detection memo): more than one batch of 8,192, each split between
    // threads.
    let data = sigma();
    let mut files: Vec<PathBuf> = sekimori_detect::log_files(&[data.join("regression_data/rules/windows")])
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for f in &files {
        lines.extend(sekimori_detect::read_events(f).expect("read").events.iter().map(Value::to_string));
    }
    assert!(lines.len() > 200, "{} events", lines.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("all.ndjson");
    let text = lines.join("\n");
    std::fs::write(&log, vec![text.as_str(); 40].join("\n")).expect("write");
    let rules = data.join("rules/windows");
    // The whole output, matched values included (they are sorted, so the same in every
    // process).
    let run = |threads: &str| hunt_jsonl(&rules, threads, &log).lines().map(str::to_owned).collect::<Vec<_>>();
    let one = run("1");
    assert!(one.len() > 40 * 200, "{} hits", one.len());
    assert_eq!(run("3"), one, "the same hits in the same order");

    // Many files (each regression event in its own, and the EVTX samples): read and judged
    // several at once, printed in the files' order.
    let evtx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sekimori-detect/tests/data/evtx");
    let folders = [data.join("regression_data/rules/windows"), evtx];
    let run = |threads: &str| {
        let mut args = vec!["--rules", rules.to_str().expect("utf-8"), "--threads", threads, "--format", "jsonl"];
        args.extend(folders.iter().map(|f| f.to_str().expect("utf-8")));
        let (stdout, stderr, code) = hunt(&args);
        assert_eq!(code, Some(0), "{stderr}");
        (stdout, stderr)
    };
    let (one, summary) = run("1");
    assert!(one.lines().count() > 200, "{one}");
    for threads in ["2", "5"] {
        assert_eq!(run(threads), (one.clone(), summary.clone()), "{threads} threads");
    }
}

#[test]
fn hunt_places_logs_it_cannot_place_as_declared() {
    let data = sigma();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("traffic.ndjson");
    std::fs::write(
        &log,
        "{\"src_ip\": \"10.0.0.30\", \"dst_ip\": \"198.51.100.30\", \"dst_port\": 23, \"action\": \"accept\"}\n",
    )
    .expect("write");
    let (firewall, zeek) = (data.join("rules/network/firewall"), data.join("rules/network/zeek"));
    let run = |extra: &[&str]| {
        let mut args = vec!["--rules", firewall.to_str().expect("utf-8"), "--rules", zeek.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        args.extend(["--format", "jsonl", log.to_str().expect("utf-8")]);
        let (stdout, stderr, code) = hunt(&args);
        assert_eq!(code, Some(0), "{stderr}");
        let mut titles: Vec<String> = stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("a JSON line")["title"].as_str().expect("title").to_owned()
            })
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(run(&["--logsource", "category=firewall"]), ["Cleartext Protocol Usage"]);
    // Undeclared, every rule runs on it, SigmaHQ's `not selection` Zeek RDP rule too.
    assert_eq!(run(&[]), ["Cleartext Protocol Usage", "Publicly Accessible RDP Service"]);
    for bad in ["category=Fire Wall", "vendor=x", "category"] {
        let (_, stderr, code) =
            hunt(&["--rules", firewall.to_str().expect("utf-8"), "--logsource", bad, log.to_str().expect("utf-8")]);
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--logsource"), "{bad}: {stderr}");
    }
}

/// Hits on built-in Windows events given Sysmon's names (Security 4688 as process creation)
/// are named in the summary, so an analyst knows which rules judged mapped events, and those
/// whose filters could not be checked are marked
/// (DeepBlueCLI's sample, see crates/sekimori-detect/tests/data/evtx/README.md).
#[test]
fn the_summary_names_the_rules_that_fired_on_mapped_events() {
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sekimori-detect/tests/data/evtx/psattack-security.evtx");
    let rules = sigma().join("rules/windows");
    let (stdout, stderr, code) =
        hunt(&["--rules", rules.to_str().expect("utf-8"), "--format", "jsonl", log.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert!(
        stderr.contains(
            "4 hits on built-in events mapped to Sysmon's field names (docs/detection.md): Dynamic .NET Compilation Via Csc.EXE (4)"
        ),
        "{stderr}"
    );
    // The rule's filters read the parent's image and command line, which these 4688s lack.
    assert!(
        stderr.contains(
            "4 of them unchecked, a filter naming [fields] those events do not record (docs/detection.md): Dynamic .NET Compilation Via Csc.EXE [ParentCommandLine, ParentImage] (4)"
        ),
        "{stderr}"
    );
    let csc: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|h| h["title"] == "Dynamic .NET Compilation Via Csc.EXE")
        .collect();
    assert_eq!(csc.len(), 4);
    assert!(csc.iter().all(|h| h["unchecked"] == serde_json::json!(["ParentCommandLine", "ParentImage"])), "{csc:?}");
    assert!(!stderr.contains("undecided"), "only when asked for: {stderr}");

    // Asked for, the rules those events could not decide are counted, with the hits unchanged.
    let (again, stderr, code) = hunt(&[
        "--rules",
        rules.to_str().expect("utf-8"),
        "--format",
        "jsonl",
        "--undecided",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!((code, again), (Some(0), stdout), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("undecided")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("rules undecided on") && line.contains("OriginalFileName ("), "{line}");
    assert!(line.contains("by field: ") && line.contains("most often: "), "{line}");
}

#[test]
fn hunt_correlates_events_in_the_dumpers_layout_on_any_thread_count() {
    // Failed logons in the `evtx` dumper's nested layout, one per line (read straight into
    // the flat layout), enough lines to be shared between threads; an event count
    // correlation over them reads every event, in order, on one thread.
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(
        rules.join("failed.yml"),
        "title: Failed logon\nid: 0f1b6c3e-3c1a-4c36-9a0e-2f4f1c9d7a01\nname: failed_logon\nstatus: test\n\
         logsource: {product: windows, service: security}\ndetection:\n  selection: {EventID: 4625}\n  condition: selection\nlevel: low\n",
    )
    .expect("write");
    std::fs::write(
        rules.join("many.yml"),
        "title: Many failed logons\nid: 6a0f3d52-93a5-4b5e-8f3e-7e1f0c2b9d11\nstatus: test\ncorrelation:\n  type: event_count\n  \
         rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n",
    )
    .expect("write");
    let line = |i: usize, user: &str, id: u32| {
        format!(
            r##"{{"Event":{{"#attributes":{{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"}},"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Security-Auditing","Guid":"54849625-5478-4994-A5BA-3E3B0328C30D"}}}},"EventID":{id},"TimeCreated":{{"#attributes":{{"SystemTime":"2026-12-07T10:{:02}:{:02}.000000Z"}}}},"EventRecordID":{i},"Channel":"Security","Computer":"dc1"}},"EventData":{{"TargetUserName":"{user}","IpAddress":"10.0.0.{}","LogonType":3}}}}}}"##,
            i / 60,
            i % 60,
            i % 250
        )
    };
    // Ten users, each failing once every ten seconds; every fourth event a success.
    let text: Vec<String> =
        (0..600).map(|i| line(i, &format!("user{}", i % 10), if i % 4 == 3 { 4624 } else { 4625 })).collect();
    let log = dir.path().join("security.ndjson");
    std::fs::write(&log, text.join("\n")).expect("write");
    let run = |threads: &str| hunt_jsonl(&rules, threads, &log);
    let one = run("1");
    let hits: Vec<Value> = one.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let failed = hits.iter().filter(|h| h["title"] == "Failed logon").count();
    let many: Vec<&Value> = hits.iter().filter(|h| h["title"] == "Many failed logons").collect();
    assert_eq!(failed, 450, "{one}");
    assert!(!many.is_empty(), "{one}");
    // A correlation's hit carries the time of the event that completed it.
    assert!(many.iter().all(|h| h["timestamp"].as_str().is_some_and(|t| t.starts_with("2026-12-07T10:"))), "{many:?}");
    assert!(hits.iter().filter(|h| h["title"] == "Failed logon").all(|h| h["timestamp"].is_string()));
    for threads in ["2", "3"] {
        assert_eq!(run(threads), one, "{threads} threads");
    }
}
