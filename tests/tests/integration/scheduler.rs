//! The scheduler with a controlled clock: slots in fixed-offset zones, restarts, downtime, and
//! many clusters firing at once within the concurrency limits. Creates are completed by the
//! harness (no engine): these tests are about when snapshots are decided, not how they are taken.

use std::time::Duration;

use chrono::{DateTime, Utc};
use snapkeep_api_css::PolicyInput;
use snapkeep_core::{PolicyChange, Scheduling, SnapshotKind, Store};
use snapkeep_tests::InProcess;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A policy as CSS sends it, turned on.
fn policy(prefix: &str, frequency: &str, period: Option<&str>, keepday: i64) -> PolicyChange {
    let input = PolicyInput {
        enable: Some("true".into()),
        prefix: Some(prefix.into()),
        frequency: Some(frequency.into()),
        period: period.map(str::to_owned),
        keepday: Some(keepday),
        ..PolicyInput::default()
    };
    input.change().expect("a valid policy")
}

const NO_JITTER: Scheduling =
    Scheduling { max_jitter: Duration::ZERO, global_limit: 64, per_cluster_limit: 1, batch: 500 };

/// Steps the clock to `until`, running the scheduler and completing creates at each step.
async fn run(sk: &InProcess, until: DateTime<Utc>, step: chrono::Duration) -> Vec<(DateTime<Utc>, chrono::Duration)> {
    let mut fires = Vec::new();
    while sk.now() < until {
        sk.clock.advance(step);
        let report = sk.core.fire_due().await.unwrap();
        fires.extend(report.fired.iter().map(|f| (f.slot, f.lag)));
        sk.complete_creates().await;
    }
    fires
}

async fn slots(sk: &InProcess, cluster: &str) -> Vec<DateTime<Utc>> {
    sk.snapshots(cluster)
        .await
        .iter()
        .filter(|s| s.kind == SnapshotKind::Automatic)
        .map(|s| s.scheduled_for.unwrap())
        .collect()
}

#[tokio::test]
async fn hourly_fires_once_per_hour_within_its_jitter() {
    let dir = tempfile::tempdir().unwrap();
    let scheduling = Scheduling { max_jitter: Duration::from_secs(30), ..NO_JITTER };
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), scheduling, utc("2026-11-23T00:10:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "c1").await;
    sk.core.set_policy(&project.id, "c1", policy("hourly", "HOUR", None, 3)).await.unwrap();
    let fires = run(&sk, utc("2026-11-24T00:10:00Z"), chrono::Duration::seconds(20)).await;
    let expected: Vec<_> = (1..=24).map(|h| utc("2026-11-23T00:00:00Z") + chrono::Duration::hours(h)).collect();
    assert_eq!(fires.iter().map(|f| f.0).collect::<Vec<_>>(), expected);
    assert!(
        fires.iter().all(|(_, lag)| *lag >= chrono::Duration::zero() && *lag < chrono::Duration::seconds(20)),
        "{fires:?}"
    );
    let names: Vec<String> = sk.snapshots("c1").await.into_iter().map(|s| s.name).collect();
    assert_eq!(names.first().map(String::as_str), Some("hourly-20261123010000"));
    assert_eq!(names.len(), 24, "one snapshot per slot");
}

#[tokio::test]
async fn daily_at_16_in_gmt_plus_8_and_weekly_on_monday() {
    let dir = tempfile::tempdir().unwrap();
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-11-22T00:00:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "daily").await;
    sk.offline_cluster(&project, "weekly").await;
    sk.core.set_policy(&project.id, "daily", policy("nightly", "DAY", Some("16:00 GMT+08:00"), 7)).await.unwrap();
    sk.core.set_policy(&project.id, "weekly", policy("weekly", "MON", Some("09:00 GMT+00:00"), 30)).await.unwrap();
    run(&sk, utc("2026-12-02T00:00:00Z"), chrono::Duration::minutes(10)).await;
    let daily = slots(&sk, "daily").await;
    assert_eq!(daily.len(), 10);
    assert!(
        daily.iter().all(|s| s.format("%H:%M:%S").to_string() == "08:00:00"),
        "16:00 at +08:00 is 08:00 UTC: {daily:?}"
    );
    assert_eq!(daily[0], utc("2026-11-22T08:00:00Z"));
    assert_eq!(
        slots(&sk, "weekly").await,
        vec![utc("2026-11-23T09:00:00Z"), utc("2026-11-30T09:00:00Z")],
        "Mondays only"
    );
}

