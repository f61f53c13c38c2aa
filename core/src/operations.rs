//! The state machine of durable operations: the `Reconciler` leases due operations, advances each
//! one step by the steps of its cluster's engine family (`EngineSteps`, chosen by flavour), and
//! records what the step decided: wait and look again, retry after a transient failure with
//! backoff, or finish. Each family's steps observe before they act, so a step repeated after a
//! crash converges (`search_steps`, `database_steps`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::database_steps::DatabaseSteps;
use crate::engine::EngineFlavor;
use crate::error::{CoreError, StoreError};
use crate::model::{Lane, Operation, OperationPhase, SnapshotStatus};
use crate::search_steps::SearchSteps;
use crate::snapkeep::Snapkeep;
use crate::step::{EngineSteps, Step, StepError, failure_change, to_chrono};
use crate::store::SnapshotChange;

/// Backoff between attempts after a transient engine error.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), max: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// Exponential in the attempt number, capped, with ±20% jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.max);
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        exp.mul_f64(jitter)
    }
}

/// The steps of each engine family, by flavour.
#[derive(Clone)]
struct Families(Arc<HashMap<EngineFlavor, Arc<dyn EngineSteps>>>);

impl Families {
    /// Each family with the handles its steps need: the service, and this node's lease (which a
    /// long transfer renews) and failpoint.
    fn new(core: &Snapkeep, (owner, lease): (&str, Duration), failpoint: Option<&str>) -> Self {
        let search: Arc<dyn EngineSteps> = Arc::new(SearchSteps::new(core.clone(), owner, failpoint));
        let database: Arc<dyn EngineSteps> = Arc::new(DatabaseSteps::new(core.clone(), owner, lease));
        let by_flavor = EngineFlavor::ALL
            .into_iter()
            .map(|flavor| (flavor, if flavor.is_database() { database.clone() } else { search.clone() }))
            .collect();
        Self(Arc::new(by_flavor))
    }

    fn of(&self, flavor: EngineFlavor) -> &dyn EngineSteps {
        self.0[&flavor].as_ref()
    }
}

/// Advances durable operations. Cheap to clone.
#[derive(Clone)]
pub struct Reconciler {
    core: Snapkeep,
    retry: RetryPolicy,
    owner: String,
    lease: Duration,
    families: Families,
}

impl Reconciler {
    /// Leases operations to `owner` for `lease` (renewed while a transfer runs).
    pub fn new(core: Snapkeep, retry: RetryPolicy, owner: String, lease: Duration) -> Self {
        let families = Families::new(&core, (&owner, lease), None);
        Self { core, retry, owner, lease, families }
    }

    /// Crash testing: abort the process right after the named engine call
    /// (`after-create-sent`, `after-delete-sent`, `after-restore-sent`), before its outcome is
    /// recorded — the narrowest window a real crash can hit.
    pub fn with_failpoint(mut self, failpoint: Option<String>) -> Self {
        self.families = Families::new(&self.core, (&self.owner, self.lease), failpoint.as_deref());
        self
    }

    /// Resolves when this process queues an operation (`Snapkeep::operations_queued`).
    pub async fn queued(&self) {
        self.core.operations_queued().await;
    }

    /// Leases up to `limit` operations of `lane` that are due, oldest due first.
    pub async fn claim(&self, lane: Lane, limit: u32) -> Result<Vec<Operation>, CoreError> {
        let now = self.core.clock.now();
        let until = now + to_chrono(self.lease);
        Ok(self.core.store.claim_due_operations(lane, now, &self.owner, until, limit).await?)
    }

