package rest

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// EmailFlows are the email-link flows (identity.Emails).
type EmailFlows interface {
	ConfirmEmail(ctx context.Context, token string) (*storage.User, error)
	ResendVerification(ctx context.Context, email *string) error
}

// EmailAPI serves the email-link flows under /api/v1/auth: confirming an
// address and asking for a new confirmation link. Neither needs credentials:
// the link is the credential, and a user refused sign-in until confirmed
// (PUGUH_REQUIRE_VERIFIED_EMAIL) has no token to present.
type EmailAPI struct {
	Flows   EmailFlows
	MaxBody int64
}

// Mount registers the routes.
func (a *EmailAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/auth/verify-email", httpapi.HandlerFunc(a.verify)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/verify-email/resend", httpapi.HandlerFunc(a.resend)).Methods(http.MethodPost)
}

type verifyEmailRequest struct {
	Token *string `json:"token"`
}

type verifyEmailResponse struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func (a *EmailAPI) verify(w http.ResponseWriter, r *http.Request) error {
	var req verifyEmailRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if req.Token == nil {
		return httpapi.Invalid(httpapi.Issue{Loc: []any{"body", "token"}, Msg: "field required", Type: "value_error.missing"})
	}
	u, err := a.Flows.ConfirmEmail(r.Context(), *req.Token)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, verifyEmailResponse{UserID: u.ID, Email: u.Email, EmailVerified: u.EmailVerifiedAt != nil})
	return nil
}

type resendRequest struct {
	Email *string `json:"email"`
}

// acceptedResponse is the answer of a request that may send mail: the same
// whether or not the address has an account.
type acceptedResponse struct {
	Detail string `json:"detail"`
}

// ResendAccepted is the answer to POST /api/v1/auth/verify-email/resend.
const ResendAccepted = "If the address belongs to an account that is not yet confirmed, a new link is on its way"

func (a *EmailAPI) resend(w http.ResponseWriter, r *http.Request) error {
	var req resendRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := a.Flows.ResendVerification(r.Context(), req.Email); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, acceptedResponse{Detail: ResendAccepted})
	return nil
}

// PasswordResets are the password-reset flow (identity.PasswordReset).
type PasswordResets interface {
	Request(ctx context.Context, email *string) error
	Confirm(ctx context.Context, token, newPassword *string) error
}

// PasswordResetAPI serves POST /api/v1/auth/password-reset and its
// /confirm, without credentials: whoever forgot a password has none.
type PasswordResetAPI struct {
	Resets  PasswordResets
	MaxBody int64
}

// Mount registers the routes.
func (a *PasswordResetAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/auth/password-reset", httpapi.HandlerFunc(a.request)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/password-reset/confirm", httpapi.HandlerFunc(a.confirm)).Methods(http.MethodPost)
}

// ResetAccepted is the answer to POST /api/v1/auth/password-reset, the same
// whether or not the address has an account.
const ResetAccepted = "If the address belongs to an account, a link to reset its password is on its way"

func (a *PasswordResetAPI) request(w http.ResponseWriter, r *http.Request) error {
	var req resendRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := a.Resets.Request(r.Context(), req.Email); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, acceptedResponse{Detail: ResetAccepted})
	return nil
}

type resetConfirmRequest struct {
	Token    *string `json:"token"`
	Password *string `json:"password"`
}

func (a *PasswordResetAPI) confirm(w http.ResponseWriter, r *http.Request) error {
	var req resetConfirmRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := a.Resets.Confirm(r.Context(), req.Token, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
