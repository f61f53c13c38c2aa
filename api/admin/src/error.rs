//! Core errors as admin API answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use snapkeep_api_gateway::ErrorCode;
use snapkeep_core::{CoreError, StorageError};

#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }
}

impl From<CoreError> for AdminError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            CoreError::Unauthenticated(_) => {
                Self::new(S::UNAUTHORIZED, "unauthorized", "a valid admin bearer token is required")
            }
            CoreError::TooManyActiveKeys(_) | CoreError::KeyNotActive(_) => {
                Self::new(S::CONFLICT, "failed_precondition", message)
            }
            CoreError::Invalid { .. } | CoreError::EmptyRequest => {
                Self::new(S::BAD_REQUEST, "invalid_argument", message)
            }
            CoreError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", message),
            CoreError::ProjectNameTaken(_) | CoreError::ClusterIdTaken(_) | CoreError::SnapshotNameTaken(_) => {
                Self::new(S::CONFLICT, "already_exists", message)
            }
            CoreError::ProjectNotEmpty(_) | CoreError::ClusterBusy(_) => Self::new(S::CONFLICT, "in_use", message),
            CoreError::ClusterUnusable(_) => Self::new(S::UNPROCESSABLE_ENTITY, "cluster_unusable", message),
            CoreError::RepositoryRefused(_) => Self::new(S::UNPROCESSABLE_ENTITY, "repository_refused", message),
            CoreError::StorageProfileExists(_) => Self::new(S::CONFLICT, "already_exists", message),
            CoreError::StorageProfileInUse { .. } => Self::new(S::CONFLICT, "in_use", message),
            CoreError::UnknownStorageProfile(_) => Self::new(S::BAD_REQUEST, "invalid_argument", message),
            CoreError::Storage(StorageError::Unavailable(_)) => {
                Self::new(S::BAD_GATEWAY, "storage_unavailable", message)
            }
            CoreError::Storage(_) => Self::new(S::UNPROCESSABLE_ENTITY, "storage_refused", message),
            CoreError::PresenceLapsed => Self::new(S::SERVICE_UNAVAILABLE, "unavailable", message),
            CoreError::Store(_) | CoreError::Secret(_) => {
                tracing::error!(error = %message, "internal error in an admin call");
                Self::new(S::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
            }
            _ => Self::new(S::CONFLICT, "failed_precondition", message),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}
