-- Access tokens are JWTs, checked from their claims and revoked through the
-- denylist; Puguh has written none to the database since they became JWTs.
-- The table meant for them goes, with its indexes, and so does the column of
-- refresh tokens that named the access token issued with each (rotation used
-- it to mark that token inactive). Replicas of earlier versions still read and
-- write both: see docs/deploy.md, "Upgrading".
DROP INDEX IF EXISTS oauth_access_tokens_request_idx;
DROP INDEX IF EXISTS oauth_access_tokens_expires_idx;
DROP TABLE IF EXISTS oauth_access_tokens;
ALTER TABLE oauth_refresh_tokens DROP COLUMN access_signature;
