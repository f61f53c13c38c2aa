//! The steps of operations on search clusters (Elasticsearch, OpenSearch), which take their own
//! snapshots. Each step observes the engine first and then acts, so a step repeated after a crash
//! converges instead of doing the work twice:
//!
//! - create: the snapshot's name is its identity on the engine; a snapshot already there is
//!   adopted, never created again.
//! - delete: deleting what is gone is success.
//! - restore: before sending, the step records a fingerprint of the targets' recoveries; after a
//!   crash, a newer recovery from this snapshot shows the restore was sent.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::engine::{
    EngineError, EngineErrorKind, RecoveryStage, RepositorySpec, RestoreRequest, SearchEngine, ShardRecovery,
    SnapshotInfo, SnapshotRequest, SnapshotState,
};
use crate::error::CoreError;
use crate::model::{Cluster, Operation, OperationKind, OperationPhase, RestoreParams, Snapshot, SnapshotStatus};
use crate::snapkeep::Snapkeep;
use crate::step::{self, EngineSteps, Step, StepError, failed, restore_ended, to_chrono};
use crate::store::SnapshotChange;

/// The steps of search clusters.
pub(crate) struct SearchSteps {
    core: Snapkeep,
    /// The node whose leases the steps write under.
    owner: String,
    failpoint: Option<String>,
}

impl SearchSteps {
    pub(crate) fn new(core: Snapkeep, owner: &str, failpoint: Option<&str>) -> Self {
        Self { core, owner: owner.to_owned(), failpoint: failpoint.map(str::to_owned) }
    }

    fn failpoint(&self, name: &str) {
        step::failpoint(self.failpoint.as_deref(), name);
    }
}

#[async_trait]
impl EngineSteps for SearchSteps {
    async fn step(&self, op: &mut Operation, cluster: Cluster, now: DateTime<Utc>) -> Result<Step, StepError> {
        let engine = self.core.engine_for(&cluster)?;
        let engine = engine.as_ref();
        let snapshot = self.core.store.get_snapshot(&op.snapshot_id).await?;
        if now >= op.deadline {
            return self.time_out(op, snapshot.as_ref(), engine, now).await;
        }
        match (op.kind, snapshot) {
            (OperationKind::DeleteSnapshots, _) => {
                let snapshots = self.core.store.get_snapshots(&op.batch).await?;
                self.delete_remaining(op, &cluster, engine, &snapshots).await
            }
            (kind, None) => Ok(Step::Finish {
                succeeded: kind == OperationKind::DeleteSnapshot,
                error: None,
                change: SnapshotChange::Keep,
            }),
            (OperationKind::CreateSnapshot, Some(snapshot)) => {
                self.step_create(op, snapshot, &cluster, engine, now).await
            }
            (OperationKind::DeleteSnapshot, Some(_)) if self.create_unsent(op).await? => {
                Ok(Step::Wait(SnapshotChange::Keep))
            }
            (OperationKind::DeleteSnapshot, Some(snapshot)) => {
                self.delete_remaining(op, &cluster, engine, &[snapshot]).await
            }
            (OperationKind::RestoreSnapshot, Some(snapshot)) => {
                self.step_restore(op, snapshot, &cluster, engine, now).await
            }
        }
    }
}

impl SearchSteps {
    /// Whether the snapshot a delete is for still has its create unsent (`Pending`): the delete
    /// waits for it, since the engine may be taking it right now without showing it yet. The
    /// create, seeing the snapshot being deleted, does not send it. Once sent, the snapshot is on
    /// the engine and the delete aborts it there.
    async fn create_unsent(&self, delete: &Operation) -> Result<bool, CoreError> {
        let open = self.core.store.open_operations(Some(&delete.cluster_id)).await?;
        Ok(open.iter().any(|op| {
            op.kind == OperationKind::CreateSnapshot
                && op.snapshot_id == delete.snapshot_id
                && op.phase == OperationPhase::Pending
        }))
    }

