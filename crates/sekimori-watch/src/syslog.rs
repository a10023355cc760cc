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
//!
//! UDP: the socket's receive buffer is set large (`recv_buffer_bytes`) and what the kernel
//! still drops because the buffer was full is read from `/proc/net/udp` into
//! `kernel_dropped`; UDP cannot promise more (a sender is never told). TCP and TLS:
//! a connection idle for `idle_timeout` is closed, and at `max_connections` the longest
//! idle connection is closed to let a newcomer in (counted in `evicted`).
//!
//! Shutdown ([`Listener::shutdown`]): reading stops, the queue is drained into the store
//! within a deadline, and whatever could not be stored by then is counted as `dropped`;
//! the final counters are logged, so every message counted as received is either stored
//! or counted.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sekimori_detect::syslog::{parse_syslog, Frame, Framer, Received, SyslogError};
use sekimori_detect::DeclaredLogSource;
use sekimori_store::IngestSource;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch as signal, Notify};
use tokio::task::JoinHandle;

use crate::Watch;

/// Most messages judged and stored in one transaction.
const BATCH: usize = 1000;
/// How often a batch the store refused is retried before it is dropped (and counted).
const STORE_ATTEMPTS: u32 = 8;
/// After the shutdown deadline, how long the batch being stored may still take before it
/// is abandoned (and counted as dropped).
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(30);

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
    /// Concurrent TCP/TLS connections; at the cap the longest idle one is closed for a
    /// newcomer.
    pub max_connections: usize,
    /// A TCP/TLS connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// `SO_RCVBUF` of a UDP socket, bytes (the kernel may cap it at `net.core.rmem_max`
    /// unless the process may force it).
    pub recv_buffer_bytes: usize,
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
    idle_closed: AtomicU64,
    evicted: AtomicU64,
    /// Messages in the queue now.
    queued: AtomicU64,
    /// Messages of the batch being stored now.
    in_flight: AtomicU64,
    /// The shutdown deadline passed: the batch being stored finishes, no further one
    /// starts.
    cut: AtomicBool,
    /// Wakes the writer when `cut` is set while it waits for messages.
    cut_wake: Notify,
    /// TCP/TLS readers counting and queueing a message now (a shutdown past its deadline
    /// waits for them to settle before it reports, so a message is counted once).
    sending: AtomicU64,
    /// The UDP socket's inode, to find its drop counter in `/proc/net/udp`.
    udp_inode: Option<u64>,
    /// The receive buffer the kernel granted, bytes (UDP).
    recv_buffer_bytes: Option<usize>,
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
    /// TCP/TLS connections closed after `idle_timeout` without data.
    pub idle_closed: u64,
    /// TCP/TLS connections closed at the cap to let a newcomer in (the longest idle).
    pub evicted: u64,
    /// UDP datagrams the kernel dropped because the socket's buffer was full (never seen
    /// by the listener, so not in `received`); `None` where the system does not tell.
    pub kernel_dropped: Option<u64>,
    /// The UDP socket's receive buffer as granted, bytes.
    pub recv_buffer_bytes: Option<usize>,
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
            idle_closed: get(&self.idle_closed),
            evicted: get(&self.evicted),
            kernel_dropped: self.udp_inode.and_then(udp_drops),
            recv_buffer_bytes: self.recv_buffer_bytes,
        }
    }
}

