//! Restores of search snapshots into a registered cluster: everything that can be known at
//! request time is checked (target tenancy and version, the snapshot's state, which indices would
//! collide) before the restore operation is written. Database snapshots restore into a new
//! cluster instead (`backups`).

use crate::error::{CoreError, NotFound, StoreError};
use crate::model::{Cluster, OperationKind, RestoreParams, RestoreStatus, Snapshot};
use crate::restore_plan::{RestorePlan, can_restore_into, ensure_restorable};
use crate::snapkeep::Snapkeep;
use crate::validate;

/// A restore request.
#[derive(Debug, Clone, Default)]
pub struct RestoreInput {
    pub target_cluster: String,
    pub indices: Option<String>,
    pub rename_pattern: Option<String>,
    pub rename_replacement: Option<String>,
    pub replace_existing: bool,
}

impl Snapkeep {
    /// Accepts a restore into `input.target_cluster` after checking everything that can be known
    /// now: target tenancy and version, the snapshot's state, and which indices would collide.
    pub async fn restore_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        snapshot_id: &str,
        input: RestoreInput,
    ) -> Result<(), CoreError> {
        if input.target_cluster.is_empty() {
            return Err(CoreError::invalid("target_cluster", "is required"));
        }
        let requested = input.indices.unwrap_or_default();
        validate::indices("indices", &requested)?;
        let rename = validate::rename(input.rename_pattern.as_deref(), input.rename_replacement.as_deref())?;
        let source = self.cluster_in_project(project_id, cluster_id).await?;
        let snapshot = self.snapshot_of(&source, snapshot_id).await?;
        let target = self
            .cluster_in_project(project_id, &input.target_cluster)
            .await
            .map_err(|_| CoreError::NotFound(NotFound::TargetCluster))?;
        if source.flavor.is_database() {
            return Err(CoreError::RestoreRefused("database snapshots restore into a new cluster".into()));
        }
        self.check_restorable(&snapshot, &source, &target).await?;
        let plan = RestorePlan::new(&snapshot.indices, &validate::split_indices(&requested), rename.as_ref())?;
        let targets = plan.targets();
        if !input.replace_existing {
            self.refuse_open_collisions(&target, &targets).await?;
        }
        let repository = self.restore_repository(&source, &target, &snapshot).await?.name;
        let params = RestoreParams {
            source_cluster_id: source.id.clone(),
            indices: plan.mapping.iter().map(|(index, _)| index.clone()).collect(),
            rename_pattern: rename.as_ref().map(|(p, _)| p.clone()),
            rename_replacement: rename.as_ref().map(|(_, r)| r.clone()),
            replace_existing: input.replace_existing,
            target_indices: targets,
            repository,
            new_cluster: None,
        };
        let now = self.clock.now();
        let expected = snapshot.updated_at;
        let updated =
            Snapshot { restore_status: RestoreStatus::Restoring, operation_failure: None, updated_at: now, ..snapshot };
        let operation = self.new_operation(OperationKind::RestoreSnapshot, &updated, &target, Some(params), now);
        self.store.insert_operation_for(&updated, expected, &operation).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::RestoreInProgress(target.id.clone()),
            other => other.into(),
        })?;
        self.operation_queued();
        Ok(())
    }

    async fn check_restorable(&self, snapshot: &Snapshot, source: &Cluster, target: &Cluster) -> Result<(), CoreError> {
        ensure_restorable(snapshot)?;
        if !can_restore_into((source.flavor, source.version), (target.flavor, target.version)) {
            return Err(CoreError::RestoreRefused(format!(
                "target cluster runs {} {}, which cannot read snapshots of {} {}",
                target.flavor.as_str(),
                target.version,
                source.flavor.as_str(),
                source.version
            )));
        }
        let busy = self.store.open_operations(Some(&target.id)).await?;
        if busy.iter().any(|op| op.kind == OperationKind::RestoreSnapshot) {
            return Err(CoreError::RestoreInProgress(target.id.clone()));
        }
        Ok(())
    }

    async fn refuse_open_collisions(&self, target: &Cluster, names: &[String]) -> Result<(), CoreError> {
        let states = self.engine_for(target)?.index_states(names).await?;
        let open: Vec<&str> = states.iter().filter(|s| s.open).map(|s| s.name.as_str()).collect();
        if open.is_empty() {
            return Ok(());
        }
        Err(CoreError::RestoreRefused(format!(
            "index [{}] already exists and is open on cluster {}; set replace_exist_indices to true \
             to close and replace it, or restore under another name with rename_pattern and \
             rename_replacement",
            open.join(", "),
            target.id
        )))
    }
}
