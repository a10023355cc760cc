//! The build step: the configuration, checked, turned into the objects the server runs
//! with, as Vector's components build from their configuration. Everything that reads a
//! file or can be refused (rules, baselines, threat-intel lists, the passkey relying
//! party, every range) is done here, before a port is bound or the store is opened, and
//! each refusal names its key and the file or variable it came from.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sekimori_core::net::TrustedProxies;
use sekimori_core::PublicUrl;
use sekimori_detect::baseline::Baselines;
use sekimori_detect::{LoadReport, RuleSet};
use sekimori_gate::risk::RiskInputs;
use sekimori_gate::GateSettings;
use sekimori_server::limits::RateLimits;
use sekimori_server::listen::ConnLimits;

use crate::config::{Config, ConfigError};

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// The embedded SQLite file `sekimori.db` in this directory (created if missing).
    Sqlite {
        /// `storage.data_dir`.
        data_dir: PathBuf,
    },
    /// PostgreSQL at this URL.
    Postgres {
        /// `storage.database_url`.
        url: String,
        /// `storage.max_connections`.
        max_connections: u32,
    },
}

impl StoreSpec {
    /// The store `cfg` names.
    pub fn of(cfg: &Config) -> Self {
        match &cfg.storage.database_url {
            Some(url) => StoreSpec::Postgres { url: url.clone(), max_connections: cfg.storage.max_connections },
            None => StoreSpec::Sqlite { data_dir: cfg.storage.data_dir.clone() },
        }
    }
}

/// What the HTTP front door is given.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted body, bytes.
    pub body_limit: usize,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Requests per minute per client network on creating endpoints.
    pub rate_limits: RateLimits,
    /// Readiness fails below this much free disk, bytes.
    pub min_free_bytes: u64,
    /// Request-head, idle, connection-count and shutdown limits.
    pub conn_limits: ConnLimits,
}

/// Where and how often the audit chain's head is checkpointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSchedule {
    /// The checkpoint file.
    pub file: PathBuf,
    /// How often.
    pub every: Duration,
}

/// The server's runtime objects, built from a checked configuration.
pub struct Runtime {
    /// `server.listen`.
    pub listen: SocketAddr,
    /// `server.public_url`; `None`: `http://` and the address bound.
    pub public_url: Option<PublicUrl>,
    /// The store.
    pub store: StoreSpec,
    /// The server key file.
    pub keys_file: PathBuf,
    /// The HTTP front door's settings.
    pub http: HttpSettings,
    /// Behaviour baselines with the threat-intel lists, read.
    pub baselines: Baselines,
    /// The Sigma rules that loaded, and the report of those that did not.
    pub rules: (RuleSet, LoadReport),
    /// Audit checkpoints.
    pub checkpoints: CheckpointSchedule,
    /// Login-time risk: the address lists read, with the baselines.
    pub risk: RiskInputs,
    gate: GateSettings,
}

impl Runtime {
    /// The public URL once the listener is bound to `bound`.
    pub fn public_url_for(&self, bound: SocketAddr) -> PublicUrl {
        self.public_url.clone().unwrap_or_else(|| PublicUrl::from_listen(bound))
    }

    /// The gate's settings with the public URL resolved.
    pub fn gate_settings(&self, public_url: PublicUrl) -> GateSettings {
        GateSettings { public_url, ..self.gate.clone() }
    }
}

