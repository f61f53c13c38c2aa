//! DWS snapshot routes.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use snapkeep_api_gateway::{Created, Route, dialect_router};
use snapkeep_core::{Cluster, CoreError, EngineFamily, Snapkeep, Snapshot, SnapshotConfig};

use crate::body;
use crate::dialect::Dws;
use crate::error::DwsError;
use crate::view;

pub fn router(core: Snapkeep) -> Router {
    dialect_router(core, Dws, routes())
}

/// Every route, with the names Huawei's API gives its changes.
fn routes() -> Vec<Route> {
    const SNAPSHOTS: &str = "/v1.0/{project_id}/snapshots";
    const SNAPSHOT: &str = "/v1.0/{project_id}/snapshots/{snapshot_id}";
    const POLICIES: &str = "/v2/{project_id}/clusters/{cluster_id}/snapshot-policies";
    vec![
        Route::change(Method::POST, SNAPSHOTS, "CreateSnapshot", create_snapshot),
        Route::read(SNAPSHOTS, list_snapshots),
        Route::read(SNAPSHOT, show_snapshot),
        Route::change(Method::DELETE, SNAPSHOT, "DeleteSnapshot", delete_snapshot),
        Route::change(
            Method::POST,
            "/v1.0/{project_id}/snapshots/{snapshot_id}/actions",
            "RestoreCluster",
            restore_cluster,
        ),
        Route::read("/v1.0/{project_id}/clusters/{cluster_id}/snapshots", list_cluster_snapshots),
        Route::read(POLICIES, show_policy),
        Route::change(Method::PUT, POLICIES, "CreateSnapshotPolicy", set_policy),
        Route::change(
            Method::DELETE,
            "/v1.0/{project_id}/clusters/{cluster_id}/snapshot-policies/{policy_id}",
            "DeleteSnapshotPolicy",
            delete_policy,
        ),
        Route::change(Method::POST, "/v1/{project_id}/snapshots/check", "CheckSnapshot", check_snapshot),
        Route::read("/v1.0/{project_id}/job/{job_id}", show_job),
    ]
}

async fn create_snapshot(
    State(core): State<Snapkeep>,
    Path(project_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, DwsError> {
    let (cluster_id, input) = body::create(&bytes)?;
    let snapshot = core.create_snapshot(&project_id, &cluster_id, input).await?;
    let answer = axum::Json(json!({"snapshot": {"id": snapshot.id}})).into_response();
    Ok(Created::mark(answer, &format!("{cluster_id}/{}", snapshot.id)))
}

/// What a cluster's snapshots are shown with: its policy and the progress of its running ones,
/// read once per cluster however many of its snapshots are shown.
struct ClusterView {
    config: SnapshotConfig,
    progress: HashMap<String, String>,
}

impl ClusterView {
    async fn read(core: &Snapkeep, cluster: &Cluster) -> Result<Self, CoreError> {
        let (_, config) = core.snapshot_config(&cluster.project_id, &cluster.id).await?;
        Ok(Self { config, progress: core.snapshot_progress(&cluster.id).await? })
    }

    fn show(&self, cluster: &Cluster, snapshot: &Snapshot) -> Value {
        view::snapshot(cluster, &self.config, snapshot, self.progress.get(&snapshot.id).map(String::as_str))
    }
}

async fn list_snapshots(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Result<Response, DwsError> {
    let mut views: HashMap<String, ClusterView> = HashMap::new();
    let mut snapshots = Vec::new();
    for (cluster, snapshot) in core.project_snapshots(&project_id, EngineFamily::Database).await? {
        if !views.contains_key(&cluster.id) {
            views.insert(cluster.id.clone(), ClusterView::read(&core, &cluster).await?);
        }
        snapshots.push(views[&cluster.id].show(&cluster, &snapshot));
    }
    Ok(axum::Json(json!({"count": snapshots.len(), "snapshots": snapshots})).into_response())
}

async fn show_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, snapshot_id)): Path<(String, String)>,
) -> Result<Response, DwsError> {
    let (cluster, snapshot) = core.database_snapshot(&project_id, &snapshot_id).await?;
    let shown = ClusterView::read(&core, &cluster).await?.show(&cluster, &snapshot);
    Ok(axum::Json(json!({"snapshot": shown})).into_response())
}

