//! `snapkeep serve`: opens the store, wires the core to the engines and storage, starts the
//! background workers under their supervisor and the HTTP dialects, and stops all of it within
//! `shutdown-grace-secs` of a SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use snapkeep_api_gateway::with_request_id;
use snapkeep_core::{
    Clock, Lane, Reconciler, Replica, Repositories, RepositoryNames, Snapkeep, Store, SystemClock, integrity_key,
};
use snapkeep_engine_elasticsearch::HttpEngineConnector;
use snapkeep_engine_postgres::{PostgresEngine, RestoreArea};
use snapkeep_jobs::{NotifierWorker, PresenceWorker, ReconcilerWorker, SchedulerWorker, StatusBoard, Supervisor};
use snapkeep_storage::OpendalStorage;
use snapkeep_store::SqlStore;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::master_key::{agree_admin_token, agree_storage_root, lock_data_dir, node_id, open_cipher};
use crate::secret_files::secret;

/// The catalog `catalog-url` names, migrated to this build.
pub async fn open_catalog(config: &Config) -> anyhow::Result<SqlStore> {
    SqlStore::open(&config.catalog()?).await.context("opening the catalog")
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let storage_root = config.storage_root();
    std::fs::create_dir_all(&storage_root).with_context(|| format!("creating {}", storage_root.display()))?;
    let _lock = lock_data_dir(&config.data_dir)?;
    let restore_root = config.restore_root();
    std::fs::create_dir_all(&restore_root).with_context(|| format!("creating {}", restore_root.display()))?;
    let admin_token = secret(
        config.admin_token.as_deref(),
        config.admin_token_file.as_deref(),
        &config.data_dir.join("admin.token"),
        || uuid::Uuid::new_v4().simple().to_string(),
    )?;
    let node_id = node_id(&config)?;

    let store = open_catalog(&config).await?;
    let cipher = open_cipher(&config, &store).await?;
    let integrity = integrity_key(&store, &cipher).await.context("opening the backup integrity key")?;
    let local_root = storage_root.canonicalize()?.display().to_string();
    if store.is_shared() {
        agree_admin_token(&config, &store, (&cipher, &integrity), &admin_token).await?;
        agree_storage_root(&store, &cipher, &local_root).await?;
    }
    let restore_listen = config.restore_listen()?;
    let loopback =
        restore_listen == "localhost" || restore_listen.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if store.is_shared() && loopback {
        tracing::warn!(
            restore_listen,
            "restored PostgreSQL servers are registered under a loopback address, which only this machine reaches; \
             set restore-listen to an address the other replicas and clients reach"
        );
    }
    let released = store.release_leases(&node_id).await?;
    if released > 0 {
        tracing::info!(released, "resuming operations left by the previous run");
    }
    let connector = HttpEngineConnector::new(Duration::from_secs(config.engine_timeout_secs))?;
    let repositories = Repositories {
        names: RepositoryNames {
            own: config.repository_name.clone(),
            shared_prefix: snapkeep_api_alibaba::SHARED_REPOSITORY_PREFIX.into(),
        },
        local_root,
        storage: Arc::new(OpendalStorage),
    };
    let store = Arc::new(store);
    let core = Snapkeep::new(
        store.clone(),
        Arc::new(connector),
        repositories,
        cipher,
        Arc::new(SystemClock),
        config.timeouts(),
        config.region.clone(),
    )
    .with_databases(Arc::new(PostgresEngine::new(
        RestoreArea {
            root: restore_root.canonicalize()?,
            listen: restore_listen,
            binaries: config.postgres_binaries(),
        },
        config.postgres_tuning()?,
        integrity,
    )))
    .with_scheduling(config.scheduling())
    .with_max_skew(config.signature_max_skew()?);
    let core = if store.is_shared() { core.with_presence_fence(config.lease()?) } else { core };

    let replica = announce(&core, &node_id, config.lease()?).await?;
    let grace = config.shutdown_grace()?;
    let supervisor = workers(&config, core.clone(), replica)?;
    let (status, mut fatal) = (supervisor.status(), supervisor.fatal());
    let (stop, stopped) = watch::channel(false);
    let background = tokio::spawn(supervisor.run(stopped.clone(), grace));
    let failed = fatal.clone();

    let listener =
        tokio::net::TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    // Beyond loopback, browsers reach the console through TLS: its session cookie is `Secure`.
    let secure_cookies = !listener.local_addr()?.ip().is_loopback();
    let app = axum::Router::new()
        .route("/healthz", get(health).with_state(status))
        .merge(snapkeep_api_admin::router(core.clone(), &admin_token))
        .merge(snapkeep_api_console::router(core.clone(), &admin_token, secure_cookies))
        .merge(snapkeep_api_css::router(core.clone()))
        .merge(snapkeep_api_dws::router(core.clone()))
        .merge(snapkeep_api_alibaba::router(core.clone()))
        .layer(axum::middleware::from_fn(with_request_id))
        .layer(TraceLayer::new_for_http());
    tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), storage_root = %config.storage_root().display(), "snapkeep listening");
    let limits = crate::http::Limits {
        max_connections: config.http_max_connections.max(1),
        header_read_timeout: Duration::from_secs(config.http_header_timeout_secs.max(1)),
        shutdown_grace: grace,
    };
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown_signal() => {}
            _ = fatal.wait_for(Option::is_some) => {}
        }
        let _ = stop.send(true);
    });
    let mut http_stop = stopped;
    crate::http::serve(listener, app, limits, async move { drop(http_stop.wait_for(|stop| *stop).await) }).await?;
    tracing::info!("HTTP server stopped; waiting for the background workers");
    background.await?;
    if let Err(e) = core.forget_replica(&node_id).await {
        tracing::warn!(error = %e, "could not remove this replica from the catalog; it lapses after lease-secs");
    }
    store.close().await;
    if let Some(reason) = failed.borrow().clone() {
        anyhow::bail!(reason);
    }
    tracing::info!("stopped");
    Ok(())
}

