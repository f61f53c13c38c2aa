//! The seam to storage: where a cluster's snapshots live and how the engine must register it.

use serde_json::{Map, Value};

use crate::model::Cluster;
use crate::policy::SnapshotSettings;

/// A repository as the engine registers it: `PUT _snapshot/{name}` with `{type, settings}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositorySpec {
    pub name: String,
    pub kind: String,
    pub settings: Map<String, Value>,
    /// The bucket holding it, when it lives in object storage.
    pub bucket: Option<String>,
}

/// Decides the repository of each cluster.
pub trait RepositoryLocator: Send + Sync {
    /// The name of a cluster's own repository on it.
    fn own_name(&self, cluster: &Cluster) -> String;
    /// The name under which `source`'s repository is registered, read-only, on other clusters.
    fn shared_name(&self, source: &Cluster) -> String;
    /// The repository a cluster writes its own snapshots to, with its settings' throttles.
    fn own_repository(&self, cluster: &Cluster, settings: &SnapshotSettings) -> RepositorySpec;
    /// `source`'s repository as another cluster registers it to restore from it, with that
    /// cluster's `settings`' throttles.
    fn shared_repository(&self, source: &Cluster, settings: &SnapshotSettings) -> RepositorySpec;
}
