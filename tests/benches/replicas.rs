//! Replica benchmark: operations completed per second by 1, 2 and 3 snapkeep processes sharing
//! one PostgreSQL catalog (every operation a real snapshot on one of essim's clusters, requests
//! spread over the replicas), and requests per second of a read endpoint (the admin cluster
//! list) against a SQLite and a PostgreSQL catalog. Prints the figures and their ratios, all
//! measured in the same run, on this machine (the replicas share its cores).
//!
//! Build the binaries first, then run:
//!   cargo build --release -p essim -p snapkeep && cargo bench -p snapkeep-tests --bench replicas
//! Scale with SNAPKEEP_BENCH_OPERATIONS (default 300) and SNAPKEEP_BENCH_READS (default 4000).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep, Tenant, TestPostgres, psql, wait_for};

const CLUSTERS: usize = 10;
const READERS: usize = 8;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` replicas on one catalog.
fn replicas(dir: &Path, root: &Path, env: &[(&str, &str)], n: usize) -> Vec<Snapkeep> {
    let first = Snapkeep::start(&dir.join("r0"), root, env);
    let others: Vec<Snapkeep> = (1..n).map(|i| first.start_replica(&dir.join(format!("r{i}")), env)).collect();
    std::iter::once(first).chain(others).collect()
}

/// A tenant with essim's clusters registered.
fn tenant_with_clusters(snapkeep: &Snapkeep, essim: &Essim) -> Tenant {
    let tenant = snapkeep.tenant("bench");
    for i in 0..CLUSTERS {
        let cluster = json!({"project_id": tenant.project_id, "id": format!("c{i}"), "name": format!("c{i}"),
                             "endpoint": format!("{}/c{i}", essim.url)});
        snapkeep.admin("POST", "/clusters", Some(cluster));
    }
    tenant
}

/// Creates `operations` snapshots through the replicas in turn; seconds until all completed.
fn completed_in(replicas: &[Snapkeep], tenant: &Tenant, catalog: &str, operations: usize) -> f64 {
    let start = Instant::now();
    for i in 0..operations {
        let replica = &replicas[i % replicas.len()];
        let path = format!("/clusters/c{}/index_snapshot", i % CLUSTERS);
        let (status, body) = replica.css(tenant, "POST", &path, Some(json!({"name": format!("bench-{i:05}")})));
        assert_eq!(status, 201, "{body}");
    }
    let done = "SELECT COUNT(*) FROM operations WHERE phase = 'succeeded'";
    wait_for("every create to complete", Duration::from_secs(900), || {
        (psql(catalog, done) == operations.to_string()).then_some(())
    });
    start.elapsed().as_secs_f64()
}

/// Requests per second of `GET /admin/v1/clusters` from `READERS` threads, `reads` in all.
fn reads_per_second(snapkeep: &Snapkeep, reads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..READERS {
            scope.spawn(|| {
                for _ in 0..reads / READERS {
                    let (status, _) = snapkeep.call("GET", "/admin/v1/clusters", None, Auth::Admin);
                    assert_eq!(status, 200);
                }
            });
        }
    });
    (reads / READERS * READERS) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let (operations, reads) = (env_or("SNAPKEEP_BENCH_OPERATIONS", 300), env_or("SNAPKEEP_BENCH_READS", 4000));
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("repos");
    let mut options = EssimOptions::new("opensearch", "2.11.0");
    options.clusters = CLUSTERS;
    options.rate_bytes_per_sec = 1 << 30;
    let essim = Essim::start(dir.path(), &root, &options);
    let postgres = TestPostgres::shared_or_start();

    let mut baseline = 0.0;
    for n in 1..=3 {
        let catalog = postgres.fresh_database("bench");
        let env = [("SNAPKEEP_CATALOG_URL", catalog.as_str())];
        let fleet = replicas(&dir.path().join(format!("fleet{n}")), &root, &env, n);
        let tenant = tenant_with_clusters(&fleet[0], &essim);
        let rate = operations as f64 / completed_in(&fleet, &tenant, &catalog, operations);
        if n == 1 {
            baseline = rate;
        }
        println!("{n} replica(s): {rate:.1} operations completed/s ({:.2}x one replica)", rate / baseline);
    }

    let sqlite = Snapkeep::start(&dir.path().join("sqlite"), &root, &[]);
    tenant_with_clusters(&sqlite, &essim);
    let on_sqlite = reads_per_second(&sqlite, reads);
    let catalog = postgres.fresh_database("bench");
    let on_postgres = replicas(&dir.path().join("reads"), &root, &[("SNAPKEEP_CATALOG_URL", catalog.as_str())], 1);
    tenant_with_clusters(&on_postgres[0], &essim);
    let on_pg = reads_per_second(&on_postgres[0], reads);
    println!(
        "GET /admin/v1/clusters, {READERS} clients: SQLite {on_sqlite:.0} req/s, PostgreSQL {on_pg:.0} req/s \
         ({:.2}x SQLite)",
        on_pg / on_sqlite
    );
}
