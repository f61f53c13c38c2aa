-- The operator's listings of every cluster, newest first: snapshots of the whole fleet or of a
-- project, and operations of the whole fleet, read in index order.
CREATE INDEX snapshots_by_time ON snapshots(created_at DESC, id);
CREATE INDEX snapshots_by_project ON snapshots(project_id, created_at DESC, id);
CREATE INDEX operations_by_time ON operations(created_at DESC, id);
-- The fleet view's probes: a cluster's creates by outcome and end.
CREATE INDEX operations_creates ON operations(cluster_id, kind, phase, finished_at);
