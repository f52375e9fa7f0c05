package oauthstore

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
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
	"github.com/ory/fosite/token/jwt"

	"github.com/arsaka/puguh/storage/sqlstore"
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
	otherClientID    = "app-2" // a second application, for RevokeClient
	testClientSecret = "app-1-secret"
	testRedirectURI  = "https://app.example/callback"
	testGrace        = 5 * time.Second
)

// testSession is what the test composition stores with every grant. Like the
// server's session (provider/oauth), it builds each access token's claims
// afresh and carries the grant's family id as "sid", so the family of a JWT
// access token can be read from the token alone.
type testSession struct {
	fosite.DefaultSession
	Family string `json:"sid,omitempty"`
}

func (s *testSession) GetJWTClaims() jwt.JWTClaimsContainer {
	return &jwt.JWTClaims{Subject: s.Subject, Extra: map[string]any{"sid": s.Family}}
}

func (s *testSession) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}
}

func (s *testSession) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if d, ok := s.DefaultSession.Clone().(*fosite.DefaultSession); ok && d != nil {
		c.DefaultSession = *d
	}
	return &c
}

// signingKey signs the test composition's access tokens; one key for the
// whole test binary, since generating one takes a while.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// denylist stands in for the server's (storage/revocation): the families
// whose access tokens were revoked.
type denylist struct {
	mu       sync.Mutex
	families map[string]bool
}

func (d *denylist) deny(family string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.families[family] = true
}

func (d *denylist) denied(family string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.families[family]
}

// composedStorage is the store as the server composes it (provider/oauth's
// scopedStorage): fosite's RevokeAccessToken, which the store has nothing to
// do for, also denies the family.
type composedStorage struct {
	*Store
	deny *denylist
}

func (s composedStorage) RevokeAccessToken(ctx context.Context, requestID string) error {
	if err := s.Store.RevokeAccessToken(ctx, requestID); err != nil {
		return err
	}
	s.deny.deny(requestID)
	return nil
}

// jwtIntrospector introspects as the server does: a JWT access token from its
// signature and claims, refused once its family is denied, with the family
// as its request id; anything else (refresh tokens, codes) through fosite's
// storage-backed validator.
type jwtIntrospector struct {
	jwt    fosite.TokenIntrospector
	opaque fosite.TokenIntrospector
	deny   *denylist
}

func (i *jwtIntrospector) IntrospectToken(ctx context.Context, token string, use fosite.TokenUse, ar fosite.AccessRequester, scopes []string) (fosite.TokenUse, error) {
	if strings.Count(token, ".") != 2 {
		return i.opaque.IntrospectToken(ctx, token, use, ar, scopes)
	}
	use, err := i.jwt.IntrospectToken(ctx, token, use, ar, scopes)
	if err != nil {
		return "", err
	}
	sess, ok := ar.GetSession().(*oauth2.JWTSession)
	if !ok || sess.JWTClaims == nil {
		return "", fmt.Errorf("introspected session %T has no claims", ar.GetSession())
	}
	family, _ := sess.JWTClaims.Extra["sid"].(string)
	if family == "" || i.deny.denied(family) {
		return "", fmt.Errorf("family %q denied: %w", family, fosite.ErrInactiveToken)
	}
	ar.SetID(family)
	return use, nil
}

// env is a store on one backend with a fosite composition on top of it as the
// server composes it: the authorization code grant with PKCE, refresh,
// introspection and revocation; opaque (HMAC) codes and refresh tokens, which
// the store keeps, and JWT access tokens, which it does not.
type env struct {
	store    *Store
	clock    *fakeClock
	provider fosite.OAuth2Provider
	strategy *oauth2.DefaultJWTStrategy
	clients  clientMap
	deny     *denylist
}

// newEnv builds an env on a new database of backend b; adjust may change the
// store's Config before New.
func newEnv(t *testing.T, b sqltest.Backend, adjust func(*Config)) *env {
	t.Helper()
	return newEnvOn(t, sqltest.Open(t, b), adjust)
}

