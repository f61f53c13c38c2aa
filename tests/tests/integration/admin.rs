//! The admin API and CLI: projects, keys and clusters, registration checks, credentials and path
//! prefixes, bearer-token protection, and secrets kept encrypted and out of the logs.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep, TestPostgres, wait_for};

fn cli(snapkeep: &Snapkeep, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(snapkeep_tests::binary("snapkeep"));
    command
        .arg("admin")
        .arg("--server")
        .arg(&snapkeep.url)
        .arg("--data-dir")
        .arg(&snapkeep.data_dir)
        .args(args)
        .env_remove("SNAPKEEP_ADMIN_TOKEN");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the CLI")
}

fn cli_json(snapkeep: &Snapkeep, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = cli(snapkeep, &all, env);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn cli_error(snapkeep: &Snapkeep, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = cli(snapkeep, args, env);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stored_bytes(data_dir: &Path) -> Vec<u8> {
    ["snapkeep.db", "snapkeep.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(data_dir.join(f)).unwrap_or_default())
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn cli_manages_projects_keys_and_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let mut options = EssimOptions::new("opensearch", "2.11.0");
    options.path_prefix = Some("/search");
    options.basic_auth = Some("admin:c0rrect-h0rse");
    let essim = Essim::start(dir.path(), &repo_root, &options);
    essim.load_index("docs", 1, 30);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);

    let project = cli_json(&snapkeep, &["project", "create", "--name", "team-a"], &[]);
    let project_id = project["id"].as_str().unwrap().to_owned();
    let key = cli_json(&snapkeep, &["key", "create", "--project", &project_id], &[]);
    let (access_key, secret_key) = (key["access_key"].as_str().unwrap(), key["secret_key"].as_str().unwrap());
    assert!(access_key.len() >= 16 && secret_key.len() >= 32);
    let listed = cli(&snapkeep, &["key", "list", "--project", &project_id], &[]);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.contains("ACCESS_KEY") && table.contains(access_key) && !table.contains(secret_key), "{table}");
    assert_eq!(cli_json(&snapkeep, &["key", "disable", access_key], &[])["state"], "disabled");
    assert_eq!(cli_json(&snapkeep, &["key", "enable", access_key], &[])["state"], "active");
    let rotated = cli_json(&snapkeep, &["key", "rotate", access_key, "--grace-seconds", "3600"], &[]);
    assert!(rotated["secret_key"].as_str().is_some_and(|s| s.len() >= 32), "{rotated}");
    let retiring = cli_json(&snapkeep, &["key", "show", access_key], &[]);
    assert!(retiring["state"] == "active" && retiring["expires_at"].is_string(), "signs during the grace: {retiring}");
    let audit = cli(&snapkeep, &["audit"], &[]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    for action in ["CreateAccessKey", "DisableAccessKey", "EnableAccessKey", "RotateAccessKey"] {
        assert!(audit.contains(action), "{action} in\n{audit}");
    }

    // Registration contacts the cluster and refuses what it cannot use, clearly.
    let refused = cli_error(
        &snapkeep,
        &["cluster", "create", "--project", &project_id, "--name", "gone", "--endpoint", "http://127.0.0.1:9"],
        &[],
    );
    assert!(refused.contains("unreachable"), "{refused}");
    let refused = cli_error(
        &snapkeep,
        &["cluster", "create", "--project", &project_id, "--name", "web", "--endpoint", &snapkeep.url],
        &[],
    );
    assert!(refused.contains("not an Elasticsearch or OpenSearch endpoint"), "{refused}");
    let refused = cli_error(
        &snapkeep,
        &[
            "cluster",
            "create",
            "--project",
            &project_id,
            "--name",
            "os",
            "--endpoint",
            &essim.url,
            "--username",
            "admin",
            "--password-env",
            "ES_PASSWORD",
        ],
        &[("ES_PASSWORD", "wrong")],
    );
    assert!(refused.contains("credentials"), "{refused}");

    let cluster = cli_json(
        &snapkeep,
        &[
            "cluster",
            "create",
            "--project",
            &project_id,
            "--name",
            "os",
            "--endpoint",
            &essim.url,
            "--id",
            "os-1",
            "--region",
            "eu-west-0",
            "--username",
            "admin",
            "--password-env",
            "ES_PASSWORD",
        ],
        &[("ES_PASSWORD", "c0rrect-h0rse")],
    );
    assert_eq!(
        (cluster["id"].as_str(), cluster["engine"].as_str(), cluster["version"].as_str(), cluster["region"].as_str()),
        (Some("os-1"), Some("opensearch"), Some("2.11.0"), Some("eu-west-0"))
    );
    let again = cli_error(
        &snapkeep,
        &[
            "cluster",
            "create",
            "--project",
            &project_id,
            "--name",
            "os",
            "--endpoint",
            &essim.url,
            "--id",
            "os-1",
            "--username",
            "admin",
            "--password-env",
            "ES_PASSWORD",
        ],
        &[("ES_PASSWORD", "c0rrect-h0rse")],
    );
    assert!(again.contains("already exists"), "{again}");

    // The stored credentials and prefix serve every later call: a snapshot completes.
    let tenant = snapkeep_tests::Tenant {
        project_id: project_id.clone(),
        access_key: access_key.to_owned(),
        secret_key: secret_key.to_owned(),
    };
    snapkeep.create_snapshot(&tenant, "os-1", "through-proxy", "docs");
    assert_eq!(
        snapkeep.await_snapshot(&tenant, "os-1", "through-proxy", Duration::from_secs(30))["status"],
        "COMPLETED"
    );

    // Secrets are encrypted at rest and never logged.
    let stored = stored_bytes(&snapkeep.data_dir);
    assert!(!stored.is_empty());
    assert!(!contains(&stored, secret_key), "the secret key is not stored in plaintext");
    assert!(!contains(&stored, "c0rrect-h0rse"), "the cluster password is not stored in plaintext");
    let log = snapkeep.log_text();
    assert!(!log.contains(secret_key) && !log.contains("c0rrect-h0rse"), "secrets stay out of the log");

    let clusters = cli_json(&snapkeep, &["cluster", "list", "--project", &project_id], &[]);
    assert_eq!(clusters["clusters"].as_array().unwrap().len(), 1);
    assert!(!clusters.to_string().contains("c0rrect-h0rse"));
    let busy = cli_error(&snapkeep, &["project", "delete", &project_id], &[]);
    assert!(busy.contains("still has clusters"), "{busy}");
    cli(&snapkeep, &["cluster", "delete", "os-1"], &[]);
    cli(&snapkeep, &["key", "delete", access_key], &[]);
    cli(&snapkeep, &["project", "delete", &project_id], &[]);
    let gone = cli_error(&snapkeep, &["project", "show", &project_id], &[]);
    assert!(gone.contains("404"), "{gone}");
}

#[test]
fn admin_api_needs_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[]);
    let (status, body) = snapkeep.call("GET", "/admin/v1/projects", None, Auth::Anonymous);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let out = cli(&snapkeep, &["--token", "wrong", "project", "list"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
    let (status, body) = snapkeep.call("POST", "/admin/v1/projects", Some(json!({"name": ""})), Auth::Admin);
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_argument")), "{body}");
    let (status, body) = snapkeep.call("POST", "/admin/v1/projects", Some(json!({"nmae": "x"})), Auth::Admin);
    assert_eq!(status, 400, "{body}");
    assert_eq!(snapkeep.admin("GET", "/projects", None)["projects"], json!([]), "refused calls created nothing");
    let (status, _) = snapkeep.call("GET", "/healthz", None, Auth::Anonymous);
    assert_eq!(status, 200);
}

#[test]
fn sigterm_stops_the_service_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[]);
    snapkeep.admin("POST", "/projects", Some(json!({"name": "kept"})));
    assert!(snapkeep.terminate(), "exit status 0 after SIGTERM:\n{}", snapkeep.log_text());
    assert!(snapkeep.log_text().contains("reconciler stopped"));
    snapkeep.restart();
    assert_eq!(snapkeep.admin("GET", "/projects", None)["projects"][0]["name"], "kept", "the catalog survived");
}

