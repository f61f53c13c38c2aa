//! Parsers of the engines' answers: the error envelope, SnapshotInfo, `_status`, `_recovery`,
//! `_cat/indices` and `GET /`.

use std::collections::BTreeMap;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use snapkeep_core::{
    EngineError, EngineErrorKind, EngineFlavor, EngineInfo, EngineVersion, IndexState, RecoveryStage, RepositorySpec,
    ShardRecovery, SnapshotInfo, SnapshotProgress, SnapshotState,
};

/// A non-2xx answer as a typed error. The reason carries the `caused_by` chain, where the
/// engines put the real cause (`[r] failed to create repository` is caused by a location outside
/// `path.repo`).
pub fn error(status: u16, body: &[u8]) -> EngineError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (kind_name, reason) = match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(e @ Value::Object(_)) => {
            (e.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(), reason_chain(e))
        }
        Some(Value::String(s)) => (String::new(), s.clone()),
        _ => (String::new(), String::from_utf8_lossy(body).chars().take(500).collect()),
    };
    typed(status, kind_name, reason)
}

/// `reason`, then each distinct `caused_by.reason` below it, joined by `: `.
fn reason_chain(error: &Value) -> String {
    let mut reasons: Vec<&str> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(reason) = e.get("reason").and_then(Value::as_str).filter(|r| !reasons.contains(r)) {
            reasons.push(reason);
        }
        next = e.get("caused_by");
    }
    reasons.join(": ")
}

/// An error of the engine's own `type` and `reason`, as the kind snapkeep acts on: the table in
/// this crate's documentation, row by row.
fn typed(status: u16, kind_name: String, reason: String) -> EngineError {
    let says = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    let kind = match kind_name.as_str() {
        "snapshot_missing_exception" => EngineErrorKind::SnapshotMissing,
        "repository_missing_exception" => EngineErrorKind::RepositoryMissing,
        "index_not_found_exception" => EngineErrorKind::IndexNotFound,
        "invalid_snapshot_name_exception" => EngineErrorKind::InvalidSnapshotName,
        "snapshot_name_already_in_use_exception" => EngineErrorKind::SnapshotNameInUse,
        "concurrent_snapshot_execution_exception" | "snapshot_in_progress_exception" => EngineErrorKind::Busy,
        "snapshot_restore_exception" if says(&["already running"]) => EngineErrorKind::Busy,
        "snapshot_restore_exception" => EngineErrorKind::SnapshotRestore,
        "repository_verification_exception" => EngineErrorKind::RepositoryVerification,
        "security_exception" => EngineErrorKind::Security,
        _ if says(&["repository is readonly", "readonly repository"]) => EngineErrorKind::RepositoryReadonly,
        "repository_exception" if says(&UNUSABLE_REPOSITORY) => EngineErrorKind::RepositoryUnusable,
        "illegal_state_exception" if says(&["that is currently used"]) => EngineErrorKind::RepositoryInUse,
        "illegal_argument_exception"
        | "index_out_of_bounds_exception"
        | "action_request_validation_exception"
        | "invalid_index_name_exception"
        | "pattern_syntax_exception"
        | "parse_exception"
        | "x_content_parse_exception" => EngineErrorKind::BadRequest,
        _ => EngineErrorKind::Other(if kind_name.is_empty() { format!("http_{status}") } else { kind_name }),
    };
    EngineError::Api { status, kind, reason }
}

/// What a `repository_exception` says when the cluster cannot use the repository as registered
/// (the engines' `FsRepository`, `RepositoriesService` and `S3Repository` messages).
const UNUSABLE_REPOSITORY: [&str; 5] = [
    "failed to create repository",
    "doesn't match any of the locations specified by path.repo",
    "does not exist",
    "missing location",
    "No bucket defined",
];

fn protocol(what: &str) -> EngineError {
    EngineError::Protocol(format!("missing or malformed {what}"))
}

