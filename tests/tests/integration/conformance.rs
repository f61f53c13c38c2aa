//! The engine conformance suite: every REST call snapkeep's driver makes, and each error it
//! interprets, sent to essim and to the real engine of the same flavour and version, on two
//! layers: the raw answers (status, error `type`, and each field the driver reads) and the
//! driver's own typed results over them. Both sides run the same script; every step whose
//! observation differs is listed, so essim cannot drift from the engines unnoticed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use snapkeep_core::{
    EngineConnector, EngineEndpoint, EngineError, RepositorySpec, RestoreRequest, SearchEngine, SnapshotInfo,
    SnapshotProgress, SnapshotRequest, SnapshotState,
};
use snapkeep_engine_elasticsearch::HttpEngineConnector;
use snapkeep_tests::{ELASTICSEARCH_7, OPENSEARCH_2, SearchCluster, TestEngine, wait_for};

/// One side of the comparison: a cluster, the driver over it, and what was observed.
struct Side {
    cluster: SearchCluster,
    driver: Arc<dyn SearchEngine>,
    repo_root: std::path::PathBuf,
    rt: tokio::runtime::Runtime,
    observed: Vec<(String, String)>,
}

impl Side {
    fn start(engine: &TestEngine, dir: &Path) -> Self {
        let repo_root = dir.join(format!("repos-{}", engine.name()));
        let cluster = engine.start(dir, &repo_root, &[]);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let endpoint = EngineEndpoint { url: cluster.url.clone(), username: None, password: None };
        let connector = HttpEngineConnector::new(Duration::from_secs(30)).unwrap();
        let info = rt.block_on(connector.probe(&endpoint)).expect("the driver reads GET /");
        let driver = connector.connect(endpoint, &info);
        Self { cluster, driver, repo_root, rt, observed: Vec::new() }
    }

    /// Records an observation; this side's repository root reads as `$REPO`.
    fn see(&mut self, step: &str, observation: impl std::fmt::Debug) {
        let text = format!("{observation:?}").replace(&self.repo_root.display().to_string(), "$REPO");
        self.observed.push((step.to_owned(), text));
    }

    /// A raw call: status, error type, and the fields at `pointers` (or the whole error).
    fn raw(&mut self, step: &str, method: &str, path: &str, body: Option<Value>, pointers: &[&str]) -> Value {
        let (status, answer) = self.cluster.call(method, path, body);
        let fields: Vec<Value> = pointers.iter().map(|p| answer.pointer(p).cloned().unwrap_or(Value::Null)).collect();
        self.see(step, json!({"status": status, "error": answer.pointer("/error/type"), "fields": fields}));
        answer
    }

    fn block<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(future)
    }

    fn fs_repository(&self, name: &str, folder: &str, extra: Value) -> RepositorySpec {
        let mut settings = json!({"location": self.repo_root.join(folder), "compress": true});
        settings.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        RepositorySpec {
            name: name.into(),
            kind: "fs".into(),
            settings: settings.as_object().unwrap().clone(),
            bucket: None,
        }
    }

    /// Waits until a snapshot is no longer running; returns what the driver reads of it.
    fn finished(&self, repository: &str, name: &str) -> Option<SnapshotInfo> {
        wait_for(&format!("{name} to finish"), Duration::from_secs(60), || {
            let info = self.block(self.driver.get_snapshot(repository, name)).expect("get snapshot");
            info.filter(|i| i.state != SnapshotState::InProgress).map(Some)
        })
    }
}

/// An error as the driver acts on it: its kind, status, and whether it is retried.
fn error_shape<T: std::fmt::Debug>(result: Result<T, EngineError>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(EngineError::Api { status, kind, .. }) => {
            let transient = EngineError::Api { status, kind: kind.clone(), reason: String::new() }.is_transient();
            format!("error {status} {kind:?} transient={transient}")
        }
        Err(other) => format!("error {other}"),
    }
}

/// An ended snapshot's progress without its size, which differs by nature (essim's files are not
/// Lucene's): all done, and its shards.
fn ended_shape(p: SnapshotProgress) -> String {
    let all_done = p.bytes_done == p.bytes_total && p.bytes_total > 0 && p.shards_done == p.shards_total;
    format!("all done: {all_done}, shards {}", p.shards_total)
}

