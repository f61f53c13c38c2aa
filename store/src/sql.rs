//! The catalog over SQL, one implementation for both servers it runs on: SQLite (one file under
//! the data directory, WAL mode; the embedded default) and PostgreSQL (shared by several
//! replicas). The statements are written once in the SQL both understand (`$n` parameters,
//! `ON CONFLICT` upserts); where the servers differ — how a write transaction takes its locks,
//! claiming rows another replica holds — `Server` says which form to use. The statements use only
//! what CockroachDB and YugabyteDB also serve: transactions, unique constraints, row locks
//! (`FOR UPDATE`, `FOR SHARE`, `SKIP LOCKED`); correctness never rests on an advisory lock.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use snapkeep_core::{
    Cluster, DueFire, EngineFlavor, EngineVersion, FireLimits, FireOutcome, HealthFacts, Lane, NextFire, Operation,
    OperationFilter, OperationKind, OperationPhase, Project, RestoreStatus, Scope, Snapshot, SnapshotChange,
    SnapshotConfig, SnapshotFilter, SnapshotKind, SnapshotLocation, SnapshotStatus, StorageProfile, Store, StoreError,
    TimeRange,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, AnyPool, Arguments, ConnectOptions, Connection, Executor, FromRow, Row, Transaction};

mod access;
mod fleet;
mod inline;
mod notify;
mod profiles;
mod view;

use inline::Param;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Bounds on every PostgreSQL session, so a replica that stalls inside a transaction (holding a
/// row lock every replica needs) is cut off instead of stopping the others.
const POSTGRES_SESSION: &str = "SET statement_timeout = '60s'; SET lock_timeout = '30s'; \
                                SET idle_in_transaction_session_timeout = '60s'";

/// How a read in a write transaction locks the rows it reads (on PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// Others may read and share it, not change or delete it.
    Share,
    /// Only this transaction may change it.
    Update,
    /// As `Update`, passing over rows another transaction holds (claims).
    SkipLocked,
}

/// Where the catalog lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogLocation {
    /// A SQLite file: one snapkeep process.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`, with libpq's `sslmode` options), shared by any
    /// number of replicas.
    Postgres(String),
}

/// Which server holds the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Sqlite,
    Postgres,
}

/// The catalog in a SQL database: SQLite or PostgreSQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    server: Server,
    view: Arc<view::CatalogView>,
    /// Reads on the caller's thread (SQLite only).
    inline: Option<Arc<inline::InlineReader>>,
}

/// A failed migration; a migration applied to the catalog that this build lacks means a newer
/// snapkeep wrote it, which this one must not run against.
fn migration_error(e: sqlx::migrate::MigrateError) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::VersionMissing(version) => StoreError::Backend(format!(
            "the catalog was migrated by a newer snapkeep (migration {version} is unknown to this build); \
             run that version or a later one"
        )),
        other => StoreError::Backend(format!("migrating the catalog: {other}")),
    }
}

/// Creates `path` as an empty file of mode `0600` when missing, and makes an existing catalog and
/// its `-wal`/`-shm` files `0600`.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path).map_err(failed)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
        }
    }
    Ok(())
}

