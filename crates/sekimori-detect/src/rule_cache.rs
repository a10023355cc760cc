//! A cache of parsed rule files for `hunt`, keyed by each file's SHA-256.
//!
//! Parsing YAML was most of loading once compiling became lazy (ADR 0004, sixteenth
//! session): 1.4 G of 2.2 G instructions for SigmaHQ's 3,141 rules. The cache keeps what
//! rsigma-parser made of each file (its rules, correlations, filters and per-document
//! errors, before Sekimori's own fixes, which are applied again on every load) as JSON,
//! one line per file text: `SHA-256 hex`, a tab, the JSON. One cache file serves one list
//! of rule paths (its name is a hash of them); its first line names the cache format and
//! the Sekimori version that wrote it, and a cache of another is ignored whole.
//!
//! A file whose text is not in the cache, or whose entry does not read back, is parsed;
//! the cache is then written again (to a temporary file renamed over it, so a reader never
//! sees half of one) with exactly the current files' entries. A cache that cannot be read
//! or written never fails a hunt: it is parsed as if there were none, and the report says
//! why. The cache holds parsed rules, so whoever can write it can change what a hunt
//! looks for, as whoever can write the rules can: it lives in the user's own cache folder,
//! created readable by the user alone.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rsigma_parser::{CorrelationRule, FilterRule, SigmaCollection, SigmaRule};
use sekimori_core::token::sha256_hex;
use serde::{Deserialize, Serialize};

/// Bumped whenever what a cache entry means changes (the parser, or what is kept).
const FORMAT: u32 = 1;

/// What rsigma-parser made of one rule file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Parsed {
    pub(crate) rules: Vec<SigmaRule>,
    pub(crate) correlations: Vec<CorrelationRule>,
    pub(crate) filters: Vec<FilterRule>,
    /// Documents of the file that did not parse, and why.
    pub(crate) errors: Vec<String>,
}

impl From<SigmaCollection> for Parsed {
    fn from(c: SigmaCollection) -> Parsed {
        Parsed { rules: c.rules, correlations: c.correlations, filters: c.filters, errors: c.errors }
    }
}

/// The SHA-256 of a rule file's text, in hex (a cache key).
pub(crate) fn key(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

/// A rule cache read from its folder: the entries of one list of rule paths.
#[derive(Debug)]
pub struct RuleCache {
    /// The cache file.
    file: PathBuf,
    /// Its text, as read (empty when there was none or it was another's).
    text: String,
    /// Each entry's key, and where its JSON is in `text`.
    entries: HashMap<String, (usize, usize)>,
    /// Why the cache file could not be read, when it could not (not when it was absent).
    read_error: Option<CacheError>,
}

/// What the cache did for one load.
#[derive(Debug, Clone, Default)]
pub struct CacheReport {
    /// Rule files read from the cache.
    pub hits: usize,
    /// Rule files not read from the cache: parsed (not in it, or their entry did not read
    /// back), or not readable at all.
    pub parsed: usize,
    /// Whether the cache file was written again.
    pub written: bool,
    /// Why the cache could not be read or written, if it could not.
    pub error: Option<CacheError>,
}

/// A rule cache that could not be used (the hunt goes on without it).
#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    #[error("cannot read the rule cache {}: {source}", path.display())]
    Read { path: PathBuf, source: std::sync::Arc<std::io::Error> },
    #[error("cannot write the rule cache {}: {source}", path.display())]
    Write { path: PathBuf, source: std::sync::Arc<std::io::Error> },
}

