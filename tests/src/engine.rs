//! The search cluster a test runs against: essim (fast, with fault injection) or a real
//! Elasticsearch/OpenSearch node started from the engines' published jars by `scripts/engine`.
//!
//! `SNAPKEEP_TEST_ENGINE=opensearch-2.19.6` (or `elasticsearch-7.17.29`, …) runs every test that
//! takes [`TestEngine::chosen`] against that real engine; tests that need a real engine name it
//! ([`TestEngine::real`]). A real engine that cannot start fails the test with the reason: no test
//! falls back to essim.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::cluster::ClusterClient;
use crate::essim::{Essim, EssimOptions};
use crate::processes::{Process, spawn_listening, workspace_root};
use crate::wait_for;

/// The OpenSearch line most tests run on for real (fs repositories).
pub const OPENSEARCH_2: (&str, &str) = ("opensearch", "2.19.6");
/// The Elasticsearch line run for real (fs repositories).
pub const ELASTICSEARCH_7: (&str, &str) = ("elasticsearch", "7.17.29");
/// The line whose `repository-s3` plugin is published (OpenSearch 3, Java 21 or later).
pub const OPENSEARCH_S3: (&str, &str) = ("opensearch", "3.3.2");

/// Which engine, of which flavor and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEngine {
    pub flavor: String,
    pub version: String,
    pub real: bool,
}

impl TestEngine {
    pub fn essim(flavor: &str, version: &str) -> Self {
        Self { flavor: flavor.into(), version: version.into(), real: false }
    }

    pub fn real((flavor, version): (&str, &str)) -> Self {
        Self { flavor: flavor.into(), version: version.into(), real: true }
    }

    /// The engine `SNAPKEEP_TEST_ENGINE` names (`essim`, or `FLAVOR-VERSION` of a real engine),
    /// else essim as `flavor` `version`.
    pub fn chosen(flavor: &str, version: &str) -> Self {
        match std::env::var("SNAPKEEP_TEST_ENGINE") {
            Ok(name) if name != "essim" && !name.is_empty() => Self::parse(&name),
            _ => Self::essim(flavor, version),
        }
    }

    /// `opensearch-2.19.6` → a real OpenSearch 2.19.6.
    pub fn parse(name: &str) -> Self {
        let (flavor, version) = name
            .split_once('-')
            .filter(|(f, _)| matches!(*f, "opensearch" | "elasticsearch"))
            .unwrap_or_else(|| panic!("SNAPKEEP_TEST_ENGINE={name}: expected essim or FLAVOR-VERSION"));
        Self::real((flavor, version))
    }

    /// `opensearch-2.19.6`, or `essim(opensearch-2.11.0)`.
    pub fn name(&self) -> String {
        let name = format!("{}-{}", self.flavor, self.version);
        if self.real { name } else { format!("essim({name})") }
    }

    /// Starts the cluster with `repo_root` as `path.repo` and node `settings` (`key=value`).
    pub fn start(&self, dir: &Path, repo_root: &Path, settings: &[String]) -> SearchCluster {
        if self.real {
            SearchCluster::Real(RealEngine::start(self, dir, repo_root, settings))
        } else {
            let options =
                EssimOptions { settings: settings.to_vec(), ..EssimOptions::new(&self.flavor, &self.version) };
            SearchCluster::Essim(Essim::start(dir, repo_root, &options))
        }
    }
}

/// A running cluster of either kind.
pub enum SearchCluster {
    Essim(Essim),
    Real(RealEngine),
}

impl std::ops::Deref for SearchCluster {
    type Target = ClusterClient;

    fn deref(&self) -> &ClusterClient {
        match self {
            Self::Essim(essim) => essim,
            Self::Real(engine) => engine,
        }
    }
}

/// A real single-node engine process (`path.home` under the test's folder, its output in
/// `engine.log` there), killed on drop.
pub struct RealEngine {
    _process: Process,
    client: ClusterClient,
}

impl std::ops::Deref for RealEngine {
    type Target = ClusterClient;