#[test]
fn the_openapi_document_describes_the_live_api() {
    let dir = tempfile::tempdir().unwrap();
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[]);
    let (status, doc) = snapkeep.call("GET", "/admin/v1/openapi.json", None, Auth::Anonymous);
    assert_eq!(status, 200, "served without the token");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{id}", "no-such-id")
            .replace("{access_key}", "NO-SUCH-KEY")
            .replace("{name}", "no-such-profile");
        for method in item.as_object().unwrap().keys().filter(|k| *k != "parameters") {
            operations += 1;
            let (status, body) = snapkeep.call(&method.to_uppercase(), &concrete, Some(json!({})), Auth::Admin);
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            assert!(
                status != 404 || body["error"]["code"] == "not_found",
                "{method} {path} reached no handler: {status} {body}"
            );
        }
    }
    assert_eq!(operations, 39, "every operation was tried");
}

/// The CLI takes its global flags after the command too (`admin cluster list --token …`), and a
/// log written to a file carries no terminal colour codes.
#[test]
fn global_flags_after_the_command_and_plain_logs_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[]);
    let token = snapkeep.admin_token();
    snapkeep.tenant("after-the-command");
    let out = Command::new(snapkeep_tests::binary("snapkeep"))
        .args(["admin", "project", "list", "--json", "--server", &snapkeep.url, "--token", &token])
        .env_remove("SNAPKEEP_ADMIN_TOKEN")
        .env("SNAPKEEP_DATA_DIR", dir.path().join("nowhere"))
        .output()
        .expect("run the CLI");
    assert!(out.status.success(), "flags after the command: {}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(listed.to_string().contains("after-the-command"), "the project is listed: {listed}");
    let log = snapkeep.log_text();
    assert!(log.contains("snapkeep listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file: {log}");
}

/// Every audit entry names what its call acted on, also what the call created and its path does
/// not name: a registered cluster, a project, a key, a new snapshot. Every change has its
/// action's name, storage profiles' too (they once showed as `POST /admin/v1/...`).
#[test]
fn audit_entries_name_what_a_call_created() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("docs", 1, 5);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("audited");
    snapkeep.register(&tenant, "search-1", &essim);
    let snapshot = snapkeep.create_snapshot(&tenant, "search-1", "audited-one", "docs");
    let spare = repo_root.join("spare");
    std::fs::create_dir_all(&spare).unwrap();
    let profiles = format!("/projects/{}/storage-profiles", tenant.project_id);
    let profile = json!({"name": "spare", "kind": "fs", "base_path": spare.display().to_string()});
    snapkeep.admin("POST", &profiles, Some(profile));
    snapkeep.admin("DELETE", &format!("{profiles}/spare"), None);
    let entries = snapkeep.admin("GET", "/audit?limit=100", None)["entries"].as_array().unwrap().clone();
    assert!(entries.iter().all(|e| !e["action"].as_str().unwrap().contains('/')), "every change named: {entries:?}");
    let target = |action: &str| {
        let entry = entries.iter().find(|e| e["action"] == action);
        entry
            .map(|e| e["target"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("{action} in {entries:?}"))
    };
    assert_eq!(target("RegisterCluster"), "search-1");
    assert_eq!(target("CreateProject"), tenant.project_id);
    assert_eq!(target("CreateAccessKey"), format!("{}/{}", tenant.project_id, tenant.access_key));
    assert_eq!(target("CreateSnapshot"), format!("search-1/{snapshot}"));
    assert_eq!(target("CreateStorageProfile"), format!("{}/spare", tenant.project_id));
    assert_eq!(target("DeleteStorageProfile"), format!("{}/spare", tenant.project_id));
}

/// A cluster's snapshots list in pages, newest first, each page read from where the last one
/// ended; bad pages are refused with the reason.
#[test]
fn a_clusters_snapshots_list_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    essim.load_index("docs", 1, 5);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("paged");
    snapkeep.register(&tenant, "paged", &essim);
    for name in ["first", "second", "third"] {
        snapkeep.create_snapshot(&tenant, "paged", name, "docs");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let first = snapkeep.admin("GET", "/clusters/paged/snapshots?limit=2", None);
    let next = first["next"].as_str().expect("a next page").to_owned();
    let last = snapkeep.admin("GET", &format!("/clusters/paged/snapshots?limit=2&after={next}"), None);
    assert_eq!(last["next"], Value::Null, "{last}");
    let names: Vec<&str> = [&first, &last]
        .iter()
        .flat_map(|page| page["snapshots"].as_array().unwrap())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["third", "second", "first"]);

    // Filters hold across pages, and name the words they take when refused.
    let listed = |query: &str| -> (Vec<String>, Value) {
        let page = snapkeep.admin("GET", &format!("/clusters/paged/snapshots?{query}"), None);
        let names = page["snapshots"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned());
        (names.collect(), page["next"].clone())
    };
    wait_for("every snapshot to complete", Duration::from_secs(30), || {
        (listed("status=COMPLETED").0.len() == 3).then_some(())
    });
    let (page, next) = listed("kind=manual&status=COMPLETED&limit=2");
    assert_eq!(page, ["third", "second"]);
    let (rest, _) = listed(&format!("kind=manual&status=COMPLETED&limit=2&after={}", next.as_str().unwrap()));
    assert_eq!(rest, ["first"]);
    assert!(listed("kind=auto").0.is_empty() && listed("status=FAILED").0.is_empty());
    for (query, field) in [("kind=nightly", "kind"), ("status=completed", "status")] {
        let (got, body) =
            snapkeep.call("GET", &format!("/admin/v1/clusters/paged/snapshots?{query}"), None, Auth::Admin);
        assert_eq!(got, 400, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(field), "{query}: {body}");
    }
    for (query, status) in [("limit=0", 400), ("limit=1001", 400), ("after=not-a-cursor", 400), ("page=2", 400)] {
        let (got, body) =
            snapkeep.call("GET", &format!("/admin/v1/clusters/paged/snapshots?{query}"), None, Auth::Admin);
        assert_eq!(got, status, "{query}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{query}: {body}");
    }
    let (status, body) = snapkeep.call("GET", "/admin/v1/clusters/nowhere/snapshots", None, Auth::Admin);
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
}