/// `GET /`.
pub fn root(body: &Value) -> Result<EngineInfo, EngineError> {
    let version = body.get("version").ok_or_else(|| {
        EngineError::Protocol("GET / has no version: not an Elasticsearch or OpenSearch endpoint".into())
    })?;
    let number = version.get("number").and_then(Value::as_str).ok_or_else(|| protocol("version.number"))?;
    let flavor = match version.get("distribution").and_then(Value::as_str) {
        Some("opensearch") => EngineFlavor::Opensearch,
        Some(other) => return Err(EngineError::Protocol(format!("unsupported distribution {other:?}"))),
        None => EngineFlavor::Elasticsearch,
    };
    let version = EngineVersion::parse(number).ok_or_else(|| protocol("version.number"))?;
    let supported = match flavor {
        EngineFlavor::Elasticsearch => version >= EngineVersion::new(6, 8, 0) && version.major <= 8,
        EngineFlavor::Opensearch => (1..=3).contains(&version.major),
        EngineFlavor::Postgres => false,
    };
    if !supported {
        return Err(EngineError::Protocol(format!(
            "{} {version} is not supported (Elasticsearch 6.8–8.x, OpenSearch 1.x–3.x)",
            flavor.as_str()
        )));
    }
    let cluster_name = body.get("cluster_name").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(EngineInfo { flavor, version, cluster_name })
}

/// A repository as `GET _snapshot/{name}` shows it: its type and settings, every value as the
/// string the engine keeps (`"compress": "true"`, `"max_snapshot_bytes_per_sec": "40mb"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub kind: String,
    pub settings: BTreeMap<String, String>,
}

/// Settings that only throttle; every other setting says where and how the repository is kept.
const THROTTLES: [&str; 2] = ["max_snapshot_bytes_per_sec", "max_restore_bytes_per_sec"];

impl Registration {
    /// What snapkeep would register: JSON values as the engines keep them (strings).
    pub fn of(spec: &RepositorySpec) -> Self {
        let settings = spec.settings.iter().map(|(k, v)| (k.clone(), setting_text(v))).collect();
        Self { kind: spec.kind.clone(), settings }
    }

    /// The same type and settings apart from the throttles.
    pub fn same_place(&self, other: &Self) -> bool {
        self.kind == other.kind && self.place().eq(other.place())
    }

    fn place(&self) -> impl Iterator<Item = (&String, &String)> {
        self.settings.iter().filter(|(k, _)| !THROTTLES.contains(&k.as_str()))
    }
}

/// The repository `name` of a `GET _snapshot/{name}` answer.
pub fn registration(body: &Value, name: &str) -> Result<Registration, EngineError> {
    let entry = body.get(name).ok_or_else(|| protocol("repository in the answer"))?;
    let kind = entry.get("type").and_then(Value::as_str).ok_or_else(|| protocol("repository type"))?;
    let settings = entry.get("settings").and_then(Value::as_object).into_iter().flatten();
    Ok(Registration { kind: kind.to_owned(), settings: settings.map(|(k, v)| (k.clone(), setting_text(v))).collect() })
}

/// A setting's value as the engines keep it: strings as they are, anything else in JSON.
fn setting_text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// One SnapshotInfo object.
pub fn snapshot_info(v: &Value) -> Result<SnapshotInfo, EngineError> {
    let state_name = v.get("state").and_then(Value::as_str).ok_or_else(|| protocol("snapshot state"))?;
    let state = SnapshotState::parse(state_name)
        .ok_or_else(|| EngineError::Protocol(format!("unknown snapshot state {state_name:?}")))?;
    let shards = v.get("shards");
    let count = |key: &str| shards.and_then(|s| s.get(key)).and_then(Value::as_u64).unwrap_or(0) as u32;
    let millis = |key: &str| v.get(key).and_then(Value::as_i64).filter(|ms| *ms > 0);
    Ok(SnapshotInfo {
        name: v.get("snapshot").and_then(Value::as_str).ok_or_else(|| protocol("snapshot name"))?.to_owned(),
        uuid: v.get("uuid").and_then(Value::as_str).map(str::to_owned),
        version: v.get("version").and_then(Value::as_str).map(str::to_owned),
        state,
        indices: v
            .get("indices")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        total_shards: count("total"),
        failed_shards: count("failed"),
        start_time_ms: millis("start_time_in_millis"),
        end_time_ms: millis("end_time_in_millis"),
        reason: v.get("reason").and_then(Value::as_str).map(str::to_owned),
    })
}

