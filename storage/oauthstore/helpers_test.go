package oauthstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// fakeClock is the store's clock in tests; fosite itself keeps using time.Now,
// which only matters for token expiry (hours away in these tests).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().UTC()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clientMap is a hand-written ClientLookup.
type clientMap map[string]fosite.Client

func (m clientMap) GetClient(_ context.Context, id string) (fosite.Client, error) {
	c, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("client %q: %w", id, fosite.ErrNotFound)
	}
	return c, nil
}

const (
	testClientID     = "app-1"
	testClientSecret = "app-1-secret"
	testRedirectURI  = "https://app.example/callback"
	testGrace        = 5 * time.Second
)

// env is a store on one backend with a fosite composition on top of it: the
// authorization code grant with PKCE, refresh, introspection and revocation,
// HMAC tokens, as the provider composes them.
type env struct {
	store    *Store
	clock    *fakeClock
	provider fosite.OAuth2Provider
	strategy *oauth2.HMACSHAStrategy
	clients  clientMap
}

// newEnv builds an env; adjust may change the store's Config before New.
func newEnv(t *testing.T, b sqltest.Backend, adjust func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	clock := newFakeClock()
	fcfg := &fosite.Config{
		GlobalSecret:          []byte("0123456789abcdef0123456789abcdef"),
		AccessTokenLifespan:   time.Hour,
		RefreshTokenLifespan:  30 * 24 * time.Hour,
		AuthorizeCodeLifespan: 10 * time.Minute,
		HashCost:              4, // bcrypt's minimum: tests hash on every request
		EnforcePKCE:           true,
	}
	hash, err := fcfg.GetSecretsHasher(ctx).Hash(ctx, []byte(testClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	clients := clientMap{testClientID: &fosite.DefaultClient{
		ID:            testClientID,
		Secret:        hash,
		RedirectURIs:  []string{testRedirectURI},
		ResponseTypes: []string{"code"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		Scopes:        []string{"offline", "profile"},
	}}
	cfg := Config{
		Clients:            clients,
		NewSession:         func() fosite.Session { return &fosite.DefaultSession{} },
		RefreshGracePeriod: testGrace,
		Now:                clock.Now,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	store, err := New(sqltest.Open(t, b), cfg)
	if err != nil {
		t.Fatal(err)
	}
	strategy := compose.NewOAuth2HMACStrategy(fcfg)
	provider := compose.Compose(fcfg, store, &compose.CommonStrategy{CoreStrategy: strategy},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	return &env{store: store, clock: clock, provider: provider, strategy: strategy, clients: clients}
}

// authorize runs the authorization endpoint for the test client as if the
// user had signed in and consented, and returns the code and PKCE verifier.
func (e *env) authorize(t *testing.T) (code, verifier string) {
	t.Helper()
	ctx := context.Background()
	verifier = randomString(t)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {testClientID},
		"redirect_uri":          {testRedirectURI},
		"scope":                 {"offline profile"},
		"state":                 {randomString(t)},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	r := httptest.NewRequest("GET", "https://puguh.test/oauth/authorize?"+q.Encode(), nil)
	ar, err := e.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		t.Fatalf("authorize request: %v", err)
	}
	ar.GrantScope("offline")
	ar.GrantScope("profile")
	resp, err := e.provider.NewAuthorizeResponse(ctx, ar, &fosite.DefaultSession{Subject: "user-1", Username: "user-1@example.com"})
	if err != nil {
		t.Fatalf("authorize response: %v", err)
	}
	return resp.GetCode(), verifier
}

// pair is what the token endpoint returns.
type pair struct{ access, refresh string }

// token runs the token endpoint with form, authenticating the test client.
func (e *env) token(ctx context.Context, form url.Values) (pair, error) {
	r := httptest.NewRequest("POST", "https://puguh.test/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(testClientID, testClientSecret)
	ar, err := e.provider.NewAccessRequest(ctx, r, &fosite.DefaultSession{})
	if err != nil {
		return pair{}, err
	}
	resp, err := e.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		return pair{}, err
	}
	refresh, _ := resp.GetExtra("refresh_token").(string)
	return pair{access: resp.GetAccessToken(), refresh: refresh}, nil
}

func (e *env) exchange(ctx context.Context, code, verifier string) (pair, error) {
	return e.token(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirectURI},
		"code_verifier": {verifier},
	})
}

func (e *env) refresh(ctx context.Context, refreshToken string) (pair, error) {
	return e.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// login is authorize plus exchange: a fresh grant with its first pair.
func (e *env) login(t *testing.T) pair {
	t.Helper()
	code, verifier := e.authorize(t)
	p, err := e.exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatalf("exchange code: %v", err)
	}
	if p.access == "" || p.refresh == "" {
		t.Fatalf("exchange returned %+v, want an access and a refresh token", p)
	}
	return p
}

// requestIDOf introspects token and returns its grant's request id, or the error.
func (e *env) requestIDOf(token string, use fosite.TokenUse) (string, error) {
	_, ar, err := e.provider.IntrospectToken(context.Background(), token, use, &fosite.DefaultSession{})
	if err != nil {
		return "", err
	}
	return ar.GetID(), nil
}

// assertActive fails unless both tokens of p introspect as active in family.
func (e *env) assertActive(t *testing.T, p pair, family string) {
	t.Helper()
	for _, tok := range []struct {
		token string
		use   fosite.TokenUse
	}{{p.access, fosite.AccessToken}, {p.refresh, fosite.RefreshToken}} {
		id, err := e.requestIDOf(tok.token, tok.use)
		if err != nil {
			t.Errorf("%s token: want active, introspection failed: %v", tok.use, err)
			continue
		}
		if id != family {
			t.Errorf("%s token: family %q, want %q", tok.use, id, family)
		}
	}
}

// assertRevoked fails unless neither token of p works: introspection refuses
// them and the store reports both inactive.
func (e *env) assertRevoked(t *testing.T, p pair) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.requestIDOf(p.access, fosite.AccessToken); err == nil {
		t.Errorf("access token %.8s… still introspects as active", p.access)
	}
	if _, err := e.requestIDOf(p.refresh, fosite.RefreshToken); err == nil {
		t.Errorf("refresh token %.8s… still introspects as active", p.refresh)
	}
	if _, err := e.store.GetAccessTokenSession(ctx, e.strategy.AccessTokenSignature(ctx, p.access), nil); !errors.Is(err, fosite.ErrInactiveToken) {
		t.Errorf("GetAccessTokenSession: %v, want ErrInactiveToken", err)
	}
	_, err := e.store.GetRefreshTokenSession(ctx, e.strategy.RefreshTokenSignature(ctx, p.refresh), nil)
	if !errors.Is(err, fosite.ErrInactiveToken) && !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetRefreshTokenSession: %v, want ErrInactiveToken or ErrNotFound", err)
	}
}

// errorName is the RFC 6749 error code fosite would answer with.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	return fosite.ErrorToRFC6749Error(err).ErrorField
}

func randomString(t *testing.T) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
