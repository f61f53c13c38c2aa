//! snapkeep killed with SIGKILL while snapshots, a delete and a restore are in flight: after a
//! restart every operation reaches its right end, and each engine request was sent exactly once.

use std::time::Duration;

use serde_json::json;
use snapkeep_tests::{Essim, EssimOptions, OPENSEARCH_2, Snapkeep, TestEngine, wait_for};

const FAST: u64 = 50 * 1024 * 1024;
const SLOW: u64 = 12 * 1024;

/// How many times snapkeep sent this request, whatever the answer (a repeated create would be
/// answered 400 "already exists" and must still count).
fn sent(essim: &Essim, method: &str, path: &str) -> usize {
    essim.requests().iter().filter(|(m, p, _)| m == method && p == path).count()
}

#[test]
fn every_operation_ends_once_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "8.11.1"));
    essim.load_index("orders", 2, 400);
    essim.set_rate(FAST);
    let mut snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("crash");
    snapkeep.register(&tenant, "es", &essim);

    let base = snapkeep.create_snapshot(&tenant, "es", "base", "orders");
    let doomed = snapkeep.create_snapshot(&tenant, "es", "doomed", "orders");
    for name in ["base", "doomed"] {
        assert_eq!(snapkeep.await_snapshot(&tenant, "es", name, Duration::from_secs(30))["status"], "COMPLETED");
    }

    essim.set_rate(SLOW);
    let names = ["crash-1", "crash-2", "crash-3"];
    for name in names {
        snapkeep.create_snapshot(&tenant, "es", name, "orders");
    }
    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        &format!("/clusters/es/index_snapshot/{base}/restore"),
        Some(json!({"targetCluster": "es", "renamePattern": "(.+)", "renameReplacement": "copy_$1"})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = snapkeep.css(&tenant, "DELETE", &format!("/clusters/es/index_snapshot/{doomed}"), None);
    assert_eq!(status, 200, "{body}");
    wait_for("the first snapshot to reach the cluster", Duration::from_secs(20), || {
        (sent(&essim, "PUT", "/_snapshot/snapkeep/crash-1") > 0).then_some(())
    });
    let actions = |snapkeep: &Snapkeep| {
        let (status, body) = snapkeep.css(&tenant, "GET", "/clusters/es", None);
        assert_eq!(status, 200, "{body}");
        body["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(actions(&snapkeep), vec!["SNAPSHOTTING", "RESTORING"], "the cluster view shows the running work");

    snapkeep.kill();
    let running = essim.running_snapshots("snapkeep");
    assert!(running.iter().any(|n| n == "crash-1"), "work was in flight at the crash: {running:?}");
    snapkeep.restart();

    for name in names {
        let backup = snapkeep.await_snapshot(&tenant, "es", name, Duration::from_secs(90));
        assert_eq!(backup["status"], "COMPLETED", "{backup}");
        assert_eq!(backup["totalShards"], 2);
        assert_eq!(sent(&essim, "PUT", &format!("/_snapshot/snapkeep/{name}")), 1, "{name} was created exactly once");
    }
    let restored = snapkeep.await_restore(&tenant, "es", "base", Duration::from_secs(90));
    assert_eq!(restored["restoreStatus"], "success", "{restored}");
    assert_eq!(sent(&essim, "POST", "/_snapshot/snapkeep/base/_restore"), 1, "the restore was sent exactly once");
    assert_eq!(essim.count("copy_orders"), 400);
    wait_for("the deleted snapshot to leave the catalog", Duration::from_secs(30), || {
        snapkeep.backup(&tenant, "es", "doomed").is_none().then_some(())
    });
    assert!(!essim.snapshot_names("snapkeep").contains(&"doomed".to_owned()));
    assert_eq!(sent(&essim, "DELETE", "/_snapshot/snapkeep/doomed"), 1, "the delete was sent exactly once");
    assert!(actions(&snapkeep).is_empty(), "nothing runs any more");
    assert!(
        snapkeep.log_text().contains("resuming operations left by the previous run")
            || snapkeep.log_text().contains("operation finished")
    );
}

/// A crash right after each kind of engine call, before its outcome is recorded: after the
/// restart the call is not sent again, and the operation ends right.
#[test]
fn a_crash_right_after_an_engine_call_never_repeats_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("orders", 1, 100);
    let mut snapkeep = Snapkeep::start(dir.path(), &repo_root, &[("SNAPKEEP_FAILPOINT", "after-create-sent")]);
    let tenant = snapkeep.tenant("failpoints");
    snapkeep.register(&tenant, "os", &essim);
    let wait = Duration::from_secs(30);

    let id = snapkeep.create_snapshot(&tenant, "os", "created-then-crashed", "orders");
    snapkeep.await_crash(wait);
    snapkeep.restart_with(&[("SNAPKEEP_FAILPOINT", "after-restore-sent")]);
    assert_eq!(snapkeep.await_snapshot(&tenant, "os", "created-then-crashed", wait)["status"], "COMPLETED");
    assert_eq!(sent(&essim, "PUT", "/_snapshot/snapkeep/created-then-crashed"), 1);

    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        &format!("/clusters/os/index_snapshot/{id}/restore"),
        Some(json!({"target_cluster": "os", "rename_pattern": "orders", "rename_replacement": "orders_back"})),
    );
    assert_eq!(status, 201, "{body}");
    snapkeep.await_crash(wait);
    snapkeep.restart_with(&[("SNAPKEEP_FAILPOINT", "after-delete-sent")]);
    assert_eq!(snapkeep.await_restore(&tenant, "os", "created-then-crashed", wait)["restoreStatus"], "success");
    assert_eq!(sent(&essim, "POST", "/_snapshot/snapkeep/created-then-crashed/_restore"), 1);
    assert_eq!(essim.count("orders_back"), 100);

    let (status, body) = snapkeep.css(&tenant, "DELETE", &format!("/clusters/os/index_snapshot/{id}"), None);
    assert_eq!(status, 200, "{body}");
    snapkeep.await_crash(wait);
    snapkeep.restart_with(&[]);
    wait_for("the snapshot to leave the catalog", wait, || {
        snapkeep.backup(&tenant, "os", "created-then-crashed").is_none().then_some(())
    });
    assert_eq!(sent(&essim, "DELETE", "/_snapshot/snapkeep/created-then-crashed"), 1);
    assert!(essim.snapshot_names("snapkeep").is_empty());
}

