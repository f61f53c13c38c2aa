//! Retention against essim and a real engine: automatic snapshots are deleted exactly when
//! their slot is keepday old, failed ones too (until then they stay listed with their reason and
//! are counted apart), manual ones never; deletes go out in batches
//! where the engine version allows (one request per batch on ES ≥ 7.8, one per snapshot on 6.8;
//! essim's request log shows it, and a real engine must accept the comma list).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use snapkeep_api_css::PolicyInput;
use snapkeep_core::{CreateSnapshotInput, Scheduling, SnapshotKind, SnapshotStatus};
use snapkeep_tests::{Essim, InProcess, OPENSEARCH_2, SearchCluster, TestEngine};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn deletes(essim: &Essim) -> Vec<String> {
    essim
        .requests()
        .into_iter()
        .filter(|(m, p, _)| m == "DELETE" && p.starts_with("/_snapshot/snapkeep/"))
        .map(|(_, p, _)| p)
        .collect()
}

fn retention_on(engine: TestEngine, batched: bool) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    let cluster = engine.start(dir.path(), &root, &[]);
    // essim fails one snapshot on request; a real engine's snapshots all succeed.
    let essim = match &cluster {
        SearchCluster::Essim(essim) => Some(essim),
        SearchCluster::Real(_) => None,
    };
    if let Some(essim) = essim {
        essim.set_rate(50 * 1024 * 1024);
    }
    cluster.load_index("metrics", 1, 20);
    let scheduling = Scheduling { max_jitter: Duration::ZERO, ..Scheduling::default() };
    let sk = rt.block_on(InProcess::open(dir.path(), &root, scheduling, utc("2026-11-23T00:30:00Z")));
    let project = rt.block_on(sk.project("p"));
    rt.block_on(sk.register(&project, "c", &cluster.url));
    let manual = CreateSnapshotInput::named("manual-keep");
    rt.block_on(sk.core.create_snapshot(&project.id, "c", manual)).unwrap();
    rt.block_on(sk.reconcile_until_idle());

    let hourly = PolicyInput {
        enable: Some("true".into()),
        prefix: Some("auto".into()),
        frequency: Some("HOUR".into()),
        keepday: Some(1),
        ..PolicyInput::default()
    };
    rt.block_on(sk.core.set_policy(&project.id, "c", hourly.change().expect("a valid policy"))).unwrap();
    for hour in 1..=29 {
        let faults = if hour == 28 { json!({"failed_shards": 1}) } else { json!({}) };
        if let Some(essim) = essim {
            essim.set_faults(faults);
        }
        sk.clock.set(utc("2026-11-23T00:00:10Z") + chrono::Duration::hours(hour));
        assert_eq!(rt.block_on(sk.core.fire_due()).unwrap().fired.len(), 1, "hour {hour}");
        rt.block_on(sk.reconcile_until_idle());
    }
    let all = rt.block_on(sk.snapshots("c"));
    assert_eq!(all.iter().filter(|s| s.kind == SnapshotKind::Automatic).count(), 29);
    let failed: Vec<_> = all.iter().filter(|s| s.status == SnapshotStatus::Failed).map(|s| s.name.clone()).collect();
    match essim {
        Some(essim) => {
            assert_eq!(failed, vec!["auto-20261124040000"], "the 28th fire failed");
            essim.call("DELETE", "/_essim/requests", None);
        }
        None => assert!(failed.is_empty(), "every snapshot succeeded on the real engine: {failed:?}"),
    }
    let (expired, gone) = (5, ["auto-20261123050000"]);

    // One second before the 06:00 slot's snapshot is a day old: the five older ones go, in one
    // batch; the failed one stays listed, with its reason, until its own slot is a day old.
    sk.clock.set(utc("2026-11-24T05:59:59Z"));
    assert_eq!(rt.block_on(sk.core.apply_retention()).unwrap(), expired);
    rt.block_on(sk.reconcile_until_idle());
    let left: Vec<String> = rt.block_on(sk.snapshots("c")).into_iter().map(|s| s.name).collect();
    assert!(left.contains(&"manual-keep".to_owned()), "manual snapshots are never deleted");
    assert!(left.contains(&"auto-20261123060000".to_owned()), "not a second early");
    assert!(!left.iter().any(|n| gone.contains(&n.as_str())), "expired ones are gone: {left:?}");
    assert_eq!(left.len(), 1 + 29 - expired);
    let mut on_cluster = cluster.snapshot_names("snapkeep");
    on_cluster.sort();
    let mut listed = left.clone();
    listed.sort();
    assert_eq!(on_cluster, listed, "the cluster holds exactly what the catalog lists");
    let Some(essim) = essim else { return disable_deletes_automatic(&rt, &sk, &project.id, &cluster) };
    let sent = deletes(essim);
    if batched {
        assert_eq!(sent.len(), 1, "one request for the batch: {sent:?}");
        assert_eq!(sent[0].matches(',').count(), 4, "five names in it: {sent:?}");
    } else {
        assert_eq!(sent.len(), 5, "one request per snapshot: {sent:?}");
        assert!(sent.iter().all(|p| !p.contains(',')));
    }
    let kept = rt.block_on(sk.snapshots("c")).into_iter().find(|s| s.name == "auto-20261124040000").unwrap();
    assert!(kept.failure_reason.is_some_and(|r| !r.is_empty()), "the failed one keeps its reason");
    let c = rt.block_on(sk.core.cluster("c")).unwrap();
    let failures = rt.block_on(sk.core.cluster_failures(&c)).unwrap();
    assert_eq!((failures.automatic_completed, failures.automatic_failed), (23, 1), "counted apart: {failures:?}");
    let last = failures.last.expect("the cluster shows its last failure");
    assert_eq!(last.kind, snapkeep_core::OperationKind::CreateSnapshot);

    // At the slot's anniversary exactly, it goes.
    sk.clock.set(utc("2026-11-24T06:00:00Z"));
    assert_eq!(rt.block_on(sk.core.apply_retention()).unwrap(), 1);
    rt.block_on(sk.reconcile_until_idle());
    assert!(!rt.block_on(sk.snapshots("c")).iter().any(|s| s.name == "auto-20261123060000"));
    assert_eq!(rt.block_on(sk.core.apply_retention()).unwrap(), 0, "nothing else is due");

    disable_deletes_automatic(&rt, &sk, &project.id, &cluster);
}

/// Disabling snapshots with deleteAuto deletes every automatic snapshot, and only those.
fn disable_deletes_automatic(rt: &tokio::runtime::Runtime, sk: &InProcess, project: &str, cluster: &SearchCluster) {
    rt.block_on(sk.core.disable_snapshots(project, "c", true)).unwrap();
    rt.block_on(sk.reconcile_until_idle());
    let left: Vec<String> = rt.block_on(sk.snapshots("c")).into_iter().map(|s| s.name).collect();
    assert_eq!(left, vec!["manual-keep"]);
    assert_eq!(cluster.snapshot_names("snapkeep"), vec!["manual-keep"]);
}

#[test]
fn retention_batches_deletes_on_elasticsearch_8() {
    retention_on(TestEngine::essim("elasticsearch", "8.11.1"), true);
}

#[test]
fn retention_deletes_one_by_one_on_elasticsearch_6_8() {
    retention_on(TestEngine::essim("elasticsearch", "6.8.23"), false);
}

/// The comma-list batch delete accepted by a real engine.
#[test]
fn retention_batches_deletes_on_real_opensearch_2() {
    retention_on(TestEngine::real(OPENSEARCH_2), true);
}
