//! What a step of a durable operation decides, how it fails, and what every engine family's steps
//! share: the `EngineSteps` trait the reconciler calls, and the changes a finished or failed
//! operation makes to its snapshot.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::engine::EngineError;
use crate::error::{CoreError, StoreError};
use crate::model::{Cluster, Operation, OperationKind, RestoreStatus, Snapshot, SnapshotStatus};
use crate::store::{SnapshotChange, Store};

/// What one step decided.
pub(crate) enum Step {
    /// Look again after the poll interval; the snapshot may have changed.
    Wait(SnapshotChange),
    /// The operation ended.
    Finish { succeeded: bool, error: Option<String>, change: SnapshotChange },
}

/// How the operations on the clusters of one engine family advance: `SearchSteps` (engines
/// that take their own snapshots) and `DatabaseSteps` (backups snapkeep streams itself).
#[async_trait]
pub(crate) trait EngineSteps: Send + Sync {
    /// One step of `op` on `cluster`: what it decided, or why it could not.
    async fn step(&self, op: &mut Operation, cluster: Cluster, now: DateTime<Utc>) -> Result<Step, StepError>;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Invalid(String),
}

impl StepError {
    /// Whether the step stopped because another replica took its operation over.
    pub(crate) fn is_lease_lost(&self) -> bool {
        matches!(self, Self::Core(CoreError::Store(StoreError::LeaseLost)))
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self::Core(e.into())
    }
}

/// What a failed operation does to its snapshot.
pub(crate) async fn failure_change(
    store: &dyn Store,
    op: &Operation,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<SnapshotChange, CoreError> {
    Ok(match (op.kind, store.get_snapshot(&op.snapshot_id).await?) {
        (OperationKind::DeleteSnapshots, _) => SnapshotChange::Release,
        (_, None) => SnapshotChange::Keep,
        (OperationKind::CreateSnapshot, Some(s)) => SnapshotChange::update(failed(s, reason, now)),
        (OperationKind::DeleteSnapshot, Some(s)) => SnapshotChange::update(Snapshot {
            deleting: false,
            operation_failure: Some(format!("delete failed: {reason}")),
            updated_at: now,
            ..s
        }),
        (OperationKind::RestoreSnapshot, Some(s)) => SnapshotChange::update(restore_ended(s, Some(reason), now)),
    })
}

/// The snapshot's restore ended: succeeded, or failed for `failure`, which callers then see.
pub(crate) fn restore_ended(snapshot: Snapshot, failure: Option<&str>, now: DateTime<Utc>) -> Snapshot {
    Snapshot {
        restore_status: if failure.is_some() { RestoreStatus::Failed } else { RestoreStatus::Success },
        operation_failure: failure.map(|reason| format!("restore failed: {reason}")),
        updated_at: now,
        ..snapshot
    }
}

/// The snapshot ended failed for `reason`.
pub(crate) fn failed(snapshot: Snapshot, reason: &str, now: DateTime<Utc>) -> Snapshot {
    Snapshot {
        status: SnapshotStatus::Failed,
        failure_reason: Some(reason.to_owned()),
        end_time_ms: Some(now.timestamp_millis()),
        updated_at: now,
        ..snapshot
    }
}

pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Crash testing: aborts the process when `name` is the configured failpoint.
pub(crate) fn failpoint(configured: Option<&str>, name: &str) {
    if configured == Some(name) {
        tracing::error!(failpoint = name, "failpoint reached: aborting the process");
        std::process::abort();
    }
}
