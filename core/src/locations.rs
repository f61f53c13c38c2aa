//! Which repository registration reaches a snapshot of a search cluster. Each snapshot
//! remembers the repository location it was written to; after the cluster's storage settings
//! move its repository (another `basePath`, bucket or profile), its earlier snapshots stay where
//! they were written, and are reached there: under the cluster's own repository name while it
//! still points there, else under a name derived from the location: `<own>_<12 hex digits>` for
//! deletes (writable), `<own>_readonly_<12 hex digits>` for restores into the same cluster and
//! `<shared>_<12 hex digits>` for restores into another (read-only). A registration never changes
//! between read-only and writable, so a delete never waits on a restore's registration.

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
    /// Read in three catalog statements whatever the number of clusters and projects, so that
    /// checking a new location against a fleet's costs one pass. A catalog read that fails
    /// fails the whole check: a check that skipped what it could not read would not be one.
    pub(crate) async fn places_of(&self, scope: Scope<'_>, clusters: &[Cluster]) -> Result<Vec<Places>, CoreError> {
        let configs = self.store.snapshot_configs(scope).await?;
        let mut recorded = self.store.snapshot_locations(scope).await?;
        let profiles = self.store.scoped_storage_profiles(scope).await?;
        let (root, unset) = (&self.repositories.local_root, SnapshotSettings::default());
        let mut all = Vec::with_capacity(clusters.len());
        for cluster in clusters {
            let project = cluster.project_id.as_str();
            let profiles = profiles.get(project).map_or(&[][..], Vec::as_slice);
            let settings = configs.get(&cluster.id).map_or(&unset, |config| &config.settings);
            let mut places = vec![locate(cluster, settings, profiles, root)];
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

    fn cluster() -> Cluster {
        Cluster {
            id: "c1".into(),
            project_id: "p".into(),
            name: "c1".into(),
            endpoint: "http://127.0.0.1:9".into(),
            username: None,
            password_encrypted: None,
            region: "r".into(),
            flavor: crate::EngineFlavor::Elasticsearch,
            version: crate::EngineVersion::new(8, 11, 1),
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn s3(name: &str, is_default: bool) -> StorageProfile {
        StorageProfile {
            id: name.into(),
            name: name.into(),
            kind: crate::storage::StorageKind::S3,
            bucket: Some("shared".into()),
            base_path: "snaps".into(),
            is_default,
            ..StorageProfile::local("p", "/unused")
        }
    }

    #[test]
    fn a_repository_is_in_the_named_profile_else_the_default_else_the_local_root() {
        let settings = |agency: Option<&str>, bucket: Option<&str>| SnapshotSettings {
            agency: agency.map(str::to_owned),
            bucket: bucket.map(str::to_owned),
            ..SnapshotSettings::default()
        };
        let profiles = [s3("default", true), s3("named", false)];
        let at = |settings, profiles: &[StorageProfile]| locate(&cluster(), &settings, profiles, "/repos");
        let named = at(settings(Some("named"), Some("own")), &profiles).unwrap();
        assert_eq!(
            (named.profile.name.as_str(), named.bucket.as_deref(), named.path.as_str()),
            ("named", Some("own"), "snaps/c1")
        );
        let default = at(settings(None, None), &profiles).unwrap();
        assert_eq!((default.profile.name.as_str(), default.bucket.as_deref()), ("default", Some("shared")));
        let local = at(settings(None, None), &profiles[1..]).unwrap();
        assert_eq!((local.profile.name.as_str(), local.path.as_str()), (LOCAL_PROFILE, "/repos/c1"));
        assert!(
            matches!(at(settings(Some("gone"), None), &profiles), Err(CoreError::UnknownStorageProfile(n)) if n == "gone")
        );
        assert!(matches!(at(settings(None, Some("b")), &[]), Err(CoreError::Invalid { .. })));
    }

    #[test]
    fn a_recorded_location_is_found_among_its_projects_profiles_or_reported_gone() {
        let recorded =
            |profile: &str| SnapshotLocation { profile: profile.into(), bucket: None, path: "old/c1".into() };
        let profiles = [s3("named", false)];
        let local = place_in("p", &recorded(LOCAL_PROFILE), &[], "/repos").unwrap();
        assert_eq!((local.profile, local.path.as_str()), (StorageProfile::local("p", "/repos"), "old/c1"));
        assert_eq!(place_in("p", &recorded("named"), &profiles, "/repos").unwrap().profile, profiles[0]);
        let gone = place_in("p", &recorded("gone"), &profiles, "/repos");
        assert!(matches!(gone, Err(CoreError::NotFound(NotFound::StorageProfile))));
    }
}
