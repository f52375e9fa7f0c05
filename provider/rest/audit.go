package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// AuditLog reads the audit log with its rules (audit.Service).
type AuditLog interface {
	Organization(ctx context.Context, p *authz.Principal, f audit.Filter) ([]storage.AuditEvent, error)
}

// AuditAPI serves GET /api/v1/audit-events: the security events of the
// caller's organization, newest first (audit.read).
type AuditAPI struct {
	Log     AuditLog
	Auth    *auth.Authenticator
	Cursors *Cursors
}

// Mount registers the route.
func (a *AuditAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/audit-events", a.Auth.Required(httpapi.HandlerFunc(a.list))).Methods(http.MethodGet)
}

type auditEventJSON struct {
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

// maxActorID bounds ?actor=: ids are UUIDs or evt_/key ids, never long.
const maxActorID = 64

// list is GET /api/v1/audit-events?type=…&actor=…&since=…&until=…&limit=…&cursor=….
func (a *AuditAPI) list(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.AuditRead); err != nil {
		return err
	}
	scope := "audit\x00" + p.OrganizationID
	page, err := a.Cursors.PageFrom(r, scope)
	if err != nil {
		return err
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.After, f.Limit = page.After, page.Limit+1
	events, err := a.Log.Organization(r.Context(), p, f)
	if err != nil {
		return err
	}
	resp := listResponse[auditEventJSON]{Items: []auditEventJSON{}}
	if len(events) > page.Limit {
		events = events[:page.Limit]
		next := a.Cursors.Next(scope, events[len(events)-1].Position())
		resp.NextCursor = &next
	}
	for _, e := range events {
		resp.Items = append(resp.Items, toAuditEventJSON(e))
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func toAuditEventJSON(e storage.AuditEvent) auditEventJSON {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	return auditEventJSON{ID: e.ID, Type: e.Type, OccurredAt: e.At, OrganizationID: e.OrganizationID,
		ActorType: e.ActorType, ActorID: e.ActorID, SubjectType: e.SubjectType, SubjectID: e.SubjectID,
		IP: e.IP, UserAgent: e.UserAgent, Details: details}
}

// auditFilter reads the query's filters: type (repeatable), actor, since, until.
func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	var f audit.Filter
	var v httpapi.Validator
	for i, t := range q["type"] {
		if !audit.Known(audit.Type(t)) {
			loc := []any{"query", "type"}
			if len(q["type"]) > 1 {
				loc = append(loc, i)
			}
			v.Add("value is not a known event type", "type_error.enum", loc...)
			continue
		}
		f.Types = append(f.Types, audit.Type(t))
	}
	if actor := q.Get("actor"); actor != "" {
		if len(actor) > maxActorID {
			v.Add("ensure this value has at most 64 characters", "value_error.any_str.max_length", "query", "actor")
		}
		f.ActorID = actor
	}
	for _, bound := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s := q.Get(bound.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			v.Add("invalid datetime format", "value_error.datetime", "query", bound.name)
			continue
		}
		*bound.dst = t.UTC()
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		v.Add("until must be after since", "value_error", "query", "until")
	}
	return f, v.Err()
}
