package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cache"
)

// InvalidToken is the one answer to every Bearer failure: which check failed
// is for the log, not the caller.
const InvalidToken = "Invalid or expired token"

// Headers the REST API reads.
const (
	HeaderOrganization = "X-Organization-ID"
	HeaderAPIKey       = "X-API-Key"
)

// TokenVerifier checks a JWT's signature and registered claims.
type TokenVerifier interface {
	VerifyJWT(token string, want keys.Expected) (*keys.VerifiedToken, error)
}

// Denylist answers whether a token, its family or its client was revoked.
type Denylist interface {
	Denied(jti, familyID, clientID string) bool
}

// APIKeys authenticates X-API-Key requests (see package apikeys).
type APIKeys interface {
	Authenticate(ctx context.Context, key, orgID string) (*authz.Principal, error)
}

// Limiter takes one request from an organization's rate-limit budget
// (ratelimit.Organizations).
type Limiter = httpapi.OrganizationLimiter

// ServiceAccounts resolves a service account's role (cached by the caller).
type ServiceAccounts interface {
	ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error)
}

// Users finds the user a Bearer token names (the user cache: a disabled user
// is refused within its bound, docs/identity.md "User cache").
type Users interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// Roles tells a user's role in an organization (orgs.Service.Role):
// orgs.ErrNotMember, orgs.ErrNoOrganization otherwise.
type Roles interface {
	Role(ctx context.Context, orgID, userID string) (string, error)
}

// Deps are what an Authenticator consults. Hand it the cached store's lookups
// (Users, Accounts; Roles over it), so that a warm request reads no database.
type Deps struct {
	Tokens   TokenVerifier
	Denylist Denylist
	Roles    Roles
	Users    Users
	Accounts ServiceAccounts
	APIKeys  APIKeys
	// Limiter is the per-organization rate limit every authenticated request
	// passes right after authentication; nil: none.
	Limiter Limiter
}

// Authenticator turns request credentials into an authz.Principal.
type Authenticator struct {
	d        Deps
	expected keys.Expected
	// verified remembers tokens whose signature and claims checked out
	// (tokencache.go).
	verified *cache.Cache[verifiedToken]
}

// Config configures an Authenticator.
type Config struct {
	Issuer   string
	Audience string        // the REST API's audience
	Leeway   time.Duration // clock skew allowed on exp/nbf/iat
	// Now is the clock of the verified-token cache; nil means time.Now.
	Now func() time.Time
}

// NewAuthenticator builds an Authenticator.
func NewAuthenticator(cfg Config, d Deps) *Authenticator {
	return &Authenticator{
		d:        d,
		expected: keys.Expected{Issuer: cfg.Issuer, Audience: cfg.Audience, Type: "at+jwt", Leeway: cfg.Leeway},
		verified: newVerifiedTokens(cfg.Now),
	}
}

// Required authenticates every request or answers 401.
func (a *Authenticator) Required(next http.Handler) http.Handler {
	return a.middleware(next, true)
}

// Optional authenticates requests that carry credentials (answering 401 if
// they are bad) and lets anonymous ones through.
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	return a.middleware(next, false)
}

