//! essim follows the engines' REST specs: the behaviours snapkeep's driver relies on, per
//! flavor and version, and its state survives a restart.

use serde_json::json;
use snapkeep_tests::{Essim, EssimOptions};

fn repo(essim: &Essim, name: &str, settings: serde_json::Value) -> (u16, serde_json::Value) {
    essim.call("PUT", &format!("/_snapshot/{name}"), Some(json!({"type": "fs", "settings": settings})))
}

#[test]
fn snapshot_api_follows_the_spec_of_each_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    let old = Essim::start(dir.path(), &root, &EssimOptions::new("elasticsearch", "6.8.23"));
    let new = Essim::start(dir.path(), &root, &EssimOptions::new("elasticsearch", "8.11.1"));
    for essim in [&old, &new] {
        essim.load_index("idx", 1, 10);
        assert_eq!(repo(essim, "r", json!({"location": "shared"})).0, 200);
    }
    // Outside path.repo is refused.
    let (status, body) = repo(&new, "escape", json!({"location": "/etc"}));
    assert_eq!((status, body["error"]["type"].as_str()), (500, Some("repository_exception")), "{body}");

    // wait_for_completion=true answers the SnapshotInfo; names follow the rules.
    let (status, body) = new.call("PUT", "/_snapshot/r/one?wait_for_completion=true", Some(json!({"indices": "idx"})));
    assert_eq!(
        (status, body["snapshot"]["state"].as_str(), body["snapshot"]["shards"]["successful"].as_u64()),
        (200, Some("SUCCESS"), Some(1)),
        "{body}"
    );
    assert_eq!(new.call("PUT", "/_snapshot/r/Upper", None).1["error"]["type"], "invalid_snapshot_name_exception");
    assert_eq!(new.call("PUT", "/_snapshot/r/one", None).1["error"]["type"], "snapshot_name_already_in_use_exception");
    assert_eq!(new.call("PUT", "/_snapshot/r/two", Some(json!({"indices": "missing"}))).0, 404);

    // 6.8: metadata unknown, one snapshot at a time, no comma-list delete; sees the shared repo.
    assert_eq!(old.call("PUT", "/_snapshot/r/meta", Some(json!({"metadata": {"a": 1}}))).0, 400);
    assert_eq!(old.call("PUT", "/_snapshot/r/one", None).1["error"]["type"], "invalid_snapshot_name_exception");
    old.set_rate(1);
    assert_eq!(old.call("PUT", "/_snapshot/r/slow", None).0, 200);
    assert_eq!(old.running_snapshots("r"), vec!["slow"], "_current lists the running one");
    let (status, body) = old.call("PUT", "/_snapshot/r/second", None);
    assert_eq!((status, body["error"]["type"].as_str()), (503, Some("concurrent_snapshot_execution_exception")));
    assert_eq!(old.call("DELETE", "/_snapshot/r/slow", None).0, 200, "deleting a running snapshot aborts it");
    assert!(old.running_snapshots("r").is_empty());
    assert_eq!(old.call("DELETE", "/_snapshot/r/one,slow", None).0, 404, "no comma lists before 7.8");

    // 8.x: clone, comma-list delete, cleanup, verify, status.
    assert_eq!(new.call("PUT", "/_snapshot/r/one/_clone/copy", Some(json!({"indices": "idx"}))).0, 200);
    let (_, status_body) = new.call("GET", "/_snapshot/r/copy/_status", None);
    assert!(status_body["snapshots"][0]["stats"]["total"]["size_in_bytes"].as_u64().unwrap() > 0);
    assert_eq!(new.call("DELETE", "/_snapshot/r/one,copy", None).0, 200);
    assert!(new.snapshot_names("r").is_empty());
    assert_eq!(new.call("POST", "/_snapshot/r/_cleanup", None).1["results"]["deleted_blobs"], 0);
    assert!(new.call("POST", "/_snapshot/r/_verify", None).1["nodes"].is_object());

    // Read-only registrations can read and restore but never write.
    assert_eq!(new.call("PUT", "/_snapshot/r/three?wait_for_completion=true", None).0, 200);
    assert_eq!(repo(&old, "ro", json!({"location": "shared", "readonly": true})).0, 200);
    assert_eq!(old.snapshot_names("ro"), vec!["three"]);
    let (status, body) = old.call("PUT", "/_snapshot/ro/mine", None);
    assert!(status == 500 && body["error"]["reason"].as_str().unwrap().contains("readonly"), "{body}");
    assert_eq!(old.call("DELETE", "/_snapshot/ro/three", None).0, 500);
    old.set_rate(1 << 20);
    let (status, body) = old.call(
        "POST",
        "/_snapshot/ro/three/_restore?wait_for_completion=true",
        Some(json!({"rename_pattern": "idx", "rename_replacement": "from_new"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(old.count("from_new"), 10);
    assert_eq!(
        old.call("POST", "/_snapshot/ro/three/_restore", None).1["error"]["type"],
        "snapshot_restore_exception",
        "open index of the same name"
    );
}

#[test]
fn essim_keeps_its_state_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    let options = EssimOptions::new("opensearch", "1.3.14");
    let essim = Essim::start(dir.path(), &root, &options);
    essim.load_index("kept", 1, 7);
    assert_eq!(repo(&essim, "r", json!({"location": "r"})).0, 200);
    assert_eq!(essim.call("PUT", "/_snapshot/r/s?wait_for_completion=true", None).0, 200);
    let data = essim.data_dir.clone();
    drop(essim);
    let again = Essim::restart(&root, &options, &data);
    assert_eq!(again.count("kept"), 7);
    assert_eq!(again.snapshot_names("r"), vec!["s"]);
}
