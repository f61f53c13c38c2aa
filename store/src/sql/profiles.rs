//! Storage profiles in the catalog.

use std::collections::HashMap;

use snapkeep_core::{Scope, StorageKind, StorageProfile, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::fleet::clusters_of;
use super::{SqlStore, backend, corrupt, ms, time, write_error};

fn profile_from(row: &AnyRow) -> Result<StorageProfile, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    Ok(StorageProfile {
        id: row.try_get("id").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        kind: StorageKind::parse(&kind).ok_or_else(|| corrupt("storage kind", &kind))?,
        endpoint: row.try_get("endpoint").map_err(backend)?,
        region: row.try_get("region").map_err(backend)?,
        bucket: row.try_get("bucket").map_err(backend)?,
        base_path: row.try_get("base_path").map_err(backend)?,
        path_style: row.try_get::<i64, _>("path_style").map_err(backend)? != 0,
        access_key_id: row.try_get("access_key_id").map_err(backend)?,
        secret_sealed: row.try_get("secret_sealed").map_err(backend)?,
        is_default: row.try_get::<i64, _>("is_default").map_err(backend)? != 0,
        created_at: time(row.try_get("created_at").map_err(backend)?),
    })
}

async fn clear_default(tx: &mut Transaction<'_, Any>, project_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE storage_profiles SET is_default = 0 WHERE project_id = $1")
        .bind(project_id)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn insert_profile(&self, p: &StorageProfile) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        if p.is_default {
            clear_default(&mut tx, &p.project_id).await?;
        }
        sqlx::query("INSERT INTO storage_profiles (id, project_id, name, kind, endpoint, region, bucket, base_path, path_style, access_key_id, secret_sealed, is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(&p.id).bind(&p.project_id).bind(&p.name).bind(p.kind.as_str()).bind(&p.endpoint).bind(&p.region)
            .bind(&p.bucket).bind(&p.base_path).bind(i64::from(p.path_style)).bind(&p.access_key_id)
            .bind(&p.secret_sealed).bind(i64::from(p.is_default)).bind(ms(p.created_at))
            .execute(&mut *tx).await.map_err(write_error("storage profile name"))?;
        tx.commit().await.map_err(backend)
    }

    pub(super) async fn profile(&self, project_id: &str, name: &str) -> Result<Option<StorageProfile>, StoreError> {
        let rows = self
            .all(
                "SELECT * FROM storage_profiles WHERE project_id = $1 AND name = $2",
                &[Some(project_id), Some(name)],
                profile_from,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(super) async fn profiles(&self, project_id: &str) -> Result<Vec<StorageProfile>, StoreError> {
        self.all(
            "SELECT * FROM storage_profiles WHERE project_id = $1 ORDER BY name",
            &[Some(project_id)],
            profile_from,
        )
        .await
    }

    /// `Store::scoped_storage_profiles`.
    pub(super) async fn scoped_profiles(
        &self,
        scope: Scope<'_>,
    ) -> Result<HashMap<String, Vec<StorageProfile>>, StoreError> {
        let (filter, key) = clusters_of(scope);
        let read = format!(
            "SELECT * FROM storage_profiles
             WHERE project_id IN (SELECT c.project_id FROM clusters c WHERE {filter}) ORDER BY project_id, name"
        );
        let mut profiles: HashMap<String, Vec<StorageProfile>> = HashMap::new();
        for profile in self.all(&read, &[key], profile_from).await? {
            profiles.entry(profile.project_id.clone()).or_default().push(profile);
        }
        Ok(profiles)
    }

    pub(super) async fn make_default(&self, project_id: &str, name: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        clear_default(&mut tx, project_id).await?;
        let done = sqlx::query("UPDATE storage_profiles SET is_default = 1 WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(backend)
    }

    pub(super) async fn remove_profile(&self, project_id: &str, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM storage_profiles WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
