-- The audit log: one row per security event (provider/audit). Rows name
-- users, organizations and credentials by id only and carry no foreign keys:
-- an event outlives what it names (a deleted user stays a pseudonymous id
-- here, docs/account.md). details is a JSON object of short facts, never a
-- secret. The janitor deletes rows older than PUGUH_AUDIT_RETENTION.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    occurred_at     TIMESTAMPTZ NOT NULL,
    type            TEXT NOT NULL,
    organization_id TEXT NOT NULL DEFAULT '',
    actor_type      TEXT NOT NULL,
    actor_id        TEXT NOT NULL DEFAULT '',
    subject_type    TEXT NOT NULL DEFAULT '',
    subject_id      TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    details         TEXT NOT NULL DEFAULT '{}'
);
-- An organization's log and a user's activity, newest first, are index
-- range scans; so is the retention sweep.
CREATE INDEX audit_events_org_idx ON audit_events (organization_id, occurred_at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, occurred_at, id);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
