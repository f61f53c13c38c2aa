//! API benchmark (issue 19), every figure a ratio measured in the same run:
//!
//! 1. `wrk` (2 threads, 32 connections, `SNAPKEEP_BENCH_SECONDS` each, default 5) against a bare
//!    axum server (in this process), snapkeep's `/healthz`, the admin cluster list, and signed
//!    CSS lists of 0 and 10 snapshots; three runs, with the goals checked on each.
//! 2. The CSS list of 1 000, 10 000 and 100 000 snapshots (seeded straight into the SQLite
//!    catalog): its time, size, and the service's resident memory before and after; then 8
//!    concurrent lists of 10 000 and how far they raise the resident memory against one answer.
//!
//! Needs `wrk` (a Debian package) and the release build:
//!   cargo build --release -p snapkeep && cargo bench -p snapkeep-tests --bench api
//! (`scripts/bench` runs this and the other benchmarks.)

use std::process::Command;
use std::time::{Duration, Instant};

use snapkeep_tests::signers::Wire;
use snapkeep_tests::{Auth, Snapkeep, Tenant};

/// Runs of the request-rate table.
const RUNS: usize = 3;

fn seconds() -> u64 {
    std::env::var("SNAPKEEP_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5)
}

/// Requests per second `wrk` reached on `url` with `headers`.
fn wrk(url: &str, headers: &[(String, String)]) -> f64 {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c32", &format!("-d{}s", seconds())]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let out = command.arg(url).output().expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "{url} answered errors under load:\n{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate from wrk:\n{text}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// A bare axum server answering `ok` on a loopback port, on its own runtime; its URL.
fn bare_axum() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    url
}

/// Headers of a signed CSS `GET` of `path` (valid for the signature's skew, 15 minutes).
fn signed(snapkeep: &Snapkeep, tenant: &Tenant, path: &str) -> Vec<(String, String)> {
    let mut wire = Wire::plain("GET", path, Vec::new());
    wire.sign_huawei(tenant.key(), &snapkeep.host(), Some(&tenant.project_id), chrono::Utc::now());
    wire.headers.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")).collect()
}

/// Seeds cluster `id` of `project` with `n` completed snapshots, straight into the catalog.
fn seed(catalog: &std::path::Path, project: &str, id: &str, n: usize) {
    let sql = format!(
        "INSERT INTO clusters (id, project_id, name, endpoint, region, flavor, version, created_at)
             VALUES ('{id}', '{project}', '{id}', 'http://127.0.0.1:9/', 'r', 'elasticsearch', '7.10.2', 0);
         WITH RECURSIVE g(n) AS (SELECT 1 WHERE {n} > 0 UNION ALL SELECT n + 1 FROM g WHERE n < {n})
         INSERT INTO snapshots (id, project_id, cluster_id, name, description, requested_indices, indices, kind,
             status, repository, engine_version, total_shards, failed_shards, start_time_ms, end_time_ms,
             deleting, restore_status, created_at, updated_at, size_bytes)
         SELECT '{id}-' || n, '{project}', '{id}', 'snapshot-' || n, '', 'logs-*', '[\"logs-1\",\"logs-2\"]',
             'manual', 'COMPLETED', 'snapkeep', '7.10.2', 2, 0, 1700000000000 + n * 1000,
             1700000000500 + n * 1000, 0, 'none', 1700000000000 + n * 1000, 1700000000000 + n * 1000, n * 1024
         FROM g;"
    );
    let out = Command::new("sqlite3").arg(catalog).arg(sql).output().expect("sqlite3 runs (apt-get install sqlite3)");
    assert!(out.status.success(), "seeding: {}", String::from_utf8_lossy(&out.stderr));
}

/// Resident memory now (`VmRSS`), in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = dir.path().join("catalog.db");
    let url = format!("sqlite://{}", catalog.display());
    let env = [("SNAPKEEP_CATALOG_URL", url.as_str()), ("SNAPKEEP_LOG", "warn")];
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &env);
    let tenant = snapkeep.tenant("bench");
    for (id, n) in [("empty", 0), ("ten", 10), ("list-1000", 1000), ("list-10000", 10_000), ("list-100000", 100_000)] {
        seed(&catalog, &tenant.project_id, id, n);
    }
    rate_table(&snapkeep, &tenant);
    lists(&snapkeep, &tenant);
}

