//! The operations the dialects call: one method per user action, each validating its input,
//! checking tenancy, and writing the durable record before any work is done.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::caller::{DEFAULT_MAX_SKEW, MAX_SKEW_RANGE};
use crate::clock::Clock;
use crate::engine::{EngineConnector, EngineEndpoint, SearchEngine};
use crate::error::{CoreError, NotFound, StoreError};
use crate::limits::{OperationTimeouts, Scheduling};
use crate::metrics::Metrics;
use crate::model::{
    Cluster, ClusterFailures, Lane, LastFailure, NewCluster, Operation, OperationKind, OperationPhase, Project,
    RestoreParams, RestoreStatus, Snapshot, SnapshotKind, SnapshotStatus,
};
use crate::page::{Page, SnapshotPage, cursor_after};
use crate::physical::DatabaseEngine;
use crate::policy::{NameStyle, SnapshotConfig, SnapshotSettings};
use crate::repository::Repositories;
use crate::restore_plan::{RestorePlan, can_restore_into};
use crate::secrets::Cipher;
use crate::store::Store;
use crate::validate;

/// A manual snapshot request.
#[derive(Debug, Clone, Default)]
pub struct CreateSnapshotInput {
    pub name: String,
    pub description: Option<String>,
    pub indices: Option<String>,
}

/// A restore request.
#[derive(Debug, Clone, Default)]
pub struct RestoreInput {
    pub target_cluster: String,
    pub indices: Option<String>,
    pub rename_pattern: Option<String>,
    pub rename_replacement: Option<String>,
    pub replace_existing: bool,
}

/// snapkeep's core: shared by every dialect and by the reconciler.
#[derive(Clone)]
pub struct Snapkeep {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) connector: Arc<dyn EngineConnector>,
    pub(crate) repositories: Repositories,
    pub(crate) cipher: Cipher,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeouts: OperationTimeouts,
    pub(crate) scheduling: Scheduling,
    pub(crate) max_skew: chrono::Duration,
    pub(crate) databases: Option<Arc<dyn DatabaseEngine>>,
    metrics: Metrics,
    default_region: String,
}

impl Snapkeep {
    pub fn new(
        store: Arc<dyn Store>,
        connector: Arc<dyn EngineConnector>,
        repositories: Repositories,
        cipher: Cipher,
        clock: Arc<dyn Clock>,
        timeouts: OperationTimeouts,
        default_region: String,
    ) -> Self {
        Self {
            store,
            connector,
            repositories,
            cipher,
            clock,
            timeouts,
            scheduling: Scheduling::default(),
            max_skew: DEFAULT_MAX_SKEW,
            databases: None,
            metrics: Metrics::default(),
            default_region,
        }
    }

    /// Replaces the default limits and jitter of automatic snapshots.
    pub fn with_scheduling(mut self, scheduling: Scheduling) -> Self {
        self.scheduling = scheduling;
        self
    }

    /// Enables database clusters (PostgreSQL), backed up and restored by `engine`.
    pub fn with_databases(mut self, engine: Arc<dyn DatabaseEngine>) -> Self {
        self.databases = Some(engine);
        self
    }

    /// Replaces the allowed clock skew of signed requests (bounded by `MAX_SKEW_RANGE`).
    pub fn with_max_skew(mut self, max_skew: chrono::Duration) -> Self {
        self.max_skew = max_skew.clamp(MAX_SKEW_RANGE.0, MAX_SKEW_RANGE.1);
        self
    }

    /// The core's clock (a manual one in tests).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    // ----- projects -----

