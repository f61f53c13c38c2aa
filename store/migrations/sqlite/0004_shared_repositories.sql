-- Reference repositories: a source cluster's repository registered read-only on a target cluster
-- (Alibaba AddSnapshotRepo).

CREATE TABLE shared_repositories (
    target_cluster_id  TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    source_cluster_id  TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (target_cluster_id, source_cluster_id)
);
