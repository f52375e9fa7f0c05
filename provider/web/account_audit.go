package web

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/storage"
)

// AuditLog reads the audit log (audit.Service).
type AuditLog interface {
	Organization(ctx context.Context, p *authz.Principal, f audit.Filter) ([]storage.AuditEvent, error)
	Account(ctx context.Context, userID string, f audit.Filter) ([]storage.AuditEvent, error)
}

// auditPageLimit bounds each listing of the activity page; the REST API
// (GET /api/v1/audit-events) pages through the rest.
const auditPageLimit = 100

// auditPage is the data of account_audit.html.
type auditPage struct {
	frame
	// Mine are the user's own events: their sign-ins and what they did or
	// had done to them, everywhere.
	Mine []auditLine
	// CanAudit: the user holds audit.read in the organization, whose
	// events are Organization.
	CanAudit     bool
	Organization []auditLine
}

// auditLine is one event as the page shows it.
type auditLine struct {
	storage.AuditEvent
	Actor, Subject string
	Facts          string
}

// auditLog shows the user's activity and, for owners and admins, the
// organization's audit log (GET /account/audit).
func (a *Account) auditLog(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	data := auditPage{frame: a.frame(w, r, ac, "audit"), CanAudit: ac.perms.Has(authz.AuditRead)}
	data.Notice = noticeOf(r)
	if a.d.Audit != nil {
		ctx := r.Context()
		mine, err := a.d.Audit.Account(ctx, ac.user.ID, audit.Filter{Limit: auditPageLimit})
		if err != nil {
			a.p.unavailable(w, r, err)
			return
		}
		data.Mine = a.auditLines(mine, ac.user.ID)
		if data.CanAudit {
			events, err := a.d.Audit.Organization(ctx, ac.principal(), audit.Filter{Limit: auditPageLimit})
			if err != nil {
				a.p.unavailable(w, r, err)
				return
			}
			data.Organization = a.auditLines(events, ac.user.ID)
		}
	}
	a.render(w, r, http.StatusOK, "account_audit", data, false)
}

func (a *Account) auditLines(events []storage.AuditEvent, self string) []auditLine {
	out := make([]auditLine, 0, len(events))
	name := func(typ, id string) string {
		switch {
		case typ == "":
			return ""
		case typ == authz.TypeUser && id == self:
			return "you"
		case id == "":
			return typ
		}
		return typ + " " + id
	}
	for _, e := range events {
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		facts := make([]string, 0, len(keys))
		for _, k := range keys {
			facts = append(facts, k+": "+e.Details[k])
		}
		out = append(out, auditLine{AuditEvent: e, Actor: name(e.ActorType, e.ActorID), Subject: name(e.SubjectType, e.SubjectID),
			Facts: strings.Join(facts, ", ")})
	}
	return out
}
