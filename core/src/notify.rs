//! Notifications: the webhook of each project and the global one, the events snapkeep posts to
//! them, and their durable delivery.
//!
//! Events (`EventKind`): a snapshot failed, a restore ended, retention deleted snapshots (from
//! operations as they finish), and a cluster turned `late` or `failing` (from the fleet view,
//! compared with the protection last recorded). An event becomes one delivery row per matching
//! webhook in the same transaction that marks its source as notified, so it is never lost and
//! never made twice, whichever replica sees it first. Deliveries are posted by a worker apart
//! from every snapshot job, signed (`X-Snapkeep-Signature`, HMAC-SHA256 of `<t>.<body>` under the
//! webhook's secret, as Stripe and GitHub sign theirs), and retried with capped exponential
//! backoff until `MAX_DELIVERY_ATTEMPTS`. A webhook's URL, secret and headers are sealed with
//! the master key like every other secret, and never shown again.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::error::{CoreError, NotFound};
use crate::fleet::Protection;
use crate::model::{Operation, OperationKind, OperationPhase};
use crate::secrets::{hmac_sha256_hex, random_hex_token};
use crate::snapkeep::Snapkeep;

/// Attempts after which a delivery is given up (`failed`): with the backoff below, the last is
/// about 3 h 25 min after the first.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 12;
/// The first retry's delay; each further one doubles, up to `MAX_RETRY_DELAY`.
const FIRST_RETRY_DELAY: Duration = Duration::seconds(10);
const MAX_RETRY_DELAY: Duration = Duration::hours(1);
/// How long a claimed delivery is held by its replica before another may post it.
const DELIVERY_LEASE: Duration = Duration::seconds(60);
/// Deliveries of one webhook posted at once: a receiver that does not answer holds only these.
const PER_WEBHOOK: u32 = 4;
/// The fewest characters an operator-chosen signing secret has.
const MIN_SECRET_CHARS: usize = 16;
/// Operations turned into events per round.
const EVENTS_PER_ROUND: u32 = 200;

/// What happened, as the `type` of the event posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SnapshotFailed,
    RestoreEnded,
    /// Automatic snapshots deleted by retention (or by a policy disabled with `deleteAuto`); its
    /// `outcome` says whether all went (`failed`: some may remain, `reason` says why).
    RetentionDeleted,
    ClusterLate,
    ClusterFailing,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SnapshotFailed => "snapshot.failed",
            Self::RestoreEnded => "restore.ended",
            Self::RetentionDeleted => "retention.deleted",
            Self::ClusterLate => "cluster.late",
            Self::ClusterFailing => "cluster.failing",
        }
    }
}

/// A webhook as stored: one per project, or the global one (`project_id` none) that gets every
/// project's events. Its URL, signing secret and extra headers are sealed.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub project_id: Option<String>,
    /// `scheme://host[:port]` of the URL, the only part ever shown.
    pub url_origin: String,
    pub url_sealed: Vec<u8>,
    pub secret_sealed: Vec<u8>,
    /// The extra headers as a sealed JSON object, when there are any.
    pub headers_sealed: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// A webhook to set: where to post, the signing secret (generated when none is given, at least
/// `MIN_SECRET_CHARS` characters otherwise) and extra headers (an `Authorization` for example).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub project_id: Option<String>,
    pub url: String,
    pub secret: Option<String>,
    pub headers: BTreeMap<String, String>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after `MAX_DELIVERY_ATTEMPTS`.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// One event to one webhook. `event_id` is the same for every webhook and every retry, so a
/// receiver can tell a retry it already took.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    /// `EventKind::as_str`.
    pub event: String,
    /// The JSON posted.
    pub body: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Until when the replica that claimed it holds it (its result is written only while the
    /// claim is still this one).
    pub claimed_until: Option<DateTime<Utc>>,
}

/// A claimed delivery, opened and signed, ready to post.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery: Delivery,
    pub url: String,
    /// The webhook's own headers, then `Content-Type` and the `X-Snapkeep-*` headers.
    pub headers: Vec<(String, String)>,
}

/// An event before it is fanned out to the webhooks.
struct Event {
    id: String,
    kind: EventKind,
    project_id: String,
    body: Value,
}