    /// Deletes whichever of `snapshots` the cluster still holds, each from the repository it was
    /// written to, in as few requests as its version allows; the operation is done when none is
    /// left. Used for one snapshot and for batches.
    async fn delete_remaining(
        &self,
        op: &mut Operation,
        cluster: &Cluster,
        engine: &dyn SearchEngine,
        snapshots: &[Snapshot],
    ) -> Result<Step, StepError> {
        let mut left = false;
        for (repository, names) in self.by_repository(cluster, snapshots).await? {
            let existing = match engine.existing_snapshots(&repository.name, &names).await {
                Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryMissing) => {
                    engine.put_repository(&repository).await?;
                    return Ok(Step::Wait(SnapshotChange::Keep));
                }
                other => other?,
            };
            if !existing.is_empty() {
                engine.delete_snapshots(&repository.name, &existing).await?;
                self.failpoint("after-delete-sent");
                left = true;
            }
        }
        if !left {
            return Ok(Step::Finish { succeeded: true, error: None, change: SnapshotChange::Remove });
        }
        op.phase = OperationPhase::Submitted;
        Ok(Step::Wait(SnapshotChange::Keep))
    }

    /// The snapshots' names grouped by the (writable) repository that reaches each.
    async fn by_repository(
        &self,
        cluster: &Cluster,
        snapshots: &[Snapshot],
    ) -> Result<Vec<(RepositorySpec, Vec<String>)>, CoreError> {
        let mut groups: Vec<(RepositorySpec, Vec<String>)> = Vec::new();
        let repositories = self.core.repositories_of(cluster, snapshots, true).await?;
        for (snapshot, repository) in snapshots.iter().zip(repositories) {
            match groups.iter_mut().find(|(r, _)| r.name == repository.name) {
                Some((_, names)) => names.push(snapshot.name.clone()),
                None => groups.push((repository, vec![snapshot.name.clone()])),
            }
        }
        Ok(groups)
    }

    async fn step_create(
        &self,
        op: &mut Operation,
        snapshot: Snapshot,
        cluster: &Cluster,
        engine: &dyn SearchEngine,
        now: DateTime<Utc>,
    ) -> Result<Step, StepError> {
        // The place is decided once: the repository the create goes to is the one recorded.
        let unlocated = snapshot.location.is_none();
        let snapshot = self.with_location(cluster, snapshot).await?;
        let repository = self.core.repository_of(cluster, &snapshot, true).await?;
        let observed = match engine.get_snapshot(&repository.name, &snapshot.name).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryMissing) => None,
            other => other?,
        };
        match (op.phase, observed) {
            (OperationPhase::Pending, None) if snapshot.deleting => Ok(Step::Finish {
                succeeded: false,
                error: Some("deleted before it was taken".into()),
                change: SnapshotChange::Keep,
            }),
            (OperationPhase::Pending, None) => {
                engine.put_repository(&repository).await?;
                let request = SnapshotRequest {
                    indices: crate::validate::split_indices(&snapshot.requested_indices),
                    taken_by: format!("snapkeep {}", snapshot.id),
                };
                match engine.create_snapshot(&repository.name, &snapshot.name, &request).await {
                    Err(e) if is_name_taken(&e) => {}
                    other => other?,
                }
                self.failpoint("after-create-sent");
                op.phase = OperationPhase::Submitted;
                op.progress_at = now;
                Ok(Step::Wait(if unlocated { SnapshotChange::update(snapshot) } else { SnapshotChange::Keep }))
            }
            (_, None) => Ok(Step::Finish {
                succeeded: false,
                error: Some("the snapshot disappeared from the cluster before it completed".into()),
                change: SnapshotChange::update(Snapshot {
                    status: SnapshotStatus::Failed,
                    failure_reason: Some("the snapshot disappeared from the cluster".into()),
                    end_time_ms: Some(now.timestamp_millis()),
                    updated_at: now,
                    ..snapshot
                }),
            }),
            (_, Some(info)) => {
                op.phase = OperationPhase::Submitted;
                if info.state == SnapshotState::InProgress {
                    let progress = engine.snapshot_progress(&repository.name, &snapshot.name).await?;
                    let marker = progress.map(|p| p.marker());
                    if self.is_stuck(op, marker, now) {
                        engine.delete_snapshots(&repository.name, std::slice::from_ref(&snapshot.name)).await?;
                        let reason = self.stuck_reason();
                        return Ok(Step::Finish {
                            succeeded: false,
                            error: Some(reason.clone()),
                            change: SnapshotChange::update(failed(snapshot, &reason, now)),
                        });
                    }
                    return Ok(Step::Wait(SnapshotChange::Keep));
                }
                let mut updated = apply_info(snapshot, &info, now);
                if updated.status != SnapshotStatus::Failed {
                    // Its size, from `_status` (unknown when the engine cannot say: not a failure).
                    let progress = engine.snapshot_progress(&repository.name, &updated.name).await;
                    updated.size_bytes = progress.ok().flatten().map(|p| p.bytes_total).or(updated.size_bytes);
                }
                Ok(Step::Finish {
                    succeeded: updated.status != SnapshotStatus::Failed,
                    error: updated.failure_reason.clone(),
                    change: SnapshotChange::update(updated),
                })
            }
        }
    }

    /// The snapshot with its repository location recorded: where the cluster's repository is
    /// when its create is sent (or, after a crash right after sending, when it is first seen).
    async fn with_location(&self, cluster: &Cluster, snapshot: Snapshot) -> Result<Snapshot, CoreError> {
        if snapshot.location.is_some() {
            return Ok(snapshot);
        }
        let location = Some(self.core.current_snapshot_location(cluster).await?);
        Ok(Snapshot { location, ..snapshot })
    }

    async fn step_restore(
        &self,
        op: &mut Operation,
        snapshot: Snapshot,
        target: &Cluster,
        engine: &dyn SearchEngine,
        now: DateTime<Utc>,
    ) -> Result<Step, StepError> {
        let params =
            op.restore.clone().ok_or_else(|| StepError::Invalid("restore operation without its parameters".into()))?;
        let recoveries = engine.recovery(&params.target_indices).await?;
        let newest = newest_restore_of(&recoveries, &params.repository, &snapshot.name);
        if op.phase == OperationPhase::Pending {
            let sent_before_crash = match (op.progress_marker.as_deref(), newest.as_deref()) {
                (Some(fingerprint), Some(newest)) => fingerprint != newest,
                _ => false,
            };
            if !sent_before_crash {
                op.progress_marker = Some(newest.unwrap_or_default());
                self.core.store.checkpoint_operation(op, &SnapshotChange::Keep, &self.owner).await?;
                self.send_restore(&params, &snapshot, target, engine).await?;
                self.failpoint("after-restore-sent");
            }
            op.phase = OperationPhase::Submitted;
            op.progress_marker = None;
            op.progress_at = now;
            return Ok(Step::Wait(SnapshotChange::Keep));
        }
        let ours: Vec<&ShardRecovery> = recoveries
            .iter()
            .filter(|r| {
                r.snapshot_source
                    .as_ref()
                    .is_some_and(|(repo, snap)| *repo == params.repository && *snap == snapshot.name)
            })
            .collect();
        let all_targets_done = params.target_indices.iter().all(|index| {
            let shards: Vec<_> = ours.iter().filter(|r| &r.index == index).collect();
            !shards.is_empty() && shards.iter().all(|r| r.stage == RecoveryStage::Done)
        });
        if all_targets_done {
            let change = SnapshotChange::update(restore_ended(snapshot, None, now));
            return Ok(Step::Finish { succeeded: true, error: None, change });
        }
        let marker = Some(format!("{}:{}", ours.len(), ours.iter().map(|r| r.recovered_bytes).sum::<u64>()));
        if self.is_stuck(op, marker, now) {
            let reason = self.stuck_reason();
            let change = SnapshotChange::update(restore_ended(snapshot, Some(&reason), now));
            return Ok(Step::Finish { succeeded: false, error: Some(reason), change });
        }
        Ok(Step::Wait(SnapshotChange::Keep))
    }

    async fn send_restore(
        &self,
        params: &RestoreParams,
        snapshot: &Snapshot,
        target: &Cluster,
        engine: &dyn SearchEngine,
    ) -> Result<(), StepError> {
        let source = self.core.cluster(&params.source_cluster_id).await?;
        let repository = self.core.restore_repository(&source, target, snapshot).await?;
        engine.put_repository(&repository).await?;
        if params.replace_existing {
            let open: Vec<String> = engine
                .index_states(&params.target_indices)
                .await?
                .into_iter()
                .filter(|s| s.open)
                .map(|s| s.name)
                .collect();
            if !open.is_empty() {
                engine.close_indices(&open).await?;
            }
        }
        let request = RestoreRequest {
            indices: params.indices.clone(),
            rename_pattern: params.rename_pattern.clone(),
            rename_replacement: params.rename_replacement.clone(),
        };
        engine.restore_snapshot(&repository.name, &snapshot.name, &request).await?;
        Ok(())
    }

    /// Records a new progress marker; tells whether progress has stalled for too long.
    fn is_stuck(&self, op: &mut Operation, marker: Option<String>, now: DateTime<Utc>) -> bool {
        if marker != op.progress_marker {
            op.progress_marker = marker;
            op.progress_at = now;
            return false;
        }
        now - op.progress_at >= to_chrono(self.core.timeouts.stuck_after)
    }

    fn stuck_reason(&self) -> String {
        format!("no progress for {} s; the operation was stopped as stuck", self.core.timeouts.stuck_after.as_secs())
    }

    async fn time_out(
        &self,
        op: &Operation,
        snapshot: Option<&Snapshot>,
        engine: &dyn SearchEngine,
        now: DateTime<Utc>,
    ) -> Result<Step, StepError> {
        let limit = self.core.timeouts.limit_for(op.kind).num_seconds();
        let reason = format!("the operation did not finish within {limit} s");
        if let (OperationKind::CreateSnapshot, Some(snapshot)) = (op.kind, snapshot) {
            // Best effort: a snapshot past its deadline is aborted so it does not hold the repository.
            if let Err(e) = engine.delete_snapshots(&snapshot.repository, std::slice::from_ref(&snapshot.name)).await {
                tracing::warn!(operation = %op.id, error = %e, "could not abort a timed-out snapshot");
            }
        }
        let change = step::failure_change(self.core.store.as_ref(), op, &reason, now).await?;
        Ok(Step::Finish { succeeded: false, error: Some(reason), change })
    }
}

