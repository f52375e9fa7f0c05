package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
)

// PermissionPlansUpdate lets a principal change any organization's plan. No
// organization role grants it (an owner must not raise their own limit); only
// the platform operators named in PUGUH_PLATFORM_OPERATORS hold it.
const PermissionPlansUpdate = "platform.plans.update"

// PlanStore reads users and writes organizations' plans.
type PlanStore interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
	SetPlan(ctx context.Context, orgID, plan string, rateLimit int) error
}

// PlanAPI serves PATCH /api/v1/organizations/{id}/plan for platform operators.
type PlanAPI struct {
	Store     PlanStore
	Auth      *auth.Authenticator
	Operators []string // normalised emails (config.PlatformOperators)
	MaxBody   int64
}

// Mount registers the route.
func (a *PlanAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/organizations/{id}/plan", a.Auth.Required(httpapi.HandlerFunc(a.update))).Methods(http.MethodPatch)
}

type planRequest struct {
	Plan      *string `json:"plan"`
	RateLimit *int    `json:"rate_limit"`
}

type planResponse struct {
	OrganizationID    string `json:"organization_id"`
	Plan              string `json:"plan"`
	RateLimit         int    `json:"rate_limit"`
	RequestsPerMinute int    `json:"requests_per_minute"`
}

func (a *PlanAPI) update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := a.requireOperator(ctx, principal(r)); err != nil {
		return err
	}
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req planRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if req.Plan == nil {
		return httpapi.Invalid(httpapi.Issue{Loc: []any{"body", "plan"}, Msg: "field required", Type: "value_error.missing"})
	}
	plan, limit := strings.ToLower(strings.TrimSpace(*req.Plan)), 0
	if req.RateLimit != nil {
		limit = *req.RateLimit
	}
	if err := ratelimit.ValidPlan(plan, limit); err != nil {
		return httpapi.Invalid(httpapi.Issue{Loc: []any{"body", "plan"}, Msg: err.Error(), Type: "value_error"})
	}
	if err := a.Store.SetPlan(ctx, orgID, plan, limit); err != nil {
		return notFoundAs(err, "Organization not found")
	}
	org, err := a.Store.OrganizationByID(ctx, orgID)
	if err != nil {
		return notFoundAs(err, "Organization not found")
	}
	httpapi.Logger(ctx).Info("organization plan changed", "organization_id", orgID, "plan", plan, "rate_limit", limit,
		"by", principal(r).ID)
	httpapi.WriteJSON(w, http.StatusOK, planResponse{OrganizationID: org.ID, Plan: org.Plan, RateLimit: org.RateLimit,
		RequestsPerMinute: ratelimit.PlanLimit(org)})
	return nil
}

// requireOperator answers 403 unless p is a user listed as a platform operator.
// API keys and service accounts belong to one organization and never are.
func (a *PlanAPI) requireOperator(ctx context.Context, p *authz.Principal) error {
	if !p.IsUser() || len(a.Operators) == 0 {
		return httpapi.MissingPermission(PermissionPlansUpdate)
	}
	u, err := a.Store.UserByID(ctx, p.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.MissingPermission(PermissionPlansUpdate)
	}
	if err != nil {
		return err
	}
	for _, op := range a.Operators {
		if u.Email == op && !u.Disabled {
			return nil
		}
	}
	return httpapi.MissingPermission(PermissionPlansUpdate)
}
