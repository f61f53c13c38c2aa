//! Errors of the core operations.
//!
//! Rules: each variant names what went wrong in domain terms, never an HTTP status; each dialect
//! maps these to its own codes in exactly one place. Lower-layer errors (store, engine) are carried
//! whole so the dialect can tell a client fault from a server fault.

use crate::engine::EngineError;

/// Which kind of resource was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    Project,
    Cluster,
    TargetCluster,
    Snapshot,
    AccessKey,
    /// The source of a reference repository (missing, or another project's).
    SourceCluster,
    SharedRepository,
    StorageProfile,
    /// An automatic-snapshot strategy (by its id).
    Policy,
    /// A durable operation, asked for by its id (a DWS job).
    Operation,
    /// A project's webhook, or the global one.
    Webhook,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the request body is empty")]
    EmptyRequest,
    #[error("invalid period: {0}")]
    InvalidPeriod(String),
    #[error("invalid prefix {0:?}: must match ^[a-z][a-z0-9_-]{{0,31}}$")]
    InvalidPrefix(String),
    #[error("invalid retention {0}: keepday must be 1 to 90 days")]
    InvalidRetention(i64),
    #[error("invalid agency {0:?}")]
    InvalidAgency(String),
    #[error("the source instance is in region {source_region}, the target in {target_region}")]
    RegionMismatch { source_region: String, target_region: String },
    #[error("the source runs {source_version}, which the target ({target_version}) cannot read")]
    SourceTooNew { source_version: String, target_version: String },
    #[error("the repository of {0} is already referenced by this instance")]
    SharedRepositoryExists(String),
    #[error("snapshots are already disabled for this cluster")]
    SnapshotsAlreadyDisabled,
    #[error("snapshots are disabled for this cluster; enable them with the snapshot settings first")]
    SnapshotsDisabled,
    #[error("{0:?} not found")]
    NotFound(NotFound),
    #[error("a snapshot named {0} already exists in this cluster")]
    SnapshotNameTaken(String),
    #[error("a project named {0} already exists")]
    ProjectNameTaken(String),
    #[error("a cluster with id {0} already exists")]
    ClusterIdTaken(String),
    #[error("a cluster named {0} already exists in this project")]
    ClusterNameTaken(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("the snapshot is being deleted")]
    SnapshotBeingDeleted,
    #[error("the snapshot is still being created")]
    SnapshotNotReady,
    #[error("the snapshot ended {0} and cannot be restored")]
    SnapshotUnusable(String),
    #[error("a restore is already running on cluster {0}")]
    RestoreInProgress(String),
    #[error("restore refused: {0}")]
    RestoreRefused(String),
    #[error("{0} still has clusters; delete them first")]
    ProjectNotEmpty(String),
    #[error("cluster {0} still has snapshots being created, deleted or restored")]
    ClusterBusy(String),
    /// A replay of a signed request that is still being executed.
    #[error("the same signed request is being executed; a repeat once it ends gets its answer")]
    RequestRunning,
    #[error("cannot register the cluster: {0}")]
    ClusterUnusable(String),
    /// The cluster refused to register or verify its repository at the proposed location.
    #[error("the cluster cannot use the repository: {0}")]
    RepositoryRefused(String),
    #[error("not authenticated: {0}")]
    Unauthenticated(#[from] crate::caller::AuthFailure),
    #[error("project {0} already has two active access keys; disable or delete one first")]
    TooManyActiveKeys(String),
    #[error("access key {0} is not active")]
    KeyNotActive(String),
    #[error("the master key does not open this catalog's secrets")]
    WrongMasterKey,
    /// Other replicas serve the catalog (named, with when each was last seen).
    #[error("other replicas serve this catalog: {0}")]
    ReplicasLive(String),
    /// This replica has not announced itself to the catalog within three quarters of its
    /// lease, so it seals no secret (another process may have rotated the master key).
    #[error(
        "this replica has not reached the catalog for most of its lease; it seals no secret until it does \
         (the master key may have been rotated meanwhile)"
    )]
    PresenceLapsed,
    /// This machine's clock is too far from the catalog server's.
    #[error(
        "this machine's clock is {offset_ms} ms off the catalog server's; replicas need clocks within \
         {max_ms} ms of it (a quarter of lease-secs): synchronise it (NTP)"
    )]
    ClockOffset { offset_ms: i64, max_ms: i64 },
    #[error("no storage profile named {0:?} in this project")]
    UnknownStorageProfile(String),
    #[error("a storage profile named {0} already exists in this project")]
    StorageProfileExists(String),
    #[error("storage profile {profile} holds the repository of cluster {cluster}")]
    StorageProfileInUse { profile: String, cluster: String },
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("secret handling: {0}")]
    Secret(#[from] crate::secrets::SecretError),
}

impl CoreError {
    /// `field` breaks a rule, said by `message` (also used by dialects for their own rules, so
    /// every rule a dialect answers renders the same way).
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

/// A failure of the catalog store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; the string names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Another replica holds the lease of the operation being written (it took the operation
    /// over, or the operation ended); nothing was written.
    #[error("the operation's lease is held by another replica")]
    LeaseLost,
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Refused while others use what would change; the string names them.
    #[error("in use by {0}")]
    InUse(String),
}