impl Snapkeep {
    /// Sets the webhook of `new.project_id` (the global one when none); one set before keeps its
    /// id and its pending deliveries, which go to the new target signed with the new secret. Returns it with the generated secret, shown this once.
    /// Errors: `Invalid` for a URL that is not http(s) with a host, a short secret or a bad or
    /// reserved header; `NotFound` for an unknown project.
    pub async fn set_webhook(&self, new: NewWebhook) -> Result<(Webhook, Option<String>), CoreError> {
        if let Some(project) = &new.project_id {
            self.project(project).await?;
        }
        let origin = url_origin(&new.url)?;
        check_headers(&new.headers)?;
        let generated = new.secret.is_none().then(random_hex_token);
        let secret = new.secret.as_deref().or(generated.as_deref()).unwrap_or_default();
        if secret.chars().count() < MIN_SECRET_CHARS {
            let message = format!("the signing secret needs at least {MIN_SECRET_CHARS} characters");
            return Err(CoreError::invalid("secret", message));
        }
        let headers = if new.headers.is_empty() {
            None
        } else {
            Some(self.seal(&serde_json::to_string(&new.headers).unwrap_or_default())?)
        };
        let webhook = Webhook {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: new.project_id,
            url_origin: origin,
            url_sealed: self.seal(&new.url)?,
            secret_sealed: self.seal(secret)?,
            headers_sealed: headers,
            created_at: self.clock.now(),
        };
        let webhook = self.store.put_webhook(&webhook).await?;
        Ok((webhook, generated))
    }

