//! `sekimori alerts …`: alerts and their routing from the command line. `route` answers
//! "where will this go?" for a routing document and a set of labels, as `amtool config
//! routes test` does for Alertmanager; `list`, `show`, `ack`, `resolve`, `comment` and
//! `assign` triage alerts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use sekimori_respond::{Labels, ResolvedRoute, RoutingConfig, RoutingTree};

use crate::cli::admin;
use crate::Remote;

/// `sekimori alerts …`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the receivers an alert with these labels reaches, and through which routes
    /// (exit 1 when the document cannot be used).
    Route {
        #[command(flatten)]
        remote: Remote,
        /// A routing document (YAML or JSON, docs/respond.md); without it, the tenant's
        /// document on the server (SEKIMORI_URL, SEKIMORI_TOKEN).
        #[arg(long)]
        file: Option<PathBuf>,
        /// The alert's labels: `name=value,name=value`.
        #[arg(long, value_parser = parse_labels)]
        labels: Labels,
    },
    /// The tenant's routing document on the server.
    Routing {
        #[command(subcommand)]
        command: RoutingCommand,
    },
    /// The tenant's silences on the server.
    Silence {
        #[command(subcommand)]
        command: SilenceCommand,
    },
    /// Send a test notification to each channel of a receiver of the tenant's routing
    /// document now, and print what each did (exit 1 when one was not delivered).
    TestReceiver {
        #[command(flatten)]
        remote: Remote,
        /// The receiver's name.
        name: String,
    },
    /// The tenant's alerts, newest first, one per line: id, state, level, title, entity,
    /// assignee, time.
    List {
        #[command(flatten)]
        remote: Remote,
        /// Only those `firing`, `acknowledged` or `resolved`.
        #[arg(long)]
        state: Option<String>,
        /// Only those about this user.
        #[arg(long, conflicts_with_all = ["ip", "host"])]
        user: Option<String>,
        /// Only those about this IP address.
        #[arg(long, conflicts_with = "host")]
        ip: Option<String>,
        /// Only those about this host.
        #[arg(long)]
        host: Option<String>,
        /// At most this many (default 100).
        #[arg(long)]
        limit: Option<i64>,
    },
    /// One alert with its triage and comments (JSON).
    Show {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
    },
    /// Acknowledge a firing alert (and take it, if nobody has).
    Ack {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
    },
    /// Resolve an alert; its groups are told.
    Resolve {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
        /// Why (kept as a comment).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Comment on an alert.
    Comment {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
        /// The comment.
        text: String,
    },
    /// Assign an alert (`--none` unassigns).
    Assign {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
        /// Who.
        #[arg(required_unless_present = "none")]
        assignee: Option<String>,
        /// Unassign.
        #[arg(long)]
        none: bool,
    },
}

/// `sekimori alerts silence …`
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence alerts matching every `--matcher` until `--ends-at` (from `--starts-at`, or now).
    Add {
        #[command(flatten)]
        remote: Remote,
        /// `name=value`, `name!=value`, `name=~regex`, `name!~regex`; repeat for more.
        #[arg(long = "matcher", required = true)]
        matchers: Vec<String>,
        /// RFC 3339; default now.
        #[arg(long)]
        starts_at: Option<String>,
        /// RFC 3339.
        #[arg(long)]
        ends_at: String,
        /// Why.
        #[arg(long)]
        comment: String,
    },
    /// The silences that have not ended, one per line.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// End a silence now.
    Expire {
        #[command(flatten)]
        remote: Remote,
        /// Its id.
        id: String,
    },
}

