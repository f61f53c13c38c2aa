//! Authentication and tenancy at the dialects' doors: every failure answers with the dialect's own
//! status and code and changes nothing in snapkeep or on the cluster; keys are disabled, enabled,
//! rotated and deleted; refusals are counted in the metrics, mutating calls are in the audit log,
//! and no secret reaches the log.

use base64::Engine as _;
use chrono::{Duration, Utc};
use md5::{Digest as _, Md5};
use serde_json::{Value, json};
use sha2::Sha256;
use snapkeep_tests::signers::{Key, Wire};
use snapkeep_tests::{Auth, Essim, EssimOptions, Snapkeep, Tenant, wait_for};

/// A CSS create-snapshot request, not yet signed.
fn css_create(project: &str, cluster: &str, name: &str) -> Wire {
    let body = serde_json::to_vec(&json!({"name": name, "indices": "logs"})).unwrap();
    let mut wire = Wire::plain("POST", &format!("/v1.0/{project}/clusters/{cluster}/index_snapshot"), body);
    wire.set("content-type", "application/json");
    wire
}

/// An Alibaba CreateSnapshot request, not yet signed.
fn ali_create(instance: &str) -> Wire {
    Wire::plain("POST", &format!("/openapi/instances/{instance}/snapshots"), Vec::new())
}

/// Requests essim received that touch snapshots (creating, deleting or restoring one).
fn snapshot_requests(essim: &Essim) -> Vec<(String, String, u16)> {
    essim.requests().into_iter().filter(|(m, p, _)| m != "GET" && p.starts_with("/_snapshot/snapkeep/")).collect()
}

fn metric(snapkeep: &Snapkeep, dialect: &str, reason: &str) -> u64 {
    let (_, text) = snapkeep.call("GET", "/metrics", None, Auth::Admin);
    let line = format!("snapkeep_auth_failures_total{{dialect=\"{dialect}\",reason=\"{reason}\"}} ");
    text.as_str().unwrap().lines().find_map(|l| l.strip_prefix(&line)).map_or(0, |n| n.parse().unwrap())
}

fn audit(snapkeep: &Snapkeep, project: &str) -> Vec<Value> {
    snapkeep.admin("GET", &format!("/audit?project_id={project}"), None)["entries"].as_array().unwrap().clone()
}

fn setup(flavor: &'static str, version: &'static str) -> (tempfile::TempDir, Essim, Snapkeep, Tenant, Tenant) {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new(flavor, version));
    essim.load_index("logs", 1, 10);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let alpha = snapkeep.tenant("alpha");
    let beta = snapkeep.tenant("beta");
    snapkeep.register(&alpha, "es-a", &essim);
    (dir, essim, snapkeep, alpha, beta)
}