#[tokio::test]
async fn a_fixed_offset_zone_ignores_daylight_saving_changes() {
    let dir = tempfile::tempdir().unwrap();
    // US daylight saving ended on 2026-11-01; a GMT-05:00 policy stays at 07:00 UTC throughout.
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-10-30T00:00:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "c").await;
    sk.core.set_policy(&project.id, "c", policy("dst", "DAY", Some("02:00 GMT-05:00"), 7)).await.unwrap();
    run(&sk, utc("2026-11-03T12:00:00Z"), chrono::Duration::minutes(15)).await;
    let expected: Vec<_> = ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03"]
        .iter()
        .map(|d| utc(&format!("{d}T07:00:00Z")))
        .collect();
    assert_eq!(slots(&sk, "c").await, expected);
}

#[tokio::test]
async fn a_restart_in_the_middle_neither_skips_nor_doubles() {
    let dir = tempfile::tempdir().unwrap();
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-11-23T00:30:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "c").await;
    sk.core.set_policy(&project.id, "c", policy("r", "HOUR", None, 3)).await.unwrap();
    run(&sk, utc("2026-11-23T05:30:00Z"), chrono::Duration::minutes(1)).await;
    let sk = sk.restart().await;
    run(&sk, utc("2026-11-23T10:30:00Z"), chrono::Duration::minutes(1)).await;
    let expected: Vec<_> = (1..=10).map(|h| utc("2026-11-23T00:00:00Z") + chrono::Duration::hours(h)).collect();
    assert_eq!(slots(&sk, "c").await, expected);
}

#[tokio::test]
async fn downtime_over_three_slots_fires_once_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-11-23T00:30:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "c").await;
    sk.core.set_policy(&project.id, "c", policy("d", "HOUR", None, 3)).await.unwrap();
    run(&sk, utc("2026-11-23T01:30:00Z"), chrono::Duration::minutes(1)).await;
    // Down from 01:30 to 04:45: the 02:00, 03:00 and 04:00 slots pass unseen.
    let sk = sk.restart().await;
    sk.clock.set(utc("2026-11-23T04:45:00Z"));
    let report = sk.core.fire_due().await.unwrap();
    assert_eq!(
        report.fired.iter().map(|f| f.slot).collect::<Vec<_>>(),
        vec![utc("2026-11-23T04:00:00Z")],
        "one catch-up fire, for the latest slot"
    );
    sk.complete_creates().await;
    assert!(sk.core.fire_due().await.unwrap().fired.is_empty(), "no fire per missed slot");
    run(&sk, utc("2026-11-23T05:30:00Z"), chrono::Duration::minutes(1)).await;
    assert_eq!(
        slots(&sk, "c").await,
        vec![utc("2026-11-23T01:00:00Z"), utc("2026-11-23T04:00:00Z"), utc("2026-11-23T05:00:00Z")]
    );
}

