//! Storage operations: managing a project's storage profiles, resolving where each cluster's
//! repository lives, checking it at settings time, measuring it, and clearing a cluster's
//! leftovers on explicit request.

use crate::engine::EngineError;
use crate::engine::RepositorySpec;
use crate::error::{CoreError, NotFound, StoreError};
use crate::model::Cluster;
use crate::page::Scope;
use crate::policy::{self, SnapshotSettings};
use crate::repository::repository_spec;
use crate::snapkeep::Snapkeep;
use crate::storage::{
    self, NewStorageProfile, RepositoryLocation, StorageCredentials, StorageError, StorageKind, StorageProfile,
    StorageTarget,
};
use crate::validate;

/// A cluster's repository: where it is and how many bytes it holds.
#[derive(Debug, Clone)]
pub struct RepositoryUsage {
    pub location: RepositoryLocation,
    pub bytes: Result<u64, StorageError>,
}

impl Snapkeep {
    /// Creates a profile, after checking (with `verify`) that its bucket exists and its base path
    /// is writable. With `is_default`, it becomes the project's default.
    pub async fn create_storage_profile(&self, new: NewStorageProfile) -> Result<StorageProfile, CoreError> {
        self.project(&new.project_id).await?;
        let profile = self.new_profile(&new)?;
        if new.verify {
            let probe = RepositoryLocation {
                bucket: profile.bucket.clone(),
                path: profile.base_path.clone(),
                profile: profile.clone(),
            };
            self.repositories.storage.check_writable(&self.target(&probe)?).await?;
        }
        self.store.insert_storage_profile(&profile).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::StorageProfileExists(profile.name.clone()),
            other => other.into(),
        })?;
        Ok(profile)
    }

    fn new_profile(&self, new: &NewStorageProfile) -> Result<StorageProfile, CoreError> {
        validate::profile_name(&new.name)?;
        let kind = StorageKind::parse(&new.kind)
            .ok_or_else(|| CoreError::invalid("kind", format!("{:?} is not one of s3, oss, obs, fs", new.kind)))?;
        let base_path = new.base_path.clone().unwrap_or_default();
        let (endpoint, bucket) = if kind.is_object() {
            let endpoint = new.endpoint.as_deref().ok_or_else(|| CoreError::invalid("endpoint", "is required"))?;
            let bucket = new.bucket.clone().ok_or_else(|| CoreError::invalid("bucket", "is required"))?;
            policy::bucket(&bucket)?;
            if !base_path.is_empty() {
                policy::base_path(&base_path)?;
            }
            (Some(validate::storage_endpoint(endpoint)?), Some(bucket))
        } else {
            (None, None)
        };
        let base_path = if kind.is_object() { base_path } else { validate::fs_root(&base_path)? };
        if new.access_key_id.is_some() != new.secret_access_key.is_some() {
            return Err(CoreError::invalid("secret_access_key", "access_key_id and secret_access_key go together"));
        }
        Ok(StorageProfile {
            id: uuid::Uuid::new_v4().simple().to_string(),
            project_id: new.project_id.clone(),
            name: new.name.clone(),
            kind,
            endpoint,
            region: new.region.clone(),
            bucket,
            base_path,
            // OSS and OBS only serve virtual-host addressing; S3 servers on a bare address want paths.
            path_style: new.path_style.unwrap_or(kind == StorageKind::S3),
            access_key_id: new.access_key_id.clone(),
            secret_sealed: new.secret_access_key.as_deref().map(|s| self.seal(s)).transpose()?,
            is_default: new.is_default,
            created_at: self.clock.now(),
        })
    }

    pub async fn storage_profiles(&self, project_id: &str) -> Result<Vec<StorageProfile>, CoreError> {
        self.project(project_id).await?;
        Ok(self.store.list_storage_profiles(project_id).await?)
    }

    pub async fn storage_profile(&self, project_id: &str, name: &str) -> Result<StorageProfile, CoreError> {
        self.store.get_storage_profile(project_id, name).await?.ok_or(CoreError::NotFound(NotFound::StorageProfile))
    }

    /// Makes a profile the project's default (the one clusters without their own use).
    pub async fn set_default_storage_profile(&self, project_id: &str, name: &str) -> Result<(), CoreError> {
        self.storage_profile(project_id, name).await?;
        Ok(self.store.set_default_storage_profile(project_id, name).await?)
    }

    /// Deletes a profile; refused while a cluster's repository, or any of its snapshots, is in it.
    pub async fn delete_storage_profile(&self, project_id: &str, name: &str) -> Result<(), CoreError> {
        let profile = self.storage_profile(project_id, name).await?;
        let clusters = self.store.list_clusters(Some(project_id)).await?;
        let places = self.places_of(Scope::Project(project_id), &clusters).await?;
        for (cluster, places) in clusters.into_iter().zip(places) {
            let places = places.into_iter().collect::<Result<Vec<_>, _>>()?;
            if places.iter().any(|place| place.profile.id == profile.id) {
                return Err(CoreError::StorageProfileInUse { profile: profile.name, cluster: cluster.id });
            }
        }
        Ok(self.store.delete_storage_profile(project_id, name).await?)
    }

    /// Where the cluster's repository lives with `settings` (its stored ones, or proposed ones).
    pub async fn repository_location(
        &self,
        cluster: &Cluster,
        settings: &SnapshotSettings,
    ) -> Result<RepositoryLocation, CoreError> {
        let profiles = self.store.list_storage_profiles(&cluster.project_id).await?;
        locate(cluster, settings, &profiles, &self.repositories.local_root)
    }

    /// Checks a proposed location: it must not overlap any place holding another cluster's
    /// snapshots (its repository, or where earlier snapshots stay after a move), and the storage
    /// must accept writes there.
    pub(crate) async fn check_location(&self, cluster: &Cluster, settings: &SnapshotSettings) -> Result<(), CoreError> {
        let location = self.repository_location(cluster, settings).await?;
        let mut others = self.store.list_clusters(None).await?;
        others.retain(|other| other.id != cluster.id);
        for places in self.places_of(Scope::Fleet, &others).await? {
            // A place whose profile is gone cannot be compared; the others can.
            if places.iter().flatten().any(|place| place.overlaps(&location)) {
                return Err(CoreError::invalid(
                    "base_path",
                    format!("{} would overlap the repository of another cluster", location.path),
                ));
            }
        }
        let target = self.target(&location)?;
        self.repositories.storage.check_writable(&target).await?;
        self.repositories.storage.create_path(&target).await?;
        self.check_on_cluster(cluster, &location, settings).await
    }

    /// Has a search cluster register the repository at `location` under a scratch name and
    /// verify it, then removes that registration: the engine's refusal (a location outside
    /// `path.repo`, a missing `s3` client) reaches the caller before anything is accepted.
    /// Errors: `RepositoryRefused` with the engine's reason; `Engine` when it cannot be asked.
    async fn check_on_cluster(
        &self,
        cluster: &Cluster,
        location: &RepositoryLocation,
        settings: &SnapshotSettings,
    ) -> Result<(), CoreError> {
        if cluster.flavor.is_database() {
            return Ok(());
        }
        let engine = self.engine_for(cluster)?;
        let scratch = repository_spec(self.repositories.names.check(), location, false, settings);
        let registered = engine.put_repository(&scratch).await;
        let removed = engine.delete_repository(&scratch.name).await;
        match registered {
            Err(e) if !e.is_transient() => Err(CoreError::RepositoryRefused(refusal_reason(&e))),
            other => Ok(other.and(removed)?),
        }
    }

    /// `source`'s repository as `target` registers it: read-only, with `target`'s throttles.
    pub(crate) async fn shared_repository(
        &self,
        source: &Cluster,
        target: &Cluster,
    ) -> Result<RepositorySpec, CoreError> {
        let location = self.current_location(source).await?;
        let name = self.repositories.names.shared(source);
        Ok(repository_spec(name, &location, true, &self.settings_of(target).await?))
    }

    /// Where a cluster's repository is and the bytes it holds now.
    pub async fn repository_usage(&self, cluster: &Cluster) -> Result<RepositoryUsage, CoreError> {
        let location = self.current_location(cluster).await?;
        let bytes = self.repositories.storage.usage(&self.target(&location)?).await;
        Ok(RepositoryUsage { location, bytes })
    }

    /// Forgets a cluster; with `purge_storage`, first deletes everything in its repository and in
    /// every earlier location its snapshots stay in. A purge that fails leaves the cluster
    /// registered, so it can be repeated. A PostgreSQL cluster
    /// snapkeep restored has its server stopped and its directory removed first (refused while
    /// operations run); a registered server of one's own is only forgotten.
    pub async fn delete_cluster(&self, id: &str, purge_storage: bool) -> Result<Option<u64>, CoreError> {
        let cluster = self.cluster(id).await?;
        if cluster.flavor.is_database() {
            if !self.store.open_operations(Some(id)).await?.is_empty() {
                return Err(CoreError::ClusterBusy(id.to_owned()));
            }
            self.databases()?.discard_restored(id).await?;
        }
        let purged = if purge_storage {
            if !self.store.open_operations(Some(id)).await?.is_empty() {
                return Err(CoreError::ClusterBusy(id.to_owned()));
            }
            let mut purged = 0;
            for place in self.cluster_places(&cluster).await? {
                purged += self.repositories.storage.remove_path(&self.target(&place)?).await?;
            }
            Some(purged)
        } else {
            None
        };
        self.store.delete_cluster(id).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ClusterBusy(id.to_owned()),
            other => other.into(),
        })?;
        Ok(purged)
    }

    /// Where the cluster's repository lives with its stored settings.
    async fn current_location(&self, cluster: &Cluster) -> Result<RepositoryLocation, CoreError> {
        self.repository_location(cluster, &self.settings_of(cluster).await?).await
    }

    pub(crate) async fn settings_of(&self, cluster: &Cluster) -> Result<SnapshotSettings, CoreError> {
        Ok(self.store.get_snapshot_config(&cluster.id).await?.unwrap_or_default().settings)
    }

    /// The location with its profile's credentials opened.
    pub(crate) fn target(&self, location: &RepositoryLocation) -> Result<StorageTarget, CoreError> {
        let profile = &location.profile;
        let credentials = match (&profile.access_key_id, &profile.secret_sealed) {
            (Some(access_key_id), Some(sealed)) => Some(StorageCredentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: self.cipher.open(sealed)?,
            }),
            _ => None,
        };
        Ok(StorageTarget {
            kind: profile.kind,
            endpoint: profile.endpoint.clone(),
            region: profile.region.clone(),
            bucket: location.bucket.clone(),
            path_style: profile.path_style,
            credentials,
            path: location.path.clone(),
        })
    }
}

