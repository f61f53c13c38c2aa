//! snapkeep's own access to where snapshots live, through Apache OpenDAL: S3 (and S3-compatible
//! servers), Alibaba OSS and Huawei OBS with their native signatures, and shared filesystems.
//! It checks a repository path is writable, creates it, measures it and removes it; it never
//! touches anything outside the one path it is given.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opendal::layers::TimeoutLayer;
use opendal::{ErrorKind, Operator, services};
use snapkeep_core::{ObjectPath, ObjectStorage, StorageError, StorageKind, StorageTarget};

/// The longest any single storage call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Object storage and filesystems through OpenDAL.
#[derive(Debug, Clone, Default)]
pub struct OpendalStorage;

#[async_trait]
impl ObjectStorage for OpendalStorage {
    async fn check_writable(&self, target: &StorageTarget) -> Result<(), StorageError> {
        let op = operator(target)?;
        // Listing first: some S3 servers accept a put into a bucket that does not exist.
        op.list_with(&dir(target)).limit(1).await.map_err(|e| refusal(target, e))?;
        let probe = format!("{}snapkeep-probe-{}", dir(target), uuid::Uuid::new_v4().simple());
        op.write(&probe, b"snapkeep".to_vec()).await.map_err(|e| refusal(target, e))?;
        let read = op.read(&probe).await.map_err(|e| refusal(target, e))?;
        op.delete(&probe).await.map_err(|e| refusal(target, e))?;
        if read.to_vec() != b"snapkeep" {
            return Err(StorageError::Unwritable {
                path: shown(target),
                detail: "a probe object read back changed".into(),
            });
        }
        Ok(())
    }

    async fn create_path(&self, target: &StorageTarget) -> Result<(), StorageError> {
        operator(target)?.create_dir(&dir(target)).await.map_err(|e| refusal(target, e))
    }

    async fn usage(&self, target: &StorageTarget) -> Result<u64, StorageError> {
        let op = operator(target)?;
        let entries = match op.list_with(&dir(target)).recursive(true).await {
            Err(e) if e.kind() == ErrorKind::NotFound && !target.kind.is_object() => return Ok(0),
            other => other.map_err(|e| refusal(target, e))?,
        };
        let mut bytes = 0;
        for entry in entries.iter().filter(|e| e.metadata().is_file()) {
            bytes += match entry.metadata().content_length() {
                0 => op.stat(entry.path()).await.map_err(|e| refusal(target, e))?.content_length(),
                n => n,
            };
        }
        Ok(bytes)
    }

    async fn remove_path(&self, target: &StorageTarget) -> Result<u64, StorageError> {
        let op = operator(target)?;
        let path = dir(target);
        let objects = match op.list_with(&path).recursive(true).await {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            other => other.map_err(|e| refusal(target, e))?.iter().filter(|e| e.metadata().is_file()).count(),
        };
        op.delete_with(&path).recursive(true).await.map_err(|e| refusal(target, e))?;
        tracing::info!(path = %shown(target), objects, "removed a repository's objects");
        Ok(objects as u64)
    }

    fn open(&self, target: &StorageTarget) -> Result<Arc<dyn ObjectPath>, StorageError> {
        Ok(Arc::new(OpendalPath { op: operator(target)?, dir: dir(target), target: target.clone() }))
    }
}

/// The objects under one path, through one operator (its connections are reused).
struct OpendalPath {
    op: Operator,
    dir: String,
    target: StorageTarget,
}

#[async_trait]
impl ObjectPath for OpendalPath {
    async fn put(&self, name: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.op.write(&format!("{}{name}", self.dir), bytes).await.map_err(|e| refusal(&self.target, e))?;
        Ok(())
    }

