//! What snapkeep spares the engines and its callers: a hundred creates on a cluster whose
//! repository is registered as wanted send no repository `PUT` (each compares `GET
//! _snapshot/<repo>` first); the CSS list of 10 000 snapshots, streamed from keyset pages of the
//! catalog, is byte for byte the answer the whole list was built as before it streamed.

use std::time::Duration;

use sha2::{Digest, Sha256};
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep, TestPostgres, psql, wait_for};

/// Repository registrations (`PUT /_snapshot/<repo>`) essim served.
fn repository_puts(essim: &Essim) -> usize {
    essim.requests().iter().filter(|(method, path, _)| method == "PUT" && path == "/_snapshot/snapkeep").count()
}

#[test]
fn a_hundred_creates_on_an_unchanged_cluster_register_no_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("logs", 1, 5);
    let env = [("SNAPKEEP_POLL_INTERVAL_MS", "100"), ("SNAPKEEP_RECONCILE_INTERVAL_MS", "50")];
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &env);
    let tenant = snapkeep.tenant("puts");
    snapkeep.register(&tenant, "os-1", &essim);
    snapkeep.create_snapshot(&tenant, "os-1", "first", "logs");
    assert_eq!(snapkeep.await_snapshot(&tenant, "os-1", "first", Duration::from_secs(60))["status"], "COMPLETED");
    let registered = repository_puts(&essim);
    assert!(registered >= 1, "the repository was registered once, at the cluster's registration or first create");

    for i in 0..100 {
        snapkeep.create_snapshot(&tenant, "os-1", &format!("again-{i:03}"), "logs");
    }
    wait_for("the hundred snapshots", Duration::from_secs(300), || {
        let done = snapkeep.backups(&tenant, "os-1").iter().filter(|b| b["status"] == "COMPLETED").count();
        (done == 101).then_some(())
    });
    assert_eq!(repository_puts(&essim), registered, "no create registered the repository again");
}

/// SHA-256 of the CSS list of the seeded cluster as snapkeep answered it whole, before its list
/// streamed (commit 56dff62): the streamed answer must be the same bytes.
const WHOLE_ANSWER_SHA256: &str = "931fe33fad83b251883de11b2bf8125771a7d08efcd79c754629b7621b76f32c";

/// Seeds cluster `golden` of `project` with 10 000 snapshots of every kind and status, pairs of
/// them created in the same millisecond (so the order's tie-break on id is exercised).
fn seed_golden(catalog: &str, project: &str) {
    psql(
        catalog,
        &format!(
            "INSERT INTO clusters (id, project_id, name, endpoint, region, flavor, version, created_at)
             VALUES ('golden', '{project}', 'golden', 'http://127.0.0.1:9/', 'r', 'elasticsearch', '7.10.2', 0)"
        ),
    );
    psql(
        catalog,
        &format!(
            "INSERT INTO snapshots (id, project_id, cluster_id, name, description, requested_indices, indices, kind,
                 status, repository, engine_version, total_shards, failed_shards, start_time_ms, end_time_ms,
                 failure_reason, deleting, restore_status, created_at, updated_at, scheduled_for, size_bytes)
             SELECT 's' || lpad(n::text, 5, '0'), '{project}', 'golden', 'snap-' || n,
                 CASE WHEN n % 7 = 0 THEN 'nightly \"quoted\" ' || chr(233) ELSE '' END,
                 'logs-*', CASE WHEN n % 5 = 0 THEN '[]' ELSE '[\"logs-1\",\"logs-2\"]' END,
                 CASE WHEN n % 3 = 0 THEN 'auto' ELSE 'manual' END,
                 CASE n % 4 WHEN 0 THEN 'FAILED' WHEN 1 THEN 'COMPLETED' WHEN 2 THEN 'PART_FAILED' ELSE 'BUILDING' END,
                 'snapkeep', '7.10.2', 2, n % 2, 1700000000000 + n * 1000, CASE WHEN n % 4 = 3 THEN NULL ELSE 1700000000500 + n * 1000 END,
                 CASE WHEN n % 4 = 0 THEN 'shard ' || n || ' failed' END, 0, 'none',
                 1700000000000 + (n / 2) * 1000, 1700000000000 + n * 1000,
                 CASE WHEN n % 3 = 0 THEN 1700000000000 + n * 1000 END, n * 1024
             FROM generate_series(1, 10000) n"
        ),
    );
}

#[test]
fn a_list_of_ten_thousand_snapshots_streams_the_bytes_of_the_whole_answer() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("golden_list");
    let snapkeep =
        Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[("SNAPKEEP_CATALOG_URL", catalog.as_str())]);
    let tenant = snapkeep.tenant("golden");
    seed_golden(&catalog, &tenant.project_id);
    let path = format!("/v1.0/{}/clusters/golden/index_snapshots", tenant.project_id);
    let (status, body) = snapkeep.call_raw("GET", &path, None, Auth::Huawei(&tenant));
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&body).expect("complete JSON");
    let backups = listed["backups"].as_array().expect("backups");
    assert_eq!(backups.len(), 10_000, "every snapshot");
    assert_eq!((backups[0]["id"].as_str(), backups[1]["id"].as_str()), (Some("s10000"), Some("s09998")));
    assert_eq!(hex::encode(Sha256::digest(&body)), WHOLE_ANSWER_SHA256, "{} bytes", body.len());
}
