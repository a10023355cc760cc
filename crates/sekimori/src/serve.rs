//! `sekimori serve` and the commands that open the store directly on the server's host
//! (`admin-token`, `audit verify`).

use sekimori_core::TenantId;
use std::sync::Arc;

use anyhow::Context;
use sekimori_core::{Clock, OsRng, PublicUrl, Rng, SystemClock};
use sekimori_detect::baseline::Baselines;
use sekimori_detect::{LoadReport, RuleSet};
use sekimori_gate::{Gate, GateSettings, ServerKeys};
use sekimori_server::AppState;
use sekimori_store::postgres::PostgresStore;
use sekimori_store::sqlite::SqliteStore;
use sekimori_store::Store;
use sekimori_watch::{IngestLimits, Watch};

use crate::config::Config;
use crate::runtime::{CheckpointSchedule, StoreSpec};

/// Opens the configured store: PostgreSQL when `storage.database_url` is set, else the
/// embedded SQLite file in `storage.data_dir` (created if missing).
pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    open(&StoreSpec::of(cfg)).await
}

/// Opens the store `spec` names.
pub async fn open(spec: &StoreSpec) -> anyhow::Result<Arc<dyn Store>> {
    match spec {
        StoreSpec::Postgres { url, max_connections } => {
            let s = PostgresStore::connect_url(url, *max_connections)
                .await
                .context("storage.database_url: cannot open PostgreSQL")?;
            Ok(Arc::new(s))
        }
        StoreSpec::Sqlite { data_dir: dir } => {
            let path = dir.join("sekimori.db");
            private_files(dir, &path).with_context(|| format!("storage.data_dir: cannot prepare {}", dir.display()))?;
            let s = SqliteStore::open(&path).await.with_context(|| format!("cannot open {}", path.display()))?;
            Ok(Arc::new(s))
        }
    }
}

