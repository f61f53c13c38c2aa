//! The boundary to snapkeep's catalog: everything it must remember across restarts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{AccessKey, Cluster, Operation, Project, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; the string names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What a finished operation step does to its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotChange {
    Keep,
    Update(Box<Snapshot>),
    Remove,
}

impl SnapshotChange {
    pub fn update(snapshot: Snapshot) -> Self {
        Self::Update(Box::new(snapshot))
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn insert_project(&self, project: &Project) -> Result<(), StoreError>;
    async fn get_project(&self, id: &str) -> Result<Option<Project>, StoreError>;
    async fn list_projects(&self) -> Result<Vec<Project>, StoreError>;
    /// Deletes a project with its keys; refused (Conflict) while it has clusters.
    async fn delete_project(&self, id: &str) -> Result<(), StoreError>;

    async fn insert_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKey>, StoreError>;
    async fn list_access_keys(&self, project_id: &str) -> Result<Vec<AccessKey>, StoreError>;
    async fn delete_access_key(&self, access_key: &str) -> Result<(), StoreError>;

    async fn insert_cluster(&self, cluster: &Cluster) -> Result<(), StoreError>;
    async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError>;
    async fn list_clusters(&self, project_id: Option<&str>) -> Result<Vec<Cluster>, StoreError>;
    /// Deletes a cluster and its catalog; refused (Conflict) while operations on it are open.
    async fn delete_cluster(&self, id: &str) -> Result<(), StoreError>;

    async fn get_snapshot(&self, id: &str) -> Result<Option<Snapshot>, StoreError>;
    async fn list_snapshots(&self, cluster_id: &str) -> Result<Vec<Snapshot>, StoreError>;

    /// Records a new snapshot and the operation that creates it, atomically. Conflict when the
    /// cluster already has a snapshot of that name.
    async fn insert_snapshot_with_operation(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
    ) -> Result<(), StoreError>;
    /// Records an operation on an existing snapshot together with the snapshot's new state, only
    /// if the snapshot is still as `expected_updated_at` says (Conflict otherwise).
    async fn insert_operation_for(
        &self,
        snapshot: &Snapshot,
        expected_updated_at: DateTime<Utc>,
        operation: &Operation,
    ) -> Result<(), StoreError>;

    /// Open operations that are due, oldest first, leased to `owner` until `lease_until`.
    async fn claim_due_operations(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError>;
    /// Open operations of a cluster (or of every cluster).
    async fn open_operations(&self, cluster_id: Option<&str>) -> Result<Vec<Operation>, StoreError>;
    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError>;
    /// Writes an operation's state while its step is still running (the lease is kept).
    async fn checkpoint_operation(&self, operation: &Operation) -> Result<(), StoreError>;
    /// Writes an operation's new state and its snapshot's change in one transaction and releases
    /// the lease.
    async fn save_step(&self, operation: &Operation, change: &SnapshotChange) -> Result<(), StoreError>;
}
