//! Object storage under failure, on a real S3 server: wrong credentials, a missing bucket, an
//! unwritable base path and a base path reaching into another cluster's repository (where it is
//! now, or where its earlier snapshots stay after it moved) are refused with the dialect's codes
//! and change nothing; an S3 server that goes away in the middle of a snapshot fails that
//! snapshot; and through all of it, another cluster's objects are never touched.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use snapkeep_tests::{
    Auth, Essim, S3_ACCESS_KEY, Snapkeep, StorageKind, TEST_BASE_PATH, TEST_BUCKET, Tenant, TestStorage, wait_for,
};

struct Fleet {
    storage: TestStorage,
    alpha: Essim,
    beta: Essim,
    snapkeep: Snapkeep,
    tenant: Tenant,
    _dir: tempfile::TempDir,
}

/// Two clusters whose repositories share one bucket; beta already holds a finished snapshot.
fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(StorageKind::S3, dir.path());
    let options = storage.essim_options("elasticsearch", "7.10.2");
    let alpha = Essim::start(dir.path(), &storage.repo_root, &options);
    let beta = Essim::start(dir.path(), &storage.repo_root, &options);
    alpha.load_index("orders", 1, 400);
    beta.load_index("orders", 1, 40);
    let snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &[]);
    let tenant = snapkeep.tenant("storage");
    storage.attach(&snapkeep, &tenant);
    snapkeep.register(&tenant, "alpha", &alpha);
    snapkeep.register(&tenant, "beta", &beta);
    snapkeep.create_snapshot(&tenant, "beta", "beta-first", "orders");
    let done = snapkeep.await_snapshot(&tenant, "beta", "beta-first", Duration::from_secs(30));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(!storage.repository_objects("beta").is_empty());
    Fleet { storage, alpha, beta, snapkeep, tenant, _dir: dir }
}

fn settings(fleet: &Fleet, body: Value) -> (u16, Value) {
    fleet.snapkeep.css(&fleet.tenant, "POST", "/clusters/alpha/index_snapshot/setting", Some(body))
}

fn policy(fleet: &Fleet) -> Value {
    fleet.snapkeep.css(&fleet.tenant, "GET", "/clusters/alpha/index_snapshot/policy", None).1
}

fn profile(fleet: &Fleet, body: Value) -> (u16, Value) {
    let path = format!("/admin/v1/projects/{}/storage-profiles", fleet.tenant.project_id);
    fleet.snapkeep.call("POST", &path, Some(body), Auth::Admin)
}

