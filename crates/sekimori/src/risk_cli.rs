//! `sekimori risk …`: the tenant's login risk policy and the explanation of a judged
//! attempt (docs/risk.md), over the admin API (SEKIMORI_URL, SEKIMORI_TOKEN).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;

use crate::cli::{admin, refused};
use crate::Remote;

/// `sekimori risk …`
#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// The tenant's policy and its version (0: the default, never written).
    Policy {
        #[command(flatten)]
        remote: Remote,
    },
    /// Write a policy file (YAML, or JSON when it ends in `.json`) as the next version;
    /// refused with the key when it cannot be used.
    SetPolicy {
        #[command(flatten)]
        remote: Remote,
        /// The policy file.
        file: PathBuf,
    },
    /// Why an attempt was judged as it was: the decision, the score, the rule that decided
    /// and each signal's points (the attempt id is in the `auth.risk.assessed` event's
    /// `sekimori.audit.seq`, and in a relying party's `risk.attempt`).
    Explain {
        #[command(flatten)]
        remote: Remote,
        /// The attempt id.
        attempt: i64,
    },
}

/// Runs a `risk` command.
pub async fn run(command: RiskCommand) -> anyhow::Result<ExitCode> {
    match command {
        RiskCommand::Policy { remote } => match admin(&remote)?.risk_policy().await {
            Ok(p) => {
                println!("{}", serde_json::to_string_pretty(&p)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e),
        },
        RiskCommand::SetPolicy { remote, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let policy: Value = if file.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?
            } else {
                yaml_serde::from_str(&text).with_context(|| format!("{}: not YAML", file.display()))?
            };
            let c = admin(&remote)?;
            let current = match c.risk_policy().await {
                Ok(v) => v,
                Err(e) => return refused(e),
            };
            let Some(base) = current["version"].as_i64() else {
                anyhow::bail!("the server's answer has no policy version: {current}");
            };
            match c.set_risk_policy(base, &policy).await {
                Ok(w) => {
                    println!("risk policy version {} written", w["version"]);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        RiskCommand::Explain { remote, attempt } => match admin(&remote)?.risk_attempt(attempt).await {
            Ok(a) => {
                print!("{}", explanation(&a));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e),
        },
    }
}

/// The explanation as people read it: a header line, then one line per signal.
fn explanation(a: &Value) -> String {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut out = format!(
        "attempt {} at {}: {} for {} by {} (score {}, {}{})\n",
        a["attempt"],
        text(&a["at"]),
        text(&a["decision"]),
        text(&a["user"]),
        text(&a["method"]),
        a["score"],
        match a["rule"].as_str() {
            Some(r) => format!("rule {r:?}"),
            None => "by the thresholds".to_owned(),
        },
        if a["enforced"] == Value::Bool(false) { ", dry run: not enforced" } else { "" },
    );
    for c in a["contributions"].as_array().into_iter().flatten() {
        out.push_str(&format!("  +{:<4} {:<20} {}\n", c["points"].to_string(), text(&c["signal"]), text(&c["detail"])));
    }
    for p in a["providers"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<5} provider {} {}\n",
            text(&p["decision"]),
            text(&p["provider"]),
            text(&p["detail"])
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_explanation_lists_each_signal_with_its_points() {
        let a = serde_json::json!({
            "attempt": 42, "at": "2026-12-06T01:02:03.000Z", "decision": "NG", "user": "alice",
            "method": "password", "score": 75, "rule": "listed address", "enforced": true,
            "contributions": [
                {"signal": "new_environment", "points": 15, "detail": "environment not seen for this user"},
                {"signal": "listed_address", "points": 60, "detail": "lists=tor-exits"}
            ],
            "providers": [{"provider": "omotion", "decision": "REVIEW", "detail": "answered HTTP 500; on_failure=review", "failed": true}]
        });
        let text = super::explanation(&a);
        assert_eq!(
            text,
            "attempt 42 at 2026-12-06T01:02:03.000Z: NG for alice by password (score 75, rule \"listed address\")\n  \
             +15   new_environment      environment not seen for this user\n  \
             +60   listed_address       lists=tor-exits\n  \
             REVIEW provider omotion answered HTTP 500; on_failure=review\n"
        );
    }
}
