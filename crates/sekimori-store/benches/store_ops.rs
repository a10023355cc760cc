//! Storage cost of the gate's hot paths, without HTTP: tickets inserted, then the same
//! path a redemption takes (app lookup, ticket + holder read, consume with its audit
//! row), one at a time on one task. `cargo bench -p sekimori-store --bench store_ops`;
//! `SEKIMORI_BENCH_BACKENDS=sqlite,postgres`, `SEKIMORI_BENCH_TICKETS=20000`.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time

use sekimori_core::TenantId;
use std::sync::Arc;
use std::time::Instant;

use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::Timestamp;
use sekimori_store::testing::{fresh_postgres, fresh_sqlite};
use sekimori_store::*;

const T0: i64 = 1_795_000_000_000;

fn ev(action: &str) -> NewEvent {
    NewEvent::new(Timestamp(T0), "t1", "iam", action, Outcome::Success)
        .field("sekimori.ticket.entitlement", "lunch")
        .field("sekimori.app.id", "app-verifier")
}

async fn run(name: &str, s: Arc<dyn Store>, n: usize) {
    let t = Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(T0));
    s.ensure_tenant(&t).await.expect("tenant");
    let u = User {
        id: "u1".into(),
        tenant_id: "t1".into(),
        username: "alice".into(),
        email: None,
        display_name: None,
        disabled: false,
        created_at: Timestamp(T0),
        valid_from: None,
        valid_until: None,
        login_hours: None,
    };
    s.insert_user(&u, &ev("iam.user.created")).await.expect("user");
    let app = App {
        id: "app-verifier".into(),
        tenant_id: "t1".into(),
        name: "till".into(),
        kind: AppKind::Verifier,
        secret_hash: vec![1; 32],
        created_at: Timestamp(T0),
        revoked_at: None,
        origins: None,
    };
    s.insert_app(&app, &ev("iam.app.created")).await.expect("app");
    let ids: Vec<String> = (0..n).map(|i| format!("{i:032x}")).collect();
    let started = Instant::now();
    for id in &ids {
        let ticket = Ticket {
            id: id.clone(),
            tenant_id: "t1".into(),
            user_id: "u1".into(),
            entitlement: "lunch".into(),
            issued_by: "app-rp".into(),
            created_at: Timestamp(T0),
            expires_at: Timestamp(T0 + 3_600_000),
            redeemed_at: None,
            redeemed_by: None,
        };
        s.insert_ticket(&ticket, &ev("ticket.issued").user("u1", "alice")).await.expect("insert");
    }
    let issue = started.elapsed();
    let started = Instant::now();
    for id in &ids {
        s.app(&app.id).await.expect("app").expect("exists");
        s.ticket_with_holder(id).await.expect("read").expect("exists");
        match s
            .redeem_ticket(id, &app.id, Timestamp(T0 + 1), &ev("ticket.redeemed").user("u1", "alice"))
            .await
            .expect("redeem")
        {
            Consume::Done(_) => {}
            other => panic!("not redeemed: {other:?}"),
        }
    }
    let redeem = started.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "{name}: {n} tickets; insert {:.1} µs each ({:.0}/s); redemption path {:.1} µs each ({:.0}/s), one task",
        per(issue),
        1e6 / per(issue),
        per(redeem),
        1e6 / per(redeem)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("SEKIMORI_BENCH_TICKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let backends = std::env::var("SEKIMORI_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for b in backends.split(',') {
        match b.trim() {
            "sqlite" => run("sqlite", Arc::new(fresh_sqlite().await), n).await,
            "postgres" => run("postgres", Arc::new(fresh_postgres().await), n / 10).await,
            other => panic!("unknown backend {other}"),
        }
    }
}
