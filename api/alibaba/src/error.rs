//! Core errors as Alibaba answers: `{"RequestId","Code","Message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use snapkeep_api_gateway::ErrorCode;
use snapkeep_core::{AuthFailure, CoreError, NotFound};
use uuid::Uuid;

#[derive(Debug)]
pub struct AliError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AliError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    /// The same error with another status (DescribeSnapshotSetting answers a missing instance 404).
    pub fn with_status(self, status: StatusCode) -> Self {
        Self { status, ..self }
    }
}

impl From<CoreError> for AliError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        match e {
            CoreError::Unauthenticated(failure) => refusal(&failure),
            CoreError::NotFound(NotFound::SourceCluster) => {
                Self::new(S::BAD_REQUEST, "RepoPath.NotFound", "The instance named by repoPath does not exist.")
            }
            CoreError::NotFound(NotFound::SharedRepository) => {
                Self::new(S::NOT_FOUND, "SnapshotRepo.NotFound", "This instance does not reference that repository.")
            }
            CoreError::NotFound(_) => {
                Self::new(S::BAD_REQUEST, "InstanceNotFound", "The instanceId provided does not exist.")
            }
            e @ CoreError::RegionMismatch { .. } => Self::new(S::BAD_REQUEST, "RepoPath.RegionMismatch", e.to_string()),
            e @ CoreError::SourceTooNew { .. } => {
                Self::new(S::BAD_REQUEST, "RepoPath.VersionNotSupported", e.to_string())
            }
            e @ CoreError::SharedRepositoryExists(_) => {
                Self::new(S::CONFLICT, "SnapshotRepo.AlreadyExists", e.to_string())
            }
            CoreError::Invalid { field, message } => Self::invalid(format!("{} {message}", parameter(field))),
            CoreError::EmptyRequest => Self::invalid("The request body is empty."),
            e @ CoreError::SnapshotsDisabled => Self::new(S::BAD_REQUEST, "SnapshotNotEnabled", e.to_string()),
            CoreError::SnapshotNameTaken(name) => Self::new(
                S::CONFLICT,
                "SnapshotAlreadyExists",
                format!("A snapshot named {name} was already created in this second; retry, or send a ClientToken."),
            ),
            e @ CoreError::Engine(_) => {
                tracing::warn!(error = %e, "engine error answered to an Alibaba call");
                Self::new(S::INTERNAL_SERVER_ERROR, "InternalError", e.to_string())
            }
            e @ (CoreError::Store(_) | CoreError::Secret(_)) => {
                tracing::error!(error = %e, "internal error in an Alibaba call");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "The request processing has failed due to some unknown error.",
                )
            }
            other => Self::invalid(other.to_string()),
        }
    }
}

/// The gateway's answer to a request it did not authenticate.
fn refusal(failure: &AuthFailure) -> AliError {
    use StatusCode as S;
    let (status, code, message) = match failure {
        AuthFailure::Unsigned
        | AuthFailure::Malformed(_)
        | AuthFailure::ProjectMismatch
        | AuthFailure::BadToken
        | AuthFailure::NoSession
        | AuthFailure::BadCsrf => {
            (S::BAD_REQUEST, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        }
        AuthFailure::UnknownKey => {
            (S::BAD_REQUEST, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        }
        AuthFailure::KeyDisabled => {
            (S::BAD_REQUEST, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
        }
        AuthFailure::KeyExpired => {
            (S::BAD_REQUEST, "InvalidAccessKeyId.Inactive", "Specified access key has expired after a rotation.")
        }
        AuthFailure::BadDate => {
            (S::BAD_REQUEST, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        }
        AuthFailure::Expired(_) => {
            (S::BAD_REQUEST, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        }
        AuthFailure::SignatureMismatch(_) => {
            (S::BAD_REQUEST, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        }
        AuthFailure::MissingNonce => {
            (S::BAD_REQUEST, "MissingSignatureNonce", "SignatureNonce is mandatory and must be signed.")
        }
        AuthFailure::NonceUsed => (S::BAD_REQUEST, "SignatureNonceUsed", "Specified signature nonce was used already."),
        AuthFailure::UnboundBody(_) => {
            (S::BAD_REQUEST, "InvalidParameter.ContentMD5", "The request body is not covered by the signature.")
        }
        AuthFailure::TemporaryCredentials => (
            S::BAD_REQUEST,
            "InvalidSecurityToken.NotSupported",
            "Temporary (STS) credentials are not supported here; sign with an access key.",
        ),
    };
    let detail = match failure {
        AuthFailure::Malformed(_) | AuthFailure::Expired(_) | AuthFailure::UnboundBody(_) => {
            format!("{message} ({failure})")
        }
        // As the gateway words it: the older SDKs read the string after the colon.
        AuthFailure::SignatureMismatch(Some(signed)) => format!("{message} server string to sign is:{signed}"),
        _ => message.to_owned(),
    };
    AliError::new(status, code, detail)
}

impl IntoResponse for AliError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        let body = json!({"RequestId": request_id, "Code": self.code, "Message": self.message});
        let mut response = (self.status, [("x-acs-request-id", request_id)], axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

/// A request id as Alibaba shows them: an upper-case UUID.
pub(crate) fn show(id: Uuid) -> String {
    id.hyphenated().to_string().to_uppercase()
}

/// The current request's id, as Alibaba shows them.
pub(crate) fn request_id() -> String {
    show(snapkeep_api_gateway::request_id())
}

/// The request parameter a core field arrives in.
fn parameter(field: &str) -> &str {
    match field {
        "idempotency_key" => "ClientToken",
        other => other,
    }
}
