-- A cluster's snapshots, newest first: listings and their pages read this index in order.
CREATE INDEX snapshots_by_cluster ON snapshots(cluster_id, created_at DESC, id);
