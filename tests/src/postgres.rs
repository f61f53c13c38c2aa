//! A private PostgreSQL server for tests, on loopback: the one `.ci/run` started
//! (`SNAPKEEP_TEST_POSTGRES=<data dir>:<port>`), or else one started here with `scripts/postgres`
//! (stopped when dropped). Each test works in its own database, loads it with pgbench and a table
//! of rows that carry their own checksum, and reads back a fingerprint of both. A test may also
//! start a server of its own that takes TCP connections only over TLS, with certificates made here
//! by a test CA.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::processes::{free_port, workspace_root};

pub struct TestPostgres {
    pub port: u16,
    /// Set when this test started the server: its data directory, stopped on drop.
    owned: Option<(PathBuf, tempfile::TempDir)>,
}

impl TestPostgres {
    /// The CI server, or a new one.
    pub fn shared_or_start() -> Self {
        if let Ok(shared) = std::env::var("SNAPKEEP_TEST_POSTGRES") {
            let port = shared.rsplit(':').next().and_then(|p| p.parse().ok());
            let port = port.unwrap_or_else(|| panic!("SNAPKEEP_TEST_POSTGRES={shared:?} is not <dir>:<port>"));
            return Self { port, owned: None };
        }
        let dir = open_tempdir();
        let data = dir.path().join("pg");
        let port = free_port();
        postgres_script(&["start", &data.display().to_string(), &port.to_string()]);
        Self { port, owned: Some((data, dir)) }
    }

    /// A server of its own that accepts TCP connections only over TLS (`hostssl` lines alone),
    /// with `certificates`' server certificate for 127.0.0.1.
    pub fn start_tls_only(certificates: &TlsCertificates) -> Self {
        let dir = open_tempdir();
        let data = dir.path().join("pg");
        let port = free_port();
        let options = format!(
            "-c fsync=off -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            certificates.dir.path().join("server.crt").display(),
            certificates.dir.path().join("server.key").display()
        );
        run_postgres_script(&["start", &data.display().to_string(), &port.to_string()], Some(&options));
        let server = Self { port, owned: Some((data.clone(), dir)) };
        let rules =
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl replication all 127.0.0.1/32 trust\n";
        std::fs::write(data.join("pg_hba.conf"), rules).expect("pg_hba.conf");
        psql(&server.url("postgres"), "SELECT pg_reload_conf()");
        server
    }

    /// A server of its own whose configuration files live outside its data directory, as
    /// Debian's packages keep them (in `/etc/postgresql`): backups of it carry none.
    pub fn start_with_configuration_outside() -> Self {
        let dir = open_tempdir();
        let (data, etc) = (dir.path().join("pg"), dir.path().join("etc"));
        let port = free_port();
        let (data_arg, port_arg) = (data.display().to_string(), port.to_string());
        postgres_script(&["start", &data_arg, &port_arg]);
        postgres_script(&["stop", &data_arg]);
        std::fs::create_dir(&etc).expect("configuration directory");
        let mut options = String::from("-c fsync=off");
        for (name, setting) in
            [("postgresql.conf", "config_file"), ("pg_hba.conf", "hba_file"), ("pg_ident.conf", "ident_file")]
        {
            std::fs::rename(data.join(name), etc.join(name)).expect("move a configuration file");
            options.push_str(&format!(" -c {setting}={}", etc.join(name).display()));
        }
        run_postgres_script(&["start", &data_arg, &port_arg], Some(&options));
        Self { port, owned: Some((data, dir)) }
    }

    /// The URL of one database (snapkeep registers the server with `postgres`).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new database named `<prefix>_<random>`: its URL.
    pub fn fresh_database(&self, prefix: &str) -> String {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        self.create_database(&name);
        self.url(&name)
    }

    /// A new, empty database for one test.
    pub fn create_database(&self, name: &str) {
        psql(&self.url("postgres"), &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&self.url("postgres"), &format!("CREATE DATABASE {name}"));
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some((data, _)) = &self.owned {
            postgres_script(&["stop", &data.display().to_string()]);
        }
    }
}

/// A temporary directory the postgres user can enter (tests run as root; servers never do).
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn postgres_script(args: &[&str]) {
    run_postgres_script(args, None);
}

