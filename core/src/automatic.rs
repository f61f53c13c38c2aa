//! Automatic snapshots: a cluster's policy and settings as the dialects change them, firing the
//! snapshots that are due, and retention. Fires and retention deletes are durable operations like
//! any other; the schedule's next slot moves in the same transaction as a fire, so a fire happens
//! once, and a fire missed while snapkeep was down happens once, at start (not once per slot).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::model::{Cluster, Lane, Operation, OperationKind, Snapshot, SnapshotKind};
use crate::policy::{self, Schedule, SnapshotConfig, SnapshotPolicy};
use crate::snapkeep::Snapkeep;
use crate::store::{DueFire, FireLimits, FireOutcome, NextFire};

/// A change of a cluster's automatic-snapshot policy, as a dialect made it from its request
/// (holding each value to the rules in `policy` and `validate`).
#[derive(Debug, Clone)]
pub enum PolicyChange {
    /// Automatic snapshots on under this policy; the cluster's snapshots are turned on too.
    On(SnapshotPolicy),
    /// Automatic snapshots off, the policy kept; `delete_automatic` also deletes those taken.
    Off { delete_automatic: bool },
}

/// A basic-settings change.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub bucket: Option<String>,
    pub agency: Option<String>,
    pub base_path: Option<String>,
    pub max_snapshot_rate: Option<String>,
    pub max_restore_rate: Option<String>,
}

/// One automatic snapshot fired.
#[derive(Debug, Clone)]
pub struct Fired {
    pub cluster_id: String,
    pub slot: DateTime<Utc>,
    /// How late the fire was against its due time (slot + jitter).
    pub lag: chrono::Duration,
}

/// What a scheduler round did.
#[derive(Debug, Clone, Default)]
pub struct FireReport {
    pub fired: Vec<Fired>,
    /// Due fires held back by the concurrency limits (they stay due).
    pub deferred: usize,
}

/// This cluster's offset after each slot: a stable hash of its id.
pub fn jitter(cluster_id: &str, max: Duration) -> chrono::Duration {
    let max_ms = max.as_millis() as u64;
    if max_ms == 0 {
        return chrono::Duration::zero();
    }
    let hash =
        cluster_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    chrono::Duration::milliseconds((hash % max_ms) as i64)
}

impl Snapkeep {
    /// A cluster of the project with its snapshot configuration (defaults when never set).
    pub async fn snapshot_config(
        &self,
        project_id: &str,
        cluster_id: &str,
    ) -> Result<(Cluster, SnapshotConfig), CoreError> {
        let cluster = self.cluster_in_project(project_id, cluster_id).await?;
        let config = self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default();
        Ok((cluster, config))
    }

    /// Changes the automatic-snapshot policy. Turning it on also turns the cluster's snapshots on;
    /// turning it off with `delete_automatic` deletes the cluster's automatic snapshots.
    pub async fn set_policy(&self, project_id: &str, cluster_id: &str, input: PolicyChange) -> Result<(), CoreError> {
        self.change_config(project_id, cluster_id, None, Some(input)).await
    }

    /// Turns automatic snapshots on or off and, when `schedule` is given, sets when they fire. A
    /// policy set before (in any dialect) keeps its prefix, indices and retention; a cluster with
    /// none takes `defaults` (the dialect's). Turning them on also turns the cluster's snapshots
    /// on; turning them off keeps the schedule for later.
    pub async fn set_schedule(
        &self,
        project_id: &str,
        cluster_id: &str,
        (enable, schedule): (bool, Option<Schedule>),
        defaults: impl FnOnce(&Cluster) -> SnapshotPolicy,
    ) -> Result<SnapshotConfig, CoreError> {
        let (cluster, mut config) = self.snapshot_config(project_id, cluster_id).await?;
        match schedule {
            Some(schedule) if config.policy == SnapshotPolicy::default() => {
                config.policy = SnapshotPolicy { enabled: enable, schedule, ..defaults(&cluster) };
            }
            Some(schedule) => config.policy = SnapshotPolicy { enabled: enable, schedule, ..config.policy },
            None => config.policy.enabled = enable && config.policy != SnapshotPolicy::default(),
        }
        if enable {
            config.settings.enabled = true;
        }
        self.save_config(&cluster, &config).await?;
        Ok(config)
    }

    /// Updates the basic settings and turns snapshots on, changing the policy too when `policy`
    /// is given (in one write: a refused change changes nothing).
    pub async fn update_settings(
        &self,
        project_id: &str,
        cluster_id: &str,
        settings: SettingsInput,
        policy: Option<PolicyChange>,
    ) -> Result<(), CoreError> {
        self.change_config(project_id, cluster_id, Some(settings), policy).await
    }

