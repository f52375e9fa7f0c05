-- Multi-factor sign-in (provider/mfa, docs/mfa.md).
--
-- A user's TOTP authenticator: the secret sealed with AES-256-GCM under a key
-- derived from PUGUH_SECRET (like the signing keys), never stored in clear.
-- confirmed_at is NULL while the enrolment waits for its first code; last_step
-- is the newest 30-second time step a code was accepted for, so a code (and
-- any older one) is accepted once.
CREATE TABLE mfa_totp (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    confirmed_at  TIMESTAMP
);

-- Single-use recovery codes: only the SHA-256 hex digest of each (with its
-- user id) is stored; used_at is set when one is spent.
CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- Short-lived, single-use challenges between two steps of a sign-in: the
-- second factor after a password (REST and page), and the WebAuthn
-- ceremonies (data holds the ceremony's state). id is the SHA-256 hex digest
-- of the secret the client holds; user_id is empty for a passkey sign-in that
-- has not named its user yet.
CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    amr        TEXT NOT NULL,
    data       TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- Passkeys (WebAuthn credentials). id is the credential id, base64url.
CREATE TABLE webauthn_credentials (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    public_key       BYTEA NOT NULL,
    attestation_type TEXT NOT NULL,
    aaguid           BYTEA NOT NULL,
    sign_count       BIGINT NOT NULL DEFAULT 0,
    transports       TEXT NOT NULL,
    backup_eligible  BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state     BOOLEAN NOT NULL DEFAULT FALSE,
    clone_warning    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMP NOT NULL,
    last_used_at     TIMESTAMP
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);

-- An organization's policy that its members sign in with a second factor.
-- A member without one may still sign in until required_since plus the grace
-- period; after that they enrol before continuing.
CREATE TABLE organization_mfa_policies (
    organization_id      TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    required             BOOLEAN NOT NULL DEFAULT FALSE,
    grace_period_seconds INTEGER NOT NULL DEFAULT 0,
    required_since       TIMESTAMP,
    updated_at           TIMESTAMP NOT NULL
);

-- How a browser session's user authenticated (space-separated RFC 8176 amr
-- values, "pwd otp mfa"); empty for sessions from before this migration,
-- which were password sign-ins.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