fn is_name_taken(e: &EngineError) -> bool {
    matches!(e.kind(), Some(EngineErrorKind::SnapshotNameInUse | EngineErrorKind::InvalidSnapshotName))
        && e.to_string().contains("already")
}

/// The newest snapshot-restore recovery of the targets from this snapshot, as a comparable marker.
fn newest_restore_of(recoveries: &[ShardRecovery], repository: &str, snapshot: &str) -> Option<String> {
    recoveries
        .iter()
        .filter(|r| r.snapshot_source.as_ref().is_some_and(|(repo, snap)| repo == repository && snap == snapshot))
        .map(|r| r.started_ms)
        .max()
        .map(|ms| ms.to_string())
}

fn apply_info(snapshot: Snapshot, info: &SnapshotInfo, now: DateTime<Utc>) -> Snapshot {
    let status = match info.state {
        SnapshotState::Success => SnapshotStatus::Completed,
        SnapshotState::Partial => SnapshotStatus::PartFailed,
        SnapshotState::InProgress => SnapshotStatus::Building,
        SnapshotState::Failed | SnapshotState::Incompatible => SnapshotStatus::Failed,
    };
    Snapshot {
        status,
        indices: info.indices.clone(),
        engine_version: info.version.clone(),
        total_shards: Some(info.total_shards),
        failed_shards: Some(info.failed_shards),
        start_time_ms: info.start_time_ms.or(snapshot.start_time_ms),
        end_time_ms: info.end_time_ms.or(Some(now.timestamp_millis())),
        failure_reason: match status {
            SnapshotStatus::Failed | SnapshotStatus::PartFailed => Some(
                info.reason
                    .clone()
                    .unwrap_or_else(|| format!("{} of {} shards failed", info.failed_shards, info.total_shards)),
            ),
            _ => None,
        },
        updated_at: now,
        ..snapshot
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::RestoreStatus;

    #[test]
    fn engine_states_map_to_css_statuses() {
        let now = Utc::now();
        let base = Snapshot {
            id: "s".into(),
            project_id: "p".into(),
            cluster_id: "c".into(),
            name: "snap".into(),
            description: String::new(),
            requested_indices: String::new(),
            indices: vec![],
            kind: crate::model::SnapshotKind::Manual,
            status: SnapshotStatus::Building,
            repository: "r".into(),
            engine_version: None,
            total_shards: None,
            failed_shards: None,
            start_time_ms: Some(1),
            end_time_ms: None,
            failure_reason: None,
            deleting: false,
            restore_status: RestoreStatus::None,
            operation_failure: None,
            scheduled_for: None,
            size_bytes: None,
            location: None,
            project_unique_name: None,
            created_at: now,
            updated_at: now,
        };
        let info = |state, failed_shards| SnapshotInfo {
            name: "snap".into(),
            uuid: None,
            version: Some("7.10.2".into()),
            state,
            indices: vec!["a".into()],
            total_shards: 2,
            failed_shards,
            start_time_ms: Some(5),
            end_time_ms: Some(9),
            reason: None,
        };
        let done = apply_info(base.clone(), &info(SnapshotState::Success, 0), now);
        assert_eq!((done.status, done.total_shards, done.end_time_ms), (SnapshotStatus::Completed, Some(2), Some(9)));
        assert_eq!(done.failure_reason, None);
        let partial = apply_info(base.clone(), &info(SnapshotState::Partial, 1), now);
        assert_eq!(partial.status, SnapshotStatus::PartFailed);
        assert_eq!(partial.failure_reason.as_deref(), Some("1 of 2 shards failed"));
        assert_eq!(apply_info(base, &info(SnapshotState::Failed, 2), now).status, SnapshotStatus::Failed);
    }
}