/// The `drops` column of the `/proc/net/udp` (or `udp6`) line of the socket with `inode`.
fn udp_drops(inode: u64) -> Option<u64> {
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            if cols.len() >= 13 && cols[9].parse() == Ok(inode) {
                return cols[12].parse().ok();
            }
        }
    }
    None
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
    stop: signal::Sender<bool>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Listener {
    /// Stops reading, drains the queue into the store for at most `grace`, counts what
    /// could not be stored as dropped, logs the final counters and returns them.
    pub async fn shutdown(&self, grace: Duration) -> ListenerReport {
        let _ = self.stop.send(true);
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut writer) = writer {
            if tokio::time::timeout(grace, &mut writer).await.is_err() {
                // Past the deadline: no further batch starts, but the one being stored
                // finishes, so what reached the database is counted as accepted and
                // nothing is counted twice. Only a store that hangs is abandoned.
                self.stats.cut.store(true, Ordering::SeqCst);
                self.stats.cut_wake.notify_one();
                if tokio::time::timeout(IN_FLIGHT_LIMIT, &mut writer).await.is_err() {
                    writer.abort();
                    tracing::error!(listener = %self.url, "syslog: a batch was still being stored {IN_FLIGHT_LIMIT:?} after the deadline; abandoned");
                }
                // Readers blocked on the full queue fail now that the writer is gone and
                // count their message as dropped; wait for them (briefly) first. Readers
                // that come later see the cut and count nothing.
                for _ in 0..100 {
                    if self.stats.sending.load(Ordering::SeqCst) == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let lost =
                    self.stats.queued.swap(0, Ordering::Relaxed) + self.stats.in_flight.swap(0, Ordering::Relaxed);
                bump(&self.stats.dropped, usize::try_from(lost).unwrap_or(usize::MAX));
                tracing::error!(listener = %self.url, lost, "syslog: shutdown deadline reached; messages not stored are counted as dropped");
            }
        }
        let r = self.stats.report();
        tracing::info!(
            listener = %r.url, received = r.received, accepted = r.accepted, malformed = r.malformed,
            dropped = r.dropped, refused_revoked = r.refused_revoked, kernel_dropped = ?r.kernel_dropped,
            "syslog listener stopped"
        );
        r
    }
}

/// One queued message.
enum Item {
    Message { bytes: Vec<u8>, peer: SocketAddr, at_ms: i64 },
    Refused(SyslogError),
}

/// Binds and starts a listener; it runs until [`Listener::shutdown`].
pub async fn start(watch: Watch, cfg: ListenerConfig) -> std::io::Result<Listener> {
    enum Bound {
        Udp(UdpSocket),
        Tcp(TcpListener),
    }
    let bound = match &cfg.transport {
        Transport::Udp => Bound::Udp(UdpSocket::bind(cfg.addr).await?),
        Transport::Tcp | Transport::Tls(_) => Bound::Tcp(TcpListener::bind(cfg.addr).await?),
    };
    let (local_addr, udp_inode, recv_buffer_bytes) = match &bound {
        Bound::Udp(s) => {
            // Forcing needs CAP_NET_ADMIN; otherwise the kernel caps at net.core.rmem_max.
            if rustix::net::sockopt::set_socket_recv_buffer_size_force(s, cfg.recv_buffer_bytes).is_err() {
                let _ = rustix::net::sockopt::set_socket_recv_buffer_size(s, cfg.recv_buffer_bytes);
            }
            let granted = rustix::net::sockopt::socket_recv_buffer_size(s).ok();
            let inode = rustix::fs::fstat(s).ok().map(|st| st.st_ino);
            (s.local_addr()?, inode, granted)
        }
        Bound::Tcp(l) => (l.local_addr()?, None, None),
    };
    let url = format!("{}://{local_addr}", cfg.transport.scheme());
    let stats = Arc::new(ListenerStats {
        url: url.clone(),
        source_id: cfg.source.id.clone(),
        udp_inode,
        recv_buffer_bytes,
        ..Default::default()
    });
    watch.register_listener(stats.clone());
    let (tx, rx) = mpsc::channel(cfg.queue_messages.max(1));
    let (stop, stopped) = signal::channel(false);
    let writer =
        tokio::spawn(write_batches(watch.clone(), cfg.source.clone(), cfg.logsource.clone(), rx, stats.clone()));
    match bound {
        Bound::Udp(socket) => tokio::spawn(run_udp(socket, tx, watch, cfg, stats.clone(), stopped)),
        Bound::Tcp(listener) => tokio::spawn(run_tcp(listener, tx, watch, cfg, stats.clone(), stopped)),
    };
    Ok(Listener { local_addr, url, stats, stop, writer: Arc::new(Mutex::new(Some(writer))) })
}

/// Resolves once a shutdown has been asked for; never when the [`Listener`] handle was
/// dropped without one (the listener then runs for the life of the runtime).
async fn stopping(stopped: &mut signal::Receiver<bool>) {
    if stopped.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn run_udp(
    socket: UdpSocket,
    tx: mpsc::Sender<Item>,
    watch: Watch,
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
    mut stopped: signal::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            () = stopping(&mut stopped) => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let (n, peer) = match received {
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
        bump(&stats.queued, 1);
        if tx.try_send(item).is_err() {
            stats.queued.fetch_sub(1, Ordering::Relaxed);
            let dropped = stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(listener = %stats.url, dropped, "syslog: queue full, UDP datagrams dropped");
            }
        }
    }
}

