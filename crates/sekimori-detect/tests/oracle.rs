//! An oracle independent of rsigma for the string modifiers: the Sigma specification's
//! meaning of `*` and `?` (a glob over characters, matched case-insensitively), of its
//! escapes (`\*`, `\?`, `\\`), and of
//! `contains`, `startswith` and `endswith` (a `*` on the open sides), checked against the
//! hunter over generated rules and values. The exactness tests compare with rsigma itself
//! and could not see rsigma putting the anchors on the wrong sides (ADR 0004).

use proptest::prelude::*;
use sekimori_detect::{Hunter, RuleSet};
use serde_json::json;

/// One piece of a Sigma value: a character as written, or a wildcard.
#[derive(Clone, Copy, PartialEq)]
enum Piece {
    Char(char),
    Any,
    One,
}

/// A Sigma value's pieces, by the specification's escapes: `\*`, `\?` and `\\` are the
/// characters `*`, `?` and `\`; any other backslash is itself; `*` and `?` are wildcards.
fn pieces(value: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    Piece::Char(n)
                }
                _ => Piece::Char('\\'),
            },
            '*' => Piece::Any,
            '?' => Piece::One,
            c => Piece::Char(c),
        });
    }
    out
}

/// Whether `text` matches `pattern` (`Any` any run, `One` one character).
fn glob(pattern: &[Piece], text: &[char]) -> bool {
    // match[i][j]: pattern[..i] matches text[..j]
    let mut m = vec![vec![false; text.len() + 1]; pattern.len() + 1];
    m[0][0] = true;
    for i in 1..=pattern.len() {
        for j in 0..=text.len() {
            m[i][j] = match pattern[i - 1] {
                Piece::Any => m[i - 1][j] || (j > 0 && m[i][j - 1]),
                Piece::One => j > 0 && m[i - 1][j - 1],
                Piece::Char(c) => j > 0 && m[i - 1][j - 1] && text[j - 1] == c,
            };
        }
    }
    m[pattern.len()][text.len()]
}

fn oracle(modifier: &str, value: &str, text: &str) -> bool {
    let mut pattern = pieces(&value.to_lowercase());
    match modifier {
        "" => {}
        "startswith" => pattern.push(Piece::Any),
        "endswith" => pattern.insert(0, Piece::Any),
        "contains" => {
            pattern.insert(0, Piece::Any);
            pattern.push(Piece::Any);
        }
        other => unreachable!("{other}"),
    }
    glob(&pattern, &text.to_lowercase().chars().collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn the_hunter_agrees_with_the_specification(
        modifier in prop::sample::select(vec!["", "startswith", "endswith", "contains"]),
        value in "[abAB*?\\\\]{1,6}",
        texts in prop::collection::vec("[abAB*?\\\\]{0,7}", 1..8),
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
    // Escapes: SigmaHQ's `'\\\\\*\\IPC$'` is the text `\\*\IPC$`; `\\*` is a backslash, then a
    // wildcard; a backslash before anything else is itself.
    assert!(oracle("", "\\\\\\\\\\*\\\\IPC$", "\\\\*\\IPC$") && !oracle("", "\\\\\\\\\\*\\\\IPC$", "\\\\x\\IPC$"));
    assert!(oracle("", "a\\\\*", "a\\xyz") && !oracle("", "a\\\\*", "axyz"));
    assert!(oracle("", "\\Windows", "\\Windows"));
}
