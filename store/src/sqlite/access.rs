//! The SQLite side of `AccessStore`: access keys, request nonces, the audit log and the sealed
//! secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use snapkeep_core::{AccessKey, AccessStore, AuditEntry, AuditQuery, Cipher, RequestClaim, RequestOutcome, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{SqliteStore, backend, ms, time, write_error};

fn key_from(row: &SqliteRow) -> Result<AccessKey, StoreError> {
    Ok(AccessKey {
        access_key: row.try_get("access_key").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        secret_encrypted: row.try_get("secret_encrypted").map_err(backend)?,
        enabled: row.try_get::<i64, _>("enabled").map_err(backend)? != 0,
        created_at: time(row.try_get("created_at").map_err(backend)?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at").map_err(backend)?.map(time),
    })
}

fn audit_from(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.try_get("id").map_err(backend)?,
        at: time(row.try_get("at").map_err(backend)?),
        dialect: row.try_get("dialect").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        access_key: row.try_get("access_key").map_err(backend)?,
        action: row.try_get("action").map_err(backend)?,
        target: row.try_get("target").map_err(backend)?,
        status: u16::try_from(row.try_get::<i64, _>("status").map_err(backend)?).unwrap_or_default(),
        outcome: row.try_get("outcome").map_err(backend)?,
        request_id: row.try_get("request_id").map_err(backend)?,
    })
}

