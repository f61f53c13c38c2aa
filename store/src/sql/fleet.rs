//! Reads over many clusters at once (a scope), in a fixed number of statements whatever the
//! number of clusters: the fleet view's facts (what every cluster's protection is decided from,
//! five statements; each cluster's newest rows are found by probing its indexes, correlated
//! subqueries with `LIMIT`, never by sorting a whole table), and every cluster's config and
//! recorded snapshot locations (one statement each: where their repositories are, for the
//! overlap check).

use std::collections::HashMap;

use snapkeep_core::{HealthFacts, LastSuccess, NextFire, Scope, SnapshotConfig, SnapshotLocation, StoreError};
use sqlx::Row;

use super::{OPEN, OPERATION_COLUMNS, SqlStore, backend, config_from, corrupt, operation_from, time};

/// Which clusters (aliased `c`) a scope reads, with the key bound as `$1`.
pub(super) fn clusters_of(scope: Scope<'_>) -> (&'static str, Option<&str>) {
    match scope {
        Scope::Fleet => ("CAST($1 AS TEXT) IS NULL", None),
        Scope::Project(project) => ("c.project_id = $1", Some(project)),
        Scope::Cluster(cluster) => ("c.id = $1", Some(cluster)),
    }
}

impl SqlStore {
    /// `Store::fleet_facts`.
    pub(super) async fn read_fleet_facts(
        &self,
        scope: Scope<'_>,
        recent: usize,
    ) -> Result<HashMap<String, HealthFacts>, StoreError> {
        let mut facts: HashMap<String, HealthFacts> = HashMap::new();
        let within = clusters_of(scope);
        self.configs(within, &mut facts).await?;
        self.last_successes(within, &mut facts).await?;
        self.failures_in_a_row(within, recent, &mut facts).await?;
        let (filter, key) = within;
        let failed = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE id IN (SELECT (SELECT o.id FROM operations o
                 WHERE o.cluster_id = c.id AND o.phase = 'failed' ORDER BY o.finished_at DESC, o.id DESC LIMIT 1)
             FROM clusters c WHERE {filter})"
        );
        for op in self.operations(&failed, key).await? {
            let cluster = op.cluster_id.clone();
            facts.entry(cluster).or_default().last_failure = Some(op);
        }
        let open = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE {OPEN}
             AND cluster_id IN (SELECT c.id FROM clusters c WHERE {filter}) ORDER BY created_at, id"
        );
        for op in self.operations(&open, key).await? {
            let cluster = op.cluster_id.clone();
            facts.entry(cluster).or_default().running.push(op);
        }
        Ok(facts)
    }

    async fn configs(
        &self,
        within: (&str, Option<&str>),
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        for (cluster_id, config, next_fire) in self.config_rows(within).await? {
            let entry = facts.entry(cluster_id).or_default();
            entry.config = Some(config);
            entry.next_fire = next_fire;
        }
        Ok(())
    }

    /// `Store::snapshot_configs`.
    pub(super) async fn scoped_configs(&self, scope: Scope<'_>) -> Result<HashMap<String, SnapshotConfig>, StoreError> {
        let rows = self.config_rows(clusters_of(scope)).await?;
        Ok(rows.into_iter().map(|(cluster_id, config, _)| (cluster_id, config)).collect())
    }

    /// Each cluster's config and next automatic snapshot.
    async fn config_rows(
        &self,
        (filter, key): (&str, Option<&str>),
    ) -> Result<Vec<(String, SnapshotConfig, Option<NextFire>)>, StoreError> {
        let read = format!(
            "SELECT cluster_id, config, next_slot, next_fire_at FROM snapshot_configs
             WHERE cluster_id IN (SELECT c.id FROM clusters c WHERE {filter})"
        );
        let rows = sqlx::query(&read).bind(key).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter()
            .map(|row| {
                let config = config_from(&row.try_get::<String, _>("config").map_err(backend)?)?;
                let slot: Option<i64> = row.try_get("next_slot").map_err(backend)?;
                let fire_at: Option<i64> = row.try_get("next_fire_at").map_err(backend)?;
                let next =
                    slot.zip(fire_at).map(|(slot, fire_at)| NextFire { slot: time(slot), fire_at: time(fire_at) });
                Ok((row.try_get("cluster_id").map_err(backend)?, config, next))
            })
            .collect()
    }

    /// `Store::snapshot_locations`: one read of the snapshots of the clusters in scope.
    pub(super) async fn scoped_locations(
        &self,
        scope: Scope<'_>,
    ) -> Result<HashMap<String, Vec<SnapshotLocation>>, StoreError> {
        let (filter, key) = clusters_of(scope);
        let read = format!(
            "SELECT DISTINCT cluster_id, location FROM snapshots WHERE location IS NOT NULL
               AND cluster_id IN (SELECT c.id FROM clusters c WHERE {filter}) ORDER BY cluster_id, location"
        );
        let mut locations: HashMap<String, Vec<SnapshotLocation>> = HashMap::new();
        for row in sqlx::query(&read).bind(key).fetch_all(&self.pool).await.map_err(backend)? {
            let text: String = row.try_get("location").map_err(backend)?;
            let location = serde_json::from_str(&text).map_err(|_| corrupt("snapshot location", &text))?;
            locations.entry(row.try_get("cluster_id").map_err(backend)?).or_default().push(location);
        }
        Ok(locations)
    }

    /// Each cluster's newest completed snapshot not being deleted: one probe of the cluster's
    /// snapshot index each.
    async fn last_successes(
        &self,
        (filter, key): (&str, Option<&str>),
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        let read = format!(
            "SELECT cluster_id, id, name, COALESCE(end_time_ms, updated_at) AS ended FROM snapshots
             WHERE id IN (SELECT (SELECT s.id FROM snapshots s WHERE s.cluster_id = c.id AND s.status = 'COMPLETED'
                     AND s.deleting = 0 ORDER BY s.created_at DESC, s.id LIMIT 1)
                 FROM clusters c WHERE {filter})"
        );
        for row in sqlx::query(&read).bind(key).fetch_all(&self.pool).await.map_err(backend)? {
            let success = LastSuccess {
                snapshot_id: row.try_get("id").map_err(backend)?,
                name: row.try_get("name").map_err(backend)?,
                at: time(row.try_get("ended").map_err(backend)?),
            };
            facts.entry(row.try_get("cluster_id").map_err(backend)?).or_default().last_success = Some(success);
        }
        Ok(())
    }

    /// Each cluster's snapshot creates that failed since its last successful one, at most
    /// `recent`: index probes of `operations_creates`.
    async fn failures_in_a_row(
        &self,
        (filter, key): (&str, Option<&str>),
        recent: usize,
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        let read = format!("SELECT c.id AS cluster_id, (SELECT COUNT(*) FROM (SELECT 1 FROM operations f
                 WHERE f.cluster_id = c.id AND f.kind = 'create_snapshot' AND f.phase = 'failed'
                   AND f.finished_at > COALESCE((SELECT MAX(ok.finished_at) FROM operations ok WHERE ok.cluster_id = c.id
                       AND ok.kind = 'create_snapshot' AND ok.phase = 'succeeded'), -1)
                 LIMIT $2) capped) AS failures
             FROM clusters c WHERE {filter}");
        let limit = i64::try_from(recent).unwrap_or(i64::MAX);
        for row in sqlx::query(&read).bind(key).bind(limit).fetch_all(&self.pool).await.map_err(backend)? {
            let failures: i64 = row.try_get("failures").map_err(backend)?;
            if failures > 0 {
                let entry = facts.entry(row.try_get("cluster_id").map_err(backend)?).or_default();
                entry.failures_in_a_row = usize::try_from(failures).unwrap_or(0);
            }
        }
        Ok(())
    }

    async fn operations(&self, read: &str, key: Option<&str>) -> Result<Vec<snapkeep_core::Operation>, StoreError> {
        let rows = sqlx::query(read).bind(key).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(operation_from).collect()
    }
}
