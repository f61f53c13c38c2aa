//! Admin routes.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use snapkeep_api_gateway::{Route, dialect_router};
use snapkeep_core::{
    AccessKey, AuditQuery, Cluster, ClusterFailures, ClusterHealth, METRICS_CONTENT_TYPE, NewCluster, Operation,
    OperationFilter, OperationProgress, Page, Project, Protection, Scope, Snapkeep, Snapshot, SnapshotFilter,
    TimeRange,
};

use crate::answer::{Answer, body, created};
use crate::auth::Admin;
use crate::error::AdminError;
use crate::{storage, webhooks};

/// The OpenAPI document of this API; it lists exactly the paths of `table` (checked by a test).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The admin API, guarded by `token`; the OpenAPI document is served without it.
pub fn router(core: Snapkeep, token: &str) -> Router {
    let guarded = dialect_router(core, Admin(Arc::from(token)), routes());
    guarded.route(OPENAPI_PATH, get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
}

const OPENAPI_PATH: &str = "/admin/v1/openapi.json";

/// Every guarded route, with the action names the audit log records.
fn routes() -> Vec<Route> {
    const PROJECT: &str = "/admin/v1/projects/{id}";
    const KEYS: &str = "/admin/v1/projects/{id}/keys";
    const KEY: &str = "/admin/v1/keys/{access_key}";
    const CLUSTERS: &str = "/admin/v1/clusters";
    const CLUSTER: &str = "/admin/v1/clusters/{id}";
    const PROFILES: &str = "/admin/v1/projects/{id}/storage-profiles";
    const PROFILE: &str = "/admin/v1/projects/{id}/storage-profiles/{name}";
    const WEBHOOK: &str = "/admin/v1/webhook";
    const PROJECT_WEBHOOK: &str = "/admin/v1/projects/{id}/webhook";
    vec![
        Route::change(Method::POST, "/admin/v1/projects", "CreateProject", create_project),
        Route::read("/admin/v1/projects", list_projects),
        Route::read(PROJECT, show_project),
        Route::change(Method::DELETE, PROJECT, "DeleteProject", delete_project),
        Route::change(Method::POST, KEYS, "CreateAccessKey", create_key),
        Route::read(KEYS, list_keys),
        Route::read(KEY, show_key),
        Route::change(Method::DELETE, KEY, "DeleteAccessKey", delete_key),
        Route::change(Method::POST, "/admin/v1/keys/{access_key}/disable", "DisableAccessKey", disable_key),
        Route::change(Method::POST, "/admin/v1/keys/{access_key}/enable", "EnableAccessKey", enable_key),
        Route::change(Method::POST, "/admin/v1/keys/{access_key}/rotate", "RotateAccessKey", rotate_key),
        Route::read("/admin/v1/audit", audit_log),
        Route::read("/admin/v1/replicas", list_replicas),
        Route::read("/admin/v1/webhooks", webhooks::list),
        Route::change(Method::PUT, WEBHOOK, "SetGlobalWebhook", webhooks::set_global),
        Route::read(WEBHOOK, webhooks::show_global),
        Route::change(Method::DELETE, WEBHOOK, "DeleteGlobalWebhook", webhooks::delete_global),
        Route::change(Method::PUT, PROJECT_WEBHOOK, "SetProjectWebhook", webhooks::set_project),
        Route::read(PROJECT_WEBHOOK, webhooks::show_project),
        Route::change(Method::DELETE, PROJECT_WEBHOOK, "DeleteProjectWebhook", webhooks::delete_project),
        Route::read("/admin/v1/fleet", fleet),
        Route::read("/metrics", metrics),
        Route::read("/admin/v1/snapshots", list_snapshots),
        Route::read("/admin/v1/snapshots/{id}", show_snapshot),
        Route::read("/admin/v1/operations", list_operations),
        Route::read("/admin/v1/operations/{id}", show_operation),
        Route::change(Method::POST, CLUSTERS, "RegisterCluster", create_cluster),
        Route::read(CLUSTERS, list_clusters),
        Route::read(CLUSTER, show_cluster),
        Route::change(Method::DELETE, CLUSTER, "DeleteCluster", delete_cluster),
        Route::change(
            Method::PUT,
            "/admin/v1/clusters/{id}/storage",
            "SetClusterStorage",
            storage::set_cluster_storage,
        ),
        Route::read("/admin/v1/clusters/{id}/drift", cluster_drift),
        Route::read("/admin/v1/clusters/{id}/snapshots", cluster_snapshots),
        Route::change(Method::POST, PROFILES, "CreateStorageProfile", storage::create_profile),
        Route::read(PROFILES, storage::list_profiles),
        Route::read(PROFILE, storage::show_profile),
        Route::change(Method::DELETE, PROFILE, "DeleteStorageProfile", storage::delete_profile),
        Route::change(
            Method::POST,
            "/admin/v1/projects/{id}/storage-profiles/{name}/default",
            "SetDefaultStorageProfile",
            storage::make_default,
        ),
    ]
}

fn project_view(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "created_at": p.created_at})
}

