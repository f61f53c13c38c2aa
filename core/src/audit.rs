//! The audit log: one entry per mutating call of any dialect (admin included), with who made it,
//! what it asked for, and how it ended. Entries are written after the call is answered, so a
//! refused call is recorded with the code the caller saw.

use crate::error::CoreError;
use crate::model::{AuditEntry, AuditQuery};
use crate::snapkeep::Snapkeep;

/// The most entries one query returns.
const AUDIT_PAGE_MAX: u32 = 1000;

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
