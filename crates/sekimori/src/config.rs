//! Configuration: an optional TOML file, then `SEKIMORI_<SECTION>__<KEY>` environment
//! overrides, then command-line flags. Unknown keys and bad values are refused at start;
//! every error names where the value came from (file or variable), the key and the reason.

use sekimori_core::PublicUrl;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::syslog_config::{SyslogAddr, SyslogAddrError, SyslogConfig, SyslogScheme};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP server.
    pub server: ServerConfig,
    /// Storage.
    pub storage: StorageConfig,
    /// Authentication timings.
    pub gate: sekimori_gate::GateSettings,
    /// Detection.
    pub detect: DetectConfig,
    /// Syslog listeners.
    pub syslog: SyslogConfig,
    /// Logging.
    pub log: LogConfig,
    /// Scheduled backups of the embedded store.
    pub backup: crate::backup::BackupConfig,
    /// Audit checkpoints.
    pub audit: AuditConfig,
    /// Login-time risk: address lists.
    pub risk: crate::risk_config::RiskConfig,
    /// Who may read `/metrics`.
    pub metrics: crate::metrics_config::MetricsConfig,
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Where signed checkpoints of the audit chain's head are appended; default
    /// `<data_dir>/audit-checkpoints.jsonl`. Put it (or ship it) somewhere a person who can
    /// change the database cannot: another disk, host or log.
    pub checkpoint_file: Option<PathBuf>,
    /// Seconds between checkpoints (10 to 86400); one is also written at start and stop.
    pub checkpoint_interval_seconds: u64,
    /// Rows older than this many days are archived (sealed by a checkpoint, encrypted
    /// under `backup.key_file`) into `archive_destinations` and deleted from the live
    /// table; 0: never (the default).
    pub archive_after_days: u64,
    /// Hours between walks of the whole chain in the background, each recorded in every
    /// tenant's log (`audit.chain.verified`); 0: only when asked. The first is a minute after
    /// start.
    pub verify_interval_hours: u64,
    /// Folders the audit archives are written to (each gets every archive); default: the
    /// `[backup] destinations`.
    #[serde(deserialize_with = "sekimori_core::settings::path_list")]
    pub archive_destinations: Vec<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            checkpoint_file: None,
            checkpoint_interval_seconds: 300,
            archive_after_days: 0,
            verify_interval_hours: 24,
            archive_destinations: Vec::new(),
        }
    }
}

