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
use snapkeep_store::SqlStore;

/// A core with its catalog and clock.
pub struct InProcess {
    pub core: Snapkeep,
    pub clock: Arc<ManualClock>,
    pub store: Arc<SqlStore>,
    pub reconciler: Reconciler,
    db: PathBuf,
    storage_root: PathBuf,
    scheduling: Scheduling,
}

/// How often a submitted operation is looked at again, in simulated time.
const POLL: Duration = Duration::from_secs(1);

impl InProcess {
    pub async fn open(dir: &Path, storage_root: &Path, scheduling: Scheduling, start: DateTime<Utc>) -> Self {
        Self::open_with_clock(
            dir.join("catalog.db"),
            storage_root.to_path_buf(),
            scheduling,
            Arc::new(ManualClock::new(start)),
        )
        .await
    }

    async fn open_with_clock(
        db: PathBuf,
        storage_root: PathBuf,
        scheduling: Scheduling,
        clock: Arc<ManualClock>,
    ) -> Self {
        std::fs::create_dir_all(&storage_root).expect("storage root");
        let store = Arc::new(SqlStore::open_sqlite(&db).await.expect("catalog"));
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
            Cipher::from_base64(&Cipher::generate_key()).expect("key"),
            clock.clone(),
            timeouts,
            "local".into(),
        )
        .with_scheduling(scheduling);
        let reconciler =
            Reconciler::new(core.clone(), RetryPolicy::default(), "test-node".into(), Duration::from_secs(60));
        Self { core, clock, store, reconciler, db, storage_root, scheduling }
    }

    /// Closes and opens the catalog again, as a restart does; the clock keeps its time.
    pub async fn restart(self) -> Self {
        self.store.close().await;
        Self::open_with_clock(self.db, self.storage_root, self.scheduling, self.clock).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        snapkeep_core::Clock::now(self.clock.as_ref())
    }

    pub async fn project(&self, name: &str) -> Project {
        self.core.create_project(name).await.expect("project")
    }

    /// A cluster in the catalog without contacting it (for scheduler-only tests).
    pub async fn offline_cluster(&self, project: &Project, id: &str) -> Cluster {
        let cluster = Cluster {
            id: id.into(),
            project_id: project.id.clone(),
            name: id.into(),
            endpoint: "http://127.0.0.1:9".into(),
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

    /// Ends every open create as COMPLETED, standing in for an engine in scheduler-only tests.
    pub async fn complete_creates(&self) {
        for mut op in self.store.open_operations(None).await.expect("open operations") {
            if op.kind != OperationKind::CreateSnapshot {
                continue;
            }
            let snapshot = self.store.get_snapshot(&op.snapshot_id).await.expect("read").expect("snapshot");
            op.phase = OperationPhase::Succeeded;
            op.finished_at = Some(self.now());
            let done = Snapshot { status: SnapshotStatus::Completed, ..snapshot };
            self.store.save_step(&op, &SnapshotChange::update(done)).await.expect("save");
        }
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
