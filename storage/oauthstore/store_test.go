package oauthstore

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// newRequest is a stored-looking fosite request of the test client whose
// session expires every token type at exp.
func newRequest(t *testing.T, e *env, id string, exp time.Time) *fosite.Request {
	t.Helper()
	client, err := e.clients.GetClient(context.Background(), testClientID)
	if err != nil {
		t.Fatal(err)
	}
	session := &testSession{
		DefaultSession: fosite.DefaultSession{Subject: "user-1", Username: "user-1@example.com", Extra: map[string]any{"org": "org-1"}},
		Family:         id,
	}
	for _, tt := range []fosite.TokenType{fosite.AuthorizeCode, fosite.AccessToken, fosite.RefreshToken} {
		session.SetExpiresAt(tt, exp)
	}
	return &fosite.Request{
		ID:                id,
		RequestedAt:       time.Now().UTC().Truncate(time.Second),
		Client:            client,
		RequestedScope:    fosite.Arguments{"offline", "profile", "admin"},
		GrantedScope:      fosite.Arguments{"offline", "profile"},
		RequestedAudience: fosite.Arguments{"https://api.example"},
		GrantedAudience:   fosite.Arguments{"https://api.example"},
		Form: url.Values{
			"redirect_uri":   {testRedirectURI},
			"code_challenge": {"abc"},
			"client_secret":  {"must-not-be-stored"},
			"code_verifier":  {"must-not-be-stored"},
			"password":       {"must-not-be-stored"},
			"refresh_token":  {"must-not-be-stored"},
			"code":           {"must-not-be-stored"},
		},
		Session: session,
	}
}

// assertSameRequest compares what a round trip must keep.
func assertSameRequest(t *testing.T, got fosite.Requester, want *fosite.Request) {
	t.Helper()
	if got == nil {
		t.Fatal("nil request")
	}
	if got.GetID() != want.ID || got.GetClient().GetID() != want.Client.GetID() || !got.GetRequestedAt().Equal(want.RequestedAt) {
		t.Errorf("id/client/requested_at: got %q %q %v, want %q %q %v", got.GetID(), got.GetClient().GetID(), got.GetRequestedAt(),
			want.ID, want.Client.GetID(), want.RequestedAt)
	}
	for name, pair := range map[string][2]fosite.Arguments{
		"requested scopes":   {got.GetRequestedScopes(), want.RequestedScope},
		"granted scopes":     {got.GetGrantedScopes(), want.GrantedScope},
		"requested audience": {got.GetRequestedAudience(), want.RequestedAudience},
		"granted audience":   {got.GetGrantedAudience(), want.GrantedAudience},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: got %v, want %v", name, pair[0], pair[1])
		}
	}
	form := got.GetRequestForm()
	if form.Get("redirect_uri") != testRedirectURI || form.Get("code_challenge") != "abc" {
		t.Errorf("form lost parameters fosite needs: %v", form)
	}
	for _, k := range secretParameters {
		if form.Has(k) {
			t.Errorf("form kept secret parameter %q", k)
		}
	}
	s, ok := got.GetSession().(*testSession)
	if !ok {
		t.Fatalf("session type %T", got.GetSession())
	}
	ws := want.Session.(*testSession)
	if s.Subject != ws.Subject || s.Username != ws.Username || s.Extra["org"] != "org-1" || s.Family != ws.Family ||
		!s.GetExpiresAt(fosite.AccessToken).Equal(ws.GetExpiresAt(fosite.AccessToken)) {
		t.Errorf("session: got %+v, want %+v", s, ws)
	}
}

