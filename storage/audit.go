package storage

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// AuditEvent is one stored security event (package provider/audit names the
// types and fills it). Empty strings stand for "none": an account's own
// events have no organization, a failed sign-in for an unknown email no
// subject. Details are short facts, never a secret.
type AuditEvent struct {
	ID             string            `db:"id"`
	At             time.Time         `db:"occurred_at"`
	Type           string            `db:"type"`
	OrganizationID string            `db:"organization_id"`
	ActorType      string            `db:"actor_type"`
	ActorID        string            `db:"actor_id"`
	SubjectType    string            `db:"subject_type"`
	SubjectID      string            `db:"subject_id"`
	IP             string            `db:"ip"`
	UserAgent      string            `db:"user_agent"`
	Details        map[string]string `db:"-"`
}

// AuditQuery selects events, newest first. Exactly one of OrganizationID and
// UserID scopes the query: the organization's events, or the events a user
// acted in or was the subject of. The other fields narrow it.
type AuditQuery struct {
	OrganizationID string
	UserID         string
	// Types keeps events of these types only (none: every type).
	Types []string
	// ActorID keeps events this actor caused.
	ActorID string
	// Since and Until bound the time (Since inclusive, Until exclusive); zero: open.
	Since, Until time.Time
	// After is the position (AuditEvent.Position) of the last event of the
	// previous page; empty: the newest.
	After string
	// Limit is the most events to return.
	Limit int
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// InsertAuditEvent stores e. ErrConflict if its id exists.
	InsertAuditEvent(ctx context.Context, e *AuditEvent) error
	// AuditEvents lists the events q selects, newest first (ties by id, descending).
	// An error when q names no scope or q.After is not a position.
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// DeleteAuditEventsBefore deletes at most limit events older than t and
	// returns how many it deleted.
	DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// Position is where e stands in the newest-first order, for AuditQuery.After:
// its time in microseconds and its id.
func (e *AuditEvent) Position() string {
	return strconv.FormatInt(e.At.UnixMicro(), 10) + "." + e.ID
}

// ParseAuditPosition reads a Position back.
func ParseAuditPosition(pos string) (at time.Time, id string, ok bool) {
	us, id, found := strings.Cut(pos, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !found || err != nil || id == "" {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}
