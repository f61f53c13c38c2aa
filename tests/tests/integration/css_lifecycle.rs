//! The full CSS lifecycle through `huaweicloudsdkcss`, on each supported engine flavor and version,
//! with the snapshots on a shared filesystem and in a bucket of a real S3 server.

use snapkeep_tests::{Essim, Snapkeep, StorageKind, TestStorage, run_sdk_script};

const DOCS: usize = 120;

fn lifecycle(flavor: &'static str, version: &'static str, kind: StorageKind) {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(kind, dir.path());
    let essim = Essim::start(dir.path(), &storage.repo_root, &storage.essim_options(flavor, version));
    essim.load_index("logs-2026", 2, DOCS);
    let snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &[]);
    let tenant = snapkeep.tenant("lifecycle");
    storage.attach(&snapkeep, &tenant);
    let cluster = snapkeep.register(&tenant, "search-1", &essim);
    assert_eq!((cluster["engine"].as_str(), cluster["version"].as_str()), (Some(flavor), Some(version)));
    let out = run_sdk_script(
        "css_lifecycle.py",
        &snapkeep,
        &tenant,
        &[
            ("ESSIM_URL", &essim.url),
            ("CLUSTER_ID", "search-1"),
            ("INDEX", "logs-2026"),
            ("DOCS", &DOCS.to_string()),
            ("FLAVOR", flavor),
            ("VERSION", version),
        ],
    );
    assert!(out.contains("lifecycle ok"), "{out}");
    // The snapshot data went to the cluster's own place (`<base path>/<cluster id>/`), and is gone.
    let objects = storage.repository_objects("search-1");
    assert!(objects.contains_key("index.json"), "repository written in the cluster's place: {:?}", objects.keys());
    assert!(!objects.keys().any(|k| k.starts_with("snapshots/")), "no blobs left after delete: {:?}", objects.keys());
    let shown = snapkeep.admin("GET", "/clusters/search-1", None);
    assert_eq!(
        shown["repository"]["bytes"].as_u64(),
        Some(objects.values().map(|b| b.len() as u64).sum()),
        "the cluster view measures its repository: {shown}"
    );
}

#[test]
fn lifecycle_on_elasticsearch_6_8() {
    lifecycle("elasticsearch", "6.8.23", StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_7_10() {
    lifecycle("elasticsearch", "7.10.2", StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_7_10_in_s3() {
    lifecycle("elasticsearch", "7.10.2", StorageKind::S3);
}

#[test]
fn lifecycle_on_elasticsearch_8() {
    lifecycle("elasticsearch", "8.11.1", StorageKind::Fs);
}

#[test]
fn lifecycle_on_elasticsearch_8_in_s3() {
    lifecycle("elasticsearch", "8.11.1", StorageKind::S3);
}

#[test]
fn lifecycle_on_opensearch_1_3() {
    lifecycle("opensearch", "1.3.14", StorageKind::Fs);
}

#[test]
fn lifecycle_on_opensearch_2() {
    lifecycle("opensearch", "2.11.0", StorageKind::Fs);
}

#[test]
fn lifecycle_on_opensearch_2_in_s3() {
    lifecycle("opensearch", "2.11.0", StorageKind::S3);
}
