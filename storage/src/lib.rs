//! Where clusters' snapshots live. This crate decides each cluster's repository and the settings
//! the engine registers it with. Today: shared-filesystem (`fs`) repositories, each cluster under
//! `<storage root>/<cluster id>/`; object storage plugs in behind the same `RepositoryLocator`.

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use snapkeep_core::{Cluster, RepositoryLocator, RepositorySpec, SnapshotSettings};

/// Repositories on a filesystem every cluster mounts and lists in its `path.repo`.
#[derive(Debug, Clone)]
pub struct FsRepositories {
    root: PathBuf,
    repository_name: String,
}

impl FsRepositories {
    /// `root` as the clusters see it; `repository_name` is what each cluster calls its own.
    pub fn new(root: PathBuf, repository_name: String) -> Self {
        Self { root, repository_name }
    }

    fn location(&self, cluster: &Cluster) -> String {
        self.root.join(&cluster.id).display().to_string()
    }

    fn spec(&self, name: String, location: String, readonly: bool, settings: &SnapshotSettings) -> RepositorySpec {
        let mut fields: Map<String, Value> = Map::new();
        fields.insert("location".into(), json!(location));
        fields.insert("compress".into(), json!(true));
        fields.insert("max_snapshot_bytes_per_sec".into(), json!(settings.max_snapshot_rate));
        fields.insert("max_restore_bytes_per_sec".into(), json!(settings.max_restore_rate));
        if readonly {
            fields.insert("readonly".into(), json!(true));
        }
        RepositorySpec { name, kind: "fs".into(), settings: fields, bucket: None }
    }
}

impl RepositoryLocator for FsRepositories {
    fn own_name(&self, _cluster: &Cluster) -> String {
        self.repository_name.clone()
    }

    fn shared_name(&self, source: &Cluster) -> String {
        format!("aliyun_snapshot_from_{}", source.id.to_lowercase())
    }

    fn own_repository(&self, cluster: &Cluster, settings: &SnapshotSettings) -> RepositorySpec {
        self.spec(self.own_name(cluster), self.location(cluster), false, settings)
    }

    fn shared_repository(&self, source: &Cluster, settings: &SnapshotSettings) -> RepositorySpec {
        self.spec(self.shared_name(source), self.location(source), true, settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapkeep_core::{EngineFlavor, EngineVersion};

    fn cluster(id: &str) -> Cluster {
        Cluster {
            id: id.into(),
            project_id: "p".into(),
            name: "n".into(),
            endpoint: "http://127.0.0.1:9200".into(),
            username: None,
            password_encrypted: None,
            region: "r".into(),
            flavor: EngineFlavor::Elasticsearch,
            version: EngineVersion::new(7, 10, 2),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn each_cluster_writes_under_its_own_folder_and_shares_read_only() {
        let repos = FsRepositories::new(PathBuf::from("/srv/snapshots"), "snapkeep".into());
        let settings = SnapshotSettings { max_snapshot_rate: "100mb".into(), ..SnapshotSettings::default() };
        let own = repos.own_repository(&cluster("c-1"), &settings);
        assert_eq!(
            (own.settings["max_snapshot_bytes_per_sec"].as_str(), own.settings["max_restore_bytes_per_sec"].as_str()),
            (Some("100mb"), Some("0"))
        );
        assert_eq!((own.name.as_str(), own.kind.as_str()), ("snapkeep", "fs"));
        assert_eq!(own.settings["location"], "/srv/snapshots/c-1");
        assert!(own.settings.get("readonly").is_none());
        let shared = repos.shared_repository(&cluster("C-1"), &settings);
        assert_eq!(shared.name, "aliyun_snapshot_from_c-1");
        assert_eq!(shared.settings["location"], "/srv/snapshots/C-1");
        assert_eq!(shared.settings["readonly"], true);
    }
}