fn key_view(k: &AccessKey, now: DateTime<Utc>) -> Value {
    json!({
        "access_key": k.access_key, "project_id": k.project_id, "enabled": k.enabled,
        "state": k.state(now).as_str(), "expires_at": k.expires_at, "created_at": k.created_at,
    })
}

/// A new key with its secret, shown this once.
fn new_key_view(key: &AccessKey, secret: String) -> Value {
    let mut view = key_view(key, key.created_at);
    view["secret_key"] = json!(secret);
    view
}

/// A cluster as this API shows it: whether it has a password, never the password. Fields in
/// alphabetical order, as every other answer here (`serde_json::Value` sorts its keys).
#[derive(Serialize)]
struct ClusterView<'a> {
    created_at: DateTime<Utc>,
    endpoint: &'a str,
    engine: &'static str,
    has_password: bool,
    id: &'a str,
    name: &'a str,
    project_id: &'a str,
    region: &'a str,
    username: Option<&'a str>,
    version: String,
}

impl<'a> From<&'a Cluster> for ClusterView<'a> {
    fn from(c: &'a Cluster) -> Self {
        Self {
            created_at: c.created_at,
            endpoint: &c.endpoint,
            engine: c.flavor.as_str(),
            has_password: c.password_encrypted.is_some(),
            id: &c.id,
            name: &c.name,
            project_id: &c.project_id,
            region: &c.region,
            username: c.username.as_deref(),
            version: c.version.to_string(),
        }
    }
}

fn cluster_view(c: &Cluster) -> Value {
    json!(ClusterView::from(c))
}

/// The last failed operation with its reason, and automatic snapshots by how they ended.
fn failures_view(f: &ClusterFailures) -> Value {
    let last = f
        .last
        .as_ref()
        .map(|l| json!({"operation_id": l.operation_id, "operation": l.kind.as_str(), "reason": l.reason, "at": l.at}));
    json!({
        "last": last,
        "automatic_snapshots": {
            "completed": f.automatic_completed, "part_failed": f.automatic_part_failed, "failed": f.automatic_failed,
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
}

async fn create_project(State(core): State<Snapkeep>, payload: Result<Json<NewProject>, JsonRejection>) -> Answer {
    let project = core.create_project(&body(payload)?.name).await?;
    created(&project.id, project_view(&project))
}

async fn list_projects(State(core): State<Snapkeep>) -> Answer {
    let projects: Vec<Value> = core.list_projects().await?.iter().map(project_view).collect();
    Ok(Json(json!({"projects": projects})).into_response())
}

/// The metrics an operator alerts on (OpenMetrics text), behind the admin token: they name
/// every tenant's clusters.
async fn metrics(State(core): State<Snapkeep>) -> Answer {
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], core.render_metrics().await).into_response())
}

/// `?project_id=` and `?protection=` of the fleet view.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetQuery {
    project_id: Option<String>,
    protection: Option<String>,
}

