//! The reconciler worker: claims due operations, advances each one step concurrently, and keeps
//! doing so until shutdown. Steps are short engine calls; a step in flight at shutdown finishes,
//! and anything unfinished is picked up again from the store at the next start.

use std::time::Duration;

use snapkeep_core::Reconciler;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Runs the reconciler on an interval.
pub struct ReconcilerWorker {
    reconciler: Reconciler,
    /// Operations advanced at once.
    concurrency: u32,
    /// Pause between rounds when there was nothing more to do.
    interval: Duration,
}

impl ReconcilerWorker {
    pub fn new(reconciler: Reconciler, concurrency: u32, interval: Duration) -> Self {
        Self { reconciler, concurrency: concurrency.max(1), interval }
    }

    /// Works until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        while !*shutdown.borrow() {
            let pause = match self.round().await {
                Ok(claimed) if claimed == self.concurrency as usize => Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    self.interval
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(error = %e, failures, "reconciler round failed");
                    self.interval.saturating_mul(failures.min(20))
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("reconciler stopped");
    }

    /// Claims and advances one batch; returns how many were claimed.
    async fn round(&self) -> Result<usize, snapkeep_core::CoreError> {
        let due = self.reconciler.claim(self.concurrency).await?;
        let claimed = due.len();
        let mut steps = JoinSet::new();
        for op in due {
            let reconciler = self.reconciler.clone();
            steps.spawn(async move {
                let id = op.id.clone();
                if let Err(e) = reconciler.advance(op).await {
                    tracing::error!(operation = %id, error = %e, "could not advance operation");
                }
            });
        }
        while steps.join_next().await.is_some() {}
        Ok(claimed)
    }
}
