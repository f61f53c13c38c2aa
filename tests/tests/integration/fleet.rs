//! Fleet health through the admin API and CLI, on essim clusters: a cluster with no snapshot is
//! `unprotected`, one with a completed snapshot `protected` with its age, one whose last three
//! snapshots failed `failing` with the reason, most urgent first; filters by protection and
//! project, and a word that is no protection is refused; the metrics count the failures and
//! show each cluster's protection, behind the admin token. Snapshots and operations of the whole
//! fleet list in pages, by scope, status, state and time, through the API and the CLI.

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

    let project = tenant.project_id.clone();
    let before = metrics(&snapkeep);
    let series = |name: &str, cluster: &str, extra: &str| {
        format!("{name}{{cluster=\"{cluster}\",project=\"{project}\"{extra}}}")
    };
    let unprotected = series("snapkeep_cluster_protection", "es-bad", ",state=\"unprotected\"");
    assert_eq!(value(&before, &unprotected), Some(1.0), "{before}");
    let failed = series("snapkeep_snapshots_total", "es-bad", ",outcome=\"failed\"");
    assert_eq!(value(&before, &failed), None, "nothing failed yet");

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

    let after = metrics(&snapkeep);
    assert_eq!(value(&after, &failed), Some(3.0), "{after}");
    let failing_state = series("snapkeep_cluster_protection", "es-bad", ",state=\"failing\"");
    assert_eq!((value(&after, &failing_state), value(&after, &unprotected)), (Some(1.0), Some(0.0)), "{after}");
    let succeeded = series("snapkeep_snapshots_total", "es-ok", ",outcome=\"succeeded\"");
    let timed = series("snapkeep_snapshot_duration_seconds_count", "es-ok", "");
    assert_eq!((value(&after, &succeeded), value(&after, &timed)), (Some(1.0), Some(1.0)), "{after}");
    let ended = value(&after, &series("snapkeep_last_success_timestamp_seconds", "es-ok", "")).expect("last success");
    assert!((ended - chrono::Utc::now().timestamp() as f64).abs() < 120.0, "{ended}");
    assert!(after.contains("snapkeep_worker_up{worker=\"scheduler\"} 1"), "{after}");
    assert_eq!(
        snapkeep.call("GET", "/metrics", None, Auth::Anonymous).0,
        401,
        "the metrics name every tenant's clusters"
    );

    let failing = snapkeep.admin("GET", "/fleet?protection=failing", None);
    assert_eq!(rows(&failing), [expected[0].clone()]);
    let other = snapkeep.admin("POST", "/projects", Some(json!({"name": "empty"})));
    let empty = snapkeep.admin("GET", &format!("/fleet?project_id={}", other["id"].as_str().unwrap()), None);
    assert_eq!(empty["clusters"], json!([]), "another project's fleet");
    let (status, refused) = snapkeep.call("GET", "/admin/v1/fleet?protection=safe", None, Auth::Admin);
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("must be failing, unprotected, late or protected"));

    let listed = cli(&snapkeep, &["fleet"]);
    assert_eq!(rows(&listed), expected, "{listed}");
}

/// The metrics' text, read with the admin token.
fn metrics(snapkeep: &Snapkeep) -> String {
    let (status, text) = snapkeep.call("GET", "/metrics", None, Auth::Admin);
    assert_eq!(status, 200, "{text}");
    text.as_str().expect("text").to_owned()
}

