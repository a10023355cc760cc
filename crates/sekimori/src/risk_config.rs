//! `[risk]`: the address lists login-time risk reads (docs/risk.md), each a file of one IP
//! address or CIDR per line (`#` comments) or the Tor Project's exit list, with a weight.
//! Read when the configuration is built (a bad file refuses the start, naming the key and
//! the line) and read again when a file changes, without a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use sekimori_detect::baseline::Baselines;
use sekimori_gate::risk::{RiskInputs, RiskProvider};
use sekimori_gate::Gate;
use sekimori_risk::{AddressList, GeoDb, Reputation};

use crate::config::{err, ConfigError};

/// `[risk]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// `[[risk.address_lists]]`: lists of addresses whose logins are riskier.
    pub address_lists: Vec<ListConfig>,
    /// A geolocation database in the MaxMind DB format (GeoLite2 City or Country, DB-IP
    /// Lite, an ASN database): country, coordinates and ASN of the client's address.
    pub geoip_database: Option<PathBuf>,
    /// How often list files are checked for changes, seconds (5 to 86400).
    pub reload_seconds: u64,
    /// `[[risk.providers]]`: external risk services asked after primary authentication.
    pub providers: Vec<crate::risk_provider_config::ProviderConfig>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig { address_lists: Vec::new(), geoip_database: None, reload_seconds: 60, providers: Vec::new() }
    }
}

/// One address list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// Shown in explanations (`tor-exits`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Points an address on it adds to a login's score (1 to 100; the default policy
    /// refuses any listed address whatever its weight).
    pub weight: u32,
}

impl RiskConfig {
    /// Checks the ranges and reads every list; errors name the key and the file.
    pub fn read(&self, source_name: &str, baselines: &Baselines) -> Result<RiskInputs, ConfigError> {
        if !(5..=86_400).contains(&self.reload_seconds) {
            return Err(err(
                source_name,
                "risk.reload_seconds",
                format!("must be between 5 and 86400, got {}", self.reload_seconds),
            ));
        }
        for (i, l) in self.address_lists.iter().enumerate() {
            let key = |k: &str| format!("risk.address_lists[{i}].{k}");
            if l.name.trim().is_empty() || l.name.len() > 64 {
                return Err(err(source_name, &key("name"), "must be 1 to 64 characters"));
            }
            if !(1..=100).contains(&l.weight) {
                return Err(err(source_name, &key("weight"), format!("must be between 1 and 100, got {}", l.weight)));
            }
        }
        let mut providers = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            providers.push(p.build(source_name, &format!("risk.providers[{i}]"))?);
        }
        if let Some((i, _)) =
            self.providers.iter().enumerate().find(|(i, p)| self.providers[..*i].iter().any(|q| q.name == p.name))
        {
            return Err(err(source_name, &format!("risk.providers[{i}].name"), "names another provider already"));
        }
        self.load(baselines, &providers).map_err(|e| err(source_name, &e.key, e.to_string()))
    }

    /// Reads the lists and the geolocation database: what fails names its key and file.
    fn load(&self, baselines: &Baselines, providers: &[Arc<dyn RiskProvider>]) -> Result<RiskInputs, RiskFileError> {
        let mut lists = Vec::new();
        for (i, l) in self.address_lists.iter().enumerate() {
            lists.push(read_list(l).map_err(|e| e.at(format!("risk.address_lists[{i}].path"), &l.path))?);
        }
        let geo = match &self.geoip_database {
            None => None,
            Some(p) => {
                let at = |e: FileProblem| e.at("risk.geoip_database".to_owned(), p);
                let bytes = std::fs::read(p).map_err(|e| at(FileProblem::Read(e)))?;
                Some(Arc::new(GeoDb::from_bytes(bytes).map_err(|e| at(FileProblem::Geo(e)))?))
            }
        };
        Ok(RiskInputs {
            reputation: Reputation::new(lists),
            geo,
            baselines: baselines.clone(),
            providers: providers.to_vec(),
        })
    }

    /// Reads the lists again whenever one of the files changes (checked every
    /// `reload_seconds`); a file that no longer reads is logged and the lists in use stay.
    pub fn start_reload(&self, gate: Gate, inputs: &RiskInputs) -> Option<tokio::task::JoinHandle<()>> {
        if self.address_lists.is_empty() && self.geoip_database.is_none() {
            return None;
        }
        let cfg = self.clone();
        let (baselines, providers) = (inputs.baselines.clone(), inputs.providers.clone());
        let every = Duration::from_secs(self.reload_seconds);
        Some(tokio::spawn(async move {
            let mut seen = cfg.stamps();
            loop {
                tokio::time::sleep(every).await;
                let now = cfg.stamps();
                if now == seen {
                    continue;
                }
                match cfg.load(&baselines, &providers) {
                    Ok(inputs) => {
                        let entries: usize = inputs.reputation.lists().iter().map(|l| l.entries).sum();
                        gate.risk().set_inputs(inputs);
                        tracing::info!(
                            lists = cfg.address_lists.len(),
                            entries,
                            "risk address lists and geo database reread"
                        );
                        seen = now;
                    }
                    Err(e) => {
                        tracing::error!(key = %e.key, error = %e, "risk inputs not reread; the previous ones stay")
                    }
                }
            }
        }))
    }

    fn stamps(&self) -> Vec<Option<(SystemTime, u64)>> {
        self.address_lists.iter().map(|l| stamp(&l.path)).chain(self.geoip_database.iter().map(|p| stamp(p))).collect()
    }
}

/// Why a `[risk]` file cannot be used.
#[derive(Debug, thiserror::Error)]
enum FileProblem {
    #[error("{0}")]
    Read(std::io::Error),
    #[error("{0}")]
    List(sekimori_core::net::ListEntryError),
    #[error("{0}")]
    Geo(sekimori_risk::GeoError),
}

impl FileProblem {
    fn at(self, key: String, path: &Path) -> RiskFileError {
        RiskFileError { key, path: path.to_path_buf(), problem: self }
    }
}

/// A `[risk]` file that cannot be used: its key, its path and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
struct RiskFileError {
    key: String,
    path: PathBuf,
    problem: FileProblem,
}

fn read_list(l: &ListConfig) -> Result<AddressList, FileProblem> {
    let text = std::fs::read_to_string(&l.path).map_err(FileProblem::Read)?;
    AddressList::parse(&l.name, l.weight, &text).map_err(FileProblem::List)
}

fn stamp(p: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}