#[test]
fn refused_storage_settings_change_nothing_and_never_touch_another_cluster() {
    let fleet = fleet();
    let beta_before = fleet.storage.repository_objects("beta");
    let s3 = fleet.storage.s3.as_ref().unwrap();
    let bad_keys = json!({"name": "badkeys", "kind": "s3", "endpoint": s3.endpoint(), "bucket": TEST_BUCKET,
                          "access_key_id": S3_ACCESS_KEY, "secret_access_key": "not-the-secret"});

    // Wrong credentials: refused when the profile is created, and (stored unchecked) as an agency.
    let (status, body) = profile(&fleet, bad_keys.clone());
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("storage_refused")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("refused the credentials"), "{body}");
    let mut unchecked = bad_keys.clone();
    unchecked["verify"] = json!(false);
    let (status, body) = profile(&fleet, unchecked);
    assert_eq!(status, 201, "{body}");
    let (status, body) = settings(&fleet, json!({"agency": "badkeys"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.5130")), "{body}");

    // A missing bucket.
    let (status, body) = settings(&fleet, json!({"bucket": "no-such-bucket"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0048")), "{body}");

    // A base path that would put alpha's repository inside beta's.
    let (status, body) = settings(&fleet, json!({"base_path": "css_repository/beta"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("overlap"), "{body}");
    // The same place spelled another way.
    let (status, body) = settings(&fleet, json!({"base_path": "css_repository/./beta"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");
    // Beta's repository moves; its first snapshot stays where it was written, and that place
    // is still beta's.
    let moved = json!({"base_path": "elsewhere"});
    let (status, body) =
        fleet.snapkeep.css(&fleet.tenant, "POST", "/clusters/beta/index_snapshot/setting", Some(moved));
    assert_eq!(status, 200, "{body}");
    let (status, body) = settings(&fleet, json!({"base_path": "css_repository/beta"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("overlap"), "{body}");

    // An unwritable base path, on a filesystem profile: a file stands where the folder must go.
    let root = fleet.storage.repo_root.join("shared");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("blocked"), b"a file, not a folder").unwrap();
    let (status, body) = profile(&fleet, json!({"name": "nfs", "kind": "fs", "base_path": root.display().to_string()}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = settings(&fleet, json!({"agency": "nfs", "base_path": "blocked"}));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("not writable"), "{body}");

    let shown = policy(&fleet);
    assert_eq!(
        (&shown["agency"], &shown["bucket"], &shown["basePath"]),
        (&Value::Null, &Value::Null, &Value::Null),
        "{shown}"
    );
    assert_eq!(fleet.storage.repository_objects("beta"), beta_before, "beta's repository is untouched");

    // A profile in use cannot be deleted; alpha's repository is purged only when asked, alone.
    let path = format!("/admin/v1/projects/{}/storage-profiles/backup", fleet.tenant.project_id);
    let (status, _) = fleet.snapkeep.call("DELETE", &path, None, Auth::Admin);
    assert_eq!(status, 409);
    fleet.snapkeep.create_snapshot(&fleet.tenant, "alpha", "alpha-first", "orders");
    fleet.snapkeep.await_snapshot(&fleet.tenant, "alpha", "alpha-first", Duration::from_secs(60));
    assert!(!fleet.storage.repository_objects("alpha").is_empty());
    let purged = fleet.snapkeep.admin("DELETE", "/clusters/alpha?purge_storage=true", None);
    assert!(purged["purged_objects"].as_u64().unwrap() > 0, "{purged}");
    assert!(fleet.storage.repository_objects("alpha").is_empty(), "alpha's repository is gone");
    assert_eq!(fleet.storage.repository_objects("beta"), beta_before, "beta's repository is untouched");
    drop(fleet.beta);
}

#[test]
fn an_s3_server_going_away_mid_snapshot_fails_that_snapshot_only() {
    let mut fleet = fleet();
    let beta_before = fleet.storage.repository_objects("beta");
    fleet.alpha.set_rate(8 * 1024);
    fleet.snapkeep.create_snapshot(&fleet.tenant, "alpha", "during-outage", "orders");
    let running =
        |essim: &Essim| essim.call("GET", "/_snapshot/_status", None).1["snapshots"].as_array().map_or(0, Vec::len);
    wait_for("the snapshot to run", Duration::from_secs(20), || (running(&fleet.alpha) > 0).then_some(()));
    fleet.storage.s3.as_mut().unwrap().stop();
    wait_for("the cluster to give the snapshot up", Duration::from_secs(60), || {
        (running(&fleet.alpha) == 0).then_some(())
    });
    fleet.storage.s3.as_mut().unwrap().restart();
    let ended = fleet.snapkeep.await_snapshot(&fleet.tenant, "alpha", "during-outage", Duration::from_secs(60));
    assert_eq!(ended["status"], "FAILED", "{ended}");
    let catalog: BTreeMap<String, Vec<u8>> = fleet.storage.repository_objects("alpha");
    let listed = catalog.get("index.json").map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    assert!(!listed.contains("during-outage"), "the failed snapshot is not in the repository: {listed}");
    assert_eq!(fleet.storage.repository_objects("beta"), beta_before, "beta's repository is untouched");

    // With the server back, the next snapshot completes.
    fleet.alpha.set_rate(1024 * 1024);
    fleet.snapkeep.create_snapshot(&fleet.tenant, "alpha", "after-outage", "orders");
    let done = fleet.snapkeep.await_snapshot(&fleet.tenant, "alpha", "after-outage", Duration::from_secs(60));
    assert_eq!(done["status"], "COMPLETED", "{done}");
}

/// A snapshot stays where it was written when the cluster's repository moves (another base
/// path): it is still listed, restored from there with every document, and deleted there, while
/// new snapshots go to the new place.
#[test]
fn snapshots_taken_before_a_location_change_restore_and_delete_where_they_were_written() {
    let fleet = fleet();
    let (snapkeep, tenant, wait) = (&fleet.snapkeep, &fleet.tenant, Duration::from_secs(60));
    let before = snapkeep.create_snapshot(tenant, "alpha", "alpha-before", "orders");
    assert_eq!(snapkeep.await_snapshot(tenant, "alpha", "alpha-before", wait)["status"], "COMPLETED");
    snapkeep.create_snapshot(tenant, "alpha", "alpha-kept", "orders");
    assert_eq!(snapkeep.await_snapshot(tenant, "alpha", "alpha-kept", wait)["status"], "COMPLETED");
    let old_keys = fleet.storage.repository_keys("alpha");
    assert!(!old_keys.is_empty(), "written under the first base path");

    let (status, body) = settings(&fleet, json!({"base_path": "moved"}));
    assert_eq!(status, 200, "{body}");
    snapkeep.create_snapshot(tenant, "alpha", "alpha-after", "orders");
    assert_eq!(snapkeep.await_snapshot(tenant, "alpha", "alpha-after", wait)["status"], "COMPLETED");
    assert_eq!(fleet.storage.repository_keys("alpha"), old_keys, "the new snapshot went to the new place");

    let body = json!({"target_cluster": "alpha", "rename_pattern": "orders", "rename_replacement": "orders_before"});
    let path = format!("/clusters/alpha/index_snapshot/{before}/restore");
    let (status, answer) = snapkeep.css(tenant, "POST", &path, Some(body));
    assert_eq!(status, 201, "{answer}");
    let restored = snapkeep.await_restore(tenant, "alpha", "alpha-before", wait);
    assert_eq!(restored["restoreStatus"], "success", "{restored}");
    assert_eq!(fleet.alpha.count("orders_before"), 400, "every document came back");
    let body = json!({"target_cluster": "beta", "rename_pattern": "orders", "rename_replacement": "orders_of_alpha"});
    let (status, answer) = snapkeep.css(tenant, "POST", &path, Some(body));
    assert_eq!(status, 201, "{answer}");
    let restored = snapkeep.await_restore(tenant, "alpha", "alpha-before", wait);
    assert_eq!(restored["restoreStatus"], "success", "{restored}");
    assert_eq!(fleet.beta.count("orders_of_alpha"), 400, "and into another cluster, read-only");

    let (status, answer) = snapkeep.css(tenant, "DELETE", &format!("/clusters/alpha/index_snapshot/{before}"), None);
    assert_eq!(status, 200, "{answer}");
    wait_for("the earlier snapshot to be deleted", wait, || {
        snapkeep.backup(tenant, "alpha", "alpha-before").is_none().then_some(())
    });
    let catalog = fleet.storage.repository_objects("alpha").remove("index.json").unwrap_or_default();
    assert!(!String::from_utf8_lossy(&catalog).contains("alpha-before"), "deleted where it was written");
    assert!(fleet.storage.repository_keys("alpha").len() < old_keys.len(), "its data is gone from there");
    assert!(snapkeep.backup(tenant, "alpha", "alpha-after").is_some_and(|b| b["status"] == "COMPLETED"));

    // The old place still holds alpha-kept: no other cluster may move into it.
    let beta_into_old = json!({"base_path": format!("{TEST_BASE_PATH}/alpha")});
    let (status, body) =
        fleet.snapkeep.css(tenant, "POST", "/clusters/beta/index_snapshot/setting", Some(beta_into_old));
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");

    // A purge removes the cluster's objects in every place, and nothing of beta's.
    let beta_before = fleet.storage.repository_objects("beta");
    let purged = snapkeep.admin("DELETE", "/clusters/alpha?purge_storage=true", None);
    assert!(purged["purged_objects"].as_u64() > Some(0), "{purged}");
    assert_eq!(fleet.storage.repository_keys("alpha"), Vec::<String>::new(), "the old place is empty");
    let s3 = fleet.storage.s3.as_ref().unwrap();
    assert_eq!(s3.keys(TEST_BUCKET, "moved/alpha/"), Vec::<String>::new(), "the new place is empty");
    assert_eq!(fleet.storage.repository_objects("beta"), beta_before);
}
