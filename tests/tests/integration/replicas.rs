//! Several snapkeep processes on one PostgreSQL catalog, with no leader and nothing between them:
//! an operation a replica held when it died is finished by another once its lease lapses, without
//! a second engine call; requests alternating between replicas each become one snapshot; and a
//! signed request replayed to another replica is refused there too.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use snapkeep_tests::signers::Wire;
use snapkeep_tests::{Essim, EssimOptions, Snapkeep, TestPostgres};

/// Requests essim received with `method` on `path`.
fn sent(essim: &Essim, method: &str, path: &str) -> usize {
    essim.requests().iter().filter(|(m, p, _)| m == method && p == path).count()
}

/// A second replica's data directory, with the first's master key and admin token: what an
/// operator gives every replica.
fn replica_of(first: &Snapkeep, dir: &Path) {
    let data = dir.join("snapkeep");
    std::fs::create_dir_all(&data).unwrap();
    for file in ["master.key", "admin.token"] {
        std::fs::copy(first.data_dir.join(file), data.join(file)).unwrap();
    }
}

#[test]
fn replicas_on_one_postgres_catalog_share_work_and_nonces_and_take_over_a_dead_ones_operations() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let postgres = TestPostgres::shared_or_start();
    let database = format!("replicas_{}", uuid::Uuid::new_v4().simple());
    postgres.create_database(&database);
    let catalog = postgres.url(&database);
    let shared = [("SNAPKEEP_CATALOG_URL", catalog.as_str()), ("SNAPKEEP_LEASE_SECS", "5")];
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("logs", 1, 20);

    // Replica A takes a create, sends it to the engine, and dies before it records anything.
    let crashing = [shared.as_slice(), &[("SNAPKEEP_FAILPOINT", "after-create-sent")]].concat();
    let mut a = Snapkeep::start(&dir.path().join("a"), &repo_root, &crashing);
    let tenant = a.tenant("fleet");
    a.register(&tenant, "es-1", &essim);
    a.create_snapshot(&tenant, "es-1", "taken-over", "logs");
    a.await_crash(Duration::from_secs(30));

    // Replica B, started afterwards on the same catalog, finishes it once A's lease lapses.
    replica_of(&a, &dir.path().join("b"));
    let b = Snapkeep::start(&dir.path().join("b"), &repo_root, &shared);
    let finished = b.await_snapshot(&tenant, "es-1", "taken-over", Duration::from_secs(60));
    assert_eq!(finished["status"], "COMPLETED", "{finished}");
    assert_eq!(sent(&essim, "PUT", "/_snapshot/snapkeep/taken-over"), 1, "the engine was asked once");

    // Both replicas serve and work: creates alternate between them, each makes one snapshot.
    a.restart_with(&shared);
    let names: Vec<String> = (0..8).map(|i| format!("alternate-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        [&a, &b][i % 2].create_snapshot(&tenant, "es-1", name, "logs");
    }
    for (i, name) in names.iter().enumerate() {
        let other = [&b, &a][i % 2];
        assert_eq!(other.await_snapshot(&tenant, "es-1", name, Duration::from_secs(60))["status"], "COMPLETED");
        assert_eq!(sent(&essim, "PUT", &format!("/_snapshot/snapkeep/{name}")), 1, "{name} sent once");
    }
    let listed = |replica: &Snapkeep| {
        let mut names: Vec<String> =
            replica.backups(&tenant, "es-1").iter().map(|b| b["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(listed(&a), listed(&b), "one catalog, whichever replica answers");
    assert_eq!(listed(&a).len(), 9);

    // A request signed once is taken once: its replay to the other replica is refused.
    let mut once = Wire::plain("POST", "/openapi/instances/es-1/snapshots", Vec::new());
    once.set("x-acs-action", "CreateSnapshot");
    once.sign_roa(tenant.key(), Utc::now(), Some(&uuid::Uuid::new_v4().to_string()));
    assert_eq!(a.send(&once).0, 200);
    let (status, refused) = b.send(&once);
    assert_eq!((status, refused["Code"].as_str()), (400, Some("SignatureNonceUsed")), "{refused}");
}