async fn delete_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, snapshot_id)): Path<(String, String)>,
) -> Result<Response, DwsError> {
    let (cluster, _) = core.database_snapshot(&project_id, &snapshot_id).await?;
    core.delete_snapshot(&project_id, &cluster.id, &snapshot_id).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn restore_cluster(
    State(core): State<Snapkeep>,
    Path((project_id, snapshot_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, DwsError> {
    let input = body::restore(&bytes)?;
    let (cluster_id, job_id) = core.restore_to_new_cluster(&project_id, &snapshot_id, input).await?;
    let answer = axum::Json(json!({"cluster": {"id": cluster_id}, "job_id": job_id})).into_response();
    Ok(Created::mark(answer, &cluster_id))
}

/// `limit` (> 0) and `offset` (a page index ≥ 0), `sort_key` (`started`, `name`, `size`) and
/// `sort_dir` (`asc`, `desc`: the default).
async fn list_cluster_snapshots(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, DwsError> {
    let page = Page::parse(&query)?;
    let cluster = core.database_cluster(&project_id, &cluster_id).await?;
    let (_, config, mut snapshots) = core.list_snapshots(&project_id, &cluster_id).await?;
    page.sort(&mut snapshots);
    let count = snapshots.len();
    let view = ClusterView { config, progress: core.snapshot_progress(&cluster.id).await? };
    let shown_page: Vec<Value> = page.slice(&snapshots).iter().map(|s| view.show(&cluster, s)).collect();
    Ok(axum::Json(json!({"project_id": project_id, "cluster_id": cluster_id, "count": count, "snapshots": shown_page}))
        .into_response())
}

/// Paging and order of a cluster's snapshot list.
struct Page {
    limit: Option<usize>,
    offset: usize,
    key: String,
    descending: bool,
}

impl Page {
    fn parse(query: &HashMap<String, String>) -> Result<Self, DwsError> {
        let number = |name: &str| -> Result<Option<i64>, DwsError> {
            query
                .get(name)
                .map(|v| v.parse::<i64>().map_err(|_| DwsError::incorrect(format!("{name} must be an integer"))))
                .transpose()
        };
        let limit = match number("limit")? {
            Some(n) if n <= 0 => return Err(DwsError::incorrect("limit must be greater than 0")),
            other => other.map(|n| n as usize),
        };
        let offset = match number("offset")? {
            Some(n) if n < 0 => return Err(DwsError::incorrect("offset must be 0 or more")),
            other => other.unwrap_or(0) as usize,
        };
        let key = query.get("sort_key").cloned().unwrap_or_else(|| "started".into());
        if !["started", "name", "size"].contains(&key.as_str()) {
            return Err(DwsError::incorrect("sort_key must be started, name or size"));
        }
        let descending = match query.get("sort_dir").map(String::as_str) {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(DwsError::incorrect("sort_dir must be asc or desc")),
        };
        Ok(Self { limit, offset, key, descending })
    }

    fn sort(&self, snapshots: &mut [Snapshot]) {
        match self.key.as_str() {
            "name" => snapshots.sort_by_key(|s| s.name.to_lowercase()),
            "size" => snapshots.sort_by_key(|s| s.size_bytes.unwrap_or(0)),
            _ => snapshots.sort_by_key(|s| (s.start_time_ms, s.created_at)),
        }
        if self.descending {
            snapshots.reverse();
        }
    }

    /// The page: `offset` counts pages of `limit`.
    fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let Some(limit) = self.limit else { return items };
        let start = self.offset.saturating_mul(limit).min(items.len());
        &items[start..(start + limit).min(items.len())]
    }
}

async fn set_policy(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, DwsError> {
    core.set_database_policy(&project_id, &cluster_id, body::policy(&bytes)?).await?;
    Ok(axum::Json(json!({})).into_response())
}

async fn show_policy(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
) -> Result<Response, DwsError> {
    let cluster = core.database_cluster(&project_id, &cluster_id).await?;
    let (_, config) = core.snapshot_config(&project_id, &cluster.id).await?;
    let next = config.policy.enabled.then(|| config.policy.schedule.next_after(core.now()));
    Ok(axum::Json(view::policy(&config, next)).into_response())
}

async fn delete_policy(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id, policy_id)): Path<(String, String, String)>,
) -> Result<Response, DwsError> {
    core.delete_database_policy(&project_id, &cluster_id, &policy_id).await?;
    Ok(StatusCode::OK.into_response())
}

async fn show_job(
    State(core): State<Snapkeep>,
    Path((project_id, job_id)): Path<(String, String)>,
) -> Result<Response, DwsError> {
    let operation = core.operation_in_project(&project_id, &job_id).await?;
    Ok(axum::Json(view::job(&operation)).into_response())
}

/// Whether a name can be used for a new snapshot.
async fn check_snapshot(
    State(core): State<Snapkeep>,
    Path(project_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, DwsError> {
    let name = body::check(&bytes)?;
    core.check_name_free_in_project(&project_id, EngineFamily::Database, &name).await?;
    Ok(axum::Json(json!({})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pairs: &[(&str, &str)]) -> Result<Page, DwsError> {
        Page::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn offsets_are_page_indexes() {
        let items = [1, 2, 3, 4, 5];
        assert_eq!(page(&[("limit", "2"), ("offset", "1")]).unwrap().slice(&items), &[3, 4]);
        assert_eq!(page(&[("limit", "2"), ("offset", "2")]).unwrap().slice(&items), &[5]);
        assert!(page(&[("limit", "2"), ("offset", "9")]).unwrap().slice(&items).is_empty());
        assert_eq!(page(&[]).unwrap().slice(&items).len(), 5);
        assert!(page(&[("limit", "0")]).is_err());
        assert!(page(&[("offset", "-1")]).is_err());
        assert!(page(&[("sort_dir", "up")]).is_err());
        assert!(page(&[("sort_key", "color")]).is_err());
    }
}
