//! The CSS backup object, filled from snapkeep's catalog.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use snapkeep_core::{Cluster, Snapshot, SnapshotConfig, SnapshotKind, SnapshotPolicy};

fn css_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// One item of `{"backups":[…]}`; automatic snapshots show the policy that took them.
pub fn backup(cluster: &Cluster, config: &SnapshotConfig, s: &Snapshot) -> Value {
    let auto = (s.kind == SnapshotKind::Automatic).then_some(&config.policy);
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
        "backupFrequency": auto.and_then(|p| css_schedule(p).0),
        "backupExpectedStartTime": s.scheduled_for.map(css_time),
        "backupKeepDay": auto.map(|p| p.keepday),
        "backupPeriod": auto.and_then(|p| css_schedule(p).1),
        "indices": indices,
        "totalShards": s.total_shards,
        "failedShards": s.failed_shards,
        "version": s.engine_version,
        "restoreStatus": s.restore_status.as_str(),
        "startTime": s.start_time_ms,
        "endTime": s.end_time_ms.unwrap_or(0),
        "bucketName": Value::Null,
        "failReason": fail_reason(s),
    })
}

/// Why the last restore or delete of the snapshot failed, else why the snapshot itself failed:
/// CSS has one field for all of them, and `restoreStatus: failed` alone leaves the caller guessing.
fn fail_reason(s: &Snapshot) -> Option<String> {
    s.operation_failure.clone().or_else(|| s.failure_reason.clone())
}

/// Frequency and period as CSS shows them; `null` for a schedule set as a Quartz expression in
/// another dialect.
fn css_schedule(policy: &SnapshotPolicy) -> (Option<&'static str>, Option<String>) {
    match policy.schedule.as_periodic() {
        Some((frequency, period)) => (Some(frequency.as_str()), Some(period.to_string())),
        None => (None, None),
    }
}

/// A byte rate as CSS shows it: `40MB`, `0MB` for unlimited.
fn css_rate(rate: &str) -> String {
    if rate == "0" { "0MB".into() } else { rate.to_uppercase() }
}

/// The answer of `GET …/index_snapshot/policy` (always camelCase).
pub fn policy(config: &SnapshotConfig) -> Value {
    let (settings, policy) = (&config.settings, &config.policy);
    json!({
        "keepday": policy.keepday,
        "period": css_schedule(policy).1,
        "frequency": css_schedule(policy).0,
        "prefix": policy.prefix,
        "bucket": settings.bucket,
        "basePath": settings.base_path,
        "agency": settings.agency,
        "enable": if policy.enabled && settings.enabled { "true" } else { "false" },
        "indices": if policy.indices.is_empty() { "*" } else { policy.indices.as_str() },
        "snapshotCmkId": Value::Null,
        "maxSnapshotBytesPerSeconds": css_rate(&settings.max_snapshot_rate),
        "maxRestoreBytesPerSeconds": css_rate(&settings.max_restore_rate),
    })
}

/// A cluster as `GET /v1.0/{project_id}/clusters/{cluster_id}` shows it.
pub fn cluster(cluster: &Cluster, config: &SnapshotConfig, snapshotting: bool, restoring: bool) -> Value {
    let mut actions = Vec::new();
    if snapshotting {
        actions.push("SNAPSHOTTING");
    }
    if restoring {
        actions.push("RESTORING");
    }
    let endpoint = cluster.endpoint.split("://").nth(1).unwrap_or(&cluster.endpoint).trim_end_matches('/');
    json!({
        "id": cluster.id,
        "name": cluster.name,
        "status": "200",
        "datastore": {"type": cluster.flavor.as_str(), "version": cluster.version.to_string()},
        "endpoint": endpoint,
        "created": css_time(cluster.created_at),
        "updated": css_time(cluster.created_at),
        "httpsEnable": cluster.endpoint.starts_with("https://"),
        "authorityEnable": cluster.username.is_some(),
        "diskEncrypted": false,
        "instances": [],
        "tags": [],
        "actions": actions,
        "actionProgress": {},
        "backupAvailable": config.settings.enabled,
        "snapshotPolicy": {
            "backupEnable": config.settings.enabled && config.policy.enabled,
            "bakPeriod": css_schedule(&config.policy).1,
            "bakFrequency": css_schedule(&config.policy).0,
            "bakKeepDay": config.policy.keepday,
        },
    })
}
