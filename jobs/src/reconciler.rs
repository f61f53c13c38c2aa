//! The reconciler worker of one lane: a continuous pool of operation steps. Each unit of work
//! fills the slots that are free with due operations of its lane, each advanced one step in a
//! task of its own; a step that ends frees its slot at once and wakes the worker to fill it, and
//! an operation this process queues wakes it to claim that at once. The
//! steps lane runs short engine calls; the transfers lane runs PostgreSQL backups and restores,
//! bounded apart, so a long transfer never holds up a short step.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use snapkeep_core::{Lane, Reconciler};
use tokio::task::{JoinError, JoinSet};

use crate::supervisor::{Pace, WorkError, Worker};

/// Advances the operations of one lane, `slots` at a time.
pub struct ReconcilerWorker {
    reconciler: Reconciler,
    lane: Lane,
    slots: usize,
    interval: Duration,
    in_flight: JoinSet<()>,
    /// The operations whose steps run in `in_flight`.
    running: Arc<Mutex<HashSet<String>>>,
}

impl ReconcilerWorker {
    /// `slots` operations of `lane` advance at once; due work is looked for every `interval` while
    /// the pool is idle.
    ///
    /// # Panics
    /// When `slots` is 0 (the configuration refuses it first).
    pub fn new(reconciler: Reconciler, lane: Lane, slots: u32, interval: Duration) -> Self {
        assert!(slots > 0, "a pool of no slots would never advance anything");
        Self { reconciler, lane, slots: slots as usize, interval, in_flight: JoinSet::new(), running: Arc::default() }
    }

    /// Collects the steps that ended.
    fn reap(&mut self) {
        while let Some(ended) = self.in_flight.try_join_next() {
            self.ended(ended);
        }
    }

    fn ended(&self, ended: Result<(), JoinError>) {
        if let Err(e) = ended {
            tracing::error!(lane = self.lane.as_str(), error = %e, "an operation step panicked; it resumes when its lease ends");
        }
    }
}

/// An operation of the running set, taken out when its step's task ends, even by a panic.
struct Running(Arc<Mutex<HashSet<String>>>, String);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.1);
    }
}

#[async_trait]
impl Worker for ReconcilerWorker {
    fn name(&self) -> &'static str {
        match self.lane {
            Lane::Steps => "reconciler",
            Lane::Transfers => "transfers",
        }
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    /// Claims as many due operations as there are free slots and starts a step for each. Always
    /// `Idle`: the pool is full (a step that ends wakes it) or nothing more is due.
    async fn work(&mut self) -> Result<Pace, WorkError> {
        self.reap();
        let free = self.slots.saturating_sub(self.in_flight.len());
        if free == 0 {
            return Ok(Pace::Idle);
        }
        for op in self.reconciler.claim(self.lane, free as u32).await? {
            // A step of this process still running (its lease lapsed while the catalog was
            // unreachable, and this node claimed it again) is not started twice.
            if !self.running.lock().expect("running lock").insert(op.id.clone()) {
                continue;
            }
            let (reconciler, running) = (self.reconciler.clone(), Running(self.running.clone(), op.id.clone()));
            self.in_flight.spawn(async move {
                if let Err(e) = reconciler.advance(op).await {
                    tracing::error!(operation = %running.1, error = %e, "could not advance operation");
                }
            });
        }
        Ok(Pace::Idle)
    }

    /// A step ended (its slot is free), or this process queued an operation.
    async fn woken(&mut self) {
        tokio::select! {
            Some(ended) = self.in_flight.join_next() => self.ended(ended),
            () = self.reconciler.queued() => {}
        }
    }

    async fn drain(&mut self) {
        while let Some(ended) = self.in_flight.join_next().await {
            self.ended(ended);
        }
    }
}
