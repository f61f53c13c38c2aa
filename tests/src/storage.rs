//! Where a test's snapshots live: the built-in filesystem root, or a bucket on a real S3 server
//! behind a storage profile, so the same test runs on both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::s3::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};
use crate::{EssimOptions, SearchCluster, Snapkeep, Tenant, TestEngine};

/// The bucket, profile and base path the S3 runs use.
pub const TEST_BUCKET: &str = "snapkeep-it";
pub const TEST_PROFILE: &str = "backup";
pub const TEST_BASE_PATH: &str = "css_repository";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Fs,
    S3,
}

pub struct TestStorage {
    /// The filesystem root (`path.repo`, and snapkeep's `storage-root`).
    pub repo_root: PathBuf,
    pub s3: Option<S3Server>,
}

impl TestStorage {
    pub fn start(kind: StorageKind, dir: &Path) -> Self {
        let s3 = (kind == StorageKind::S3).then(|| {
            let s3 = S3Server::start(dir);
            s3.create_bucket(TEST_BUCKET);
            s3
        });
        Self { repo_root: dir.join("repositories"), s3 }
    }

    /// Simulator options whose nodes have this storage's S3 client.
    pub fn essim_options(&self, flavor: &str, version: &str) -> EssimOptions {
        let mut options = EssimOptions::new(flavor, version);
        options.settings = self.engine_settings();
        options
    }

    /// The node settings (`key=value`) of this storage's S3 client; none for the filesystem.
    pub fn engine_settings(&self) -> Vec<String> {
        self.s3.as_ref().map(|s3| s3.engine_settings(TEST_PROFILE)).unwrap_or_default()
    }

    /// Starts `engine` with this storage as its repository place.
    pub fn start_engine(&self, engine: &TestEngine, dir: &Path) -> SearchCluster {
        engine.start(dir, &self.repo_root, &self.engine_settings())
    }

    /// Makes this storage the tenant's default (nothing to do for the built-in filesystem).
    pub fn attach(&self, snapkeep: &Snapkeep, tenant: &Tenant) {
        let Some(s3) = &self.s3 else { return };
        snapkeep.admin(
            "POST",
            &format!("/projects/{}/storage-profiles", tenant.project_id),
            Some(json!({
                "name": TEST_PROFILE, "kind": "s3", "endpoint": s3.endpoint(), "region": "us-east-1",
                "bucket": TEST_BUCKET, "base_path": TEST_BASE_PATH, "path_style": true,
                "access_key_id": S3_ACCESS_KEY, "secret_access_key": S3_SECRET_KEY, "default": true,
            })),
        );
    }

    /// The objects of a cluster's repository, by path inside it.
    pub fn repository_objects(&self, cluster: &str) -> BTreeMap<String, Vec<u8>> {
        match &self.s3 {
            Some(s3) => {
                let prefix = format!("{TEST_BASE_PATH}/{cluster}/");
                s3.objects(TEST_BUCKET, &prefix)
                    .into_iter()
                    .map(|(key, bytes)| (key.strip_prefix(&prefix).expect("under the prefix").to_owned(), bytes))
                    .collect()
            }
            None => files_under(&self.repo_root.join(cluster)),
        }
    }

    /// The repository's own catalog of snapshots (the newest `index-N` the engines write, or
    /// essim's `index.json`), as text; `None` before the repository was written to.
    pub fn repository_catalog(&self, cluster: &str) -> Option<String> {
        let objects = self.repository_objects(cluster);
        let generation = |key: &str| key.strip_prefix("index-").and_then(|n| n.parse::<u64>().ok());
        let newest = objects.keys().filter_map(|k| generation(k).map(|n| (n, k))).max().map(|(_, k)| k.clone());
        let key = newest.or_else(|| objects.contains_key("index.json").then(|| "index.json".to_owned()))?;
        Some(String::from_utf8_lossy(&objects[&key]).into_owned())
    }

    /// The paths of a cluster's repository objects, without reading them.
    pub fn repository_keys(&self, cluster: &str) -> Vec<String> {
        match &self.s3 {
            Some(s3) => {
                let prefix = format!("{TEST_BASE_PATH}/{cluster}/");
                let keys = s3.keys(TEST_BUCKET, &prefix).into_iter();
                keys.map(|key| key.strip_prefix(&prefix).expect("under the prefix").to_owned()).collect()
            }
            None => files_under(&self.repo_root.join(cluster)).into_keys().collect(),
        }
    }
}

impl TestStorage {
    /// Replaces one object of a cluster's repository (by path inside it).
    pub fn put_repository_object(&self, cluster: &str, key: &str, bytes: Vec<u8>) {
        match &self.s3 {
            Some(s3) => s3.put_object(TEST_BUCKET, &format!("{TEST_BASE_PATH}/{cluster}/{key}"), bytes),
            None => std::fs::write(self.repo_root.join(cluster).join(key), bytes).expect("replace a file"),
        }
    }
}

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let key = path.strip_prefix(root).expect("under the root").display().to_string();
                files.insert(key, std::fs::read(&path).expect("file"));
            }
        }
    }
    files
}