/// Clusters list in pages, oldest first, each page read from where the last one ended, within a
/// project when asked, in the admin API, its CLI and CSS; bad pages are refused with the reason.
#[test]
fn clusters_list_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let mut options = EssimOptions::new("elasticsearch", "8.11.1");
    options.clusters = 5;
    let essim = Essim::start(dir.path(), &repo_root, &options);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let (ours, theirs) = (snapkeep.tenant("ours"), snapkeep.tenant("theirs"));
    for i in 0..5 {
        let tenant = if i == 2 { &theirs } else { &ours };
        let cluster = json!({"project_id": tenant.project_id, "id": format!("c{i}"), "name": format!("c{i}"),
                             "endpoint": format!("{}/c{i}", essim.url)});
        let (status, body) = snapkeep.call("POST", "/admin/v1/clusters", Some(cluster), Auth::Admin);
        assert_eq!(status, 201, "{body}");
    }
    let walk = |query: &str| -> Vec<String> {
        let (mut ids, mut next) = (Vec::new(), None::<String>);
        loop {
            let after = next.as_deref().map(|n| format!("&after={n}")).unwrap_or_default();
            let page = snapkeep.admin("GET", &format!("/clusters?limit=2{query}{after}"), None);
            let listed = page["clusters"].as_array().unwrap();
            assert!(listed.len() <= 2, "{page}");
            ids.extend(listed.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
            match page["next"].as_str() {
                Some(cursor) => next = Some(cursor.to_owned()),
                None => return ids,
            }
        }
    };
    assert_eq!(walk(""), ["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(walk(&format!("&project_id={}", ours.project_id)), ["c0", "c1", "c3", "c4"]);
    let whole = snapkeep.admin("GET", "/clusters", None);
    assert_eq!((whole["clusters"].as_array().unwrap().len(), &whole["next"]), (5, &Value::Null), "{whole}");
    assert_eq!(whole["clusters"][0]["has_password"], false, "{whole}");
    for query in ["limit=0", "limit=1001", "after=not-a-cursor", "page=2"] {
        let (got, body) = snapkeep.call("GET", &format!("/admin/v1/clusters?{query}"), None, Auth::Admin);
        assert_eq!(got, 400, "{query}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{query}: {body}");
    }
    let (status, body) = snapkeep.call("GET", "/admin/v1/clusters?project_id=nowhere", None, Auth::Admin);
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");

    // CSS's ListClustersDetails pages by a 1-based offset (older SDKs: start) and counts every
    // cluster of the listing in totalSize.
    let css = |query: &str| {
        let (status, body) = snapkeep.css(&ours, "GET", &format!("/clusters{query}"), None);
        let ids: Vec<String> = body["clusters"]
            .as_array()
            .map_or_else(Vec::new, |listed| listed.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect());
        (status, ids, body)
    };
    let (status, ids, body) = css("?offset=2&limit=2");
    assert_eq!((status, ids, &body["totalSize"]), (200, vec!["c1".to_owned(), "c3".into()], &json!(4)), "{body}");
    assert_eq!(css("").1, ["c0", "c1", "c3", "c4"]);
    assert_eq!(css("?start=4").1, ["c4"]);
    assert_eq!(css("?offset=9").2["totalSize"], 4);
    let (_, ids, body) = css("?datastoreType=opensearch");
    assert_eq!((ids.len(), &body["totalSize"]), (0, &json!(0)), "{body}");
    assert_eq!(css("?datastoreType=Elasticsearch&limit=1").1, ["c0"]);
    assert_eq!(css("?datastoreType=").1.len(), 4, "an empty engine filters nothing");
    for query in ["?offset=0", "?limit=0", "?limit=1001", "?limit=ten", "?start=-1"] {
        let (status, _, body) = css(query);
        assert_eq!((status, body["error_code"].as_str()), (400, Some("CSS.0001")), "{query}: {body}");
    }

    // The CLI's table says where the rest begins rather than end at a page silently.
    let text = |args: &[&str]| String::from_utf8(cli(&snapkeep, args, &[]).stdout).unwrap();
    let ids = |table: &str| -> Vec<String> {
        table.lines().skip(1).filter(|l| !l.starts_with("more:")).map(|l| l.split(' ').next().unwrap().into()).collect()
    };
    let first = text(&["cluster", "list", "--limit", "3"]);
    let hint = "more: the next page is this command again with --after ";
    let next = first.lines().find_map(|l| l.strip_prefix(hint)).expect(&first);
    let rest = text(&["cluster", "list", "--limit", "3", "--after", next]);
    assert_eq!(ids(&first), ["c0", "c1", "c2"], "{first}");
    assert_eq!(ids(&rest), ["c3", "c4"], "{rest}");
    assert!(!rest.contains("more:"), "{rest}");

    // A database is no search cluster: CSS never lists it.
    let postgres = TestPostgres::shared_or_start();
    let pg = json!({"project_id": ours.project_id, "id": "db", "name": "db", "endpoint": postgres.url("postgres")});
    let (status, body) = snapkeep.call("POST", "/admin/v1/clusters", Some(pg), Auth::Admin);
    assert_eq!(status, 201, "{body}");
    assert_eq!(css("").2["totalSize"], 4);
    assert_eq!(walk("").len(), 6, "the admin API lists it");
}

/// A password written into a cluster's URL is sealed like any other and never shown or stored in
/// clear; the catalog and its WAL are readable by the owner only.
#[test]
fn passwords_in_endpoint_urls_are_sealed_and_the_catalog_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("sealed");
    let secret = "in-the-url-s3cret";
    let endpoint = essim.url.replace("http://", &format!("http://elastic:{secret}@"));
    let body = json!({"project_id": tenant.project_id, "id": "es", "name": "es", "endpoint": endpoint});
    let created = snapkeep.admin("POST", "/clusters", Some(body));
    let shown = snapkeep.admin("GET", "/clusters/es", None);
    for view in [&created, &shown] {
        assert_eq!(view["endpoint"], json!(essim.url), "{view}");
        assert_eq!((&view["username"], &view["has_password"]), (&json!("elastic"), &json!(true)), "{view}");
        assert!(!view.to_string().contains(secret), "{view}");
    }
    for name in ["snapkeep.db", "snapkeep.db-wal"] {
        let file = snapkeep.data_dir.join(name);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!String::from_utf8_lossy(&bytes).contains(secret), "{name} holds the password in clear");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

/// Connections are bounded: an idle or slow-header connection is closed after the header timeout,
/// at most `http-max-connections` are served at once (the rest wait in the listen backlog), and
/// the service keeps answering, with its memory bounded, while 150 connections try to hold it.
#[test]
fn idle_and_slow_connections_are_closed_and_capped() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let snapkeep = Snapkeep::start(
        dir.path(),
        &dir.path().join("repositories"),
        &[("SNAPKEEP_HTTP_HEADER_TIMEOUT_SECS", "1"), ("SNAPKEEP_HTTP_MAX_CONNECTIONS", "64")],
    );
    let before = snapkeep.peak_resident_bytes();
    let opened = std::time::Instant::now();
    let mut held: Vec<std::net::TcpStream> = (0..150)
        .map(|i| {
            let mut stream = std::net::TcpStream::connect(snapkeep.host()).unwrap();
            if i % 2 == 0 {
                // Slow headers: a request that never finishes its head.
                stream.write_all(b"POST /v1.0/p/clusters/c/index_snapshot HTTP/1.1\r\nHost: x\r\n").unwrap();
            }
            stream
        })
        .collect();
    let mut buffer = [0u8; 1024];
    for (kind, stream) in ["slow-header", "idle"].into_iter().zip(held.iter_mut()) {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let read = stream.read(&mut buffer);
        assert!(read.is_ok(), "the server closed (or answered) the {kind} connection: {read:?}");
        println!("the {kind} connection was closed within {:?} of its opening", opened.elapsed());
    }
    assert!(opened.elapsed() < Duration::from_secs(5));
    let started = std::time::Instant::now();
    let health = wait_for("the service to answer while connections pile up", Duration::from_secs(30), || {
        snapkeep.try_health().then_some(started.elapsed())
    });
    println!("/healthz answered {health:?} after 150 idle or slow connections were opened");
    let grown = snapkeep.peak_resident_bytes().saturating_sub(before);
    println!("peak resident memory grew by {} MiB", grown / 0x100000);
    assert!(grown < 64 * 0x100000, "memory stays bounded: grew {grown} bytes");
    drop(held);
}
