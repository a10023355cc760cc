//! Syslog listeners: RFC 5424 and RFC 3164 messages over UDP, TCP (RFC 6587 octet counting
//! and newline framing) and TLS (RFC 5425, optionally with client certificates), attributed
//! to one ingest source each and run through the rules like HTTP ingest.
//!
//! Backpressure: every listener feeds one bounded queue drained in batches by one writer.
//! When the queue is full a TCP or TLS connection is simply not read further (the sender's
//! kernel buffers fill and it slows down); a UDP datagram, which cannot be held back, is
//! dropped and counted in `dropped`. Nothing is lost without a counter: malformed and
//! oversize messages are counted and kept as dead letters with a sample, and a batch the
//! store refuses is retried before it is counted as `dropped` and logged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sekimori_detect::syslog::{parse_syslog, Frame, Framer, Received, SyslogError};
use sekimori_detect::DeclaredLogSource;
use sekimori_store::IngestSource;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Semaphore};

use crate::Watch;

/// Most messages judged and stored in one transaction.
const BATCH: usize = 1000;
/// How often a batch the store refused is retried before it is dropped (and counted).
const STORE_ATTEMPTS: u32 = 8;

/// How messages arrive.
#[derive(Clone)]
pub enum Transport {
    /// One message per datagram.
    Udp,
    /// A TCP stream, octet-counted or newline-framed.
    Tcp,
    /// A TLS stream (RFC 5425), framed as TCP.
    Tls(Arc<rustls::ServerConfig>),
}

impl Transport {
    fn scheme(&self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls(_) => "tls",
        }
    }
}

/// One listener.
#[derive(Clone)]
pub struct ListenerConfig {
    /// Transport.
    pub transport: Transport,
    /// Address to bind (port 0 picks one).
    pub addr: SocketAddr,
    /// The source its events are stored under.
    pub source: IngestSource,
    /// What its messages are (`logsource` in `[[syslog.listeners]]`), placing them instead
    /// of the generic syslog placement; empty: placed as syslog.
    pub logsource: DeclaredLogSource,
    /// Longest accepted message, bytes (longer ones are refused and sampled).
    pub max_message_bytes: usize,
    /// Messages the queue holds before TCP reads pause and UDP datagrams are dropped.
    pub queue_messages: usize,
    /// Concurrent TCP/TLS connections; more wait in the accept backlog.
    pub max_connections: usize,
}

/// A running listener's counters.
#[derive(Debug, Default)]
pub struct ListenerStats {
    url: String,
    source_id: String,
    received: AtomicU64,
    accepted: AtomicU64,
    malformed: AtomicU64,
    alerts: AtomicU64,
    dropped: AtomicU64,
    refused_revoked: AtomicU64,
    connections: AtomicU64,
    failed_handshakes: AtomicU64,
}

/// What [`ListenerStats`] report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerReport {
    /// e.g. `udp://127.0.0.1:5514`.
    pub url: String,
    /// The ingest source of its events.
    pub source_id: String,
    /// Messages (datagrams or frames) received.
    pub received: u64,
    /// Events stored and judged.
    pub accepted: u64,
    /// Messages that were not syslog or were too long (kept as dead letters).
    pub malformed: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Messages lost: UDP datagrams arriving at a full queue, batches the store refused
    /// after every retry.
    pub dropped: u64,
    /// Messages refused because the source was revoked.
    pub refused_revoked: u64,
    /// TCP/TLS connections accepted.
    pub connections: u64,
    /// TLS handshakes that failed.
    pub failed_handshakes: u64,
}

impl ListenerStats {
    /// A snapshot.
    pub fn report(&self) -> ListenerReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ListenerReport {
            url: self.url.clone(),
            source_id: self.source_id.clone(),
            received: get(&self.received),
            accepted: get(&self.accepted),
            malformed: get(&self.malformed),
            alerts: get(&self.alerts),
            dropped: get(&self.dropped),
            refused_revoked: get(&self.refused_revoked),
            connections: get(&self.connections),
            failed_handshakes: get(&self.failed_handshakes),
        }
    }
}

fn bump(c: &AtomicU64, n: usize) {
    c.fetch_add(n as u64, Ordering::Relaxed);
}

/// A started listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// The bound address.
    pub local_addr: SocketAddr,
    /// `scheme://address`.
    pub url: String,
    /// Its counters (also registered with the [`Watch`]).
    pub stats: Arc<ListenerStats>,
}

/// One queued message.
enum Item {
    Message { bytes: Vec<u8>, peer: SocketAddr, at_ms: i64 },
    Refused(SyslogError),
}

/// Binds and starts a listener; its tasks run for the life of the runtime.
pub async fn start(watch: Watch, cfg: ListenerConfig) -> std::io::Result<Listener> {
    enum Bound {
        Udp(UdpSocket),
        Tcp(TcpListener),
    }
    let bound = match &cfg.transport {
        Transport::Udp => Bound::Udp(UdpSocket::bind(cfg.addr).await?),
        Transport::Tcp | Transport::Tls(_) => Bound::Tcp(TcpListener::bind(cfg.addr).await?),
    };
    let local_addr = match &bound {
        Bound::Udp(s) => s.local_addr()?,
        Bound::Tcp(l) => l.local_addr()?,
    };
    let url = format!("{}://{local_addr}", cfg.transport.scheme());
    let stats = Arc::new(ListenerStats { url: url.clone(), source_id: cfg.source.id.clone(), ..Default::default() });
    watch.register_listener(stats.clone());
    let (tx, rx) = mpsc::channel(cfg.queue_messages.max(1));
    tokio::spawn(write_batches(watch.clone(), cfg.source.clone(), cfg.logsource.clone(), rx, stats.clone()));
    match bound {
        Bound::Udp(socket) => tokio::spawn(run_udp(socket, tx, watch, cfg, stats.clone())),
        Bound::Tcp(listener) => tokio::spawn(run_tcp(listener, tx, watch, cfg, stats.clone())),
    };
    Ok(Listener { local_addr, url, stats })
}

