//! Loading Sigma rules with a report of every rule that did not load and why, and running
//! them over events.

use crate::DetectError;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rsigma_eval::correlation_engine::{CorrelationConfig, CorrelationEngine, TimestampFallback};
use rsigma_eval::event::JsonEvent;
use rsigma_eval::{CompiledRule, Engine};
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, FilterRule, SigmaCollection, SigmaRule,
};
use serde_json::Value;

use crate::event::{FieldIndex, SigmaEvent};
use crate::keywords::KeywordGate;
use crate::logsource::{EventLogSource, LogSourceMap};
use crate::memo::{Memo, Visible};
use crate::output::Hit;
use crate::relax::Relaxed;
use crate::rule_cache::{CacheReport, Parsed, RuleCache};
use crate::rule_files::{rule_files, RuleFiles};
use crate::sieve::Sieve;
use crate::unknown::NegatedFields;

/// A rule (or a whole file) that did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    pub path: PathBuf,
    /// The rule's title, when the file parsed far enough to have one.
    pub rule: Option<String>,
    pub reason: String,
}

/// What loading found: how many rules of each kind loaded, and every failure.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub files: usize,
    pub detections: usize,
    pub correlations: usize,
    pub filters: usize,
    pub failures: Vec<LoadFailure>,
}

impl LoadReport {
    /// Every rule loaded.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Prefix of the local ids given to rules that have none (never shown in hits).
pub(crate) const ANONYMOUS_ID_PREFIX: &str = "urn:sekimori:anonymous-rule:";

/// Sekimori's own rules for its audit events ("not me" reports, push fatigue, logins the
/// risk policy refused), shipped in the binary (`data/rules/sekimori.yml`).
pub const BUILTIN_RULES: &str = include_str!("../data/rules/sekimori.yml");

/// The path the built-in rules are reported under.
pub const BUILTIN_PATH: &str = "<builtin>/sekimori.yml";

/// Rules that parsed and compiled, ready to build [`Hunter`]s from.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) detections: Vec<(PathBuf, SigmaRule)>,
    /// Each detection rule compiled, in the same order (compiled once, when loaded).
    compiled: Vec<CompiledRule>,
    /// The text of each detection rule's file as it was loaded, in the same order (shared
    /// by the rules of one file).
    sources: Vec<Arc<str>>,
    correlations: Vec<(PathBuf, CorrelationRule)>,
    filters: Vec<(PathBuf, FilterRule)>,
}

/// What one rule file gave: its rules, compiled, its correlations and filters, and what
/// did not load.
#[derive(Default)]
struct FileRules {
    detections: Vec<(PathBuf, SigmaRule, CompiledRule, Arc<str>)>,
    correlations: Vec<(PathBuf, CorrelationRule)>,
    filters: Vec<(PathBuf, FilterRule)>,
    failures: Vec<LoadFailure>,
}

