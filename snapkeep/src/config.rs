//! Service configuration: one struct served by the TOML file, `SNAPKEEP_*` environment variables
//! and command-line flags, in that order of precedence (later wins).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use snapkeep_core::{OperationTimeouts, RetryPolicy, Scheduling};
use snapkeep_engine_postgres::{ServerBinaries, Tuning};
use snapkeep_store::CatalogLocation;

/// Every setting of `snapkeep serve`. Keys are kebab-case in TOML and upper snake case after
/// `SNAPKEEP_` in the environment (`engine-timeout-secs` ↔ `SNAPKEEP_ENGINE_TIMEOUT_SECS`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    /// HTTP connections served at once; more wait until one closes.
    pub http_max_connections: usize,
    /// Seconds a connection may take to send a request's headers, or stay idle between
    /// requests, before it is closed.
    pub http_header_timeout_secs: u64,
    pub data_dir: PathBuf,
    /// On a PostgreSQL catalog, record this process's admin token as the one every replica must
    /// serve with (to change it); otherwise a replica with another token refuses to start.
    pub replace_admin_token: bool,
    /// Where the catalog lives: `postgres://…` (libpq's `sslmode` options taken), shared by any
    /// number of replicas, or `sqlite://<path>`; when unset, `<data-dir>/snapkeep.db`.
    pub catalog_url: Option<String>,
    /// Root of the shared-filesystem repositories, as the clusters see it (their `path.repo`).
    pub storage_root: Option<PathBuf>,
    /// Name each cluster's own repository is registered under.
    pub repository_name: String,
    /// Region given to clusters registered without one.
    pub region: String,
    /// Base64 of 32 bytes; when unset, `<data-dir>/master.key` (created on first start).
    pub master_key: Option<String>,
    pub master_key_file: Option<PathBuf>,
    /// Bearer token of the admin API; when unset, `<data-dir>/admin.token` (created on first start).
    pub admin_token: Option<String>,
    pub admin_token_file: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: String,
    pub engine_timeout_secs: u64,
    pub reconcile_interval_ms: u64,
    pub poll_interval_ms: u64,
    /// Operations advanced at once (short engine steps).
    pub workers: u32,
    /// PostgreSQL backups and restores run at once, in a pool apart from `workers`.
    pub transfer_workers: u32,
    /// Seconds a stop (SIGTERM) waits for requests and work in flight; what is unfinished then
    /// resumes at the next start, as after a crash.
    pub shutdown_grace_secs: u64,
    /// Seconds an operation stays leased to the replica that claimed it (renewed while a long
    /// transfer runs); another replica takes it over once a dead one's lease lapses (5 to 3600).
    pub lease_secs: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub create_timeout_secs: u64,
    pub delete_timeout_secs: u64,
    pub restore_timeout_secs: u64,
    pub stuck_after_secs: u64,
    /// How often due automatic snapshots and retention are looked at.
    pub scheduler_interval_ms: u64,
    /// How often ended operations become webhook events and due deliveries are posted.
    pub notify_interval_ms: u64,
    /// How often every cluster's protection is compared with the last recorded, to post
    /// `cluster.late` and `cluster.failing` events (it reads the whole fleet).
    pub health_check_interval_ms: u64,
    /// Automatic snapshots start within this many seconds after their slot, spread by cluster.
    pub schedule_jitter_secs: u64,
    /// Snapshots being created at once, over all clusters and per cluster.
    pub max_concurrent_snapshots: u32,
    pub max_concurrent_snapshots_per_cluster: u32,
    /// How far the date of a signed request may be from the server's clock (60 to 3600 s).
    /// Signature checking itself cannot be turned off.
    pub signature_max_skew_secs: u64,
    /// Crash testing only: abort right after the named engine call (see `Reconciler::with_failpoint`).
    pub failpoint: Option<String>,
    /// The PostgreSQL server binaries restored clusters run with; when unset, `pg_config
    /// --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
    pub postgres_bin_dir: Option<PathBuf>,
    /// The user restored PostgreSQL servers run as; when unset, `postgres` if snapkeep runs as
    /// root (PostgreSQL refuses root), else snapkeep's own user.
    pub postgres_run_as: Option<String>,
    /// Where restored PostgreSQL clusters get their directories; `<data-dir>/restores` when unset.
    pub restore_root: Option<PathBuf>,
    /// The address restored PostgreSQL servers listen on.
    pub restore_listen: String,
    /// zstd level PostgreSQL servers compress their backups at (1–22).
    pub postgres_compression_level: i32,
    /// Threads a PostgreSQL server compresses a backup with, on its own host (0–64; 0 compresses
    /// in the backend itself).
    pub postgres_compression_workers: u32,
}

