-- Automatic snapshots: per-cluster settings and policy, the schedule's next slot, the slot each
-- automatic snapshot was taken for, and batch operations (retention deletes).

CREATE TABLE snapshot_configs (
    cluster_id    TEXT PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    config        TEXT NOT NULL,   -- JSON {"version":1, "settings":{…}, "policy":{…}}
    keepday       INTEGER NOT NULL,
    next_slot     INTEGER,         -- the slot the next automatic snapshot is for
    next_fire_at  INTEGER,         -- next_slot plus this cluster's jitter; NULL when the policy is off
    updated_at    INTEGER NOT NULL
);
CREATE INDEX snapshot_configs_due ON snapshot_configs(next_fire_at) WHERE next_fire_at IS NOT NULL;

ALTER TABLE snapshots ADD COLUMN scheduled_for INTEGER;
CREATE INDEX snapshots_automatic ON snapshots(kind, deleting, status, scheduled_for);

ALTER TABLE operations ADD COLUMN batch TEXT;  -- JSON array of snapshot ids, batch deletes only
