package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage"
)

// Tokens issues, refreshes and revokes first-party tokens (package oauth).
type Tokens interface {
	IssueUserTokens(ctx context.Context, userID, orgID string) (*oauth.TokenPair, error)
	Refresh(ctx context.Context, refreshToken string) (*oauth.TokenPair, error)
	RevokeFamily(ctx context.Context, familyID string) error
	DenyToken(ctx context.Context, jti string, exp time.Time) error
}

// IdentityStore is what registration and login read and write.
type IdentityStore interface {
	Register(ctx context.Context, u *storage.User, personal *storage.Organization) error
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
	CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error
}

// IdentityAPI serves /api/v1/auth/*.
type IdentityAPI struct {
	Store   IdentityStore
	Hasher  *password.Hasher
	Tokens  Tokens
	Auth    *auth.Authenticator
	MaxBody int64
	Now     func() time.Time
	// Throttle limits password attempts per account (package ratelimit); nil: none.
	Throttle AccountThrottle
}

// AccountThrottle takes one sign-in attempt from an account's budget, or
// returns the 429 to answer with.
type AccountThrottle interface {
	Attempt(ctx context.Context, normalizedEmail string) error
}

// Mount registers the routes.
func (a *IdentityAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/auth/register", httpapi.HandlerFunc(a.register)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/login", httpapi.HandlerFunc(a.login)).Methods(http.MethodPost)
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

// Registration is the outcome of RegisterUser.
type Registration = registerResponse

// RegisterUser validates and creates a user with a personal organization; the
// sign-up page shares it so both say the same things.
func (a *IdentityAPI) RegisterUser(ctx context.Context, emailIn, passwordIn, nameIn *string) (*Registration, error) {
	var v httpapi.Validator
	var email, name string
	checkEmail(&v, emailIn, &email, "body", "email")
	if passwordIn == nil {
		v.Required("body", "password")
	} else if problem := password.Problem(*passwordIn, email); problem != "" {
		v.Add(problem, passwordIssueType(problem), "body", "password")
	}
	checkName(&v, nameIn, 200, &name, "body", "full_name")
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := a.Hasher.Hash(ctx, *passwordIn)
	if err != nil {
		return nil, err
	}
	now := a.Now().UTC()
	u := &storage.User{ID: uuid.NewString(), Email: email, FullName: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: name, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.Register(ctx, u, org); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, httpapi.Conflict("Email already registered")
		}
		return nil, err
	}
	return &Registration{UserID: u.ID, Email: u.Email, OrganizationID: org.ID}, nil
}

func passwordIssueType(problem string) string {
	switch problem {
	case "ensure this value has at least 8 characters":
		return "value_error.any_str.min_length"
	case "ensure this value has at most 256 characters":
		return "value_error.any_str.max_length"
	}
	return "value_error.password"
}

func (a *IdentityAPI) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	reg, err := a.RegisterUser(r.Context(), req.Email, req.Password, req.FullName)
	if err != nil {
		return err
	}
	httpapi.Logger(r.Context()).Info("user registered", "user_id", reg.UserID)
	httpapi.WriteJSON(w, http.StatusCreated, reg)
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

// BadCredentials is the one answer for an unknown email and a wrong password.
const BadCredentials = "Invalid email or password"

// CheckPassword returns the user if email and password match. An unknown
// email costs the same argon2id verification as a wrong password, and both
// give the same error (docs/security.md, "Accounts and sessions"). Attempts are throttled per
// account, existing or not, before any work is done (docs/security.md, "Accounts and sessions");
// the per-IP limit sits in front of every caller's route.
func (a *IdentityAPI) CheckPassword(ctx context.Context, email, pw string) (*storage.User, error) {
	bad := httpapi.Unauthorized(BadCredentials)
	normalized, ok := normalizeEmail(email)
	if ok && a.Throttle != nil {
		if err := a.Throttle.Attempt(ctx, normalized); err != nil {
			return nil, err
		}
	}
	var u *storage.User
	var err error
	if ok {
		u, err = a.Store.UserByEmail(ctx, normalized)
	}
	if !ok || errors.Is(err, storage.ErrNotFound) {
		if err := a.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, err
		}
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	rehash, err := a.Hasher.Verify(ctx, u.PasswordHash, pw)
	if errors.Is(err, password.ErrMismatch) || (err == nil && u.Disabled) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if rehash {
		// Parameters were raised since this hash was made: upgrade it now that
		// we know the password. A failure costs nothing but a later retry.
		if h, err := a.Hasher.Hash(ctx, pw); err == nil {
			_ = a.Store.UpdateUserPassword(ctx, u.ID, h)
		}
	}
	return u, nil
}

// PersonalOrganization is the organization a fresh login acts in: the
// personal organization the user got at registration, which was created in
// the same instant as the user. Other users' personal organizations the user
// was added to do not count; ordered by age, the first of them would
// otherwise win. A user removed from every organization gets a new personal
// one: with none, the user could do nothing at all, not even create one.
func (a *IdentityAPI) PersonalOrganization(ctx context.Context, u *storage.User) (string, error) {
	orgs, err := a.Store.OrganizationsOfUser(ctx, u.ID)
	if err != nil {
		return "", err
	}
	for _, o := range orgs {
		if o.Personal && o.CreatedAt.Equal(u.CreatedAt) {
			return o.ID, nil
		}
	}
	if len(orgs) > 0 {
		return orgs[0].ID, nil
	}
	now := a.Now().UTC()
	org := &storage.Organization{ID: uuid.NewString(), Name: u.FullName, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateOrganization(ctx, org, u.ID); err != nil {
		return "", err
	}
	return org.ID, nil
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
	u, err := a.CheckPassword(ctx, *req.Email, *req.Password)
	if err != nil {
		return err
	}
	orgID, err := a.PersonalOrganization(ctx, u)
	if err != nil {
		return err
	}
	pair, err := a.Tokens.IssueUserTokens(ctx, u.ID, orgID)
	if err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("user logged in", "user_id", u.ID)
	writeTokens(w, pair)
	return nil
}

func writeTokens(w http.ResponseWriter, p *oauth.TokenPair) {
	w.Header().Set("Pragma", "no-cache")
	httpapi.WriteJSON(w, http.StatusOK, tokenResponse{
		AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: p.ExpiresIn, RefreshToken: p.RefreshToken,
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
	w.WriteHeader(http.StatusNoContent)
	return nil
}
