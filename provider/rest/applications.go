package rest

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
)

// ApplicationStore is what the application endpoints use.
type ApplicationStore interface {
	CreateApplication(ctx context.Context, a *storage.Application) error
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ListApplications(ctx context.Context, orgID string) ([]storage.Application, error)
	UpdateApplication(ctx context.Context, a *storage.Application) error
	DeleteApplication(ctx context.Context, orgID, id string) error
}

// ApplicationAPI serves /api/v1/applications: the organization's OAuth
// clients. The /oauth endpoints read them through the client cache
// (storage/clientcache), which this API's writes go through: a change (a
// rotated secret, a removed redirect URI) applies at once on this replica,
// on the others when the cache's Redis eviction arrives or its TTL ends.
type ApplicationAPI struct {
	Store ApplicationStore
	// Tokens revokes what a deleted application was issued (oauth.Provider).
	Tokens interface {
		RevokeClient(ctx context.Context, clientID string) error
	}
	Auth    *auth.Authenticator
	MaxBody int64
	Now     func() time.Time
	// Operators may mark applications trusted (config PUGUH_PLATFORM_OPERATORS);
	// Users resolves the caller's email to check it.
	Operators []string
	Users     interface {
		UserByID(ctx context.Context, id string) (*storage.User, error)
	}
}

// mayTrust refuses "trusted": true to anyone but a platform operator. A
// trusted application skips the consent page for every user of this Puguh,
// so no tenant may declare its own application first-party (SPEC: trusted
// means first-party). `puguh clients create --trusted` remains for operators
// at the console.
func (a *ApplicationAPI) mayTrust(ctx context.Context, p *authz.Principal, f ApplicationFields) error {
	if f.Trusted == nil || !*f.Trusted {
		return nil
	}
	if p.IsUser() && a.Users != nil {
		if u, err := a.Users.UserByID(ctx, p.ID); err == nil && !u.Disabled && slices.Contains(a.Operators, u.Email) {
			return nil
		}
	}
	return httpapi.Forbidden("Only platform operators can mark an application trusted")
}

// Mount registers the routes.
func (a *ApplicationAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/applications", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/applications", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/applications/{id}", h(a.get)).Methods(http.MethodGet)
	r.Handle("/api/v1/applications/{id}", h(a.update)).Methods(http.MethodPatch)
	r.Handle("/api/v1/applications/{id}", h(a.delete)).Methods(http.MethodDelete)
	r.Handle("/api/v1/applications/{id}/secret", h(a.rotateSecret)).Methods(http.MethodPost)
}

type applicationJSON struct {
	ID                      string    `json:"id"`
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	ResponseTypes           []string  `json:"response_types"`
	Scopes                  []string  `json:"scopes"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Public                  bool      `json:"public"`
	Trusted                 bool      `json:"trusted"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
	// ClientSecret is present only in the response that created it.
	ClientSecret string `json:"client_secret,omitempty"`
}

func appJSON(a *storage.Application, secret string) applicationJSON {
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return applicationJSON{ID: a.ID, ClientID: a.ID, Name: a.Name, RedirectURIs: orEmpty(a.RedirectURIs),
		PostLogoutRedirectURIs: orEmpty(a.PostLogoutRedirectURIs), GrantTypes: orEmpty(a.GrantTypes),
		ResponseTypes: orEmpty(a.ResponseTypes), Scopes: orEmpty(a.Scopes), TokenEndpointAuthMethod: a.TokenEndpointAuthMethod,
		Public: a.Public, Trusted: a.Trusted, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ClientSecret: secret}
}

func (a *ApplicationAPI) create(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.ApplicationsCreate); err != nil {
		return err
	}
	var f ApplicationFields
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &f); err != nil {
		return err
	}
	if err := a.mayTrust(r.Context(), p, f); err != nil {
		return err
	}
	app, secret, err := NewApplication(p.OrganizationID, f, a.Now())
	if err != nil {
		return err
	}
	if err := a.Store.CreateApplication(r.Context(), app); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, appJSON(app, secret))
	return nil
}

func (a *ApplicationAPI) list(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.ApplicationsRead); err != nil {
		return err
	}
	apps, err := a.Store.ListApplications(r.Context(), p.OrganizationID)
	if err != nil {
		return err
	}
	items := make([]applicationJSON, 0, len(apps))
	for i := range apps {
		items = append(items, appJSON(&apps[i], ""))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[applicationJSON]{Items: items})
	return nil
}

// application loads the application named by the path after checking perm.
// The store finds applications by client id alone, so the organization check
// is here: another organization's application is 404, exactly like a missing
// one, so ids cannot be probed across tenants (docs/security.md, "Tenant isolation").
func (a *ApplicationAPI) application(r *http.Request, perm string) (*authz.Principal, *storage.Application, error) {
	p := principal(r)
	if err := p.Require(perm); err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	app, err := a.Store.ApplicationByID(r.Context(), id)
	if err != nil {
		return nil, nil, notFoundAs(err, "Application not found")
	}
	if app.OrganizationID != p.OrganizationID {
		return nil, nil, httpapi.NotFound("Application not found")
	}
	return p, app, nil
}

func (a *ApplicationAPI) get(w http.ResponseWriter, r *http.Request) error {
	_, app, err := a.application(r, authz.ApplicationsRead)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, appJSON(app, ""))
	return nil
}

// update changes the fields given (PATCH). Making a public client
// confidential issues its first secret, returned in this response only.
func (a *ApplicationAPI) update(w http.ResponseWriter, r *http.Request) error {
	p, app, err := a.application(r, authz.ApplicationsUpdate)
	if err != nil {
		return err
	}
	var f ApplicationFields
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &f); err != nil {
		return err
	}
	if err := a.mayTrust(r.Context(), p, f); err != nil {
		return err
	}
	secret, err := UpdateApplication(app, f, a.Now())
	if err != nil {
		return err
	}
	if err := a.Store.UpdateApplication(r.Context(), app); err != nil {
		return notFoundAs(err, "Application not found")
	}
	httpapi.WriteJSON(w, http.StatusOK, appJSON(app, secret))
	return nil
}

func (a *ApplicationAPI) delete(w http.ResponseWriter, r *http.Request) error {
	p, app, err := a.application(r, authz.ApplicationsDelete)
	if err != nil {
		return err
	}
	// Tokens it was issued must not outlive it. Revoked first: if the delete
	// then fails, a retry finds the application and revokes again (idempotent).
	if err := a.Tokens.RevokeClient(r.Context(), app.ID); err != nil {
		return err
	}
	if err := a.Store.DeleteApplication(r.Context(), p.OrganizationID, app.ID); err != nil {
		return notFoundAs(err, "Application not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotatedSecretJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// rotateSecret replaces a confidential client's secret. The old one stops
// working at once on this replica (the write evicts the cached client) and
// on the others as docs/oauth.md, "Client cache", says.
func (a *ApplicationAPI) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	_, app, err := a.application(r, authz.ApplicationsUpdate)
	if err != nil {
		return err
	}
	if app.Public {
		return httpapi.Conflict("Public applications have no client secret")
	}
	secret, err := credentials.GenerateClientSecret()
	if err != nil {
		return err
	}
	app.SecretHash = oauth.HashSecret(secret)
	app.UpdatedAt = a.Now().UTC()
	if err := a.Store.UpdateApplication(r.Context(), app); err != nil {
		return notFoundAs(err, "Application not found")
	}
	httpapi.WriteJSON(w, http.StatusOK, rotatedSecretJSON{ClientID: app.ID, ClientSecret: secret})
	return nil
}