/// Keys settable from the environment (all of them).
const KEYS: &[&str] = &[
    "listen",
    "http-max-connections",
    "http-header-timeout-secs",
    "data-dir",
    "catalog-url",
    "replace-admin-token",
    "storage-root",
    "repository-name",
    "region",
    "master-key",
    "master-key-file",
    "admin-token",
    "admin-token-file",
    "log-format",
    "engine-timeout-secs",
    "reconcile-interval-ms",
    "poll-interval-ms",
    "workers",
    "transfer-workers",
    "shutdown-grace-secs",
    "lease-secs",
    "retry-base-ms",
    "retry-max-ms",
    "create-timeout-secs",
    "delete-timeout-secs",
    "restore-timeout-secs",
    "stuck-after-secs",
    "scheduler-interval-ms",
    "notify-interval-ms",
    "health-check-interval-ms",
    "schedule-jitter-secs",
    "max-concurrent-snapshots",
    "max-concurrent-snapshots-per-cluster",
    "signature-max-skew-secs",
    "failpoint",
    "postgres-bin-dir",
    "postgres-run-as",
    "restore-root",
    "restore-listen",
    "postgres-compression-level",
    "postgres-compression-workers",
];

impl Default for Config {
    fn default() -> Self {
        let timeouts = OperationTimeouts::default();
        let retry = RetryPolicy::default();
        let scheduling = Scheduling::default();
        Self {
            listen: "127.0.0.1:8080".into(),
            http_max_connections: 1024,
            http_header_timeout_secs: 30,
            data_dir: PathBuf::from("snapkeep-data"),
            storage_root: None,
            repository_name: "snapkeep".into(),
            region: "local".into(),
            master_key: None,
            master_key_file: None,
            admin_token: None,
            admin_token_file: None,
            log_format: "text".into(),
            engine_timeout_secs: 30,
            reconcile_interval_ms: 500,
            poll_interval_ms: timeouts.poll_every.as_millis() as u64,
            workers: 8,
            transfer_workers: 2,
            shutdown_grace_secs: 30,
            lease_secs: 60,
            retry_base_ms: retry.base.as_millis() as u64,
            retry_max_ms: retry.max.as_millis() as u64,
            create_timeout_secs: timeouts.create.as_secs(),
            delete_timeout_secs: timeouts.delete.as_secs(),
            restore_timeout_secs: timeouts.restore.as_secs(),
            stuck_after_secs: timeouts.stuck_after.as_secs(),
            failpoint: None,
            postgres_bin_dir: None,
            postgres_run_as: None,
            restore_root: None,
            catalog_url: None,
            replace_admin_token: false,
            restore_listen: "127.0.0.1".into(),
            postgres_compression_level: Tuning::default().level,
            postgres_compression_workers: Tuning::default().compression_workers,
            signature_max_skew_secs: snapkeep_core::DEFAULT_MAX_SKEW.num_seconds() as u64,
            scheduler_interval_ms: 1000,
            notify_interval_ms: 1000,
            health_check_interval_ms: 30_000,
            schedule_jitter_secs: scheduling.max_jitter.as_secs(),
            max_concurrent_snapshots: scheduling.global_limit,
            max_concurrent_snapshots_per_cluster: scheduling.per_cluster_limit,
        }
    }
}

