package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

// UserAdmin is what the user-administration endpoints ask of the account
// rules (identity.Service).
type UserAdmin interface {
	MayManage(ctx context.Context, actor identity.Actor, target string) error
	SetDisabled(ctx context.Context, by audit.Ref, orgID, userID string, disabled bool) (*storage.User, error)
}

// UserAdminAPI serves POST /api/v1/iam/users/{id}/disable and /enable: platform
// operators for any user, organization owners for the users their
// organization manages (docs/identity.md, "Disabling a user").
type UserAdminAPI struct {
	Users UserAdmin
	Auth  *auth.Authenticator
}

// Mount registers the routes.
func (a *UserAdminAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/iam/users/{id}/disable", h(func(w http.ResponseWriter, r *http.Request) error { return a.set(w, r, true) })).Methods(http.MethodPost)
	r.Handle("/api/v1/iam/users/{id}/enable", h(func(w http.ResponseWriter, r *http.Request) error { return a.set(w, r, false) })).Methods(http.MethodPost)
}

type userStateJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *UserAdminAPI) set(w http.ResponseWriter, r *http.Request, disabled bool) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p := principal(r)
	actor := identity.Actor{OrganizationID: p.OrganizationID, Rank: p.Role, Permissions: p.Permissions}
	if p.IsUser() {
		actor.UserID = p.ID
	}
	ctx := r.Context()
	if err := a.Users.MayManage(ctx, actor, id); err != nil {
		return userAdminError(err)
	}
	u, err := a.Users.SetDisabled(ctx, audit.Actor(p), p.OrganizationID, id, disabled)
	if err != nil {
		return userAdminError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, userStateJSON{ID: u.ID, Email: u.Email, FullName: u.FullName, Disabled: u.Disabled, CreatedAt: u.CreatedAt})
	return nil
}

// userAdminError maps the account rules' errors to HTTP answers.
func userAdminError(err error) error {
	var missing *identity.MissingPermissionError
	var rank *identity.RoleError
	switch {
	case errors.As(err, &missing):
		return httpapi.MissingPermission(missing.Permission)
	case errors.As(err, &rank):
		return httpapi.Forbidden("Cannot manage the " + rank.Role + " role")
	case errors.Is(err, identity.ErrUserNotFound):
		return httpapi.NotFound("User not found")
	case errors.Is(err, identity.ErrSelf):
		return httpapi.Conflict("You cannot disable or enable your own account")
	case errors.Is(err, identity.ErrNotManaged):
		return httpapi.Forbidden("The user belongs to other organizations; only a platform operator can change their account")
	}
	return err
}
