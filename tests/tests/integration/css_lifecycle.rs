//! The full CSS lifecycle through `huaweicloudsdkcss`, on each supported engine flavor and version.

use snapkeep_tests::{Essim, EssimOptions, Snapkeep, run_sdk_script};

const DOCS: usize = 120;

fn lifecycle(flavor: &'static str, version: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new(flavor, version));
    essim.load_index("logs-2026", 2, DOCS);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("lifecycle");
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
    // The snapshot data went to the cluster's own folder under the storage root, and is gone.
    let folder = repo_root.join("search-1");
    assert!(folder.join("index.json").exists(), "repository written under {}", folder.display());
    assert_eq!(
        std::fs::read_dir(folder.join("snapshots")).map(|d| d.count()).unwrap_or(0),
        0,
        "no blobs left after delete"
    );
}

#[test]
fn lifecycle_on_elasticsearch_6_8() {
    lifecycle("elasticsearch", "6.8.23");
}

#[test]
fn lifecycle_on_elasticsearch_7_10() {
    lifecycle("elasticsearch", "7.10.2");
}

#[test]
fn lifecycle_on_elasticsearch_8() {
    lifecycle("elasticsearch", "8.11.1");
}

#[test]
fn lifecycle_on_opensearch_1_3() {
    lifecycle("opensearch", "1.3.14");
}

#[test]
fn lifecycle_on_opensearch_2() {
    lifecycle("opensearch", "2.11.0");
}