    async fn get(&self, name: &str, max_bytes: u64) -> Result<Bytes, StorageError> {
        let path = format!("{}{name}", self.dir);
        let missing = |e: opendal::Error| match e.kind() {
            ErrorKind::NotFound => StorageError::ObjectMissing(name.to_owned()),
            _ => refusal(&self.target, e),
        };
        let length = self.op.stat(&path).await.map_err(missing)?.content_length();
        if length > max_bytes {
            return Err(StorageError::ObjectTooLarge { name: name.to_owned(), max_bytes });
        }
        // Exactly the length seen: an object replaced by a larger one meanwhile is not read past it.
        let buffer = self.op.read_with(&path).range(0..length).await.map_err(missing)?;
        Ok(buffer.to_bytes())
    }

    async fn list(&self) -> Result<Vec<(String, u64)>, StorageError> {
        let entries = match self.op.list_with(&self.dir).recursive(true).await {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.map_err(|e| refusal(&self.target, e))?,
        };
        let mut objects = Vec::new();
        for entry in entries.into_iter().filter(|e| e.metadata().is_file()) {
            let bytes = match entry.metadata().content_length() {
                0 => self.op.stat(entry.path()).await.map_err(|e| refusal(&self.target, e))?.content_length(),
                n => n,
            };
            objects.push((entry.path().trim_start_matches(&self.dir).to_owned(), bytes));
        }
        Ok(objects)
    }
}

/// The repository path as an OpenDAL directory (`path/`), relative to the operator's root.
fn dir(target: &StorageTarget) -> String {
    format!("{}/", target.path.trim_matches('/'))
}

/// The path as a person would name it in a message.
fn shown(target: &StorageTarget) -> String {
    match &target.bucket {
        Some(bucket) => format!("{}://{bucket}/{}", target.kind.as_str(), target.path),
        None => target.path.clone(),
    }
}

fn operator(target: &StorageTarget) -> Result<Operator, StorageError> {
    let misconfigured = |e: opendal::Error| StorageError::Misconfigured(e.to_string());
    let op = match target.kind {
        StorageKind::Fs => Operator::new(services::Fs::default().root("/")).map_err(misconfigured)?,
        StorageKind::S3 => Operator::new(s3(target)?).map_err(misconfigured)?,
        StorageKind::Oss => Operator::new(oss(target)?).map_err(misconfigured)?,
        StorageKind::Obs => Operator::new(obs(target)?).map_err(misconfigured)?,
    };
    Ok(op.layer(TimeoutLayer::default().with_timeout(CALL_TIMEOUT).with_io_timeout(CALL_TIMEOUT)))
}

/// The endpoint, bucket and credentials an object-storage target must have.
fn object_parts(target: &StorageTarget) -> Result<(&str, &str, (&str, &str)), StorageError> {
    let missing = |what: &str| StorageError::Misconfigured(format!("no {what} configured"));
    let endpoint = target.endpoint.as_deref().ok_or_else(|| missing("endpoint"))?;
    let bucket = target.bucket.as_deref().ok_or_else(|| missing("bucket"))?;
    let credentials = target.credentials.as_ref().ok_or_else(|| missing("credentials"))?;
    Ok((endpoint, bucket, (&credentials.access_key_id, &credentials.secret_access_key)))
}

fn s3(target: &StorageTarget) -> Result<services::S3, StorageError> {
    let (endpoint, bucket, (ak, sk)) = object_parts(target)?;
    let builder = services::S3::default()
        .root("/")
        .endpoint(endpoint)
        .bucket(bucket)
        .region(target.region.as_deref().unwrap_or("us-east-1"))
        .access_key_id(ak)
        .secret_access_key(sk)
        .disable_config_load()
        .disable_ec2_metadata();
    Ok(if target.path_style { builder } else { builder.enable_virtual_host_style() })
}

fn oss(target: &StorageTarget) -> Result<services::Oss, StorageError> {
    let (endpoint, bucket, (ak, sk)) = object_parts(target)?;
    let style = if target.path_style { "path" } else { "virtual" };
    Ok(services::Oss::default()
        .root("/")
        .endpoint(endpoint)
        .bucket(bucket)
        .addressing_style(style)
        .access_key_id(ak)
        .access_key_secret(sk))
}

