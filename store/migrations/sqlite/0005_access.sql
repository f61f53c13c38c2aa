-- Key rotation, replay protection, the audit log, and the master-key check value.

-- Set when a rotation retires the key: it signs requests until then, never after.
ALTER TABLE access_keys ADD COLUMN expires_at INTEGER;

-- Nonces of signed Alibaba requests, remembered for twice the allowed clock skew.
CREATE TABLE request_nonces (
    access_key  TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (access_key, nonce)
);
CREATE INDEX request_nonces_by_time ON request_nonces(seen_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    dialect     TEXT NOT NULL,
    project_id  TEXT,
    access_key  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
CREATE INDEX audit_log_by_project ON audit_log(project_id, id);

-- Settings of the catalog itself: `master_key_check` is a known text sealed under the master key.
CREATE TABLE catalog_settings (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
);
