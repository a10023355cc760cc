//! The literal sieve (on by default) changes no result: rules exercising every kind of item
//! the sieve decides or leaves to rsigma (value lists, anchors, `all`, regular expressions
//! with and without required literals, numbers, `exists`, `null`, keywords, `cased`,
//! nested paths, non-ASCII text, the two characters whose lower case is ASCII, literals
//! longer than the automata's heads and sharing them), run
//! over generated events by a hunter with the sieve and one without, give the same
//! results (the selections that held and the fields matched) and hits. The SigmaHQ corpus is compared the same way in
//! `sigma_regression.rs`.

use proptest::prelude::*;
use sekimori_detect::{Hit, Hunter, RuleSet};
use serde_json::{json, Value};

const RULES: &str = r#"
title: lists and anchors
logsource: {product: test}
detection:
  sel:
    C|contains: ['whoami', '/add', ' ']
    I|endswith: ['\cmd.exe', '.exe']
  filter:
    I: 'c:\windows\system32\cmd.exe'
  condition: sel and not filter
---
title: all of a list
logsource: {product: test}
detection:
  sel:
    C|startswith|all: ['net', 'net user']
    C|contains|all: ['user', '/add']
  condition: sel
---
title: regular expressions
logsource: {product: test}
detection:
  with_literals:
    C|re|i: 'inv(oke)?-[a-z]+'
  alternatives:
    C|re: 'mimi|katz'
  without_literals:
    C|re: '^\d{3}-x'
  inside:
    I|re|i: '[a-z]+-x\s*(net|user)+\.exe'
  condition: with_literals or alternatives or without_literals or inside
---
title: numbers
logsource: {product: test}
detection:
  big:
    EventID: 4688
  small:
    EventID: 1
  greater:
    EventID|gt: 5000
  text:
    EventID|contains: '68'
  condition: 1 of them
---
title: non-ascii and case folding
logsource: {product: test}
detection:
  sel:
    U|contains: 'ärger'
  kelvin:
    U|startswith: 'k'
  dotted:
    U|endswith: 'i'
  exact:
    U: 'straße'
  condition: 1 of them
---
title: ascii literals only
logsource: {product: test}
detection:
  start:
    K|startswith: 'k'
  inside:
    K|contains: 'i'
  condition: start or inside
---
title: exists null and empty
logsource: {product: test}
detection:
  missing:
    X|exists: false
  nothing:
    N: null
  empty:
    E: ''
  empty_contains:
    E|contains: ''
  present:
    U|exists: true
  condition: missing and (nothing or empty or empty_contains or present)
---
title: counted selections
logsource: {product: test}
detection:
  sel_a:
    C|contains: 'net'
  sel_b:
    I|endswith: '.exe'
  sel_c:
    U|contains: 'x'
  condition: 2 of sel_* and not all of sel_*
---
title: keywords cased windash and paths
logsource: {product: test}
detection:
  keywords:
    - 'mimikatz'
  cased:
    C|contains|cased: 'Mimi'
  dash:
    C|windash|contains: '-enc'
  path:
    a.b|endswith: '.exe'
  condition: keywords or cased or dash or path
---
title: lists of maps and repeated names
logsource: {product: test}
detection:
  alts:
    - C|contains: 'whoami'
      I|endswith: '.exe'
    - U|contains: 'x'
    - C|startswith: 'net'
  also:
    I|endswith: '.exe'
  condition: (alts and also) or (also and not alts)
---
title: literals longer than the automaton's heads
logsource: {product: test}
detection:
  inside:
    H|contains:
      - 'imphash=0123456789abcdef'
      - 'imphash=0123456789abcdefff00'
      - 'imphash=0123456789abcdef99'
  start:
    H|startswith: 'md5=fedcba9876543210aa'
  end:
    H|endswith: 'md5=fedcba9876543210bb'
  whole:
    H: 'sha1=00112233445566778899'
  condition: 1 of them
---
title: two conditions
logsource: {product: test}
detection:
  first:
    C|contains: 'katz'
  second:
    U|contains: 'x'
  condition:
    - first
    - second
"#;

/// Results in full with their selections and fields sorted: each hunter compiles its own
/// rules, whose maps list selections in their own (random) order.
fn canonical(results: Vec<Value>) -> Vec<Value> {
    results
        .into_iter()
        .map(|mut r| {
            for key in ["matched_selections", "matched_fields"] {
                if let Some(Value::Array(a)) = r.get_mut(key) {
                    a.sort_by_cached_key(Value::to_string);
                }
            }
            r
        })
        .collect()
}

fn hunters() -> (Hunter, Hunter) {
    let (rules, report) = RuleSet::from_yaml(RULES);
    assert!(report.is_clean(), "{:?}", report.failures);
    let sieved = Hunter::new(&rules).expect("compile");
    let mut plain = Hunter::new(&rules).expect("compile");
    plain.set_sieves(false);
    plain.set_memo(false);
    (sieved, plain)
}

/// Hits in a stable order (rules fire in rule order either way; sorted to compare sets).
fn sorted(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by(|a, b| (&a.rule_id, &a.title, &a.matched).cmp(&(&b.rule_id, &b.title, &b.matched)));
    hits
}

