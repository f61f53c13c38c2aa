//! The fleet view's reads: what every cluster's protection is decided from, in five statements
//! whatever the number of clusters (window functions pick each cluster's newest rows).

use std::collections::HashMap;

use snapkeep_core::{HealthFacts, LastSuccess, NextFire, StoreError};
use sqlx::Row;

use super::{OPEN, OPERATION_COLUMNS, SqlStore, backend, config_from, operation_from, time};

/// The clusters of the project `$1` (every cluster when it is null).
const CLUSTERS_OF: &str = "SELECT id FROM clusters WHERE $1 IS NULL OR project_id = $1";

impl SqlStore {
    /// `Store::fleet_facts`.
    pub(super) async fn read_fleet_facts(
        &self,
        project_id: Option<&str>,
        recent: usize,
    ) -> Result<HashMap<String, HealthFacts>, StoreError> {
        let mut facts: HashMap<String, HealthFacts> = HashMap::new();
        self.configs(project_id, &mut facts).await?;
        self.last_successes(project_id, &mut facts).await?;
        self.recent_attempts(project_id, recent, &mut facts).await?;
        let failed = format!(
            "SELECT {OPERATION_COLUMNS} FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.cluster_id
                 ORDER BY o.finished_at DESC, o.id DESC) AS n FROM operations o
             WHERE o.phase = 'failed' AND o.cluster_id IN ({CLUSTERS_OF})) ranked WHERE n = 1"
        );
        for op in self.operations(&failed, project_id).await? {
            let cluster = op.cluster_id.clone();
            facts.entry(cluster).or_default().last_failure = Some(op);
        }
        let open = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE {OPEN} AND cluster_id IN ({CLUSTERS_OF})
             ORDER BY created_at, id"
        );
        for op in self.operations(&open, project_id).await? {
            let cluster = op.cluster_id.clone();
            facts.entry(cluster).or_default().running.push(op);
        }
        Ok(facts)
    }

    async fn configs(
        &self,
        project_id: Option<&str>,
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        let read = format!(
            "SELECT cluster_id, config, next_slot, next_fire_at FROM snapshot_configs WHERE cluster_id IN ({CLUSTERS_OF})"
        );
        for row in sqlx::query(&read).bind(project_id).fetch_all(&self.pool).await.map_err(backend)? {
            let entry = facts.entry(row.try_get("cluster_id").map_err(backend)?).or_default();
            entry.config = Some(config_from(&row.try_get::<String, _>("config").map_err(backend)?)?);
            let slot: Option<i64> = row.try_get("next_slot").map_err(backend)?;
            let fire_at: Option<i64> = row.try_get("next_fire_at").map_err(backend)?;
            entry.next_fire =
                slot.zip(fire_at).map(|(slot, fire_at)| NextFire { slot: time(slot), fire_at: time(fire_at) });
        }
        Ok(())
    }

    async fn last_successes(
        &self,
        project_id: Option<&str>,
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        let read = "SELECT cluster_id, id, name, ended FROM (SELECT cluster_id, id, name,
                 COALESCE(end_time_ms, updated_at) AS ended, ROW_NUMBER() OVER (PARTITION BY cluster_id
                 ORDER BY COALESCE(end_time_ms, updated_at) DESC, id DESC) AS n FROM snapshots
             WHERE status = 'COMPLETED' AND deleting = 0 AND ($1 IS NULL OR project_id = $1)) ranked WHERE n = 1";
        for row in sqlx::query(read).bind(project_id).fetch_all(&self.pool).await.map_err(backend)? {
            let success = LastSuccess {
                snapshot_id: row.try_get("id").map_err(backend)?,
                name: row.try_get("name").map_err(backend)?,
                at: time(row.try_get("ended").map_err(backend)?),
            };
            facts.entry(row.try_get("cluster_id").map_err(backend)?).or_default().last_success = Some(success);
        }
        Ok(())
    }

    async fn recent_attempts(
        &self,
        project_id: Option<&str>,
        recent: usize,
        facts: &mut HashMap<String, HealthFacts>,
    ) -> Result<(), StoreError> {
        let read = format!(
            "SELECT cluster_id, phase FROM (SELECT cluster_id, phase, ROW_NUMBER() OVER (PARTITION BY cluster_id
                 ORDER BY finished_at DESC, id DESC) AS n FROM operations
             WHERE kind = 'create_snapshot' AND finished_at IS NOT NULL AND cluster_id IN ({CLUSTERS_OF})) ranked
             WHERE n <= $2 ORDER BY cluster_id, n"
        );
        let limit = i64::try_from(recent).unwrap_or(i64::MAX);
        for row in sqlx::query(&read).bind(project_id).bind(limit).fetch_all(&self.pool).await.map_err(backend)? {
            let phase: String = row.try_get("phase").map_err(backend)?;
            let entry = facts.entry(row.try_get("cluster_id").map_err(backend)?).or_default();
            entry.recent_attempts_failed.push(phase == "failed");
        }
        Ok(())
    }

    async fn operations(
        &self,
        read: &str,
        project_id: Option<&str>,
    ) -> Result<Vec<snapkeep_core::Operation>, StoreError> {
        let rows = sqlx::query(read).bind(project_id).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(operation_from).collect()
    }
}