/// The value of the sample `series` (name and labels, as printed) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `snapkeep admin <args> --json` against `snapkeep`: its answer.
fn cli(snapkeep: &Snapkeep, args: &[&str]) -> Value {
    let out = Command::new(snapkeep_tests::binary("snapkeep"))
        .arg("admin")
        .args(args)
        .args(["--json", "--server", &snapkeep.url, "--token", &snapkeep.admin_token()])
        .env_remove("SNAPKEEP_ADMIN_TOKEN")
        .output()
        .expect("run the CLI");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The `id`s of a listing's items under `key`.
fn ids(page: &Value, key: &str) -> Vec<String> {
    page[key].as_array().expect("a list").iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

/// Snapshots and operations of every cluster, newest first, in pages, filtered by cluster,
/// project, status or state and time; one of each by id; a bad filter refused with its field.
#[test]
fn snapshots_and_operations_of_the_whole_fleet_list_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("logs", 1, 10);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[("SNAPKEEP_STUCK_AFTER_SECS", "2")]);
    let (alpha, beta) = (snapkeep.tenant("alpha"), snapkeep.tenant("beta"));
    snapkeep.register(&alpha, "es-a", &essim);
    snapkeep.register(&beta, "es-b", &essim);
    let started = chrono::Utc::now();
    for (tenant, cluster, name) in [(&alpha, "es-a", "alpha-1"), (&beta, "es-b", "beta-1"), (&alpha, "es-a", "alpha-2")]
    {
        snapkeep.create_snapshot(tenant, cluster, name, "logs");
        assert_eq!(snapkeep.await_snapshot(tenant, cluster, name, Duration::from_secs(60))["status"], "COMPLETED");
    }
    essim.set_faults(json!({"stuck": true}));
    snapkeep.create_snapshot(&beta, "es-b", "beta-stuck", "logs");
    assert_eq!(snapkeep.await_snapshot(&beta, "es-b", "beta-stuck", Duration::from_secs(60))["status"], "FAILED");

    let names = |page: &Value| -> Vec<String> {
        page["snapshots"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
    };
    let first = snapkeep.admin("GET", "/snapshots?limit=3", None);
    assert_eq!(names(&first), ["beta-stuck", "alpha-2", "beta-1"], "newest first across clusters");
    let rest = snapkeep.admin("GET", &format!("/snapshots?limit=3&after={}", first["next"].as_str().unwrap()), None);
    assert_eq!((names(&rest), &rest["next"]), (vec!["alpha-1".to_owned()], &Value::Null));
    let project = format!("/snapshots?project_id={}", alpha.project_id);
    assert_eq!(names(&snapkeep.admin("GET", &project, None)), ["alpha-2", "alpha-1"]);
    let failed = snapkeep.admin("GET", "/snapshots?cluster_id=es-b&status=FAILED", None);
    assert_eq!(names(&failed), ["beta-stuck"]);
    let rfc3339 = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let since = format!("/snapshots?since={}", rfc3339(chrono::Utc::now() + chrono::Duration::hours(1)));
    assert_eq!(snapkeep.admin("GET", &since, None)["snapshots"], json!([]));
    let until = format!("/snapshots?until={}", rfc3339(started));
    assert_eq!(snapkeep.admin("GET", &until, None)["snapshots"], json!([]), "none before the test");
    let one = snapkeep.admin("GET", &format!("/snapshots/{}", ids(&failed, "snapshots")[0]), None);
    assert_eq!((one["name"].as_str(), one["cluster_id"].as_str()), (Some("beta-stuck"), Some("es-b")), "{one}");

    let failed_ops = snapkeep.admin("GET", "/operations?state=failed", None);
    let failed_ops = failed_ops["operations"].as_array().unwrap().clone();
    assert_eq!(failed_ops.len(), 1, "{failed_ops:?}");
    assert_eq!(
        (failed_ops[0]["kind"].as_str(), failed_ops[0]["cluster_id"].as_str()),
        (Some("create_snapshot"), Some("es-b"))
    );
    assert!(failed_ops[0]["last_error"].as_str().unwrap().contains("no progress"), "{failed_ops:?}");
    let all_ops = snapkeep.admin("GET", "/operations?kind=create_snapshot", None);
    assert_eq!(ids(&all_ops, "operations").len(), 4);
    let op = snapkeep.admin("GET", &format!("/operations/{}", failed_ops[0]["id"].as_str().unwrap()), None);
    assert_eq!(op["phase"], "failed", "{op}");

    for (path, field) in [
        ("/admin/v1/operations?state=running", "state"),
        ("/admin/v1/snapshots?since=yesterday", "since"),
        ("/admin/v1/snapshots?status=completed", "status"),
    ] {
        let (status, refused) = snapkeep.call("GET", path, None, Auth::Admin);
        assert_eq!(status, 400, "{path}: {refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains(field), "{path}: {refused}");
    }
    for path in [
        "/admin/v1/snapshots/no-such-snapshot",
        "/admin/v1/operations/no-such-operation",
        "/admin/v1/snapshots?cluster_id=nowhere",
    ] {
        assert_eq!(snapkeep.call("GET", path, None, Auth::Admin).0, 404, "{path}");
    }
    let wrong_project = format!("/admin/v1/operations?project_id={}&cluster_id=es-b", alpha.project_id);
    assert_eq!(snapkeep.call("GET", &wrong_project, None, Auth::Admin).0, 404, "a cluster of another project");

    let listed = cli(&snapkeep, &["snapshot", "list", "--cluster", "es-a", "--since", &started.to_rfc3339()]);
    assert_eq!(names(&listed), ["alpha-2", "alpha-1"], "{listed}");
    let listed = cli(&snapkeep, &["snapshot", "list", "--cluster", "es-a", "--until", &started.to_rfc3339()]);
    assert_eq!(listed["snapshots"], json!([]), "an offset time is sent encoded: {listed}");
    let shown = cli(&snapkeep, &["operation", "show", failed_ops[0]["id"].as_str().unwrap()]);
    assert_eq!(shown["phase"], "failed", "{shown}");
}

/// The alert rules in `deploy/prometheus` pass `promtool check rules` and their own unit tests
/// (`promtool test rules`), and every snapkeep metric they use is one snapkeep serves.
#[test]
fn the_alert_rules_pass_promtool_and_use_served_metrics() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus");
    for args in [["check", "rules", "snapkeep-alerts.yml"], ["test", "rules", "snapkeep-alerts.test.yml"]] {
        let out =
            Command::new("promtool").args(args).current_dir(&rules).output().expect("promtool (Debian's prometheus)");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("logs", 1, 10);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("alerts");
    snapkeep.register(&tenant, "es-1", &essim);
    snapkeep.create_snapshot(&tenant, "es-1", "first-one", "logs");
    assert_eq!(snapkeep.await_snapshot(&tenant, "es-1", "first-one", Duration::from_secs(60))["status"], "COMPLETED");
    let unsigned = format!("/v1.0/{}/clusters/es-1/index_snapshots", tenant.project_id);
    assert_eq!(snapkeep.call("GET", &unsigned, None, Auth::Anonymous).0, 401, "a refusal is counted");
    let served = metrics(&snapkeep);
    let text = std::fs::read_to_string(rules.join("snapkeep-alerts.yml")).unwrap();
    let mut used: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("snapkeep_"))
        .collect();
    used.sort_unstable();
    used.dedup();
    assert!(used.len() >= 5, "{used:?}");
    for name in used {
        let family = ["_total", "_bucket", "_count", "_sum"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        assert!(served.contains(&format!("# TYPE {family} ")), "{name} is not served:\n{served}");
    }
}

/// A search engine's running snapshot shows its bytes and shards done of all (from `_status`)
/// in the fleet view and its operation, moving while it runs; once it completes, nothing runs.
#[test]
fn a_running_snapshot_shows_its_progress_moving() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    essim.load_index("logs", 2, 400);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("progress");
    snapkeep.register(&tenant, "es-1", &essim);
    essim.set_rate(200);
    snapkeep.create_snapshot(&tenant, "es-1", "slowly", "logs");

    let progress = |fleet: &Value| fleet["clusters"][0]["running"][0]["progress"].clone();
    let first = snapkeep_tests::wait_for("progress shown", Duration::from_secs(60), || {
        let seen = progress(&snapkeep.admin("GET", "/fleet", None));
        (seen["bytes_done"].as_u64()? > 0).then_some(seen)
    });
    let (total, shards) = (first["bytes_total"].as_u64().unwrap(), first["shards_total"].as_u64().unwrap());
    assert!(total > first["bytes_done"].as_u64().unwrap() && shards == 2, "{first}");
    let later = snapkeep_tests::wait_for("progress moving", Duration::from_secs(60), || {
        let seen = progress(&snapkeep.admin("GET", "/fleet", None));
        (seen["bytes_done"].as_u64()? > first["bytes_done"].as_u64()?).then_some(seen)
    });
    assert!(later["bytes_done"].as_u64().unwrap() <= total, "{later}");
    let operations = snapkeep.admin("GET", "/operations?state=open", None);
    assert_eq!(operations["operations"][0]["progress"]["shards_total"], 2, "{operations}");

    essim.set_rate(1 << 30);
    assert_eq!(snapkeep.await_snapshot(&tenant, "es-1", "slowly", Duration::from_secs(60))["status"], "COMPLETED");
    let fleet = snapkeep.admin("GET", "/fleet", None);
    assert_eq!(
        (fleet["clusters"][0]["running"].clone(), fleet["clusters"][0]["protection"].clone()),
        (json!([]), json!("protected"))
    );
}
