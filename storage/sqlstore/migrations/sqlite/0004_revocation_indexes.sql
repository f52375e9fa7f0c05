-- Revoking everything of one user (a password change) or one client (a
-- deleted application) looks families up by subject or client; without these
-- it read every family. Refresh tokens are then found through their family
-- (request_id is indexed), and browser grants through session_families.
CREATE INDEX IF NOT EXISTS oauth_refresh_families_subject_idx ON oauth_refresh_families (subject);
CREATE INDEX IF NOT EXISTS oauth_refresh_families_client_idx ON oauth_refresh_families (client_id);
CREATE INDEX IF NOT EXISTS session_families_user_idx ON session_families (user_id);
