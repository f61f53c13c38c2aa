-- The one row audit inserts lock in turn (on PostgreSQL, where concurrent inserts would commit
-- ids out of order; SQLite's write lock already serializes them), so a reader paging the audit
-- log by id never passes over an entry that commits late.
CREATE TABLE audit_lock (id INTEGER PRIMARY KEY);
INSERT INTO audit_lock (id) VALUES (1);
