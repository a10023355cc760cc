//! `sekimori group …` and `sekimori user hours …`: groups, their members and login hours
//! from the command line, over the admin API (docs/protocol.md section 9.3).
//!
//! Login hours are written as `DAYS FROM-UNTIL`, for example `mon-fri 09:00-18:00`,
//! `sat,sun 10:00-14:00` or `fri 22:00-06:00` (over midnight); days are `mon` … `sun`, a
//! range (`mon-fri`) or a list (`mon,wed`). The server checks the times.

use std::process::ExitCode;

use clap::Subcommand;
use sekimori_client::{AdminClient, Method};
use serde_json::{json, Value};

use crate::cli::{pretty, refused};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Add a group, optionally with login hours for its members.
    Add {
        name: String,
        /// A login-hours window, e.g. "mon-fri 09:00-18:00" (repeat for several).
        #[arg(long = "hours")]
        hours: Vec<String>,
    },
    /// List groups.
    List,
    /// Show a group and its members.
    Show { name: String },
    /// Delete a group (its members stay).
    Delete { name: String },
    /// Set a group's login hours, or clear them with --clear.
    Hours {
        name: String,
        /// Windows, e.g. "mon-fri 09:00-18:00".
        #[arg(required_unless_present = "clear")]
        windows: Vec<String>,
        /// No hours: members may log in at any time (unless their own hours say otherwise).
        #[arg(long, conflicts_with = "windows")]
        clear: bool,
    },
    /// Add a user to a group.
    AddMember { name: String, username: String },
    /// Remove a user from a group.
    RemoveMember { name: String, username: String },
}

/// One window, `DAYS FROM-UNTIL`, as the API takes it.
pub fn parse_window(spec: &str) -> Result<Value, String> {
    let bad = |why: &str| format!("login hours {spec:?}: {why} (write e.g. \"mon-fri 09:00-18:00\")");
    let mut parts = spec.split_whitespace();
    let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected days and a time range"));
    };
    let day_index = |d: &str| DAYS.iter().position(|x| x.eq_ignore_ascii_case(d)).ok_or_else(|| bad("unknown day"));
    let mut list = Vec::new();
    for item in days.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a)?, day_index(b)?);
                if a > b {
                    return Err(bad("a day range runs from mon to sun"));
                }
                list.extend(DAYS[a..=b].iter().copied());
            }
            None => list.push(DAYS[day_index(item)?]),
        }
    }
    list.dedup();
    let (from, until) = times.split_once('-').ok_or_else(|| bad("expected FROM-UNTIL"))?;
    Ok(json!({"days": list, "from": from, "until": until}))
}

fn windows(specs: &[String]) -> Result<Vec<Value>, String> {
    specs.iter().map(|s| parse_window(s)).collect()
}

fn path(name: &str) -> String {
    sekimori_core::names::percent_encode(name)
}

/// Runs a group command.
pub async fn group(c: &AdminClient, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let result = match command {
        GroupCommand::Add { name, hours } => {
            let hours = windows(&hours).map_err(anyhow::Error::msg)?;
            let body =
                if hours.is_empty() { json!({"name": name}) } else { json!({"name": name, "login_hours": hours}) };
            c.call(Method::POST, "/api/v1/admin/groups", Some(&body)).await
        }
        GroupCommand::List => c.call(Method::GET, "/api/v1/admin/groups", None).await,
        GroupCommand::Show { name } => {
            c.call(Method::GET, &format!("/api/v1/admin/groups/{}", path(&name)), None).await
        }
        GroupCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("/api/v1/admin/groups/{}", path(&name)), None).await
        }
        GroupCommand::Hours { name, windows: specs, clear } => {
            let hours = if clear { Value::Null } else { Value::from(windows(&specs).map_err(anyhow::Error::msg)?) };
            let body = json!({ "login_hours": hours });
            c.call(Method::PATCH, &format!("/api/v1/admin/groups/{}", path(&name)), Some(&body)).await
        }
        GroupCommand::AddMember { name, username } => {
            let p = format!("/api/v1/admin/groups/{}/members/{}", path(&name), path(&username));
            c.call(Method::PUT, &p, None).await
        }
        GroupCommand::RemoveMember { name, username } => {
            let p = format!("/api/v1/admin/groups/{}/members/{}", path(&name), path(&username));
            c.call(Method::DELETE, &p, None).await
        }
    };
    match result {
        Ok(v) => {
            if !v.is_null() {
                pretty(&v);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(e),
    }
}

/// `sekimori user hours USER WINDOW… | --clear`.
pub async fn user_hours(c: &AdminClient, username: &str, specs: &[String], clear: bool) -> anyhow::Result<ExitCode> {
    let hours = if clear { Value::Null } else { Value::from(windows(specs).map_err(anyhow::Error::msg)?) };
    match c.update_user(username, &json!({ "login_hours": hours })).await {
        Ok(v) => {
            pretty(&v);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_read_as_the_api_takes_them() {
        assert_eq!(
            parse_window("mon-fri 09:00-18:00").expect("ok"),
            json!({"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "until": "18:00"})
        );
        assert_eq!(parse_window("Sat,sun 10:00-14:00").expect("ok")["days"], json!(["sat", "sun"]));
        assert_eq!(parse_window("mon,wed-thu 22:00-06:00").expect("ok")["days"], json!(["mon", "wed", "thu"]));
        for bad in ["mon-fri", "funday 09:00-10:00", "fri-mon 09:00-10:00", "mon 0900", "mon 09:00-10:00 extra"] {
            let e = parse_window(bad).expect_err(bad);
            assert!(e.contains("mon-fri 09:00-18:00"), "{e}");
        }
    }
}
