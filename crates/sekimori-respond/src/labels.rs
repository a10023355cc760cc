//! Labels and matchers.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

/// An alert's labels: name → value. A label that is absent matches as the empty string,
/// as in Alertmanager (`team!="ops"` matches an alert without `team`).
pub type Labels = BTreeMap<String, String>;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `=~` (the whole value matches the regular expression)
    Re,
    /// `!~`
    NotRe,
}

/// One condition on one label, e.g. `severity=~"high|critical"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or the regular expression as written.
    pub value: String,
    regex: Option<Regex>,
}

/// Text that is not a matcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// No operator.
    #[error("{0:?} is not a matcher: write name=value, name!=value, name=~regex or name!~regex")]
    Syntax(String),
    /// A label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("{0:?} is not a label name")]
    Name(String),
    /// A regular expression that does not compile.
    #[error("{name}: {reason}")]
    Regex {
        /// The label.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Whether `name` is a label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn valid_label(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Matcher {
    /// A matcher; a regular expression is anchored at both ends.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        if !valid_label(name) {
            return Err(MatcherError::Name(name.to_owned()));
        }
        let regex = match op {
            MatchOp::Re | MatchOp::NotRe => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| MatcherError::Regex { name: name.to_owned(), reason: e.to_string() })?,
            ),
            MatchOp::Eq | MatchOp::Ne => None,
        };
        Ok(Matcher { name: name.to_owned(), op, value: value.to_owned(), regex })
    }

    /// Parses `name=value`, `name!=value`, `name=~regex`, `name!~regex`; the value may be
    /// in double quotes.
    pub fn parse(text: &str) -> Result<Self, MatcherError> {
        let syntax = || MatcherError::Syntax(text.to_owned());
        let at = text.find(['=', '!']).ok_or_else(syntax)?;
        let (name, rest) = text.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("=~") {
            (MatchOp::Re, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (MatchOp::NotRe, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (MatchOp::Ne, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (MatchOp::Eq, v)
        } else {
            return Err(syntax());
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => quoted,
            // `a==b`, `a=~~b`: an operator written twice, not a value; quote such a value.
            None if value.starts_with(['=', '~', '!']) => return Err(syntax()),
            None => value,
        };
        Matcher::new(name.trim(), op, value)
    }

    /// Whether `labels` satisfy this matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Eq, _) => v == self.value,
            (MatchOp::Ne, _) => v != self.value,
            (MatchOp::Re, Some(r)) => r.is_match(v),
            (MatchOp::NotRe, Some(r)) => !r.is_match(v),
            // `new` compiles a regex for both regex operators.
            (MatchOp::Re | MatchOp::NotRe, None) => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        (self.name.as_str(), self.op, self.value.as_str()) == (other.name.as_str(), other.op, other.value.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Matcher::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Whether every matcher matches.
pub(crate) fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn matchers_compare_as_alertmanager_does() {
        let l = labels(&[("severity", "high"), ("rule", "brute-force")]);
        let m = |t: &str| Matcher::parse(t).expect(t).matches(&l);
        assert!(m("severity=high") && m("severity=\"high\"") && !m("severity=low"));
        assert!(m("severity!=low") && !m("severity!=high"));
        assert!(m("severity=~high|critical") && !m("severity=~hi"), "anchored at both ends");
        assert!(m("rule!~pass.*") && !m("rule!~brute.*"));
        assert!(m("team!=ops") && m("team=\"\"") && !m("team=~.+"), "an absent label is the empty string");
        assert_eq!(Matcher::parse("severity"), Err(MatcherError::Syntax("severity".into())));
        assert_eq!(Matcher::parse("1x=a"), Err(MatcherError::Name("1x".into())));
        assert!(matches!(Matcher::parse("a=~("), Err(MatcherError::Regex { .. })));
        assert_eq!(Matcher::parse("a==b"), Err(MatcherError::Syntax("a==b".into())));
        assert_eq!(Matcher::parse("a=\"=b\"").expect("quoted").value, "=b");
        assert_eq!(Matcher::parse("a=~b|c").expect("ok").to_string(), "a=~\"b|c\"");
    }
}
