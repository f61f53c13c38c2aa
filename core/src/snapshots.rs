//! A cluster's snapshots as users ask for them: create (one entry point for every dialect, with
//! an optional idempotency key), list and page, delete. Each request validates, checks tenancy and
//! writes the catalog entry with its operation before any work is done; the reconciler's steps
//! (`search_steps`, `database_steps`) do the rest. Also what every snapshot starts as
//! (`new_snapshot`, also used by automatic snapshots), whatever made it.

use chrono::{DateTime, Utc};

use crate::engine::EngineFamily;
use crate::error::{CoreError, NotFound, StoreError};
use crate::model::{Cluster, Operation, OperationKind, RestoreStatus, Snapshot, SnapshotKind, SnapshotStatus};
use crate::page::{Page, Scope, SnapshotFilter, SnapshotPage, split_shared};
use crate::policy::SnapshotConfig;
use crate::snapkeep::Snapkeep;
use crate::validate;

/// How a new snapshot is named.
#[derive(Debug, Clone)]
pub enum SnapshotName {
    /// The caller's name, already held to its dialect's own rules.
    Chosen(String),
    /// A name made from the cluster's id and the time the request is accepted:
    /// `name(cluster_id, at)`. When another snapshot of the cluster holds it, the next free second
    /// is taken (up to a minute later), so distinct requests never collide.
    Timed(fn(&str, DateTime<Utc>) -> String),
}

/// Where a chosen name must be free. The catalog always keeps names unique per cluster; a
/// project-wide name is a constraint of the catalog too, so two requests (or replicas) racing for
/// it cannot both win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameScope {
    Cluster,
    /// Also among the snapshots of every cluster of the project in the same engine family,
    /// compared without case (for APIs that name snapshots per project, not per cluster).
    Project,
}

/// A manual snapshot request, from any dialect.
#[derive(Debug, Clone)]
pub struct CreateSnapshotInput {
    pub name: SnapshotName,
    pub scope: NameScope,
    /// At most 256 characters (`validate::description`).
    pub description: Option<String>,
    /// Index names or patterns, comma-separated (`validate::indices`); none: every index.
    pub indices: Option<String>,
    /// Makes the request at most once per key and cluster within 24 h: a repeated key answers with
    /// the snapshot the first request made, also while it runs or after a restart.
    pub idempotency_key: Option<String>,
    /// The engine family the dialect serves: a cluster of another family is not found. `None`: any.
    pub family: Option<EngineFamily>,
}

impl CreateSnapshotInput {
    /// A request for a snapshot named `name`, with nothing else set.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: SnapshotName::Chosen(name.into()),
            scope: NameScope::Cluster,
            description: None,
            indices: None,
            idempotency_key: None,
            family: None,
        }
    }
}

impl Snapkeep {
    /// Accepts a manual snapshot: the catalog entry and its create operation are written, and the
    /// reconciler does the rest. A repeated idempotency key is answered with the first snapshot
    /// before anything else is checked again. Errors: a rule the input breaks, an unknown cluster
    /// (or one of another family than `input.family`), the cluster's snapshots switched off (in
    /// any dialect, whatever its family), or a name already taken.
    pub async fn create_snapshot(
        &self,
        project_id: &str,
        cluster_id: &str,
        input: CreateSnapshotInput,
    ) -> Result<Snapshot, CoreError> {
        let description = input.description.clone().unwrap_or_default();
        validate::description(&description)?;
        let indices = input.indices.clone().unwrap_or_default();
        validate::indices("indices", &indices)?;
        if let Some(key) = &input.idempotency_key {
            validate::idempotency_key(key)?;
        }
        let cluster = self.cluster_in_project(project_id, cluster_id).await?;
        if input.family.is_some_and(|family| family != cluster.flavor.family()) {
            return Err(CoreError::NotFound(NotFound::Cluster));
        }
        let now = self.clock.now();
        if let Some(earlier) = self.made_by(&cluster, input.idempotency_key.as_deref(), now).await? {
            return Ok(earlier);
        }
        if let (SnapshotName::Chosen(name), NameScope::Project) = (&input.name, input.scope) {
            self.check_name_free_in_project(project_id, cluster.flavor.family(), name).await?;
        }
        let config = self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default();
        if !config.settings.enabled {
            return Err(CoreError::SnapshotsDisabled);
        }
        let name = input.name.at(&cluster.id, now);
        validate::snapshot_name(cluster.flavor.family(), &name)?;
        let project_unique_name = (input.scope == NameScope::Project).then(|| name.to_lowercase());
        let snapshot = Snapshot {
            project_unique_name,
            ..self.new_snapshot(&cluster, name, description, indices, SnapshotKind::Manual, None, now)
        };
        let operation = self.new_operation(OperationKind::CreateSnapshot, &snapshot, &cluster, None, now);
        self.insert_new_snapshot(&input, snapshot, &operation).await
    }

