//! PostgreSQL clusters through the DWS dialect, on a real PostgreSQL server and a real S3 server:
//! a database loaded with pgbench and checksummed rows is snapshotted and restored into a new
//! cluster through the official SDK and reads back identical; a snapshot whose snapkeep is
//! SIGKILLed mid-stream ends failed with no object left; a backup whose lease another replica
//! took over stops streaming; storage changed outside snapkeep (a
//! damaged part, a forged part with its manifest edited to match, another backup put in a
//! backup's place) is refused before the restored server starts; a server that takes only TLS is registered and backed up over verified
//! TLS, and refused in the clear, under an untrusted CA, and by a name its certificate lacks; a
//! server that keeps its configuration outside its data directory restores into one that starts.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use snapkeep_tests::{
    Auth, RestoreArea, Snapkeep, StorageKind, Tenant, TestPostgres, TestStorage, TlsCertificates, fingerprint,
    free_port, load, psql, run_sdk_script, wait_for,
};

struct Setup {
    storage: TestStorage,
    postgres: TestPostgres,
    restores: RestoreArea,
    snapkeep: Snapkeep,
    tenant: Tenant,
    _dir: tempfile::TempDir,
}

/// snapkeep with the S3 storage as default, and the test's database `db` loaded in the server,
/// registered as cluster `warehouse`.
fn setup(db: &str, scale: u32, rows: u32) -> Setup {
    setup_with(db, scale, rows, &[])
}

/// As `setup`, snapkeep also given the settings `env`.
fn setup_with(db: &str, scale: u32, rows: u32, env: &[(&str, &str)]) -> Setup {
    let postgres = TestPostgres::shared_or_start();
    postgres.create_database(db);
    load(&postgres.url(db), scale, rows);
    let endpoint = postgres.url("postgres");
    let setup = setup_on(postgres, env);
    setup.register(&endpoint);
    setup
}

/// snapkeep with the S3 storage as default and the settings `env`, for clusters of `postgres`.
fn setup_on(postgres: TestPostgres, env: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let storage = TestStorage::start(StorageKind::S3, dir.path());
    let restores = RestoreArea::new();
    let root = restores.path().display().to_string();
    let env: Vec<_> = [("SNAPKEEP_RESTORE_ROOT", root.as_str())].into_iter().chain(env.iter().copied()).collect();
    let snapkeep = Snapkeep::start(dir.path(), &storage.repo_root, &env);
    let tenant = snapkeep.tenant("dws");
    storage.attach(&snapkeep, &tenant);
    Setup { storage, postgres, restores, snapkeep, tenant, _dir: dir }
}

impl Setup {
    /// Registers `endpoint` as cluster `warehouse`: the admin API's status and answer.
    fn try_register(&self, endpoint: &str) -> (u16, Value) {
        let cluster = json!({"project_id": self.tenant.project_id, "id": "warehouse", "name": "warehouse",
                             "endpoint": endpoint});
        self.snapkeep.call("POST", "/admin/v1/clusters", Some(cluster), Auth::Admin)
    }

    fn register(&self, endpoint: &str) {
        let (status, registered) = self.try_register(endpoint);
        assert!((200..300).contains(&status), "{status}: {registered}");
        assert_eq!(registered["engine"], "postgres", "{registered}");
        assert!(registered["version"].as_str().unwrap().starts_with("15."), "{registered}");
    }

    fn dws(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.snapkeep.css(&self.tenant, method, path, body)
    }

    fn create_snapshot(&self, name: &str) -> String {
        let body = json!({"snapshot": {"name": name, "cluster_id": "warehouse"}});
        let (status, answer) = self.dws("POST", "/snapshots", Some(body));
        assert_eq!(status, 200, "{answer}");
        answer["snapshot"]["id"].as_str().unwrap().to_owned()
    }

    fn await_status(&self, id: &str, timeout: Duration) -> Value {
        wait_for("the snapshot to leave CREATING", timeout, || {
            let (_, answer) = self.dws("GET", &format!("/snapshots/{id}"), None);
            (answer["snapshot"]["status"] != "CREATING").then(|| answer["snapshot"].clone())
        })
    }

    /// Restores snapshot `id` into a new cluster `name` listening on `port`: the new cluster's id
    /// and the restore job once it ended.
    fn restore(&self, id: &str, name: &str, port: u16) -> (String, Value) {
        let body = json!({"restore": {"name": name, "port": port}});
        let (status, answer) = self.dws("POST", &format!("/snapshots/{id}/actions"), Some(body));
        assert_eq!(status, 200, "{answer}");
        let job = answer["job_id"].as_str().unwrap();
        let ended = wait_for("the restore job to end", Duration::from_secs(120), || {
            let (_, job) = self.dws("GET", &format!("/job/{job}"), None);
            (job["status"] != "RUNNING").then_some(job)
        });
        (answer["cluster"]["id"].as_str().unwrap().to_owned(), ended)
    }

