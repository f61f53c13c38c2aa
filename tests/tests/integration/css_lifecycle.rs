//! The full CSS lifecycle through `huaweicloudsdkcss`, on each supported engine flavor and version
//! (essim), on real OpenSearch and Elasticsearch nodes, with the snapshots on a shared filesystem
//! and in a bucket of a real S3 server.

use snapkeep_tests::{
    ELASTICSEARCH_7, OPENSEARCH_2, OPENSEARCH_S3, Snapkeep, StorageKind, TestEngine, TestStorage, run_sdk_script,
};

const DOCS: usize = 120;

fn lifecycle(engine: TestEngine, kind: StorageKind) {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(kind, dir.path());
    let cluster = storage.start_engine(&engine, dir.path());
    cluster.load_index("logs-2026", 2, DOCS);
    let snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &[]);
    let tenant = snapkeep.tenant("lifecycle");
    storage.attach(&snapkeep, &tenant);
    let registered = snapkeep.register(&tenant, "search-1", &cluster);
    let (flavor, version) = (engine.flavor.as_str(), engine.version.as_str());
    // OpenSearch's S3 repository finishes the file it is uploading before an abort takes effect
    // (at 1 KB/s a delete of the running snapshot answered after 8 minutes): a gentler throttle
    // there, which still keeps the snapshot running for seconds.
    let running_throttle = if engine.real && kind == StorageKind::S3 { "50kb" } else { "1kb" };
    assert_eq!((registered["engine"].as_str(), registered["version"].as_str()), (Some(flavor), Some(version)));
    let out = run_sdk_script(
        "css_lifecycle.py",
        &snapkeep,
        &tenant,
        &[
            ("CLUSTER_URL", &cluster.url),
            ("CLUSTER_ID", "search-1"),
            ("INDEX", "logs-2026"),
            ("FLAVOR", flavor),
            ("VERSION", version),
            ("RUNNING_THROTTLE", running_throttle),
        ],
    );
    assert!(out.contains("lifecycle ok"), "{out}");
    // The snapshot data went to the cluster's own place (`<base path>/<cluster id>/`), and is gone.
    let objects = storage.repository_objects("search-1");
    assert!(
        storage.repository_catalog("search-1").is_some(),
        "repository written in the cluster's place: {:?}",
        objects.keys()
    );
    assert!(
        !objects.keys().any(|k| k.starts_with("snapshots/") || k.starts_with("snap-")),
        "no snapshot left after delete: {:?}",
        objects.keys()
    );
    let shown = snapkeep.admin("GET", "/clusters/search-1", None);
    assert_eq!(
        shown["repository"]["bytes"].as_u64(),
        Some(objects.values().map(|b| b.len() as u64).sum()),
        "the cluster view measures its repository: {shown}"
    );
}

#[test]
fn lifecycle_on_elasticsearch_6_8() {
    lifecycle(TestEngine::essim("elasticsearch", "6.8.23"), StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_7_10() {
    lifecycle(TestEngine::essim("elasticsearch", "7.10.2"), StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_7_10_in_s3() {
    lifecycle(TestEngine::essim("elasticsearch", "7.10.2"), StorageKind::S3);
}

#[test]
fn lifecycle_on_elasticsearch_8() {
    lifecycle(TestEngine::essim("elasticsearch", "8.11.1"), StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_8_in_s3() {
    lifecycle(TestEngine::essim("elasticsearch", "8.11.1"), StorageKind::S3);
}

#[test]
fn lifecycle_on_opensearch_1_3() {
    lifecycle(TestEngine::essim("opensearch", "1.3.14"), StorageKind::Fs);
}

#[test]
fn lifecycle_on_opensearch_2_in_s3() {
    lifecycle(TestEngine::essim("opensearch", "2.11.0"), StorageKind::S3);
}

/// essim as OpenSearch 2.11, or the real engine `SNAPKEEP_TEST_ENGINE` names.
#[test]
fn lifecycle_on_the_chosen_engine() {
    lifecycle(TestEngine::chosen("opensearch", "2.11.0"), StorageKind::Fs);
}

#[test]
fn lifecycle_on_real_opensearch_2() {
    lifecycle(TestEngine::real(OPENSEARCH_2), StorageKind::Fs);
}

#[test]
fn lifecycle_on_real_elasticsearch_7() {
    lifecycle(TestEngine::real(ELASTICSEARCH_7), StorageKind::Fs);
}

/// The S3 repository written and restored by real OpenSearch (its `repository-s3` plugin) on s3s-fs.
#[test]
fn lifecycle_on_real_opensearch_in_s3() {
    lifecycle(TestEngine::real(OPENSEARCH_S3), StorageKind::S3);
}