impl SqlStore {
    /// Opens (or creates) the catalog at `path` and applies the migrations it lacks; a catalog
    /// that a newer snapkeep migrated is refused, naming the migration this build does not know.
    /// The file, and the WAL and shared-memory files SQLite makes beside it with the same mode,
    /// are readable by the owner only (`0600`): they hold sealed secrets, nonces and the audit log.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        owner_only(path)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        // WAL is a setting of the file: set once here, every pooled connection finds it.
        options.connect().await.map_err(backend)?.close().await.map_err(backend)?;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", path.display());
        let options = AnyConnectOptions::from_str(&url).map_err(backend)?;
        // A local file: no connection goes stale, so none is pinged before use (a round trip to its
        // worker thread for every statement).
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000").await.map(drop)
                })
            })
            .connect_with(options)
            .await
            .map_err(backend)?;
        SQLITE_MIGRATOR.run(&pool).await.map_err(migration_error)?;
        let inline = Some(inline::InlineReader::new(path.to_owned()));
        Ok(Self { pool, server: Server::Sqlite, view: Arc::new(view::CatalogView::new(false)), inline })
    }

    /// Connects to the catalog at `url` (`postgres://…`, with libpq's `sslmode` options) and
    /// applies the migrations it lacks, once however many replicas start together (the
    /// migrator holds PostgreSQL's advisory lock while it works; the migrations themselves are
    /// idempotent under it). A catalog a newer snapkeep migrated is refused.
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url).map_err(backend)?;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| Box::pin(async move { conn.execute(POSTGRES_SESSION).await.map(drop) }))
            .connect_with(options)
            .await
            .map_err(backend)?;
        POSTGRES_MIGRATOR.run(&pool).await.map_err(migration_error)?;
        Ok(Self { pool, server: Server::Postgres, view: Arc::new(view::CatalogView::new(true)), inline: None })
    }

    /// The catalog at `location`, opened or connected and migrated to this build.
    pub async fn open(location: &CatalogLocation) -> Result<Self, StoreError> {
        match location {
            CatalogLocation::Sqlite(path) => Self::open_sqlite(path).await,
            CatalogLocation::Postgres(url) => Self::connect_postgres(url).await,
        }
    }

    /// Whether several replicas may share this catalog (it is on PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.server, Server::Postgres)
    }

    /// A write transaction. On SQLite, `BEGIN IMMEDIATE` takes the write lock at once, waiting
    /// for it under the busy timeout (a deferred transaction that reads and then writes would
    /// fail with "database is locked" whenever another connection writes). On PostgreSQL a plain
    /// transaction, whose reads lock the rows the write depends on (`lock`).
    async fn write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.server {
            Server::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Server::Postgres => self.pool.begin().await,
        }
    }

    /// What a read in a write transaction appends to lock the rows it reads until the commit:
    /// nothing on SQLite (`BEGIN IMMEDIATE` holds the whole file), `lock`'s clause on PostgreSQL.
    fn lock(&self, lock: Lock) -> &'static str {
        match (self.server, lock) {
            (Server::Sqlite, _) => "",
            (Server::Postgres, Lock::Share) => " FOR SHARE",
            (Server::Postgres, Lock::Update) => " FOR UPDATE",
            (Server::Postgres, Lock::SkipLocked) => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The catalog server's clock, in milliseconds since the epoch (read in `tx`; SQLite's is
    /// this machine's).
    async fn server_clock_ms(&self, tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
        let read = match self.server {
            Server::Sqlite => "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Server::Postgres => "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        };
        sqlx::query_scalar(read).fetch_one(&mut **tx).await.map_err(backend)
    }

    /// Locks row `id` of `table` (a table keyed by `id`) until the commit; whether it exists.
    async fn lock_row(
        &self,
        tx: &mut Transaction<'_, Any>,
        (table, id): (&str, &str),
        lock: Lock,
    ) -> Result<bool, StoreError> {
        let read = format!("SELECT id FROM {table} WHERE id = $1{}", self.lock(lock));
        let found: Option<String> =
            sqlx::query_scalar(&read).bind(id).fetch_optional(&mut **tx).await.map_err(backend)?;
        Ok(found.is_some())
    }

    /// Checks, locking the row until the commit, that `owner` still holds operation `id`'s
    /// lease; `LeaseLost` when another replica took it over (or it ended meanwhile).
    async fn hold_lease(&self, tx: &mut Transaction<'_, Any>, id: &str, owner: &str) -> Result<(), StoreError> {
        let read = format!("SELECT lease_owner FROM operations WHERE id = $1{}", self.lock(Lock::Update));
        let holder: Option<Option<String>> =
            sqlx::query_scalar(&read).bind(id).fetch_optional(&mut **tx).await.map_err(backend)?;
        match holder {
            Some(Some(holder)) if holder == owner => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    /// Holds cluster `id` until the commit: shared by writes that add to it, exclusive for its
    /// deletion, so a cluster is never deleted under a snapshot or operation being added
    /// (SQLite's write lock already orders them). `NotFound` when it is gone.
    async fn lock_cluster(&self, tx: &mut Transaction<'_, Any>, id: &str, exclusive: bool) -> Result<(), StoreError> {
        let lock = if exclusive { Lock::Update } else { Lock::Share };
        if self.lock_row(tx, ("clusters", id), lock).await? { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// The rows `sql` answers with `params` bound, each read by column name into a `T`; `steps`
    /// is the most rows it steps through, when known. On SQLite a short read is made without a
    /// hop to sqlx's worker thread ([`inline`]).
    async fn rows<T>(&self, sql: String, params: Vec<Param>, steps: Option<u32>) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + for<'r> FromRow<'r, AnyRow> + Send + Unpin + 'static,
    {
        if let Some(reader) = &self.inline {
            return reader.rows(sql, params, steps).await;
        }
        sqlx::query_as_with(&sql, arguments(params)?).fetch_all(&self.pool).await.map_err(backend)
    }

    /// Commits a transaction that wrote snapshots, then drops the kept listing pages (also when
    /// the commit failed: whether it took effect is then unknown).
    async fn commit_snapshots(&self, tx: Transaction<'_, Any>) -> Result<(), StoreError> {
        let committed = tx.commit().await.map_err(backend);
        self.view.forget_pages();
        committed
    }

    /// A page of [`Store::snapshots_page`], read from the catalog.
    async fn read_snapshot_page(
        &self,
        scope: Scope<'_>,
        filter: &SnapshotFilter,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Snapshot>, StoreError> {
        let (within, key) = scoped(scope, "project_id = $1");
        let filters = "($7 IS NULL OR kind = $7) AND ($8 IS NULL OR status = $8)";
        let read = page_sql(SNAPSHOT_COLUMNS, "snapshots", within, filters);
        let mut params = page_params(key, after, limit, filter.created);
        params.push(Param::Text(filter.kind.map(|k| k.as_str().to_owned())));
        params.push(Param::Text(filter.status.map(|s| s.as_str().to_owned())));
        // A kind or status filter is checked row by row: how many rows it passes over is unknown.
        let steps = (filter.kind.is_none() && filter.status.is_none()).then_some(limit);
        let rows: Vec<SnapshotRow> = self.rows(read, params, steps).await?;
        rows.into_iter().map(Snapshot::try_from).collect()
    }

    /// The row `sql` selects by one key, mapped.
    async fn one<T>(
        &self,
        sql: &str,
        key: &str,
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = sqlx::query(sql).bind(key).fetch_optional(&self.pool).await.map_err(backend)?;
        row.as_ref().map(map).transpose()
    }

    /// The rows `sql` selects with `keys` bound in order, mapped.
    async fn all<T>(
        &self,
        sql: &str,
        keys: &[Option<&str>],
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = sqlx::query(sql);
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(map).collect()
    }

    /// Entry `name` of the view's `table`, or what `read` finds in the catalog (kept in the view
    /// when found).
    async fn viewed<T: Clone, F, const MAX: usize>(
        &self,
        table: fn(&view::CatalogView) -> &view::Table<T, MAX>,
        name: &str,
        read: F,
    ) -> Result<Option<T>, StoreError>
    where
        F: std::future::Future<Output = Result<Option<T>, StoreError>>,
    {
        if let Some(value) = self.view.get(table(&self.view), name) {
            return Ok(Some(value));
        }
        let generation = self.view.generation();
        let found = read.await?;
        if let Some(value) = &found {
            self.view.put(table(&self.view), name, value.clone(), generation);
        }
        Ok(found)
    }

    /// The clusters of one project (or all), by creation time, then id (compared as bytes, as
    /// Rust orders strings, whatever the database's collation): kept in the view and shared, so
    /// that a page of a long list is found by a binary search, not copied from a whole list.
    async fn cluster_list(&self, project_id: Option<&str>) -> Result<Arc<[Cluster]>, StoreError> {
        let read = async {
            let read = "SELECT * FROM clusters WHERE $1 IS NULL OR project_id = $1";
            let mut clusters = self.all(read, &[project_id], cluster_from).await?;
            clusters.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(Some(Arc::from(clusters)))
        };
        Ok(self.viewed(|v| &v.cluster_lists, project_id.unwrap_or_default(), read).await?.unwrap_or_default())
    }

    /// Closes the connections, finishing the write-ahead log.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps a uniqueness violation to `Conflict(rule)`.
fn write_error(rule: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(rule),
        _ => backend(e),
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn project_from(row: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        created_at: time(row.try_get("created_at").map_err(backend)?),
    })
}

fn cluster_from(row: &AnyRow) -> Result<Cluster, StoreError> {
    let flavor: String = row.try_get("flavor").map_err(backend)?;
    let version: String = row.try_get("version").map_err(backend)?;
    Ok(Cluster {
        id: row.try_get("id").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        endpoint: row.try_get("endpoint").map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        password_encrypted: row.try_get("password_encrypted").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        flavor: EngineFlavor::parse(&flavor).ok_or_else(|| corrupt("engine flavor", &flavor))?,
        version: EngineVersion::parse(&version).ok_or_else(|| corrupt("engine version", &version))?,
        created_at: time(row.try_get("created_at").map_err(backend)?),
    })
}

/// A row of `snapshots` as the catalog holds it, read by column name (by sqlx, or by
/// `serde_rusqlite` in an [`inline`] read).
#[derive(sqlx::FromRow, serde::Deserialize)]
struct SnapshotRow {
    id: String,
    project_id: String,
    cluster_id: String,
    name: String,
    description: String,
    requested_indices: String,
    /// A JSON array of index names.
    indices: String,
    kind: String,
    status: String,
    repository: String,
    engine_version: Option<String>,
    total_shards: Option<i64>,
    failed_shards: Option<i64>,
    start_time_ms: Option<i64>,
    end_time_ms: Option<i64>,
    failure_reason: Option<String>,
    /// `0` or `1`.
    deleting: i64,
    restore_status: String,
    operation_failure: Option<String>,
    /// Milliseconds since the epoch, as every time in the catalog.
    created_at: i64,
    updated_at: i64,
    scheduled_for: Option<i64>,
    size_bytes: Option<i64>,
    /// A JSON [`SnapshotLocation`].
    location: Option<String>,
    project_unique_name: Option<String>,
}

impl TryFrom<SnapshotRow> for Snapshot {
    type Error = StoreError;

    fn try_from(row: SnapshotRow) -> Result<Self, StoreError> {
        let shards = |n: Option<i64>| n.map(|n| n as u32);
        Ok(Snapshot {
            indices: serde_json::from_str(&row.indices).map_err(|_| corrupt("index list", &row.indices))?,
            kind: SnapshotKind::parse(&row.kind).ok_or_else(|| corrupt("snapshot kind", &row.kind))?,
            status: SnapshotStatus::parse(&row.status).ok_or_else(|| corrupt("snapshot status", &row.status))?,
            restore_status: RestoreStatus::parse(&row.restore_status)
                .ok_or_else(|| corrupt("restore status", &row.restore_status))?,
            location: match &row.location {
                Some(text) => Some(serde_json::from_str(text).map_err(|_| corrupt("snapshot location", text))?),
                None => None,
            },
            id: row.id,
            project_id: row.project_id,
            cluster_id: row.cluster_id,
            name: row.name,
            description: row.description,
            requested_indices: row.requested_indices,
            repository: row.repository,
            engine_version: row.engine_version,
            total_shards: shards(row.total_shards),
            failed_shards: shards(row.failed_shards),
            start_time_ms: row.start_time_ms,
            end_time_ms: row.end_time_ms,
            failure_reason: row.failure_reason,
            deleting: row.deleting != 0,
            operation_failure: row.operation_failure,
            created_at: time(row.created_at),
            updated_at: time(row.updated_at),
            scheduled_for: row.scheduled_for.map(time),
            size_bytes: row.size_bytes.map(|b| b as u64),
            project_unique_name: row.project_unique_name,
        })
    }
}

fn snapshot_from(row: &AnyRow) -> Result<Snapshot, StoreError> {
    SnapshotRow::from_row(row).map_err(backend)?.try_into()
}

fn operation_from(row: &AnyRow) -> Result<Operation, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    let phase: String = row.try_get("phase").map_err(backend)?;
    let lane: String = row.try_get("lane").map_err(backend)?;
    let restore: Option<String> = row.try_get("restore_params").map_err(backend)?;
    Ok(Operation {
        id: row.try_get("id").map_err(backend)?,
        kind: OperationKind::parse(&kind).ok_or_else(|| corrupt("operation kind", &kind))?,
        snapshot_id: row.try_get("snapshot_id").map_err(backend)?,
        cluster_id: row.try_get("cluster_id").map_err(backend)?,
        lane: Lane::parse(&lane).ok_or_else(|| corrupt("operation lane", &lane))?,
        phase: OperationPhase::parse(&phase).ok_or_else(|| corrupt("operation phase", &phase))?,
        restore: restore
            .map(|r| serde_json::from_str(&r).map_err(|_| corrupt("restore parameters", &r)))
            .transpose()?,
        attempts: row.try_get::<i64, _>("attempts").map_err(backend)? as u32,
        next_run_at: time(row.try_get("next_run_at").map_err(backend)?),
        deadline: time(row.try_get("deadline").map_err(backend)?),
        progress_marker: row.try_get("progress_marker").map_err(backend)?,
        progress_at: time(row.try_get("progress_at").map_err(backend)?),
        last_error: row.try_get("last_error").map_err(backend)?,
        created_at: time(row.try_get("created_at").map_err(backend)?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at").map_err(backend)?.map(time),
        batch: match row.try_get::<Option<String>, _>("batch").map_err(backend)? {
            Some(ids) => serde_json::from_str(&ids).map_err(|_| corrupt("batch", &ids))?,
            None => Vec::new(),
        },
    })
}

const SNAPSHOT_COLUMNS: &str = "id, project_id, cluster_id, name, description, requested_indices, indices, kind, status, repository, engine_version, total_shards, failed_shards, start_time_ms, end_time_ms, failure_reason, deleting, restore_status, created_at, updated_at, scheduled_for, size_bytes, location, operation_failure, project_unique_name";
/// Inserts a snapshot or rewrites it by id; never replaces another row (names stay unique).
static SNAPSHOT_UPSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let updates: Vec<String> = SNAPSHOT_COLUMNS.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO snapshots ({SNAPSHOT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25) ON CONFLICT(id) DO UPDATE SET {}",
        updates.join(", ")
    )
});
const OPERATION_COLUMNS: &str = "id, kind, snapshot_id, cluster_id, phase, restore_params, attempts, next_run_at, deadline, progress_marker, progress_at, last_error, created_at, finished_at, batch, lane";

/// Writes what an operation's step changed in its snapshot. A snapshot removed meanwhile (a delete
/// that finished while a create or restore step ran) is never brought back, and only a delete's
/// own step decides whether the snapshot is being deleted.
async fn write_step_snapshot(
    tx: &mut Transaction<'_, Any>,
    (operation, lock): (&Operation, &str),
    s: &Snapshot,
) -> Result<(), StoreError> {
    let read = format!("SELECT deleting FROM snapshots WHERE id = $1{lock}");
    let stored: Option<i64> = sqlx::query_scalar(&read).bind(&s.id).fetch_optional(&mut **tx).await.map_err(backend)?;
    let Some(stored_deleting) = stored else { return Ok(()) };
    let deleting = if operation.kind == OperationKind::DeleteSnapshot { s.deleting } else { stored_deleting != 0 };
    write_snapshot(tx, &Snapshot { deleting, ..s.clone() }).await
}

/// The snapshot idempotency `token` made at or after `not_before`.
async fn made_by(
    conn: &mut sqlx::AnyConnection,
    token: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let earlier: Option<(String, i64)> =
        sqlx::query_as("SELECT snapshot_id, created_at FROM client_tokens WHERE key = $1")
            .bind(token)
            .fetch_optional(conn)
            .await
            .map_err(backend)?;
    Ok(earlier.filter(|(_, at)| *at >= ms(not_before)).map(|(snapshot_id, _)| snapshot_id))
}

async fn write_snapshot(tx: &mut Transaction<'_, Any>, s: &Snapshot) -> Result<(), StoreError> {
    sqlx::query(&SNAPSHOT_UPSERT)
        .bind(&s.id)
        .bind(&s.project_id)
        .bind(&s.cluster_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.requested_indices)
        .bind(serde_json::to_string(&s.indices).expect("strings serialize"))
        .bind(s.kind.as_str())
        .bind(s.status.as_str())
        .bind(&s.repository)
        .bind(&s.engine_version)
        .bind(s.total_shards.map(i64::from))
        .bind(s.failed_shards.map(i64::from))
        .bind(s.start_time_ms)
        .bind(s.end_time_ms)
        .bind(&s.failure_reason)
        .bind(i64::from(s.deleting))
        .bind(s.restore_status.as_str())
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .bind(s.scheduled_for.map(ms))
        .bind(s.size_bytes.map(|b| b as i64))
        .bind(s.location.as_ref().map(|l| serde_json::to_string(l).expect("locations serialize")))
        .bind(&s.operation_failure)
        .bind(&s.project_unique_name)
        .execute(&mut **tx)
        .await
        .map_err(write_error("snapshot name per cluster or project"))?;
    Ok(())
}

/// Inserts or fully rewrites an operation row, clearing its lease unless `keep_lease`.
async fn write_operation(tx: &mut Transaction<'_, Any>, op: &Operation, keep_lease: bool) -> Result<(), StoreError> {
    let lease = if keep_lease {
        "lease_owner = operations.lease_owner, lease_until = operations.lease_until"
    } else {
        "lease_owner = NULL, lease_until = NULL"
    };
    let updates: Vec<String> = OPERATION_COLUMNS.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
    sqlx::query(&format!(
        "INSERT INTO operations ({OPERATION_COLUMNS}, lease_owner, lease_until)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, NULL, NULL)
         ON CONFLICT(id) DO UPDATE SET {}, {lease}",
        updates.join(", ")
    ))
    .bind(&op.id)
    .bind(op.kind.as_str())
    .bind(&op.snapshot_id)
    .bind(&op.cluster_id)
    .bind(op.phase.as_str())
    .bind(op.restore.as_ref().map(|r| serde_json::to_string(r).expect("params serialize")))
    .bind(i64::from(op.attempts))
    .bind(ms(op.next_run_at))
    .bind(ms(op.deadline))
    .bind(&op.progress_marker)
    .bind(ms(op.progress_at))
    .bind(&op.last_error)
    .bind(ms(op.created_at))
    .bind(op.finished_at.map(ms))
    .bind((!op.batch.is_empty()).then(|| serde_json::to_string(&op.batch).expect("ids serialize")))
    .bind(op.lane.as_str())
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

const OPEN: &str = "phase IN ('pending', 'submitted')";

/// A keyset page of `table`'s `columns`, newest first, then by id: the rows `within` keeps
/// (on the key bound as `$1`) after the cursor (`$2` created at, `$3` id), at most `$4`,
/// created in the window `$5` (inclusive) to `$6` (exclusive), that `filters` lets through (on
/// parameters from `$7`). [`page_params`] are `$1` to `$6`. The cursor and the window are
/// bounds on `created_at` whatever is bound (`COALESCE` to the widest), so the index on
/// `(…, created_at DESC, id)` starts each page at its cursor: a page costs its own rows, not
/// every row before it.
fn page_sql(columns: &str, table: &str, within: &str, filters: &str) -> String {
    const NEWEST: &str = "9223372036854775807";
    const OLDEST: &str = "-9223372036854775808";
    format!(
        "SELECT {columns} FROM {table} WHERE {within} AND {filters}
           AND created_at <= COALESCE($2, {NEWEST})
           AND (created_at < COALESCE($2, {NEWEST}) OR id > COALESCE($3, ''))
           AND created_at >= COALESCE($5, {OLDEST}) AND created_at < COALESCE($6, {NEWEST})
         ORDER BY created_at DESC, id LIMIT $4"
    )
}

/// A [`page_sql`] read's `$1` to `$6`.
fn page_params(key: Option<&str>, after: Option<(DateTime<Utc>, &str)>, limit: u32, created: TimeRange) -> Vec<Param> {
    vec![
        Param::Text(key.map(str::to_owned)),
        Param::Int(after.map(|(at, _)| ms(at))),
        Param::Text(after.map(|(_, id)| id.to_owned())),
        Param::Int(Some(i64::from(limit))),
        Param::Int(created.from.map(ms)),
        Param::Int(created.before.map(ms)),
    ]
}

/// `params` as the arguments of a statement's `$1`, `$2`, …
fn arguments(params: Vec<Param>) -> Result<sqlx::any::AnyArguments<'static>, StoreError> {
    let mut arguments = sqlx::any::AnyArguments::default();
    for param in params {
        match param {
            Param::Text(value) => arguments.add(value),
            Param::Int(value) => arguments.add(value),
        }
        .map_err(|e| StoreError::Backend(format!("binding a parameter: {e}")))?;
    }
    Ok(arguments)
}

/// The condition that keeps a listing's rows to `scope`, on the key bound as `$1`:
/// `cluster_id = $1`, `in_project` (a condition on the project id `$1`), or every row.
fn scoped<'a>(scope: Scope<'a>, in_project: &'static str) -> (&'static str, Option<&'a str>) {
    match scope {
        Scope::Cluster(id) => ("cluster_id = $1", Some(id)),
        Scope::Project(id) => (in_project, Some(id)),
        Scope::Fleet => ("$1 IS NULL", None),
    }
}

/// Whether another create may start: fewer than `limits` are open, in all and on `cluster_id`.
async fn has_room(tx: &mut Transaction<'_, Any>, cluster_id: &str, limits: FireLimits) -> Result<bool, StoreError> {
    let (all, here): (i64, i64) = sqlx::query_as(&format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN cluster_id = $1 THEN 1 ELSE 0 END), 0)
         FROM operations WHERE kind = 'create_snapshot' AND {OPEN}"
    ))
    .bind(cluster_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(all < i64::from(limits.global) && here < i64::from(limits.per_cluster))
}

