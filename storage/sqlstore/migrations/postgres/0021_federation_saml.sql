-- SAML 2.0 connections (provider/federation, docs/federation.md "SAML 2.0"):
-- the identity provider's metadata (a URL Puguh fetches, or the XML pasted
-- in), and Puguh's own service-provider key pair for the connection. The
-- private key is AES-256-GCM under a key derived from PUGUH_SECRET (package
-- keys, Box, purpose federation-saml-sp-key), bound to the connection id; the
-- certificate is public (PEM) and published in the connection's SP metadata.
ALTER TABLE federation_connections ADD COLUMN saml_metadata_url TEXT NOT NULL DEFAULT '';
ALTER TABLE federation_connections ADD COLUMN saml_metadata_xml TEXT NOT NULL DEFAULT '';
ALTER TABLE federation_connections ADD COLUMN saml_sp_key_sealed BYTEA;
ALTER TABLE federation_connections ADD COLUMN saml_sp_certificate TEXT NOT NULL DEFAULT '';

-- The IDs of the SAML assertions already accepted, each refused a second time
-- until it expires (then the row may go): replay protection shared by every
-- replica.
CREATE TABLE federation_saml_assertions (
    connection_id TEXT NOT NULL REFERENCES federation_connections (id) ON DELETE CASCADE,
    assertion_id  TEXT NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX federation_saml_assertions_expiry_idx ON federation_saml_assertions (expires_at);
