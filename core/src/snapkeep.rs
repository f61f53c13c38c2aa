//! The core's handles: the store, the engines, the storage, the clock and the limits that every
//! use case works with, and the one record they all write first, an operation. The use cases
//! themselves live in the modules named for their concern (`clusters`, `snapshots`, `restores`,
//! `backups`, `automatic`, `shared`, …), each adding its methods to [`Snapkeep`]; this module
//! imports none of them.

use crate::replicas::Presence;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::caller::{DEFAULT_MAX_SKEW, MAX_SKEW_RANGE};
use crate::clock::Clock;
use crate::engine::EngineConnector;
use crate::limits::{OperationTimeouts, Scheduling};
use crate::metrics::Metrics;
use crate::model::{Cluster, Lane, Operation, OperationKind, OperationPhase, RestoreParams, Snapshot};
use crate::physical::DatabaseEngine;
use crate::repository::Repositories;
use crate::secrets::Cipher;
use crate::store::Store;

/// snapkeep's core: shared by every dialect and by the reconciler. A clone is one reference
/// count: the HTTP stack clones it for every request.
#[derive(Clone)]
pub struct Snapkeep(Arc<Handles>);

/// What the core works with; reached through [`Snapkeep`] (`Deref`).
#[derive(Clone)]
pub struct Handles {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) connector: Arc<dyn EngineConnector>,
    pub(crate) repositories: Repositories,
    pub(crate) cipher: Cipher,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeouts: OperationTimeouts,
    pub(crate) scheduling: Scheduling,
    pub(crate) max_skew: chrono::Duration,
    pub(crate) databases: Option<Arc<dyn DatabaseEngine>>,
    metrics: Metrics,
    pub(crate) default_region: String,
    pub(crate) presence: Arc<Presence>,
    /// Wakes this process's reconcilers when an operation is queued, so they claim it at once
    /// instead of at their next look for due work.
    queued: Arc<tokio::sync::Notify>,
}

impl std::ops::Deref for Snapkeep {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

impl Snapkeep {
    pub fn new(
        store: Arc<dyn Store>,
        connector: Arc<dyn EngineConnector>,
        repositories: Repositories,
        cipher: Cipher,
        clock: Arc<dyn Clock>,
        timeouts: OperationTimeouts,
        default_region: String,
    ) -> Self {
        Self(Arc::new(Handles {
            store,
            connector,
            repositories,
            cipher,
            clock,
            timeouts,
            scheduling: Scheduling::default(),
            max_skew: DEFAULT_MAX_SKEW,
            databases: None,
            metrics: Metrics::default(),
            default_region,
            presence: Arc::default(),
            queued: Arc::default(),
        }))
    }

    /// Tells this process's reconcilers that an operation was queued.
    pub(crate) fn operation_queued(&self) {
        self.queued.notify_waiters();
    }

    /// Resolves when this process queues an operation (`operation_queued`); another replica's
    /// are found at the reconcilers' next look.
    pub async fn operations_queued(&self) {
        self.queued.notified().await;
    }

    /// The handles to change while building, before the core is shared.
    fn building(&mut self) -> &mut Handles {
        Arc::make_mut(&mut self.0)
    }

    /// Fences this replica of a shared catalog: it seals no secret once it has not announced
    /// itself for three quarters of `lease` (core's replicas module).
    pub fn with_presence_fence(mut self, lease: std::time::Duration) -> Self {
        self.building().presence = Arc::new(Presence::fenced(lease));
        self
    }

    /// Replaces the default limits and jitter of automatic snapshots.
    pub fn with_scheduling(mut self, scheduling: Scheduling) -> Self {
        self.building().scheduling = scheduling;
        self
    }

    /// Enables database clusters (PostgreSQL), backed up and restored by `engine`.
    pub fn with_databases(mut self, engine: Arc<dyn DatabaseEngine>) -> Self {
        self.building().databases = Some(engine);
        self
    }

    /// Replaces the allowed clock skew of signed requests (bounded by `MAX_SKEW_RANGE`).
    pub fn with_max_skew(mut self, max_skew: chrono::Duration) -> Self {
        self.building().max_skew = max_skew.clamp(MAX_SKEW_RANGE.0, MAX_SKEW_RANGE.1);
        self
    }

    /// The core's clock (a manual one in tests).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A new operation of `kind` on `cluster`, in the lane its kind and engine take.
    pub(crate) fn new_operation(
        &self,
        kind: OperationKind,
        snapshot: &Snapshot,
        cluster: &Cluster,
        restore: Option<RestoreParams>,
        now: DateTime<Utc>,
    ) -> Operation {
        let lane = Lane::of(kind, cluster.flavor);
        self.operation_on(kind, snapshot, (&cluster.id, lane), restore, now)
    }

    /// A new operation of `kind` on the cluster `cluster_id`, run in `lane`.
    pub(crate) fn operation_on(
        &self,
        kind: OperationKind,
        snapshot: &Snapshot,
        (cluster_id, lane): (&str, Lane),
        restore: Option<RestoreParams>,
        now: DateTime<Utc>,
    ) -> Operation {
        Operation {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            snapshot_id: snapshot.id.clone(),
            batch: Vec::new(),
            cluster_id: cluster_id.to_owned(),
            lane,
            phase: OperationPhase::Pending,
            restore,
            attempts: 0,
            next_run_at: now,
            deadline: now + self.timeouts.limit_for(kind),
            progress_marker: None,
            progress_at: now,
            last_error: None,
            created_at: now,
            finished_at: None,
        }
    }
}
