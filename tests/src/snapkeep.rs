//! A `snapkeep serve` process with its own data directory, and the admin calls tests make.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::essim::Essim;
use crate::processes::{Process, binary, spawn_listening};
use crate::wait_for;

/// A project with one access key.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
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

    /// Waits until the process dies by itself (a failpoint); panics after `timeout`.
    pub fn await_crash(&mut self, timeout: Duration) {
        let process = self.process.as_mut().expect("running");
        wait_for("snapkeep to crash at its failpoint", timeout, || process.has_exited().then_some(()));
    }

    pub fn log_text(&self) -> String {
        self.process.as_ref().map(Process::log_text).unwrap_or_default()
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin.token")).expect("admin token").trim().to_owned()
    }

    /// A call to snapkeep; `token` adds the admin bearer token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>, token: bool) -> (u16, Value) {
        let mut request = self.http.request(method.parse().expect("method"), format!("{}{path}", self.url));
        if token {
            request = request.bearer_auth(self.admin_token());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap_or_else(|e| panic!("snapkeep {method} {path}: {e}\n{}", self.log_text()));
        let status = response.status().as_u16();
        let text = response.text().expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// An admin call that must succeed.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, &format!("/admin/v1{path}"), body, true);
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

    /// Registers `essim` as cluster `id` of `tenant`.
    pub fn register(&self, tenant: &Tenant, id: &str, essim: &Essim) -> Value {
        self.admin("POST", "/clusters", Some(json!({"project_id": tenant.project_id, "id": id, "name": format!("cluster {id}"), "endpoint": essim.url})))
    }

    /// The CSS backups of a cluster.
    pub fn backups(&self, tenant: &Tenant, cluster: &str) -> Vec<Value> {
        let (status, body) =
            self.call("GET", &format!("/v1.0/{}/clusters/{cluster}/index_snapshots", tenant.project_id), None, false);
        assert_eq!(status, 200, "{body}");
        body["backups"].as_array().expect("backups").clone()
    }

    /// One backup by name, if listed.
    pub fn backup(&self, tenant: &Tenant, cluster: &str, name: &str) -> Option<Value> {
        self.backups(tenant, cluster).into_iter().find(|b| b["name"] == name)
    }

    /// Creates a snapshot through the CSS API; returns its id.
    pub fn create_snapshot(&self, tenant: &Tenant, cluster: &str, name: &str, indices: &str) -> String {
        let (status, body) = self.call(
            "POST",
            &format!("/v1.0/{}/clusters/{cluster}/index_snapshot", tenant.project_id),
            Some(json!({"name": name, "indices": indices})),
            false,
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
