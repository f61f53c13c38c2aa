//! The replicas serving one catalog. Each announces itself every quarter of its lease; the
//! announcement is recorded only while the catalog's master-key check still holds the value this
//! replica's key opened, in one transaction with that check held, so a master-key rotation and
//! an announcement never interleave. A rotation is refused while a replica other than the
//! rotating process is live (announced within its lease, by the catalog server's clock). A
//! replica fences itself: once it has not announced successfully for three quarters of its lease
//! (stalled, cut off from the catalog), it seals no secret until it announces again, so it never
//! seals under a key a rotation replaced meanwhile. Each announcement also measures the replica's
//! clock against the catalog server's: leases and fire slots compare times written by different
//! machines.

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
    /// When it last announced itself, by the catalog server's clock (the store records it).
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
    /// Recorded, seen at the catalog server's `server_time`.
    Recorded { server_time: DateTime<Utc> },
    /// The guarding setting no longer holds what the replica read (the master key was rotated);
    /// nothing was written.
    KeyChanged,
}

/// This replica's fence: when it last announced itself, and its last measured clock offset.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    /// The lease when the fence is up (serving a catalog other replicas share); none otherwise.
    lease: Option<std::time::Duration>,
    last_announced: std::sync::Mutex<Option<std::time::Instant>>,
    clock_offset_ms: std::sync::atomic::AtomicI64,
}

impl Presence {
    pub(crate) fn fenced(lease: std::time::Duration) -> Self {
        Self { lease: Some(lease), ..Self::default() }
    }

    /// `PresenceLapsed` when the fence is up and the last announcement is older than three
    /// quarters of the lease (or there was none).
    fn check(&self) -> Result<(), CoreError> {
        let Some(lease) = self.lease else { return Ok(()) };
        let last = *self.last_announced.lock().expect("presence lock");
        match last {
            Some(at) if at.elapsed() < lease * 3 / 4 => Ok(()),
            _ => Err(CoreError::PresenceLapsed),
        }
    }
}

impl Snapkeep {
    /// Announces `replica`, seen now. Errors: `WrongMasterKey` when this service's key does not
    /// open the catalog, or no longer does (another process rotated it); `ClockOffset` when the
    /// replica's clock is further from the catalog server's than
    /// [`Replica::max_clock_offset_ms`] (measured at the midpoint of the announcement's round
    /// trip, and recorded with the next one).
    pub async fn announce(&self, replica: &Replica) -> Result<(), CoreError> {
        let started = std::time::Instant::now();
        let check = self.store.catalog_setting(CHECK_SETTING).await?.ok_or(CoreError::WrongMasterKey)?;
        if !opens_check(&self.cipher, &check) {
            return Err(CoreError::WrongMasterKey);
        }
        let offset = self.presence.clock_offset_ms.load(std::sync::atomic::Ordering::Relaxed);
        let seen = Replica { seen_at: self.clock.now(), clock_offset_ms: offset, ..replica.clone() };
        let sent = self.clock.now();
        let answer = self.store.announce_replica(&seen, (CHECK_SETTING, &check)).await?;
        let Announcement::Recorded { server_time } = answer else { return Err(CoreError::WrongMasterKey) };
        *self.presence.last_announced.lock().expect("presence lock") = Some(started);
        let midpoint = sent + (self.clock.now() - sent) / 2;
        let offset_ms = (midpoint - server_time).num_milliseconds();
        self.presence.clock_offset_ms.store(offset_ms, std::sync::atomic::Ordering::Relaxed);
        let max_ms = seen.max_clock_offset_ms();
        if offset_ms.abs() > max_ms {
            return Err(CoreError::ClockOffset { offset_ms, max_ms });
        }
        Ok(())
    }

    /// `text` sealed under the master key. Errors: `PresenceLapsed` while this replica's fence
    /// is down (see the module's header).
    pub(crate) fn seal(&self, text: &str) -> Result<Vec<u8>, CoreError> {
        self.presence.check()?;
        Ok(self.cipher.seal(text))
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
    fn a_fenced_replica_seals_only_within_three_quarters_of_its_lease_after_an_announcement() {
        assert!(Presence::default().check().is_ok(), "no fence on a catalog of one process");
        let lease = std::time::Duration::from_secs(60);
        let fence = Presence::fenced(lease);
        assert!(matches!(fence.check(), Err(CoreError::PresenceLapsed)), "not announced yet");
        let now = std::time::Instant::now();
        *fence.last_announced.lock().unwrap() = Some(now);
        assert!(fence.check().is_ok());
        *fence.last_announced.lock().unwrap() = now.checked_sub(lease * 3 / 4);
        assert!(matches!(fence.check(), Err(CoreError::PresenceLapsed)), "silent for three quarters of the lease");
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
