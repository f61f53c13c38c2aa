-- The processes serving this catalog, as each last announced itself (core's replicas module).
CREATE TABLE replicas (
    id               TEXT PRIMARY KEY,
    version          TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    seen_at          INTEGER NOT NULL,
    lease_ms         INTEGER NOT NULL,
    clock_offset_ms  INTEGER NOT NULL
);
