package rest

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
)

// Plans changes organizations' plans (orgs.Plans).
type Plans interface {
	Set(ctx context.Context, actor *authz.Principal, orgID string, plan *string, rateLimit *int) (*storage.Organization, error)
}

// PlanAPI serves PATCH /api/v1/organizations/{id}/plan for platform operators.
type PlanAPI struct {
	Plans   Plans
	Auth    *auth.Authenticator
	MaxBody int64
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
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req planRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	p := principal(r)
	org, err := a.Plans.Set(r.Context(), p, orgID, req.Plan, req.RateLimit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, planResponse{OrganizationID: org.ID, Plan: org.Plan, RateLimit: org.RateLimit,
		RequestsPerMinute: ratelimit.PlanLimit(org)})
	return nil
}
