//! Background work under the supervisor: a PostgreSQL backup held up by a stalled S3 server does
//! not hold up a search cluster's snapshot taken meanwhile, and a SIGTERM during such a backup
//! stops snapkeep within its grace, the backup ending at the next start as an interrupted one.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snapkeep_tests::{
    Auth, Essim, EssimOptions, RestoreArea, Snapkeep, StorageKind, Tenant, TestPostgres, TestStorage, load, wait_for,
};

/// A search cluster `search` (tenant `css`, on the filesystem) and a PostgreSQL cluster
/// `warehouse` (tenant `dws`, on S3) in one snapkeep.
struct Fleet {
    storage: TestStorage,
    essim: Essim,
    snapkeep: Snapkeep,
    css: Tenant,
    dws: Tenant,
    _restores: RestoreArea,
    _postgres: TestPostgres,
    _dir: tempfile::TempDir,
}

fn fleet(database: &str, env: &[(&str, &str)]) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(StorageKind::S3, dir.path());
    let essim = Essim::start(dir.path(), &storage.repo_root, &EssimOptions::new("opensearch", "2.19.6"));
    essim.load_index("events", 1, 20);
    let postgres = TestPostgres::shared_or_start();
    postgres.create_database(database);
    load(&postgres.url(database), 1, 1_000);
    let restores = RestoreArea::new();
    let root = restores.path().display().to_string();
    let mut env = env.to_vec();
    env.push(("SNAPKEEP_RESTORE_ROOT", &root));
    let snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &env);
    let (css, dws) = (snapkeep.tenant("css"), snapkeep.tenant("dws"));
    snapkeep.register(&css, "search", &essim);
    storage.attach(&snapkeep, &dws);
    let cluster = json!({"project_id": dws.project_id, "id": "warehouse", "name": "warehouse",
                         "endpoint": postgres.url("postgres")});
    let (status, body) = snapkeep.call("POST", "/admin/v1/clusters", Some(cluster), Auth::Admin);
    assert!((200..300).contains(&status), "{status}: {body}");
    Fleet { storage, essim, snapkeep, css, dws, _restores: restores, _postgres: postgres, _dir: dir }
}

impl Fleet {
    /// Starts a backup of `warehouse` and waits until it streams (progress shown) into the S3
    /// server, which is then frozen: the backup is held in progress. Returns its snapshot id.
    fn hold_a_backup(&self, name: &str) -> String {
        let s3 = self.storage.s3.as_ref().unwrap();
        s3.pause();
        let body = json!({"snapshot": {"name": name, "cluster_id": "warehouse"}});
        let (status, answer) = self.snapkeep.css(&self.dws, "POST", "/snapshots", Some(body));
        assert_eq!(status, 200, "{answer}");
        let id = answer["snapshot"]["id"].as_str().unwrap().to_owned();
        wait_for("the backup to stream", Duration::from_secs(30), || {
            let detail = self.backup(&id);
            let percent: u32 = detail["progress"].as_str()?.trim_end_matches('%').parse().ok()?;
            (detail["status"] == "CREATING" && percent > 0).then_some(())
        });
        id
    }

    fn backup(&self, id: &str) -> Value {
        self.snapkeep.css(&self.dws, "GET", &format!("/snapshots/{id}"), None).1["snapshot"].clone()
    }
}

/// The field report: while a large database was backed up, no other operation advanced. Here the
/// backup is held by a stalled S3 server (for up to its 30 s call timeout); a search snapshot
/// created meanwhile completes in its usual time.
#[test]
fn a_held_database_backup_does_not_hold_up_a_search_snapshot() {
    let fleet = fleet("workers_held", &[]);
    let held = fleet.hold_a_backup("held-01");
    let started = Instant::now();
    fleet.snapkeep.create_snapshot(&fleet.css, "search", "meanwhile", "events");
    let done = fleet.snapkeep.await_snapshot(&fleet.css, "search", "meanwhile", Duration::from_secs(60));
    let took = started.elapsed();
    println!("a search snapshot completed in {took:?} while a database backup was held");
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(took < Duration::from_secs(10), "it waited for the backup: {took:?}");
    assert_eq!(fleet.backup(&held)["status"], "CREATING", "the backup was still held");
    assert_eq!(fleet.essim.snapshot_names("snapkeep"), vec!["meanwhile"]);

    fleet.storage.s3.as_ref().unwrap().resume();
    let ended = wait_for("the backup to end", Duration::from_secs(120), || {
        let detail = fleet.backup(&held);
        (detail["status"] != "CREATING").then_some(detail)
    });
    assert_eq!(ended["status"], "AVAILABLE", "once the storage answers again the backup completes: {ended}");
}

/// A SIGTERM while a backup streams stops snapkeep within `shutdown-grace-secs`, not when the
/// backup ends; at the next start the backup ends as the README says an interrupted one does:
/// `UNAVAILABLE`, its objects removed.
#[test]
fn a_stop_during_a_backup_ends_within_the_grace_and_the_backup_is_cleaned_up_at_the_next_start() {
    let mut fleet = fleet("workers_stopped", &[("SNAPKEEP_SHUTDOWN_GRACE_SECS", "2")]);
    let held = fleet.hold_a_backup("stopped-01");
    let asked = Instant::now();
    let clean = fleet.snapkeep.terminate();
    let took = asked.elapsed();
    println!("snapkeep stopped {took:?} after SIGTERM with a backup in flight (grace 2 s)");
    assert!(clean, "a stop is a clean exit:\n{}", fleet.snapkeep.log_text());
    assert!(took < Duration::from_secs(6), "the stop waited past its grace: {took:?}");
    assert!(fleet.snapkeep.log_text().contains("dropped; it resumes at the next start"));

    fleet.storage.s3.as_ref().unwrap().resume();
    fleet.snapkeep.restart();
    let ended = wait_for("the interrupted backup to end", Duration::from_secs(60), || {
        let detail = fleet.backup(&held);
        (detail["status"] != "CREATING").then_some(detail)
    });
    assert_eq!(ended["status"], "UNAVAILABLE", "{ended}");
    assert!(ended["fail_reason"].as_str().unwrap_or_default().contains("interrupted"), "{ended}");
    let left: Vec<String> =
        fleet.storage.repository_keys("warehouse").into_iter().filter(|k| k.starts_with(&format!("{held}/"))).collect();
    assert!(left.is_empty(), "the interrupted backup's objects are removed: {left:?}");
}
