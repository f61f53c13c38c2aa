//! A real S3 server on loopback: `s3s-fs` by default, or Garage in single-node mode when
//! `SNAPKEEP_TEST_S3=garage` (see `scripts/test-garage`). The binary is taken from
//! `SNAPKEEP_S3S_FS` / `SNAPKEEP_GARAGE`, else from `PATH` or `~/.cargo/bin`; a missing binary
//! fails the test with the command that installs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use opendal::{Operator, services};

use crate::processes::{Process, free_port, spawn_listening};

/// Credentials every test server is started with (Garage's key format suits both servers).
pub const S3_ACCESS_KEY: &str = "GK5a4e1f0c2d3b6a7988a1b2c3";
pub const S3_SECRET_KEY: &str = "6f1c0d4e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d";
const REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    S3sFs,
    Garage,
}

/// A running S3 server, killed on drop.
pub struct S3Server {
    server: Server,
    process: Process,
    dir: PathBuf,
    pub port: u16,
}

impl S3Server {
    /// Starts the server chosen by `SNAPKEEP_TEST_S3` with its data under `dir`.
    pub fn start(dir: &Path) -> Self {
        let server = match std::env::var("SNAPKEEP_TEST_S3").as_deref() {
            Ok("garage") => Server::Garage,
            Ok("s3s-fs") | Err(_) => Server::S3sFs,
            Ok(other) => panic!("SNAPKEEP_TEST_S3={other}: use s3s-fs or garage"),
        };
        let dir = dir.join("s3");
        std::fs::create_dir_all(&dir).expect("s3 dir");
        let (process, port) = spawn_listening(|port| launch(server, &dir, port), Duration::from_secs(30));
        let s3 = Self { server, process, dir, port };
        s3.await_ready();
        s3
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server, as if it went away.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing is answered, as a storage
    /// that stalls.
    pub fn pause(&self) {
        self.process.signal("STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.process.signal("CONT");
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.process = launch(self.server, &self.dir, self.port);
        self.process.await_listening(self.port, Duration::from_secs(30)).expect("s3 server restarted");
        self.await_ready();
    }

    pub fn create_bucket(&self, bucket: &str) {
        match self.server {
            Server::S3sFs => std::fs::create_dir_all(self.dir.join("data").join(bucket)).expect("bucket folder"),
            Server::Garage => {
                self.garage(&["bucket", "create", bucket]);
                self.garage(&["bucket", "allow", "--read", "--write", "--owner", bucket, "--key", S3_ACCESS_KEY]);
            }
        }
    }

    /// Replaces an object (a test damaging what snapkeep wrote).
    pub fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let op = self.operator(bucket);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(op.write(key, bytes)).expect("put object");
    }

    fn operator(&self, bucket: &str) -> Operator {
        Operator::new(
            services::S3::default()
                .endpoint(&self.endpoint())
                .bucket(bucket)
                .region(REGION)
                .access_key_id(S3_ACCESS_KEY)
                .secret_access_key(S3_SECRET_KEY)
                .disable_config_load()
                .disable_ec2_metadata(),
        )
        .expect("operator")
    }

    /// Every object under `prefix` in `bucket`, with its bytes.
    pub fn objects(&self, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let op = self.operator(bucket);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let mut objects = BTreeMap::new();
            for key in list(&op, bucket, prefix).await {
                let bytes = op.read(&key).await.expect("object").to_vec();
                objects.insert(key, bytes);
            }
            objects
        })
    }

    /// The keys under `prefix` in `bucket`, without reading the objects.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let op = self.operator(bucket);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(list(&op, bucket, prefix))
    }

    /// The node settings that give an engine's `s3` client `client` this server.
    pub fn engine_settings(&self, client: &str) -> Vec<String> {
        let prefix = format!("s3.client.{client}");
        vec![
            format!("{prefix}.endpoint=127.0.0.1:{}", self.port),
            format!("{prefix}.protocol=http"),
            format!("{prefix}.path_style_access=true"),
            format!("{prefix}.region={REGION}"),
            format!("{prefix}.access_key={S3_ACCESS_KEY}"),
            format!("{prefix}.secret_key={S3_SECRET_KEY}"),
        ]
    }

    fn garage(&self, args: &[&str]) {
        let out = Command::new(server_binary(Server::Garage))
            .arg("-c")
            .arg(self.dir.join("garage.toml"))
            .args(args)
            .output()
            .expect("garage cli");
        assert!(out.status.success(), "garage {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Waits until the server answers S3 requests (Garage needs a moment to form its layout).
    fn await_ready(&self) {
        crate::wait_for("the S3 server to answer", Duration::from_secs(30), || {
            let probe = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            drop(probe);
            match self.server {
                Server::S3sFs => Some(()),
                Server::Garage => {
                    let out = Command::new(server_binary(Server::Garage))
                        .arg("-c")
                        .arg(self.dir.join("garage.toml"))
                        .args(["bucket", "list"])
                        .output()
                        .ok()?;
                    out.status.success().then_some(())
                }
            }
        });
    }
}

async fn list(op: &Operator, bucket: &str, prefix: &str) -> Vec<String> {
    match op.list_with(prefix).recursive(true).await {
        Ok(entries) => entries.into_iter().filter(|e| e.metadata().is_file()).map(|e| e.path().to_owned()).collect(),
        Err(e) if e.kind() == opendal::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("listing {bucket}/{prefix}: {e}"),
    }
}

fn launch(server: Server, dir: &Path, port: u16) -> Process {
    let mut command = Command::new(server_binary(server));
    match server {
        Server::S3sFs => {
            std::fs::create_dir_all(dir.join("data")).expect("s3s-fs root");
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
                .arg(dir.join("data"));
        }
        Server::Garage => {
            let config = dir.join("garage.toml");
            std::fs::write(&config, garage_config(dir, port)).expect("garage config");
            command
                .arg("-c")
                .arg(&config)
                .args(["server", "--single-node", "--default-bucket"])
                .env("GARAGE_DEFAULT_ACCESS_KEY", S3_ACCESS_KEY)
                .env("GARAGE_DEFAULT_SECRET_KEY", S3_SECRET_KEY)
                .env("GARAGE_DEFAULT_BUCKET", "garage-default");
        }
    }
    Process::spawn(command, dir.join("server.log"))
}

fn garage_config(dir: &Path, port: u16) -> String {
    let rpc = free_port();
    format!(
        "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
         rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
         rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{port}\"\n",
        meta = dir.join("meta").display(),
        data = dir.join("data").display(),
        secret = "4f1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091",
    )
}

fn server_binary(server: Server) -> PathBuf {
    let (name, variable, install) = match server {
        Server::S3sFs => ("s3s-fs", "SNAPKEEP_S3S_FS", "cargo install s3s-fs@0.14.1 --features binary --locked"),
        Server::Garage => ("garage", "SNAPKEEP_GARAGE", "cargo install garage@2.5.0 --locked"),
    };
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin").join(name));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: run `{install}` (.ci/run does), or set {variable}"))
}
