//! A repository's contents, on a filesystem (`fs`) or in an S3 bucket (`s3`), shared by every
//! cluster that registers the same place: `index.json` lists the finished snapshots;
//! `snapshots/<uuid>/<index>.json` holds each index's documents. Both kinds go through OpenDAL;
//! the simulator's handlers are synchronous, so each call blocks its worker thread.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::LazyLock;

use opendal::{ErrorKind, Operator, services};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EsError, EsResult};
use crate::settings::S3Client;

/// A finished snapshot as the repository records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSnapshot {
    pub name: String,
    pub uuid: String,
    pub state: String,
    pub indices: Vec<String>,
    pub index_shards: BTreeMap<String, u32>,
    pub failures: Vec<ShardFailure>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub version: String,
    pub version_id: u64,
    pub metadata: Option<Value>,
    pub include_global_state: bool,
    pub total_bytes: u64,
}

impl StoredSnapshot {
    pub fn total_shards(&self) -> u32 {
        self.index_shards.values().sum()
    }

    pub fn failed_indices(&self) -> Vec<&str> {
        self.failures.iter().map(|f| f.index.as_str()).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardFailure {
    pub index: String,
    pub shard_id: u32,
    pub reason: String,
}

/// The documents of one index in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexBlob {
    pub shards: u32,
    pub docs: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Catalog {
    pub snapshots: Vec<StoredSnapshot>,
}

/// Where a repository's blobs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Location {
    Fs(PathBuf),
    S3 { bucket: String, base_path: String, client: S3Client },
}

impl Location {
    /// Whether the location is there (object storage: always; its bucket is checked on use).
    pub fn exists(&self) -> bool {
        match self {
            Self::Fs(path) => path.is_dir(),
            Self::S3 { .. } => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Fs(path) => path.display().to_string(),
            Self::S3 { bucket, base_path, .. } => format!("s3://{bucket}/{base_path}"),
        }
    }
}

/// A repository's blobs, opened.
pub struct BlobStore {
    op: Operator,
    location: Location,
}

/// The runtime whose threads drive storage I/O, apart from the server's (whose workers may be
/// waiting on the simulator's lock).
static STORAGE_RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("essim-storage")
        .enable_all()
        .build()
        .expect("storage runtime")
});

/// Runs a storage call to its end, blocking this thread.
fn block<T>(call: impl IntoFuture<Output = opendal::Result<T>>) -> opendal::Result<T> {
    tokio::task::block_in_place(|| STORAGE_RUNTIME.handle().block_on(call.into_future()))
}

fn blob_path(uuid: &str, index: &str) -> String {
    format!("snapshots/{uuid}/{index}.json")
}

const CATALOG: &str = "index.json";

impl BlobStore {
    pub fn open(location: &Location) -> EsResult<Self> {
        let op = match location {
            Location::Fs(path) => Operator::new(services::Fs::default().root(&path.display().to_string())),
            Location::S3 { bucket, base_path, client } => {
                let builder = services::S3::default()
                    .root(base_path)
                    .bucket(bucket)
                    .endpoint(&client.endpoint_url())
                    .region(&client.region)
                    .access_key_id(&client.access_key)
                    .secret_access_key(&client.secret_key)
                    .disable_config_load()
                    .disable_ec2_metadata();
                Operator::new(if client.path_style_access { builder } else { builder.enable_virtual_host_style() })
            }
        }
        .map_err(EsError::io)?;
        Ok(Self { op, location: location.clone() })
    }

    pub fn read_catalog(&self) -> EsResult<Catalog> {
        match block(self.op.read(CATALOG)) {
            Ok(bytes) => serde_json::from_slice(&bytes.to_vec()).map_err(EsError::io),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Catalog::default()),
            Err(e) => Err(EsError::io(e)),
        }
    }

    pub fn write_catalog(&self, catalog: &Catalog) -> EsResult<()> {
        let bytes = serde_json::to_vec_pretty(catalog).map_err(EsError::io)?;
        block(self.op.write(CATALOG, bytes)).map(drop).map_err(EsError::io)
    }

    /// Writes an index's documents; returns the bytes written.
    pub fn write_index_blob(&self, uuid: &str, index: &str, blob: &IndexBlob) -> EsResult<u64> {
        let bytes = serde_json::to_vec(blob).map_err(EsError::io)?;
        let len = bytes.len() as u64;
        block(self.op.write(&blob_path(uuid, index), bytes)).map_err(EsError::io)?;
        Ok(len)
    }

    pub fn read_index_blob(&self, uuid: &str, index: &str) -> EsResult<(IndexBlob, u64)> {
        let bytes = block(self.op.read(&blob_path(uuid, index))).map_err(EsError::io)?.to_vec();
        let blob = serde_json::from_slice(&bytes).map_err(EsError::io)?;
        Ok((blob, bytes.len() as u64))
    }

    pub fn remove_snapshot_blobs(&self, uuid: &str) -> EsResult<()> {
        block(self.op.delete_with(&format!("snapshots/{uuid}/")).recursive(true)).map_err(EsError::io)
    }

    /// Blob folders no catalog entry or running snapshot refers to: `(count, bytes)` removed.
    pub fn remove_unreferenced(&self, keep: &[String]) -> EsResult<(u64, u64)> {
        let folders = match block(self.op.list("snapshots/")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(EsError::io(e)),
        };
        let (mut blobs, mut bytes) = (0, 0);
        for folder in folders.iter().filter(|e| e.metadata().is_dir() && e.path() != "snapshots/") {
            if keep.iter().any(|uuid| folder.name().trim_end_matches('/') == uuid) {
                continue;
            }
            for file in block(self.op.list_with(folder.path()).recursive(true)).map_err(EsError::io)? {
                if file.metadata().is_file() {
                    blobs += 1;
                    bytes += file.metadata().content_length();
                }
            }
            block(self.op.delete_with(folder.path()).recursive(true)).map_err(EsError::io)?;
        }
        Ok((blobs, bytes))
    }

    /// Verification as the engines do it: a writable repository must take a probe blob; a
    /// read-only one is not written to, and only checked to exist where `location_checked`
    /// (OpenSearch; Elasticsearch's `BlobStoreRepository.startVerification` returns at once).
    pub fn verify(location: &Location, repo: &str, readonly: bool, location_checked: bool) -> EsResult<()> {
        if readonly {
            // OpenSearch's own message: the path is left empty.
            return match location_checked && !location.exists() {
                true => Err(EsError::new(
                    500,
                    "repository_verification_exception",
                    format!("[{repo}] path  is not accessible on cluster-manager node"),
                )),
                false => Ok(()),
            };
        }
        Self::open(location)?.check(repo)
    }

    fn check(&self, repo: &str) -> EsResult<()> {
        let failure = |e: opendal::Error| {
            EsError::new(
                500,
                "repository_verification_exception",
                format!("[{repo}] path [{}] is not accessible on master node: {e}", self.location.describe()),
            )
        };
        if let Location::S3 { .. } = self.location {
            block(self.op.list_with("").limit(1)).map_err(failure)?;
        }
        let probe = format!("tests-{}", uuid::Uuid::new_v4().simple());
        block(self.op.write(&probe, b"verify".to_vec())).map_err(failure)?;
        block(self.op.delete(&probe)).map_err(failure)
    }
}
