-- Snapshots snapkeep takes itself (PostgreSQL): the bytes they hold in storage and where they
-- were written (profile, bucket, path as JSON), so a later change of the cluster's storage
-- settings never loses them.

ALTER TABLE snapshots ADD COLUMN size_bytes INTEGER;
ALTER TABLE snapshots ADD COLUMN location TEXT;
