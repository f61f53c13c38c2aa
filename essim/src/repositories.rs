//! `_snapshot/{repo}`: register, read, verify, clean up and remove repositories.

use std::path::{Component, Path, PathBuf};

use crate::blobs::{BlobStore, Catalog, Location};

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::request::{Request, json_bool};
use crate::sim::{Repository, Sim, resolve_names};

pub fn put(sim: &mut Sim, name: &str, req: &Request) -> EsResult<Value> {
    let body = req.json()?;
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let settings: Map<String, Value> = body.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    let location = match kind.as_str() {
        "fs" => Location::Fs(resolve_location(sim, name, &settings).map_err(|e| e.creating_repository(name))?),
        "s3" => s3_location(sim, name, &settings)?,
        _ => {
            return Err(EsError::new(
                500,
                "repository_exception",
                format!("[{name}] repository type [{kind}] does not exist"),
            ));
        }
    };
    let readonly = json_bool(settings.get("readonly"), false);
    if let Some(existing) = sim.state.repositories.get(name) {
        let in_use = sim.state.running.iter().any(|r| r.repository == name);
        let locked = sim.profile.repository_locked_while_in_use();
        if in_use && (locked || existing.location != location || existing.readonly != readonly) {
            let reason = if locked {
                "trying to modify or unregister repository that is currently used".to_owned()
            } else {
                format!(
                    "trying to modify or unregister repository [{name}] that is currently used (snapshot is in progress)"
                )
            };
            return Err(EsError::new(500, "illegal_state_exception", reason));
        }
    }
    // Where the engine registers first and verifies after, a repository that fails verification
    // stays registered, and the answer is the verification's error.
    let verified = match req.flag("verify", true) {
        true => BlobStore::verify(&location, name, readonly, sim.profile.readonly_location_checked()),
        false => Ok(()),
    };
    if verified.is_err() && !sim.profile.keeps_unverified_registration() {
        return verified.map(|()| Value::Null);
    }
    let repository = Repository { kind, settings, location, readonly, uuid: uuid::Uuid::new_v4().simple().to_string() };
    sim.state.repositories.insert(name.to_owned(), repository);
    sim.save();
    verified.map(|()| json!({"acknowledged": true}))
}

/// An `s3` repository: `bucket` and `base_path` through the node's `client` (default `default`).
fn s3_location(sim: &Sim, name: &str, settings: &Map<String, Value>) -> EsResult<Location> {
    let setting = |key: &str| settings.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let bucket = setting("bucket");
    if bucket.is_empty() {
        let missing =
            EsError::new(500, "repository_exception", format!("[{name}] No bucket defined for s3 repository"));
        return Err(missing.creating_repository(name));
    }
    let client = Some(setting("client")).filter(|c| !c.is_empty()).unwrap_or_else(|| "default".into());
    let client = sim.settings.s3_client(name, &client)?;
    Ok(Location::S3 { bucket, base_path: setting("base_path"), client })
}

/// `location` resolved under `path.repo`; anything outside is refused as the engines do.
fn resolve_location(sim: &Sim, name: &str, settings: &Map<String, Value>) -> EsResult<PathBuf> {
    let raw = settings.get("location").and_then(Value::as_str).unwrap_or_default();
    if raw.is_empty() {
        return Err(EsError::new(500, "repository_exception", format!("[{name}] missing location")));
    }
    let candidate = Path::new(raw);
    let Some(first_root) = sim.path_repo.first() else {
        return Err(EsError::new(
            500,
            "repository_exception",
            format!(
                "[{name}] location [{raw}] doesn't match any of the locations specified by path.repo because this setting is empty"
            ),
        ));
    };
    let resolved = if candidate.is_absolute() { candidate.to_path_buf() } else { first_root.join(candidate) };
    let escapes = resolved.components().any(|c| c == Component::ParentDir);
    if escapes || !sim.path_repo.iter().any(|root| resolved.starts_with(root)) {
        return Err(EsError::new(
            500,
            "repository_exception",
            format!("[{name}] location [{raw}] doesn't match any of the locations specified by path.repo"),
        ));
    }
    Ok(resolved)
}

