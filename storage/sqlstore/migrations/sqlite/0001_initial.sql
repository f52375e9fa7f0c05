-- Users, organizations, memberships, API keys, service accounts, applications, signing keys.
-- List-valued columns hold JSON arrays as text so both dialects store them alike.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL DEFAULT 'free',
    rate_limit INTEGER NOT NULL DEFAULT 0,
    personal   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE service_accounts (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    client_id       TEXT NOT NULL UNIQUE,
    secret_hash     BLOB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX service_accounts_org_idx ON service_accounts (organization_id);

CREATE TABLE api_keys (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    prefix             TEXT NOT NULL,
    hash               BLOB NOT NULL UNIQUE,
    permissions        TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    service_account_id TEXT REFERENCES service_accounts (id) ON DELETE SET NULL,
    created_at         TIMESTAMP NOT NULL,
    last_used_at       TIMESTAMP,
    expires_at         TIMESTAMP,
    revoked_at         TIMESTAMP
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id);
-- Deleting a service account revokes its keys and clears their reference: both look keys up by account.
CREATE INDEX api_keys_service_account_idx ON api_keys (service_account_id);

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY,
    organization_id            TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                       TEXT NOT NULL,
    secret_hash                BLOB,
    redirect_uris              TEXT NOT NULL,
    post_logout_redirect_uris  TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    response_types             TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    public                     BOOLEAN NOT NULL DEFAULT FALSE,
    trusted                    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);
CREATE INDEX applications_org_idx ON applications (organization_id);

CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    algorithm          TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    private_key_sealed BLOB NOT NULL,
    public_key_der     BLOB NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    activated_at       TIMESTAMP,
    retired_at         TIMESTAMP,
    remove_after       TIMESTAMP
);
-- At most one key signs and at most one waits to: the database, not the code, keeps that true
-- when several replicas rotate at once.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';
