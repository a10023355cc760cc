//! `sekimori hunt` and `sekimori rules check`: Sigma rules over log files, offline.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sekimori_detect::output::{write_head, write_hit, write_hits, Format};
use sekimori_detect::{log_files, rule_cache, DeclaredLogSource, FieldMapping, Hunter, LoadReport, RuleSet};

use crate::hunt_files::Piece;
use serde_json::Value;

/// Arguments of `sekimori hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// A Sigma rule file or a folder of them (repeatable).
    #[arg(long, required = true)]
    rules: Vec<PathBuf>,
    /// A field mapping file (YAML: `fields: {source_field: SigmaField}`).
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Output: table (with a summary), csv, json or jsonl.
    #[arg(long, default_value = "table")]
    format: Format,
    /// Threads judging a file's events (0: one per core). Output is the same for any number.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// The Sigma log source of events the built-in data cannot place, as
    /// `product=P,service=S,category=C` (each part optional), e.g. `category=firewall`.
    #[arg(long, value_parser = parse_logsource)]
    logsource: Option<DeclaredLogSource>,
    /// Also report the rules that built-in events mapped to Sysmon's names could not
    /// decide: rules that did not fire but would have, had the fields those events do not
    /// record matched (docs/detection.md). Those events are judged again for it.
    #[arg(long)]
    undecided: bool,
    /// Where parsed rule files are kept between hunts, keyed by each file's SHA-256 (default:
    /// $XDG_CACHE_HOME/sekimori, else ~/.cache/sekimori). Results are the same without it.
    #[arg(long, value_name = "DIR")]
    rule_cache: Option<PathBuf>,
    /// Parse every rule file, and neither read nor write the rule cache.
    #[arg(long, conflicts_with = "rule_cache")]
    no_rule_cache: bool,
    /// Log files or folders: JSON, NDJSON, CloudTrail, optionally .gz.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
}

/// `sekimori rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load every rule under the paths; list each one that does not load and why (exit 1 if any).
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Replay the tenant's stored events through a proposed tuning (YAML or JSON file) on the
    /// server, and list the alerts that would appear (+) or disappear (-). Admin token in
    /// SEKIMORI_TOKEN.
    Backtest {
        #[command(flatten)]
        remote: crate::Remote,
        /// The proposed tuning (docs/detection.md, Tuning).
        tuning: PathBuf,
        /// Stored events to replay, oldest first (default 10,000).
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Write a tuning file as the tenant's next tuning version (checked and audited by the
    /// server). Admin token in SEKIMORI_TOKEN.
    Tune {
        #[command(flatten)]
        remote: crate::Remote,
        tuning: PathBuf,
    },
}

