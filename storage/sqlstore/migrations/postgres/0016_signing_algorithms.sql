-- Signing algorithms beside RS256 (ES256, EdDSA): every algorithm has its own
-- chain of keys, so "at most one active and one next key" now holds per
-- algorithm. Applications choose the algorithm of their ID tokens and of
-- their access tokens; RS256 stays the default.
DROP INDEX IF EXISTS signing_keys_one_active;
DROP INDEX IF EXISTS signing_keys_one_next;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (algorithm) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (algorithm) WHERE state = 'next';
ALTER TABLE applications ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE applications ADD COLUMN access_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
