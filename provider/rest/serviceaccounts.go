package rest

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// ServiceAccountAPI serves /api/v1/service-accounts: non-human principals with
// a role like a member's, their API keys, and their OAuth client credentials
// for the client_credentials grant at /oauth/token.
type ServiceAccountAPI struct {
	Credentials Credentials
	Auth        *auth.Authenticator
	MaxBody     int64
}

// Mount registers the routes.
func (a *ServiceAccountAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/service-accounts", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/service-accounts", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/service-accounts/{id}", h(a.get)).Methods(http.MethodGet)
	r.Handle("/api/v1/service-accounts/{id}", h(a.delete)).Methods(http.MethodDelete)
	r.Handle("/api/v1/service-accounts/{id}/api-keys", h(a.createKey)).Methods(http.MethodPost)
	r.Handle("/api/v1/service-accounts/{id}/rotate-secret", h(a.rotateSecret)).Methods(http.MethodPost)
}

type serviceAccountJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	ClientID  string    `json:"client_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// The client secret's rotation: when the current one was made, until
	// when the previous one still works (null: it does not), and whether the
	// current one is old enough to rotate.
	SecretCreatedAt      time.Time  `json:"secret_created_at"`
	PreviousSecretEndsAt *time.Time `json:"previous_secret_ends_at"`
	RotationDue          bool       `json:"rotation_due"`
}

type createdServiceAccountJSON struct {
	serviceAccountJSON
	ClientSecret string `json:"client_secret"`
}

func accountJSON(sa *storage.ServiceAccount) serviceAccountJSON {
	now, made := time.Now(), credentials.SecretCreatedAt(sa)
	return serviceAccountJSON{ID: sa.ID, Name: sa.Name, Role: sa.Role, ClientID: sa.ClientID, CreatedBy: sa.CreatedBy,
		CreatedAt: sa.CreatedAt, SecretCreatedAt: made, PreviousSecretEndsAt: credentials.PreviousSecretEndsAt(sa, now),
		RotationDue: credentials.Due(made, now)}
}

// rotatedAccountSecretJSON is a secret rotation's answer: the new secret,
// shown this once, and when the previous one stops working.
type rotatedAccountSecretJSON struct {
	ClientID             string    `json:"client_id"`
	ClientSecret         string    `json:"client_secret"`
	PreviousSecretEndsAt time.Time `json:"previous_secret_ends_at"`
}

func (a *ServiceAccountAPI) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req rotateRequest
	if err := decodeOptionalJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	s, err := a.Credentials.RotateServiceAccountSecret(r.Context(), principal(r), id, req.Overlap)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rotatedAccountSecretJSON{ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		PreviousSecretEndsAt: s.PreviousSecretEndsAt})
	return nil
}

type createServiceAccountRequest struct {
	Name *string `json:"name"`
	Role *string `json:"role"`
}

func (a *ServiceAccountAPI) create(w http.ResponseWriter, r *http.Request) error {
	var req createServiceAccountRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	sa, err := a.Credentials.CreateServiceAccount(r.Context(), principal(r), req.Name, req.Role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, createdServiceAccountJSON{serviceAccountJSON: accountJSON(&sa.ServiceAccount), ClientSecret: sa.ClientSecret})
	return nil
}

func (a *ServiceAccountAPI) list(w http.ResponseWriter, r *http.Request) error {
	accounts, err := a.Credentials.ListServiceAccounts(r.Context(), principal(r))
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

func (a *ServiceAccountAPI) get(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sa, err := a.Credentials.ServiceAccount(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, accountJSON(sa))
	return nil
}

func (a *ServiceAccountAPI) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Credentials.DeleteServiceAccount(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createKey creates an API key that acts as the service account.
func (a *ServiceAccountAPI) createKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req credentials.KeyRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	created, err := a.Credentials.CreateServiceAccountKey(r.Context(), principal(r), id, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, createdKeyJSON(created))
	return nil
}
