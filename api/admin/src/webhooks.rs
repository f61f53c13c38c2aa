//! Admin routes of the webhooks: one per project and a global one. A webhook's URL, secret and
//! headers are never shown back; only the URL's origin is.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use snapkeep_core::{Delivery, DeliveryState, NewWebhook, Snapkeep, Webhook};

use crate::answer::{Answer, body};

/// Deliveries shown with a webhook, newest first.
const RECENT_DELIVERIES: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookRequest {
    url: String,
    secret: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn webhook_view(w: &Webhook) -> Value {
    json!({
        "id": w.id, "project_id": w.project_id, "url_origin": w.url_origin,
        "has_headers": w.headers_sealed.is_some(), "created_at": w.created_at,
    })
}

fn delivery_view(d: &Delivery) -> Value {
    json!({
        "id": d.id, "event_id": d.event_id, "event": d.event, "state": d.state.as_str(), "attempts": d.attempts,
        "next_attempt_at": (d.state == DeliveryState::Pending).then_some(d.next_attempt_at), "last_error": d.last_error, "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    })
}

async fn set(
    core: &Snapkeep,
    project_id: Option<String>,
    payload: Result<Json<WebhookRequest>, JsonRejection>,
) -> Answer {
    let r = body(payload)?;
    let (webhook, generated) =
        core.set_webhook(NewWebhook { project_id, url: r.url, secret: r.secret, headers: r.headers }).await?;
    let mut view = webhook_view(&webhook);
    if let Some(secret) = generated {
        view["secret"] = json!(secret);
    }
    Ok(Json(view).into_response())
}

async fn show(core: &Snapkeep, project_id: Option<&str>) -> Answer {
    let webhook = core.webhook(project_id).await?;
    let mut view = webhook_view(&webhook);
    let deliveries = core.deliveries(&webhook.id, RECENT_DELIVERIES).await?;
    view["deliveries"] = deliveries.iter().map(delivery_view).collect();
    Ok(Json(view).into_response())
}

pub(crate) async fn set_global(
    State(core): State<Snapkeep>,
    payload: Result<Json<WebhookRequest>, JsonRejection>,
) -> Answer {
    set(&core, None, payload).await
}

pub(crate) async fn set_project(
    State(core): State<Snapkeep>,
    Path(project_id): Path<String>,
    payload: Result<Json<WebhookRequest>, JsonRejection>,
) -> Answer {
    set(&core, Some(project_id), payload).await
}

pub(crate) async fn show_global(State(core): State<Snapkeep>) -> Answer {
    show(&core, None).await
}

pub(crate) async fn show_project(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    show(&core, Some(&project_id)).await
}

pub(crate) async fn delete_global(State(core): State<Snapkeep>) -> Answer {
    core.delete_webhook(None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_project(State(core): State<Snapkeep>, Path(project_id): Path<String>) -> Answer {
    core.delete_webhook(Some(&project_id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every webhook, the global one first.
pub(crate) async fn list(State(core): State<Snapkeep>) -> Answer {
    let webhooks: Vec<Value> = core.webhooks().await?.iter().map(webhook_view).collect();
    Ok(Json(json!({"webhooks": webhooks})).into_response())
}