const FRAGMENTS: &[&str] = &[
    "whoami",
    "/add",
    " ",
    "net",
    "net user",
    "user",
    "c:\\windows\\system32\\cmd.exe",
    "\\cmd.exe",
    ".exe",
    "Invoke-Mimikatz",
    "INV-x",
    "mimi",
    "Mimi",
    "katz",
    "123-x",
    "4688",
    "68",
    "-enc",
    "\u{2013}enc",
    "/enc",
    "ÄRGER",
    "ärger",
    "Straße",
    "STRASSE",
    "\u{212A}",
    "K",
    "\u{0130}",
    "I",
    "x",
    "",
    "IMPHASH=0123456789ABCDEF",
    "imphash=0123456789abcde",
    "ff00",
    "99",
    "md5=fedcba9876543210",
    "aa",
    "bb",
    "sha1=0011223344556677",
    "8899",
];

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..4).prop_map(|parts| parts.concat())
}

fn value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        6 => text().prop_map(|s| Some(Value::String(s))),
        1 => proptest::sample::select(vec![
            json!(4688),
            json!(1),
            json!(1.0000000000000002),
            json!(0.9999999999999999),
            json!(4688.0),
            json!(6000),
            json!(u64::MAX),
            json!(-5),
            json!(true),
            json!(null),
            json!(["whoami", "x.exe"]),
            json!({"b": "run.exe"}),
        ])
        .prop_map(Some),
        1 => proptest::sample::select(vec!["4688", "4688.0", "+4688", "1", "6001", "0x1250"]).prop_map(|s| Some(json!(s))),
    ]
}

fn event() -> impl Strategy<Value = Value> {
    proptest::collection::vec(value(), 10).prop_map(|values| {
        let mut m = serde_json::Map::new();
        for (name, v) in ["C", "I", "U", "X", "N", "E", "EventID", "a", "K", "H"].into_iter().zip(values) {
            if let Some(v) = v {
                m.insert(name.into(), v);
            }
        }
        Value::Object(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]
    #[test]
    fn the_sieve_changes_no_hit(events in proptest::collection::vec(event(), 1..8)) {
        static HUNTERS: std::sync::OnceLock<std::sync::Mutex<(Hunter, Hunter)>> = std::sync::OnceLock::new();
        let mut guard = HUNTERS.get_or_init(|| std::sync::Mutex::new(hunters())).lock().unwrap_or_else(|p| p.into_inner());
        let (sieved, plain) = &mut *guard;
        for e in &events {
            // Whole results (the selections that held and the fields matched, in order)...
            prop_assert_eq!(canonical(sieved.detect(e).to_json()), canonical(plain.detect(e).to_json()), "event {}", e);
            // ...and hits.
            let with = sorted(sieved.process(e));
            let without = sorted(plain.process(e));
            prop_assert_eq!(with, without, "event {}", e);
        }
    }
}

/// Events chosen so that every rule fires at least once and at least once does not: the
/// property above compares something.
#[test]
fn every_rule_fires_on_some_event() {
    let (mut sieved, mut plain) = hunters();
    let events = [
        json!({"C": "net user bob /add", "I": "C:\\Tools\\CMD.EXE", "X": 1}),
        json!({"C": "Invoke-Mimikatz", "U": "\u{212A}ärger"}),
        json!({"C": "123-x"}),
        json!({"I": "INV-x net.exe"}),
        json!({"K": "\u{212A}elvin"}),
        json!({"K": "\u{0130}"}),
        json!({"EventID": 4688}),
        json!({"EventID": "4688.0"}),
        json!({"EventID": 1}),
        json!({"EventID": 6000}),
        json!({"U": "STRASSE", "N": null}),
        json!({"U": "straße", "E": ""}),
        json!({"C": "powershell \u{2013}enc abc", "a": {"b": "RUN.EXE"}}),
        json!({"C": "net", "I": "a.exe", "U": "x"}),
        json!({"C": "net", "I": "a.exe", "U": "y", "X": "here"}),
        json!({"H": "SHA256=1,IMPHASH=0123456789ABCDEFFF00,MD5=2"}),
        json!({"H": "imphash=0123456789abcdeX"}),
        json!({"H": "md5=fedcba9876543210aa"}),
        json!({"H": "x,md5=fedcba9876543210bb"}),
        json!({"H": "md5=fedcba9876543210ab"}),
        json!({"H": "sha1=00112233445566778899"}),
        json!({"H": "sha1=0011223344556677889"}),
    ];
    let mut titles = std::collections::BTreeSet::new();
    for e in &events {
        assert_eq!(canonical(sieved.detect(e).to_json()), canonical(plain.detect(e).to_json()), "event {e}");
        let with = sorted(sieved.process(e));
        assert_eq!(with, sorted(plain.process(e)), "event {e}");
        titles.extend(with.into_iter().map(|h| h.title));
    }
    let expected = [
        "all of a list",
        "ascii literals only",
        "counted selections",
        "exists null and empty",
        "keywords cased windash and paths",
        "lists and anchors",
        "lists of maps and repeated names",
        "literals longer than the automaton's heads",
        "non-ascii and case folding",
        "numbers",
        "regular expressions",
        "two conditions",
    ];
    assert_eq!(titles.into_iter().collect::<Vec<_>>(), expected);
}
