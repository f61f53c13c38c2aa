//! Errors in the engines' own envelope:
//! `{"error":{"root_cause":[{type,reason}],"type","reason"},"status":N}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct EsError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub reason: String,
}

pub type EsResult<T> = Result<T, EsError>;

impl EsError {
    pub fn new(status: u16, kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind,
            reason: reason.into(),
        }
    }

    pub fn snapshot_missing(repo: &str, snapshot: &str) -> Self {
        Self::new(404, "snapshot_missing_exception", format!("[{repo}:{snapshot}] is missing"))
    }

    pub fn repository_missing(repo: &str) -> Self {
        Self::new(404, "repository_missing_exception", format!("[{repo}] missing"))
    }

    pub fn index_not_found(index: &str) -> Self {
        Self::new(404, "index_not_found_exception", format!("no such index [{index}]"))
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(400, "illegal_argument_exception", reason)
    }

    pub fn io(reason: impl std::fmt::Display) -> Self {
        Self::new(500, "repository_exception", format!("i/o failure: {reason}"))
    }
}

impl IntoResponse for EsError {
    fn into_response(self) -> Response {
        let cause = json!({"type": self.kind, "reason": self.reason});
        let body = json!({
            "error": {"root_cause": [cause], "type": self.kind, "reason": self.reason},
            "status": self.status.as_u16(),
        });
        (self.status, axum::Json(body)).into_response()
    }
}
