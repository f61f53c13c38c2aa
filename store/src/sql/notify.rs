//! Webhooks and the outbox of their deliveries in the catalog; the protection each cluster was
//! last recorded with; which ended operations an event was made of.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use snapkeep_core::{Delivery, DeliveryState, NotifyStore, Operation, StoreError, Webhook};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Lock, OPERATION_COLUMNS, SqlStore, backend, corrupt, ms, operation_from, placeholders, time, write_error};

const WEBHOOK_COLUMNS: &str = "w.id AS webhook_id, w.project_id, w.url_origin, w.url_sealed, w.secret_sealed, \
                               w.headers_sealed, w.created_at AS webhook_created_at";
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_id, d.event, d.body, d.state, d.attempts, \
                                d.next_attempt_at, d.last_error, d.created_at, d.delivered_at, d.claimed_until";

fn webhook_from(row: &AnyRow) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: row.try_get("webhook_id").map_err(backend)?,
        project_id: row.try_get("project_id").map_err(backend)?,
        url_origin: row.try_get("url_origin").map_err(backend)?,
        url_sealed: row.try_get("url_sealed").map_err(backend)?,
        secret_sealed: row.try_get("secret_sealed").map_err(backend)?,
        headers_sealed: row.try_get("headers_sealed").map_err(backend)?,
        created_at: time(row.try_get("webhook_created_at").map_err(backend)?),
    })
}

fn delivery_from(row: &AnyRow) -> Result<Delivery, StoreError> {
    let state: String = row.try_get("state").map_err(backend)?;
    Ok(Delivery {
        id: row.try_get("id").map_err(backend)?,
        webhook_id: row.try_get("webhook_id").map_err(backend)?,
        event_id: row.try_get("event_id").map_err(backend)?,
        event: row.try_get("event").map_err(backend)?,
        body: row.try_get("body").map_err(backend)?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state", &state))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(backend)?).unwrap_or(u32::MAX),
        next_attempt_at: time(row.try_get("next_attempt_at").map_err(backend)?),
        last_error: row.try_get("last_error").map_err(backend)?,
        created_at: time(row.try_get("created_at").map_err(backend)?),
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at").map_err(backend)?.map(time),
        claimed_until: row.try_get::<Option<i64>, _>("claimed_until").map_err(backend)?.map(time),
    })
}