/// Every cluster's protection, most urgent first.
async fn fleet(State(core): State<Snapkeep>, query: Result<Query<FleetQuery>, QueryRejection>) -> Answer {
    let Query(query) = query.map_err(|e| AdminError::bad_body(e.body_text()))?;
    let only = query.protection.as_deref().map(Protection::parse).transpose()?;
    let clusters: Vec<Value> = core.fleet(query.project_id.as_deref(), only).await?.iter().map(health_view).collect();
    Ok(Json(json!({"clusters": clusters})).into_response())
}

fn health_view(h: &ClusterHealth) -> Value {
    let c = &h.cluster;
    let age = h.last_success_age.map(|age| age.num_seconds());
    let success = h
        .last_success
        .as_ref()
        .map(|s| json!({"snapshot_id": s.snapshot_id, "name": s.name, "at": s.at, "age_seconds": age}));
    let failure = h
        .last_failure
        .as_ref()
        .map(|f| json!({"operation_id": f.operation_id, "operation": f.kind.as_str(), "reason": f.reason, "at": f.at}));
    let running: Vec<Value> = h
        .running
        .iter()
        .map(|r| {
            json!({
                "operation_id": r.id, "operation": r.kind.as_str(), "snapshot_id": r.snapshot_id,
                "started_at": r.started_at, "progress": progress_view(&r.progress),
            })
        })
        .collect();
    json!({
        "cluster_id": c.id, "project_id": c.project_id, "name": c.name, "engine": c.flavor.as_str(),
        "version": c.version.to_string(), "protection": h.protection.as_str(),
        "policy": {"enabled": h.policy_enabled, "next_fire_at": h.next_fire_at},
        "last_success": success, "last_failure": failure, "running": running,
    })
}

/// The replicas serving the catalog, each with `live` (announced within its lease).
async fn list_replicas(State(core): State<Snapkeep>) -> Answer {
    let replicas: Vec<Value> = core
        .replicas()
        .await?
        .into_iter()
        .map(|(r, live)| {
            json!({
                "id": r.id, "version": r.version, "started_at": r.started_at, "seen_at": r.seen_at,
                "lease_ms": r.lease_ms, "clock_offset_ms": r.clock_offset_ms, "live": live,
            })
        })
        .collect();
    Ok(Json(json!({"replicas": replicas})).into_response())
}

async fn show_project(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    Ok(Json(project_view(&core.project(&id).await?)).into_response())
}

