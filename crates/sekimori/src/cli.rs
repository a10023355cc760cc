//! Admin, relying-party and verifier commands against a running server.
//! Admin commands use `SEKIMORI_TOKEN`; relying-party and verifier commands `SEKIMORI_APP_KEY`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use sekimori_client::{AdminClient, AppClient, ClientError};
use serde_json::{json, Value};

use crate::Remote;

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Users.
    User {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Authenticator devices.
    Device {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Relying-party and verifier apps.
    App {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: AppCommand,
    },
    /// User groups: members and login hours.
    Group {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: crate::access_cli::GroupCommand,
    },
    /// The OIDC provider: clients and signing keys.
    Oidc {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: OidcCommand,
    },
    /// Admin tokens with roles (admin, auditor, operator).
    Token {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Tenant settings.
    Tenant {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Drive a login as a relying party (demos and scripts).
    Login {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: LoginCommand,
    },
    /// One-time tickets.
    Ticket {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: TicketCommand,
    },
    /// Read the audit log.
    Events {
        #[command(flatten)]
        remote: Remote,
        /// Only this username.
        #[arg(long)]
        user: Option<String>,
        /// Only this action; a trailing * matches a prefix (auth.push.*).
        #[arg(long)]
        action: Option<String>,
        /// At or after (RFC 3339 or Unix ms).
        #[arg(long)]
        since: Option<String>,
        /// Before (RFC 3339 or Unix ms).
        #[arg(long)]
        until: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Set a user's password, read from standard input (one line), checked against the
    /// tenant's policy.
    Password { username: String },
    /// Disable a user: no login, no device requests, sessions stop working.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Delete a user with their devices, credentials and sessions (the audit log keeps the id).
    Delete { username: String },
    /// End every browser session of a user.
    Logout { username: String },
    /// Set a user's login hours (overriding their groups'), or clear them with --clear.
    Hours {
        username: String,
        /// Windows, e.g. "mon-fri 09:00-18:00" (days mon…sun, ranges, lists; over midnight allowed).
        #[arg(required_unless_present = "clear")]
        windows: Vec<String>,
        /// No own hours: the user's groups' hours apply, or none.
        #[arg(long, conflicts_with = "windows")]
        clear: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token; prints its key once.
    Add {
        name: String,
        /// `admin`, `auditor` (reads, personal data masked) or `operator`.
        #[arg(long, default_value = "auditor")]
        role: String,
        /// An operator's capability (repeat), e.g. users.read, credentials.
        #[arg(long = "capability")]
        capabilities: Vec<String>,
        /// Limit an operator to members of this group (repeat).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create an enrolment for a user: prints the link and a QR code in the terminal.
    Enroll {
        username: String,
        /// Also write the QR code as PNG to this file.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Also write the QR code as SVG to this file.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// List a user's devices.
    List { username: String },
    /// Remove one of a user's devices.
    Remove { username: String, device_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an app; prints its key once.
    Add {
        name: String,
        /// relying-party (starts logins, issues tickets) or verifier (redeems tickets).
        #[arg(long, default_value = "relying-party")]
        kind: String,
        /// Register the app as an OIDC client (its key is the client secret).
        #[arg(long)]
        oidc: bool,
        /// An OIDC redirect URI, matched exactly (repeat for several).
        #[arg(long = "redirect-uri", requires = "oidc")]
        redirect_uris: Vec<String>,
        /// Where OIDC logout may send the browser back to (repeat for several).
        #[arg(long = "post-logout-redirect-uri", requires = "oidc")]
        post_logout_redirect_uris: Vec<String>,
        /// A public OIDC client (browser or native app): no secret, PKCE S256 required.
        #[arg(long, requires = "oidc")]
        public: bool,
        /// The id_token algorithm: RS256 (default) or ES256.
        #[arg(long, requires = "oidc")]
        id_token_alg: Option<String>,
    },
    /// List apps.
    List,
    /// Revoke an app's key.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum OidcCommand {
    /// List the OIDC clients.
    Clients,
    /// List the signing keys (live and retired).
    Keys,
    /// Replace the signing keys now; the old ones stay published until their tokens expire.
    RotateKeys,
    /// Replace a client's redirect URIs and/or post-logout redirect URIs (a list not given
    /// is kept).
    SetRedirects {
        client_id: String,
        /// A redirect URI, matched exactly (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return to (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Show settings.
    Show,
    /// Change settings.
    Set {
        /// Require an armed standby window for push login.
        #[arg(long)]
        standby_required: Option<bool>,
        /// Standby window length, 10 to 300 seconds.
        #[arg(long)]
        standby_seconds: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Start a push login and wait; exit 0 only when approved (and the assertion verified).
    Push {
        username: String,
        /// How long to wait for the user, seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// The end user's IP address, for the environment check.
        #[arg(long)]
        client_ip: Option<String>,
        /// The end user's user agent.
        #[arg(long)]
        user_agent: Option<String>,
    },
    /// Verify (and consume) an assertion.
    Verify { assertion: String },
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Issue a ticket (relying-party key).
    Issue {
        username: String,
        #[arg(long)]
        entitlement: String,
        /// Lifetime in seconds.
        #[arg(long)]
        ttl: Option<i64>,
    },
    /// Redeem a ticket payload (verifier key).
    Redeem { payload: String },
}

/// The admin client for `remote`, with the token in `SEKIMORI_TOKEN`.
pub(crate) fn admin(remote: &Remote) -> anyhow::Result<AdminClient> {
    let token = std::env::var("SEKIMORI_TOKEN").context("set SEKIMORI_TOKEN to an admin token")?;
    Ok(AdminClient::new(&remote.url, &token))
}

fn app(remote: &Remote) -> anyhow::Result<AppClient> {
    let key = std::env::var("SEKIMORI_APP_KEY").context("set SEKIMORI_APP_KEY to an app key")?;
    Ok(AppClient::new(&remote.url, &key))
}

pub fn pretty(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Prints a refusal and returns exit status 1; other errors propagate.
pub fn refused(e: ClientError) -> anyhow::Result<ExitCode> {
    match e {
        ClientError::Problem(p) => {
            eprintln!("refused: {}: {}", p.code, p.detail);
            // A weak password: every rule broken, not only the first.
            for v in p.body.get("violations").and_then(Value::as_array).into_iter().flatten() {
                if let Some(en) = v.get("en").and_then(Value::as_str) {
                    eprintln!("  - {en}");
                }
            }
            println!("{}", p.code);
            Ok(ExitCode::from(1))
        }
        other => Err(other.into()),
    }
}

macro_rules! try_call {
    ($e:expr) => {
        match $e.await {
            Ok(v) => v,
            Err(e) => return refused(e),
        }
    };
}

/// Reads a tuning file: JSON when it ends in `.json`, YAML otherwise.
fn read_tuning(path: &std::path::Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))
    } else {
        yaml_serde::from_str(&text).with_context(|| format!("{}: not YAML", path.display()))
    }
}

/// `sekimori rules backtest`.
pub async fn backtest(remote: &Remote, tuning: &std::path::Path, limit: Option<i64>) -> anyhow::Result<ExitCode> {
    let c = admin(remote)?;
    let proposal = read_tuning(tuning)?;
    let r = try_call!(c.backtest(&proposal, limit));
    println!(
        "{} stored events replayed; current tuning (version {}): {} alerts; proposed: {} alerts",
        r["events"], r["current_version"], r["current_alerts"], r["proposed_alerts"]
    );
    for (sign, key) in [("+", "appear"), ("-", "disappear")] {
        for a in r[key].as_array().into_iter().flatten() {
            println!(
                "{sign} event {:<8} {:<9} {}  {}",
                a["event_seq"],
                a["level"].as_str().unwrap_or("?"),
                a["rule_id"].as_str().unwrap_or("?"),
                a["title"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sekimori rules tune`: writes the file as the next version.
pub async fn tune(remote: &Remote, tuning: &std::path::Path) -> anyhow::Result<ExitCode> {
    let c = admin(remote)?;
    let proposal = read_tuning(tuning)?;
    let current = try_call!(c.tuning());
    let base = current["version"].as_i64().unwrap_or(0);
    let written = try_call!(c.set_tuning(base, &proposal));
    println!("tuning version {} written", written["version"]);
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cmd: RemoteCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RemoteCommand::User { remote, command } => {
            let c = admin(&remote)?;
            match command {
                UserCommand::Add { username, email, display_name } => {
                    pretty(&try_call!(c.add_user(&username, email.as_deref(), display_name.as_deref())))
                }
                UserCommand::List => pretty(&try_call!(c.list_users())),
                UserCommand::Password { username } => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
                    let password = line.trim_end_matches(['\r', '\n']);
                    try_call!(c.set_password(&username, password));
                    println!("password set for {username}");
                }
                UserCommand::Disable { username } => {
                    pretty(&try_call!(c.update_user(&username, &json!({"disabled": true}))))
                }
                UserCommand::Enable { username } => {
                    pretty(&try_call!(c.update_user(&username, &json!({"disabled": false}))))
                }
                UserCommand::Delete { username } => {
                    try_call!(c.delete_user(&username));
                    println!("deleted {username}");
                }
                UserCommand::Logout { username } => pretty(&try_call!(c.revoke_sessions(&username))),
                UserCommand::Hours { username, windows, clear } => {
                    return crate::access_cli::user_hours(&c, &username, &windows, clear).await
                }
            }
        }
        RemoteCommand::Token { remote, command } => {
            let c = admin(&remote)?;
            match command {
                TokenCommand::Add { name, role, capabilities, groups } => {
                    let mut body = json!({"name": name, "role": role});
                    if !capabilities.is_empty() || !groups.is_empty() {
                        body["capabilities"] = json!(capabilities);
                        body["groups"] = json!(groups);
                    }
                    let made = try_call!(c.create_token(&body));
                    println!("{}", made["key"].as_str().unwrap_or_default());
                }
            }
        }
        RemoteCommand::Device { remote, command } => {
            let c = admin(&remote)?;
            match command {
                DeviceCommand::Enroll { username, png, svg } => {
                    let e = try_call!(c.create_enrollment(&username));
                    let link = e["link"].as_str().unwrap_or_default().to_owned();
                    println!("Enrolment for {username}, valid until {}:", e["expires_at"].as_str().unwrap_or("?"));
                    println!("\n{}\n", terminal_qr(&link));
                    println!("link:       {link}");
                    println!("https link: {}", e["https_link"].as_str().unwrap_or_default());
                    println!("\nOn the authenticator:  sekimori authenticator enroll '{link}' --state alice.json");
                    for (path, format) in [(png, "png"), (svg, "svg")] {
                        if let Some(path) = path {
                            // A second enrolment would be a second code: render this link locally instead.
                            let bytes = render_image(&link, format)?;
                            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                            println!("wrote {}", path.display());
                        }
                    }
                }
                DeviceCommand::List { username } => pretty(&try_call!(c.list_devices(&username))),
                DeviceCommand::Remove { username, device_id } => {
                    try_call!(c.remove_device(&username, &device_id));
                    println!("removed device {device_id} of {username}");
                }
            }
        }
        RemoteCommand::App { remote, command } => {
            let c = admin(&remote)?;
            match command {
                AppCommand::Add {
                    name,
                    kind,
                    oidc: true,
                    redirect_uris,
                    post_logout_redirect_uris,
                    public,
                    id_token_alg,
                } => {
                    let reg = serde_json::json!({
                        "redirect_uris": redirect_uris,
                        "post_logout_redirect_uris": post_logout_redirect_uris,
                        "public": public,
                        "id_token_alg": id_token_alg,
                    });
                    if kind != "relying-party" {
                        anyhow::bail!("an OIDC client is a relying-party app");
                    }
                    let r = try_call!(c.add_oidc_client(&name, &reg));
                    let issuer = r["issuer"].as_str().unwrap_or("?");
                    println!("OIDC client {name}");
                    println!("  issuer:        {issuer}");
                    println!("  discovery:     {issuer}/.well-known/openid-configuration");
                    println!("  client_id:     {}", r["client_id"].as_str().unwrap_or("?"));
                    match r["client_secret"].as_str() {
                        Some(secret) => println!("  client_secret: {secret}  (shown once)"),
                        None => println!("  public client: no secret, PKCE S256 required"),
                    }
                }
                AppCommand::Add { name, kind, .. } => {
                    let r = try_call!(c.add_app(&name, &kind.replace('-', "_")));
                    println!(
                        "app {} ({}) id {}",
                        name,
                        r["app"]["kind"].as_str().unwrap_or("?"),
                        r["app"]["id"].as_str().unwrap_or("?")
                    );
                    println!("key (shown once):\n\n    {}\n", r["key"].as_str().unwrap_or_default());
                    println!("Use it with:  export SEKIMORI_APP_KEY={}", r["key"].as_str().unwrap_or_default());
                }
                AppCommand::List => pretty(&try_call!(c.list_apps())),
                AppCommand::Revoke { id } => {
                    try_call!(c.revoke_app(&id));
                    println!("revoked app {id}");
                }
            }
        }
        RemoteCommand::Group { remote, command } => return crate::access_cli::group(&admin(&remote)?, command).await,
        RemoteCommand::Oidc { remote, command } => {
            let c = admin(&remote)?;
            match command {
                OidcCommand::Clients => pretty(&try_call!(c.list_oidc_clients())),
                OidcCommand::Keys => pretty(&try_call!(c.oidc_keys())),
                OidcCommand::RotateKeys => pretty(&try_call!(c.rotate_oidc_keys())),
                OidcCommand::SetRedirects { client_id, redirect_uris, post_logout_redirect_uris } => {
                    let redirect = (!redirect_uris.is_empty()).then_some(redirect_uris.as_slice());
                    let post_logout =
                        (!post_logout_redirect_uris.is_empty()).then_some(post_logout_redirect_uris.as_slice());
                    pretty(&try_call!(c.set_oidc_client_uris(&client_id, redirect, post_logout)))
                }
            }
        }
        RemoteCommand::Tenant { remote, command } => {
            let c = admin(&remote)?;
            match command {
                TenantCommand::Show => pretty(&try_call!(c.tenant())),
                TenantCommand::Set { standby_required, standby_seconds } => {
                    let mut patch = json!({});
                    if let Some(r) = standby_required {
                        patch["standby_required"] = json!(r);
                    }
                    if let Some(s) = standby_seconds {
                        patch["standby_seconds"] = json!(s);
                    }
                    pretty(&try_call!(c.update_tenant(&patch)));
                }
            }
        }
        RemoteCommand::Login { remote, command } => {
            let c = app(&remote)?;
            match command {
                LoginCommand::Push { username, timeout, client_ip, user_agent } => {
                    return push_login(&c, &username, timeout, client_ip, user_agent).await;
                }
                LoginCommand::Verify { assertion } => pretty(&try_call!(c.verify_assertion(&assertion))),
            }
        }
        RemoteCommand::Ticket { remote, command } => {
            let c = app(&remote)?;
            match command {
                TicketCommand::Issue { username, entitlement, ttl } => {
                    pretty(&try_call!(c.issue_ticket(&username, &entitlement, ttl)))
                }
                TicketCommand::Redeem { payload } => {
                    let r = try_call!(c.redeem_ticket(&payload));
                    println!(
                        "redeemed: {} for {} at {}",
                        r["entitlement"].as_str().unwrap_or("?"),
                        r["username"].as_str().unwrap_or("?"),
                        r["redeemed_at"].as_str().unwrap_or("?")
                    );
                }
            }
        }
        RemoteCommand::Events { remote, user, action, since, until, limit } => {
            let c = admin(&remote)?;
            let mut q = vec![format!("limit={limit}")];
            for (k, v) in [("user", user), ("action", action), ("since", since), ("until", until)] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", sekimori_gate::enroll::percent_encode(&v)));
                }
            }
            print!("{}", try_call!(c.events_ndjson(&q.join("&"))));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn push_login(
    c: &AppClient,
    username: &str,
    timeout: u64,
    client_ip: Option<String>,
    user_agent: Option<String>,
) -> anyhow::Result<ExitCode> {
    let mut client = json!({});
    if let Some(ip) = client_ip {
        client["ip"] = json!(ip);
    }
    if let Some(ua) = user_agent {
        client["user_agent"] = json!(ua);
    }
    let started = try_call!(c.start_push(username, Some(client)));
    let login_id = started["login_id"].as_str().unwrap_or_default().to_owned();
    eprintln!("Push sent to {username}'s authenticator. Number to match: {}", started["number"]);
    if started["environment_known"] == json!(false) {
        eprintln!("(new environment for {username}: the user is warned)");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs();
        let status = try_call!(c.push_status(&login_id, left.min(25)));
        match status["status"].as_str() {
            Some("approved") => {
                let assertion = status["assertion"].as_str().unwrap_or_default();
                let v = try_call!(c.verify_assertion(assertion));
                println!("approved: {} (level {})", v["username"].as_str().unwrap_or("?"), v["level"]);
                return Ok(ExitCode::SUCCESS);
            }
            Some("pending") if left > 0 => continue,
            Some("pending") => {
                eprintln!("refused: timeout: no decision within {timeout} s");
                println!("timeout");
                return Ok(ExitCode::from(1));
            }
            Some(other) => {
                eprintln!("refused: {other}");
                println!("{other}");
                return Ok(ExitCode::from(1));
            }
            None => anyhow::bail!("unexpected reply: {status}"),
        }
    }
}

/// A QR code drawn with Unicode half blocks.
pub fn terminal_qr(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(e) => format!("(cannot draw a QR code: {e})"),
    }
}

fn render_image(data: &str, format: &str) -> anyhow::Result<Vec<u8>> {
    let r = match format {
        "png" => sekimori_server::qr::png(data),
        _ => sekimori_server::qr::svg(data).map(String::into_bytes),
    };
    r.map_err(|e| anyhow::anyhow!("{}", e.0))
}
