-- Replicas read the denylist incrementally (storage/revocation): only the
-- entries written since the last one they saw, by seq. Every insert takes the
-- next value of the sequence, and an entry extended to a later expiry takes a
-- new one. Sequence values follow the order of the inserts, not of their
-- commits; readers re-read a margin behind the highest seq they saw for that.
CREATE SEQUENCE denylist_seq;
ALTER TABLE denylist ADD COLUMN seq BIGINT NOT NULL DEFAULT nextval('denylist_seq');
ALTER SEQUENCE denylist_seq OWNED BY denylist.seq;
CREATE INDEX denylist_seq_idx ON denylist (seq);
