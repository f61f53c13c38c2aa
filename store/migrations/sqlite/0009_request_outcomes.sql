-- Mutating requests signed without a nonce (Huawei SDK-HMAC-SHA256), by key and signature, with
-- the answer they got: a replay within the skew window is answered with it and not executed again.
-- A row without a status is a request still being executed.

CREATE TABLE request_outcomes (
    access_key   TEXT NOT NULL,
    signature    TEXT NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BLOB,
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (access_key, signature)
);
CREATE INDEX request_outcomes_seen ON request_outcomes (seen_at);
