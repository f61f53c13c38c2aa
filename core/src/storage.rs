//! Where snapshots live: storage profiles (kind, endpoint, bucket, base path, sealed credentials),
//! the place each cluster's repository resolves to, and the boundary to object storage that checks,
//! measures and clears those places.
//!
//! A cluster's repository is `<base path>/<cluster id>` in its bucket (or under an `fs` root). The
//! base path comes from the cluster's snapshot settings (CSS `basePath`) or else its profile; the
//! profile is the one the settings name (CSS `agency`), or else the project's default, or else the
//! service's built-in `local` filesystem root.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The name of the built-in filesystem profile every project falls back to.
pub const LOCAL_PROFILE: &str = "local";

/// The kinds of storage a profile can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    S3,
    /// Alibaba Cloud OSS.
    Oss,
    /// Huawei Cloud OBS.
    Obs,
    /// A shared filesystem every cluster mounts at the same path.
    Fs,
}

impl StorageKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "s3" => Self::S3,
            "oss" => Self::Oss,
            "obs" => Self::Obs,
            "fs" => Self::Fs,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Oss => "oss",
            Self::Obs => "obs",
            Self::Fs => "fs",
        }
    }

    /// Object storage: a bucket behind an HTTP endpoint.
    pub fn is_object(self) -> bool {
        self != Self::Fs
    }
}

/// A named place snapshots can live in, owned by a project.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageProfile {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub kind: StorageKind,
    /// `http(s)://host[:port]` of object storage; `None` for `fs`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// The default bucket (object storage).
    pub bucket: Option<String>,
    /// Object storage: the key prefix (may be empty). `fs`: the absolute root directory.
    pub base_path: String,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-host (`bucket.endpoint/key`).
    pub path_style: bool,
    pub access_key_id: Option<String>,
    /// The secret access key, sealed under the master key.
    pub secret_sealed: Option<Vec<u8>>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
}

impl StorageProfile {
    /// The built-in `fs` profile rooted at `root` (as the clusters and snapkeep both see it).
    pub fn local(project_id: &str, root: &str) -> Self {
        Self {
            id: LOCAL_PROFILE.into(),
            project_id: project_id.into(),
            name: LOCAL_PROFILE.into(),
            kind: StorageKind::Fs,
            endpoint: None,
            region: None,
            bucket: None,
            base_path: root.into(),
            path_style: false,
            access_key_id: None,
            secret_sealed: None,
            is_default: false,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// The engine's name for this profile's client settings (`s3.client.<name>.*`).
    pub fn engine_client(&self) -> &str {
        &self.name
    }
}

/// Where one cluster's repository lives.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryLocation {
    pub profile: StorageProfile,
    /// The bucket (object storage).
    pub bucket: Option<String>,
    /// Object storage: `<base path>/<cluster id>` (no leading or trailing `/`). `fs`: the
    /// absolute directory.
    pub path: String,
}

impl RepositoryLocation {
    /// Whether the two repositories share storage such that one could see the other's objects:
    /// same place, and one path equal to or inside the other.
    pub fn overlaps(&self, other: &RepositoryLocation) -> bool {
        let same_place = self.profile.kind.is_object() == other.profile.kind.is_object()
            && self.profile.endpoint == other.profile.endpoint
            && self.bucket == other.bucket;
        let inside = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        same_place && (inside(&self.path, &other.path) || inside(&other.path, &self.path))
    }
}

/// The credentials of a profile, opened for one call. Never printed.
#[derive(Clone, PartialEq)]
pub struct StorageCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for StorageCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// A repository location with its credentials opened: what object storage is asked about.
#[derive(Debug, Clone)]
pub struct StorageTarget {
    pub kind: StorageKind,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub path_style: bool,
    pub credentials: Option<StorageCredentials>,
    /// The repository's path (as in `RepositoryLocation::path`).
    pub path: String,
}

/// What object storage answered when it refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    #[error("bucket {bucket} does not exist")]
    BucketMissing { bucket: String },
    #[error("the storage refused the credentials: {0}")]
    AccessDenied(String),
    #[error("{path} is not writable: {detail}")]
    Unwritable { path: String, detail: String },
    #[error("the storage did not answer: {0}")]
    Unavailable(String),
    #[error("the storage profile cannot be used: {0}")]
    Misconfigured(String),
    #[error("object {0} does not exist")]
    ObjectMissing(String),
    #[error("object {name} is larger than the {max_bytes} bytes expected of it")]
    ObjectTooLarge { name: String, max_bytes: u64 },
}

/// Where a snapshot is written: the profile (by name), bucket and path. For a snapshot snapkeep
/// takes itself, its own folder; for an engine's snapshot, the repository that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLocation {
    pub profile: String,
    pub bucket: Option<String>,
    pub path: String,
}

/// The objects under one path, opened once for many calls.
#[async_trait]
pub trait ObjectPath: Send + Sync {
    /// Writes an object `name` (relative to the path) in one request.
    async fn put(&self, name: &str, bytes: Bytes) -> Result<(), StorageError>;
    /// Reads object `name`, at most `max_bytes` of it: a larger object is refused
    /// (`ObjectTooLarge`) without reading more, so what storage holds cannot make the reader hold
    /// more than it expects.
    async fn get(&self, name: &str, max_bytes: u64) -> Result<Bytes, StorageError>;
    /// Every object under the path: (name relative to it, bytes).
    async fn list(&self) -> Result<Vec<(String, u64)>, StorageError>;
}

