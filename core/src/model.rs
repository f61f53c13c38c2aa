//! The records snapkeep keeps: projects (tenants), their access keys, registered clusters,
//! snapshots, and the durable operations that create, delete and restore them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{EngineFlavor, EngineVersion};
use crate::storage::SnapshotLocation;

/// A tenant. Every cluster, key and snapshot belongs to exactly one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An AK/SK pair. The secret is held only encrypted.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub access_key: String,
    pub project_id: String,
    pub secret_encrypted: Vec<u8>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    /// Set when a rotation retires the key: it signs requests until then, never after.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether a key signs requests now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Disabled,
    Expired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Expired => "expired",
        }
    }
}

impl AccessKey {
    pub fn state(&self, now: DateTime<Utc>) -> KeyState {
        match (self.enabled, self.expires_at) {
            (false, _) => KeyState::Disabled,
            (true, Some(at)) if at <= now => KeyState::Expired,
            (true, _) => KeyState::Active,
        }
    }
}

/// A registered search cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub endpoint: String,
    pub username: Option<String>,
    /// Basic-auth password, encrypted with the master key.
    pub password_encrypted: Option<Vec<u8>>,
    pub region: String,
    pub flavor: EngineFlavor,
    pub version: EngineVersion,
    pub created_at: DateTime<Utc>,
}

/// What a caller gives to register a cluster.
#[derive(Debug, Clone, Default)]
pub struct NewCluster {
    pub project_id: String,
    pub id: Option<String>,
    pub name: String,
    pub endpoint: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub region: Option<String>,
}

/// Status of a snapshot as the CSS API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStatus {
    Building,
    Completed,
    Failed,
    PartFailed,
}

impl SnapshotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Building => "BUILDING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::PartFailed => "PART_FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BUILDING" => Self::Building,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            "PART_FAILED" => Self::PartFailed,
            _ => return None,
        })
    }

    /// Whether the snapshot holds data that can be restored.
    pub fn is_restorable(self) -> bool {
        matches!(self, Self::Completed | Self::PartFailed)
    }
}

/// Where the last restore of a snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreStatus {
    None,
    Restoring,
    Success,
    Failed,
}

impl RestoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Restoring => "restoring",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "restoring" => Self::Restoring,
            "success" => Self::Success,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// Who asked for a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    Manual,
    Automatic,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Automatic => "auto",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(Self::Manual),
            "auto" => Some(Self::Automatic),
            _ => None,
        }
    }
}

/// A snapshot of one cluster, as snapkeep's catalog knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub project_id: String,
    pub cluster_id: String,
    /// The name in the dialect and on the engine.
    pub name: String,
    pub description: String,
    /// What the caller asked for (comma list, wildcards); empty means all.
    pub requested_indices: String,
    /// The indices the engine put in the snapshot, once it knows.
    pub indices: Vec<String>,
    pub kind: SnapshotKind,
    pub status: SnapshotStatus,
    /// The repository on the cluster that holds it.
    pub repository: String,
    pub engine_version: Option<String>,
    pub total_shards: Option<u32>,
    pub failed_shards: Option<u32>,
    pub start_time_ms: Option<i64>,
    pub end_time_ms: Option<i64>,
    pub failure_reason: Option<String>,
    pub deleting: bool,
    pub restore_status: RestoreStatus,
    /// Why the last restore or delete of this snapshot failed (`restore failed: …`, `delete
    /// failed: …`); cleared when another restore or delete of it starts.
    pub operation_failure: Option<String>,
    /// For automatic snapshots: the schedule slot it was taken for (retention counts from it).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Bytes the snapshot holds in storage, once known (snapshots snapkeep takes itself).
    pub size_bytes: Option<u64>,
    /// Where a snapshot snapkeep takes itself is written, fixed when it starts.
    pub location: Option<SnapshotLocation>,
    /// The name in lowercase when its create asked for it to be unique in the project
    /// (`NameScope::Project`): the catalog holds one snapshot per project with it, whichever
    /// replica wrote first.
    pub project_unique_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A cluster's failures at a glance (`Snapkeep::cluster_failures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFailures {
    pub last: Option<LastFailure>,
    /// Automatic snapshots in the catalog by how they ended.
    pub automatic_completed: usize,
    pub automatic_part_failed: usize,
    pub automatic_failed: usize,
}

/// The most recent failed operation of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    pub operation_id: String,
    pub kind: OperationKind,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl LastFailure {
    /// The failure `op` (a failed operation) records.
    pub fn of(op: Operation) -> Self {
        Self {
            at: op.finished_at.unwrap_or(op.created_at),
            reason: op.last_error.unwrap_or_default(),
            operation_id: op.id,
            kind: op.kind,
        }
    }
}