    /// Checks every rule of both inputs first, then stores the result at once: a refused change
    /// changes nothing.
    async fn change_config(
        &self,
        project_id: &str,
        cluster_id: &str,
        settings: Option<SettingsInput>,
        policy: Option<PolicyChange>,
    ) -> Result<(), CoreError> {
        let (cluster, mut config) = self.snapshot_config(project_id, cluster_id).await?;
        let moves =
            settings.as_ref().is_some_and(|s| s.bucket.is_some() || s.agency.is_some() || s.base_path.is_some());
        if let Some(settings) = settings {
            apply_settings(&mut config, settings)?;
        }
        let delete_auto = match policy {
            Some(policy) => apply_policy(&mut config, policy)?,
            None => false,
        };
        if moves {
            self.check_location(&cluster, &config.settings).await?;
        }
        self.save_config(&cluster, &config).await?;
        if delete_auto {
            self.delete_automatic(&cluster).await?;
        }
        Ok(())
    }

    /// Turns snapshots on with default settings: the
    /// project's default storage, whose repository path is created and checked first.
    pub async fn auto_settings(&self, project_id: &str, cluster_id: &str) -> Result<(), CoreError> {
        let (cluster, mut config) = self.snapshot_config(project_id, cluster_id).await?;
        config.settings = policy::SnapshotSettings::default();
        self.check_location(&cluster, &config.settings).await?;
        self.save_config(&cluster, &config).await
    }

    /// Turns the snapshot function off (and the policy with it), deleting the automatic
    /// snapshots when asked. Refused when already off.
    pub async fn disable_snapshots(
        &self,
        project_id: &str,
        cluster_id: &str,
        delete_auto: bool,
    ) -> Result<(), CoreError> {
        let (cluster, mut config) = self.snapshot_config(project_id, cluster_id).await?;
        if !config.settings.enabled {
            return Err(CoreError::SnapshotsAlreadyDisabled);
        }
        config.settings.enabled = false;
        config.policy.enabled = false;
        self.save_config(&cluster, &config).await?;
        if delete_auto {
            self.delete_automatic(&cluster).await?;
        }
        Ok(())
    }

    pub(crate) async fn save_config(&self, cluster: &Cluster, config: &SnapshotConfig) -> Result<(), CoreError> {
        let now = self.clock.now();
        let next = (config.settings.enabled && config.policy.enabled).then(|| {
            let slot = config.policy.schedule.next_after(now);
            NextFire { slot, fire_at: slot + jitter(&cluster.id, self.scheduling.max_jitter) }
        });
        Ok(self.store.put_snapshot_config(&cluster.id, config, next, now).await?)
    }

    /// Takes the automatic snapshots that are due, within the concurrency limits.
    pub async fn fire_due(&self) -> Result<FireReport, CoreError> {
        let now = self.clock.now();
        let due = self.store.due_fires(now, self.scheduling.batch).await?;
        let mut report = FireReport::default();
        if due.is_empty() {
            return Ok(report);
        }
        let mut open = self.store.open_creates_per_cluster().await?;
        let mut total: u32 = open.values().sum();
        for fire in due {
            let running = open.get(&fire.cluster_id).copied().unwrap_or(0);
            if total >= self.scheduling.global_limit || running >= self.scheduling.per_cluster_limit {
                report.deferred += 1;
                continue;
            }
            match self.fire(&fire, now).await? {
                Some(Ok(fired)) => {
                    *open.entry(fire.cluster_id.clone()).or_default() += 1;
                    total += 1;
                    report.fired.push(fired);
                }
                Some(Err(FireOutcome::Deferred)) => report.deferred += 1,
                _ => {}
            }
        }
        Ok(report)
    }

    /// Fires one due slot: `Some(Ok)` when it fired, `Some(Err(outcome))` when it did not,
    /// `None` when its cluster is gone.
    async fn fire(&self, fire: &DueFire, now: DateTime<Utc>) -> Result<Option<Result<Fired, FireOutcome>>, CoreError> {
        let Some(cluster) = self.store.get_cluster(&fire.cluster_id).await? else { return Ok(None) };
        let policy = &fire.config.policy;
        let offset = jitter(&cluster.id, self.scheduling.max_jitter);
        // After downtime, the missed slots collapse into one fire for the latest of them.
        let slot = fire.next.slot.max(policy.schedule.latest_at_or_before(now - offset));
        let next_slot = policy.schedule.next_after(slot);
        let next = NextFire { slot: next_slot, fire_at: next_slot + offset };
        let name = policy.name_style.name(&policy.prefix, &cluster.id, slot);
        let snapshot = self.new_snapshot(
            &cluster,
            name,
            String::new(),
            policy.indices.clone(),
            SnapshotKind::Automatic,
            Some(slot),
            now,
        );
        let operation = self.new_operation(OperationKind::CreateSnapshot, &snapshot, &cluster, None, now);
        let limits =
            FireLimits { global: self.scheduling.global_limit, per_cluster: self.scheduling.per_cluster_limit };
        Ok(Some(match self.store.record_fire(fire, &snapshot, &operation, next, limits).await? {
            FireOutcome::Fired => {
                self.operation_queued();
                let lag = now - fire.next.fire_at;
                self.metrics().fired(lag);
                Ok(Fired { cluster_id: cluster.id, slot, lag })
            }
            outcome => Err(outcome),
        }))
    }