/// What the driver reads of a SnapshotInfo, without times and ids that differ by nature.
fn info_shape(info: Option<SnapshotInfo>) -> String {
    match info {
        None => "none".into(),
        Some(i) => format!(
            "{} {:?} indices={:?} shards={}/{} start={} end={} uuid={} version={:?} reason={:?}",
            i.name,
            i.state,
            i.indices,
            i.total_shards,
            i.failed_shards,
            i.start_time_ms.is_some(),
            i.end_time_ms.is_some(),
            i.uuid.is_some(),
            i.version,
            i.reason
        ),
    }
}

fn snapshot(indices: &[&str]) -> SnapshotRequest {
    SnapshotRequest { indices: indices.iter().map(|s| (*s).to_owned()).collect(), taken_by: "conformance".into() }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The script both sides run.
fn script(side: &mut Side) {
    side.cluster.load_index_with_noise("logs-a", 1, 60, 300);
    side.cluster.load_index("logs-b", 2, 10);
    let d = side.driver.clone();

    // GET /, as the driver probes it.
    side.raw("root", "GET", "/", None, &["/version/number", "/version/distribution"]);

    // Registration, its read-back and verification; a location outside path.repo.
    let own = side.fs_repository("own", "own", json!({}));
    let put = side.block(d.put_repository(&own));
    side.see("put own repository", error_shape(put));
    side.raw("get own repository", "GET", "/_snapshot/own", None, &["/own/type", "/own/settings"]);
    side.see("put own repository again", error_shape(side.block(d.put_repository(&own))));
    let outside = RepositorySpec {
        settings: json!({"location": "/definitely/not/in/path/repo"}).as_object().unwrap().clone(),
        ..side.fs_repository("outside", "x", json!({}))
    };
    side.see("put repository outside path.repo", error_shape(side.block(d.put_repository(&outside))));
    side.raw("get missing repository", "GET", "/_snapshot/outside", None, &[]);
    let causes = [
        "/error/type",
        "/error/reason",
        "/error/caused_by/type",
        "/error/caused_by/reason",
        "/error/root_cause/0/reason",
    ];
    let body = json!({"type": "fs", "settings": outside.settings});
    side.raw("put repository outside path.repo raw", "PUT", "/_snapshot/outside", Some(body), &causes);
    side.raw("put repository without a location", "PUT", "/_snapshot/outside", Some(json!({"type": "fs"})), &causes);
    let unknown = json!({"type": "hdfs", "settings": {}});
    side.raw("put repository of an unknown type", "PUT", "/_snapshot/outside", Some(unknown), &causes);
    side.see("verify own", error_shape(side.block(d.verify_repository("own")).map(drop)));
    side.raw("verify own raw", "POST", "/_snapshot/own/_verify", None, &[]);
    side.see("verify missing", error_shape(side.block(d.verify_repository("nope"))));

    // A snapshot, its SnapshotInfo, a duplicate name, missing names and repositories.
    side.see("create snap-1", error_shape(side.block(d.create_snapshot("own", "snap-1", &snapshot(&["logs-a"])))));
    side.see("snap-1 finished", info_shape(side.finished("own", "snap-1")));
    let pointers = [
        "/snapshots/0/snapshot",
        "/snapshots/0/state",
        "/snapshots/0/indices",
        "/snapshots/0/shards/total",
        "/snapshots/0/shards/failed",
    ];
    side.raw("get snap-1 raw", "GET", "/_snapshot/own/snap-1?ignore_unavailable=true", None, &pointers);
    side.see("create snap-1 again", error_shape(side.block(d.create_snapshot("own", "snap-1", &snapshot(&[])))));
    side.raw("create snap-1 again raw", "PUT", "/_snapshot/own/snap-1?wait_for_completion=false", Some(json!({})), &[]);
    side.see("get missing snapshot", info_shape(side.block(d.get_snapshot("own", "nope")).unwrap()));
    side.raw("get missing snapshot raw", "GET", "/_snapshot/own/nope", None, &[]);
    side.raw(
        "get missing snapshot ignored",
        "GET",
        "/_snapshot/own/nope?ignore_unavailable=true",
        None,
        &["/snapshots"],
    );
    side.see("get in missing repository", error_shape(side.block(d.get_snapshot("nope", "s"))));
    side.see("existing of two", error_shape(side.block(d.existing_snapshots("own", &names(&["snap-1", "nope"])))));
    let ended = side.block(d.snapshot_progress("own", "snap-1"));
    side.see("progress of a finished snapshot", error_shape(ended.map(|p| p.map(ended_shape))));

    // A throttled snapshot runs: its progress and _status layout, a second one beside it,
    // the repository re-registered while in use, and both deleted (aborted) while running.
    let slow = side.fs_repository("slow", "slow", json!({"max_snapshot_bytes_per_sec": "1kb"}));
    side.see("put slow repository", error_shape(side.block(d.put_repository(&slow))));
    side.see("create running", error_shape(side.block(d.create_snapshot("slow", "running", &snapshot(&["logs-a"])))));
    let running = side.block(d.get_snapshot("slow", "running")).unwrap();
    side.see("running state", running.map(|i| i.state));
    let progress = side.block(d.snapshot_progress("slow", "running")).unwrap();
    side.see("running progress", progress.is_some());
    let status = side.cluster.ok("GET", "/_snapshot/slow/running/_status", None);
    let stats = &status["snapshots"][0]["stats"];
    side.see("_status stats layout", stats.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()));
    side.see(
        "_status processed layout",
        stats.get("processed").map(|p| p.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>())),
    );
    side.see("_status state", status["snapshots"][0]["state"].clone());
    let beside = side.block(d.create_snapshot("slow", "beside", &snapshot(&["logs-b"])));
    side.see("second snapshot while one runs", error_shape(beside));
    let again = json!({"type": "fs", "settings": slow.settings});
    side.raw("re-register a repository in use", "PUT", "/_snapshot/slow", Some(again), &[]);
    let changed = side.fs_repository("slow", "slow", json!({"max_snapshot_bytes_per_sec": "2kb"}));
    side.see("throttle change while in use (driver)", error_shape(side.block(d.put_repository(&changed))));
    side.see("delete running", error_shape(side.block(d.delete_snapshots("slow", &names(&["running", "beside"])))));
    wait_for("the running snapshots to be gone", Duration::from_secs(60), || {
        side.block(d.existing_snapshots("slow", &names(&["running", "beside"]))).unwrap().is_empty().then_some(())
    });

    // Comma-list deletes: two at once, and a list naming a missing one.
    for name in ["snap-2", "snap-3"] {
        side.block(d.create_snapshot("own", name, &snapshot(&["logs-b"]))).unwrap();
        side.finished("own", name);
    }
    side.raw("delete list with a missing name", "DELETE", "/_snapshot/own/snap-2,nope", None, &[]);
    side.see("delete two", error_shape(side.block(d.delete_snapshots("own", &names(&["snap-2", "snap-3"])))));
    side.see(
        "after delete",
        error_shape(side.block(d.existing_snapshots("own", &names(&["snap-1", "snap-2", "snap-3"])))),
    );
    side.see("delete gone", error_shape(side.block(d.delete_snapshots("own", &names(&["snap-2"])))));

    // Restores: over an open index refused; renamed, with its recovery and documents.
    let whole = RestoreRequest { indices: names(&["logs-a"]), ..RestoreRequest::default() };
    side.see("restore over an open index", error_shape(side.block(d.restore_snapshot("own", "snap-1", &whole))));
    let renaming = |pattern: &str, replacement: &str| RestoreRequest {
        rename_pattern: Some(pattern.into()),
        rename_replacement: Some(replacement.into()),
        ..whole.clone()
    };
    for (step, pattern, replacement) in [
        ("restore naming a missing group", "logs-a", "copy-$1"),
        ("restore with an illegal group reference", "logs-a", "copy-$x"),
        ("restore into an invalid index name", "logs-a", "_copy"),
        ("restore with an invalid pattern", "(", "copy"),
    ] {
        let body = json!({"indices": "logs-a", "rename_pattern": pattern, "rename_replacement": replacement});
        side.raw(step, "POST", "/_snapshot/own/snap-1/_restore", Some(body), &[]);
        side.see(step, error_shape(side.block(d.restore_snapshot("own", "snap-1", &renaming(pattern, replacement)))));
    }
    let renamed = RestoreRequest {
        rename_pattern: Some("(.+)".into()),
        rename_replacement: Some("copy_$1".into()),
        ..whole.clone()
    };
    side.see("restore renamed", error_shape(side.block(d.restore_snapshot("own", "snap-1", &renamed))));
    let copies = names(&["copy_logs-a"]);
    let recovered = wait_for("the restore to finish", Duration::from_secs(60), || {
        let shards = side.block(d.recovery(&copies)).unwrap();
        (!shards.is_empty() && shards.iter().all(|s| s.stage == snapkeep_core::RecoveryStage::Done)).then_some(shards)
    });
    let shape: Vec<String> = recovered
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:?} bytes={} start={}",
                r.index,
                r.shard,
                r.snapshot_source,
                r.stage,
                r.recovered_bytes > 0,
                r.started_ms > 0
            )
        })
        .collect();
    side.see("recovery", shape);
    let pointers = [
        "/copy_logs-a/shards/0/type",
        "/copy_logs-a/shards/0/stage",
        "/copy_logs-a/shards/0/source/repository",
        "/copy_logs-a/shards/0/source/snapshot",
    ];
    side.raw("recovery raw", "GET", "/copy_logs-a/_recovery?ignore_unavailable=true", None, &pointers);
    side.raw("recovery of a missing index", "GET", "/nope/_recovery", None, &[]);
    let fits = format!("/{}/_recovery", "x".repeat(4096 - "GET /_recovery HTTP/1.1".len()));
    side.raw("a request line of exactly 4 KB", "GET", &fits, None, &[]);
    side.raw("a request line over 4 KB", "GET", &format!("{fits}x"), None, &["/error/reason"]);
    let same = side.cluster.documents("copy_logs-a") == side.cluster.documents("logs-a");
    side.see("restored documents equal the originals", same);

    // Index states and closing, as a replacing restore does.
    let listed = names(&["logs-a", "copy_logs-a", "nope"]);
    let states = |side: &Side| {
        let mut states =
            side.block(d.index_states(&listed)).map(|s| s.into_iter().map(|i| (i.name, i.open)).collect::<Vec<_>>());
        states.iter_mut().for_each(|s| s.sort());
        states
    };
    side.see("index states (in any order)", error_shape(states(side)));
    side.see("close", error_shape(side.block(d.close_indices(&copies))));
    side.see("index states after close", error_shape(states(side)));
    side.raw("close a missing index", "POST", "/nope/_close", None, &[]);

    // A read-only repository: writes through it refused by the engine.
    let readonly = side.fs_repository("ro", "own", json!({"readonly": true}));
    side.see("put read-only", error_shape(side.block(d.put_repository(&readonly))));
    side.see("verify read-only", error_shape(side.block(d.verify_repository("ro"))));
    side.see("snapshot into read-only", error_shape(side.block(d.create_snapshot("ro", "x", &snapshot(&[])))));
    side.see("delete from read-only", error_shape(side.block(d.delete_snapshots("ro", &names(&["snap-1"])))));
    side.see("read-only lists", error_shape(side.block(d.existing_snapshots("ro", &names(&["snap-1"])))));
    let gone = side.fs_repository("ro-gone", "vanished", json!({"readonly": true}));
    side.see("put read-only at a missing location", error_shape(side.block(d.put_repository(&gone))));
    side.see("put it again (verified anew)", error_shape(side.block(d.put_repository(&gone))));
    side.see(
        "list read-only at a missing location",
        error_shape(side.block(d.existing_snapshots("ro-gone", &names(&["snap-1"])))),
    );
    side.see("delete repository", error_shape(side.block(d.delete_repository("ro"))));
    side.see("delete missing repository", error_shape(side.block(d.delete_repository("ro"))));
}

