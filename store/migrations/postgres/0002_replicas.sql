-- The processes serving this catalog, as each last announced itself (core's replicas module).
CREATE TABLE replicas (
    id               TEXT PRIMARY KEY,
    version          TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    seen_at          BIGINT NOT NULL,
    lease_ms         BIGINT NOT NULL,
    clock_offset_ms  BIGINT NOT NULL
);