    /// Every webhook, the global one first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, CoreError> {
        Ok(self.store.list_webhooks().await?)
    }

    /// The webhook of `project_id` (the global one when none); `NotFound` when there is none.
    pub async fn webhook(&self, project_id: Option<&str>) -> Result<Webhook, CoreError> {
        let found = self.store.list_webhooks().await?.into_iter().find(|w| w.project_id.as_deref() == project_id);
        found.ok_or(CoreError::NotFound(NotFound::Webhook))
    }

    /// Removes the webhook of `project_id` (the global one when none) and its deliveries.
    pub async fn delete_webhook(&self, project_id: Option<&str>) -> Result<(), CoreError> {
        if self.store.delete_webhook(project_id).await? { Ok(()) } else { Err(CoreError::NotFound(NotFound::Webhook)) }
    }

    /// The newest `limit` deliveries of webhook `webhook_id`.
    pub async fn deliveries(&self, webhook_id: &str, limit: u32) -> Result<Vec<Delivery>, CoreError> {
        Ok(self.store.list_deliveries(webhook_id, limit.clamp(1, 1000)).await?)
    }

    /// Turns operations that ended since the last round into deliveries; returns how many
    /// operations it looked at (each is marked notified, with or without an event).
    pub async fn notify_finished_operations(&self) -> Result<usize, CoreError> {
        let operations = self.store.unnotified_operations(EVENTS_PER_ROUND).await?;
        if operations.is_empty() {
            return Ok(0);
        }
        let webhooks = self.store.list_webhooks().await?;
        for op in &operations {
            let deliveries = match self.operation_event(op).await? {
                Some(event) => self.deliveries_of(&event, &webhooks),
                None => Vec::new(),
            };
            self.store.mark_notified(&op.id, &deliveries).await?;
        }
        Ok(operations.len())
    }

    /// Records every cluster's protection where it changed, with a `cluster.late` or
    /// `cluster.failing` event when it turned to one; returns how many changed. A cluster seen
    /// for the first time is recorded, with an event only when it is already late or failing.
    pub async fn watch_protection(&self) -> Result<usize, CoreError> {
        let fleet = self.fleet(None, None).await?;
        let known = self.store.protection_states().await?;
        let webhooks = self.store.list_webhooks().await?;
        let now = self.clock.now();
        let mut changed = 0;
        for health in &fleet {
            let before = known.get(&health.cluster.id).map(String::as_str);
            let after = health.protection.as_str();
            if before == Some(after) {
                continue;
            }
            let deliveries = match protection_event(health, before, now) {
                Some(event) => self.deliveries_of(&event, &webhooks),
                None => Vec::new(),
            };
            if self.store.change_protection(&health.cluster.id, (before, after), now, &deliveries).await? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Claims up to `limit` deliveries that are due, opened and signed for posting.
    pub async fn claim_deliveries(&self, limit: u32) -> Result<Vec<Outgoing>, CoreError> {
        let now = self.clock.now();
        let claimed = self.store.claim_deliveries(now, now + DELIVERY_LEASE, (limit, PER_WEBHOOK)).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for (delivery, webhook) in claimed {
            match self.outgoing(delivery.clone(), &webhook, now) {
                Ok(outgoing) => out.push(outgoing),
                Err(e) => self.delivery_ended(delivery, Err(format!("the webhook cannot be opened: {e}"))).await?,
            }
        }
        Ok(out)
    }

    /// Records how a post of `delivery` went: `Ok(status)` for any HTTP answer (2xx delivers it),
    /// `Err(reason)` when none came. A failure is retried later, or given up after
    /// `MAX_DELIVERY_ATTEMPTS`.
    pub async fn delivery_ended(&self, mut delivery: Delivery, outcome: Result<u16, String>) -> Result<(), CoreError> {
        let now = self.clock.now();
        delivery.attempts += 1;
        let error = match outcome {
            Ok(status) if (200..300).contains(&status) => None,
            Ok(status) => Some(format!("the receiver answered HTTP {status}")),
            Err(reason) => Some(reason),
        };
        delivery.state = match &error {
            None => DeliveryState::Delivered,
            Some(_) if delivery.attempts >= MAX_DELIVERY_ATTEMPTS => DeliveryState::Failed,
            Some(_) => DeliveryState::Pending,
        };
        delivery.delivered_at = error.is_none().then_some(now);
        delivery.next_attempt_at = now + retry_delay(delivery.attempts);
        if let Some(reason) = &error {
            tracing::warn!(delivery = %delivery.id, event = %delivery.event, attempts = delivery.attempts, state = delivery.state.as_str(), "webhook delivery failed: {reason}");
        }
        delivery.last_error = error;
        if self.store.finish_delivery(&delivery).await? {
            self.metrics().webhook_delivery(delivery.state);
        } else {
            tracing::warn!(delivery = %delivery.id, "a webhook delivery's claim lapsed before its post ended; the replica holding it now records it");
        }
        Ok(())
    }

    fn outgoing(&self, delivery: Delivery, webhook: &Webhook, now: DateTime<Utc>) -> Result<Outgoing, CoreError> {
        let url = self.cipher.open(&webhook.url_sealed)?;
        let secret = self.cipher.open(&webhook.secret_sealed)?;
        let mut headers: Vec<(String, String)> = match &webhook.headers_sealed {
            Some(sealed) => {
                let map: BTreeMap<String, String> = serde_json::from_str(&self.cipher.open(sealed)?)
                    .map_err(|e| CoreError::Store(crate::StoreError::Corrupt(format!("webhook headers: {e}"))))?;
                map.into_iter().collect()
            }
            None => Vec::new(),
        };
        let timestamp = now.timestamp();
        headers.extend([
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Snapkeep-Event".to_owned(), delivery.event.clone()),
            ("X-Snapkeep-Event-Id".to_owned(), delivery.event_id.clone()),
            ("X-Snapkeep-Delivery".to_owned(), delivery.id.clone()),
            ("X-Snapkeep-Signature".to_owned(), signature(&secret, timestamp, &delivery.body)),
        ]);
        Ok(Outgoing { delivery, url, headers })
    }

    /// The event `op` (an ended operation) makes, if any.
    async fn operation_event(&self, op: &Operation) -> Result<Option<Event>, CoreError> {
        let kind = match (op.kind, op.phase) {
            (OperationKind::CreateSnapshot, OperationPhase::Failed) => EventKind::SnapshotFailed,
            (OperationKind::RestoreSnapshot, _) => EventKind::RestoreEnded,
            (OperationKind::DeleteSnapshots, _) => EventKind::RetentionDeleted,
            _ => return Ok(None),
        };
        let Some(cluster) = self.store.get_cluster(&op.cluster_id).await? else { return Ok(None) };
        let snapshot = self.store.get_snapshot(&op.snapshot_id).await?;
        let mut body = json!({
            "cluster": {"id": cluster.id, "name": cluster.name, "engine": cluster.flavor.as_str()},
            "operation_id": op.id,
            "outcome": op.phase.as_str(),
            "reason": op.last_error,
            "at": op.finished_at,
        });
        if kind == EventKind::RetentionDeleted {
            body["snapshot_ids"] = json!(op.batch);
        } else {
            body["snapshot"] = json!({"id": op.snapshot_id, "name": snapshot.map(|s| s.name)});
        }
        let event = Event { id: format!("operation-{}", op.id), kind, project_id: cluster.project_id, body };
        Ok(Some(event))
    }

    /// One pending delivery of `event` per webhook it goes to: its project's and the global one.
    fn deliveries_of(&self, event: &Event, webhooks: &[Webhook]) -> Vec<Delivery> {
        let now = self.clock.now();
        let mut body = json!({"id": event.id, "type": event.kind.as_str(), "project_id": event.project_id});
        if let (Some(out), Some(fields)) = (body.as_object_mut(), event.body.as_object()) {
            out.extend(fields.clone());
        }
        webhooks
            .iter()
            .filter(|w| w.project_id.as_deref().is_none_or(|p| p == event.project_id))
            .map(|w| Delivery {
                id: uuid::Uuid::new_v4().to_string(),
                webhook_id: w.id.clone(),
                event_id: event.id.clone(),
                event: event.kind.as_str().to_owned(),
                body: body.to_string(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
                delivered_at: None,
                claimed_until: None,
            })
            .collect()
    }
}

/// The event of a cluster whose protection went from `before` (none when first seen) to
/// `health.protection`: only turning late or failing makes one.
fn protection_event(health: &crate::fleet::ClusterHealth, before: Option<&str>, now: DateTime<Utc>) -> Option<Event> {
    let kind = match health.protection {
        Protection::Late => EventKind::ClusterLate,
        Protection::Failing => EventKind::ClusterFailing,
        Protection::Protected | Protection::Unprotected => return None,
    };
    let cluster = &health.cluster;
    let body = json!({
        "cluster": {"id": cluster.id, "name": cluster.name, "engine": cluster.flavor.as_str()},
        "protection": health.protection.as_str(),
        "previous": before,
        "last_success_at": health.last_success.as_ref().map(|s| s.at),
        "last_failure": health.last_failure.as_ref().map(|f| json!({"operation_id": f.operation_id, "reason": f.reason, "at": f.at})),
        "at": now,
    });
    let id = format!("cluster-{}-{}-{}", cluster.id, health.protection.as_str(), now.timestamp_millis());
    Some(Event { id, kind, project_id: cluster.project_id.clone(), body })
}

/// The delay before attempt `attempts + 1`: 10 s doubled per attempt, capped at an hour.
fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_RETRY_DELAY * 2_i32.pow(doublings)).min(MAX_RETRY_DELAY)
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", hmac_sha256_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes()))
}

