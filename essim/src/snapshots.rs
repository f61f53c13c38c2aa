//! `_snapshot/{repo}/{snapshot}`: create, read, status, delete (with abort), restore and clone,
//! and the clock tick that moves running snapshots and restores forward at the configured rate.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use snapkeep_rename::{Rename, RenameError};

use crate::blobs::{Catalog, IndexBlob, ShardFailure, StoredSnapshot};
use crate::error::{EsError, EsResult};
use crate::repositories::{lookup, open_blobs, open_writable_blobs, read_catalog};
use crate::request::{Request, json_bool, json_list};
use crate::sim::{Recovery, RunningSnapshot, Sim, resolve_names};

const NAME_FORBIDDEN: &[char] = &['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' '];
const MAX_METADATA_BYTES: usize = 1024;

fn check_name(repo: &str, name: &str) -> EsResult<()> {
    let invalid = |why: &str| {
        EsError::new(
            400,
            "invalid_snapshot_name_exception",
            format!("[{repo}:{name}] Invalid snapshot name [{name}], {why}"),
        )
    };
    if name.is_empty() {
        return Err(invalid("cannot be empty"));
    }
    if name.starts_with('_') {
        return Err(invalid("must not start with '_'"));
    }
    if name.chars().any(char::is_uppercase) {
        return Err(invalid("must be lowercase"));
    }
    if name.contains(NAME_FORBIDDEN) {
        return Err(invalid("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #]"));
    }
    Ok(())
}

pub async fn create(sim: &std::sync::Mutex<Sim>, repo: &str, name: &str, req: &Request) -> EsResult<Value> {
    {
        let mut sim = sim.lock().expect("sim lock");
        start(&mut sim, repo, name, req)?;
    }
    if !req.flag("wait_for_completion", false) {
        return Ok(json!({"accepted": true}));
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let sim = sim.lock().expect("sim lock");
        if !sim.state.running.iter().any(|r| r.repository == repo && r.name == name) {
            let catalog = read_catalog(&sim, repo)?;
            let stored = catalog
                .snapshots
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| EsError::snapshot_missing(repo, name))?;
            return Ok(json!({"snapshot": render_stored(&sim, repo, stored)}));
        }
    }
}

fn start(sim: &mut Sim, repo: &str, name: &str, req: &Request) -> EsResult<()> {
    check_name(repo, name)?;
    let store = open_writable_blobs(sim, repo)?;
    let in_use = sim.profile.name_in_use_error();
    if sim.state.running.iter().any(|r| r.repository == repo && r.name == name) {
        return Err(EsError::new(
            400,
            in_use,
            format!(
                "[{repo}:{name}] Invalid snapshot name [{name}], snapshot with the same name is already in-progress"
            ),
        ));
    }
    if store.read_catalog()?.snapshots.iter().any(|s| s.name == name) {
        return Err(EsError::new(
            400,
            in_use,
            format!("[{repo}:{name}] Invalid snapshot name [{name}], snapshot with the same name already exists"),
        ));
    }
    if !sim.profile.concurrent_snapshots() && !sim.state.running.is_empty() {
        return Err(EsError::new(
            503,
            "concurrent_snapshot_execution_exception",
            format!("[{repo}:{name}] a snapshot is already running"),
        ));
    }
    let body = req.json()?;
    if body.get("metadata").is_some() && !sim.profile.snapshot_metadata() {
        return Err(EsError::new(400, "x_content_parse_exception", "[create_snapshot] unknown field [metadata]"));
    }
    if body.get("metadata").is_some_and(|m| m.to_string().len() > MAX_METADATA_BYTES) {
        return Err(EsError::bad_request(format!("metadata must be smaller than {MAX_METADATA_BYTES} bytes")));
    }
    let ignore_unavailable = json_bool(body.get("ignore_unavailable"), false);
    let indices = sim
        .resolve_indices(&json_list(body.get("indices")), ignore_unavailable)
        .map_err(|missing| EsError::index_not_found(&missing))?;
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let mut total_bytes = 0;
    let mut index_shards = BTreeMap::new();
    for index in &indices {
        let source = &sim.state.indices[index];
        let blob = IndexBlob { shards: source.shards, docs: source.docs.clone() };
        total_bytes += store.write_index_blob(&uuid, index, &blob)?;
        index_shards.insert(index.clone(), source.shards);
    }
    let faults = &sim.state.faults;
    sim.state.running.push(RunningSnapshot {
        repository: repo.to_owned(),
        name: name.to_owned(),
        uuid,
        indices,
        index_shards,
        total_bytes,
        done_bytes: 0,
        start_ms: Sim::now_ms(),
        metadata: body.get("metadata").cloned(),
        include_global_state: json_bool(body.get("include_global_state"), true),
        stuck: faults.stuck,
        failing_shards: faults.failed_shards,
    });
    sim.save();
    Ok(())
}

