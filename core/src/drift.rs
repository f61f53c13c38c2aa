//! Drift between the catalog and a search cluster: snapshots its own repository holds that the
//! catalog does not list (taken outside snapkeep, or lost by it), and finished snapshots the
//! catalog lists that the repository no longer holds (deleted outside snapkeep). Reported, never
//! repaired silently: which side is right is the operator's call.

use crate::engine::EngineErrorKind;
use crate::error::CoreError;
use crate::model::{Cluster, SnapshotStatus};
use crate::snapkeep::Snapkeep;

/// The snapshot names each side has and the other has not, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub only_on_engine: Vec<String>,
    pub only_in_catalog: Vec<String>,
}

impl Snapkeep {
    /// Compares the cluster's own repository, where it is now, with the catalog's snapshots of
    /// that location. Errors: `Unsupported` for a database cluster; `Engine` when the cluster
    /// cannot be asked.
    pub async fn drift(&self, cluster: &Cluster) -> Result<Drift, CoreError> {
        if cluster.flavor.is_database() {
            return Err(CoreError::Unsupported("drift is measured against a search cluster's repository".into()));
        }
        let on_engine = match self.engine_for(cluster)?.all_snapshots(&self.repositories.names.own).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryMissing) => Vec::new(),
            other => other?,
        };
        let here = self.current_snapshot_location(cluster).await?;
        let catalog: Vec<_> = self
            .store
            .list_snapshots(&cluster.id)
            .await?
            .into_iter()
            .filter(|s| s.location.as_ref().is_none_or(|l| *l == here))
            .collect();
        let mut only_on_engine: Vec<String> =
            on_engine.iter().filter(|name| !catalog.iter().any(|s| &s.name == *name)).cloned().collect();
        let finished = |status| matches!(status, SnapshotStatus::Completed | SnapshotStatus::PartFailed);
        let mut only_in_catalog: Vec<String> = catalog
            .iter()
            .filter(|s| finished(s.status) && !s.deleting && !on_engine.contains(&s.name))
            .map(|s| s.name.clone())
            .collect();
        only_on_engine.sort();
        only_in_catalog.sort();
        Ok(Drift { only_on_engine, only_in_catalog })
    }
}
