//! `sekimori alerts …`: alert routing from the command line. `route` answers "where will
//! this go?" for a routing document and a set of labels, as `amtool config routes test`
//! does for Alertmanager.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use sekimori_respond::{Labels, ResolvedRoute, RoutingConfig, RoutingTree};

/// `sekimori alerts …`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the receivers an alert with these labels reaches, and through which routes
    /// (exit 1 when the document cannot be used).
    Route {
        /// The routing document (YAML or JSON, docs/respond.md).
        #[arg(long)]
        file: PathBuf,
        /// The alert's labels: `name=value,name=value`.
        #[arg(long, value_parser = parse_labels)]
        labels: Labels,
    },
}

fn parse_labels(text: &str) -> Result<Labels, LabelsError> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| LabelsError(pair.to_owned()))?;
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// A `--labels` item that is not `name=value`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not name=value")]
pub struct LabelsError(String);

/// Runs an `alerts` command.
pub fn run(cmd: AlertsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AlertsCommand::Route { file, labels } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
            let config: RoutingConfig = match yaml_serde::from_str(&text) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let tree = match RoutingTree::new(config) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let mut out = std::io::stdout().lock();
            for route in tree.routes_for(&labels) {
                writeln!(out, "{}", describe(route))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// One line: the receiver, the route, its grouping and timers, its mute windows.
fn describe(r: &ResolvedRoute) -> String {
    let group_by = match &r.group_by {
        None => "...".to_owned(),
        Some(labels) if labels.is_empty() => "-".to_owned(),
        Some(labels) => labels.iter().cloned().collect::<Vec<_>>().join(","),
    };
    let mut line = format!(
        "{}\t{}\tgroup_by={group_by} group_wait={} group_interval={} repeat_interval={}",
        r.receiver,
        r.path,
        human(r.timers.group_wait),
        human(r.timers.group_interval),
        human(r.timers.repeat_interval)
    );
    if !r.mute_time_intervals.is_empty() {
        line.push_str(&format!(" muted_during={}", r.mute_time_intervals.join(",")));
    }
    if !r.active_time_intervals.is_empty() {
        line.push_str(&format!(" active_during={}", r.active_time_intervals.join(",")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_durations_as_written() {
        let l = parse_labels("severity=high, rule=brute-force").expect("labels");
        assert_eq!(l.get("rule").map(String::as_str), Some("brute-force"));
        assert!(parse_labels("severity").is_err());
        assert_eq!(human(Duration::from_secs(4 * 3600)), "4h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }
}
