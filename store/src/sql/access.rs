//! The catalog's side of `AccessStore`: access keys, request nonces, the audit log and the sealed
//! secrets.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use snapkeep_core::{
    AccessKey, AccessStore, Announcement, AuditEntry, AuditQuery, Cipher, ConsoleSession, Replica, RequestClaim,
    RequestOutcome, StoreError,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Lock, SqlStore, backend, ms, time, write_error};

fn session_from(row: &AnyRow) -> Result<ConsoleSession, StoreError> {
    Ok(ConsoleSession {
        token_hash: row.try_get("token_hash").map_err(backend)?,
        admin_tag: row.try_get("admin_tag").map_err(backend)?,
        created_at: time(row.try_get("created_at").map_err(backend)?),
        expires_at: time(row.try_get("expires_at").map_err(backend)?),
    })
}

fn key_from(row: &AnyRow) -> Result<AccessKey, StoreError> {
    Ok(AccessKey {
        access_key: row.try_get("access_key").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        secret_encrypted: row.try_get("secret_encrypted").map_err(backend)?,
        enabled: row.try_get::<i64, _>("enabled").map_err(backend)? != 0,
        created_at: time(row.try_get("created_at").map_err(backend)?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at").map_err(backend)?.map(time),
    })
}

fn replica_from(row: &AnyRow) -> Result<Replica, StoreError> {
    Ok(Replica {
        id: row.try_get("id").map_err(backend)?,
        version: row.try_get("version").map_err(backend)?,
        started_at: time(row.try_get("started_at").map_err(backend)?),
        seen_at: time(row.try_get("seen_at").map_err(backend)?),
        lease_ms: row.try_get("lease_ms").map_err(backend)?,
        clock_offset_ms: row.try_get("clock_offset_ms").map_err(backend)?,
    })
}

fn audit_from(row: &AnyRow) -> Result<AuditEntry, StoreError> {
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
async fn active_keys(tx: &mut Transaction<'_, Any>, project_id: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_keys WHERE project_id = $1 AND enabled = 1 AND (expires_at IS NULL OR expires_at > $2)",
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
    tx: &mut Transaction<'_, Any>,
    (table, column): Sightings,
    (access_key, value): (&str, &str),
    (seen_at, forget_before): (DateTime<Utc>, DateTime<Utc>),
) -> Result<bool, StoreError> {
    sqlx::query(&format!("DELETE FROM {table} WHERE seen_at < $1"))
        .bind(ms(forget_before))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO {table} (access_key, {column}, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    ))
    .bind(access_key)
    .bind(value)
    .bind(ms(seen_at))
    .execute(&mut **tx)
    .await
    .map_err(backend)?
    .rows_affected();
    Ok(inserted == 1)
}

impl SqlStore {
    /// Holds project `id` until the commit, so two writers never both count the same room under
    /// its limit of active keys (SQLite's write lock already orders them).
    async fn lock_project(&self, tx: &mut Transaction<'_, Any>, id: &str) -> Result<(), StoreError> {
        self.lock_row(tx, ("projects", id), Lock::Update).await.map(drop)
    }
}

/// Opens `sealed` with `old` and seals it again with `new`.
fn reseal(old: &Cipher, new: &Cipher, sealed: &[u8], what: &str) -> Result<Vec<u8>, StoreError> {
    let plain = old.open(sealed).map_err(|_| StoreError::Corrupt(format!("{what} does not open with the old key")))?;
    Ok(new.seal(&plain))
}

#[async_trait]
impl AccessStore for SqlStore {
    async fn insert_session(&self, session: &ConsoleSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, admin_tag, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&session.token_hash)
        .bind(&session.admin_tag)
        .bind(ms(session.created_at))
        .bind(ms(session.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn get_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
        self.one("SELECT * FROM console_sessions WHERE token_hash = $1", token_hash, session_from).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn insert_access_key(
        &self,
        k: &AccessKey,
        retiring: Option<(&str, DateTime<Utc>)>,
        max_active: usize,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        self.lock_project(&mut tx, &k.project_id).await?;
        if let Some((old, at)) = retiring {
            sqlx::query("UPDATE access_keys SET expires_at = $1 WHERE access_key = $2")
                .bind(ms(at))
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        if active_keys(&mut tx, &k.project_id, k.created_at).await? >= max_active {
            return Err(StoreError::Conflict("active keys per project"));
        }
        sqlx::query("INSERT INTO access_keys (access_key, project_id, secret_encrypted, enabled, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&k.access_key).bind(&k.project_id).bind(&k.secret_encrypted).bind(i64::from(k.enabled))
            .bind(ms(k.created_at)).bind(k.expires_at.map(ms))
            .execute(&mut *tx).await.map_err(write_error("access key"))?;
        tx.commit().await.map_err(backend)?;
        self.view.invalidate();
        Ok(())
    }

    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKey>, StoreError> {
        let read = self.one("SELECT * FROM access_keys WHERE access_key = $1", access_key, key_from);
        self.viewed(|v| &v.keys, access_key, read).await
    }

    async fn list_access_keys(&self, project_id: &str) -> Result<Vec<AccessKey>, StoreError> {
        self.all(
            "SELECT * FROM access_keys WHERE project_id = $1 ORDER BY created_at, access_key",
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
        let project: Option<String> = sqlx::query_scalar("SELECT project_id FROM access_keys WHERE access_key = $1")
            .bind(access_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let project = project.ok_or(StoreError::NotFound)?;
        self.lock_project(&mut tx, &project).await?;
        sqlx::query("UPDATE access_keys SET enabled = $1 WHERE access_key = $2")
            .bind(i64::from(enabled))
            .bind(access_key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if enabled && active_keys(&mut tx, &project, now).await? > max_active {
            return Err(StoreError::Conflict("active keys per project"));
        }
        tx.commit().await.map_err(backend)?;
        self.view.invalidate();
        Ok(())
    }

    async fn delete_access_key(&self, access_key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM access_keys WHERE access_key = $1")
            .bind(access_key)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        self.view.invalidate();
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
                "SELECT status, content_type, body FROM request_outcomes WHERE access_key = $1 AND signature = $2",
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
            "UPDATE request_outcomes SET status = $1, content_type = $2, body = $3 WHERE access_key = $4 AND signature = $5",
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

    /// Entries are written one at a time (under `audit_lock`'s row on PostgreSQL, the write
    /// lock on SQLite), so ids commit in their order: a reader paging with `after` never passes
    /// over an entry that commits after a later one.
    async fn insert_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let lock = format!("SELECT id FROM audit_lock{}", self.lock(Lock::Update));
        sqlx::query(&lock).fetch_optional(&mut *tx).await.map_err(backend)?;
        sqlx::query("INSERT INTO audit_log (at, dialect, project_id, access_key, action, target, status, outcome, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(ms(e.at)).bind(&e.dialect).bind(&e.project_id).bind(&e.access_key).bind(&e.action)
            .bind(&e.target).bind(i64::from(e.status)).bind(&e.outcome).bind(&e.request_id)
            .execute(&mut *tx).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let (read, from) = match q.before_id {
            Some(before) => (
                "SELECT * FROM audit_log WHERE ($1 IS NULL OR project_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
                before,
            ),
            None => (
                "SELECT * FROM audit_log WHERE ($1 IS NULL OR project_id = $1) AND id > $2 ORDER BY id LIMIT $3",
                q.after_id.unwrap_or(0),
            ),
        };
        let rows = sqlx::query(read)
            .bind(&q.project_id)
            .bind(from)
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(audit_from).collect()
    }

    async fn catalog_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM catalog_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn init_catalog_setting(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        sqlx::query("INSERT INTO catalog_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(sealed)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let stored = sqlx::query_scalar("SELECT value FROM catalog_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn put_catalog_setting(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO catalog_settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(sealed)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn reseal_secrets(&self, (old, new): (&Cipher, &Cipher), rotator: &str) -> Result<u64, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let hold = format!("SELECT name FROM catalog_settings{}", self.lock(Lock::Update));
        sqlx::query(&hold).fetch_all(&mut *tx).await.map_err(backend)?;
        let now = time(self.server_clock_ms(&mut tx).await?);
        refuse_live_replicas(&mut tx, rotator, now).await?;
        let keys = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT access_key, secret_encrypted FROM access_keys",
            "UPDATE access_keys SET secret_encrypted = $1 WHERE access_key = $2",
            "the secret of access key",
        )
        .await?;
        let passwords = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT id, password_encrypted FROM clusters WHERE password_encrypted IS NOT NULL",
            "UPDATE clusters SET password_encrypted = $1 WHERE id = $2",
            "the password of cluster",
        )
        .await?;
        let profiles = reseal_rows(
            &mut tx,
            (old, new),
            "SELECT id, secret_sealed FROM storage_profiles WHERE secret_sealed IS NOT NULL",
            "UPDATE storage_profiles SET secret_sealed = $1 WHERE id = $2",
            "the secret of storage profile",
        )
        .await?;
        let mut webhooks = 0;
        for column in ["url_sealed", "secret_sealed", "headers_sealed"] {
            let select = format!("SELECT id, {column} FROM webhooks WHERE {column} IS NOT NULL");
            let update = format!("UPDATE webhooks SET {column} = $1 WHERE id = $2");
            webhooks += reseal_rows(&mut tx, (old, new), &select, &update, "a sealed part of webhook").await?;
        }
        reseal_rows(
            &mut tx,
            (old, new),
            "SELECT name, value FROM catalog_settings",
            "UPDATE catalog_settings SET value = $1 WHERE name = $2",
            "the catalog setting",
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        self.view.invalidate();
        Ok(keys + passwords + profiles + webhooks)
    }

    async fn announce_replica(
        &self,
        replica: &Replica,
        (guard, read): (&str, &[u8]),
    ) -> Result<Announcement, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let held = format!("SELECT value FROM catalog_settings WHERE name = $1{}", self.lock(Lock::Share));
        let value: Option<Vec<u8>> =
            sqlx::query_scalar(&held).bind(guard).fetch_optional(&mut *tx).await.map_err(backend)?;
        if value.as_deref() != Some(read) {
            return Ok(Announcement::KeyChanged);
        }
        let server_ms = self.server_clock_ms(&mut tx).await?;
        sqlx::query(
            "INSERT INTO replicas (id, version, started_at, seen_at, lease_ms, clock_offset_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, started_at = excluded.started_at,
                 seen_at = excluded.seen_at, lease_ms = excluded.lease_ms,
                 clock_offset_ms = excluded.clock_offset_ms",
        )
        .bind(&replica.id)
        .bind(&replica.version)
        .bind(ms(replica.started_at))
        .bind(server_ms)
        .bind(replica.lease_ms)
        .bind(replica.clock_offset_ms)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Announcement::Recorded { server_time: time(server_ms) })
    }

    async fn list_replicas(&self) -> Result<Vec<Replica>, StoreError> {
        let rows = sqlx::query("SELECT * FROM replicas ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(replica_from).collect()
    }

    async fn forget_replica(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE id = $1").bind(id).execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }
}

/// `InUse`, naming them, when replicas other than `rotator` are live at `now`.
async fn refuse_live_replicas(
    tx: &mut Transaction<'_, Any>,
    rotator: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT * FROM replicas WHERE id <> $1 ORDER BY id").bind(rotator).fetch_all(&mut **tx);
    let replicas = rows.await.map_err(backend)?.iter().map(replica_from).collect::<Result<Vec<_>, _>>()?;
    let live: Vec<String> = replicas
        .iter()
        .filter(|r| r.is_live(now))
        .map(|r| format!("{} (last seen {})", r.id, r.seen_at.to_rfc3339_opts(SecondsFormat::Secs, true)))
        .collect();
    if live.is_empty() { Ok(()) } else { Err(StoreError::InUse(live.join(", "))) }
}

/// Re-seals, from the first cipher to the second, every `(id, sealed)` row `select` returns,
/// writing each with `update` (`SET sealed = ? WHERE id = ?`). Returns how many.
async fn reseal_rows(
    tx: &mut Transaction<'_, Any>,
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
