//! Fleet health through the admin API and CLI, on essim clusters: a cluster with no snapshot is
//! `unprotected`, one with a completed snapshot `protected` with its age, one whose last three
//! snapshots failed `failing` with the reason, most urgent first; filters by protection and
//! project, and a word that is no protection is refused.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep};

/// The fleet rows' `(cluster_id, protection)`, in the order given.
fn rows(fleet: &Value) -> Vec<(String, String)> {
    let clusters = fleet["clusters"].as_array().expect("clusters");
    clusters
        .iter()
        .map(|c| (c["cluster_id"].as_str().unwrap().into(), c["protection"].as_str().unwrap().into()))
        .collect()
}

#[test]
fn protection_follows_snapshots_and_failures_most_urgent_first() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let healthy = Essim::start(&dir.path().join("healthy"), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    let broken = Essim::start(&dir.path().join("broken"), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    for essim in [&healthy, &broken] {
        essim.load_index("logs", 1, 10);
    }
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[("SNAPKEEP_STUCK_AFTER_SECS", "2")]);
    let tenant = snapkeep.tenant("fleet");
    snapkeep.register(&tenant, "es-ok", &healthy);
    snapkeep.register(&tenant, "es-bad", &broken);
    let fleet = snapkeep.admin("GET", "/fleet", None);
    let unprotected = |id: &str| (id.to_owned(), "unprotected".to_owned());
    assert_eq!(rows(&fleet), [unprotected("es-bad"), unprotected("es-ok")], "{fleet}");

    snapkeep.create_snapshot(&tenant, "es-ok", "first", "logs");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es-ok", "first", Duration::from_secs(60))["status"], "COMPLETED");
    broken.set_faults(json!({"stuck": true}));
    for attempt in ["stuck-1", "stuck-2", "stuck-3"] {
        snapkeep.create_snapshot(&tenant, "es-bad", attempt, "logs");
        assert_eq!(snapkeep.await_snapshot(&tenant, "es-bad", attempt, Duration::from_secs(60))["status"], "FAILED");
    }

    let fleet = snapkeep.admin("GET", "/fleet", None);
    let expected = [("es-bad".to_owned(), "failing".to_owned()), ("es-ok".to_owned(), "protected".to_owned())];
    assert_eq!(rows(&fleet), expected, "{fleet}");
    let (bad, ok) = (&fleet["clusters"][0], &fleet["clusters"][1]);
    assert!(bad["last_failure"]["reason"].as_str().unwrap().contains("no progress"), "{bad}");
    assert_eq!(
        (bad["engine"].as_str(), bad["policy"]["enabled"].as_bool()),
        (Some("opensearch"), Some(false)),
        "{bad}"
    );
    assert_eq!(ok["last_success"]["name"], "first", "{ok}");
    assert!(ok["last_success"]["age_seconds"].as_i64().is_some_and(|age| (0..60).contains(&age)), "{ok}");
    assert_eq!(ok["running"], json!([]), "{ok}");

    let failing = snapkeep.admin("GET", "/fleet?protection=failing", None);
    assert_eq!(rows(&failing), [expected[0].clone()]);
    let other = snapkeep.admin("POST", "/projects", Some(json!({"name": "empty"})));
    let empty = snapkeep.admin("GET", &format!("/fleet?project_id={}", other["id"].as_str().unwrap()), None);
    assert_eq!(empty["clusters"], json!([]), "another project's fleet");
    let (status, refused) = snapkeep.call("GET", "/admin/v1/fleet?protection=safe", None, Auth::Admin);
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("must be failing, unprotected, late or protected"));

    let out = Command::new(snapkeep_tests::binary("snapkeep"))
        .args(["admin", "fleet", "--json", "--server", &snapkeep.url, "--token", &snapkeep.admin_token()])
        .env_remove("SNAPKEEP_ADMIN_TOKEN")
        .output()
        .expect("run the CLI");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rows(&listed), expected, "{listed}");
}
