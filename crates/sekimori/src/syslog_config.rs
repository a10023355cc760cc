//! `[syslog]`: the syslog listeners (docs/configuration.md). Configured in the file only: a
//! list does not fit one environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use sekimori_detect::DeclaredLogSource;
use serde::Deserialize;

/// `[syslog]`: listeners are configured in the file only (a list does not fit one
/// environment variable).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// `[[syslog.listeners]]`
    pub listeners: Vec<SyslogListenerConfig>,
}

/// One `[[syslog.listeners]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogListenerConfig {
    /// `udp://host:port`, `tcp://host:port` or `tls://host:port` (required).
    pub listen: Option<SyslogAddr>,
    /// The ingest source (in the first tenant) its events are stored under; created when
    /// missing.
    pub source: String,
    /// PEM certificate chain (tls only).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (tls only).
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: when set, clients must present a certificate chaining to it.
    pub tls_client_ca: Option<PathBuf>,
    /// Longest accepted message, bytes (480 to 1 MiB).
    pub max_message_bytes: usize,
    /// Messages queued before TCP reads pause and UDP datagrams are dropped (counted).
    pub queue_messages: usize,
    /// Concurrent TCP/TLS connections; at the cap the longest idle one is closed for a
    /// newcomer.
    pub max_connections: usize,
    /// Seconds a TCP/TLS connection may stay silent before it is closed (10 to 86400).
    pub idle_timeout_seconds: u64,
    /// `SO_RCVBUF` of a UDP listener, bytes (65536 to 268435456; the kernel caps it at
    /// `net.core.rmem_max` unless the process may force it).
    pub recv_buffer_bytes: usize,
    /// What the messages are, as a Sigma log source (`{ product = "cisco", service = "aaa" }`):
    /// placed so instead of as generic syslog (docs/detection.md, "Declared log sources").
    pub logsource: Option<DeclaredLogSource>,
    /// Labels the listener's alerts carry for routing (`{ environment = "production" }`):
    /// they become its source's labels (docs/respond.md).
    pub labels: Option<sekimori_watch::SourceLabels>,
}

impl Default for SyslogListenerConfig {
    fn default() -> Self {
        SyslogListenerConfig {
            listen: None,
            source: "syslog".into(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            max_message_bytes: 64 * 1024,
            queue_messages: 10_000,
            max_connections: 256,
            idle_timeout_seconds: 300,
            recv_buffer_bytes: 8 << 20,
            logsource: None,
            labels: None,
        }
    }
}

/// A checked listener address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogScheme {
    /// `udp://`
    Udp,
    /// `tcp://`
    Tcp,
    /// `tls://`
    Tls,
}

/// A syslog listener's address: its transport and socket address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogAddr {
    /// The transport.
    pub scheme: SyslogScheme,
    /// Where to listen.
    pub addr: SocketAddr,
}

/// Text that is not a syslog listener address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyslogAddrError {
    /// No `scheme://`.
    #[error("must be udp://, tcp:// or tls:// host:port")]
    NoScheme,
    /// A scheme other than the three.
    #[error("unknown scheme {0:?}; use udp, tcp or tls")]
    UnknownScheme(String),
    /// Not `address:port`.
    #[error("not an address:port: {0:?}")]
    NotAnAddress(String),
}

impl std::str::FromStr for SyslogAddr {
    type Err = SyslogAddrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = text.split_once("://").ok_or(SyslogAddrError::NoScheme)?;
        let scheme = match scheme {
            "udp" => SyslogScheme::Udp,
            "tcp" => SyslogScheme::Tcp,
            "tls" => SyslogScheme::Tls,
            other => return Err(SyslogAddrError::UnknownScheme(other.to_owned())),
        };
        let addr = rest.parse().map_err(|_| SyslogAddrError::NotAnAddress(rest.to_owned()))?;
        Ok(SyslogAddr { scheme, addr })
    }
}

impl<'de> Deserialize<'de> for SyslogAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}