    fn snapshot_objects(&self, id: &str) -> Vec<String> {
        let keys = self.storage.repository_keys("warehouse").into_iter();
        keys.filter(|key| key.starts_with(&format!("{id}/"))).collect()
    }
}

#[test]
fn a_database_restored_through_the_dws_sdk_reads_back_identical() {
    let setup = setup("dws_round_trip", 2, 20_000);
    let url = setup.postgres.url("dws_round_trip");
    let before = fingerprint(&url);
    let port = free_port();
    let output = run_sdk_script(
        "dws_lifecycle.py",
        &setup.snapkeep,
        &setup.tenant,
        &[("DWS_CLUSTER", "warehouse"), ("DWS_RESTORE_PORT", &port.to_string())],
    );
    let ids: Value = serde_json::from_str(output.lines().last().unwrap()).unwrap();
    let (kept, deleted) = (ids["kept"].as_str().unwrap(), ids["deleted"].as_str().unwrap());

    let restored = ids["restored_cluster"].as_str().unwrap();
    let view = setup.snapkeep.admin("GET", &format!("/clusters/{restored}"), None);
    assert_eq!(view["engine"], "postgres", "{view}");
    assert_eq!(view["name"], "restored-copy", "{view}");
    let restored_url = format!("postgres://postgres@127.0.0.1:{port}/dws_round_trip");
    assert_eq!(fingerprint(&restored_url), before, "the restored database differs from the source");
    assert!(before.contains(" 0 bad,"), "{before}");
    assert_eq!(psql(&restored_url, "SELECT pg_is_in_recovery()"), "f", "the restored server is a primary");

    // Deleting the restored cluster stops its server and removes its directory.
    let (status, body) = setup.snapkeep.call("DELETE", &format!("/admin/v1/clusters/{restored}"), None, Auth::Admin);
    assert_eq!(status, 204, "{body}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the restored server was stopped");
    assert!(!setup.restores.data_dir(restored).parent().unwrap().exists(), "its directory was removed");

    let objects = setup.snapshot_objects(kept);
    assert!(objects.contains(&format!("{kept}/manifest.json")), "{objects:?}");
    assert!(objects.contains(&format!("{kept}/base.tar.zst.000001")), "{objects:?}");
    assert!(setup.snapshot_objects(deleted).is_empty(), "a deleted snapshot leaves no object");
}

#[test]
fn a_snapshot_killed_mid_stream_ends_failed_and_leaves_no_objects() {
    // Slow compression (zstd level 15 on one thread, about 3 MB/s) makes a 60 MB table stream
    // for tens of seconds, long enough to be cut, without filling the disk.
    let slow = [("SNAPKEEP_POSTGRES_COMPRESSION_LEVEL", "15"), ("SNAPKEEP_POSTGRES_COMPRESSION_WORKERS", "1")];
    let mut setup = setup_with("dws_killed", 1, 10, &slow);
    let url = setup.postgres.url("dws_killed");
    psql(
        &url,
        "CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) AS a, \
                md5(random()::text) AS b FROM generate_series(1, 500000) g",
    );
    let id = setup.create_snapshot("killed-01");
    let running = wait_for("progress shown and a part in storage", Duration::from_secs(60), || {
        let (_, answer) = setup.dws("GET", &format!("/snapshots/{id}"), None);
        let percent: u32 = answer["snapshot"]["progress"].as_str()?.trim_end_matches('%').parse().ok()?;
        (percent > 0 && !setup.snapshot_objects(&id).is_empty()).then_some(answer)
    });
    setup.snapkeep.kill();
    assert_eq!(running["snapshot"]["status"], "CREATING", "killed while it ran: {running}");
    assert!(!setup.snapshot_objects(&id).is_empty(), "parts were written before the kill");

    setup.snapkeep.restart();
    let detail = setup.await_status(&id, Duration::from_secs(60));
    assert_eq!(detail["status"], "UNAVAILABLE", "{detail}");
    assert!(detail["fail_reason"].as_str().unwrap().contains("interrupted"), "{detail}");
    assert!(setup.snapshot_objects(&id).is_empty(), "the interrupted snapshot's objects are removed");

    // The shared server is left as it was found; what other tests keep there still streams at
    // the slow level, so this wait is generous.
    psql(&url, "DROP TABLE noise");
    let again = setup.create_snapshot("after-kill");
    assert_eq!(setup.await_status(&again, Duration::from_secs(300))["status"], "AVAILABLE");
}

