package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// HeaderApplication names the application of application-scoped operations.
const HeaderApplication = "X-Application-ID"

// GrantStore is what the grants endpoints read and write.
type GrantStore interface {
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ListConsentGrants(ctx context.Context, applicationID string) ([]storage.ConsentGrant, error)
	DeleteConsentGrant(ctx context.Context, applicationID, userID string) ([]string, error)
}

// FamilyRevoker revokes a token family (oauth.Provider.RevokeFamily).
type FamilyRevoker interface {
	RevokeFamily(ctx context.Context, familyID string) error
}

// GrantsAPI serves the consent grants users gave an application: the
// application-scoped part of the REST API, addressed by X-Application-ID.
type GrantsAPI struct {
	Store  GrantStore
	Tokens FamilyRevoker
	Auth   *auth.Authenticator
}

// Mount registers the routes. They must be registered before any
// /api/v1/applications/{id} route, which would otherwise take "grants" for an id.
func (a *GrantsAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/applications/grants", a.Auth.Required(httpapi.HandlerFunc(a.list))).Methods(http.MethodGet)
	r.Handle("/api/v1/applications/grants/{user_id}", a.Auth.Required(httpapi.HandlerFunc(a.revoke))).Methods(http.MethodDelete)
}

type grantJSON struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// application resolves X-Application-ID to one of the caller's organization's
// applications: missing is 422, another organization's (or none) is 404, so
// a caller cannot learn which client ids exist elsewhere.
func (a *GrantsAPI) application(r *http.Request, p *authz.Principal) (*storage.Application, error) {
	id := r.Header.Get(HeaderApplication)
	if id == "" {
		return nil, httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderApplication}, Msg: "field required", Type: "value_error.missing"})
	}
	app, err := a.Store.ApplicationByID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && app.OrganizationID != p.OrganizationID) {
		return nil, httpapi.NotFound("Application not found")
	}
	return app, err
}

// list is GET /api/v1/applications/grants (applications.grants.read).
func (a *GrantsAPI) list(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.GrantsRead); err != nil {
		return err
	}
	app, err := a.application(r, p)
	if err != nil {
		return err
	}
	grants, err := a.Store.ListConsentGrants(r.Context(), app.ID)
	if err != nil {
		return err
	}
	items := make([]grantJSON, 0, len(grants))
	for _, g := range grants {
		items = append(items, grantJSON{UserID: g.UserID, Email: g.Email, Scopes: g.Scopes, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt})
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[grantJSON]{Items: items})
	return nil
}

// revoke is DELETE /api/v1/applications/grants/{user_id}
// (applications.grants.delete): it forgets the consent and revokes every token
// family the user holds for the application, so the application loses access
// at once, not when its tokens expire.
func (a *GrantsAPI) revoke(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.GrantsDelete); err != nil {
		return err
	}
	app, err := a.application(r, p)
	if err != nil {
		return err
	}
	userID := mux.Vars(r)["user_id"]
	ctx := r.Context()
	families, err := a.Store.DeleteConsentGrant(ctx, app.ID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.NotFound("Grant not found")
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range families {
		errs = append(errs, a.Tokens.RevokeFamily(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("grant revoked", "application_id", app.ID, "user_id", userID, "families", len(families))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