/// `scripts/postgres`, with server options replacing its defaults when given.
fn run_postgres_script(args: &[&str], options: Option<&str>) {
    let mut command = Command::new(workspace_root().join("scripts/postgres"));
    if let Some(options) = options {
        command.env("SNAPKEEP_POSTGRES_OPTIONS", options);
    }
    let output = command.args(args).output().expect("scripts/postgres");
    assert!(
        output.status.success(),
        "scripts/postgres {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A test CA, a server certificate it signed for 127.0.0.1 (with its key, readable by the
/// postgres user alone), and a second CA that signed nothing, made with `openssl`.
pub struct TlsCertificates {
    dir: tempfile::TempDir,
}

impl TlsCertificates {
    pub fn generate() -> Self {
        let dir = open_tempdir();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(
            path("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("extensions file");
        for ca in ["ca", "other-ca"] {
            let (subject, key, pem) =
                (format!("/CN=snapkeep test {ca}"), path(&format!("{ca}.key")), path(&format!("{ca}.pem")));
            openssl(&[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject, "-keyout", &key,
                "-out", &pem,
            ]);
        }
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &path("server.key"),
            "-out",
            &path("server.csr"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.pem"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &path("server.ext"),
            "-out",
            &path("server.crt"),
        ]);
        let key = dir.path().join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod the key");
        if is_root() {
            let chown = Command::new("chown").args(["postgres:", &path("server.key")]).status().expect("chown");
            assert!(chown.success(), "chown the server key to postgres");
        }
        Self { dir }
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A CA that signed nothing the server shows.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl").args(args).output().expect("openssl");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Where a test's snapkeep puts restored clusters; their servers are stopped on drop.
pub struct RestoreArea {
    dir: tempfile::TempDir,
}

impl RestoreArea {
    pub fn new() -> Self {
        Self { dir: open_tempdir() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory of a restored cluster.
    pub fn data_dir(&self, cluster_id: &str) -> PathBuf {
        self.dir.path().join(cluster_id).join("data")
    }
}

impl Default for RestoreArea {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RestoreArea {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
            let data = entry.path().join("data");
            if data.join("postmaster.pid").exists() {
                postgres_script(&["stop", &data.display().to_string()]);
            }
        }
    }
}

/// Runs SQL with psql and returns its unaligned output.
pub fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args([url, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect("psql");
    assert!(output.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Loads pgbench tables at `scale` and `rows` rows that carry their own checksum.
pub fn load(url: &str, scale: u32, rows: u32) {
    let pgbench = pg_bin_dir().join("pgbench");
    let output = Command::new(pgbench).args(["-i", "-q", "-s", &scale.to_string(), url]).output().expect("pgbench");
    assert!(output.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&output.stderr));
    psql(
        url,
        &format!(
            "CREATE TABLE known AS SELECT g AS id, md5(g::text) || repeat(chr(65 + g % 26), g % 200) AS payload, \
             md5(md5(g::text) || repeat(chr(65 + g % 26), g % 200)) AS checksum FROM generate_series(1, {rows}) g"
        ),
    );
}

/// Row counts and checksums of what `load` wrote, and of every row of the checksummed table
/// compared with its own checksum.
pub fn fingerprint(url: &str) -> String {
    psql(
        url,
        "SELECT (SELECT count(*) FROM pgbench_accounts) || ' accounts, ' || \
         (SELECT sum(abalance) FROM pgbench_accounts) || ' balance, ' || \
         (SELECT md5(string_agg(aid::text || filler, ',' ORDER BY aid)) FROM pgbench_accounts) || ', ' || \
         (SELECT count(*) FROM known) || ' known rows, ' || \
         (SELECT count(*) FROM known WHERE md5(payload) <> checksum) || ' bad, ' || \
         (SELECT md5(string_agg(checksum, ',' ORDER BY id)) FROM known)",
    )
}

/// The directory of the local server binaries (`pg_config --bindir`).
pub fn pg_bin_dir() -> PathBuf {
    let output = Command::new("pg_config").arg("--bindir").output();
    match output {
        Ok(out) if out.status.success() => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        _ => Path::new("/usr/lib/postgresql/15/bin").to_path_buf(),
    }
}
