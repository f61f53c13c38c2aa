-- Idempotency tokens of dialects that have them (Alibaba ClientToken): a token used again within
-- its window answers with what it made the first time.

CREATE TABLE client_tokens (
    key          TEXT PRIMARY KEY,   -- project / instance / action / token
    snapshot_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
