//! The index API, enough to put data in and check it: create, delete, open/close, documents,
//! `_bulk`, `_count`, `_search` (match_all), `_cat/indices` and `_recovery`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::request::Request;
use crate::sim::{Index, Recovery, Sim};

/// The engines' index name rule, refused with their messages.
pub fn check_index_name(name: &str) -> EsResult<()> {
    let why = if name.is_empty() {
        "must not be empty".to_owned()
    } else if let Some(c) = name.chars().find(|c| "\\/*?\"<>| ,#:".contains(*c)) {
        format!("must not contain '{c}'")
    } else if name.chars().any(char::is_uppercase) {
        "must be lowercase".to_owned()
    } else if name.starts_with(['_', '-', '+']) {
        "must not start with '_', '-', or '+'".to_owned()
    } else {
        return Ok(());
    };
    Err(EsError::new(400, "invalid_index_name_exception", format!("Invalid index name [{name}], {why}")))
}

fn new_index(shards: u32, replicas: u32) -> Index {
    Index {
        uuid: uuid::Uuid::new_v4().simple().to_string(),
        shards,
        replicas,
        open: true,
        docs: BTreeMap::new(),
        recovery: Recovery::empty_store(Sim::now_ms()),
    }
}

fn setting(body: &Value, key: &str) -> Option<u32> {
    let settings = body.get("settings")?;
    let value = settings
        .get(key)
        .or_else(|| settings.get("index").and_then(|i| i.get(key)))
        .or_else(|| settings.get(format!("index.{key}")))?;
    value.as_u64().map(|v| v as u32).or_else(|| value.as_str()?.parse().ok())
}

pub fn create(sim: &mut Sim, name: &str, req: &Request) -> EsResult<Value> {
    check_index_name(name)?;
    if sim.state.indices.contains_key(name) {
        return Err(EsError::new(
            400,
            "resource_already_exists_exception",
            format!("index [{name}/{}] already exists", sim.state.indices[name].uuid),
        ));
    }
    let body = req.json()?;
    let shards = setting(&body, "number_of_shards").unwrap_or_else(|| sim.profile.default_shards());
    let replicas = setting(&body, "number_of_replicas").unwrap_or(1);
    let index = new_index(shards, replicas);
    sim.state.indices.insert(name.to_owned(), index);
    sim.save();
    Ok(json!({"acknowledged": true, "shards_acknowledged": true, "index": name}))
}

fn existing(sim: &Sim, expr: &str) -> EsResult<Vec<String>> {
    sim.resolve_indices(expr, false).map_err(|missing| EsError::index_not_found(&missing))
}

pub fn delete(sim: &mut Sim, expr: &str) -> EsResult<Value> {
    for name in existing(sim, expr)? {
        sim.state.indices.remove(&name);
    }
    sim.save();
    Ok(json!({"acknowledged": true}))
}

pub fn get(sim: &Sim, expr: &str) -> EsResult<Value> {
    let mut out = Map::new();
    for name in existing(sim, expr)? {
        let index = &sim.state.indices[&name];
        out.insert(
            name,
            json!({"aliases": {}, "mappings": {}, "settings": {"index": {
                "number_of_shards": index.shards.to_string(),
                "number_of_replicas": index.replicas.to_string(),
                "uuid": index.uuid,
                "verified_before_close": (!index.open).to_string(),
            }}}),
        );
    }
    Ok(Value::Object(out))
}

pub fn set_open(sim: &mut Sim, expr: &str, open: bool) -> EsResult<Value> {
    let names = existing(sim, expr)?;
    let mut report = Map::new();
    for name in &names {
        let index = sim.state.indices.get_mut(name).expect("resolved");
        if !index.recovery.is_done() && !open {
            return Err(EsError::new(
                400,
                "illegal_argument_exception",
                format!("Cannot close index [{name}] while it is being restored"),
            ));
        }
        index.open = open;
        report.insert(name.clone(), json!({"closed": !open}));
    }
    sim.save();
    Ok(if open {
        json!({"acknowledged": true, "shards_acknowledged": true})
    } else {
        json!({"acknowledged": true, "shards_acknowledged": true, "indices": report})
    })
}

fn writable_index<'a>(sim: &'a mut Sim, name: &str) -> EsResult<&'a mut Index> {
    check_index_name(name)?;
    if !sim.state.indices.contains_key(name) {
        let index = new_index(sim.profile.default_shards(), 1);
        sim.state.indices.insert(name.to_owned(), index);
    }
    let index = sim.state.indices.get_mut(name).expect("just ensured");
    if !index.open {
        return Err(EsError::new(400, "index_closed_exception", format!("closed index [{name}]")));
    }
    Ok(index)
}