/// Keys of `project_id` active at `now`.
async fn active_keys(
    tx: &mut Transaction<'_, Sqlite>,
    project_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_keys WHERE project_id = ? AND enabled = 1 AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(project_id)
    .bind(ms(now))
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A table of what each key signed, remembered for a while: (table, column of what was signed).
type Sightings = (&'static str, &'static str);
const REQUEST_NONCES: Sightings = ("request_nonces", "nonce");
const REQUEST_OUTCOMES: Sightings = ("request_outcomes", "signature");

/// Records `(access key, signed value)` in `table` as seen at `seen_at`, after forgetting what
/// was seen before `forget_before`; whether it was seen for the first time.
async fn first_sighting(
    tx: &mut Transaction<'_, Sqlite>,
    (table, column): Sightings,
    (access_key, value): (&str, &str),
    (seen_at, forget_before): (DateTime<Utc>, DateTime<Utc>),
) -> Result<bool, StoreError> {
    sqlx::query(&format!("DELETE FROM {table} WHERE seen_at < ?"))
        .bind(ms(forget_before))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    let inserted =
        sqlx::query(&format!("INSERT OR IGNORE INTO {table} (access_key, {column}, seen_at) VALUES (?, ?, ?)"))
            .bind(access_key)
            .bind(value)
            .bind(ms(seen_at))
            .execute(&mut **tx)
            .await
            .map_err(backend)?
            .rows_affected();
    Ok(inserted == 1)
}

/// Opens `sealed` with `old` and seals it again with `new`.
fn reseal(old: &Cipher, new: &Cipher, sealed: &[u8], what: &str) -> Result<Vec<u8>, StoreError> {
    let plain = old.open(sealed).map_err(|_| StoreError::Corrupt(format!("{what} does not open with the old key")))?;
    Ok(new.seal(&plain))
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn insert_access_key(
        &self,
        k: &AccessKey,
        retiring: Option<(&str, DateTime<Utc>)>,
        max_active: usize,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        if let Some((old, at)) = retiring {
            sqlx::query("UPDATE access_keys SET expires_at = ? WHERE access_key = ?")
                .bind(ms(at))
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        if active_keys(&mut tx, &k.project_id, k.created_at).await? >= max_active {
            return Err(StoreError::Conflict("active keys per project"));
        }
        sqlx::query("INSERT INTO access_keys (access_key, project_id, secret_encrypted, enabled, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&k.access_key).bind(&k.project_id).bind(&k.secret_encrypted).bind(i64::from(k.enabled))
            .bind(ms(k.created_at)).bind(k.expires_at.map(ms))
            .execute(&mut *tx).await.map_err(write_error("access key"))?;
        tx.commit().await.map_err(backend)
    }

    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKey>, StoreError> {
        self.one("SELECT * FROM access_keys WHERE access_key = ?", access_key, key_from).await
    }

    async fn list_access_keys(&self, project_id: &str) -> Result<Vec<AccessKey>, StoreError> {
        self.all(
            "SELECT * FROM access_keys WHERE project_id = ? ORDER BY created_at, access_key",
            &[Some(project_id)],
            key_from,
        )
        .await
    }

    async fn set_access_key_enabled(
        &self,
        access_key: &str,
        enabled: bool,
        max_active: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let project: Option<String> = sqlx::query_scalar("SELECT project_id FROM access_keys WHERE access_key = ?")
            .bind(access_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let project = project.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE access_keys SET enabled = ? WHERE access_key = ?")
            .bind(i64::from(enabled))
            .bind(access_key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if enabled && active_keys(&mut tx, &project, now).await? > max_active {
            return Err(StoreError::Conflict("active keys per project"));
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_access_key(&self, access_key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM access_keys WHERE access_key = ?")
            .bind(access_key)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn claim_request(
        &self,
        access_key: &str,
        signature: &str,
        seen_at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<RequestClaim, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let first =
            first_sighting(&mut tx, REQUEST_OUTCOMES, (access_key, signature), (seen_at, forget_before)).await?;
        let claim = if first {
            RequestClaim::New
        } else {
            let row = sqlx::query(
                "SELECT status, content_type, body FROM request_outcomes WHERE access_key = ? AND signature = ?",
            )
            .bind(access_key)
            .bind(signature)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            match row.try_get::<Option<i64>, _>("status").map_err(backend)? {
                None => RequestClaim::Running,
                Some(status) => RequestClaim::Answered(RequestOutcome {
                    status: status as u16,
                    content_type: row.try_get("content_type").map_err(backend)?,
                    body: row.try_get::<Option<Vec<u8>>, _>("body").map_err(backend)?.unwrap_or_default(),
                }),
            }
        };
        tx.commit().await.map_err(backend)?;
        Ok(claim)
    }

    async fn record_outcome(
        &self,
        access_key: &str,
        signature: &str,
        outcome: &RequestOutcome,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE request_outcomes SET status = ?, content_type = ?, body = ? WHERE access_key = ? AND signature = ?",
        )
        .bind(i64::from(outcome.status))
        .bind(&outcome.content_type)
        .bind(&outcome.body)
        .bind(access_key)
        .bind(signature)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn remember_nonce(
        &self,
        access_key: &str,
        nonce: &str,
        seen_at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let first = first_sighting(&mut tx, REQUEST_NONCES, (access_key, nonce), (seen_at, forget_before)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(first)
    }

    async fn insert_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (at, dialect, project_id, access_key, action, target, status, outcome, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(ms(e.at)).bind(&e.dialect).bind(&e.project_id).bind(&e.access_key).bind(&e.action)
            .bind(&e.target).bind(i64::from(e.status)).bind(&e.outcome).bind(&e.request_id)
            .execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE (?1 IS NULL OR project_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .bind(&q.project_id)
        .bind(q.after_id.unwrap_or(0))
        .bind(i64::from(q.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(audit_from).collect()
    }

    async fn catalog_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM catalog_settings WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn init_catalog_setting(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        sqlx::query("INSERT INTO catalog_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(sealed)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let stored = sqlx::query_scalar("SELECT value FROM catalog_settings WHERE name = ?")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn reseal_secrets(&self, old: &Cipher, new: &Cipher) -> Result<u64, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let keys = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT access_key, secret_encrypted FROM access_keys",
            "UPDATE access_keys SET secret_encrypted = ? WHERE access_key = ?",
            "the secret of access key",
        )
        .await?;
        let passwords = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT id, password_encrypted FROM clusters WHERE password_encrypted IS NOT NULL",
            "UPDATE clusters SET password_encrypted = ? WHERE id = ?",
            "the password of cluster",
        )
        .await?;
        let profiles = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT id, secret_sealed FROM storage_profiles WHERE secret_sealed IS NOT NULL",
            "UPDATE storage_profiles SET secret_sealed = ? WHERE id = ?",
            "the secret of storage profile",
        )
        .await?;
        reseal_rows(
            &mut tx,
            (old, new),
            "SELECT name, value FROM catalog_settings",
            "UPDATE catalog_settings SET value = ? WHERE name = ?",
            "the catalog setting",
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(keys + passwords + profiles)
    }
}

/// Re-seals, from the first cipher to the second, every `(id, sealed)` row `select` returns,
/// writing each with `update` (`SET sealed = ? WHERE id = ?`). Returns how many.
async fn reseal_rows(
    tx: &mut Transaction<'_, Sqlite>,
    (old, new): (&Cipher, &Cipher),
    select: &str,
    update: &str,
    what: &str,
) -> Result<u64, StoreError> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(select).fetch_all(&mut **tx).await.map_err(backend)?;
    for (id, sealed) in &rows {
        let resealed = reseal(old, new, sealed, &format!("{what} {id}"))?;
        sqlx::query(update).bind(resealed).bind(id).execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapkeep_core::{Project, Store};

    fn at(ms: i64) -> DateTime<Utc> {
        time(1_800_000_000_000 + ms)
    }

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("catalog.db")).await.unwrap();
        store.insert_project(&Project { id: "p".into(), name: "proj".into(), created_at: at(0) }).await.unwrap();
        (store, dir)
    }

    fn key(id: &str, cipher: &Cipher, created: i64) -> AccessKey {
        AccessKey {
            access_key: id.into(),
            project_id: "p".into(),
            secret_encrypted: cipher.seal(&format!("secret of {id}")),
            enabled: true,
            created_at: at(created),
            expires_at: None,
        }
    }

    fn cipher() -> Cipher {
        Cipher::from_base64(&Cipher::generate_key()).unwrap()
    }

    #[tokio::test]
    async fn a_project_has_at_most_two_active_keys_and_a_refused_rotation_changes_nothing() {
        let (store, _dir) = store().await;
        let c = cipher();
        store.insert_access_key(&key("A", &c, 0), None, 2).await.unwrap();
        store.insert_access_key(&key("B", &c, 1), None, 2).await.unwrap();
        assert!(matches!(store.insert_access_key(&key("C", &c, 2), None, 2).await, Err(StoreError::Conflict(_))));
        let refused = store.insert_access_key(&key("C", &c, 2), Some(("A", at(10_000))), 2).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))));
        assert_eq!(store.get_access_key("A").await.unwrap().unwrap().expires_at, None, "rolled back");
        // Retired at once, A no longer counts.
        store.insert_access_key(&key("C", &c, 2), Some(("A", at(2))), 2).await.unwrap();
        assert_eq!(store.get_access_key("A").await.unwrap().unwrap().expires_at, Some(at(2)));
        store.set_access_key_enabled("B", false, 2, at(3)).await.unwrap();
        store.insert_access_key(&key("D", &c, 4), None, 2).await.unwrap();
        assert!(matches!(store.set_access_key_enabled("B", true, 2, at(5)).await, Err(StoreError::Conflict(_))));
        assert!(!store.get_access_key("B").await.unwrap().unwrap().enabled, "refused enable changed nothing");
        assert!(matches!(store.set_access_key_enabled("nope", true, 2, at(5)).await, Err(StoreError::NotFound)));
    }

    #[tokio::test]
    async fn a_nonce_is_taken_once_per_key_until_forgotten() {
        let (store, _dir) = store().await;
        assert!(store.remember_nonce("A", "n1", at(0), at(-1)).await.unwrap());
        assert!(!store.remember_nonce("A", "n1", at(1), at(-1)).await.unwrap());
        assert!(store.remember_nonce("B", "n1", at(1), at(-1)).await.unwrap(), "nonces are per key");
        assert!(store.remember_nonce("A", "n1", at(100), at(50)).await.unwrap(), "forgotten after its window");
    }

    #[tokio::test]
    async fn resealing_is_all_or_nothing() {
        let (store, _dir) = store().await;
        let (old, new) = (cipher(), cipher());
        store.insert_access_key(&key("A", &old, 0), None, 2).await.unwrap();
        store.insert_access_key(&key("B", &new, 0), None, 2).await.unwrap();
        store.init_catalog_setting("check", &old.seal("check")).await.unwrap();
        assert_eq!(old.open(&store.init_catalog_setting("check", &new.seal("x")).await.unwrap()).unwrap(), "check");
        assert!(matches!(store.reseal_secrets(&old, &new).await, Err(StoreError::Corrupt(_))), "B does not open");
        let a = store.get_access_key("A").await.unwrap().unwrap();
        assert_eq!(old.open(&a.secret_encrypted).unwrap(), "secret of A", "A was left as it was");
        store.delete_access_key("B").await.unwrap();
        assert_eq!(store.reseal_secrets(&old, &new).await.unwrap(), 1);
        let a = store.get_access_key("A").await.unwrap().unwrap();
        assert_eq!(new.open(&a.secret_encrypted).unwrap(), "secret of A");
        assert_eq!(new.open(&store.catalog_setting("check").await.unwrap().unwrap()).unwrap(), "check");
    }

    #[tokio::test]
    async fn the_integrity_key_is_made_once_and_outlives_a_master_key_rotation() {
        let (store, _dir) = store().await;
        let (old, new) = (cipher(), cipher());
        snapkeep_core::verify_master_key(&store, &old).await.unwrap();
        let key = snapkeep_core::integrity_key(&store, &old).await.unwrap();
        assert_eq!(snapkeep_core::integrity_key(&store, &old).await.unwrap(), key, "made once");
        snapkeep_core::rotate_master_key(&store, &old, &new).await.unwrap();
        assert_eq!(snapkeep_core::integrity_key(&store, &new).await.unwrap(), key, "the same key after rotation");
        let refused = snapkeep_core::integrity_key(&store, &old).await;
        assert!(matches!(refused, Err(snapkeep_core::CoreError::WrongMasterKey)), "{refused:?}");
    }

    #[tokio::test]
    async fn the_audit_log_pages_by_id_and_filters_by_project() {
        let (store, _dir) = store().await;
        for (i, project) in [Some("p"), None, Some("q"), Some("p")].into_iter().enumerate() {
            let entry = AuditEntry {
                id: 0,
                at: at(i as i64),
                dialect: "css".into(),
                project_id: project.map(str::to_owned),
                access_key: "AK".into(),
                action: format!("A{i}"),
                target: "c".into(),
                status: 200,
                outcome: "ok".into(),
                request_id: format!("r{i}"),
            };
            store.insert_audit(&entry).await.unwrap();
        }
        let all = store.list_audit(&AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
        assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["A0", "A1", "A2", "A3"]);
        let p = AuditQuery { project_id: Some("p".into()), after_id: Some(all[0].id), limit: 10 };
        assert_eq!(store.list_audit(&p).await.unwrap().iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["A3"]);
    }
}