impl RuleSet {
    /// Loads every `.yml`/`.yaml` file under `paths` (files or folders, recursively).
    /// Nothing is skipped silently: a file or rule that does not load is in the report.
    /// Files are read, parsed and compiled on every core; the set and the report are the
    /// same as one thread gives.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> (RuleSet, LoadReport) {
        let files = rule_files(paths);
        let loaded = on_every_core(files.paths.len(), Some, |i| read_rules(&files.paths[i], None, i + 1));
        let mut set = RuleSet::default();
        let report = set.merge_files(loaded, files.failures);
        (set, report)
    }

    /// [`RuleSet::load`] through a cache of parsed files ([`RuleCache`]): files whose text
    /// it holds are not parsed, and it is brought up to date. The set and the report are
    /// the same as without it.
    pub fn load_cached<P: AsRef<Path>>(paths: &[P], cache: &RuleCache) -> (RuleSet, LoadReport, CacheReport) {
        Self::load_files_cached(rule_files(paths), cache)
    }

    /// [`RuleSet::load_cached`] with the cache for `paths` in `dir` ([`RuleCache::open`]),
    /// read on another thread while the rule folders are listed and sorted (for SigmaHQ's
    /// 3,141 files, a 7 MB cache and 3,141 paths: both a few milliseconds, done one after the
    /// other before).
    pub fn load_cached_in<P: AsRef<Path> + Sync>(paths: &[P], dir: &Path) -> (RuleSet, LoadReport, CacheReport) {
        let (cache, files) = std::thread::scope(|scope| {
            let cache = scope.spawn(|| RuleCache::open(dir, paths));
            let files = rule_files(paths);
            (cache.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), files)
        });
        Self::load_files_cached(files, &cache)
    }

    fn load_files_cached(files: RuleFiles, cache: &RuleCache) -> (RuleSet, LoadReport, CacheReport) {
        let loaded = on_every_core(files.paths.len(), Some, |i| read_rules_cached(&files.paths[i], i + 1, cache));
        let (loaded, entries): (Vec<FileRules>, Vec<_>) = loaded.into_iter().unzip();
        let entries: Vec<(String, Option<String>)> = entries.into_iter().flatten().collect();
        let mut set = RuleSet::default();
        let report = set.merge_files(loaded, files.failures);
        let cached = cache.update(&entries, files.paths.len());
        (set, report, cached)
    }

    /// Adds the loaded files' rules, in order, to an empty set, and reports them with
    /// `failures` (the paths that could not be listed).
    fn merge_files(&mut self, loaded: Vec<FileRules>, failures: Vec<LoadFailure>) -> LoadReport {
        let mut report = LoadReport { failures, ..LoadReport::default() };
        for file in loaded {
            report.files += 1;
            self.merge(file, &mut report);
        }
        self.check_correlations(&mut report);
        report.detections = self.detections.len();
        report.correlations = self.correlations.len();
        report.filters = self.filters.len();
        report
    }

    /// Parses one YAML text (for tests and for rules that arrive over the API).
    pub fn from_yaml(yaml: &str) -> (RuleSet, LoadReport) {
        let mut set = RuleSet::default();
        let mut report = LoadReport { files: 1, ..LoadReport::default() };
        set.merge(read_rules(Path::new("<inline>"), Some(yaml), 1), &mut report);
        set.check_correlations(&mut report);
        report.detections = set.detections.len();
        report.correlations = set.correlations.len();
        report.filters = set.filters.len();
        (set, report)
    }

    /// Adds the built-in rules ([`BUILTIN_RULES`]) to a loaded set, counted in `report`.
    pub fn add_builtin(&mut self, report: &mut LoadReport) {
        report.files += 1;
        self.merge(read_rules(Path::new(BUILTIN_PATH), Some(BUILTIN_RULES), report.files), report);
        self.check_correlations(report);
        report.detections = self.detections.len();
        report.correlations = self.correlations.len();
        report.filters = self.filters.len();
    }

    fn merge(&mut self, file: FileRules, report: &mut LoadReport) {
        report.failures.extend(file.failures);
        for (path, rule, compiled, source) in file.detections {
            self.detections.push((path, rule));
            self.compiled.push(compiled);
            self.sources.push(source);
        }
        self.correlations.extend(file.correlations);
        self.filters.extend(file.filters);
    }

    /// The detection rule with Sigma id `id`: the file it was loaded from ([`BUILTIN_PATH`]
    /// for the built-in rules, `<inline>` for text), its title, and the file's text as it was
    /// loaded; `None` for an id no loaded rule has.
    pub fn detection_source(&self, id: &str) -> Option<(&Path, &str, &str)> {
        if id.starts_with(ANONYMOUS_ID_PREFIX) {
            return None;
        }
        let i = self.detections.iter().position(|(_, r)| r.id.as_deref() == Some(id))?;
        let (path, rule) = &self.detections[i];
        Some((path.as_path(), rule.title.as_str(), &self.sources[i]))
    }

    /// A copy of the first detection rule (to build rules from other documents).
    pub(crate) fn first_detection(&self) -> Option<SigmaRule> {
        self.detections.first().map(|(_, r)| r.clone())
    }

    /// Drops correlations that refer to rules that did not load (reporting each), so one
    /// bad reference does not take the whole set down.
    fn check_correlations(&mut self, report: &mut LoadReport) {
        let mut known: HashSet<String> = HashSet::new();
        for (_, r) in &self.detections {
            known.extend(r.id.iter().cloned());
            known.extend(r.name.iter().cloned());
        }
        for (_, c) in &self.correlations {
            known.extend(c.id.iter().cloned());
            known.extend(c.name.iter().cloned());
        }
        let mut kept = Vec::new();
        for (path, c) in std::mem::take(&mut self.correlations) {
            match c.rules.iter().find(|r| !known.contains(*r)) {
                None => kept.push((path, c)),
                Some(missing) => report.failures.push(LoadFailure {
                    path,
                    rule: Some(c.title.clone()),
                    reason: format!("correlation refers to rule `{missing}`, which is not loaded"),
                }),
            }
        }
        self.correlations = kept;
    }
}

