//! Fleet benchmark: a catalog of 1 000 clusters and 100 000 completed snapshots (with their
//! finished operations, one in ten failed), seeded straight into a PostgreSQL catalog; prints the
//! latency of the fleet view (`GET /admin/v1/fleet`), of one cluster's first page of snapshots,
//! of the console's fleet and cluster pages (against their 300 ms target), and the time to page through every snapshot of the fleet with `GET /admin/v1/snapshots`, each
//! as a ratio to `/healthz` measured in the same run.
//!
//! Build the binaries first, then run:
//!   cargo build --release -p snapkeep && cargo bench -p snapkeep-tests --bench fleet
//! Scale with SNAPKEEP_BENCH_CLUSTERS (default 1000) and SNAPKEEP_BENCH_SNAPSHOTS_PER_CLUSTER
//! (default 100).

use std::time::{Duration, Instant};

use snapkeep_tests::{Auth, Snapkeep, TestPostgres, psql};

const SAMPLES: usize = 20;
/// What a console page may take to render (issue 18).
const PAGE_TARGET_MS: f64 = 300.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Seeds `clusters` clusters of one project, each with `per_cluster` completed snapshots made by
/// finished creates, every tenth failed.
fn seed(catalog: &str, clusters: usize, per_cluster: usize) {
    psql(catalog, "INSERT INTO projects (id, name, created_at) VALUES ('p-bench', 'bench', 0)");
    psql(
        catalog,
        &format!(
            "INSERT INTO clusters (id, project_id, name, endpoint, region, flavor, version, created_at)
             SELECT 'c' || g, 'p-bench', 'c' || g, 'http://127.0.0.1:9/', 'r', 'elasticsearch', '7.10.2', 0
             FROM generate_series(1, {clusters}) g"
        ),
    );
    let now_ms = chrono::Utc::now().timestamp_millis();
    psql(
        catalog,
        &format!(
            "INSERT INTO snapshots (id, project_id, cluster_id, name, description, requested_indices, indices,
                 kind, status, repository, start_time_ms, end_time_ms, failure_reason, deleting, restore_status,
                 created_at, updated_at, size_bytes)
             SELECT 's' || c || '-' || n, 'p-bench', 'c' || c, 'snap-' || n, '', '', '[\"logs\"]',
                 'manual', CASE WHEN n % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, 'snapkeep',
                 {now_ms} - (n * 60000), {now_ms} - (n * 60000) + 5000,
                 CASE WHEN n % 10 = 0 THEN 'failed in the bench' END, 0, 'none',
                 {now_ms} - (n * 60000), {now_ms} - (n * 60000) + 5000, 1048576
             FROM generate_series(1, {clusters}) c, generate_series(1, {per_cluster}) n"
        ),
    );
    psql(
        catalog,
        "INSERT INTO operations (id, kind, snapshot_id, cluster_id, phase, attempts, next_run_at, deadline,
             progress_at, last_error, created_at, finished_at, lane)
         SELECT 'o' || substr(id, 2), 'create_snapshot', id, cluster_id,
             CASE WHEN status = 'FAILED' THEN 'failed' ELSE 'succeeded' END, 0, created_at, created_at,
             created_at, failure_reason, created_at, updated_at, 'steps'
         FROM snapshots",
    );
    psql(catalog, "ANALYZE");
}

/// Median and 95th percentile of `SAMPLES` calls of `path`, in milliseconds.
fn latency(snapkeep: &Snapkeep, path: &str) -> (f64, f64) {
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let (status, body) = snapkeep.call("GET", path, None, Auth::Admin);
            assert_eq!(status, 200, "{path}: {body}");
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[SAMPLES / 2], samples[SAMPLES * 95 / 100])
}

/// Pages through every snapshot of the fleet, 1 000 at a time: (snapshots, pages, seconds).
fn page_through(snapkeep: &Snapkeep) -> (usize, usize, f64) {
    let (start, mut after, mut seen, mut pages) = (Instant::now(), None::<String>, 0, 0);
    loop {
        let path = match &after {
            Some(cursor) => format!("/admin/v1/snapshots?limit=1000&after={cursor}"),
            None => "/admin/v1/snapshots?limit=1000".to_owned(),
        };
        let (status, page) = snapkeep.call("GET", &path, None, Auth::Admin);
        assert_eq!(status, 200, "{page}");
        seen += page["snapshots"].as_array().expect("snapshots").len();
        pages += 1;
        match page["next"].as_str() {
            Some(next) if pages < 100_000 => after = Some(next.to_owned()),
            _ => break,
        }
    }
    (seen, pages, start.elapsed().as_secs_f64())
}

fn main() {
    let (clusters, per_cluster) =
        (env_or("SNAPKEEP_BENCH_CLUSTERS", 1000), env_or("SNAPKEEP_BENCH_SNAPSHOTS_PER_CLUSTER", 100));
    let dir = tempfile::tempdir().expect("temp dir");
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("fleet_bench");
    let env = [("SNAPKEEP_CATALOG_URL", catalog.as_str()), ("SNAPKEEP_LOG", "warn")];
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &env);
    let seeding = Instant::now();
    seed(&catalog, clusters, per_cluster);
    println!(
        "seeded {clusters} clusters and {} snapshots in {:.1} s",
        clusters * per_cluster,
        seeding.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(1));

    let (floor, _) = latency(&snapkeep, "/healthz");
    let (fleet, fleet_p95) = latency(&snapkeep, "/admin/v1/fleet");
    let (page, page_p95) = latency(&snapkeep, "/admin/v1/clusters/c1/snapshots?limit=100");
    let (metrics, metrics_p95) = latency(&snapkeep, "/metrics");
    let (console_fleet, console_fleet_p95) = latency(&snapkeep, "/console/");
    let (console_cluster, console_cluster_p95) = latency(&snapkeep, "/console/clusters/c1");
    let (seen, pages, seconds) = page_through(&snapkeep);
    assert_eq!(seen, clusters * per_cluster, "every snapshot paged through once");
    println!("/healthz                              median {floor:8.2} ms");
    println!(
        "fleet view ({clusters} clusters)           median {fleet:8.2} ms  p95 {fleet_p95:8.2} ms  ({:.0}x /healthz)",
        fleet / floor
    );
    println!(
        "one cluster's first 100 snapshots     median {page:8.2} ms  p95 {page_p95:8.2} ms  ({:.0}x /healthz)",
        page / floor
    );
    println!(
        "metrics ({clusters} clusters)              median {metrics:8.2} ms  p95 {metrics_p95:8.2} ms  ({:.0}x /healthz)",
        metrics / floor
    );
    for (page, median, p95) in [
        ("console fleet page", console_fleet, console_fleet_p95),
        ("console cluster page", console_cluster, console_cluster_p95),
    ] {
        let verdict = if median < PAGE_TARGET_MS { "under" } else { "OVER" };
        println!(
            "{page:<22} median {median:8.2} ms  p95 {p95:8.2} ms  ({:.0}x /healthz; {verdict} the {PAGE_TARGET_MS} ms target)",
            median / floor
        );
    }
    println!(
        "all {seen} snapshots in {pages} pages of 1000: {seconds:.2} s ({:.1} ms a page)",
        seconds * 1000.0 / pages as f64
    );
}