/// What the engine said, without the driver's framing.
fn refusal_reason(e: &EngineError) -> String {
    match e {
        EngineError::Api { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Where `cluster`'s repository lives with `settings`, given its project's `profiles`: in the
/// profile its settings name (`agency`), else in the project's default one, else under the
/// local root. Errors: `UnknownStorageProfile` when the named profile is not among `profiles`;
/// `Invalid` for a bucket on a filesystem profile.
pub(crate) fn locate(
    cluster: &Cluster,
    settings: &SnapshotSettings,
    profiles: &[StorageProfile],
    local_root: &str,
) -> Result<RepositoryLocation, CoreError> {
    let profile = match &settings.agency {
        Some(name) => profiles
            .iter()
            .find(|p| p.name == *name)
            .cloned()
            .ok_or_else(|| CoreError::UnknownStorageProfile(name.clone()))?,
        None => match profiles.iter().find(|p| p.is_default) {
            Some(profile) => profile.clone(),
            None => StorageProfile::local(&cluster.project_id, local_root),
        },
    };
    if !profile.kind.is_object() {
        if settings.bucket.is_some() {
            return Err(CoreError::invalid(
                "bucket",
                format!("profile {} is a filesystem; it has no buckets", profile.name),
            ));
        }
        let relative = storage::join_path(&[settings.base_path.as_deref().unwrap_or(""), &cluster.id]);
        let path = format!("{}/{relative}", profile.base_path.trim_end_matches('/'));
        return Ok(RepositoryLocation { profile, bucket: None, path });
    }
    let base = settings.base_path.as_deref().unwrap_or(&profile.base_path);
    let path = storage::join_path(&[base, &cluster.id]);
    let bucket = settings.bucket.clone().or_else(|| profile.bucket.clone());
    Ok(RepositoryLocation { profile, bucket, path })
}
