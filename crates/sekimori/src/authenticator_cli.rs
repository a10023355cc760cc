//! `sekimori authenticator …`: the reference authenticator on a terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use sekimori_client::Authenticator;
use sekimori_core::{OsRng, SystemClock};
use serde_json::Value;

use crate::cli::{refused, terminal_qr};

#[derive(Debug, Clone, Args)]
pub struct StateArg {
    /// The authenticator's state file (its private key; created with mode 0600).
    #[arg(long, env = "SEKIMORI_AUTHENTICATOR_STATE", default_value = "sekimori-authenticator.json", global = true)]
    state: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AuthenticatorCommand {
    /// Enrol with a link from `sekimori device enroll` (sekimori://enroll?… or https://…/enroll?c=…).
    Enroll {
        link: String,
        /// A name for this device, shown to admins.
        #[arg(long, default_value = "terminal")]
        name: String,
        #[command(flatten)]
        state: StateArg,
    },
    /// Arm login: open the standby window.
    Standby {
        #[command(flatten)]
        state: StateArg,
    },
    /// Show pending login challenges and notices (server signatures checked).
    Pending {
        /// Wait up to this many seconds for something to arrive.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// Print the messages as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArg,
    },
    /// Approve a push login with the number shown on the login page.
    Approve {
        login_id: String,
        #[arg(long)]
        number: i64,
        #[command(flatten)]
        state: StateArg,
    },
    /// Deny a push login.
    Deny {
        login_id: String,
        /// The login was not yours: push approvals are suspended and your logins need
        /// level 3 for a while, and your administrator's detection hears of it.
        #[arg(long)]
        not_me: bool,
        #[command(flatten)]
        state: StateArg,
    },
    /// Dismiss a notice.
    Dismiss {
        id: String,
        #[command(flatten)]
        state: StateArg,
    },
    /// Redeem a scanned QR login code (sekimori://login?s=…).
    Scan {
        payload: String,
        #[command(flatten)]
        state: StateArg,
    },
    /// List tickets, or show one as a QR code.
    Ticket {
        id: Option<String>,
        #[command(flatten)]
        state: StateArg,
    },
    /// List the environments this user has logged in from.
    Environments {
        #[command(flatten)]
        state: StateArg,
    },
    /// Mark an environment trusted (or not, with --no).
    Trust {
        key: String,
        #[arg(long)]
        no: bool,
        #[command(flatten)]
        state: StateArg,
    },
    /// Forget an environment: the next login from it warns again.
    Revoke {
        key: String,
        #[command(flatten)]
        state: StateArg,
    },
}

fn load(s: &StateArg) -> anyhow::Result<Authenticator> {
    Ok(Authenticator::load(&s.state, Arc::new(SystemClock), Arc::new(OsRng))?)
}

macro_rules! try_call {
    ($e:expr) => {
        match $e.await {
            Ok(v) => v,
            Err(e) => return refused(e),
        }
    };
}

fn describe(m: &Value) -> String {
    let env = &m["environment"];
    let env_text = env["description"].as_str().unwrap_or("unknown environment");
    match m["type"].as_str() {
        Some("push_login") => format!(
            "LOGIN  {}  {} wants {} to log in, from {}{}; expires {}\n       approve: sekimori authenticator approve {} --number <number shown>",
            m["login_id"].as_str().unwrap_or("?"),
            m["relying_party"].as_str().unwrap_or("?"),
            m["user"].as_str().unwrap_or("?"),
            env_text,
            if env["known"] == Value::Bool(false) { " (NEW ENVIRONMENT)" } else { "" },
            m["expires_at"].as_str().unwrap_or("?"),
            m["login_id"].as_str().unwrap_or("?"),
        ),
        Some("environment_warning") => {
            format!("WARN   {}  {}", m["id"].as_str().unwrap_or("?"), m["text"].as_str().unwrap_or(""))
        }
        Some("security_notice") => format!(
            "NOTICE {}  {} ({})",
            m["id"].as_str().unwrap_or("?"),
            m["text"].as_str().unwrap_or(""),
            m["reason"].as_str().unwrap_or("")
        ),
        _ => m.to_string(),
    }
}

pub async fn run(cmd: AuthenticatorCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuthenticatorCommand::Enroll { link, name, state } => {
            if state.state.exists() {
                anyhow::bail!("{} exists already; choose another --state file", state.state.display());
            }
            let a = try_call!(Authenticator::enroll(&link, &name, Arc::new(SystemClock), Arc::new(OsRng)));
            a.save(&state.state)?;
            println!(
                "enrolled device {} for {} on {}; state in {}",
                a.state().device_id,
                a.state().username,
                a.state().server_url,
                state.state.display()
            );
        }
        AuthenticatorCommand::Standby { state } => {
            let w = try_call!(load(&state)?.standby());
            println!(
                "armed: logins are accepted for {} s, until {}",
                w["seconds"],
                w["expires_at"].as_str().unwrap_or("?")
            );
        }
        AuthenticatorCommand::Pending { wait, json, state } => {
            let msgs = try_call!(load(&state)?.messages(wait));
            if json {
                println!("{}", serde_json::to_string_pretty(&msgs)?);
            } else if msgs.is_empty() {
                println!("nothing pending");
            } else {
                for m in &msgs {
                    println!("{}", describe(m));
                }
            }
        }
        AuthenticatorCommand::Approve { login_id, number, state } => {
            try_call!(load(&state)?.approve(&login_id, number));
            println!("approved {login_id}");
        }
        AuthenticatorCommand::Deny { login_id, not_me, state } => {
            if not_me {
                try_call!(load(&state)?.deny_not_me(&login_id));
                println!("denied {login_id} and reported it as not yours");
            } else {
                try_call!(load(&state)?.deny(&login_id));
                println!("denied {login_id}");
            }
        }
        AuthenticatorCommand::Dismiss { id, state } => {
            try_call!(load(&state)?.dismiss(&id));
            println!("dismissed {id}");
        }
        AuthenticatorCommand::Scan { payload, state } => {
            let r = try_call!(load(&state)?.scan(&payload));
            let env = &r["environment"];
            println!(
                "logged in the page on {} on {} from {}",
                env["browser"].as_str().unwrap_or("?"),
                env["os"].as_str().unwrap_or("?"),
                env["network"].as_str().unwrap_or("?")
            );
        }
        AuthenticatorCommand::Ticket { id, state } => {
            let tickets = try_call!(load(&state)?.tickets());
            match id {
                None if tickets.is_empty() => println!("no tickets"),
                None => {
                    for t in &tickets {
                        println!(
                            "{}  {}  until {}",
                            t["id"].as_str().unwrap_or("?"),
                            t["entitlement"].as_str().unwrap_or("?"),
                            t["expires_at"].as_str().unwrap_or("?")
                        );
                    }
                }
                Some(id) => {
                    let Some(t) = tickets.iter().find(|t| t["id"].as_str() == Some(id.as_str())) else {
                        eprintln!("refused: not_found: no unredeemed ticket {id}");
                        return Ok(ExitCode::from(1));
                    };
                    let payload = t["payload"].as_str().unwrap_or_default();
                    println!("{}\n{}\n{payload}", t["entitlement"].as_str().unwrap_or("?"), terminal_qr(payload));
                }
            }
        }
        AuthenticatorCommand::Environments { state } => {
            let envs = try_call!(load(&state)?.environments());
            println!("{}", serde_json::to_string_pretty(&envs)?);
        }
        AuthenticatorCommand::Trust { key, no, state } => {
            try_call!(load(&state)?.trust_environment(&key, !no));
            println!("{key}: trusted = {}", !no);
        }
        AuthenticatorCommand::Revoke { key, state } => {
            try_call!(load(&state)?.revoke_environment(&key));
            println!("forgot environment {key}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
