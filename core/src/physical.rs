//! The boundary to database engines whose snapshots snapkeep takes itself (PostgreSQL): a
//! physical backup streamed from the server into object storage, and a restore from storage into
//! a new server. Search engines are driven through their own `_snapshot` API (`engine`);
//! both kinds of cluster share the catalog, the operations, the scheduler and retention.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::engine::{EngineEndpoint, EngineError, EngineInfo};
use crate::storage::ObjectPath;

/// What a backup is asked to do, and what a restore expects of the backup it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRequest {
    /// The backup label the server records (`snapkeep <snapshot id>`).
    pub label: String,
}

impl BackupRequest {
    /// The backup of snapshot `snapshot_id`.
    pub fn of(snapshot_id: &str) -> Self {
        Self { label: format!("snapkeep {snapshot_id}") }
    }
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub server_version: String,
    /// Bytes of the database as the server sent them.
    pub database_bytes: u64,
    /// Bytes written to storage (compressed parts and manifests).
    pub stored_bytes: u64,
    pub start_lsn: String,
    pub end_lsn: String,
}

/// Bytes done of a transfer and its expected total, shared between the transfer and whoever
/// reports on it.
#[derive(Debug, Default)]
pub struct TransferProgress {
    done: AtomicU64,
    total: AtomicU64,
}

impl TransferProgress {
    pub fn add_done(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Raises the bytes done to `bytes` (a count reported by the other side).
    pub fn raise_done(&self, bytes: u64) {
        self.done.fetch_max(bytes, Ordering::Relaxed);
    }

    pub fn set_total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }

    /// (done, total); total is 0 while unknown.
    pub fn get(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
    }

    /// The progress as stored with an operation: `done/total`.
    pub fn marker(&self) -> String {
        let (done, total) = self.get();
        format!("{done}/{total}")
    }

    /// Percent done from a stored marker (never 100 until the operation ends).
    pub fn percent(marker: &str) -> Option<u32> {
        let (done, total) = Self::parse_marker(marker)?;
        (total > 0).then(|| ((done.min(total) * 100 / total) as u32).min(99))
    }

    /// Bytes done and in all from a stored marker (`done/total`).
    pub fn parse_marker(marker: &str) -> Option<(u64, u64)> {
        let (done, total) = marker.split_once('/')?;
        Some((done.parse().ok()?, total.parse().ok()?))
    }
}

/// The server a restore creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServer {
    /// The new cluster's id: its data directory is named after it.
    pub cluster_id: String,
    pub port: u16,
}

/// A restored server, started and answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredServer {
    /// The connection URL of the new cluster (without credentials).
    pub url: String,
}

/// A database engine snapkeep backs up itself.
#[async_trait]
pub trait DatabaseEngine: Send + Sync {
    /// Contacts the server and tells its version; the credentials must allow replication.
    async fn probe(&self, endpoint: &EngineEndpoint) -> Result<EngineInfo, EngineError>;
    /// Streams a consistent physical backup into `objects`, ending with its manifest written and
    /// verified. On error, what was written is left for the caller to remove.
    async fn back_up(
        &self,
        endpoint: &EngineEndpoint,
        objects: Arc<dyn ObjectPath>,
        request: &BackupRequest,
        progress: &TransferProgress,
    ) -> Result<BackupSummary, EngineError>;
    /// The major version the local server binaries run (restores need the backup's).
    fn restore_major_version(&self) -> Result<u32, EngineError>;
    /// Downloads and verifies a backup, materialises it as a new data directory and starts a
    /// server on it. The backup must be the one `backup` asked for, written by this catalog's
    /// snapkeep and unchanged since: anything else is refused before a file is written. On error
    /// nothing is left running and the directory is removed.
    async fn restore(
        &self,
        objects: Arc<dyn ObjectPath>,
        backup: &BackupRequest,
        server: &NewServer,
        progress: &TransferProgress,
    ) -> Result<RestoredServer, EngineError>;
    /// Checks what a restore into `server` needs before anything is downloaded (its port free on
    /// the restore address). Errors: a permanent `EngineError` naming what is in the way.
    async fn check_new_server(&self, server: &NewServer) -> Result<(), EngineError>;
    /// Stops the server a restore started for `cluster_id` and removes its directory: what an
    /// interrupted restore left behind, or a restored cluster being deleted. A cluster the engine
    /// did not restore has neither, which is not an error.
    async fn discard_restored(&self, cluster_id: &str) -> Result<(), EngineError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_markers_read_back_as_percent() {
        let progress = TransferProgress::default();
        progress.set_total(200);
        progress.add_done(50);
        assert_eq!(progress.marker(), "50/200");
        assert_eq!(TransferProgress::percent(&progress.marker()), Some(25));
        progress.raise_done(120);
        progress.raise_done(80);
        assert_eq!(progress.marker(), "120/200");
        assert_eq!(TransferProgress::percent("300/200"), Some(99));
        assert_eq!(TransferProgress::percent("5/0"), None);
        assert_eq!(TransferProgress::percent("garbage"), None);
    }
}