/// Version of the JSON in `snapshot_configs.config`.
const CONFIG_VERSION: u64 = 1;

fn config_json(config: &SnapshotConfig) -> String {
    let mut value = serde_json::to_value(config).expect("config serializes");
    value["version"] = CONFIG_VERSION.into();
    value.to_string()
}

fn config_from(text: &str) -> Result<SnapshotConfig, StoreError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| corrupt("snapshot config", text))?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(CONFIG_VERSION) => serde_json::from_value(value).map_err(|_| corrupt("snapshot config", text)),
        other => Err(StoreError::Corrupt(format!("snapshot config version {other:?} is not {CONFIG_VERSION}"))),
    }
}

/// `$1, $2, …` for `n` bound values.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

async fn remove_or_release(
    tx: &mut Transaction<'_, Any>,
    op: &Operation,
    change: &SnapshotChange,
) -> Result<(), StoreError> {
    let ids: Vec<&String> = if op.batch.is_empty() { vec![&op.snapshot_id] } else { op.batch.iter().collect() };
    let statement = match change {
        SnapshotChange::Remove => "DELETE FROM snapshots WHERE id IN",
        _ => "UPDATE snapshots SET deleting = 0 WHERE id IN",
    };
    let sql = format!("{statement} ({})", placeholders(ids.len()));
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    async fn insert_project(&self, p: &Project) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(ms(p.created_at))
            .execute(&self.pool)
            .await
            .map_err(write_error("project name"))?;
        Ok(())
    }

    async fn get_project(&self, id: &str) -> Result<Option<Project>, StoreError> {
        self.one("SELECT * FROM projects WHERE id = $1", id, project_from).await
    }

    async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.all("SELECT * FROM projects ORDER BY created_at, id", &[], project_from).await
    }

    async fn delete_project(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let clusters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clusters WHERE project_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if clusters > 0 {
            return Err(StoreError::Conflict("project has clusters"));
        }
        sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        self.view.invalidate();
        Ok(())
    }

    async fn insert_cluster(&self, c: &Cluster) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO clusters (id, project_id, name, endpoint, username, password_encrypted, region, flavor, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&c.id).bind(&c.project_id).bind(&c.name).bind(&c.endpoint).bind(&c.username).bind(&c.password_encrypted)
            .bind(&c.region).bind(c.flavor.as_str()).bind(c.version.to_string()).bind(ms(c.created_at))
            .execute(&self.pool).await.map_err(write_error("cluster id"))?;
        self.view.invalidate();
        Ok(())
    }

    async fn get_cluster(&self, id: &str) -> Result<Option<Cluster>, StoreError> {
        self.viewed(|v| &v.clusters, id, self.one("SELECT * FROM clusters WHERE id = $1", id, cluster_from)).await
    }

    async fn list_clusters(&self, project_id: Option<&str>) -> Result<Vec<Cluster>, StoreError> {
        Ok(self.cluster_list(project_id).await?.to_vec())
    }

    async fn clusters_page(
        &self,
        project_id: Option<&str>,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Cluster>, StoreError> {
        let all = self.cluster_list(project_id).await?;
        let start = after.map_or(0, |after| all.partition_point(|c| (c.created_at, c.id.as_str()) <= after));
        Ok(all[start..].iter().take(limit as usize).cloned().collect())
    }

    async fn delete_cluster(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.lock_cluster(&mut tx, id, true).await?;
        let open: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM operations WHERE {OPEN} AND (cluster_id = $1 OR snapshot_id IN (SELECT id FROM snapshots WHERE cluster_id = $1))"))
            .bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        if open > 0 {
            return Err(StoreError::Conflict("cluster has open operations"));
        }
        sqlx::query("DELETE FROM snapshots WHERE cluster_id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
        sqlx::query("DELETE FROM clusters WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        self.view.invalidate();
        Ok(())
    }

    async fn get_snapshot(&self, id: &str) -> Result<Option<Snapshot>, StoreError> {
        self.one("SELECT * FROM snapshots WHERE id = $1", id, snapshot_from).await
    }

    async fn list_snapshots(&self, cluster_id: &str) -> Result<Vec<Snapshot>, StoreError> {
        self.all(
            "SELECT * FROM snapshots WHERE cluster_id = $1 ORDER BY created_at DESC, id",
            &[Some(cluster_id)],
            snapshot_from,
        )
        .await
    }

    async fn snapshots_page(
        &self,
        scope: Scope<'_>,
        filter: &SnapshotFilter,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Arc<[Snapshot]>, StoreError> {
        let name = match scope {
            Scope::Cluster(id) if after.is_none() && *filter == SnapshotFilter::default() => format!("{id}/{limit}"),
            _ => return Ok(self.read_snapshot_page(scope, filter, after, limit).await?.into()),
        };
        if let Some(page) = self.view.get(&self.view.first_pages, &name) {
            return Ok(page);
        }
        let generation = self.view.generation();
        let page: Arc<[Snapshot]> = self.read_snapshot_page(scope, filter, after, limit).await?.into();
        if self.view.exact() && page.len() <= view::MAX_PAGE_ROWS {
            self.view.put(&self.view.first_pages, &name, Arc::clone(&page), generation);
        }
        Ok(page)
    }

    async fn operations_page(
        &self,
        scope: Scope<'_>,
        filter: &OperationFilter,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError> {
        let (within, key) = scoped(scope, "cluster_id IN (SELECT id FROM clusters WHERE project_id = $1)");
        let phases = filter.state.map(|state| state.phases().iter().map(|p| format!("'{}'", p.as_str())));
        let phases =
            phases.map_or_else(|| "TRUE".to_owned(), |p| format!("phase IN ({})", p.collect::<Vec<_>>().join(", ")));
        let read =
            page_sql(OPERATION_COLUMNS, "operations", within, &format!("{phases} AND ($7 IS NULL OR kind = $7)"));
        let mut params = page_params(key, after, limit, filter.created);
        params.push(Param::Text(filter.kind.map(|k| k.as_str().to_owned())));
        let rows = sqlx::query_with(&read, arguments(params)?).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(operation_from).collect()
    }

    async fn snapshot_locations(&self, scope: Scope<'_>) -> Result<HashMap<String, Vec<SnapshotLocation>>, StoreError> {
        self.scoped_locations(scope).await
    }

    async fn insert_snapshot_with_operation(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.lock_cluster(&mut tx, &snapshot.cluster_id, false).await?;
        write_snapshot(&mut tx, snapshot).await?;
        write_operation(&mut tx, operation, false).await?;
        self.commit_snapshots(tx).await
    }

    async fn insert_snapshot_once(
        &self,
        snapshot: &Snapshot,
        operation: &Operation,
        token: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.lock_cluster(&mut tx, &snapshot.cluster_id, false).await?;
        // The token's row is taken first: of two requests racing with one token, the second
        // finds it (once the first commits, on PostgreSQL) and answers with its snapshot.
        let taken = sqlx::query(
            "INSERT INTO client_tokens (key, snapshot_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT(key) DO UPDATE SET snapshot_id = excluded.snapshot_id, created_at = excluded.created_at
             WHERE client_tokens.created_at < $4",
        )
        .bind(token)
        .bind(&snapshot.id)
        .bind(ms(snapshot.created_at))
        .bind(ms(not_before))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if taken.rows_affected() == 0 {
            return made_by(&mut tx, token, not_before).await;
        }
        write_snapshot(&mut tx, snapshot).await?;
        write_operation(&mut tx, operation, false).await?;
        self.commit_snapshots(tx).await?;
        Ok(None)
    }

    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE operations SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn snapshot_made_by(&self, token: &str, not_before: DateTime<Utc>) -> Result<Option<String>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        made_by(&mut conn, token, not_before).await
    }

    async fn insert_operation_for(
        &self,
        snapshot: &Snapshot,
        expected_updated_at: DateTime<Utc>,
        operation: &Operation,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.lock_cluster(&mut tx, &snapshot.cluster_id, false).await?;
        if operation.cluster_id != snapshot.cluster_id {
            self.lock_cluster(&mut tx, &operation.cluster_id, false).await?;
        }
        let read = format!("SELECT updated_at FROM snapshots WHERE id = $1{}", self.lock(Lock::Update));
        let current: Option<i64> =
            sqlx::query_scalar(&read).bind(&snapshot.id).fetch_optional(&mut *tx).await.map_err(backend)?;
        match current {
            None => return Err(StoreError::NotFound),
            Some(at) if at != ms(expected_updated_at) => {
                return Err(StoreError::Conflict("snapshot changed meanwhile"));
            }
            Some(_) => {}
        }
        write_snapshot(&mut tx, snapshot).await?;
        write_operation(&mut tx, operation, false).await?;
        self.commit_snapshots(tx).await
    }

    async fn claim_due_operations(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError> {
        let rows = sqlx::query(&format!(
            "UPDATE operations SET lease_owner = $1, lease_until = $2 WHERE id IN (
                 SELECT id FROM operations WHERE lane = $5 AND {OPEN} AND next_run_at <= $3
                 AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY next_run_at, created_at LIMIT $4{})
             RETURNING {OPERATION_COLUMNS}",
            self.lock(Lock::SkipLocked)
        ))
        .bind(owner)
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(i64::from(limit))
        .bind(lane.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut ops: Vec<Operation> = rows.iter().map(operation_from).collect::<Result<_, _>>()?;
        ops.sort_by_key(|op| (op.next_run_at, op.created_at));
        Ok(ops)
    }

    async fn open_operations(&self, cluster_id: Option<&str>) -> Result<Vec<Operation>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE {OPEN} AND ($1 IS NULL OR cluster_id = $1) ORDER BY created_at"))
            .bind(cluster_id).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(operation_from).collect()
    }

    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError> {
        let row = sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(operation_from).transpose()
    }

    async fn last_failed_operation(&self, cluster_id: &str) -> Result<Option<Operation>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE cluster_id = $1 AND phase = 'failed'
             ORDER BY finished_at DESC LIMIT 1"
        ))
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(operation_from).transpose()
    }

    async fn get_snapshots(&self, ids: &[String]) -> Result<Vec<Snapshot>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT * FROM snapshots WHERE id IN ({})", placeholders(chunk.len()));
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await.map_err(backend)? {
                out.push(snapshot_from(&row)?);
            }
        }
        Ok(out)
    }

    async fn get_snapshot_config(&self, cluster_id: &str) -> Result<Option<SnapshotConfig>, StoreError> {
        let read = async {
            let text: Option<String> = sqlx::query_scalar("SELECT config FROM snapshot_configs WHERE cluster_id = $1")
                .bind(cluster_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            Ok(Some(text.as_deref().map(config_from).transpose()?))
        };
        Ok(self.viewed(|v| &v.configs, cluster_id, read).await?.flatten())
    }

    async fn snapshot_configs(&self, scope: Scope<'_>) -> Result<HashMap<String, SnapshotConfig>, StoreError> {
        self.scoped_configs(scope).await
    }

    async fn put_snapshot_config(
        &self,
        cluster_id: &str,
        config: &SnapshotConfig,
        next: Option<NextFire>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshot_configs (cluster_id, config, keepday, next_slot, next_fire_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT(cluster_id) DO UPDATE SET config = excluded.config, keepday = excluded.keepday,
                 next_slot = excluded.next_slot, next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at",
        )
        .bind(cluster_id)
        .bind(config_json(config))
        .bind(i64::from(config.policy.keepday))
        .bind(next.map(|n| ms(n.slot)))
        .bind(next.map(|n| ms(n.fire_at)))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        self.view.invalidate();
        Ok(())
    }

    async fn due_fires(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueFire>, StoreError> {
        let rows = sqlx::query(
            "SELECT cluster_id, config, next_slot, next_fire_at FROM snapshot_configs
             WHERE next_fire_at IS NOT NULL AND next_fire_at <= $1 ORDER BY next_fire_at, cluster_id LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let config: String = row.try_get("config").map_err(backend)?;
                Ok(DueFire {
                    cluster_id: row.try_get("cluster_id").map_err(backend)?,
                    config: config_from(&config)?,
                    next: NextFire {
                        slot: time(row.try_get("next_slot").map_err(backend)?),
                        fire_at: time(row.try_get("next_fire_at").map_err(backend)?),
                    },
                })
            })
            .collect()
    }

    async fn record_fire(
        &self,
        fire: &DueFire,
        snapshot: &Snapshot,
        operation: &Operation,
        next: NextFire,
        limits: FireLimits,
    ) -> Result<FireOutcome, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        // Fires take one row's lock in turn (SQLite's write lock already serializes them), so
        // two replicas never both count the same room under a limit.
        let lock = format!("SELECT id FROM fire_lock{}", self.lock(Lock::Update));
        sqlx::query(&lock).fetch_optional(&mut *tx).await.map_err(backend)?;
        if !has_room(&mut tx, &fire.cluster_id, limits).await? {
            return Ok(FireOutcome::Deferred);
        }
        let moved = sqlx::query(
            "UPDATE snapshot_configs SET next_slot = $1, next_fire_at = $2 WHERE cluster_id = $3 AND next_fire_at = $4",
        )
        .bind(ms(next.slot))
        .bind(ms(next.fire_at))
        .bind(&fire.cluster_id)
        .bind(ms(fire.next.fire_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if moved.rows_affected() != 1 {
            return Ok(FireOutcome::Lost);
        }
        // Under a savepoint: when that slot's snapshot exists already, only its insert is undone
        // and the schedule still moves on (PostgreSQL would abort the whole transaction).
        let mut slot = sqlx::Acquire::begin(&mut tx).await.map_err(backend)?;
        match write_snapshot(&mut slot, snapshot).await {
            Err(StoreError::Conflict(_)) => {
                slot.rollback().await.map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                return Ok(FireOutcome::Lost);
            }
            other => other?,
        }
        write_operation(&mut slot, operation, false).await?;
        slot.commit().await.map_err(backend)?;
        self.commit_snapshots(tx).await?;
        Ok(FireOutcome::Fired)
    }

    async fn open_creates_per_cluster(&self) -> Result<HashMap<String, u32>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT cluster_id, COUNT(*) AS n FROM operations WHERE kind = 'create_snapshot' AND {OPEN} GROUP BY cluster_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok((row.try_get("cluster_id").map_err(backend)?, row.try_get::<i64, _>("n").map_err(backend)? as u32))
            })
            .collect()
    }

    async fn expired_automatic(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Snapshot>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.* FROM snapshots s JOIN snapshot_configs c ON c.cluster_id = s.cluster_id
             WHERE s.kind = 'auto' AND s.deleting = 0 AND s.restore_status != 'restoring'
               AND s.status IN ('COMPLETED', 'PART_FAILED', 'FAILED') AND s.scheduled_for + c.keepday * 86400000 <= $1
             ORDER BY s.cluster_id, s.scheduled_for LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(snapshot_from).collect()
    }

    async fn insert_batch_delete(&self, operation: &Operation) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let mut taken = Vec::with_capacity(operation.batch.len());
        for id in &operation.batch {
            let marked =
                sqlx::query("UPDATE snapshots SET deleting = 1, updated_at = $1 WHERE id = $2 AND deleting = 0")
                    .bind(ms(operation.created_at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            if marked.rows_affected() == 1 {
                taken.push(id.clone());
            }
        }
        if let Some(first) = taken.first() {
            let op = Operation { snapshot_id: first.clone(), batch: taken.clone(), ..operation.clone() };
            write_operation(&mut tx, &op, false).await?;
        }
        self.commit_snapshots(tx).await?;
        Ok(taken)
    }

    async fn insert_shared_repository(&self, target: &str, source: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO shared_repositories (target_cluster_id, source_cluster_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(target)
        .bind(source)
        .bind(ms(at))
        .execute(&self.pool)
        .await
        .map_err(write_error("shared repository"))?;
        Ok(())
    }

    async fn delete_shared_repository(&self, target: &str, source: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("DELETE FROM shared_repositories WHERE target_cluster_id = $1 AND source_cluster_id = $2")
                .bind(target)
                .bind(source)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn shared_repository_sources(&self, target: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT source_cluster_id FROM shared_repositories WHERE target_cluster_id = $1 ORDER BY created_at, source_cluster_id")
            .bind(target)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
    }

    async fn insert_storage_profile(&self, profile: &StorageProfile) -> Result<(), StoreError> {
        self.insert_profile(profile).await
    }

    async fn get_storage_profile(&self, project_id: &str, name: &str) -> Result<Option<StorageProfile>, StoreError> {
        self.profile(project_id, name).await
    }

    async fn list_storage_profiles(&self, project_id: &str) -> Result<Vec<StorageProfile>, StoreError> {
        self.profiles(project_id).await
    }

    async fn scoped_storage_profiles(
        &self,
        scope: Scope<'_>,
    ) -> Result<HashMap<String, Vec<StorageProfile>>, StoreError> {
        self.scoped_profiles(scope).await
    }

    async fn set_default_storage_profile(&self, project_id: &str, name: &str) -> Result<(), StoreError> {
        self.make_default(project_id, name).await
    }

    async fn delete_storage_profile(&self, project_id: &str, name: &str) -> Result<(), StoreError> {
        self.remove_profile(project_id, name).await
    }

    async fn fleet_facts(&self, scope: Scope<'_>, recent: usize) -> Result<HashMap<String, HealthFacts>, StoreError> {
        self.read_fleet_facts(scope, recent).await
    }

    async fn renew_lease(&self, id: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE operations SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(ms(until))
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn checkpoint_operation(
        &self,
        operation: &Operation,
        change: &SnapshotChange,
        owner: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.hold_lease(&mut tx, &operation.id, owner).await?;
        write_operation(&mut tx, operation, true).await?;
        if let SnapshotChange::Update(snapshot) = change {
            write_step_snapshot(&mut tx, (operation, self.lock(Lock::Update)), snapshot).await?;
        }
        self.commit_snapshots(tx).await
    }

    async fn save_step(&self, operation: &Operation, change: &SnapshotChange, owner: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.hold_lease(&mut tx, &operation.id, owner).await?;
        write_operation(&mut tx, operation, false).await?;
        match change {
            SnapshotChange::Keep => {}
            SnapshotChange::Update(snapshot) => {
                write_step_snapshot(&mut tx, (operation, self.lock(Lock::Update)), snapshot).await?
            }
            SnapshotChange::Remove | SnapshotChange::Release => remove_or_release(&mut tx, operation, change).await?,
        }
        self.commit_snapshots(tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (SqlStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (SqlStore::open_sqlite(&dir.path().join("catalog.db")).await.unwrap(), dir)
    }

    crate::store_suite!(store());

    #[tokio::test]
    async fn a_catalog_a_newer_snapkeep_migrated_is_refused() {
        let (store, dir) = store().await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (99999, 'from the future', 1, x'00', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.pool.close().await;
        let refused = SqlStore::open_sqlite(&dir.path().join("catalog.db")).await.err().expect("refused");
        assert!(refused.to_string().contains("newer snapkeep (migration 99999"), "{refused}");
    }
}