/// The boundary to the storage itself (OpenDAL in `snapkeep-storage`).
#[async_trait]
pub trait ObjectStorage: Send + Sync {
    /// Checks the bucket exists and the repository path is writable: writes, reads back and
    /// deletes a probe object under it.
    async fn check_writable(&self, target: &StorageTarget) -> Result<(), StorageError>;
    /// Creates the repository path (a directory on `fs`; an empty `path/` marker in a bucket).
    async fn create_path(&self, target: &StorageTarget) -> Result<(), StorageError>;
    /// Bytes held under the repository path.
    async fn usage(&self, target: &StorageTarget) -> Result<u64, StorageError>;
    /// Deletes everything under the repository path (and nothing beside it); returns how many
    /// objects were removed.
    async fn remove_path(&self, target: &StorageTarget) -> Result<u64, StorageError>;
    /// The objects under the target's path, for reading and writing them.
    fn open(&self, target: &StorageTarget) -> Result<Arc<dyn ObjectPath>, StorageError>;
}

/// What a caller gives to create a profile.
#[derive(Debug, Clone, Default)]
pub struct NewStorageProfile {
    pub project_id: String,
    pub name: String,
    pub kind: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub base_path: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub is_default: bool,
    /// Check the bucket exists and the base path is writable before storing the profile.
    pub verify: bool,
}

/// Joins path parts with single `/`, dropping empty parts and outer slashes.
pub fn join_path(parts: &[&str]) -> String {
    parts.iter().flat_map(|p| p.split('/')).filter(|segment| !segment.is_empty()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a filesystem puts a path: `.` and empty segments dropped, `..` stepping up.
    fn resolve(path: &str) -> String {
        let mut out: Vec<&str> = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out.join("/")
    }

    fn inside(a: &str, b: &str) -> bool {
        a == b || a.starts_with(&format!("{b}/"))
    }

    proptest::proptest! {
        /// Whatever the spelling, an accepted base path joined is already the place the storage
        /// resolves, so two clusters' accepted locations overlap as strings exactly when their
        /// places do.
        #[test]
        fn accepted_locations_overlap_as_strings_exactly_when_their_places_do(
            a in "[ab./]{1,12}", b in "[ab./]{1,12}",
        ) {
            if crate::policy::base_path(&a).is_ok() && crate::policy::base_path(&b).is_ok() {
                let (x, y) = (join_path(&[&a, "c1"]), join_path(&[&b, "c2"]));
                proptest::prop_assert_eq!(&x, &resolve(&format!("{a}/c1")));
                let (rx, ry) = (resolve(&format!("{a}/c1")), resolve(&format!("{b}/c2")));
                proptest::prop_assert_eq!(inside(&x, &y) || inside(&y, &x), inside(&rx, &ry) || inside(&ry, &rx));
            }
        }

        /// An accepted `fs` root is its resolved directory.
        #[test]
        fn accepted_fs_roots_are_their_resolved_directory(root in "/[ab./]{0,12}") {
            if let Ok(normal) = crate::validate::fs_root(&root) {
                proptest::prop_assert_eq!(normal, format!("/{}", resolve(&root)));
            }
        }
    }

    #[test]
    fn spellings_of_one_place_are_refused_not_compared() {
        assert!(crate::policy::base_path("shared/./a-ov").is_err());
        assert!(crate::policy::base_path("shared/a-ov").is_ok());
        let fs_root = crate::validate::fs_root;
        assert!(fs_root("/srv/./repos").is_err() && fs_root("/srv//repos").is_err() && fs_root("/srv/../x").is_err());
        assert_eq!(fs_root("/srv/repos/").unwrap(), "/srv/repos");
    }

    fn location(endpoint: &str, bucket: &str, path: &str) -> RepositoryLocation {
        let mut profile = StorageProfile::local("p", "/unused");
        profile.kind = StorageKind::S3;
        profile.endpoint = Some(endpoint.into());
        RepositoryLocation { profile, bucket: Some(bucket.into()), path: path.into() }
    }

    #[test]
    fn repositories_overlap_only_when_one_path_is_inside_the_other_in_the_same_bucket() {
        let a = location("http://s3", "b", "base/c-1");
        assert!(a.overlaps(&location("http://s3", "b", "base/c-1")));
        assert!(a.overlaps(&location("http://s3", "b", "base/c-1/nested")));
        assert!(a.overlaps(&location("http://s3", "b", "base")));
        assert!(!a.overlaps(&location("http://s3", "b", "base/c-10")));
        assert!(!a.overlaps(&location("http://s3", "b", "base/c-2")));
        assert!(!a.overlaps(&location("http://s3", "other", "base/c-1")));
        assert!(!a.overlaps(&location("http://elsewhere", "b", "base/c-1")));
    }

    #[test]
    fn paths_join_without_empty_segments() {
        assert_eq!(join_path(&["", "a//b/", "c-1"]), "a/b/c-1");
        assert_eq!(join_path(&["/srv/snap", "c-1"]), "srv/snap/c-1");
    }

    #[test]
    fn credentials_never_print_the_secret() {
        let creds = StorageCredentials { access_key_id: "AK".into(), secret_access_key: "very-secret".into() };
        assert!(!format!("{creds:?}").contains("very-secret"));
    }
}
