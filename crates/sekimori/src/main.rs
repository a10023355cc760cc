//! `sekimori`: the server, its admin CLI and a reference authenticator, in one binary.

mod access_cli;
mod alerts_cli;
mod audit_cli;
mod authenticator_cli;
mod backup;
mod cli;
mod config;
mod hunt_cli;
mod hunt_files;
mod metrics_config;
mod risk_cli;
mod risk_config;
mod risk_provider;
mod risk_provider_config;
mod runtime;
mod serve;
mod syslog_config;

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
        /// Address to listen on, `address:port` (overrides server.listen).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Mint a new admin token directly in the store (run on the server's host).
    AdminToken {
        #[command(flatten)]
        server: ServerArgs,
        /// A name for the token, kept in the audit log.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Take a backup of the embedded store now, into every `--to` folder (or the
    /// `[backup]` destinations), encrypted with the backup key.
    Backup {
        #[command(flatten)]
        server: ServerArgs,
        /// A destination folder or `s3://bucket/prefix` (repeatable); default:
        /// `backup.destinations`.
        #[arg(long = "to")]
        to: Vec<PathBuf>,
        /// The backup key file; default: `backup.key_file`.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Make a new backup key file (64 hex digits, mode 0600); keep it apart from the backups.
    BackupKey {
        /// Where to write it (refused if it exists).
        file: PathBuf,
    },
    /// Restore a backup into an empty data directory and verify its audit chain.
    Restore {
        /// The backup file (`sekimori-….skbk`).
        file: PathBuf,
        /// The data directory to restore into (must hold no database).
        #[arg(long)]
        data_dir: PathBuf,
        /// The backup key file the backup was made with.
        #[arg(long)]
        key_file: PathBuf,
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
    /// Alert routing.
    Alerts {
        #[command(subcommand)]
        command: alerts_cli::AlertsCommand,
    },
    /// Login-time risk: the policy, and why an attempt was judged as it was.
    Risk {
        #[command(subcommand)]
        command: risk_cli::RiskCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain in the store and check it against the signed checkpoints; exit 1
    /// and say what is wrong (the first altered row, rows cut from the end, a rewrite).
    Verify {
        #[command(flatten)]
        server: ServerArgs,
        /// The checkpoint file; default: `audit.checkpoint_file`.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// A folder (or `s3://bucket/prefix`) of audit archives: walk the chain through them
        /// from the first row to the live log (needs the backup key).
        #[arg(long)]
        archives: Option<PathBuf>,
        /// The backup key file the archives were written with; default: `backup.key_file`.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Move rows older than a number of days, up to a signed checkpoint, out of the live
    /// log into audit archives (encrypted with the backup key) in every destination; the
    /// chain stays verifiable through them.
    Archive {
        #[command(flatten)]
        server: ServerArgs,
        /// Archive rows older than this many days; default: `audit.archive_after_days`.
        #[arg(long)]
        older_than_days: Option<u64>,
        /// Destination folder or `s3://bucket/prefix` (repeat for each); default:
        /// `audit.archive_destinations`.
        #[arg(long)]
        to: Vec<PathBuf>,
        /// The backup key file; default: `backup.key_file`.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

/// The backup key from `--key-file` or `backup.key_file`.
fn backup_key(flag: Option<PathBuf>, cfg: &Config) -> anyhow::Result<backup::container::BackupKey> {
    let file = flag
        .or_else(|| cfg.backup.key_file.clone())
        .ok_or_else(|| anyhow::anyhow!("backup.key_file: give --key-file or set it in [backup]"))?;
    Ok(backup::container::BackupKey::load(&file)?)
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
    if cfg.log.format == config::LogFormat::Json {
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
        Command::Backup { server, to, key_file } => {
            let (cfg, _) = load_config(&server)?;
            if cfg.storage.database_url.is_some() {
                anyhow::bail!(
                    "sekimori backup is for the embedded store; back PostgreSQL up with pg_dump (docs/operations.md)"
                );
            }
            let specs = if to.is_empty() { cfg.backup.destinations.clone() } else { to };
            cfg.backup.validate_s3(&specs, "--to").map_err(|(k, why)| anyhow::anyhow!("{k}: {why}"))?;
            let destinations = backup::dest::resolve(&specs, cfg.backup.s3.as_ref())?;
            let key_file = key_file
                .or_else(|| cfg.backup.key_file.clone())
                .ok_or_else(|| anyhow::anyhow!("backup.key_file: give --key-file or set it in [backup]"))?;
            let key = backup::container::BackupKey::load(&key_file)?;
            let w = backup::backup(&cfg.storage.data_dir, &cfg.keys_file(), &destinations, &key, cfg.backup.keep_days)
                .await?;
            for f in &w.files {
                println!("{f}");
            }
            println!("backup checked: {} audit rows verified; {} old backups deleted", w.audit_rows, w.pruned);
            Ok(ExitCode::SUCCESS)
        }
        Command::BackupKey { file } => {
            let key = backup::container::BackupKey::create(&file, &sekimori_core::OsRng)?;
            println!("backup key {} written to {}", key.id, file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, data_dir, key_file } => {
            let key = backup::container::BackupKey::load(&key_file)?;
            let rows = backup::restore(&file, &key, &data_dir).await?;
            println!("restored {} into {}: audit log intact, {rows} rows verified", file.display(), data_dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify { server, checkpoints, archives, key_file } } => {
            let (cfg, _) = load_config(&server)?;
            let archives = match archives {
                Some(dir) => Some((dir, backup_key(key_file, &cfg)?)),
                None => None,
            };
            Ok(if audit_cli::audit_verify(&cfg, checkpoints.as_deref(), archives).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Audit { command: AuditCommand::Archive { server, older_than_days, to, key_file } } => {
            let (cfg, _) = load_config(&server)?;
            let days = older_than_days.unwrap_or(cfg.audit.archive_after_days);
            let specs = if to.is_empty() { cfg.archive_destinations() } else { to };
            if specs.is_empty() {
                anyhow::bail!("audit.archive_destinations: give --to DIR or set it (or backup.destinations)");
            }
            cfg.backup.validate_s3(&specs, "--to").map_err(|(k, why)| anyhow::anyhow!("{k}: {why}"))?;
            let destinations = backup::dest::resolve(&specs, cfg.backup.s3.as_ref())?;
            let key = backup_key(key_file, &cfg)?;
            match audit_cli::audit_archive(&cfg, &key, &destinations, days).await? {
                Some(a) => {
                    for f in &a.files {
                        println!("{f}");
                    }
                    println!(
                        "archived audit rows {} to {}: {} rows deleted from the live log",
                        a.from, a.to, a.deleted
                    );
                }
                None => println!("nothing to archive: no checkpointed rows older than {days} days"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Remote(cmd) => cli::run(cmd).await,
        Command::Authenticator { command } => authenticator_cli::run(command).await,
        Command::Hunt(args) => hunt_cli::hunt(args),
        Command::Rules { command } => hunt_cli::rules(command).await,
        Command::Alerts { command } => alerts_cli::run(command).await,
        Command::Risk { command } => risk_cli::run(command).await,
    }
}
