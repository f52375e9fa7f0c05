package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
)

// HeaderApplication names the application of application-scoped operations.
const HeaderApplication = "X-Application-ID"

// GrantsAPI serves the consent grants users gave an application: the
// application-scoped part of the REST API, addressed by X-Application-ID.
type GrantsAPI struct {
	Apps Applications
	Auth *auth.Authenticator
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

// applicationID reads X-Application-ID: missing or not a UUID (every
// application's id is one) is 422, as for X-Organization-ID.
func applicationID(r *http.Request) (string, error) {
	id := r.Header.Get(HeaderApplication)
	if id == "" {
		return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderApplication}, Msg: "field required", Type: "value_error.missing"})
	}
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderApplication}, Msg: "value is not a valid uuid", Type: "type_error.uuid"})
	}
	return strings.ToLower(id), nil
}

// list is GET /api/v1/applications/grants (applications.grants.read).
func (a *GrantsAPI) list(w http.ResponseWriter, r *http.Request) error {
	// The request's shape first (422), then the caller's permission (403).
	appID, err := applicationID(r)
	if err != nil {
		return err
	}
	p := principal(r)
	if err := p.Require(authz.GrantsRead); err != nil {
		return err
	}
	grants, err := a.Apps.Grants(r.Context(), p, appID)
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
// (applications.grants.delete).
func (a *GrantsAPI) revoke(w http.ResponseWriter, r *http.Request) error {
	// The request's shape first (422), then the caller's permission (403).
	appID, err := applicationID(r)
	if err != nil {
		return err
	}
	p := principal(r)
	if err := p.Require(authz.GrantsDelete); err != nil {
		return err
	}
	userID := mux.Vars(r)["user_id"]
	if _, err := a.Apps.RevokeGrant(r.Context(), p, appID, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