    pub async fn create_project(&self, name: &str) -> Result<Project, CoreError> {
        validate::display_name("name", name)?;
        let project = Project {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        self.store.insert_project(&project).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ProjectNameTaken(name.to_owned()),
            other => other.into(),
        })?;
        Ok(project)
    }

    pub async fn project(&self, id: &str) -> Result<Project, CoreError> {
        self.store.get_project(id).await?.ok_or(CoreError::NotFound(NotFound::Project))
    }

    pub async fn list_projects(&self) -> Result<Vec<Project>, CoreError> {
        Ok(self.store.list_projects().await?)
    }

    pub async fn delete_project(&self, id: &str) -> Result<(), CoreError> {
        self.project(id).await?;
        self.store.delete_project(id).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ProjectNotEmpty(id.to_owned()),
            other => other.into(),
        })
    }

    // ----- clusters -----

    /// Registers a cluster after contacting it and learning its engine and version. Credentials
    /// written into the endpoint URL are moved into the sealed fields (`validate::credentials_in_url`).
    pub async fn register_cluster(&self, new: NewCluster) -> Result<Cluster, CoreError> {
        self.project(&new.project_id).await?;
        validate::display_name("name", &new.name)?;
        validate::endpoint(&new.endpoint)?;
        let (endpoint, username, password) =
            validate::credentials_in_url(&new.endpoint, new.username.clone(), new.password.clone())?;
        let new = NewCluster { endpoint, username, password, ..new };
        if let Some(id) = &new.id {
            validate::resource_id("id", id)?;
        }
        if new.password.is_some() && new.username.is_none() {
            return Err(CoreError::invalid("username", "is required with a password"));
        }
        let endpoint = EngineEndpoint {
            url: new.endpoint.trim_end_matches('/').to_owned(),
            username: new.username.clone(),
            password: new.password.clone(),
        };
        let probe = if endpoint.url.starts_with("postgres") {
            self.databases()?.probe(&endpoint).await
        } else {
            self.connector.probe(&endpoint).await
        };
        let info = probe.map_err(|e| CoreError::ClusterUnusable(e.to_string()))?;
        let cluster = Cluster {
            id: new.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            project_id: new.project_id,
            name: new.name,
            endpoint: endpoint.url,
            username: new.username,
            password_encrypted: new.password.as_deref().map(|p| self.cipher.seal(p)),
            region: new.region.unwrap_or_else(|| self.default_region.clone()),
            flavor: info.flavor,
            version: info.version,
            created_at: self.clock.now(),
        };
        self.check_location(&cluster, &SnapshotSettings::default()).await?;
        self.store.insert_cluster(&cluster).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ClusterIdTaken(cluster.id.clone()),
            other => other.into(),
        })?;
        Ok(cluster)
    }

    pub async fn cluster(&self, id: &str) -> Result<Cluster, CoreError> {
        self.store.get_cluster(id).await?.ok_or(CoreError::NotFound(NotFound::Cluster))
    }

    /// A cluster as seen from a project: another project's cluster does not exist.
    pub async fn cluster_in_project(&self, project_id: &str, id: &str) -> Result<Cluster, CoreError> {
        match self.store.get_cluster(id).await? {
            Some(cluster) if cluster.project_id == project_id => Ok(cluster),
            _ => Err(CoreError::NotFound(NotFound::Cluster)),
        }
    }

    pub async fn list_clusters(&self, project_id: Option<&str>) -> Result<Vec<Cluster>, CoreError> {
        if let Some(project_id) = project_id {
            self.project(project_id).await?;
        }
        Ok(self.store.list_clusters(project_id).await?)
    }

    /// What has failed on a cluster: its last failed operation and how its automatic snapshots
    /// ended, failures counted apart from successes (they stay listed until retention removes them).
    pub async fn cluster_failures(&self, cluster: &Cluster) -> Result<ClusterFailures, CoreError> {
        let last = self.store.last_failed_operation(&cluster.id).await?;
        let automatic: Vec<Snapshot> = self
            .store
            .list_snapshots(&cluster.id)
            .await?
            .into_iter()
            .filter(|s| s.kind == SnapshotKind::Automatic)
            .collect();
        let count = |status| automatic.iter().filter(|s| s.status == status).count();
        Ok(ClusterFailures {
            last: last.map(|op| LastFailure {
                operation_id: op.id,
                kind: op.kind,
                reason: op.last_error.unwrap_or_default(),
                at: op.finished_at.unwrap_or(op.created_at),
            }),
            automatic_completed: count(SnapshotStatus::Completed),
            automatic_part_failed: count(SnapshotStatus::PartFailed),
            automatic_failed: count(SnapshotStatus::Failed),
        })
    }

    /// Where and how to reach a registered cluster, with its credentials decrypted.
    pub(crate) fn endpoint_of(&self, cluster: &Cluster) -> Result<EngineEndpoint, CoreError> {
        let password = cluster.password_encrypted.as_deref().map(|p| self.cipher.open(p)).transpose()?;
        Ok(EngineEndpoint { url: cluster.endpoint.clone(), username: cluster.username.clone(), password })
    }

    /// A `_snapshot` client for a registered search cluster.
    pub fn engine_for(&self, cluster: &Cluster) -> Result<Arc<dyn SearchEngine>, CoreError> {
        if cluster.flavor.is_database() {
            return Err(CoreError::Unsupported(format!(
                "cluster {} is a database; it has no _snapshot API",
                cluster.id
            )));
        }
        let endpoint = self.endpoint_of(cluster)?;
        let info = crate::engine::EngineInfo {
            flavor: cluster.flavor,
            version: cluster.version,
            cluster_name: cluster.name.clone(),
        };
        Ok(self.connector.connect(endpoint, &info))
    }

    // ----- snapshots -----

    /// Accepts a manual snapshot: the catalog entry and its create operation are written, and the
    /// reconciler does the rest.
    pub async fn create_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        input: CreateSnapshotInput,
    ) -> Result<Snapshot, CoreError> {
        validate::snapshot_name(&input.name)?;
        let description = input.description.unwrap_or_default();
        validate::description(&description)?;
        let indices = input.indices.unwrap_or_default();
        validate::indices("indices", &indices)?;
        let (_, snapshot, operation) =
            self.manual_snapshot(project_id, cluster_id, |_, _| input.name, description, indices).await?;
        self.store.insert_snapshot_with_operation(&snapshot, &operation).await.map_err(name_taken(&snapshot.name))?;
        Ok(snapshot)
    }

    /// A manual snapshot of a project's cluster and its create operation, not yet written;
    /// refused while the cluster's snapshots are off.
    async fn manual_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        name: impl FnOnce(&Cluster, DateTime<Utc>) -> String,
        description: String,
        indices: String,
    ) -> Result<(Cluster, Snapshot, Operation), CoreError> {
        let cluster = self.cluster_in_project(project_id, cluster_id).await?;
        let config = self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default();
        if !config.settings.enabled {
            return Err(CoreError::SnapshotsDisabled);
        }
        let now = self.clock.now();
        let name = name(&cluster, now);
        let snapshot = self.new_snapshot(&cluster, name, description, indices, SnapshotKind::Manual, None, now);
        let operation = self.new_operation(OperationKind::CreateSnapshot, &snapshot, &cluster, None, now);
        Ok((cluster, snapshot, operation))
    }

    /// A manual snapshot named `<instance id>_<yyyyMMddHHmmss>` (the Alibaba dialect), made at most
    /// once per `client_token` within 24 h: a repeated token answers with the first snapshot,
    /// also when it is still running or snapkeep restarted in between. Distinct requests never
    /// collide: when another snapshot holds this second's name, the name takes the next free
    /// second (up to a minute later), keeping Alibaba's format.
    pub async fn create_instance_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        client_token: Option<&str>,
    ) -> Result<Snapshot, CoreError> {
        if let Some(token) = client_token {
            validate::client_token(token)?;
        }
        let instance_name = |cluster: &Cluster, now| NameStyle::Instance.name("", &cluster.id, now);
        let (cluster, mut snapshot, operation) =
            self.manual_snapshot(project_id, cluster_id, instance_name, String::new(), String::new()).await?;
        let mut later = 0;
        loop {
            match self.insert_instance_snapshot(&cluster, &snapshot, &operation, client_token).await {
                Err(StoreError::Conflict(_)) if later < INSTANCE_NAME_SECONDS => {
                    later += 1;
                    let at = snapshot.created_at + chrono::Duration::seconds(later);
                    snapshot.name = NameStyle::Instance.name("", &cluster.id, at);
                }
                Err(e) => return Err(name_taken(&snapshot.name)(e)),
                Ok(None) => return Ok(snapshot),
                Ok(Some(earlier)) => {
                    return self.store.get_snapshot(&earlier).await?.ok_or(CoreError::NotFound(NotFound::Snapshot));
                }
            }
        }
    }

    /// Writes an instance snapshot, once per client token; `Some(id)` of the snapshot an earlier
    /// request with the same token made.
    async fn insert_instance_snapshot(
        &self,
        cluster: &Cluster,
        snapshot: &Snapshot,
        operation: &Operation,
        client_token: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let Some(token) = client_token else {
            return self.store.insert_snapshot_with_operation(snapshot, operation).await.map(|()| None);
        };
        let key = format!("{}/{}/CreateSnapshot/{token}", cluster.project_id, cluster.id);
        let not_before = snapshot.created_at - chrono::Duration::hours(CLIENT_TOKEN_HOURS);
        self.store.insert_snapshot_once(snapshot, operation, &key, not_before).await
    }

    /// The catalog of a cluster's snapshots, newest first, with the cluster and its snapshot
    /// configuration (the views of automatic snapshots show their policy).
    pub async fn list_snapshots(
        &self,
        project_id: &str,
        cluster_id: &str,
    ) -> Result<(Cluster, SnapshotConfig, Vec<Snapshot>), CoreError> {
        let (cluster, config) = self.snapshot_config(project_id, cluster_id).await?;
        let snapshots = self.store.list_snapshots(&cluster.id).await?;
        Ok((cluster, config, snapshots))
    }

    /// A page of a cluster's snapshots, newest first (`page` says how many, after which).
    pub async fn snapshot_page(&self, cluster: &Cluster, page: &Page) -> Result<SnapshotPage, CoreError> {
        let (limit, after) = page.checked()?;
        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let mut snapshots = self.store.snapshots_page(&cluster.id, after, limit + 1).await?;
        let next = (snapshots.len() > limit as usize).then(|| {
            snapshots.truncate(limit as usize);
            snapshots.last().map(cursor_after)
        });
        Ok(SnapshotPage { snapshots, next: next.flatten() })
    }

    async fn snapshot_of(&self, cluster: &Cluster, snapshot_id: &str) -> Result<Snapshot, CoreError> {
        match self.store.get_snapshot(snapshot_id).await? {
            Some(s) if s.cluster_id == cluster.id => Ok(s),
            _ => Err(CoreError::NotFound(NotFound::Snapshot)),
        }
    }

    /// Accepts the deletion of a snapshot (aborting it if it is still running).
    pub async fn delete_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> Result<(), CoreError> {
        let cluster = self.cluster_in_project(project_id, cluster_id).await?;
        let snapshot = self.snapshot_of(&cluster, snapshot_id).await?;
        if snapshot.deleting {
            return Err(CoreError::SnapshotBeingDeleted);
        }
        if snapshot.restore_status == RestoreStatus::Restoring {
            return Err(CoreError::RestoreInProgress(cluster.id));
        }
        if cluster.flavor.is_database() && snapshot.status == SnapshotStatus::Building {
            return Err(CoreError::SnapshotNotReady);
        }
        let now = self.clock.now();
        let expected = snapshot.updated_at;
        let updated = Snapshot { deleting: true, operation_failure: None, updated_at: now, ..snapshot };
        let operation = self.new_operation(OperationKind::DeleteSnapshot, &updated, &cluster, None, now);
        self.store.insert_operation_for(&updated, expected, &operation).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::SnapshotBeingDeleted,
            other => other.into(),
        })
    }

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
        })
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

    /// A snapshot just accepted: BUILDING, nothing known from the engine yet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_snapshot(
        &self,
        cluster: &Cluster,
        name: String,
        description: String,
        requested_indices: String,
        kind: SnapshotKind,
        scheduled_for: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Snapshot {
        Snapshot {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: cluster.project_id.clone(),
            cluster_id: cluster.id.clone(),
            name,
            description,
            requested_indices,
            indices: Vec::new(),
            kind,
            status: SnapshotStatus::Building,
            repository: self.repositories.names.own.clone(),
            engine_version: None,
            total_shards: None,
            failed_shards: None,
            start_time_ms: Some(now.timestamp_millis()),
            end_time_ms: None,
            failure_reason: None,
            deleting: false,
            restore_status: RestoreStatus::None,
            operation_failure: None,
            scheduled_for,
            size_bytes: None,
            location: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A new operation of `kind` on `cluster`, in the lane its kind and engine take.
    pub(crate) fn new_operation(
        &self,
        kind: OperationKind,
        snapshot: &Snapshot,
        cluster: &Cluster,
        restore: Option<RestoreParams>,
        now: DateTime<Utc>,
    ) -> Operation {
        let lane = Lane::of(kind, cluster.flavor);
        self.operation_on(kind, snapshot, (&cluster.id, lane), restore, now)
    }

    /// A new operation of `kind` on the cluster `cluster_id`, run in `lane`.
    pub(crate) fn operation_on(
        &self,
        kind: OperationKind,
        snapshot: &Snapshot,
        (cluster_id, lane): (&str, Lane),
        restore: Option<RestoreParams>,
        now: DateTime<Utc>,
    ) -> Operation {
        Operation {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            snapshot_id: snapshot.id.clone(),
            batch: Vec::new(),
            cluster_id: cluster_id.to_owned(),
            lane,
            phase: OperationPhase::Pending,
            restore,
            attempts: 0,
            next_run_at: now,
            deadline: now + self.timeouts.limit_for(kind),
            progress_marker: None,
            progress_at: now,
            last_error: None,
            created_at: now,
            finished_at: None,
        }
    }
}

/// A snapshot can be restored: finished with data, and not being deleted.
pub(crate) fn ensure_restorable(snapshot: &Snapshot) -> Result<(), CoreError> {
    if snapshot.deleting {
        return Err(CoreError::SnapshotBeingDeleted);
    }
    if snapshot.status == SnapshotStatus::Building {
        return Err(CoreError::SnapshotNotReady);
    }
    if !snapshot.status.is_restorable() {
        return Err(CoreError::SnapshotUnusable(snapshot.status.as_str().to_owned()));
    }
    Ok(())
}

/// A store conflict on writing a new snapshot means its name is taken in the cluster.
fn name_taken(name: &str) -> impl Fn(StoreError) -> CoreError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => CoreError::SnapshotNameTaken(name.to_owned()),
        other => other.into(),
    }
}

/// How long a client token keeps answering with its first result.
const CLIENT_TOKEN_HOURS: i64 = 24;

/// How many seconds later an instance snapshot's name may move when its own second is taken.
const INSTANCE_NAME_SECONDS: i64 = 60;
