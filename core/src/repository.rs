//! The seam to storage: where a cluster's snapshots live and how the engine must register it.

use serde_json::{Map, Value};

use crate::model::Cluster;

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
    /// The repository a cluster writes its own snapshots to.
    fn own_repository(&self, cluster: &Cluster) -> RepositorySpec;
    /// `source`'s repository, registered read-only on another cluster so it can restore from it.
    fn shared_repository(&self, source: &Cluster) -> RepositorySpec;
}