pub fn put_doc(sim: &mut Sim, index: &str, id: Option<&str>, req: &Request) -> EsResult<(u16, Value)> {
    let body = req.json()?;
    let id = id.map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let created = writable_index(sim, index)?.docs.insert(id.clone(), body).is_none();
    sim.save();
    let result = if created { "created" } else { "updated" };
    Ok((if created { 201 } else { 200 }, json!({"_index": index, "_id": id, "result": result, "_version": 1})))
}

pub fn get_doc(sim: &Sim, index: &str, id: &str) -> EsResult<(u16, Value)> {
    let idx = sim.state.indices.get(index).ok_or_else(|| EsError::index_not_found(index))?;
    Ok(match idx.docs.get(id) {
        Some(source) => (200, json!({"_index": index, "_id": id, "found": true, "_source": source})),
        None => (404, json!({"_index": index, "_id": id, "found": false})),
    })
}

pub fn delete_doc(sim: &mut Sim, index: &str, id: &str) -> EsResult<(u16, Value)> {
    let idx = sim.state.indices.get_mut(index).ok_or_else(|| EsError::index_not_found(index))?;
    let found = idx.docs.remove(id).is_some();
    sim.save();
    Ok((
        if found { 200 } else { 404 },
        json!({"_index": index, "_id": id, "result": if found { "deleted" } else { "not_found" }}),
    ))
}

/// NDJSON `_bulk` with index, create and delete actions.
pub fn bulk(sim: &mut Sim, default_index: Option<&str>, req: &Request) -> EsResult<Value> {
    let text = String::from_utf8_lossy(&req.body);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut items = Vec::new();
    let mut errors = false;
    while let Some(line) = lines.next() {
        let action: Value =
            serde_json::from_str(line).map_err(|e| EsError::new(400, "parse_exception", e.to_string()))?;
        let (op, meta) = action
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| EsError::bad_request("Malformed action/metadata line"))?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(default_index)
            .ok_or_else(|| EsError::bad_request("index is missing"))?
            .to_owned();
        let id = meta.get("_id").and_then(Value::as_str).map(str::to_owned);
        let outcome = match op.as_str() {
            "index" | "create" => {
                let source: Value = serde_json::from_str(lines.next().unwrap_or("{}"))
                    .map_err(|e| EsError::new(400, "parse_exception", e.to_string()))?;
                let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
                writable_index(sim, &index).map(|idx| {
                    let created = idx.docs.insert(id.clone(), source).is_none();
                    (id, if created { 201 } else { 200 })
                })
            }
            "delete" => {
                let id = id.unwrap_or_default();
                writable_index(sim, &index).map(|idx| {
                    let found = idx.docs.remove(&id).is_some();
                    (id, if found { 200 } else { 404 })
                })
            }
            other => {
                return Err(EsError::bad_request(format!(
                    "Malformed action/metadata line, expected one of [create, delete, index, update] but found [{other}]"
                )));
            }
        };
        match outcome {
            Ok((id, status)) => items.push(json!({op.clone(): {"_index": index, "_id": id, "status": status}})),
            Err(e) => {
                errors = true;
                items.push(json!({op.clone(): {"_index": index, "status": e.status.as_u16(), "error": {"type": e.kind, "reason": e.reason}}}));
            }
        }
    }
    sim.save();
    Ok(json!({"took": 1, "errors": errors, "items": items}))
}

fn searchable<'a>(sim: &'a Sim, expr: &str) -> EsResult<Vec<(&'a String, &'a Index)>> {
    let names = existing(sim, expr)?;
    names
        .iter()
        .map(|name| {
            let (key, index) = sim.state.indices.get_key_value(name).expect("resolved");
            if index.open {
                Ok((key, index))
            } else {
                Err(EsError::new(400, "index_closed_exception", format!("closed index [{name}]")))
            }
        })
        .collect()
}

