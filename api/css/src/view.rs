//! The CSS backup object, filled from snapkeep's catalog.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use snapkeep_core::{Cluster, Snapshot, SnapshotConfig, SnapshotKind, SnapshotPolicy};

/// One item of `{"backups":[…]}` ([`ClusterBackups::backup`]); automatic snapshots show the
/// policy that took them. Its
/// fields are in the order Huawei's answers (and `serde_json`'s maps) give them: by name.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup<'a> {
    backup_expected_start_time: Option<CssTime>,
    backup_frequency: Option<&'static str>,
    backup_keep_day: Option<u32>,
    backup_method: &'static str,
    backup_period: Option<&'a str>,
    backup_type: &'static str,
    bucket_name: Option<()>,
    cluster_id: &'a str,
    cluster_name: &'a str,
    created: CssTime,
    datastore: &'a Datastore,
    description: &'a str,
    end_time: i64,
    fail_reason: Option<&'a str>,
    failed_shards: Option<u32>,
    id: &'a str,
    indices: Indices<'a>,
    name: &'a str,
    restore_status: &'static str,
    start_time: Option<i64>,
    status: &'static str,
    total_shards: Option<u32>,
    updated: CssTime,
    version: Option<&'a str>,
}

/// A cluster's engine as CSS names it.
#[derive(Serialize)]
struct Datastore {
    #[serde(rename = "type")]
    flavor: &'static str,
    version: String,
}

/// A time as CSS shows it, `2024-01-31T08:00:00` (UTC, no zone).
struct CssTime(DateTime<Utc>);

impl CssTime {
    /// The 19 ASCII bytes of `%Y-%m-%dT%H:%M:%S`, written digit by digit (chrono's `format`
    /// parses its pattern on every call, a cost each row of a list paid); `None` for a year
    /// outside 0 to 9999.
    fn ascii(&self) -> Option<[u8; 19]> {
        let (date, time) = (self.0.date_naive(), self.0.time());
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00";
        let fields = [(0, 4, year), (5, 2, date.month()), (8, 2, date.day())];
        let fields = fields.into_iter().chain([(11, 2, time.hour()), (14, 2, time.minute()), (17, 2, time.second())]);
        for (at, width, mut value) in fields {
            for digit in out[at..at + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(out)
    }
}

impl std::fmt::Display for CssTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ascii() {
            Some(ascii) => f.write_str(std::str::from_utf8(&ascii).expect("ASCII digits")),
            None => write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

impl Serialize for CssTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.ascii() {
            Some(ascii) => serializer.serialize_str(std::str::from_utf8(&ascii).expect("ASCII digits")),
            None => serializer.collect_str(self),
        }
    }
}

fn css_time(t: DateTime<Utc>) -> String {
    CssTime(t).to_string()
}

/// What the backups in a list of one cluster's share: the cluster, its engine, and the policy
/// its automatic snapshots were taken under, as CSS shows them (worked out once per list).
pub struct ClusterBackups<'a> {
    cluster: &'a Cluster,
    datastore: Datastore,
    keepday: u32,
    schedule: (Option<&'static str>, Option<String>),
}

impl<'a> ClusterBackups<'a> {
    pub fn new(cluster: &'a Cluster, config: &SnapshotConfig) -> Self {
        let schedule = css_schedule(&config.policy);
        Self { cluster, datastore: datastore(cluster), keepday: config.policy.keepday, schedule }
    }

    /// One item of the list.
    pub fn backup(&'a self, s: &'a Snapshot) -> Backup<'a> {
        let auto = s.kind == SnapshotKind::Automatic;
        Backup {
            backup_expected_start_time: s.scheduled_for.map(CssTime),
            backup_frequency: self.schedule.0.filter(|_| auto),
            backup_keep_day: auto.then_some(self.keepday),
            backup_method: s.kind.as_str(),
            backup_period: self.schedule.1.as_deref().filter(|_| auto),
            backup_type: if auto { "0" } else { "1" },
            bucket_name: None,
            cluster_id: &self.cluster.id,
            cluster_name: &self.cluster.name,
            created: CssTime(s.created_at),
            datastore: &self.datastore,
            description: &s.description,
            end_time: s.end_time_ms.unwrap_or(0),
            fail_reason: fail_reason(s),
            failed_shards: s.failed_shards,
            id: &s.id,
            indices: Indices(s),
            name: &s.name,
            restore_status: s.restore_status.as_str(),
            start_time: s.start_time_ms,
            status: s.status.as_str(),
            total_shards: s.total_shards,
            updated: CssTime(s.updated_at),
            version: s.engine_version.as_deref(),
        }
    }
}

/// A snapshot's indices as CSS shows them: those the engine put in it, comma-separated, or
/// what the caller asked for until the engine says.
struct Indices<'a>(&'a Snapshot);

impl std::fmt::Display for Indices<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        if s.indices.is_empty() {
            return f.write_str(&s.requested_indices);
        }
        for (i, index) in s.indices.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(index)?;
        }
        Ok(())
    }
}

impl Serialize for Indices<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn datastore(cluster: &Cluster) -> Datastore {
    Datastore { flavor: cluster.flavor.as_str(), version: cluster.version.to_string() }
}

/// Why the last restore or delete of the snapshot failed, else why the snapshot itself failed:
/// CSS has one field for all of them, and `restoreStatus: failed` alone leaves the caller guessing.
fn fail_reason(s: &Snapshot) -> Option<&str> {
    s.operation_failure.as_deref().or(s.failure_reason.as_deref())
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
        "datastore": datastore(cluster),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// CSS times read as chrono's `%Y-%m-%dT%H:%M:%S`, inside and outside four-digit years.
    #[test]
    fn css_times_read_as_the_strftime_pattern() {
        for ms in [0, 1_700_000_000_123, 1_709_251_199_999, 253_402_300_799_000, 253_402_300_800_000] {
            let t = DateTime::from_timestamp_millis(ms).expect("a time");
            let expected = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            assert_eq!(css_time(t), expected);
            assert_eq!(serde_json::to_string(&CssTime(t)).expect("JSON"), format!("\"{expected}\""));
        }
    }
}
