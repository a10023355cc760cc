//! Log text that is nothing but `key=value` pairs, as FortiGate (FortiOS) and other network
//! devices write their syslog messages:
//!
//! ```text
//! date=2025-11-01 time=10:12:01 devname="FGT-edge" devid="FG100F" logid="0100044547"
//! type="event" subtype="system" action="Add" cfgpath="system.admin" msg="Add system.admin"
//! ```
//!
//! The pairs become fields of the event, so rules name them as the device's log reference
//! does (SigmaHQ's FortiGate rules match `action` and `cfgpath`; auditd records relayed by
//! syslog carry `type`, `syscall`, `exe`, `key`). The text is untrusted: it is parsed in
//! one pass, and a text that is not entirely pairs gives no fields at all.

use serde_json::{Map, Value};

/// Fewest pairs for a text to count as pairs (`a=b` alone is more likely prose).
const MIN_PAIRS: usize = 2;

/// The pairs of `text` when it is nothing but `key=value` pairs separated by spaces, keys of
/// ASCII letters, digits, `_`, `-` and `.`, values bare (up to the next space), in double
/// quotes (where `\"` and `\\` stand for `"` and `\`) or in single quotes (as auditd writes
/// `msg='…'`, no escapes); `None` for any other text or fewer than [`MIN_PAIRS`] pairs. In
/// the text's order, repeats included.
pub fn key_values(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_matches(' ');
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
            return None;
        }
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('\'') {
            // auditd quotes a nested record in single quotes, with no escapes.
            let end = quoted.find('\'')?;
            rest = &quoted[end + 1..];
            quoted[..end].to_owned()
        } else if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()? {
                        (_, c @ ('"' | '\\')) => value.push(c),
                        (_, c) => {
                            value.push('\\');
                            value.push(c);
                        }
                    },
                    (_, c) => value.push(c),
                }
            };
            rest = &quoted[end + 1..];
            value
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let value = rest[..end].to_owned();
            rest = &rest[end..];
            value
        };
        // A pair ends at a space or at the end of the text.
        if !rest.is_empty() && !rest.starts_with(' ') {
            return None;
        }
        pairs.push((key.to_owned(), value));
        rest = rest.trim_start_matches(' ');
    }
    (pairs.len() >= MIN_PAIRS).then_some(pairs)
}

