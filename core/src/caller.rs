//! Who a request comes from once authenticated (`Caller`), why one is refused (`AuthFailure`),
//! and the limits of a signature's date. What the signature checks are lives in `authenticate`.

use chrono::Duration;
use snapkeep_auth::AuthError;

/// The default and the bounds of the allowed clock skew of a signed request.
pub const DEFAULT_MAX_SKEW: Duration = Duration::minutes(15);
pub const MAX_SKEW_RANGE: (Duration, Duration) = (Duration::minutes(1), Duration::hours(1));

/// A request's verified signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's project; none for the admin token.
    pub project_id: Option<String>,
    pub access_key: String,
    /// What identifies the request for replay purposes when its scheme has no nonce (a Huawei
    /// signature): the gateway answers a mutating replay with the first answer
    /// (`Snapkeep::claim_request`).
    pub signature: Option<String>,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("the request is not signed")]
    Unsigned,
    #[error("the Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the access key does not exist")]
    UnknownKey,
    #[error("the access key is disabled")]
    KeyDisabled,
    #[error("the access key has expired after a rotation")]
    KeyExpired,
    #[error("the signing date is missing or not in the expected format")]
    BadDate,
    #[error("the signing date is more than {0} minutes from the server's time")]
    Expired(i64),
    /// With the string the server signed, where the scheme's clients compare it (ROA v1).
    #[error("the signature does not match")]
    SignatureMismatch(Option<String>),
    #[error("the signature nonce is missing or not signed")]
    MissingNonce,
    #[error("the signature nonce was already used")]
    NonceUsed,
    #[error("the access key does not belong to the project the request addresses")]
    ProjectMismatch,
    #[error("temporary security credentials are not supported; sign with an access key")]
    TemporaryCredentials,
    #[error("the admin bearer token is missing or wrong")]
    BadToken,
    /// A console request without a live session (never logged in, logged out, or expired).
    #[error("no console session: log in with the admin token")]
    NoSession,
    /// A console form without its session's CSRF token: an old page, or another site's.
    #[error("the form does not carry this session's CSRF token; reload the page and try again")]
    BadCsrf,
    /// The body received is not the one signed, or the signature does not cover it.
    #[error("{0}")]
    UnboundBody(AuthError),
}

impl AuthFailure {
    /// The label the metrics count it under.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::Malformed(_) => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::KeyDisabled => "key_disabled",
            Self::KeyExpired => "key_expired",
            Self::BadDate => "bad_date",
            Self::Expired(_) => "expired",
            Self::SignatureMismatch(_) => "signature_mismatch",
            Self::MissingNonce => "missing_nonce",
            Self::NonceUsed => "nonce_used",
            Self::ProjectMismatch => "project_mismatch",
            Self::TemporaryCredentials => "temporary_credentials",
            Self::BadToken => "bad_token",
            Self::NoSession => "no_session",
            Self::BadCsrf => "bad_csrf",
            Self::UnboundBody(_) => "unbound_body",
        }
    }
}

impl From<AuthError> for AuthFailure {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => Self::Unsigned,
            AuthError::Malformed(what) => Self::Malformed(what),
            AuthError::MissingSignedHeader(_) => Self::Malformed("a signed header is missing"),
            AuthError::Mismatch => Self::SignatureMismatch(None),
            e @ (AuthError::BodyMismatch(_) | AuthError::UnsignedBody) => Self::UnboundBody(e),
        }
    }
}
