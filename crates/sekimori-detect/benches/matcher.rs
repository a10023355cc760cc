//! Matcher throughput: all SigmaHQ Windows rules (`rules/windows`) loaded into one hunter,
//! the Windows regression events (normalised once, as ingest would) replicated to
//! `SEKIMORI_BENCH_EVENTS` (default 1,000,000) and run through it on one thread.
//! `cargo bench -p sekimori-detect --bench matcher` (data: `SEKIMORI_SIGMA_DATA`, default
//! `../shared/data/sigma`). Prints events/s on one core and the hits seen.
//!
//! `SEKIMORI_BENCH_MEMO=0` turns the memo of detections off (it is on, as in the server and
//! `hunt`); `SEKIMORI_BENCH_GATES=0` the keyword gates and `SEKIMORI_BENCH_SIEVES=0` the literal
//! sieves (likewise on); `SEKIMORI_BENCH_UNIQUE=1` makes every copy unique (its number appended to each
//! text value but the channel and provider), so the memo never hits: its worst case.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time

use std::path::{Path, PathBuf};
use std::time::Instant;

use sekimori_detect::{log_files, read_events, Hunter, RuleSet};

/// The allocator the `sekimori` binary (server and `hunt`) runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let data = std::env::var_os("SEKIMORI_SIGMA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma"));
    let n: usize = std::env::var("SEKIMORI_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);

    let started = Instant::now();
    let (rules, report) = RuleSet::load(&[data.join("rules/windows")]);
    let mut hunter = Hunter::new(&rules).expect("compile");
    let memo = std::env::var("SEKIMORI_BENCH_MEMO").map_or(true, |v| v != "0");
    let unique = std::env::var("SEKIMORI_BENCH_UNIQUE").is_ok_and(|v| v == "1");
    hunter.set_memo(memo);
    let gates = std::env::var("SEKIMORI_BENCH_GATES").map_or(true, |v| v != "0");
    hunter.set_keyword_gates(gates);
    let sieves = std::env::var("SEKIMORI_BENCH_SIEVES").map_or(true, |v| v != "0");
    hunter.set_sieves(sieves);
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
    println!(
        "{} distinct regression events, replicated to {n}{}; memo {}, keyword gates {}, sieves {}",
        corpus.len(),
        if unique { " (every copy unique)" } else { "" },
        if memo { "on" } else { "off" },
        if gates { "on" } else { "off" },
        if sieves { "on" } else { "off" }
    );
    let copy = |i: usize| {
        let mut e = corpus[i % corpus.len()].clone();
        if let Some(m) = e.as_object_mut() {
            // Not the fields that place the event in its log source.
            for (name, v) in m.iter_mut().filter(|(k, _)| !matches!(k.as_str(), "Channel" | "Provider_Name")) {
                if let Some(s) = v.as_str() {
                    *v = format!("{s} {name}{i}").into();
                }
            }
        }
        e
    };
    // Unique copies are made before the clock starts (in chunks, to bound memory).
    let mut hits = 0usize;
    let mut elapsed = std::time::Duration::ZERO;
    let chunk = 50_000;
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let made: Vec<serde_json::Value> = if unique { (start..end).map(copy).collect() } else { Vec::new() };
        let started = Instant::now();
        for i in start..end {
            let event = if unique { &made[i - start] } else { &corpus[i % corpus.len()] };
            hits += hunter.process(event).len();
        }
        elapsed += started.elapsed();
    }
    let secs = elapsed.as_secs_f64();
    println!("matcher: {n} events in {secs:.2} s = {:.0} events/s on one core; {hits} hits", n as f64 / secs);
}
