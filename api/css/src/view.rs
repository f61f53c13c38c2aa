//! The CSS backup object, filled from snapkeep's catalog.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use snapkeep_core::{Cluster, Snapshot, SnapshotKind};

fn css_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// One item of `{"backups":[…]}`.
pub fn backup(cluster: &Cluster, s: &Snapshot) -> Value {
    let indices = if s.indices.is_empty() { s.requested_indices.clone() } else { s.indices.join(",") };
    json!({
        "created": css_time(s.created_at),
        "updated": css_time(s.updated_at),
        "datastore": {"type": cluster.flavor.as_str(), "version": cluster.version.to_string()},
        "description": s.description,
        "id": s.id,
        "clusterId": cluster.id,
        "clusterName": cluster.name,
        "name": s.name,
        "status": s.status.as_str(),
        "backupType": if s.kind == SnapshotKind::Automatic { "0" } else { "1" },
        "backupMethod": s.kind.as_str(),
        "backupFrequency": Value::Null,
        "backupExpectedStartTime": Value::Null,
        "backupKeepDay": Value::Null,
        "backupPeriod": Value::Null,
        "indices": indices,
        "totalShards": s.total_shards,
        "failedShards": s.failed_shards,
        "version": s.engine_version,
        "restoreStatus": s.restore_status.as_str(),
        "startTime": s.start_time_ms,
        "endTime": s.end_time_ms.unwrap_or(0),
        "bucketName": Value::Null,
        "failReason": s.failure_reason,
    })
}
