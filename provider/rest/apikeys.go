package rest

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// APIKeyStore is what the API-key endpoints use.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *storage.APIKey) error
	APIKeyByID(ctx context.Context, orgID, id string) (*storage.APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]storage.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error
}

// CredentialCache is the API-key verifier's cache (credentials.Verifier): told of
// every revocation so that it applies at once here and, through Redis, soon
// on the other replicas.
type CredentialCache interface {
	Evict(ctx context.Context, hash []byte)
	EvictServiceAccount(ctx context.Context, orgID, id string)
}

// APIKeyAPI serves /api/v1/api-keys.
type APIKeyAPI struct {
	Store   APIKeyStore
	Cache   CredentialCache
	Auth    *auth.Authenticator
	MaxBody int64
	Now     func() time.Time
}

// Mount registers the routes.
func (a *APIKeyAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/api-keys", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/api-keys", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/api-keys/{id}", h(a.revoke)).Methods(http.MethodDelete)
}

// apiKeyJSON is a key as listed: never its secret or hash.
type apiKeyJSON struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Prefix           string     `json:"prefix"`
	Permissions      []string   `json:"permissions"`
	Role             *string    `json:"role"` // null for a key given permissions rather than a role
	CreatedBy        string     `json:"created_by"`
	ServiceAccountID *string    `json:"service_account_id"`
	CreatedAt        time.Time  `json:"created_at"`
	LastUsedAt       *time.Time `json:"last_used_at"`
	ExpiresAt        *time.Time `json:"expires_at"`
}

// CreatedAPIKey is a new key with its secret, shown this once.
type CreatedAPIKey struct {
	apiKeyJSON
	Key string `json:"key"`
}

func keyJSON(k *storage.APIKey) apiKeyJSON {
	perms := slices.Clone(k.Permissions)
	if perms == nil {
		perms = []string{}
	}
	slices.Sort(perms)
	var role *string
	if k.Role != "" {
		role = &k.Role
	}
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Permissions: perms, Role: role, CreatedBy: k.CreatedBy,
		ServiceAccountID: k.ServiceAccountID, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt}
}

// APIKeyRequest is the body of both key-creating endpoints. Role and
// Permissions are alternatives; with neither, the key gets every permission
// its owner holds now. ExpiresAt is an RFC 3339 time, parsed by newKey rather
// than by encoding/json so that a bad one is a 422 at body.expires_at.
type APIKeyRequest struct {
	Name        *string   `json:"name"`
	ExpiresAt   *string   `json:"expires_at"`
	Role        *string   `json:"role"`
	Permissions *[]string `json:"permissions"`
}

func (a *APIKeyAPI) create(w http.ResponseWriter, r *http.Request) error {
	var req APIKeyRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	created, err := a.CreateKey(r.Context(), principal(r), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, created)
	return nil
}

// CreateKey creates an API key for the calling user in its current
// organization; the account pages use it too. Only people create keys: a key
// that could mint keys would outlive its own revocation.
func (a *APIKeyAPI) CreateKey(ctx context.Context, p *authz.Principal, req APIKeyRequest) (*CreatedAPIKey, error) {
	if !p.IsUser() {
		return nil, httpapi.Forbidden("Only users can create API keys")
	}
	if err := p.Require(authz.APIKeysCreate); err != nil {
		return nil, err
	}
	return newKey(ctx, a.Store, a.Now(), p, nil, req, p.Permissions, p.Role)
}

