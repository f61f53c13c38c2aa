//! An `essim` process: the Elasticsearch/OpenSearch simulator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::processes::{Process, binary, spawn_listening};

/// How to start a simulated cluster.
#[derive(Debug, Clone)]
pub struct EssimOptions {
    /// `elasticsearch` or `opensearch`.
    pub flavor: &'static str,
    pub version: &'static str,
    pub rate_bytes_per_sec: u64,
    pub path_prefix: Option<&'static str>,
    pub basic_auth: Option<&'static str>,
    /// Clusters hosted (`/c0` … `/c{n-1}`); 1 is a plain single cluster.
    pub clusters: usize,
    /// Node settings `key=value`, such as an S3 client's (`S3Server::engine_settings`).
    pub settings: Vec<String>,
}

impl EssimOptions {
    pub fn new(flavor: &'static str, version: &'static str) -> Self {
        Self {
            flavor,
            version,
            rate_bytes_per_sec: 64 * 1024,
            path_prefix: None,
            basic_auth: None,
            clusters: 1,
            settings: Vec::new(),
        }
    }
}

pub struct Essim {
    process: Process,
    /// Where its state is kept.
    pub data_dir: PathBuf,
    /// Base URL including any path prefix.
    pub url: String,
    http: Client,
    auth: Option<(String, String)>,
}

impl Essim {
    /// Starts a cluster whose `path.repo` is `repo_root`, with its state under `dir`.
    pub fn start(dir: &Path, repo_root: &Path, options: &EssimOptions) -> Self {
        Self::launch(repo_root, options, |port| dir.join(format!("essim-{port}")))
    }

    /// Starts a cluster again on the state left in `data_dir`.
    pub fn restart(repo_root: &Path, options: &EssimOptions, data_dir: &Path) -> Self {
        Self::launch(repo_root, options, |_| data_dir.to_path_buf())
    }

    fn launch(repo_root: &Path, options: &EssimOptions, data_dir_for: impl Fn(u16) -> PathBuf) -> Self {
        let spawn = |port: u16| {
            let data_dir: PathBuf = data_dir_for(port);
            std::fs::create_dir_all(&data_dir).expect("essim data dir");
            let mut command = Command::new(binary("essim"));
            command
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--path-repo")
                .arg(repo_root)
                .arg("--flavor")
                .arg(options.flavor)
                .arg("--version")
                .arg(options.version)
                .arg("--rate-bytes-per-sec")
                .arg(options.rate_bytes_per_sec.to_string());
            if let Some(prefix) = options.path_prefix {
                command.arg("--path-prefix").arg(prefix);
            }
            if let Some(auth) = options.basic_auth {
                command.arg("--basic-auth").arg(auth);
            }
            command.arg("--clusters").arg(options.clusters.to_string());
            for setting in &options.settings {
                command.arg("--setting").arg(setting);
            }
            Process::spawn(command, data_dir.join("essim.log"))
        };
        let (process, port) = spawn_listening(spawn, Duration::from_secs(20));
        let data_dir = process.log.parent().expect("log in the data dir").to_path_buf();
        let auth = options.basic_auth.and_then(|a| a.split_once(':')).map(|(u, p)| (u.to_owned(), p.to_owned()));
        Self {
            process,
            data_dir,
            url: format!("http://127.0.0.1:{port}{}", options.path_prefix.unwrap_or("")),
            http: Client::builder().timeout(Duration::from_secs(30)).build().expect("http client"),
            auth,
        }
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Result<(u16, Value)> {
        let mut request = self.http.request(method.parse().expect("method"), format!("{}{path}", self.url));
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let text = response.text()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// The simulator's process id (for resource figures).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Any call; returns status and JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("essim {method} {path}: {e}\n{}", self.process.log_text()))
    }

    /// Creates an index with `shards` shards and `docs` documents.
    pub fn load_index(&self, index: &str, shards: u32, docs: usize) {
        let (status, body) = self.call(
            "PUT",
            &format!("/{index}"),
            Some(json!({"settings": {"number_of_shards": shards, "number_of_replicas": 0}})),
        );
        assert_eq!(status, 200, "{body}");
        let mut bulk = String::new();
        for i in 0..docs {
            bulk.push_str(&format!("{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{i}\"}}}}\n{{\"n\":{i},\"text\":\"document number {i} of {index}, padded to take some room on disk\"}}\n"));
        }
        let mut request =
            self.http.post(format!("{}/_bulk", self.url)).header("content-type", "application/x-ndjson").body(bulk);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        assert!(request.send().expect("bulk").status().is_success());
    }

    pub fn count(&self, index: &str) -> u64 {
        let (status, body) = self.call("GET", &format!("/{index}/_count"), None);
        assert_eq!(status, 200, "{body}");
        body["count"].as_u64().expect("count")
    }

    /// Names of the snapshots in a repository (finished and running).
    pub fn snapshot_names(&self, repository: &str) -> Vec<String> {
        self.snapshots_matching(repository, "_all")
    }

    /// Names of the snapshots still running in a repository.
    pub fn running_snapshots(&self, repository: &str) -> Vec<String> {
        self.snapshots_matching(repository, "_current")
    }

    fn snapshots_matching(&self, repository: &str, expr: &str) -> Vec<String> {
        let (status, body) = self.call("GET", &format!("/_snapshot/{repository}/{expr}"), None);
        assert_eq!(status, 200, "{body}");
        body["snapshots"]
            .as_array()
            .expect("snapshots")
            .iter()
            .map(|s| s["snapshot"].as_str().expect("name").to_owned())
            .collect()
    }

    /// The requests essim served: `(method, path, status)`.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        let (_, body) = self.call("GET", "/_essim/requests", None);
        body.as_array()
            .expect("request log")
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or_default().to_owned(),
                    r["path"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_u64().unwrap_or(0) as u16,
                )
            })
            .collect()
    }

    pub fn set_faults(&self, faults: Value) {
        let (status, body) = self.call("PUT", "/_essim/faults", Some(faults));
        assert_eq!(status, 200, "{body}");
    }

    pub fn set_rate(&self, rate_bytes_per_sec: u64) {
        let (status, body) =
            self.call("PUT", "/_essim/settings", Some(json!({"rate_bytes_per_sec": rate_bytes_per_sec})));
        assert_eq!(status, 200, "{body}");
    }
}
