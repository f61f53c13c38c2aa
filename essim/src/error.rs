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
    /// The wrapped exception (`caused_by`), as `(type, reason)`; it is then the root cause.
    pub cause: Option<(&'static str, String)>,
}

pub type EsResult<T> = Result<T, EsError>;

impl EsError {
    pub fn new(status: u16, kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind,
            reason: reason.into(),
            cause: None,
        }
    }

    /// The same fault as the engines answer it when it stops a repository's creation: wrapped in
    /// `[name] failed to create repository` (`RepositoriesService.createRepository`).
    pub fn creating_repository(self, name: &str) -> Self {
        Self { reason: format!("[{name}] failed to create repository"), cause: Some((self.kind, self.reason)), ..self }
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
        let mut error = json!({"type": self.kind, "reason": self.reason});
        let root = match &self.cause {
            Some((kind, reason)) => {
                let cause = json!({"type": kind, "reason": reason});
                error["caused_by"] = cause.clone();
                cause
            }
            None => json!({"type": self.kind, "reason": self.reason}),
        };
        error["root_cause"] = json!([root]);
        let body = json!({"error": error, "status": self.status.as_u16()});
        (self.status, axum::Json(body)).into_response()
    }
}
