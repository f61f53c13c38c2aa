//! A repository's contents on disk, shared by every cluster that registers the same location:
//! `index.json` lists the finished snapshots; `snapshots/<uuid>/<index>.json` holds each index's
//! documents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EsError, EsResult};

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

fn catalog_path(location: &Path) -> PathBuf {
    location.join("index.json")
}

fn blob_path(location: &Path, uuid: &str, index: &str) -> PathBuf {
    location.join("snapshots").join(uuid).join(format!("{index}.json"))
}

pub fn read_catalog(location: &Path) -> EsResult<Catalog> {
    match std::fs::read(catalog_path(location)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(EsError::io),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Catalog::default()),
        Err(e) => Err(EsError::io(e)),
    }
}

pub fn write_catalog(location: &Path, catalog: &Catalog) -> EsResult<()> {
    std::fs::create_dir_all(location).map_err(EsError::io)?;
    let tmp = location.join("index.json.tmp");
    let bytes = serde_json::to_vec_pretty(catalog).map_err(EsError::io)?;
    std::fs::write(&tmp, bytes).map_err(EsError::io)?;
    std::fs::rename(&tmp, catalog_path(location)).map_err(EsError::io)
}

/// Writes an index's documents; returns the bytes written.
pub fn write_index_blob(location: &Path, uuid: &str, index: &str, blob: &IndexBlob) -> EsResult<u64> {
    let path = blob_path(location, uuid, index);
    std::fs::create_dir_all(path.parent().expect("blob has a parent")).map_err(EsError::io)?;
    let bytes = serde_json::to_vec(blob).map_err(EsError::io)?;
    std::fs::write(&path, &bytes).map_err(EsError::io)?;
    Ok(bytes.len() as u64)
}

pub fn read_index_blob(location: &Path, uuid: &str, index: &str) -> EsResult<(IndexBlob, u64)> {
    let bytes = std::fs::read(blob_path(location, uuid, index)).map_err(EsError::io)?;
    let blob = serde_json::from_slice(&bytes).map_err(EsError::io)?;
    Ok((blob, bytes.len() as u64))
}

pub fn remove_snapshot_blobs(location: &Path, uuid: &str) -> EsResult<()> {
    match std::fs::remove_dir_all(location.join("snapshots").join(uuid)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(EsError::io(e)),
        _ => Ok(()),
    }
}

/// Blob folders no catalog entry or running snapshot refers to: `(count, bytes)` removed.
pub fn remove_unreferenced(location: &Path, keep: &[String]) -> EsResult<(u64, u64)> {
    let Ok(entries) = std::fs::read_dir(location.join("snapshots")) else { return Ok((0, 0)) };
    let (mut blobs, mut bytes) = (0, 0);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep.contains(&name) {
            continue;
        }
        for file in std::fs::read_dir(entry.path()).map_err(EsError::io)?.flatten() {
            blobs += 1;
            bytes += file.metadata().map(|m| m.len()).unwrap_or(0);
        }
        std::fs::remove_dir_all(entry.path()).map_err(EsError::io)?;
    }
    Ok((blobs, bytes))
}

/// Checks the location can be used: readable, and writable unless read-only.
pub fn verify(repo: &str, location: &Path, readonly: bool) -> EsResult<()> {
    let failure = |e: std::io::Error| {
        EsError::new(
            500,
            "repository_verification_exception",
            format!("[{repo}] path [{}] is not accessible: {e}", location.display()),
        )
    };
    if readonly {
        std::fs::metadata(location).map_err(failure)?;
        return Ok(());
    }
    std::fs::create_dir_all(location).map_err(failure)?;
    let probe = location.join(format!("tests-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&probe, b"verify").map_err(failure)?;
    std::fs::remove_file(&probe).map_err(failure)
}
