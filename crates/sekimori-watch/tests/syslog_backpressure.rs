//! Backpressure of the syslog listeners with a queue of one message: a TCP sender is slowed
//! down and loses nothing; a UDP flood loses only what the counters say it lost.

use std::sync::Arc;
use std::time::Duration;

use sekimori_core::names::Label;
use sekimori_core::{OsRng, SystemClock, TenantId, Timestamp};
use sekimori_detect::baseline::Baselines;
use sekimori_detect::RuleSet;
use sekimori_store::{Store, Tenant};
use sekimori_watch::syslog::{start, Listener, ListenerConfig, ListenerReport, Transport};
use sekimori_watch::{IngestLimits, Watch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn watch() -> Watch {
    watch_with_store().await.0
}

async fn watch_with_store() -> (Watch, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(sekimori_store::testing::fresh_sqlite().await);
    let tenant = Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(0));
    store.ensure_tenant(&tenant).await.expect("tenant");
    let (rules, _) = RuleSet::from_yaml(
        "title: nines\nlogsource: {service: syslog}\ndetection:\n  k:\n    - 'message 9'\n  condition: k\n",
    );
    let w = Watch::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRng),
        &rules,
        Baselines::builtin(),
        IngestLimits::default(),
    )
    .expect("watch");
    (w, store)
}

/// How many ingested events tenant t1 has.
async fn stored(store: &Arc<dyn Store>) -> u64 {
    let (mut after, mut n) = (0, 0u64);
    loop {
        let page = store.ingested_events(&TenantId::new("t1"), after, 10_000).await.expect("events");
        let Some(last) = page.last() else { return n };
        after = last.seq;
        n += page.len() as u64;
    }
}

async fn listener(
    watch: &Watch,
    transport: Transport,
) -> (std::net::SocketAddr, Arc<sekimori_watch::syslog::ListenerStats>) {
    let l = listener_with(watch, transport, |_| {}).await;
    (l.local_addr, l.stats)
}

async fn listener_with(watch: &Watch, transport: Transport, tune: impl FnOnce(&mut ListenerConfig)) -> Listener {
    let source =
        watch.source_named(&TenantId::new("t1"), &Label::parse("syslog").expect("label"), None).await.expect("source");
    let mut cfg = ListenerConfig {
        transport,
        addr: "127.0.0.1:0".parse().expect("addr"),
        source,
        max_message_bytes: 2048,
        queue_messages: 1,
        max_connections: 4,
        idle_timeout: Duration::from_secs(300),
        recv_buffer_bytes: 8 << 20,
        logsource: Default::default(),
    };
    tune(&mut cfg);
    start(watch.clone(), cfg).await.expect("start")
}