#[test]
fn css_refuses_every_unauthenticated_call_and_changes_nothing() {
    let (_dir, essim, snapkeep, alpha, beta) = setup("elasticsearch", "7.10.2");
    let (host, now, a) = (snapkeep.host(), Utc::now(), alpha.project_id.as_str());
    let signed = |key: Key<'_>, header_project: &str, at| {
        let mut wire = css_create(a, "es-a", "refused");
        wire.sign_huawei(key, &host, Some(header_project), at);
        wire
    };
    let wrong_secret = Key { access_key: &alpha.access_key, secret: "not-the-secret" };
    let unknown = Key { access_key: "NOSUCHKEY0000", secret: &alpha.secret_key };
    let mut tampered = signed(alpha.key(), a, now);
    tampered.body = serde_json::to_vec(&json!({"name": "other", "indices": "logs"})).unwrap();
    let mut temporary = css_create(a, "es-a", "refused");
    temporary.set("x-security-token", "sts-token");
    temporary.sign_huawei(alpha.key(), &host, Some(a), now);
    let mut malformed = css_create(a, "es-a", "refused");
    malformed.set("authorization", "SDK-HMAC-SHA256 Access=AK");
    // An unsigned header claiming the signed body's hash, with another body under the signature.
    let mut vouched = signed(alpha.key(), a, now);
    vouched.set("x-sdk-content-sha256", &hex::encode(Sha256::digest(&vouched.body)));
    vouched.body = serde_json::to_vec(&json!({"name": "swapped", "indices": "logs"})).unwrap();
    let cases = [
        ("unsigned", css_create(a, "es-a", "refused"), 401, "APIGW.0301", "not signed"),
        ("malformed", malformed, 401, "APIGW.0301", "malformed"),
        ("wrong secret", signed(wrong_secret, a, now), 401, "APIGW.0301", "signature does not match"),
        ("tampered body", tampered, 401, "APIGW.0301", "signature does not match"),
        ("body vouched for by an unsigned hash", vouched, 401, "APIGW.0301", "not the one signed"),
        ("unknown key", signed(unknown, a, now), 401, "APIGW.0301", "does not exist"),
        ("stale date", signed(alpha.key(), a, now - Duration::minutes(16)), 401, "APIGW.0301", "15 minutes"),
        ("future date", signed(alpha.key(), a, now + Duration::minutes(16)), 401, "APIGW.0301", "15 minutes"),
        ("temporary credentials", temporary, 401, "APIGW.0301", "temporary"),
        ("X-Project-Id of another project", signed(alpha.key(), &beta.project_id, now), 403, "APIGW.0302", "project"),
        ("another project's key", signed(beta.key(), a, now), 403, "APIGW.0302", "project"),
    ];
    for (case, wire, status, code, message) in cases {
        let (got, body) = snapkeep.send(&wire);
        assert_eq!((got, body["error_code"].as_str()), (status, Some(code)), "{case}: {body}");
        assert!(body["error_msg"].as_str().unwrap().contains(message), "{case}: {body}");
    }
    assert!(snapkeep.backups(&alpha, "es-a").is_empty(), "no refused call made a snapshot");
    assert!(snapshot_requests(&essim).is_empty(), "no refused call reached the cluster");

    // Another tenant, correctly signed for its own project, learns nothing of alpha's cluster:
    // the answer is the one for a cluster that does not exist.
    let stolen = Some(json!({"name": "stolen", "indices": "logs"}));
    let (status, theirs) = snapkeep.css(&beta, "POST", "/clusters/es-a/index_snapshot", stolen.clone());
    let (_, missing) = snapkeep.css(&beta, "POST", "/clusters/nothing/index_snapshot", stolen);
    assert_eq!(
        (status, &theirs["error_code"], &theirs["error_msg"]),
        (404, &missing["error_code"], &missing["error_msg"])
    );
    let (_, listed) = snapkeep.css(&beta, "GET", "/clusters", None);
    assert_eq!(listed["totalSize"], 0, "{listed}");

    // The same request, correctly signed, passes; the refusals were counted and are not audited.
    let mut good = css_create(a, "es-a", "accepted");
    good.sign_huawei(alpha.key(), &host, Some(a), Utc::now());
    assert_eq!(snapkeep.send(&good).0, 201);
    assert_eq!(metric(&snapkeep, "css", "signature_mismatch"), 2);
    assert_eq!(metric(&snapkeep, "css", "expired"), 2);
    assert_eq!(metric(&snapkeep, "css", "project_mismatch"), 2);
    let entries = audit(&snapkeep, a);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        (&entry["dialect"], &entry["action"], &entry["outcome"], &entry["access_key"]),
        (&json!("css"), &json!("CreateSnapshot"), &json!("ok"), &json!(alpha.access_key)),
    );
    let target = entry["target"].as_str().unwrap_or_default();
    assert!(target.starts_with("es-a/") && target.len() > 5, "the cluster and the new snapshot: {target}");
    let refused = audit(&snapkeep, &beta.project_id);
    assert_eq!(refused.iter().map(|e| e["outcome"].as_str().unwrap()).collect::<Vec<_>>(), ["CSS.3027", "CSS.3027"]);
    let log = snapkeep.log_text();
    assert!(log.contains("request refused"), "refusals are logged");
    for secret in [&alpha.secret_key, &beta.secret_key] {
        assert!(!log.contains(secret.as_str()), "a secret key reached the log");
    }
}