// newKey validates req, narrows its permissions to ceiling (403 for any
// permission beyond it), checks that the creating user p may hand out the
// key's role, and stores the key. A key given a role keeps it (its rank); a
// key given neither role nor permissions gets every permission of ceiling
// and defaultRole (the role of whoever it acts for); a key given permissions
// has no role of its own, and its rank is what they imply.
func newKey(ctx context.Context, store APIKeyStore, now time.Time, p *authz.Principal, accountID *string,
	req APIKeyRequest, ceiling authz.Set, defaultRole string) (*CreatedAPIKey, error) {
	var v httpapi.Validator
	var name string
	checkName(&v, req.Name, 200, &name, "body", "name")
	var expires *time.Time
	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.ExpiresAt)
		switch {
		case err != nil:
			v.Add("invalid datetime format", "value_error.datetime", "body", "expires_at")
		case !t.After(now):
			v.Add("expires_at must be in the future", "value_error.datetime.past", "body", "expires_at")
		default:
			t = t.UTC()
			expires = &t
		}
	}
	perms := requestedPermissions(&v, req, ceiling)
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, perm := range perms {
		if !ceiling.Has(perm) {
			// A key never holds a permission its owner lacks.
			return nil, httpapi.MissingPermission(perm)
		}
	}
	role := ""
	switch {
	case req.Role != nil:
		role = *req.Role
	case req.Permissions == nil:
		role = defaultRole
	}
	if role != "" {
		if err := mayGrant(p, role); err != nil {
			return nil, err
		}
	}
	s, err := credentials.Generate()
	if err != nil {
		return nil, err
	}
	k := &storage.APIKey{ID: uuid.NewString(), OrganizationID: p.OrganizationID, Name: name, Prefix: s.Display, Hash: s.Hash,
		Permissions: perms, Role: role, CreatedBy: p.ID, ServiceAccountID: accountID, CreatedAt: now.UTC(), ExpiresAt: expires}
	if err := store.CreateAPIKey(ctx, k); err != nil {
		return nil, notFoundAs(err, "Service account not found")
	}
	return &CreatedAPIKey{apiKeyJSON: keyJSON(k), Key: s.Key}, nil
}

// requestedPermissions reads role or permissions into a sorted list, recording
// 422 issues in v.
func requestedPermissions(v *httpapi.Validator, req APIKeyRequest, ceiling authz.Set) []string {
	switch {
	case req.Role != nil && req.Permissions != nil:
		v.Add("give either role or permissions, not both", "value_error.exclusive", "body", "permissions")
		return nil
	case req.Role != nil:
		role := checkRole(v, req.Role)
		return authz.PermissionsOf(role)
	case req.Permissions != nil:
		known := authz.NewSet(authz.AllPermissions()...)
		set := authz.Set{}
		if len(*req.Permissions) == 0 {
			v.Add("ensure this value has at least 1 items", "value_error.list.min_items", "body", "permissions")
		}
		for i, perm := range *req.Permissions {
			if !known.Has(perm) {
				v.Add("unknown permission", "value_error.permission", "body", "permissions", i)
				continue
			}
			set[perm] = struct{}{}
		}
		return set.Sorted()
	}
	return ceiling.Sorted()
}

func (a *APIKeyAPI) list(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(authz.APIKeysRead); err != nil {
		return err
	}
	keys, err := a.Store.ListAPIKeys(r.Context(), p.OrganizationID)
	if err != nil {
		return err
	}
	items := make([]apiKeyJSON, 0, len(keys))
	for i := range keys {
		items = append(items, keyJSON(&keys[i]))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[apiKeyJSON]{Items: items})
	return nil
}

func (a *APIKeyAPI) revoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.RevokeKey(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RevokeKey revokes one of the organization's keys and evicts it from the
// verifier's cache before answering, so this replica refuses it at once.
// Anyone with api_keys.delete may revoke the keys they created, and a key may
// revoke itself; other people's keys take what removing those people takes
// (organization.members.delete) and rank over the key's role, and a service
// account's keys what deleting the account takes. A key is not its creator:
// it cannot revoke its creator's other keys on the strength of being theirs.
func (a *APIKeyAPI) RevokeKey(ctx context.Context, p *authz.Principal, id string) error {
	if err := p.Require(authz.APIKeysDelete); err != nil {
		return err
	}
	k, err := a.Store.APIKeyByID(ctx, p.OrganizationID, id)
	if err != nil {
		return notFoundAs(err, "API key not found")
	}
	if k.RevokedAt != nil {
		return httpapi.NotFound("API key not found")
	}
	switch {
	case k.ID == p.ID && p.Type == authz.TypeAPIKey:
	case k.ServiceAccountID != nil:
		err = p.Require(authz.ServiceAccountsDelete)
	case !p.IsUser() || k.CreatedBy != p.ID:
		err = p.Require(authz.MembersDelete)
		if err == nil && k.Role != "" {
			err = mayGrant(p, k.Role)
		}
	}
	if err != nil {
		return err
	}
	if err := a.Store.RevokeAPIKey(ctx, p.OrganizationID, id, a.Now()); err != nil {
		return notFoundAs(err, "API key not found")
	}
	a.Cache.Evict(ctx, k.Hash)
	return nil
}