// Every request table round-trips the request and drops secrets from the form.
func TestRequestRoundTrips(t *testing.T) {
	type table struct {
		name   string
		create func(ctx context.Context, s *Store, key string, r fosite.Requester) error
		get    func(ctx context.Context, s *Store, key string) (fosite.Requester, error)
		delete func(ctx context.Context, s *Store, key string) error
	}
	tables := []table{
		{"authorize code",
			func(ctx context.Context, s *Store, k string, r fosite.Requester) error {
				return s.CreateAuthorizeCodeSession(ctx, k, r)
			},
			func(ctx context.Context, s *Store, k string) (fosite.Requester, error) {
				return s.GetAuthorizeCodeSession(ctx, k, &testSession{})
			}, nil},
		{"pkce",
			func(ctx context.Context, s *Store, k string, r fosite.Requester) error {
				return s.CreatePKCERequestSession(ctx, k, r)
			},
			func(ctx context.Context, s *Store, k string) (fosite.Requester, error) {
				return s.GetPKCERequestSession(ctx, k, nil)
			},
			func(ctx context.Context, s *Store, k string) error { return s.DeletePKCERequestSession(ctx, k) }},
		{"openid connect",
			func(ctx context.Context, s *Store, k string, r fosite.Requester) error {
				return s.CreateOpenIDConnectSession(ctx, k, r)
			},
			func(ctx context.Context, s *Store, k string) (fosite.Requester, error) {
				return s.GetOpenIDConnectSession(ctx, k, &fosite.Request{Session: &testSession{}})
			},
			func(ctx context.Context, s *Store, k string) error { return s.DeleteOpenIDConnectSession(ctx, k) }},
		{"refresh token",
			func(ctx context.Context, s *Store, k string, r fosite.Requester) error {
				return s.CreateRefreshTokenSession(ctx, k, "access-"+k, r)
			},
			func(ctx context.Context, s *Store, k string) (fosite.Requester, error) {
				return s.GetRefreshTokenSession(ctx, k, &testSession{})
			},
			func(ctx context.Context, s *Store, k string) error { return s.DeleteRefreshTokenSession(ctx, k) }},
	}
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			for _, tc := range tables {
				t.Run(tc.name, func(t *testing.T) {
					want := newRequest(t, e, "req-"+tc.name, time.Now().Add(time.Hour).UTC().Truncate(time.Second))
					if err := tc.create(ctx, e.store, "sig-1", want); err != nil {
						t.Fatalf("create: %v", err)
					}
					got, err := tc.get(ctx, e.store, "sig-1")
					if err != nil {
						t.Fatalf("get: %v", err)
					}
					assertSameRequest(t, got, want)
					if _, err := tc.get(ctx, e.store, "unknown"); !errors.Is(err, fosite.ErrNotFound) {
						t.Errorf("get unknown: %v, want ErrNotFound", err)
					}
					if err := tc.create(ctx, e.store, "sig-1", want); err == nil {
						t.Error("a second row with the same signature was accepted")
					}
					if tc.delete == nil {
						return
					}
					if err := tc.delete(ctx, e.store, "sig-1"); err != nil {
						t.Fatalf("delete: %v", err)
					}
					if _, err := tc.get(ctx, e.store, "sig-1"); !errors.Is(err, fosite.ErrNotFound) {
						t.Errorf("get after delete: %v, want ErrNotFound", err)
					}
					if err := tc.delete(ctx, e.store, "sig-1"); err != nil {
						t.Errorf("deleting twice: %v, want nil", err)
					}
				})
			}
		})
	}
}

// The OpenID Connect table is handed raw authorization codes: they must not be
// stored as such (docs/security.md, "Tokens and keys").
func TestOpenIDConnectRequestKeyIsNotTheCode(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			code := randomString(t)
			if err := e.store.CreateOpenIDConnectSession(ctx, code, newRequest(t, e, "req-1", time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := e.store.db.GetContext(ctx, &n, e.store.db.Rebind("SELECT COUNT(*) FROM oauth_oidc_requests WHERE signature LIKE ?"), "%"+code+"%"); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatal("the raw authorization code is stored")
			}
		})
	}
}

// RFC 6749 §4.1.2: a used code answers with its request and
// ErrInvalidatedAuthorizeCode, so fosite can revoke what it issued.
func TestInvalidatedCodeReturnsRequestAndError(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			want := newRequest(t, e, "req-1", time.Now().Add(time.Hour))
			if err := e.store.CreateAuthorizeCodeSession(ctx, "code-sig", want); err != nil {
				t.Fatal(err)
			}
			if err := e.store.InvalidateAuthorizeCodeSession(ctx, "code-sig"); err != nil {
				t.Fatal(err)
			}
			got, err := e.store.GetAuthorizeCodeSession(ctx, "code-sig", &testSession{})
			if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Fatalf("get used code: %v, want ErrInvalidatedAuthorizeCode", err)
			}
			assertSameRequest(t, got, want)
			if err := e.store.InvalidateAuthorizeCodeSession(ctx, "code-sig"); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Errorf("invalidate twice: %v, want ErrInvalidatedAuthorizeCode", err)
			}
			if err := e.store.InvalidateAuthorizeCodeSession(ctx, "unknown"); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("invalidate unknown: %v, want ErrNotFound", err)
			}
		})
	}
}