async fn delete_project(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    core.delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_key(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    let (key, secret) = core.create_access_key(&project_id).await?;
    created(&key.access_key, new_key_view(&key, secret))
}

async fn list_keys(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    let now = core.now();
    let keys: Vec<Value> = core.list_access_keys(&project_id).await?.iter().map(|k| key_view(k, now)).collect();
    Ok(Json(json!({"keys": keys})).into_response())
}

async fn show_key(State(core): State<Snapkeep>, Path(access_key): Path<String>) -> Answer {
    Ok(Json(key_view(&core.access_key(&access_key).await?, core.now())).into_response())
}

async fn disable_key(State(core): State<Snapkeep>, Path(access_key): Path<String>) -> Answer {
    Ok(Json(key_view(&core.set_access_key_enabled(&access_key, false).await?, core.now())).into_response())
}

async fn enable_key(State(core): State<Snapkeep>, Path(access_key): Path<String>) -> Answer {
    Ok(Json(key_view(&core.set_access_key_enabled(&access_key, true).await?, core.now())).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// How long the old key keeps signing; a day unless given.
    grace_seconds: Option<i64>,
}

/// The grace a rotated key keeps signing when none is given.
const DEFAULT_ROTATION_GRACE_SECONDS: i64 = 24 * 3600;

async fn rotate_key(
    State(core): State<Snapkeep>,
    Path(access_key): Path<String>,
    payload: Result<Json<Rotation>, JsonRejection>,
) -> Answer {
    let rotation = match payload {
        Err(JsonRejection::MissingJsonContentType(_)) => Rotation::default(),
        other => body(other)?,
    };
    let grace = Duration::seconds(rotation.grace_seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS));
    let (key, secret) = core.rotate_access_key(&access_key, grace).await?;
    created(&key.access_key, new_key_view(&key, secret))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFilter {
    project_id: Option<String>,
    after: Option<i64>,
    limit: Option<u32>,
}

async fn audit_log(State(core): State<Snapkeep>, Query(filter): Query<AuditFilter>) -> Answer {
    let query = AuditQuery {
        project_id: filter.project_id,
        after_id: filter.after,
        before_id: None,
        limit: filter.limit.unwrap_or(100),
    };
    let entries = core.audit_log(query).await?;
    let next = entries.last().map(|e| e.id);
    Ok(Json(json!({"entries": entries, "next": next})).into_response())
}

async fn delete_key(State(core): State<Snapkeep>, Path(access_key): Path<String>) -> Answer {
    core.delete_access_key(&access_key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterRequest {
    project_id: String,
    name: String,
    endpoint: String,
    id: Option<String>,
    region: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

async fn create_cluster(State(core): State<Snapkeep>, payload: Result<Json<ClusterRequest>, JsonRejection>) -> Answer {
    let r = body(payload)?;
    let cluster = core
        .register_cluster(NewCluster {
            project_id: r.project_id,
            id: r.id,
            name: r.name,
            endpoint: r.endpoint,
            username: r.username,
            password: r.password,
            region: r.region,
        })
        .await?;
    created(&cluster.id, cluster_view(&cluster))
}

/// `?project_id=` and paging.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClustersQuery {
    project_id: Option<String>,
    #[serde(default = "default_page")]
    limit: u32,
    after: Option<String>,
}

/// A page of clusters, serialised straight from the catalog's rows.
#[derive(Serialize)]
struct ClusterList<'a> {
    clusters: Vec<ClusterView<'a>>,
    next: Option<String>,
}

async fn list_clusters(State(core): State<Snapkeep>, query: Result<Query<ClustersQuery>, QueryRejection>) -> Answer {
    let Query(q) = query.map_err(|e| AdminError::bad_body(e.body_text()))?;
    let page = core.clusters_page(q.project_id.as_deref(), &Page { limit: q.limit, after: q.after }).await?;
    let clusters = page.clusters.iter().map(ClusterView::from).collect();
    Ok(Json(ClusterList { clusters, next: page.next }).into_response())
}

/// A cluster, with where its repository lives and the bytes it holds now.
async fn show_cluster(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    let cluster = core.cluster(&id).await?;
    let mut view = cluster_view(&cluster);
    view["repository"] = storage::repository_view(&core.repository_usage(&cluster).await?);
    view["failures"] = failures_view(&core.cluster_failures(&cluster).await?);
    Ok(Json(view).into_response())
}

/// Snapshots the cluster's repository and the catalog disagree on.
async fn cluster_drift(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    let drift = core.drift(&core.cluster(&id).await?).await?;
    Ok(Json(json!({"only_on_engine": drift.only_on_engine, "only_in_catalog": drift.only_in_catalog})).into_response())
}

/// `?limit=` (default 100) and `?after=` (the previous page's `next`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default = "default_page")]
    limit: u32,
    after: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

fn default_page() -> u32 {
    100
}

async fn cluster_snapshots(
    State(core): State<Snapkeep>,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    let Query(query) = query.map_err(|e| AdminError::bad_body(e.body_text()))?;
    let filter = SnapshotFilter::parse(query.kind.as_deref(), query.status.as_deref())?;
    let page = Page { limit: query.limit, after: query.after };
    let cluster = core.cluster(&id).await?;
    let listed = core.snapshot_page(Scope::Cluster(&cluster.id), &page, &filter).await?;
    let snapshots: Vec<Value> = listed.snapshots.iter().map(snapshot_view).collect();
    Ok(Json(json!({"snapshots": snapshots, "next": listed.next})).into_response())
}

fn snapshot_view(s: &Snapshot) -> Value {
    let time = |ms: Option<i64>| ms.and_then(DateTime::<Utc>::from_timestamp_millis);
    json!({
        "id": s.id, "name": s.name, "cluster_id": s.cluster_id, "project_id": s.project_id,
        "kind": s.kind.as_str(), "status": s.status.as_str(),
        "indices": s.indices, "size_bytes": s.size_bytes, "failure_reason": s.failure_reason,
        "deleting": s.deleting, "restore_status": s.restore_status.as_str(), "created_at": s.created_at,
        "started_at": time(s.start_time_ms), "ended_at": time(s.end_time_ms),
    })
}

/// `?project_id=`, `?cluster_id=`, paging, and the snapshot filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotsQuery {
    project_id: Option<String>,
    cluster_id: Option<String>,
    #[serde(default = "default_page")]
    limit: u32,
    after: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A page of the snapshots of the fleet, a project or a cluster, newest first.
async fn list_snapshots(State(core): State<Snapkeep>, query: Result<Query<SnapshotsQuery>, QueryRejection>) -> Answer {
    let Query(q) = query.map_err(|e| AdminError::bad_body(e.body_text()))?;
    let created = TimeRange::parse(q.since.as_deref(), q.until.as_deref())?;
    let filter = SnapshotFilter { created, ..SnapshotFilter::parse(q.kind.as_deref(), q.status.as_deref())? };
    let scope = core.scope(q.project_id.as_deref(), q.cluster_id.as_deref()).await?;
    let listed = core.snapshot_page(scope, &Page { limit: q.limit, after: q.after }, &filter).await?;
    let snapshots: Vec<Value> = listed.snapshots.iter().map(snapshot_view).collect();
    Ok(Json(json!({"snapshots": snapshots, "next": listed.next})).into_response())
}

async fn show_snapshot(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    Ok(Json(snapshot_view(&core.snapshot(&id).await?)).into_response())
}

/// `?project_id=`, `?cluster_id=`, paging, and the operation filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationsQuery {
    project_id: Option<String>,
    cluster_id: Option<String>,
    #[serde(default = "default_page")]
    limit: u32,
    after: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A page of the operations of the fleet, a project or a cluster, newest first.
async fn list_operations(
    State(core): State<Snapkeep>,
    query: Result<Query<OperationsQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = query.map_err(|e| AdminError::bad_body(e.body_text()))?;
    let created = TimeRange::parse(q.since.as_deref(), q.until.as_deref())?;
    let filter = OperationFilter::parse(q.kind.as_deref(), q.state.as_deref(), created)?;
    let scope = core.scope(q.project_id.as_deref(), q.cluster_id.as_deref()).await?;
    let listed = core.operation_page(scope, &Page { limit: q.limit, after: q.after }, &filter).await?;
    let operations: Vec<Value> = listed.operations.iter().map(operation_view).collect();
    Ok(Json(json!({"operations": operations, "next": listed.next})).into_response())
}

async fn show_operation(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    Ok(Json(operation_view(&core.operation(&id).await?)).into_response())
}

/// Bytes and shards done of all, each null when unknown.
fn progress_view(p: &OperationProgress) -> Value {
    json!({
        "bytes_done": p.bytes.map(|b| b.0), "bytes_total": p.bytes.map(|b| b.1),
        "shards_done": p.shards.map(|s| s.0), "shards_total": p.shards.map(|s| s.1),
    })
}

fn operation_view(op: &Operation) -> Value {
    json!({
        "id": op.id, "kind": op.kind.as_str(), "cluster_id": op.cluster_id, "snapshot_id": op.snapshot_id,
        "batch": op.batch, "phase": op.phase.as_str(), "attempts": op.attempts, "last_error": op.last_error,
        "created_at": op.created_at, "finished_at": op.finished_at,
        "progress": progress_view(&op.progress()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteClusterQuery {
    /// Also delete everything in the cluster's repository (kept by default).
    #[serde(default)]
    purge_storage: bool,
}

async fn delete_cluster(
    State(core): State<Snapkeep>,
    Path(id): Path<String>,
    Query(query): Query<DeleteClusterQuery>,
) -> Answer {
    match core.delete_cluster(&id, query.purge_storage).await? {
        Some(objects) => Ok(Json(json!({"purged_objects": objects})).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        let mut documented: Vec<&str> = doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
        let mut routed: Vec<&str> = routes().iter().map(Route::path).chain([OPENAPI_PATH]).collect();
        documented.sort_unstable();
        routed.sort_unstable();
        routed.dedup();
        assert_eq!(documented, routed);
    }
}