pub fn count(sim: &Sim, expr: &str) -> EsResult<Value> {
    let indices = searchable(sim, expr)?;
    let count: usize = indices.iter().map(|(_, i)| i.docs.len()).sum();
    let shards: u32 = indices.iter().map(|(_, i)| i.shards).sum();
    Ok(json!({"count": count, "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0}}))
}

pub fn search(sim: &Sim, expr: &str, req: &Request) -> EsResult<Value> {
    let indices = searchable(sim, expr)?;
    let body = req.json()?;
    let size = req
        .query
        .get("size")
        .and_then(|s| s.parse().ok())
        .or_else(|| body.get("size").and_then(Value::as_u64))
        .unwrap_or(10) as usize;
    let total: usize = indices.iter().map(|(_, i)| i.docs.len()).sum();
    let hits: Vec<Value> = indices
        .iter()
        .flat_map(|(name, index)| {
            index
                .docs
                .iter()
                .map(move |(id, source)| json!({"_index": name, "_id": id, "_score": 1.0, "_source": source}))
        })
        .take(size)
        .collect();
    let shards: u32 = indices.iter().map(|(_, i)| i.shards).sum();
    Ok(
        json!({"took": 1, "timed_out": false, "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": 1.0, "hits": hits}}),
    )
}

/// `_cat/indices`: a JSON array with `format=json`, else plain text rows.
pub fn cat(sim: &Sim, expr: Option<&str>, req: &Request) -> EsResult<Value> {
    let names = existing(sim, expr.unwrap_or("_all"))?;
    let rows: Vec<Value> = names
        .iter()
        .map(|name| {
            let i = &sim.state.indices[name];
            let size = serde_json::to_vec(&i.docs).map_or(0, |b| b.len());
            json!({
                "health": if i.open { "green" } else { "red" },
                "status": if i.open { "open" } else { "close" },
                "index": name, "uuid": i.uuid,
                "pri": i.shards.to_string(), "rep": i.replicas.to_string(),
                "docs.count": if i.open { Value::String(i.docs.len().to_string()) } else { Value::Null },
                "docs.deleted": "0",
                "store.size": format!("{size}b"), "pri.store.size": format!("{size}b"),
            })
        })
        .collect();
    let columns: Option<Vec<&str>> = req.query.get("h").map(|h| h.split(',').collect());
    let rows: Vec<Value> = match &columns {
        None => rows,
        Some(cols) => rows
            .into_iter()
            .map(|r| {
                Value::Object(cols.iter().filter_map(|c| r.get(*c).map(|v| ((*c).to_owned(), v.clone()))).collect())
            })
            .collect(),
    };
    if req.query.get("format").map(String::as_str) == Some("json") {
        return Ok(Value::Array(rows));
    }
    let text: String = rows
        .iter()
        .map(|r| {
            r.as_object()
                .map(|o| {
                    o.values()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
                + "\n"
        })
        .collect();
    Ok(Value::String(text))
}

pub fn recovery(sim: &Sim, expr: Option<&str>, req: &Request) -> EsResult<Value> {
    let names = sim
        .resolve_indices(expr.unwrap_or("_all"), req.flag("ignore_unavailable", false))
        .map_err(|missing| EsError::index_not_found(&missing))?;
    let active_only = req.flag("active_only", false);
    let mut out = Map::new();
    for name in names {
        let index = &sim.state.indices[&name];
        let r = &index.recovery;
        if active_only && r.is_done() {
            continue;
        }
        let shards: Vec<Value> = (0..index.shards)
            .map(|shard| {
                let per_shard_total = r.total_bytes / u64::from(index.shards);
                let per_shard_done = r.recovered_bytes / u64::from(index.shards);
                let mut entry = json!({
                    "id": shard,
                    "type": if r.source.is_some() { "SNAPSHOT" } else { "EMPTY_STORE" },
                    "stage": if r.is_done() { "DONE" } else { "INDEX" },
                    "primary": true,
                    "start_time_in_millis": r.start_ms,
                    "total_time_in_millis": r.stop_ms.unwrap_or_else(Sim::now_ms) - r.start_ms,
                    "target": {"id": "essim-node-1", "name": "essim-node-1"},
                    "index": {"size": {"total_in_bytes": per_shard_total, "recovered_in_bytes": per_shard_done, "reused_in_bytes": 0, "percent": format!("{:.1}%", if per_shard_total == 0 { 100.0 } else { per_shard_done as f64 * 100.0 / per_shard_total as f64 })},
                              "files": {"total": 1, "recovered": u32::from(r.is_done()), "reused": 0}},
                });
                if let Some(stop) = r.stop_ms {
                    entry["stop_time_in_millis"] = json!(stop);
                }
                if let Some((repository, snapshot, source_index)) = &r.source {
                    entry["source"] = json!({"repository": repository, "snapshot": snapshot, "version": sim.profile.version, "index": source_index, "restoreUUID": r.restore_uuid});
                }
                entry
            })
            .collect();
        out.insert(name, json!({"shards": shards}));
    }
    Ok(Value::Object(out))
}
