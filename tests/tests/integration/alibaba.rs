//! The Alibaba dialect through both official SDKs: snapshot settings with Quartz schedules, and
//! CreateSnapshot idempotent on ClientToken, also across a restart of snapkeep.

use std::time::Duration;

use serde_json::json;
use snapkeep_tests::{Essim, EssimOptions, Snapkeep, StorageKind, TestStorage, run_sdk_script, wait_for};

#[test]
fn settings_and_client_token_snapshots_through_both_sdks() {
    settings_and_client_token_snapshots(StorageKind::Fs);
}

#[test]
fn settings_and_client_token_snapshots_in_s3() {
    settings_and_client_token_snapshots(StorageKind::S3);
}

fn settings_and_client_token_snapshots(kind: StorageKind) {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(kind, dir.path());
    let essim = Essim::start(dir.path(), &storage.repo_root, &storage.essim_options("elasticsearch", "7.10.2"));
    essim.load_index("orders", 1, 10);
    let mut snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &[]);
    let tenant = snapkeep.tenant("aliyun");
    storage.attach(&snapkeep, &tenant);
    snapkeep.register(&tenant, "es-cn-test01", &essim);
    let out =
        run_sdk_script("ali_snapshots.py", &snapkeep, &tenant, &[("INSTANCE_ID", "es-cn-test01"), ("PHASE", "first")]);
    assert!(out.contains("first ok"), "{out}");
    let names = |snapkeep: &Snapkeep| {
        snapkeep
            .backups(&tenant, "es-cn-test01")
            .into_iter()
            .map(|b| b["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let made = names(&snapkeep);
    assert_eq!(made.len(), 1, "three calls with one ClientToken made one snapshot: {made:?}");
    assert!(made[0].starts_with("es-cn-test01_2"), "named <instanceId>_<yyyyMMddHHmmss>: {made:?}");

    snapkeep.kill();
    snapkeep.restart();
    let out = run_sdk_script(
        "ali_snapshots.py",
        &snapkeep,
        &tenant,
        &[("INSTANCE_ID", "es-cn-test01"), ("PHASE", "after-restart")],
    );
    assert!(out.contains("after-restart ok"), "{out}");
    assert_eq!(names(&snapkeep), made, "no second snapshot after the restart");
    wait_for("the snapshot to complete", Duration::from_secs(30), || {
        (snapkeep.backups(&tenant, "es-cn-test01")[0]["status"] == "COMPLETED").then_some(())
    });
    assert_eq!(essim.snapshot_names("snapkeep"), made, "one snapshot on the cluster");
    let objects = storage.repository_objects("es-cn-test01");
    let catalog = String::from_utf8_lossy(&objects["index.json"]).into_owned();
    assert!(catalog.contains(&made[0]), "the snapshot is recorded in the instance's own place: {catalog}");
    assert!(objects.keys().any(|k| k.starts_with("snapshots/")), "with its data: {:?}", objects.keys());
}

#[test]
fn reference_repositories_through_both_sdks() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("aliyun");
    let other = snapkeep.tenant("someone-else");
    let mut essims = Vec::new();
    for (id, version, region, owner) in [
        ("es-a", "7.10.2", "cn-hangzhou", &tenant),
        ("es-b", "7.10.2", "cn-hangzhou", &tenant),
        ("es-c", "6.8.23", "cn-hangzhou", &tenant),
        ("es-d", "8.11.1", "cn-hangzhou", &tenant),
        ("es-e", "7.10.2", "cn-beijing", &tenant),
        ("es-x", "7.10.2", "cn-hangzhou", &other),
    ] {
        let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", version));
        let body =
            json!({"project_id": owner.project_id, "id": id, "name": id, "endpoint": essim.url, "region": region});
        snapkeep.admin("POST", "/clusters", Some(body));
        essims.push(essim);
    }
    // Each source has a repository folder with a snapshot in it.
    essims[1].load_index("orders", 1, 25);
    essims[2].load_index("orders", 1, 5);
    for (id, name) in [("es-b", "before-move"), ("es-c", "old-one")] {
        snapkeep.create_snapshot(&tenant, id, name, "orders");
        assert_eq!(snapkeep.await_snapshot(&tenant, id, name, Duration::from_secs(30))["status"], "COMPLETED");
    }
    let out = run_sdk_script(
        "ali_repos.py",
        &snapkeep,
        &tenant,
        &[("CLUSTER_URL", &essims[0].url), ("REPO_ROOT", repo_root.to_str().unwrap()), ("SNAPSHOT", "before-move")],
    );
    assert!(out.contains("repos ok"), "{out}");
    assert!(
        essims[5].requests().iter().all(|(_, path, _)| !path.starts_with("/_snapshot")),
        "another tenant's cluster was never touched"
    );
}