    /// Runs one step of a leased operation and records what it decided.
    pub async fn advance(&self, mut op: Operation) -> Result<Operation, CoreError> {
        let now = self.core.clock.now();
        let cluster = self.core.cluster(&op.cluster_id).await;
        let project = cluster.as_ref().map(|c| c.project_id.clone()).unwrap_or_default();
        let outcome = match cluster {
            Ok(cluster) => self.families.of(cluster.flavor).step(&mut op, cluster, now).await,
            Err(e) => Err(e.into()),
        };
        let change = match outcome {
            Ok(Step::Wait(change)) => {
                op.next_run_at = now + to_chrono(self.core.timeouts.poll_every);
                op.last_error = None;
                change
            }
            Ok(Step::Finish { succeeded, error, change }) => {
                op.phase = if succeeded { OperationPhase::Succeeded } else { OperationPhase::Failed };
                op.last_error = error;
                op.finished_at = Some(now);
                change
            }
            Err(e) if e.is_lease_lost() => {
                tracing::warn!(operation = %op.id, "{e}: this replica stops its step, the other replica's counts");
                return Ok(op);
            }
            Err(StepError::Engine(e)) if e.is_transient() && now < op.deadline => {
                tracing::warn!(operation = %op.id, kind = op.kind.as_str(), attempt = op.attempts + 1, error = %e, "transient engine error; retrying");
                op.attempts += 1;
                op.next_run_at = now + to_chrono(self.retry.delay(op.attempts));
                op.last_error = Some(e.to_string());
                SnapshotChange::Keep
            }
            Err(e) => {
                let message = e.to_string();
                let change = failure_change(self.core.store.as_ref(), &op, &message, now).await?;
                op.phase = OperationPhase::Failed;
                op.last_error = Some(message);
                op.finished_at = Some(now);
                change
            }
        };
        match self.core.store.save_step(&op, &change, &self.owner).await {
            Err(StoreError::LeaseLost) => {
                tracing::warn!(operation = %op.id, "the lease was taken over: this step's outcome is dropped, the other replica's counts");
            }
            Err(e) => return Err(e.into()),
            Ok(()) if op.phase.is_terminal() => self.count_finished(&op, &project, &change),
            Ok(()) => {}
        }
        Ok(op)
    }

    /// Logs and counts an operation that ended (its cluster's `project` labels the metrics).
    fn count_finished(&self, op: &Operation, project: &str, change: &SnapshotChange) {
        let outcome = log_finished(op, change);
        let snapshot = match change {
            SnapshotChange::Update(snapshot) => Some(snapshot.as_ref()),
            _ => None,
        };
        self.core.metrics().operation_finished(op, project, outcome, snapshot);
    }
}

/// One line per finished operation with its snapshot's own status: INFO when it did what was
/// asked, WARN with the reason when it failed or finished with one (a PART_FAILED snapshot).
/// Returns the outcome: `succeeded`, `part_failed` or `failed`.
fn log_finished(op: &Operation, change: &SnapshotChange) -> &'static str {
    let status = match change {
        SnapshotChange::Update(snapshot) => Some(snapshot.status),
        _ => None,
    };
    let (id, kind, phase) = (&op.id, op.kind.as_str(), op.phase.as_str());
    let error = op.last_error.as_deref().unwrap_or("");
    let partial = status == Some(SnapshotStatus::PartFailed);
    let status = status.map_or("", SnapshotStatus::as_str);
    if op.phase == OperationPhase::Failed || partial || !error.is_empty() {
        tracing::warn!(operation = %id, kind, phase, snapshot_status = status, error, "operation finished");
    } else {
        tracing::info!(operation = %id, kind, phase, snapshot_status = status, "operation finished");
    }
    match (op.phase, partial) {
        (OperationPhase::Failed, _) => "failed",
        (_, true) => "part_failed",
        _ => "succeeded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy { base: Duration::from_millis(100), max: Duration::from_secs(2) };
        let first = policy.delay(0);
        assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120));
        let third = policy.delay(3);
        assert!(third >= Duration::from_millis(640) && third <= Duration::from_millis(960));
        assert!(policy.delay(30) <= Duration::from_millis(2400));
    }
}
