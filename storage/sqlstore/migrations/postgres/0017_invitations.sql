-- Invitations to join an organization, by email address, whether or not the
-- address has an account yet. token_hash is the SHA-256 of the random token
-- mailed in the link (the token itself is never stored). status is pending,
-- accepted, revoked or expired; a pending invitation whose expires_at has
-- passed is expired too (status says so once a new invitation replaces it).
-- At most one pending invitation per organization and address.
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    role             TEXT NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    status           TEXT NOT NULL,
    invited_by_type  TEXT NOT NULL,
    invited_by_id    TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    accepted_by      TEXT
);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (organization_id, email) WHERE status = 'pending';
CREATE INDEX invitations_org_idx ON invitations (organization_id, status, id);
CREATE INDEX invitations_expires_idx ON invitations (expires_at);
