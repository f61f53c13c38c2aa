//! Every CSS validation rule and tenancy boundary through `huaweicloudsdkcss`.

use snapkeep_tests::{Essim, EssimOptions, Snapkeep, run_sdk_script};

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
            ("ESSIM_URL", &essim.url),
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
}

#[test]
fn policy_settings_and_cluster_views_through_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("policies");
    snapkeep.register(&tenant, "search", &essim);
    let out = run_sdk_script("css_policy.py", &snapkeep, &tenant, &[("CLUSTER_ID", "search")]);
    assert!(out.contains("policy ok"), "{out}");
}
