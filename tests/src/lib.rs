//! The integration-test harness, shared by every test: starts `essim`, real Elasticsearch and
//! OpenSearch nodes (`engine`) and `snapkeep` processes on loopback ports, drives the admin API,
//! and runs the official-SDK scripts under `tests/sdk/` with the project's Python environment; or
//! runs the core in-process on a real catalog and a manual clock.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, as `scripts/test` does).

mod cluster;
mod engine;
mod essim;
mod inprocess;
mod postgres;
mod processes;
mod python;
mod receiver;
mod s3;
pub mod signers;
mod snapkeep;
mod storage;

pub use cluster::ClusterClient;
pub use engine::{ELASTICSEARCH_7, OPENSEARCH_2, OPENSEARCH_S3, RealEngine, SearchCluster, TestEngine};
pub use essim::{Essim, EssimOptions};
pub use inprocess::InProcess;
pub use postgres::{RestoreArea, TestPostgres, TlsCertificates, fingerprint, load, open_tempdir, psql};
pub use processes::{Process, binary, free_port, workspace_root};
pub use python::run_sdk_script;
pub use receiver::{Received, WebhookReceiver};
pub use s3::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};
pub use snapkeep::{Auth, Snapkeep, Tenant};
pub use storage::{StorageKind, TEST_BASE_PATH, TEST_BUCKET, TEST_PROFILE, TestStorage};

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
