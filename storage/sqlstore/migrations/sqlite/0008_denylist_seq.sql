-- Replicas read the denylist incrementally (storage/revocation): only the
-- entries written since the last one they saw, by seq. AUTOINCREMENT makes seq
-- larger than any value ever used, even after the highest row was swept, and
-- SQLite's single writer makes it follow commit order. An entry extended to a
-- later expiry is written again (INSERT OR REPLACE) and so gets a new seq.
-- SQLite cannot add such a column in place: the table is rebuilt.
CREATE TABLE denylist_new (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL
);
INSERT INTO denylist_new (key, expires_at) SELECT key, expires_at FROM denylist;
DROP TABLE denylist;
ALTER TABLE denylist_new RENAME TO denylist;
CREATE INDEX denylist_expires_idx ON denylist (expires_at);