pub fn get(sim: &Sim, expr: Option<&str>) -> EsResult<Value> {
    let names: Vec<String> = sim.state.repositories.keys().cloned().collect();
    let selected = resolve_names(&names, expr.unwrap_or("_all"), false)
        .map_err(|missing| EsError::repository_missing(&missing))?;
    let mut out = Map::new();
    for name in selected {
        let repo = &sim.state.repositories[&name];
        let settings: Map<String, Value> = repo
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_owned))))
            .collect();
        let mut entry = json!({"type": repo.kind, "settings": settings});
        if sim.profile.repository_uuid() {
            entry["uuid"] = json!(repo.uuid);
        }
        out.insert(name, entry);
    }
    Ok(Value::Object(out))
}

pub fn delete(sim: &mut Sim, name: &str) -> EsResult<Value> {
    if !sim.state.repositories.contains_key(name) {
        return Err(EsError::repository_missing(name));
    }
    let restoring = sim
        .state
        .indices
        .values()
        .any(|i| !i.recovery.is_done() && i.recovery.source.as_ref().is_some_and(|s| s.0 == name));
    if restoring || sim.state.running.iter().any(|r| r.repository == name) {
        return Err(EsError::new(
            500,
            "illegal_state_exception",
            format!("trying to modify or unregister repository [{name}] that is currently used"),
        ));
    }
    sim.state.repositories.remove(name);
    sim.save();
    Ok(json!({"acknowledged": true}))
}

pub fn verify(sim: &Sim, name: &str) -> EsResult<Value> {
    let repo = lookup(sim, name)?;
    BlobStore::verify(&repo.location, name, repo.readonly, sim.profile.readonly_location_checked())?;
    Ok(json!({"nodes": {sim.cluster_uuid.clone(): {"name": "essim-node-1"}}}))
}

pub fn cleanup(sim: &Sim, name: &str) -> EsResult<Value> {
    if !sim.profile.cleanup() {
        return Err(EsError::bad_request(format!(
            "request [/_snapshot/{name}/_cleanup] contains unrecognized parameters"
        )));
    }
    let repo = lookup(sim, name)?;
    if repo.readonly {
        return Err(EsError::new(
            500,
            "repository_exception",
            format!("[{name}] cannot run cleanup on readonly repository"),
        ));
    }
    let store = BlobStore::open(&repo.location)?;
    let mut keep: Vec<String> = store.read_catalog()?.snapshots.into_iter().map(|s| s.uuid).collect();
    keep.extend(sim.state.running.iter().filter(|r| r.repository == name).map(|r| r.uuid.clone()));
    let (deleted_blobs, deleted_bytes) = store.remove_unreferenced(&keep)?;
    Ok(json!({"results": {"deleted_bytes": deleted_bytes, "deleted_blobs": deleted_blobs}}))
}

pub fn lookup<'a>(sim: &'a Sim, name: &str) -> EsResult<&'a Repository> {
    sim.state.repositories.get(name).ok_or_else(|| EsError::repository_missing(name))
}

/// The blobs of a registered repository.
pub fn open_blobs(sim: &Sim, name: &str) -> EsResult<BlobStore> {
    BlobStore::open(&lookup(sim, name)?.location)
}

/// The snapshot catalog of a registered repository. A read-only location that is gone is never
/// created by reading it: Elasticsearch lists it as empty, OpenSearch cannot tell the
/// repository's generation.
pub fn read_catalog(sim: &Sim, name: &str) -> EsResult<Catalog> {
    let repo = lookup(sim, name)?;
    if repo.readonly && !repo.location.exists() {
        if sim.profile.readonly_location_checked() {
            return Err(EsError::new(
                500,
                "repository_exception",
                format!("[{name}] Could not determine repository generation from root blobs"),
            ));
        }
        return Ok(Catalog::default());
    }
    BlobStore::open(&repo.location)?.read_catalog()
}

/// The blobs of a registered repository that may be written.
pub fn open_writable_blobs(sim: &Sim, name: &str) -> EsResult<BlobStore> {
    BlobStore::open(&writable(sim, name)?.location)
}

fn writable<'a>(sim: &'a Sim, name: &str) -> EsResult<&'a Repository> {
    let repo = lookup(sim, name)?;
    if repo.readonly {
        return Err(EsError::new(
            500,
            "repository_exception",
            format!("[{name}] cannot modify a readonly repository: repository is readonly"),
        ));
    }
    Ok(repo)
}