    /// Deletes automatic snapshots past their retention, one batch operation per cluster.
    pub async fn apply_retention(&self) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let expired = self.store.expired_automatic(now, self.scheduling.batch * 4).await?;
        let mut by_cluster: HashMap<String, Vec<Snapshot>> = HashMap::new();
        for snapshot in expired {
            by_cluster.entry(snapshot.cluster_id.clone()).or_default().push(snapshot);
        }
        let mut deleted = 0;
        for (cluster_id, snapshots) in by_cluster {
            let batch = self.delete_batch(&cluster_id, &snapshots, now).await?;
            self.metrics().retention_deleted(batch as u64);
            deleted += batch;
        }
        Ok(deleted)
    }

    async fn delete_automatic(&self, cluster: &Cluster) -> Result<(), CoreError> {
        let automatic: Vec<Snapshot> = self
            .store
            .list_snapshots(&cluster.id)
            .await?
            .into_iter()
            .filter(|s| s.kind == SnapshotKind::Automatic && !s.deleting)
            .collect();
        self.delete_batch(&cluster.id, &automatic, self.clock.now()).await.map(drop)
    }

    async fn delete_batch(
        &self,
        cluster_id: &str,
        snapshots: &[Snapshot],
        now: DateTime<Utc>,
    ) -> Result<usize, CoreError> {
        let Some(first) = snapshots.first() else { return Ok(0) };
        let on = (cluster_id, Lane::Steps);
        let mut operation = self.operation_on(OperationKind::DeleteSnapshots, first, on, None, now);
        operation.batch = snapshots.iter().map(|s| s.id.clone()).collect();
        let taken = self.store.insert_batch_delete(&operation).await?.len();
        self.operation_queued();
        Ok(taken)
    }

    /// Whether a snapshot or a restore is running on the cluster (CSS `actions`).
    pub async fn cluster_activity(&self, cluster: &Cluster) -> Result<(bool, bool), CoreError> {
        let open: Vec<Operation> = self.store.open_operations(Some(&cluster.id)).await?;
        let snapshotting = open.iter().any(|op| op.kind == OperationKind::CreateSnapshot);
        let restoring = open.iter().any(|op| op.kind == OperationKind::RestoreSnapshot);
        Ok((snapshotting, restoring))
    }
}

/// Applies a settings change (and turns snapshots on).
fn apply_settings(config: &mut SnapshotConfig, input: SettingsInput) -> Result<(), CoreError> {
    let settings = &mut config.settings;
    if let Some(bucket) = input.bucket {
        policy::bucket(&bucket)?;
        settings.bucket = Some(bucket);
    }
    if let Some(agency) = input.agency {
        policy::agency(&agency)?;
        settings.agency = Some(agency);
    }
    if let Some(base_path) = input.base_path {
        policy::base_path(&base_path)?;
        settings.base_path = Some(base_path);
    }
    if let Some(rate) = input.max_snapshot_rate {
        settings.max_snapshot_rate = policy::byte_rate("max_snapshot_bytes_per_seconds", &rate)?;
    }
    if let Some(rate) = input.max_restore_rate {
        settings.max_restore_rate = policy::byte_rate("max_restore_bytes_per_seconds", &rate)?;
    }
    settings.enabled = true;
    Ok(())
}

/// Applies a policy change, holding its retention to `policy::retention_days`; tells whether
/// the automatic snapshots are to be deleted.
fn apply_policy(config: &mut SnapshotConfig, change: PolicyChange) -> Result<bool, CoreError> {
    match change {
        PolicyChange::On(policy) => {
            policy::retention_days(i64::from(policy.keepday))?;
            config.policy = policy;
            config.settings.enabled = true;
            Ok(false)
        }
        PolicyChange::Off { delete_automatic } => {
            config.policy.enabled = false;
            Ok(delete_automatic)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_stable_per_cluster_and_bounded() {
        let max = Duration::from_secs(30);
        assert_eq!(jitter("a", max), jitter("a", max));
        let spread: std::collections::HashSet<i64> =
            (0..100).map(|i| jitter(&format!("c{i}"), max).num_milliseconds()).collect();
        assert!(spread.len() > 90, "clusters spread out");
        assert!(spread.iter().all(|ms| (0..30_000).contains(ms)));
        assert_eq!(jitter("a", Duration::ZERO), chrono::Duration::zero());
    }
}
