//! Reference ("shared") repositories: another cluster's repository registered read-only on a
//! target cluster, so its snapshots can be restored there with the engine's own API. Only
//! clusters of the same project and region qualify, and only a source whose snapshots the
//! target can read (same or older version).

use crate::engine::SearchEngine;
use crate::error::{CoreError, NotFound, StoreError};
use crate::model::Cluster;
use crate::restore_plan::can_restore_into;
use crate::snapkeep::Snapkeep;

/// A source's repository as registered on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRepository {
    pub source_id: String,
    /// The repository name on the target.
    pub name: String,
    /// Whether the target can use it now: it verifies, and lists the source's newest snapshot.
    pub available: bool,
}

impl Snapkeep {
    /// The source a target may reference, every rule checked.
    async fn eligible_source(&self, target: &Cluster, source_id: &str) -> Result<Cluster, CoreError> {
        if source_id == target.id {
            return Err(CoreError::invalid("repoPath", "must name another instance than the target"));
        }
        // Another project's cluster is reported exactly like a missing one.
        let source = match self.store.get_cluster(source_id).await? {
            Some(source) if source.project_id == target.project_id => source,
            _ => return Err(CoreError::NotFound(NotFound::SourceCluster)),
        };
        if source.region != target.region {
            return Err(CoreError::RegionMismatch {
                source_region: source.region,
                target_region: target.region.clone(),
            });
        }
        if !can_restore_into((source.flavor, source.version), (target.flavor, target.version)) {
            return Err(CoreError::SourceTooNew {
                source_version: format!("{} {}", source.flavor.as_str(), source.version),
                target_version: format!("{} {}", target.flavor.as_str(), target.version),
            });
        }
        Ok(source)
    }

    /// Registers `source_id`'s repository read-only on the target (Alibaba AddSnapshotRepo).
    pub async fn add_shared_repository(
        &self,
        project_id: &str,
        target_id: &str,
        source_id: &str,
    ) -> Result<(), CoreError> {
        let target = self.cluster_in_project(project_id, target_id).await?;
        let source = self.eligible_source(&target, source_id).await?;
        if self.store.shared_repository_sources(&target.id).await?.contains(&source.id) {
            return Err(CoreError::SharedRepositoryExists(source.id));
        }
        let repository = self.shared_repository(&source, &target).await?;
        self.engine_for(&target)?.put_repository(&repository).await?;
        self.store.insert_shared_repository(&target.id, &source.id, self.clock.now()).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::SharedRepositoryExists(source.id.clone()),
            other => other.into(),
        })
    }

    /// Unregisters a reference repository from the target (Alibaba DeleteSnapshotRepo).
    pub async fn delete_shared_repository(
        &self,
        project_id: &str,
        target_id: &str,
        source_id: &str,
    ) -> Result<(), CoreError> {
        let target = self.cluster_in_project(project_id, target_id).await?;
        if !self.store.shared_repository_sources(&target.id).await?.iter().any(|s| s == source_id) {
            return Err(CoreError::NotFound(NotFound::SharedRepository));
        }
        let name = match self.store.get_cluster(source_id).await? {
            Some(source) => self.repositories.names.shared(&source),
            None => return Err(CoreError::NotFound(NotFound::SharedRepository)),
        };
        self.engine_for(&target)?.delete_repository(&name).await?;
        match self.store.delete_shared_repository(&target.id, source_id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The reference repositories of a target, each verified on it now.
    pub async fn shared_repositories(
        &self,
        project_id: &str,
        target_id: &str,
    ) -> Result<Vec<SharedRepository>, CoreError> {
        let target = self.cluster_in_project(project_id, target_id).await?;
        let engine = self.engine_for(&target)?;
        let mut out = Vec::new();
        for source_id in self.store.shared_repository_sources(&target.id).await? {
            let Some(source) = self.store.get_cluster(&source_id).await? else { continue };
            let name = self.repositories.names.shared(&source);
            let available = self.reference_readable(engine.as_ref(), &name, &source).await?;
            out.push(SharedRepository { source_id, name, available });
        }
        Ok(out)
    }

    /// Whether the target can use a reference repository now: the engine verifies it, and it
    /// lists the source's newest restorable snapshot. The engines verify a read-only repository
    /// without reading its storage, and list a location that vanished as an empty repository
    /// (Elasticsearch 7.17, OpenSearch 2.19: `BlobStoreRepository.startVerification` skips
    /// read-only repositories), so only the listing tells that the target can no longer read it.
    async fn reference_readable(
        &self,
        engine: &dyn SearchEngine,
        name: &str,
        source: &Cluster,
    ) -> Result<bool, CoreError> {
        if engine.verify_repository(name).await.is_err() {
            return Ok(false);
        }
        let snapshots = self.store.list_snapshots(&source.id).await?;
        let restorable = snapshots.into_iter().filter(|s| s.status.is_restorable() && !s.deleting);
        let newest = restorable.max_by_key(|s| s.created_at);
        let Some(newest) = newest else { return Ok(true) };
        Ok(engine.get_snapshot(name, &newest.name).await.is_ok_and(|found| found.is_some()))
    }

    /// The clusters whose repositories the target may reference (Alibaba
    /// ListAlternativeSnapshotRepos); with `already_set`, also those it references already.
    pub async fn shared_repository_candidates(
        &self,
        project_id: &str,
        target_id: &str,
        already_set: bool,
    ) -> Result<Vec<Cluster>, CoreError> {
        let target = self.cluster_in_project(project_id, target_id).await?;
        let referenced = self.store.shared_repository_sources(&target.id).await?;
        let mut out = Vec::new();
        for candidate in self.store.list_clusters(Some(&target.project_id)).await? {
            let set = referenced.contains(&candidate.id);
            if (already_set || !set) && self.eligible_source(&target, &candidate.id).await.is_ok() {
                out.push(candidate);
            }
        }
        Ok(out)
    }
}