/// The open TCP/TLS connections: the last activity of each (a sequence number, larger is
/// more recent) and how to close it.
#[derive(Default)]
struct Connections {
    next_id: u64,
    activity: u64,
    open: HashMap<u64, (u64, Arc<Notify>)>,
}

impl Connections {
    /// Registers a connection; at `max`, first closes the longest idle one (`true`).
    fn admit(&mut self, max: usize) -> (u64, Arc<Notify>, bool) {
        let mut evicted = false;
        if self.open.len() >= max {
            if let Some((&id, _)) = self.open.iter().min_by_key(|(_, (seen, _))| *seen) {
                if let Some((_, close)) = self.open.remove(&id) {
                    close.notify_one();
                    evicted = true;
                }
            }
        }
        self.next_id += 1;
        self.activity += 1;
        let close = Arc::new(Notify::new());
        self.open.insert(self.next_id, (self.activity, close.clone()));
        (self.next_id, close, evicted)
    }

    fn touch(&mut self, id: u64) {
        self.activity += 1;
        if let Some(entry) = self.open.get_mut(&id) {
            entry.0 = self.activity;
        }
    }

    fn leave(&mut self, id: u64) {
        self.open.remove(&id);
    }
}

type Shared = Arc<Mutex<Connections>>;

fn lock(c: &Shared) -> std::sync::MutexGuard<'_, Connections> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

async fn run_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<Item>,
    watch: Watch,
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
    mut stopped: signal::Receiver<bool>,
) {
    let conns: Shared = Arc::default();
    let tls = match &cfg.transport {
        Transport::Tls(c) => Some(tokio_rustls::TlsAcceptor::from(c.clone())),
        _ => None,
    };
    loop {
        let accepted = tokio::select! {
            () = stopping(&mut stopped) => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "syslog: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        bump(&stats.connections, 1);
        let (id, close, evicted) = lock(&conns).admit(cfg.max_connections.max(1));
        if evicted {
            bump(&stats.evicted, 1);
            tracing::info!(listener = %stats.url, "syslog: connection cap reached; the longest idle connection was closed");
        }
        let conn = Conn {
            peer,
            tx: tx.clone(),
            watch: watch.clone(),
            stats: stats.clone(),
            max: cfg.max_message_bytes,
            idle: cfg.idle_timeout,
            id,
            conns: conns.clone(),
            close,
            stopped: stopped.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => conn.read(stream).await,
                Some(acceptor) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                    Ok(Ok(s)) => conn.read(s).await,
                    Ok(Err(e)) => {
                        bump(&conn.stats.failed_handshakes, 1);
                        tracing::info!(%peer, error = %e, "syslog: TLS handshake failed");
                        lock(&conn.conns).leave(conn.id);
                    }
                    Err(_) => {
                        bump(&conn.stats.failed_handshakes, 1);
                        tracing::info!(%peer, "syslog: TLS handshake timed out");
                        lock(&conn.conns).leave(conn.id);
                    }
                },
            }
        });
    }
}

/// One TCP/TLS connection's reader.
struct Conn {
    peer: SocketAddr,
    tx: mpsc::Sender<Item>,
    watch: Watch,
    stats: Arc<ListenerStats>,
    max: usize,
    idle: Duration,
    id: u64,
    conns: Shared,
    close: Arc<Notify>,
    stopped: signal::Receiver<bool>,
}

