//! Admin routes.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};
use snapkeep_core::{AccessKey, Cluster, NewCluster, Project, Snapkeep};

use crate::auth::{AdminToken, require_token};
use crate::error::AdminError;

/// The OpenAPI document of this API; it lists exactly the paths of `table` (checked by a test).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The admin API, guarded by `token`; the OpenAPI document is served without it.
pub fn router(core: Snapkeep, token: &str) -> Router {
    let guarded = table()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| router.route(path, methods))
        .layer(middleware::from_fn_with_state(AdminToken(Arc::from(token)), require_token))
        .with_state(core);
    guarded.route(OPENAPI_PATH, get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
}

const OPENAPI_PATH: &str = "/admin/v1/openapi.json";

/// Every guarded route.
fn table() -> Vec<(&'static str, MethodRouter<Snapkeep>)> {
    vec![
        ("/admin/v1/projects", post(create_project).get(list_projects)),
        ("/admin/v1/projects/{id}", get(show_project).delete(delete_project)),
        ("/admin/v1/projects/{id}/keys", post(create_key).get(list_keys)),
        ("/admin/v1/keys/{access_key}", get(show_key).delete(delete_key)),
        ("/admin/v1/clusters", post(create_cluster).get(list_clusters)),
        ("/admin/v1/clusters/{id}", get(show_cluster).delete(delete_cluster)),
    ]
}

type Answer = Result<Response, AdminError>;

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
    payload.map(|Json(v)| v).map_err(|e| AdminError::bad_body(e.body_text()))
}

fn project_view(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "created_at": p.created_at})
}

fn key_view(k: &AccessKey) -> Value {
    json!({"access_key": k.access_key, "project_id": k.project_id, "enabled": k.enabled, "created_at": k.created_at})
}

fn cluster_view(c: &Cluster) -> Value {
    json!({
        "id": c.id, "project_id": c.project_id, "name": c.name, "endpoint": c.endpoint,
        "engine": c.flavor.as_str(), "version": c.version.to_string(), "region": c.region,
        "username": c.username, "has_password": c.password_encrypted.is_some(), "created_at": c.created_at,
    })
}

fn created(value: Value) -> Answer {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
}

async fn create_project(State(core): State<Snapkeep>, payload: Result<Json<NewProject>, JsonRejection>) -> Answer {
    let project = core.create_project(&body(payload)?.name).await?;
    created(project_view(&project))
}

async fn list_projects(State(core): State<Snapkeep>) -> Answer {
    let projects: Vec<Value> = core.list_projects().await?.iter().map(project_view).collect();
    Ok(Json(json!({"projects": projects})).into_response())
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
    let mut view = key_view(&key);
    view["secret_key"] = json!(secret);
    created(view)
}

async fn list_keys(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    let keys: Vec<Value> = core.list_access_keys(&project_id).await?.iter().map(key_view).collect();
    Ok(Json(json!({"keys": keys})).into_response())
}

async fn show_key(State(core): State<Snapkeep>, Path(access_key): Path<String>) -> Answer {
    Ok(Json(key_view(&core.access_key(&access_key).await?)).into_response())
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
    created(cluster_view(&cluster))
}

#[derive(Deserialize)]
struct ClusterFilter {
    project_id: Option<String>,
}

async fn list_clusters(State(core): State<Snapkeep>, Query(filter): Query<ClusterFilter>) -> Answer {
    let clusters: Vec<Value> =
        core.list_clusters(filter.project_id.as_deref()).await?.iter().map(cluster_view).collect();
    Ok(Json(json!({"clusters": clusters})).into_response())
}

async fn show_cluster(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    Ok(Json(cluster_view(&core.cluster(&id).await?)).into_response())
}

async fn delete_cluster(State(core): State<Snapkeep>, Path(id): Path<String>) -> Answer {
    core.delete_cluster(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        let mut documented: Vec<&str> = doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
        let mut routed: Vec<&str> = table().into_iter().map(|(path, _)| path).chain([OPENAPI_PATH]).collect();
        documented.sort_unstable();
        routed.sort_unstable();
        assert_eq!(documented, routed);
    }
}