/// A replica that stalled past its lease while streaming a backup, and whose operation another
/// replica took over (here: the catalog's lease row given to another owner), stops streaming at
/// its next lease renewal instead of writing on until the backup ends, and records nothing more.
#[test]
fn a_backup_whose_lease_was_taken_over_stops_streaming() {
    let postgres = TestPostgres::shared_or_start();
    let catalog = postgres.fresh_database("lease_taken");
    let slow = [
        ("SNAPKEEP_POSTGRES_COMPRESSION_LEVEL", "15"),
        ("SNAPKEEP_POSTGRES_COMPRESSION_WORKERS", "1"),
        ("SNAPKEEP_CATALOG_URL", catalog.as_str()),
        ("SNAPKEEP_LEASE_SECS", "5"),
    ];
    let setup = setup_with("dws_lease_taken", 1, 10, &slow);
    let url = setup.postgres.url("dws_lease_taken");
    psql(
        &url,
        "CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) AS a, \
                md5(random()::text) AS b FROM generate_series(1, 500000) g",
    );
    let id = setup.create_snapshot("taken-01");
    let server = setup.postgres.url("postgres");
    // The backup's temporary replication slot is named after the snapkeep process streaming it.
    let slot = format!(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'snapkeep\\_{}\\_%'",
        setup.snapkeep.pid()
    );
    wait_for("the backup streams", Duration::from_secs(60), || {
        let (_, answer) = setup.dws("GET", &format!("/snapshots/{id}"), None);
        let percent: u32 = answer["snapshot"]["progress"].as_str()?.trim_end_matches('%').parse().ok()?;
        (percent > 0 && psql(&server, &slot) == "1").then_some(())
    });

    let taken = psql(
        &catalog,
        &format!(
            "UPDATE operations SET lease_owner = 'another-replica', lease_until = lease_until + 3600000 \
             WHERE snapshot_id = '{id}' AND finished_at IS NULL RETURNING phase"
        ),
    );
    assert_eq!(taken, "submitted", "the create was streaming when its lease was taken");
    let gave_up = || setup.snapkeep.log_text().contains("this replica stops its step").then_some(());
    wait_for("the replica to give the backup up", Duration::from_secs(30), gave_up);
    let parts = setup.snapshot_objects(&id).len();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(setup.snapshot_objects(&id).len(), parts, "no part written after the lease was taken");
    // The server ends the walsender (and its temporary slot) at its next write to the closed
    // connection, which a loaded server compressing at level 15 may take a while to make.
    wait_for("the stream stops", Duration::from_secs(120), || (psql(&server, &slot) == "0").then_some(()));
    let (_, detail) = setup.dws("GET", &format!("/snapshots/{id}"), None);
    assert_eq!(detail["snapshot"]["status"], "CREATING", "the other replica decides the outcome: {detail}");
    let holder = format!("SELECT lease_owner, phase FROM operations WHERE snapshot_id = '{id}'");
    assert_eq!(psql(&catalog, &holder), "another-replica|submitted", "nothing recorded after the takeover");
    psql(&url, "DROP TABLE noise");
}

#[test]
fn storage_changed_outside_snapkeep_is_refused_before_the_restored_server_starts() {
    let setup = setup("dws_damaged", 1, 1_000);
    let (id, other) = (setup.create_snapshot("damaged-01"), setup.create_snapshot("damaged-02"));
    for snapshot in [&id, &other] {
        let detail = setup.await_status(snapshot, Duration::from_secs(120));
        assert_eq!(detail["status"], "AVAILABLE", "{detail}");
    }
    let original = setup.storage.repository_objects("warehouse");
    let (part_key, manifest_key) = (format!("{id}/base.tar.zst.000001"), format!("{id}/manifest.json"));
    let mut part = original[&part_key].clone();
    let middle = part.len() / 2;
    part[middle] ^= 0x40;
    setup.storage.put_repository_object("warehouse", &part_key, part.clone());

    // A port already taken is refused before anything is downloaded, with no job and no trace.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = busy.local_addr().unwrap().port();
    let body = json!({"restore": {"name": "into-busy-port", "port": taken}});
    let (status, refused) = setup.dws("POST", &format!("/snapshots/{id}/actions"), Some(body));
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error_msg"].as_str().unwrap_or_default().contains(&format!("127.0.0.1:{taken}")), "{refused}");
    let clusters = setup.snapkeep.admin("GET", "/clusters", None);
    assert!(!clusters.to_string().contains("into-busy-port"), "no cluster for a refused restore: {clusters}");
    drop(busy);

    setup.assert_restore_refused(&id, "from-damaged", "SHA-256");

    // Whoever can write the storage can recompute a part's digest, but not the manifest's MAC.
    let mut manifest: Value = serde_json::from_slice(&original[&manifest_key]).unwrap();
    manifest["parts"][0]["sha256"] = json!(hex::encode(Sha256::digest(&part)));
    setup.storage.put_repository_object("warehouse", &manifest_key, serde_json::to_vec_pretty(&manifest).unwrap());
    setup.assert_restore_refused(&id, "from-forged", "MAC does not verify");

    // Another backup's objects, authentic but not this one's, are refused too.
    for (key, bytes) in &original {
        if let Some(name) = key.strip_prefix(&format!("{id}/")) {
            setup.storage.put_repository_object("warehouse", &format!("{other}/{name}"), bytes.clone());
        }
    }
    setup.assert_restore_refused(&other, "from-swapped", "another backup's objects");

    for key in [&part_key, &manifest_key] {
        setup.storage.put_repository_object("warehouse", key, original[key].clone());
    }
    let (_, ended) = setup.restore(&id, "from-repaired", free_port());
    assert_eq!(ended["status"], "SUCCESS", "the backup as snapkeep wrote it restores: {ended}");
}