async fn settle(
    stats: &sekimori_watch::syslog::ListenerStats,
    done: impl Fn(&ListenerReport) -> bool,
) -> ListenerReport {
    for _ in 0..300 {
        let r = stats.report();
        if done(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("listener did not settle: {:?}", stats.report());
}

/// The report once every datagram received is accounted for and the counters have not changed
/// over ten polls 50 ms apart; after 30 s, the last report (the caller's assertion then fails).
async fn quiet(stats: &sekimori_watch::syslog::ListenerStats) -> ListenerReport {
    let balanced = |r: &ListenerReport| r.received > 0 && r.received == r.accepted + r.malformed + r.dropped;
    let mut last = stats.report();
    let mut unchanged = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = stats.report();
        if r == last && balanced(&r) {
            unchanged += 1;
            if unchanged == 10 {
                return r;
            }
        } else {
            unchanged = 0;
            last = r;
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_senders_are_slowed_down_not_dropped() {
    let watch = watch().await;
    let (addr, stats) = listener(&watch, Transport::Tcp).await;
    const N: usize = 3000;
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut payload = Vec::new();
    for i in 0..N {
        let msg = format!("<13>1 - host app - - - message {i}");
        payload.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
    }
    conn.write_all(&payload).await.expect("write");
    conn.shutdown().await.expect("close");
    let r = settle(&stats, |r| r.accepted as usize == N).await;
    assert_eq!((r.received as usize, r.malformed, r.dropped), (N, 0, 0));
    // "message 9" is a substring of the messages whose number starts with 9.
    assert_eq!(r.alerts as usize, (0..N).filter(|i| i.to_string().starts_with('9')).count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udp_flood_loses_only_what_is_counted() {
    let watch = watch().await;
    let (addr, stats) = listener(&watch, Transport::Udp).await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for i in 0..5000 {
        socket.send_to(format!("<13>1 - host app - - - message {i}").as_bytes(), addr).await.expect("send");
    }
    // A datagram over the message limit is refused and sampled, not stored as an event.
    socket.send_to(&[b'x'; 4000], addr).await.expect("send");
    // The sums may balance for an instant while datagrams still wait in the kernel's buffer, so
    // wait until the counters stay unchanged over ten polls, then check the balance.
    let r = quiet(&stats).await;
    assert_eq!(r.received, r.accepted + r.malformed + r.dropped, "every datagram is accounted for: {r:?}");
    assert!(r.received > 0 && r.accepted > 0, "{r:?}");
    let dead = watch.dead_letters(&TenantId::new("t1"), 1000).await.expect("dead letters");
    assert_eq!(dead.len() as u64, r.malformed, "every malformed datagram is a dead letter");
}

/// With a small receive buffer and a burst the listener cannot keep up with, the datagrams
/// the kernel dropped show in `kernel_dropped`: everything sent is received or counted
/// there (loopback loses nothing else). Before, the kernel's drops were invisible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_the_kernel_drops_are_counted() {
    let watch = watch().await;
    let l = listener_with(&watch, Transport::Udp, |c| {
        c.recv_buffer_bytes = 65_536;
        c.queue_messages = 100_000;
    })
    .await;
    let granted = l.stats.report().recv_buffer_bytes.expect("the granted buffer is reported");
    assert!(granted >= 65_536, "{granted}");
    const SENT: u64 = 20_000;
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for i in 0..SENT {
        sender.send_to(format!("<13>1 - host app - - - burst {i}").as_bytes(), l.local_addr).expect("send");
    }
    let mut last = l.stats.report();
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = l.stats.report();
        if last.received + last.kernel_dropped.expect("Linux tells the drops") == SENT
            && last.received == last.accepted + last.dropped
        {
            break;
        }
    }
    let kernel = last.kernel_dropped.expect("drops");
    assert_eq!(last.received + kernel, SENT, "received or dropped by the kernel, and counted: {last:?}");
}

/// At the connection cap an idle connection makes room for a newcomer, and idle
/// connections are closed after the idle timeout. (256 idle connections used to stop the
/// listener: new senders waited for ever.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_make_room_and_time_out() {
    let watch = watch().await;
    let l = listener_with(&watch, Transport::Tcp, |c| {
        c.max_connections = 4;
        c.idle_timeout = Duration::from_secs(2);
        c.queue_messages = 100;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tokio::net::TcpStream::connect(l.local_addr).await.expect("connect"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sender = tokio::net::TcpStream::connect(l.local_addr).await.expect("connect");
    sender.write_all(b"<13>1 - host app - - - hello from a newcomer\n").await.expect("write");
    let r = settle(&l.stats, |r| r.accepted == 1).await;
    assert_eq!(r.evicted, 1, "{r:?}");
    // The first (longest idle) connection was the one closed.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut byte)).await.expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The rest time out.
    let r = settle(&l.stats, |r| r.idle_closed >= 3).await;
    assert!(r.idle_closed >= 3, "{r:?}");
}

/// A shutdown while a flood is queued: reading stops, the queue drains into the store, and
/// every message counted as received is stored or counted as dropped. (Before, the queue
/// was lost uncounted when the process stopped.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_the_queue_and_counts_the_rest() {
    let (watch, store) = watch_with_store().await;
    let l = listener_with(&watch, Transport::Tcp, |c| c.queue_messages = 50_000).await;
    let addr = l.local_addr;
    let flood = tokio::spawn(async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut i = 0u64;
        loop {
            let mut chunk = Vec::new();
            for _ in 0..500 {
                chunk.extend_from_slice(format!("<13>1 - host app - - - flood {i}\n").as_bytes());
                i += 1;
            }
            if conn.write_all(&chunk).await.is_err() {
                return i;
            }
        }
    });
    settle(&l.stats, |r| r.received > 20_000).await;
    let r = l.shutdown(Duration::from_secs(20)).await;
    flood.abort();
    assert!(r.received > 20_000, "{r:?}");
    assert_eq!(r.received, r.accepted + r.malformed + r.dropped, "every received message is accounted for: {r:?}");
    assert_eq!(stored(&store).await, r.accepted, "what was accepted is in the store");
    // Nothing arrives after the shutdown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(l.stats.report().received, r.received);
}
