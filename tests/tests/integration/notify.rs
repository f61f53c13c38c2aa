//! Webhooks through the admin API, on essim clusters and a receiver on loopback: a failed
//! snapshot is posted once to its project's webhook and once to the global one (a receiver that
//! refuses the first post gets it again on the retry, with the same event id), signed with the
//! webhook's secret and sent with its headers; the cluster turning `failing` is posted once; the
//! URL, secret and headers are never shown back; a bad webhook is refused and changes nothing.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use snapkeep_tests::{Auth, Essim, EssimOptions, Received, Snapkeep, WebhookReceiver};

/// The posts' event types, in arrival order, of those answered `status`.
fn events(posts: &[Received], status: u16) -> Vec<String> {
    posts.iter().filter(|p| p.status == status).map(|p| p.headers["x-snapkeep-event"].clone()).collect()
}

/// Whether `post` carries a valid signature under `secret`.
fn signed_by(post: &Received, secret: &str) -> bool {
    let header = &post.headers["x-snapkeep-signature"];
    let (t, v1) = header.split_once(",v1=").expect("t=…,v1=…");
    let t = t.strip_prefix("t=").expect("t=");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", post.body).as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

#[test]
fn a_failed_snapshot_and_a_failing_cluster_are_posted_once_to_each_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let broken = Essim::start(&dir.path().join("broken"), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    broken.load_index("logs", 1, 10);
    let env = [
        ("SNAPKEEP_STUCK_AFTER_SECS", "2"),
        ("SNAPKEEP_NOTIFY_INTERVAL_MS", "200"),
        ("SNAPKEEP_HEALTH_CHECK_INTERVAL_MS", "300"),
    ];
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &env);
    let tenant = snapkeep.tenant("hooks");
    snapkeep.register(&tenant, "es-bad", &broken);
    let (project_hook, global_hook) = (WebhookReceiver::start(0), WebhookReceiver::start(1));
    let project_path = format!("/admin/v1/projects/{}/webhook", tenant.project_id);
    let project_url = format!("{}/p/SECRET-PATH-TOKEN", project_hook.url);
    let secret = "a-signing-secret-of-the-project";
    let set = json!({"url": project_url, "secret": secret, "headers": {"Authorization": "Bearer hook-token"}});
    let (status, shown) = snapkeep.call("PUT", &project_path, Some(set), Auth::Admin);
    assert_eq!(status, 200, "{shown}");
    assert_eq!((shown["url_origin"].as_str(), shown.get("secret")), (Some(project_hook.url.as_str()), None));
    let global = snapkeep.admin("PUT", "/webhook", Some(json!({"url": format!("{}/all", global_hook.url)})));
    let global_secret = global["secret"].as_str().expect("a generated secret, shown once").to_owned();
    let listed = snapkeep.admin("GET", "/webhooks", None).to_string();
    for hidden in ["SECRET-PATH-TOKEN", secret, "hook-token", &global_secret] {
        assert!(!listed.contains(hidden), "{hidden} shown: {listed}");
    }
    for bad in [json!({"url": "ftp://127.0.0.1/x"}), json!({"url": project_url, "secret": "short"})] {
        let (status, refused) = snapkeep.call("PUT", &project_path, Some(bad), Auth::Admin);
        assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_argument")), "{refused}");
    }
    assert_eq!(snapkeep.admin("GET", &format!("/projects/{}/webhook", tenant.project_id), None)["id"], shown["id"]);

    broken.set_faults(json!({"stuck": true}));
    for attempt in ["stuck-1", "stuck-2", "stuck-3"] {
        snapkeep.create_snapshot(&tenant, "es-bad", attempt, "logs");
        assert_eq!(snapkeep.await_snapshot(&tenant, "es-bad", attempt, Duration::from_secs(60))["status"], "FAILED");
    }
    let expected = ["cluster.failing", "snapshot.failed", "snapshot.failed", "snapshot.failed"];
    let four = |posts: &[Received]| events(posts, 200).len() >= 4;
    project_hook.wait_for(Duration::from_secs(30), four);
    // The first post to the global receiver was refused: it comes again after the 10 s backoff.
    global_hook.wait_for(Duration::from_secs(60), four);
    std::thread::sleep(Duration::from_secs(2));
    let (to_project, to_global) = (project_hook.posts(), global_hook.posts());
    let mut delivered = events(&to_project, 200);
    delivered.sort();
    assert_eq!(delivered, expected, "exactly once each: {to_project:?}");
    assert_eq!(events(&to_global, 200).len(), 4, "{to_global:?}");
    assert_eq!(events(&to_global, 503).len(), 1, "{to_global:?}");
    let retried = &to_global[0].headers["x-snapkeep-event-id"];
    assert_eq!(
        to_global.iter().filter(|p| &p.headers["x-snapkeep-event-id"] == retried).count(),
        2,
        "the refused post came again with its event id"
    );
    for post in &to_project {
        assert!(signed_by(post, secret), "{post:?}");
        assert_eq!(
            (post.path.as_str(), post.headers["authorization"].as_str()),
            ("/p/SECRET-PATH-TOKEN", "Bearer hook-token")
        );
    }
    assert!(to_global.iter().all(|p| signed_by(p, &global_secret) && !signed_by(p, secret)));

    let body = |kind: &str| -> Value {
        let post = to_project.iter().find(|p| p.headers["x-snapkeep-event"] == kind).expect("posted");
        serde_json::from_str(&post.body).unwrap()
    };
    let failed = body("snapshot.failed");
    assert_eq!((failed["type"].as_str(), failed["cluster"]["id"].as_str()), (Some("snapshot.failed"), Some("es-bad")));
    assert_eq!(
        (failed["project_id"].as_str(), failed["snapshot"]["name"].as_str()),
        (Some(tenant.project_id.as_str()), Some("stuck-1"))
    );
    assert!(failed["reason"].as_str().unwrap().contains("no progress"), "{failed}");
    let turned = body("cluster.failing");
    assert_eq!(
        (turned["protection"].as_str(), turned["previous"].as_str()),
        (Some("failing"), Some("unprotected")),
        "{turned}"
    );

    let shown = snapkeep.admin("GET", "/webhook", None);
    let states: Vec<&str> =
        shown["deliveries"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["delivered"; 4], "{shown}");
    let (_, metrics) = snapkeep.call("GET", "/metrics", None, Auth::Admin);
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("snapkeep_webhook_deliveries_total{outcome=\"delivered\"} 8"), "{metrics}");
    assert!(metrics.contains("snapkeep_webhook_deliveries_total{outcome=\"pending\"} 1"), "{metrics}");
}