/// The data directory (created `0700`) and the database file (created or kept `0600`)
/// are readable by the server's user only: the database holds password hashes and
/// sealed secrets. SQLite creates its `-wal` and `-shm` files with the database's mode.
fn private_files(dir: &std::path::Path, db: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(db)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// The server keys in `keys_file` (created at first start).
pub fn server_keys(keys_file: &std::path::Path) -> anyhow::Result<ServerKeys> {
    ServerKeys::load_or_create(keys_file, &OsRng).context("storage.keys_file")
}

/// Builds the gate over an open store, with the server keys.
pub fn gate(
    keys: ServerKeys,
    settings: GateSettings,
    store: Arc<dyn Store>,
    deliveries: Vec<Arc<dyn sekimori_gate::notify::Delivery>>,
) -> anyhow::Result<Gate> {
    let rng: Arc<dyn Rng> = Arc::new(OsRng);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gate = Gate::with_deliveries(store, clock, rng, keys, settings, deliveries)?;
    match gate.passkeys().passkey_host() {
        Ok(host) => tracing::info!(host, "passkeys on"),
        Err(why) => tracing::warn!(reason = %why, "passkeys off"),
    }
    Ok(gate)
}

/// Builds the detection services with the rules `detect.rules` loaded; each rule that did
/// not load is logged with its file and reason (the others run).
pub fn watch(rules: (RuleSet, LoadReport), store: Arc<dyn Store>, baselines: Baselines) -> anyhow::Result<Watch> {
    let (rules, report) = rules;
    for f in &report.failures {
        tracing::warn!(file = %f.path.display(), rule = f.rule.as_deref().unwrap_or("-"), reason = %f.reason, "Sigma rule not loaded");
    }
    if report.detections + report.correlations + report.filters + report.failures.len() > 0 {
        println!(
            "detection: {} detection, {} correlation and {} filter rules loaded; {} not loaded (see the log)",
            report.detections,
            report.correlations,
            report.filters,
            report.failures.len()
        );
    }
    if !baselines.intel().is_empty() {
        println!("threat intel: {} addresses and networks", baselines.intel().len());
    }
    Watch::new(store, Arc::new(SystemClock), Arc::new(OsRng), &rules, baselines, IngestLimits::default())
        .map(|w| w.with_load_report(report))
        .map_err(|e| anyhow::anyhow!("detect.rules: {e}"))
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(cfg: Config, source_name: &str) -> anyhow::Result<()> {
    // Built before anything is bound or opened, so a bad file refuses the start at once.
    let rt = cfg.build(source_name)?;
    let addr = rt.listen;
    let open_files = sekimori_server::listen::raise_open_files_limit();
    tracing::debug!(?open_files, "open-files limit");
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("server.listen: cannot bind {addr}"))?;
    let bound = listener.local_addr()?;
    let public_url = rt.public_url_for(bound);
    let store = open(&rt.store).await?;
    let backend = store.backend();
    let store_for_watch = store.clone();
    let store_for_checks = store.clone();
    // The gate's notices are also emailed to users, once the detection services exist.
    let watch_cell = Arc::new(std::sync::OnceLock::new());
    let user_mail = sekimori_server::user_mail::UserMail::start(store.clone(), watch_cell.clone());
    let user_mail_metrics = user_mail.clone();
    let keys = server_keys(&rt.keys_file)?;
    let gate_settings = rt.gate_settings(public_url.clone());
    // Authenticator apps are woken by Web Push (unless `gate.web_push.enabled = false`).
    let web_push = if gate_settings.web_push.enabled {
        let config = sekimori_webpush::SenderConfig::new(&keys, &gate_settings);
        Some(sekimori_webpush::WebPush::start(store.clone(), Arc::new(SystemClock), config).context("gate.web_push")?)
    } else {
        None
    };
    let mut deliveries: Vec<Arc<dyn sekimori_gate::notify::Delivery>> = vec![user_mail];
    deliveries.extend(web_push.clone().map(|w| w as Arc<dyn sekimori_gate::notify::Delivery>));
    let gate = gate(keys, gate_settings, store, deliveries)?;
    let risk_lists = rt.risk.reputation.lists().iter().map(|l| l.entries).sum::<usize>();
    if risk_lists > 0 {
        println!("risk: {} address lists, {risk_lists} entries", rt.risk.reputation.lists().len());
    }
    if let Some(db) = &rt.risk.geo {
        println!("risk: geolocation from a {} database", db.kind);
    }
    let risk_reload = cfg.risk.start_reload(gate.clone(), &rt.risk);
    gate.risk().set_inputs(rt.risk.clone());
    let (tenant, first_token) = gate.admin().bootstrap().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(token) = first_token {
        println!("First start: created tenant {:?}.", tenant.name);
        println!("Admin token (shown once; stored only hashed):\n\n    {token}\n");
        println!("Use it with:  export SEKIMORI_URL={public_url} SEKIMORI_TOKEN={token}");
        println!("A new one:    sekimori admin-token --data-dir {}", cfg.storage.data_dir.display());
    }
    println!("sekimori listening on http://{bound} (public URL {public_url}, store {backend})");
    tracing::info!(%bound, %public_url, backend, "listening");
    let watch = watch(rt.rules, store_for_watch, rt.baselines)?
        .with_sealer(gate.sealer())
        .with_responder(Arc::new(sekimori_server::responder::GateResponder(gate.clone())))
        .with_search_fields(cfg.detect.search_fields.clone());
    // Before any event is stored, so a new field's index is complete from now.
    for f in watch.sync_search_fields().await.context("detect.search_fields")? {
        tracing::info!(field = %f.name, indexed_since = f.since.millis(), "search field");
    }
    let _ = watch_cell.set(watch.clone());
    let listeners = start_syslog(&cfg, &watch, &tenant.id).await?;
    let backups = crate::backup::start(&cfg);
    let archiving = crate::audit_cli::start_archiving(&cfg);
    let chain_checks = start_chain_checks(&cfg, &gate, store_for_checks);
    let checkpoint_gate = gate.clone();
    let checkpoints = start_checkpoints(&rt.checkpoints, &checkpoint_gate).await;
    let state = AppState {
        gate,
        watch,
        body_limit: rt.http.body_limit,
        trusted_proxies: rt.http.trusted_proxies.clone(),
        limiter: std::sync::Arc::new(sekimori_server::limits::RateLimiter::new(
            rt.http.rate_limits,
            std::sync::Arc::new(SystemClock),
        )),
        min_free_bytes: rt.http.min_free_bytes,
        metrics: metrics_registry(&cfg, &user_mail_metrics, web_push.as_ref())?,
    };
    let metrics_listener = start_metrics_listener(&cfg, &state).await?;
    let stats = std::sync::Arc::new(sekimori_server::listen::ConnStats::default());
    let background = sekimori_server::start_background(&state);
    sekimori_server::serve_with(listener, state, shutdown_signal(), rt.http.conn_limits, stats.clone()).await?;
    for task in background {
        task.abort();
    }
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let (accepted, refused, cut) = (count(&stats.accepted), count(&stats.refused), count(&stats.cut_at_shutdown));
    // Then the syslog listeners: reading stops, their queues drain into the store.
    let grace = rt.http.conn_limits.shutdown_grace;
    for l in &listeners {
        let r = l.shutdown(grace).await;
        println!(
            "syslog {} stopped: received {} accepted {} malformed {} dropped {} refused {}",
            r.url, r.received, r.accepted, r.malformed, r.dropped, r.refused_revoked
        );
    }
    for task in [backups, archiving, chain_checks, risk_reload, metrics_listener].into_iter().flatten() {
        task.abort();
    }
    checkpoints.abort();
    // Wake-ups already queued still leave.
    if let Some(w) = &web_push {
        let all = w.drain(grace).await;
        let st = w.stats();
        println!(
            "web push stopped: sent {} gone {} failed {} dropped {}{}",
            count(&st.sent),
            count(&st.gone),
            count(&st.failed),
            count(&st.dropped),
            if all { "" } else { " (queue not empty at the deadline)" }
        );
    }
    // A last checkpoint, so everything written up to the stop is anchored.
    if let Err(e) = checkpoint_gate.audit().audit_checkpoint(&rt.checkpoints.file, None).await {
        tracing::error!(error = %e, "audit checkpoint at stop failed");
    }
    tracing::info!(accepted, refused_at_the_cap = refused, cut_at_the_deadline = cut, "stopped");
    Ok(())
}

/// The `/metrics` registry: the token from `[metrics]`, and the delivery channels' counters.
fn metrics_registry(
    cfg: &Config,
    user_mail: &Arc<sekimori_server::user_mail::UserMail>,
    web_push: Option<&Arc<sekimori_webpush::WebPush>>,
) -> anyhow::Result<Arc<sekimori_server::metrics::Metrics>> {
    let token = cfg.metrics.token_hash().map_err(|(key, reason)| anyhow::anyhow!("{key}: {reason}"))?;
    let metrics = Arc::new(sekimori_server::metrics::Metrics::new(token));
    metrics.register(user_mail.clone());
    if let Some(w) = web_push {
        metrics.register(w.clone());
    }
    Ok(metrics)
}

/// Serves `/metrics` without a token on `[metrics] listen`, when set.
async fn start_metrics_listener(
    cfg: &Config,
    state: &sekimori_server::AppState,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = cfg.metrics.listen else { return Ok(None) };
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("metrics.listen: cannot bind {addr}"))?;
    println!("metrics on http://{}/metrics", listener.local_addr()?);
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = sekimori_server::serve_metrics(listener, state).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    })))
}

