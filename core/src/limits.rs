//! The service's limits: how long each kind of operation may take, and how automatic snapshots
//! are spread and held back.

use std::time::Duration;

use crate::model::OperationKind;

/// How long each kind of operation may take, and how long without progress counts as stuck.
#[derive(Debug, Clone, Copy)]
pub struct OperationTimeouts {
    pub create: Duration,
    pub delete: Duration,
    pub restore: Duration,
    pub stuck_after: Duration,
    /// How often a submitted operation is looked at again.
    pub poll_every: Duration,
}

impl Default for OperationTimeouts {
    fn default() -> Self {
        Self {
            create: Duration::from_secs(24 * 3600),
            delete: Duration::from_secs(3600),
            restore: Duration::from_secs(24 * 3600),
            stuck_after: Duration::from_secs(3600),
            poll_every: Duration::from_secs(2),
        }
    }
}

impl OperationTimeouts {
    pub fn limit_for(&self, kind: OperationKind) -> chrono::Duration {
        let limit = match kind {
            OperationKind::CreateSnapshot => self.create,
            OperationKind::DeleteSnapshot | OperationKind::DeleteSnapshots => self.delete,
            OperationKind::RestoreSnapshot => self.restore,
        };
        chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX)
    }
}

/// Limits and spreading of automatic snapshots.
#[derive(Debug, Clone, Copy)]
pub struct Scheduling {
    /// Fires are spread over `[0, max_jitter)` after their slot, by cluster.
    pub max_jitter: Duration,
    /// Automatic or manual snapshots being created at once, over all clusters.
    pub global_limit: u32,
    /// … and per cluster.
    pub per_cluster_limit: u32,
    /// Clusters looked at per round.
    pub batch: u32,
}

impl Default for Scheduling {
    fn default() -> Self {
        Self { max_jitter: Duration::from_secs(30), global_limit: 64, per_cluster_limit: 1, batch: 500 }
    }
}
