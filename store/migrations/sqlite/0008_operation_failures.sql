-- Why a snapshot's last restore or delete failed, shown where the caller looks (CSS failReason);
-- cleared when another restore or delete of it starts.

ALTER TABLE snapshots ADD COLUMN operation_failure TEXT;

-- The last failed operation of a cluster, found without scanning every finished one.
CREATE INDEX operations_failed_by_cluster ON operations (cluster_id, finished_at) WHERE phase = 'failed';
