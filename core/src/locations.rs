//! Which repository registration reaches a snapshot of a search cluster. Each snapshot
//! remembers the repository location it was written to; after the cluster's storage settings
//! move its repository (another `basePath`, bucket or profile), its earlier snapshots stay where
//! they were written, and are reached there: under the cluster's own repository name while it
//! still points there, else under a name derived from the location: `<own>_<12 hex digits>` for
//! deletes (writable), `<own>_readonly_<12 hex digits>` for restores into the same cluster and
//! `<shared>_<12 hex digits>` for restores into another (read-only). A registration never changes
//! between read-only and writable, so a delete never waits on a restore's registration.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::engine::RepositorySpec;
use crate::error::{CoreError, NotFound};
use crate::model::{Cluster, Snapshot};
use crate::page::Scope;
use crate::policy::SnapshotSettings;
use crate::profiles::locate;
use crate::repository::repository_spec;
use crate::snapkeep::Snapkeep;
use crate::storage::{LOCAL_PROFILE, RepositoryLocation, SnapshotLocation, StorageProfile};

impl Snapkeep {
    /// The registration on `cluster` that reaches its own `snapshot`: its own repository when the
    /// snapshot is where that repository is now (or recorded no location), else one at the
    /// snapshot's location under a derived name, read-only unless `writable`.
    pub(crate) async fn repository_of(
        &self,
        cluster: &Cluster,
        snapshot: &Snapshot,
        writable: bool,
    ) -> Result<RepositorySpec, CoreError> {
        let mut one = self.repositories_of(cluster, std::slice::from_ref(snapshot), writable).await?;
        Ok(one.remove(0))
    }

    /// `repository_of` for each of `snapshots`, in order, reading the cluster's settings and
    /// where its repository is now once for all of them (a retention batch).
    pub(crate) async fn repositories_of(
        &self,
        cluster: &Cluster,
        snapshots: &[Snapshot],
        writable: bool,
    ) -> Result<Vec<RepositorySpec>, CoreError> {
        let settings = self.settings_of(cluster).await?;
        let current = self.repository_location(cluster, &settings).await?;
        let own = &self.repositories.names.own;
        let mut specs = Vec::with_capacity(snapshots.len());
        for snapshot in snapshots {
            specs.push(match self.moved_from(snapshot, &current).await? {
                Some(place) if writable => repository_spec(derived(own, &place), &place, false, &settings),
                Some(place) => repository_spec(derived(&format!("{own}_readonly"), &place), &place, true, &settings),
                None => repository_spec(own.clone(), &current, false, &settings),
            });
        }
        Ok(specs)
    }

    /// The registration on `target` that a restore of `source`'s `snapshot` reads: the source's
    /// repository when `target` is the source, else the source's repository (or the snapshot's
    /// earlier location) read-only under the shared name, with `target`'s throttles.
    pub(crate) async fn restore_repository(
        &self,
        source: &Cluster,
        target: &Cluster,
        snapshot: &Snapshot,
    ) -> Result<RepositorySpec, CoreError> {
        if source.id == target.id {
            return self.repository_of(source, snapshot, false).await;
        }
        let current = self.repository_location(source, &self.settings_of(source).await?).await?;
        let shared = self.repositories.names.shared(source);
        let throttles = self.settings_of(target).await?;
        match self.moved_from(snapshot, &current).await? {
            Some(place) => Ok(repository_spec(derived(&shared, &place), &place, true, &throttles)),
            None => Ok(repository_spec(shared, &current, true, &throttles)),
        }
    }

    /// Every place that holds the cluster's snapshots, each once: where its repository is now and
    /// every other location its snapshots recorded (earlier repositories, backup folders).
    /// Errors: a recorded location whose profile is gone.
    pub(crate) async fn cluster_places(&self, cluster: &Cluster) -> Result<Vec<RepositoryLocation>, CoreError> {
        let places = self.places_of(Scope::Cluster(&cluster.id), std::slice::from_ref(cluster)).await?;
        places.into_iter().flatten().collect()
    }

