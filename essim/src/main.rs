//! essim: an Elasticsearch/OpenSearch simulator that speaks the engines' `_snapshot` REST API
//! (and enough of the index API to put data in and check it), for snapkeep's tests.
//!
//! Snapshots really copy documents into the repository location, restores really bring them
//! back, both take time at a configurable byte rate, and faults can be injected at runtime.

mod blobs;
mod error;
mod faults;
mod fleet;
mod indices;
mod profile;
mod repositories;
mod request;
mod router;
mod settings;
mod sim;
mod snapshots;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;

use crate::fleet::{Fleet, Template};
use crate::profile::{Flavor, Profile};
use crate::router::App;

/// Command line of the simulator.
#[derive(Debug, Parser)]
#[command(name = "essim", about = "Elasticsearch/OpenSearch snapshot API simulator")]
struct Args {
    /// Address to listen on (loopback only in tests).
    #[arg(long, default_value = "127.0.0.1:9200")]
    listen: String,
    /// Where the cluster state is kept.
    #[arg(long)]
    data_dir: PathBuf,
    /// Allowed roots for `fs` repositories (`path.repo`); repeatable.
    #[arg(long = "path-repo")]
    path_repo: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "elasticsearch")]
    flavor: Flavor,
    /// Engine version to behave as (e.g. 6.8.23, 7.10.2, 8.11.1, 1.3.14, 2.11.0).
    #[arg(long, default_value = "7.10.2")]
    version: String,
    #[arg(long, default_value = "essim")]
    cluster_name: String,
    /// Bytes per second that snapshots and restores progress at.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    rate_bytes_per_sec: u64,
    /// Serve the API under this path prefix (e.g. `/es`), as behind a reverse proxy.
    #[arg(long, default_value = "")]
    path_prefix: String,
    /// Require HTTP basic auth `user:password` on every engine request.
    #[arg(long)]
    basic_auth: Option<String>,
    /// A node setting `key=value` (repeatable), e.g. `s3.client.default.endpoint=127.0.0.1:9000`;
    /// secure settings (`s3.client.<name>.access_key`, `secret_key`) are given the same way.
    #[arg(long = "setting")]
    settings: Vec<String>,
    /// Host this many independent clusters, addressed as `/c0` … `/c{N-1}` (each created on
    /// first use, with its state under `<data-dir>/c{i}`).
    #[arg(long, default_value_t = 1)]
    clusters: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let profile = Profile::new(args.flavor, &args.version)?;
    let path_repo = args
        .path_repo
        .iter()
        .map(|p| std::fs::create_dir_all(p).and_then(|()| p.canonicalize()))
        .collect::<Result<Vec<_>, _>>()?;
    let template = Template {
        profile,
        data_dir: args.data_dir,
        path_repo,
        settings: settings::NodeSettings::parse(&args.settings)?,
        rate_bytes_per_sec: args.rate_bytes_per_sec.max(1),
        cluster_name: args.cluster_name,
    };
    let app = Arc::new(App {
        fleet: Fleet::new(template, args.clusters)?,
        log: Mutex::new(Vec::new()),
        path_prefix: args.path_prefix.trim_end_matches('/').to_owned(),
        basic_auth: args.basic_auth,
    });
    tokio::spawn(tick_forever(app.clone()));
    let router = axum::Router::new().fallback(router::handle).with_state(app);
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "essim listening");
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// Advances running snapshots and restores every 50 ms.
async fn tick_forever(app: Arc<App>) {
    const TICK: Duration = Duration::from_millis(50);
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        for sim in app.fleet.all() {
            snapshots::tick(&mut sim.lock().expect("sim lock"), TICK.as_millis() as u64);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
