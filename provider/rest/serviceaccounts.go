package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
)

// ServiceAccountStore is what the service-account endpoints use.
type ServiceAccountStore interface {
	CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error
	ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error)
	ListServiceAccounts(ctx context.Context, orgID string) ([]storage.ServiceAccount, error)
	// DeleteServiceAccount deletes the account and revokes its API keys.
	DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error
}

// ServiceAccountAPI serves /api/v1/service-accounts: non-human principals with
// a role like a member's, their API keys, and their OAuth client credentials
// for the client_credentials grant at /oauth/token.
type ServiceAccountAPI struct {
	Store   ServiceAccountStore
	Keys    APIKeyStore
	Cache   CredentialCache
	Auth    *auth.Authenticator
	MaxBody int64
	Now     func() time.Time
}

// Mount registers the routes.
func (a *ServiceAccountAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/service-accounts", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/service-accounts", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/service-accounts/{id}", h(a.get)).Methods(http.MethodGet)
	r.Handle("/api/v1/service-accounts/{id}", h(a.delete)).Methods(http.MethodDelete)
	r.Handle("/api/v1/service-accounts/{id}/api-keys", h(a.createKey)).Methods(http.MethodPost)
}

type serviceAccountJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	ClientID  string    `json:"client_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

type createdServiceAccountJSON struct {
	serviceAccountJSON
	ClientSecret string `json:"client_secret"`
}

func accountJSON(sa *storage.ServiceAccount) serviceAccountJSON {
	return serviceAccountJSON{ID: sa.ID, Name: sa.Name, Role: sa.Role, ClientID: sa.ClientID, CreatedBy: sa.CreatedBy, CreatedAt: sa.CreatedAt}
}

type createServiceAccountRequest struct {
	Name *string `json:"name"`
	Role *string `json:"role"`
}

func (a *ServiceAccountAPI) create(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.ServiceAccountsCreate); err != nil {
		return err
	}
	// Only people create credentials. A service account made by an API key
	// or by another service account would outlive the revocation of the
	// credential that made it, keeping its power (docs/security.md,
	// "Credentials act as themselves").
	if !p.IsUser() {
		return httpapi.Forbidden("Only users can create service accounts")
	}
	var req createServiceAccountRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	var v httpapi.Validator
	var name string
	checkName(&v, req.Name, 200, &name, "body", "name")
	role := checkRole(&v, req.Role)
	if err := v.Err(); err != nil {
		return err
	}
	// Like adding a member: nobody creates an account more powerful than themselves.
	if err := mayGrant(p, role); err != nil {
		return err
	}
	secret, err := credentials.GenerateClientSecret()
	if err != nil {
		return err
	}
	id := uuid.NewString()
	sa := &storage.ServiceAccount{ID: id, OrganizationID: p.OrganizationID, Name: name, Role: role,
		ClientID: "sa-" + id, SecretHash: oauth.HashSecret(secret), CreatedBy: p.ID, CreatedAt: a.Now().UTC()}
	if err := a.Store.CreateServiceAccount(r.Context(), sa); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, createdServiceAccountJSON{serviceAccountJSON: accountJSON(sa), ClientSecret: secret})
	return nil
}

func (a *ServiceAccountAPI) list(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.ServiceAccountsRead); err != nil {
		return err
	}
	accounts, err := a.Store.ListServiceAccounts(r.Context(), p.OrganizationID)
	if err != nil {
		return err
	}
	items := make([]serviceAccountJSON, 0, len(accounts))
	for i := range accounts {
		items = append(items, accountJSON(&accounts[i]))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[serviceAccountJSON]{Items: items})
	return nil
}

// account loads the service account named by the path, in the caller's
// organization (another organization's is 404), after checking perm.
func (a *ServiceAccountAPI) account(r *http.Request, perm string) (*authz.Principal, *storage.ServiceAccount, error) {
	p := principal(r)
	if err := p.Require(perm); err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	sa, err := a.Store.ServiceAccountByID(r.Context(), p.OrganizationID, id)
	if err != nil {
		return nil, nil, notFoundAs(err, "Service account not found")
	}
	return p, sa, nil
}

func (a *ServiceAccountAPI) get(w http.ResponseWriter, r *http.Request) error {
	_, sa, err := a.account(r, authz.ServiceAccountsRead)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, accountJSON(sa))
	return nil
}

// delete removes the account, revokes its API keys in the same transaction,
// and evicts both from this replica's caches before answering: its keys and
// its client_credentials Bearer tokens are refused from the next request on
// (other replicas: see docs/api-keys.md). fosite no longer finds the client,
// so no new token can be issued either.
func (a *ServiceAccountAPI) delete(w http.ResponseWriter, r *http.Request) error {
	p, sa, err := a.account(r, authz.ServiceAccountsDelete)
	if err != nil {
		return err
	}
	if err := mayGrant(p, sa.Role); err != nil {
		return err
	}
	ctx := r.Context()
	if err := a.Store.DeleteServiceAccount(ctx, p.OrganizationID, sa.ID, a.Now()); err != nil {
		return notFoundAs(err, "Service account not found")
	}
	a.Cache.EvictServiceAccount(ctx, p.OrganizationID, sa.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createKey creates an API key that acts as the service account, with at most
// the account's permissions. It takes a person who may manage the account.
func (a *ServiceAccountAPI) createKey(w http.ResponseWriter, r *http.Request) error {
	p, sa, err := a.account(r, authz.ServiceAccountsCreate)
	if err != nil {
		return err
	}
	if !p.IsUser() {
		return httpapi.Forbidden("Only users can create API keys")
	}
	if err := mayGrant(p, sa.Role); err != nil {
		return err
	}
	var req APIKeyRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	ceiling := authz.Set{}
	for perm := range authz.ForRole(sa.Role) {
		if p.Permissions.Has(perm) {
			ceiling[perm] = struct{}{}
		}
	}
	created, err := newKey(r.Context(), a.Keys, a.Now(), p, &sa.ID, req, ceiling, sa.Role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, created)
	return nil
}
