//! snapkeep's domain: the types every dialect shares, the domain's validation rules,
//! the operation state machine that drives a snapshot job to its end, and the traits behind which
//! the store, the engines and the storage live. Nothing here knows about HTTP or SQL.

mod audit;
mod authenticate;
mod automatic;
mod backups;
mod caller;
mod clock;
mod clusters;
mod database_steps;
mod drift;
mod engine;
mod error;
mod fleet;
mod integrity;
mod keys;
mod limits;
mod locations;
mod master_key;
mod metrics;
mod model;
mod notify;
mod operations;
mod page;
mod physical;
pub mod policy;
mod profiles;
mod replicas;
mod repository;
mod restore_plan;
mod restores;
mod search_steps;
mod secrets;
mod sessions;
mod shared;
mod snapkeep;
mod snapshots;
mod step;
mod storage;
mod store;
mod tracking;
pub mod validate;

pub use automatic::{FireReport, Fired, PolicyChange, SettingsInput, jitter};
pub use backups::{DatabasePolicyInput, NewClusterInput, StrategyInput, database_strategy};
pub use caller::{AuthFailure, Caller, DEFAULT_MAX_SKEW, MAX_SKEW_RANGE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use drift::Drift;
pub use engine::{
    EngineConnector, EngineEndpoint, EngineError, EngineErrorKind, EngineFamily, EngineFlavor, EngineInfo,
    EngineVersion, IndexState, RecoveryStage, RepositorySpec, RestoreRequest, SearchEngine, ShardRecovery,
    SnapshotInfo, SnapshotProgress, SnapshotRequest, SnapshotState,
};
pub use error::{CoreError, NotFound, StoreError};
pub use fleet::{
    ClusterHealth, FAILING_AFTER, HealthFacts, LastSuccess, Protection, RECENT_WITHOUT_POLICY, RunningOperation,
};
pub use integrity::IntegrityKey;
pub use limits::{OperationTimeouts, Scheduling};
pub use master_key::{integrity_key, master_key_opens, rotate_master_key, verify_master_key};
pub use metrics::{METRICS_CONTENT_TYPE, Metrics};
pub use model::{
    AccessKey, AuditEntry, AuditQuery, Cluster, ClusterFailures, KeyState, Lane, LastFailure, NewCluster,
    NewClusterTarget, Operation, OperationKind, OperationPhase, OperationProgress, Project, RestoreParams,
    RestoreStatus, Snapshot, SnapshotKind, SnapshotStatus,
};
pub use notify::{
    Delivery, DeliveryState, EventKind, MAX_DELIVERY_ATTEMPTS, NewWebhook, Outgoing, Webhook,
    signature as webhook_signature,
};
pub use operations::{Reconciler, RetryPolicy};
pub use page::{
    ClusterPage, MAX_PAGE, OperationFilter, OperationPage, OperationState, Page, Scope, SnapshotFilter, SnapshotPage,
    TimeRange,
};
pub use physical::{BackupRequest, BackupSummary, DatabaseEngine, NewServer, RestoredServer, TransferProgress};
pub use policy::{
    Frequency, NameStyle, Period, QuartzCron, Schedule, SnapshotConfig, SnapshotPolicy, SnapshotSettings,
};
pub use profiles::RepositoryUsage;
pub use replicas::{Announcement, Replica};
pub use repository::{Repositories, RepositoryNames, engine_client_settings, repository_spec};
pub use restore_plan::{RestorePlan, can_restore_into};
pub use restores::RestoreInput;
pub use secrets::{Cipher, SecretError};
pub use sessions::{ConsoleSession, SESSION_LIFETIME, csrf_matches, csrf_token};
pub use shared::SharedRepository;
pub use snapkeep::Snapkeep;
pub use snapkeep_auth::SignedRequest;
pub use snapshots::{CreateSnapshotInput, NameScope, SnapshotName};
pub use storage::{
    LOCAL_PROFILE, NewStorageProfile, ObjectPath, ObjectStorage, RepositoryLocation, SnapshotLocation,
    StorageCredentials, StorageError, StorageKind, StorageProfile, StorageTarget, join_path,
};
pub use store::{
    AccessStore, DueFire, FireLimits, FireOutcome, NextFire, NotifyStore, RequestClaim, RequestOutcome, SnapshotChange,
    Store,
};
