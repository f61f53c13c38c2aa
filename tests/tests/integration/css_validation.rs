//! Every CSS validation rule and tenancy boundary through `huaweicloudsdkcss`.

use serde_json::json;
use snapkeep_tests::{Essim, EssimOptions, S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, Snapkeep, run_sdk_script};

#[test]
fn every_rule_answers_its_css_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.17.0"));
    let other_essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.17.0"));
    essim.load_index("logs-1", 1, 40);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("tenant-a");
    let other = snapkeep.tenant("tenant-b");
    snapkeep.register(&tenant, "cluster-a", &essim);
    snapkeep.register(&other, "cluster-b", &other_essim);
    let puts_before = other_essim.requests().len();
    let out = run_sdk_script(
        "css_validation.py",
        &snapkeep,
        &tenant,
        &[
            ("CLUSTER_URL", &essim.url),
            ("CLUSTER_ID", "cluster-a"),
            ("OTHER_CLUSTER_ID", "cluster-b"),
            ("OTHER_PROJECT", &other.project_id),
            ("OTHER_AK", &other.access_key),
            ("OTHER_SK", &other.secret_key),
            ("INDEX", "logs-1"),
        ],
    );
    assert!(out.contains("validation ok"), "{out}");
    assert_eq!(other_essim.requests().len(), puts_before, "tenant B's cluster was never contacted");
    let snapshot_puts =
        essim.requests().into_iter().filter(|(m, p, _)| m == "PUT" && p.starts_with("/_snapshot/snapkeep/")).count();
    assert_eq!(snapshot_puts, 1, "only the valid snapshot reached the cluster");

    // A method a path does not take is refused in CSS's own error format, with its Allow header's
    // status (the router alone answered an empty body).
    let (status, refused) = snapkeep.css(&tenant, "PATCH", "/clusters/cluster-a/index_snapshots", None);
    assert_eq!(status, 405, "{refused}");
    assert_eq!(refused["errCode"], "CSS.0001", "{refused}");
    assert!(refused["externalMessage"].as_str().unwrap_or_default().contains("PATCH"), "{refused}");
}

#[test]
fn policy_settings_and_cluster_views_through_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    // The settings name an agency: a storage profile on a real S3 server with bucket es-backup.
    let s3 = S3Server::start(dir.path());
    s3.create_bucket("es-backup");
    let options =
        EssimOptions { settings: s3.engine_settings("usearch"), ..EssimOptions::new("elasticsearch", "7.10.2") };
    let essim = Essim::start(dir.path(), &repo_root, &options);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("policies");
    snapkeep.admin(
        "POST",
        &format!("/projects/{}/storage-profiles", tenant.project_id),
        Some(json!({"name": "usearch", "kind": "s3", "endpoint": s3.endpoint(), "bucket": "es-backup",
                    "access_key_id": S3_ACCESS_KEY, "secret_access_key": S3_SECRET_KEY})),
    );
    snapkeep.register(&tenant, "search", &essim);
    let out = run_sdk_script("css_policy.py", &snapkeep, &tenant, &[("CLUSTER_ID", "search")]);
    assert!(out.contains("policy ok"), "{out}");

    // The throttles of the basic settings reach the engine's repository settings.
    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        "/clusters/search/index_snapshot/setting",
        Some(json!({"max_snapshot_bytes_per_seconds": "100mb", "maxRestoreBytesPerSeconds": 20})),
    );
    assert_eq!(status, 200, "{body}");
    essim.load_index("logs", 1, 5);
    snapkeep.create_snapshot(&tenant, "search", "throttled", "logs");
    snapkeep.await_snapshot(&tenant, "search", "throttled", std::time::Duration::from_secs(30));
    let (_, repositories) = essim.call("GET", "/_snapshot/snapkeep", None);
    let settings = &repositories["snapkeep"]["settings"];
    assert_eq!(
        (settings["max_snapshot_bytes_per_sec"].as_str(), settings["max_restore_bytes_per_sec"].as_str()),
        (Some("100mb"), Some("20b")),
        "{repositories}"
    );
}

#[test]
fn disabling_with_delete_auto_in_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("disable");
    snapkeep.register(&tenant, "os", &essim);
    let path = "/clusters/os/index_snapshots";
    let (status, body) = snapkeep.css(&tenant, "DELETE", &format!("{path}?deleteAuto=maybe"), None);
    assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{body}");
    let (status, _) = snapkeep.css(&tenant, "DELETE", &format!("{path}?deleteAuto=true"), None);
    assert_eq!(status, 200);
    let (status, body) = snapkeep.css(&tenant, "DELETE", path, None);
    assert_eq!((status, body["error_code"].as_str()), (415, Some("CSS.0004")), "{body}");
    let (status, body) =
        snapkeep.css(&tenant, "POST", "/clusters/os/index_snapshot", Some(json!({"name": "while-off"})));
    assert_eq!((status, body["error_code"].as_str()), (415, Some("CSS.0004")), "no snapshots while disabled: {body}");
}