/// Announces this replica before it serves: refuses to start when its master key no longer
/// opens the catalog or its clock is too far from the catalog server's.
async fn announce(core: &Snapkeep, node_id: &str, lease: Duration) -> anyhow::Result<Replica> {
    let now = SystemClock.now();
    let replica = Replica {
        id: node_id.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: now,
        seen_at: now,
        lease_ms: i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
        clock_offset_ms: 0,
    };
    if let Err(e) = core.announce(&replica).await {
        let _ = core.forget_replica(&replica.id).await;
        return Err(e).context("announcing this replica to the catalog");
    }
    Ok(replica)
}

/// The background workers: the reconciler's two pools (short steps, long transfers), the
/// scheduler, the notifier and this replica's presence.
fn workers(config: &Config, core: Snapkeep, replica: Replica) -> anyhow::Result<Supervisor> {
    let reconciler = Reconciler::new(core.clone(), config.retry(), replica.id.clone(), config.lease()?)
        .with_failpoint(config.failpoint.clone());
    let interval = Duration::from_millis(config.reconcile_interval_ms);
    let (steps, transfers) = config.pools()?;
    Ok(Supervisor::new()
        .reporting_to(core.metrics().clone())
        .with(ReconcilerWorker::new(reconciler.clone(), Lane::Steps, steps, interval))
        .with(ReconcilerWorker::new(reconciler, Lane::Transfers, transfers, interval))
        .with(SchedulerWorker::new(core.clone(), Duration::from_millis(config.scheduler_interval_ms)))
        .with(NotifierWorker::new(
            core.clone(),
            Duration::from_millis(config.notify_interval_ms),
            Duration::from_millis(config.health_check_interval_ms),
        )?)
        .with(PresenceWorker::new(core, replica)))
}

/// `/healthz`: 200 while the service answers; `status` is `ok` when every background worker
/// runs, `degraded` when one backs off after failures (its `last_error` says why).
async fn health(State(status): State<StatusBoard>) -> impl IntoResponse {
    let state = if status.healthy() { "ok" } else { "degraded" };
    axum::Json(serde_json::json!({"status": state, "workers": status.snapshot()}))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutdown requested");
}
