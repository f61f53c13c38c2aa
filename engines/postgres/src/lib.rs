//! PostgreSQL as a snapkeep engine: registration checks a replication connection and reads the
//! server version; snapshots are physical base backups the server compresses with zstd, streamed
//! into object storage (`backup`, `archive`); restores materialise a new data directory in the
//! restore area, verified against the manifest, and start a new server on it (`restore`, `server`).

mod archive;
mod backup;
mod error;
mod manifest;
mod protocol;
mod restore;
mod server;
mod tar;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use snapkeep_core::{
    BackupRequest, BackupSummary, DatabaseEngine, EngineEndpoint, EngineError, EngineFlavor, EngineInfo, EngineVersion,
    IntegrityKey, NewServer, ObjectPath, RestoredServer, TransferProgress,
};

pub use backup::Tuning;
pub use error::PgError;
pub use protocol::ConnectionConfig;
pub use server::ServerBinaries;

/// The oldest server snapkeep backs up: `BASE_BACKUP` takes its options in parentheses and
/// compresses on the server from PostgreSQL 15 on.
const OLDEST_MAJOR_VERSION: u32 = 15;

/// Where restored clusters go and how they are reached.
#[derive(Debug, Clone)]
pub struct RestoreArea {
    /// Each restored cluster's directory is `<root>/<cluster id>` (data in `data/`).
    pub root: PathBuf,
    /// The address restored servers listen on (and their URLs name).
    pub listen: String,
    pub binaries: ServerBinaries,
}

/// The PostgreSQL engine.
#[derive(Debug, Clone)]
pub struct PostgresEngine {
    area: RestoreArea,
    tuning: Tuning,
    /// Seals every backup's manifest and authenticates it before a restore.
    integrity: IntegrityKey,
}

impl PostgresEngine {
    pub fn new(area: RestoreArea, tuning: Tuning, integrity: IntegrityKey) -> Self {
        Self { area, tuning, integrity }
    }

    fn cluster_dir(&self, cluster_id: &str) -> PathBuf {
        self.area.root.join(cluster_id)
    }

    async fn restore_into(
        &self,
        objects: Arc<dyn ObjectPath>,
        backup: &BackupRequest,
        server: &NewServer,
        progress: &TransferProgress,
    ) -> Result<RestoredServer, PgError> {
        self.check_port(server.port)?;
        let manifest = restore::read_manifest(objects.as_ref(), &self.integrity, &backup.label).await?;
        let local = self.area.binaries.major_version()?;
        if manifest.server_version_num / 10_000 != local {
            return Err(PgError::Unsupported(format!(
                "the backup is of PostgreSQL {}; the local binaries are {local}",
                manifest.server_version
            )));
        }
        let dir = self.cluster_dir(&server.cluster_id);
        if dir.exists() {
            return Err(PgError::Local(format!("{} already exists", dir.display())));
        }
        let data = dir.join("data");
        restore::materialise(objects, &manifest, &data, progress).await?;
        restore::configure_copy(&data)?;
        tracing::info!(cluster = %server.cluster_id, "restore: the data directory is written; starting the server");
        self.area.binaries.give_to_server_user(&dir).await?;
        self.area.binaries.start(&data, server.port, &self.area.listen, &dir.join("server.log")).await?;
        Ok(RestoredServer { url: format!("postgres://{}:{}/postgres", self.area.listen, server.port) })
    }

    /// Whether a new server could listen on `port` of the restore address: checked before the
    /// download, so a busy port costs no transfer.
    fn check_port(&self, port: u16) -> Result<(), PgError> {
        match std::net::TcpListener::bind((self.area.listen.as_str(), port)) {
            Ok(_) => Ok(()),
            Err(e) => Err(PgError::PortUnavailable(format!("{}:{port}: {e}", self.area.listen))),
        }
    }

    async fn discard(&self, cluster_id: &str) -> Result<(), PgError> {
        let dir = self.cluster_dir(cluster_id);
        let data = dir.join("data");
        if data.join("postmaster.pid").exists() {
            self.area.binaries.stop(&data).await?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| PgError::local(dir.display(), e))?;
        }
        Ok(())
    }
}

fn connection(endpoint: &EngineEndpoint) -> Result<ConnectionConfig, PgError> {
    ConnectionConfig::from_url(&endpoint.url, endpoint.username.as_deref(), endpoint.password.as_deref())
}

#[async_trait]
impl DatabaseEngine for PostgresEngine {
    async fn probe(&self, endpoint: &EngineEndpoint) -> Result<EngineInfo, EngineError> {
        let config = connection(endpoint)?;
        let mut session = protocol::ReplicationConnection::connect(&config).await?;
        let version_text = session.parameter("server_version").unwrap_or_default().to_owned();
        let system = session.query("IDENTIFY_SYSTEM").await?;
        session.close().await;
        let version = version_text
            .split_whitespace()
            .next()
            .and_then(EngineVersion::parse)
            .ok_or_else(|| EngineError::Protocol(format!("server_version {version_text:?}")))?;
        if version.major < OLDEST_MAJOR_VERSION {
            return Err(PgError::Unsupported(format!(
                "PostgreSQL {version_text}: snapkeep backs up PostgreSQL {OLDEST_MAJOR_VERSION} or later"
            ))
            .into());
        }
        let system_identifier = system.first().and_then(|r| r.first().cloned().flatten()).unwrap_or_default();
        Ok(EngineInfo { flavor: EngineFlavor::Postgres, version, cluster_name: system_identifier })
    }

    async fn back_up(
        &self,
        endpoint: &EngineEndpoint,
        objects: Arc<dyn ObjectPath>,
        request: &BackupRequest,
        progress: &TransferProgress,
    ) -> Result<BackupSummary, EngineError> {
        let config = connection(endpoint)?;
        Ok(backup::back_up(&config, objects, request, progress, (self.tuning, &self.integrity)).await?)
    }

    fn restore_major_version(&self) -> Result<u32, EngineError> {
        Ok(self.area.binaries.major_version()?)
    }

    async fn restore(
        &self,
        objects: Arc<dyn ObjectPath>,
        backup: &BackupRequest,
        server: &NewServer,
        progress: &TransferProgress,
    ) -> Result<RestoredServer, EngineError> {
        match self.restore_into(objects, backup, server, progress).await {
            Ok(restored) => Ok(restored),
            Err(e) => {
                if let Err(cleanup) = self.discard(&server.cluster_id).await {
                    tracing::warn!(cluster = %server.cluster_id, error = %cleanup, "could not remove a failed restore");
                }
                Err(e.into())
            }
        }
    }

    async fn check_new_server(&self, server: &NewServer) -> Result<(), EngineError> {
        Ok(self.check_port(server.port)?)
    }

    async fn discard_restored(&self, cluster_id: &str) -> Result<(), EngineError> {
        Ok(self.discard(cluster_id).await?)
    }
}
