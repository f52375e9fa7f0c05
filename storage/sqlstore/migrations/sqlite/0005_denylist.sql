-- The denylist of revoked JWT access tokens (storage/revocation) when there is
-- no Redis: access tokens are never stored, so a revocation must be, or a
-- restart would accept revoked tokens again until they expire. Keys are short
-- ("jti:<uuid>", "sid:<family>", "client:<id>"); a row is useless once
-- expires_at has passed (the tokens it denies have expired) and is swept.
CREATE TABLE denylist (
    key        TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX denylist_expires_idx ON denylist (expires_at);