/// `[detect]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Sekimori's own rules for its audit events (docs/detection.md) run with `rules`.
    pub builtin_rules: bool,
    /// Sigma rule files or folders run on every ingested event (in the environment:
    /// paths separated by `:`).
    #[serde(deserialize_with = "sekimori_core::settings::path_list")]
    pub rules: Vec<PathBuf>,
    /// A behaviour-baseline configuration replacing the built-in one (the format of
    /// `crates/sekimori-detect/data/baselines.yml`).
    pub baselines: Option<PathBuf>,
    /// Threat-intel lists: files of one IP address or CIDR per line (`#` comments; in the
    /// environment: paths separated by `:`).
    #[serde(deserialize_with = "sekimori_core::settings::path_list")]
    pub threat_intel: Vec<PathBuf>,
    /// Fields of ingested events whose values are indexed as events are stored, so the
    /// event search finds a value of one without reading every event (in the environment:
    /// comma-separated). Names as the search takes them: a key, else a dotted path.
    #[serde(deserialize_with = "sekimori_core::settings::comma_list")]
    pub search_fields: Vec<String>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            builtin_rules: true,
            rules: Vec::new(),
            baselines: None,
            threat_intel: Vec::new(),
            search_fields: Vec::new(),
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (`address:port`).
    pub listen: SocketAddr,
    /// Public base URL (enrolment links, token issuer): an absolute http or https URL,
    /// checked when read and kept without a trailing slash; default `http://<listen>`.
    pub public_url: Option<sekimori_core::PublicUrl>,
    /// Largest accepted request body, bytes (1024 to 16 MiB).
    pub body_limit_bytes: usize,
    /// Reverse proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` or
    /// `Forwarded` header names the client; empty: the TCP peer is the client (in the
    /// environment: comma-separated).
    #[serde(deserialize_with = "sekimori_core::settings::comma_list")]
    pub trusted_proxies: Vec<sekimori_core::net::Cidr>,
    /// Seconds a client has to send a complete request head; also the longest a kept-alive
    /// connection waits idle (1 to 300).
    pub header_timeout_seconds: u64,
    /// Connections served at once; more are closed as soon as they are accepted (16 to
    /// 1,000,000). The soft open-files limit is raised to the hard limit at start.
    pub max_connections: usize,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in progress before it
    /// closes the connections still open (0 to 300).
    pub shutdown_grace_seconds: u64,
    /// `[server.rate_limits]`: requests per minute per client network on unauthenticated
    /// creating endpoints.
    pub rate_limits: sekimori_server::limits::RateLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            body_limit_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            header_timeout_seconds: 10,
            max_connections: 10_000,
            shutdown_grace_seconds: 10,
            rate_limits: Default::default(),
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the embedded database and the key file.
    pub data_dir: PathBuf,
    /// A `postgres://` URL; when set, PostgreSQL is used instead of the embedded SQLite.
    pub database_url: Option<String>,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// The server key file; default `<data_dir>/keys/server.json`.
    pub keys_file: Option<PathBuf>,
    /// `/readyz` answers not ready when the embedded database's disk has less free space
    /// than this, MiB (0 to 1048576).
    pub min_free_mib: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: "./sekimori-data".into(),
            database_url: None,
            max_connections: 16,
            keys_file: None,
            min_free_mib: 64,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `sekimori=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into(), format: LogFormat::Text }
    }
}

/// A refused configuration.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {key}: {reason}")]
pub struct ConfigError {
    /// The file or environment variable.
    pub source_name: String,
    /// The key, e.g. `server.listen`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// One environment override: the variable, its dotted key, and, when its value was read
/// as something other than text (a number, a boolean), the text to retry it as.
struct Override {
    var: String,
    key: String,
    retry_as_text: Option<String>,
}

/// A variable's value as what it looks like: a whole number, a boolean, or text.
fn guess(value: &str) -> toml::Value {
    if let Ok(n) = value.trim().parse::<i64>() {
        return toml::Value::Integer(n);
    }
    match value.trim() {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    }
}

/// Sets (or, with `None`, removes) the value of `o.key`, making the tables on the way.
fn put(table: &mut toml::Table, o: &Override, value: Option<toml::Value>) -> Result<(), ConfigError> {
    let path: Vec<&str> = o.key.split('.').collect();
    let Some((last, parents)) = path.split_last() else { return Err(err(&o.var, &o.key, "no key")) };
    let mut t = table;
    for p in parents {
        let entry = t.entry((*p).to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| err(&o.var, &o.key, format!("{p} is not a section")))?;
    }
    match value {
        Some(v) => {
            t.insert((*last).to_owned(), v);
        }
        None => {
            t.remove(*last);
        }
    }
    Ok(())
}

pub(crate) fn err(source_name: &str, key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { source_name: source_name.to_owned(), key: key.to_owned(), reason: reason.into() }
}

impl Config {
    /// Loads `file` (if any) and the `SEKIMORI_<SECTION>__<KEY>` overrides in `env` (name,
    /// value pairs): the variables are merged into the file's table and the result is
    /// read once, by the same schema (the structs below). A list in a variable is text
    /// with the list's separator; an empty variable leaves the key at its default.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| err(&name, "(file)", e.to_string()))?;
                // The file on its own first, so its errors carry line numbers.
                serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(&text)).map_err(|e| {
                    let key = e.path().to_string();
                    let inner = e.into_inner();
                    let reason = inner.message().to_owned();
                    let line = inner.span().map(|s| text[..s.start].matches('\n').count() + 1);
                    let key = if key == "." { "(document)".to_owned() } else { key };
                    match line {
                        Some(l) => err(&name, &key, format!("{reason} (line {l})")),
                        None => err(&name, &key, reason),
                    }
                })?;
                toml::from_str::<toml::Table>(&text).map_err(|e| err(&name, "(document)", e.to_string()))?
            }
            None => toml::Table::new(),
        };
        let file_name = file.map(|p| p.display().to_string()).unwrap_or_else(|| "defaults".into());
        let mut overrides: Vec<Override> = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("SEKIMORI_") else { continue };
            let Some((section, key)) = rest.split_once("__") else { continue };
            // A nested section is a further `__`: SEKIMORI_GATE__PASSWORD__MEMORY_KIB.
            let dotted = format!("{}.{}", section.to_ascii_lowercase(), key.to_ascii_lowercase().replace("__", "."));
            let guessed = (!value.is_empty()).then(|| guess(&value));
            let retry_as_text = guessed.as_ref().filter(|v| !v.is_str()).map(|_| value.clone());
            let o = Override { var: name.clone(), key: dotted, retry_as_text };
            put(&mut table, &o, guessed)?;
            overrides.push(o);
        }
        // Read once. A variable's value is first tried as what it looks like (a number, a
        // boolean), and as text if the key wants text.
        loop {
            match serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table.clone())) {
                Ok(cfg) => return Ok(cfg),
                Err(e) => {
                    let key = e.path().to_string();
                    let reason = e.into_inner().to_string();
                    let Some(o) =
                        overrides.iter_mut().find(|o| key == o.key || key.starts_with(&format!("{}[", o.key)))
                    else {
                        return Err(err(&file_name, &key, reason));
                    };
                    match o.retry_as_text.take() {
                        Some(text) => put(&mut table, o, Some(toml::Value::String(text)))?,
                        None => return Err(err(&o.var, &o.key, reason)),
                    }
                }
            }
        }
    }

    /// Checks values that parse but make no sense; `source_name` names where they came from.
    pub fn validate(&self, source_name: &str) -> Result<(), ConfigError> {
        self.server.rate_limits.validate().map_err(|(key, reason)| err(source_name, key, reason))?;
        for (key, v, lo, hi) in [
            ("server.header_timeout_seconds", self.server.header_timeout_seconds, 1, 300),
            ("server.max_connections", self.server.max_connections as u64, 16, 1_000_000),
            ("server.shutdown_grace_seconds", self.server.shutdown_grace_seconds, 0, 300),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(err(source_name, key, format!("must be between {lo} and {hi}, got {v}")));
            }
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.server.body_limit_bytes) {
            return Err(err(source_name, "server.body_limit_bytes", "must be between 1024 and 16777216"));
        }
        if let Some(u) = &self.storage.database_url {
            if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                return Err(err(source_name, "storage.database_url", "must be a postgres:// URL"));
            }
        }
        if let Some(p) = self.detect.rules.iter().find(|p| !p.exists()) {
            return Err(err(source_name, "detect.rules", format!("{} does not exist", p.display())));
        }
        check_search_fields(source_name, &self.detect.search_fields)?;
        for (i, l) in self.syslog.listeners.iter().enumerate() {
            let key = |k: &str| format!("syslog.listeners[{i}].{k}");
            let Some(listen) = l.listen else {
                return Err(err(source_name, &key("listen"), SyslogAddrError::NoScheme.to_string()));
            };
            let scheme = listen.scheme;
            if let Err(e) = sekimori_core::names::Label::parse(&l.source) {
                return Err(err(source_name, &key("source"), e.to_string()));
            }
            let tls = scheme == SyslogScheme::Tls;
            for (k, v) in [("tls_cert", &l.tls_cert), ("tls_key", &l.tls_key)] {
                match (tls, v) {
                    (true, None) => return Err(err(source_name, &key(k), "required for a tls:// listener")),
                    (false, Some(_)) => return Err(err(source_name, &key(k), "only for a tls:// listener")),
                    (true, Some(p)) if !p.exists() => {
                        return Err(err(source_name, &key(k), format!("{} does not exist", p.display())))
                    }
                    _ => {}
                }
            }
            if let Some(Err(e)) = l.logsource.as_ref().map(sekimori_detect::DeclaredLogSource::validate) {
                return Err(match e {
                    sekimori_detect::DetectError::Setting { key: k, reason } => {
                        err(source_name, &format!("{}.{k}", key("logsource")), reason)
                    }
                    other => err(source_name, &key("logsource"), other.to_string()),
                });
            }
            if let Some(Err(e)) = l.labels.as_ref().map(sekimori_watch::check_source_labels) {
                return Err(err(source_name, &key("labels"), e.detail));
            }
            if !tls && l.tls_client_ca.is_some() {
                return Err(err(source_name, &key("tls_client_ca"), "only for a tls:// listener"));
            }
            for (k, v, lo, hi) in [
                ("max_message_bytes", l.max_message_bytes, 480, 1 << 20),
                ("queue_messages", l.queue_messages, 1, 1_000_000),
                ("max_connections", l.max_connections, 1, 65_536),
                ("idle_timeout_seconds", l.idle_timeout_seconds as usize, 10, 86_400),
                ("recv_buffer_bytes", l.recv_buffer_bytes, 65_536, 1 << 28),
            ] {
                if !(lo..=hi).contains(&v) {
                    return Err(err(source_name, &key(k), format!("must be between {lo} and {hi}, got {v}")));
                }
            }
        }
        if self.storage.min_free_mib > 1 << 20 {
            return Err(err(
                source_name,
                "storage.min_free_mib",
                format!("must be between 0 and 1048576, got {}", self.storage.min_free_mib),
            ));
        }
        if self.storage.max_connections == 0 {
            return Err(err(source_name, "storage.max_connections", "must be at least 1"));
        }
        let g = &self.gate;
        for (key, v, lo, hi) in [
            ("gate.login_ttl_seconds", g.login_ttl_seconds, 10, 600),
            ("gate.qr_ttl_seconds", g.qr_ttl_seconds, 10, 600),
            ("gate.enrollment_ttl_seconds", g.enrollment_ttl_seconds, 60, 7 * 86_400),
            ("gate.assertion_ttl_seconds", g.assertion_ttl_seconds, 10, 600),
            ("gate.device_clock_skew_seconds", g.device_clock_skew_seconds, 5, 600),
            ("gate.ticket_ttl_seconds", g.ticket_ttl_seconds, 1, g.ticket_max_ttl_seconds),
            ("gate.ticket_max_ttl_seconds", g.ticket_max_ttl_seconds, 1, 366 * 86_400),
            ("gate.retention_grace_seconds", g.retention_grace_seconds, 600, 366 * 86_400),
            ("gate.warning_ttl_seconds", g.warning_ttl_seconds, 60, 30 * 86_400),
            ("gate.session.idle_seconds", g.session.idle_seconds, 60, 30 * 86_400),
            ("gate.session.absolute_seconds", g.session.absolute_seconds, 300, 90 * 86_400),
            ("gate.passkey.ceremony_ttl_seconds", g.passkey.ceremony_ttl_seconds, 30, 3600),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(err(source_name, key, format!("must be between {lo} and {hi}, got {v}")));
            }
        }
        g.password.validate().map_err(|(key, reason)| err(source_name, key, reason))?;
        g.oidc.validate().map_err(|(key, reason)| err(source_name, key, reason))?;
        g.web_push.validate().map_err(|(key, reason)| err(source_name, key, reason))?;
        self.metrics.token_hash().map_err(|(key, reason)| err(source_name, key, reason))?;
        // Passkeys set up explicitly must work; left to the defaults, a public URL without a
        // domain name only turns them off (the server says so at start).
        if g.passkey.rp_id.is_some() || !g.passkey.origins.is_empty() {
            let public = self.server.public_url.clone().unwrap_or_else(|| PublicUrl::from_listen(self.server.listen));
            sekimori_gate::passkeys::relying_party(&public, &g.passkey)
                .map_err(|e| err(source_name, &e.key, e.reason))?;
        }
        for (i, rule) in g.forward_auth.iter().enumerate() {
            rule.check().map_err(|e| {
                let e = e.under(&format!("gate.forward_auth[{i}]"));
                err(source_name, &e.key, e.reason)
            })?;
        }
        if !(10..=86_400).contains(&self.audit.checkpoint_interval_seconds) {
            return Err(err(
                source_name,
                "audit.checkpoint_interval_seconds",
                format!("must be between 10 and 86400, got {}", self.audit.checkpoint_interval_seconds),
            ));
        }
        if self.audit.verify_interval_hours > 8_760 {
            return Err(err(
                source_name,
                "audit.verify_interval_hours",
                format!("must be between 0 (only when asked) and 8760, got {}", self.audit.verify_interval_hours),
            ));
        }
        if self.audit.archive_after_days > 36_500 {
            return Err(err(
                source_name,
                "audit.archive_after_days",
                format!("must be between 0 (never) and 36500, got {}", self.audit.archive_after_days),
            ));
        }
        if self.audit.archive_after_days > 0 {
            if self.archive_destinations().is_empty() {
                return Err(err(
                    source_name,
                    "audit.archive_destinations",
                    "required when audit.archive_after_days is set (or set backup.destinations)",
                ));
            }
            if self.backup.key_file.is_none() {
                return Err(err(source_name, "backup.key_file", "required when audit.archive_after_days is set"));
            }
            self.backup
                .validate_s3(&self.archive_destinations(), "audit.archive_destinations")
                .map_err(|(key, reason)| err(source_name, key, reason))?;
        }
        self.backup
            .validate(self.storage.database_url.is_some())
            .map_err(|(key, reason)| err(source_name, key, reason))?;
        Ok(())
    }

    /// Where audit archives go.
    pub fn archive_destinations(&self) -> Vec<PathBuf> {
        if self.audit.archive_destinations.is_empty() {
            self.backup.destinations.clone()
        } else {
            self.audit.archive_destinations.clone()
        }
    }

    /// Where audit checkpoints go.
    pub fn checkpoint_file(&self) -> PathBuf {
        self.audit.checkpoint_file.clone().unwrap_or_else(|| self.storage.data_dir.join("audit-checkpoints.jsonl"))
    }

    /// The behaviour baselines of `detect.baselines` (or the built-in ones) with the
    /// `detect.threat_intel` lists, read and checked; errors name the key and the file.
    pub fn baselines(&self, source_name: &str) -> Result<sekimori_detect::baseline::Baselines, ConfigError> {
        use sekimori_detect::baseline::{BaselineConfig, Baselines, ThreatIntel};
        let read = |key: &str, p: &Path| {
            std::fs::read_to_string(p).map_err(|e| err(source_name, key, format!("{}: {e}", p.display())))
        };
        let config = match &self.detect.baselines {
            None => BaselineConfig::builtin(),
            Some(p) => BaselineConfig::from_yaml(&read("detect.baselines", p)?)
                .map_err(|e| err(source_name, "detect.baselines", format!("{}: {e}", p.display())))?,
        };
        let mut intel = ThreatIntel::default();
        for p in &self.detect.threat_intel {
            intel
                .parse(&p.display().to_string(), &read("detect.threat_intel", p)?)
                .map_err(|e| err(source_name, "detect.threat_intel", e.to_string()))?;
        }
        Ok(Baselines::new(config, intel))
    }

    /// The key file path.
    pub fn keys_file(&self) -> PathBuf {
        self.storage.keys_file.clone().unwrap_or_else(|| self.storage.data_dir.join("keys").join("server.json"))
    }
}

/// `detect.search_fields`: at most 32 names, each 1 to 128 characters without spaces or
/// control characters, none twice; the error names the key and where it came from.
fn check_search_fields(source_name: &str, names: &[String]) -> Result<(), ConfigError> {
    let bad = |reason: String| err(source_name, "detect.search_fields", reason);
    let most = sekimori_watch::search::MAX_SEARCH_FIELDS;
    if names.len() > most {
        return Err(bad(format!("at most {most} fields, got {}", names.len())));
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!("{name:?} is not a field name (1 to 128 characters, no spaces)")));
        }
        if names[..i].contains(name) {
            return Err(bad(format!("{name:?} is listed twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("sekimori.toml");
        std::fs::write(&p, text).expect("write");
        (dir, p)
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let (_d, p) = write("[server]\nlisten = \"127.0.0.1:1\"\nlissen = 3\n");
        let e = Config::load(Some(&p), []).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains("sekimori.toml"), "{text}");
        assert!(text.contains("lissen"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn destinations_from_the_environment_keep_s3_urls_whole() {
        let env = vec![
            ("SEKIMORI_BACKUP__DESTINATIONS".to_owned(), "/var/backups:s3://bucket/prod::/mnt/b".to_owned()),
            ("SEKIMORI_BACKUP__S3__ACCESS_KEY_ID".to_owned(), "AKIA".to_owned()),
            ("SEKIMORI_BACKUP__S3__PATH_STYLE".to_owned(), "false".to_owned()),
        ];
        let cfg = Config::load(None, env).expect("loads");
        let want: Vec<PathBuf> = ["/var/backups", "s3://bucket/prod", "/mnt/b"].iter().map(PathBuf::from).collect();
        assert_eq!(cfg.backup.destinations, want);
        let s3 = cfg.backup.s3.clone().expect("s3");
        assert_eq!((s3.access_key_id.as_str(), s3.region.as_str(), s3.path_style), ("AKIA", "us-east-1", Some(false)));
        // An S3 destination without a secret file is refused, naming the key.
        let e = cfg.backup.validate_s3(&want, "backup.destinations").expect_err("refused");
        assert_eq!(e.0, "backup.s3.secret_access_key_file");
    }

    #[test]
    fn bad_type_names_the_key() {
        let (_d, p) = write("[gate]\nqr_ttl_seconds = \"soon\"\n");
        let e = Config::load(Some(&p), []).expect_err("refused");
        assert_eq!(e.key, "gate.qr_ttl_seconds", "{e}");
    }

    #[test]
    fn env_overrides_and_refuses_unknown() {
        let (_d, p) = write("[server]\nlisten = \"127.0.0.1:1\"\n");
        let env = vec![("SEKIMORI_SERVER__LISTEN".to_owned(), "127.0.0.1:9".to_owned())];
        assert_eq!(Config::load(Some(&p), env).expect("ok").server.listen.to_string(), "127.0.0.1:9");
        let bad = vec![("SEKIMORI_SERVER__LISTN".to_owned(), "x".to_owned())];
        let e = Config::load(Some(&p), bad).expect_err("refused");
        assert_eq!(e.source_name, "SEKIMORI_SERVER__LISTN");
        let nan = vec![("SEKIMORI_GATE__QR_TTL_SECONDS".to_owned(), "x".to_owned())];
        let e = Config::load(None, nan).expect_err("refused");
        assert_eq!((e.source_name.as_str(), e.key.as_str()), ("SEKIMORI_GATE__QR_TTL_SECONDS", "gate.qr_ttl_seconds"));
        assert!(e.reason.contains("invalid type: string \"x\""), "{e}");
        // Text that looks like a number is text where the key wants text; lists split on
        // the separator their key documents; an empty variable leaves the default.
        let env =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let cfg = Config::load(
            Some(&p),
            env(&[
                ("SEKIMORI_GATE__PASSKEY__RP_NAME", "01234"),
                ("SEKIMORI_GATE__PASSKEY__ORIGINS", "https://a.example, http://127.0.0.1:8081"),
                ("SEKIMORI_SERVER__TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.1"),
                ("SEKIMORI_DETECT__RULES", "/r/a:/r/b"),
                ("SEKIMORI_STORAGE__DATABASE_URL", ""),
                ("SEKIMORI_BACKUP__S3__PATH_STYLE", "true"),
            ]),
        )
        .expect("ok");
        assert_eq!(cfg.gate.passkey.rp_name, "01234", "the text as given, not the number re-written");
        assert_eq!(cfg.gate.passkey.origins, ["https://a.example", "http://127.0.0.1:8081"]);
        assert_eq!(
            cfg.server.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["10.0.0.0/8", "192.0.2.1/32"]
        );
        assert_eq!(cfg.detect.rules, [PathBuf::from("/r/a"), PathBuf::from("/r/b")]);
        assert_eq!(cfg.storage.database_url, None);
        assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:1", "the file's value where no variable overrides it");
        assert_eq!(cfg.backup.s3.map(|s| (s.path_style, s.region)), Some((Some(true), "us-east-1".to_owned())));
        let e = Config::load(None, env(&[("SEKIMORI_GATE__PASSKEY__NOPE", "x")])).expect_err("refused");
        assert_eq!((e.source_name.as_str(), e.key.as_str()), ("SEKIMORI_GATE__PASSKEY__NOPE", "gate.passkey.nope"));
        let nested = vec![("SEKIMORI_GATE__PASSWORD__MEMORY_KIB".to_owned(), "65536".to_owned())];
        assert_eq!(Config::load(None, nested).expect("ok").gate.password.memory_kib, 65536);
        // Variables without a section separator (SEKIMORI_URL, SEKIMORI_TOKEN) belong to the CLI.
        assert!(Config::load(None, vec![("SEKIMORI_URL".to_owned(), "x".to_owned())]).is_ok());
    }

    #[test]
    fn gate_section_is_read_and_public_url_is_not_a_gate_key() {
        let (_d, p) = write("[gate]\nqr_ttl_seconds = 30\nwarning_ttl_seconds = 3600\n");
        let c = Config::load(Some(&p), []).expect("ok");
        assert_eq!((c.gate.qr_ttl_seconds, c.gate.warning_ttl_seconds, c.gate.login_ttl_seconds), (30, 3600, 60));
        let (_d, p) = write("[gate]\npublic_url = \"http://x\"\n");
        assert_eq!(Config::load(Some(&p), []).expect_err("refused").key, "gate.public_url");
        let (_d, p) = write("[gate.password]\nmemory_kib = 65536\niterations = 3\n");
        let c = Config::load(Some(&p), []).expect("ok");
        assert_eq!(
            (c.gate.password.memory_kib, c.gate.password.iterations, c.gate.password.parallelism),
            (65536, 3, 1)
        );
    }

    #[test]
    fn typed_fields_are_read_with_the_file() {
        use std::str::FromStr;
        let a = SyslogAddr::from_str("tls://127.0.0.1:6514").expect("address");
        assert_eq!((a.scheme, a.addr.port()), (SyslogScheme::Tls, 6514));
        assert_eq!(SyslogAddr::from_str("127.0.0.1:514"), Err(SyslogAddrError::NoScheme));
        assert_eq!(SyslogAddr::from_str("http://127.0.0.1:514"), Err(SyslogAddrError::UnknownScheme("http".into())));
        assert_eq!(SyslogAddr::from_str("udp://host"), Err(SyslogAddrError::NotAnAddress("host".into())));
        let (_d, p) = write("[[syslog.listeners]]\nlisten = \"udp://nowhere\"\n");
        let e = Config::load(Some(&p), []).expect_err("refused");
        assert_eq!(e.key, "syslog.listeners[0].listen", "{e}");
        let (_d, p) = write("[[syslog.listeners]]\nsource = \"fw\"\n");
        let c = Config::load(Some(&p), []).expect("parsed");
        assert_eq!(c.validate("f.toml").expect_err("required").key, "syslog.listeners[0].listen");
        let (_d, p) = write("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n");
        let e = Config::load(Some(&p), []).expect_err("refused");
        assert!(e.key.starts_with("server.trusted_proxies") && e.reason.contains("10.0.0.0/33"), "{e}");
        let env = vec![("SEKIMORI_SERVER__TRUSTED_PROXIES".to_owned(), "10.0.0.0/8, proxy.local".to_owned())];
        let e = Config::load(None, env).expect_err("refused");
        assert!(e.key.starts_with("server.trusted_proxies") && e.reason.contains("proxy.local"), "{e}");
        let (_d, p) = write("[log]\nformat = \"xml\"\n");
        assert_eq!(Config::load(Some(&p), []).expect_err("refused").key, "log.format");
        let env = vec![("SEKIMORI_LOG__FORMAT".to_owned(), "json".to_owned())];
        assert_eq!(Config::load(None, env).expect("json").log.format, LogFormat::Json);
    }

    #[test]
    fn validation_names_key() {
        let mut c = Config::default();
        c.gate.qr_ttl_seconds = 5;
        assert_eq!(c.validate("f.toml").expect_err("refused").key, "gate.qr_ttl_seconds");
        let (_d, p) = write("[server]\nlisten = \"nowhere\"\n");
        assert_eq!(Config::load(Some(&p), []).expect_err("refused").key, "server.listen");
        let mut c = Config::default();
        c.gate.password.memory_kib = 4;
        let e = c.validate("f.toml").expect_err("refused");
        assert_eq!((e.source_name.as_str(), e.key.as_str()), ("f.toml", "gate.password.memory_kib"));
        let (_d, p) = write("[gate.oidc]\naccess_token_alg = \"HS256\"\n");
        let e = Config::load(Some(&p), []).expect_err("refused");
        assert_eq!(e.key, "gate.oidc.access_token_alg");
        assert!(e.to_string().contains("must be ES256 or RS256"), "{e}");
        let env = vec![("SEKIMORI_GATE__OIDC__CODE_TTL_SECONDS".to_owned(), "5".to_owned())];
        let c = Config::load(None, env).expect("parsed");
        assert_eq!(c.validate("env").expect_err("refused").key, "gate.oidc.code_ttl_seconds");
        let (_d, p) = write("[gate.passkey]\nrp_id = \"example.org\"\norigins = [\"https://login.example.com\"]\n");
        let c = Config::load(Some(&p), []).expect("parsed");
        assert_eq!(c.validate("f.toml").expect_err("refused").key, "gate.passkey.rp_id");
        let (_d, p) = write("[gate.passkey]\nrp_id = \"example.com\"\norigins = [\"https://login.example.com\"]\n");
        assert!(Config::load(Some(&p), []).expect("parsed").validate("f.toml").is_ok());
        let (_d, p) = write("[gate.web_push]\nendpoint_origins = [\"https://push.example/x\"]\n");
        let e = Config::load(Some(&p), []).expect("parsed").validate("f.toml").expect_err("a path is no origin");
        assert_eq!((e.source_name.as_str(), e.key.as_str()), ("f.toml", "gate.web_push.endpoint_origins"));
        let (_d, p) = write("[gate.oidc]\ncode_ttl = 30\n");
        assert!(Config::load(Some(&p), []).expect_err("unknown key").to_string().contains("code_ttl"));
        assert!(Config::default().validate("defaults").is_ok());
    }

    #[test]
    fn search_fields_are_read_from_the_file_or_the_environment_and_checked() {
        let (_d, p) = write("[detect]\nsearch_fields = [\"EventID\", \"user.name\"]\n");
        let c = Config::load(Some(&p), []).expect("parsed");
        assert_eq!(c.detect.search_fields, ["EventID", "user.name"]);
        assert!(c.validate("f.toml").is_ok());
        let env = vec![("SEKIMORI_DETECT__SEARCH_FIELDS".to_owned(), "EventID, source.ip".to_owned())];
        assert_eq!(Config::load(None, env).expect("parsed").detect.search_fields, ["EventID", "source.ip"]);
        for bad in ["[\"EventID\", \"EventID\"]", "[\"\"]", "[\"user name\"]"] {
            let (_d, p) = write(&format!("[detect]\nsearch_fields = {bad}\n"));
            let e = Config::load(Some(&p), []).expect("parsed").validate("f.toml").expect_err(bad);
            assert_eq!((e.source_name.as_str(), e.key.as_str()), ("f.toml", "detect.search_fields"), "{bad}");
        }
        let mut c = Config::default();
        c.detect.search_fields = (0..33).map(|i| format!("f{i}")).collect();
        assert!(c.validate("f.toml").expect_err("too many").to_string().contains("at most 32"));
    }
}
