-- Rotation of API keys and service-account secrets with an overlap window.
-- A rotated key names its successor (replaced_by) and keeps working until
-- rotation_ends_at; a key that was never rotated has both NULL.
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
ALTER TABLE api_keys ADD COLUMN rotation_ends_at TIMESTAMP;
-- A service account's previous secret (hashed like the current one) keeps
-- working until previous_secret_ends_at; secret_rotated_at is when the
-- current secret was made (NULL: at created_at).
ALTER TABLE service_accounts ADD COLUMN previous_secret_hash BLOB;
ALTER TABLE service_accounts ADD COLUMN previous_secret_ends_at TIMESTAMP;
ALTER TABLE service_accounts ADD COLUMN secret_rotated_at TIMESTAMP;