/// What a durable operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    CreateSnapshot,
    DeleteSnapshot,
    RestoreSnapshot,
    /// Deletes several snapshots of one cluster (retention, disabling with deleteAuto).
    DeleteSnapshots,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSnapshot => "create_snapshot",
            Self::DeleteSnapshot => "delete_snapshot",
            Self::RestoreSnapshot => "restore_snapshot",
            Self::DeleteSnapshots => "delete_snapshots",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create_snapshot" => Self::CreateSnapshot,
            "delete_snapshot" => Self::DeleteSnapshot,
            "restore_snapshot" => Self::RestoreSnapshot,
            "delete_snapshots" => Self::DeleteSnapshots,
            _ => return None,
        })
    }
}

/// The pool of the reconciler an operation runs in. A transfer (a PostgreSQL backup or restore)
/// streams for as long as the database takes; transfers run in a bounded pool of their own, so
/// short engine steps never queue behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    Steps,
    Transfers,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Steps, Lane::Transfers];

    /// The lane of an operation of `kind` on a cluster of `flavor`.
    pub fn of(kind: OperationKind, flavor: EngineFlavor) -> Self {
        let transfer = matches!(kind, OperationKind::CreateSnapshot | OperationKind::RestoreSnapshot);
        if transfer && flavor.is_database() { Self::Transfers } else { Self::Steps }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Steps => "steps",
            Self::Transfers => "transfers",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|lane| lane.as_str() == s)
    }
}

/// Where an operation stands. `Pending` has not been sent to the engine (or it is not known to
/// have been); `Submitted` has; the last two are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationPhase {
    Pending,
    Submitted,
    Succeeded,
    Failed,
}

impl OperationPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Submitted => "submitted",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "submitted" => Self::Submitted,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// How a restore was asked for; stored with the operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreParams {
    pub source_cluster_id: String,
    pub indices: Vec<String>,
    pub rename_pattern: Option<String>,
    pub rename_replacement: Option<String>,
    pub replace_existing: bool,
    /// Target index names the restore will produce (computed when it was accepted).
    pub target_indices: Vec<String>,
    /// Repository name the snapshot is read from on the target cluster.
    pub repository: String,
    /// A restore into a new cluster (PostgreSQL): the cluster it creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_cluster: Option<NewClusterTarget>,
}

/// The cluster a restore creates: its id and name (decided when the restore is accepted) and the
/// port its server listens on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewClusterTarget {
    pub id: String,
    pub name: String,
    pub port: u16,
}

/// A durable unit of work: written before anything is done, advanced by the reconciler until it
/// reaches a terminal phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub id: String,
    pub kind: OperationKind,
    /// The snapshot acted on (for a batch: the first of `batch`).
    pub snapshot_id: String,
    /// Every snapshot a batch delete acts on; empty for other kinds.
    pub batch: Vec<String>,
    /// The cluster the work runs on (for a restore: the target; for a database restore, the
    /// source).
    pub cluster_id: String,
    pub lane: Lane,
    pub phase: OperationPhase,
    pub restore: Option<RestoreParams>,
    pub attempts: u32,
    pub next_run_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// The last progress seen (an opaque marker) and when it last changed.
    pub progress_marker: Option<String>,
    pub progress_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How far an open operation is, from its progress marker: bytes done of all for a transfer
/// snapkeep streams itself, bytes and shards done of all for a search engine's running snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationProgress {
    pub bytes: Option<(u64, u64)>,
    pub shards: Option<(u32, u32)>,
}

impl Operation {
    /// Its progress; nothing for operations whose markers mean something else (a restore's).
    pub fn progress(&self) -> OperationProgress {
        let Some(marker) = self.progress_marker.as_deref() else { return OperationProgress::default() };
        if self.lane == Lane::Transfers {
            let bytes = crate::physical::TransferProgress::parse_marker(marker);
            return OperationProgress { bytes, shards: None };
        }
        match crate::engine::SnapshotProgress::parse_marker(marker)
            .filter(|_| self.kind == OperationKind::CreateSnapshot)
        {
            Some(p) => OperationProgress {
                bytes: Some((p.bytes_done, p.bytes_total)),
                shards: Some((p.shards_done, p.shards_total)),
            },
            None => OperationProgress::default(),
        }
    }
}

/// An entry of the audit log: one mutating call of any dialect (admin included), with who made
/// it, what it asked for, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Increasing; 0 before the entry is stored.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `css`, `alibaba` or `admin`.
    pub dialect: String,
    /// The tenant the call acted for; none for admin calls.
    pub project_id: Option<String>,
    /// The access key that signed the call (`admin` for the admin token).
    pub access_key: String,
    /// The vendor's name of the action (`CreateSnapshot`, `AddSnapshotRepo`, …).
    pub action: String,
    /// The resources the call named, from its path (`cluster/snapshot`).
    pub target: String,
    pub status: u16,
    /// `ok`, or the error code the dialect answered with.
    pub outcome: String,
    pub request_id: String,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub project_id: Option<String>,
    /// Only entries with a larger id (the `next` of the previous page), oldest first.
    pub after_id: Option<i64>,
    /// Only entries with a smaller id, newest first (`after_id` is then not used).
    pub before_id: Option<i64>,
    pub limit: u32,
}
