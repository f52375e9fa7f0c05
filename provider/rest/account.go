package rest

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/httpapi"
)

// AccountChanges are the signed-in user's own changes (identity.Changes).
type AccountChanges interface {
	ChangePassword(ctx context.Context, userID, keepSession, method string, current, next *string) error
	RequestEmailChange(ctx context.Context, userID string, pw, newEmail *string) (string, error)
}

// AccountAPI serves the caller's own changes under /api/v1/iam/users/me:
// POST …/password and POST …/email, for users with a Bearer token.
type AccountAPI struct {
	Changes AccountChanges
	Tokens  Tokens
	Auth    *auth.Authenticator
	MaxBody int64
}

// Mount registers the routes.
func (a *AccountAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/iam/users/me/password", h(a.changePassword)).Methods(http.MethodPost)
	r.Handle("/api/v1/iam/users/me/email", h(a.changeEmail)).Methods(http.MethodPost)
}

// onlyUsers is the answer to an API key or service account: they have no
// password or address of their own.
const onlyUsers = "Only users can change their password or email address"

type changePasswordRequest struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

// changePassword replaces the password, ends every session and token grant
// of the user (the caller's token too), and answers a fresh token pair for
// the caller, in the organization its token was issued for.
func (a *AccountAPI) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	p := principal(r)
	if !p.IsUser() {
		return httpapi.Forbidden(onlyUsers)
	}
	ctx := r.Context()
	if err := a.Changes.ChangePassword(ctx, p.ID, "", "token", req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	org := p.OrganizationFromToken
	if org == "" {
		org = p.OrganizationID
	}
	pair, err := a.Tokens.IssueUserTokens(ctx, p.ID, org)
	if err != nil {
		return err
	}
	writeTokens(w, pair)
	return nil
}

type changeEmailRequest struct {
	Password *string `json:"password"`
	NewEmail *string `json:"new_email"`
}

// EmailChangeAccepted is the answer to POST /api/v1/iam/users/me/email.
const EmailChangeAccepted = "A confirmation link is on its way to the new address; the address changes when it is opened"

type emailChangeResponse struct {
	Detail   string `json:"detail"`
	NewEmail string `json:"new_email"`
}

func (a *AccountAPI) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var req changeEmailRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	p := principal(r)
	if !p.IsUser() {
		return httpapi.Forbidden(onlyUsers)
	}
	addr, err := a.Changes.RequestEmailChange(r.Context(), p.ID, req.Password, req.NewEmail)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, emailChangeResponse{Detail: EmailChangeAccepted, NewEmail: addr})
	return nil
}
