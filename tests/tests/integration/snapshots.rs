//! The one create every dialect calls, on a real SQLite catalog: an idempotency key answers a
//! repeated request with its first snapshot (also after a restart); a dialect serving one engine
//! family does not see another's clusters; names a dialect keeps unique per project are refused
//! across its clusters, also when many creates race for one; engines' naming rules hold for every
//! dialect.

use snapkeep_core::{
    Cluster, CoreError, CreateSnapshotInput, EngineFamily, EngineFlavor, EngineVersion, NameScope, NotFound,
    Scheduling, Store,
};
use snapkeep_tests::InProcess;

fn opened(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> InProcess {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z").unwrap().to_utc();
    rt.block_on(InProcess::open(dir, &dir.join("repos"), Scheduling::default(), at))
}

#[test]
fn an_idempotency_key_makes_one_snapshot_whatever_the_retries_and_restarts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sk = opened(&rt, dir.path());
    let project = rt.block_on(sk.project("keys"));
    rt.block_on(sk.offline_cluster(&project, "es-1"));
    let keyed = |name: &str, key: &str| CreateSnapshotInput {
        idempotency_key: Some(key.into()),
        ..CreateSnapshotInput::named(name)
    };
    let first = rt.block_on(sk.core.create_snapshot(&project.id, "es-1", keyed("nightly-01", "k-1"))).unwrap();
    let again = rt.block_on(sk.core.create_snapshot(&project.id, "es-1", keyed("nightly-01", "k-1"))).unwrap();
    assert_eq!(again.id, first.id, "a retry answers with the first snapshot, not a name conflict");

    let sk = rt.block_on(sk.restart());
    let retried = rt.block_on(sk.core.create_snapshot(&project.id, "es-1", keyed("nightly-01", "k-1"))).unwrap();
    assert_eq!(retried.id, first.id, "the key outlives a restart");
    let other = rt.block_on(sk.core.create_snapshot(&project.id, "es-1", keyed("nightly-02", "k-2"))).unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(rt.block_on(sk.snapshots("es-1")).len(), 2, "three requests with one key made one snapshot");

    let bad = rt.block_on(sk.core.create_snapshot(&project.id, "es-1", keyed("nightly-03", "a key")));
    assert!(matches!(bad, Err(CoreError::Invalid { field: "idempotency_key", .. })), "{bad:?}");
    assert_eq!(rt.block_on(sk.snapshots("es-1")).len(), 2, "a refused request writes nothing");
}

#[test]
fn families_scopes_and_engine_rules_hold_for_every_dialect() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sk = opened(&rt, dir.path());
    let project = rt.block_on(sk.project("warehouse"));
    rt.block_on(sk.offline_cluster(&project, "es-1"));
    for id in ["pg-1", "pg-2"] {
        rt.block_on(database_cluster(&sk, &project.id, id));
    }
    let create = |cluster: &str, input| rt.block_on(sk.core.create_snapshot(&project.id, cluster, input));
    let per_project = |name: &str| CreateSnapshotInput {
        scope: NameScope::Project,
        family: Some(EngineFamily::Database),
        ..CreateSnapshotInput::named(name)
    };

    let search = create("es-1", per_project("Nightly"));
    assert!(matches!(search, Err(CoreError::NotFound(NotFound::Cluster))), "{search:?}");
    create("pg-1", per_project("Nightly")).expect("a database snapshot");
    let taken = create("pg-2", per_project("NIGHTLY"));
    assert!(matches!(taken, Err(CoreError::SnapshotNameTaken(_))), "{taken:?}");
    create("pg-2", CreateSnapshotInput::named("Nightly")).expect("unique per cluster when the dialect says so");
    create("es-1", CreateSnapshotInput::named("nightly")).expect("another family's names do not count");

    let keyed = CreateSnapshotInput { idempotency_key: Some("retry-1".into()), ..per_project("Weekly") };
    let first = create("pg-1", keyed.clone()).expect("a keyed database snapshot");
    assert_eq!(create("pg-1", keyed.clone()).expect("its retry").id, first.id, "a retry is not a name clash");

    rt.block_on(sk.core.disable_snapshots(&project.id, "pg-2", false)).unwrap();
    let off = create("pg-2", per_project("Monthly"));
    assert!(matches!(off, Err(CoreError::SnapshotsDisabled)), "snapshots switched off, whatever the family: {off:?}");

    for bad in ["Upper", "_hidden", "a,b", "with space", ""] {
        let refused = create("es-1", CreateSnapshotInput::named(bad));
        assert!(matches!(refused, Err(CoreError::Invalid { field: "name", .. })), "{bad}: {refused:?}");
    }
    assert_eq!(rt.block_on(sk.snapshots("es-1")).len(), 1, "refused requests write nothing");
}

/// A PostgreSQL cluster in the catalog, never contacted.
async fn database_cluster(sk: &InProcess, project_id: &str, id: &str) {
    let cluster = Cluster {
        id: id.into(),
        project_id: project_id.into(),
        name: id.into(),
        endpoint: "postgres://127.0.0.1:9/postgres".into(),
        username: None,
        password_encrypted: None,
        region: "local".into(),
        flavor: EngineFlavor::Postgres,
        version: EngineVersion::new(16, 4, 0),
        created_at: sk.now(),
    };
    sk.store.insert_cluster(&cluster).await.expect("cluster");
}

/// A project-wide name is the catalog's constraint, not a read-then-write check: of many creates
/// racing for one name across clusters, exactly one wins and the others are told the name is taken.
#[test]
fn creates_racing_for_a_project_wide_name_make_one_snapshot() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sk = opened(&rt, dir.path());
    let project = rt.block_on(sk.project("race"));
    let clusters: Vec<String> = (0..4).map(|i| format!("pg-{i}")).collect();
    for id in &clusters {
        rt.block_on(database_cluster(&sk, &project.id, id));
    }
    let results = rt.block_on(async {
        let racers = (0..16).map(|i| {
            let (core, project_id, cluster) = (sk.core.clone(), project.id.clone(), clusters[i % 4].clone());
            let name = if i % 2 == 0 { "Nightly" } else { "NIGHTLY" };
            let input = CreateSnapshotInput {
                scope: NameScope::Project,
                family: Some(EngineFamily::Database),
                ..CreateSnapshotInput::named(name)
            };
            tokio::spawn(async move { core.create_snapshot(&project_id, &cluster, input).await })
        });
        let mut results = Vec::new();
        for racer in racers.collect::<Vec<_>>() {
            results.push(racer.await.unwrap());
        }
        results
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one create wins: {results:?}");
    assert!(
        results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, CoreError::SnapshotNameTaken(_))),
        "{results:?}"
    );
    let made: usize = clusters.iter().map(|c| rt.block_on(sk.snapshots(c)).len()).sum();
    assert_eq!(made, 1, "one snapshot in the catalog");
}