/// `sekimori alerts routing …`
#[derive(Debug, Subcommand)]
pub enum RoutingCommand {
    /// Print the current document and its version.
    Show {
        #[command(flatten)]
        remote: Remote,
    },
    /// Write a document (YAML or JSON) as the next version; refused with the place when the
    /// engine cannot use it, or when someone else wrote a version meanwhile.
    Set {
        #[command(flatten)]
        remote: Remote,
        /// The document.
        #[arg(long)]
        file: PathBuf,
        /// The version the change was made on (default: the current one).
        #[arg(long)]
        base_version: Option<i64>,
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

/// Reads a routing document as JSON (YAML is accepted, JSON being YAML).
fn read_document(file: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    yaml_serde::from_str(&text).with_context(|| format!("{}", file.display()))
}

/// Runs an `alerts` command.
pub async fn run(cmd: AlertsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AlertsCommand::Route { remote, file, labels } => {
            let (source, document) = match file {
                Some(file) => (file.display().to_string(), read_document(&file)?),
                None => {
                    let current = admin(&remote)?.routing().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    if current["document"].is_null() {
                        eprintln!("the tenant has no routing document yet (sekimori alerts routing set --file …)");
                        return Ok(ExitCode::from(1));
                    }
                    (format!("{} (version {})", remote.url, current["version"]), current["document"].clone())
                }
            };
            let tree = match serde_json::from_value::<RoutingConfig>(document)
                .map_err(|e| e.to_string())
                .and_then(|c| RoutingTree::new(c).map_err(|e| e.to_string()))
            {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{source}: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let mut out = std::io::stdout().lock();
            for route in tree.routes_for(&labels) {
                writeln!(out, "{}", describe(route))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::Silence { command } => silence(command).await,
        AlertsCommand::List { remote, state, user, ip, host, limit } => {
            let about = [("user", &user), ("ip", &ip), ("host", &host)]
                .into_iter()
                .find_map(|(kind, v)| v.as_deref().map(|v| (kind, v)));
            let list = match admin(&remote)?.alerts(state.as_deref(), about, limit).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let mut out = std::io::stdout().lock();
            for a in list.as_array().into_iter().flatten() {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                let entity = a["entities"]["user"].as_str().or_else(|| a["entities"]["ip"].as_str()).unwrap_or("-");
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{entity}\t{}\t{}",
                    text(&a["id"]),
                    text(&a["state"]),
                    text(&a["level"]),
                    text(&a["title"]),
                    text(&a["assignee"]),
                    text(&a["created_at"])
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::TestReceiver { remote, name } => {
            let report = match admin(&remote)?.test_receiver(&name).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let mut all = true;
            let mut out = std::io::stdout().lock();
            for c in report.as_array().into_iter().flatten() {
                let delivered = c["delivered"].as_bool().unwrap_or(false);
                all &= delivered;
                let attempts: Vec<&str> =
                    c["attempts"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    c["channel"].as_str().unwrap_or("-"),
                    if delivered { "delivered" } else { "failed" },
                    attempts.join(", ")
                )?;
            }
            if report.as_array().is_some_and(Vec::is_empty) {
                eprintln!("receiver {name} has no channels");
            }
            Ok(if all { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        AlertsCommand::Show { remote, id } => match admin(&remote)?.alert(&id).await {
            Ok(a) => {
                println!("{}", serde_json::to_string_pretty(&a)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(1))
            }
        },
        AlertsCommand::Ack { remote, id } => triage(&remote, &id, "ack", serde_json::json!({})).await,
        AlertsCommand::Resolve { remote, id, comment } => {
            triage(&remote, &id, "resolve", serde_json::json!({"comment": comment})).await
        }
        AlertsCommand::Comment { remote, id, text } => {
            triage(&remote, &id, "comments", serde_json::json!({"body": text})).await
        }
        AlertsCommand::Assign { remote, id, assignee, none } => {
            let who = if none { None } else { assignee };
            triage(&remote, &id, "assignee", serde_json::json!({"assignee": who})).await
        }
        AlertsCommand::Routing { command: RoutingCommand::Show { remote } } => {
            let current = admin(&remote)?.routing().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&current)?);
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::Routing { command: RoutingCommand::Set { remote, file, base_version } } => {
            let document = read_document(&file)?;
            let client = admin(&remote)?;
            let base = match base_version {
                Some(v) => v,
                None => client.routing().await.map_err(|e| anyhow::anyhow!("{e}"))?["version"].as_i64().unwrap_or(0),
            };
            match client.set_routing(base, &document).await {
                Ok(written) => {
                    println!("routing document version {}", written["version"]);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// A triage change; prints nothing on success, the problem on refusal (exit 1).
async fn triage(remote: &Remote, id: &str, change: &str, body: serde_json::Value) -> anyhow::Result<ExitCode> {
    match admin(remote)?.triage_alert(id, change, &body).await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Runs an `alerts silence` command.
async fn silence(cmd: SilenceCommand) -> anyhow::Result<ExitCode> {
    let refused = |e: sekimori_client::ClientError| {
        eprintln!("{e}");
        Ok(ExitCode::from(1))
    };
    match cmd {
        SilenceCommand::Add { remote, matchers, starts_at, ends_at, comment } => {
            let mut body = serde_json::json!({"matchers": matchers, "ends_at": ends_at, "comment": comment});
            if let Some(s) = starts_at {
                body["starts_at"] = s.into();
            }
            match admin(&remote)?.add_silence(&body).await {
                Ok(s) => {
                    println!("{}", s["id"].as_str().context("the server's answer names no silence id")?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        SilenceCommand::List { remote } => match admin(&remote)?.silences().await {
            Ok(list) => {
                let mut out = std::io::stdout().lock();
                for s in list.as_array().into_iter().flatten() {
                    let matchers: Vec<&str> =
                        s["matchers"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).collect();
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                    writeln!(
                        out,
                        "{}\t{}\t{} .. {}\t{}\t{}\t{}",
                        text("id"),
                        text("state"),
                        text("starts_at"),
                        text("ends_at"),
                        matchers.join(","),
                        text("created_by"),
                        text("comment")
                    )?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e),
        },
        SilenceCommand::Expire { remote, id } => match admin(&remote)?.expire_silence(&id).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => refused(e),
        },
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