async fn run_udp(
    socket: UdpSocket,
    tx: mpsc::Sender<Item>,
    watch: Watch,
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "syslog: UDP receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        bump(&stats.received, 1);
        let item = if n > cfg.max_message_bytes {
            Item::Refused(SyslogError {
                reason: format!("datagram of {n} bytes; the limit is {}", cfg.max_message_bytes),
                sample: sekimori_detect::syslog::sample(&buf[..n]),
            })
        } else {
            Item::Message { bytes: buf[..n].to_vec(), peer, at_ms: watch.now_ms() }
        };
        if tx.try_send(item).is_err() {
            let dropped = stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(listener = %stats.url, dropped, "syslog: queue full, UDP datagrams dropped");
            }
        }
    }
}

async fn run_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<Item>,
    watch: Watch,
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
) {
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let tls = match &cfg.transport {
        Transport::Tls(c) => Some(tokio_rustls::TlsAcceptor::from(c.clone())),
        _ => None,
    };
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "syslog: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        bump(&stats.connections, 1);
        let (tx, watch, stats, tls, max) =
            (tx.clone(), watch.clone(), stats.clone(), tls.clone(), cfg.max_message_bytes);
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => read_stream(stream, peer, tx, &watch, &stats, max).await,
                Some(acceptor) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                    Ok(Ok(s)) => read_stream(s, peer, tx, &watch, &stats, max).await,
                    Ok(Err(e)) => {
                        bump(&stats.failed_handshakes, 1);
                        tracing::info!(%peer, error = %e, "syslog: TLS handshake failed");
                    }
                    Err(_) => {
                        bump(&stats.failed_handshakes, 1);
                        tracing::info!(%peer, "syslog: TLS handshake timed out");
                    }
                },
            }
        });
    }
}

/// Reads one connection to its end, queueing each frame; waits (stops reading) while the
/// queue is full. Closes its side cleanly (a TLS close_notify) when the sender is done.
async fn read_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    tx: mpsc::Sender<Item>,
    watch: &Watch,
    stats: &ListenerStats,
    max: usize,
) {
    let mut framer = Framer::new(max);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "syslog: connection read failed");
                break;
            }
        };
        framer.push(&buf[..n]);
        while let Some(frame) = framer.next_frame() {
            if !queue(&tx, frame, peer, watch, stats).await {
                return;
            }
        }
    }
    if let Some(frame) = framer.finish() {
        queue(&tx, frame, peer, watch, stats).await;
    }
    let _ = stream.shutdown().await;
}

async fn queue(tx: &mpsc::Sender<Item>, frame: Frame, peer: SocketAddr, watch: &Watch, stats: &ListenerStats) -> bool {
    bump(&stats.received, 1);
    let item = match frame {
        Frame::Message(bytes) => Item::Message { bytes, peer, at_ms: watch.now_ms() },
        Frame::Refused(e) => Item::Refused(e),
    };
    tx.send(item).await.is_ok()
}

/// Drains the queue in batches: parse, judge, store; retries a batch the store refuses.
async fn write_batches(
    watch: Watch,
    source: IngestSource,
    declared: DeclaredLogSource,
    mut rx: mpsc::Receiver<Item>,
    stats: Arc<ListenerStats>,
) {
    while let Some(first) = rx.recv().await {
        let mut items = vec![first];
        while items.len() < BATCH {
            match rx.try_recv() {
                Ok(i) => items.push(i),
                Err(_) => break,
            }
        }
        let count = items.len();
        let mut events = Vec::with_capacity(count);
        let mut malformed = Vec::new();
        for item in items {
            match item {
                Item::Message { bytes, peer, at_ms } => {
                    match parse_syslog(&bytes, Received { at_ms, peer: Some(peer) }) {
                        Ok(mut ev) => {
                            declared.declare(&mut ev);
                            events.push(ev);
                        }
                        Err(e) => malformed.push((e.reason, e.sample)),
                    }
                }
                Item::Refused(e) => malformed.push((e.reason, e.sample)),
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match watch.source_live(&source.id).await {
                Ok(false) => {
                    bump(&stats.refused_revoked, count);
                    tracing::warn!(source = %source.id, count, "syslog: source revoked; messages refused");
                    break;
                }
                Ok(true) => match watch.ingest_parsed(&source, events.clone(), malformed.clone()).await {
                    Ok(r) => {
                        bump(&stats.accepted, r.accepted);
                        bump(&stats.malformed, r.malformed);
                        bump(&stats.alerts, r.alerts);
                        break;
                    }
                    Err(e) => tracing::warn!(attempt, error = %e, "syslog: storing a batch failed"),
                },
                Err(e) => tracing::warn!(attempt, error = %e, "syslog: checking the source failed"),
            }
            if attempt >= STORE_ATTEMPTS {
                bump(&stats.dropped, count);
                tracing::error!(source = %source.id, count, "syslog: batch dropped after {STORE_ATTEMPTS} attempts");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
        }
    }
}

/// A TLS server configuration from PEM files: the certificate chain, its key, and, when
/// given, the CA bundle client certificates must chain to (mutual TLS).
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))? {
                roots
                    .add(c.map_err(|e| format!("{}: {e}", ca.display()))?)
                    .map_err(|e| format!("{}: {e}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder.with_single_cert(certs, key).map(Arc::new).map_err(|e| e.to_string())
}
