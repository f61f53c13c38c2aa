//! Several snapkeep replicas on one PostgreSQL catalog, with no leader and nothing between them:
//! an operation a replica held when it died is finished by another once its lease lapses, without
//! a second engine call; a replica with another admin token or storage root refuses to start; requests alternating between replicas each become one snapshot; a
//! master-key rotation waits for every other replica, and one left on the old key stops; a
//! signed request replayed to another replica is refused there too; 200 requests sent to two or
//! three replicas in turn while one is SIGKILLed again and again end with one operation each and
//! the catalog equal to the engines; and three replicas firing the same 100 schedules fire each slot
//! once, within the global limit.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use snapkeep_api_css::PolicyInput;
use snapkeep_core::{Cipher, ManualClock, Scheduling, SnapshotKind, Store};
use snapkeep_tests::signers::Wire;
use snapkeep_tests::{
    Auth, ClusterClient, Essim, EssimOptions, InProcess, Snapkeep, Tenant, TestPostgres, psql, wait_for,
};

/// Requests essim received with `method` on `path`.
fn sent(essim: &Essim, method: &str, path: &str) -> usize {
    essim.requests().iter().filter(|(m, p, _)| m == method && p == path).count()
}

/// Runs `snapkeep serve` on `data_dir` with `env` until it exits (a refused start), killing it
/// if it is still running after 30 s.
fn serve_once(data_dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(snapkeep_tests::binary("snapkeep"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir).env_remove("SNAPKEEP_MASTER_KEY");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run snapkeep");
    for _ in 0..300 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}

#[test]
fn replicas_on_one_postgres_catalog_share_work_and_nonces_and_take_over_a_dead_ones_operations() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("replicas");
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
    let b = a.start_replica(&dir.path().join("b"), &shared);
    let finished = b.await_snapshot(&tenant, "es-1", "taken-over", Duration::from_secs(60));
    assert_eq!(finished["status"], "COMPLETED", "{finished}");
    assert_eq!(sent(&essim, "PUT", "/_snapshot/snapkeep/taken-over"), 1, "the engine was asked once");

    // Replicas agree on the admin token: one with another token refuses to start.
    let c = a.prepare_replica(&dir.path().join("c"));
    std::fs::write(c.join("admin.token"), "not-the-fleet-token\n").unwrap();
    let refused = serve_once(&c, &shared);
    assert!(!refused.status.success(), "a replica with another admin token started");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("admin token differs") && !stderr.contains("not-the-fleet-token"), "{stderr}");
    // So does one whose storage root is another place: its clusters' fs repositories would be too.
    let d = a.prepare_replica(&dir.path().join("d"));
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let other_root = [shared.as_slice(), &[("SNAPKEEP_STORAGE_ROOT", elsewhere.to_str().unwrap())]].concat();
    let refused = serve_once(&d, &other_root);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("needs the same storage-root"), "{stderr}");

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

/// A master-key rotation is refused while another replica is live, naming it, since that replica
/// would go on sealing secrets under the old key; a replica that stalled past its lease while the
/// key was rotated stops by itself when it wakes, saying why; given the new key, it serves again.
#[test]
fn a_master_key_rotation_waits_for_every_replica_and_a_replica_left_behind_stops() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("rotation");
    let shared = [("SNAPKEEP_CATALOG_URL", catalog.as_str()), ("SNAPKEEP_LEASE_SECS", "5")];
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("logs", 1, 20);
    let mut a = Snapkeep::start(&dir.path().join("a"), &repo_root, &shared);
    let tenant = a.tenant("keys");
    a.register(&tenant, "es-1", &essim);
    let mut b = a.start_replica(&dir.path().join("b"), &shared);
    let b_id = std::fs::read_to_string(b.data_dir.join("node-id")).unwrap().trim().to_owned();
    let listed = a.admin("GET", "/replicas", None);
    let replicas = listed["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 2, "{listed}");
    let close = |r: &Value| r["live"] == true && r["clock_offset_ms"].as_i64().is_some_and(|ms| ms.abs() < 1_000);
    assert!(replicas.iter().all(close), "{listed}");

    // A stops; rotating the key from its data directory while B serves is refused.
    assert!(a.terminate());
    let rotate = || {
        let mut command = std::process::Command::new(snapkeep_tests::binary("snapkeep"));
        command.arg("rotate-master-key").arg("--data-dir").arg(&a.data_dir).env_remove("SNAPKEEP_MASTER_KEY");
        command.envs(shared).output().expect("run snapkeep rotate-master-key")
    };
    let refused = rotate();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("other replicas serve this catalog"), "{stderr}");
    assert!(stderr.contains(&b_id), "the live replica is named: {stderr}");
    b.create_snapshot(&tenant, "es-1", "still-sealed", "logs");
    assert_eq!(b.await_snapshot(&tenant, "es-1", "still-sealed", Duration::from_secs(60))["status"], "COMPLETED");

    // B stalls past its lease, so the rotation goes ahead; woken, B stops by itself and says why.
    b.signal("STOP");
    std::thread::sleep(Duration::from_secs(6));
    let rotated = rotate();
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    b.signal("CONT");
    // Woken, B seals nothing under the old key: a new key asked of it is refused (or B is gone).
    let asked = reqwest::blocking::Client::new()
        .post(format!("{}/admin/v1/projects/{}/keys", b.url, tenant.project_id))
        .bearer_auth(b.admin_token())
        .json(&json!({}))
        .timeout(Duration::from_secs(10))
        .send();
    assert!(asked.as_ref().map_or(true, |r| !r.status().is_success()), "{asked:?}");
    b.await_crash(Duration::from_secs(30));
    assert!(b.log_text().contains("another process rotated the master key"), "{}", b.log_text());

    // Given the new key, both serve again: the key's secret opens and signs on either.
    std::fs::copy(a.data_dir.join("master.key"), b.data_dir.join("master.key")).unwrap();
    a.restart();
    b.restart();
    b.create_snapshot(&tenant, "es-1", "after-rotation", "logs");
    assert_eq!(a.await_snapshot(&tenant, "es-1", "after-rotation", Duration::from_secs(60))["status"], "COMPLETED");
    let listed = b.admin("GET", "/replicas", None);
    assert_eq!(listed["replicas"].as_array().unwrap().iter().filter(|r| r["live"] == true).count(), 2, "{listed}");
}

