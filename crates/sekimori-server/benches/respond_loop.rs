//! The respond loop, measured as the server runs it (docs/benchmarks.md, "Respond"):
//!
//! 1. **Delivery throughput**: 10,000 stored alerts (distinct users) with 1,000 silences in
//!    force, taken in by the dispatcher, routed, grouped and notified to a webhook receiver
//!    on loopback, each notification claimed in the store's notification log and its attempt
//!    recorded. Once with one group per rule (few large notifications: the routing and
//!    grouping rate), once with one group per user (a notification per alert: the delivery
//!    rate). Alerts/s from the first tick until no alert is pending.
//! 2. **Time to response**: an event ingested through the detection engine fires a rule, a
//!    response policy raises the user's required level; the time from the ingest call to
//!    the override being in the store (what every login reads), p50/p99 over 300 events,
//!    with the dispatcher running as in the server (woken when an alert is stored).
//!
//! `cargo bench -p sekimori-server --bench respond_loop` (`SEKIMORI_BENCH_BACKENDS`,
//! default `sqlite,postgres`).

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time
#![allow(clippy::unwrap_used)] // reason: a benchmark fails loudly

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::names::Label;
use sekimori_core::{Clock, OsRng, SystemClock, Timestamp};
use sekimori_detect::DeclaredLogSource;
use sekimori_store::{AlertRecord, IngestBatch, SilenceRecord, Store};
use sekimori_watch::dispatch::{DispatchSettings, Dispatcher};
use serde_json::json;

const RULE: &str = "title: Whoami Execution
id: 0b1c2d3e-0000-4000-8000-000000000001
level: high
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
";

