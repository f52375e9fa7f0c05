-- Verified email addresses and the one-time links mailed to users.
-- email_verified_at is when the user's current address was confirmed (NULL:
-- not yet); changing the address clears it. An email token is the SHA-256 of
-- a random link token: what it is for (purpose), whose it is, the address it
-- was sent to (verifying it checks that the account still has that address),
-- and when it expires. Using a token deletes it, so it works once.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;

CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);