// newEnvOn is newEnv on a database the test opened.
func newEnvOn(t *testing.T, db *sqlstore.Store, adjust func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	clock := newFakeClock()
	fcfg := &fosite.Config{
		GlobalSecret:          []byte("0123456789abcdef0123456789abcdef"),
		AccessTokenLifespan:   time.Hour,
		RefreshTokenLifespan:  30 * 24 * time.Hour,
		AuthorizeCodeLifespan: 10 * time.Minute,
		AccessTokenIssuer:     "https://puguh.test",
		HashCost:              4, // bcrypt's minimum: tests hash on every request
		EnforcePKCE:           true,
	}
	hash, err := fcfg.GetSecretsHasher(ctx).Hash(ctx, []byte(testClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	clients := clientMap{}
	for _, id := range []string{testClientID, otherClientID} {
		clients[id] = &fosite.DefaultClient{
			ID:            id,
			Secret:        hash,
			RedirectURIs:  []string{testRedirectURI},
			ResponseTypes: []string{"code"},
			GrantTypes:    []string{"authorization_code", "refresh_token"},
			Scopes:        []string{"offline", "profile"},
		}
	}
	cfg := Config{
		Clients:            clients,
		NewSession:         func() fosite.Session { return &testSession{} },
		RefreshGracePeriod: testGrace,
		Now:                clock.Now,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	store, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) { return key, nil }}
	strategy := &oauth2.DefaultJWTStrategy{Signer: signer, HMACSHAStrategy: compose.NewOAuth2HMACStrategy(fcfg), Config: fcfg}
	deny := &denylist{families: map[string]bool{}}
	introspection := func(config fosite.Configurator, storage any, strategy any) any {
		return &jwtIntrospector{
			jwt:    &oauth2.StatelessJWTValidator{Signer: signer, Config: fcfg},
			opaque: compose.OAuth2TokenIntrospectionFactory(config, storage, strategy).(fosite.TokenIntrospector),
			deny:   deny,
		}
	}
	provider := compose.Compose(fcfg, composedStorage{Store: store, deny: deny}, &compose.CommonStrategy{CoreStrategy: strategy, Signer: signer},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		introspection,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	return &env{store: store, clock: clock, provider: provider, strategy: strategy, clients: clients, deny: deny}
}

// authorize runs the authorization endpoint for the test client as if the
// user had signed in and consented, and returns the code and PKCE verifier.
func (e *env) authorize(t *testing.T) (code, verifier string) {
	t.Helper()
	return e.authorizeAs(t, testClientID)
}

// authorizeAs is authorize for any of the env's clients.
func (e *env) authorizeAs(t *testing.T, clientID string) (code, verifier string) {
	t.Helper()
	ctx := context.Background()
	verifier = randomString(t)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
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
	// The grant's request id is its family id, as the server's sign-in pages set it.
	session := &testSession{DefaultSession: fosite.DefaultSession{Subject: "user-1", Username: "user-1@example.com"}, Family: ar.GetID()}
	resp, err := e.provider.NewAuthorizeResponse(ctx, ar, session)
	if err != nil {
		t.Fatalf("authorize response: %v", err)
	}
	return resp.GetCode(), verifier
}

// pair is what the token endpoint returns.
type pair struct{ access, refresh string }

// token runs the token endpoint with form, authenticating the test client.
func (e *env) token(ctx context.Context, form url.Values) (pair, error) {
	return e.tokenAs(ctx, testClientID, form)
}

// tokenAs is token for any of the env's clients.
func (e *env) tokenAs(ctx context.Context, clientID string, form url.Values) (pair, error) {
	r := httptest.NewRequest("POST", "https://puguh.test/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(clientID, testClientSecret)
	ar, err := e.provider.NewAccessRequest(ctx, r, &testSession{})
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
	return e.exchangeAs(ctx, testClientID, code, verifier)
}

func (e *env) exchangeAs(ctx context.Context, clientID, code, verifier string) (pair, error) {
	return e.tokenAs(ctx, clientID, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirectURI},
		"code_verifier": {verifier},
	})
}

func (e *env) refresh(ctx context.Context, refreshToken string) (pair, error) {
	return e.refreshAs(ctx, testClientID, refreshToken)
}

func (e *env) refreshAs(ctx context.Context, clientID, refreshToken string) (pair, error) {
	return e.tokenAs(ctx, clientID, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// login is authorize plus exchange: a fresh grant with its first pair.
func (e *env) login(t *testing.T) pair {
	t.Helper()
	return e.loginAs(t, testClientID)
}

// loginAs is login for any of the env's clients.
func (e *env) loginAs(t *testing.T, clientID string) pair {
	t.Helper()
	code, verifier := e.authorizeAs(t, clientID)
	p, err := e.exchangeAs(context.Background(), clientID, code, verifier)
	if err != nil {
		t.Fatalf("exchange code: %v", err)
	}
	if p.access == "" || p.refresh == "" {
		t.Fatalf("exchange returned %+v, want an access and a refresh token", p)
	}
	if strings.Count(p.access, ".") != 2 {
		t.Fatalf("access token %.20s… is not a JWT", p.access)
	}
	return p
}

// requestIDOf introspects token and returns its grant's request id, or the error.
func (e *env) requestIDOf(token string, use fosite.TokenUse) (string, error) {
	_, ar, err := e.provider.IntrospectToken(context.Background(), token, use, &testSession{})
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

// assertRevoked fails unless neither token of p works: its refresh token is
// revoked in the store, and its access token's family was denied, which
// fosite asks of the composition by calling RevokeAccessToken with the
// grant's request id.
func (e *env) assertRevoked(t *testing.T, p pair) {
	t.Helper()
	e.assertRefreshRevoked(t, p)
	if _, err := e.requestIDOf(p.access, fosite.AccessToken); err == nil {
		t.Errorf("access token %.8s… still introspects as active: its family was not denied", p.access)
	}
}

// assertRefreshRevoked fails unless p's refresh token is refused: by
// introspection, and by the store as inactive or unknown.
func (e *env) assertRefreshRevoked(t *testing.T, p pair) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.requestIDOf(p.refresh, fosite.RefreshToken); err == nil {
		t.Errorf("refresh token %.8s… still introspects as active", p.refresh)
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