/// Moves running snapshots and restores forward by `elapsed_ms` at the simulator's rate.
pub fn tick(sim: &mut Sim, elapsed_ms: u64) {
    let budget = |throttle: Option<u64>| {
        let rate = throttle.map_or(sim.rate_bytes_per_sec, |t| t.min(sim.rate_bytes_per_sec));
        (rate.saturating_mul(elapsed_ms) / 1000).max(1)
    };
    let throttle = |repo: &str, key: &str| sim.state.repositories.get(repo).and_then(|r| r.throttle(key));
    let snapshot_budgets: Vec<u64> =
        sim.state.running.iter().map(|r| budget(throttle(&r.repository, "max_snapshot_bytes_per_sec"))).collect();
    let restore_budgets: BTreeMap<String, u64> = sim
        .state
        .indices
        .iter()
        .filter_map(|(name, i)| {
            Some((name.clone(), budget(throttle(&i.recovery.source.as_ref()?.0, "max_restore_bytes_per_sec"))))
        })
        .collect();
    let mut changed = false;
    let mut finished = Vec::new();
    for (i, running) in sim.state.running.iter_mut().enumerate() {
        if running.stuck {
            continue;
        }
        running.done_bytes = (running.done_bytes + snapshot_budgets[i]).min(running.total_bytes);
        changed = true;
        if running.done_bytes >= running.total_bytes {
            finished.push(i);
        }
    }
    for i in finished.into_iter().rev() {
        let running = sim.state.running.remove(i);
        if let Err(e) = finish(sim, running) {
            tracing::error!(error = %e.reason, "could not finish a snapshot");
        }
    }
    let now = Sim::now_ms();
    for (name, index) in sim.state.indices.iter_mut() {
        let recovery = &mut index.recovery;
        if recovery.is_done() || recovery.stuck {
            continue;
        }
        let budget = restore_budgets.get(name).copied().unwrap_or_else(|| budget(None));
        recovery.recovered_bytes = (recovery.recovered_bytes + budget).min(recovery.total_bytes);
        changed = true;
        if recovery.recovered_bytes >= recovery.total_bytes {
            index.docs = recovery.pending_docs.take().unwrap_or_default();
            recovery.stop_ms = Some(now);
        }
    }
    if changed {
        sim.save();
    }
}

/// Publishes a finished snapshot in its repository's catalog.
fn finish(sim: &Sim, running: RunningSnapshot) -> EsResult<()> {
    let store = open_blobs(sim, &running.repository)?;
    let mut failures = Vec::new();
    'outer: for (index, shards) in &running.index_shards {
        for shard_id in 0..*shards {
            if failures.len() as u32 >= running.failing_shards {
                break 'outer;
            }
            failures.push(ShardFailure {
                index: index.clone(),
                shard_id,
                reason: "IndexShardSnapshotFailedException[simulated shard failure]".into(),
            });
        }
    }
    let total: u32 = running.index_shards.values().sum();
    let state = match failures.len() as u32 {
        0 => "SUCCESS",
        n if n >= total => "FAILED",
        _ => "PARTIAL",
    };
    let stored = StoredSnapshot {
        name: running.name,
        uuid: running.uuid,
        state: state.to_owned(),
        indices: running.indices,
        index_shards: running.index_shards,
        failures,
        start_ms: running.start_ms,
        end_ms: Sim::now_ms(),
        version: sim.profile.version.clone(),
        version_id: sim.profile.version_id(),
        metadata: running.metadata,
        include_global_state: running.include_global_state,
        total_bytes: running.total_bytes,
    };
    let mut catalog = store.read_catalog()?;
    catalog.snapshots.push(stored);
    store.write_catalog(&catalog)
}

