//! The boundary to a search cluster's `_snapshot` API: what snapkeep asks of an engine, the
//! answers it gets, and what each engine version can do.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The engine a cluster runs: Elasticsearch, OpenSearch or PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineFlavor {
    Elasticsearch,
    Opensearch,
    /// A PostgreSQL cluster: snapkeep takes its physical backups itself.
    Postgres,
}

impl EngineFlavor {
    pub const ALL: [EngineFlavor; 3] = [Self::Elasticsearch, Self::Opensearch, Self::Postgres];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Elasticsearch => "elasticsearch",
            Self::Opensearch => "opensearch",
            Self::Postgres => "postgres",
        }
    }

    /// Whether snapkeep takes this engine's snapshots itself (rather than asking a `_snapshot` API).
    pub fn is_database(self) -> bool {
        self.family() == EngineFamily::Database
    }

    pub fn family(self) -> EngineFamily {
        match self {
            Self::Elasticsearch | Self::Opensearch => EngineFamily::Search,
            Self::Postgres => EngineFamily::Database,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "elasticsearch" => Some(Self::Elasticsearch),
            "opensearch" => Some(Self::Opensearch),
            "postgres" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// How an engine's snapshots are taken: by the engine's own `_snapshot` API (search engines), or
/// by snapkeep streaming a base backup (databases). Names, steps and restores follow the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineFamily {
    Search,
    Database,
}

/// A `major.minor.patch` engine version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl EngineVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }

    /// Parses `8.11.1`, `7.10`, `6.8.23-SNAPSHOT`.
    pub fn parse(s: &str) -> Option<Self> {
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        Some(Self { major, minor, patch })
    }
}

impl fmt::Display for EngineVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What `GET /` tells about a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub flavor: EngineFlavor,
    pub version: EngineVersion,
    pub cluster_name: String,
}

/// Where and how to reach a cluster.
#[derive(Clone)]
pub struct EngineEndpoint {
    /// Base URL, possibly with a path prefix (`http://host:9200/es`).
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl fmt::Debug for EngineEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineEndpoint")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `state` of a SnapshotInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    InProgress,
    Success,
    Failed,
    Partial,
    Incompatible,
}

impl SnapshotState {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "IN_PROGRESS" | "STARTED" | "INIT" => Self::InProgress,
            "SUCCESS" => Self::Success,
            "FAILED" | "ABORTED" => Self::Failed,
            "PARTIAL" => Self::Partial,
            "INCOMPATIBLE" => Self::Incompatible,
            _ => return None,
        })
    }
}

/// The parts of an engine's SnapshotInfo snapkeep uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub uuid: Option<String>,
    pub version: Option<String>,
    pub state: SnapshotState,
    pub indices: Vec<String>,
    pub total_shards: u32,
    pub failed_shards: u32,
    pub start_time_ms: Option<i64>,
    pub end_time_ms: Option<i64>,
    pub reason: Option<String>,
}

/// Body of a create-snapshot request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// Index names or patterns; empty means all.
    pub indices: Vec<String>,
    /// A short tag stored with the snapshot (`metadata`).
    pub taken_by: String,
}

/// Body of a restore request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreRequest {
    pub indices: Vec<String>,
    pub rename_pattern: Option<String>,
    pub rename_replacement: Option<String>,
}

/// An index and whether it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexState {
    pub name: String,
    pub open: bool,
}

/// Stage of one shard's recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryStage {
    Running,
    Done,
}

/// One shard's recovery, as `GET {index}/_recovery` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecovery {
    pub index: String,
    pub shard: u32,
    /// Set when the shard is recovering from a snapshot: (repository, snapshot).
    pub snapshot_source: Option<(String, String)>,
    pub stage: RecoveryStage,
    /// Bytes recovered so far, for progress.
    pub recovered_bytes: u64,
    /// When this recovery started, in the cluster's clock (epoch ms).
    pub started_ms: i64,
}