    /// `cluster_places` for each of `clusters` (all in `scope`), in order, each place an error
    /// where the profile it names is gone: the first is where the cluster's repository is now.
    /// Read in three catalog statements and one per project, whatever the number of clusters, so
    /// that checking a new location against a fleet's costs one pass.
    pub(crate) async fn places_of(&self, scope: Scope<'_>, clusters: &[Cluster]) -> Result<Vec<Places>, CoreError> {
        let configs = self.store.snapshot_configs(scope).await?;
        let mut recorded = self.store.snapshot_locations(scope).await?;
        let mut profiles: HashMap<&str, Vec<StorageProfile>> = HashMap::new();
        let mut all = Vec::with_capacity(clusters.len());
        for cluster in clusters {
            let project = cluster.project_id.as_str();
            if !profiles.contains_key(project) {
                profiles.insert(project, self.store.list_storage_profiles(project).await?);
            }
            let profiles = &profiles[project];
            let settings = configs.get(&cluster.id).map(|config| &config.settings);
            let root = &self.repositories.local_root;
            let mut places = vec![locate(cluster, settings.unwrap_or(&SnapshotSettings::default()), profiles, root)];
            for location in recorded.remove(&cluster.id).unwrap_or_default() {
                let place = place_in(project, &location, profiles, root);
                // A backup's folder inside a repository already listed is that repository's.
                let listed = |place: &RepositoryLocation| {
                    places.iter().flatten().any(|p| p.overlaps(place) && place.path.starts_with(&p.path))
                };
                if !place.as_ref().is_ok_and(listed) {
                    places.push(place);
                }
            }
            all.push(places);
        }
        Ok(all)
    }

    /// Where the cluster's repository is now, as a snapshot records it.
    pub(crate) async fn current_snapshot_location(&self, cluster: &Cluster) -> Result<SnapshotLocation, CoreError> {
        let location = self.repository_location(cluster, &self.settings_of(cluster).await?).await?;
        Ok(recorded(&location))
    }

    /// The snapshot's recorded location when it is not `current`.
    async fn moved_from(
        &self,
        snapshot: &Snapshot,
        current: &RepositoryLocation,
    ) -> Result<Option<RepositoryLocation>, CoreError> {
        match &snapshot.location {
            Some(location) if *location != recorded(current) => {
                Ok(Some(self.place_of(&snapshot.project_id, location).await?))
            }
            _ => Ok(None),
        }
    }

    /// A recorded location with its profile's settings and credentials (the built-in `local`
    /// profile, or one of the project's).
    pub(crate) async fn place_of(
        &self,
        project_id: &str,
        location: &SnapshotLocation,
    ) -> Result<RepositoryLocation, CoreError> {
        let profiles = match location.profile.as_str() {
            LOCAL_PROFILE => Vec::new(),
            name => self.store.get_storage_profile(project_id, name).await?.into_iter().collect(),
        };
        place_in(project_id, location, &profiles, &self.repositories.local_root)
    }
}

/// Every place holding one cluster's snapshots; see `Snapkeep::places_of`.
pub(crate) type Places = Vec<Result<RepositoryLocation, CoreError>>;

/// Where a recorded `location` is, its profile looked up among its project's `profiles`.
/// Errors: `NotFound(StorageProfile)` when the profile is gone.
fn place_in(
    project_id: &str,
    location: &SnapshotLocation,
    profiles: &[StorageProfile],
    local_root: &str,
) -> Result<RepositoryLocation, CoreError> {
    let profile = if location.profile == LOCAL_PROFILE {
        StorageProfile::local(project_id, local_root)
    } else {
        profiles
            .iter()
            .find(|p| p.name == location.profile)
            .cloned()
            .ok_or(CoreError::NotFound(NotFound::StorageProfile))?
    };
    Ok(RepositoryLocation { profile, bucket: location.bucket.clone(), path: location.path.clone() })
}

/// A repository location as a snapshot records it: the profile by name, bucket and path.
fn recorded(location: &RepositoryLocation) -> SnapshotLocation {
    SnapshotLocation {
        profile: location.profile.name.clone(),
        bucket: location.bucket.clone(),
        path: location.path.clone(),
    }
}

/// `<base>_<first 12 hex digits of the SHA-256 of profile, bucket and path>`: the same location
/// always gets the same name, another one another name.
fn derived(base: &str, place: &RepositoryLocation) -> String {
    let key = format!("{}\n{}\n{}", place.profile.name, place.bucket.as_deref().unwrap_or(""), place.path);
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("{base}_{}", &digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_are_stable_lowercase_and_differ_by_location() {
        let place = |bucket: Option<&str>, path: &str| RepositoryLocation {
            profile: StorageProfile::local("p", "/repos"),
            bucket: bucket.map(str::to_owned),
            path: path.to_owned(),
        };
        let a = derived("snapkeep", &place(None, "/repos/c1"));
        assert_eq!(a, derived("snapkeep", &place(None, "/repos/c1")));
        assert!(a.starts_with("snapkeep_") && a.len() == "snapkeep_".len() + 12);
        assert!(a.chars().all(|c| !c.is_uppercase()));
        assert_ne!(a, derived("snapkeep", &place(None, "/repos/moved/c1")));
        assert_ne!(a, derived("snapkeep", &place(Some("b"), "/repos/c1")));
    }
}
