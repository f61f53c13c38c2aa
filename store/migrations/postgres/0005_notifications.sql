-- Notifications: each project's webhook and the global one (project_id null), their sealed
-- targets, and the outbox of deliveries the notifier posts.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    project_id      TEXT REFERENCES projects(id) ON DELETE CASCADE,
    url_origin      TEXT NOT NULL,
    url_sealed      BYTEA NOT NULL,
    secret_sealed   BYTEA NOT NULL,
    headers_sealed  BYTEA,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX webhooks_scope ON webhooks(COALESCE(project_id, ''));

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries(webhook_id, created_at DESC);

-- Operations an event was made of; those that ended before notifications existed made none.
ALTER TABLE operations ADD COLUMN notified BIGINT NOT NULL DEFAULT 0;
UPDATE operations SET notified = 1 WHERE finished_at IS NOT NULL;
CREATE INDEX operations_unnotified ON operations(finished_at) WHERE notified = 0 AND finished_at IS NOT NULL;

-- The protection each cluster was last recorded with, to notice it turning late or failing.
CREATE TABLE cluster_protection (
    cluster_id  TEXT PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    protection  TEXT NOT NULL,
    changed_at  BIGINT NOT NULL
);
