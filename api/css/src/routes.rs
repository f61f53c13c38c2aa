//! CSS snapshot routes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::json;
use snapkeep_core::Snapkeep;

use crate::body;
use crate::error::CssError;
use crate::view;

pub fn router(core: Snapkeep) -> Router {
    Router::new()
        .route("/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot", post(create_snapshot))
        .route("/v1.0/{project_id}/clusters/{cluster_id}/index_snapshots", get(list_snapshots))
        .route("/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/{snapshot_id}", delete(delete_snapshot))
        .route("/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot/{snapshot_id}/restore", post(restore_snapshot))
        .with_state(core)
}

async fn create_snapshot(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, CssError> {
    let input = body::create_snapshot(&bytes)?;
    let snapshot = core.create_snapshot(&project_id, &cluster_id, input).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"backup": {"id": snapshot.id, "name": snapshot.name}}))).into_response())
}

async fn list_snapshots(
    State(core): State<Snapkeep>,
    Path((project_id, cluster_id)): Path<(String, String)>,
) -> Result<Response, CssError> {
    let (cluster, snapshots) = core.list_snapshots(&project_id, &cluster_id).await?;
    let backups: Vec<_> = snapshots.iter().map(|s| view::backup(&cluster, s)).collect();
    Ok(axum::Json(json!({"backups": backups})).into_response())
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
