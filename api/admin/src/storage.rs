//! Admin routes for storage: a project's profiles, its default, and where a cluster's repository
//! lives.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use snapkeep_core::{
    NewStorageProfile, RepositoryUsage, SettingsInput, Snapkeep, StorageProfile, engine_client_settings,
};

use crate::answer::{Answer, body, created};

fn profile_view(p: &StorageProfile) -> Value {
    let (settings, secure_settings) = engine_client_settings(p);
    json!({
        "name": p.name, "project_id": p.project_id, "kind": p.kind.as_str(), "endpoint": p.endpoint,
        "region": p.region, "bucket": p.bucket, "base_path": p.base_path, "path_style": p.path_style,
        "access_key_id": p.access_key_id, "has_secret": p.secret_sealed.is_some(), "default": p.is_default,
        "created_at": p.created_at,
        "engine_client": {"settings": settings, "secure_settings": secure_settings},
    })
}

/// A cluster's repository: its profile, place and size.
pub(crate) fn repository_view(usage: &RepositoryUsage) -> Value {
    let location = &usage.location;
    let mut view = json!({
        "profile": location.profile.name, "kind": location.profile.kind.as_str(),
        "bucket": location.bucket, "path": location.path,
    });
    match &usage.bytes {
        Ok(bytes) => view["bytes"] = json!(bytes),
        Err(e) => view["bytes_error"] = json!(e.to_string()),
    }
    view
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileRequest {
    name: String,
    kind: String,
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    base_path: Option<String>,
    path_style: Option<bool>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    #[serde(default)]
    default: bool,
    /// Check the bucket and base path before storing (default true).
    verify: Option<bool>,
}

pub(crate) async fn create_profile(
    State(core): State<Snapkeep>,
    Path(project_id): Path<String>,
    payload: Result<Json<ProfileRequest>, JsonRejection>,
) -> Answer {
    let r = body(payload)?;
    let profile = core
        .create_storage_profile(NewStorageProfile {
            project_id,
            name: r.name,
            kind: r.kind,
            endpoint: r.endpoint,
            region: r.region,
            bucket: r.bucket,
            base_path: r.base_path,
            path_style: r.path_style,
            access_key_id: r.access_key_id,
            secret_access_key: r.secret_access_key,
            is_default: r.default,
            verify: r.verify.unwrap_or(true),
        })
        .await?;
    created(&profile.name, profile_view(&profile))
}

pub(crate) async fn list_profiles(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    let profiles: Vec<Value> = core.storage_profiles(&project_id).await?.iter().map(profile_view).collect();
    Ok(Json(json!({"storage_profiles": profiles})).into_response())
}

pub(crate) async fn show_profile(
    State(core): State<Snapkeep>,
    Path((project_id, name)): Path<(String, String)>,
) -> Answer {
    Ok(Json(profile_view(&core.storage_profile(&project_id, &name).await?)).into_response())
}

pub(crate) async fn delete_profile(
    State(core): State<Snapkeep>,
    Path((project_id, name)): Path<(String, String)>,
) -> Answer {
    core.delete_storage_profile(&project_id, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn make_default(
    State(core): State<Snapkeep>,
    Path((project_id, name)): Path<(String, String)>,
) -> Answer {
    core.set_default_storage_profile(&project_id, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterStorageRequest {
    profile: Option<String>,
    bucket: Option<String>,
    base_path: Option<String>,
}

/// Moves a cluster's repository to another profile, bucket or base path (checked first).
pub(crate) async fn set_cluster_storage(
    State(core): State<Snapkeep>,
    Path(id): Path<String>,
    payload: Result<Json<ClusterStorageRequest>, JsonRejection>,
) -> Answer {
    let r = body(payload)?;
    let cluster = core.cluster(&id).await?;
    let settings =
        SettingsInput { agency: r.profile, bucket: r.bucket, base_path: r.base_path, ..SettingsInput::default() };
    core.update_settings(&cluster.project_id, &cluster.id, settings, None).await?;
    Ok(Json(repository_view(&core.repository_usage(&cluster).await?)).into_response())
}
