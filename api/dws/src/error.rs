//! Core errors as DWS answers: `{"error_code":"DWS.xxxx","error_msg"}` (authentication failures
//! use the API gateway's `APIGW.*` codes), with the request id in `X-Request-Id`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::{huawei_error, huawei_refusal};
use snapkeep_core::{CoreError, NotFound};

/// A DWS error answer.
#[derive(Debug)]
pub struct DwsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl DwsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn incorrect(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DWS.0001", format!("Incorrect parameter: {detail}."))
    }
}

impl From<CoreError> for DwsError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        match e {
            CoreError::Unauthenticated(failure) => {
                let (status, code, message) = huawei_refusal(&failure);
                Self::new(status, code, message)
            }
            CoreError::Invalid { field, message } => Self::incorrect(format!("{field} {message}")),
            CoreError::EmptyRequest => Self::new(S::BAD_REQUEST, "DWS.0006", "The request body is empty."),
            CoreError::NotFound(NotFound::Snapshot) => {
                Self::new(S::BAD_REQUEST, "DWS.5111", "The snapshot does not exist.")
            }
            CoreError::NotFound(NotFound::Policy) => {
                Self::new(S::FORBIDDEN, "DWS.0015", "The snapshot policy does not exist.")
            }
            CoreError::NotFound(NotFound::Operation) => Self::new(S::FORBIDDEN, "DWS.0015", "The job does not exist."),
            CoreError::NotFound(_) => Self::new(S::NOT_FOUND, "DWS.0047", "The cluster does not exist."),
            e @ CoreError::InvalidRetention(_) => {
                Self::new(S::BAD_REQUEST, "DWS.5017", format!("Invalid retention: {e}."))
            }
            e @ CoreError::InvalidPeriod(_) => {
                Self::new(S::BAD_REQUEST, "DWS.5018", format!("Invalid backup period: {e}."))
            }
            CoreError::SnapshotNameTaken(name) => {
                Self::incorrect(format!("a snapshot named {name} already exists (names are compared without case)"))
            }
            CoreError::ClusterNameTaken(name) => {
                Self::new(S::CONFLICT, "DWS.5050", format!("The cluster name {name} already exists."))
            }
            e @ (CoreError::SnapshotBeingDeleted
            | CoreError::SnapshotNotReady
            | CoreError::RestoreInProgress(_)
            | CoreError::RequestRunning) => {
                Self::new(S::CONFLICT, "DWS.0011", format!("Another operation is in progress: {e}."))
            }
            e @ (CoreError::SnapshotUnusable(_) | CoreError::SnapshotsDisabled) => {
                Self::new(S::FORBIDDEN, "DWS.7023", format!("The current status does not allow the operation: {e}."))
            }
            e @ (CoreError::Engine(_) | CoreError::Storage(_)) => {
                tracing::warn!(error = %e, "engine or storage error answered to a DWS call");
                Self::new(S::INTERNAL_SERVER_ERROR, "DWS.0005", format!("The operation failed: {e}."))
            }
            e @ (CoreError::Store(_) | CoreError::Secret(_)) => {
                tracing::error!(error = %e, "internal error in a DWS call");
                Self::new(S::INTERNAL_SERVER_ERROR, "DWS.9999", "Internal server error.")
            }
            other => Self::incorrect(other),
        }
    }
}

impl IntoResponse for DwsError {
    fn into_response(self) -> Response {
        huawei_error(self.status, self.code, &self.message)
    }
}