    fn deref(&self) -> &ClusterClient {
        &self.client
    }
}

/// How `scripts/engine prepare` says to run a launcher.
#[derive(Clone)]
struct Launcher {
    java: String,
    /// JVM options, the same `scripts/engine start` uses.
    options: Vec<String>,
    classpath: String,
    main: String,
}

impl RealEngine {
    /// Starts the engine and waits until its cluster is at least yellow; panics with the reason
    /// (Maven's or the engine's output) when it cannot.
    pub fn start(engine: &TestEngine, dir: &Path, repo_root: &Path, settings: &[String]) -> Self {
        let launcher = launcher(engine);
        std::fs::create_dir_all(repo_root).expect("path.repo");
        let spawn = |port: u16| {
            let home = dir.join(format!("{}-{port}", engine.name()));
            std::fs::create_dir_all(&home).expect("engine home");
            let mut command = Command::new(&launcher.java);
            command
                .args(&launcher.options)
                .arg("-cp")
                .arg(&launcher.classpath)
                .arg(&launcher.main)
                .arg("--home")
                .arg(&home)
                .arg("--port")
                .arg(port.to_string())
                .arg("--setting")
                .arg(format!("path.repo={}", repo_root.display()));
            // Keystore entries go through a file, as `scripts/engine` passes them.
            let (secure, plain): (Vec<&String>, Vec<&String>) = settings.iter().partition(|s| is_secure(s));
            for setting in plain {
                command.arg("--setting").arg(setting);
            }
            if !secure.is_empty() {
                let keystore = home.join("keystore.properties");
                let lines: String = secure.iter().map(|s| format!("{s}\n")).collect();
                std::fs::write(&keystore, lines).expect("keystore file");
                command.arg("--keystore-file").arg(keystore);
            }
            Process::spawn(command, home.join("engine.log"))
        };
        let (mut process, port) = spawn_listening(spawn, Duration::from_secs(120));
        let log = process.log.clone();
        let diagnose = Box::new(move || tail(&std::fs::read_to_string(&log).unwrap_or_default(), 60));
        let client = ClusterClient::new(format!("http://127.0.0.1:{port}"), None, diagnose);
        wait_for(&format!("{} to answer GET /", engine.name()), Duration::from_secs(120), || {
            assert!(!process.has_exited(), "{} exited:\n{}", engine.name(), process.log_text());
            client
                .try_call("GET", "/_cluster/health?wait_for_status=yellow&timeout=1s", None)
                .ok()
                .filter(|(s, _)| *s == 200)
        });
        Self { _process: process, client }
    }
}

/// Settings the engines keep in their keystore (`s3.client.NAME.secret_key`, …).
fn is_secure(setting: &str) -> bool {
    let key = setting.split_once('=').map_or(setting, |(key, _)| key);
    [".access_key", ".secret_key", ".session_token"].iter().any(|suffix| key.ends_with(suffix))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Resolves and compiles the engine's launcher once per test process (`scripts/engine prepare`
/// caches it across runs).
fn launcher(engine: &TestEngine) -> Launcher {
    static PREPARED: Mutex<BTreeMap<String, Launcher>> = Mutex::new(BTreeMap::new());
    let mut prepared = PREPARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(launcher) = prepared.get(&engine.name()) {
        return launcher.clone();
    }
    let script = workspace_root().join("scripts/engine");
    let output = Command::new(&script)
        .args(["prepare", &engine.flavor, &engine.version])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} cannot be prepared: {stderr}", engine.name());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let folder = PathBuf::from(stdout.lines().last().expect("the launcher folder"));
    let read = |name: &str| std::fs::read_to_string(folder.join(name)).expect("launcher file").trim().to_owned();
    let launcher = Launcher {
        java: read("java"),
        options: read("options").split_whitespace().map(str::to_owned).collect(),
        classpath: format!("{}:{}", folder.join("classes").display(), read("classpath")),
        main: read("main"),
    };
    prepared.insert(engine.name(), launcher.clone());
    launcher
}
