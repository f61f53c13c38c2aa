//! The boundary to snapkeep's catalog: everything it must remember across restarts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::StoreError;
use crate::fleet::HealthFacts;
use crate::model::{AccessKey, AuditEntry, AuditQuery, Cluster, Lane, Operation, Project, Snapshot};
use crate::notify::{Delivery, Webhook};
use crate::page::{OperationFilter, Scope, SnapshotFilter};
use crate::policy::SnapshotConfig;
use crate::replicas::{Announcement, Replica};
use crate::secrets::Cipher;
use crate::sessions::ConsoleSession;
use crate::storage::{SnapshotLocation, StorageProfile};

/// What claiming a signed request found (`AccessStore::claim_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClaim {
    /// Not seen before: execute it and record its outcome.
    New,
    /// Seen before and still executing.
    Running,
    /// Seen before, with the answer it got.
    Answered(RequestOutcome),
}

/// The answer a request got: status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a finished operation step does to its snapshot (or, for a batch, its snapshots).
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotChange {
    Keep,
    Update(Box<Snapshot>),
    /// The snapshot (every snapshot of a batch) is gone.
    Remove,
    /// A batch delete gave up: its snapshots are no longer being deleted.
    Release,
}

/// When a cluster's next automatic snapshot is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextFire {
    /// The schedule slot the snapshot is for.
    pub slot: DateTime<Utc>,
    /// The slot plus the cluster's jitter: when it is taken.
    pub fire_at: DateTime<Utc>,
}

/// Snapshots being created at once that stop a fire: over all clusters, and per cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FireLimits {
    pub global: u32,
    pub per_cluster: u32,
}

/// What became of a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireOutcome {
    /// The snapshot and its operation are written; the schedule moved on.
    Fired,
    /// Another fire took the slot, or its name was taken: nothing new, the schedule moved on.
    Lost,
    /// A limit was reached: nothing written, the fire stays due.
    Deferred,
}

/// A cluster whose automatic snapshot is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueFire {
    pub cluster_id: String,
    pub config: SnapshotConfig,
    pub next: NextFire,
}

impl SnapshotChange {
    pub fn update(snapshot: Snapshot) -> Self {
        Self::Update(Box::new(snapshot))
    }
}

/// The catalog of projects, clusters, snapshots and their operations; with `AccessStore`, all
/// snapkeep remembers.
#[async_trait]
pub trait Store: AccessStore + NotifyStore + Send + Sync {
    async fn insert_project(&self, project: &Project) -> Result<(), StoreError>;
    async fn get_project(&self, id: &str) -> Result<Option<Project>, StoreError>;
    async fn list_projects(&self) -> Result<Vec<Project>, StoreError>;
    /// Deletes a project with its keys; refused (Conflict) while it has clusters.
    async fn delete_project(&self, id: &str) -> Result<(), StoreError>;

