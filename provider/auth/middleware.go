package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
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

// ErrBadAPIKey is returned by APIKeys for every kind of bad key.
var ErrBadAPIKey = errors.New("invalid API key")

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

// Authenticator turns request credentials into a authz.Principal.
type Authenticator struct {
	verifier TokenVerifier
	expected keys.Expected
	denylist Denylist
	members  *MembershipCache
	users    Users
	apiKeys  APIKeys // nil until API keys are wired
	accounts *accountCache
	limiter  Limiter // nil: no rate limits
	verified *verifiedTokens
}

// APIKeys returns the API-key authenticator it was built with (nil: none),
// so that the wiring can hand the same verifier to the revoking endpoints.
func (a *Authenticator) APIKeys() APIKeys { return a.apiKeys }

// SetLimiter installs the per-organization rate limiter that every
// authenticated request passes through, right after authentication.
func (a *Authenticator) SetLimiter(l Limiter) { a.limiter = l }

// Config configures an Authenticator.
type Config struct {
	Issuer   string
	Audience string        // the REST API's audience
	Leeway   time.Duration // clock skew allowed on exp/nbf/iat
}

// NewAuthenticator builds an Authenticator.
func NewAuthenticator(cfg Config, v TokenVerifier, d Denylist, members *MembershipCache, users Users, accounts ServiceAccounts, apiKeys APIKeys) *Authenticator {
	return &Authenticator{
		verifier: v,
		expected: keys.Expected{Issuer: cfg.Issuer, Audience: cfg.Audience, Type: "at+jwt", Leeway: cfg.Leeway},
		denylist: d,
		members:  members,
		users:    users,
		apiKeys:  apiKeys,
		accounts: newAccountCache(accounts),
		verified: newVerifiedTokens(nil),
	}
}

// ServiceAccountTTL bounds how long another replica keeps accepting a deleted
// service account's Bearer tokens when no eviction message reaches it.
const ServiceAccountTTL = 5 * time.Second

// ForgetServiceAccount drops a cached service account after it was deleted,
// so that its Bearer tokens are refused from the next request on.
func (a *Authenticator) ForgetServiceAccount(orgID, id string) { a.accounts.forget(orgID, id) }

// accountCache keeps service-account lookups of the Bearer path in memory for
// ServiceAccountTTL: a service account's every request would otherwise read
// the database. Deleted accounts are cached too (as nil), so a dead token
// costs no read either.
type accountCache struct {
	source ServiceAccounts
	mu     sync.RWMutex
	m      map[[2]string]accountEntry
	gen    uint64 // bumped by forget: a lookup racing a delete does not store its stale answer
}

type accountEntry struct {
	sa      *storage.ServiceAccount // nil: no such account
	expires time.Time
}

func newAccountCache(source ServiceAccounts) *accountCache {
	return &accountCache{source: source, m: map[[2]string]accountEntry{}}
}

// ServiceAccountByID answers from the cache when fresh; ErrNotFound for a deleted account.
func (c *accountCache) ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error) {
	key, now := [2]string{orgID, id}, time.Now()
	c.mu.RLock()
	e, ok := c.m[key]
	gen := c.gen
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		sa, err := c.source.ServiceAccountByID(ctx, orgID, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		e = accountEntry{sa: sa, expires: now.Add(ServiceAccountTTL)}
		c.mu.Lock()
		if c.gen == gen {
			if len(c.m) >= 10_000 {
				clear(c.m) // bounded; a cold cache only costs reads
			}
			c.m[key] = e
		}
		c.mu.Unlock()
	}
	if e.sa == nil {
		return nil, storage.ErrNotFound
	}
	return e.sa, nil
}

func (c *accountCache) forget(orgID, id string) {
	c.mu.Lock()
	delete(c.m, [2]string{orgID, id})
	c.gen++
	c.mu.Unlock()
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
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if p != nil {
			if a.limiter != nil {
				if err := httpapi.LimitOrganization(w, r, a.limiter, p.OrganizationID, time.Now()); err != nil {
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
	if hit, ok := a.verified.get(token); ok {
		vt, c = hit.vt, hit.claims
	} else {
		var err error
		vt, err = a.verifier.VerifyJWT(token, a.expected)
		if err != nil {
			return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: InvalidToken,
				Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: err}
		}
		if err := json.Unmarshal(vt.Payload, &c); err != nil || c.Subject == "" || c.ID == "" {
			return nil, httpapi.Unauthorized(InvalidToken)
		}
		a.verified.put(token, vt, c)
	}
	if a.denylist.Denied(c.ID, c.Family, c.ClientID) {
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
		sa, err := a.accounts.ServiceAccountByID(ctx, orgID, c.Subject)
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
		u, err := a.users.UserByID(ctx, c.Subject)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
			return nil, &httpapi.Error{Status: http.StatusUnauthorized, Detail: InvalidToken,
				Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh", error="invalid_token"`}, Err: errors.New("user disabled or gone")}
		}
		if err != nil {
			return nil, err
		}
		role, err := a.members.Role(ctx, orgID, c.Subject)
		if err != nil {
			return nil, err
		}
		p.Role, p.Permissions = role, authz.ForRole(role)
	}
	return p, nil
}

func (a *Authenticator) apiKey(r *http.Request, key string) (*authz.Principal, error) {
	orgID := r.Header.Get(HeaderOrganization)
	if orgID == "" {
		return nil, httpapi.Invalid(httpapi.Issue{Loc: []any{"header", HeaderOrganization}, Msg: "field required", Type: "value_error.missing"})
	}
	if a.apiKeys == nil {
		return nil, httpapi.Unauthorized("Invalid API key")
	}
	p, err := a.apiKeys.Authenticate(r.Context(), key, orgID)
	if errors.Is(err, ErrBadAPIKey) {
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
