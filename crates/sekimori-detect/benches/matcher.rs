//! Matcher throughput: all SigmaHQ Windows rules (`rules/windows`) loaded into one hunter,
//! the Windows regression events (normalised once, as ingest would) replicated to
//! `SEKIMORI_BENCH_EVENTS` (default 1,000,000) and run through it on one thread.
//! `cargo bench -p sekimori-detect --bench matcher` (data: `SEKIMORI_SIGMA_DATA`, default
//! `../shared/data/sigma`). Prints events/s on one core and the hits seen.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time

use std::path::{Path, PathBuf};
use std::time::Instant;

use sekimori_detect::{log_files, read_events, Hunter, RuleSet};

fn main() {
    let data = std::env::var_os("SEKIMORI_SIGMA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"));
    let n: usize = std::env::var("SEKIMORI_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);

    let started = Instant::now();
    let (rules, report) = RuleSet::load(&[data.join("rules/windows")]);
    let mut hunter = Hunter::new(&rules).expect("compile");
    println!(
        "loaded {} Windows rules ({} not loaded) in {:.2} s",
        report.detections,
        report.failures.len(),
        started.elapsed().as_secs_f64()
    );

    let mut corpus = Vec::new();
    for dir in ["rules/windows", "rules-emerging-threats", "rules-threat-hunting/windows"] {
        for file in log_files(&[data.join("regression_data").join(dir)]) {
            if file.extension().is_some_and(|e| e == "json") {
                corpus.extend(read_events(&file).expect("read").events);
            }
        }
    }
    println!("{} distinct regression events, replicated to {n}", corpus.len());

    let started = Instant::now();
    let mut hits = 0usize;
    for i in 0..n {
        hits += hunter.process(&corpus[i % corpus.len()]).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("matcher: {n} events in {secs:.2} s = {:.0} events/s on one core; {hits} hits", n as f64 / secs);
}
