//! snapkeep's core in-process, on a real SQLite catalog and a `ManualClock`: for scheduler and
//! retention tests that run days of schedule in seconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use snapkeep_core::{
    Cipher, Cluster, EngineFlavor, EngineVersion, Lane, ManualClock, NewCluster, OperationKind, OperationPhase,
    OperationTimeouts, Project, Reconciler, Repositories, RepositoryNames, RetryPolicy, Scheduling, Snapkeep, Snapshot,
    SnapshotChange, SnapshotStatus, Store,
};
use snapkeep_engine_elasticsearch::HttpEngineConnector;
use snapkeep_storage::OpendalStorage;
use snapkeep_store::{CatalogLocation, SqlStore};

/// A core with its catalog and clock.
pub struct InProcess {
    pub core: Snapkeep,
    pub clock: Arc<ManualClock>,
    pub store: Arc<SqlStore>,
    pub reconciler: Reconciler,
    catalog: CatalogLocation,
    storage_root: PathBuf,
    scheduling: Scheduling,
    /// The master key, and the node id leases are taken under: kept across restarts.
    identity: (String, String),
}

/// How often a submitted operation is looked at again, in simulated time.
const POLL: Duration = Duration::from_secs(1);

impl InProcess {
    pub async fn open(dir: &Path, storage_root: &Path, scheduling: Scheduling, start: DateTime<Utc>) -> Self {
        let catalog = CatalogLocation::Sqlite(dir.join("catalog.db"));
        let clock = Arc::new(ManualClock::new(start));
        let identity = (Cipher::generate_key(), "test-node".to_owned());
        Self::open_with_clock(catalog, storage_root.to_path_buf(), scheduling, clock, identity).await
    }

    /// One of several cores on the PostgreSQL catalog at `url`, sharing `clock` and `master_key`
    /// with the others, as replicas do.
    pub async fn replica(
        url: &str,
        storage_root: &Path,
        scheduling: Scheduling,
        (clock, master_key): (Arc<ManualClock>, &str),
    ) -> Self {
        let catalog = CatalogLocation::Postgres(url.to_owned());
        let identity = (master_key.to_owned(), uuid::Uuid::new_v4().to_string());
        Self::open_with_clock(catalog, storage_root.to_path_buf(), scheduling, clock, identity).await
    }

    async fn open_with_clock(
        catalog: CatalogLocation,
        storage_root: PathBuf,
        scheduling: Scheduling,
        clock: Arc<ManualClock>,
        identity: (String, String),
    ) -> Self {
        std::fs::create_dir_all(&storage_root).expect("storage root");
        let store = Arc::new(SqlStore::open(&catalog).await.expect("catalog"));
        let timeouts = OperationTimeouts { poll_every: POLL, ..OperationTimeouts::default() };
        let core = Snapkeep::new(
            store.clone(),
            Arc::new(HttpEngineConnector::new(Duration::from_secs(10)).expect("http client")),
            Repositories {
                names: RepositoryNames {
                    own: "snapkeep".into(),
                    shared_prefix: snapkeep_api_alibaba::SHARED_REPOSITORY_PREFIX.into(),
                },
                local_root: storage_root.canonicalize().expect("root").display().to_string(),
                storage: Arc::new(OpendalStorage),
            },
            Cipher::from_base64(&identity.0).expect("key"),
            clock.clone(),
            timeouts,
            "local".into(),
        )
        .with_scheduling(scheduling);
        let reconciler =
            Reconciler::new(core.clone(), RetryPolicy::default(), identity.1.clone(), Duration::from_secs(60));
        Self { core, clock, store, reconciler, catalog, storage_root, scheduling, identity }
    }

    /// Closes and opens the catalog again, as a restart does; the clock keeps its time.
    pub async fn restart(self) -> Self {
        self.store.close().await;
        Self::open_with_clock(self.catalog, self.storage_root, self.scheduling, self.clock, self.identity).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        snapkeep_core::Clock::now(self.clock.as_ref())
    }

    pub async fn project(&self, name: &str) -> Project {
        self.core.create_project(name).await.expect("project")
    }

    /// A cluster in the catalog without contacting it (for scheduler-only tests).
    pub async fn offline_cluster(&self, project: &Project, id: &str) -> Cluster {
        self.seeded_cluster(project, id, "http://127.0.0.1:9").await
    }

    /// An Elasticsearch 8.11.1 cluster at `endpoint` put straight into the catalog, neither
    /// probed nor checked (for seeding large fleets in benchmarks).
    pub async fn seeded_cluster(&self, project: &Project, id: &str, endpoint: &str) -> Cluster {
        let cluster = Cluster {
            id: id.into(),
            project_id: project.id.clone(),
            name: id.into(),
            endpoint: endpoint.into(),
            username: None,
            password_encrypted: None,
            region: "local".into(),
            flavor: EngineFlavor::Elasticsearch,
            version: EngineVersion::new(8, 11, 1),
            created_at: self.now(),
        };
        self.store.insert_cluster(&cluster).await.expect("cluster");
        cluster
    }

    /// A cluster registered through the core (it is contacted).
    pub async fn register(&self, project: &Project, id: &str, endpoint: &str) -> Cluster {
        let new = NewCluster {
            project_id: project.id.clone(),
            id: Some(id.into()),
            name: id.into(),
            endpoint: endpoint.into(),
            ..NewCluster::default()
        };
        self.core.register_cluster(new).await.expect("register")
    }

    /// Ends every open create as COMPLETED, standing in for an engine in scheduler-only tests
    /// (leasing them first, as a reconciler would).
    pub async fn complete_creates(&self) {
        let (now, owner) = (self.now(), "complete-creates");
        let until = now + chrono::Duration::minutes(1);
        for lane in Lane::ALL {
            let claimed = self.store.claim_due_operations(lane, now, owner, until, 10_000).await.expect("claim");
            for mut op in claimed.into_iter().filter(|op| op.kind == OperationKind::CreateSnapshot) {
                let snapshot = self.store.get_snapshot(&op.snapshot_id).await.expect("read").expect("snapshot");
                op.phase = OperationPhase::Succeeded;
                op.finished_at = Some(now);
                let done = Snapshot { status: SnapshotStatus::Completed, ..snapshot };
                self.store.save_step(&op, &SnapshotChange::update(done), owner).await.expect("save");
            }
        }
        self.store.release_leases(owner).await.expect("release the rest");
    }

    /// Runs the reconciler against the real engines until no operation is open, moving the
    /// simulated clock by the poll interval between rounds (and real time a little, for the
    /// engine's own progress).
    pub async fn reconcile_until_idle(&self) {
        for _ in 0..600 {
            if self.store.open_operations(None).await.expect("open operations").is_empty() {
                return;
            }
            for lane in Lane::ALL {
                for op in self.reconciler.claim(lane, 64).await.expect("claim") {
                    self.reconciler.advance(op).await.expect("advance");
                }
            }
            self.clock.advance(chrono::Duration::from_std(POLL).expect("poll"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("operations still open: {:?}", self.store.open_operations(None).await);
    }

    /// A cluster's snapshots, oldest slot first.
    pub async fn snapshots(&self, cluster_id: &str) -> Vec<Snapshot> {
        let mut all = self.store.list_snapshots(cluster_id).await.expect("list");
        all.sort_by_key(|s| (s.scheduled_for, s.created_at));
        all
    }
}
