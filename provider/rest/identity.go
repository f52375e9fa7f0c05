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
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
)

// Tokens issues, refreshes and revokes first-party tokens (package oauth).
type Tokens interface {
	IssueUserTokens(ctx context.Context, userID, orgID string) (*oauth.TokenPair, error)
	Refresh(ctx context.Context, refreshToken string) (*oauth.TokenPair, error)
	RevokeFamily(ctx context.Context, familyID string) error
	DenyToken(ctx context.Context, jti string, exp time.Time) error
}

// SignIn registers users and checks passwords (identity.SignIn).
type SignIn interface {
	Register(ctx context.Context, email, password, fullName *string) (*identity.Registration, error)
	CheckPassword(ctx context.Context, email, password string) (*storage.User, error)
	PersonalOrganization(ctx context.Context, u *storage.User) (string, error)
}

// IdentityAPI serves /api/v1/auth/*.
type IdentityAPI struct {
	SignIn  SignIn
	Tokens  Tokens
	Auth    *auth.Authenticator
	MaxBody int64
	// MFA is the second step of sign-in (mfa.Service); nil: none.
	MFA SecondFactor
	// Audit records sign-outs (sign-ins are recorded by SignIn); nil: nothing.
	Audit audit.Recorder
	// Policies and Enrol apply organizations' second-factor policies at
	// sign-in (mfa.Policies, mfa.Service); nil: none.
	Policies MFAPolicies
	Enrol    EnrolmentStarter
}

// Mount registers the routes.
func (a *IdentityAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/auth/register", httpapi.HandlerFunc(a.register)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/login", httpapi.HandlerFunc(a.login)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/mfa", httpapi.HandlerFunc(a.completeMFA)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/refresh", httpapi.HandlerFunc(a.refresh)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/logout", a.Auth.Required(httpapi.HandlerFunc(a.logout))).Methods(http.MethodPost)
}

type registerRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	FullName *string `json:"full_name"`
}

type registerResponse struct {
	UserID         string `json:"user_id"`
	Email          string `json:"email"`
	OrganizationID string `json:"organization_id"`
}

func (a *IdentityAPI) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	reg, err := a.SignIn.Register(r.Context(), req.Email, req.Password, req.FullName)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, registerResponse{UserID: reg.UserID, Email: reg.Email, OrganizationID: reg.OrganizationID})
	return nil
}

type loginRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (a *IdentityAPI) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	var v httpapi.Validator
	if req.Email == nil {
		v.Required("body", "email")
	}
	if req.Password == nil {
		v.Required("body", "password")
	}
	if err := v.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := a.SignIn.CheckPassword(ctx, *req.Email, *req.Password)
	if err != nil {
		return err
	}
	if a.MFA != nil {
		if asked, err := a.askSecondFactor(w, ctx, u); asked || err != nil {
			return err
		}
	}
	grace, stop, err := a.policyAtLogin(w, ctx, u)
	if stop || err != nil {
		return err
	}
	orgID, err := a.SignIn.PersonalOrganization(ctx, u)
	if err != nil {
		return err
	}
	pair, err := a.Tokens.IssueUserTokens(ctx, u.ID, orgID)
	if err != nil {
		return err
	}
	writeLoginTokens(w, pair, grace)
	return nil
}

func writeTokens(w http.ResponseWriter, p *oauth.TokenPair) {
	w.Header().Set("Pragma", "no-cache")
	httpapi.WriteJSON(w, http.StatusOK, tokenResponse{
		AccessToken: p.AccessToken, TokenType: oauth.TokenTypeBearer, ExpiresIn: p.ExpiresIn, RefreshToken: p.RefreshToken,
	})
}

type refreshRequest struct {
	RefreshToken *string `json:"refresh_token"`
}

func (a *IdentityAPI) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if req.RefreshToken == nil || *req.RefreshToken == "" {
		return httpapi.Invalid(httpapi.Issue{Loc: []any{"body", "refresh_token"}, Msg: "field required", Type: "value_error.missing"})
	}
	pair, err := a.Tokens.Refresh(r.Context(), *req.RefreshToken)
	if errors.Is(err, oauth.ErrInvalidGrant) {
		return &httpapi.Error{Status: http.StatusUnauthorized, Detail: "Invalid or expired refresh token",
			Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: err}
	}
	if err != nil {
		return err
	}
	writeTokens(w, pair)
	return nil
}

func (a *IdentityAPI) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.TokenID == "" {
		return httpapi.BadRequest("Logout needs the Bearer token of the session to end")
	}
	ctx := r.Context()
	// The family's revocation denies this token too, last: if anything fails,
	// the answer is 503 and the token still works, so the retry can log out.
	// Nothing is reported done that was not recorded.
	var err error
	if p.FamilyID != "" {
		err = a.Tokens.RevokeFamily(ctx, p.FamilyID)
	} else {
		err = a.Tokens.DenyToken(ctx, p.TokenID, p.ExpiresAt)
	}
	if err != nil {
		return err
	}
	audit.Or(a.Audit).Record(ctx, audit.Event{Type: audit.SignedOut, Actor: audit.User(p.ID), Subject: audit.User(p.ID),
		Details: map[string]string{"method": "token"}})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
