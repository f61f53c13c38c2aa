//! The steps of operations on database clusters (PostgreSQL), whose backups snapkeep streams
//! itself. They run in the transfers lane.
//!
//! A create writes the snapshot's location and moves to `Submitted` before the first byte is
//! streamed, so a create found `Submitted` when its step starts was interrupted: its objects are
//! removed and it ends failed. A restore found `Submitted` starts again from a clean directory,
//! unless the new cluster was already registered.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{CoreError, StoreError};
use crate::model::{Cluster, Operation, OperationKind, OperationPhase, Snapshot, SnapshotStatus};
use crate::physical::{BackupRequest, DatabaseEngine, NewServer, TransferProgress};
use crate::snapkeep::Snapkeep;
use crate::step::{EngineSteps, Step, StepError, failed, restore_ended, to_chrono};
use crate::store::SnapshotChange;

/// How often a running transfer's progress is recorded, where clients polling it see it.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The steps of database clusters, with the lease their transfers renew.
pub(crate) struct DatabaseSteps {
    core: Snapkeep,
    owner: String,
    lease: Duration,
}

impl DatabaseSteps {
    pub(crate) fn new(core: Snapkeep, owner: &str, lease: Duration) -> Self {
        Self { core, owner: owner.to_owned(), lease }
    }
}

#[async_trait]
impl EngineSteps for DatabaseSteps {
    async fn step(&self, op: &mut Operation, cluster: Cluster, now: DateTime<Utc>) -> Result<Step, StepError> {
        let snapshot = self.core.store.get_snapshot(&op.snapshot_id).await?;
        let engine = self.core.databases()?.clone();
        match (op.kind, snapshot) {
            (OperationKind::DeleteSnapshots, _) => {
                for snapshot in self.core.store.get_snapshots(&op.batch).await? {
                    self.core.remove_snapshot_objects(&snapshot).await.map_err(storage_retry)?;
                }
                Ok(Step::Finish { succeeded: true, error: None, change: SnapshotChange::Remove })
            }
            (kind, None) => Ok(Step::Finish {
                succeeded: kind == OperationKind::DeleteSnapshot,
                error: None,
                change: SnapshotChange::Keep,
            }),
            (OperationKind::CreateSnapshot, Some(snapshot)) => {
                self.database_backup(op, snapshot, &cluster, engine.as_ref(), now).await
            }
            (OperationKind::DeleteSnapshot, Some(snapshot)) => {
                self.core.remove_snapshot_objects(&snapshot).await.map_err(storage_retry)?;
                Ok(Step::Finish { succeeded: true, error: None, change: SnapshotChange::Remove })
            }
            (OperationKind::RestoreSnapshot, Some(snapshot)) => {
                self.database_restore(op, snapshot, &cluster, engine.as_ref(), now).await
            }
        }
    }
}

impl DatabaseSteps {
    async fn database_backup(
        &self,
        op: &mut Operation,
        snapshot: Snapshot,
        cluster: &Cluster,
        engine: &dyn DatabaseEngine,
        now: DateTime<Utc>,
    ) -> Result<Step, StepError> {
        if op.phase == OperationPhase::Submitted {
            self.core.remove_snapshot_objects(&snapshot).await.map_err(storage_retry)?;
            let reason = "interrupted while streaming (snapkeep stopped); its partial objects were removed";
            return Ok(Step::Finish {
                succeeded: false,
                error: Some(reason.into()),
                change: SnapshotChange::update(failed(snapshot, reason, now)),
            });
        }
        let location = self.core.new_snapshot_location(cluster, &snapshot).await?;
        let snapshot = Snapshot { location: Some(location.clone()), updated_at: now, ..snapshot };
        op.phase = OperationPhase::Submitted;
        op.progress_at = now;
        self.core.store.checkpoint_operation(op, &SnapshotChange::update(snapshot.clone()), &self.owner).await?;
        let (objects, _) = self.core.open_snapshot_location(&cluster.project_id, &location).await?;
        let endpoint = self.core.endpoint_of(cluster)?;
        let request = BackupRequest::of(&snapshot.id);
        let progress = TransferProgress::default();
        let outcome =
            self.with_heartbeat(op, &progress, engine.back_up(&endpoint, objects, &request, &progress)).await?;
        let finished = self.core.clock.now();
        match outcome {
            Ok(summary) => {
                let done = Snapshot {
                    status: SnapshotStatus::Completed,
                    engine_version: Some(summary.server_version),
                    size_bytes: Some(summary.stored_bytes),
                    end_time_ms: Some(finished.timestamp_millis()),
                    updated_at: finished,
                    ..snapshot
                };
                Ok(Step::Finish { succeeded: true, error: None, change: SnapshotChange::update(done) })
            }
            Err(e) => {
                tracing::warn!(snapshot = %snapshot.id, error = %e, "backup failed; removing its objects");
                self.core.remove_snapshot_objects(&snapshot).await.map_err(storage_retry)?;
                let reason = e.to_string();
                Ok(Step::Finish {
                    succeeded: false,
                    error: Some(reason.clone()),
                    change: SnapshotChange::update(failed(snapshot, &reason, finished)),
                })
            }
        }
    }