/// The snapshots list of a `GET _snapshot/{repo}/{names}` answer. Elasticsearch 7.14+ answers a
/// missing repository with 200 and the error under `failures.{repo}`: that is the error.
fn snapshot_list(body: &Value) -> Result<&Vec<Value>, EngineError> {
    if let Some(failure) = body.get("failures").and_then(Value::as_object).and_then(listing_failure) {
        return Err(failure);
    }
    body.get("snapshots").and_then(Value::as_array).ok_or_else(|| protocol("snapshots list"))
}

/// The first of a snapshot list's `failures` (by repository), as the error it reports.
fn listing_failure(failures: &serde_json::Map<String, Value>) -> Option<EngineError> {
    let failure = failures.values().next()?;
    let text = |key: &str| failure.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(ListingFailure { kind: text("type"), reason: text("reason") }.into())
}

/// A repository's entry under a snapshot list's `failures`.
#[derive(Debug, Default, Deserialize)]
struct ListingFailure {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

impl From<ListingFailure> for EngineError {
    fn from(failure: ListingFailure) -> Self {
        let status = if failure.kind == "repository_missing_exception" { 404 } else { 500 };
        typed(status, failure.kind, failure.reason)
    }
}

/// The one snapshot of a `GET _snapshot/{repo}/{name}` answer.
pub fn single_snapshot(body: &Value, name: &str) -> Result<Option<SnapshotInfo>, EngineError> {
    let list = snapshot_list(body)?;
    list.iter().map(snapshot_info).find(|s| s.as_ref().map_or(true, |s| s.name == name)).transpose()
}

/// The most snapshot names a list may hold (about 100 MB of names at most); a longer list is
/// refused.
pub const MAX_LISTED_SNAPSHOTS: usize = 1_000_000;

/// What snapkeep reads of a `GET _snapshot/{repo}/{names}` answer when it wants only names:
/// each snapshot's name, and the first of the `failures` Elasticsearch 7.14+ reports a missing
/// repository in. Deserialised as the answer streams in, everything else (indices, shards,
/// metadata, further failures) is skipped, so a list costs the memory of its names, at most
/// `MAX_LISTED_SNAPSHOTS` of them.
#[derive(Debug, Deserialize)]
pub struct SnapshotNames {
    #[serde(default, deserialize_with = "bounded_names")]
    snapshots: Option<Vec<String>>,
    #[serde(default, deserialize_with = "first_failure")]
    failures: Option<ListingFailure>,
}

#[derive(Debug, Deserialize)]
struct NamedSnapshot {
    snapshot: String,
}

impl SnapshotNames {
    /// The names listed, or the error the answer reports instead.
    pub fn names(self) -> Result<Vec<String>, EngineError> {
        if let Some(failure) = self.failures {
            return Err(failure.into());
        }
        self.snapshots.ok_or_else(|| protocol("snapshots list"))
    }
}

/// The names of a `snapshots` array, refused past `MAX_LISTED_SNAPSHOTS`.
fn bounded_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of snapshots")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(NamedSnapshot { snapshot }) = seq.next_element()? {
                if names.len() == MAX_LISTED_SNAPSHOTS {
                    return Err(de::Error::custom(format!("more than {MAX_LISTED_SNAPSHOTS} snapshots listed")));
                }
                names.push(snapshot);
            }
            Ok(Some(names))
        }
    }
    deserializer.deserialize_seq(Names)
}

/// The first entry of a `failures` object (`null` or `{}`: none); the others are skipped.
fn first_failure<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ListingFailure>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<ListingFailure>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("failures by repository")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let first = map.next_entry::<IgnoredAny, ListingFailure>()?.map(|(_, failure)| failure);
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_any(First)
}

