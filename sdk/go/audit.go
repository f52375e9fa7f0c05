package puguh

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// AuditEvent is one security event of the audit log.
type AuditEvent struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	OccurredAt     time.Time         `json:"occurred_at"`
	OrganizationID string            `json:"organization_id"`
	ActorType      string            `json:"actor_type"`
	ActorID        string            `json:"actor_id"`
	SubjectType    string            `json:"subject_type"`
	SubjectID      string            `json:"subject_id"`
	IP             string            `json:"ip"`
	UserAgent      string            `json:"user_agent"`
	Details        map[string]string `json:"details"`
}

// AuditEventParams filter and page GET /api/v1/audit-events.
type AuditEventParams struct {
	// Types keeps events of these types ("member.added", …).
	Types []string
	// Actor keeps events caused by this user, API key or service account id.
	Actor string
	// Since (inclusive) and Until (exclusive) bound the time; zero: open.
	Since, Until time.Time
	PageParams
}

// AuditService is /api/v1/audit-events: the organization's audit log.
type AuditService struct{ c *Client }

func (p AuditEventParams) query() url.Values {
	q := url.Values{}
	for _, t := range p.Types {
		q.Add("type", t)
	}
	if p.Actor != "" {
		q.Set("actor", p.Actor)
	}
	if !p.Since.IsZero() {
		q.Set("since", p.Since.UTC().Format(time.RFC3339Nano))
	}
	if !p.Until.IsZero() {
		q.Set("until", p.Until.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// List (listAuditEvents): a page of the current organization's security
// events, newest first (audit.read).
func (s *AuditService) List(ctx context.Context, params AuditEventParams, opts ...RequestOption) (*Page[AuditEvent], error) {
	return list[AuditEvent](ctx, s.c, call{op: "listAuditEvents", query: params.query(), opts: opts}, params.PageParams)
}

// ListAutoPaging walks every event the filters keep, fetching pages as it goes.
func (s *AuditService) ListAutoPaging(ctx context.Context, params AuditEventParams, opts ...RequestOption) iter.Seq2[AuditEvent, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[AuditEvent], error) { return s.List(ctx, params, opts...) })
}
