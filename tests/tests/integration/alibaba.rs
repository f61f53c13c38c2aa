//! The Alibaba dialect through both official SDKs: snapshot settings with Quartz schedules,
//! CreateSnapshot idempotent on ClientToken, also across a restart of snapkeep, and reference
//! repositories; on essim and on real Elasticsearch.

use std::time::Duration;

use serde_json::json;
use snapkeep_core::Scheduling;
use snapkeep_tests::{
    ELASTICSEARCH_7, InProcess, SearchCluster, Snapkeep, StorageKind, TestEngine, TestStorage, run_sdk_script, wait_for,
};

#[test]
fn settings_and_client_token_snapshots_through_both_sdks() {
    settings_and_client_token_snapshots(TestEngine::chosen("elasticsearch", "7.10.2"), StorageKind::Fs);
}

#[test]
fn settings_and_client_token_snapshots_in_s3() {
    settings_and_client_token_snapshots(TestEngine::essim("elasticsearch", "7.10.2"), StorageKind::S3);
}

#[test]
fn settings_and_client_token_snapshots_on_real_elasticsearch() {
    settings_and_client_token_snapshots(TestEngine::real(ELASTICSEARCH_7), StorageKind::Fs);
}

fn settings_and_client_token_snapshots(engine: TestEngine, kind: StorageKind) {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(kind, dir.path());
    let cluster = storage.start_engine(&engine, dir.path());
    cluster.load_index("orders", 1, 10);
    let mut snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &[]);
    let tenant = snapkeep.tenant("aliyun");
    storage.attach(&snapkeep, &tenant);
    snapkeep.register(&tenant, "es-cn-test01", &cluster);
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
    assert_eq!(cluster.snapshot_names("snapkeep"), made, "one snapshot on the cluster");
    let catalog = storage.repository_catalog("es-cn-test01").expect("the instance's repository");
    assert!(catalog.contains(&made[0]), "the snapshot is recorded in the instance's own place: {catalog}");
    let objects = storage.repository_keys("es-cn-test01");
    assert!(
        objects.iter().any(|k| k.starts_with("snapshots/") || k.starts_with("indices/")),
        "with its data: {objects:?}"
    );
}

#[test]
fn reference_repositories_through_both_sdks() {
    reference_repositories(TestEngine::essim("elasticsearch", "7.10.2"), TestEngine::essim("elasticsearch", "6.8.23"));
}

/// The reference repository between two real clusters: the target restores from it and the
/// engine itself refuses a write through it.
#[test]
fn reference_repositories_between_real_clusters() {
    reference_repositories(TestEngine::real(ELASTICSEARCH_7), TestEngine::real(("elasticsearch", "7.10.2")));
}

/// `engine` runs the target (es-a) and the source (es-b), `older` the older source the target
/// reads (es-c); the sources only ever refused, newer, in another region or of another tenant,
/// are essim.
fn reference_repositories(engine: TestEngine, older: TestEngine) {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("aliyun");
    let other = snapkeep.tenant("someone-else");
    let mut clusters = Vec::new();
    let version = engine.version.as_str();
    for (id, engine, region, owner) in [
        ("es-a", engine.clone(), "cn-hangzhou", &tenant),
        ("es-b", engine.clone(), "cn-hangzhou", &tenant),
        ("es-c", older, "cn-hangzhou", &tenant),
        ("es-d", TestEngine::essim("elasticsearch", "8.11.1"), "cn-hangzhou", &tenant),
        ("es-e", TestEngine::essim("elasticsearch", version), "cn-beijing", &tenant),
        ("es-x", TestEngine::essim("elasticsearch", version), "cn-hangzhou", &other),
    ] {
        let cluster = engine.start(dir.path(), &repo_root, &[]);
        let body =
            json!({"project_id": owner.project_id, "id": id, "name": id, "endpoint": cluster.url, "region": region});
        snapkeep.admin("POST", "/clusters", Some(body));
        clusters.push(cluster);
    }
    // Registration checks each cluster's repository; nothing after it may touch another tenant's.
    let SearchCluster::Essim(other_tenants) = &clusters[5] else { unreachable!("es-x is essim") };
    let registered = other_tenants.requests().len();
    // Each source has a repository folder with a snapshot in it.
    clusters[1].load_index("orders", 1, 25);
    clusters[2].load_index("orders", 1, 5);
    for (id, name) in [("es-b", "before-move"), ("es-c", "old-one")] {
        snapkeep.create_snapshot(&tenant, id, name, "orders");
        assert_eq!(snapkeep.await_snapshot(&tenant, id, name, Duration::from_secs(30))["status"], "COMPLETED");
    }
    let out = run_sdk_script(
        "ali_repos.py",
        &snapkeep,
        &tenant,
        &[("CLUSTER_URL", &clusters[0].url), ("REPO_ROOT", repo_root.to_str().unwrap()), ("SNAPSHOT", "before-move")],
    );
    assert!(out.contains("repos ok"), "{out}");
    assert!(
        other_tenants.requests()[registered..].iter().all(|(_, path, _)| !path.starts_with("/_snapshot")),
        "another tenant's cluster was never touched"
    );
}

