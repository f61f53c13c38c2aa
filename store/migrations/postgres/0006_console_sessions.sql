-- Console sessions: the SHA-256 of the browser's token and of the admin token it was opened
-- under.
CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    admin_tag   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