#[tokio::test]
async fn a_hundred_clusters_in_the_same_minute_stay_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let scheduling =
        Scheduling { max_jitter: Duration::from_secs(30), global_limit: 10, per_cluster_limit: 1, batch: 500 };
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), scheduling, utc("2026-11-23T23:59:00Z")).await;
    let project = sk.project("p").await;
    for i in 0..100 {
        let id = format!("c{i:03}");
        sk.offline_cluster(&project, &id).await;
        sk.core.set_policy(&project.id, &id, policy("fleet", "DAY", Some("00:00 GMT+00:00"), 7)).await.unwrap();
    }
    let mut fired = Vec::new();
    let mut peak = 0;
    let mut second = 0;
    while fired.len() < 100 {
        second += 1;
        assert!(second < 600, "all 100 fired within ten simulated minutes");
        sk.clock.advance(chrono::Duration::seconds(1));
        fired.extend(sk.core.fire_due().await.unwrap().fired);
        let open = sk.store.open_creates_per_cluster().await.unwrap();
        assert!(open.values().all(|n| *n <= 1), "at most one per cluster");
        peak = peak.max(open.values().sum::<u32>());
        assert!(peak <= 10, "never more than the global limit");
        if second % 3 == 0 {
            sk.complete_creates().await;
        }
    }
    assert_eq!(peak, 10, "the limit was reached, not just respected");
    let mut clusters: Vec<_> = fired.iter().map(|f| f.cluster_id.clone()).collect();
    clusters.sort();
    clusters.dedup();
    assert_eq!(clusters.len(), 100, "every cluster fired exactly once");
    assert!(fired.iter().all(|f| f.slot == utc("2026-11-24T00:00:00Z")));
}

/// The worker `serve` runs, under its supervisor: it fires what is due and schedules retention on
/// its own.
#[tokio::test]
async fn the_scheduler_worker_fires_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-11-23T00:59:00Z")).await;
    let project = sk.project("p").await;
    sk.offline_cluster(&project, "c").await;
    sk.core.set_policy(&project.id, "c", policy("w", "HOUR", None, 3)).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = snapkeep_jobs::SchedulerWorker::new(sk.core.clone(), Duration::from_millis(10));
    let supervisor = snapkeep_jobs::Supervisor::new().with(scheduler);
    let worker = tokio::spawn(supervisor.run(stopped, Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(slots(&sk, "c").await.is_empty(), "nothing before the slot");
    sk.clock.set(utc("2026-11-23T01:00:00Z"));
    for _ in 0..200 {
        if !slots(&sk, "c").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(slots(&sk, "c").await, vec![utc("2026-11-23T01:00:00Z")]);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("stops promptly").unwrap();
}

/// Quartz schedules as the Alibaba dialect sets them: fires at each match, snapshots named
/// `<instance id>_<yyyyMMddHHmmss>`.
#[tokio::test]
async fn quartz_schedules_fire_at_their_matches() {
    let dir = tempfile::tempdir().unwrap();
    // 2026-11-20 is a Friday.
    let sk = InProcess::open(dir.path(), &dir.path().join("repos"), NO_JITTER, utc("2026-11-20T00:00:00Z")).await;
    let project = sk.project("p").await;
    for (id, expression) in
        [("es-daily", "0 0 01 ? * * *"), ("es-halfhour", "0 0/30 * * * ?"), ("es-weekdays", "0 0 2 ? * MON-FRI *")]
    {
        sk.offline_cluster(&project, id).await;
        let schedule = snapkeep_core::Schedule::Quartz(Box::new(snapkeep_core::QuartzCron::parse(expression).unwrap()));
        let policy = snapkeep_api_alibaba::instance_policy;
        sk.core.set_schedule(&project.id, id, (true, Some(schedule)), policy).await.unwrap();
    }
    run(&sk, utc("2026-11-24T00:00:00Z"), chrono::Duration::minutes(5)).await;
    let daily = slots(&sk, "es-daily").await;
    assert_eq!(daily, ["20", "21", "22", "23"].map(|d| utc(&format!("2026-11-{d}T01:00:00Z"))).to_vec());
    assert_eq!(slots(&sk, "es-halfhour").await.len(), 4 * 48, "every half hour for four days");
    let weekdays = slots(&sk, "es-weekdays").await;
    assert_eq!(weekdays, vec![utc("2026-11-20T02:00:00Z"), utc("2026-11-23T02:00:00Z")], "Friday, then Monday");
    let names: Vec<String> = sk.snapshots("es-daily").await.into_iter().map(|s| s.name).collect();
    assert_eq!(names[0], "es-daily_20261120010000");
    let (_, config) = sk.core.snapshot_config(&project.id, "es-daily").await.unwrap();
    assert_eq!(config.policy.keepday, 7, "this dialect keeps the last 7 days");
}