/// 100 clusters whose hourly policies are due in the same minute, and three replicas running
/// their schedulers at once on one clock: for 10 slots, every cluster fires exactly once per
/// slot, and the snapshots being created never pass the global limit, whichever replica fires.
#[test]
fn three_replicas_fire_each_slot_once_within_the_global_limit() {
    const CLUSTERS: usize = 100;
    const SLOTS: usize = 10;
    let limits = Scheduling { max_jitter: Duration::ZERO, global_limit: 30, per_cluster_limit: 1, batch: 500 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let postgres = TestPostgres::shared_or_start();
    let url = postgres.fresh_database("fires");
    let start = DateTime::parse_from_rfc3339("2026-11-30T00:30:00Z").unwrap().to_utc();
    let clock = Arc::new(ManualClock::new(start));
    let key = Cipher::generate_key();
    let root = dir.path().join("repos");
    let replicas: Vec<Arc<InProcess>> =
        (0..3).map(|_| Arc::new(rt.block_on(InProcess::replica(&url, &root, limits, (clock.clone(), &key))))).collect();
    let first = &replicas[0];
    let project = rt.block_on(first.project("fleet"));
    for i in 0..CLUSTERS {
        let id = format!("c{i:03}");
        rt.block_on(first.offline_cluster(&project, &id));
        let hourly = PolicyInput {
            enable: Some("true".into()),
            prefix: Some("hourly".into()),
            frequency: Some("HOUR".into()),
            keepday: Some(7),
            ..PolicyInput::default()
        };
        rt.block_on(first.core.set_policy(&project.id, &id, hourly.change().unwrap())).unwrap();
    }

    let (mut most_open, mut deferred) = (0, 0);
    for _ in 0..SLOTS {
        clock.advance(chrono::Duration::hours(1));
        // Rounds of all three replicas firing at once, creates completed between rounds, until
        // the slot's fires are all taken.
        for _ in 0..50 {
            let reports = rt.block_on(async {
                let rounds = replicas.iter().map(|r| {
                    let r = r.clone();
                    tokio::spawn(async move { r.core.fire_due().await.unwrap() })
                });
                futures_join(rounds.collect()).await
            });
            deferred += reports.iter().map(|r| r.deferred).sum::<usize>();
            let open: u32 = rt.block_on(first.store.open_creates_per_cluster()).unwrap().values().sum();
            most_open = most_open.max(open);
            rt.block_on(first.complete_creates());
            if rt.block_on(first.store.due_fires(first.now(), 1)).unwrap().is_empty() {
                break;
            }
        }
    }

    let mut fired: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for i in 0..CLUSTERS {
        let id = format!("c{i:03}");
        let snapshots = rt.block_on(first.snapshots(&id));
        let slots = snapshots.iter().filter(|s| s.kind == SnapshotKind::Automatic).map(|s| s.scheduled_for.unwrap());
        fired.insert(id, slots.collect());
    }
    for (id, slots) in &fired {
        let distinct: BTreeSet<_> = slots.iter().collect();
        assert_eq!((slots.len(), distinct.len()), (SLOTS, SLOTS), "{id} fired once per slot: {slots:?}");
    }
    assert!(most_open <= limits.global_limit, "{most_open} creates at once, over the limit of {}", limits.global_limit);
    assert!(deferred > 0, "the limit was reached, so it was tested");
}

/// Awaits every task.
async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// The request the chaos test sends `i`th: a CSS create, an Alibaba create, or a delete or a
/// restore of a completed snapshot (none when there is none yet: status 0).
fn chaos_request(replica: &Snapkeep, tenant: &Tenant, cluster: &str, i: usize) -> (u16, Value) {
    let completed = || {
        let backups = replica.backups(tenant, cluster);
        backups.into_iter().find(|b| b["status"] == "COMPLETED" && b["restoreStatus"] != "restoring")
    };
    match (i / 5) % 5 {
        0 | 1 => replica.css(
            tenant,
            "POST",
            &format!("/clusters/{cluster}/index_snapshot"),
            Some(json!({"name": format!("chaos-{i:03}"), "indices": "logs"})),
        ),
        2 => {
            let path = format!("/openapi/instances/{cluster}/snapshots?ClientToken=chaos-{i}");
            replica.call("POST", &path, None, Auth::Acs3(tenant))
        }
        3 => match completed() {
            Some(b) => replica.css(tenant, "DELETE", &format!("/clusters/{cluster}/index_snapshot/{}", b["id"].as_str().unwrap()), None),
            None => (0, Value::Null),
        },
        _ => match completed() {
            Some(b) => replica.css(
                tenant,
                "POST",
                &format!("/clusters/{cluster}/index_snapshot/{}/restore", b["id"].as_str().unwrap()),
                Some(json!({"target_cluster": cluster, "rename_pattern": "logs", "rename_replacement": format!("logs_{i}")})),
            ),
            None => (0, Value::Null),
        },
    }
}

/// `count` replicas behind no load balancer: 200 CSS and Alibaba creates, deletes and restores
/// across 5 clusters, sent to the replicas in turn while the first is SIGKILLed every 20 requests
/// (about 1.5 s) and started again 10 later. At the end every accepted request has exactly one
/// operation, every operation has ended, and each cluster's catalog equals its engine's
/// snapshots, none of them twice.
fn killed_again_and_again(count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("chaos");
    let shared = [("SNAPKEEP_CATALOG_URL", catalog.as_str()), ("SNAPKEEP_LEASE_SECS", "5")];
    let mut a = Snapkeep::start(&dir.path().join("a"), &repo_root, &shared);
    let others: Vec<Snapkeep> =
        (1..count).map(|i| a.start_replica(&dir.path().join(format!("r{i}")), &shared)).collect();
    let tenant = a.tenant("chaos");
    // One essim serves the 5 clusters (at /c0 … /c4), keeping the machine's load down.
    let essim = Essim::start(
        dir.path(),
        &repo_root,
        &EssimOptions { clusters: 5, ..EssimOptions::new("opensearch", "2.11.0") },
    );
    let clusters: Vec<(String, ClusterClient)> = (0..5)
        .map(|i| {
            let cluster = ClusterClient::new(format!("{}/c{i}", essim.url), None, Box::new(String::new));
            cluster.load_index("logs", 1, 20);
            let id = format!("es-{i}");
            a.register(&tenant, &id, &cluster);
            (id, cluster)
        })
        .collect();

    let (mut accepted, mut a_down) = (0, false);
    for i in 0..200 {
        if i % 20 == 19 {
            a.kill(); // SIGKILL
            a_down = true;
        } else if a_down && i % 20 == 9 {
            a.restart_with(&shared);
            a_down = false;
        }
        let replica = match i % count {
            0 if !a_down => &a,
            n => &others[n.saturating_sub(1) % others.len()],
        };
        let (status, answer) = chaos_request(replica, &tenant, &clusters[i % 5].0, i);
        assert!(status < 500, "request {i}: {status} {answer}");
        accepted += usize::from((200..300).contains(&status));
        std::thread::sleep(Duration::from_millis(40));
    }
    assert!(accepted >= 120, "most requests were accepted: {accepted}");
    println!("{count} replicas: {accepted} of 200 requests accepted, the first killed 10 times");
    if a_down {
        a.restart_with(&shared);
    }

    let open = "SELECT COUNT(*) FROM operations WHERE phase IN ('pending', 'submitted')";
    wait_for("every operation to end", Duration::from_secs(180), || (psql(&catalog, open) == "0").then_some(()));
    assert_eq!(
        psql(&catalog, "SELECT COUNT(*) FROM operations"),
        accepted.to_string(),
        "one operation per accepted request"
    );
    for (id, cluster) in &clusters {
        let mut listed: Vec<String> =
            others[0].backups(&tenant, id).iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect();
        let mut engine = cluster.snapshot_names("snapkeep");
        listed.sort();
        engine.sort();
        let distinct: BTreeSet<&String> = engine.iter().collect();
        assert_eq!(distinct.len(), engine.len(), "{id}: no snapshot twice on the engine");
        assert_eq!(listed, engine, "{id}: the catalog equals the engine");
    }
}

#[test]
fn two_replicas_killed_again_and_again_lose_nothing_and_repeat_nothing() {
    killed_again_and_again(2);
}

#[test]
fn three_replicas_killed_again_and_again_lose_nothing_and_repeat_nothing() {
    killed_again_and_again(3);
}