/// Adds the pairs of `message` ([`key_values`]) to `doc` as text fields: never over a field
/// the event already has (the first of repeated keys wins), and never a key starting with
/// `sekimori` (where Sekimori keeps the tenant and a declared log source; a top-level
/// `sekimori.tenant` would be found by that path).
pub fn add_key_values(doc: &mut Map<String, Value>, message: &str) {
    for (key, value) in key_values(message).unwrap_or_default() {
        if key.starts_with("sekimori") || doc.contains_key(&key) {
            continue;
        }
        doc.insert(key, Value::String(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn owned(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn fortios_messages_are_pairs() {
        // FortiOS log message reference, event log 44547 (an object attribute configured).
        let text = r#"date=2025-11-01 time=10:12:01 devname="FGT-edge" devid="FG100FTK00000001" eventtime=1761991921000000000 tz="+0100" logid="0100044547" type="event" subtype="system" level="information" vd="root" logdesc="Object attribute configured" user="admin" ui="GUI(10.0.0.5)" action="Add" cfgtid=1234 cfgpath="system.admin" cfgobj="backdoor" cfgattr="accprofile[super_admin]" msg="Add system.admin backdoor""#;
        let p = key_values(text).expect("pairs");
        let has = |k: &str, v: &str| p.contains(&(k.to_owned(), v.to_owned()));
        assert_eq!(p.len(), 20);
        assert!(has("date", "2025-11-01") && has("logdesc", "Object attribute configured"));
        assert!(has("cfgpath", "system.admin") && has("msg", "Add system.admin backdoor"));
    }

    #[test]
    fn auditd_records_are_pairs() {
        let syscall = r#"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no exit=-13 comm="cat" exe="/usr/bin/cat" key="sshd_config""#;
        let p = key_values(syscall).expect("pairs");
        assert_eq!(p[1], ("msg".to_owned(), "audit(1364481363.243:24287):".to_owned()));
        assert_eq!(p.last(), Some(&("key".to_owned(), "sshd_config".to_owned())));
        let user = r#"type=USER_START msg=audit(1.2:3): pid=9 msg='op=PAM:session_open acct="root" res=success'"#;
        let p = key_values(user).expect("pairs");
        assert_eq!(p[3], ("msg".to_owned(), r#"op=PAM:session_open acct="root" res=success"#.to_owned()));
    }

    #[test]
    fn quotes_escapes_and_empty_values() {
        let text = r#"a="say \"hi\"" b=\x c="" d="x\\y" e="\n" f='it "is"'"#;
        let want = [("a", "say \"hi\""), ("b", "\\x"), ("c", ""), ("d", "x\\y"), ("e", "\\n"), ("f", "it \"is\"")];
        assert_eq!(key_values(text), owned(&want));
        assert_eq!(key_values("  a=1   b=2  "), owned(&[("a", "1"), ("b", "2")]));
        assert_eq!(key_values("a=1 a=2"), owned(&[("a", "1"), ("a", "2")]), "repeats are kept in order");
        assert_eq!(key_values("a= b=2"), owned(&[("a", ""), ("b", "2")]));
    }

    #[test]
    fn other_text_gives_no_pairs() {
        for text in [
            "",
            "a=1",
            "error: Corrupted MAC on input",
            "pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)",
            "a=1 and b=2",
            "a=1 =2",
            r#"a="unterminated b=2"#,
            r#"a="x"y b=2"#,
            "a='unterminated b=2",
            "a b=1 c=2",
            "ключ=1 b=2",
            "a[0]=1 b=2",
        ] {
            assert_eq!(key_values(text), None, "{text}");
        }
    }

    #[test]
    fn fields_never_replace_the_event_or_sekimori() {
        let mut doc = Map::new();
        doc.insert("message".into(), Value::String("m".into()));
        add_key_values(&mut doc, "message=forged sekimori.tenant=t2 sekimori=x action=Add action=Delete");
        assert_eq!(doc["message"], "m");
        assert_eq!(doc["action"], "Add", "the first of repeated keys");
        assert!(!doc.keys().any(|k| k.starts_with("sekimori")), "{doc:?}");
        let before = doc.clone();
        add_key_values(&mut doc, "just text");
        assert_eq!(doc, before);
    }

    /// auditd's records relayed by syslog (audispd's syslog plugin) carry their fields, so
    /// SigmaHQ's auditd rules fire on them; placement comes from the program (`audispd`).
    #[test]
    fn relayed_auditd_records_fire_sigmahq_auditd_rules() {
        let rule = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/sigma/rules/linux/auditd/lnx_auditd_audio_capture.yml");
        let (rules, report) = crate::RuleSet::load(&[rule]);
        assert!(report.is_clean(), "{:?}", report.failures);
        let mut hunter = crate::Hunter::new(&rules).expect("compile");
        let received = crate::syslog::Received { at_ms: 1_764_556_800_000, peer: None };
        let line = |msg: &str| format!("<86>Dec  1 02:40:00 host1 audispd: {msg}");
        let execve = line(r#"type=EXECVE msg=audit(1764556800.123:42): argc=3 a0="arecord" a1="-vv" a2="-fdat""#);
        let event = crate::syslog::parse_syslog(execve.as_bytes(), received).expect("syslog");
        let hits = hunter.process(&event);
        assert_eq!(hits.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["Audio Capture"], "{event}");
        let other = line(r#"type=EXECVE msg=audit(1764556800.123:43): argc=2 a0="ls" a1="-la""#);
        let event = crate::syslog::parse_syslog(other.as_bytes(), received).expect("syslog");
        assert!(hunter.process(&event).is_empty());
    }

    proptest! {
        /// Any text: no panic, and when pairs come back, writing them out again (values
        /// quoted and escaped) gives the same pairs.
        #[test]
        fn any_text_parses_or_not_and_pairs_round_trip(text in "[ -~]{0,80}") {
            if let Some(p) = key_values(&text) {
                let written: Vec<String> = p
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                prop_assert_eq!(key_values(&written.join(" ")), Some(p));
            }
        }

        /// Generated pairs, written with bare or quoted values, come back as written.
        #[test]
        fn written_pairs_come_back(
            p in proptest::collection::vec(("[a-z_][a-z0-9_.-]{0,8}", "[ -~]{0,12}", any::<bool>()), 2..8),
        ) {
            let text: Vec<String> = p
                .iter()
                .map(|(k, v, bare)| {
                    if *bare && !v.is_empty() && !v.contains([' ', '"']) && !v.starts_with('\'') {
                        format!("{k}={v}")
                    } else {
                        format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                    }
                })
                .collect();
            let expected: Vec<(String, String)> = p.into_iter().map(|(k, v, _)| (k, v)).collect();
            prop_assert_eq!(key_values(&text.join(" ")), Some(expected));
        }
    }
}