pub async fn rules(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    let paths = match cmd {
        RulesCommand::Check { paths } => paths,
        RulesCommand::Backtest { remote, tuning, limit } => return crate::cli::backtest(&remote, &tuning, limit).await,
        RulesCommand::Tune { remote, tuning } => return crate::cli::tune(&remote, &tuning).await,
    };
    let (_, report) = RuleSet::load(&paths);
    let mut out = std::io::stdout().lock();
    print_report(&mut out, &report)?;
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_report(out: &mut dyn Write, report: &LoadReport) -> std::io::Result<()> {
    for f in &report.failures {
        match &f.rule {
            Some(rule) => writeln!(out, "not loaded: {}: {rule}: {}", f.path.display(), f.reason)?,
            None => writeln!(out, "not loaded: {}: {}", f.path.display(), f.reason)?,
        }
    }
    writeln!(
        out,
        "{} detection, {} correlation and {} filter rules loaded from {} files; {} not loaded",
        report.detections,
        report.correlations,
        report.filters,
        report.files,
        report.failures.len()
    )
}

pub fn hunt(args: HuntArgs) -> anyhow::Result<ExitCode> {
    let cache_dir = if args.no_rule_cache { None } else { args.rule_cache.clone().or_else(rule_cache::default_dir) };
    let (rules, report, cached) = match &cache_dir {
        Some(dir) => {
            let (rules, report, cached) = RuleSet::load_cached_in(&args.rules, dir);
            (rules, report, Some(cached))
        }
        None => {
            let (rules, report) = RuleSet::load(&args.rules);
            (rules, report, None)
        }
    };
    let mut err = std::io::stderr().lock();
    // A cache that cannot be used only costs time: say so, and go on.
    if let Some(e) = cached.as_ref().and_then(|c| c.error.as_ref()) {
        writeln!(err, "warning: {e}; rule files were parsed")?;
    }
    if !report.is_clean() || report.detections == 0 {
        print_report(&mut err, &report)?;
    }
    if report.detections == 0 {
        anyhow::bail!("no detection rules loaded from {}", display_paths(&args.rules));
    }
    let mapping = match &args.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(FieldMapping::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let mut hunter = Hunter::new(&rules).map_err(|e| anyhow::anyhow!(e))?;
    hunter.set_undecided(args.undecided);
    let workers = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    let files = log_files(&args.logs);
    let progress = err.is_terminal();
    let (mut hits, mut events, mut unreadable, mut malformed) = (Vec::new(), 0usize, 0usize, 0usize);
    // JSON lines and CSV are written as hits are found (the rest needs them all), through
    // one buffer: standard output alone is line-buffered, a write call per hit.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let streaming = args.format.streams();
    let mut found_count = 0usize;
    if streaming {
        write_head(&mut out, args.format)?;
    }
    // Hits on built-in events given Sysmon's names (Security 4688, …), by rule.
    let mut on_mapped: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    // Hits on them whose filters could not be checked (a field the events lack), by rule.
    let mut unchecked: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    // With --undecided: the rules mapped events could not decide (events by rule), and the
    // fields that left them so (rules by field).
    let mut undecided = UndecidedCounts::default();
    let prepare = |event: &mut Value| {
        if let Some(d) = &args.logsource {
            d.declare(event);
        }
        if let Some(m) = &mapping {
            m.apply(event);
        }
    };
    // Files are read and judged on every core; correlation and output follow the files'
    // order, so the result is the same for any number of threads.
    let mut correlator = hunter.split_correlator();
    let (mut shown, mut failure) = (usize::MAX, None);
    let keep_events = correlator.reads_events();
    crate::hunt_files::judge_files(&files, &hunter, workers, &prepare, keep_events, &mut |i, piece| {
        let file = &files[i];
        if progress && shown != i {
            shown = i;
            keep_first(&mut failure, write!(err, "\r\x1b[2K[{}/{}] {}", i + 1, files.len(), file.display()));
        }
        let name = file.display().to_string();
        match piece {
            Piece::Batch(batch) => {
                events += batch.len();
                for judged in batch {
                    undecided.add(judged.detections.undecided());
                    // Without correlation rules no event is kept, and none is read.
                    let event = judged.event.as_ref().unwrap_or(&Value::Null);
                    let found = correlator.correlate(event, judged.detections);
                    if !found.is_empty() && judged.mapped {
                        for h in &found {
                            *on_mapped.entry(h.title.clone()).or_insert(0usize) += 1;
                            if !h.unchecked.is_empty() {
                                let key = format!("{} [{}]", h.title, h.unchecked.join(", "));
                                *unchecked.entry(key).or_insert(0usize) += 1;
                            }
                        }
                    }
                    found_count += found.len();
                    for h in found {
                        let h = h.with_source(&name, judged.timestamp.clone());
                        if streaming {
                            keep_first(&mut failure, write_hit(&mut out, &h, args.format));
                        } else {
                            hits.push(h);
                        }
                    }
                }
            }
            Piece::Done(Err(e)) => {
                unreadable += 1;
                keep_first(&mut failure, writeln!(err, "{}skipped: {e}", if progress { "\r\x1b[2K" } else { "" }));
            }
            Piece::Done(Ok(file_malformed)) => {
                for m in &file_malformed {
                    let line =
                        writeln!(err, "{}malformed: {}: {m}", if progress { "\r\x1b[2K" } else { "" }, file.display());
                    keep_first(&mut failure, line);
                }
                malformed += file_malformed.len();
            }
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    if progress {
        write!(err, "\r\x1b[2K")?;
    }
    writeln!(
        err,
        "{} events from {} files ({unreadable} unreadable, {malformed} malformed documents); {} rules; {} hits",
        events,
        files.len() - unreadable,
        report.detections + report.correlations,
        found_count
    )?;
    if !on_mapped.is_empty() {
        let rules: Vec<String> = on_mapped.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        writeln!(
            err,
            "{} hits on built-in events mapped to Sysmon's field names (docs/detection.md): {}",
            on_mapped.values().sum::<usize>(),
            rules.join(", ")
        )?;
    }
    if !unchecked.is_empty() {
        let rules: Vec<String> = unchecked.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        writeln!(
            err,
            "{} of them unchecked, a filter naming [fields] those events do not record (docs/detection.md): {}",
            unchecked.values().sum::<usize>(),
            rules.join(", ")
        )?;
    }
    if args.undecided {
        undecided.write(&mut err)?;
    }
    if files.len() == unreadable {
        // Nothing on standard output, not even the CSV header held in the buffer.
        let _ = out.into_parts();
        anyhow::bail!(
            "nothing was read: no log file could be read from {} (a path that does not exist, or a folder without .json, .jsonl, .ndjson, .log or .evtx files)",
            display_paths(&args.logs)
        );
    }
    if !streaming {
        write_hits(&mut out, &hits, args.format)?;
    }
    out.flush()?;
    // The process ends here: freeing the compiled rules (hundreds of thousands of small
    // allocations, ~80 ms on one core for SigmaHQ's `rules/`) is left to the OS.
    std::mem::forget(hunter);
    std::mem::forget(rules);
    std::mem::forget(hits);
    Ok(ExitCode::SUCCESS)
}

/// Keeps the first error of writes made where `?` cannot return it (inside the callback
/// that takes each file's events).
fn keep_first(failure: &mut Option<std::io::Error>, result: std::io::Result<()>) {
    if let Err(e) = result {
        failure.get_or_insert(e);
    }
}

/// `product=P,service=S,category=C` (each part optional, at least one).
fn parse_logsource(text: &str) -> Result<DeclaredLogSource, String> {
    let mut d = DeclaredLogSource::default();
    for part in text.split(',') {
        let (key, value) = part.split_once('=').ok_or_else(|| format!("{part:?} is not key=value"))?;
        let slot = match key {
            "product" => &mut d.product,
            "service" => &mut d.service,
            "category" => &mut d.category,
            other => return Err(format!("unknown key {other:?} (product, service or category)")),
        };
        *slot = Some(value.to_owned());
    }
    d.validate().map_err(|e| e.to_string())?;
    if d.is_empty() {
        return Err("name a product, service or category".to_owned());
    }
    Ok(d)
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The rules mapped events could not decide, counted for the summary.
#[derive(Debug, Default)]
struct UndecidedCounts {
    /// Events by rule title.
    rules: std::collections::BTreeMap<String, usize>,
    /// Rules by the field missing (each rule once per field).
    fields: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Events with at least one.
    events: usize,
}

impl UndecidedCounts {
    fn add(&mut self, found: &[sekimori_detect::Undecided]) {
        if found.is_empty() {
            return;
        }
        self.events += 1;
        for u in found {
            *self.rules.entry(u.title.clone()).or_insert(0) += 1;
            for f in &u.missing {
                self.fields.entry(f.clone()).or_default().insert(u.title.clone());
            }
        }
    }

    /// One line: how many rules on how many events, the fields by the rules they left
    /// undecided, and the rules most often undecided (ten of each at most).
    fn write(&self, err: &mut impl Write) -> std::io::Result<()> {
        if self.rules.is_empty() {
            return writeln!(err, "no rule was left undecided by built-in events mapped to Sysmon's field names");
        }
        let mut fields: Vec<(&String, usize)> = self.fields.iter().map(|(f, r)| (f, r.len())).collect();
        fields.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut rules: Vec<(&String, &usize)> = self.rules.iter().collect();
        rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list = |items: Vec<String>, total: usize| {
            let more = total.saturating_sub(items.len());
            if more > 0 {
                format!("{}, and {more} more", items.join(", "))
            } else {
                items.join(", ")
            }
        };
        writeln!(
            err,
            "{} rules undecided on {} built-in events mapped to Sysmon's field names: they did not fire, and would have had fields those events do not record matched (docs/detection.md); by field: {}; most often: {}",
            self.rules.len(),
            self.events,
            list(
                fields
                    .iter()
                    .take(10)
                    .map(|(f, n)| format!("{f} ({n} rule{})", if *n == 1 { "" } else { "s" }))
                    .collect(),
                fields.len()
            ),
            list(rules.iter().take(10).map(|(t, n)| format!("{t} ({n})")).collect(), rules.len()),
        )
    }
}
