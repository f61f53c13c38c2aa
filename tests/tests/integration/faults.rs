//! Injected engine faults: 5xx answers and timeouts are retried with backoff until the work ends
//! right; stuck snapshots are stopped; shard and request failures end in the right state.

use std::time::Duration;

use serde_json::json;
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep, wait_for};

#[test]
fn errors_and_timeouts_are_retried_and_failures_end_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    essim.load_index("events", 2, 200);
    let snapkeep = Snapkeep::start(
        dir.path(),
        &repo_root,
        &[("SNAPKEEP_ENGINE_TIMEOUT_SECS", "1"), ("SNAPKEEP_STUCK_AFTER_SECS", "3")],
    );
    let tenant = snapkeep.tenant("faults");
    snapkeep.register(&tenant, "es", &essim);
    let wait = Duration::from_secs(60);

    // Server errors on the snapshot API: retried until they stop.
    essim.set_faults(json!({"fail_next": 4, "error_status": 503, "path_contains": "_snapshot"}));
    snapkeep.create_snapshot(&tenant, "es", "after-errors", "events");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es", "after-errors", wait)["status"], "COMPLETED");
    let injected = essim.requests().iter().filter(|(_, _, s)| *s == 503).count();
    assert_eq!(injected, 4, "all four injected errors were met");

    // Requests that hang past the client timeout: retried.
    essim.set_faults(json!({"hang_next": 2, "hang_ms": 2500, "path_contains": "_snapshot"}));
    snapkeep.create_snapshot(&tenant, "es", "after-timeouts", "events");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es", "after-timeouts", wait)["status"], "COMPLETED");
    assert!(snapkeep.log_text().contains("transient engine error; retrying"));

    // Errors while a restore is watched: it still ends in success with every document back.
    let id = snapkeep.backup(&tenant, "es", "after-errors").unwrap()["id"].as_str().unwrap().to_owned();
    essim.set_faults(json!({"fail_next": 3, "error_status": 500, "path_contains": "_recovery"}));
    let (status, body) = snapkeep.css(
        &tenant,
        "POST",
        &format!("/clusters/es/index_snapshot/{id}/restore"),
        Some(json!({"target_cluster": "es", "rename_pattern": "events", "rename_replacement": "events_restored"})),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(snapkeep.await_restore(&tenant, "es", "after-errors", wait)["restoreStatus"], "success");
    assert_eq!(essim.count("events_restored"), 200);

    // A snapshot that makes no progress is stopped and aborted on the cluster.
    essim.set_faults(json!({"stuck": true}));
    snapkeep.create_snapshot(&tenant, "es", "stuck-one", "events");
    let stuck = snapkeep.await_snapshot(&tenant, "es", "stuck-one", wait);
    assert_eq!(stuck["status"], "FAILED", "{stuck}");
    assert!(stuck["failReason"].as_str().unwrap_or_default().contains("no progress"), "{stuck}");
    assert!(!essim.snapshot_names("snapkeep").contains(&"stuck-one".to_owned()), "aborted on the cluster");

    // A shard that fails: PART_FAILED with the counts.
    essim.set_faults(json!({"failed_shards": 1}));
    snapkeep.create_snapshot(&tenant, "es", "one-shard-lost", "events");
    let partial = snapkeep.await_snapshot(&tenant, "es", "one-shard-lost", wait);
    assert_eq!(
        (partial["status"].as_str(), partial["totalShards"].as_u64(), partial["failedShards"].as_u64()),
        (Some("PART_FAILED"), Some(2), Some(1)),
        "{partial}"
    );
    let log = snapkeep.log_text();
    let finished = log.lines().find(|l| l.contains("operation finished") && l.contains("PART_FAILED"));
    assert!(
        finished.is_some_and(|line| line.contains("WARN") && line.contains("snapshot_status=\"PART_FAILED\"")),
        "a partial snapshot is logged as a warning with its status: {finished:?}"
    );

    // A restore the engine refuses (the snapshot lost a shard of the index): the reason is where
    // the CSS caller looks, and the cluster view shows it as the last failure.
    essim.set_faults(json!({}));
    let id = partial["id"].as_str().unwrap().to_owned();
    let body = json!({"target_cluster": "es", "rename_pattern": "events", "rename_replacement": "events_partial"});
    let (status, answer) =
        snapkeep.css(&tenant, "POST", &format!("/clusters/es/index_snapshot/{id}/restore"), Some(body));
    assert_eq!(status, 201, "{answer}");
    let refused = snapkeep.await_restore(&tenant, "es", "one-shard-lost", wait);
    assert_eq!(refused["restoreStatus"], "failed", "{refused}");
    let reason = refused["failReason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("restore failed:") && reason.contains("wasn't fully snapshotted"), "{refused}");
    let view = snapkeep.admin("GET", "/clusters/es", None);
    let last = &view["failures"]["last"];
    assert_eq!(last["operation"], "restore_snapshot", "{view}");
    assert!(last["reason"].as_str().unwrap_or_default().contains("wasn't fully snapshotted"), "{view}");
    let metrics = snapkeep.call("GET", "/metrics", None, Auth::Admin).1;
    let text = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("snapkeep_operations_finished_total{operation=\"restore_snapshot\",outcome=\"failed\"} 1"),
        "{text}"
    );

    // A delete the engine refuses: the snapshot stays listed, with why the delete failed.
    essim.set_faults(json!({"fail_next": 1, "error_status": 403, "path_contains": "one-shard-lost"}));
    let (status, answer) = snapkeep.css(&tenant, "DELETE", &format!("/clusters/es/index_snapshot/{id}"), None);
    assert_eq!(status, 200, "{answer}");
    let kept = wait_for("the refused delete to end", wait, || {
        snapkeep
            .backup(&tenant, "es", "one-shard-lost")
            .filter(|b| b["failReason"].as_str().is_some_and(|r| r.starts_with("delete failed:")))
    });
    assert_eq!(kept["status"], "PART_FAILED", "{kept}");

    // A request the engine refuses for good is not retried: the snapshot fails with its reason.
    essim.set_faults(json!({}));
    snapkeep.create_snapshot(&tenant, "es", "missing-index", "no-such-index");
    let refused = snapkeep.await_snapshot(&tenant, "es", "missing-index", wait);
    assert_eq!(refused["status"], "FAILED", "{refused}");
    assert!(refused["failReason"].as_str().unwrap_or_default().contains("no-such-index"), "{refused}");
    let attempts =
        essim.requests().iter().filter(|(m, p, _)| m == "PUT" && p == "/_snapshot/snapkeep/missing-index").count();
    assert_eq!(attempts, 1, "a permanent refusal is not retried");
}