impl Config {
    /// Reads the file (if any), then applies `env` (`SNAPKEEP_*` pairs).
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut table: toml::Table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                text.parse().with_context(|| format!("parsing {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix("SNAPKEEP_").map(|k| k.to_lowercase().replace('_', "-")) else {
                continue;
            };
            if KEYS.contains(&key.as_str()) {
                table.insert(key, env_value(&value));
            }
        }
        Config::deserialize(toml::Value::Table(table)).context("invalid configuration")
    }

    /// Where the catalog lives (`catalog-url`). Errors: a URL of another scheme (not echoed:
    /// it may hold a password).
    pub fn catalog(&self) -> anyhow::Result<CatalogLocation> {
        let Some(url) = self.catalog_url.as_deref() else {
            return Ok(CatalogLocation::Sqlite(self.data_dir.join("snapkeep.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(CatalogLocation::Postgres(url.to_owned()));
        }
        match url.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => Ok(CatalogLocation::Sqlite(PathBuf::from(path))),
            _ => anyhow::bail!("catalog-url must be sqlite://<path> or postgres://…"),
        }
    }

    pub fn storage_root(&self) -> PathBuf {
        self.storage_root.clone().unwrap_or_else(|| self.data_dir.join("repositories"))
    }

    pub fn restore_root(&self) -> PathBuf {
        self.restore_root.clone().unwrap_or_else(|| self.data_dir.join("restores"))
    }

    /// The PostgreSQL binaries restored clusters run with, and the user they run as.
    pub fn postgres_binaries(&self) -> ServerBinaries {
        let bin_dir = self.postgres_bin_dir.clone().unwrap_or_else(default_postgres_bin_dir);
        let run_as = self.postgres_run_as.clone().or_else(|| running_as_root().then(|| "postgres".to_owned()));
        ServerBinaries { bin_dir, run_as }
    }

    /// How PostgreSQL backups are compressed; refused outside the server's accepted ranges.
    pub fn postgres_tuning(&self) -> anyhow::Result<Tuning> {
        let (level, workers) = (self.postgres_compression_level, self.postgres_compression_workers);
        anyhow::ensure!((1..=22).contains(&level), "postgres-compression-level must be 1 to 22, not {level}");
        anyhow::ensure!(workers <= 64, "postgres-compression-workers must be 0 to 64, not {workers}");
        Ok(Tuning { level, compression_workers: workers, ..Tuning::default() })
    }

    pub fn timeouts(&self) -> OperationTimeouts {
        OperationTimeouts {
            create: Duration::from_secs(self.create_timeout_secs),
            delete: Duration::from_secs(self.delete_timeout_secs),
            restore: Duration::from_secs(self.restore_timeout_secs),
            stuck_after: Duration::from_secs(self.stuck_after_secs),
            poll_every: Duration::from_millis(self.poll_interval_ms),
        }
    }

    pub fn scheduling(&self) -> Scheduling {
        Scheduling {
            max_jitter: Duration::from_secs(self.schedule_jitter_secs),
            global_limit: self.max_concurrent_snapshots.max(1),
            per_cluster_limit: self.max_concurrent_snapshots_per_cluster.max(1),
            ..Scheduling::default()
        }
    }

    /// The allowed skew of signed requests; refused outside `MAX_SKEW_RANGE`.
    pub fn signature_max_skew(&self) -> anyhow::Result<chrono::Duration> {
        let skew = chrono::Duration::seconds(i64::try_from(self.signature_max_skew_secs).unwrap_or(i64::MAX));
        let (min, max) = snapkeep_core::MAX_SKEW_RANGE;
        if skew < min || skew > max {
            anyhow::bail!("signature-max-skew-secs must be {} to {}", min.num_seconds(), max.num_seconds());
        }
        Ok(skew)
    }

    /// The reconciler's pools: (`workers`, `transfer-workers`), each 1 to 1024.
    pub fn pools(&self) -> anyhow::Result<(u32, u32)> {
        for (key, slots) in [("workers", self.workers), ("transfer-workers", self.transfer_workers)] {
            anyhow::ensure!((1..=1024).contains(&slots), "{key} must be 1 to 1024, not {slots}");
        }
        Ok((self.workers, self.transfer_workers))
    }

    /// How long a stop waits for work in flight: `shutdown-grace-secs`, 0 to 3600.
    pub fn shutdown_grace(&self) -> anyhow::Result<Duration> {
        let secs = self.shutdown_grace_secs;
        anyhow::ensure!(secs <= 3600, "shutdown-grace-secs must be 0 to 3600, not {secs}");
        Ok(Duration::from_secs(secs))
    }

    /// The address restored PostgreSQL servers listen on and are registered under
    /// (`restore-listen`): an address or host name clients reach, so not a wildcard.
    pub fn restore_listen(&self) -> anyhow::Result<String> {
        let address = self.restore_listen.trim();
        let wildcard = address.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified());
        anyhow::ensure!(
            !address.is_empty() && !wildcard,
            "restore-listen is the address restored servers are registered under, which clients connect to; \
             give this machine's address, not {address:?}"
        );
        Ok(address.to_owned())
    }

    /// How long a claimed operation stays leased: `lease-secs`, 5 to 3600.
    pub fn lease(&self) -> anyhow::Result<Duration> {
        let secs = self.lease_secs;
        anyhow::ensure!((5..=3600).contains(&secs), "lease-secs must be 5 to 3600, not {secs}");
        Ok(Duration::from_secs(secs))
    }

    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy { base: Duration::from_millis(self.retry_base_ms), max: Duration::from_millis(self.retry_max_ms) }
    }
}