impl Setup {
    /// Restores `id` into a new cluster `name` and checks the restore fails with `reason` and
    /// leaves nothing: no data directory, no server, no cluster.
    fn assert_restore_refused(&self, id: &str, name: &str, reason: &str) {
        let port = free_port();
        let (cluster, ended) = self.restore(id, name, port);
        assert_eq!(ended["status"], "FAIL", "{name}: {ended}");
        assert_ne!(ended["progress"], "100%", "{name}: a failed job shows where it stopped: {ended}");
        assert!(ended["failed_detail"].as_str().unwrap().contains(reason), "{name}: {ended}");
        assert!(!self.restores.data_dir(&cluster).exists(), "{name}: nothing of the failed restore is left");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "{name}: no server was started");
        let (status, _) = self.snapkeep.call("GET", &format!("/admin/v1/clusters/{cluster}"), None, Auth::Admin);
        assert_eq!(status, 404, "{name}: the failed restore registered no cluster");
    }
}

#[test]
fn a_server_that_takes_only_tls_is_registered_and_backed_up_over_verified_tls() {
    let certificates = TlsCertificates::generate();
    let setup = setup_on(TestPostgres::start_tls_only(&certificates), &[]);
    load(&setup.postgres.url("postgres"), 1, 1_000);
    let base = setup.postgres.url("postgres");
    let (ca, other_ca) = (certificates.ca().display().to_string(), certificates.other_ca().display().to_string());
    let refusals = [
        (format!("{base}?sslmode=disable"), "no encryption"),
        (format!("{base}?sslmode=verify-full&sslrootcert={other_ca}"), "UnknownIssuer"),
        (
            format!("{}?sslmode=verify-full&sslrootcert={ca}", base.replace("127.0.0.1", "localhost")),
            "not valid for name \"localhost\"",
        ),
    ];
    for (endpoint, reason) in refusals {
        let (status, refused) = setup.try_register(&endpoint);
        assert_eq!(status, 422, "{endpoint}: {refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains(reason), "{endpoint}: {refused}");
    }
    let (status, _) = setup.snapkeep.call("GET", "/admin/v1/clusters/warehouse", None, Auth::Admin);
    assert_eq!(status, 404, "refused registrations leave no cluster");

    setup.register(&format!("{base}?sslmode=verify-full&sslrootcert={ca}"));
    let id = setup.create_snapshot("over-tls");
    let detail = setup.await_status(&id, Duration::from_secs(120));
    assert_eq!(detail["status"], "AVAILABLE", "{detail}");
    assert!(setup.snapshot_objects(&id).iter().any(|key| key.ends_with("manifest.json")));
}

#[test]
fn a_server_keeping_its_configuration_elsewhere_restores_into_one_that_starts() {
    let setup = setup_on(TestPostgres::start_with_configuration_outside(), &[]);
    let source = setup.postgres.url("postgres");
    load(&source, 1, 1_000);
    psql(&source, "ALTER ROLE postgres PASSWORD 'restored-secret'");
    let (status, registered) = setup.snapkeep.call(
        "POST",
        "/admin/v1/clusters",
        Some(json!({"project_id": setup.tenant.project_id, "id": "warehouse", "name": "warehouse",
                    "endpoint": source, "username": "postgres", "password": "restored-secret"})),
        Auth::Admin,
    );
    assert!((200..300).contains(&status), "{status}: {registered}");
    let id = setup.create_snapshot("elsewhere-01");
    assert_eq!(setup.await_status(&id, Duration::from_secs(120))["status"], "AVAILABLE");

    let port = free_port();
    let (cluster, ended) = setup.restore(&id, "from-elsewhere", port);
    assert_eq!(ended["status"], "SUCCESS", "{ended}");
    assert!(setup.restores.data_dir(&cluster).join("pg_hba.conf").exists(), "the restore wrote what the backup lacked");
    let restored = format!("postgres://postgres:restored-secret@127.0.0.1:{port}/postgres");
    assert_eq!(
        fingerprint(&restored),
        fingerprint(&source),
        "the copy answers with its password and reads back identical"
    );
}
