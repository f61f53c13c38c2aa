-- snapkeep catalog: tenants, keys, clusters, snapshots and durable operations.
-- Times are epoch milliseconds (UTC).

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE access_keys (
    access_key        TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    secret_encrypted  BLOB NOT NULL,
    enabled           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX access_keys_by_project ON access_keys(project_id);

CREATE TABLE clusters (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL REFERENCES projects(id),
    name                TEXT NOT NULL,
    endpoint            TEXT NOT NULL,
    username            TEXT,
    password_encrypted  BLOB,
    region              TEXT NOT NULL,
    flavor              TEXT NOT NULL,
    version             TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX clusters_by_project ON clusters(project_id);

CREATE TABLE snapshots (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL,
    cluster_id         TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    requested_indices  TEXT NOT NULL,
    indices            TEXT NOT NULL,  -- JSON array
    kind               TEXT NOT NULL,
    status             TEXT NOT NULL,
    repository         TEXT NOT NULL,
    engine_version     TEXT,
    total_shards       INTEGER,
    failed_shards      INTEGER,
    start_time_ms      INTEGER,
    end_time_ms        INTEGER,
    failure_reason     TEXT,
    deleting           INTEGER NOT NULL,
    restore_status     TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (cluster_id, name)
);

CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    snapshot_id      TEXT NOT NULL,
    cluster_id       TEXT NOT NULL,
    phase            TEXT NOT NULL,
    restore_params   TEXT,           -- JSON, restores only
    attempts         INTEGER NOT NULL,
    next_run_at      INTEGER NOT NULL,
    deadline         INTEGER NOT NULL,
    progress_marker  TEXT,
    progress_at      INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER
);
CREATE INDEX operations_open ON operations(phase, next_run_at);
CREATE INDEX operations_by_cluster ON operations(cluster_id, phase);
CREATE INDEX operations_by_snapshot ON operations(snapshot_id);
