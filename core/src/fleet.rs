//! Fleet health: every cluster's protection at a glance. A cluster is `failing` when its last
//! [`FAILING_AFTER`] snapshot attempts all failed (that many failed since its last success), `unprotected` when it has no completed
//! snapshot or, without a policy, none within [`RECENT_WITHOUT_POLICY`], `late` when its policy
//! is on and its last completed snapshot is older than the policy's interval plus a margin (the
//! interval, at most an hour), and `protected` otherwise. The facts come from the catalog in a
//! fixed number of statements, whatever the fleet's size.

use chrono::{DateTime, Duration, Utc};

use crate::error::CoreError;
use crate::model::{Cluster, LastFailure, Operation, OperationKind, OperationProgress};
use crate::page::Scope;
use crate::policy::SnapshotConfig;
use crate::snapkeep::Snapkeep;
use crate::store::NextFire;

/// Failed attempts in a row (snapshot creates, manual or automatic) that make a cluster `failing`.
pub const FAILING_AFTER: usize = 3;

/// Without a policy, how recent a completed snapshot keeps a cluster `protected`.
pub const RECENT_WITHOUT_POLICY: Duration = Duration::hours(24);

/// The most a policy's margin adds to its interval before a cluster is `late`.
const MAX_MARGIN: Duration = Duration::hours(1);

/// How well a cluster is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protection {
    /// The last attempts all failed: the most urgent.
    Failing,
    /// No snapshot to restore from (or, without a policy, no recent one).
    Unprotected,
    /// The policy's last slots passed without a completed snapshot.
    Late,
    Protected,
}

impl Protection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::Unprotected => "unprotected",
            Self::Late => "late",
            Self::Protected => "protected",
        }
    }

    /// Parses [`Protection::as_str`]'s words. Errors: `Invalid` naming them.
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let all = [Self::Failing, Self::Unprotected, Self::Late, Self::Protected];
        all.into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| CoreError::invalid("protection", "must be failing, unprotected, late or protected"))
    }
}

/// A completed snapshot: the one a restore would start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSuccess {
    pub snapshot_id: String,
    pub name: String,
    /// When it ended (or was last updated, when the engine gave no end time).
    pub at: DateTime<Utc>,
}

/// What the catalog knows of one cluster's protection (`Store::fleet_facts`).
#[derive(Debug, Clone, Default)]
pub struct HealthFacts {
    pub config: Option<SnapshotConfig>,
    pub next_fire: Option<NextFire>,
    pub last_success: Option<LastSuccess>,
    /// Snapshot creates that failed since the last successful one (counted up to
    /// [`FAILING_AFTER`]).
    pub failures_in_a_row: usize,
    pub last_failure: Option<Operation>,
    /// Its operations still open, oldest first.
    pub running: Vec<Operation>,
}

/// One row of the fleet view.
#[derive(Debug, Clone)]
pub struct ClusterHealth {
    pub cluster: Cluster,
    pub protection: Protection,
    /// Whether automatic snapshots are on.
    pub policy_enabled: bool,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_success: Option<LastSuccess>,
    /// How long ago the last success ended, at the time of the view.
    pub last_success_age: Option<Duration>,
    pub last_failure: Option<LastFailure>,
    pub running: Vec<RunningOperation>,
}

/// An open operation with what is known of its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningOperation {
    pub id: String,
    pub kind: OperationKind,
    pub snapshot_id: String,
    pub started_at: DateTime<Utc>,
    /// Bytes (and, on search engines, shards) done of all.
    pub progress: OperationProgress,
}

/// The protection `facts` give at `now` (the rules of this module's header).
pub fn protection(facts: &HealthFacts, now: DateTime<Utc>) -> Protection {
    if facts.failures_in_a_row >= FAILING_AFTER {
        return Protection::Failing;
    }
    let Some(success) = &facts.last_success else { return Protection::Unprotected };
    let age = now - success.at;
    let policy = facts.config.as_ref().map(|c| &c.policy).filter(|p| p.enabled);
    match policy {
        None if age > RECENT_WITHOUT_POLICY => Protection::Unprotected,
        None => Protection::Protected,
        Some(policy) => {
            let slot = policy.schedule.latest_at_or_before(now);
            let interval = policy.schedule.next_after(slot) - slot;
            if age > interval + interval.min(MAX_MARGIN) { Protection::Late } else { Protection::Protected }
        }
    }
}

impl Snapkeep {
    /// Every cluster's health (of one project, when given; of one protection, when given), most
    /// urgent first, then by id.
    pub async fn fleet(
        &self,
        project_id: Option<&str>,
        only: Option<Protection>,
    ) -> Result<Vec<ClusterHealth>, CoreError> {
        if let Some(project_id) = project_id {
            self.project(project_id).await?;
        }
        let now = self.clock.now();
        let clusters = self.store.list_clusters(project_id).await?;
        let scope = project_id.map_or(Scope::Fleet, Scope::Project);
        let mut facts = self.store.fleet_facts(scope, FAILING_AFTER).await?;
        let mut fleet: Vec<ClusterHealth> = clusters
            .into_iter()
            .map(|cluster| {
                let facts = facts.remove(&cluster.id).unwrap_or_default();
                health(cluster, &facts, now)
            })
            .collect();
        fleet.retain(|health| only.is_none_or(|only| health.protection == only));
        fleet.sort_by(|a, b| (a.protection, &a.cluster.id).cmp(&(b.protection, &b.cluster.id)));
        Ok(fleet)
    }
}