impl Config {
    /// Checks the configuration and builds the server's runtime objects from it;
    /// `source_name` names the file (or "defaults") refusals are reported against.
    pub fn build(&self, source_name: &str) -> Result<Runtime, ConfigError> {
        self.validate(source_name)?;
        let baselines = self.baselines(source_name)?;
        let risk = self.risk.read(source_name, &baselines)?;
        let mut rules = RuleSet::load(&self.detect.rules);
        if self.detect.builtin_rules {
            rules.0.add_builtin(&mut rules.1);
        }
        Ok(Runtime {
            listen: self.server.listen,
            public_url: self.server.public_url.clone(),
            store: StoreSpec::of(self),
            keys_file: self.keys_file(),
            http: HttpSettings {
                body_limit: self.server.body_limit_bytes,
                trusted_proxies: TrustedProxies::new(self.server.trusted_proxies.clone()),
                rate_limits: self.server.rate_limits,
                min_free_bytes: self.storage.min_free_mib << 20,
                conn_limits: ConnLimits {
                    header_timeout: Duration::from_secs(self.server.header_timeout_seconds),
                    max_connections: self.server.max_connections,
                    shutdown_grace: Duration::from_secs(self.server.shutdown_grace_seconds),
                },
            },
            baselines,
            rules,
            checkpoints: CheckpointSchedule {
                file: self.checkpoint_file(),
                every: Duration::from_secs(self.audit.checkpoint_interval_seconds),
            },
            risk,
            gate: self.gate.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_build_an_embedded_server() {
        let rt = Config::default().build("defaults").expect("the defaults build");
        assert_eq!(rt.store, StoreSpec::Sqlite { data_dir: "./sekimori-data".into() });
        assert_eq!(rt.public_url_for(SocketAddr::from(([127, 0, 0, 1], 4321))).as_str(), "http://127.0.0.1:4321");
        assert_eq!(rt.http.conn_limits.header_timeout, Duration::from_secs(10));
        assert_eq!(rt.checkpoints.file, PathBuf::from("./sekimori-data/audit-checkpoints.jsonl"));
        let gate = rt.gate_settings("https://id.example.org/".parse().expect("url"));
        assert_eq!(gate.public_url.as_str(), "https://id.example.org");
    }

    #[test]
    fn a_configured_public_url_wins_and_a_bad_one_names_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "[server]\npublic_url = \"https://id.example.org/\"\n").expect("write");
        let rt = Config::load(Some(&p), []).expect("read").build("s.toml").expect("built");
        assert_eq!(rt.public_url_for(SocketAddr::from(([0, 0, 0, 0], 80))).as_str(), "https://id.example.org");
        std::fs::write(&p, "[server]\npublic_url = \"id.example.org\"\n").expect("write");
        let e = Config::load(Some(&p), []).expect_err("refused while read");
        assert_eq!(e.key, "server.public_url");
        assert!(e.to_string().contains("s.toml") && e.to_string().contains("not a URL"), "{e}");
        std::fs::write(&p, "[server]\npublic_url = \"https://id.example.org/?x=1\"\n").expect("write");
        let e = Config::load(Some(&p), []).expect_err("refused while read");
        assert!(e.to_string().contains("query"), "{e}");
    }

    #[test]
    fn address_lists_are_read_by_the_build_and_a_bad_line_names_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tor = dir.path().join("tor.txt");
        std::fs::write(&tor, "ExitNode AA\nExitAddress 203.0.113.66 2026-12-05 10:00:00\n").expect("write");
        let mut c = Config::default();
        c.risk.address_lists =
            vec![crate::risk_config::ListConfig { name: "tor-exits".into(), path: tor.clone(), weight: 60 }];
        let rt = c.build("f.toml").expect("built");
        let ip = "203.0.113.66".parse().expect("ip");
        assert_eq!(rt.risk.reputation.hits(ip), vec![("tor-exits".to_owned(), 60)]);
        std::fs::write(&tor, "203.0.113.66\nnot-an-address\n").expect("write");
        let e = c.build("f.toml").err().expect("refused");
        assert_eq!(e.key, "risk.address_lists[0].path");
        assert!(e.reason.contains("line 2"), "{e}");
        c.risk.address_lists[0].weight = 0;
        assert_eq!(c.build("f.toml").err().map(|e| e.key), Some("risk.address_lists[0].weight".to_owned()));
    }

    #[test]
    fn rules_are_loaded_by_the_build_a_bad_one_reported_a_missing_path_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("broken.yml"), "title: broken\ndetection: [\n").expect("write");
        let mut c = Config::default();
        c.detect.rules = vec![dir.path().to_path_buf()];
        let rt = c.build("f.toml").expect("built");
        assert_eq!(rt.rules.1.failures.len(), 1, "the rule that does not parse is in the load report, not fatal");
        c.detect.rules = vec!["/nonexistent/sekimori-rules".into()];
        assert_eq!(c.build("f.toml").err().map(|e| e.key), Some("detect.rules".to_owned()));
    }
}