// RevokeRefreshToken acts on every refresh token of one grant and on nothing
// else; RevokeAccessToken, which fosite calls with it, has nothing to mark.
func TestRevokeByRequestID(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			exp := time.Now().Add(time.Hour)
			for _, id := range []string{"grant-a", "grant-b"} {
				r := newRequest(t, e, id, exp)
				for _, n := range []string{"1", "2"} {
					if err := e.store.CreateRefreshTokenSession(ctx, id+"-rt"+n, id+"-at"+n, r); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := e.store.RevokeAccessToken(ctx, "grant-a"); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"1", "2"} {
				if _, err := e.store.GetRefreshTokenSession(ctx, "grant-a-rt"+n, nil); err != nil {
					t.Errorf("refresh token after RevokeAccessToken alone: %v, want it untouched", err)
				}
			}
			if err := e.store.RevokeRefreshToken(ctx, "grant-a"); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"1", "2"} {
				got, err := e.store.GetRefreshTokenSession(ctx, "grant-a-rt"+n, nil)
				if !errors.Is(err, fosite.ErrInactiveToken) || got == nil || got.GetID() != "grant-a" {
					t.Errorf("revoked refresh token: %v, %v; want the request and ErrInactiveToken", got, err)
				}
				if _, err := e.store.GetRefreshTokenSession(ctx, "grant-b-rt"+n, nil); err != nil {
					t.Errorf("other grant's refresh token: %v", err)
				}
			}
			// Revoking what does not exist is not an error (RFC 7009 §2.2).
			if err := e.store.RevokeAccessToken(ctx, "nope"); err != nil {
				t.Error(err)
			}
			if err := e.store.RevokeRefreshToken(ctx, "nope"); err != nil {
				t.Error(err)
			}
		})
	}
}

// A used refresh token outside the grace period returns its request with
// ErrInactiveToken, which is what makes fosite revoke the family.
func TestRotatedRefreshTokenIsInactiveAfterGrace(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			r := newRequest(t, e, "grant-1", time.Now().Add(time.Hour))
			if err := e.store.CreateRefreshTokenSession(ctx, "rt-1", "at-1", r); err != nil {
				t.Fatal(err)
			}
			if err := e.store.RotateRefreshToken(ctx, "grant-1", "rt-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.GetRefreshTokenSession(ctx, "rt-1", nil); err != nil {
				t.Errorf("within grace: %v, want nil", err)
			}
			e.clock.Advance(testGrace)
			got, err := e.store.GetRefreshTokenSession(ctx, "rt-1", nil)
			if !errors.Is(err, fosite.ErrInactiveToken) || got == nil || got.GetID() != "grant-1" {
				t.Errorf("after grace: %v, %v; want the request and ErrInactiveToken", got, err)
			}
			if err := e.store.RotateRefreshToken(ctx, "grant-1", "rt-1"); !errors.Is(err, fosite.ErrInactiveToken) {
				t.Errorf("rotate after grace: %v, want ErrInactiveToken", err)
			}
		})
	}
}

