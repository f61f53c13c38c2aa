//! Core errors as CSS answers: `{"errCode","externalMessage"}` as CSS sends them, plus the
//! `error_code`/`error_msg` pair the official SDKs read (authentication failures use the API
//! gateway's `APIGW.*` codes). The request id travels in `X-Request-Id` and in the body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::{huawei_error, huawei_refusal};
use snapkeep_core::{CoreError, NotFound, StorageError};

/// A CSS error answer.
#[derive(Debug)]
pub struct CssError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl CssError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn incorrect(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "CSS.0001", format!("Incorrect parameters. ({detail})"))
    }

    /// What the storage said when the snapshot settings were checked.
    fn storage(e: StorageError) -> Self {
        match e {
            StorageError::BucketMissing { bucket } => {
                Self::new(StatusCode::BAD_REQUEST, "CSS.0048", format!("The bucket {bucket} does not exist."))
            }
            e @ StorageError::AccessDenied(_) => {
                Self::new(StatusCode::BAD_REQUEST, "CSS.5130", format!("Invalid agency: {e}"))
            }
            e @ StorageError::Unavailable(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "CSS.0005", e.to_string()),
            e @ (StorageError::Unwritable { .. }
            | StorageError::Misconfigured(_)
            | StorageError::ObjectMissing(_)
            | StorageError::ObjectTooLarge { .. }) => Self::incorrect(e),
        }
    }
}

impl From<CoreError> for CssError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        match e {
            CoreError::Unauthenticated(failure) => {
                let (status, code, message) = huawei_refusal(&failure);
                Self::new(status, code, message)
            }
            CoreError::Invalid { field, message } => Self::incorrect(format!("{field} {message}")),
            CoreError::EmptyRequest => Self::new(S::BAD_REQUEST, "CSS.0006", "The request body is empty."),
            CoreError::NotFound(NotFound::Snapshot) => {
                Self::new(S::BAD_REQUEST, "CSS.5111", "The snapshot does not exist.")
            }
            CoreError::NotFound(NotFound::TargetCluster) => {
                Self::new(S::NOT_FOUND, "CSS.3027", "The target cluster does not exist.")
            }
            CoreError::NotFound(_) => Self::new(S::NOT_FOUND, "CSS.3027", "The cluster does not exist."),
            e @ CoreError::InvalidPeriod(_) => Self::new(S::BAD_REQUEST, "CSS.5018", e.to_string()),
            e @ CoreError::InvalidPrefix(_) => Self::new(S::BAD_REQUEST, "CSS.5044", e.to_string()),
            e @ CoreError::InvalidRetention(_) => Self::new(S::BAD_REQUEST, "CSS.5017", e.to_string()),
            e @ (CoreError::InvalidAgency(_) | CoreError::UnknownStorageProfile(_)) => {
                Self::new(S::BAD_REQUEST, "CSS.5130", format!("Invalid agency: {e}"))
            }
            CoreError::Storage(e) => Self::storage(e),
            e @ (CoreError::SnapshotsAlreadyDisabled | CoreError::SnapshotsDisabled) => {
                Self::new(S::UNSUPPORTED_MEDIA_TYPE, "CSS.0004", format!("Invalid operation: {e}."))
            }
            CoreError::SnapshotNameTaken(name) => {
                Self::new(S::CONFLICT, "CSS.0043", format!("A snapshot named {name} already exists."))
            }
            CoreError::SnapshotBeingDeleted => Self::new(S::BAD_REQUEST, "CSS.3016", "The snapshot is being deleted."),
            e @ CoreError::RequestRunning => Self::new(S::CONFLICT, "CSS.0029", format!("{e}.")),
            CoreError::RestoreInProgress(cluster) => {
                Self::new(S::CONFLICT, "CSS.3004", format!("A restore is in progress on cluster {cluster}."))
            }
            e @ (CoreError::SnapshotNotReady | CoreError::SnapshotUnusable(_) | CoreError::RestoreRefused(_)) => {
                Self::new(S::BAD_REQUEST, "CSS.6003", format!("Restore failed: {e}."))
            }
            CoreError::Engine(e) => {
                tracing::warn!(error = %e, "engine error answered to a CSS call");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "CSS.0005",
                    format!("The cluster could not be reached or refused the request: {e}"),
                )
            }
            e @ (CoreError::Store(_) | CoreError::Secret(_)) => {
                tracing::error!(error = %e, "internal error in a CSS call");
                Self::new(S::INTERNAL_SERVER_ERROR, "CSS.9999", "Internal server error.")
            }
            other => Self::incorrect(other),
        }
    }
}

impl IntoResponse for CssError {
    fn into_response(self) -> Response {
        huawei_error(self.status, self.code, &self.message)
    }
}
