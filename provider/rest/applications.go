package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Applications is the application rules (clients.Service).
type Applications interface {
	Create(ctx context.Context, p *authz.Principal, f clients.ApplicationFields) (*storage.Application, string, error)
	List(ctx context.Context, p *authz.Principal) ([]storage.Application, error)
	Get(ctx context.Context, p *authz.Principal, id string) (*storage.Application, error)
	Update(ctx context.Context, p *authz.Principal, id string, f clients.ApplicationFields) (*storage.Application, string, error)
	Delete(ctx context.Context, p *authz.Principal, id string) error
	RotateSecret(ctx context.Context, p *authz.Principal, id string) (string, error)
	Grants(ctx context.Context, p *authz.Principal, appID string) ([]storage.ConsentGrant, error)
	RevokeGrant(ctx context.Context, p *authz.Principal, appID, userID string) (int, error)
}

// ApplicationAPI serves /api/v1/applications: the organization's OAuth
// clients (docs/api-keys.md, "Applications").
type ApplicationAPI struct {
	Apps    Applications
	Auth    *auth.Authenticator
	MaxBody int64
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
	ClientSecret                 string `json:"client_secret,omitempty"`
	IDTokenSignedResponseAlg     string `json:"id_token_signed_response_alg"`
	AccessTokenSignedResponseAlg string `json:"access_token_signed_response_alg"`
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
		Public: a.Public, Trusted: a.Trusted, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ClientSecret: secret,
		IDTokenSignedResponseAlg: orRS256(a.IDTokenSignedResponseAlg), AccessTokenSignedResponseAlg: orRS256(a.AccessTokenSignedResponseAlg)}
}

// orRS256 reports an application stored without an algorithm as RS256, what it signs with.
func orRS256(alg string) string {
	if alg == "" {
		return "RS256"
	}
	return alg
}

func (a *ApplicationAPI) create(w http.ResponseWriter, r *http.Request) error {
	var f clients.ApplicationFields
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &f); err != nil {
		return err
	}
	app, secret, err := a.Apps.Create(r.Context(), principal(r), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, appJSON(app, secret))
	return nil
}

func (a *ApplicationAPI) list(w http.ResponseWriter, r *http.Request) error {
	apps, err := a.Apps.List(r.Context(), principal(r))
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

func (a *ApplicationAPI) get(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	app, err := a.Apps.Get(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, appJSON(app, ""))
	return nil
}

// update changes the fields given (PATCH).
func (a *ApplicationAPI) update(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var f clients.ApplicationFields
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &f); err != nil {
		return err
	}
	app, secret, err := a.Apps.Update(r.Context(), principal(r), id, f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, appJSON(app, secret))
	return nil
}

func (a *ApplicationAPI) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Apps.Delete(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotatedSecretJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// rotateSecret replaces a confidential client's secret.
func (a *ApplicationAPI) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	secret, err := a.Apps.RotateSecret(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rotatedSecretJSON{ClientID: id, ClientSecret: secret})
	return nil
}
