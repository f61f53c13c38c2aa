//! What can go wrong talking to PostgreSQL, moving a backup, or starting a restored server, and
//! how each maps to the core's engine errors.

use snapkeep_core::{EngineError, EngineErrorKind, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("invalid connection settings: {0}")]
    Config(String),
    #[error("server unreachable: {0}")]
    Unreachable(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("the server answered {code}: {message}")]
    Server { code: String, message: String },
    #[error("unexpected protocol data: {0}")]
    Protocol(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("integrity check failed: {0}")]
    Integrity(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("local files: {0}")]
    Local(String),
    #[error("starting the restored server: {0}")]
    Start(String),
}

impl PgError {
    pub(crate) fn io(e: std::io::Error) -> Self {
        Self::Protocol(e.to_string())
    }

    pub(crate) fn local(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        Self::Local(format!("{context}: {e}"))
    }
}

impl From<PgError> for EngineError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Unreachable(m) => Self::Unreachable(m),
            PgError::Timeout => Self::Timeout,
            PgError::Storage(StorageError::Unavailable(m)) => Self::Unreachable(format!("storage: {m}")),
            PgError::Auth(_) | PgError::Tls(_) => {
                Self::Api { status: 401, kind: EngineErrorKind::Security, reason: e.to_string() }
            }
            PgError::Integrity(_) => Self::Api { status: 500, kind: EngineErrorKind::Integrity, reason: e.to_string() },
            other => {
                Self::Api { status: 500, kind: EngineErrorKind::Other("postgres".into()), reason: other.to_string() }
            }
        }
    }
}