/// A repository location outside the cluster's `path.repo`: registration is refused with the
/// engine's reason and leaves nothing behind; a snapshot that meets it later (snapkeep's storage
/// root moved) fails at once with that reason instead of retrying until its deadline.
#[test]
fn a_repository_the_cluster_refuses_is_refused_at_registration_and_fails_snapshots_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    essim.load_index("events", 1, 20);
    let mut snapkeep = Snapkeep::start(dir.path(), &elsewhere, &[]);
    let tenant = snapkeep.tenant("refused");
    let cluster = json!({"project_id": tenant.project_id, "id": "es", "name": "es", "endpoint": essim.url});
    let (status, body) = snapkeep.call("POST", "/admin/v1/clusters", Some(cluster), Auth::Admin);
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("repository_refused")), "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("doesn't match any of the locations specified by path.repo"), "{body}");
    let listed = snapkeep.admin("GET", &format!("/clusters?project_id={}", tenant.project_id), None);
    assert_eq!(listed["clusters"], json!([]), "nothing was registered");
    assert_eq!(essim.ok("GET", "/_snapshot", None), json!({}), "no repository left on the cluster");

    // The check never touches a repository of the cluster's owner, whatever its name.
    let theirs = json!({"type": "fs", "settings": {"location": repo_root.join("theirs")}});
    essim.ok("PUT", "/_snapshot/snapkeep_check", Some(theirs.clone()));
    snapkeep.restart_with(&[("SNAPKEEP_STORAGE_ROOT", repo_root.to_str().unwrap())]);
    snapkeep.register(&tenant, "es", &essim);
    let registered = essim.ok("GET", "/_snapshot", None);
    assert_eq!(registered.as_object().map(|r| r.keys().collect::<Vec<_>>()), Some(vec![&"snapkeep_check".to_owned()]));
    assert_eq!(registered["snapkeep_check"]["settings"]["location"], theirs["settings"]["location"]);
    snapkeep.restart_with(&[("SNAPKEEP_STORAGE_ROOT", elsewhere.to_str().unwrap())]);
    snapkeep.create_snapshot(&tenant, "es", "first", "events");
    let failed = snapkeep.await_snapshot(&tenant, "es", "first", Duration::from_secs(30));
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let reason = failed["failReason"].as_str().unwrap_or_default();
    assert!(reason.contains("path.repo"), "the engine's reason reaches the caller: {failed}");
    let attempts = essim.requests().iter().filter(|(m, p, _)| m == "PUT" && p == "/_snapshot/snapkeep").count();
    assert_eq!(attempts, 1, "a permanent refusal is not retried");
}

