//! Injected engine faults: 5xx answers and timeouts are retried with backoff until the work ends
//! right; stuck snapshots are stopped; shard and request failures end in the right state.

use std::time::Duration;

use serde_json::json;
use snapkeep_tests::{Essim, EssimOptions, Snapkeep};

#[test]
fn errors_and_timeouts_are_retried_and_failures_end_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    essim.load_index("events", 2, 200);
    let snapkeep = Snapkeep::start(
        dir.path(),
        &repo_root,
        &[("SNAPKEEP_ENGINE_TIMEOUT_SECS", "1"), ("SNAPKEEP_STUCK_AFTER_SECS", "3")],
    );
    let tenant = snapkeep.tenant("faults");
    snapkeep.register(&tenant, "es", &essim);
    let wait = Duration::from_secs(60);

    // Server errors on the snapshot API: retried until they stop.
    essim.set_faults(json!({"fail_next": 4, "error_status": 503, "path_contains": "_snapshot"}));
    snapkeep.create_snapshot(&tenant, "es", "after-errors", "events");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es", "after-errors", wait)["status"], "COMPLETED");
    let injected = essim.requests().iter().filter(|(_, _, s)| *s == 503).count();
    assert_eq!(injected, 4, "all four injected errors were met");

    // Requests that hang past the client timeout: retried.
    essim.set_faults(json!({"hang_next": 2, "hang_ms": 2500, "path_contains": "_snapshot"}));
    snapkeep.create_snapshot(&tenant, "es", "after-timeouts", "events");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es", "after-timeouts", wait)["status"], "COMPLETED");
    assert!(snapkeep.log_text().contains("transient engine error; retrying"));

    // Errors while a restore is watched: it still ends in success with every document back.
    let id = snapkeep.backup(&tenant, "es", "after-errors").unwrap()["id"].as_str().unwrap().to_owned();
    essim.set_faults(json!({"fail_next": 3, "error_status": 500, "path_contains": "_recovery"}));
    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        &format!("/clusters/es/index_snapshot/{id}/restore"),
        Some(json!({"target_cluster": "es", "rename_pattern": "events", "rename_replacement": "events_restored"})),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(snapkeep.await_restore(&tenant, "es", "after-errors", wait)["restoreStatus"], "success");
    assert_eq!(essim.count("events_restored"), 200);

    // A snapshot that makes no progress is stopped and aborted on the cluster.
    essim.set_faults(json!({"stuck": true}));
    snapkeep.create_snapshot(&tenant, "es", "stuck-one", "events");
    let stuck = snapkeep.await_snapshot(&tenant, "es", "stuck-one", wait);
    assert_eq!(stuck["status"], "FAILED", "{stuck}");
    assert!(stuck["failReason"].as_str().unwrap_or_default().contains("no progress"), "{stuck}");
    assert!(!essim.snapshot_names("snapkeep").contains(&"stuck-one".to_owned()), "aborted on the cluster");

    // A shard that fails: PART_FAILED with the counts.
    essim.set_faults(json!({"failed_shards": 1}));
    snapkeep.create_snapshot(&tenant, "es", "one-shard-lost", "events");
    let partial = snapkeep.await_snapshot(&tenant, "es", "one-shard-lost", wait);
    assert_eq!(
        (partial["status"].as_str(), partial["totalShards"].as_u64(), partial["failedShards"].as_u64()),
        (Some("PART_FAILED"), Some(2), Some(1)),
        "{partial}"
    );
    let log = snapkeep.log_text();
    let finished = log.lines().find(|l| l.contains("operation finished") && l.contains("PART_FAILED"));
    assert!(
        finished.is_some_and(|line| line.contains("WARN") && line.contains("snapshot_status=\"PART_FAILED\"")),
        "a partial snapshot is logged as a warning with its status: {finished:?}"
    );

    // A request the engine refuses for good is not retried: the snapshot fails with its reason.
    essim.set_faults(json!({}));
    snapkeep.create_snapshot(&tenant, "es", "missing-index", "no-such-index");
    let refused = snapkeep.await_snapshot(&tenant, "es", "missing-index", wait);
    assert_eq!(refused["status"], "FAILED", "{refused}");
    assert!(refused["failReason"].as_str().unwrap_or_default().contains("no-such-index"), "{refused}");
    let attempts =
        essim.requests().iter().filter(|(m, p, _)| m == "PUT" && p == "/_snapshot/snapkeep/missing-index").count();
    assert_eq!(attempts, 1, "a permanent refusal is not retried");
}