/// Reads (unless `text` is given), parses and compiles one rule file, the `file_no`-th
/// loaded: rules without an id get a local one from it (`file_no:index`), so ids do not
/// depend on which thread read which file.
fn read_rules(path: &Path, text: Option<&str>, file_no: usize) -> FileRules {
    let source = match text {
        Some(t) => Arc::from(t),
        None => match read_text(path) {
            Ok(t) => t,
            Err(failed) => return failed,
        },
    };
    match parse(&source) {
        Ok(parsed) => build(path, source, file_no, parsed),
        Err(e) => FileRules { failures: vec![failure(path, None, e.to_string())], ..FileRules::default() },
    }
}

/// [`read_rules`] through a [`RuleCache`]: a file whose text the cache holds is not
/// parsed. Also gives the file's cache key and, when it was parsed, its new entry.
fn read_rules_cached(path: &Path, file_no: usize, cache: &RuleCache) -> (FileRules, Option<(String, Option<String>)>) {
    let source = match read_text(path) {
        Ok(t) => t,
        Err(failed) => return (failed, None),
    };
    let key = crate::rule_cache::key(&source);
    if let Some(parsed) = cache.get(&key) {
        return (build(path, source, file_no, parsed), Some((key, None)));
    }
    match parse(&source) {
        Ok(parsed) => {
            let entry = crate::rule_cache::entry(&parsed);
            let rules = build(path, source, file_no, parsed);
            (rules, entry.map(|e| (key, Some(e))))
        }
        Err(e) => (FileRules { failures: vec![failure(path, None, e.to_string())], ..FileRules::default() }, None),
    }
}

fn failure(path: &Path, rule: Option<String>, reason: String) -> LoadFailure {
    LoadFailure { path: path.to_owned(), rule, reason }
}

/// A rule file's text, or the failure that says why it could not be read.
fn read_text(path: &Path) -> Result<Arc<str>, FileRules> {
    std::fs::read_to_string(path).map(Arc::from).map_err(|e| FileRules {
        failures: vec![failure(path, None, format!("cannot read: {e}"))],
        ..FileRules::default()
    })
}

/// What rsigma-parser makes of a rule file's text (the whole file's error if nothing).
fn parse(source: &str) -> Result<Parsed, rsigma_parser::SigmaParserError> {
    rsigma_parser::parse_sigma_yaml(source).map(Parsed::from)
}

/// A parsed rule file made ready: Sekimori's fixes applied, ids given, rules compiled.
fn build(path: &Path, source: Arc<str>, file_no: usize, parsed: Parsed) -> FileRules {
    let mut out = FileRules::default();
    out.failures.extend(parsed.errors.into_iter().map(|e| failure(path, None, e)));
    for (i, mut rule) in parsed.rules.into_iter().enumerate() {
        crate::anchors::fix(&mut rule.detection);
        if rule.id.is_none() {
            // The correlation layer tells rules apart by id; give id-less ones a local one.
            rule.id = Some(format!("{ANONYMOUS_ID_PREFIX}{file_no}:{i}"));
        }
        match rsigma_eval::compile_rule(&rule) {
            Ok(compiled) => out.detections.push((path.to_owned(), rule, compiled, Arc::clone(&source))),
            Err(e) => out.failures.push(failure(path, Some(rule.title.clone()), e.to_string())),
        }
    }
    out.correlations.extend(parsed.correlations.into_iter().map(|c| (path.to_owned(), temporal_default(c))));
    out.filters.extend(parsed.filters.into_iter().map(|mut f| {
        crate::anchors::fix(&mut f.detection);
        (path.to_owned(), f)
    }));
    out
}

