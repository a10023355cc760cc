//! What the benchmarks share: the application state over a store, as `sekimori serve`
//! builds it (system clock, OS randomness, no rules), and its first admin token.

use std::sync::Arc;

use sekimori_core::{OsRng, SystemClock};
use sekimori_gate::{Gate, GateSettings, ServerKeys};
use sekimori_server::AppState;
use sekimori_store::Store;

pub async fn state(store: Arc<dyn Store>, settings: GateSettings) -> (AppState, String) {
    let gate = Gate::new(store.clone(), Arc::new(SystemClock), Arc::new(OsRng), ServerKeys::generate(&OsRng), settings)
        .unwrap();
    let token = gate.admin().bootstrap().await.unwrap().1.unwrap();
    let watch = sekimori_watch::Watch::new(
        store,
        Arc::new(SystemClock),
        Arc::new(OsRng),
        &sekimori_detect::RuleSet::default(),
        sekimori_detect::baseline::Baselines::builtin(),
        sekimori_watch::IngestLimits::default(),
    )
    .unwrap();
    (
        AppState {
            gate,
            watch,
            body_limit: sekimori_server::DEFAULT_BODY_LIMIT,
            trusted_proxies: Default::default(),
            // The load benchmarks send from one address: no per-network limit applies.
            limiter: std::sync::Arc::new(sekimori_server::limits::RateLimiter::new(
                sekimori_server::limits::RateLimits {
                    qr_sessions: 1_000_000,
                    enrolments: 1_000_000,
                    logins: 1_000_000,
                    passkeys: 1_000_000,
                    ..Default::default()
                },
                std::sync::Arc::new(sekimori_core::SystemClock),
            )),
            min_free_bytes: 0,
            metrics: Default::default(),
        },
        token,
    )
}
