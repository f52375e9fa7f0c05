package orgs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
)

// PermissionPlansUpdate lets a principal change any organization's plan. No
// organization role grants it (an owner must not raise their own limit); only
// the platform operators named in PUGUH_PLATFORM_OPERATORS hold it.
const PermissionPlansUpdate = "platform.plans.update"

// Operators tells whether a user is a platform operator (identity.Service).
type Operators interface {
	IsOperator(ctx context.Context, userID string) (bool, error)
}

// PlanStore writes organizations' plans.
type PlanStore interface {
	SetPlan(ctx context.Context, orgID, plan string, rateLimit int) error
}

// Plans changes organizations' plans, for platform operators.
type Plans struct {
	Store     PlanStore
	Orgs      Store
	Operators Operators
	// Audit records plan changes; nil: nothing.
	Audit audit.Recorder
}

// Set moves orgID to plan (with rateLimit requests a minute for enterprise)
// and returns the organization as it now is. API keys and service accounts
// belong to one organization and never are operators.
func (p *Plans) Set(ctx context.Context, actor *authz.Principal, orgID string, plan *string, rateLimit *int) (*storage.Organization, error) {
	if !actor.IsUser() {
		return nil, problem.MissingPermission(PermissionPlansUpdate)
	}
	op, err := p.Operators.IsOperator(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	if !op {
		return nil, problem.MissingPermission(PermissionPlansUpdate)
	}
	if plan == nil {
		var v problem.Validator
		v.Required("plan")
		return nil, v.Err()
	}
	name, limit := strings.ToLower(strings.TrimSpace(*plan)), 0
	if rateLimit != nil {
		limit = *rateLimit
	}
	if err := ratelimit.ValidPlan(name, limit); err != nil {
		return nil, problem.Invalidf(problem.Issue{Loc: []any{"plan"}, Msg: err.Error(), Type: "value_error"})
	}
	if err := p.Store.SetPlan(ctx, orgID, name, limit); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNoOrganization
		}
		return nil, fmt.Errorf("orgs: set plan: %w", err)
	}
	org, err := p.Orgs.OrganizationByID(ctx, orgID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoOrganization
	}
	if err != nil {
		return nil, fmt.Errorf("orgs: set plan: %w", err)
	}
	audit.Or(p.Audit).Record(ctx, audit.Event{Type: audit.OrganizationPlanChanged, OrganizationID: orgID, Actor: audit.Actor(actor),
		Subject: audit.Ref{Type: "organization", ID: orgID}, Details: map[string]string{"plan": name, "rate_limit": strconv.Itoa(limit)}})
	return org, nil
}
