//! Snapshots snapkeep takes itself, of database clusters (PostgreSQL): the requests only they
//! have (restore into a new cluster, the automatic policy of full backups); they are created
//! through `snapshots` like any other. The reconciler's steps that run them are in
//! `database_steps`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{CoreError, NotFound, StoreError};
use crate::model::{Cluster, NewClusterTarget, Operation, OperationKind, RestoreParams, RestoreStatus, Snapshot};
use crate::physical::{DatabaseEngine, NewServer};
use crate::policy::{self, NameStyle, QuartzCron, Schedule, SnapshotConfig, SnapshotPolicy};
use crate::restore_plan::ensure_restorable;
use crate::snapkeep::Snapkeep;
use crate::storage::{ObjectPath, SnapshotLocation};
use crate::validate;

/// A restore into a new cluster.
#[derive(Debug, Clone)]
pub struct NewClusterInput {
    pub name: String,
    pub port: Option<i64>,
}

/// A strategy of full backups of the whole cluster: its name (the prefix of its snapshots'
/// names) and when it fires.
#[derive(Debug, Clone, Default)]
pub struct StrategyInput {
    pub name: String,
    /// A Quartz expression with seconds.
    pub schedule: String,
}

/// A policy change: retention and/or the strategy.
#[derive(Debug, Clone, Default)]
pub struct DatabasePolicyInput {
    pub keep_day: Option<i64>,
    pub strategies: Vec<StrategyInput>,
}

impl Snapkeep {
    /// A database cluster of the project; search clusters are not seen here.
    pub async fn database_cluster(&self, project_id: &str, cluster_id: &str) -> Result<Cluster, CoreError> {
        let cluster = self.cluster_in_project(project_id, cluster_id).await?;
        if !cluster.flavor.is_database() {
            return Err(CoreError::NotFound(NotFound::Cluster));
        }
        Ok(cluster)
    }

    pub(crate) fn databases(&self) -> Result<&Arc<dyn DatabaseEngine>, CoreError> {
        self.databases.as_ref().ok_or_else(|| CoreError::Unsupported("PostgreSQL clusters are not enabled".into()))
    }

    /// A snapshot of one of the project's database clusters, with its cluster.
    pub async fn database_snapshot(
        &self,
        project_id: &str,
        snapshot_id: &str,
    ) -> Result<(Cluster, Snapshot), CoreError> {
        let snapshot = self.store.get_snapshot(snapshot_id).await?.filter(|s| s.project_id == project_id);
        let snapshot = snapshot.ok_or(CoreError::NotFound(NotFound::Snapshot))?;
        let cluster = self.database_cluster(project_id, &snapshot.cluster_id).await?;
        Ok((cluster, snapshot))
    }

    /// An operation on one of the project's clusters (a DWS job).
    pub async fn operation_in_project(&self, project_id: &str, id: &str) -> Result<Operation, CoreError> {
        let operation = self.store.get_operation(id).await?.ok_or(CoreError::NotFound(NotFound::Operation))?;
        self.cluster_in_project(project_id, &operation.cluster_id)
            .await
            .map_err(|_| CoreError::NotFound(NotFound::Operation))?;
        Ok(operation)
    }

    /// The progress of a cluster's open operations, as stored (`done/total`), by snapshot id.
    pub async fn snapshot_progress(&self, cluster_id: &str) -> Result<HashMap<String, String>, CoreError> {
        let open = self.store.open_operations(Some(cluster_id)).await?;
        Ok(open.into_iter().filter_map(|op| Some((op.snapshot_id, op.progress_marker?))).collect())
    }