/// An environment value as a TOML value: numbers and booleans typed, anything else a string.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(n) = raw.parse::<i64>() {
        return toml::Value::Integer(n);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}

/// `pg_config --bindir`, else the newest `/usr/lib/postgresql/<major>/bin`.
fn default_postgres_bin_dir() -> PathBuf {
    let from_pg_config =
        std::process::Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success());
    if let Some(output) = from_pg_config {
        return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .max();
    newest.map_or_else(
        || PathBuf::from("/usr/lib/postgresql/15/bin"),
        |major| PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")),
    )
}

/// Whether this process runs as root (uid 0), from `/proc/self/status`.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status.lines().any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_env_key_is_a_config_field() {
        for key in KEYS {
            let name = format!("SNAPKEEP_{}", key.to_uppercase().replace('-', "_"));
            // A value of the wrong type for some keys; what matters is that no key is unknown.
            if let Err(err) = Config::load(None, env(&[(&name, "1")])) {
                assert!(!format!("{err:#}").contains("unknown field"), "{key}: {err:#}");
            }
        }
    }

    #[test]
    fn every_config_field_is_an_env_key() {
        let table = toml::Table::try_from(Config::default()).unwrap();
        let mut fields: Vec<&str> = table.keys().map(String::as_str).collect();
        // Unset options are left out of the serialised default; add them back by name.
        fields.extend([
            "storage-root",
            "master-key",
            "master-key-file",
            "admin-token",
            "admin-token-file",
            "failpoint",
            "postgres-bin-dir",
            "postgres-run-as",
            "restore-root",
            "catalog-url",
        ]);
        fields.sort_unstable();
        fields.dedup();
        let mut keys = KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    fn environment_overrides_the_file_and_unrelated_variables_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snapkeep.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\nworkers = 2\nregion = \"file\"\n").unwrap();
        let config = Config::load(
            Some(&file),
            env(&[("SNAPKEEP_WORKERS", "5"), ("SNAPKEEP_UNRELATED", "x"), ("HOME", "/root")]),
        )
        .unwrap();
        assert_eq!((config.listen.as_str(), config.workers, config.region.as_str()), ("127.0.0.1:1", 5, "file"));
        assert_eq!(config.storage_root(), PathBuf::from("snapkeep-data/repositories"));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snapkeep.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        assert!(format!("{:#}", Config::load(Some(&file), env(&[])).unwrap_err()).contains("unknown field"));
    }

    #[test]
    fn postgres_compression_settings_are_checked() {
        let tuning = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap().postgres_tuning();
        let chosen =
            tuning(&[("SNAPKEEP_POSTGRES_COMPRESSION_LEVEL", "3"), ("SNAPKEEP_POSTGRES_COMPRESSION_WORKERS", "0")]);
        let chosen = chosen.unwrap();
        assert_eq!((chosen.level, chosen.compression_workers), (3, 0));
        for (key, value) in [("LEVEL", "0"), ("LEVEL", "23"), ("WORKERS", "65")] {
            let err = tuning(&[(&format!("SNAPKEEP_POSTGRES_COMPRESSION_{key}"), value)]).unwrap_err();
            assert!(err.to_string().contains(&format!("not {value}")), "{err}");
        }
    }

    /// Pools of no slots and unbounded stop deadlines are refused with the setting's name, not
    /// clamped or left to overflow at the stop.
    #[test]
    fn pools_and_the_shutdown_grace_are_checked() {
        let config = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap();
        assert_eq!(config(&[]).pools().unwrap(), (8, 2));
        assert_eq!(config(&[]).shutdown_grace().unwrap(), Duration::from_secs(30));
        for (key, value, name) in [
            ("SNAPKEEP_WORKERS", "0", "workers"),
            ("SNAPKEEP_TRANSFER_WORKERS", "0", "transfer-workers"),
            ("SNAPKEEP_TRANSFER_WORKERS", "5000", "transfer-workers"),
        ] {
            let err = config(&[(key, value)]).pools().unwrap_err().to_string();
            assert!(err.starts_with(name) && err.contains(&format!("not {value}")), "{err}");
        }
        let err = config(&[("SNAPKEEP_SHUTDOWN_GRACE_SECS", "9223372036854775807")]).shutdown_grace().unwrap_err();
        assert!(err.to_string().contains("shutdown-grace-secs must be 0 to 3600"), "{err}");
        assert_eq!(config(&[]).lease().unwrap(), Duration::from_secs(60));
        let err = config(&[("SNAPKEEP_LEASE_SECS", "1")]).lease().unwrap_err();
        assert!(err.to_string().contains("lease-secs must be 5 to 3600"), "{err}");
    }

    /// Restored servers are registered under `restore-listen`, so a wildcard address, which no
    /// client can connect to, is refused.
    #[test]
    fn the_restore_address_is_one_clients_reach() {
        let config = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap();
        assert_eq!(config(&[]).restore_listen().unwrap(), "127.0.0.1");
        let host = config(&[("SNAPKEEP_RESTORE_LISTEN", "db-restores.internal")]);
        assert_eq!(host.restore_listen().unwrap(), "db-restores.internal");
        for wildcard in ["0.0.0.0", "::", ""] {
            let err = config(&[("SNAPKEEP_RESTORE_LISTEN", wildcard)]).restore_listen().unwrap_err().to_string();
            assert!(err.contains("give this machine's address"), "{err}");
        }
    }

    /// The catalog is the data directory's SQLite file unless `catalog-url` names another; a URL
    /// of another scheme is refused without being echoed (it may hold a password).
    #[test]
    fn the_catalog_url_names_sqlite_or_postgres() {
        let config = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap();
        let default = config(&[("SNAPKEEP_DATA_DIR", "/var/lib/snapkeep")]).catalog().unwrap();
        assert_eq!(default, CatalogLocation::Sqlite(PathBuf::from("/var/lib/snapkeep/snapkeep.db")));
        let pg = "postgres://snapkeep:pw@db.internal:5432/catalog?sslmode=verify-full";
        assert_eq!(config(&[("SNAPKEEP_CATALOG_URL", pg)]).catalog().unwrap(), CatalogLocation::Postgres(pg.into()));
        let file = config(&[("SNAPKEEP_CATALOG_URL", "sqlite:///srv/catalog.db")]).catalog().unwrap();
        assert_eq!(file, CatalogLocation::Sqlite(PathBuf::from("/srv/catalog.db")));
        for bad in ["mysql://root:secret@h/db", "sqlite://", "catalog.db"] {
            let err = config(&[("SNAPKEEP_CATALOG_URL", bad)]).catalog().unwrap_err().to_string();
            assert!(err.contains("catalog-url must be") && !err.contains("secret"), "{err}");
        }
    }
}