#[test]
fn alibaba_refuses_every_unauthenticated_call_and_refuses_replays() {
    let (_dir, essim, mut snapkeep, alpha, beta) = setup("elasticsearch", "8.11.1");
    let (host, now) = (snapkeep.host(), Utc::now());
    let acs3 = |key: Key<'_>, at, nonce: &str| {
        let mut wire = ali_create("es-a");
        wire.sign_acs3(key, &host, at, nonce);
        wire
    };
    let roa = |key: Key<'_>, at| {
        let mut wire = ali_create("es-a");
        wire.sign_roa(key, at, Some(&uuid()));
        wire
    };
    let wrong = Key { access_key: &alpha.access_key, secret: "not-the-secret" };
    let unknown = Key { access_key: "NOSUCHKEY0000", secret: &alpha.secret_key };
    let mut temporary = ali_create("es-a");
    temporary.set("x-acs-security-token", "sts-token");
    temporary.sign_acs3(alpha.key(), &host, now, &uuid());
    // ROA v1 binds a body only through Content-MD5: a swap under it, or a body without it.
    let setting = |body: &[u8], md5: bool| {
        let mut wire = Wire::plain("POST", "/openapi/instances/es-a/snapshot-setting", body.to_vec());
        wire.set("content-type", "application/json");
        if md5 {
            wire.set("content-md5", &base64::engine::general_purpose::STANDARD.encode(Md5::digest(body)));
        }
        wire.set("x-acs-action", "UpdateSnapshotSetting");
        wire.sign_roa(alpha.key(), now, Some(&uuid()));
        wire
    };
    let mut swapped = setting(br#"{"enable":true,"quartzRegex":"0 0 1 ? * * *"}"#, true);
    swapped.body = br#"{"enable":false}"#.to_vec();
    let mut unsigned_nonce = acs3(alpha.key(), now, &uuid());
    let authorization = unsigned_nonce.authorization().replace("x-acs-signature-nonce;", "");
    unsigned_nonce.set("authorization", &authorization);
    let cases = [
        ("unsigned", ali_create("es-a"), "IncompleteSignature"),
        ("ACS3 wrong secret", acs3(wrong, now, &uuid()), "SignatureDoesNotMatch"),
        ("ROA wrong secret", roa(wrong, now), "SignatureDoesNotMatch"),
        ("unknown key", acs3(unknown, now, &uuid()), "InvalidAccessKeyId.NotFound"),
        ("ACS3 stale date", acs3(alpha.key(), now - Duration::minutes(16), &uuid()), "InvalidTimeStamp.Expired"),
        ("ROA stale date", roa(alpha.key(), now - Duration::minutes(16)), "InvalidTimeStamp.Expired"),
        ("temporary credentials", temporary, "InvalidSecurityToken.NotSupported"),
        ("nonce not signed", unsigned_nonce, "MissingSignatureNonce"),
        ("ROA body swapped under its Content-MD5", swapped, "InvalidParameter.ContentMD5"),
        (
            "ROA body without Content-MD5",
            setting(br#"{"enable":true,"quartzRegex":"0 0 1 ? * * *"}"#, false),
            "InvalidParameter.ContentMD5",
        ),
        ("another tenant's instance", acs3(beta.key(), now, &uuid()), "InstanceNotFound"),
    ];
    for (case, wire, code) in cases {
        let (status, body) = snapkeep.send(&wire);
        assert_eq!((status, body["Code"].as_str()), (400, Some(code)), "{case}: {body}");
    }
    let (_, missing) = snapkeep.call("POST", "/openapi/instances/nothing/snapshots", None, Auth::Acs3(&beta));
    assert_eq!(missing["Code"], "InstanceNotFound", "another tenant's instance answers as a missing one");
    assert!(snapkeep.backups(&alpha, "es-a").is_empty(), "no refused call made a snapshot");
    assert!(snapshot_requests(&essim).is_empty(), "no refused call reached the cluster");
    let (_, setting_now) = snapkeep.call("GET", "/openapi/instances/es-a/snapshot-setting", None, Auth::Acs3(&alpha));
    assert_eq!(setting_now["Result"]["Enable"], false, "no refused call changed the settings: {setting_now}");

    // A signed request is taken once; its replay is refused, also after a restart.
    let once = acs3(alpha.key(), Utc::now(), &uuid());
    assert_eq!(snapkeep.send(&once).0, 200);
    let (status, body) = snapkeep.send(&once);
    assert_eq!((status, body["Code"].as_str()), (400, Some("SignatureNonceUsed")), "{body}");
    snapkeep.restart();
    assert_eq!(snapkeep.send(&once).1["Code"], "SignatureNonceUsed", "nonces are kept in the store");

    // The older SDKs sign ROA without a nonce: a change is known by its signature, a read is not.
    // (CreateSnapshot names have a one-second resolution.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut old_sdk = ali_create("es-a");
    old_sdk.set("x-acs-action", "CreateSnapshot");
    old_sdk.sign_roa(alpha.key(), Utc::now(), None);
    let (status, body) = snapkeep.send(&old_sdk);
    assert_eq!(status, 200, "{body}");
    assert_eq!(snapkeep.send(&old_sdk).1["Code"], "SignatureNonceUsed");
    let mut respaced = old_sdk.clone();
    respaced.set("authorization", &old_sdk.authorization().replacen("acs ", "acs  ", 1));
    assert_eq!(snapkeep.send(&respaced).1["Code"], "SignatureNonceUsed", "another spelling of the same signature");
    let mut padded = once.clone();
    padded.set("x-acs-signature-nonce", &format!("{} ", once.header("x-acs-signature-nonce").unwrap()));
    assert_eq!(snapkeep.send(&padded).1["Code"], "SignatureNonceUsed", "the same nonce as the signature covers it");
    // Its identical retry of a call that carries a ClientToken gets the first answer, once.
    let mut retried = Wire::plain("POST", "/openapi/instances/es-a/snapshots?ClientToken=retry-1", Vec::new());
    retried.set("x-acs-action", "CreateSnapshot");
    retried.sign_roa(alpha.key(), Utc::now() + chrono::Duration::seconds(2), None);
    let (first, second) = (snapkeep.send(&retried), snapkeep.send(&retried));
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    let mut read = Wire::plain("GET", "/openapi/instances/es-a/snapshot-setting", Vec::new());
    read.sign_roa(alpha.key(), Utc::now(), None);
    assert_eq!((snapkeep.send(&read).0, snapkeep.send(&read).0), (200, 200));

    wait_for("the three accepted snapshots", std::time::Duration::from_secs(30), || {
        (snapkeep.backups(&alpha, "es-a").len() == 3).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(snapkeep.backups(&alpha, "es-a").len(), 3, "the retry made no second snapshot");
    assert_eq!(metric(&snapkeep, "alibaba", "nonce_used"), 4, "counted since the restart");
    let actions: Vec<Value> = audit(&snapkeep, &alpha.project_id).iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, vec![json!("CreateSnapshot"); 4]);
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[test]
fn keys_are_disabled_enabled_rotated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let snapkeep = Snapkeep::start(dir.path(), &dir.path().join("repositories"), &[]);
    let first = snapkeep.tenant("keys");
    let project = first.project_id.clone();
    let as_key = |key: &Value| Tenant {
        project_id: project.clone(),
        access_key: key["access_key"].as_str().unwrap().to_owned(),
        secret_key: key["secret_key"].as_str().unwrap_or_default().to_owned(),
    };
    let status_of = |tenant: &Tenant| {
        let (status, body) = snapkeep.css(tenant, "GET", "/clusters", None);
        (status, body["error_msg"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(status_of(&first).0, 200);

    let second = as_key(&snapkeep.admin("POST", &format!("/projects/{project}/keys"), None));
    let (status, body) = snapkeep.call("POST", &format!("/admin/v1/projects/{project}/keys"), None, Auth::Admin);
    assert_eq!((status, &body["error"]["code"]), (409, &json!("failed_precondition")), "at most two active keys");

    let path = |key: &Tenant, action: &str| format!("/keys/{}/{action}", key.access_key);
    assert_eq!(snapkeep.admin("POST", &path(&first, "disable"), None)["state"], "disabled");
    let (status, message) = status_of(&first);
    assert!(status == 401 && message.contains("disabled"), "{message}");
    let (status, _) = snapkeep.call("POST", &format!("/admin/v1{}", path(&first, "rotate")), None, Auth::Admin);
    assert_eq!(status, 409, "a disabled key is not rotated");
    assert_eq!(snapkeep.admin("POST", &path(&first, "enable"), None)["state"], "active");
    assert_eq!(status_of(&first).0, 200);

    // Rotation needs room for the new key; with it, old and new both sign during the grace.
    let rotate = |key: &Tenant, grace: i64| {
        snapkeep.call(
            "POST",
            &format!("/admin/v1{}", path(key, "rotate")),
            Some(json!({"grace_seconds": grace})),
            Auth::Admin,
        )
    };
    assert_eq!(rotate(&first, 3600).0, 409);
    snapkeep.admin("DELETE", &format!("/keys/{}", second.access_key), None);
    assert!(status_of(&second).1.contains("does not exist"));
    let (status, rotated) = rotate(&first, 3600);
    assert_eq!(status, 201, "{rotated}");
    let third = as_key(&rotated);
    assert_eq!((status_of(&first).0, status_of(&third).0), (200, 200));
    assert_eq!(rotate(&first, -1).1["error"]["code"], "invalid_argument");

    // Retired at once: the old key stops signing, the new one goes on.
    snapkeep.admin("POST", &path(&first, "disable"), None);
    let fourth = as_key(&rotate(&third, 0).1);
    let (status, message) = status_of(&third);
    assert!(status == 401 && message.contains("expired"), "{message}");
    assert_eq!(status_of(&fourth).0, 200);
    let keys = snapkeep.admin("GET", &format!("/projects/{project}/keys"), None);
    let states: Vec<(&str, &str)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["access_key"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            (first.access_key.as_str(), "disabled"),
            (third.access_key.as_str(), "expired"),
            (fourth.access_key.as_str(), "active")
        ]
    );
    assert!(keys.to_string().find("secret").is_none(), "listing shows no secrets");
    let actions: Vec<String> = snapkeep.admin("GET", "/audit?limit=1000", None)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "ok")
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for action in ["CreateAccessKey", "DisableAccessKey", "EnableAccessKey", "RotateAccessKey", "DeleteAccessKey"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }

    let (status, _) = snapkeep.call("GET", "/admin/v1/projects", None, Auth::Anonymous);
    assert_eq!(status, 401);
    assert_eq!(metric(&snapkeep, "admin", "bad_token"), 1);
}

/// Runs `snapkeep <args>` on `data_dir` to its end.
fn snapkeep_command(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(snapkeep_tests::binary("snapkeep"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("SNAPKEEP_MASTER_KEY")
        .output()
        .expect("run snapkeep")
}

#[test]
fn the_master_key_rotates_in_one_step_and_a_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let mut options = EssimOptions::new("opensearch", "2.11.0");
    options.basic_auth = Some("admin:c0rrect-h0rse");
    let essim = Essim::start(dir.path(), &repo_root, &options);
    essim.load_index("logs", 1, 10);
    let mut snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("sealed");
    let cluster = json!({"project_id": tenant.project_id, "id": "os", "name": "os", "endpoint": essim.url,
        "username": "admin", "password": "c0rrect-h0rse"});
    snapkeep.admin("POST", "/clusters", Some(cluster));
    let key_file = snapkeep.data_dir.join("master.key");
    let next_file = snapkeep.data_dir.join("master.key.next");

    let out = snapkeep_command(&snapkeep.data_dir, &["rotate-master-key"]);
    assert!(!out.status.success(), "refused while the service runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("another snapkeep process"));

    assert!(snapkeep.terminate());
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let out = snapkeep_command(&snapkeep.data_dir, &["rotate-master-key"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-sealed 2 secrets"), "the key secret and the password");
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!next_file.exists());

    // Both secrets open under the new key: the key signs, the password reaches the cluster.
    snapkeep.restart();
    snapkeep.create_snapshot(&tenant, "os", "after-rotation", "logs");
    let done = snapkeep.await_snapshot(&tenant, "os", "after-rotation", std::time::Duration::from_secs(30));
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // The old key no longer opens the catalog: the service refuses to start with it.
    assert!(snapkeep.terminate());
    std::fs::write(&key_file, &old_key).unwrap();
    let out = snapkeep_command(&snapkeep.data_dir, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not open this catalog"));

    // A rotation interrupted after its commit (the new key still in `.next`) is finished at start.
    std::fs::write(&next_file, &new_key).unwrap();
    snapkeep.restart();
    assert!(!next_file.exists());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), new_key);
    assert_eq!(snapkeep.backups(&tenant, "os").len(), 1);
    assert!(snapkeep.log_text().contains("finished a master-key rotation"));
}

/// Huawei signatures carry no nonce: a change replayed within the skew window gets its first
/// answer and is not executed again (a second snapshot, a second restore).
#[test]
fn a_replayed_huawei_change_gets_its_first_answer_and_runs_once() {
    let (_dir, essim, snapkeep, alpha, _beta) = setup("elasticsearch", "7.10.2");
    let (a, wait) = (alpha.project_id.as_str(), std::time::Duration::from_secs(30));
    let mut create = css_create(a, "es-a", "replayed");
    create.sign_huawei(alpha.key(), &snapkeep.host(), Some(a), Utc::now());
    let first = snapkeep.send(&create);
    assert_eq!(first.0, 201, "{:?}", first.1);
    assert_eq!(snapkeep.send(&create), first, "the replay gets the first answer");
    let done = snapkeep.await_snapshot(&alpha, "es-a", "replayed", wait);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(snapkeep.backups(&alpha, "es-a").len(), 1, "one snapshot");

    let id = done["id"].as_str().unwrap();
    let body = json!({"target_cluster": "es-a", "rename_pattern": "logs", "rename_replacement": "logs_back"});
    let mut restore = Wire::plain(
        "POST",
        &format!("/v1.0/{a}/clusters/es-a/index_snapshot/{id}/restore"),
        body.to_string().into_bytes(),
    );
    restore.set("content-type", "application/json");
    restore.sign_huawei(alpha.key(), &snapkeep.host(), Some(a), Utc::now());
    let first = snapkeep.send(&restore);
    assert_eq!(first.0, 201, "{:?}", first.1);
    assert_eq!(snapkeep.send(&restore), first);
    assert_eq!(snapkeep.await_restore(&alpha, "es-a", "replayed", wait)["restoreStatus"], "success");
    let restores = essim.requests().into_iter().filter(|(m, p, _)| m == "POST" && p.ends_with("/_restore")).count();
    assert_eq!(restores, 1, "the restore ran once");
}

/// Unsigned requests are refused on their headers, before their bodies are read: 300 unsigned
/// POSTs of 1 MiB each at once leave the service's memory where it was.
#[test]
fn unsigned_bodies_are_refused_before_they_are_read() {
    use std::io::{Read, Write};
    let (_dir, _essim, snapkeep, alpha, _beta) = setup("elasticsearch", "7.10.2");
    let path = format!("/v1.0/{}/clusters/es-a/index_snapshot", alpha.project_id);
    let before = snapkeep.peak_resident_bytes();
    let senders: Vec<_> = (0..300)
        .map(|_| {
            let (host, path) = (snapkeep.host(), path.clone());
            std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(&host).unwrap();
                stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
                let head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", 1 << 20);
                stream.write_all(head.as_bytes()).unwrap();
                let _ = stream.write_all(&vec![b' '; 1 << 20]);
                let mut answer = [0u8; 12];
                stream.read_exact(&mut answer).map(|()| String::from_utf8_lossy(&answer).into_owned())
            })
        })
        .collect();
    let answers: Vec<String> = senders.into_iter().map(|s| s.join().unwrap().unwrap_or_default()).collect();
    assert!(answers.iter().all(|a| a == "HTTP/1.1 401"), "{:?}", answers.iter().find(|a| *a != "HTTP/1.1 401"));
    let grown = snapkeep.peak_resident_bytes().saturating_sub(before);
    println!("peak resident memory grew by {} MiB under 300 unsigned 1 MiB POSTs", grown / 0x100000);
    assert!(grown < 64 * 0x100000, "the bodies were not buffered: grew {grown} bytes");
}