/// SIGKILL of snapkeep while a real engine runs a throttled snapshot and a throttled restore it
/// started: after the restart the snapshot completes once, the restore ends `success` with the
/// snapshot's documents, and nothing is left running.
#[test]
fn a_crash_mid_snapshot_and_mid_restore_on_a_real_engine() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let engine = TestEngine::real(OPENSEARCH_2).start(dir.path(), &repo_root, &[]);
    engine.load_index_with_noise("orders", 2, 200, 400);
    let original = engine.documents("orders");
    let mut snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("crash");
    snapkeep.register(&tenant, "os", &engine);
    let wait = Duration::from_secs(120);
    let base = snapkeep.create_snapshot(&tenant, "os", "base", "orders");
    assert_eq!(snapkeep.await_snapshot(&tenant, "os", "base", wait)["status"], "COMPLETED");

    // A new index (a snapshot of unchanged data copies nothing) and the base's 100 KB, at 4 KB/s
    // each way: both run for tens of seconds, well past the crash.
    engine.load_index_with_noise("events", 1, 300, 400);
    let throttle = json!({"maxSnapshotBytesPerSeconds": "4kb", "maxRestoreBytesPerSeconds": "4kb"});
    let (status, body) = snapkeep.css(&tenant, "POST", "/clusters/os/index_snapshot/setting", Some(throttle));
    assert_eq!(status, 200, "{body}");
    snapkeep.create_snapshot(&tenant, "os", "crash-1", "events");
    wait_for("the snapshot to run on the engine", wait, || {
        engine.running_snapshots("snapkeep").contains(&"crash-1".to_owned()).then_some(())
    });
    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        &format!("/clusters/os/index_snapshot/{base}/restore"),
        Some(json!({"targetCluster": "os", "renamePattern": "(.+)", "renameReplacement": "copy_$1"})),
    );
    assert_eq!(status, 201, "{body}");
    wait_for("the restore to run on the engine", wait, || {
        let (status, recovery) = engine.call("GET", "/copy_orders/_recovery", None);
        let shards = recovery["copy_orders"]["shards"].as_array().cloned().unwrap_or_default();
        (status == 200 && shards.iter().any(|s| s["stage"] != "DONE")).then_some(())
    });
    assert!(engine.running_snapshots("snapkeep").contains(&"crash-1".to_owned()), "still running at the crash");

    snapkeep.kill();
    snapkeep.restart();
    let done = snapkeep.await_snapshot(&tenant, "os", "crash-1", wait);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let restored = snapkeep.await_restore(&tenant, "os", "base", wait);
    assert_eq!(restored["restoreStatus"], "success", "{restored}");
    assert_eq!(engine.documents("copy_orders"), original, "the restored copy holds the snapshot's documents");
    let mut names = engine.snapshot_names("snapkeep");
    names.sort();
    assert_eq!(names, ["base", "crash-1"], "each snapshot once on the engine");
    let listed: Vec<_> = snapkeep.backups(&tenant, "os").into_iter().map(|b| b["name"].clone()).collect();
    assert_eq!(listed.len(), 2, "each snapshot once in the catalog: {listed:?}");
    let (status, body) = snapkeep.css(&tenant, "GET", "/clusters/os", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actions"], json!([]), "nothing runs any more");
}
