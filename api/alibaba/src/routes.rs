//! Alibaba snapshot routes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use snapkeep_api_gateway::{Created, Route, dialect_router};
use snapkeep_core::{
    Cluster, CreateSnapshotInput, NameStyle, QuartzCron, Schedule, Snapkeep, SnapshotConfig, SnapshotName,
    SnapshotPolicy,
};

use crate::body;
use crate::dialect::{Alibaba, CREATE_SNAPSHOT};
use crate::error::{AliError, request_id};
use crate::tenant::Tenant;

/// The schedule Describe shows before one is set: daily at 01:00.
const DEFAULT_QUARTZ: &str = "0 0 01 ? * * *";

pub fn router(core: Snapkeep) -> Router {
    dialect_router(core, Alibaba, routes())
}

/// Every route, with the names Alibaba Cloud's API gives its changes.
fn routes() -> Vec<Route> {
    const REPOSITORIES: &str = "/openapi/instances/{instance_id}/snapshot-repos";
    const SETTING: &str = "/openapi/instances/{instance_id}/snapshot-setting";
    vec![
        Route::change(Method::POST, CREATE_SNAPSHOT, "CreateSnapshot", create_snapshot),
        Route::read(REPOSITORIES, list_repositories),
        Route::change(Method::POST, REPOSITORIES, "AddSnapshotRepo", add_repository),
        Route::change(Method::DELETE, REPOSITORIES, "DeleteSnapshotRepo", delete_repository),
        Route::read("/openapi/instances/{instance_id}/alternative-snapshot-repos", list_alternatives),
        Route::read(SETTING, describe_setting),
        Route::change(Method::POST, SETTING, "UpdateSnapshotSetting", update_setting),
        Route::change(Method::PUT, SETTING, "UpdateSnapshotSetting", update_setting),
    ]
}

fn answer(result: Value) -> Response {
    let request_id = request_id();
    ([("x-acs-request-id", request_id.clone())], axum::Json(json!({"RequestId": request_id, "Result": result})))
        .into_response()
}

async fn create_snapshot(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AliError> {
    let input = instance_snapshot(query.get("ClientToken").cloned());
    let snapshot = core.create_snapshot(&project, &instance_id, input).await?;
    Ok(Created::mark(answer(json!(true)), &snapshot.name))
}

/// A CreateSnapshot request in core's terms: named as Alibaba names manual snapshots,
/// `<instance id>_<yyyyMMddHHmmss>`, made once per `ClientToken`.
pub fn instance_snapshot(client_token: Option<String>) -> CreateSnapshotInput {
    let name = |instance_id: &str, at: DateTime<Utc>| NameStyle::Instance.name("", instance_id, at);
    CreateSnapshotInput {
        name: SnapshotName::Timed(name),
        idempotency_key: client_token,
        ..CreateSnapshotInput::named("")
    }
}

/// Enable, schedule and indices of a configuration, for both casings the API uses. A schedule
/// set in CSS terms shows as the Quartz expression with the same slots.
fn setting(config: &SnapshotConfig) -> (bool, String, Vec<String>) {
    let quartz = if config.policy == SnapshotPolicy::default() {
        DEFAULT_QUARTZ.to_owned()
    } else {
        config.policy.schedule.as_quartz()
    };
    let indices = snapkeep_core::validate::split_indices(&config.policy.indices);
    (config.settings.enabled && config.policy.enabled, quartz, indices)
}

async fn describe_setting(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
) -> Result<Response, AliError> {
    let (_, config) = core
        .snapshot_config(&project, &instance_id)
        .await
        .map_err(|e| AliError::from(e).with_status(StatusCode::NOT_FOUND))?;
    let (enable, quartz, indices) = setting(&config);
    Ok(answer(json!({"Enable": enable, "QuartzRegex": quartz, "Indices": indices})))
}

async fn update_setting(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AliError> {
    let map = body::object(&headers, &bytes)?;
    let enable = body::boolean(map.get("enable"), "enable")?.ok_or_else(|| AliError::invalid("enable is required."))?;
    let schedule = match body::string(&map, "quartzRegex")? {
        Some(expression) => Some(Schedule::Quartz(Box::new(QuartzCron::parse(expression)?))),
        None if enable => return Err(AliError::invalid("quartzRegex is required when enable is true")),
        None => None,
    };
    let config = core.set_schedule(&project, &instance_id, (enable, schedule), instance_policy).await?;
    let (enable, quartz, indices) = setting(&config);
    Ok(answer(json!({"enable": enable, "quartzRegex": quartz, "indices": indices})))
}

/// Alibaba's automatic snapshots, for an instance with no policy yet: named
/// `<instance id>_<yyyyMMddHHmmss>`, kept 7 days.
pub fn instance_policy(cluster: &Cluster) -> SnapshotPolicy {
    SnapshotPolicy {
        enabled: true,
        prefix: cluster.id.to_lowercase(),
        schedule: SnapshotPolicy::default().schedule,
        keepday: 7,
        indices: String::new(),
        name_style: NameStyle::Instance,
    }
}

async fn add_repository(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AliError> {
    let map = body::object(&headers, &bytes)?;
    let source = body::string(&map, "repoPath")?.ok_or_else(|| AliError::invalid("repoPath is required."))?;
    core.add_shared_repository(&project, &instance_id, source).await?;
    Ok(Created::mark(answer(json!(true)), source))
}

async fn delete_repository(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AliError> {
    let source = query.get("repoPath").ok_or_else(|| AliError::invalid("repoPath is required."))?;
    core.delete_shared_repository(&project, &instance_id, source).await?;
    Ok(answer(json!(true)))
}

async fn list_repositories(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
) -> Result<Response, AliError> {
    let repositories: Vec<Value> = core
        .shared_repositories(&project, &instance_id)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "instanceId": r.source_id,
                "repoPath": r.source_id,
                "snapWarehouse": r.name,
                "status": if r.available { "available" } else { "unavailable" },
            })
        })
        .collect();
    Ok(answer(json!(repositories)))
}

async fn list_alternatives(
    State(core): State<Snapkeep>,
    Tenant(project): Tenant,
    Path(instance_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AliError> {
    let already_set =
        query.get("alreadySetItems").map(|v| body::parse_bool(v, "alreadySetItems")).transpose()?.unwrap_or(false);
    let candidates: Vec<Value> = core
        .shared_repository_candidates(&project, &instance_id, already_set)
        .await?
        .into_iter()
        .map(|c| json!({"instanceId": c.id, "repoPath": c.id}))
        .collect();
    Ok(answer(json!(candidates)))
}