/// Writes an audit checkpoint now and then every `audit.checkpoint_interval_seconds`
/// (when the log has grown); a failure is logged at ERROR and retried.
/// Walks the audit chain every `audit.verify_interval_hours` (the first a minute after
/// start), recording each result in every tenant's log; none when it is 0.
fn start_chain_checks(cfg: &Config, gate: &Gate, store: Arc<dyn Store>) -> Option<tokio::task::JoinHandle<()>> {
    let hours = cfg.audit.verify_interval_hours;
    if hours == 0 {
        return None;
    }
    let gate = gate.clone();
    Some(tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        loop {
            match store.tenant_ids().await {
                Ok(tenants) => match gate.audit().verify_and_record(&tenants, "schedule").await {
                    Ok(r) if r.first_broken.is_some() => {
                        tracing::error!(broken = ?r.first_broken, "the audit chain does not verify")
                    }
                    Ok(r) => tracing::info!(rows = r.rows_checked, "the audit chain verifies"),
                    Err(e) => tracing::error!(error = %e, "verifying the audit chain failed"),
                },
                Err(e) => tracing::error!(error = %e, "verifying the audit chain failed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(hours * 3600)).await;
        }
    }))
}

async fn start_checkpoints(schedule: &CheckpointSchedule, gate: &Gate) -> tokio::task::JoinHandle<()> {
    let (gate, file, every) = (gate.clone(), schedule.file.clone(), schedule.every);
    tokio::spawn(async move {
        let mut last = None;
        loop {
            match gate.audit().audit_checkpoint(&file, last).await {
                Ok(Some(cp)) => last = Some(cp.seq),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// Starts the `[[syslog.listeners]]`, each attributed to its named source in `tenant_id`.
async fn start_syslog(
    cfg: &Config,
    watch: &Watch,
    tenant_id: &TenantId,
) -> anyhow::Result<Vec<sekimori_watch::syslog::Listener>> {
    let mut listeners = Vec::new();
    use crate::config::SyslogScheme;
    use sekimori_watch::syslog::{self, ListenerConfig, Transport};
    for (i, l) in cfg.syslog.listeners.iter().enumerate() {
        let key = |k: &str| format!("syslog.listeners[{i}].{k}");
        let Some(crate::config::SyslogAddr { scheme, addr }) = l.listen else {
            anyhow::bail!("{}: required", key("listen"));
        };
        let transport = match scheme {
            SyslogScheme::Udp => Transport::Udp,
            SyslogScheme::Tcp => Transport::Tcp,
            SyslogScheme::Tls => {
                let (Some(cert), Some(k)) = (&l.tls_cert, &l.tls_key) else {
                    anyhow::bail!("{}: required for a tls:// listener", key("tls_cert"));
                };
                let tls = syslog::tls_config(cert, k, l.tls_client_ca.as_deref())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", key("tls_cert")))?;
                Transport::Tls(tls)
            }
        };
        let name =
            sekimori_core::names::Label::parse(&l.source).map_err(|e| anyhow::anyhow!("{}: {e}", key("source")))?;
        let source = watch
            .source_named(tenant_id, &name, l.labels.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", key("source")))?;
        let started = syslog::start(
            watch.clone(),
            ListenerConfig {
                transport,
                addr,
                source,
                max_message_bytes: l.max_message_bytes,
                queue_messages: l.queue_messages,
                max_connections: l.max_connections,
                idle_timeout: std::time::Duration::from_secs(l.idle_timeout_seconds),
                recv_buffer_bytes: l.recv_buffer_bytes,
                logsource: l.logsource.clone().unwrap_or_default(),
            },
        )
        .await
        .with_context(|| format!("{}: cannot bind {addr}", key("listen")))?;
        println!("syslog listening on {} (source {name})", started.url);
        listeners.push(started);
    }
    Ok(listeners)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `sekimori admin-token`: mints a fresh admin token directly in the store.
pub async fn admin_token(cfg: &Config, name: &str) -> anyhow::Result<String> {
    let store = open_store(cfg).await?;
    let public_url = cfg.server.public_url.clone().unwrap_or_else(|| PublicUrl::from_listen(cfg.server.listen));
    let keys = server_keys(&cfg.keys_file())?;
    let gate = gate(keys, GateSettings { public_url, ..cfg.gate.clone() }, store, Vec::new())?;
    let (tenant, _) = gate.admin().bootstrap().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    gate.admin().mint_admin_token(&tenant.id, name).await.map_err(|e| anyhow::anyhow!("{e}"))
}
