-- Enterprise federation (provider/federation): an organization's own identity
-- provider, the email domains it signs in, the upstream accounts linked to
-- Puguh users, and which SSO sessions began at an upstream provider.
-- client_secret_sealed is AES-256-GCM under a key derived from PUGUH_SECRET
-- (package keys, Box), bound to the connection id.
CREATE TABLE federation_connections (
    id                   TEXT PRIMARY KEY,
    organization_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    protocol             TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed BYTEA NOT NULL,
    scopes               TEXT NOT NULL,
    email_claim          TEXT NOT NULL,
    name_claim           TEXT NOT NULL,
    groups_claim         TEXT NOT NULL,
    role_mapping         TEXT NOT NULL,
    default_role         TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX federation_connections_org_idx ON federation_connections (organization_id);

-- A domain signs in through one connection only (home-realm discovery).
CREATE TABLE federation_domains (
    domain        TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES federation_connections (id) ON DELETE CASCADE
);
CREATE INDEX federation_domains_connection_idx ON federation_domains (connection_id);

-- The upstream account (the provider's sub) behind a Puguh user.
CREATE TABLE federation_identities (
    connection_id TEXT NOT NULL REFERENCES federation_connections (id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX federation_identities_user_idx ON federation_identities (user_id);

-- An SSO session that began at an upstream provider: the amr and idp claims
-- of the ID tokens it issues, and where signing out ends the upstream session.
CREATE TABLE federation_sessions (
    session_id      TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    connection_id   TEXT NOT NULL,
    idp             TEXT NOT NULL,
    end_session_url TEXT NOT NULL
);