/// What an engine's error means to snapkeep. Each driver documents which of its engine's errors
/// become which kind; `EngineError::is_transient` says which kinds are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineErrorKind {
    SnapshotMissing,
    RepositoryMissing,
    IndexNotFound,
    InvalidSnapshotName,
    SnapshotNameInUse,
    /// Another snapshot, delete or restore holds what this request needs; it frees up by itself.
    Busy,
    SnapshotRestore,
    RepositoryVerification,
    RepositoryReadonly,
    /// The cluster cannot use the repository as registered (a location outside `path.repo`, an
    /// unknown repository type, a missing setting): nothing changes until someone fixes it.
    RepositoryUnusable,
    /// The request itself is wrong (an invalid argument, a replacement naming a missing group),
    /// whatever HTTP status the engine gave it.
    BadRequest,
    /// The engine failed in a way asking again cannot change (a missing privilege, a local file,
    /// a server that does not start).
    Unrecoverable,
    /// A change to a repository that a snapshot, restore or delete is using (OpenSearch refuses
    /// any; Elasticsearch a new location).
    RepositoryInUse,
    Security,
    /// Data read back does not match what was written (a checksum or size differs).
    Integrity,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cluster unreachable: {0}")]
    Unreachable(String),
    #[error("cluster did not answer in time")]
    Timeout,
    #[error("cluster answered {status} {kind:?}: {reason}")]
    Api { status: u16, kind: EngineErrorKind, reason: String },
    #[error("cluster answered something unexpected: {0}")]
    Protocol(String),
    /// A failure on snapkeep's own side of a transfer (its storage, its disk, a server it
    /// starts), which the cluster had no part in; not retried.
    #[error("on snapkeep's side: {0}")]
    Local(String),
}

