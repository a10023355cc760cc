//! Log files as `sekimori hunt` (and, next, ingest) reads them: any text parses into
//! events and malformed-document reports without panicking; every event is normalised
//! and run through a small rule set; every malformed report names a line inside the text;
//! an event judged again (answered by the detection memo) fires the same rules, and a
//! hunter without the memo, the keyword gates and the literal sieves gives the same hits
//! (`matched` values included); the raw
//! bytes read in small chunks (as `hunt` streams a file) give the same events and reports.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use sekimori_detect::input::{parse_events, read_documents_each};
use sekimori_detect::{Hunter, RuleSet};

const RULES: &str = "title: any whoami\nlogsource: {product: windows}\ndetection:\n  sel:\n    CommandLine|contains|all: [who, ami]\n  k:\n    - mimikatz\n  condition: sel or k\n---\ntitle: nested user\nlogsource: {product: okta}\ndetection:\n  sel:\n    actor.alternateId|endswith: '@example.com'\n    eventType|startswith: user.\n  condition: sel\n---\ntitle: keywords only\nlogsource: {product: windows, service: security}\ndetection:\n  k:\n    - 'sekurlsa::'\n    - 'ärger'\n  f:\n    EventID: 15\n  condition: k and not f\n---\ntitle: anchored and numbered\nlogsource: {product: windows}\ndetection:\n  img:\n    Image|endswith: ['\\\\cmd.exe', '.exe']\n    CommandLine|startswith: 'cmd'\n  id:\n    EventID: 4688\n  re:\n    CommandLine|re|i: 'inv(oke)?-[a-z]+'\n  exact:\n    User: 'system'\n  condition: (img and not exact) or (id and re) or (id and exact)\n";

/// A hunter as the server runs it, and one without the memo, the keyword gates and the
/// literal sieves.
fn hunters() -> &'static Mutex<(Hunter, Hunter)> {
    static H: OnceLock<Mutex<(Hunter, Hunter)>> = OnceLock::new();
    H.get_or_init(|| {
        let (rules, report) = RuleSet::from_yaml(RULES);
        assert!(report.is_clean());
        let mut plain = Hunter::new(&rules).expect("compile");
        plain.set_memo(false);
        plain.set_keyword_gates(false);
        plain.set_sieves(false);
        Mutex::new((Hunter::new(&rules).expect("compile"), plain))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = parse_events(&text);
    let lines = text.matches('\n').count() + 1;
    for m in &source.malformed {
        assert!(m.line >= 1 && m.line <= lines, "{m} outside {lines} lines");
        assert!(m.sample.len() <= sekimori_detect::input::MAX_SAMPLE_BYTES);
        assert!(text.lines().nth(m.line - 1).is_some_and(|l| l.contains(m.sample.as_str())), "{m}: sample is not from its line");
    }
    let mut events = Vec::new();
    let chunk = data.first().map_or(1, |b| usize::from(*b % 16) + 1);
    let malformed = read_documents_each(data, chunk, usize::MAX, &mut |e| events.push(e)).expect("in memory");
    assert_eq!(events, source.events, "chunks of {chunk} bytes");
    assert_eq!(malformed, source.malformed, "chunks of {chunk} bytes");
    let mut guard = hunters().lock().unwrap_or_else(|p| p.into_inner());
    let (h, plain) = &mut *guard;
    for e in &source.events {
        let sorted = |mut hits: Vec<sekimori_detect::Hit>| {
            hits.sort_by(|a, b| (&a.rule_id, &a.title).cmp(&(&b.rule_id, &b.title)));
            hits
        };
        let first = sorted(h.process(e));
        let again = sorted(h.process(e));
        assert_eq!(first, again, "the memo changed the hits on {e}");
        let without = sorted(plain.process(e));
        assert_eq!(first, without, "the memo, a keyword gate or a sieve changed the hits on {e}");
    }
});
