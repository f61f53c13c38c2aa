//! The presence worker: announces this replica to the catalog every quarter of its lease (see
//! core's replicas module). A catalog its master key no longer opens (another process rotated
//! the key) stops the service: it would otherwise seal secrets the others cannot open. A clock
//! too far from the catalog server's is a failure the status shows until it is mended. Failures
//! do not slow the announcements down.

use std::time::Duration;

use async_trait::async_trait;
use snapkeep_core::{CoreError, Replica, Snapkeep};

use crate::supervisor::{Pace, WorkError, Worker};

pub struct PresenceWorker {
    core: Snapkeep,
    replica: Replica,
}

impl PresenceWorker {
    /// Announces `replica` (its lease in `lease_ms`) every quarter of its lease.
    pub fn new(core: Snapkeep, replica: Replica) -> Self {
        Self { core, replica }
    }
}

#[async_trait]
impl Worker for PresenceWorker {
    fn name(&self) -> &'static str {
        "presence"
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.replica.lease_ms / 4).unwrap_or(1).max(1))
    }

    /// Announcements keep their cadence through failures: a replica silent for its lease counts
    /// as gone, and fences itself.
    fn backs_off(&self) -> bool {
        false
    }

    async fn work(&mut self) -> Result<Pace, WorkError> {
        match self.core.announce(&self.replica).await {
            Err(CoreError::WrongMasterKey) => Err(WorkError::Fatal(format!(
                "{}; another process rotated the master key: restart this replica with the new key",
                CoreError::WrongMasterKey
            ))),
            other => Ok(other.map(|()| Pace::Idle)?),
        }
    }
}
