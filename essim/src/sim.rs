//! The simulated cluster's state: indices with their documents, registered repositories, running
//! snapshots and restores, injected faults. It is saved to `<data-dir>/state.json` after every
//! change, so the simulator survives its own restart with running work resumed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::blobs::Location;
use crate::faults::Faults;
use crate::profile::Profile;
use crate::settings::{NodeSettings, byte_size};

/// An index and its documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub uuid: String,
    pub shards: u32,
    pub replicas: u32,
    pub open: bool,
    pub docs: BTreeMap<String, Value>,
    pub recovery: Recovery,
}

/// How an index's shards last recovered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recovery {
    /// `(repository, snapshot, index in snapshot)` when restored from a snapshot.
    pub source: Option<(String, String, String)>,
    pub restore_uuid: Option<String>,
    pub total_bytes: u64,
    pub recovered_bytes: u64,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// Documents that appear once the restore is done.
    pub pending_docs: Option<BTreeMap<String, Value>>,
    /// Set when fault injection keeps this recovery from progressing.
    #[serde(default)]
    pub stuck: bool,
}

impl Recovery {
    pub fn empty_store(now_ms: i64) -> Self {
        Self {
            source: None,
            restore_uuid: None,
            total_bytes: 0,
            recovered_bytes: 0,
            start_ms: now_ms,
            stop_ms: Some(now_ms),
            pending_docs: None,
            stuck: false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.stop_ms.is_some()
    }
}

/// A registered repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repository {
    pub kind: String,
    pub settings: Map<String, Value>,
    pub location: Location,
    pub readonly: bool,
    pub uuid: String,
}

impl Repository {
    /// The repository's throttle `key` (`max_snapshot_bytes_per_sec`, `max_restore_bytes_per_sec`)
    /// in bytes per second; `None` when unlimited.
    pub fn throttle(&self, key: &str) -> Option<u64> {
        let value = self.settings.get(key)?;
        byte_size(value.as_str().map_or_else(|| value.to_string(), str::to_owned).as_str())
    }
}

/// A snapshot being written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunningSnapshot {
    pub repository: String,
    pub name: String,
    pub uuid: String,
    pub indices: Vec<String>,
    /// Shards per index, as snapshotted.
    pub index_shards: BTreeMap<String, u32>,
    pub total_bytes: u64,
    pub done_bytes: u64,
    pub start_ms: i64,
    pub metadata: Option<Value>,
    pub include_global_state: bool,
    pub stuck: bool,
    /// Shards that will fail when the snapshot finishes (fault injection).
    pub failing_shards: u32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub indices: BTreeMap<String, Index>,
    pub repositories: BTreeMap<String, Repository>,
    pub running: Vec<RunningSnapshot>,
    pub faults: Faults,
}

/// The whole simulator: configuration plus state.
pub struct Sim {
    pub profile: Profile,
    pub cluster_name: String,
    pub cluster_uuid: String,
    pub path_repo: Vec<PathBuf>,
    pub settings: NodeSettings,
    /// Bytes per second snapshots and restores advance at.
    pub rate_bytes_per_sec: u64,
    pub state: State,
    state_file: PathBuf,
}

impl Sim {
    pub fn open(
        profile: Profile,
        data_dir: &Path,
        path_repo: Vec<PathBuf>,
        settings: NodeSettings,
        rate_bytes_per_sec: u64,
        cluster_name: String,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let state_file = data_dir.join("state.json");
        let state = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e.into()),
        };
        let uuid_file = data_dir.join("cluster_uuid");
        let cluster_uuid = match std::fs::read_to_string(&uuid_file) {
            Ok(uuid) => uuid,
            Err(_) => {
                let uuid = uuid::Uuid::new_v4().simple().to_string();
                std::fs::write(&uuid_file, &uuid)?;
                uuid
            }
        };
        Ok(Self { profile, cluster_name, cluster_uuid, path_repo, settings, rate_bytes_per_sec, state, state_file })
    }

    /// Writes the state atomically.
    pub fn save(&self) {
        let tmp = self.state_file.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.state).expect("state serializes");
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &self.state_file)) {
            tracing::error!(error = %e, "could not save simulator state");
        }
    }

    pub fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// Index names matching a comma list of names and `*` patterns; `_all`/`*`/empty is all.
    /// A missing concrete name is an error unless `ignore_unavailable`.
    pub fn resolve_indices(&self, expr: &str, ignore_unavailable: bool) -> Result<Vec<String>, String> {
        let names: Vec<String> = self.state.indices.keys().cloned().collect();
        resolve_names(&names, expr, ignore_unavailable)
    }
}

/// Resolves a comma list of names and patterns against `names`, keeping `names`' order.
pub fn resolve_names(names: &[String], expr: &str, ignore_unavailable: bool) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = expr.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts == ["_all"] || parts == ["*"] {
        return Ok(names.to_vec());
    }
    let mut selected: Vec<String> = Vec::new();
    for part in parts {
        let (exclude, pattern) = match part.strip_prefix('-') {
            Some(p) if !selected.is_empty() => (true, p),
            _ => (false, part),
        };
        if exclude {
            selected.retain(|n| !wildcard(pattern, n));
            continue;
        }
        let matched: Vec<&String> = names.iter().filter(|n| wildcard(pattern, n)).collect();
        if matched.is_empty() && !pattern.contains('*') && !ignore_unavailable {
            return Err(pattern.to_owned());
        }
        for name in matched {
            if !selected.contains(name) {
                selected.push(name.clone());
            }
        }
    }
    Ok(selected)
}

/// `*` matches any run of characters.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else { return false };
            if tail.is_empty() {
                return true;
            }
            (0..=rest.len()).filter(|i| rest.is_char_boundary(*i)).any(|i| wildcard(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_patterns_and_exclusions() {
        let names: Vec<String> = ["a1", "a2", "b1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(resolve_names(&names, "", false).unwrap(), names);
        assert_eq!(resolve_names(&names, "a*", false).unwrap(), vec!["a1", "a2"]);
        assert_eq!(resolve_names(&names, "*,-a2", false).unwrap(), vec!["a1", "b1"]);
        assert_eq!(resolve_names(&names, "b1,a1", false).unwrap(), vec!["b1", "a1"]);
        assert_eq!(resolve_names(&names, "zz", false), Err("zz".to_owned()));
        assert!(resolve_names(&names, "zz", true).unwrap().is_empty());
        assert!(resolve_names(&names, "z*", false).unwrap().is_empty());
    }
}
