package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Reader reads the audit log (the SQL store).
type Reader interface {
	AuditEvents(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error)
}

// Filter narrows a listing; the surfaces parse and validate it.
type Filter struct {
	Types        []Type
	ActorID      string
	Since, Until time.Time
	// After is the position of the last event of the previous page.
	After string
	Limit int
}

// Service reads the audit log with its rules: an organization's log takes
// audit.read there; a user's own account activity is theirs to read.
type Service struct {
	Store Reader
}

// Organization lists the events of the organization p acts in, newest first
// (audit.read).
func (s *Service) Organization(ctx context.Context, p *authz.Principal, f Filter) ([]storage.AuditEvent, error) {
	if err := p.Require(authz.AuditRead); err != nil {
		return nil, err
	}
	q := query(f)
	q.OrganizationID = p.OrganizationID
	return s.list(ctx, q)
}

// Account lists the events the user caused or was the subject of, in every
// organization and outside them (sign-ins, password changes), newest first.
func (s *Service) Account(ctx context.Context, userID string, f Filter) ([]storage.AuditEvent, error) {
	if userID == "" {
		return nil, problem.Forbid("Only users have account activity")
	}
	q := query(f)
	q.UserID = userID
	return s.list(ctx, q)
}

func (s *Service) list(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	events, err := s.Store.AuditEvents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return events, nil
}

func query(f Filter) storage.AuditQuery {
	q := storage.AuditQuery{ActorID: f.ActorID, Since: f.Since, Until: f.Until, After: f.After, Limit: f.Limit}
	for _, t := range f.Types {
		q.Types = append(q.Types, string(t))
	}
	return q
}