fn conformance(real: TestEngine) {
    let dir = tempfile::tempdir().unwrap();
    let simulated = TestEngine::essim(&real.flavor, &real.version);
    let mut sides = [Side::start(&simulated, dir.path()), Side::start(&real, dir.path())];
    for side in &mut sides {
        script(side);
    }
    let [essim, engine] = &sides;
    let divergences: Vec<String> = essim
        .observed
        .iter()
        .zip(&engine.observed)
        .filter(|(a, b)| a.1 != b.1)
        .map(|((step, a), (_, b))| format!("{step}:\n    essim:  {a}\n    {}: {b}", real.name()))
        .collect();
    assert!(
        divergences.is_empty(),
        "essim differs from {} in {} steps:\n{}",
        real.name(),
        divergences.len(),
        divergences.join("\n")
    );
}

#[test]
fn essim_answers_as_opensearch_2() {
    conformance(TestEngine::real(OPENSEARCH_2));
}

#[test]
fn essim_answers_as_elasticsearch_7() {
    conformance(TestEngine::real(ELASTICSEARCH_7));
}

/// Before 7.14 a repository in use cannot even be re-registered unchanged.
#[test]
fn essim_answers_as_elasticsearch_7_10() {
    conformance(TestEngine::real(("elasticsearch", "7.10.2")));
}

#[test]
fn essim_answers_as_opensearch_1_3() {
    conformance(TestEngine::real(("opensearch", "1.3.20")));
}
