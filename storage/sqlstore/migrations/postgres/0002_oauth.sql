-- fosite storage (storage/oauthstore): authorization codes, PKCE and OpenID Connect
-- requests, access and refresh tokens, refresh families, client-assertion JTIs.
-- Tokens are keyed by the HMAC signature fosite hands the store, never by the raw
-- token (docs/security.md, "Tokens and keys"). Every request table has the same columns; list-valued columns
-- hold JSON arrays as text, form holds URL-encoded parameters with secrets removed,
-- session holds the composition's session as JSON.
CREATE TABLE oauth_authorize_codes (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_scopes   TEXT NOT NULL,
    granted_scopes     TEXT NOT NULL,
    requested_audience TEXT NOT NULL,
    granted_audience   TEXT NOT NULL,
    form               TEXT NOT NULL,
    session            BYTEA NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMPTZ
);
CREATE INDEX oauth_authorize_codes_expires_idx ON oauth_authorize_codes (expires_at);

CREATE TABLE oauth_pkce_requests (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_scopes   TEXT NOT NULL,
    granted_scopes     TEXT NOT NULL,
    requested_audience TEXT NOT NULL,
    granted_audience   TEXT NOT NULL,
    form               TEXT NOT NULL,
    session            BYTEA NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMPTZ
);
CREATE INDEX oauth_pkce_requests_expires_idx ON oauth_pkce_requests (expires_at);

CREATE TABLE oauth_oidc_requests (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_scopes   TEXT NOT NULL,
    granted_scopes     TEXT NOT NULL,
    requested_audience TEXT NOT NULL,
    granted_audience   TEXT NOT NULL,
    form               TEXT NOT NULL,
    session            BYTEA NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMPTZ
);
CREATE INDEX oauth_oidc_requests_expires_idx ON oauth_oidc_requests (expires_at);

CREATE TABLE oauth_access_tokens (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_scopes   TEXT NOT NULL,
    granted_scopes     TEXT NOT NULL,
    requested_audience TEXT NOT NULL,
    granted_audience   TEXT NOT NULL,
    form               TEXT NOT NULL,
    session            BYTEA NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMPTZ
);
CREATE INDEX oauth_access_tokens_request_idx ON oauth_access_tokens (request_id);
CREATE INDEX oauth_access_tokens_expires_idx ON oauth_access_tokens (expires_at);

-- One row per grant (fosite's request id): all refresh tokens rotated from one
-- another share it. issued_at/expires_at are the absolute lifetime (ASVS 10.4.8);
-- revoked ends every token of the family at once (RFC 9700 section 4.14.2).
CREATE TABLE oauth_refresh_families (
    request_id TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX oauth_refresh_families_expires_idx ON oauth_refresh_families (expires_at);

-- used_at is when the token was first rotated; a repeat within the grace period
-- is allowed, a later one is reuse. access_signature names the access token issued
-- with it, the one rotation revokes.
CREATE TABLE oauth_refresh_tokens (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requested_at       TIMESTAMPTZ NOT NULL,
    requested_scopes   TEXT NOT NULL,
    granted_scopes     TEXT NOT NULL,
    requested_audience TEXT NOT NULL,
    granted_audience   TEXT NOT NULL,
    form               TEXT NOT NULL,
    session            BYTEA NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMPTZ,
    access_signature   TEXT NOT NULL,
    used_at            TIMESTAMPTZ
);
CREATE INDEX oauth_refresh_tokens_request_idx ON oauth_refresh_tokens (request_id);
CREATE INDEX oauth_refresh_tokens_expires_idx ON oauth_refresh_tokens (expires_at);

-- RFC 7523 section 3: a client assertion's jti may be used once until it expires.
CREATE TABLE oauth_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oauth_jtis_expires_idx ON oauth_jtis (expires_at);
