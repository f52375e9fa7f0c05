-- Browser sign-in (provider/web): SSO sessions, pending authorization requests
-- (login challenges), remembered consent, the token families each session and
-- grant issued, and organization-defined scope descriptions.
-- Session and challenge ids are stored only as SHA-256 hex digests (docs/security.md, "Tokens and keys").
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- A pending /oauth/authorize request while the user signs in and consents.
-- browser is the digest of the browser's pre-session cookie: a challenge
-- resumes only in the browser that started it.
CREATE TABLE login_challenges (
    id           TEXT PRIMARY KEY,
    browser      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    query        TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    consented_at TIMESTAMPTZ
);
CREATE INDEX login_challenges_expires_idx ON login_challenges (expires_at);

CREATE TABLE consent_grants (
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scopes         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, user_id)
);
CREATE INDEX consent_grants_user_idx ON consent_grants (user_id);

-- Every token family (fosite request id) issued through /oauth/authorize, with
-- the SSO session and the user and application it belongs to, so that signing
-- out and revoking a grant can revoke its tokens.
CREATE TABLE session_families (
    family_id      TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    application_id TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX session_families_session_idx ON session_families (session_id);
CREATE INDEX session_families_grant_idx ON session_families (application_id, user_id);
CREATE INDEX session_families_expires_idx ON session_families (expires_at);

-- Descriptions an organization gives its own scopes, shown on the consent page.
CREATE TABLE oauth_scopes (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    PRIMARY KEY (organization_id, name)
);