/// What `wrk` loads: a name, a URL and the headers to send.
type Target = (&'static str, String, Vec<(String, String)>);

fn rate_table(snapkeep: &Snapkeep, tenant: &Tenant) {
    let bare = bare_axum();
    let admin = vec![("authorization".to_owned(), format!("Bearer {}", snapkeep.admin_token()))];
    let css = |cluster: &str| format!("/v1.0/{}/clusters/{cluster}/index_snapshots", tenant.project_id);
    let targets: Vec<Target> = vec![
        ("bare axum", bare, Vec::new()),
        ("snapkeep /healthz", format!("{}/healthz", snapkeep.url), Vec::new()),
        ("admin GET /admin/v1/clusters", format!("{}/admin/v1/clusters", snapkeep.url), admin),
        (
            "signed CSS list, 0 snapshots",
            format!("{}{}", snapkeep.url, css("empty")),
            signed(snapkeep, tenant, &css("empty")),
        ),
        (
            "signed CSS list, 10 snapshots",
            format!("{}{}", snapkeep.url, css("ten")),
            signed(snapkeep, tenant, &css("ten")),
        ),
    ];
    let client = reqwest::blocking::Client::new();
    for (name, url, headers) in &targets[1..] {
        let request = headers.iter().fold(client.get(url), |r, (k, v)| r.header(k.as_str(), v.as_str()));
        let response = request.send().expect("answer");
        assert_eq!(response.status().as_u16(), 200, "{name}: {}", response.text().unwrap_or_default());
    }
    for run in 1..=RUNS {
        let rates: Vec<f64> = targets.iter().map(|(_, url, headers)| wrk(url, headers)).collect();
        let (bare, healthz) = (rates[0], rates[1]);
        println!("run {run}: requests/s, and against bare axum and /healthz of this run");
        for ((name, _, _), rate) in targets.iter().zip(&rates) {
            println!("  {name:<32} {rate:>9.0}/s  {:>6.3}x bare  {:>6.3}x /healthz", rate / bare, rate / healthz);
        }
        let goal = |ok: bool| if ok { "met" } else { "NOT MET" };
        println!(
            "  goals: CSS list of 10 >= 0.3x /healthz: {}; >= 0.2x bare axum: {}; admin list >= 0.5x /healthz: {}",
            goal(rates[4] >= 0.3 * healthz),
            goal(rates[4] >= 0.2 * bare),
            goal(rates[2] >= 0.5 * healthz)
        );
    }
}

fn lists(snapkeep: &Snapkeep, tenant: &Tenant) {
    let pid = snapkeep.pid();
    let path = |cluster: &str| format!("/v1.0/{}/clusters/{cluster}/index_snapshots", tenant.project_id);
    let mut answer_10k = 0;
    for n in [1000, 10_000, 100_000] {
        let cluster = format!("list-{n}");
        let before = rss_mib(pid);
        let start = Instant::now();
        let (status, body) = snapkeep.call_raw("GET", &path(&cluster), None, Auth::Huawei(tenant));
        let took = start.elapsed();
        assert_eq!(status, 200);
        if n == 10_000 {
            answer_10k = body.len();
        }
        println!(
            "CSS list of {n:>6} snapshots: {:>7.1} ms, {:>6.1} MiB answer, resident {before:.1} -> {:.1} MiB",
            took.as_secs_f64() * 1000.0,
            body.len() as f64 / 1048576.0,
            rss_mib(pid)
        );
    }
    let before = rss_mib(pid);
    let peak = std::sync::Mutex::new(before);
    let watching = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let now = rss_mib(pid);
                let mut peak = peak.lock().expect("peak");
                *peak = peak.max(now);
                drop(peak);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let lists: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| snapkeep.call_raw("GET", &path("list-10000"), None, Auth::Huawei(tenant))))
            .collect();
        for list in lists {
            let (status, body) = list.join().expect("list");
            assert_eq!((status, body.len()), (200, answer_10k));
        }
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        watcher.join().expect("watcher");
    });
    let raised = peak.into_inner().expect("peak") - before;
    let answer = answer_10k as f64 / 1048576.0;
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "8 concurrent lists of 10 000: resident +{raised:.1} MiB at peak ({:.2}x one {answer:.1} MiB answer; goal < 2x: {}), {:.1} MiB a second later",
        raised / answer,
        if raised < 2.0 * answer { "met" } else { "NOT MET" },
        rss_mib(pid)
    );
}
