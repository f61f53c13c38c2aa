//! The metrics an operator alerts on, kept with the `prometheus-client` library and served in
//! the OpenMetrics text format (names prefixed `snapkeep_`, clusters labelled by `cluster` and
//! `project`). Events are counted as they happen in this process: refused authentications,
//! finished operations, snapshots by outcome with their duration and bytes, restore durations,
//! scheduler fire lag, retention deletions, webhook posts. What the catalog knows of every cluster (its
//! protection, its last success, its running operations) and the background workers' health are
//! set just before each exposition, so a scrape shows the fleet as it is, whichever replica
//! answers.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::fleet::{ClusterHealth, Protection};
use crate::model::{Operation, OperationKind, Snapshot, SnapshotStatus};
use crate::notify::DeliveryState;

/// The content type of [`Metrics::render`]'s text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    dialect: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
    project: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    cluster: String,
    project: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    cluster: String,
    project: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeOnly {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

/// Durations from 1 s to about 9 hours.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 16))
}

/// Every metric's handle; cheap to clone, shared by every clone of the core.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    auth_failures: Family<AuthLabels, Counter>,
    operations_finished: Family<OperationLabels, Counter>,
    snapshots: Family<OutcomeLabels, Counter>,
    snapshot_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram>,
    restore_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram>,
    bytes_written: Family<ClusterLabels, Counter>,
    fire_lag_seconds: Histogram,
    retention_deletions: Counter,
    last_success: Family<ClusterLabels, Gauge>,
    protection: Family<StateLabels, Gauge>,
    in_progress: Family<ClusterLabels, Gauge>,
    worker_up: Family<WorkerLabels, Gauge>,
    worker_failures: Family<WorkerLabels, Gauge>,
    webhook_deliveries: Family<OutcomeOnly, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Arc::default(),
            auth_failures: Family::default(),
            operations_finished: Family::default(),
            snapshots: Family::default(),
            snapshot_seconds: Family::new_with_constructor(duration_histogram),
            restore_seconds: Family::new_with_constructor(duration_histogram),
            bytes_written: Family::default(),
            fire_lag_seconds: Histogram::new(exponential_buckets(0.1, 2.0, 16)),
            retention_deletions: Counter::default(),
            last_success: Family::default(),
            protection: Family::default(),
            in_progress: Family::default(),
            worker_up: Family::default(),
            worker_failures: Family::default(),
            webhook_deliveries: Family::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    fn register(&self) {
        let mut r = self.registry.lock().expect("metrics lock");
        let p = "snapkeep";
        r.register(
            format!("{p}_auth_failures"),
            "Requests refused because they were not authenticated",
            self.auth_failures.clone(),
        );
        r.register(
            format!("{p}_operations_finished"),
            "Operations that ended, by kind and outcome",
            self.operations_finished.clone(),
        );
        r.register(
            format!("{p}_snapshots"),
            "Snapshot creates that ended, by cluster and outcome",
            self.snapshots.clone(),
        );
        r.register(
            format!("{p}_snapshot_duration_seconds"),
            "How long completed snapshots took",
            self.snapshot_seconds.clone(),
        );
        r.register(
            format!("{p}_restore_duration_seconds"),
            "How long successful restores took",
            self.restore_seconds.clone(),
        );
        r.register(
            format!("{p}_snapshot_bytes_written"),
            "Bytes of completed snapshots (their size as the engine reports it, or as snapkeep stored it)",
            self.bytes_written.clone(),
        );
        r.register(
            format!("{p}_scheduler_fire_lag_seconds"),
            "How late automatic snapshots fired after their time",
            self.fire_lag_seconds.clone(),
        );
        r.register(
            format!("{p}_retention_deletions"),
            "Automatic snapshots retention scheduled for deletion",
            self.retention_deletions.clone(),
        );
        r.register(
            format!("{p}_last_success_timestamp_seconds"),
            "When each cluster's newest completed snapshot ended",
            self.last_success.clone(),
        );
        r.register(
            format!("{p}_cluster_protection"),
            "1 for each cluster's protection state (failing, unprotected, late, protected)",
            self.protection.clone(),
        );
        r.register(
            format!("{p}_webhook_deliveries"),
            "Webhook posts by outcome: delivered, pending (to be retried) or failed (given up)",
            self.webhook_deliveries.clone(),
        );
        r.register(format!("{p}_operations_in_progress"), "Each cluster's open operations", self.in_progress.clone());
        r.register(
            format!("{p}_worker_up"),
            "Whether a background worker is running (not backing off or stopped)",
            self.worker_up.clone(),
        );
        r.register(
            format!("{p}_worker_failures"),
            "Units of background work that failed since start",
            self.worker_failures.clone(),
        );
    }

    pub fn count_auth_failure(&self, dialect: &'static str, reason: &'static str) {
        self.auth_failures.get_or_create(&AuthLabels { dialect: dialect.into(), reason: reason.into() }).inc();
    }

    /// `op` ended with `outcome` (`succeeded`, `part_failed` or `failed`) on the cluster of
    /// `project`; `snapshot` is its snapshot as the operation left it, when it changed.
    pub fn operation_finished(
        &self,
        op: &Operation,
        project: &str,
        outcome: &'static str,
        snapshot: Option<&Snapshot>,
    ) {
        let labels = OperationLabels { operation: op.kind.as_str().into(), outcome: outcome.into() };
        self.operations_finished.get_or_create(&labels).inc();
        let cluster = ClusterLabels { cluster: op.cluster_id.clone(), project: project.into() };
        let seconds = op.finished_at.map(|end| seconds_between(op.created_at, end));
        match op.kind {
            OperationKind::CreateSnapshot => {
                let labels = OutcomeLabels {
                    cluster: cluster.cluster.clone(),
                    project: project.into(),
                    outcome: outcome.into(),
                };
                self.snapshots.get_or_create(&labels).inc();
                if let (Some(seconds), "succeeded") = (seconds, outcome) {
                    self.snapshot_seconds.get_or_create(&cluster).observe(seconds);
                }
                let stored = snapshot.filter(|s| s.status == SnapshotStatus::Completed).and_then(|s| s.size_bytes);
                if let Some(bytes) = stored {
                    self.bytes_written.get_or_create(&cluster).inc_by(bytes);
                }
            }
            OperationKind::RestoreSnapshot => {
                if let (Some(seconds), "succeeded") = (seconds, outcome) {
                    self.restore_seconds.get_or_create(&cluster).observe(seconds);
                }
            }
            OperationKind::DeleteSnapshot | OperationKind::DeleteSnapshots => {}
        }
    }

    /// An automatic snapshot fired `lag` after its time.
    pub fn fired(&self, lag: chrono::Duration) {
        self.fire_lag_seconds.observe(lag.num_milliseconds().max(0) as f64 / 1000.0);
    }

    /// Retention scheduled `count` snapshots for deletion.
    pub fn retention_deleted(&self, count: u64) {
        self.retention_deletions.inc_by(count);
    }

    /// A webhook post ended, leaving its delivery in `state`.
    pub fn webhook_delivery(&self, state: DeliveryState) {
        self.webhook_deliveries.get_or_create(&OutcomeOnly { outcome: state.as_str().into() }).inc();
    }

    /// A background worker's state: running or not, and its failures since start.
    pub fn set_worker(&self, worker: &str, up: bool, failures_total: u64) {
        let labels = WorkerLabels { worker: worker.into() };
        self.worker_up.get_or_create(&labels).set(i64::from(up));
        self.worker_failures.get_or_create(&labels).set(i64::try_from(failures_total).unwrap_or(i64::MAX));
    }

    /// The exposition, with the fleet's gauges set from `fleet` when given (clusters gone since
    /// the last one are dropped), or as they were.
    pub fn render(&self, fleet: Option<&[ClusterHealth]>) -> String {
        let registry = self.registry.lock().expect("metrics lock");
        if let Some(fleet) = fleet {
            self.set_fleet(fleet);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("writing to a String");
        text
    }

    fn set_fleet(&self, fleet: &[ClusterHealth]) {
        self.last_success.clear();
        self.protection.clear();
        self.in_progress.clear();
        for health in fleet {
            let (cluster, project) = (health.cluster.id.clone(), health.cluster.project_id.clone());
            let labels = ClusterLabels { cluster: cluster.clone(), project: project.clone() };
            if let Some(success) = &health.last_success {
                self.last_success.get_or_create(&labels).set(success.at.timestamp());
            }
            self.in_progress.get_or_create(&labels).set(health.running.len() as i64);
            for state in [Protection::Failing, Protection::Unprotected, Protection::Late, Protection::Protected] {
                let labels =
                    StateLabels { cluster: cluster.clone(), project: project.clone(), state: state.as_str().into() };
                self.protection.get_or_create(&labels).set(i64::from(health.protection == state));
            }
        }
    }
}

fn seconds_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    (end - start).num_milliseconds().max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_dialect_and_reason() {
        let metrics = Metrics::default();
        metrics.count_auth_failure("css", "signature_mismatch");
        metrics.count_auth_failure("css", "signature_mismatch");
        metrics.clone().count_auth_failure("admin", "bad_token");
        let text = metrics.render(None);
        assert!(!text.contains("dialect=\"alibaba\""), "only what was counted");
        assert!(text.contains("snapkeep_auth_failures_total{dialect=\"css\",reason=\"signature_mismatch\"} 2\n"));
        assert!(text.contains("snapkeep_auth_failures_total{dialect=\"admin\",reason=\"bad_token\"} 1\n"));
        assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    }
}
