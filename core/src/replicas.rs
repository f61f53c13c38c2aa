//! The replicas serving one catalog. Each announces itself every quarter of its lease; the
//! announcement is recorded only while the catalog's master-key check still holds the value this
//! replica's key opened, in one transaction with that check held, so a master-key rotation and
//! an announcement never interleave. A rotation is refused while a replica other than the
//! rotating process is live, so no process goes on sealing secrets under a key the catalog no
//! longer opens. Each announcement also measures the replica's clock against the catalog
//! server's: leases and fire slots compare times written by different machines.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::CoreError;
use crate::master_key::{CHECK_SETTING, opens_check};
use crate::snapkeep::Snapkeep;

/// A snapkeep process serving a catalog, as it last announced itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replica {
    /// Its node id: the owner named on the operations it leases.
    pub id: String,
    /// The snapkeep version it runs.
    pub version: String,
    pub started_at: DateTime<Utc>,
    /// When it last announced itself, by its own clock.
    pub seen_at: DateTime<Utc>,
    /// Its lease, in milliseconds: silent that long, it is gone and its operations are taken over.
    pub lease_ms: i64,
    /// Its clock minus the catalog server's at its last announcement, in milliseconds.
    pub clock_offset_ms: i64,
}

impl Replica {
    /// Whether it announced itself within its lease of `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.seen_at + Duration::milliseconds(self.lease_ms)
    }

    /// The largest clock offset it may run with, in milliseconds: a quarter of its lease, so a
    /// lease it renews on time never looks lapsed to another replica.
    pub fn max_clock_offset_ms(&self) -> i64 {
        self.lease_ms / 4
    }
}

/// What the store did with an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    /// Recorded; the replica's clock is this many milliseconds ahead of the catalog server's
    /// (negative: behind).
    Recorded { clock_offset_ms: i64 },
    /// The guarding setting no longer holds what the replica read (the master key was rotated);
    /// nothing was written.
    KeyChanged,
}

impl Snapkeep {
    /// Announces `replica`, seen now. Errors: `WrongMasterKey` when this service's key does not
    /// open the catalog, or no longer does (another process rotated it); `ClockOffset` when the
    /// replica's clock is further from the catalog server's than
    /// [`Replica::max_clock_offset_ms`] (recorded all the same, so the replica list shows it).
    pub async fn announce(&self, replica: &Replica) -> Result<(), CoreError> {
        let check = self.store.catalog_setting(CHECK_SETTING).await?.ok_or(CoreError::WrongMasterKey)?;
        if !opens_check(&self.cipher, &check) {
            return Err(CoreError::WrongMasterKey);
        }
        let seen = Replica { seen_at: self.clock.now(), ..replica.clone() };
        let max_ms = seen.max_clock_offset_ms();
        match self.store.announce_replica(&seen, (CHECK_SETTING, &check)).await? {
            Announcement::KeyChanged => Err(CoreError::WrongMasterKey),
            Announcement::Recorded { clock_offset_ms } if clock_offset_ms.abs() > max_ms => {
                Err(CoreError::ClockOffset { offset_ms: clock_offset_ms, max_ms })
            }
            Announcement::Recorded { .. } => Ok(()),
        }
    }

    /// Every replica that announced itself to this catalog, with whether it is live now.
    pub async fn replicas(&self) -> Result<Vec<(Replica, bool)>, CoreError> {
        let now = self.clock.now();
        let replicas = self.store.list_replicas().await?;
        Ok(replicas.into_iter().map(|r| (r.clone(), r.is_live(now))).collect())
    }

    /// Removes this replica's row at a clean stop, so a rotation need not wait for its lease.
    pub async fn forget_replica(&self, id: &str) -> Result<(), CoreError> {
        Ok(self.store.forget_replica(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(seen_ms: i64, lease_ms: i64) -> Replica {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        Replica {
            id: "r".into(),
            version: "0".into(),
            started_at: at(0),
            seen_at: at(seen_ms),
            lease_ms,
            clock_offset_ms: 0,
        }
    }

    #[test]
    fn a_replica_is_live_for_its_lease_after_it_was_seen() {
        let r = replica(10_000, 60_000);
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        assert!(r.is_live(at(10_000)));
        assert!(r.is_live(at(69_999)));
        assert!(!r.is_live(at(70_000)));
        assert_eq!(r.max_clock_offset_ms(), 15_000);
    }
}