fn obs(target: &StorageTarget) -> Result<services::Obs, StorageError> {
    let (endpoint, bucket, (ak, sk)) = object_parts(target)?;
    Ok(services::Obs::default().root("/").endpoint(endpoint).bucket(bucket).access_key_id(ak).secret_access_key(sk))
}

/// What an OpenDAL error means for the repository at `target`.
fn refusal(target: &StorageTarget, e: opendal::Error) -> StorageError {
    let detail = e.to_string();
    match e.kind() {
        _ if detail.contains("NoSuchBucket") => {
            StorageError::BucketMissing { bucket: target.bucket.clone().unwrap_or_default() }
        }
        ErrorKind::PermissionDenied if target.kind.is_object() => StorageError::AccessDenied(detail),
        ErrorKind::Unexpected
            if target.kind.is_object() && (e.is_temporary() || detail.contains("send http request")) =>
        {
            StorageError::Unavailable(detail)
        }
        _ => StorageError::Unwritable { path: shown(target), detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs_target(path: &std::path::Path) -> StorageTarget {
        StorageTarget {
            kind: StorageKind::Fs,
            endpoint: None,
            region: None,
            bucket: None,
            path_style: false,
            credentials: None,
            path: path.display().to_string(),
        }
    }

    #[tokio::test]
    async fn a_filesystem_path_is_created_measured_and_removed_alone() {
        let root = tempfile::tempdir().unwrap();
        let ours = fs_target(&root.path().join("base/c-1"));
        let neighbour = root.path().join("base/c-10");
        std::fs::create_dir_all(&neighbour).unwrap();
        std::fs::write(neighbour.join("index-0"), vec![7u8; 100]).unwrap();

        assert_eq!(OpendalStorage.usage(&ours).await.unwrap(), 0, "a path never written holds nothing");
        OpendalStorage.create_path(&ours).await.unwrap();
        OpendalStorage.check_writable(&ours).await.unwrap();
        std::fs::create_dir_all(root.path().join("base/c-1/indices")).unwrap();
        std::fs::write(root.path().join("base/c-1/indices/blob"), vec![1u8; 1000]).unwrap();
        std::fs::write(root.path().join("base/c-1/index-0"), vec![1u8; 24]).unwrap();
        assert_eq!(OpendalStorage.usage(&ours).await.unwrap(), 1024);

        assert_eq!(OpendalStorage.remove_path(&ours).await.unwrap(), 2);
        assert!(!root.path().join("base/c-1").exists());
        assert_eq!(std::fs::read(neighbour.join("index-0")).unwrap(), vec![7u8; 100], "the neighbour is untouched");
    }

    #[tokio::test]
    async fn objects_under_an_opened_path_are_written_read_and_listed() {
        let root = tempfile::tempdir().unwrap();
        let path = OpendalStorage.open(&fs_target(&root.path().join("c-1/s-1"))).unwrap();
        path.put("part-000001", Bytes::from_static(b"abc")).await.unwrap();
        path.put("manifest.json", Bytes::from_static(b"{}")).await.unwrap();
        assert_eq!(&path.get("part-000001", 3).await.unwrap()[..], b"abc");
        let refused = path.get("part-000001", 2).await;
        assert!(matches!(refused, Err(StorageError::ObjectTooLarge { max_bytes: 2, .. })), "{refused:?}");
        let mut listed = path.list().await.unwrap();
        listed.sort();
        assert_eq!(listed, vec![("manifest.json".to_owned(), 2), ("part-000001".to_owned(), 3)]);
        let missing = path.get("missing", 10).await;
        assert!(matches!(&missing, Err(StorageError::ObjectMissing(name)) if name == "missing"), "{missing:?}");
    }

    #[tokio::test]
    async fn a_path_blocked_by_a_file_is_unwritable() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("base"), b"not a directory").unwrap();
        let target = fs_target(&root.path().join("base/c-1"));
        let err = OpendalStorage.check_writable(&target).await.unwrap_err();
        assert!(matches!(err, StorageError::Unwritable { .. }), "{err:?}");
    }
}