    async fn insert_cluster(&self, cluster: &Cluster) -> Result<(), StoreError>;
    async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError>;
    /// The clusters of one project (or all), by creation time, then id (their bytes).
    async fn list_clusters(&self, project_id: Option<&str>) -> Result<Vec<Cluster>, StoreError>;
    /// Up to `limit` clusters of `list_clusters`'s, after the one created at `after.0` with id
    /// `after.1` (from the first without). As `list_clusters`, it may miss for up to the view's
    /// staleness bound a cluster another replica registered (PostgreSQL; none on SQLite).
    async fn clusters_page(
        &self,
        project_id: Option<&str>,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Cluster>, StoreError>;
    /// Deletes a cluster and its catalog; refused (Conflict) while operations on it are open.
    async fn delete_cluster(&self, id: &str) -> Result<(), StoreError>;

    async fn get_snapshot(&self, id: &str) -> Result<Option<Snapshot>, StoreError>;
    async fn list_snapshots(&self, cluster_id: &str) -> Result<Vec<Snapshot>, StoreError>;
    /// Up to `limit` of the snapshots of `scope` that `filter` lets through, in
    /// `list_snapshots`' order (newest first, then by id), after the snapshot created at
    /// `after.0` with id `after.1` when given. Shared: a page the store keeps in memory is
    /// handed out without a copy.
    async fn snapshots_page(
        &self,
        scope: Scope<'_>,
        filter: &SnapshotFilter,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Arc<[Snapshot]>, StoreError>;
    /// Up to `limit` of the operations of `scope` (by the cluster they run on) that `filter`
    /// lets through, newest first, then by id, after the one created at `after.0` with id
    /// `after.1` when given.
    async fn operations_page(
        &self,
        scope: Scope<'_>,
        filter: &OperationFilter,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError>;
    /// The distinct locations the snapshots of each cluster in `scope` recorded, by cluster id
    /// (clusters without any are absent), each cluster's in order. One catalog read.
    async fn snapshot_locations(&self, scope: Scope<'_>) -> Result<HashMap<String, Vec<SnapshotLocation>>, StoreError>;

    /// Records a new snapshot and the operation that creates it, atomically. Conflict when the
    /// cluster already has a snapshot of that name.
    async fn insert_snapshot_with_operation(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
    ) -> Result<(), StoreError>;
    /// Like `insert_snapshot_with_operation`, once per idempotency `token`: when the token was
    /// used at or after `not_before`, nothing is written and the id of the snapshot it made then
    /// is returned.
    async fn insert_snapshot_once(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
        token: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// The id of the snapshot idempotency `token` made at or after `not_before`, if it did.
    async fn snapshot_made_by(&self, token: &str, not_before: DateTime<Utc>) -> Result<Option<String>, StoreError>;
    /// Records an operation on an existing snapshot together with the snapshot's new state, only
    /// if the snapshot is still as `expected_updated_at` says (Conflict otherwise).
    async fn insert_operation_for(
        &self,
        snapshot: &Snapshot,
        expected_updated_at: DateTime<Utc>,
        operation: &Operation,
    ) -> Result<(), StoreError>;

    /// Open operations of `lane` that are due, oldest first, leased to `owner` until `lease_until`.
    async fn claim_due_operations(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError>;
    /// Open operations of a cluster (or of every cluster).
    async fn open_operations(&self, cluster_id: Option<&str>) -> Result<Vec<Operation>, StoreError>;
    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError>;
    /// The cluster's most recently finished failed operation.
    async fn last_failed_operation(&self, cluster_id: &str) -> Result<Option<Operation>, StoreError>;
    async fn get_snapshots(&self, ids: &[String]) -> Result<Vec<Snapshot>, StoreError>;

    async fn get_snapshot_config(&self, cluster_id: &str) -> Result<Option<SnapshotConfig>, StoreError>;
    /// The config of each cluster in `scope` that has one, by cluster id. One catalog read.
    async fn snapshot_configs(&self, scope: Scope<'_>) -> Result<HashMap<String, SnapshotConfig>, StoreError>;
    /// Stores a cluster's config and when its next automatic snapshot is due (`None`: never).
    async fn put_snapshot_config(
        &self,
        cluster_id: &str,
        config: &SnapshotConfig,
        next: Option<NextFire>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Clusters whose automatic snapshot is due at `now`, earliest first.
    async fn due_fires(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueFire>, StoreError>;
    /// Records a fire: moves the cluster's schedule to `next` (only if it is still at
    /// `fire.next`, so a fire happens once) and writes the snapshot with its create operation,
    /// unless `limits` would be passed; the count and the write are one transaction, serialized
    /// with every other fire, so the limits hold however many replicas fire at once.
    async fn record_fire(
        &self,
        fire: &DueFire,
        snapshot: &Snapshot,
        operation: &Operation,
        next: NextFire,
        limits: FireLimits,
    ) -> Result<FireOutcome, StoreError>;
    /// Open create operations per cluster.
    async fn open_creates_per_cluster(&self) -> Result<HashMap<String, u32>, StoreError>;
    /// Automatic snapshots to delete at `now`: failed ones, and finished ones whose slot is
    /// older than their cluster's keepday; none that is running or already being deleted.
    async fn expired_automatic(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Snapshot>, StoreError>;
    /// Records a batch delete: marks its snapshots as being deleted (skipping any already being
    /// deleted) and writes the operation with the ones it took. Returns those ids.
    async fn insert_batch_delete(&self, operation: &Operation) -> Result<Vec<String>, StoreError>;

    /// Records that `source`'s repository is registered on `target`; Conflict when it already is.
    async fn insert_shared_repository(&self, target: &str, source: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Forgets it; NotFound when it was not recorded.
    async fn delete_shared_repository(&self, target: &str, source: &str) -> Result<(), StoreError>;
    /// The sources whose repositories are registered on `target`, oldest first.
    async fn shared_repository_sources(&self, target: &str) -> Result<Vec<String>, StoreError>;

    /// Conflict when the project already has a profile of that name. A default profile
    /// replaces the project's previous default.
    async fn insert_storage_profile(&self, profile: &StorageProfile) -> Result<(), StoreError>;
    async fn get_storage_profile(&self, project_id: &str, name: &str) -> Result<Option<StorageProfile>, StoreError>;
    async fn list_storage_profiles(&self, project_id: &str) -> Result<Vec<StorageProfile>, StoreError>;
    /// The storage profiles of the projects of the clusters in `scope`, by project id, each
    /// project's by name. One catalog read.
    async fn scoped_storage_profiles(
        &self,
        scope: Scope<'_>,
    ) -> Result<HashMap<String, Vec<StorageProfile>>, StoreError>;
    /// Makes the named profile the project's only default.
    async fn set_default_storage_profile(&self, project_id: &str, name: &str) -> Result<(), StoreError>;
    async fn delete_storage_profile(&self, project_id: &str, name: &str) -> Result<(), StoreError>;

    /// Writes an operation's state (and its snapshot's change) while its step is still running;
    /// the lease is kept. `LeaseLost` (nothing written) unless `owner` still holds the lease:
    /// another replica took the operation over.
    async fn checkpoint_operation(
        &self,
        operation: &Operation,
        change: &SnapshotChange,
        owner: &str,
    ) -> Result<(), StoreError>;
    /// What the fleet view needs of every cluster of `scope`, by cluster id,
    /// read in a fixed number of statements: its snapshot configuration and next fire, its
    /// newest completed snapshot (not being deleted), how many snapshot creates failed since its
    /// last successful one (counted up to `recent`), its last failed operation, and its open
    /// operations.
    /// Clusters with none of these are absent.
    async fn fleet_facts(&self, scope: Scope<'_>, recent: usize) -> Result<HashMap<String, HealthFacts>, StoreError>;
    /// Releases every lease `owner` holds; how many. Used at a node's start, when nothing of its
    /// previous run can still be working.
    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError>;
    /// Extends the lease of an operation `owner` holds; `false` when it no longer holds it.
    async fn renew_lease(&self, id: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Writes an operation's new state and its snapshot's change in one transaction and releases
    /// the lease. `LeaseLost` (nothing written) unless `owner` still holds the lease: another
    /// replica took the operation over, and its outcome is the one that counts.
    async fn save_step(&self, operation: &Operation, change: &SnapshotChange, owner: &str) -> Result<(), StoreError>;
}

/// Webhooks and their deliveries (`notify`): the outbox events are written to.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    /// Sets the webhook of its project (the global one when it has none). One already set keeps
    /// its id and its deliveries; the webhook as stored is returned.
    async fn put_webhook(&self, webhook: &Webhook) -> Result<Webhook, StoreError>;
    /// Every webhook, the global one first, then by project.
    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError>;
    /// Removes the webhook of `project_id` (the global one when none); whether there was one.
    async fn delete_webhook(&self, project_id: Option<&str>) -> Result<bool, StoreError>;
    /// Up to `limit` ended operations no event was made of yet, oldest end first.
    async fn unnotified_operations(&self, limit: u32) -> Result<Vec<Operation>, StoreError>;
    /// Marks operation `id` notified and inserts its `deliveries`, in one transaction; nothing
    /// when another replica marked it first.
    async fn mark_notified(&self, id: &str, deliveries: &[Delivery]) -> Result<(), StoreError>;
    /// The protection each cluster was last recorded with, by cluster id.
    async fn protection_states(&self) -> Result<HashMap<String, String>, StoreError>;
    /// Records cluster `cluster_id`'s protection `(before, after)` (before: none when it had
    /// none) with `deliveries`, in one transaction; `false`, writing nothing, when the recorded
    /// protection is no longer `before` (another replica recorded the change).
    async fn change_protection(
        &self,
        cluster_id: &str,
        change: (Option<&str>, &str),
        at: DateTime<Utc>,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError>;
    /// Claims up to `limit` pending deliveries due at `now` (and not claimed by a live lease)
    /// until `until`, each with its webhook, at most `per_webhook` of each webhook (one receiver
    /// that does not answer holds no other up); deliveries another replica claimed are skipped.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limits: (u32, u32),
    ) -> Result<Vec<(Delivery, Webhook)>, StoreError>;
    /// Writes a delivery's state, attempts, next attempt and error, and releases its claim;
    /// `false`, writing nothing, when its claim (`claimed_until`) is no longer the one held.
    async fn finish_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;
    /// The newest `limit` deliveries of webhook `webhook_id`.
    async fn list_deliveries(&self, webhook_id: &str, limit: u32) -> Result<Vec<Delivery>, StoreError>;
}

/// Who may call snapkeep and what they did: access keys, the nonces of signed requests, the
/// audit log, and the secrets sealed under the master key.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Records a console session, dropping those expired by `now`.
    async fn insert_session(&self, session: &ConsoleSession, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The session whose browser token hashes to `token_hash`, expired or not.
    async fn get_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Inserts a key; with `retiring`, first sets that key's expiry, in the same transaction.
    /// Refused (Conflict), changing nothing, when the project would then have more than
    /// `max_active` keys active at the new key's `created_at`.
    async fn insert_access_key(
        &self,
        key: &AccessKey,
        retiring: Option<(&str, DateTime<Utc>)>,
        max_active: usize,
    ) -> Result<(), StoreError>;
    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKey>, StoreError>;
    async fn list_access_keys(&self, project_id: &str) -> Result<Vec<AccessKey>, StoreError>;
    /// Enables or disables a key; enabling is refused (Conflict) when its project would then have
    /// more than `max_active` keys active at `now`.
    async fn set_access_key_enabled(
        &self,
        access_key: &str,
        enabled: bool,
        max_active: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn delete_access_key(&self, access_key: &str) -> Result<(), StoreError>;

    /// Claims a mutating request signed without a nonce, by key and signature, forgetting claims
    /// older than `forget_before`: a new one is claimed, one seen before answers with its outcome
    /// (`Running` while it still runs).
    async fn claim_request(
        &self,
        access_key: &str,
        signature: &str,
        seen_at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<RequestClaim, StoreError>;
    /// Records the answer a claimed request got.
    async fn record_outcome(
        &self,
        access_key: &str,
        signature: &str,
        outcome: &RequestOutcome,
    ) -> Result<(), StoreError>;
    /// Remembers a request nonce of a key; `false` when it was already remembered. Nonces seen
    /// before `forget_before` are forgotten in the same transaction.
    async fn remember_nonce(
        &self,
        access_key: &str,
        nonce: &str,
        seen_at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Entries matching `query`, oldest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// The catalog setting `name`, if written. Every catalog setting is a value sealed under the
    /// master key (the master-key check text, the backup integrity key).
    async fn catalog_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes setting `name` unless it exists; returns the value stored (the one written, or the
    /// one another writer stored first).
    async fn init_catalog_setting(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Writes setting `name`, replacing what it held.
    async fn put_catalog_setting(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError>;
    /// Re-seals every stored secret and catalog setting from `old` to `new` in one transaction;
    /// nothing changes unless all of them open. The catalog settings are held exclusively first,
    /// then the rotation is refused (`InUse`, naming them) while a replica other than `rotator`
    /// is live by the catalog server's clock. Returns how many secrets were re-sealed.
    async fn reseal_secrets(&self, ciphers: (&Cipher, &Cipher), rotator: &str) -> Result<u64, StoreError>;

    /// Records `replica`'s announcement (its row inserted or replaced, `seen_at` the catalog
    /// server's time, which it returns) while holding catalog setting `guard` shared, provided
    /// it still holds the value given (what the replica's key opened); `KeyChanged` otherwise,
    /// nothing written.
    async fn announce_replica(&self, replica: &Replica, guard: (&str, &[u8])) -> Result<Announcement, StoreError>;
    /// Every replica's last announcement, by id.
    async fn list_replicas(&self) -> Result<Vec<Replica>, StoreError>;
    /// Removes a replica's row (at its clean stop).
    async fn forget_replica(&self, id: &str) -> Result<(), StoreError>;
}
