-- The one row automatic fires lock in turn (on PostgreSQL, where several replicas fire at once;
-- SQLite's write lock already serializes them), so the concurrency limits hold.
CREATE TABLE fire_lock (id INTEGER PRIMARY KEY);
INSERT INTO fire_lock (id) VALUES (1);