    async fn database_restore(
        &self,
        op: &mut Operation,
        snapshot: Snapshot,
        source: &Cluster,
        engine: &dyn DatabaseEngine,
        now: DateTime<Utc>,
    ) -> Result<Step, StepError> {
        let target = op.restore.as_ref().and_then(|p| p.new_cluster.clone());
        let target = target.ok_or_else(|| StepError::Invalid("restore operation without its new cluster".into()))?;
        let server = NewServer { cluster_id: target.id.clone(), port: target.port };
        if self.core.store.get_cluster(&target.id).await?.is_some() {
            let change = SnapshotChange::update(restore_ended(snapshot, None, now));
            return Ok(Step::Finish { succeeded: true, error: None, change });
        }
        if op.phase == OperationPhase::Submitted {
            engine.discard_restored(&server.cluster_id).await?;
        }
        let location =
            snapshot.location.clone().ok_or_else(|| StepError::Invalid("the snapshot has no objects".into()))?;
        op.phase = OperationPhase::Submitted;
        op.progress_at = now;
        self.core.store.checkpoint_operation(op, &SnapshotChange::Keep, &self.owner).await?;
        let (objects, _) = self.core.open_snapshot_location(&source.project_id, &location).await?;
        let progress = TransferProgress::default();
        let request = BackupRequest::of(&snapshot.id);
        let transfer = engine.restore(objects, &request, &server, &progress);
        let outcome = match self.with_heartbeat(op, &progress, transfer).await {
            Ok(outcome) => outcome,
            Err(lost) => {
                // The replica now holding the restore starts it again on its own machine.
                if let Err(e) = engine.discard_restored(&server.cluster_id).await {
                    tracing::warn!(cluster = %server.cluster_id, error = %e, "could not discard an abandoned restore");
                }
                return Err(lost);
            }
        };
        let restored = match outcome {
            Ok(restored) => restored,
            Err(e) => {
                let reason = e.to_string();
                let change = SnapshotChange::update(restore_ended(snapshot, Some(&reason), now));
                return Ok(Step::Finish { succeeded: false, error: Some(reason), change });
            }
        };
        if !self.core.store.renew_lease(&op.id, &self.owner, self.core.clock.now() + to_chrono(self.lease)).await? {
            // Another replica holds the restore now: this server is not the one registered.
            engine.discard_restored(&server.cluster_id).await?;
            return Err(StoreError::LeaseLost.into());
        }
        let cluster = Cluster {
            id: target.id,
            project_id: source.project_id.clone(),
            name: target.name,
            endpoint: restored.url,
            username: source.username.clone(),
            password_encrypted: source.password_encrypted.clone(),
            region: source.region.clone(),
            flavor: source.flavor,
            version: source.version,
            created_at: self.core.clock.now(),
        };
        self.core.store.insert_cluster(&cluster).await?;
        tracing::info!(cluster = %cluster.id, endpoint = %cluster.endpoint, "restored into a new cluster");
        Ok(Step::Finish {
            succeeded: true,
            error: None,
            change: SnapshotChange::update(restore_ended(snapshot, None, now)),
        })
    }

    /// Runs a long transfer while keeping the operation's lease and recording its progress
    /// (every [`PROGRESS_EVERY`], or more often when the lease is short). When another replica
    /// took the operation over (this one stalled past its lease), the transfer is dropped at
    /// once, closing its connections, and `LeaseLost` is returned: the new holder's step removes
    /// what was written and decides the outcome.
    async fn with_heartbeat<T>(
        &self,
        op: &Operation,
        progress: &TransferProgress,
        work: impl Future<Output = T>,
    ) -> Result<T, StepError> {
        let every = (self.lease / 4).min(PROGRESS_EVERY);
        let mut work = std::pin::pin!(work);
        let mut beat = op.clone();
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                // A replica waking from a stall checks its lease before its transfer goes on.
                biased;
                () = tokio::time::sleep(every) => self.beat(&mut beat, progress, &mut renewed).await?,
                done = &mut work => return Ok(done),
            }
        }
    }

    /// Renews `beat`'s lease and records the transfer's progress; `LeaseLost` when the lease is
    /// no longer this replica's, or when it could not be renewed for three quarters of it (the
    /// catalog unreachable: another replica may take the operation over once it lapses).
    async fn beat(
        &self,
        beat: &mut Operation,
        progress: &TransferProgress,
        renewed: &mut tokio::time::Instant,
    ) -> Result<(), StepError> {
        let now = self.core.clock.now();
        match self.core.store.renew_lease(&beat.id, &self.owner, now + to_chrono(self.lease)).await {
            Ok(true) => *renewed = tokio::time::Instant::now(),
            Ok(false) => return Err(StoreError::LeaseLost.into()),
            Err(e) if renewed.elapsed() >= self.lease * 3 / 4 => {
                tracing::warn!(operation = %beat.id, error = %e, "the lease could not be renewed in time; stopping the transfer");
                return Err(StoreError::LeaseLost.into());
            }
            Err(e) => tracing::warn!(operation = %beat.id, error = %e, "could not renew the lease"),
        }
        beat.progress_marker = Some(progress.marker());
        beat.progress_at = now;
        match self.core.store.checkpoint_operation(beat, &SnapshotChange::Keep, &self.owner).await {
            Err(StoreError::LeaseLost) => Err(StoreError::LeaseLost.into()),
            Err(e) => {
                tracing::warn!(operation = %beat.id, error = %e, "could not record progress");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}

/// A storage failure while removing objects: retried later (the operation stays open).
fn storage_retry(e: CoreError) -> StepError {
    match e {
        CoreError::Storage(e) => StepError::Engine(crate::engine::EngineError::Unreachable(format!("storage: {e}"))),
        other => StepError::Core(other),
    }
}