fn millis_to_iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn render_common(sim: &Sim, repo: &str, name: &str, uuid: &str, indices: &[String]) -> Value {
    let mut info = json!({
        "snapshot": name,
        "uuid": uuid,
        "version_id": sim.profile.version_id(),
        "version": sim.profile.version,
        "indices": indices,
        "data_streams": [],
    });
    if sim.profile.paginated_get() {
        info["repository"] = json!(repo);
    }
    info
}

fn render_stored(sim: &Sim, repo: &str, s: &StoredSnapshot) -> Value {
    let mut info = render_common(sim, repo, &s.name, &s.uuid, &s.indices);
    let total = s.total_shards();
    let failed = s.failures.len() as u32;
    let extra = json!({
        "include_global_state": s.include_global_state,
        "state": s.state,
        "start_time": millis_to_iso(s.start_ms),
        "start_time_in_millis": s.start_ms,
        "end_time": millis_to_iso(s.end_ms),
        "end_time_in_millis": s.end_ms,
        "duration_in_millis": s.end_ms - s.start_ms,
        "failures": s.failures.iter().map(|f| json!({"index": f.index, "index_uuid": f.index, "shard_id": f.shard_id, "reason": f.reason, "node_id": "essim-node-1", "status": "INTERNAL_SERVER_ERROR"})).collect::<Vec<_>>(),
        "shards": {"total": total, "failed": failed, "successful": total - failed},
    });
    merge(&mut info, extra);
    if s.state == "FAILED" {
        info["reason"] = json!("all shards failed");
    }
    if let Some(metadata) = &s.metadata {
        info["metadata"] = metadata.clone();
    }
    info
}

fn render_running(sim: &Sim, r: &RunningSnapshot) -> Value {
    let mut info = render_common(sim, &r.repository, &r.name, &r.uuid, &r.indices);
    merge(
        &mut info,
        json!({
            "include_global_state": r.include_global_state,
            "state": "IN_PROGRESS",
            "start_time": millis_to_iso(r.start_ms),
            "start_time_in_millis": r.start_ms,
            "end_time_in_millis": 0,
            "duration_in_millis": Sim::now_ms() - r.start_ms,
            "failures": [],
            "shards": {"total": 0, "failed": 0, "successful": 0},
        }),
    );
    if let Some(metadata) = &r.metadata {
        info["metadata"] = metadata.clone();
    }
    info
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(e)) = (target, extra) {
        t.extend(e);
    }
}

pub fn get(sim: &Sim, repo: &str, expr: &str, req: &Request) -> EsResult<Value> {
    // `_current` is answered from the running snapshots alone: the repository's data is not read.
    let listed =
        if expr == "_current" { lookup(sim, repo).map(|_| Catalog::default()) } else { read_catalog(sim, repo) };
    let catalog = match listed {
        // Since 7.14 a missing repository is a failure inside a 200 answer (several may be asked).
        Err(e) if sim.profile.paginated_get() && e.kind == "repository_missing_exception" => {
            let failure = json!({"type": e.kind, "reason": e.reason});
            return Ok(json!({"snapshots": [], "failures": {repo: failure}, "total": 0, "remaining": 0}));
        }
        other => other?,
    };
    let running: Vec<&RunningSnapshot> = sim.state.running.iter().filter(|r| r.repository == repo).collect();
    let mut rendered = Vec::new();
    if expr == "_current" {
        rendered.extend(running.iter().map(|r| render_running(sim, r)));
    } else {
        let mut names: Vec<String> = catalog.snapshots.iter().map(|s| s.name.clone()).collect();
        names.extend(running.iter().map(|r| r.name.clone()));
        let selected = resolve_names(&names, expr, req.flag("ignore_unavailable", false))
            .map_err(|missing| EsError::snapshot_missing(repo, &missing))?;
        for name in selected {
            match catalog.snapshots.iter().find(|s| s.name == name) {
                Some(stored) => rendered.push(render_stored(sim, repo, stored)),
                None => rendered.extend(running.iter().filter(|r| r.name == name).map(|r| render_running(sim, r))),
            }
        }
    }
    let total = rendered.len();
    let mut body = json!({"snapshots": rendered});
    if sim.profile.paginated_get() {
        body["total"] = json!(total);
        body["remaining"] = json!(0);
    }
    Ok(body)
}

