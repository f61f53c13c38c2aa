//! Scheduler benchmark: N clusters (default 10 000) of P projects (default 100) hosted by one
//! essim, seeded straight into the catalog, each with an hourly automatic-snapshot policy, plus
//! one more registered through the core as a user would (its time printed: the check against
//! every other cluster's repository is the part that grows with the fleet). Runs for a simulated
//! day (default 24 h) on a manual clock. Every fire becomes a real snapshot on the simulated
//! cluster through the reconciler. Prints the fire lag (how late each automatic snapshot started
//! against its slot plus jitter, in simulated time) at p50/p99/max, the pace of the busy rounds
//! against the clock, throughput, and the peak RSS of snapkeep's core and of essim.
//!
//! Build the simulator first, then run:
//!   cargo build --release -p essim && cargo bench -p snapkeep-tests --bench scheduler
//! Scale with SNAPKEEP_BENCH_CLUSTERS, SNAPKEEP_BENCH_PROJECTS and SNAPKEEP_BENCH_HOURS.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use snapkeep_api_css::PolicyInput;
use snapkeep_core::{Lane, Project, Scheduling, Store};
use snapkeep_tests::{Essim, EssimOptions, InProcess};
use tokio::task::JoinSet;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak resident set (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Gives cluster `id` an hourly automatic-snapshot policy kept for a day.
async fn hourly(sk: &InProcess, project: &Project, id: &str) {
    let hourly = PolicyInput {
        enable: Some("true".into()),
        prefix: Some("hourly".into()),
        frequency: Some("HOUR".into()),
        keepday: Some(1),
        ..PolicyInput::default()
    };
    sk.core.set_policy(&project.id, id, hourly.change().expect("a valid policy")).await.expect("policy");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let clusters = env_or("SNAPKEEP_BENCH_CLUSTERS", 10_000);
    let hours = env_or("SNAPKEEP_BENCH_HOURS", 24) as i64;
    let tenants = env_or("SNAPKEEP_BENCH_PROJECTS", 100).clamp(1, clusters.max(1));
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("repos");
    let mut options = EssimOptions::new("elasticsearch", "8.11.1");
    options.clusters = clusters + 1;
    options.rate_bytes_per_sec = 1 << 30;
    let essim = Essim::start(dir.path(), &root, &options);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let scheduling =
        Scheduling { max_jitter: Duration::from_secs(30), global_limit: 256, per_cluster_limit: 1, batch: 2000 };
    let start: DateTime<Utc> = "2026-11-23T00:00:01Z".parse().expect("time");
    let sk = rt.block_on(InProcess::open(dir.path(), &root, scheduling, start));
    let setup = Instant::now();
    let project = rt.block_on(async {
        let mut projects = Vec::with_capacity(tenants);
        for t in 0..tenants {
            projects.push(sk.project(&format!("tenant-{t}")).await);
        }
        for i in 0..clusters {
            let (id, project) = (format!("c{i}"), &projects[i % tenants]);
            sk.seeded_cluster(project, &id, &format!("{}/c{i}", essim.url)).await;
            hourly(&sk, project, &id).await;
        }
        projects.swap_remove(0)
    });
    println!(
        "setup: {clusters} clusters of {tenants} projects seeded into the catalog with hourly policies in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    // One more, registered as a user would: probed, its repository location checked against
    // every other cluster's, then given the same policy (it fires with the rest).
    let registering = Instant::now();
    rt.block_on(async {
        let id = format!("c{clusters}");
        sk.register(&project, &id, &format!("{}/c{clusters}", essim.url)).await;
        hourly(&sk, &project, &id).await;
    });
    println!(
        "registering cluster {} through the core: {:.0} ms",
        clusters + 1,
        registering.elapsed().as_secs_f64() * 1000.0
    );
    let clusters = clusters + 1;

    // Long enough for the last slot's fires, spread by up to the jitter, to happen.
    let end = start + chrono::Duration::hours(hours) + chrono::Duration::minutes(10);
    let mut lags: Vec<f64> = Vec::new();
    let run = Instant::now();
    let mut rounds = 0u64;
    // Simulated seconds in which something fired or ran, and the real time those rounds took.
    let (mut walked, mut walking) = (0u64, Duration::ZERO);
    rt.block_on(async {
        while sk.now() < end {
            rounds += 1;
            let round = Instant::now();
            let report = sk.core.fire_due().await.expect("fire");
            lags.extend(report.fired.iter().map(|f| f.lag.num_milliseconds() as f64 / 1000.0));
            let mut steps = JoinSet::new();
            let claimed = sk.reconciler.claim(Lane::Steps, 512).await.expect("claim");
            let busy = !(claimed.is_empty() && report.fired.is_empty());
            for op in claimed {
                let reconciler = sk.reconciler.clone();
                steps.spawn(async move { reconciler.advance(op).await.expect("advance") });
            }
            while steps.join_next().await.is_some() {}
            if sk.now().timestamp() % 60 == 0 {
                sk.core.apply_retention().await.expect("retention");
            }
            let idle = sk.store.open_operations(None).await.expect("open").is_empty();
            let next_due = sk.store.due_fires(end, 1).await.expect("due").first().map(|f| f.next.fire_at);
            match next_due {
                Some(due) if idle && due > sk.now() => sk.clock.set(due),
                _ => {
                    sk.clock.advance(chrono::Duration::seconds(1));
                    if busy {
                        (walked, walking) = (walked + 1, walking + round.elapsed());
                    }
                }
            }
        }
    });
    let elapsed = run.elapsed().as_secs_f64();
    lags.sort_by(f64::total_cmp);
    let expected = clusters as i64 * hours;
    println!("simulated: {hours} h, {} fires (expected {expected}), {rounds} rounds, {elapsed:.1} s real", lags.len());
    let p99 = percentile(&lags, 0.99);
    println!(
        "fire lag (simulated s): p50 {:.1}  p99 {p99:.1}  max {:.1}; at most {} creates at once: {} waves of fires; p99 is {:.4}x the hourly interval",
        percentile(&lags, 0.5),
        lags.last().copied().unwrap_or(0.0),
        scheduling.global_limit,
        clusters.div_ceil(scheduling.global_limit as usize),
        p99 / 3600.0
    );
    assert!(walked > 0, "something fired");
    let pace = walked as f64 / walking.as_secs_f64();
    let verdict = if pace >= 1.0 { "keeps up with the clock" } else { "falls behind the clock" };
    println!(
        "pace: {walked} busy simulated s took {:.1} s real: {pace:.2}x real time ({verdict})",
        walking.as_secs_f64()
    );
    println!("throughput: {:.0} automatic snapshots per real second", lags.len() as f64 / elapsed);
    println!(
        "peak RSS: snapkeep core {:.0} MiB, essim {:.0} MiB",
        peak_rss_mib("self"),
        peak_rss_mib(&essim.pid().to_string())
    );
    let snapshots =
        essim.call("GET", "/c0/_snapshot/snapkeep/_all", None).1["snapshots"].as_array().map_or(0, Vec::len);
    println!("cluster c0 holds {snapshots} snapshots on the engine");
    assert_eq!(lags.len() as i64, expected, "every slot fired exactly once");
}