/// Bytes and shards processed by a running snapshot in a `_status` answer, in either stats
/// layout (`stats.processed.size_in_bytes` since 7.4, `stats.processed_size_in_bytes` before);
/// an ended one (`SUCCESS`, `PARTIAL`) is all done, its total being its size.
pub fn status_progress(body: &Value, name: &str) -> Option<SnapshotProgress> {
    let entry =
        body.get("snapshots")?.as_array()?.iter().find(|s| s.get("snapshot").and_then(Value::as_str) == Some(name))?;
    let state = entry.get("state").and_then(Value::as_str).unwrap_or_default();
    let ended = matches!(state, "SUCCESS" | "PARTIAL");
    if !ended && !matches!(state, "STARTED" | "IN_PROGRESS" | "INIT") {
        return None;
    }
    let stats = entry.get("stats")?;
    // ES 7.4+ and OpenSearch nest `processed`/`total`; 6.x has flat `*_size_in_bytes`.
    let bytes = |nested: &str, flat: &str| {
        stats.get(nested).and_then(|p| p.get("size_in_bytes")).or_else(|| stats.get(flat)).and_then(Value::as_u64)
    };
    let shards = |field: &str| {
        entry.pointer(&format!("/shards_stats/{field}")).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
    };
    let (bytes_total, shards_total) =
        (bytes("total", "total_size_in_bytes").unwrap_or(0), shards("total").unwrap_or(0));
    Some(SnapshotProgress {
        bytes_done: if ended { bytes_total } else { bytes("processed", "processed_size_in_bytes").unwrap_or(0) },
        bytes_total,
        shards_done: if ended { shards_total } else { shards("done").unwrap_or(0) },
        shards_total,
    })
}

/// Every shard of a `_recovery` answer.
pub fn recovery(body: &Value) -> Result<Vec<ShardRecovery>, EngineError> {
    let indices = body.as_object().ok_or_else(|| protocol("recovery answer"))?;
    let mut out = Vec::new();
    for (index, entry) in indices {
        for shard in entry.get("shards").and_then(Value::as_array).into_iter().flatten() {
            let source = shard.get("source");
            let snapshot_source = (shard.get("type").and_then(Value::as_str) == Some("SNAPSHOT"))
                .then(|| {
                    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str).map(str::to_owned);
                    Some((field("repository")?, field("snapshot")?))
                })
                .flatten();
            out.push(ShardRecovery {
                index: index.clone(),
                shard: shard.get("id").and_then(Value::as_u64).unwrap_or(0) as u32,
                snapshot_source,
                stage: if shard.get("stage").and_then(Value::as_str) == Some("DONE") {
                    RecoveryStage::Done
                } else {
                    RecoveryStage::Running
                },
                recovered_bytes: shard.pointer("/index/size/recovered_in_bytes").and_then(Value::as_u64).unwrap_or(0),
                started_ms: shard.get("start_time_in_millis").and_then(Value::as_i64).unwrap_or(0),
            });
        }
    }
    Ok(out)
}

/// A row of `_cat/indices?format=json&h=index,status` (read as the answer streams in).
#[derive(Debug, Deserialize)]
pub struct CatIndex {
    index: String,
    status: Option<String>,
}

