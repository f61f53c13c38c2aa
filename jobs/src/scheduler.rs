//! The scheduler worker: every round it takes the automatic snapshots that are due (within the
//! concurrency limits) and applies retention. What it decides is written to the store as
//! durable operations, which the reconciler then carries out.

use std::time::Duration;

use snapkeep_core::Snapkeep;
use tokio::sync::watch;

pub struct SchedulerWorker {
    core: Snapkeep,
    interval: Duration,
}

impl SchedulerWorker {
    pub fn new(core: Snapkeep, interval: Duration) -> Self {
        Self { core, interval }
    }

    /// Works until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            self.round().await;
            tokio::select! {
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(self.interval) => {}
            }
        }
        tracing::info!("scheduler stopped");
    }

    async fn round(&self) {
        match self.core.fire_due().await {
            Ok(report) => {
                for fired in &report.fired {
                    tracing::info!(cluster = %fired.cluster_id, slot = %fired.slot, lag_ms = fired.lag.num_milliseconds(), "automatic snapshot fired");
                }
                if report.deferred > 0 {
                    tracing::debug!(deferred = report.deferred, "fires held back by the concurrency limits");
                }
            }
            Err(e) => tracing::error!(error = %e, "scheduler round failed"),
        }
        match self.core.apply_retention().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(snapshots = n, "retention deletes scheduled"),
            Err(e) => tracing::error!(error = %e, "retention round failed"),
        }
    }
}
