-- The reconciler pool an operation runs in: `steps` (short engine calls) or `transfers`
-- (PostgreSQL backups and restores, which stream for as long as the database takes).
ALTER TABLE operations ADD COLUMN lane TEXT NOT NULL DEFAULT 'steps';
UPDATE operations SET lane = 'transfers'
 WHERE kind IN ('create_snapshot', 'restore_snapshot')
   AND cluster_id IN (SELECT id FROM clusters WHERE flavor = 'postgres');
CREATE INDEX operations_due ON operations(lane, phase, next_run_at);