pub fn status(sim: &Sim, repo: Option<&str>, expr: Option<&str>, req: &Request) -> EsResult<Value> {
    let running = sim.state.running.iter().filter(|r| repo.is_none_or(|repo| r.repository == repo));
    let (Some(repo), Some(expr)) = (repo, expr) else {
        if let Some(repo) = repo {
            lookup(sim, repo)?;
        }
        return Ok(json!({"snapshots": running.map(|r| running_status(sim, r)).collect::<Vec<_>>()}));
    };
    let running: Vec<&RunningSnapshot> = running.collect();
    let catalog = read_catalog(sim, repo)?;
    let mut out = Vec::new();
    for name in expr.split(',') {
        if let Some(r) = running.iter().find(|r| r.name == name) {
            out.push(running_status(sim, r));
        } else if let Some(s) = catalog.snapshots.iter().find(|s| s.name == name) {
            out.push(render_status(
                sim,
                repo,
                name,
                &s.uuid,
                &s.state,
                &s.index_shards,
                s.failures.len() as u32,
                s.total_bytes,
                s.total_bytes,
                s.start_ms,
                false,
            ));
        } else if !req.flag("ignore_unavailable", false) {
            return Err(EsError::snapshot_missing(repo, name));
        }
    }
    Ok(json!({"snapshots": out}))
}

