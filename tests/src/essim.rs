//! An `essim` process: the Elasticsearch/OpenSearch simulator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::ClusterClient;
use crate::processes::{Process, binary, spawn_listening};

/// How to start a simulated cluster.
#[derive(Debug, Clone)]
pub struct EssimOptions {
    /// `elasticsearch` or `opensearch`.
    pub flavor: String,
    pub version: String,
    pub rate_bytes_per_sec: u64,
    pub path_prefix: Option<&'static str>,
    pub basic_auth: Option<&'static str>,
    /// Clusters hosted (`/c0` … `/c{n-1}`); 1 is a plain single cluster.
    pub clusters: usize,
    /// Node settings `key=value`, such as an S3 client's (`S3Server::engine_settings`).
    pub settings: Vec<String>,
}

impl EssimOptions {
    pub fn new(flavor: &str, version: &str) -> Self {
        Self {
            flavor: flavor.to_owned(),
            version: version.to_owned(),
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
    client: ClusterClient,
}

impl std::ops::Deref for Essim {
    type Target = ClusterClient;

    fn deref(&self) -> &ClusterClient {
        &self.client
    }
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
                .arg(&options.flavor)
                .arg("--version")
                .arg(&options.version)
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
        let log = process.log.clone();
        let url = format!("http://127.0.0.1:{port}{}", options.path_prefix.unwrap_or(""));
        let diagnose = Box::new(move || std::fs::read_to_string(&log).unwrap_or_default());
        Self { process, data_dir, client: ClusterClient::new(url, options.basic_auth, diagnose) }
    }

    /// The simulator's process id (for resource figures).
    pub fn pid(&self) -> u32 {
        self.process.pid()
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
        self.ok("PUT", "/_essim/faults", Some(faults));
    }

    pub fn set_rate(&self, rate_bytes_per_sec: u64) {
        self.ok("PUT", "/_essim/settings", Some(json!({"rate_bytes_per_sec": rate_bytes_per_sec})));
    }
}
