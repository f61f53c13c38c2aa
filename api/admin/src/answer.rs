//! What every admin handler answers with: a response or an `AdminError`, bodies read as JSON with
//! a clear refusal, and 201s that tell the audit log what they created.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use snapkeep_api_gateway::Created;

use crate::error::AdminError;

pub(crate) type Answer = Result<Response, AdminError>;

/// The JSON body, or a 400 naming what is wrong with it.
pub(crate) fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
    payload.map(|Json(v)| v).map_err(|e| AdminError::bad_body(e.body_text()))
}

/// 201 with the new resource's view; `id` (what the path does not name) goes to the audit.
pub(crate) fn created(id: &str, value: Value) -> Answer {
    Ok(Created::mark((StatusCode::CREATED, Json(value)).into_response(), id))
}
