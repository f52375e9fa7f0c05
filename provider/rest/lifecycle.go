package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

// Lifecycle is what deleting accounts asks of the account rules (identity.Service).
type Lifecycle interface {
	MayDelete(ctx context.Context, actor identity.Actor, target string) error
	DeleteUser(ctx context.Context, by audit.Ref, orgID, userID string) error
	DeleteSelf(ctx context.Context, userID string, password, code *string) error
}

// Consents is a user's own consents to applications (clients.Service).
type Consents interface {
	Consents(ctx context.Context, p *authz.Principal) ([]storage.UserConsent, error)
	RevokeConsent(ctx context.Context, p *authz.Principal, appID string) error
}

// LifecycleAPI serves deleting accounts and a user's connected applications
// (docs/lifecycle.md): DELETE /api/v1/iam/users/{id} (platform operators),
// DELETE /api/v1/users/me (the user, with their password), GET
// /api/v1/users/me/consents and DELETE /api/v1/users/me/consents/{application_id}.
type LifecycleAPI struct {
	Accounts Lifecycle
	Consents Consents
	Auth     *auth.Authenticator
	MaxBody  int64
}

// Mount registers the routes.
func (a *LifecycleAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/iam/users/{id}", h(a.deleteUser)).Methods(http.MethodDelete)
	r.Handle("/api/v1/users/me", h(a.deleteMe)).Methods(http.MethodDelete)
	r.Handle("/api/v1/users/me/consents", h(a.listConsents)).Methods(http.MethodGet)
	r.Handle("/api/v1/users/me/consents/{application_id}", h(a.revokeConsent)).Methods(http.MethodDelete)
}

// deleteUser is DELETE /api/v1/iam/users/{id}: a platform operator erases
// another user's account.
func (a *LifecycleAPI) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p := principal(r)
	actor := identity.Actor{OrganizationID: p.OrganizationID}
	if p.IsUser() {
		actor.UserID = p.ID
	}
	ctx := r.Context()
	if err := a.Accounts.MayDelete(ctx, actor, id); err != nil {
		return deleteError(err)
	}
	if err := a.Accounts.DeleteUser(ctx, audit.Actor(p), p.OrganizationID, id); err != nil {
		return deleteError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteMeRequest struct {
	Password *string `json:"password"`
	// Code is the TOTP or recovery code of a user with an authenticator app.
	Code *string `json:"code"`
}

// deleteMe is DELETE /api/v1/users/me: the signed-in user erases their own
// account, confirming with their password (and second factor).
func (a *LifecycleAPI) deleteMe(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if !p.IsUser() {
		return httpapi.Forbidden("Only a signed-in user can delete their own account")
	}
	var req deleteMeRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if req.Password == nil {
		var v httpapi.Validator
		v.Required("body", "password")
		return v.Err()
	}
	if err := a.Accounts.DeleteSelf(r.Context(), p.ID, req.Password, req.Code); err != nil {
		return deleteError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteError maps the deletion rules' errors to HTTP answers.
func deleteError(err error) error {
	var last *identity.LastOwnerError
	switch {
	case errors.As(err, &last):
		return last.Problem()
	case errors.Is(err, identity.ErrNotOperator):
		return httpapi.Forbidden("Only platform operators can delete users")
	case errors.Is(err, identity.ErrSelf):
		return httpapi.Conflict("Delete your own account with DELETE /api/v1/users/me")
	case errors.Is(err, identity.ErrUserNotFound):
		return httpapi.NotFound("User not found")
	}
	return err
}

type consentJSON struct {
	ApplicationID   string     `json:"application_id"`
	ApplicationName string     `json:"application_name"`
	Scopes          []string   `json:"scopes"`
	GrantedAt       time.Time  `json:"granted_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastUsedAt      *time.Time `json:"last_used_at"`
}

// listConsents is GET /api/v1/users/me/consents: the applications the
// signed-in user consented to.
func (a *LifecycleAPI) listConsents(w http.ResponseWriter, r *http.Request) error {
	list, err := a.Consents.Consents(r.Context(), principal(r))
	if err != nil {
		return err
	}
	items := make([]consentJSON, 0, len(list))
	for _, c := range list {
		items = append(items, consentJSON{ApplicationID: c.ApplicationID, ApplicationName: c.ApplicationName, Scopes: c.Scopes,
			GrantedAt: c.GrantedAt, UpdatedAt: c.UpdatedAt, LastUsedAt: c.LastUsedAt})
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[consentJSON]{Items: items})
	return nil
}

// revokeConsent is DELETE /api/v1/users/me/consents/{application_id}.
func (a *LifecycleAPI) revokeConsent(w http.ResponseWriter, r *http.Request) error {
	if err := a.Consents.RevokeConsent(r.Context(), principal(r), mux.Vars(r)["application_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