impl Conn {
    /// Reads the connection until its end, an idle timeout, an eviction or a shutdown,
    /// queueing each frame; waits (stops reading) while the queue is full. Closes its side
    /// cleanly (a TLS close_notify).
    async fn read<S: AsyncRead + AsyncWrite + Unpin>(self, mut stream: S) {
        let mut framer = Framer::new(self.max);
        let mut buf = vec![0u8; 16 * 1024];
        let mut stopped = self.stopped.clone();
        let finished = loop {
            let read = tokio::select! {
                () = stopping(&mut stopped) => break false,
                () = self.close.notified() => break false,
                r = tokio::time::timeout(self.idle, stream.read(&mut buf)) => r,
            };
            let n = match read {
                Ok(Ok(0)) => break true,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %self.peer, error = %e, "syslog: connection read failed");
                    break true;
                }
                Err(_) => {
                    bump(&self.stats.idle_closed, 1);
                    tracing::debug!(peer = %self.peer, "syslog: idle connection closed");
                    break false;
                }
            };
            lock(&self.conns).touch(self.id);
            framer.push(&buf[..n]);
            while let Some(frame) = framer.next_frame() {
                if !self.queue(frame).await {
                    lock(&self.conns).leave(self.id);
                    return;
                }
            }
        };
        // A sender that closed its side may end without a final newline; a connection we
        // close leaves an unfinished frame unread (it was never counted as received).
        if finished {
            if let Some(frame) = framer.finish() {
                self.queue(frame).await;
            }
        }
        lock(&self.conns).leave(self.id);
        let _ = stream.shutdown().await;
    }

    async fn queue(&self, frame: Frame) -> bool {
        // Marked before anything is counted, so a shutdown past its deadline that waits for
        // `sending` to reach zero sees this message counted once or not at all; after the
        // cut, frames left in the buffer are discarded like bytes never read.
        bump(&self.stats.sending, 1);
        if self.stats.cut.load(Ordering::SeqCst) {
            self.stats.sending.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        bump(&self.stats.received, 1);
        let item = match frame {
            Frame::Message(bytes) => Item::Message { bytes, peer: self.peer, at_ms: self.watch.now_ms() },
            Frame::Refused(e) => Item::Refused(e),
        };
        // Counted before it can be taken from the queue, so the count never goes below zero.
        bump(&self.stats.queued, 1);
        let sent = self.tx.send(item).await.is_ok();
        if !sent {
            // Received, but the writer has stopped (a shutdown past its deadline).
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            bump(&self.stats.dropped, 1);
        }
        self.stats.sending.fetch_sub(1, Ordering::SeqCst);
        sent
    }
}

/// Drains the queue in batches: parse, judge, store; retries a batch the store refuses.
async fn write_batches(
    watch: Watch,
    source: IngestSource,
    declared: DeclaredLogSource,
    mut rx: mpsc::Receiver<Item>,
    stats: Arc<ListenerStats>,
) {
    loop {
        let first = tokio::select! {
            biased;
            () = stats.cut_wake.notified() => break,
            item = rx.recv() => match item {
                Some(item) => item,
                None => break,
            },
        };
        if stats.cut.load(Ordering::SeqCst) {
            // Still counted in `queued`: the shutdown counts it as dropped.
            break;
        }
        let mut items = vec![first];
        while items.len() < BATCH {
            match rx.try_recv() {
                Ok(i) => items.push(i),
                Err(_) => break,
            }
        }
        let count = items.len();
        // Moved from the queue to the batch in hand, so a shutdown cut counts each once.
        stats.in_flight.store(count as u64, Ordering::Relaxed);
        stats.queued.fetch_sub(count as u64, Ordering::Relaxed);
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
        stats.in_flight.store(0, Ordering::Relaxed);
    }
}

/// Why a TLS listener's files cannot be used: the file (when one is to blame) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFilesError {
    /// The certificate, key or CA file at fault.
    pub file: Option<std::path::PathBuf>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for TlsFilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}: {}", file.display(), self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for TlsFilesError {}

/// A TLS server configuration from PEM files: the certificate chain, its key, and, when
/// given, the CA bundle client certificates must chain to (mutual TLS).
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> Result<Arc<rustls::ServerConfig>, TlsFilesError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let at = |file: &std::path::Path, e: &dyn std::fmt::Display| TlsFilesError {
        file: Some(file.to_path_buf()),
        reason: e.to_string(),
    };
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).and_then(|i| i.collect::<Result<_, _>>()).map_err(|e| at(cert, &e))?;
    if certs.is_empty() {
        return Err(at(cert, &"no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| at(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let general = |e: rustls::Error| TlsFilesError { file: None, reason: e.to_string() };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(general)?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(|e| at(ca, &e))? {
                roots.add(c.map_err(|e| at(ca, &e))?).map_err(|e| at(ca, &e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| at(ca, &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder.with_single_cert(certs, key).map(Arc::new).map_err(general)
}