impl EngineError {
    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Timeout => true,
            Self::Protocol(_) | Self::Local(_) => false,
            Self::Api { status, kind, .. } => match kind {
                EngineErrorKind::Busy | EngineErrorKind::RepositoryInUse => true,
                EngineErrorKind::Other(_) => *status >= 500 || *status == 429,
                _ => false,
            },
        }
    }

    pub fn kind(&self) -> Option<&EngineErrorKind> {
        match self {
            Self::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// The `_snapshot` surface of one cluster.
#[async_trait]
pub trait SearchEngine: Send + Sync {
    async fn info(&self) -> Result<EngineInfo, EngineError>;
    /// Registers (or re-registers with the same settings) a repository and verifies it.
    async fn put_repository(&self, repository: &RepositorySpec) -> Result<(), EngineError>;
    /// Removes a repository registration (the data stays). A missing one is not an error.
    async fn delete_repository(&self, name: &str) -> Result<(), EngineError>;
    /// Checks that the cluster can use a registered repository.
    async fn verify_repository(&self, name: &str) -> Result<(), EngineError>;
    /// Starts a snapshot without waiting for it.
    async fn create_snapshot(&self, repository: &str, name: &str, request: &SnapshotRequest)
    -> Result<(), EngineError>;
    /// Reads one snapshot; `None` when the engine does not have it.
    async fn get_snapshot(&self, repository: &str, name: &str) -> Result<Option<SnapshotInfo>, EngineError>;
    /// Every snapshot the repository holds (finished or running), by name.
    async fn all_snapshots(&self, repository: &str) -> Result<Vec<String>, EngineError>;
    /// Which of `names` the repository holds (finished or running).
    async fn existing_snapshots(&self, repository: &str, names: &[String]) -> Result<Vec<String>, EngineError>;
    /// How far a snapshot is (`_status`): a running one's bytes and shards done of all, an ended
    /// one's all done with its size as the total; `None` when it is missing or failed.
    async fn snapshot_progress(&self, repository: &str, name: &str) -> Result<Option<SnapshotProgress>, EngineError>;
    /// Deletes snapshots (aborting running ones), in as few requests as the version allows.
    /// Snapshots already gone are not an error.
    async fn delete_snapshots(&self, repository: &str, names: &[String]) -> Result<(), EngineError>;
    /// Starts a restore without waiting for it.
    async fn restore_snapshot(&self, repository: &str, name: &str, request: &RestoreRequest)
    -> Result<(), EngineError>;
    /// Open/closed state of the named indices that exist.
    async fn index_states(&self, names: &[String]) -> Result<Vec<IndexState>, EngineError>;
    async fn close_indices(&self, names: &[String]) -> Result<(), EngineError>;
    /// Recovery of the named indices that exist.
    async fn recovery(&self, names: &[String]) -> Result<Vec<ShardRecovery>, EngineError>;
}

/// How far a running snapshot is, from the engine's `_status`: bytes processed of all its files,
/// and shards done of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub shards_done: u32,
    pub shards_total: u32,
}

impl SnapshotProgress {
    /// As an operation's progress marker: `bytes done/bytes total/shards done/shards total`.
    pub fn marker(&self) -> String {
        format!("{}/{}/{}/{}", self.bytes_done, self.bytes_total, self.shards_done, self.shards_total)
    }

    /// Reads [`SnapshotProgress::marker`] back.
    pub fn parse_marker(marker: &str) -> Option<Self> {
        let mut parts = marker.split('/');
        let mut next = || parts.next()?.parse::<u64>().ok();
        let (bytes_done, bytes_total, shards_done, shards_total) = (next()?, next()?, next()?, next()?);
        Some(Self {
            bytes_done,
            bytes_total,
            shards_done: u32::try_from(shards_done).ok()?,
            shards_total: u32::try_from(shards_total).ok()?,
        })
    }
}

/// Makes engine clients for endpoints.
#[async_trait]
pub trait EngineConnector: Send + Sync {
    /// Contacts the endpoint and tells what engine answers there.
    async fn probe(&self, endpoint: &EngineEndpoint) -> Result<EngineInfo, EngineError>;
    /// A client for a cluster whose engine is already known.
    fn connect(&self, endpoint: EngineEndpoint, info: &EngineInfo) -> Arc<dyn SearchEngine>;
}

/// A repository as the engine registers it.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositorySpec {
    pub name: String,
    pub kind: String,
    pub settings: Map<String, Value>,
    /// The bucket holding it, when it lives in object storage.
    pub bucket: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_suffixes_and_missing_parts() {
        assert_eq!(EngineVersion::parse("6.8.23"), Some(EngineVersion::new(6, 8, 23)));
        assert_eq!(EngineVersion::parse("7.10"), Some(EngineVersion::new(7, 10, 0)));
        assert_eq!(EngineVersion::parse("8.0.0-SNAPSHOT"), Some(EngineVersion::new(8, 0, 0)));
        assert_eq!(EngineVersion::parse("x.1"), None);
        assert!(EngineVersion::new(7, 10, 2) < EngineVersion::new(7, 17, 0));
    }

    #[test]
    fn only_server_side_and_busy_errors_are_transient() {
        let api = |status, kind| EngineError::Api { status, kind, reason: String::new() };
        assert!(EngineError::Timeout.is_transient());
        assert!(EngineError::Unreachable("x".into()).is_transient());
        assert!(api(503, EngineErrorKind::Busy).is_transient());
        assert!(api(500, EngineErrorKind::Other("x".into())).is_transient());
        assert!(!api(500, EngineErrorKind::SnapshotRestore).is_transient());
        assert!(!api(400, EngineErrorKind::InvalidSnapshotName).is_transient());
        assert!(!api(404, EngineErrorKind::Other("x".into())).is_transient());
        assert!(api(429, EngineErrorKind::Other("x".into())).is_transient());
        assert!(!api(500, EngineErrorKind::RepositoryUnusable).is_transient());
        assert!(!api(500, EngineErrorKind::BadRequest).is_transient());
        assert!(api(500, EngineErrorKind::RepositoryInUse).is_transient());
    }
}
