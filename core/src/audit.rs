//! The audit log: one entry per mutating call of any dialect (admin included), with who made it,
//! what it asked for, and how it ended. Entries are written after the call is answered, so a
//! refused call is recorded with the code the caller saw.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::CoreError;
use crate::service::Snapkeep;

/// The most entries one query returns.
const AUDIT_PAGE_MAX: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Increasing; 0 before the entry is stored.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `css`, `alibaba` or `admin`.
    pub dialect: String,
    /// The tenant the call acted for; none for admin calls.
    pub project_id: Option<String>,
    /// The access key that signed the call (`admin` for the admin token).
    pub access_key: String,
    /// The vendor's name of the action (`CreateSnapshot`, `AddSnapshotRepo`, …).
    pub action: String,
    /// The resources the call named, from its path (`cluster/snapshot`).
    pub target: String,
    pub status: u16,
    /// `ok`, or the error code the dialect answered with.
    pub outcome: String,
    pub request_id: String,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub project_id: Option<String>,
    /// Only entries with a larger id (the `next` of the previous page).
    pub after_id: Option<i64>,
    pub limit: u32,
}

impl Snapkeep {
    /// Records an entry; a store failure is logged, never answered (the call already ended).
    pub async fn record_audit(&self, entry: AuditEntry) {
        if let Err(e) = self.store.insert_audit(&entry).await {
            tracing::error!(error = %e, action = %entry.action, request_id = %entry.request_id, "audit entry lost");
        }
    }

    pub async fn audit_log(&self, mut query: AuditQuery) -> Result<Vec<AuditEntry>, CoreError> {
        if query.limit == 0 || query.limit > AUDIT_PAGE_MAX {
            return Err(CoreError::invalid("limit", format!("must be 1 to {AUDIT_PAGE_MAX}")));
        }
        query.after_id = query.after_id.filter(|id| *id > 0);
        Ok(self.store.list_audit(&query).await?)
    }
}