    /// Writes a new snapshot with its operation, once per idempotency key, moving a timed name to
    /// the next free second while its own is taken.
    async fn insert_new_snapshot(
        &self,
        input: &CreateSnapshotInput,
        mut snapshot: Snapshot,
        operation: &Operation,
    ) -> Result<Snapshot, CoreError> {
        let mut later = 0;
        loop {
            match self.insert_once(&snapshot, operation, input.idempotency_key.as_deref()).await {
                Err(StoreError::Conflict(_))
                    if matches!(input.name, SnapshotName::Timed(_)) && later < TIMED_NAME_SECONDS =>
                {
                    later += 1;
                    let at = snapshot.created_at + chrono::Duration::seconds(later);
                    snapshot.name = input.name.at(&snapshot.cluster_id, at);
                }
                Err(e) => return Err(name_taken(&snapshot.name)(e)),
                Ok(None) => return Ok(snapshot),
                Ok(Some(earlier)) => {
                    return self.store.get_snapshot(&earlier).await?.ok_or(CoreError::NotFound(NotFound::Snapshot));
                }
            }
        }
    }

    /// Writes a snapshot, once per idempotency key; `Some(id)` of the snapshot an earlier request
    /// with the same key made.
    async fn insert_once(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
        idempotency_key: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let Some(key) = idempotency_key else {
            let inserted = self.store.insert_snapshot_with_operation(snapshot, operation).await;
            return inserted.map(|()| None).inspect(|_| self.operation_queued());
        };
        let key = key_record(&snapshot.project_id, &snapshot.cluster_id, key);
        let not_before = snapshot.created_at - chrono::Duration::hours(IDEMPOTENCY_HOURS);
        self.store
            .insert_snapshot_once(snapshot, operation, &key, not_before)
            .await
            .inspect(|_| self.operation_queued())
    }

    /// The snapshot an earlier request with `key` made on `cluster`, within 24 h of `now`: a
    /// retry is answered with it before any other rule is checked again.
    async fn made_by(
        &self,
        cluster: &Cluster,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Snapshot>, CoreError> {
        let Some(key) = key else { return Ok(None) };
        let not_before = now - chrono::Duration::hours(IDEMPOTENCY_HOURS);
        let Some(earlier) =
            self.store.snapshot_made_by(&key_record(&cluster.project_id, &cluster.id, key), not_before).await?
        else {
            return Ok(None);
        };
        Ok(self.store.get_snapshot(&earlier).await?)
    }

    /// Checks that no snapshot of the project's clusters of `family` is named `name`, in any case.
    pub async fn check_name_free_in_project(
        &self,
        project_id: &str,
        family: EngineFamily,
        name: &str,
    ) -> Result<(), CoreError> {
        let snapshots = self.project_snapshots(project_id, family).await?;
        if snapshots.iter().any(|(_, s)| s.name.eq_ignore_ascii_case(name)) {
            return Err(CoreError::SnapshotNameTaken(name.to_owned()));
        }
        Ok(())
    }

    /// Every snapshot of the project's clusters of `family`, with its cluster, newest first.
    pub async fn project_snapshots(
        &self,
        project_id: &str,
        family: EngineFamily,
    ) -> Result<Vec<(Cluster, Snapshot)>, CoreError> {
        let mut all = Vec::new();
        for cluster in self.store.list_clusters(Some(project_id)).await? {
            if cluster.flavor.family() == family {
                for snapshot in self.store.list_snapshots(&cluster.id).await? {
                    all.push((cluster.clone(), snapshot));
                }
            }
        }
        all.sort_by_key(|(_, snapshot)| std::cmp::Reverse(snapshot.created_at));
        Ok(all)
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

    /// A page of the snapshots of `scope` that `filter` lets through, newest first (`page` says
    /// how many, after which).
    pub async fn snapshot_page(
        &self,
        scope: Scope<'_>,
        page: &Page,
        filter: &SnapshotFilter,
    ) -> Result<SnapshotPage, CoreError> {
        let (limit, after) = page.checked()?;
        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let read = self.store.snapshots_page(scope, filter, after, limit + 1).await?;
        let (snapshots, next) = split_shared(read, limit, |s| (s.created_at, s.id.as_str()));
        Ok(SnapshotPage { snapshots, next })
    }

    /// A snapshot of any cluster, by id (the operator's view).
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, CoreError> {
        self.store.get_snapshot(id).await?.ok_or(CoreError::NotFound(NotFound::Snapshot))
    }

    pub(crate) async fn snapshot_of(&self, cluster: &Cluster, snapshot_id: &str) -> Result<Snapshot, CoreError> {
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
        })?;
        self.operation_queued();
        Ok(())
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
            project_unique_name: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl SnapshotName {
    /// The name for a request accepted at `at` on cluster `cluster_id`.
    fn at(&self, cluster_id: &str, at: DateTime<Utc>) -> String {
        match self {
            Self::Chosen(name) => name.clone(),
            Self::Timed(name) => name(cluster_id, at),
        }
    }
}

/// A store conflict on writing a new snapshot means its name is taken in the cluster.
fn name_taken(name: &str) -> impl Fn(StoreError) -> CoreError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => CoreError::SnapshotNameTaken(name.to_owned()),
        other => other.into(),
    }
}

/// Where an idempotency key is recorded: under its project and cluster, so keys never cross
/// tenants. (The format is stored; keys recorded by earlier versions keep answering.)
fn key_record(project_id: &str, cluster_id: &str, key: &str) -> String {
    format!("{project_id}/{cluster_id}/CreateSnapshot/{key}")
}

/// How long an idempotency key keeps answering with its first result.
const IDEMPOTENCY_HOURS: i64 = 24;

/// How many seconds later a timed name may move when its own second is taken.
const TIMED_NAME_SECONDS: i64 = 60;
