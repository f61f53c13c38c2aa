-- snapkeep's catalog on PostgreSQL: the schema SQLite reaches through its migrations 0001–0012,
-- in one step. Times are milliseconds since the epoch (BIGINT), flags 0/1 (BIGINT), lists and
-- documents JSON text, sealed secrets BYTEA: the same values the SQLite catalog holds, so one
-- store reads both.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key        TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    secret_encrypted  BYTEA NOT NULL,
    enabled           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT
);
CREATE INDEX access_keys_by_project ON access_keys(project_id);

CREATE TABLE clusters (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL REFERENCES projects(id),
    name                TEXT NOT NULL,
    endpoint            TEXT NOT NULL,
    username            TEXT,
    password_encrypted  BYTEA,
    region              TEXT NOT NULL,
    flavor              TEXT NOT NULL,
    version             TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX clusters_by_project ON clusters(project_id);

CREATE TABLE snapshots (
    id                   TEXT PRIMARY KEY,
    project_id           TEXT NOT NULL,
    cluster_id           TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL,
    requested_indices    TEXT NOT NULL,
    indices              TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    repository           TEXT NOT NULL,
    engine_version       TEXT,
    total_shards         BIGINT,
    failed_shards        BIGINT,
    start_time_ms        BIGINT,
    end_time_ms          BIGINT,
    failure_reason       TEXT,
    deleting             BIGINT NOT NULL,
    restore_status       TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    scheduled_for        BIGINT,
    size_bytes           BIGINT,
    location             TEXT,
    operation_failure    TEXT,
    project_unique_name  TEXT,
    UNIQUE (cluster_id, name)
);
CREATE INDEX snapshots_automatic ON snapshots(kind, deleting, status, scheduled_for);
CREATE INDEX snapshots_by_cluster ON snapshots(cluster_id, created_at DESC, id);
CREATE UNIQUE INDEX snapshots_project_unique_name
    ON snapshots(project_id, project_unique_name) WHERE project_unique_name IS NOT NULL;

CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    snapshot_id      TEXT NOT NULL,
    cluster_id       TEXT NOT NULL,
    phase            TEXT NOT NULL,
    restore_params   TEXT,
    attempts         BIGINT NOT NULL,
    next_run_at      BIGINT NOT NULL,
    deadline         BIGINT NOT NULL,
    progress_marker  TEXT,
    progress_at      BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    batch            TEXT,
    lane             TEXT NOT NULL DEFAULT 'steps'
);
CREATE INDEX operations_open ON operations(phase, next_run_at);
CREATE INDEX operations_by_cluster ON operations(cluster_id, phase);
CREATE INDEX operations_by_snapshot ON operations(snapshot_id);
CREATE INDEX operations_failed_by_cluster ON operations(cluster_id, finished_at) WHERE phase = 'failed';
CREATE INDEX operations_due ON operations(lane, phase, next_run_at);

CREATE TABLE snapshot_configs (
    cluster_id    TEXT PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    config        TEXT NOT NULL,
    keepday       BIGINT NOT NULL,
    next_slot     BIGINT,
    next_fire_at  BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX snapshot_configs_due ON snapshot_configs(next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE client_tokens (
    key          TEXT PRIMARY KEY,
    snapshot_id  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE shared_repositories (
    target_cluster_id  TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    source_cluster_id  TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (target_cluster_id, source_cluster_id)
);

CREATE TABLE request_nonces (
    access_key  TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    seen_at     BIGINT NOT NULL,
    PRIMARY KEY (access_key, nonce)
);
CREATE INDEX request_nonces_by_time ON request_nonces(seen_at);

CREATE TABLE request_outcomes (
    access_key    TEXT NOT NULL,
    signature     TEXT NOT NULL,
    status        BIGINT,
    content_type  TEXT,
    body          BYTEA,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (access_key, signature)
);
CREATE INDEX request_outcomes_seen ON request_outcomes(seen_at);

CREATE TABLE audit_log (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    dialect     TEXT NOT NULL,
    project_id  TEXT,
    access_key  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
CREATE INDEX audit_log_by_project ON audit_log(project_id, id);

CREATE TABLE catalog_settings (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);

CREATE TABLE storage_profiles (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    endpoint       TEXT,
    region         TEXT,
    bucket         TEXT,
    base_path      TEXT NOT NULL,
    path_style     BIGINT NOT NULL,
    access_key_id  TEXT,
    secret_sealed  BYTEA,
    is_default     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE UNIQUE INDEX storage_profiles_one_default ON storage_profiles(project_id) WHERE is_default = 1;

-- The one row automatic fires lock in turn, so the concurrency limits hold across replicas.
CREATE TABLE fire_lock (id BIGINT PRIMARY KEY);
INSERT INTO fire_lock (id) VALUES (1);