    /// Accepts a restore of a database snapshot into a new cluster of the same project; returns
    /// the new cluster's id and the operation's. Everything knowable is checked first, the
    /// server version among it, so a restore that cannot work never downloads a byte.
    pub async fn restore_to_new_cluster(
        &self,
        project_id: &str,
        snapshot_id: &str,
        input: NewClusterInput,
    ) -> Result<(String, String), CoreError> {
        validate::display_name("name", &input.name)?;
        let port = match input.port {
            Some(port @ 1024..=65535) => port as u16,
            Some(_) => return Err(CoreError::invalid("port", "must be 1024 to 65535")),
            None => return Err(CoreError::invalid("port", "is required")),
        };
        let (source, snapshot) = self.database_snapshot(project_id, snapshot_id).await?;
        ensure_restorable(&snapshot)?;
        let local_major = self.databases()?.restore_major_version()?;
        if local_major != source.version.major {
            return Err(CoreError::RestoreRefused(format!(
                "the snapshot is of PostgreSQL {}, and this snapkeep restores with PostgreSQL {local_major}",
                source.version.major
            )));
        }
        let clusters = self.store.list_clusters(Some(project_id)).await?;
        if clusters.iter().any(|c| c.name.eq_ignore_ascii_case(&input.name)) {
            return Err(CoreError::ClusterNameTaken(input.name));
        }
        let target = NewClusterTarget { id: uuid::Uuid::new_v4().to_string(), name: input.name, port };
        let server = NewServer { cluster_id: target.id.clone(), port };
        self.databases()?.check_new_server(&server).await.map_err(|e| CoreError::RestoreRefused(e.to_string()))?;
        let params = RestoreParams {
            source_cluster_id: source.id.clone(),
            new_cluster: Some(target.clone()),
            ..RestoreParams::default()
        };
        let now = self.clock.now();
        let expected = snapshot.updated_at;
        let updated =
            Snapshot { restore_status: RestoreStatus::Restoring, operation_failure: None, updated_at: now, ..snapshot };
        let operation = self.new_operation(OperationKind::RestoreSnapshot, &updated, &source, Some(params), now);
        self.store.insert_operation_for(&updated, expected, &operation).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::RestoreInProgress(source.id.clone()),
            other => other.into(),
        })?;
        self.operation_queued();
        Ok((target.id, operation.id))
    }

    /// Sets a database cluster's retention and/or its one full-backup strategy; automatic
    /// snapshots are named `<policy name>-<yyyyMMddHHmmss>`.
    pub async fn set_database_policy(
        &self,
        project_id: &str,
        cluster_id: &str,
        input: DatabasePolicyInput,
    ) -> Result<(), CoreError> {
        let cluster = self.database_cluster(project_id, cluster_id).await?;
        let mut config = self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default();
        if let Some(days) = input.keep_day {
            config.policy.keepday = policy::retention_days(days)?;
        }
        if input.strategies.len() > 1 {
            return Err(CoreError::invalid(
                "backup_strategies",
                "snapkeep takes one full cluster strategy per cluster",
            ));
        }
        if let Some(strategy) = input.strategies.first() {
            config.policy = strategy_policy(strategy, config.policy.keepday)?;
            config.settings.enabled = true;
        }
        self.save_config(&cluster, &config).await
    }

    /// Removes a database cluster's strategy (by its id, the policy name).
    pub async fn delete_database_policy(
        &self,
        project_id: &str,
        cluster_id: &str,
        policy_id: &str,
    ) -> Result<(), CoreError> {
        let cluster = self.database_cluster(project_id, cluster_id).await?;
        let mut config = self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default();
        if !config.policy.enabled || config.policy.prefix != policy_id {
            return Err(CoreError::NotFound(NotFound::Policy));
        }
        config.policy.enabled = false;
        self.save_config(&cluster, &config).await
    }

    /// Where a database snapshot is written: its cluster's repository, then the snapshot's id.
    pub(crate) async fn new_snapshot_location(
        &self,
        cluster: &Cluster,
        snapshot: &Snapshot,
    ) -> Result<SnapshotLocation, CoreError> {
        let location = self.repository_location(cluster, &self.settings_of(cluster).await?).await?;
        Ok(SnapshotLocation {
            profile: location.profile.name.clone(),
            bucket: location.bucket.clone(),
            path: crate::storage::join_path(&[&location.path, &snapshot.id]),
        })
    }

    pub(crate) async fn open_snapshot_location(
        &self,
        project_id: &str,
        location: &SnapshotLocation,
    ) -> Result<(Arc<dyn ObjectPath>, crate::storage::StorageTarget), CoreError> {
        let place = self.place_of(project_id, location).await?;
        let target = self.target(&place)?;
        Ok((self.repositories.storage.open(&target)?, target))
    }

    /// Removes everything a snapshot wrote; returns how many objects.
    pub(crate) async fn remove_snapshot_objects(&self, snapshot: &Snapshot) -> Result<u64, CoreError> {
        let Some(location) = &snapshot.location else { return Ok(0) };
        let (_, target) = self.open_snapshot_location(&snapshot.project_id, location).await?;
        Ok(self.repositories.storage.remove_path(&target).await?)
    }
}

/// A strategy as the policy the scheduler runs.
fn strategy_policy(strategy: &StrategyInput, keepday: u32) -> Result<SnapshotPolicy, CoreError> {
    validate::display_name("policy_name", &strategy.name)?;
    let schedule =
        QuartzCron::parse(&strategy.schedule).map_err(|_| CoreError::InvalidPeriod(strategy.schedule.clone()))?;
    Ok(SnapshotPolicy {
        enabled: true,
        prefix: strategy.name.clone(),
        schedule: Schedule::Quartz(Box::new(schedule)),
        keepday: keepday.clamp(1, policy::MAX_RETENTION_DAYS),
        indices: String::new(),
        name_style: NameStyle::Prefixed,
    })
}

/// The policy of a database cluster as a warehouse dialect shows it: its strategy, if set.
pub fn database_strategy(config: &SnapshotConfig) -> Option<(&str, &QuartzCron)> {
    match (&config.policy.schedule, config.policy.enabled) {
        (Schedule::Quartz(cron), true) => Some((config.policy.prefix.as_str(), cron)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(name: &str, schedule: &str) -> StrategyInput {
        StrategyInput { name: name.into(), schedule: schedule.into() }
    }

    #[test]
    fn a_full_cluster_strategy_becomes_a_quartz_policy() {
        let policy = strategy_policy(&strategy("nightly", "0 0 2 ? * *"), 7).unwrap();
        assert!(policy.enabled);
        assert_eq!((policy.prefix.as_str(), policy.keepday), ("nightly", 7));
        assert!(matches!(policy.schedule, Schedule::Quartz(ref c) if c.as_str() == "0 0 2 ? * *"));
    }

    #[test]
    fn strategies_snapkeep_cannot_run_are_refused() {
        assert!(matches!(strategy_policy(&strategy("nightly", "every day"), 7), Err(CoreError::InvalidPeriod(_))));
        assert!(matches!(
            strategy_policy(&strategy("", "0 0 2 ? * *"), 7),
            Err(CoreError::Invalid { field: "policy_name", .. })
        ));
    }
}
