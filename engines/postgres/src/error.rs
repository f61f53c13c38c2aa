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
    #[error("the restored server's port is not free: {0}")]
    PortUnavailable(String),
}

impl PgError {
    pub(crate) fn io(e: std::io::Error) -> Self {
        Self::Protocol(e.to_string())
    }

    pub(crate) fn local(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        Self::Local(format!("{context}: {e}"))
    }
}

/// SQLSTATE classes of faults that clear by themselves: connection exceptions (`08`),
/// transaction rollbacks (`40`), insufficient resources (`53`, too many connections) and operator
/// intervention (`57`, a server starting or shutting down).
const TRANSIENT_SQLSTATE_CLASSES: [&str; 4] = ["08", "40", "53", "57"];

/// How each fault becomes an engine error, and so whether it is retried:
///
/// | fault | kind | retried |
/// |---|---|---|
/// | `Unreachable`, `Timeout`, storage `Unavailable` | `Unreachable` / `Timeout` | yes |
/// | `Server` with SQLSTATE class 08, 40, 53, 57 | `Other("postgres")`, 503 | yes |
/// | `Auth`, `Tls` | `Security` | no |
/// | `Config`, `Unsupported` | `BadRequest` | no |
/// | `Server` with any other SQLSTATE (`42501` a missing privilege), `Protocol` | `Unrecoverable` | no |
/// | `Integrity`, other storage faults, `Local`, `Start`, `PortUnavailable` | `EngineError::Local` (the server had no part) | no |
impl From<PgError> for EngineError {
    fn from(e: PgError) -> Self {
        let api = |status, kind| Self::Api { status, kind, reason: e.to_string() };
        match &e {
            PgError::Unreachable(m) => Self::Unreachable(m.clone()),
            PgError::Timeout => Self::Timeout,
            PgError::Storage(StorageError::Unavailable(m)) => Self::Unreachable(format!("storage: {m}")),
            PgError::Server { code, .. } if TRANSIENT_SQLSTATE_CLASSES.iter().any(|c| code.starts_with(c)) => {
                api(503, EngineErrorKind::Other("postgres".into()))
            }
            PgError::Auth(_) | PgError::Tls(_) => api(401, EngineErrorKind::Security),
            PgError::Config(_) | PgError::Unsupported(_) => api(400, EngineErrorKind::BadRequest),
            PgError::Server { .. } | PgError::Protocol(_) => api(500, EngineErrorKind::Unrecoverable),
            PgError::Integrity(_)
            | PgError::Storage(_)
            | PgError::Local(_)
            | PgError::Start(_)
            | PgError::PortUnavailable(_) => Self::Local(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per row of the table on `From<PgError>`.
    #[test]
    fn faults_are_retried_only_when_they_clear_by_themselves() {
        let server = |code: &str| PgError::Server { code: code.into(), message: "m".into() };
        let rows: Vec<(PgError, bool)> = vec![
            (PgError::Unreachable("refused".into()), true),
            (PgError::Timeout, true),
            (PgError::Storage(StorageError::Unavailable("503".into())), true),
            (server("53300"), true),
            (server("57P03"), true),
            (server("08006"), true),
            (server("40001"), true),
            (PgError::Auth("password".into()), false),
            (PgError::Tls("certificate".into()), false),
            (PgError::Integrity("checksum".into()), false),
            (PgError::Config("sslmode".into()), false),
            (PgError::Unsupported("PostgreSQL 14".into()), false),
            (server("42501"), false),
            (PgError::Protocol("eof".into()), false),
            (PgError::Local("disk full".into()), false),
            (PgError::Start("pg_ctl".into()), false),
            (PgError::PortUnavailable("127.0.0.1:5432".into()), false),
        ];
        for (fault, transient) in rows {
            let text = fault.to_string();
            assert_eq!(EngineError::from(fault).is_transient(), transient, "{text}");
        }
    }

    /// A failure on snapkeep's side never reads as the cluster's answer.
    #[test]
    fn local_faults_say_whose_side_failed() {
        let full = EngineError::from(PgError::local("writing the data directory", "No space left on device"));
        assert_eq!(
            full.to_string(),
            "on snapkeep's side: local files: writing the data directory: No space left on device"
        );
        let damaged = EngineError::from(PgError::Integrity("part 1: SHA-256 differs".into())).to_string();
        assert!(
            damaged.starts_with("on snapkeep's side: integrity check failed") && !damaged.contains("cluster answered")
        );
        let refused = EngineError::from(PgError::Server { code: "42501".into(), message: "permission denied".into() });
        assert!(refused.to_string().starts_with("cluster answered 500"), "{refused}");
    }
}
