//! The repository each engine registers for a cluster: `PUT _snapshot/{name}` with `{type,
//! settings}`, generated from where the cluster's snapshots live and its throttles.
//!
//! Object storage (S3, OSS, OBS) is registered as the engines' `s3` repository: `bucket`,
//! `base_path` and the `client` whose node settings (`s3.client.<profile>.endpoint`, `protocol`,
//! `path_style_access`, `region`, and `access_key`/`secret_key` in the keystore) the operator puts
//! on the cluster; `engine_client_settings` lists them. A filesystem is registered as `fs` with
//! its `location`. Another cluster's repository is always registered `readonly`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::engine::RepositorySpec;
use crate::model::Cluster;
use crate::policy::SnapshotSettings;
use crate::storage::{ObjectStorage, RepositoryLocation, StorageKind, StorageProfile};

/// What the core needs to place repositories: their names, the built-in filesystem root, and
/// the storage itself.
#[derive(Clone)]
pub struct Repositories {
    pub names: RepositoryNames,
    /// The `local` profile's root, as the clusters and snapkeep both see it.
    pub local_root: String,
    pub storage: Arc<dyn ObjectStorage>,
}

/// How repositories are named on the clusters.
#[derive(Debug, Clone)]
pub struct RepositoryNames {
    /// What each cluster calls its own repository.
    pub own: String,
    /// What another cluster's repository is called when registered read-only: this, then the
    /// source cluster's id in lowercase. The dialect that shows shared repositories chooses it.
    pub shared_prefix: String,
}

impl RepositoryNames {
    /// The name under which `source`'s repository is registered, read-only, on other clusters.
    pub fn shared(&self, source: &Cluster) -> String {
        format!("{}{}", self.shared_prefix, source.id.to_lowercase())
    }

    /// A new scratch name under which a proposed location is registered, verified and removed
    /// again: `<own>_check_<12 random hex digits>`, so the check never touches a repository a
    /// running snapshot uses, nor one of the cluster's owner that happens to have a fixed name.
    pub fn check(&self) -> String {
        format!("{}_check_{}", self.own, &uuid::Uuid::new_v4().simple().to_string()[..12])
    }
}

/// The registration of the repository at `location`, with `settings`' throttles.
pub fn repository_spec(
    name: String,
    location: &RepositoryLocation,
    readonly: bool,
    settings: &SnapshotSettings,
) -> RepositorySpec {
    let mut fields: Map<String, Value> = Map::new();
    let kind = match location.profile.kind {
        StorageKind::Fs => {
            fields.insert("location".into(), json!(location.path));
            "fs"
        }
        StorageKind::S3 | StorageKind::Oss | StorageKind::Obs => {
            fields.insert("bucket".into(), json!(location.bucket));
            fields.insert("base_path".into(), json!(location.path));
            fields.insert("client".into(), json!(location.profile.engine_client()));
            "s3"
        }
    };
    fields.insert("compress".into(), json!(true));
    fields.insert("max_snapshot_bytes_per_sec".into(), json!(settings.max_snapshot_rate));
    fields.insert("max_restore_bytes_per_sec".into(), json!(settings.max_restore_rate));
    if readonly {
        fields.insert("readonly".into(), json!(true));
    }
    RepositorySpec { name, kind: kind.into(), settings: fields, bucket: location.bucket.clone() }
}

/// The node settings a cluster needs for a profile's `s3` client, and the names of the secure
/// settings to put in its keystore. Empty for `fs` (list the root in `path.repo` instead).
pub fn engine_client_settings(profile: &StorageProfile) -> (Map<String, Value>, Vec<String>) {
    let Some(endpoint) = profile.endpoint.as_deref().filter(|_| profile.kind.is_object()) else {
        return (Map::new(), Vec::new());
    };
    let prefix = format!("s3.client.{}", profile.engine_client());
    let (protocol, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
    let mut settings = Map::new();
    settings.insert(format!("{prefix}.endpoint"), json!(host));
    settings.insert(format!("{prefix}.protocol"), json!(protocol));
    settings.insert(format!("{prefix}.path_style_access"), json!(profile.path_style));
    if let Some(region) = &profile.region {
        settings.insert(format!("{prefix}.region"), json!(region));
    }
    let secure = ["access_key", "secret_key"].iter().map(|k| format!("{prefix}.{k}")).collect();
    (settings, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_location(kind: StorageKind, path_style: bool) -> RepositoryLocation {
        let mut profile = StorageProfile::local("p", "/unused");
        profile.name = "backup".into();
        profile.kind = kind;
        profile.endpoint = Some("http://127.0.0.1:9000".into());
        profile.region = Some("us-east-1".into());
        profile.path_style = path_style;
        RepositoryLocation { profile, bucket: Some("snaps".into()), path: "css/c-1".into() }
    }

    fn throttled() -> SnapshotSettings {
        SnapshotSettings { max_snapshot_rate: "100mb".into(), ..SnapshotSettings::default() }
    }

    #[test]
    fn object_storage_of_every_kind_registers_as_s3_through_the_profile_client() {
        for kind in [StorageKind::S3, StorageKind::Oss, StorageKind::Obs] {
            let spec = repository_spec("snapkeep".into(), &object_location(kind, false), false, &throttled());
            assert_eq!(spec.kind, "s3");
            assert_eq!(
                Value::Object(spec.settings),
                json!({"bucket": "snaps", "base_path": "css/c-1", "client": "backup", "compress": true,
                       "max_snapshot_bytes_per_sec": "100mb", "max_restore_bytes_per_sec": "0"})
            );
            assert_eq!(spec.bucket.as_deref(), Some("snaps"));
        }
    }

    #[test]
    fn a_shared_repository_is_read_only() {
        let spec =
            repository_spec("shared_from_c-1".into(), &object_location(StorageKind::S3, true), true, &throttled());
        assert_eq!(spec.settings["readonly"], true);
        let fs = RepositoryLocation {
            profile: StorageProfile::local("p", "/srv/snapshots"),
            bucket: None,
            path: "/srv/snapshots/c-1".into(),
        };
        let spec = repository_spec("x".into(), &fs, true, &throttled());
        assert_eq!((spec.kind.as_str(), &spec.settings["location"]), ("fs", &json!("/srv/snapshots/c-1")));
        assert_eq!(spec.settings["readonly"], true);
        assert!(spec.settings.get("bucket").is_none());
    }

    #[test]
    fn client_settings_follow_the_profile_addressing() {
        let (settings, secure) = engine_client_settings(&object_location(StorageKind::S3, true).profile);
        assert_eq!(
            Value::Object(settings),
            json!({"s3.client.backup.endpoint": "127.0.0.1:9000", "s3.client.backup.protocol": "http",
                   "s3.client.backup.path_style_access": true, "s3.client.backup.region": "us-east-1"})
        );
        assert_eq!(secure, ["s3.client.backup.access_key", "s3.client.backup.secret_key"]);
        let (settings, _) = engine_client_settings(&object_location(StorageKind::Oss, false).profile);
        assert_eq!(settings["s3.client.backup.path_style_access"], false);
        assert!(engine_client_settings(&StorageProfile::local("p", "/srv")).0.is_empty());
    }
}