// fosite's Transactional contract: what is written under BeginTX disappears on
// Rollback and stays on Commit.
func TestTransactionalRollbackAndCommit(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			r := newRequest(t, e, "grant-1", time.Now().Add(time.Hour))

			txCtx, err := e.store.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.BeginTX(txCtx); err == nil {
				t.Error("a nested BeginTX succeeded")
			}
			if err := e.store.CreateAuthorizeCodeSession(txCtx, "code-1", r); err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateRefreshTokenSession(txCtx, "rt-1", "at-1", r); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.GetRefreshTokenSession(txCtx, "rt-1", nil); err != nil {
				t.Fatalf("read inside the transaction: %v", err)
			}
			if err := e.store.Rollback(txCtx); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Rollback(txCtx); err != nil {
				t.Errorf("second rollback: %v, want nil", err)
			}
			if _, err := e.store.GetAuthorizeCodeSession(ctx, "code-1", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("after rollback: %v, want ErrNotFound", err)
			}
			if _, err := e.store.GetRefreshTokenSession(ctx, "rt-1", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("after rollback: %v, want ErrNotFound", err)
			}

			txCtx, err = e.store.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateRefreshTokenSession(txCtx, "rt-2", "at-2", r); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Commit(txCtx); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.GetRefreshTokenSession(ctx, "rt-2", nil); err != nil {
				t.Errorf("after commit: %v", err)
			}
			if err := e.store.Commit(ctx); err == nil {
				t.Error("Commit without a transaction succeeded")
			}
		})
	}
}

// RFC 7523 §3: a client assertion's jti is accepted once until it expires.
func TestClientAssertionJTI(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			exp := e.clock.Now().Add(time.Minute)
			if err := e.store.ClientAssertionJWTValid(ctx, "jti-1"); err != nil {
				t.Fatalf("unknown jti: %v", err)
			}
			if err := e.store.SetClientAssertionJWT(ctx, "jti-1", exp); err != nil {
				t.Fatal(err)
			}
			if err := e.store.ClientAssertionJWTValid(ctx, "jti-1"); !errors.Is(err, fosite.ErrJTIKnown) {
				t.Errorf("known jti: %v, want ErrJTIKnown", err)
			}
			if err := e.store.SetClientAssertionJWT(ctx, "jti-1", exp); !errors.Is(err, fosite.ErrJTIKnown) {
				t.Errorf("recording a live jti again: %v, want ErrJTIKnown", err)
			}
			e.clock.Advance(2 * time.Minute)
			if err := e.store.ClientAssertionJWTValid(ctx, "jti-1"); err != nil {
				t.Errorf("expired jti: %v, want nil", err)
			}
			if err := e.store.SetClientAssertionJWT(ctx, "jti-1", e.clock.Now().Add(time.Minute)); err != nil {
				t.Errorf("recording an expired jti again: %v", err)
			}
		})
	}
}

// GetClient delegates to the lookup; a token whose client is gone is not found.
func TestClientLookup(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			if c, err := e.store.GetClient(ctx, testClientID); err != nil || c.GetID() != testClientID {
				t.Fatalf("GetClient: %v, %v", c, err)
			}
			if _, err := e.store.GetClient(ctx, "nope"); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("unknown client: %v, want ErrNotFound", err)
			}
			if err := e.store.CreateRefreshTokenSession(ctx, "rt-1", "at-1", newRequest(t, e, "g", time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			delete(e.clients, testClientID)
			if _, err := e.store.GetRefreshTokenSession(ctx, "rt-1", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("token of a deleted client: %v, want ErrNotFound", err)
			}
			// A lookup speaking Puguh's own sentinel is understood too.
			e.store.clients = storageLookup{}
			if _, err := e.store.GetClient(ctx, testClientID); !errors.Is(err, fosite.ErrNotFound) || !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("lookup returning storage.ErrNotFound: %v, want both sentinels", err)
			}
		})
	}
}

// storageLookup knows no client and says so with storage.ErrNotFound.
type storageLookup struct{}

func (storageLookup) GetClient(context.Context, string) (fosite.Client, error) {
	return nil, storage.ErrNotFound
}

func TestNewValidatesConfig(t *testing.T) {
	s := sqltest.Open(t, sqltest.Backends()[0])
	newSession := func() fosite.Session { return &testSession{} }
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"no clients", Config{NewSession: newSession}, "Clients"},
		{"no session factory", Config{Clients: clientMap{}}, "NewSession"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(s, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New: %v, want an error naming %s", err, tc.err)
			}
		})
	}
	st, err := New(s, Config{Clients: clientMap{}, NewSession: newSession})
	if err != nil {
		t.Fatal(err)
	}
	if st.grace != DefaultRefreshGracePeriod || st.maxFamily != DefaultMaxRefreshFamilyLifetime {
		t.Errorf("defaults: grace %v, family %v", st.grace, st.maxFamily)
	}
}
