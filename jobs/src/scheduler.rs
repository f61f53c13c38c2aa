//! The scheduler worker: every round it takes the automatic snapshots that are due (within the
//! concurrency limits) and applies retention. What it decides is written to the store as
//! durable operations, which the reconciler then carries out.

use std::time::Duration;

use async_trait::async_trait;
use snapkeep_core::Snapkeep;

use crate::supervisor::{Pace, WorkError, Worker};

pub struct SchedulerWorker {
    core: Snapkeep,
    interval: Duration,
}

impl SchedulerWorker {
    pub fn new(core: Snapkeep, interval: Duration) -> Self {
        Self { core, interval }
    }
}

#[async_trait]
impl Worker for SchedulerWorker {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    /// One round: due automatic snapshots fired, and retention applied (each even when the
    /// other failed; the first failure is the round's).
    async fn work(&mut self) -> Result<Pace, WorkError> {
        let fired = self.fire().await;
        let retained = self.retain().await;
        fired.and(retained).map(|()| Pace::Idle)
    }
}

impl SchedulerWorker {
    async fn fire(&self) -> Result<(), WorkError> {
        let report = self.core.fire_due().await?;
        for fired in &report.fired {
            tracing::info!(cluster = %fired.cluster_id, slot = %fired.slot, lag_ms = fired.lag.num_milliseconds(), "automatic snapshot fired");
        }
        if report.deferred > 0 {
            tracing::debug!(deferred = report.deferred, "fires held back by the concurrency limits");
        }
        Ok(())
    }

    async fn retain(&self) -> Result<(), WorkError> {
        let deleted = self.core.apply_retention().await?;
        if deleted > 0 {
            tracing::info!(snapshots = deleted, "retention deletes scheduled");
        }
        Ok(())
    }
}
