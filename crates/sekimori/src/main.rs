//! `sekimori`: the server, its admin CLI and a reference authenticator, in one binary.

mod access_cli;
mod authenticator_cli;
mod cli;
mod config;
mod hunt_cli;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// mimalloc rather than glibc's allocator: ingest allocates and frees millions of small
/// JSON values a second across threads, where glibc's arenas spent a quarter of the
/// server's time (docs/benchmarks.md) and fragmented.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sekimori (関守): the keeper of a checkpoint. Passwordless login gate and log detection.
#[derive(Debug, Parser)]
#[command(name = "sekimori", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the server's configuration comes from.
#[derive(Debug, Clone, Args)]
struct ServerArgs {
    /// TOML configuration file.
    #[arg(long, env = "SEKIMORI_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory of the embedded store (overrides storage.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (overrides storage.database_url).
    #[arg(long)]
    database_url: Option<String>,
}

/// How to reach a running server.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// The server's URL.
    #[arg(long, env = "SEKIMORI_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Mint a new admin token directly in the store (run on the server's host).
    AdminToken {
        #[command(flatten)]
        server: ServerArgs,
        /// A name for the token, kept in the audit log.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Admin and relying-party commands against a running server.
    #[command(flatten)]
    Remote(cli::RemoteCommand),
    /// The reference authenticator.
    Authenticator {
        #[command(subcommand)]
        command: authenticator_cli::AuthenticatorCommand,
    },
    /// Run Sigma rules over log files, offline (like Chainsaw or Hayabusa).
    Hunt(hunt_cli::HuntArgs),
    /// Sigma rule maintenance.
    Rules {
        #[command(subcommand)]
        command: hunt_cli::RulesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain in the store; exit 1 and name the first altered row if broken.
    Verify {
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn load_config(args: &ServerArgs) -> Result<(Config, String), config::ConfigError> {
    let mut cfg = Config::load(args.config.as_deref(), std::env::vars())?;
    let source = args.config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "defaults".into());
    if let Some(d) = &args.data_dir {
        cfg.storage.data_dir = d.clone();
    }
    if let Some(u) = &args.database_url {
        cfg.storage.database_url = Some(u.clone());
    }
    cfg.validate(&source)?;
    Ok((cfg, source))
}

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { server, listen } => {
            let (mut cfg, source) = load_config(&server)?;
            if let Some(l) = listen {
                cfg.server.listen = l;
                cfg.validate("--listen")?;
            }
            init_tracing(&cfg);
            serve::serve(cfg, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::AdminToken { server, name } => {
            let (cfg, _) = load_config(&server)?;
            println!("{}", serve::admin_token(&cfg, &name).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify { server } } => {
            let (cfg, _) = load_config(&server)?;
            Ok(if serve::audit_verify(&cfg).await? { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Remote(cmd) => cli::run(cmd).await,
        Command::Authenticator { command } => authenticator_cli::run(command).await,
        Command::Hunt(args) => hunt_cli::hunt(args),
        Command::Rules { command } => hunt_cli::rules(command).await,
    }
}