/// The Sigma specification: a temporal correlation without a condition fires when *all*
/// its rules have matched within the timespan. rsigma-parser 0.23 defaults it to "at
/// least one" (which fires on any single event); restore the specified default.
fn temporal_default(mut c: CorrelationRule) -> CorrelationRule {
    let temporal = matches!(c.correlation_type, CorrelationType::Temporal | CorrelationType::TemporalOrdered);
    if let CorrelationCondition::Threshold { predicates, field: None, percentile: None } = &mut c.condition {
        if temporal && predicates.as_slice() == [(ConditionOperator::Gte, 1)] && c.rules.len() > 1 {
            *predicates = vec![(ConditionOperator::Gte, c.rules.len() as u64)];
        }
    }
    c
}

/// `work(i)` for every `i` below `n`, on every core, returned in order of `i`. Threads
/// take the next item from a shared counter, item `order(k)` for the `k`-th taken (so
/// costly items can go first), so one thread's costlier items do not leave the others
/// idle: rule files cost orders of magnitude apart (a process-creation rule with many
/// wildcards against a cloud one), as do log-source groups (Windows process creation is
/// about a third of SigmaHQ's rules). The result is what one thread gives.
fn on_every_core<R: Send>(
    n: usize,
    order: impl Fn(usize) -> Option<usize> + Sync,
    work: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(n).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(i) =
                        order(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).filter(|&i| i < n)
                    {
                        done.push((i, work(i)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Fields read as an event's time, for correlation windows (first present wins).
pub const TIMESTAMP_FIELDS: &[&str] =
    &["@timestamp", "timestamp", "TimeCreated_SystemTime", "TimeCreated", "eventTime", "EventTime", "createdDateTime"];

/// Runs a [`RuleSet`] over events: each event against the rules of its own log source
/// ([`LogSourceMap`]), then correlations across events.
pub struct Hunter {
    /// Detection rules grouped by their (product, service, category).
    buckets: Vec<Bucket>,
    logsources: LogSourceMap,
    /// Present when correlation rules are loaded; it sees every detection.
    correlations: Option<CorrelationEngine>,
    /// Detections remembered by what the rules can see ([`crate::memo`]).
    memo: Memo,
    /// Whether the groups' keyword gates are used (on unless turned off for a test).
    gates: bool,
    /// Whether the groups' literal sieves are used (likewise).
    sieves: bool,
    /// The top-level fields the rules read, each event's put in slots once ([`crate::event`]).
    fields: FieldIndex,
    /// Tells this hunter's groups from another's in the cache of [`Hunter::groups_for`].
    id: u64,
    /// The fields each rule reads under a `not`, for verdicts a mapped event cannot settle
    /// ([`crate::unknown`]).
    negated: NegatedFields,
    /// Whether rules a mapped event cannot decide are looked for ([`Hunter::set_undecided`]).
    undecided: bool,
}

/// Numbers hunters ([`Hunter::groups_for`]).
static HUNTERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// The groups that admitted the last log source placed on this thread, and whose they
    /// are: events of one stream mostly share their log source.
    static ADMITTED: std::cell::RefCell<Option<(u64, EventLogSource, Vec<u32>)>> =
        const { std::cell::RefCell::new(None) };
}

/// A rule's (product, service, category).
type LogSourceKey = (Option<String>, Option<String>, Option<String>);

struct Bucket {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
    /// Its rules, compiled, with the filter rules applied.
    rules: Vec<CompiledRule>,
    /// rsigma's engine over the same rules, built only when the sieves are turned off
    /// ([`Hunter::set_sieves`]): its candidate and bloom indexes (large automata) are not
    /// needed in front of the sieve, and building them was most of the time and memory of
    /// loading.
    engine: std::sync::OnceLock<Engine>,
    /// The event fields its rules (and filters) read, if memoisable.
    visible: Option<Visible>,
    /// When every rule needs one of a set of keywords: the search that decides whether
    /// the group runs at all ([`crate::keywords`]).
    keywords: Option<KeywordGate>,
    /// The literal sieve in front of the engine's rules ([`crate::sieve`]).
    sieve: Sieve,
    /// Its rules' relaxed copies ([`crate::relax`]), made the first time a mapped event
    /// reaches the group with undecided rules asked for.
    relaxed: std::sync::OnceLock<Vec<Option<Relaxed>>>,
}

impl Bucket {
    /// The group's rules that did not fire on `event` (they are not in `fired`, this group's
    /// results) but whose relaxed copies do.
    fn undecided(&self, event: &SigmaEvent<'_>, fired: &[rsigma_eval::EvaluationResult]) -> Vec<Undecided> {
        let relaxed = self.relaxed.get_or_init(|| crate::relax::of_all(&self.rules));
        let mut out = Vec::new();
        for (rule, relaxed) in self.rules.iter().zip(relaxed) {
            let Some(relaxed) = relaxed else { continue };
            if fired.iter().any(|r| r.header.rule_title == rule.title && r.header.rule_id == rule.id) {
                continue;
            }
            let missing = relaxed.missing(event);
            if !missing.is_empty() && relaxed.fires(event) {
                out.push(Undecided { title: rule.title.clone(), missing });
            }
        }
        out
    }

    /// The group of rules with one log source, its sieve not yet given slots.
    fn build(
        (product, service, category): &LogSourceKey,
        members: &[(&SigmaRule, &CompiledRule)],
        filters: &[(PathBuf, FilterRule)],
    ) -> Result<Bucket, DetectError> {
        let visible =
            Visible::of(members.iter().map(|(r, _)| &r.detection).chain(filters.iter().map(|(_, f)| &f.detection)));
        // Filters only narrow a rule (`and not filter`), so the rules' own requirement
        // stands with them applied.
        let keywords = KeywordGate::of(members.iter().map(|(r, _)| &r.detection));
        // Compiled when loaded (`compile_rule` is what the engine's own loading does
        // without pipelines, which Sekimori does not use).
        let compiled = members.iter().map(|(_, c)| (*c).clone());
        let rules: Vec<CompiledRule> = if filters.is_empty() {
            compiled.collect()
        } else {
            // rsigma applies filter rules to the rules an engine holds.
            let mut engine = Engine::new();
            engine.extend_compiled_rules(compiled);
            for (path, f) in filters {
                engine
                    .apply_filter(f)
                    .map_err(|e| DetectError::Compile(format!("{}: {}: {e}", path.display(), f.title)))?;
            }
            engine.rules().to_vec()
        };
        let sieve = Sieve::unslotted(&rules)?;
        Ok(Bucket {
            product: product.clone(),
            service: service.clone(),
            category: category.clone(),
            rules,
            engine: std::sync::OnceLock::new(),
            visible,
            keywords,
            sieve,
            relaxed: std::sync::OnceLock::new(),
        })
    }
}

impl std::fmt::Debug for Hunter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hunter")
            .field("logsource_groups", &self.buckets.len())
            .field("detections", &self.buckets.iter().map(|b| b.rules.len()).sum::<usize>())
            .field("correlations", &self.correlations.as_ref().map(CorrelationEngine::correlation_rule_count))
            .finish()
    }
}

impl Hunter {
    /// Compiles `rules` for replaying logs: an event's time comes from its own fields, and
    /// an event without one still gets detections but never advances a correlation window
    /// (the wall clock means nothing when replaying old logs).
    pub fn new(rules: &RuleSet) -> Result<Hunter, DetectError> {
        let mut groups: BTreeMap<LogSourceKey, Vec<(&SigmaRule, &CompiledRule)>> = BTreeMap::new();
        for ((_, r), c) in rules.detections.iter().zip(&rules.compiled) {
            let ls = &r.logsource;
            groups.entry((ls.product.clone(), ls.service.clone(), ls.category.clone())).or_default().push((r, c));
        }
        // Groups are built on every core (the sieves' automata are most of the work), taken
        // from a shared counter largest first (Windows process creation alone is about a
        // third of SigmaHQ's rules: taken last, it left the other core idle); then their
        // fields get slots in the groups' order, which gives the slots one thread would.
        let groups: Vec<_> = groups.into_iter().collect();
        let mut largest_first: Vec<usize> = (0..groups.len()).collect();
        largest_first.sort_by_key(|&i| std::cmp::Reverse(groups[i].1.len()));
        let built = on_every_core(
            groups.len(),
            |k| largest_first.get(k).copied(),
            |i| Bucket::build(&groups[i].0, &groups[i].1, &rules.filters),
        );
        let mut fields = FieldIndex::default();
        let mut buckets = Vec::with_capacity(built.len());
        for bucket in built {
            let mut bucket = bucket?;
            bucket.sieve.assign_slots(&mut fields);
            if let Some(v) = &mut bucket.visible {
                v.assign_slots(&mut fields);
            }
            buckets.push(bucket);
        }
        let correlations = if rules.correlations.is_empty() {
            None
        } else {
            let config = CorrelationConfig {
                timestamp_fields: TIMESTAMP_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
                timestamp_fallback: TimestampFallback::Skip,
                ..CorrelationConfig::default()
            };
            let mut engine = CorrelationEngine::new(config);
            let collection = SigmaCollection {
                rules: rules.detections.iter().map(|(_, r)| r.clone()).collect(),
                ..SigmaCollection::new()
            };
            engine.add_collection(&collection).map_err(|e| DetectError::Compile(e.to_string()))?;
            for (path, c) in &rules.correlations {
                engine
                    .add_correlation(c)
                    .map_err(|e| DetectError::Compile(format!("{}: {}: {e}", path.display(), c.title)))?;
            }
            Some(engine)
        };
        let memo = Memo::new(Memo::DEFAULT_BYTES, buckets.len());
        Ok(Hunter {
            buckets,
            logsources: LogSourceMap::builtin(),
            correlations,
            memo,
            gates: true,
            sieves: true,
            fields,
            id: HUNTERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            negated: NegatedFields::of(rules.detections.iter().map(|(_, r)| r)),
            undecided: false,
        })
    }

    /// Every rule that fires on `event` (already normalised), detections first, then
    /// correlations that this event completed.
    pub fn process(&mut self, event: &Value) -> Vec<Hit> {
        let detections = self.detect(event);
        self.correlate(event, detections)
    }

    /// The detection rules that fire on `event` (already normalised). Needs no exclusive
    /// access: events can be judged on several threads at once, then correlated in order.
    pub fn detect(&self, event: &Value) -> Detections {
        let placed = self.logsources.classify(event);
        let json = SigmaEvent::indexed(event, &self.fields);
        let mut detections = Vec::new();
        let mut undecided = Vec::new();
        // Undecided rules are looked for only when asked, on mapped events.
        let undecided_wanted = self.undecided && self.logsources.is_mapped(event);
        for i in self.groups_for(placed) {
            let b = &self.buckets[i as usize];
            if !self.gates || b.keywords.as_ref().is_none_or(|g| g.admits(event)) {
                let i = i as usize;
                let before = detections.len();
                detections.extend(self.memo.detections(i, b.visible.as_ref(), &json, || {
                    if self.sieves {
                        b.sieve.evaluate(&b.rules, &json)
                    } else {
                        b.engine
                            .get_or_init(|| {
                                let mut engine = Engine::new();
                                engine.extend_compiled_rules(b.rules.iter().cloned());
                                engine
                            })
                            .evaluate(&json)
                    }
                }));
                if undecided_wanted {
                    undecided.extend(b.undecided(&json, &detections[before..]));
                }
            }
        }
        // A built-in event given Sysmon's names: a rule that read a field it lacks under a
        // `not` has filters that could not be checked.
        let mut unchecked = Vec::new();
        if !detections.is_empty() && self.logsources.is_mapped(event) {
            for id in detections.iter().filter_map(|d| d.header.rule_id.as_ref()) {
                let missing = self.negated.missing(id, event);
                if !missing.is_empty() {
                    unchecked.push((id.clone(), missing));
                }
            }
        }
        Detections { results: detections, unchecked, undecided }
    }

    /// The groups (in order) whose rules may match an event placed so.
    fn groups_for(&self, placed: EventLogSource) -> Vec<u32> {
        let cached = ADMITTED.with_borrow(|last| match last {
            Some((id, source, groups)) if *id == self.id && *source == placed => Some(groups.clone()),
            _ => None,
        });
        if let Some(groups) = cached {
            return groups;
        }
        let groups: Vec<u32> = (0..self.buckets.len() as u32)
            .filter(|&i| {
                let b = &self.buckets[i as usize];
                placed.admits(b.product.as_deref(), b.service.as_deref(), b.category.as_deref())
            })
            .collect();
        ADMITTED.set(Some((self.id, placed, groups.clone())));
        groups
    }

    /// Turns the memo of detections off (`false`) or on with its default size; on by
    /// default. Results are the same either way; only the time differs.
    pub fn set_memo(&mut self, on: bool) {
        self.memo = Memo::new(if on { Memo::DEFAULT_BYTES } else { 0 }, self.buckets.len());
    }

    /// Turns the keyword gates off (`false`) or on (the default). Results are the same
    /// either way; only the time differs.
    pub fn set_keyword_gates(&mut self, on: bool) {
        self.gates = on;
    }

    /// Turns the literal sieves off (`false`: rsigma's engine judges every group alone) or
    /// on (the default). Results are the same either way; only the time differs.
    pub fn set_sieves(&mut self, on: bool) {
        self.sieves = on;
    }

    /// Also looks, on each built-in event mapped to Sysmon's names, for the rules it cannot
    /// decide ([`Detections::undecided`], [`crate::relax`]): off by default, as each such
    /// event is then judged again by the relaxed copies of the rules that did not fire.
    pub fn set_undecided(&mut self, on: bool) {
        self.undecided = on;
    }

    /// Whether correlation rules are loaded (without them, [`Hunter::correlate`] only
    /// turns detections into hits).
    pub fn has_correlations(&self) -> bool {
        self.correlations.is_some()
    }

    /// The hits of `event`: its detections, then the correlations they complete (in the
    /// order events are correlated).
    pub fn correlate(&mut self, event: &Value, detections: Detections) -> Vec<Hit> {
        correlate(self.correlations.as_mut(), event, detections)
    }

    /// Takes the correlation rules out into a [`Correlator`] of their own, so that events
    /// can be correlated in order on one thread while this hunter, left with the detection
    /// rules, judges later events on others.
    pub fn split_correlator(&mut self) -> Correlator {
        Correlator(self.correlations.take())
    }

    /// Hits of detections alone, for a hunter without correlation rules.
    pub fn hits(detections: Detections) -> Vec<Hit> {
        correlate(None, &Value::Null, detections)
    }
}

/// Correlation rules apart from a [`Hunter`]'s detection rules ([`Hunter::split_correlator`]).
pub struct Correlator(Option<CorrelationEngine>);

impl Correlator {
    /// Whether the events themselves are needed (there are correlation rules): without
    /// them, [`Correlator::correlate`] reads only the detections and any event will do.
    pub fn reads_events(&self) -> bool {
        self.0.is_some()
    }

    /// The hits of `event`: its detections, then the correlations they complete.
    pub fn correlate(&mut self, event: &Value, detections: Detections) -> Vec<Hit> {
        correlate(self.0.as_mut(), event, detections)
    }
}

fn correlate(engine: Option<&mut CorrelationEngine>, event: &Value, detections: Detections) -> Vec<Hit> {
    let Detections { results, unchecked, .. } = detections;
    let results = match engine {
        Some(c) => c.correlate_detections(&JsonEvent::borrow(event), results),
        None => results,
    };
    results.into_iter().map(|r| hit(r, &unchecked)).collect()
}

/// The hit of a result, with the fields whose filters could not be checked if it is a
/// detection among `unchecked`.
fn hit(r: rsigma_eval::EvaluationResult, unchecked: &[(String, Vec<String>)]) -> Hit {
    let fields = match (r.is_detection(), &r.header.rule_id) {
        (true, Some(id)) => unchecked.iter().find(|(u, _)| u == id).map(|(_, fields)| fields.clone()),
        _ => None,
    };
    let mut hit = Hit::from_result(r);
    hit.unchecked = fields.unwrap_or_else(Vec::new);
    hit
}

/// The detection rules that fired on one event, not yet correlated ([`Hunter::detect`]).
#[derive(Debug)]
pub struct Detections {
    results: Vec<rsigma_eval::EvaluationResult>,
    /// By rule id: the fields whose filters could not be checked ([`crate::unknown`]).
    unchecked: Vec<(String, Vec<String>)>,
    /// The rules a mapped event could not decide, when asked for ([`Hunter::set_undecided`]).
    undecided: Vec<Undecided>,
}

/// A rule that did not fire on a mapped event but would have, had the fields the event does
/// not record matched ([`crate::relax`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    pub title: String,
    /// The fields it reads that the event lacks.
    pub missing: Vec<String>,
}

impl Detections {
    /// Whether no detection rule fired.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// The rules this event could not decide (empty unless asked for).
    pub fn undecided(&self) -> &[Undecided] {
        &self.undecided
    }

    /// Each result in full, as rsigma serialises it (rule, the selections that held and
    /// the fields that matched, in the order found), in rule order.
    pub fn to_json(&self) -> Vec<Value> {
        self.results.iter().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)).collect()
    }
}
