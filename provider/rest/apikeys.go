package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Credentials is the API-key and service-account rules (credentials.Service).
type Credentials interface {
	CreateKey(ctx context.Context, p *authz.Principal, req credentials.KeyRequest) (*credentials.CreatedKey, error)
	ListKeys(ctx context.Context, p *authz.Principal) ([]storage.APIKey, error)
	RevokeKey(ctx context.Context, p *authz.Principal, id string) error
	CreateServiceAccount(ctx context.Context, p *authz.Principal, name, role *string) (*credentials.CreatedServiceAccount, error)
	ListServiceAccounts(ctx context.Context, p *authz.Principal) ([]storage.ServiceAccount, error)
	ServiceAccount(ctx context.Context, p *authz.Principal, id string) (*storage.ServiceAccount, error)
	DeleteServiceAccount(ctx context.Context, p *authz.Principal, id string) error
	CreateServiceAccountKey(ctx context.Context, p *authz.Principal, accountID string, req credentials.KeyRequest) (*credentials.CreatedKey, error)
	RotateKey(ctx context.Context, p *authz.Principal, id string, overlap *string) (*credentials.RotatedKey, error)
	RotateServiceAccountSecret(ctx context.Context, p *authz.Principal, id string, overlap *string) (*credentials.RotatedSecret, error)
}

// APIKeyAPI serves /api/v1/api-keys.
type APIKeyAPI struct {
	Credentials Credentials
	Auth        *auth.Authenticator
	MaxBody     int64
}

// Mount registers the routes.
func (a *APIKeyAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/api-keys", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/api-keys", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/api-keys/{id}", h(a.revoke)).Methods(http.MethodDelete)
	r.Handle("/api/v1/api-keys/{id}/rotate", h(a.rotate)).Methods(http.MethodPost)
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
	// Rotation: the key that replaced this one and when this one stops
	// working (both null until rotated); whether it is old enough to rotate.
	ReplacedBy     *string    `json:"replaced_by"`
	RotationEndsAt *time.Time `json:"rotation_ends_at"`
	AgeDays        int        `json:"age_days"`
	RotationDue    bool       `json:"rotation_due"`
}

// createdAPIKeyJSON is a new key with its secret, shown this once.
type createdAPIKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

func keyJSON(k *storage.APIKey) apiKeyJSON {
	var role *string
	if k.Role != "" {
		role = &k.Role
	}
	now := time.Now()
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Permissions: credentials.SortedPermissions(k), Role: role,
		CreatedBy: k.CreatedBy, ServiceAccountID: k.ServiceAccountID, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
		ExpiresAt: k.ExpiresAt, ReplacedBy: k.ReplacedBy, RotationEndsAt: k.RotationEndsAt,
		AgeDays: int(now.Sub(k.CreatedAt) / (24 * time.Hour)), RotationDue: credentials.Due(k.CreatedAt, now)}
}

// rotatedAPIKeyJSON is a rotation's answer: the new key with its secret,
// and when the key it replaces stops working.
type rotatedAPIKeyJSON struct {
	createdAPIKeyJSON
	Replaces          string    `json:"replaces"`
	ReplacedKeyEndsAt time.Time `json:"replaced_key_ends_at"`
}

// rotateRequest is the body of both rotations; it may be empty.
type rotateRequest struct {
	Overlap *string `json:"overlap"`
}

func (a *APIKeyAPI) rotate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req rotateRequest
	if err := decodeOptionalJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	k, err := a.Credentials.RotateKey(r.Context(), principal(r), id, req.Overlap)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, rotatedAPIKeyJSON{createdAPIKeyJSON: createdKeyJSON(&k.CreatedKey),
		Replaces: k.Replaces, ReplacedKeyEndsAt: k.ReplacedEndsAt})
	return nil
}

func createdKeyJSON(k *credentials.CreatedKey) createdAPIKeyJSON {
	return createdAPIKeyJSON{apiKeyJSON: keyJSON(&k.APIKey), Key: k.Key}
}

func (a *APIKeyAPI) create(w http.ResponseWriter, r *http.Request) error {
	var req credentials.KeyRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	created, err := a.Credentials.CreateKey(r.Context(), principal(r), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, createdKeyJSON(created))
	return nil
}

func (a *APIKeyAPI) list(w http.ResponseWriter, r *http.Request) error {
	keys, err := a.Credentials.ListKeys(r.Context(), principal(r))
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
	if err := a.Credentials.RevokeKey(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