/// Inserts `deliveries`; one already made of the same event for the same webhook is kept.
async fn insert_deliveries(tx: &mut Transaction<'_, Any>, deliveries: &[Delivery]) -> Result<(), StoreError> {
    for d in deliveries {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event, body, state, attempts,
                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (webhook_id, event_id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.webhook_id)
        .bind(&d.event_id)
        .bind(&d.event)
        .bind(&d.body)
        .bind(d.state.as_str())
        .bind(i64::from(d.attempts))
        .bind(ms(d.next_attempt_at))
        .bind(ms(d.created_at))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl NotifyStore for SqlStore {
    async fn put_webhook(&self, w: &Webhook) -> Result<Webhook, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let read = format!(
            "SELECT id FROM webhooks WHERE COALESCE(project_id, '') = COALESCE($1, ''){}",
            self.lock(Lock::Update)
        );
        let existing: Option<String> =
            sqlx::query_scalar(&read).bind(&w.project_id).fetch_optional(&mut *tx).await.map_err(backend)?;
        let id = existing.unwrap_or_else(|| w.id.clone());
        sqlx::query(
            "INSERT INTO webhooks (id, project_id, url_origin, url_sealed, secret_sealed, headers_sealed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET url_origin = excluded.url_origin, url_sealed = excluded.url_sealed,
                 secret_sealed = excluded.secret_sealed, headers_sealed = excluded.headers_sealed",
        )
        .bind(&id)
        .bind(&w.project_id)
        .bind(&w.url_origin)
        .bind(&w.url_sealed)
        .bind(&w.secret_sealed)
        .bind(&w.headers_sealed)
        .bind(ms(w.created_at))
        .execute(&mut *tx)
        .await
        .map_err(write_error("webhook of the project"))?;
        tx.commit().await.map_err(backend)?;
        Ok(Webhook { id, ..w.clone() })
    }

    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let read = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w ORDER BY COALESCE(w.project_id, ''), w.id");
        let rows = sqlx::query(&read).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(webhook_from).collect()
    }

    async fn delete_webhook(&self, project_id: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE COALESCE(project_id, '') = COALESCE($1, '')")
            .bind(project_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn unnotified_operations(&self, limit: u32) -> Result<Vec<Operation>, StoreError> {
        let read = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE notified = 0 AND finished_at IS NOT NULL
             ORDER BY finished_at, id LIMIT $1"
        );
        let rows = sqlx::query(&read).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(operation_from).collect()
    }

    async fn mark_notified(&self, id: &str, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        let marked = sqlx::query("UPDATE operations SET notified = 1 WHERE id = $1 AND notified = 0")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if marked.rows_affected() == 1 {
            insert_deliveries(&mut tx, deliveries).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn protection_states(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT cluster_id, protection FROM cluster_protection")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| Ok((r.try_get("cluster_id").map_err(backend)?, r.try_get("protection").map_err(backend)?)))
            .collect()
    }

    async fn change_protection(
        &self,
        cluster_id: &str,
        (before, after): (Option<&str>, &str),
        at: DateTime<Utc>,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await.map_err(backend)?;
        if !self.lock_row(&mut tx, ("clusters", cluster_id), Lock::Share).await? {
            return Ok(false);
        }
        let write = match before {
            None => {
                "INSERT INTO cluster_protection (cluster_id, protection, changed_at) VALUES ($1, $2, $3)
                     ON CONFLICT (cluster_id) DO NOTHING"
            }
            Some(_) => {
                "UPDATE cluster_protection SET protection = $2, changed_at = $3
                        WHERE cluster_id = $1 AND protection = $4"
            }
        };
        let mut query = sqlx::query(write).bind(cluster_id).bind(after).bind(ms(at));
        if let Some(before) = before {
            query = query.bind(before);
        }
        if query.execute(&mut *tx).await.map_err(backend)?.rows_affected() != 1 {
            return Ok(false);
        }
        insert_deliveries(&mut tx, deliveries).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        (limit, per_webhook): (u32, u32),
    ) -> Result<Vec<(Delivery, Webhook)>, StoreError> {
        // The outer statement checks the claim again on the row it locks: of two replicas that
        // picked the same delivery, the second finds it claimed and leaves it.
        let claim = "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN (
                 SELECT id FROM (SELECT id, next_attempt_at, ROW_NUMBER() OVER (PARTITION BY webhook_id
                         ORDER BY next_attempt_at, id) AS rank
                     FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $2
                     AND (claimed_until IS NULL OR claimed_until < $2)) due
                 WHERE rank <= $4 ORDER BY next_attempt_at LIMIT $3)
             AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $2)
             RETURNING id";
        let ids: Vec<String> = sqlx::query_scalar(claim)
            .bind(ms(until))
            .bind(ms(now))
            .bind(i64::from(limit))
            .bind(i64::from(per_webhook))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = format!(
            "SELECT {DELIVERY_COLUMNS}, {WEBHOOK_COLUMNS} FROM webhook_deliveries d
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.id IN ({}) ORDER BY d.next_attempt_at, d.id",
            placeholders(ids.len())
        );
        let rows = ids.iter().fold(sqlx::query(&read), |query, id| query.bind(id)).fetch_all(&self.pool).await;
        rows.map_err(backend)?.iter().map(|row| Ok((delivery_from(row)?, webhook_from(row)?))).collect()
    }

    async fn finish_delivery(&self, d: &Delivery) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4,
                 delivered_at = $5, claimed_until = NULL WHERE id = $6 AND claimed_until = $7",
        )
        .bind(d.state.as_str())
        .bind(i64::from(d.attempts))
        .bind(ms(d.next_attempt_at))
        .bind(&d.last_error)
        .bind(d.delivered_at.map(ms))
        .bind(&d.id)
        .bind(d.claimed_until.map(ms))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_deliveries(&self, webhook_id: &str, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let read = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1
             ORDER BY d.created_at DESC, d.id DESC LIMIT $2"
        );
        let rows =
            sqlx::query(&read).bind(webhook_id).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(delivery_from).collect()
    }
}