impl From<CatIndex> for IndexState {
    fn from(row: CatIndex) -> Self {
        Self { open: row.status.as_deref() != Some("close"), name: row.index }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_become_typed_kinds() {
        let body = br#"{"error":{"root_cause":[],"type":"snapshot_missing_exception","reason":"[r:s] is missing"},"status":404}"#;
        assert_eq!(
            error(404, body),
            EngineError::Api { status: 404, kind: EngineErrorKind::SnapshotMissing, reason: "[r:s] is missing".into() }
        );
        let busy = br#"{"error":{"type":"concurrent_snapshot_execution_exception","reason":"busy"},"status":503}"#;
        assert!(error(503, busy).is_transient());
        let readonly = br#"{"error":{"type":"repository_exception","reason":"[r] cannot modify a readonly repository: repository is readonly"},"status":500}"#;
        assert_eq!(error(500, readonly).kind(), Some(&EngineErrorKind::RepositoryReadonly));
        let proxy = b"<html>Bad Gateway</html>";
        let e = error(502, proxy);
        assert!(e.is_transient());
        assert!(e.to_string().contains("Bad Gateway"));
        assert_eq!(
            error(400, br#"{"error":"no handler found for uri"}"#).to_string(),
            "cluster answered 400 Other(\"http_400\"): no handler found for uri"
        );
    }

    /// One case per row of the table in the crate's documentation, with the engines' own bodies.
    #[test]
    fn every_engine_error_is_classified_as_the_table_says() {
        use EngineErrorKind as K;
        let body = |kind: &str, reason: &str| format!(r#"{{"error":{{"type":"{kind}","reason":"{reason}"}}}}"#);
        let rows: [(u16, String, K, bool); 24] = [
            (404, body("snapshot_missing_exception", "[r:s] is missing"), K::SnapshotMissing, false),
            (404, body("repository_missing_exception", "[r] missing"), K::RepositoryMissing, false),
            (404, body("index_not_found_exception", "no such index [x]"), K::IndexNotFound, false),
            (
                400,
                body("invalid_snapshot_name_exception", "[r:S] Invalid snapshot name [S], must be lowercase"),
                K::InvalidSnapshotName,
                false,
            ),
            (
                400,
                body("snapshot_name_already_in_use_exception", "[r:s] snapshot with the same name already exists"),
                K::SnapshotNameInUse,
                false,
            ),
            (
                503,
                body(
                    "concurrent_snapshot_execution_exception",
                    "[r:s] cannot delete - another snapshot is currently being deleted",
                ),
                K::Busy,
                true,
            ),
            (
                400,
                body("snapshot_in_progress_exception", "Cannot close indices that are being snapshotted: [[x]]"),
                K::Busy,
                true,
            ),
            (
                500,
                body("snapshot_restore_exception", "[r:s] Restore process is already running in this cluster"),
                K::Busy,
                true,
            ),
            (
                500,
                body(
                    "snapshot_restore_exception",
                    "[r:s] cannot restore index [x] because an open index with same name already exists in the cluster",
                ),
                K::SnapshotRestore,
                false,
            ),
            (
                500,
                body("repository_verification_exception", "[r] path  is not accessible on master node"),
                K::RepositoryVerification,
                false,
            ),
            (
                403,
                body("security_exception", "action [cluster:admin/snapshot/create] is unauthorized"),
                K::Security,
                false,
            ),
            (
                500,
                body("repository_exception", "[r] cannot create snapshot in a readonly repository"),
                K::RepositoryReadonly,
                false,
            ),
            (
                500,
                body("repository_exception", "[r] repository type [s3] does not exist"),
                K::RepositoryUnusable,
                false,
            ),
            (500, body("repository_exception", "[r] missing location"), K::RepositoryUnusable, false),
            (
                500,
                body("repository_exception", "[r] No bucket defined for s3 repository"),
                K::RepositoryUnusable,
                false,
            ),
            (
                500,
                body("illegal_state_exception", "trying to modify or unregister repository [r] that is currently used"),
                K::RepositoryInUse,
                true,
            ),
            (400, body("illegal_argument_exception", "[r] invalid rename pattern"), K::BadRequest, false),
            (500, body("index_out_of_bounds_exception", "No group 1"), K::BadRequest, false),
            (
                400,
                body("invalid_index_name_exception", "Invalid index name [_c], must not start with '_', '-', or '+'"),
                K::BadRequest,
                false,
            ),
            (400, body("pattern_syntax_exception", "Unclosed group near index 1"), K::BadRequest, false),
            (
                400,
                body("action_request_validation_exception", "Validation Failed: 1: indices patterns are empty;"),
                K::BadRequest,
                false,
            ),
            (
                500,
                body("repository_exception", "[r] could not read repository data from index blob"),
                K::Other("repository_exception".into()),
                true,
            ),
            (
                429,
                body("circuit_breaking_exception", "[parent] Data too large"),
                K::Other("circuit_breaking_exception".into()),
                true,
            ),
            (
                403,
                body("cluster_block_exception", "index [x] blocked by: [FORBIDDEN/8/index write (api)];"),
                K::Other("cluster_block_exception".into()),
                false,
            ),
        ];
        for (status, answer, kind, transient) in rows {
            let e = error(status, answer.as_bytes());
            assert_eq!((e.kind(), e.is_transient()), (Some(&kind), transient), "{answer}");
        }
        let gateway = error(502, b"<html>Bad Gateway</html>");
        assert_eq!((gateway.kind(), gateway.is_transient()), (Some(&K::Other("http_502".into())), true));
    }

    #[test]
    fn a_wrapped_cause_is_part_of_the_reason_and_decides_the_kind() {
        let outside = br#"{"error":{"root_cause":[{"type":"repository_exception","reason":"[x] location [/elsewhere] doesn't match any of the locations specified by path.repo"}],"type":"repository_exception","reason":"[x] failed to create repository","caused_by":{"type":"repository_exception","reason":"[x] location [/elsewhere] doesn't match any of the locations specified by path.repo"}},"status":500}"#;
        let e = error(500, outside);
        assert_eq!((e.kind(), e.is_transient()), (Some(&EngineErrorKind::RepositoryUnusable), false));
        assert!(e.to_string().ends_with(
            "[x] failed to create repository: [x] location [/elsewhere] doesn't match any of the locations specified by path.repo"
        ));
    }

    #[test]
    fn registrations_compare_as_the_engine_keeps_them() {
        let answer = json!({"r": {"type": "fs", "settings": {"location": "/repo/c", "compress": "true", "max_snapshot_bytes_per_sec": "40mb"}}});
        let registered = registration(&answer, "r").unwrap();
        let spec = |rate: &str| RepositorySpec {
            name: "r".into(),
            kind: "fs".into(),
            settings: json!({"location": "/repo/c", "compress": true, "max_snapshot_bytes_per_sec": rate})
                .as_object()
                .unwrap()
                .clone(),
            bucket: None,
        };
        assert_eq!(Registration::of(&spec("40mb")), registered, "booleans compare as the engine's strings");
        let throttled = Registration::of(&spec("1kb"));
        assert!(throttled != registered && throttled.same_place(&registered), "a throttle is not a new place");
        let mut moved = spec("40mb");
        moved.settings.insert("location".into(), json!("/repo/other"));
        assert!(!Registration::of(&moved).same_place(&registered));
        assert!(registration(&json!({}), "r").is_err());
        let in_use = br#"{"error":{"type":"illegal_state_exception","reason":"trying to modify or unregister repository that is currently used"},"status":500}"#;
        let e = error(500, in_use);
        assert_eq!(e.kind(), Some(&EngineErrorKind::RepositoryInUse));
        assert!(e.is_transient());
    }

    #[test]
    fn root_tells_flavor_and_refuses_what_is_not_a_search_engine() {
        let es = json!({"cluster_name":"c","version":{"number":"6.8.23","build_flavor":"default"}});
        assert_eq!(
            root(&es).unwrap(),
            EngineInfo {
                flavor: EngineFlavor::Elasticsearch,
                version: EngineVersion::new(6, 8, 23),
                cluster_name: "c".into()
            }
        );
        let os = json!({"version":{"distribution":"opensearch","number":"2.11.0"}});
        assert_eq!(root(&os).unwrap().flavor, EngineFlavor::Opensearch);
        assert!(root(&json!({"status":"ok"})).is_err());
        assert!(root(&json!({"version":{"number":"5.6.0"}})).is_err());
        assert!(root(&json!({"version":{"number":"9.0.0"}})).is_err());
        assert!(root(&json!({"version":{"distribution":"opensearch","number":"3.3.2"}})).is_ok());
        assert!(root(&json!({"version":{"distribution":"opensearch","number":"4.0.0"}})).is_err());
    }

    #[test]
    fn snapshot_info_in_progress_and_done() {
        let running = json!({"snapshots":[{"snapshot":"s","uuid":"u","state":"IN_PROGRESS","indices":["a"],"start_time_in_millis":5,"end_time_in_millis":0,"shards":{"total":0,"failed":0,"successful":0}}]});
        let info = single_snapshot(&running, "s").unwrap().unwrap();
        assert_eq!((info.state, info.end_time_ms, info.start_time_ms), (SnapshotState::InProgress, None, Some(5)));
        let partial = json!({"snapshot":"s","state":"PARTIAL","version":"7.10.2","indices":["a","b"],"shards":{"total":4,"failed":1,"successful":3},"end_time_in_millis":9});
        let info = snapshot_info(&partial).unwrap();
        assert_eq!(
            (info.state, info.total_shards, info.failed_shards, info.indices.len()),
            (SnapshotState::Partial, 4, 1, 2)
        );
        assert!(single_snapshot(&json!({"snapshots":[]}), "s").unwrap().is_none());
        let names = |body: &Value| serde_json::from_value::<SnapshotNames>(body.clone()).unwrap().names();
        assert_eq!(names(&running).unwrap(), vec!["s"]);
        assert!(names(&json!({})).is_err());
        assert!(
            serde_json::from_value::<SnapshotNames>(json!({"snapshots":[{"uuid":"u"}]})).is_err(),
            "a name is required"
        );
        let missing = json!({"snapshots":[],"failures":{"r":{"type":"repository_missing_exception","reason":"[r] missing"}},"total":0,"remaining":0});
        let e = single_snapshot(&missing, "s").unwrap_err();
        assert_eq!((e.kind(), e.is_transient()), (Some(&EngineErrorKind::RepositoryMissing), false));
        assert_eq!(names(&missing).unwrap_err().kind(), Some(&EngineErrorKind::RepositoryMissing));
        assert!(snapshot_info(&json!({"snapshot":"s","state":"WEIRD"})).is_err());
    }

    #[test]
    fn a_list_longer_than_the_bound_is_refused() {
        let list = |n: usize| format!("{{\"snapshots\":[{}]}}", vec![r#"{"snapshot":"s"}"#; n].join(","));
        let longest = serde_json::from_str::<SnapshotNames>(&list(MAX_LISTED_SNAPSHOTS)).unwrap();
        assert_eq!(longest.names().unwrap().len(), MAX_LISTED_SNAPSHOTS);
        let refused = serde_json::from_str::<SnapshotNames>(&list(MAX_LISTED_SNAPSHOTS + 1)).unwrap_err();
        assert!(refused.to_string().contains("more than 1000000 snapshots"), "{refused}");
    }

    #[test]
    fn status_progress_reads_both_layouts() {
        let new = json!({"snapshots":[{"snapshot":"s","state":"STARTED","shards_stats":{"done":1,"total":3},
            "stats":{"processed":{"size_in_bytes":42},"total":{"size_in_bytes":100}}}]});
        let expected = SnapshotProgress { bytes_done: 42, bytes_total: 100, shards_done: 1, shards_total: 3 };
        assert_eq!(status_progress(&new, "s"), Some(expected));
        let old = json!({"snapshots":[{"snapshot":"s","state":"STARTED","stats":{"processed_size_in_bytes":7,"total_size_in_bytes":9}}]});
        let expected = SnapshotProgress { bytes_done: 7, bytes_total: 9, shards_done: 0, shards_total: 0 };
        assert_eq!(status_progress(&old, "s"), Some(expected));
        assert_eq!(SnapshotProgress::parse_marker(&expected.marker()), Some(expected));
        assert_eq!(SnapshotProgress::parse_marker("12345"), None, "a marker of another kind");
        let done = json!({"snapshots":[{"snapshot":"s","state":"SUCCESS","shards_stats":{"done":3,"total":3},
            "stats":{"total":{"size_in_bytes":100}}}]});
        let all = SnapshotProgress { bytes_done: 100, bytes_total: 100, shards_done: 3, shards_total: 3 };
        assert_eq!(status_progress(&done, "s"), Some(all), "an ended snapshot is all done, at its size");
        let failed = json!({"snapshots":[{"snapshot":"s","state":"FAILED","stats":{}}]});
        assert_eq!(status_progress(&failed, "s"), None);
        assert_eq!(status_progress(&new, "other"), None);
    }

    #[test]
    fn recovery_and_cat_indices() {
        let body = json!({"x":{"shards":[
            {"id":0,"type":"SNAPSHOT","stage":"DONE","start_time_in_millis":10,"source":{"repository":"r","snapshot":"s","index":"a"},"index":{"size":{"recovered_in_bytes":5}}},
            {"id":1,"type":"EMPTY_STORE","stage":"INDEX","start_time_in_millis":3}
        ]}});
        let shards = recovery(&body).unwrap();
        assert_eq!(shards[0].snapshot_source, Some(("r".into(), "s".into())));
        assert_eq!((shards[0].stage, shards[0].recovered_bytes, shards[0].started_ms), (RecoveryStage::Done, 5, 10));
        assert_eq!((shards[1].snapshot_source.clone(), shards[1].stage), (None, RecoveryStage::Running));
        let cat = json!([{"index":"a","status":"open"},{"index":"b","status":"close"}]);
        let rows: Vec<CatIndex> = serde_json::from_value(cat).unwrap();
        assert_eq!(
            rows.into_iter().map(IndexState::from).collect::<Vec<_>>(),
            vec![IndexState { name: "a".into(), open: true }, IndexState { name: "b".into(), open: false }]
        );
    }
}