/// `scheme://host[:port]` of an http(s) URL with a host; `Invalid` otherwise.
fn url_origin(text: &str) -> Result<String, CoreError> {
    let url = url::Url::parse(text).map_err(|e| CoreError::invalid("url", format!("not a URL: {e}")))?;
    let http = matches!(url.scheme(), "http" | "https");
    match url.host_str() {
        Some(_) if http => Ok(url.origin().ascii_serialization()),
        _ => Err(CoreError::invalid("url", "a webhook URL is http:// or https:// with a host")),
    }
}

/// Headers snapkeep sets itself, or that would change how the signed body is framed or routed
/// (RFC 9110's connection-specific and framing fields).
const RESERVED_HEADERS: [&str; 11] = [
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Header names are HTTP tokens, each once whatever its case, and neither reserved nor
/// `Proxy-*` nor `X-Snapkeep-*`; values are visible ASCII.
fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), CoreError> {
    let mut seen = std::collections::HashSet::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let token =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let reserved = RESERVED_HEADERS.contains(&lower.as_str())
            || lower.starts_with("proxy-")
            || lower.starts_with("x-snapkeep-");
        if !token || reserved || !seen.insert(lower) {
            return Err(CoreError::invalid("headers", format!("header {name:?} cannot be set on a webhook")));
        }
        if !value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(CoreError::invalid("headers", format!("the value of header {name} is not visible ASCII")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_ten_seconds_up_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::seconds(10));
        assert_eq!(retry_delay(2), Duration::seconds(20));
        assert_eq!(retry_delay(5), Duration::seconds(160));
        assert_eq!(retry_delay(MAX_DELIVERY_ATTEMPTS), Duration::hours(1));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_body() {
        // RFC 4231-style check against an independent computation of the same construction.
        use hmac::{Hmac, Mac};
        let signed = signature("key", 1_700_000_000, "{}");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.{}");
        assert_eq!(signed, format!("t=1700000000,v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(signed, signature("key", 1_700_000_000, "{ }"), "the body is bound");
        assert_ne!(signed, signature("key", 1_700_000_001, "{}"), "the time is bound");
    }

    #[test]
    fn only_http_urls_with_a_host_are_taken_and_only_their_origin_is_shown() {
        assert_eq!(url_origin("https://hooks.example:8443/p/T0KEN?x=1").unwrap(), "https://hooks.example:8443");
        for bad in ["ftp://h/x", "file:///etc/passwd", "https://", "not a url", "unix:/run/x"] {
            assert!(url_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(check_headers(&one("Authorization", "Bearer abc")).is_ok());
        for (k, v) in [
            ("X-Snapkeep-Signature", "x"),
            ("Content-Type", "x"),
            ("Transfer-Encoding", "chunked"),
            ("Proxy-Authorization", "x"),
            ("Bad Name", "x"),
            ("A", "line\nbreak"),
        ] {
            assert!(check_headers(&one(k, v)).is_err(), "{k}: {v:?}");
        }
        let twice = BTreeMap::from([
            ("Authorization".to_owned(), "a".to_owned()),
            ("authorization".to_owned(), "b".to_owned()),
        ]);
        assert!(check_headers(&twice).is_err(), "one name given twice, in two cases");
    }
}