impl RuleCache {
    /// The cache in `dir` for the rule paths `paths` (as given on the command line), read
    /// now. `dir` need not exist.
    pub fn open<P: AsRef<Path>>(dir: &Path, paths: &[P]) -> RuleCache {
        let mut id = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
            id.extend_from_slice(p.as_os_str().as_encoded_bytes());
            id.push(0);
        }
        let file = dir.join(format!("rules-{}.cache", &sha256_hex(&id)[..32]));
        let (text, read_error) = match std::fs::read_to_string(&file) {
            Ok(t) => (t, None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), None),
            Err(e) => (String::new(), Some(CacheError::Read { path: file.clone(), source: e.into() })),
        };
        let mut cache = RuleCache { file, text: String::new(), entries: HashMap::new(), read_error };
        let mut lines = text.split_inclusive('\n');
        let Some(first) = lines.next().filter(|l| l.trim_end() == header()) else {
            return cache;
        };
        let mut at = first.len();
        for line in lines {
            if let Some((k, json)) = line.trim_end().split_once('\t') {
                let start = at + k.len() + 1;
                cache.entries.insert(k.to_owned(), (start, start + json.len()));
            }
            at += line.len();
        }
        cache.text = text;
        cache
    }

    /// The parse of the file whose text has key `key`, if the cache holds one that reads.
    pub(crate) fn get(&self, key: &str) -> Option<Parsed> {
        let &(start, end) = self.entries.get(key)?;
        serde_json::from_str(&self.text[start..end]).ok()
    }

    /// The entry of `key` as it is in the cache file (to write it again unchanged).
    fn raw(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|&(start, end)| &self.text[start..end])
    }

    /// Writes the cache again when `files` (each loaded file's key, and its entry when it
    /// was parsed rather than read from the cache) differ from what it holds. `loaded` is
    /// how many rule files were loaded (a file that did not parse, or could not be read,
    /// has no entry).
    pub(crate) fn update(&self, files: &[(String, Option<String>)], loaded: usize) -> CacheReport {
        let hits = files.iter().filter(|(_, new)| new.is_none()).count();
        let parsed = loaded - hits;
        let mut report = CacheReport { hits, parsed, written: false, error: self.read_error.clone() };
        let mut keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if hits == files.len() && keys.len() == self.entries.len() {
            return report;
        }
        match self.write(files) {
            Ok(()) => report.written = true,
            Err(e) => report.error = Some(CacheError::Write { path: self.file.clone(), source: e.into() }),
        }
        report
    }

    fn write(&self, files: &[(String, Option<String>)]) -> std::io::Result<()> {
        let mut out = header();
        out.push('\n');
        let mut seen = std::collections::HashSet::new();
        for (k, new) in files {
            if !seen.insert(k.as_str()) {
                continue;
            }
            let Some(json) = new.as_deref().or_else(|| self.raw(k)) else { continue };
            out.push_str(k);
            out.push('\t');
            out.push_str(json);
            out.push('\n');
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let name = self.file.file_name().and_then(|n| n.to_str()).unwrap_or("rules");
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(out.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.file)
    }
}

/// A parse as a cache entry (`None` if it cannot be written as one).
pub(crate) fn entry(parsed: &Parsed) -> Option<String> {
    serde_json::to_string(parsed).ok()
}

/// The first line of a cache file this build reads.
fn header() -> String {
    format!("sekimori-rule-cache\t{FORMAT}\t{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// The user's cache folder for Sekimori: `$XDG_CACHE_HOME/sekimori`, else
/// `$HOME/.cache/sekimori`; `None` when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("sekimori"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("list rules").flatten() {
            let p = entry.path();
            if p.is_dir() {
                yaml_files(&p, out);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                out.push(p);
            }
        }
    }

    /// Every SigmaHQ rule file (rules, emerging threats, threat hunting) reads back from its
    /// cache entry exactly as rsigma-parser made it, errors included.
    #[test]
    fn every_sigmahq_rule_file_reads_back_from_its_entry_unchanged() {
        let data = match std::env::var_os("SEKIMORI_SIGMA_DATA") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"),
        };
        let mut files = Vec::new();
        for set in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
            yaml_files(&data.join(set), &mut files);
        }
        assert!(files.len() > 3000, "SigmaHQ data not found at {}", data.display());
        let (mut rules, mut correlations) = (0, 0);
        // SigmaHQ's sets hold no correlations: one of each kind, a filter, and a broken
        // document (its error is part of the entry) are added.
        let base = "title: failed\nname: failed_login\nlogsource: {product: test}\ndetection:\n  sel:\n    action: fail\n  condition: sel\n---\n";
        let extra = [
            "title: a\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [user]\n  timespan: 1m\n  condition: {gte: 3}\n",
            "title: b\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [ip]\n  timespan: 5m\n  condition:\n    field: user\n    gte: 3\n",
            "title: c\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_login, failed_login]\n  timespan: 1h\n  aliases:\n    u:\n      failed_login: user\n  group-by: [u]\n",
            "title: d\ncorrelation:\n  type: value_percentile\n  rules: [failed_login]\n  group-by: [user]\n  timespan: 10m\n  condition:\n    field: bytes\n    percentile: 95\n    gt: 10\n",
            "title: f\nfilter:\n  rules: [failed_login]\n  selection:\n    user: admin\n  condition: not selection\nlogsource: {product: test}\n",
            "title: broken\ncorrelation: [not, a, mapping]\n",
        ];
        let texts = files
            .iter()
            .map(|f| (f.display().to_string(), std::fs::read_to_string(f).expect("ok")))
            .chain([(crate::rules::BUILTIN_PATH.to_owned(), crate::rules::BUILTIN_RULES.to_owned())])
            .chain(extra.iter().map(|c| ("<inline>".to_owned(), format!("{base}{c}"))));
        for (f, text) in texts {
            let Ok(parsed) = rsigma_parser::parse_sigma_yaml(&text).map(Parsed::from) else { continue };
            rules += parsed.rules.len();
            correlations += parsed.correlations.len();
            let json = entry(&parsed).unwrap_or_else(|| panic!("{f}: no entry"));
            let back: Parsed = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(back, parsed, "{f}");
        }
        assert!(rules > 3000 && correlations > 0, "{rules} rules, {correlations} correlations");
    }
}