impl Snapkeep {
    /// One cluster's health.
    pub async fn cluster_health(&self, cluster: &Cluster) -> Result<ClusterHealth, CoreError> {
        let mut facts = self.store.fleet_facts(Scope::Cluster(&cluster.id), FAILING_AFTER).await?;
        let facts = facts.remove(&cluster.id).unwrap_or_default();
        Ok(health(cluster.clone(), &facts, self.clock.now()))
    }

    /// The metrics' exposition (OpenMetrics text), with every cluster's protection as the
    /// catalog shows it now.
    /// When the catalog cannot be read, the fleet's gauges keep their last values and the
    /// process's own metrics (worker health among them) are served all the same.
    pub async fn render_metrics(&self) -> String {
        match self.fleet(None, None).await {
            Ok(fleet) => self.metrics().render(Some(&fleet)),
            Err(e) => {
                tracing::warn!(error = %e, "the fleet could not be read for the metrics; its gauges keep their last values");
                self.metrics().render(None)
            }
        }
    }
}

fn health(cluster: Cluster, facts: &HealthFacts, now: DateTime<Utc>) -> ClusterHealth {
    let policy_enabled = facts.config.as_ref().is_some_and(|c| c.policy.enabled);
    ClusterHealth {
        protection: protection(facts, now),
        policy_enabled,
        next_fire_at: facts.next_fire.filter(|_| policy_enabled).map(|n| n.fire_at),
        last_success: facts.last_success.clone(),
        last_success_age: facts.last_success.as_ref().map(|s| now - s.at),
        last_failure: facts.last_failure.clone().map(LastFailure::of),
        running: facts.running.iter().map(running).collect(),
        cluster,
    }
}

fn running(op: &Operation) -> RunningOperation {
    RunningOperation {
        id: op.id.clone(),
        kind: op.kind,
        snapshot_id: op.snapshot_id.clone(),
        started_at: op.created_at,
        progress: op.progress(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Frequency, Period, Schedule, SnapshotPolicy};

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(hours)
    }

    fn success(hours: i64) -> Option<LastSuccess> {
        Some(LastSuccess { snapshot_id: "s".into(), name: "s".into(), at: at(hours) })
    }

    fn hourly(enabled: bool) -> Option<SnapshotConfig> {
        let schedule = Schedule::periodic(Frequency::Hour, Period { hour: 0, offset_minutes: 0 });
        let policy = SnapshotPolicy { enabled, schedule, ..SnapshotPolicy::default() };
        Some(SnapshotConfig { policy, ..SnapshotConfig::default() })
    }

    #[test]
    fn protection_words_read_back() {
        for p in [Protection::Failing, Protection::Unprotected, Protection::Late, Protection::Protected] {
            assert_eq!(Protection::parse(p.as_str()).unwrap(), p);
        }
        assert!(Protection::parse("safe").unwrap_err().to_string().contains("must be failing"));
    }

    #[test]
    fn failures_in_a_row_come_first() {
        let facts = HealthFacts { last_success: success(0), failures_in_a_row: 3, ..Default::default() };
        assert_eq!(protection(&facts, at(0)), Protection::Failing);
        let recovered = HealthFacts { failures_in_a_row: 0, ..facts.clone() };
        assert_eq!(protection(&recovered, at(0)), Protection::Protected, "the newest attempt succeeded");
        let two = HealthFacts { failures_in_a_row: 2, ..facts };
        assert_ne!(protection(&two, at(0)), Protection::Failing, "two failures are not yet failing");
    }

    #[test]
    fn without_a_policy_only_a_recent_snapshot_protects() {
        let none = HealthFacts::default();
        assert_eq!(protection(&none, at(0)), Protection::Unprotected);
        let recent = HealthFacts { last_success: success(0), ..Default::default() };
        assert_eq!(protection(&recent, at(24)), Protection::Protected);
        assert_eq!(protection(&recent, at(25)), Protection::Unprotected);
        let off = HealthFacts { config: hourly(false), ..recent };
        assert_eq!(protection(&off, at(25)), Protection::Unprotected, "a policy switched off is none");
    }

    #[test]
    fn a_policy_is_late_after_its_interval_and_margin() {
        let facts = HealthFacts { config: hourly(true), last_success: success(0), ..Default::default() };
        assert_eq!(protection(&facts, at(2)), Protection::Protected, "an hour plus an hour's margin");
        assert_eq!(protection(&facts, at(2) + Duration::seconds(1)), Protection::Late);
        let never = HealthFacts { config: hourly(true), ..Default::default() };
        assert_eq!(protection(&never, at(0)), Protection::Unprotected, "nothing to restore yet");
    }
}
