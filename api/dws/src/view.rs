//! The DWS snapshot object, filled from snapkeep's catalog.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use snapkeep_core::{
    Cluster, Operation, OperationPhase, Snapshot, SnapshotConfig, SnapshotKind, SnapshotStatus, TransferProgress,
    database_strategy,
};

fn dws_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn from_ms(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// `CREATING`, `AVAILABLE` or `UNAVAILABLE`.
pub fn status(s: &Snapshot) -> &'static str {
    match s.status {
        SnapshotStatus::Building => "CREATING",
        SnapshotStatus::Completed | SnapshotStatus::PartFailed => "AVAILABLE",
        SnapshotStatus::Failed => "UNAVAILABLE",
    }
}

/// One snapshot; `progress` is its open operation's `done/total` while it runs.
pub fn snapshot(cluster: &Cluster, config: &SnapshotConfig, s: &Snapshot, progress: Option<&str>) -> Value {
    let auto = s.kind == SnapshotKind::Automatic;
    let bytes = s.size_bytes.unwrap_or(0);
    let progress = match s.status {
        SnapshotStatus::Building => {
            progress.and_then(TransferProgress::percent).map_or("0%".into(), |p| format!("{p}%"))
        }
        _ => "100%".into(),
    };
    let mut view = json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "started": dws_time(from_ms(s.start_time_ms).unwrap_or(s.created_at)),
        "finished": from_ms(s.end_time_ms).map(dws_time),
        "size": bytes as f64 / f64::from(1u32 << 30),
        "total_backup_size": bytes,
        "status": status(s),
        "type": if auto { "AUTO" } else { "MANUAL" },
        "cluster_id": cluster.id,
        "cluster_name": cluster.name,
        "datastore": {"type": "postgresql", "version": s.engine_version.clone().unwrap_or_else(|| cluster.version.to_string())},
        "updated": dws_time(s.updated_at),
        "progress": progress,
        "backup_key": s.created_at.format("%Y%m%d_%H%M%S").to_string(),
        "prior_backup_key": "FULL",
        "backup_level": "cluster",
        "backup_device": match &s.location { Some(l) if l.bucket.is_none() => "NFS", _ => "OBS" },
        "support_inplace_restore": false,
        "fine_grained_backup": false,
    });
    if auto {
        view["bak_keep_day"] = json!(config.policy.keepday);
        view["bak_period"] = json!(database_strategy(config).map(|(_, cron)| cron.as_str().to_owned()));
        view["bak_expected_start_time"] = json!(s.scheduled_for.map(|t| t.timestamp_millis().to_string()));
    }
    if let Some(reason) = &s.failure_reason {
        view["fail_reason"] = json!(reason);
    }
    view
}

/// A durable operation as a DWS job: `RUNNING`, `SUCCESS` or `FAIL`, with its progress.
pub fn job(op: &Operation) -> Value {
    let reached = || format!("{}%", op.progress_marker.as_deref().and_then(TransferProgress::percent).unwrap_or(0));
    let (status, progress) = match op.phase {
        OperationPhase::Succeeded => ("SUCCESS", "100%".to_owned()),
        OperationPhase::Failed => ("FAIL", reached()),
        _ => ("RUNNING", reached()),
    };
    json!({
        "job_id": op.id,
        "job_name": op.kind.as_str(),
        "begin_time": dws_time(op.created_at),
        "end_time": op.finished_at.map(dws_time),
        "status": status,
        "progress": progress,
        "failed_code": (op.phase == OperationPhase::Failed).then_some("DWS.0005"),
        "failed_detail": op.last_error,
    })
}

/// The snapshot policy (`GET /v2/…/snapshot-policies`).
pub fn policy(config: &SnapshotConfig, next_fire: Option<DateTime<Utc>>) -> Value {
    let strategies: Vec<Value> = database_strategy(config)
        .map(|(name, cron)| {
            json!({
                "policy_id": name,
                "policy_name": name,
                "backup_strategy": cron.as_str(),
                "backup_type": "full",
                "backup_level": "cluster",
                "next_fire_time": next_fire.map(|t| t.timestamp_millis().to_string()),
                "time_zone_offset": 0,
            })
        })
        .into_iter()
        .collect();
    json!({
        "keep_day": config.policy.keepday,
        "backup_strategies": strategies,
        "device_name": "OBS",
        "auto_backup": !strategies.is_empty(),
        "backup_strategy_cluster_type_limit_num": 1,
        "backup_strategy_schema_type_limit_num": 0,
    })
}
