//! Projects and the clusters registered in them: registration (the cluster is contacted and its
//! engine and version learnt), tenancy (a cluster seen from another project does not exist), the
//! failures a cluster shows, and how to reach it.

use std::sync::Arc;

use crate::engine::{EngineEndpoint, EngineInfo, SearchEngine};
use crate::error::{CoreError, NotFound, StoreError};
use crate::model::{
    Cluster, ClusterFailures, LastFailure, NewCluster, Project, Snapshot, SnapshotKind, SnapshotStatus,
};
use crate::page::{ClusterPage, MAX_PAGE, Page, split_page};
use crate::policy::SnapshotSettings;
use crate::snapkeep::Snapkeep;
use crate::validate;

impl Snapkeep {
    pub async fn create_project(&self, name: &str) -> Result<Project, CoreError> {
        validate::display_name("name", name)?;
        let project = Project {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        self.store.insert_project(&project).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ProjectNameTaken(name.to_owned()),
            other => other.into(),
        })?;
        Ok(project)
    }

    pub async fn project(&self, id: &str) -> Result<Project, CoreError> {
        self.store.get_project(id).await?.ok_or(CoreError::NotFound(NotFound::Project))
    }

    pub async fn list_projects(&self) -> Result<Vec<Project>, CoreError> {
        Ok(self.store.list_projects().await?)
    }

    pub async fn delete_project(&self, id: &str) -> Result<(), CoreError> {
        self.project(id).await?;
        self.store.delete_project(id).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ProjectNotEmpty(id.to_owned()),
            other => other.into(),
        })
    }

    /// Registers a cluster after contacting it and learning its engine and version. Credentials
    /// written into the endpoint URL are moved into the sealed fields (`validate::credentials_in_url`).
    pub async fn register_cluster(&self, new: NewCluster) -> Result<Cluster, CoreError> {
        self.project(&new.project_id).await?;
        validate::display_name("name", &new.name)?;
        validate::endpoint(&new.endpoint)?;
        let (endpoint, username, password) =
            validate::credentials_in_url(&new.endpoint, new.username.clone(), new.password.clone())?;
        let new = NewCluster { endpoint, username, password, ..new };
        if let Some(id) = &new.id {
            validate::resource_id("id", id)?;
        }
        if new.password.is_some() && new.username.is_none() {
            return Err(CoreError::invalid("username", "is required with a password"));
        }
        let endpoint = EngineEndpoint {
            url: new.endpoint.trim_end_matches('/').to_owned(),
            username: new.username.clone(),
            password: new.password.clone(),
        };
        let probe = if endpoint.url.starts_with("postgres") {
            self.databases()?.probe(&endpoint).await
        } else {
            self.connector.probe(&endpoint).await
        };
        let info = probe.map_err(|e| CoreError::ClusterUnusable(e.to_string()))?;
        let cluster = Cluster {
            id: new.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            project_id: new.project_id,
            name: new.name,
            endpoint: endpoint.url,
            username: new.username,
            password_encrypted: new.password.as_deref().map(|p| self.seal(p)).transpose()?,
            region: new.region.unwrap_or_else(|| self.default_region.clone()),
            flavor: info.flavor,
            version: info.version,
            created_at: self.clock.now(),
        };
        self.check_location(&cluster, &SnapshotSettings::default()).await?;
        self.store.insert_cluster(&cluster).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::ClusterIdTaken(cluster.id.clone()),
            other => other.into(),
        })?;
        Ok(cluster)
    }

    pub async fn cluster(&self, id: &str) -> Result<Cluster, CoreError> {
        self.store.get_cluster(id).await?.ok_or(CoreError::NotFound(NotFound::Cluster))
    }

    /// A cluster as seen from a project: another project's cluster does not exist.
    pub async fn cluster_in_project(&self, project_id: &str, id: &str) -> Result<Cluster, CoreError> {
        match self.store.get_cluster(id).await? {
            Some(cluster) if cluster.project_id == project_id => Ok(cluster),
            _ => Err(CoreError::NotFound(NotFound::Cluster)),
        }
    }

    /// A page of the clusters of one project (or all), oldest first. Errors: `NotFound` for an
    /// unknown project; `Invalid` for a limit out of range or a cursor this listing did not give.
    pub async fn clusters_page(&self, project_id: Option<&str>, page: &Page) -> Result<ClusterPage, CoreError> {
        let (limit, after) = page.checked()?;
        if let Some(project_id) = project_id {
            self.project(project_id).await?;
        }
        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let clusters = self.store.clusters_page(project_id, after, limit + 1).await?;
        let (clusters, next) = split_page(clusters, limit, |c| (c.created_at, &c.id));
        Ok(ClusterPage { clusters, next })
    }

    /// The search clusters (Elasticsearch, OpenSearch; no databases) `skip` to `skip + limit`
    /// (from 0) of one project's list, oldest first, and how many there are in all; with
    /// `engine` (an engine name such as `opensearch`, any case), only that engine's. For
    /// dialects of search services whose vendor pages by offset. An unknown project has none.
    /// Errors: `Invalid` for a limit outside 1 to `MAX_PAGE`.
    pub async fn search_clusters_range(
        &self,
        project_id: &str,
        engine: Option<&str>,
        skip: usize,
        limit: u32,
    ) -> Result<(Vec<Cluster>, usize), CoreError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        let mut clusters = self.store.list_clusters(Some(project_id)).await?;
        clusters.retain(|c| {
            !c.flavor.is_database() && engine.is_none_or(|engine| c.flavor.as_str().eq_ignore_ascii_case(engine))
        });
        let total = clusters.len();
        Ok((clusters.into_iter().skip(skip).take(limit as usize).collect(), total))
    }

    pub async fn list_clusters(&self, project_id: Option<&str>) -> Result<Vec<Cluster>, CoreError> {
        if let Some(project_id) = project_id {
            self.project(project_id).await?;
        }
        Ok(self.store.list_clusters(project_id).await?)
    }

    /// What has failed on a cluster: its last failed operation and how its automatic snapshots
    /// ended, failures counted apart from successes (they stay listed until retention removes them).
    pub async fn cluster_failures(&self, cluster: &Cluster) -> Result<ClusterFailures, CoreError> {
        let last = self.store.last_failed_operation(&cluster.id).await?;
        let automatic: Vec<Snapshot> = self
            .store
            .list_snapshots(&cluster.id)
            .await?
            .into_iter()
            .filter(|s| s.kind == SnapshotKind::Automatic)
            .collect();
        let count = |status| automatic.iter().filter(|s| s.status == status).count();
        Ok(ClusterFailures {
            last: last.map(LastFailure::of),
            automatic_completed: count(SnapshotStatus::Completed),
            automatic_part_failed: count(SnapshotStatus::PartFailed),
            automatic_failed: count(SnapshotStatus::Failed),
        })
    }

    /// Where and how to reach a registered cluster, with its credentials decrypted.
    pub(crate) fn endpoint_of(&self, cluster: &Cluster) -> Result<EngineEndpoint, CoreError> {
        let password = cluster.password_encrypted.as_deref().map(|p| self.cipher.open(p)).transpose()?;
        Ok(EngineEndpoint { url: cluster.endpoint.clone(), username: cluster.username.clone(), password })
    }

    /// A `_snapshot` client for a registered search cluster.
    pub fn engine_for(&self, cluster: &Cluster) -> Result<Arc<dyn SearchEngine>, CoreError> {
        if cluster.flavor.is_database() {
            return Err(CoreError::Unsupported(format!(
                "cluster {} is a database; it has no _snapshot API",
                cluster.id
            )));
        }
        let endpoint = self.endpoint_of(cluster)?;
        let info = EngineInfo { flavor: cluster.flavor, version: cluster.version, cluster_name: cluster.name.clone() };
        Ok(self.connector.connect(endpoint, &info))
    }
}