func (a *Authenticator) middleware(next http.Handler, required bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err == nil && p == nil && required {
			// The guide's 401 covers "missing or invalid credentials" with one body.
			err = httpapi.Unauthorized(InvalidToken)
		}
		if p == nil {
			// No organization pays for this request: it draws on its
			// address's anonymous budget, whose headers it carries, and
			// floods of bad credentials from one address stop there.
			if lerr := httpapi.LimitAnonymous(w, r); lerr != nil {
				httpapi.WriteError(w, r, lerr)
				return
			}
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if p != nil {
			if a.d.Limiter != nil {
				if err := httpapi.LimitOrganization(w, r, a.d.Limiter, p.OrganizationID, time.Now()); err != nil {
					httpapi.WriteError(w, r, err)
					return
				}
			}
			r = r.WithContext(authz.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate returns the request's principal, nil for an anonymous request,
// or the HTTP error to answer with.
func (a *Authenticator) Authenticate(r *http.Request) (*authz.Principal, error) {
	authz := r.Header.Get("Authorization")
	apiKey := r.Header.Get(HeaderAPIKey)
	switch {
	case authz != "" && apiKey != "":
		return nil, httpapi.Unauthorized("Send either Authorization or X-API-Key, not both")
	case authz != "":
		return a.bearer(r, authz)
	case apiKey != "":
		return a.apiKey(r, apiKey)
	}
	return nil, nil
}

// accessClaims are the claims of our access tokens beyond the registered ones.
type accessClaims struct {
	Subject  string `json:"sub"`
	ID       string `json:"jti"`
	ClientID string `json:"client_id"`
	OrgID    string `json:"org_id"`
	Family   string `json:"sid"`
	Kind     string `json:"kind"`
}

func (a *Authenticator) bearer(r *http.Request, header string) (*authz.Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	// RFC 6750 §2.1: the scheme is case-insensitive.
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, httpapi.Unauthorized(InvalidToken)
	}
	token = strings.TrimSpace(token)
	var vt *keys.VerifiedToken
	var c accessClaims
	key := tokenKey(token)
	if hit, ok := a.verified.Peek(key); ok {
		vt, c = hit.vt, hit.claims
	} else {
		var err error
		vt, err = a.d.Tokens.VerifyJWT(token, a.expected)
		if err != nil {
			return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: InvalidToken,
				Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: err}
		}
		if err := json.Unmarshal(vt.Payload, &c); err != nil || c.Subject == "" || c.ID == "" {
			return nil, httpapi.Unauthorized(InvalidToken)
		}
		var exp time.Time
		if vt.Claims.Expiry != nil {
			exp = vt.Claims.Expiry.Time()
		}
		a.verified.Put(key, verifiedToken{vt: vt, claims: c}, exp)
	}
	if a.d.Denylist.Denied(c.ID, c.Family, c.ClientID) {
		return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: InvalidToken,
			Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: errors.New("token revoked")}
	}
	p := &authz.Principal{
		ID: c.Subject, TokenID: c.ID, FamilyID: c.Family, OrganizationFromToken: c.OrgID,
	}
	if vt.Claims.Expiry != nil {
		p.ExpiresAt = vt.Claims.Expiry.Time()
	}
	orgID, err := a.organization(r, c.OrgID)
	if err != nil {
		return nil, err
	}
	p.OrganizationID = orgID
	ctx := r.Context()
	switch c.Kind {
	case authz.TypeServiceAccount:
		p.Type = authz.TypeServiceAccount
		// A service account acts only in its own organization (docs/security.md, "Tenant isolation").
		if orgID != c.OrgID {
			return nil, httpapi.Forbidden("Not a member of this organization")
		}
		sa, err := a.d.Accounts.ServiceAccountByID(ctx, orgID, c.Subject)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, httpapi.Unauthorized(InvalidToken) // deleted: its tokens die with it
		}
		if err != nil {
			return nil, err
		}
		p.Role, p.Permissions = sa.Role, authz.ForRole(sa.Role)
	default:
		p.Type = authz.TypeUser
		// A disabled (or deleted) user's tokens stop working: the families
		// they held are denied when the account is disabled, and this check
		// catches any token that escaped that, within the user cache's bound.
		u, err := a.d.Users.UserByID(ctx, c.Subject)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
			return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: InvalidToken,
				Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: errors.New("user disabled or gone")}
		}
		if err != nil {
			return nil, err
		}
		role, err := a.d.Roles.Role(ctx, orgID, c.Subject)
		if err != nil {
			return nil, err
		}
		p.Role, p.Permissions = role, authz.ForRole(role)
	}
	return p, nil
}

func (a *Authenticator) apiKey(r *http.Request, key string) (*authz.Principal, error) {
	// An API key names its organization: the header is required, and a
	// malformed one is the caller's mistake (422), not a bad key.
	orgID, err := a.organization(r, "")
	if err != nil {
		return nil, err
	}
	p, err := a.d.APIKeys.Authenticate(r.Context(), key, orgID)
	if errors.Is(err, credentials.ErrBadKey) {
		return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: "Invalid API key",
			Headers: map[string]string{"WWW-Authenticate": `APIKey realm="puguh"`}, Err: err}
	}
	return p, err
}

// organization picks the organization the request acts in: X-Organization-ID
// when sent, else the one the token was issued for.
func (a *Authenticator) organization(r *http.Request, fromToken string) (string, error) {
	h := r.Header.Get(HeaderOrganization)
	if h == "" {
		if fromToken == "" {
			return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderOrganization}, Msg: "field required", Type: "value_error.missing"})
		}
		return fromToken, nil
	}
	if _, err := uuid.Parse(h); err != nil || len(h) != 36 {
		return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderOrganization}, Msg: "value is not a valid uuid", Type: "type_error.uuid"})
	}
	return strings.ToLower(h), nil
}
