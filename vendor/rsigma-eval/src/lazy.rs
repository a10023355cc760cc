//! Sekimori: regular expressions and `contains` automata built the first time they are
//! matched.
//!
//! Loading SigmaHQ's rules compiled every `|re` value and every wildcard value into a
//! `regex::Regex` (and groups of them into a `RegexSet`) up front: about a fifth of the
//! instructions of loading 3,141 rules, though a rule that no event reaches never runs
//! one. [`Regex`] checks the pattern's syntax when it is made (the same parser and
//! settings as `regex::Regex::new`, so the same syntax errors, at the same time) and
//! compiles it on first use; clones share the compiled form.
//!
//! One difference remains: a pattern that parses but whose compiled form exceeds the
//! `regex` crate's size limit (10 MiB) used to fail when the rule was loaded; now it
//! fails when first matched, and then matches nothing ([`Regex::compile_error`] says
//! why).
//!
//! [`AhoCorasick`] does the same for groups of eight or more `contains` values (upstream
//! built a DFA for each when the rule was compiled): the automaton, a contiguous NFA, is
//! built on first match.

use std::sync::{Arc, OnceLock};

/// A regular expression, checked when made and compiled when first matched.
#[derive(Clone)]
pub struct Regex(Arc<Lazy>);

struct Lazy {
    pattern: String,
    compiled: OnceLock<Result<regex::Regex, regex::Error>>,
}

impl Regex {
    /// Checks `pattern` as `regex::Regex::new` would parse it; compiles nothing yet.
    pub fn new(pattern: &str) -> Result<Regex, regex::Error> {
        regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(Regex(Arc::new(Lazy {
            pattern: pattern.to_owned(),
            compiled: OnceLock::new(),
        })))
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.0.pattern
    }

    /// Whether the expression matches somewhere in `haystack` (compiling it if this is
    /// the first match asked of it or of a clone).
    pub fn is_match(&self, haystack: &str) -> bool {
        self.compiled().is_some_and(|re| re.is_match(haystack))
    }

    /// Why the pattern could not be compiled, once a match has been asked of it.
    pub fn compile_error(&self) -> Option<&regex::Error> {
        self.0.compiled.get().and_then(|r| r.as_ref().err())
    }

    fn compiled(&self) -> Option<&regex::Regex> {
        self.0
            .compiled
            .get_or_init(|| regex::Regex::new(&self.0.pattern))
            .as_ref()
            .ok()
    }
}

impl std::fmt::Debug for Regex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Regex").field(&self.0.pattern).finish()
    }
}

/// A group of regular expressions matched together, compiled as one `regex::RegexSet`
/// when first matched. Where upstream could not build the set (its size limit), it kept
/// the expressions one by one; so does this, then.
#[derive(Clone)]
pub struct RegexSet(Arc<LazySet>);

struct LazySet {
    members: Vec<Regex>,
    patterns: Vec<String>,
    compiled: OnceLock<Option<regex::RegexSet>>,
}

impl RegexSet {
    /// A set of already checked expressions; compiles nothing yet.
    pub fn of(members: Vec<Regex>) -> RegexSet {
        let patterns = members.iter().map(|r| r.as_str().to_owned()).collect();
        RegexSet(Arc::new(LazySet {
            members,
            patterns,
            compiled: OnceLock::new(),
        }))
    }

    /// The patterns, in order.
    pub fn patterns(&self) -> &[String] {
        &self.0.patterns
    }

    /// How many expressions the set holds.
    pub fn len(&self) -> usize {
        self.0.patterns.len()
    }

    /// Whether the set holds none.
    pub fn is_empty(&self) -> bool {
        self.0.patterns.is_empty()
    }

    /// Whether any expression matches `haystack`.
    pub fn is_match(&self, haystack: &str) -> bool {
        match self.compiled() {
            Some(set) => set.is_match(haystack),
            None => self.0.members.iter().any(|r| r.is_match(haystack)),
        }
    }

    /// Whether every expression matches `haystack`.
    pub fn all_match(&self, haystack: &str) -> bool {
        match self.compiled() {
            Some(set) => set.matches(haystack).iter().count() == set.len(),
            None => self.0.members.iter().all(|r| r.is_match(haystack)),
        }
    }

    fn compiled(&self) -> Option<&regex::RegexSet> {
        self.0
            .compiled
            .get_or_init(|| regex::RegexSet::new(&self.0.patterns).ok())
            .as_ref()
    }
}

impl std::fmt::Debug for RegexSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RegexSet").field(&self.0.patterns).finish()
    }
}

/// A multi-pattern substring search over the needles of a `contains` group, built as a
/// contiguous NFA when first matched. Should it not build (it has a state limit), the
/// needles are looked for one by one, as upstream kept them then.
#[derive(Clone)]
pub struct AhoCorasick(Arc<LazyNeedles>);

struct LazyNeedles {
    needles: Vec<String>,
    built: OnceLock<Option<aho_corasick::AhoCorasick>>,
}

impl AhoCorasick {
    /// The search for `needles`; builds nothing yet.
    pub fn of(needles: Vec<String>) -> AhoCorasick {
        AhoCorasick(Arc::new(LazyNeedles {
            needles,
            built: OnceLock::new(),
        }))
    }

    /// Whether any needle occurs in `haystack`.
    pub fn is_match(&self, haystack: &str) -> bool {
        let built = self.0.built.get_or_init(|| {
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .build(&self.0.needles)
                .ok()
        });
        match built {
            Some(ac) => ac.is_match(haystack),
            None => self.0.needles.iter().any(|n| haystack.contains(n.as_str())),
        }
    }
}

impl std::fmt::Debug for AhoCorasick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AhoCorasick").field(&self.0.needles).finish()
    }
}