fn running_status(sim: &Sim, r: &RunningSnapshot) -> Value {
    render_status(
        sim,
        &r.repository,
        &r.name,
        &r.uuid,
        "STARTED",
        &r.index_shards,
        0,
        r.total_bytes,
        r.done_bytes,
        r.start_ms,
        true,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_status(
    sim: &Sim,
    repo: &str,
    name: &str,
    uuid: &str,
    state: &str,
    index_shards: &BTreeMap<String, u32>,
    failed: u32,
    total_bytes: u64,
    done_bytes: u64,
    start_ms: i64,
    running: bool,
) -> Value {
    let total: u32 = index_shards.values().sum();
    let files = index_shards.len() as u64;
    let done_files = if running { files * done_bytes / total_bytes.max(1) } else { files };
    let elapsed = Sim::now_ms() - start_ms;
    let stats = if sim.profile.structured_status_stats() {
        let mut stats = json!({
            "incremental": {"file_count": files, "size_in_bytes": total_bytes},
            "total": {"file_count": files, "size_in_bytes": total_bytes},
            "start_time_in_millis": start_ms,
            "time_in_millis": elapsed,
        });
        if running {
            stats["processed"] = json!({"file_count": done_files, "size_in_bytes": done_bytes});
        }
        stats
    } else {
        json!({
            "number_of_files": files, "processed_files": done_files,
            "total_size_in_bytes": total_bytes, "processed_size_in_bytes": done_bytes,
            "start_time_in_millis": start_ms, "time_in_millis": elapsed,
        })
    };
    let done_shards = if running { 0 } else { total - failed };
    let started = if running { total } else { 0 };
    let indices: serde_json::Map<String, Value> = index_shards
        .iter()
        .map(|(index, shards)| (index.clone(), json!({"shards_stats": {"total": shards}})))
        .collect();
    json!({
        "snapshot": name, "repository": repo, "uuid": uuid, "state": state,
        "include_global_state": true,
        "shards_stats": {"initializing": 0, "started": started, "finalizing": 0, "done": done_shards, "failed": failed, "total": total},
        "stats": stats,
        "indices": indices,
    })
}

pub fn delete(sim: &mut Sim, repo: &str, expr: &str) -> EsResult<Value> {
    let store = open_writable_blobs(sim, repo)?;
    let mut catalog = store.read_catalog()?;
    let names: Vec<String> = if sim.profile.multi_delete() {
        let mut all: Vec<String> = catalog.snapshots.iter().map(|s| s.name.clone()).collect();
        all.extend(sim.state.running.iter().filter(|r| r.repository == repo).map(|r| r.name.clone()));
        resolve_names(&all, expr, false).map_err(|missing| EsError::snapshot_missing(repo, &missing))?
    } else {
        let exists = catalog.snapshots.iter().any(|s| s.name == expr)
            || sim.state.running.iter().any(|r| r.repository == repo && r.name == expr);
        if !exists {
            return Err(EsError::snapshot_missing(repo, expr));
        }
        vec![expr.to_owned()]
    };
    if !sim.profile.concurrent_snapshots() && sim.state.running.iter().any(|r| !names.contains(&r.name)) {
        return Err(EsError::new(
            503,
            "concurrent_snapshot_execution_exception",
            format!("[{repo}:{expr}] cannot delete - another snapshot is currently being created"),
        ));
    }
    for name in &names {
        if let Some(at) = sim.state.running.iter().position(|r| r.repository == repo && &r.name == name) {
            let aborted = sim.state.running.remove(at);
            store.remove_snapshot_blobs(&aborted.uuid)?;
        }
        if let Some(at) = catalog.snapshots.iter().position(|s| &s.name == name) {
            let removed = catalog.snapshots.remove(at);
            store.remove_snapshot_blobs(&removed.uuid)?;
        }
    }
    store.write_catalog(&catalog)?;
    sim.save();
    Ok(json!({"acknowledged": true}))
}

pub async fn restore(sim: &std::sync::Mutex<Sim>, repo: &str, name: &str, req: &Request) -> EsResult<Value> {
    let targets = {
        let mut sim = sim.lock().expect("sim lock");
        start_restore(&mut sim, repo, name, req)?
    };
    if !req.flag("wait_for_completion", false) {
        return Ok(json!({"accepted": true}));
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let sim = sim.lock().expect("sim lock");
        let done = targets.iter().all(|t| sim.state.indices.get(t).is_none_or(|i| i.recovery.is_done()));
        if done {
            let shards: u32 = targets.iter().filter_map(|t| sim.state.indices.get(t)).map(|i| i.shards).sum();
            return Ok(
                json!({"snapshot": {"snapshot": name, "indices": targets, "shards": {"total": shards, "failed": 0, "successful": shards}}}),
            );
        }
    }
}

fn start_restore(sim: &mut Sim, repo: &str, name: &str, req: &Request) -> EsResult<Vec<String>> {
    let catalog = read_catalog(sim, repo)?;
    let snapshot =
        catalog.snapshots.iter().find(|s| s.name == name).ok_or_else(|| EsError::snapshot_missing(repo, name))?;
    let fail = |reason: String| {
        EsError::new(500, "snapshot_restore_exception", format!("[{repo}:{name}/{}] {reason}", snapshot.uuid))
    };
    if snapshot.state == "FAILED" || snapshot.state == "INCOMPATIBLE" {
        return Err(fail(format!("unsupported snapshot state [{}]", snapshot.state)));
    }
    let body = req.json()?;
    let selected = resolve_names(
        &snapshot.indices,
        &json_list(body.get("indices")),
        json_bool(body.get("ignore_unavailable"), false),
    )
    .map_err(|missing| fail(format!("indices [{missing}] missing")))?;
    let partial = json_bool(body.get("partial"), false);
    if let Some(broken) = selected.iter().find(|i| snapshot.failed_indices().contains(&i.as_str()))
        && !partial
    {
        return Err(fail(format!("index [{broken}] wasn't fully snapshotted - cannot restore")));
    }
    let rename = rename_rule(&body)?;
    let mut mapping: Vec<(String, String)> = Vec::new();
    for index in &selected {
        let target = match &rename {
            Some(rename) => rename.apply(index).map_err(rename_error)?,
            None => index.clone(),
        };
        crate::indices::check_index_name(&target)?;
        if let Some((other, _)) = mapping.iter().find(|(_, t)| *t == target) {
            return Err(fail(format!("indices [{other}] and [{index}] are renamed into the same index [{target}]")));
        }
        if let Some(existing) = sim.state.indices.get(&target) {
            if existing.open {
                return Err(fail(format!(
                    "cannot restore index [{target}] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name"
                )));
            }
            let shards = snapshot.index_shards.get(index).copied().unwrap_or(1);
            if existing.shards != shards {
                return Err(fail(format!(
                    "cannot restore index [{target}] with [{}] shards from a snapshot of index [{index}] with [{shards}] shards",
                    existing.shards
                )));
            }
        }
        mapping.push((index.clone(), target));
    }
    let now = Sim::now_ms();
    let restore_uuid = uuid::Uuid::new_v4().simple().to_string();
    let stuck = sim.state.faults.stuck;
    let store = open_blobs(sim, repo)?;
    for (index, target) in &mapping {
        let (blob, bytes) = store.read_index_blob(&snapshot.uuid, index)?;
        let recovery = Recovery {
            source: Some((repo.to_owned(), name.to_owned(), index.clone())),
            restore_uuid: Some(restore_uuid.clone()),
            total_bytes: bytes,
            recovered_bytes: 0,
            start_ms: now,
            stop_ms: None,
            pending_docs: Some(blob.docs),
            stuck,
        };
        let replicas = sim.state.indices.get(target).map_or(0, |i| i.replicas);
        sim.state.indices.insert(
            target.clone(),
            crate::sim::Index {
                uuid: uuid::Uuid::new_v4().simple().to_string(),
                shards: blob.shards,
                replicas,
                open: true,
                docs: BTreeMap::new(),
                recovery,
            },
        );
    }
    sim.save();
    Ok(mapping.into_iter().map(|(_, target)| target).collect())
}

/// The engines' rename rule (`snapkeep_rename`), when both halves are given.
fn rename_rule(body: &Value) -> EsResult<Option<Rename>> {
    let pattern = body.get("rename_pattern").and_then(Value::as_str);
    let replacement = body.get("rename_replacement").and_then(Value::as_str);
    let (Some(pattern), Some(replacement)) = (pattern, replacement) else { return Ok(None) };
    Rename::new(pattern, replacement).map(Some).map_err(rename_error)
}

/// A rename failure as the engines answer it: Java's exception type and message.
fn rename_error(e: RenameError) -> EsError {
    match e {
        RenameError::Pattern(_) => EsError::new(400, "pattern_syntax_exception", e.to_string()),
        RenameError::NoGroup(_) => EsError::new(500, "index_out_of_bounds_exception", e.to_string()),
        RenameError::Replacement(_) => EsError::bad_request(e.to_string()),
    }
}

pub fn clone(sim: &mut Sim, repo: &str, source: &str, target: &str, req: &Request) -> EsResult<Value> {
    if !sim.profile.clone_api() {
        return Err(EsError::bad_request(format!(
            "no handler found for uri [/_snapshot/{repo}/{source}/_clone/{target}] and method [PUT]"
        )));
    }
    check_name(repo, target)?;
    let store = open_writable_blobs(sim, repo)?;
    let body = req.json()?;
    let Some(expr) = body.get("indices").map(|v| json_list(Some(v))) else {
        return Err(EsError::new(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: indices patterns are empty;",
        ));
    };
    let mut catalog = store.read_catalog()?;
    if catalog.snapshots.iter().any(|s| s.name == target) {
        return Err(EsError::new(
            400,
            sim.profile.name_in_use_error(),
            format!("[{repo}:{target}] Invalid snapshot name [{target}], snapshot with the same name already exists"),
        ));
    }
    let original = catalog
        .snapshots
        .iter()
        .find(|s| s.name == source)
        .cloned()
        .ok_or_else(|| EsError::snapshot_missing(repo, source))?;
    let indices =
        resolve_names(&original.indices, &expr, false).map_err(|missing| EsError::index_not_found(&missing))?;
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let mut total_bytes = 0;
    for index in &indices {
        let (blob, _) = store.read_index_blob(&original.uuid, index)?;
        total_bytes += store.write_index_blob(&uuid, index, &blob)?;
    }
    let now = Sim::now_ms();
    catalog.snapshots.push(StoredSnapshot {
        name: target.to_owned(),
        uuid,
        index_shards: original
            .index_shards
            .iter()
            .filter(|(i, _)| indices.contains(i))
            .map(|(i, s)| (i.clone(), *s))
            .collect(),
        failures: original.failures.iter().filter(|f| indices.contains(&f.index)).cloned().collect(),
        indices,
        start_ms: now,
        end_ms: now,
        total_bytes,
        ..original
    });
    store.write_catalog(&catalog)?;
    Ok(json!({"acknowledged": true}))
}
