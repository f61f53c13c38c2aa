//! CSS snapshot routes.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use snapkeep_api_gateway::{Created, Route, dialect_router};
use snapkeep_core::{PolicyChange, Snapkeep};

use crate::body;
use crate::dialect::Css;
use crate::error::CssError;
use crate::listing;
use crate::view;

pub fn router(core: Snapkeep) -> Router {
    dialect_router(core, Css, routes())
}

/// Every route, with the names Huawei's API gives its changes.
fn routes() -> Vec<Route> {
    const CLUSTER: &str = "/v1.0/{project_id}/clusters/{cluster_id}";
    const SNAPSHOT: &str = "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/{snapshot_id}";
    const SNAPSHOTS: &str = "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshots";
    const POLICY: &str = "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/policy";
    vec![
        Route::change(
            Method::POST,
            "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot",
            "CreateSnapshot",
            create_snapshot,
        ),
        Route::change(Method::DELETE, SNAPSHOT, "DeleteSnapshot", delete_snapshot),
        Route::change(
            Method::POST,
            "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/{snapshot_id}/restore",
            "RestoreSnapshot",
            restore_snapshot,
        ),
        Route::change(Method::POST, POLICY, "CreateAutoCreatePolicy", set_policy),
        Route::read(POLICY, show_policy),
        Route::change(
            Method::POST,
            "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/setting",
            "UpdateSnapshotSetting",
            update_settings,
        ),
        Route::change(
            Method::POST,
            "/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/auto_setting",
            "StartAutoSetting",
            auto_settings,
        ),
        Route::read(SNAPSHOTS, list_snapshots),
        Route::change(Method::DELETE, SNAPSHOTS, "StopSnapshot", disable_snapshots),
        Route::change(
            Method::POST,
            "/v2.0/{project_id}/clusters/{cluster_id}/snapshots/policy/open",
            "StartAutoCreateSnapshots",
            open_policy,
        ),
        Route::change(
            Method::PUT,
            "/v2.0/{project_id}/clusters/{cluster_id}/snapshots/policy/close",
            "StopAutoCreateSnapshots",
            close_policy,
        ),
        Route::read(CLUSTER, show_cluster),
        Route::read("/v1.0/{project_id}/clusters", list_clusters),
    ]
}

async fn create_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, CssError> {
    let input = body::create_snapshot(&bytes)?;
    let snapshot = core.create_snapshot(&project_id, &cluster_id, input).await?;
    let answer = (StatusCode::CREATED, axum::Json(json!({"backup": {"id": snapshot.id, "name": snapshot.name}})));
    Ok(Created::mark(answer.into_response(), &snapshot.id))
}

async fn list_snapshots(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
) -> Result<Response, CssError> {
    let (cluster, config) = core.snapshot_config(&project_id, &cluster_id).await?;
    Ok(listing::backups(core, cluster, config).await?)
}

async fn delete_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id, snapshot_id)): Path<(String, String, String)>,
) -> Result<Response, CssError> {
    core.delete_snapshot(&project_id, &cluster_id, &snapshot_id).await?;
    Ok(StatusCode::OK.into_response())
}

async fn restore_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id, snapshot_id)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, CssError> {
    let input = body::restore(&bytes)?;
    core.restore_snapshot(&project_id, &cluster_id, &snapshot_id, input).await?;
    Ok(StatusCode::CREATED.into_response())
}

type Ids = Path<(String, String)>;

fn ok() -> Response {
    StatusCode::OK.into_response()
}

async fn set_policy(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Ids,
    bytes: Bytes,
) -> Result<Response, CssError> {
    core.set_policy(&project_id, &cluster_id, body::policy(&bytes)?).await?;
    Ok(ok())
}

async fn show_policy(State(core): State<Snapkeep>, Path((project_id, cluster_id)): Ids) -> Result<Response, CssError> {
    let (_, config) = core.snapshot_config(&project_id, &cluster_id).await?;
    Ok(axum::Json(view::policy(&config)).into_response())
}

async fn update_settings(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Ids,
    bytes: Bytes,
) -> Result<Response, CssError> {
    let (settings, policy) = body::settings(&bytes)?;
    core.update_settings(&project_id, &cluster_id, settings, policy).await?;
    Ok(ok())
}

async fn auto_settings(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Ids,
) -> Result<Response, CssError> {
    core.auto_settings(&project_id, &cluster_id).await?;
    Ok(ok())
}

/// `?deleteAuto=true` (or `delete_auto`) also deletes the automatic snapshots.
async fn disable_snapshots(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Ids,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, CssError> {
    let delete_auto = match query.get("deleteAuto").or_else(|| query.get("delete_auto")).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(CssError::incorrect("deleteAuto must be true or false")),
    };
    core.disable_snapshots(&project_id, &cluster_id, delete_auto).await?;
    Ok(ok())
}

async fn open_policy(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Ids,
    bytes: Bytes,
) -> Result<Response, CssError> {
    core.set_policy(&project_id, &cluster_id, body::open_policy(&bytes)?).await?;
    Ok(ok())
}

async fn close_policy(State(core): State<Snapkeep>, Path((project_id, cluster_id)): Ids) -> Result<Response, CssError> {
    core.set_policy(&project_id, &cluster_id, PolicyChange::Off { delete_automatic: false }).await?;
    Ok(ok())
}

async fn show_cluster(State(core): State<Snapkeep>, Path((project_id, cluster_id)): Ids) -> Result<Response, CssError> {
    let (cluster, config) = core.snapshot_config(&project_id, &cluster_id).await?;
    let (snapshotting, restoring) = core.cluster_activity(&cluster).await?;
    Ok(axum::Json(view::cluster(&cluster, &config, snapshotting, restoring)).into_response())
}

/// ListClustersDetails, of the project's search clusters: `?offset=` (older SDKs: `start`) is
/// the 1-based position of the first cluster listed, default 1; `?limit=` how many, default 10;
/// `?datastoreType=` keeps one engine's.
/// `totalSize` counts every cluster the listing has, not only this page's (Huawei Cloud SDK
/// `ListClustersDetailsRequest`).
async fn list_clusters(
    State(core): State<Snapkeep>,
    Path(project_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, CssError> {
    let number = |name: &str, default: u32| match query.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .map_err(|_| CssError::incorrect(format!("{name} must be a whole number from 0 to {}", u32::MAX))),
    };
    let start = match query.get("offset") {
        Some(_) => number("offset", 1)?,
        None => number("start", 1)?,
    };
    if start == 0 {
        return Err(CssError::incorrect("offset counts from 1"));
    }
    let engine = query.get("datastoreType").map(String::as_str).filter(|engine| !engine.is_empty());
    let skip = start as usize - 1;
    let (listed, total) = core.search_clusters_range(&project_id, engine, skip, number("limit", 10)?).await?;
    let mut clusters = Vec::with_capacity(listed.len());
    for cluster in listed {
        let (_, config) = core.snapshot_config(&project_id, &cluster.id).await?;
        let (snapshotting, restoring) = core.cluster_activity(&cluster).await?;
        clusters.push(view::cluster(&cluster, &config, snapshotting, restoring));
    }
    Ok(axum::Json(json!({"totalSize": total, "clusters": clusters})).into_response())
}