/// Distinct CreateSnapshot requests in the same second never collide: the second takes the next
/// free second's name, in Alibaba's format; a repeated ClientToken still answers with its first.
#[test]
fn instance_snapshots_in_the_same_second_get_distinct_names() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:30:00Z").unwrap().to_utc();
    let sk = rt.block_on(InProcess::open(dir.path(), &dir.path().join("repos"), Scheduling::default(), at));
    let project = rt.block_on(sk.project("aliyun"));
    rt.block_on(sk.offline_cluster(&project, "es-cn-same"));
    let create = |token: Option<&str>| {
        let input = snapkeep_api_alibaba::instance_snapshot(token.map(str::to_owned));
        rt.block_on(sk.core.create_snapshot(&project.id, "es-cn-same", input))
    };
    let first = create(Some("token-a")).expect("first");
    let second = create(Some("token-b")).expect("another token in the same second");
    let third = create(None).expect("no token, same second");
    let names = [&first.name, &second.name, &third.name];
    assert_eq!(names, ["es-cn-same_20261123003000", "es-cn-same_20261123003001", "es-cn-same_20261123003002"]);
    assert_eq!(create(Some("token-b")).expect("repeat").id, second.id, "a repeated token answers with its first");
    assert_eq!(rt.block_on(sk.snapshots("es-cn-same")).len(), 3);
}

/// One cluster, two dialects, one schedule: a CSS daily policy shows in Alibaba terms as the
/// Quartz expression with the same slots, and an Alibaba schedule change keeps the CSS prefix,
/// indices and retention it does not mention.
#[test]
fn a_css_schedule_reads_the_same_in_alibaba_and_an_alibaba_change_keeps_the_rest() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:30:00Z").unwrap().to_utc();
    let sk = rt.block_on(InProcess::open(dir.path(), &dir.path().join("repos"), Scheduling::default(), at));
    let project = rt.block_on(sk.project("both"));
    rt.block_on(sk.offline_cluster(&project, "es-cn-both"));
    let css = snapkeep_api_css::PolicyInput {
        enable: Some("true".into()),
        prefix: Some("nightly".into()),
        frequency: Some("DAY".into()),
        period: Some("00:00 GMT+08:00".into()),
        keepday: Some(30),
        indices: Some("logs-*".into()),
        ..Default::default()
    };
    rt.block_on(sk.core.set_policy(&project.id, "es-cn-both", css.change().unwrap())).unwrap();
    let (_, config) = rt.block_on(sk.core.snapshot_config(&project.id, "es-cn-both")).unwrap();
    assert_eq!(config.policy.schedule.as_quartz(), "0 0 16 ? * * *", "midnight at +08:00 is 16:00 UTC");

    let quartz = snapkeep_core::QuartzCron::parse("0 0 3 ? * * *").unwrap();
    let schedule = Some(snapkeep_core::Schedule::Quartz(Box::new(quartz)));
    let unused_defaults = |_: &snapkeep_core::Cluster| panic!("the policy set before is kept");
    let changed = rt.block_on(sk.core.set_schedule(&project.id, "es-cn-both", (true, schedule), unused_defaults));
    let policy = changed.unwrap().policy;
    assert_eq!(policy.schedule.as_quartz(), "0 0 3 ? * * *");
    assert_eq!(
        (policy.prefix.as_str(), policy.indices.as_str(), policy.keepday),
        ("nightly", "logs-*", 30),
        "what the Alibaba call did not mention is kept"
    );
    let fresh = rt.block_on(sk.core.set_schedule(&project.id, "es-cn-both", (false, None), unused_defaults)).unwrap();
    assert!(!fresh.policy.enabled && fresh.policy.prefix == "nightly");
}
