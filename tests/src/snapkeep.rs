//! A `snapkeep serve` process with its own data directory, and the admin calls tests make.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use uuid::Uuid;

use crate::cluster::ClusterClient;
use crate::processes::{Process, binary, spawn_listening};
use crate::signers::{Key, Wire};
use crate::wait_for;

/// A project with one access key.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Tenant {
    pub fn key(&self) -> Key<'_> {
        Key { access_key: &self.access_key, secret: &self.secret_key }
    }
}

/// How a harness call authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    Anonymous,
    /// The admin bearer token.
    Admin,
    /// Signed by the tenant's key with Huawei `SDK-HMAC-SHA256`, for its project.
    Huawei(&'a Tenant),
    /// Signed by the tenant's key with Alibaba ACS3, and with ROA v1.
    Acs3(&'a Tenant),
    Roa(&'a Tenant),
}

pub struct Snapkeep {
    process: Option<Process>,
    pub url: String,
    pub data_dir: PathBuf,
    storage_root: PathBuf,
    env: Vec<(String, String)>,
    port: u16,
    http: Client,
}

impl Snapkeep {
    /// Starts snapkeep with fast polling, its repositories under `storage_root`; `env` adds
    /// `SNAPKEEP_*` settings.
    pub fn start(dir: &Path, storage_root: &Path, env: &[(&str, &str)]) -> Self {
        let mut snapkeep = Self {
            process: None,
            url: String::new(),
            data_dir: dir.join("snapkeep"),
            storage_root: storage_root.to_path_buf(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            port: 0,
            http: Client::builder().timeout(Duration::from_secs(60)).build().expect("http client"),
        };
        let (process, port) = spawn_listening(|port| snapkeep.spawn(port), Duration::from_secs(30));
        snapkeep.port = port;
        snapkeep.url = format!("http://127.0.0.1:{port}");
        snapkeep.adopt(process);
        snapkeep
    }

    /// Another replica on this one's catalog, in `dir`, with `env` (which names the catalog).
    pub fn start_replica(&self, dir: &Path, env: &[(&str, &str)]) -> Self {
        self.prepare_replica(dir);
        Self::start(dir, &self.storage_root, env)
    }

    /// A replica's data directory in `dir`, given this one's master key and admin token (what an
    /// operator gives every replica); returns it.
    pub fn prepare_replica(&self, dir: &Path) -> PathBuf {
        let data = dir.join("snapkeep");
        std::fs::create_dir_all(&data).expect("replica data dir");
        for file in ["master.key", "admin.token"] {
            std::fs::copy(self.data_dir.join(file), data.join(file)).expect("replica secrets");
        }
        data
    }

    /// Starts again on the same port and data directory.
    fn launch(&mut self) {
        let mut process = self.spawn(self.port);
        if let Err(log) = process.await_listening(self.port, Duration::from_secs(30)) {
            panic!("{log}");
        }
        self.adopt(process);
    }

    fn adopt(&mut self, process: Process) {
        self.process = Some(process);
        wait_for("snapkeep to answer /healthz", Duration::from_secs(30), || {
            self.http.get(format!("{}/healthz", self.url)).send().ok().filter(|r| r.status().is_success())
        });
    }

    fn spawn(&self, port: u16) -> Process {
        let mut command = Command::new(binary("snapkeep"));
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("SNAPKEEP_STORAGE_ROOT", &self.storage_root)
            .env("SNAPKEEP_POLL_INTERVAL_MS", "200")
            .env("SNAPKEEP_RECONCILE_INTERVAL_MS", "100")
            .env("SNAPKEEP_RETRY_BASE_MS", "100")
            .env("SNAPKEEP_RETRY_MAX_MS", "1000")
            .env("SNAPKEEP_LOG", "info,snapkeep_core=debug");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        std::fs::create_dir_all(&self.data_dir).expect("snapkeep data dir");
        Process::spawn(command, self.data_dir.join("snapkeep.log"))
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Stops with SIGTERM; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        self.process.as_mut().expect("running").terminate()
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Starts again with `SNAPKEEP_*` settings replaced by `env`.
    pub fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.restart();
    }

    /// Waits until the process exits by itself (a failpoint, a fatal failure); panics after
    /// `timeout`.
    pub fn await_crash(&mut self, timeout: Duration) {
        let process = self.process.as_mut().expect("running");
        wait_for("snapkeep to exit by itself", timeout, || process.has_exited().then_some(()));
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the running process.
    pub fn signal(&self, signal: &str) {
        self.process.as_ref().expect("running").signal(signal);
    }

    /// Whether `/healthz` answers 200 now (on a new connection).
    pub fn try_health(&self) -> bool {
        let http = Client::builder().timeout(Duration::from_secs(5)).build().expect("http client");
        http.get(format!("{}/healthz", self.url)).send().is_ok_and(|r| r.status().is_success())
    }

    /// The running service's process id.
    pub fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").pid()
    }

    /// The service's peak resident memory so far, in bytes (`VmHWM` of `/proc/<pid>/status`).
    pub fn peak_resident_bytes(&self) -> u64 {
        let pid = self.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("kB") * 1024
    }

    pub fn log_text(&self) -> String {
        self.process.as_ref().map(Process::log_text).unwrap_or_default()
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin.token")).expect("admin token").trim().to_owned()
    }

    /// A call to snapkeep, authenticated as `auth` says.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>, auth: Auth<'_>) -> (u16, Value) {
        let (status, bytes) = self.call_raw(method, path, body, auth);
        (status, as_value(bytes))
    }

    /// `call`, with the answer's body as the bytes received.
    pub fn call_raw(&self, method: &str, path: &str, body: Option<Value>, auth: Auth<'_>) -> (u16, Vec<u8>) {
        let body = body.map(|b| serde_json::to_vec(&b).expect("JSON")).unwrap_or_default();
        let mut wire = Wire::plain(method, path, body);
        if !wire.body.is_empty() {
            wire.set("content-type", "application/json");
        }
        let now = Utc::now();
        match auth {
            Auth::Anonymous => {}
            Auth::Admin => wire.set("authorization", &format!("Bearer {}", self.admin_token())),
            Auth::Huawei(t) => wire.sign_huawei(t.key(), &self.host(), Some(&t.project_id), now),
            Auth::Acs3(t) => wire.sign_acs3(t.key(), &self.host(), now, &Uuid::new_v4().to_string()),
            Auth::Roa(t) => wire.sign_roa(t.key(), now, Some(&Uuid::new_v4().to_string())),
        }
        self.send_raw(&wire)
    }

    /// `host:port` of the service, as clients send it in `Host`.
    pub fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// Sends a request exactly as given (tests tamper with signed requests this way).
    pub fn send(&self, wire: &Wire) -> (u16, Value) {
        let (status, bytes) = self.send_raw(wire);
        (status, as_value(bytes))
    }

    /// `send`, with the answer's body as the bytes received.
    pub fn send_raw(&self, wire: &Wire) -> (u16, Vec<u8>) {
        let query = if wire.query_text.is_empty() { String::new() } else { format!("?{}", wire.query_text) };
        let url = format!("{}{}{query}", self.url, wire.path);
        let mut request = self.http.request(wire.method.parse().expect("method"), url).body(wire.body.clone());
        for (name, value) in &wire.headers {
            if !name.eq_ignore_ascii_case("host") {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("snapkeep {} {}: {e}\n{}", wire.method, wire.path, self.log_text()));
        let status = response.status().as_u16();
        (status, response.bytes().expect("body").to_vec())
    }

    /// A CSS call signed by `tenant`.
    pub fn css(&self, tenant: &Tenant, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, &format!("/v1.0/{}{path}", tenant.project_id), body, Auth::Huawei(tenant))
    }

    /// An admin call that must succeed.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, &format!("/admin/v1{path}"), body, Auth::Admin);
        assert!((200..300).contains(&status), "admin {method} {path} answered {status}: {answer}");
        answer
    }

    /// A new project with an access key.
    pub fn tenant(&self, name: &str) -> Tenant {
        let project = self.admin("POST", "/projects", Some(json!({"name": name})));
        let project_id = project["id"].as_str().expect("project id").to_owned();
        let key = self.admin("POST", &format!("/projects/{project_id}/keys"), None);
        Tenant {
            project_id,
            access_key: key["access_key"].as_str().expect("ak").to_owned(),
            secret_key: key["secret_key"].as_str().expect("sk").to_owned(),
        }
    }

    /// Registers a search cluster (essim or a real engine) as cluster `id` of `tenant`.
    pub fn register(&self, tenant: &Tenant, id: &str, cluster: &ClusterClient) -> Value {
        self.admin("POST", "/clusters", Some(json!({"project_id": tenant.project_id, "id": id, "name": format!("cluster {id}"), "endpoint": cluster.url})))
    }

    /// The CSS backups of a cluster.
    pub fn backups(&self, tenant: &Tenant, cluster: &str) -> Vec<Value> {
        let (status, body) = self.css(tenant, "GET", &format!("/clusters/{cluster}/index_snapshots"), None);
        assert_eq!(status, 200, "{body}");
        body["backups"].as_array().expect("backups").clone()
    }

    /// One backup by name, if listed.
    pub fn backup(&self, tenant: &Tenant, cluster: &str, name: &str) -> Option<Value> {
        self.backups(tenant, cluster).into_iter().find(|b| b["name"] == name)
    }

    /// Creates a snapshot through the CSS API; returns its id.
    pub fn create_snapshot(&self, tenant: &Tenant, cluster: &str, name: &str, indices: &str) -> String {
        let (status, body) = self.css(
            tenant,
            "POST",
            &format!("/clusters/{cluster}/index_snapshot"),
            Some(json!({"name": name, "indices": indices})),
        );
        assert_eq!(status, 201, "{body}");
        body["backup"]["id"].as_str().expect("id").to_owned()
    }

    /// Waits until a backup leaves BUILDING; returns it.
    pub fn await_snapshot(&self, tenant: &Tenant, cluster: &str, name: &str, timeout: Duration) -> Value {
        wait_for(&format!("snapshot {name} to finish"), timeout, || {
            self.backup(tenant, cluster, name).filter(|b| b["status"] != "BUILDING")
        })
    }

    /// Waits until a backup's restore leaves `restoring`; returns it.
    pub fn await_restore(&self, tenant: &Tenant, cluster: &str, name: &str, timeout: Duration) -> Value {
        wait_for(&format!("restore of {name} to finish"), timeout, || {
            self.backup(tenant, cluster, name).filter(|b| b["restoreStatus"] != "restoring")
        })
    }
}

/// An answer's body as JSON: null when empty, a string when it is not JSON.
fn as_value(bytes: Vec<u8>) -> Value {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}