/// A restore over 105 existing indices with 47-character names: the indices are closed and
/// watched in requests whose lines stay under the engines' 4 KB limit (essim enforces it), and
/// the restore succeeds.
#[test]
fn long_index_lists_are_split_under_the_request_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.19.6"));
    let names: Vec<String> = (0..105).map(|i| format!("{:0>47}", format!("metrics-{i}"))).collect();
    for name in &names {
        essim.load_index(name, 1, 1);
    }
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("wide");
    snapkeep.register(&tenant, "os", &essim);
    let id = snapkeep.create_snapshot(&tenant, "os", "wide", "*metrics-*");
    let wait = Duration::from_secs(60);
    assert_eq!(snapkeep.await_snapshot(&tenant, "os", "wide", wait)["status"], "COMPLETED");
    let body = json!({"target_cluster": "os", "replace_exist_indices": true});
    let (status, answer) =
        snapkeep.css(&tenant, "POST", &format!("/clusters/os/index_snapshot/{id}/restore"), Some(body));
    assert_eq!(status, 201, "{answer}");
    let restored = snapkeep.await_restore(&tenant, "os", "wide", wait);
    assert_eq!(restored["restoreStatus"], "success", "{restored}");
    let closes: Vec<_> =
        essim.requests().into_iter().filter(|(m, p, _)| m == "POST" && p.ends_with("/_close")).collect();
    assert!(closes.len() > 1 && closes.iter().all(|(_, p, s)| *s == 200 && p.len() < 4000), "{closes:?}");
    assert!(essim.requests().iter().all(|(_, _, s)| *s != 400), "no request was refused");
}

/// Serves `answers` raw HTTP answers on a loopback port, one per connection, each after reading
/// the request's head; `body` streams after the head when given, in 1 MiB chunks.
fn raw_server(answers: Vec<(String, usize)>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (head, body_bytes) in answers {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = stream;
            if stream.write_all(head.as_bytes()).is_err() {
                continue;
            }
            let chunk = format!("100000\r\n{}\r\n", " ".repeat(0x100000));
            for _ in 0..body_bytes / 0x100000 {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
    });
    port
}

/// Engine calls follow no redirect (the answer names it) and read no answer past their limit,
/// with the service's memory staying bounded while 160 MiB stream at it.
#[test]
fn cluster_answers_are_bounded_and_redirects_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[("SNAPKEEP_ENGINE_TIMEOUT_SECS", "60")]);
    let tenant = snapkeep.tenant("bounded");
    let redirect = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/\r\nContent-Length: 0\r\n\r\n", essim.url);
    let flood = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    let port = raw_server(vec![(redirect, 0), (flood, 160 * 0x100000)]);
    let register = |id: &str| {
        let body = json!({"project_id": tenant.project_id, "id": id, "name": id, "endpoint": format!("http://127.0.0.1:{port}")});
        snapkeep.call("POST", "/admin/v1/clusters", Some(body), Auth::Admin)
    };

    let (status, body) = register("redirected");
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("follows no redirects"), "{body}");
    assert!(essim.requests().iter().all(|(_, path, _)| path != "/"), "the redirect was not followed");

    let before = snapkeep.peak_resident_bytes();
    let (status, body) = register("flooded");
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("larger than"), "{body}");
    let grown = snapkeep.peak_resident_bytes().saturating_sub(before);
    println!("peak resident memory grew by {} MiB while a 160 MiB answer streamed in", grown / 0x100000);
    assert!(grown < 100 * 0x100000, "memory stays bounded: grew {grown} bytes");
    let listed = snapkeep.admin("GET", &format!("/clusters?project_id={}", tenant.project_id), None);
    assert_eq!(listed["clusters"], json!([]));
}

/// A delete sent right after its snapshot's create, 200 times: each delete waits for the create
/// it follows or aborts it on the engine, and at the end the catalog and the engine agree. What
/// changes outside snapkeep afterwards is reported as drift.
#[test]
fn create_then_delete_at_once_leaves_catalog_and_engine_equal() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.19.6"));
    essim.set_rate(50 * 1024 * 1024);
    essim.load_index("events", 1, 20);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("pairs");
    snapkeep.register(&tenant, "os", &essim);
    for i in 0..200 {
        let id = snapkeep.create_snapshot(&tenant, "os", &format!("pair-{i:03}"), "events");
        let (status, body) = snapkeep.css(&tenant, "DELETE", &format!("/clusters/os/index_snapshot/{id}"), None);
        assert_eq!(status, 200, "pair {i}: {body}");
    }
    let settled = wait_for("every pair to settle", Duration::from_secs(180), || {
        let listed = snapkeep.backups(&tenant, "os");
        (listed.is_empty() && essim.running_snapshots("snapkeep").is_empty()).then(|| essim.snapshot_names("snapkeep"))
    });
    assert_eq!(settled, Vec::<String>::new(), "the engine keeps no snapshot the catalog forgot");
    let drift = || snapkeep.admin("GET", "/clusters/os/drift", None);
    assert_eq!(drift(), json!({"only_on_engine": [], "only_in_catalog": []}));

    // A snapshot taken outside snapkeep, and one of snapkeep's deleted outside it.
    essim.ok("PUT", "/_snapshot/snapkeep/outside?wait_for_completion=true", Some(json!({"indices": "events"})));
    snapkeep.create_snapshot(&tenant, "os", "kept", "events");
    assert_eq!(snapkeep.await_snapshot(&tenant, "os", "kept", Duration::from_secs(30))["status"], "COMPLETED");
    essim.ok("DELETE", "/_snapshot/snapkeep/kept", None);
    assert_eq!(drift(), json!({"only_on_engine": ["outside"], "only_in_catalog": ["kept"]}));
}