/// A webhook receiver answering 200 to everything: how many bodies it got.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let got = Arc::new(AtomicUsize::new(0));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let g = g.clone();
            async move {
                g.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn throughput(name: &str, store: Arc<dyn Store>, group_by: &[&str]) {
    let (state, token) = common::state(store.clone(), Default::default()).await;
    let tenant = state.gate.admin().authenticate_admin(&token).await.unwrap();
    let tenant = tenant.tenant_id.clone();
    let watch = state.watch.clone().with_sealer(state.gate.sealer());
    let (url, got) = receiver().await;
    let doc = json!({
        "route": {"receiver": "siem", "group_by": group_by, "group_wait": "0s", "group_interval": "10ms"},
        "receivers": [{"name": "siem", "webhook_configs": [{"url": url}]}]
    });
    watch.set_routing(&tenant, "bench", 0, &doc).await.unwrap();
    let now = SystemClock.now().millis();
    for i in 0..1_000 {
        let s = SilenceRecord {
            id: format!("s{i}"),
            tenant_id: tenant.clone(),
            matchers: vec![format!("user=nobody{i}"), "rule=~\"new_.*\"".into()],
            starts_at: Timestamp(now - 1),
            ends_at: Timestamp(now + 86_400_000),
            created_by: "bench".into(),
            comment: "bench".into(),
            created_at: Timestamp(now),
        };
        store
            .insert_silence(
                &s,
                &NewEvent::new(SystemClock.now(), &tenant, "configuration", "admin.silence.created", Outcome::Success),
            )
            .await
            .unwrap();
    }
    let n = 10_000;
    for chunk in 0..(n / 500) {
        let alerts = (0..500)
            .map(|j| {
                let i = chunk * 500 + j;
                (
                    j,
                    AlertRecord {
                        id: format!("a{i:06}"),
                        tenant_id: tenant.clone(),
                        rule_id: Some(format!("rule-{}", i % 5)),
                        title: "bench".into(),
                        level: "high".into(),
                        tags: "[]".into(),
                        source_id: "src".into(),
                        event_seq: 0,
                        matched: "[]".into(),
                        entities: json!({"user": format!("user{i}")}).to_string(),
                        excerpt: "{}".into(),
                        created_at: Timestamp(now),
                    },
                )
            })
            .collect();
        let batch = IngestBatch {
            tenant_id: tenant.clone(),
            source_id: "src".into(),
            received_at: Timestamp(now),
            events: vec!["{}".into(); 500],
            dead_letters: vec![],
            alerts,
            cursor: None,
            profiles: vec![],
            event_entities: vec![],
            event_fields: vec![],
        };
        store.store_ingest(&batch).await.unwrap().unwrap();
    }
    let settings = DispatchSettings { batch: 2_000, ..DispatchSettings::new("http://sekimori.bench") };
    let dispatcher = Dispatcher::new(watch, settings).unwrap();
    let start = Instant::now();
    let (mut ticking, mut settling, mut ticks) = (Duration::ZERO, Duration::ZERO, 0);
    loop {
        let t = Instant::now();
        dispatcher.tick().await.unwrap();
        ticking += t.elapsed();
        let t = Instant::now();
        dispatcher.settle_all().await.unwrap();
        settling += t.elapsed();
        ticks += 1;
        if store.pending_alerts(1).await.unwrap().is_empty() {
            break;
        }
    }
    if std::env::var_os("SEKIMORI_BENCH_DETAIL").is_some() {
        println!("  {ticks} ticks: {ticking:?} taking in, routing and starting; {settling:?} waiting for deliveries");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: group_by {group_by:?}: {n} alerts routed, grouped and notified in {secs:.2} s = {:.0} alerts/s; {} notifications ({:.0}/s)",
        n as f64 / secs,
        got.load(Ordering::Relaxed),
        got.load(Ordering::Relaxed) as f64 / secs
    );
}

async fn time_to_response(name: &str, store: Arc<dyn Store>) {
    let (state, token) = common::state(store.clone(), Default::default()).await;
    let admin = state.gate.admin().authenticate_admin(&token).await.unwrap();
    let tenant = admin.tenant_id.clone();
    let (rules, report) = sekimori_detect::RuleSet::from_yaml(RULE);
    assert!(report.is_clean());
    let watch = sekimori_watch::Watch::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRng),
        &rules,
        sekimori_detect::baseline::Baselines::builtin(),
        sekimori_watch::IngestLimits::default(),
    )
    .unwrap()
    .with_sealer(state.gate.sealer())
    .with_responder(Arc::new(sekimori_server::responder::GateResponder(state.gate.clone())));
    let source = watch.add_source(&tenant, "bench", &Label::parse("edr").unwrap(), &Default::default()).await.unwrap();
    let doc = json!({
        "route": {"receiver": "nobody"},
        "receivers": [{"name": "nobody"}],
        "response_policies": [{"name": "edr", "matchers": ["rule=\"0b1c2d3e-0000-4000-8000-000000000001\""],
            "action": "raise_level", "level": 3, "duration": "1h", "trusted_sources": [source.id]}]
    });
    watch.set_routing(&tenant, "bench", 0, &doc).await.unwrap();
    let rounds = 300;
    let mut users = Vec::new();
    for i in 0..rounds {
        let name = sekimori_core::names::Username::parse(&format!("user{i}")).unwrap();
        let u = state.gate.admin().add_user(&admin, &name, None, None).await.unwrap();
        users.push(u.id);
    }
    let dispatcher = Dispatcher::new(watch.clone(), DispatchSettings::new("http://sekimori.bench")).unwrap();
    let running = tokio::spawn(dispatcher.run(Duration::from_secs(1)));
    let source = watch.authenticate_source(&source.key).await.unwrap();
    let mut took = Vec::with_capacity(rounds);
    for (i, user_id) in users.iter().enumerate() {
        let event = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                           "Image": "C:\\Windows\\System32\\whoami.exe", "TargetUserName": format!("user{i}")});
        let start = Instant::now();
        watch.ingest(&source, format!("{event}\n").as_bytes(), false, &DeclaredLogSource::default()).await.unwrap();
        loop {
            if !store.user_overrides(user_id, SystemClock.now()).await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        took.push(start.elapsed());
    }
    running.abort();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{name}: ingest -> required level raised: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({rounds} events)",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let backends = std::env::var("SEKIMORI_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    rt.block_on(async {
        for backend in backends.split(',') {
            let fresh = || async {
                let s: Arc<dyn Store> = match backend {
                    "sqlite" => Arc::new(sekimori_store::testing::fresh_sqlite().await),
                    "postgres" => Arc::new(sekimori_store::testing::fresh_postgres().await),
                    other => panic!("unknown backend {other}"),
                };
                s
            };
            throughput(backend, fresh().await, &["rule"]).await;
            throughput(backend, fresh().await, &["user"]).await;
            time_to_response(backend, fresh().await).await;
        }
    });
}
